"""How the bank and the quiz look: the Rich renderables shared by list, show, hint, reveal,
quiz and interview. Nothing here reads input.

Bank text is written by whoever wrote the bank, so every piece of it passes through
`drill.text.visible` before it reaches Rich: an escape sequence in a title or a hint is shown,
never sent. It is also always given to Rich as `Text` or Markdown, never as a markup string,
so "[bold]" in a prompt stays as typed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from drill.quiz.judge import option_letters
from drill.text import plural, visible

if TYPE_CHECKING:
    from drill.bank import Question
    from drill.quiz.session import QuestionRecord


def make_console() -> Console:
    """A console on stdout; Rich itself honours NO_COLOR, COLUMNS and non-terminal output."""
    return Console(highlight=False)


def clock_text(seconds: float) -> str:
    """Whole seconds as m:ss, e.g. 75.4 → "1:15"."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def title_line(question: Question) -> Text:
    """The question's title, bold."""
    return Text(visible(question.title), style="bold")


def metadata(question: Question) -> Text:
    """difficulty · time budget · companies · kind, on one wrapping line."""
    companies = visible(", ".join(question.companies)) or "no company listed"
    return Text(
        f"{question.difficulty} · {question.time} min · {companies} · {question.kind}",
        style="dim",
    )


def _markdown(text: str) -> RenderableType:
    # Markdown pulls in markdown-it and Pygments; only commands that render prose pay for it.
    from rich.markdown import Markdown

    return Markdown(visible(text))


def practice_commands(question: Question) -> Text | None:
    """How to get a starter file for the question's exercises and have it graded."""
    if not question.exercises:
        return None
    only = " ".join(f"--only {exercise}" for exercise in question.exercises)
    lines = Text().append("Practise it in code:\n", style="bold")
    lines.append(f"  drill init solution.py {only}\n  drill grade solution.py {only}")
    return lines


def where_to_look(question: Question) -> Text:
    """What drill show ends with: the commands for the question's hints and its answer."""
    return Text(
        f"\nHints ({len(question.hints)}): drill hint {question.id}\n"
        f"Answer: drill reveal {question.id}",
        style="dim",
    )


def question_card(question: Question, practice: bool = True) -> RenderableType:
    """Title, metadata, prompt and options: everything except the answer; with `practice`,
    the commands that practise a code question's exercises."""
    parts: list[RenderableType] = [
        title_line(question),
        metadata(question),
        Text(),
        _markdown(question.prompt),
    ]
    if question.options:
        letters = option_letters(len(question.options))
        options = Text()
        for letter, option in zip(letters, question.options, strict=True):
            options.append(f"\n{letter}. ", style="bold")
            options.append(visible(option))
        parts.append(options)
    commands = practice_commands(question) if practice else None
    if commands is not None:
        parts += [Text(), commands]
    return Group(*parts)


def hint_card(question: Question, number: int) -> RenderableType:
    """Hint `number` (1-based) with its position, e.g. "Hint 2 of 3"."""
    return Group(
        Text(f"Hint {number} of {len(question.hints)}", style="bold yellow"),
        _markdown(question.hints[number - 1]),
    )


def marked_options(question: Question) -> Text:
    """Every option of a choice question, the correct ones marked ✓ and the others ✗."""
    options = Text().append("Options (✓ correct):", style="bold")
    letters = option_letters(len(question.options))
    for letter, option in zip(letters, question.options, strict=True):
        right = letter in question.correct
        options.append("\n✓ " if right else "\n✗ ", style="bold green" if right else "red")
        options.append(f"{letter}. {visible(option)}", style="bold" if right else "")
    return options


def answer_card(question: Question) -> RenderableType:
    """The model answer, the marked options or expected value, and the key points."""
    parts: list[RenderableType] = []
    if question.correct:
        parts += [marked_options(question), Text()]
    if question.value is not None:
        expected = f"Expected value: {question.value:g} (± {question.tolerance:g})"
        parts += [Text(expected, style="bold green"), Text()]
    parts.append(_markdown(question.answer))
    checklist = Text().append("\nKey points", style="bold")
    for point in question.key_points:
        checklist.append(f"\n☐ {visible(point)}")
    parts.append(checklist)
    return Group(*parts)


_LIST_COLUMNS = ("id", "title", "difficulty", "time", "companies", "kind")
_COLUMN_GAP = "  "
# Titles and companies share what the other columns leave; with less than this, one block
# per question reads better than a table of slivers.
_MIN_FLEXIBLE_WIDTH = 24


