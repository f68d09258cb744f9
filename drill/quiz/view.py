"""Everything the user sees of the bank and the quiz: the only quiz module that uses Rich.

`TerminalQuiz` is the QuizUser of drill.quiz.session. On a terminal it reads keys in cbreak
mode so the clock can tick while the user types; otherwise it reads plain lines, so a quiz
can be scripted through a pipe.
"""

from __future__ import annotations

import codecs
import os
import select
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from drill.quiz.judge import Outcome, option_letters
from drill.quiz.session import (
    HINT_COMMAND,
    QUIT_COMMAND,
    RATING_KEYS,
    SKIP_COMMAND,
    QuestionRecord,
)

try:
    import termios
    import tty
except ImportError:  # Windows: no cbreak mode, so the quiz falls back to reading lines.
    termios = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from drill.bank import Question

ANSWER_FOOTER = (
    f"Enter submits · {HINT_COMMAND} hint · {SKIP_COMMAND} skip · {QUIT_COMMAND} quit"
    " (alone on the line) · Ctrl-C ends"
)
RATING_PROMPT = "Rate: 1 again · 2 hard · 3 good · 4 easy · q quit › "

_CLEAR_LINE = "\r\x1b[K"
_BACKSPACE = ("\x7f", "\b")
_CTRL_D = "\x04"
_CTRL_U = "\x15"
_ESCAPE = "\x1b"


def make_console() -> Console:
    """A console on stdout; Rich itself honours NO_COLOR, COLUMNS and non-terminal output."""
    return Console(highlight=False)


def clock_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def metadata(question: Question) -> Text:
    """difficulty · time budget · companies · kind, on one wrapping line."""
    companies = ", ".join(question.companies) or "no company listed"
    return Text(
        f"{question.difficulty} · {question.time} min · {companies} · {question.kind}",
        style="dim",
    )


def _markdown(text: str) -> RenderableType:
    # Markdown pulls in markdown-it and Pygments; only commands that render prose pay for it.
    from rich.markdown import Markdown

    return Markdown(text)


def practice_commands(question: Question) -> Text | None:
    """How to get a starter file for the question's exercises and have it graded."""
    if not question.exercises:
        return None
    only = " ".join(f"--only {exercise}" for exercise in question.exercises)
    lines = Text().append("Practise it in code:\n", style="bold")
    lines.append(f"  drill init solution.py {only}\n  drill grade solution.py {only}")
    return lines


def question_card(question: Question) -> RenderableType:
    """Title, metadata, prompt and options: everything except the answer."""
    parts: list[RenderableType] = [
        Text(question.title, style="bold"),
        metadata(question),
        Text(),
        _markdown(question.prompt),
    ]
    if question.options:
        letters = option_letters(len(question.options))
        options = Text()
        for letter, option in zip(letters, question.options, strict=True):
            options.append(f"\n{letter}. ", style="bold")
            options.append(option)
        parts.append(options)
    practice = practice_commands(question)
    if practice is not None:
        parts += [Text(), practice]
    return Group(*parts)


def hint_card(question: Question, number: int) -> RenderableType:
    """Hint `number` (1-based) with its position, e.g. "Hint 2 of 3"."""
    return Group(
        Text(f"Hint {number} of {len(question.hints)}", style="bold yellow"),
        _markdown(question.hints[number - 1]),
    )


