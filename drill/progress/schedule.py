"""Spaced repetition on the fsrs package: each question is one fsrs Card, each rating a review.

Cards are kept as the library's own `Card.to_dict()`. Fuzzing is off, so replaying a
question's reviews always gives back the same card: an export imported elsewhere schedules
exactly as it did at home.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Literal

from fsrs import Card, Rating, Scheduler, State

from drill.bank.schema import DIFFICULTIES
from drill.progress.clock import local_day

if TYPE_CHECKING:
    from drill.bank import Question

ReviewRating = Literal["again", "hard", "good", "easy"]
CardState = Literal["new", "learning", "review", "relearning"]

REVIEW_RATINGS: tuple[ReviewRating, ...] = ("again", "hard", "good", "easy")
# A question due back within this long (FSRS's learning steps are 1 and 10 minutes) is asked
# again before a scheduled quiz ends, as Anki's learn-ahead limit does by default.
LEARN_AHEAD = timedelta(minutes=20)
_STATE_NAMES: dict[State, CardState] = {
    State.Learning: "learning",
    State.Review: "review",
    State.Relearning: "relearning",
}


@cache
def scheduler() -> Scheduler:
    """The FSRS scheduler with the library's default parameters and no random fuzz."""
    return Scheduler(enable_fuzzing=False)


def state_name(card: Card | None) -> CardState:
    """The state of a question: new when never reviewed, else its card's FSRS state."""
    return "new" if card is None else _STATE_NAMES[card.state]


def review(card: Card | None, question_id: str, rating: ReviewRating, when: datetime) -> Card:
    """The card after one review at `when` (UTC); `card` is None for a first review."""
    if card is None:
        # A stable id per question keeps replays and exports identical; fsrs only echoes it.
        card = Card(card_id=zlib.crc32(question_id.encode()), due=when)
    updated, _ = scheduler().review_card(card, Rating[rating.capitalize()], when)
    return updated


def retrievability(card: Card | None, when: datetime) -> float:
    """FSRS's predicted chance (0 to 1) of recalling the question at `when`; 0 when new."""
    return 0.0 if card is None else scheduler().get_card_retrievability(card, when)


def worst(ratings: Iterable[ReviewRating]) -> ReviewRating:
    """The lowest of several ratings (again < hard < good < easy)."""
    return min(ratings, key=REVIEW_RATINGS.index)


@dataclass(frozen=True)
class Plan:
    """What a scheduled quiz asks, and what to say when that is nothing."""

    due: list[Question]  # reviews due now, most overdue first
    new: list[Question]  # questions never reviewed, easiest first, within today's allowance
    new_waiting: int  # new questions held back by the daily limit
    next_due: datetime | None  # the earliest future review among the candidates

    @property
    def questions(self) -> list[Question]:
        return self.due + self.new

    def first(self, count: int | None) -> Plan:
        """The plan cut to its first `count` questions (all of them for None)."""
        if count is None:
            return self
        due = self.due[:count]
        return replace(self, due=due, new=self.new[: count - len(due)])


def plan(
    candidates: Sequence[Question],
    cards: Mapping[str, Card],
    introduced_today: int,
    new_per_day: int,
    when: datetime,
) -> Plan:
    """Due reviews first (most overdue first), then up to the day's allowance of new questions.

    `candidates` are the bank's questions that pass the filters, in bank order; `cards` the
    stored card of each question reviewed before; `introduced_today` how many questions had
    their first review today. Questions that left the bank are simply not candidates.
    """
    due = sorted(
        (q for q in candidates if q.id in cards and cards[q.id].due <= when),
        key=lambda q: cards[q.id].due,
    )
    fresh = sorted(
        (q for q in candidates if q.id not in cards),
        key=lambda q: DIFFICULTIES.index(q.difficulty),  # easiest first; sorted() is stable
    )
    allowance = max(new_per_day - introduced_today, 0)
    later = [cards[q.id].due for q in candidates if q.id in cards and cards[q.id].due > when]
    return Plan(
        due=due,
        new=fresh[:allowance],
        new_waiting=len(fresh) - min(allowance, len(fresh)),
        next_due=min(later, default=None),
    )


def first_reviewed_today(first_reviews: Iterable[datetime], when: datetime) -> int:
    """How many of these first-review times fall on the local day of `when`."""
    today = local_day(when)
    return sum(1 for moment in first_reviews if local_day(moment) == today)
