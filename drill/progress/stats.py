"""Statistics over the progress store and the bank: plain numbers for `drill stats` and
`drill exercises`, their --json objects, and the Rich view (drill.progress.view).

"Today" and every day below is the user's local calendar day. Questions that left the bank
count in the review totals but are not listed, scheduled or forecast.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from drill.progress.clock import local_day
from drill.progress.schedule import retrievability, state_name
from drill.progress.store import CardRecord, GradeRecord, Review

if TYPE_CHECKING:
    from drill.bank import Bank, Question
    from drill.progress.store import Store

FORECAST_DAYS = 14
CALENDAR_WEEKS = 20
RETENTION_DAYS = 30


@dataclass(frozen=True)
class ExerciseProgress:
    """One graded exercise of the bank with the user's results on it."""

    id: str
    title: str
    points: int
    order: int
    status: str  # not_attempted | failed | passed
    best_points: float | None
    attempts: int  # grades of anything but a stub
    last_graded: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "points": self.points,
            "order": self.order,
            "status": self.status,
            "best_points": self.best_points,
            "max_points": self.points,
            "attempts": self.attempts,
            "last_graded": _iso(self.last_graded),
        }


@dataclass(frozen=True)
class QuestionProgress:
    id: str
    topic: str
    kind: str
    state: str  # new | learning | review | relearning
    due: datetime | None
    reviews: int
    lapses: int
    last_rating: str | None
    recall: float  # FSRS's predicted chance of recalling it now, 0 when new

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "due": _iso(self.due),
            "reviews": self.reviews,
            "lapses": self.lapses,
            "last_rating": self.last_rating,
        }


@dataclass(frozen=True)
class Stats:
    reviews: int
    due_now: int
    due_today: int
    due_this_week: int  # due by the end of the sixth day after today
    new_left: int  # questions of the bank never reviewed
    streak_days: int
    retention_30d: float | None
    questions: list[QuestionProgress]
    exercises: list[ExerciseProgress]
    interviews: list[dict[str, Any]]
    forecast: list[tuple[date, int]]  # reviews falling due on each of the next 14 days
    calendar: dict[date, int]  # reviews done on each day of the last 20 weeks

    def to_json(self) -> dict[str, Any]:
        """Exactly the object `drill stats --json` prints."""
        return {
            "reviews": self.reviews,
            "due_now": self.due_now,
            "new_left": self.new_left,
            "streak_days": self.streak_days,
            "retention_30d": self.retention_30d,
            "questions": [question.to_json() for question in self.questions],
            "exercises": [
                {key: value for key, value in exercise.to_json().items() if key in _EXERCISE_KEYS}
                for exercise in self.exercises
            ],
            "interviews": [
                {key: interview.get(key) for key in _INTERVIEW_KEYS}
                for interview in self.interviews
            ],
        }

    def mastery(self, group: str) -> dict[str, float]:
        """Mean predicted recall (0 to 1) of the questions of each topic or each kind."""
        totals: dict[str, list[float]] = {}
        for question in self.questions:
            totals.setdefault(getattr(question, group), []).append(question.recall)
        return {name: sum(values) / len(values) for name, values in sorted(totals.items())}


_EXERCISE_KEYS = ("id", "status", "best_points", "max_points", "attempts", "last_graded")
_INTERVIEW_KEYS = ("started", "questions", "points", "max_points", "minutes")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def exercise_progress(bank: Bank, grades: list[GradeRecord]) -> list[ExerciseProgress]:
    """Every exercise of the bank in its order, with status, best score and last grade."""
    attempts: dict[str, list[GradeRecord]] = {}
    for grade in grades:
        if grade.status != "missing":
            attempts.setdefault(grade.exercise_id, []).append(grade)
    progress = []
    for exercise in bank.exercises.values():
        tries = attempts.get(exercise.id, [])
        if not tries:
            status = "not_attempted"
        elif any(grade.status == "passed" for grade in tries):
            status = "passed"
        else:
            status = "failed"
        progress.append(
            ExerciseProgress(
                id=exercise.id,
                title=exercise.title,
                points=exercise.points,
                order=exercise.order,
                status=status,
                best_points=max((grade.points for grade in tries), default=None),
                attempts=len(tries),
                last_graded=max((grade.graded_at for grade in tries), default=None),
            )
        )
    return progress


def compute(bank: Bank, store: Store, when: datetime) -> Stats:
    """Everything `drill stats` shows, as of `when`."""
    cards = store.cards()
    reviews = store.reviews()
    grades = store.grades()
    today = local_day(when)
    questions = [
        _question_progress(question, cards.get(question.id), when)
        for question in bank.questions.values()
    ]
    due_days = [local_day(question.due) for question in questions if question.due is not None]
    due_per_day = Counter(max(day, today) for day in due_days)  # overdue ones count today
    coming = [today + timedelta(days=offset) for offset in range(FORECAST_DAYS)]
    per_day = Counter(local_day(review.reviewed_at) for review in reviews)
    # The calendar starts on the Monday CALENDAR_WEEKS - 1 weeks before this week's.
    first_shown = today - timedelta(days=today.weekday() + 7 * (CALENDAR_WEEKS - 1))
    shown = [
        first_shown + timedelta(days=offset) for offset in range((today - first_shown).days + 1)
    ]
    practice_days = set(per_day) | {
        local_day(grade.graded_at) for grade in grades if grade.status != "missing"
    }
    return Stats(
        reviews=len(reviews),
        due_now=sum(1 for q in questions if q.due is not None and q.due <= when),
        due_today=sum(1 for day in due_days if day <= today),
        due_this_week=sum(1 for day in due_days if day <= today + timedelta(days=6)),
        new_left=sum(1 for q in questions if q.state == "new"),
        streak_days=_streak(practice_days, today),
        retention_30d=_retention(reviews, when),
        questions=questions,
        exercises=exercise_progress(bank, grades),
        interviews=store.interviews(),
        forecast=[(day, due_per_day[day]) for day in coming],
        calendar={day: per_day[day] for day in shown},
    )


def _question_progress(
    question: Question, stored: CardRecord | None, when: datetime
) -> QuestionProgress:
    card = None if stored is None else stored.card
    return QuestionProgress(
        id=question.id,
        topic=question.topic,
        kind=question.kind,
        state=state_name(card),
        due=None if card is None else card.due,
        reviews=0 if stored is None else stored.reviews,
        lapses=0 if stored is None else stored.lapses,
        last_rating=None if stored is None else stored.last_rating,
        recall=retrievability(card, when),
    )


def _streak(days: set[date], today: date) -> int:
    """Consecutive practice days up to today; a day not yet practised does not break it."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def _retention(reviews: list[Review], when: datetime) -> float | None:
    """The share of the last 30 days' reviews not rated again; None without any."""
    recent = [r for r in reviews if when - timedelta(days=RETENTION_DAYS) < r.reviewed_at <= when]
    if not recent:
        return None
    return sum(1 for review in recent if review.rating != "again") / len(recent)
