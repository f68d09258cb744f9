"""The mock interview, free of any terminal: choose a set, ask, grade, score, store.

The clocks, the user, the code workspace (starter files and grading) and the store are
passed in, so the loop runs the same at a real terminal (drill.interview.terminal) and
against fakes in the tests. Every question is worth one point: an auto-scored answer 1 or 0,
a self-rating "easy" or "good" 1, "hard" ½, "again" 0, a graded file the share of its
exercises' points it earned, a skipped question 0.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from drill.quiz.judge import InvalidAnswer, Outcome, judge
from drill.quiz.session import HINT_COMMAND, QUIT_COMMAND, RATING_KEYS, SKIP_COMMAND, Rating

if TYPE_CHECKING:
    from drill.bank import Question

DONE_COMMAND = "done"
# Time running out mid-question takes the answer in hand as it is: no retry after it.
TIME_UP_NOTICE = "the interview's time is up: this answer is the last"
DEFAULT_QUESTIONS = 3
# The kinds of a set in the order they are dealt: the first three are a real round's mix.
KIND_ORDER = ("concept", "derivation", "code", "numeric", "choice", "formula")

Verdict = Literal["auto-scored", "graded", "self-rated", "skipped"]
Ending = Literal["finished", "time up", "quit", "interrupted"]
SELF_RATING_POINTS: dict[Rating, float] = {
    "easy": 1.0,
    "good": 1.0,
    "hard": 0.5,
    "again": 0.0,
    "none": 0.0,
}


def pick_interview(
    questions: Iterable[Question],
    count: int = DEFAULT_QUESTIONS,
    difficulty: str | None = None,
    seed: int | None = None,
) -> list[Question]:
    """Up to `count` questions dealt by kind in KIND_ORDER, at random within each kind.

    A kind that has run out gives its turn to the next kind that has questions left.
    """
    pools: dict[str, list[Question]] = {kind: [] for kind in KIND_ORDER}
    for question in sorted(questions, key=lambda q: q.id):
        if difficulty is None or question.difficulty.casefold() == difficulty.casefold():
            pools[question.kind].append(question)
    randomness = random.Random(seed)
    for pool in pools.values():
        randomness.shuffle(pool)
    chosen: list[Question] = []
    turn = 0
    while len(chosen) < count and any(pools.values()):
        for offset in range(len(KIND_ORDER)):
            pool = pools[KIND_ORDER[(turn + offset) % len(KIND_ORDER)]]
            if pool:
                chosen.append(pool.pop())
                break
        turn += 1
    return chosen


@dataclass
class QuestionScore:
    """How one question of the interview went; plain values, ready for JSON."""

    id: str
    kind: str
    seconds: float
    budget_seconds: int
    verdict: Verdict
    result: str  # right / wrong, a self-rating, "2.5 of 5 points", or "skipped"
    hints_used: int
    points: float
    max_points: int = 1
    file: str | None = None  # where a code question was answered


@dataclass
class Scorecard:
    """The whole interview: when it started, how long it was allowed and took, each question."""

    started: datetime
    minutes: int
    seconds_used: float = 0.0
    ended: Ending = "finished"
    questions: list[QuestionScore] = field(default_factory=list)

    @property
    def points(self) -> float:
        return round(sum(score.points for score in self.questions), 2)

    @property
    def max_points(self) -> int:
        return sum(score.max_points for score in self.questions)

    def to_json(self) -> dict[str, Any]:
        """The object `drill interview --json` prints and the store keeps."""
        return {
            "started": self.started.isoformat(),
            "minutes": self.minutes,
            "seconds_used": round(self.seconds_used, 1),
            "ended": self.ended,
            "points": self.points,
            "max_points": self.max_points,
            "questions": [
                {**asdict(score), "seconds": round(score.seconds, 1)} for score in self.questions
            ],
        }


@dataclass(frozen=True)
class Graded:
    """What grading a code answer found: the points earned, or why it could not be graded."""

    points: float
    max_points: int
    report: object = None  # the grader's report, for the front end to show
    problem: str | None = None  # set when the file could not be graded at all

    @property
    def passed(self) -> bool:
        return self.problem is None and self.points >= self.max_points


class CodeWorkspace(Protocol):
    """Where code questions are answered: a starter file per question, graded on request."""

    def start(self, question: Question) -> Path:
        """Write the question's starter file (keeping one already there); its path."""
        ...

    def grade(self, path: Path, question: Question) -> Graded: ...


