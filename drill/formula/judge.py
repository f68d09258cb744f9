"""Judging typed gradients: shape first, then values on two seeded data sets, then mistakes.

A formula question's variables are generated like a graded exercise's arrays (sizes all
different, so a transpose cannot hide), on two seeds. An answer is right when it has the
reference's shape and values on both. A wrong one is explained: its shape against the
expected one, a known mistake it reproduces, or a constant factor it is off by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from drill.bank.schema import Formula, FormulaAnswer, Question
from drill.formula.evaluate import EvaluationError, evaluate, shape_text
from drill.formula.syntax import Rejected, read
from drill.grader.cases import case_rng, make_arrays, parse_cases

SEEDS = (0, 1)
# Equivalent forms differ by rounding only (~1e-15 relative); wrong ones by far more.
RTOL = 1e-7
SEPARATOR = ";"
_LABELLED = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)(.*)", re.DOTALL)


@dataclass(frozen=True)
class FormulaVerdict:
    """Right when every asked gradient is right; `reasons` explains each wrong one."""

    right: bool
    reasons: tuple[str, ...]


def sizes_of(formula: Formula) -> dict[str, int]:
    return dict(formula.sizes)


def generate(formula: Formula, seed_name: str, seed: int) -> dict[str, np.ndarray]:
    """The variables (generated, then derived) of one data set, read-only.

    Shapes are those the declarations give with the formula's sizes; raises SpecError on a
    declaration cases.py cannot use, EvaluationError on a derived expression that fails.
    """
    check = {"arrays": formula.variables, "cases": [{"name": seed_name, **sizes_of(formula)}]}
    (case,) = parse_cases(check)
    arrays = make_arrays(case, case_rng(seed_name, seed))
    return with_derived(formula, arrays, sizes_of(formula))


def with_derived(
    formula: Formula, arrays: dict[str, np.ndarray], sizes: dict[str, int]
) -> dict[str, np.ndarray]:
    """`arrays` plus the formula's derived variables computed from them, all read-only."""
    arrays = dict(arrays)
    for name, text in formula.derived:
        arrays[name] = evaluate(read(text, list(arrays), sizes), text, arrays, sizes)
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


@lru_cache(maxsize=128)
def _data(question: Question, seed: int) -> dict[str, np.ndarray]:
    assert question.formula is not None
    return generate(question.formula, question.id, seed)


def compute(
    text: str, formula: Formula, arrays: dict[str, np.ndarray], sizes: dict[str, int]
) -> np.ndarray:
    """The value of `text` on one data set; Rejected or EvaluationError."""
    tree = read(text, formula.names(), sizes)
    return evaluate(tree, text, arrays, sizes)


def split_answers(question: Question, text: str) -> dict[str, str]:
    """The typed expression for each asked gradient, by answer name.

    Several gradients are typed on one line separated by ';', in the order the question asks
    for them, each optionally labelled (`dW = X.T @ G`); labelled ones may come in any order.
    """
    assert question.formula is not None
    answers = [answer.name for answer in question.formula.answers]
    parts = text.split(SEPARATOR)
    if parts and not parts[-1].strip() and len(parts) > 1:
        parts.pop()  # a trailing ';'
    if len(parts) != len(answers):
        asked = f"{SEPARATOR} ".join(answers)
        raise Rejected(
            f"this question asks for {len(answers)} expression{'s' if len(answers) > 1 else ''} "
            f"({asked}) separated by '{SEPARATOR}'; got {len(parts)}"
        )
    typed: dict[str, str] = {}
    unlabelled = []
    for part in parts:
        match = _LABELLED.fullmatch(part)
        if match is None:
            unlabelled.append(part)
            continue
        name, expression = match.groups()
        if name not in answers:
            raise Rejected(f"'{name}' is not asked for here; the answers are {', '.join(answers)}")
        if name in typed:
            raise Rejected(f"{name} is given twice")
        typed[name] = expression
    for name in answers:
        if name not in typed:
            typed[name] = unlabelled.pop(0)
    return typed


def judge_formula(question: Question, text: str) -> FormulaVerdict:
    """Judge the typed line; Rejected (one line, to retype) when it cannot be read."""
    formula = question.formula
    assert formula is not None
    typed = split_answers(question, text)
    several = len(formula.answers) > 1
    sizes = sizes_of(formula)
    for answer in formula.answers:
        try:
            read(typed[answer.name], formula.names(), sizes)
        except Rejected as rejected:
            prefix = f"{answer.name}: " if several else ""
            raise Rejected(prefix + rejected.message) from None
    results = [
        (answer.name, _judge_answer(question, answer, typed[answer.name]))
        for answer in formula.answers
    ]
    right = all(reason is None for _, reason in results)
    if several:
        reasons = [f"{name}: {reason or 'right'}" for name, reason in results]
    else:
        reasons = [reason for _, reason in results if reason is not None]
    return FormulaVerdict(right, tuple(reasons))


def close(obtained: np.ndarray, expected: np.ndarray) -> bool:
    """Same shape and the same values up to rounding."""
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    return obtained.shape == expected.shape and bool(
        np.allclose(obtained, expected, rtol=RTOL, atol=RTOL * 1e-2 * scale)
    )


def _judge_answer(question: Question, answer: FormulaAnswer, text: str) -> str | None:
    """None when `text` is right; otherwise why it is wrong, in one line."""
    formula = question.formula
    assert formula is not None
    sizes = sizes_of(formula)
    obtained, expected = [], []
    for seed in SEEDS:
        arrays = _data(question, seed)
        try:
            obtained.append(compute(text, formula, arrays, sizes))
        except EvaluationError as error:
            return error.message
        expected.append(compute(answer.reference, formula, arrays, sizes))
    if obtained[0].shape != expected[0].shape:
        mistake = _matching_mistake(question, answer, obtained)
        return (
            f"your expression has shape {shape_text(obtained[0].shape, sizes)}; "
            f"{answer.label} has shape {shape_text(expected[0].shape, sizes)}"
            + (f" — {mistake}" if mistake else "")
        )
    if all(close(o, e) for o, e in zip(obtained, expected, strict=True)):
        return None
    mistake = _matching_mistake(question, answer, obtained)
    if mistake:
        return mistake
    if not all(np.isfinite(value).all() for value in obtained):
        return "your expression gives inf or NaN on ordinary inputs"
    factor = _constant_factor(obtained, expected)
    if factor is not None:
        return (
            f"the shape is right but every value is {factor:.4g} times {answer.label} "
            "(a constant factor: a sign, a 2, a 1/N?)"
        )
    return f"the shape is right but the values differ from {answer.label}"


def _matching_mistake(
    question: Question, answer: FormulaAnswer, obtained: list[np.ndarray]
) -> str | None:
    formula = question.formula
    assert formula is not None
    sizes = sizes_of(formula)
    for mistake in answer.mistakes:
        values = [
            compute(mistake.expression, formula, _data(question, seed), sizes) for seed in SEEDS
        ]
        if all(close(o, v) for o, v in zip(obtained, values, strict=True)):
            return mistake.message
    return None


def _constant_factor(obtained: list[np.ndarray], expected: list[np.ndarray]) -> float | None:
    """c when obtained = c · expected on both data sets (c ≠ 1), else None."""
    factors = []
    for o, e in zip(obtained, expected, strict=True):
        norm = float(np.sum(e * e))
        if norm == 0.0:
            return None
        factor = float(np.sum(o * e)) / norm
        if not close(o, factor * e):
            return None
        factors.append(factor)
    if abs(factors[0] - factors[1]) > RTOL * max(1.0, abs(factors[0])):
        return None
    return factors[0]
