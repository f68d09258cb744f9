"""Grading a class: many submission files in parallel, and what the group got right and wrong.

The exercises are prepared once (cases, reference results, known mistakes) and shared by
every submission. Each submission gets its own session, so its own worker and sandbox,
exactly as a single `drill grade` would; a few threads here drive those sessions at once.
The threads mostly wait on their workers, and only verdicts run in this process.

Everything here is plain data; the view is batch_report.py, the CSV file gradebook.py.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drill.grader.grade import Prepared, grade_prepared
from drill.grader.results import GradeReport
from drill.grader.runner import GradingSession, Ungradeable, open_session


class NoSubmissions(Exception):
    """The paths given name no submission file at all."""


def class_files(paths: list[Path]) -> list[Path]:
    """The submissions named by `paths`: files as given, folders as every *.py in them, sorted.

    A file that does not exist stays in the list, to be reported as not gradeable.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.py") if p.is_file())
            if not found:
                raise NoSubmissions(
                    f"{path} is a folder; give the path of your solution file "
                    "(a folder is graded as a class, but this one holds no *.py file)"
                )
            files.extend(found)
        else:
            files.append(path)
    return files


@dataclass
class Submission:
    """One file of the class: its report, or why it could not be graded at all."""

    file: str
    report: GradeReport | None = None
    error: str = ""

    @property
    def troubled(self) -> bool:
        """Not graded, or some exercise failed, raised or timed out."""
        return self.report is None or self.report.exit_code != 0

    def to_json(self) -> dict[str, Any]:
        """The single-file JSON object (or error object) plus the file as it was given."""
        if self.report is None:
            error = {"error": self.error, "exercises": [], "points": 0, "max_points": 0}
            return {"file": self.file, **error}
        return {"file": self.file, **self.report.to_json()}


@dataclass
class ClassRun:
    """The submissions graded, in the order of the input files."""

    submissions: list[Submission]
    interrupted: bool = False  # Ctrl-C: only the submissions finished before it


class ClassGrader:
    """Grades many files on the same prepared exercises, `jobs` submissions at a time."""

    def __init__(
        self, prepared: list[Prepared], timeout: float, memory_mb: int, strict: bool, jobs: int
    ) -> None:
        self.prepared = prepared
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.strict = strict  # refuse a file rather than grade it without every protection
        self.jobs = max(1, jobs)
        self._stopping = threading.Event()
        self._sessions: set[GradingSession] = set()
        self._lock = threading.Lock()

    def run(
        self,
        files: list[Path],
        on_done: Callable[[int, Submission], None] = lambda index, submission: None,
    ) -> ClassRun:
        """Grade every file; `on_done(index in files, submission)` is called here, in this
        thread, as each one finishes.

        Ctrl-C stops the submissions being graded and returns those already finished.
        """
        done: dict[int, Submission] = {}
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="drill-grade") as pool:
            futures: dict[Future[Submission], int] = {
                pool.submit(self._grade_file, path): index for index, path in enumerate(files)
            }
            pending = set(futures)
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        index = futures[future]
                        done[index] = future.result()
                        on_done(index, done[index])
            except KeyboardInterrupt:
                self._stop(futures)
                return ClassRun([done[index] for index in sorted(done)], interrupted=True)
        return ClassRun([done[index] for index in range(len(files))])

    def _stop(self, futures: dict[Future[Submission], int]) -> None:
        """No new submission starts, and those running stop and close their workers."""
        self._stopping.set()
        for future in futures:
            future.cancel()
        with self._lock:
            running = list(self._sessions)
        for session in running:
            session.interrupt()

    def _grade_file(self, path: Path) -> Submission:
        name = str(path)
        try:
            return Submission(name, self._grade(path))
        except Ungradeable as error:
            return Submission(name, error=f"cannot grade {name}: {error}")
        except Exception as error:
            if self._stopping.is_set():  # its worker was killed on purpose
                return Submission(name, error=f"cannot grade {name}: grading was interrupted")
            # One file that trips drill up costs that file only; the message says whose bug.
            reason = f"drill's own error ({type(error).__name__}: {error})"
            return Submission(name, error=f"cannot grade {name}: {reason}")

    def _grade(self, path: Path) -> GradeReport:
        # One lane a file: the files already run side by side, `jobs` at a time.
        session = open_session(path, self.timeout, self.memory_mb, self.strict, lanes=1)
        with self._lock:
            self._sessions.add(session)
        try:
            if self._stopping.is_set():  # Ctrl-C came while its worker was starting
                raise Ungradeable("grading was interrupted")
            return grade_prepared(session, self.prepared)
        finally:
            with self._lock:
                self._sessions.discard(session)
            session.close()


