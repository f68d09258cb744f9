"""The quiz loop, free of any terminal: pick questions, ask, judge, record.

The clock, the user and the recorder (the progress store) are passed in, so the loop runs
the same against a real terminal (drill.quiz.terminal) and against a scripted fake in the tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from drill.quiz.judge import InvalidAnswer, Outcome, judge

if TYPE_CHECKING:
    from drill.bank import Question

Rating = Literal["again", "hard", "good", "easy", "none"]

# Commands are a lone word on an otherwise empty answer line, so they never eat notes.
HINT_COMMAND = "?"
SKIP_COMMAND = "s"
QUIT_COMMAND = "q"

RATING_KEYS: dict[str, Rating] = {
    "1": "again",
    "a": "again",
    "2": "hard",
    "h": "hard",
    "3": "good",
    "g": "good",
    "4": "easy",
    "e": "easy",
}
RATING_HELP = "rate with 1-4 or a/h/g/e (again, hard, good, easy), or q to quit"


@dataclass(frozen=True)
class Filters:
    """Which questions to take; None means any. Matching ignores letter case."""

    topic: str | None = None
    difficulty: str | None = None
    company: str | None = None
    kind: str | None = None

    def accepts(self, question: Question) -> bool:
        return (
            _same(self.topic, question.topic)
            and _same(self.difficulty, question.difficulty)
            and _same(self.kind, question.kind)
            and (
                self.company is None
                or any(_same(self.company, company) for company in question.companies)
            )
        )


def _same(wanted: str | None, actual: str) -> bool:
    return wanted is None or wanted.casefold() == actual.casefold()


def matching(questions: Iterable[Question], filters: Filters) -> list[Question]:
    """The questions `filters` accepts, ordered by id."""
    return sorted((q for q in questions if filters.accepts(q)), key=lambda q: q.id)


def pick(
    questions: Iterable[Question],
    filters: Filters,
    count: int | None = None,
    seed: int | None = None,
) -> list[Question]:
    """Up to `count` matching questions in random order; the same `seed` gives the same order."""
    chosen = matching(questions, filters)
    random.Random(seed).shuffle(chosen)
    return chosen if count is None else chosen[:count]


@dataclass
class QuestionRecord:
    """What happened on one question; plain values, as the progress store records them."""

    question_id: str
    seconds: float
    budget_seconds: int
    outcome: Outcome
    rating: Rating
    hints_used: int
    due: datetime | None = None  # when the question comes back, once the rating is saved


class QuizUser(Protocol):
    """The person taking the quiz, as the loop sees them. Reads return None at end of input."""

    def show_question(self, question: Question, position: int, total: int) -> None: ...

    def read_answer(self, question: Question, started_at: float) -> str | None: ...

    def show_hint(self, question: Question, number: int) -> None: ...

    def show_notice(self, message: str) -> None: ...

    def show_verdict(self, question: Question, outcome: Outcome) -> None: ...

    def reveal(self, question: Question) -> None: ...

    def read_rating(self) -> str | None: ...

    def show_next_review(self, due: datetime) -> None: ...


class Recorder(Protocol):
    """Keeps each answered question as it happens (drill.progress.store.Store is one)."""

    def record_review(
        self, question_id: str, rating: str, outcome: str, seconds: float, hints_used: int
    ) -> datetime:
        """Store one review; return when the question is due next."""
        ...


class QuizSession:
    """Asks `questions` in order. `records` grows as questions are answered, so it is complete
    up to the interruption even when a KeyboardInterrupt escapes `run`.

    With a `recorder`, each rated question is recorded the moment it is rated (a wrong
    auto-scored answer even when the user quits instead of rating), and the user is told
    when it comes back. Skipped questions are not recorded. With `again_before` too, a
    question whose next review falls before the time it gives (a learning step of a few
    minutes) is asked again at the end of the session, as a flash-card deck does.
    """

    def __init__(
        self,
        questions: Sequence[Question],
        user: QuizUser,
        clock: Callable[[], float],
        recorder: Recorder | None = None,
        again_before: Callable[[], datetime] | None = None,
    ) -> None:
        self.questions = questions
        self.user = user
        self.clock = clock
        self.recorder = recorder
        self.again_before = again_before
        self.records: list[QuestionRecord] = []

    def run(self) -> list[QuestionRecord]:
        queue = list(self.questions)
        for position, question in enumerate(queue, start=1):  # grows as questions come back
            if not self._ask(question, position, len(queue)):
                break
            due = self.records[-1].due
            if (
                due is not None
                and self.again_before is not None
                and due <= self.again_before()
                and question not in queue[position:]
            ):
                queue.append(question)
        return self.records

    def _ask(self, question: Question, position: int, total: int) -> bool:
        """Ask one question; False when the user wants to stop the session."""
        self.user.show_question(question, position, total)
        started_at = self.clock()
        hints_used = 0
        while True:
            text = self.user.read_answer(question, started_at)
            command = None if text is None else text.strip().lower()
            if text is None or command == QUIT_COMMAND:
                return False
            if command == SKIP_COMMAND:
                self._record(question, started_at, "skipped", hints_used)
                return True
            if command == HINT_COMMAND:
                if hints_used < len(question.hints):
                    hints_used += 1
                    self.user.show_hint(question, hints_used)
                else:
                    self.user.show_notice("no more hints for this question")
                continue
            try:
                verdict = judge(question, text)
            except InvalidAnswer as error:
                self.user.show_notice(error.message)
                continue
            break
        record = self._record(question, started_at, verdict.outcome, hints_used)
        if verdict.outcome in ("right", "wrong"):
            self.user.show_verdict(question, verdict.outcome)
        for reason in verdict.reasons:
            self.user.show_notice(reason)
        self.user.reveal(question)
        return self._rate(record)

    def _rate(self, record: QuestionRecord) -> bool:
        while True:
            text = self.user.read_rating()
            key = None if text is None else text.strip().lower()
            if key is None or key == QUIT_COMMAND:
                if record.outcome == "wrong":
                    self._save(record)  # the answer alone decides its rating: again
                return False
            if key in RATING_KEYS:
                record.rating = RATING_KEYS[key]
                record.due = self._save(record)
                if record.due is not None:
                    self.user.show_next_review(record.due)
                return True
            self.user.show_notice(RATING_HELP)

    def _save(self, record: QuestionRecord) -> datetime | None:
        if self.recorder is None:
            return None
        return self.recorder.record_review(
            record.question_id, record.rating, record.outcome, record.seconds, record.hints_used
        )

    def _record(
        self, question: Question, started_at: float, outcome: Outcome, hints_used: int
    ) -> QuestionRecord:
        record = QuestionRecord(
            question_id=question.id,
            seconds=self.clock() - started_at,
            budget_seconds=question.time * 60,
            outcome=outcome,
            rating="none",
            hints_used=hints_used,
        )
        self.records.append(record)
        return record
