"""Grading results as plain data: what the report renders and what --json prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from drill.grader.heatmap import HeatMap

# passed: every check passed; failed: a value is wrong; error: the code raised or its process
# died; timeout: it ran out of time; missing: not attempted (not defined, or a stub).
ExerciseStatus = Literal["passed", "failed", "error", "timeout", "missing"]
# A check is "not reached" when an earlier call of its case raised.
CheckStatus = Literal["passed", "failed", "not reached"]
# value: a result against the reference's; inputs unchanged: the arguments after each call;
# structure: the shape of the return value; gradient check: backward against own forward.
CheckKind = Literal["value", "inputs unchanged", "structure", "gradient check"]
FAILING: frozenset[ExerciseStatus] = frozenset({"failed", "error", "timeout"})


@dataclass
class CheckResult:
    """One check of one exercise, aggregated over its cases."""

    name: str
    status: CheckStatus
    kind: CheckKind = "value"
    message: str = ""
    case: str = ""
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # index, obtained, expected
    mistake: str | None = None
    heatmap: HeatMap | None = None  # where a wrong array is wrong; drawn by the report only
    wrong_mask: list | None = None  # nested lists of bools, for results of few entries

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class ExerciseResult:
    id: str
    title: str
    status: ExerciseStatus
    message: str
    points: float
    max_points: int
    checks: list[CheckResult] = field(default_factory=list)
    traceback: str = ""
    output: str = ""
    # How the run went in the worker, for a class's summary; not in the JSON. The wall time
    # varies between runs, so it is not compared either.
    seconds: float = field(default=0.0, compare=False)
    crashed: bool = False  # its process died before reporting every case


@dataclass
class GradeReport:
    solution: str
    exercises: list[ExerciseResult]
    sandbox: dict[str, str] = field(default_factory=dict)  # protection -> how it was obtained
    interrupted: bool = False  # Ctrl-C stopped grading: only the exercises graded so far

    @property
    def points(self) -> float:
        return round(sum(e.points for e in self.exercises), 2)

    @property
    def max_points(self) -> int:
        return sum(e.max_points for e in self.exercises)

    @property
    def exit_code(self) -> int:
        """0 when nothing attempted failed; 1 when an exercise failed, errored or timed out."""
        return 1 if any(e.status in FAILING for e in self.exercises) else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "solution": self.solution,
            "exercises": [
                {
                    "id": e.id,
                    "status": e.status,
                    "message": e.message,
                    "points": e.points,
                    "max_points": e.max_points,
                    "checks": [_check_json(c) for c in e.checks],
                    "traceback": e.traceback,
                    "output": e.output,
                }
                for e in self.exercises
            ],
            "points": self.points,
            "max_points": self.max_points,
            "sandbox": self.sandbox,
            "interrupted": self.interrupted,
        }


def _check_json(check: CheckResult) -> dict[str, Any]:
    return {
        "name": check.name,
        "passed": check.passed,
        "status": check.status,
        "kind": check.kind,
        "message": check.message,
        "case": check.case,
        "rows": [list(row) for row in check.rows],
        "mistake": check.mistake,
        "wrong_mask": check.wrong_mask,  # the heat map is a picture for people only
    }
