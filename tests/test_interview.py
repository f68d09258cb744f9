"""The mock interview's loop with fakes: a clock, a scripted candidate, a workspace, a store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock, ScriptedPerson

from drill.bank import Question, load_bank
from drill.interview.loop import TIME_UP_NOTICE, Graded, Interview, Scorecard, pick_interview

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"
QUESTIONS = load_bank(FIXTURE_BANK).questions
BUILT_IN = load_bank(Path(__file__).resolve().parent.parent / "questions").questions
STARTED = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


class Workspace:
    """Starter paths under `root`; each grade returns the next scripted result."""

    def __init__(self, root: Path, grades: Iterable[Graded] = ()) -> None:
        self.root = root
        self.grades = list(grades)
        self.started: list[str] = []
        self.graded: list[Path] = []

    def start(self, question: Question) -> Path:
        self.started.append(question.id)
        return self.root / f"{question.id}.py"

    def grade(self, path: Path, question: Question) -> Graded:
        self.graded.append(path)
        return self.grades.pop(0)


class Store:
    def __init__(self) -> None:
        self.saved: list[Mapping[str, Any]] = []
        self.reviews: list[tuple[str, str, str, float, int]] = []

    def record_review(
        self,
        question_id: str,
        rating: str,
        outcome: str,
        seconds: float,
        hints_used: int,
        source: str,
    ) -> datetime:
        assert source == "interview"
        self.reviews.append((question_id, rating, outcome, seconds, hints_used))
        return STARTED

    def record_interview(self, scorecard: Mapping[str, Any]) -> str:
        self.saved.append(scorecard)
        return f"interview-{len(self.saved)}"


def interview(
    ids: list[str],
    script: list[object],
    grades: Iterable[Graded] = (),
    minutes: int = 45,
    seconds_per_read: float = 30.0,
) -> tuple[Scorecard, ScriptedPerson, Workspace, Store]:
    clock = FakeClock(500.0)
    candidate = ScriptedPerson(script, clock, seconds_per_read)
    workspace = Workspace(Path("answers"), grades)
    store = Store()
    session = Interview(
        [QUESTIONS[i] for i in ids], minutes, candidate, workspace, store, clock, lambda: STARTED
    )
    scorecard = session.run()
    return scorecard, candidate, workspace, store


def rows(scorecard: Scorecard) -> list[tuple[str, str, str, int, float]]:
    return [(s.id, s.verdict, s.result, s.hints_used, s.points) for s in scorecard.questions]


# -- choosing the set ------------------------------------------------------------------------


def test_the_default_set_is_one_concept_one_derivation_one_code_question() -> None:
    chosen = pick_interview(BUILT_IN.values(), seed=3)
    assert [question.kind for question in chosen] == ["concept", "derivation", "code"]


def test_a_longer_set_deals_every_kind_in_turn() -> None:
    chosen = pick_interview(BUILT_IN.values(), count=12, seed=3)
    kinds = ["concept", "derivation", "code", "numeric", "choice", "formula"]
    assert [q.kind for q in chosen] == kinds * 2
    assert len({question.id for question in chosen}) == 12


def test_a_kind_that_runs_out_gives_its_turn_to_the_next() -> None:
    # The fixture bank has one question of each kind but two choice questions, and no formula.
    chosen = pick_interview(QUESTIONS.values(), count=10, seed=1)
    assert Counter(q.kind for q in chosen) == {
        "concept": 1,
        "derivation": 1,
        "code": 1,
        "numeric": 1,
        "choice": 2,
    }
    assert [q.kind for q in chosen][:5] == ["concept", "derivation", "code", "numeric", "choice"]


def test_difficulty_filters_and_the_seed_repeats() -> None:
    hard = pick_interview(BUILT_IN.values(), count=4, difficulty="hard", seed=5)
    assert hard and all(question.difficulty == "hard" for question in hard)
    assert [q.id for q in hard] == [
        q.id for q in pick_interview(BUILT_IN.values(), count=4, difficulty="HARD", seed=5)
    ]
    draws = {tuple(q.id for q in pick_interview(BUILT_IN.values(), seed=s)) for s in range(6)}
    assert len(draws) > 1


# -- the loop --------------------------------------------------------------------------------


def test_a_whole_interview_is_scored_and_stored() -> None:
    scorecard, candidate, workspace, store = interview(
        ["chain-rule-basics", "mse-gradient", "linear-backward-code"],
        [
            "composition of functions",  # concept: notes, then reveal
            "g",  # self-rated good
            "?",
            "?",  # two hints on the derivation
            "2/N (ŷ − y)",
            "h",  # self-rated hard
            "my notes",  # not a command: a reminder to edit the file
            "done",  # graded: 4 of 10
            "done",  # graded: 10 of 10, which ends the question
        ],
        grades=[Graded(4.0, 10), Graded(10.0, 10)],
    )
    assert scorecard.ended == "finished"
    assert rows(scorecard) == [
        ("chain-rule-basics", "self-rated", "good", 0, 1.0),
        ("mse-gradient", "self-rated", "hard", 1, 0.5),
        ("linear-backward-code", "graded", "10 of 10 points", 0, 1.0),
    ]
    # The derivation's only hint was served once; the second request got a notice.
    assert candidate.events.count(("hint", 1)) == 1
    assert ("notice", "no more hints for this question") in candidate.events
    assert workspace.started == ["linear-backward-code"]
    assert workspace.graded == [Path("answers/linear-backward-code.py")] * 2
    assert ("grade", "4/10") in candidate.events
    assert any(
        kind == "notice" and "grade it again" in str(text) for kind, text in candidate.events
    )
    assert any(
        kind == "notice" and "then type done" in str(text) for kind, text in candidate.events
    )
    # Each read takes 30 s: 2, 4 and 3 reads.
    assert [s.seconds for s in scorecard.questions] == [60.0, 120.0, 90.0]
    assert [s.budget_seconds for s in scorecard.questions] == [180, 300, 900]
    assert scorecard.seconds_used == 270.0
    assert (scorecard.points, scorecard.max_points) == (2.5, 3)
    assert store.reviews == [
        ("chain-rule-basics", "good", "none", 60.0, 0),
        ("mse-gradient", "hard", "none", 120.0, 1),
    ]
    [saved] = store.saved
    assert saved == scorecard.to_json()
    assert saved["started"] == "2026-03-01T09:30:00+00:00"
    assert (saved["points"], saved["max_points"], saved["minutes"]) == (2.5, 3, 45)
    assert saved["questions"][2]["file"] == "answers/linear-backward-code.py"


def test_auto_scored_answers_need_no_rating() -> None:
    scorecard, candidate, _, store = interview(
        ["sigmoid-max-slope", "relu-gradient-choice"], ["x + 1", "sqrt(1/16)", "a"]
    )
    assert rows(scorecard) == [
        ("sigmoid-max-slope", "auto-scored", "right", 0, 1.0),
        ("relu-gradient-choice", "auto-scored", "wrong", 0, 0.0),
    ]
    assert candidate.events[1][0] == "notice"  # "x + 1" is refused, then retried
    assert store.reviews == [
        ("sigmoid-max-slope", "good", "right", 60.0, 0),
        ("relu-gradient-choice", "again", "wrong", 30.0, 0),
    ]
    assert [e for e in candidate.events if e[0] == "verdict"] == [
        ("verdict", "right"),
        ("verdict", "wrong"),
    ]


def test_a_file_that_cannot_be_graded_is_reported_and_can_be_fixed() -> None:
    scorecard, candidate, _, _ = interview(
        ["linear-backward-code"],
        ["done", "done"],
        grades=[Graded(0.0, 10, problem="cannot grade it: a syntax error"), Graded(10.0, 10)],
    )
    assert ("grade", "cannot grade it: a syntax error") in candidate.events
    assert rows(scorecard) == [("linear-backward-code", "graded", "10 of 10 points", 0, 1.0)]


def test_moving_on_keeps_the_last_grade_or_scores_nothing() -> None:
    partial, _, _, _ = interview(["linear-backward-code"], ["done", "s"], [Graded(2.5, 10)])
    assert rows(partial) == [("linear-backward-code", "graded", "2.5 of 10 points", 0, 0.25)]
    skipped, _, workspace, _ = interview(["linear-backward-code"], ["?", "s"])
    assert rows(skipped) == [("linear-backward-code", "skipped", "not graded", 1, 0.0)]
    assert workspace.graded == []


def test_quit_ends_early_with_the_scorecard_so_far() -> None:
    scorecard, candidate, _, store = interview(
        ["relu-gradient-choice", "chain-rule-basics", "mse-gradient"], ["b", "?", "q"]
    )
    assert scorecard.ended == "quit"
    assert rows(scorecard) == [
        ("relu-gradient-choice", "auto-scored", "right", 0, 1.0),
        ("chain-rule-basics", "skipped", "not answered", 1, 0.0),
    ]
    assert ("question", ("mse-gradient", 3, 3)) not in candidate.events
    assert len(store.saved) == 1


def test_ctrl_c_ends_early_and_the_scorecard_is_still_stored() -> None:
    scorecard, _, _, store = interview(
        ["relu-gradient-choice", "linear-backward-code", "mse-gradient"],
        ["b", "done", KeyboardInterrupt()],
        grades=[Graded(5.0, 10)],
    )
    assert scorecard.ended == "interrupted"
    assert rows(scorecard) == [
        ("relu-gradient-choice", "auto-scored", "right", 0, 1.0),
        ("linear-backward-code", "skipped", "not answered", 0, 0.0),
    ]
    assert store.saved == [scorecard.to_json()]
    assert store.saved[0]["ended"] == "interrupted"


def test_end_of_input_while_rating_ends_the_interview() -> None:
    scorecard, _, _, store = interview(["chain-rule-basics", "mse-gradient"], ["notes"])
    assert scorecard.ended == "quit"
    assert rows(scorecard) == [("chain-rule-basics", "self-rated", "none", 0, 0.0)]
    assert store.reviews == []  # no rating, no review


def test_no_new_question_once_the_time_is_up() -> None:
    # One minute in all; each read takes 40 s, so the first question uses 80 s.
    scorecard, candidate, _, _ = interview(
        ["chain-rule-basics", "mse-gradient"],
        ["notes", "e", "more"],
        minutes=1,
        seconds_per_read=40.0,
    )
    assert scorecard.ended == "time up"
    assert rows(scorecard) == [
        ("chain-rule-basics", "self-rated", "easy", 0, 1.0),
        ("mse-gradient", "skipped", "not reached", 0, 0.0),
    ]
    assert (scorecard.points, scorecard.max_points) == (1.0, 2)
    assert scorecard.questions[0].seconds == 80.0
    assert scorecard.questions[1].seconds == 0.0
    assert ("question", ("mse-gradient", 2, 2)) not in candidate.events


def test_a_code_answer_graded_after_the_time_is_up_stands_without_a_retry() -> None:
    # One minute in all; the task is read, then `done` comes 80 s in: one grade, no retry.
    scorecard, candidate, workspace, _ = interview(
        ["linear-backward-code", "mse-gradient"],
        ["done", "done"],
        grades=[Graded(2.5, 10), Graded(10.0, 10)],
        minutes=1,
        seconds_per_read=80.0,
    )
    assert scorecard.ended == "time up"
    assert len(workspace.graded) == 1
    assert ("notice", TIME_UP_NOTICE) in candidate.events
    assert rows(scorecard) == [
        ("linear-backward-code", "graded", "2.5 of 10 points", 0, 0.25),
        ("mse-gradient", "skipped", "not reached", 0, 0.0),
    ]


def test_a_code_question_without_a_grade_when_the_time_is_up_scores_nothing() -> None:
    scorecard, candidate, workspace, _ = interview(
        ["linear-backward-code"], ["wait", "done"], minutes=1, seconds_per_read=80.0
    )
    assert workspace.graded == []
    assert ("notice", TIME_UP_NOTICE) in candidate.events
    assert rows(scorecard) == [("linear-backward-code", "skipped", "not graded", 0, 0.0)]


def test_an_unreadable_answer_after_the_time_is_up_gets_no_second_try() -> None:
    scorecard, candidate, _, _ = interview(
        ["relu-gradient-choice"], ["not an option", "b"], minutes=1, seconds_per_read=80.0
    )
    assert rows(scorecard) == [("relu-gradient-choice", "skipped", "time up", 0, 0.0)]
    notices = [event for kind, event in candidate.events if kind == "notice"]
    assert notices[-1].endswith(TIME_UP_NOTICE)


def test_before_the_time_is_up_an_unreadable_answer_can_be_given_again() -> None:
    scorecard, _, _, _ = interview(["relu-gradient-choice"], ["not an option", "b"])
    assert rows(scorecard) == [("relu-gradient-choice", "auto-scored", "right", 0, 1.0)]


@pytest.mark.parametrize(("rating", "points"), [("1", 0.0), ("2", 0.5), ("3", 1.0), ("4", 1.0)])
def test_self_ratings_score_their_points(rating: str, points: float) -> None:
    scorecard, _, _, _ = interview(["chain-rule-basics"], ["", "bad", rating])
    assert scorecard.points == points
