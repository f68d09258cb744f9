"""The quiz loop without a terminal: a fake clock and a scripted user."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import pytest
from fakes import FakeClock, ScriptedPerson

from drill.bank import Question, load_bank
from drill.quiz.judge import InvalidAnswer, judge, parse_choice, parse_number
from drill.quiz.session import Filters, QuestionRecord, QuizSession, matching, pick

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"
QUESTIONS = load_bank(FIXTURE_BANK).questions


def run(ids: list[str], script: list[str]) -> tuple[list[QuestionRecord], ScriptedPerson]:
    clock = FakeClock()
    user = ScriptedPerson(script, clock)
    records = QuizSession([QUESTIONS[i] for i in ids], user, clock).run()
    return records, user


# -- judging -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["b", "B", " b ", "b,", "B\t"])
def test_single_choice_right_in_any_spelling(text: str) -> None:
    assert judge(QUESTIONS["relu-gradient-choice"], text).outcome == "right"


@pytest.mark.parametrize("text", ["a", "b,c", "A B"])
def test_single_choice_wrong(text: str) -> None:
    assert judge(QUESTIONS["relu-gradient-choice"], text).outcome == "wrong"


@pytest.mark.parametrize("text", ["A,C", "a c", "c, a", "ac", "A, c, a"])
def test_multiple_choice_needs_exactly_the_correct_set(text: str) -> None:
    assert judge(QUESTIONS["softmax-facts"], text).outcome == "right"


@pytest.mark.parametrize("text", ["a", "c", "a,b,c"])
def test_multiple_choice_partial_or_extra_is_wrong(text: str) -> None:
    assert judge(QUESTIONS["softmax-facts"], text).outcome == "wrong"


def test_choice_outside_the_options_is_invalid() -> None:
    with pytest.raises(InvalidAnswer, match="no option E; choose from A to D"):
        parse_choice("b, e", 4)
    with pytest.raises(InvalidAnswer, match="is not a choice"):
        parse_choice("2", 4)


@pytest.mark.parametrize(
    ("text", "number"),
    [("0.25", 0.25), ("1/4", 0.25), (" 1 / 4 ", 0.25), ("9.5e-7", 9.5e-7), ("-3", -3.0)],
)
def test_numbers_in_the_usual_spellings(text: str, number: float) -> None:
    assert parse_number(text) == pytest.approx(number)


@pytest.mark.parametrize("text", ["abc", "1/0", "nan", "inf", "0,25", "1/"])
def test_junk_is_not_a_number(text: str) -> None:
    with pytest.raises(InvalidAnswer, match="number"):
        parse_number(text)


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("0.25", "right"),
        ("1/4", "right"),
        ("0.251", "right"),
        ("0.249", "right"),
        ("0.2512", "wrong"),
        ("0.5", "wrong"),
    ],
)
def test_numeric_answers_within_tolerance_are_right(text: str, outcome: str) -> None:
    # sigmoid-max-slope expects 0.25 ± 0.001; the bounds themselves count as right.
    assert judge(QUESTIONS["sigmoid-max-slope"], text).outcome == outcome


def test_free_text_and_empty_answers_are_not_judged() -> None:
    assert judge(QUESTIONS["chain-rule-basics"], "it is the chain rule").outcome == "none"
    assert judge(QUESTIONS["relu-gradient-choice"], "  ").outcome == "none"


# -- the loop ------------------------------------------------------------------------------


def test_right_answer_is_judged_revealed_and_rated() -> None:
    records, user = run(["relu-gradient-choice"], ["b", "g"])
    assert records == [
        QuestionRecord(
            question_id="relu-gradient-choice",
            seconds=10.0,
            budget_seconds=120,
            outcome="right",
            rating="good",
            hints_used=0,
        )
    ]
    assert user.events == [
        ("question", ("relu-gradient-choice", 1, 1)),
        ("verdict", "right"),
        ("reveal", "relu-gradient-choice"),
    ]


def test_unreadable_answer_gives_a_notice_and_a_retry() -> None:
    records, user = run(["sigmoid-max-slope"], ["a quarter", "1/4", "4"])
    assert user.kinds() == ["question", "notice", "verdict", "reveal"]
    assert "not a number" in str(user.events[1][1])
    # Time runs across the retry: two reads of 10 s each.
    assert (records[0].outcome, records[0].seconds, records[0].rating) == ("right", 20.0, "easy")


def test_wrong_answer() -> None:
    records, user = run(["softmax-facts"], ["a", "1"])
    assert ("verdict", "wrong") in user.events
    assert (records[0].outcome, records[0].rating) == ("wrong", "again")


def test_notes_on_a_concept_question_reveal_without_a_verdict() -> None:
    records, user = run(["chain-rule-basics"], ["composition of functions", "h"])
    assert user.kinds() == ["question", "reveal"]
    assert (records[0].outcome, records[0].rating) == ("none", "hard")


def test_skip_records_the_question_and_moves_on_without_revealing() -> None:
    records, user = run(["mse-gradient", "relu-gradient-choice"], ["s", "b", "3"])
    assert [(r.question_id, r.outcome, r.rating) for r in records] == [
        ("mse-gradient", "skipped", "none"),
        ("relu-gradient-choice", "right", "good"),
    ]
    assert ("reveal", "mse-gradient") not in user.events


def test_hints_are_counted_and_run_out() -> None:
    # sigmoid-max-slope has three hints; the fourth request gets a notice instead.
    records, user = run(["sigmoid-max-slope"], ["?", "?", "?", "?", "0.25", "2"])
    assert [event for event in user.events if event[0] == "hint"] == [
        ("hint", 1),
        ("hint", 2),
        ("hint", 3),
    ]
    assert ("notice", "no more hints for this question") in user.events
    assert records[0].hints_used == 3
    assert records[0].seconds == 50.0


def test_quit_while_answering_stops_without_recording_that_question() -> None:
    records, user = run(["relu-gradient-choice", "mse-gradient", "softmax-facts"], ["b", "3", "q"])
    assert [r.question_id for r in records] == ["relu-gradient-choice"]
    assert ("question", ("softmax-facts", 3, 3)) not in user.events


def test_quit_while_rating_keeps_the_answer_unrated() -> None:
    records, _ = run(["relu-gradient-choice", "mse-gradient"], ["b", "Q"])
    assert [(r.question_id, r.outcome, r.rating) for r in records] == [
        ("relu-gradient-choice", "right", "none")
    ]


def test_end_of_input_ends_the_session() -> None:
    records, user = run(["relu-gradient-choice", "mse-gradient"], ["b", "e"])
    assert [r.rating for r in records] == ["easy"]
    assert user.kinds().count("question") == 2


def test_bad_rating_is_asked_again() -> None:
    records, user = run(["relu-gradient-choice"], ["b", "7", "great", "G"])
    assert [kind for kind in user.kinds() if kind == "notice"] == ["notice", "notice"]
    assert records[0].rating == "good"


class InterruptedUser(ScriptedPerson):
    """Presses Ctrl-C as soon as the mse-gradient question asks for an answer."""

    def read_answer(self, question: Question, started_at: float) -> str | None:
        if question.id == "mse-gradient":
            raise KeyboardInterrupt
        return super().read_answer(question, started_at)


def test_records_survive_an_interrupt() -> None:
    clock = FakeClock()
    user = InterruptedUser(["b", "3"], clock)
    session = QuizSession(
        [QUESTIONS["relu-gradient-choice"], QUESTIONS["mse-gradient"]], user, clock
    )
    with pytest.raises(KeyboardInterrupt):
        session.run()
    assert [(r.question_id, r.rating) for r in session.records] == [
        ("relu-gradient-choice", "good")
    ]


# -- selection -----------------------------------------------------------------------------


def ids(questions: Iterable[Question]) -> list[str]:
    return [question.id for question in questions]


def test_the_same_seed_gives_the_same_order() -> None:
    first = ids(pick(QUESTIONS.values(), Filters(), seed=7))
    assert first == ids(pick(QUESTIONS.values(), Filters(), seed=7))
    assert sorted(first) == sorted(QUESTIONS)
    orders = {tuple(ids(pick(QUESTIONS.values(), Filters(), seed=seed))) for seed in range(5)}
    assert len(orders) > 1


def test_count_limits_the_pick() -> None:
    assert len(pick(QUESTIONS.values(), Filters(), count=2, seed=1)) == 2
    assert len(pick(QUESTIONS.values(), Filters(), count=50, seed=1)) == len(QUESTIONS)
    assert (
        ids(pick(QUESTIONS.values(), Filters(), count=2, seed=1))
        == ids(pick(QUESTIONS.values(), Filters(), seed=1))[:2]
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(topic="losses"), ["mse-gradient"]),
        (Filters(difficulty="easy"), ["chain-rule-basics", "sigmoid-max-slope"]),
        (Filters(kind="choice"), ["relu-gradient-choice", "softmax-facts"]),
        (
            Filters(company="GOOGLE"),
            ["chain-rule-basics", "mse-gradient", "sigmoid-max-slope"],
        ),
        (Filters(company="google", difficulty="Easy"), ["chain-rule-basics", "sigmoid-max-slope"]),
        (Filters(company="Goog"), []),
        (Filters(topic="backprop", kind="derivation"), []),
    ],
)
def test_filters_combine_and_ignore_case(filters: Filters, expected: list[str]) -> None:
    assert ids(matching(QUESTIONS.values(), filters)) == expected


def test_a_tiny_tolerance_is_not_widened_by_the_rounding_slack() -> None:
    tight = dataclasses.replace(QUESTIONS["sigmoid-max-slope"], value=5.96e-8, tolerance=1e-10)
    assert judge(tight, "5.965e-8").outcome == "right"
    assert judge(tight, "6e-8").outcome == "wrong"
