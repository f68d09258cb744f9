"""Numeric answers written as arithmetic: evaluated by a syntax-tree walk, never by eval."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import pytest

from drill.bank import load_bank
from drill.quiz.judge import InvalidAnswer, judge, number_examples, parse_number

REPOSITORY = Path(__file__).resolve().parent.parent
FIXTURE_QUESTION = load_bank(Path(__file__).parent / "fixtures" / "bank").questions[
    "sigmoid-max-slope"
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/4", 1 / 4),
        ("0.25**10", 0.25**10),
        ("2 - 0.1*0.52", 2 - 0.1 * 0.52),
        ("sqrt(2/576)", math.sqrt(2 / 576)),
        ("2e-3", 2e-3),
        ("-(3)", -3.0),
        ("+-+2", -2.0),
        ("2**-1", 0.5),
        ("-2**2", -4.0),  # ** binds tighter than unary minus, as in Python and on paper
        ("(1 + 2) * 3", 9.0),
        ("1 + 2 * 3", 7.0),
        ("exp(-1)", math.exp(-1)),
        ("log(e)", 1.0),
        ("ln(10)", math.log(10)),
        ("sin(pi/6)", math.sin(math.pi / 6)),
        ("cos(0)", 1.0),
        ("tanh(0.5)", math.tanh(0.5)),
        ("2^10", 1024.0),
        ("1 − 0.5 × 3 ÷ 2", 1 - 0.5 * 3 / 2),
        ("1_000", 1000.0),
        (" 7 ", 7.0),
    ],
)
def test_arithmetic_evaluates_like_python(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("__import__('os').system('true')", "the call"),
        ("().__class__", "not allowed"),
        ("(1).real", "not allowed"),
        ("x", "the name 'x' is not allowed"),
        ("nan", "the name 'nan'"),
        ("inf", "the name 'inf'"),
        ("True", "the literal True"),
        ("'1'", "the literal '1'"),
        ("1j", "the literal 1j"),
        ("[1]", "not allowed"),
        ("1 if 1 else 0", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("7 % 2", "the operator"),
        ("7 // 2", "the operator"),
        ("1 << 4", "the operator"),
        ("sqrt(4, 2)", "the call"),
        ("sqrt(x=4)", "the call"),
        ("abs(-1)", "the call"),
        ("0,25", "not allowed"),
        ("1/", "is not a number"),
        ("", "is not a number"),
        ("1/0", "divides by zero"),
        ("0**-1", "divides by zero"),
        ("sqrt(-1)", "not a real number"),
        ("log(0)", "not a real number"),
        ("(-8)**(1/3)", "not a real number"),
        ("exp(1000)", "too large"),
        ("10**400", "too large"),
        ("1e308 * 10", "too large"),
        ("9" * 400, "too long"),
        ("(" * 150 + "1" + ")" * 150, "too long"),
        ("1e999", "not a finite number"),
    ],
)
def test_anything_else_is_refused_with_one_line(text: str, reason: str) -> None:
    with pytest.raises(InvalidAnswer) as refused:
        parse_number(text)
    assert reason in refused.value.message
    assert "\n" not in refused.value.message


@pytest.mark.parametrize(
    "text", ["9**9**9", "9**9**9**9", "(10**10)**(10**10)", "exp(exp(exp(9)))"]
)
def test_towers_of_powers_fail_at_once(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidAnswer, match="too large"):
        parse_number(text)
    # Integer arithmetic would take hours (or all memory); floats overflow in microseconds.
    assert time.perf_counter() - started < 1


def test_deep_nesting_within_the_length_limit_is_evaluated() -> None:
    assert parse_number("(" * 90 + "2" + ")" * 90) == 2.0
    assert parse_number("-" * 199 + "2") == -2.0


def test_arithmetic_answers_are_judged_against_the_tolerance() -> None:
    # sigmoid-max-slope expects 0.25 ± 0.001.
    assert judge(FIXTURE_QUESTION, "1/4").outcome == "right"
    assert judge(FIXTURE_QUESTION, "0.5 * (1 - 0.5)").outcome == "right"
    assert judge(FIXTURE_QUESTION, "1/4 + 0.002").outcome == "wrong"
    with pytest.raises(InvalidAnswer):
        judge(FIXTURE_QUESTION, "p * (1 - p)")


def _examples(text: str) -> list[str]:
    return text.removeprefix("e.g. ").replace(" or ", ", ").split(", ")


@pytest.mark.parametrize(
    "value", [0.25, 0.5, 12.5, -3.0, 0.375, -40 / 3, math.sqrt(2) / 4, math.exp(3), 0.96]
)
def test_examples_never_give_the_answer_away(value: float) -> None:
    question = replace(FIXTURE_QUESTION, value=value, tolerance=0.001)
    shown = _examples(number_examples(question))
    assert len(shown) == 3
    for example in shown:
        assert abs(parse_number(example) - value) > 0.001, example


@pytest.mark.parametrize(("tolerance", "count"), [(4.0, 3), (15.0, 1), (1000.0, 0)])
def test_a_wide_tolerance_leaves_fewer_examples(tolerance: float, count: int) -> None:
    question = replace(FIXTURE_QUESTION, value=0.0, tolerance=tolerance)
    text = number_examples(question)
    shown = _examples(text) if text else []
    assert len(shown) == count
    for example in shown:
        assert abs(parse_number(example)) > tolerance, example


def test_no_example_is_the_answer_of_any_numeric_question_in_the_bank() -> None:
    bank = load_bank(REPOSITORY / "questions")
    numeric = [q for q in bank.questions.values() if q.kind == "numeric"]
    assert numeric
    for question in numeric:
        for example in _examples(number_examples(question)):
            assert judge(question, example).outcome == "wrong", (question.id, example)
