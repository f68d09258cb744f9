"""Turning what the user typed into a verdict for choice, numeric and formula questions."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from drill.bank import Question

Outcome = Literal["right", "wrong", "none", "skipped"]
AUTO_SCORED = ("choice", "numeric", "formula")


@dataclass(frozen=True)
class Verdict:
    """The outcome, and for a wrong formula answer one line per reason drill can give."""

    outcome: Outcome
    reasons: tuple[str, ...] = ()


# Absorbs binary rounding, so that typing exactly value ± tolerance still counts as right.
_FLOAT_SLACK = 1e-9

_NUMBER_EXAMPLES = "e.g. 0.25, 1/4 or 9.5e-7"


class InvalidAnswer(ValueError):
    """The text cannot be read as an answer to the question; `message` tells the user why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def option_letters(count: int) -> list[str]:
    """The labels of `count` options: A, B, C…"""
    return [chr(ord("A") + index) for index in range(count)]


def parse_choice(text: str, option_count: int) -> frozenset[str]:
    """The set of option letters in `text`, ignoring case, spaces and commas ("a, C" → {A, C})."""
    letters = re.sub(r"[\s,]+", "", text).upper()
    allowed = option_letters(option_count)
    span = f"{allowed[0]} to {allowed[-1]}"
    if not (letters.isascii() and letters.isalpha()):
        raise InvalidAnswer(f"{text.strip()!r} is not a choice; type letters from {span}, e.g. B")
    unknown = sorted(set(letters) - set(allowed))
    if unknown:
        raise InvalidAnswer(f"no option {', '.join(unknown)}; choose from {span}")
    return frozenset(letters)


def parse_number(text: str) -> float:
    """A finite number written as a decimal, in scientific notation, or as a fraction a/b."""
    cleaned = text.strip().replace(" ", "")
    numerator, slash, denominator = cleaned.partition("/")
    try:
        number = float(numerator)
        if slash:
            number /= float(denominator)
    except (ValueError, ZeroDivisionError):
        raise InvalidAnswer(f"{text.strip()!r} is not a number; type {_NUMBER_EXAMPLES}") from None
    if not math.isfinite(number):
        raise InvalidAnswer(f"{text.strip()!r} is not a finite number; type {_NUMBER_EXAMPLES}")
    return number


def judge(question: Question, text: str) -> Verdict:
    """Right or wrong for auto-scored kinds; "none" for free-text kinds or no answer.

    Raises InvalidAnswer when an answer cannot be read, so the user can retry.
    """
    if not text.strip() or question.kind not in AUTO_SCORED:
        return Verdict("none")
    if question.kind == "formula":
        return _judge_formula(question, text)
    if question.kind == "choice":
        chosen = parse_choice(text, len(question.options))
        return Verdict("right" if chosen == frozenset(question.correct) else "wrong")
    assert question.value is not None and question.tolerance is not None
    number = parse_number(text)
    slack = _FLOAT_SLACK * max(1.0, abs(question.value))
    right = abs(number - question.value) <= question.tolerance + slack
    return Verdict("right" if right else "wrong")


def _judge_formula(question: Question, text: str) -> Verdict:
    # Evaluating needs NumPy; only a quiz that reaches a formula question pays for it.
    from drill.formula.evaluate import EvaluationError
    from drill.formula.judge import judge_formula
    from drill.formula.syntax import Rejected
    from drill.grader.cases import SpecError

    try:
        verdict = judge_formula(question, text)
    except Rejected as rejected:
        raise InvalidAnswer(rejected.message) from None
    except (SpecError, EvaluationError) as error:  # the question's own declarations
        raise InvalidAnswer(
            f"this question cannot be judged ({error}); 'drill check' shows why. Type s to skip it."
        ) from None
    return Verdict("right" if verdict.right else "wrong", verdict.reasons)