def _list_cells(question: Question) -> tuple[str, ...]:
    return (
        question.id,
        visible(question.title),
        question.difficulty,
        f"{question.time} min",
        visible(", ".join(question.companies)),
        question.kind,
    )


def questions_listing(questions: Sequence[Question], width: int) -> RenderableType:
    """The questions as a table with a bold header, or one block each on a narrow terminal.

    The columns are laid out here rather than by rich.table.Table, which takes most of a
    second to measure and render a bank of 2,000 questions.
    """
    rows = [_list_cells(question) for question in questions]
    widths = [
        max(len(cell) for cell in column) for column in zip(_LIST_COLUMNS, *rows, strict=True)
    ]
    rigid = widths[0] + widths[2] + widths[3] + widths[5] + len(_COLUMN_GAP) * 5
    flexible = width - 1 - rigid
    if flexible < _MIN_FLEXIBLE_WIDTH:
        return _question_blocks(questions, width)
    # Companies get a quarter of the room at most, titles the rest.
    widths[4] = min(widths[4], max(flexible // 4, len("companies")))
    widths[1] = min(widths[1], flexible - widths[4])
    table = Text()
    table.append(_table_line(_LIST_COLUMNS, widths), style="bold")
    table.append("─" * (sum(widths) + len(_COLUMN_GAP) * 5) + "\n")
    wrapped_columns = (1, 4)
    for row in rows:
        cells = [
            textwrap.wrap(cell, widths[index]) or [""] if index in wrapped_columns else [cell]
            for index, cell in enumerate(row)
        ]
        for line in range(max(len(lines) for lines in cells)):
            parts = [lines[line] if line < len(lines) else "" for lines in cells]
            table.append(_table_line(parts, widths))
    table.rstrip()
    return table


def _table_line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
    return _COLUMN_GAP.join(padded).rstrip() + "\n"


def _question_blocks(questions: Sequence[Question], width: int) -> Text:
    blocks = Text()
    for question in questions:
        blocks.append(f"{question.id}\n", style="bold")
        for line in textwrap.wrap(
            visible(question.title), width - 1, initial_indent="  ", subsequent_indent="  "
        ):
            blocks.append(f"{line}\n")
        for line in textwrap.wrap(
            metadata(question).plain, width - 1, initial_indent="  ", subsequent_indent="  "
        ):
            blocks.append(f"{line}\n", style="dim")
        blocks.append("\n")
    blocks.rstrip()
    return blocks


# Below this width the five summary columns fold into slivers; one block per question is used.
_SUMMARY_TABLE_MIN_WIDTH = 64


def summary(records: Sequence[QuestionRecord], width: int) -> RenderableType:
    """The end-of-session table (one block per question when narrow) and a one-line tally."""
    if not records:
        return Text("No questions answered.")
    outcomes = [record.outcome for record in records]
    tally = Text(
        f"{plural(len(records), 'question')}: {outcomes.count('right')} right, "
        f"{outcomes.count('wrong')} wrong, {outcomes.count('skipped')} skipped"
    )
    if width < _SUMMARY_TABLE_MIN_WIDTH:
        blocks = Text().append("Session summary\n", style="bold")
        for record in records:
            blocks.append(f"{record.question_id}\n  ")
            blocks.append_text(time_against_budget(record.seconds, record.budget_seconds))
            hints = plural(record.hints_used, "hint")
            blocks.append(f" · {record.outcome} · {record.rating} · {hints}\n")
        blocks.rstrip()
        return Group(blocks, tally)
    table = Table(title="Session summary", header_style="bold")
    table.add_column("question", overflow="fold")
    for column in ("time / budget", "outcome", "rating", "hints"):
        table.add_column(column, no_wrap=True)
    for record in records:
        table.add_row(
            Text(record.question_id),
            time_against_budget(record.seconds, record.budget_seconds),
            Text(record.outcome),
            Text(record.rating),
            Text(str(record.hints_used)),
        )
    return Group(table, tally)


def time_against_budget(seconds: float, budget_seconds: float) -> Text:
    """The time used against the budget as m:ss / m:ss, in red once over the budget."""
    shown = f"{clock_text(seconds)} / {clock_text(budget_seconds)}"
    return Text(shown, style="red" if seconds > budget_seconds else "")