# --- the summary: what the group got right and wrong ----------------------------------------


@dataclass
class MistakeCount:
    message: str
    submissions: int


@dataclass
class ExerciseSummary:
    id: str
    title: str
    max_points: int
    graded: int  # submissions graded on this exercise
    passed: int
    mean_points: float
    mistakes: list[MistakeCount] = field(default_factory=list)  # most frequent first
    mean_seconds: float = 0.0

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class Slowest:
    """The exercise that took longest on average, and its slowest submission."""

    exercise: str
    mean_seconds: float
    max_seconds: float
    file: str


@dataclass
class ClassSummary:
    submissions: int
    graded: int
    mean_points: float
    max_points: int
    exercises: list[ExerciseSummary]
    timed_out: list[str]  # files with an exercise stopped at its time limit
    crashed: list[str]  # files with an exercise whose process died
    ungradeable: list[Submission]
    slowest: Slowest | None
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "submissions": self.submissions,
            "graded": self.graded,
            "mean_points": self.mean_points,
            "max_points": self.max_points,
            "exercises": [
                {
                    "id": e.id,
                    "pass_rate": round(e.pass_rate, 4),
                    "passed": e.passed,
                    "graded": e.graded,
                    "mean_points": e.mean_points,
                    "max_points": e.max_points,
                    "mean_seconds": round(e.mean_seconds, 4),
                    "mistakes": [
                        {"message": m.message, "submissions": m.submissions} for m in e.mistakes
                    ],
                }
                for e in self.exercises
            ],
            "timed_out": self.timed_out,
            "crashed": self.crashed,
            "ungradeable": [{"file": s.file, "error": s.error} for s in self.ungradeable],
            "slowest_exercise": None
            if self.slowest is None
            else {
                "id": self.slowest.exercise,
                "mean_seconds": round(self.slowest.mean_seconds, 4),
                "max_seconds": round(self.slowest.max_seconds, 4),
                "file": self.slowest.file,
            },
            "interrupted": self.interrupted,
        }


def summarise(run: ClassRun, prepared: list[Prepared]) -> ClassSummary:
    """Pass rates, mean points and the group's known mistakes per exercise, and the troubles."""
    reports = [(s.file, s.report) for s in run.submissions if s.report is not None]
    exercises = []
    slowest: Slowest | None = None
    for item in prepared:
        exercise = item.exercise
        results = [
            (file, result)
            for file, report in reports
            for result in report.exercises
            if result.id == exercise.id
        ]
        mistakes: Counter[str] = Counter()
        for _, result in results:
            # A submission counts once per mistake, however many checks show it.
            mistakes.update({check.mistake for check in result.checks if check.mistake})
        count = len(results)
        seconds = [(result.seconds, file) for file, result in results]
        summary = ExerciseSummary(
            id=exercise.id,
            title=exercise.title,
            max_points=exercise.points,
            graded=count,
            passed=sum(result.status == "passed" for _, result in results),
            mean_points=round(sum(r.points for _, r in results) / count, 2) if count else 0.0,
            mistakes=[
                MistakeCount(message, n)
                for message, n in sorted(mistakes.items(), key=lambda pair: (-pair[1], pair[0]))
            ],
            mean_seconds=sum(s for s, _ in seconds) / count if count else 0.0,
        )
        exercises.append(summary)
        if seconds and (slowest is None or summary.mean_seconds > slowest.mean_seconds):
            longest, file = max(seconds)
            slowest = Slowest(exercise.id, summary.mean_seconds, longest, file)
    return ClassSummary(
        submissions=len(run.submissions),
        graded=len(reports),
        mean_points=round(sum(r.points for _, r in reports) / len(reports), 2) if reports else 0,
        max_points=sum(item.exercise.points for item in prepared),
        exercises=exercises,
        timed_out=[f for f, r in reports if any(e.status == "timeout" for e in r.exercises)],
        crashed=[f for f, r in reports if any(e.crashed for e in r.exercises)],
        ungradeable=[s for s in run.submissions if s.report is None],
        slowest=slowest,
        interrupted=run.interrupted,
    )
