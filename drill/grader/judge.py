"""Verdicts: the submission's recorded values against the reference's, in drill's process.

Every value recorded for the reference becomes a check (aggregated over the cases): the
forward output, each gradient, the inputs left unchanged, and whatever the check type adds
(the gradient check against the submission's own forward). A failing value that matches a
known mistake is named by that mistake's message.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from drill.bank import Exercise
from drill.grader.checks import CasePlan, CheckType
from drill.grader.compare import Difference, Observed, compare, same
from drill.grader.heatmap import HeatMap, heat_map, wrong_mask
from drill.grader.records import Key
from drill.grader.results import CheckKind, CheckResult, ExerciseResult, ExerciseStatus
from drill.grader.runner import RunOutcome
from drill.grader.worker import Recorder, Stop, encode

INPUTS_CHECK = "inputs unchanged"


@dataclass(frozen=True)
class RecordedError:
    """The exception that stopped a case: in which call, its type, message and traceback."""

    stage: str  # a records.Stage when it comes from a driver
    type: str
    text: str = ""
    traceback: str = ""

    def describe(self) -> str:
        return f"{self.stage} raised {self.type}: {self.text}".rstrip(": ")


MALFORMED = RecordedError("run", "malformed data")


@dataclass
class CaseObservation:
    values: dict[Key, Observed]
    error: RecordedError | None

    def raised(self, error_type: str) -> bool:
        return self.error is not None and self.error.type == error_type


def decode(meta_case: Any, arrays: dict[str, np.ndarray]) -> CaseObservation:
    """Plain data from a worker (or from our own runs) back into Observed values."""
    if not isinstance(meta_case, dict) or not isinstance(meta_case.get("values"), dict):
        return CaseObservation({}, MALFORMED)
    values = {}
    for name, meta in meta_case["values"].items():
        key = Key.from_wire(str(name))
        if key is None:
            return CaseObservation({}, MALFORMED)
        values[key] = _decode_value(meta, arrays)
    error = meta_case.get("error")
    if error is None:
        return CaseObservation(values, None)
    if not isinstance(error, dict):
        return CaseObservation(values, MALFORMED)
    fields = {k: str(error.get(k, "")) for k in ("stage", "type", "text", "traceback")}
    return CaseObservation(values, RecordedError(**fields))


def _decode_value(meta: Any, arrays: dict[str, np.ndarray]) -> Observed:
    if not isinstance(meta, dict):
        return Observed("object", type_name="malformed value")
    kind = meta.get("kind")
    if kind == "array" and meta.get("key") in arrays:
        array = arrays[meta["key"]]
        if array.dtype.kind in "biuf":
            return Observed("array", array, str(meta.get("type", "ndarray")))
    if kind == "number":
        try:
            return Observed("number", float(meta.get("value")))
        except (TypeError, ValueError):
            pass
    if kind == "bool" and isinstance(meta.get("value"), bool):
        return Observed("bool", meta["value"])
    if kind in ("none", "missing"):
        return Observed(kind)
    if kind == "text":
        return Observed("text", str(meta.get("text", ""))[:500])
    return Observed("object", type_name=str(meta.get("type", "object"))[:100])


def observe(check_type: CheckType, entry: Any, plan: CasePlan) -> CaseObservation:
    """Run trusted code (the reference or a known mistake) on one case, in this process."""
    recorder = Recorder(None)
    # A known mistake may overflow on purpose; its warnings are not the user's business.
    with warnings.catch_warnings(), np.errstate(all="ignore"), contextlib.suppress(Stop):
        warnings.simplefilter("ignore")
        check_type.drive(entry, plan.without_probes(), plan.arrays, recorder)
    meta, arrays = encode(recorder.values, "v")
    return decode({"values": meta, "error": recorder.error}, arrays)


class MistakeCatalogue:
    """The known mistakes of one exercise, each run lazily on the cases that need it."""

    def __init__(
        self,
        check_type: CheckType,
        entries: list[tuple[str, str, Callable[[], Any]]],
        plans: list[CasePlan],
    ) -> None:
        self.check_type = check_type
        self.entries = entries  # (id, message, loader of the mistaken entry)
        self.plans = plans
        self._seen: dict[tuple[int, int], CaseObservation] = {}

    def _observation(self, mistake: int, case: int) -> CaseObservation:
        key = (mistake, case)
        if key not in self._seen:
            entry = self.entries[mistake][2]()
            self._seen[key] = observe(self.check_type, entry, self.plans[case])
        return self._seen[key]

    def matching_value(
        self, case: int, key: Key, obtained: Observed, expected: Observed
    ) -> tuple[str, str] | None:
        """The (id, message) of a mistake that produces exactly this wrong value, if any."""
        for index, (mistake_id, message, _) in enumerate(self.entries):
            theirs = self._observation(index, case).values.get(key)
            if theirs is not None and compare(theirs, expected) and same(obtained, theirs):
                return mistake_id, message
        return None

    def matching_error(self, errors: list[RecordedError | None]) -> tuple[str, str] | None:
        """The (id, message) of a mistake that raises just where the submission did: the same
        type of error in the same call on each case that raised (`errors`, one a case), and
        none on the others. A type alone says little: a ValueError is many mistakes."""

        def signature(error: RecordedError | None) -> tuple[str, str] | None:
            return None if error is None else (error.stage, error.type)

        ours = [signature(error) for error in errors]
        for index, (mistake_id, message, _) in enumerate(self.entries):
            theirs = (signature(self._observation(index, case).error) for case in range(len(ours)))
            if all(mine == other for mine, other in zip(ours, theirs)):
                return mistake_id, message
        return None


def _check_of(key: Key) -> tuple[str, CheckKind]:
    """The check a value recorded under `key` belongs to, by name and kind."""
    return (INPUTS_CHECK, "inputs unchanged") if key.role == "snapshot" else (key.name, "value")


def _mutation_summary(key: Key, obtained: Observed, expected: Observed) -> str:
    name, stage = key.name, key.stage
    where = "the call" if stage == "call" else stage
    changed = ""
    if obtained.kind == expected.kind == "array" and obtained.value.shape == expected.value.shape:
        count = int(np.sum(~np.isclose(obtained.value, expected.value, equal_nan=True)))
        changed = f" ({count} of {expected.value.size} elements changed)"
    return f"{where} modified {name} in place{changed}; work on a copy"


@dataclass
class _Finding:
    case: int
    difference: Difference | None
    mistake: tuple[str, str] | None = None
    reached: bool = True
    heatmap: HeatMap | None = None
    wrong_mask: list | None = None


def judge_exercise(
    exercise: Exercise,
    check_type: CheckType,
    plans: list[CasePlan],
    references: list[CaseObservation],
    outcome: RunOutcome,
    mistakes: MistakeCatalogue,
    memory_mb: int,
) -> ExerciseResult:
    """The result of one exercise from what its worker run produced."""

    def result(
        status: ExerciseStatus, message: str, checks: list[CheckResult], **extra: str
    ) -> ExerciseResult:
        passed = sum(c.passed for c in checks)
        points = exercise.points * passed / len(checks) if checks else 0.0
        return ExerciseResult(
            id=exercise.id,
            title=exercise.title,
            status=status,
            message=message,
            points=round(points, 2),
            max_points=exercise.points,
            checks=checks,
            output=outcome.output,
            **extra,
        )

    if outcome.status == "missing":
        return result("missing", f"{exercise.entry} is not defined in your file", [])
    if outcome.status == "timeout":
        return result("timeout", f"{exercise.entry} {outcome.detail}", [])
    observed = [decode(case, outcome.arrays) for case in outcome.cases]
    # The worker stops an exercise at its first MemoryError: the cases after it never ran.
    memory = next((i for i, case in enumerate(observed) if case.raised("MemoryError")), None)
    if outcome.status != "crashed" and memory is not None and len(observed) <= len(plans):
        where = plans[memory].case.describe()
        message = (
            f"{exercise.entry} used more than {memory_mb} MiB of memory (the --memory limit) "
            f"on case {memory + 1} of {len(plans)}: {where}"
        )
        return result("error", message, [], traceback=observed[memory].error.traceback)
    if outcome.status == "crashed" or len(observed) != len(plans):
        detail = outcome.detail or "it sent malformed data"
        return result("error", f"the process running {exercise.entry} died: {detail}", [])

    if all(case.raised("NotImplementedError") for case in observed):
        stage = observed[0].error.stage
        message = f"{exercise.entry} ({stage}) raises NotImplementedError: still a stub"
        return result("missing", message, [])

    findings: dict[tuple[str, CheckKind], list[_Finding]] = {}
    for index, (plan, reference, user) in enumerate(zip(plans, references, observed)):
        for key, expected in reference.values.items():
            obtained = user.values.get(key)
            if obtained is None:
                findings.setdefault(_check_of(key), []).append(_Finding(index, None, reached=False))
                continue
            difference = compare(obtained, expected)
            if difference is not None and key.role == "snapshot":
                summary = _mutation_summary(key, obtained, expected)
                difference = Difference(summary, difference.rows)
            finding = _Finding(index, difference)
            if difference is not None:
                finding.mistake = mistakes.matching_value(index, key, obtained, expected)
                if obtained.kind == expected.kind == "array" and key.role == "result":
                    finding.heatmap = heat_map(obtained.value, expected.value)
                    finding.wrong_mask = wrong_mask(obtained.value, expected.value)
            findings.setdefault(_check_of(key), []).append(finding)
        for key, value in user.values.items():
            if key.role == "structure":
                shape_problem = Difference(
                    f"the return value{key.name} has the wrong structure: {value.value}"
                )
                check = ("return value", "structure")
                findings.setdefault(check, []).append(_Finding(index, shape_problem))
        for verdict in check_type.verdicts(plan, user.values):
            check = (verdict.name, verdict.kind)
            findings.setdefault(check, []).append(_Finding(index, verdict.difference))

    checks = [_summarise(check, group, plans) for check, group in findings.items()]
    failing = [c for c in checks if c.status == "failed"]
    errors = [(i, case.error) for i, case in enumerate(observed) if case.error]
    raised = [(i, error) for i, error in errors if error.type != "NotImplementedError"]
    if raised:
        index, error = raised[0]
        mistake = mistakes.matching_error([case.error for case in observed])
        text = error.describe()
        where = plans[index].case.describe()
        message = f"{mistake[1]} ({text})" if mistake else f"{text} (case: {where})"
        return result("error", message, checks, traceback=error.traceback)
    if failing:
        return result("failed", _headline(failing, checks), checks)
    if errors:  # some cases, not all, still raise NotImplementedError
        index, error = errors[0]
        message = (
            f"{exercise.entry} ({error.stage}) raises NotImplementedError on case "
            f"{index + 1} of {len(plans)}: {plans[index].case.describe()}; finish it"
        )
        return result("failed", message, checks)
    return result("passed", "all checks passed", checks)


def _summarise(
    check: tuple[str, CheckKind], group: list[_Finding], plans: list[CasePlan]
) -> CheckResult:
    name, kind = check
    bad = [f for f in group if f.difference is not None]
    if not bad:
        reached = all(f.reached for f in group)
        return CheckResult(name, "passed" if reached else "not reached", kind)
    first = next((f for f in bad if f.mistake), bad[0])
    case = plans[first.case].case
    return CheckResult(
        name=name,
        status="failed",
        kind=kind,
        message=first.difference.summary,
        case=f"case {first.case + 1} of {len(plans)}: {case.describe()}",
        rows=first.difference.rows,
        mistake=first.mistake[1] if first.mistake else None,
        heatmap=first.heatmap,
        wrong_mask=first.wrong_mask,
    )


def _headline(failing: list[CheckResult], checks: list[CheckResult]) -> str:
    """One line that says what is most wrong."""
    named = next((c for c in failing if c.mistake), None)
    if named is not None:
        return named.mistake
    first = failing[0]
    self_checks = [c for c in checks if c.kind == "gradient check"]
    if first.name == "output" and self_checks and all(c.passed for c in self_checks):
        return f"forward is wrong (backward agrees with it, so fix forward first): {first.message}"
    return f"{first.name}: {first.message}"
