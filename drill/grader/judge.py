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
from drill.grader.checks import GRADCHECK_PREFIX, CasePlan, CheckType
from drill.grader.compare import Difference, Observed, compare, same
from drill.grader.heatmap import HeatMap, heat_map, wrong_mask
from drill.grader.results import CheckResult, ExerciseResult
from drill.grader.runner import Outcome
from drill.grader.worker import DRIVERS, Recorder, Stop, encode

INPUTS_CHECK = "inputs unchanged"


@dataclass
class CaseObservation:
    values: dict[str, Observed]
    error: dict[str, str] | None


def decode(meta_case: Any, arrays: dict[str, np.ndarray]) -> CaseObservation:
    """Plain data from a worker (or from our own runs) back into Observed values."""
    if not isinstance(meta_case, dict) or not isinstance(meta_case.get("values"), dict):
        return CaseObservation({}, {"stage": "run", "type": "malformed data", "text": ""})
    values = {}
    for name, meta in meta_case["values"].items():
        values[str(name)] = _decode_value(meta, arrays)
    error = meta_case.get("error")
    if error is not None and not isinstance(error, dict):
        error = {"stage": "run", "type": "malformed data", "text": ""}
    if error is not None:
        error = {k: str(error.get(k, "")) for k in ("stage", "type", "text", "traceback")}
    return CaseObservation(values, error)


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


def observe(driver: str, entry: Any, plan: CasePlan) -> CaseObservation:
    """Run trusted code (the reference or a known mistake) on one case, in this process."""
    recorder = Recorder(None)
    # A known mistake may overflow on purpose; its warnings are not the user's business.
    with warnings.catch_warnings(), np.errstate(all="ignore"), contextlib.suppress(Stop):
        warnings.simplefilter("ignore")
        DRIVERS[driver](entry, plan.without_probes(), plan.arrays, recorder)
    meta, arrays = encode(recorder.values, "v")
    return decode({"values": meta, "error": recorder.error}, arrays)


class MistakeCatalogue:
    """The known mistakes of one exercise, each run lazily on the cases that need it."""

    def __init__(
        self,
        driver: str,
        entries: list[tuple[str, str, Callable[[], Any]]],
        plans: list[CasePlan],
    ) -> None:
        self.driver = driver
        self.entries = entries  # (id, message, loader of the mistaken entry)
        self.plans = plans
        self._seen: dict[tuple[int, int], CaseObservation] = {}

    def _observation(self, mistake: int, case: int) -> CaseObservation:
        key = (mistake, case)
        if key not in self._seen:
            entry = self.entries[mistake][2]()
            self._seen[key] = observe(self.driver, entry, self.plans[case])
        return self._seen[key]

    def matching_value(self, case: int, name: str, obtained: Observed, expected: Observed):
        """The (id, message) of a mistake that produces exactly this wrong value, if any."""
        for index, (mistake_id, message, _) in enumerate(self.entries):
            theirs = self._observation(index, case).values.get(name)
            if theirs is not None and compare(theirs, expected) and same(obtained, theirs):
                return mistake_id, message
        return None

    def matching_error(self, case: int, error: dict[str, str]):
        for index, (mistake_id, message, _) in enumerate(self.entries):
            theirs = self._observation(index, case).error
            if theirs and (theirs["stage"], theirs["type"]) == (error["stage"], error["type"]):
                return mistake_id, message
        return None


def _check_name(key: str) -> str:
    return INPUTS_CHECK if " after " in key else key


def _mutation_summary(key: str, obtained: Observed, expected: Observed) -> str:
    name, stage = key.split(" after ", 1)
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
    heatmap: HeatMap | None = None
    wrong_mask: list | None = None


def judge(
    exercise: Exercise,
    kind: CheckType,
    plans: list[CasePlan],
    references: list[CaseObservation],
    outcome: Outcome,
    mistakes: MistakeCatalogue,
) -> ExerciseResult:
    """The result of one exercise from what its worker run produced."""

    def result(status: str, message: str, checks: list[CheckResult], **extra: str):
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
    if outcome.status == "crashed" or len(outcome.cases) != len(plans):
        detail = outcome.detail or "it sent malformed data"
        return result("error", f"the process running {exercise.entry} died: {detail}", [])

    observed = [decode(case, outcome.arrays) for case in outcome.cases]
    for case in observed:
        if case.error and case.error["type"] == "NotImplementedError":
            stage = case.error["stage"]
            message = f"{exercise.entry} ({stage}) raises NotImplementedError: still a stub"
            return result("missing", message, [])

    findings: dict[str, list[_Finding]] = {}
    for index, (plan, reference, user) in enumerate(zip(plans, references, observed)):
        for name, expected in reference.values.items():
            obtained = user.values.get(name)
            if obtained is None:
                reached = Difference("not checked: an earlier call raised an exception")
                findings.setdefault(_check_name(name), []).append(_Finding(index, reached))
                continue
            difference = compare(obtained, expected)
            if difference is not None and " after " in name:
                summary = _mutation_summary(name, obtained, expected)
                difference = Difference(summary, difference.rows)
            finding = _Finding(index, difference)
            if difference is not None:
                finding.mistake = mistakes.matching_value(index, name, obtained, expected)
                if obtained.kind == expected.kind == "array" and " after " not in name:
                    finding.heatmap = heat_map(obtained.value, expected.value)
                    finding.wrong_mask = wrong_mask(obtained.value, expected.value)
            findings.setdefault(_check_name(name), []).append(finding)
        for name, value in user.values.items():
            if name.endswith(" structure"):
                shape_problem = Difference(
                    f"the return value has the wrong structure: {value.value}"
                )
                findings.setdefault("return value", []).append(_Finding(index, shape_problem))
        for name, difference in kind.extra(plan, user.values):
            findings.setdefault(name, []).append(_Finding(index, difference))

    checks = [_summarise(name, group, plans) for name, group in findings.items()]
    errors = [(i, case.error) for i, case in enumerate(observed) if case.error]
    if errors:
        index, error = errors[0]
        mistake = mistakes.matching_error(index, error)
        text = f"{error['stage']} raised {error['type']}: {error['text']}".rstrip(": ")
        where = plans[index].case.describe()
        message = f"{mistake[1]} ({text})" if mistake else f"{text} (case: {where})"
        return result("error", message, checks, traceback=error.get("traceback", ""))
    failing = [c for c in checks if not c.passed]
    if not failing:
        return result("passed", "all checks passed", checks)
    return result("failed", _headline(failing, checks), checks)


def _summarise(name: str, group: list[_Finding], plans: list[CasePlan]) -> CheckResult:
    bad = [f for f in group if f.difference is not None]
    if not bad:
        return CheckResult(name=name, passed=True)
    first = next((f for f in bad if f.mistake), bad[0])
    case = plans[first.case].case
    return CheckResult(
        name=name,
        passed=False,
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
    self_checks = [c for c in checks if c.name.startswith(GRADCHECK_PREFIX)]
    if first.name == "output" and self_checks and all(c.passed for c in self_checks):
        return f"forward is wrong (backward agrees with it, so fix forward first): {first.message}"
    return f"{first.name}: {first.message}"