def answer_card(question: Question) -> RenderableType:
    """The model answer, the expected choice or value, and the key points as a checklist."""
    parts: list[RenderableType] = []
    if question.correct:
        letters = option_letters(len(question.options))
        correct = Text().append("Correct:", style="bold green")
        for letter in question.correct:
            correct.append(f"\n{letter}. {question.options[letters.index(letter)]}")
        parts += [correct, Text()]
    if question.value is not None:
        expected = f"Expected value: {question.value:g} (± {question.tolerance:g})"
        parts += [Text(expected, style="bold green"), Text()]
    parts.append(_markdown(question.answer))
    checklist = Text().append("\nKey points", style="bold")
    for point in question.key_points:
        checklist.append(f"\n☐ {point}")
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
        question.title,
        question.difficulty,
        f"{question.time} min",
        ", ".join(question.companies),
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
            question.title, width - 1, initial_indent="  ", subsequent_indent="  "
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
        f"{len(records)} question(s): {outcomes.count('right')} right, "
        f"{outcomes.count('wrong')} wrong, {outcomes.count('skipped')} skipped"
    )
    if width < _SUMMARY_TABLE_MIN_WIDTH:
        blocks = Text().append("Session summary\n", style="bold")
        for record in records:
            blocks.append(f"{record.question_id}\n  ")
            blocks.append_text(_time_against_budget(record))
            blocks.append(f" · {record.outcome} · {record.rating} · {record.hints_used} hint(s)\n")
        blocks.rstrip()
        return Group(blocks, tally)
    table = Table(title="Session summary", header_style="bold")
    table.add_column("question", overflow="fold")
    for column in ("time / budget", "outcome", "rating", "hints"):
        table.add_column(column, no_wrap=True)
    for record in records:
        table.add_row(
            record.question_id,
            _time_against_budget(record),
            record.outcome,
            record.rating,
            str(record.hints_used),
        )
    return Group(table, tally)


def _time_against_budget(record: QuestionRecord) -> Text:
    over = record.seconds > record.budget_seconds
    return Text(
        f"{clock_text(record.seconds)} / {clock_text(record.budget_seconds)}",
        style="red" if over else "",
    )


class LineEditor:
    """A one-line input buffer fed key by key: text, Backspace, Ctrl-U, Enter, Ctrl-D."""

    def __init__(self) -> None:
        self.text = ""
        # 0: plain keys; 1: after ESC; 2: inside a CSI/SS3 sequence (arrow keys and the like).
        self._escape_state = 0

    def feed(self, key: str) -> Literal["submit", "end"] | None:
        """Apply one key; "submit" on Enter, "end" on Ctrl-D at an empty line."""
        if self._escape_state == 1:
            self._escape_state = 2 if key in "[O" else 0
        elif self._escape_state == 2:
            if "@" <= key <= "~":
                self._escape_state = 0
        elif key == _ESCAPE:
            self._escape_state = 1
        elif key in ("\r", "\n"):
            return "submit"
        elif key == _CTRL_D and not self.text:
            return "end"
        elif key in _BACKSPACE:
            self.text = self.text[:-1]
        elif key == _CTRL_U:
            self.text = ""
        elif key.isprintable():
            self.text += key
        return None


@contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    """Keys arrive one by one without echo; the terminal is restored however the block ends."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class TerminalQuiz:
    """The QuizUser of a real session, drawing with Rich and reading `stdin`."""

    def __init__(self, console: Console, clock: Callable[[], float]) -> None:
        self.console = console
        self.clock = clock
        self.stdin = sys.stdin
        self.stdin_is_terminal = self.stdin.isatty()
        self.interactive = termios is not None and self.stdin_is_terminal and console.is_terminal

    # -- output ------------------------------------------------------------------------------

    def show_question(self, question: Question, position: int, total: int) -> None:
        self.console.print()
        self.console.print(Rule(f"Question {position} of {total}"))
        self.console.print(question_card(question))
        self.console.print()
        self.console.print(Text(self._answer_guide(question), style="dim"))
        self.console.print(Text(ANSWER_FOOTER, style="dim"))

    @staticmethod
    def _answer_guide(question: Question) -> str:
        if question.kind == "choice":
            return "Answer with letter(s), e.g. B or A,C; an empty line shows the answer."
        if question.kind == "numeric":
            return "Answer with a number, e.g. 0.25 or 1/4; an empty line shows the answer."
        if question.formula is not None:
            names = [answer.name for answer in question.formula.answers]
            if len(names) == 1:
                return (
                    f"Answer with a NumPy expression for {names[0]} (np. optional, e.g. "
                    "G * np.exp(X)); an empty line shows the answer."
                )
            return (
                f"Answer with NumPy expressions for {'; '.join(names)} on one line, separated "
                "by ';' (np. optional); an empty line shows the answer."
            )
        return "Type notes if you like; Enter shows the answer."

    def show_hint(self, question: Question, number: int) -> None:
        self.console.print(hint_card(question, number))

    def show_notice(self, message: str) -> None:
        self.console.print(Text(message, style="yellow"))

    def show_verdict(self, question: Question, outcome: Outcome) -> None:
        if outcome == "right":
            self.console.print(Text("✓ Right.", style="bold green"))
        else:
            self.console.print(Text("✗ Wrong.", style="bold red"))

    def reveal(self, question: Question) -> None:
        self.console.print(Rule("Answer"))
        self.console.print(answer_card(question))
        self.console.print()

    def show_next_review(self, due: datetime) -> None:
        from drill.progress import clock

        self.console.print(
            Text(f"Next review {clock.describe_due(due, clock.now())}.", style="dim")
        )

    def show_summary(self, records: Sequence[QuestionRecord]) -> None:
        self.console.print()
        self.console.print(summary(records, self.console.width))

    # -- input -------------------------------------------------------------------------------

    def read_answer(self, question: Question, started_at: float) -> str | None:
        budget = question.time * 60
        if not self.interactive:
            elapsed = self.clock() - started_at
            return self._read_line(f"[{clock_text(elapsed)} / {clock_text(budget)}] › ")
        fd = self.stdin.fileno()
        editor = LineEditor()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        with _cbreak(fd):
            # Keys typed before the question appeared were meant for the previous screen.
            termios.tcflush(fd, termios.TCIFLUSH)
            while True:
                elapsed = self.clock() - started_at
                self._draw_input_line(elapsed, budget, editor.text)
                # Wake at the next whole second so the clock ticks even while nobody types.
                ready, _, _ = select.select([fd], [], [], 1 - elapsed % 1)
                if not ready:
                    continue
                # Keys after Enter in the same read (a multi-line paste) are dropped.
                for key in decoder.decode(os.read(fd, 1024)):
                    result = editor.feed(key)
                    if result is None:
                        continue
                    self._draw_input_line(self.clock() - started_at, budget, editor.text)
                    self.console.file.write("\n")
                    self.console.file.flush()
                    return editor.text if result == "submit" else None

    def _draw_input_line(self, elapsed: float, budget: int, typed: str) -> None:
        clock = f"{clock_text(elapsed)} / {clock_text(budget)}"
        style = "bold red" if elapsed > budget else "bold cyan"
        room = max(self.console.width - len(clock) - 4, 1)
        shown = typed if len(typed) <= room else "…" + typed[-(room - 1) :]
        self.console.file.write(_CLEAR_LINE)
        self.console.print(Text(clock, style=style), Text(f"› {shown}"), end="", soft_wrap=True)
        self.console.file.flush()

    def read_rating(self) -> str | None:
        if not self.interactive:
            return self._read_line(RATING_PROMPT)
        self.console.print(Text(RATING_PROMPT, style="bold"), end="")
        fd = self.stdin.fileno()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        with _cbreak(fd):
            while True:
                key = decoder.decode(os.read(fd, 1))
                if key:
                    break
            # Drop the rest of a multi-key sequence (an arrow key) so it is not read as ratings.
            termios.tcflush(fd, termios.TCIFLUSH)
        if key == _CTRL_D:
            self.console.print()
            return None
        chosen = RATING_KEYS.get(key.lower())
        self.console.print(chosen or (key if key.isprintable() else ""))
        return key

    def _read_line(self, prompt: str) -> str | None:
        self.console.print(Text(prompt, style="bold"), end="")
        line = self.stdin.readline()
        if not self.stdin_is_terminal or not line:
            # Nothing echoed the input (a pipe) or the line never ended (EOF): end it ourselves.
            self.console.print()
        return line.rstrip("\r\n") if line else None
