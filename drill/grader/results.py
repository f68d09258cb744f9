"""Grading results as plain data: what the report renders and what --json prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drill.grader.heatmap import HeatMap


@dataclass
class CheckResult:
    """One check of one exercise, aggregated over its cases."""

    name: str
    passed: bool
    message: str = ""
    case: str = ""
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # index, obtained, expected
    mistake: str | None = None
    heatmap: HeatMap | None = None  # where a wrong array is wrong; drawn by the report only
    wrong_mask: list | None = None  # nested lists of bools, for results of few entries


@dataclass
class ExerciseResult:
    id: str
    title: str
    status: str
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
        bad = {"failed", "error", "timeout"}
        return 1 if any(e.status in bad for e in self.exercises) else 0

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
    data = asdict(check)
    del data["heatmap"]  # a picture for people; scripts get wrong_mask
    data["rows"] = [list(row) for row in check.rows]
    return data
