"""A fake clock and a scripted person, for the quiz and interview loops run without a terminal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drill.bank import Question
    from drill.interview.loop import Graded
    from drill.quiz.judge import Outcome


class FakeClock:
    """Seconds, as time.monotonic gives them; the scripted person moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedPerson:
    """The quiz's user or the interview's candidate: answers from a script, each read taking
    `seconds_per_read` of the fake clock; None once the script is over (end of input). An
    entry that is an exception is raised instead (KeyboardInterrupt for Ctrl-C).

    What the loop shows is kept in `events`, as (kind, detail) pairs.
    """

    def __init__(
        self, script: Iterable[object], clock: FakeClock, seconds_per_read: float = 10.0
    ) -> None:
        self.script = list(script)
        self.clock = clock
        self.seconds_per_read = seconds_per_read
        self.events: list[tuple[str, object]] = []

    def _next(self) -> str | None:
        self.clock.now += self.seconds_per_read
        if not self.script:
            return None
        entry = self.script.pop(0)
        if isinstance(entry, BaseException):
            raise entry
        assert isinstance(entry, str)
        return entry

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def shown(self, kind: str) -> list[object]:
        """The details of the events of one kind, in order."""
        return [detail for shown_kind, detail in self.events if shown_kind == kind]

    def read_answer(self, question: Question, started_at: float) -> str | None:
        return self._next()

    def read_rating(self) -> str | None:
        return self._next()

    def show_question(self, question: Question, position: int, total: int) -> None:
        self.events.append(("question", (question.id, position, total)))

    def show_hint(self, question: Question, number: int) -> None:
        self.events.append(("hint", number))

    def show_notice(self, message: str) -> None:
        self.events.append(("notice", message))

    def show_verdict(self, question: Question, outcome: Outcome) -> None:
        self.events.append(("verdict", outcome))

    def reveal(self, question: Question) -> None:
        self.events.append(("reveal", question.id))

    def show_next_review(self, due: datetime) -> None:
        self.events.append(("next review", due))

    def show_code_task(self, question: Question, path: Path) -> None:
        self.events.append(("code task", path.name))

    def show_grade(self, graded: Graded) -> None:
        self.events.append(("grade", graded.problem or f"{graded.points:g}/{graded.max_points}"))
