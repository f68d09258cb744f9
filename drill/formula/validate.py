"""What `drill check` verifies about formula questions.

Each reference computes a finite value on both data sets; each declared mistake differs from
its reference on at least one of them (or it could never be told apart); and where the
question names a graded exercise in `checked_against`, each reference agrees with the values
the exercise's reference solution records, case by case, on the exercise's own data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from drill.bank import Bank, Question
from drill.bank.schema import ExerciseLink, Formula
from drill.formula.evaluate import EvaluationError
from drill.formula.judge import SEEDS, close, compute, generate, sizes_of, with_derived
from drill.formula.syntax import Rejected
from drill.grader.cases import SpecError


def validate_formulas(bank: Bank) -> list[str]:
    """One line per problem, prefixed with the question's file."""
    problems = []
    for question in bank.questions.values():
        if question.formula is None:
            continue
        where = bank.sources.get(f"question:{question.id}", question.id)
        try:
            problems += [f"{where}: {p}" for p in _own_problems(question, question.formula)]
            link = question.formula.checked_against
            if link is not None:
                problems += [f"{where}: {p}" for p in _link_problems(bank, question.formula, link)]
        except (SpecError, EvaluationError, Rejected) as error:
            problems.append(f"{where}: {getattr(error, 'message', error)}")
    return problems


def _own_problems(question: Question, formula: Formula) -> list[str]:
    problems = []
    sizes = sizes_of(formula)
    data = [generate(formula, question.id, seed) for seed in SEEDS]
    for answer in formula.answers:
        references = [compute(answer.reference, formula, arrays, sizes) for arrays in data]
        if not all(np.isfinite(value).all() for value in references):
            problems.append(f"the reference of {answer.name} is not finite on the generated data")
        for mistake in answer.mistakes:
            values = [compute(mistake.expression, formula, arrays, sizes) for arrays in data]
            if all(close(v, r) for v, r in zip(values, references, strict=True)):
                problems.append(
                    f"the mistake {mistake.expression!r} of {answer.name} equals its reference"
                )
    return problems


def _link_problems(bank: Bank, formula: Formula, link: ExerciseLink) -> list[str]:
    from drill.grader.grade import prepare

    exercise = bank.exercises.get(link.exercise)
    if exercise is None:
        return [f"checked_against names exercise '{link.exercise}', which the bank lacks"]
    prepared = prepare(bank, exercise)
    answers = {answer.name: answer for answer in formula.answers}
    problems = []
    checked = 0
    for plan, reference in zip(prepared.plans, prepared.references, strict=True):
        recorded = {
            key.name: observed.value
            for key, observed in reference.values.items()
            if key.role == "result" and observed.kind == "array"
        }
        sources = {**recorded, **plan.arrays}
        missing = [source for _, source in link.inputs if source not in sources]
        missing += [value for _, value in link.answers if value not in recorded]
        if missing:
            return [f"exercise '{exercise.id}' has no array or recorded value '{missing[0]}'"]
        bound = {name: np.array(sources[source], dtype=float) for name, source in link.inputs}
        sizes = _case_sizes(formula, bound)
        if sizes is None:
            continue  # this case has other ranks (a 3-D input, say) than the formula's setting
        arrays = with_derived(formula, bound, sizes)
        for name, value in link.answers:
            obtained = compute(answers[name].reference, formula, arrays, sizes)
            if not close(obtained, np.asarray(recorded[value], dtype=float)):
                problems.append(
                    f"the reference of {name} disagrees with {value} of exercise "
                    f"'{exercise.id}' on its case '{plan.case.name}'"
                )
        checked += 1
    if not checked:
        problems.append(f"no case of exercise '{exercise.id}' has the shapes of this setting")
    return problems


def _case_sizes(formula: Formula, bound: dict[str, Any]) -> dict[str, int] | None:
    """The sizes the bound arrays imply, or None when their shapes do not fit the setting."""
    sizes: dict[str, int] = {}
    for name, declaration in formula.variables.items():
        shape = declaration["shape"]
        actual = np.shape(bound[name])
        if len(shape) != len(actual):
            return None
        for symbol, size in zip(shape, actual, strict=True):
            if isinstance(symbol, int):
                if symbol != size:
                    return None
            elif sizes.setdefault(symbol, size) != size:
                return None
    return {**sizes_of(formula), **sizes}