class InterviewStore(Protocol):
    """Where the interview is kept (drill.progress.store.Store is one)."""

    def record_review(
        self,
        question_id: str,
        rating: str,
        outcome: str,
        seconds: float,
        hints_used: int,
        source: Literal["interview"],
    ) -> datetime:
        """One answered question, kept the moment it is scored."""
        ...

    def record_interview(self, scorecard: Mapping[str, Any]) -> str:
        """The scorecard, once the interview is over."""
        ...


class InterviewUser(Protocol):
    """The candidate as the loop sees them. Reads return None at the end of input."""

    def show_question(self, question: Question, position: int, total: int) -> None: ...

    def show_code_task(self, question: Question, path: Path) -> None: ...

    def read_answer(self, question: Question, started_at: float) -> str | None: ...

    def show_hint(self, question: Question, number: int) -> None: ...

    def show_notice(self, message: str) -> None: ...

    def show_verdict(self, question: Question, outcome: Outcome) -> None: ...

    def show_grade(self, graded: Graded) -> None: ...

    def reveal(self, question: Question) -> None: ...

    def read_rating(self) -> str | None: ...


class _EndInterview(Exception):
    """The candidate asked to stop (q, end of input); the question in hand is scored first."""


class Interview:
    """Asks `questions` within `minutes`; `scorecard` is complete up to any interruption."""

    def __init__(
        self,
        questions: Sequence[Question],
        minutes: int,
        user: InterviewUser,
        workspace: CodeWorkspace,
        store: InterviewStore,
        clock: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self.questions = questions
        self.user = user
        self.workspace = workspace
        self.store = store
        self.clock = clock
        self.total_seconds = minutes * 60
        self.started_at = clock()
        self.scorecard = Scorecard(started=now(), minutes=minutes)

    def elapsed(self) -> float:
        """Seconds since the interview began."""
        return self.clock() - self.started_at

    def time_is_up(self) -> bool:
        return self.elapsed() >= self.total_seconds

    def run(self) -> Scorecard:
        """Ask every question until the time is up or the candidate stops, then store the
        scorecard. Ctrl-C ends the interview the same way, with `ended` = "interrupted".

        Each whiteboard question answered is also a review of it, stored as it is scored: a
        self-rating as given, an auto-scored answer as "good" when right and "again" when
        wrong. A graded file is kept by the workspace, as `drill grade` keeps it."""
        try:
            for position, question in enumerate(self.questions, start=1):
                if self.time_is_up():
                    self.scorecard.ended = "time up"
                    # As in a real round, what time left unasked counts against the total.
                    for unasked in self.questions[position - 1 :]:
                        attempt = _Attempt(unasked, started_at=self.clock())
                        self._score(attempt, "skipped", "not reached", 0.0)
                    break
                self._ask(question, position)
        except _EndInterview:
            self.scorecard.ended = "quit"
        except KeyboardInterrupt:
            self.scorecard.ended = "interrupted"
        self.scorecard.seconds_used = self.elapsed()
        self.store.record_interview(self.scorecard.to_json())
        return self.scorecard

    # -- one question ------------------------------------------------------------------------

    def _ask(self, question: Question, position: int) -> None:
        self.user.show_question(question, position, len(self.questions))
        attempt = _Attempt(question, started_at=self.clock())
        try:
            if question.kind == "code":
                self._ask_code(attempt)
            else:
                self._ask_whiteboard(attempt)
        finally:
            # Stopped before a verdict (q, end of input, Ctrl-C): the question still counts.
            if not attempt.scored:
                self._score(attempt, "skipped", "not answered", 0.0)

    def _read(self, attempt: _Attempt) -> str:
        """The next answer line, after serving hints; _EndInterview on q or end of input."""
        question = attempt.question
        while True:
            text = self.user.read_answer(question, attempt.started_at)
            command = None if text is None else text.strip().lower()
            if text is None or command == QUIT_COMMAND:
                raise _EndInterview
            if command != HINT_COMMAND:
                return text
            if attempt.hints_used < len(question.hints):
                attempt.hints_used += 1
                self.user.show_hint(question, attempt.hints_used)
            else:
                self.user.show_notice("no more hints for this question")

    def _ask_whiteboard(self, attempt: _Attempt) -> None:
        question = attempt.question
        while True:
            text = self._read(attempt)
            if text.strip().lower() == SKIP_COMMAND:
                self._score(attempt, "skipped", "skipped", 0.0)
                return
            try:
                verdict = judge(question, text)
            except InvalidAnswer as error:
                if self.time_is_up():  # no second try once the time is up
                    self.user.show_notice(f"{error.message}; {TIME_UP_NOTICE}")
                    self._score(attempt, "skipped", "time up", 0.0)
                    return
                self.user.show_notice(error.message)
                continue
            break
        outcome = verdict.outcome
        if outcome in ("right", "wrong"):
            self._score(attempt, "auto-scored", outcome, 1.0 if outcome == "right" else 0.0)
            self._review(attempt, "good" if outcome == "right" else "again", outcome)
            self.user.show_verdict(question, outcome)
            for reason in verdict.reasons:
                self.user.show_notice(reason)
            self.user.reveal(question)
            return
        self.user.reveal(question)
        rating = self._rate()
        self._score(attempt, "self-rated", rating, SELF_RATING_POINTS[rating])
        if rating == "none":
            raise _EndInterview
        self._review(attempt, rating, outcome)

    def _rate(self) -> Rating:
        """The self-rating; "none" when the candidate quits instead."""
        while True:
            text = self.user.read_rating()
            key = None if text is None else text.strip().lower()
            if key is None or key == QUIT_COMMAND:
                return "none"
            if key in RATING_KEYS:
                return RATING_KEYS[key]
            self.user.show_notice("rate with 1-4 or a/h/g/e (again, hard, good, easy)")

    def _ask_code(self, attempt: _Attempt) -> None:
        question = attempt.question
        path = attempt.file = self.workspace.start(question)
        self.user.show_code_task(question, path)
        graded: Graded | None = None
        while True:
            command = self._read(attempt).strip().lower()
            if command == SKIP_COMMAND:
                break
            if command != DONE_COMMAND:
                if self.time_is_up():
                    self.user.show_notice(TIME_UP_NOTICE)
                    break
                self.user.show_notice(f"edit {path}, then type {DONE_COMMAND} to have it graded")
                continue
            result = self.workspace.grade(path, question)
            self.user.show_grade(result)
            if result.problem is None:
                graded = result
            if self.time_is_up():  # this grade stands: no more tries once the time is up
                self.user.show_notice(TIME_UP_NOTICE)
                break
            if result.problem is not None:  # not graded: the last grade stands
                continue
            if graded.passed:
                break
            self.user.show_notice(
                f"fix it and type {DONE_COMMAND} to grade it again, "
                f"or {SKIP_COMMAND} to move on with this grade"
            )
        if graded is None:
            self._score(attempt, "skipped", "not graded", 0.0)
        else:
            share = graded.points / graded.max_points if graded.max_points else 0.0
            result_text = f"{graded.points:g} of {graded.max_points} points"
            self._score(attempt, "graded", result_text, round(share, 2))

    def _review(self, attempt: _Attempt, rating: Rating, outcome: Outcome) -> None:
        score = self.scorecard.questions[-1]
        self.store.record_review(
            attempt.question.id, rating, outcome, score.seconds, score.hints_used, "interview"
        )

    def _score(self, attempt: _Attempt, verdict: Verdict, result: str, points: float) -> None:
        attempt.scored = True
        question = attempt.question
        self.scorecard.questions.append(
            QuestionScore(
                id=question.id,
                kind=question.kind,
                seconds=self.clock() - attempt.started_at,
                budget_seconds=question.time * 60,
                verdict=verdict,
                result=result,
                hints_used=attempt.hints_used,
                points=points,
                file=None if attempt.file is None else str(attempt.file),
            )
        )


@dataclass
class _Attempt:
    """The question in hand: when it was shown, the hints served, its file, whether scored."""

    question: Question
    started_at: float
    hints_used: int = 0
    file: Path | None = None
    scored: bool = False
