"""Grading one submission file end to end: plan, run in the worker, judge."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from drill.bank import Bank, Exercise, Mistake
from drill.grader.cases import SpecError
from drill.grader.checks import CasePlan, CheckType, check_type
from drill.grader.compare import compare
from drill.grader.judge import CaseObservation, MistakeCatalogue, judge_exercise, observe
from drill.grader.results import GradeReport
from drill.grader.runner import GradingSession, open_session
from drill.limits import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from drill.text import excerpt


@dataclass
class Prepared:
    """An exercise made ready to grade: its concrete cases and the reference's results."""

    exercise: Exercise
    check_type: CheckType
    plans: list[CasePlan]
    references: list[CaseObservation]
    mistakes: MistakeCatalogue


@cache
def _reference_source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(f"cannot read the reference solutions {path}: {error}") from None


def _broken(path: Path, what: str, error: BaseException) -> SpecError:
    """A bank error for code of the bank (`path`) that failed, naming the file and line."""
    if isinstance(error, SyntaxError):
        return SpecError(f"{path}:{error.lineno}: {what} has a syntax error: {error.msg}")
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
    where = f"{path}:{lines[-1]}" if lines else str(path)
    text = excerpt(str(error))
    return SpecError(f"{where}: {what} raised {type(error).__name__}: {text}")


@cache
def reference_module(path: Path) -> ModuleType:
    """The reference solutions of a topic, compiled from their source (code of the bank).

    Never from a cached .pyc: one planted in __pycache__ would be trusted without a look.
    """
    if not path.is_file():
        raise SpecError(f"{path}: the reference solutions are missing")
    source = _reference_source(path)
    module = ModuleType(f"drill_reference_{path.stem}")
    module.__file__ = str(path)
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    except (Exception, SystemExit) as error:
        raise _broken(path, "importing the reference solutions", error) from None
    return module


def mistaken_source(path: Path, mistake: Mistake) -> str:
    """The reference's source with the mistake's replacements applied, each exactly once."""
    source = _reference_source(path)
    for old, new in mistake.replace:
        count = source.count(old)
        if count != 1:
            raise SpecError(
                f"mistake '{mistake.id}': the text to replace occurs {count} times in {path.name} "
                f"(it must occur exactly once): {old.strip()[:60]!r}"
            )
        source = source.replace(old, new)
    return source


def _mistake_entry(path: Path, mistake: Mistake, entry: str) -> Callable[[], Any]:
    @cache
    def load() -> Any:
        namespace: dict[str, Any] = {"__name__": f"drill_mistake_{mistake.id.replace('-', '_')}"}
        try:
            code = compile(mistaken_source(path, mistake), str(path), "exec")
            exec(code, namespace)
        except (Exception, SystemExit) as error:
            if isinstance(error, SpecError):
                raise
            raise _broken(path, f"the reference with mistake '{mistake.id}'", error) from None
        if entry not in namespace:
            raise SpecError(f"mistake '{mistake.id}' removes {entry} from {path.name}")
        return namespace[entry]

    return load


def prepare(bank: Bank, exercise: Exercise) -> Prepared:
    """Validate the exercise's check, build its cases and run the reference on them."""
    checker = check_type(exercise.check)
    cases = checker.validate(exercise.check)
    path = bank.reference_path(exercise)
    entry = getattr(reference_module(path), exercise.entry, None)
    if entry is None:
        raise SpecError(f"{path.name} does not define {exercise.entry}")
    try:
        plans = [checker.plan(exercise.id, exercise.check, case, entry) for case in cases]
    except SpecError:
        raise
    except Exception as error:  # the reference's forward, run to size grad_output
        raise _broken(path, f"the reference {exercise.entry}", error) from None
    references = [observe(checker, entry, plan) for plan in plans]
    for plan, reference in zip(plans, references):
        if reference.error:
            raise SpecError(
                f"the reference {exercise.entry} fails on case {excerpt(plan.case.name)}: "
                f"{reference.error.describe()}"
            )
    loaders = [
        (m.id, m.message, _mistake_entry(path, m, exercise.entry)) for m in exercise.mistakes
    ]
    return Prepared(exercise, checker, plans, references, MistakeCatalogue(checker, loaders, plans))


