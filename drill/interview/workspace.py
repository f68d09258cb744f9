"""Code questions answered in files: a starter per question, graded by drill's grader."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from drill.interview.loop import Graded

if TYPE_CHECKING:
    from drill.bank import Bank, Exercise, Question
    from drill.grader.results import GradeReport


def new_directory(parent: Path, day: date) -> Path:
    """A folder name not yet taken in `parent`: interview-<day>, else interview-<day>-2, …"""
    candidate = parent / f"interview-{day.isoformat()}"
    number = 2
    while candidate.exists():
        candidate = parent / f"interview-{day.isoformat()}-{number}"
        number += 1
    return candidate


class FileWorkspace:
    """Starter files in `directory` (created when the first code question comes), graded with
    the same limits as `drill grade`; each report is handed to `keep` (the progress store)."""

    def __init__(
        self,
        directory: Path,
        bank: Bank,
        timeout: float,
        memory_mb: int,
        keep: Callable[[GradeReport], None],
    ) -> None:
        self.directory = directory
        self.bank = bank
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.keep = keep

    def _exercises(self, question: Question) -> list[Exercise]:
        exercises = [self.bank.exercises[name] for name in question.exercises]
        return sorted(exercises, key=lambda exercise: exercise.order)

    def start(self, question: Question) -> Path:
        """Write the question's starter as `drill init` does; a file already there is kept."""
        from drill.grader.starter import write_starter

        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{question.id.replace('-', '_')}.py"
        if not path.exists():
            write_starter(path, self._exercises(question))
        return path

    def grade(self, path: Path, question: Question) -> Graded:
        """Grade `path` on the question's exercises, or say why it cannot be graded."""
        from drill.grader.cases import SpecError
        from drill.grader.grade import grade
        from drill.grader.runner import Ungradeable

        exercises = self._exercises(question)
        max_points = sum(exercise.points for exercise in exercises)
        try:
            report = grade(path, self.bank, exercises, self.timeout, self.memory_mb)
        except Ungradeable as error:
            return Graded(0.0, max_points, problem=f"cannot grade {path}: {error}")
        except SpecError as error:
            problem = f"the bank's exercise declarations are broken ({error}); run 'drill check'"
            return Graded(0.0, max_points, problem=problem)
        self.keep(report)
        return Graded(report.points, report.max_points, report=report)
