"""The mock interview at a terminal: the quiz's cards and line editor, two clocks, and the
scorecard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from drill.interview.loop import DONE_COMMAND, Graded, Scorecard
from drill.quiz.render import question_card, time_against_budget
from drill.quiz.session import HINT_COMMAND, QUIT_COMMAND, SKIP_COMMAND
from drill.quiz.terminal import TerminalQuiz, answer_guide, clock_fragments
from drill.text import plural, visible

if TYPE_CHECKING:
    from drill.bank import Question

INTERVIEW_FOOTER = (
    f"Enter submits · Esc Enter new line · {HINT_COMMAND} hint · {SKIP_COMMAND} next question"
    f" · {QUIT_COMMAND} end the interview (alone on the line) · Ctrl-C ends"
)


class TerminalInterviewer(TerminalQuiz):
    """The InterviewUser at a terminal: the quiz's view, with the interview's clock beside the
    question's own."""

    def __init__(
        self,
        console: Console,
        clock: Callable[[], float],
        minutes: int,
        interview_elapsed: Callable[[], float],
    ) -> None:
        super().__init__(console, clock)
        self.total_seconds = minutes * 60
        self.interview_elapsed = interview_elapsed

    def show_question(self, question: Question, position: int, total: int) -> None:
        self.console.print()
        self.console.print(Rule(f"Question {position} of {total}"))
        self.console.print(question_card(question, practice=False))
        self.console.print()
        if question.kind != "code":
            self.console.print(Text(answer_guide(question), style="dim"))
        self.console.print(Text(INTERVIEW_FOOTER, style="dim"))

    def show_code_task(self, question: Question, path: Path) -> None:
        self.console.print(
            Text.assemble(
                ("Answer in ", "bold"),
                (visible(str(path)), "bold cyan"),
                (f": write your code there, then type {DONE_COMMAND} here to have it graded.",),
            )
        )

    def show_grade(self, graded: Graded) -> None:
        if graded.problem is not None:
            self.show_notice(graded.problem)
            return
        from drill.grader.report import render

        render(graded.report, self.console)

    def clocks(self, elapsed: float, budget: int) -> list[tuple[str, str]]:
        return [
            ("", " interview"),
            *clock_fragments(self.interview_elapsed(), self.total_seconds),
            ("", "· question"),
            *clock_fragments(elapsed, budget),
        ]


# The six columns with their longest usual contents; narrower, one block per question.
_SCORECARD_TABLE_MIN_WIDTH = 96


def scorecard_view(scorecard: Scorecard, width: int) -> RenderableType:
    """Per question: time against budget, verdict, result, hints and points; then the total."""
    rows = [
        (
            Text(score.id),
            time_against_budget(score.seconds, score.budget_seconds),
            Text(score.verdict),
            Text(score.result),
            Text(str(score.hints_used)),
            Text(f"{score.points:g} / {score.max_points}"),
        )
        for score in scorecard.questions
    ]
    total_time = time_against_budget(scorecard.seconds_used, scorecard.minutes * 60)
    total = Text.assemble(
        ("Total: ", "bold"),
        f"{scorecard.points:g} of {scorecard.max_points} points in ",
        total_time,
        f" · {_ending(scorecard)}",
    )
    if not rows:
        return Group(Text("No question was answered."), total)
    headers = ("question", "time / budget", "verdict", "result", "hints", "points")
    if width < _SCORECARD_TABLE_MIN_WIDTH:
        blocks = Text().append("Interview scorecard\n", style="bold")
        for score, row in zip(scorecard.questions, rows, strict=True):
            blocks.append(f"{score.id}\n  ").append_text(row[1])
            blocks.append(f" · {score.verdict} · {score.result}\n")
            blocks.append(f"  {plural(score.hints_used, 'hint')} · {row[5].plain} points\n")
        blocks.rstrip()
        return Group(blocks, total)
    table = Table(title="Interview scorecard", header_style="bold")
    longest_id = max(len(score.id) for score in scorecard.questions)
    table.add_column(headers[0], overflow="fold", min_width=min(longest_id, 32))
    for header in headers[1:]:
        table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return Group(table, total)


def _ending(scorecard: Scorecard) -> str:
    return {
        "finished": "every question asked",
        "time up": "time was up",
        "quit": "ended early",
        "interrupted": "interrupted",
    }[scorecard.ended]