def _worker_plan(prepared: list[Prepared]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The instructions for the worker as JSON-ready data plus the arrays they name."""
    arrays: dict[str, np.ndarray] = {}
    exercises = []
    for item in prepared:
        cases = []
        for plan in item.plans:
            keys = {}
            for name, array in plan.arrays.items():
                key = f"a{len(arrays)}"
                arrays[key] = array
                keys[name] = key
            cases.append({**plan.call, "arrays": keys})
        exercises.append(
            {
                "id": item.exercise.id,
                "entry": item.exercise.entry,
                "check_type": item.check_type.name,
                "cases": cases,
            }
        )
    return {"exercises": exercises}, arrays


def grade_session(
    session: GradingSession,
    bank: Bank,
    exercises: list[Exercise],
    on_start: Callable[[str], None] = lambda exercise_id: None,
    prepared: list[Prepared] | None = None,
) -> GradeReport:
    """Grade the session's submission on `exercises`; Ungradeable if it cannot be imported.

    `prepared` (the exercises' cases and reference results) is made here unless given, as
    drill grade --watch does to compute it once for every round.
    """
    prepared = prepared or [prepare(bank, exercise) for exercise in exercises]
    return grade_prepared(session, prepared, on_start)


def grade_prepared(
    session: GradingSession,
    prepared: list[Prepared],
    on_start: Callable[[str], None] = lambda exercise_id: None,
) -> GradeReport:
    """Grade the session's submission on exercises prepared once for many submissions."""
    plan, arrays = _worker_plan(prepared)
    by_id = {item.exercise.id: item for item in prepared}
    results = {}
    interrupted = False
    try:
        for exercise_id, outcome in session.run(plan, arrays, on_start):
            item = by_id[exercise_id]
            # A submission's inf and NaN are findings to report, not warnings to print.
            with np.errstate(all="ignore"):
                results[exercise_id] = judge_exercise(
                    item.exercise,
                    item.check_type,
                    item.plans,
                    item.references,
                    outcome,
                    item.mistakes,
                    session.memory_bytes >> 20,
                )
            results[exercise_id].seconds = outcome.seconds
            results[exercise_id].crashed = outcome.status == "crashed"
    except KeyboardInterrupt:  # Ctrl-C: the results so far are still worth showing
        interrupted = True
    graded = [results[item.exercise.id] for item in prepared if item.exercise.id in results]
    return GradeReport(str(session.solution), graded, session.sandbox, interrupted)


def grade(
    solution: Path,
    bank: Bank,
    exercises: list[Exercise],
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> GradeReport:
    """Grade `solution` on `exercises`; Ungradeable when the file cannot be graded at all."""
    with open_session(solution, timeout, memory_mb) as session:
        return grade_session(session, bank, exercises)


def validate_exercises(bank: Bank) -> list[str]:
    """Problems with the exercises' declarations, found without running any submission.

    Each check must be well formed, the reference must run on every case, each known mistake
    must apply to the reference and behave differently from it on some case, and each stub
    must still be a stub (raise NotImplementedError).
    """
    problems = []
    for exercise in bank.exercises.values():
        where = bank.sources.get(f"exercise:{exercise.id}", exercise.id)
        try:
            prepared = prepare(bank, exercise)
            for mistake_id, _, load in prepared.mistakes.entries:
                if not _differs_somewhere(prepared, load()):
                    problems.append(f"{where}: mistake '{mistake_id}' behaves like the reference")
            if not _is_stub(prepared, exercise):
                problems.append(f"{where}: the stub does not raise NotImplementedError")
        except SpecError as error:
            problems.append(f"{where}: {error}")
        except Exception as error:  # a reference or mistake that cannot even be built
            problems.append(f"{where}: {type(error).__name__}: {error}")
    return problems


def _differs_somewhere(prepared: Prepared, entry: Any) -> bool:
    for plan, reference in zip(prepared.plans, prepared.references):
        theirs = observe(prepared.check_type, entry, plan)
        if theirs.error or any(
            name not in theirs.values or compare(theirs.values[name], expected)
            for name, expected in reference.values.items()
        ):
            return True
    return False


def _is_stub(prepared: Prepared, exercise: Exercise) -> bool:
    namespace: dict[str, Any] = {"np": np}
    try:
        code = compile(exercise.stub, f"{exercise.id} stub", "exec")
    except SyntaxError as error:
        line = error.lineno
        raise SpecError(f"the stub has a syntax error on its line {line}: {error.msg}") from None
    exec(code, namespace)
    entry = namespace.get(exercise.entry)
    if entry is None:
        return False
    observation = observe(prepared.check_type, entry, prepared.plans[0])
    return observation.raised("NotImplementedError")
