"""Rendering a graded class for people: the progress bar, one line per file, and the summary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from drill.grader.batch import ClassSummary, Submission
from drill.grader.report import STATUS_STYLE
from drill.text import visible

MISTAKES_SHOWN = 3  # per exercise, most frequent first


class ClassProgress:
    """Counts finished submissions and those with a failure, for the bar."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self._task = (
            None if progress is None else progress.add_task("Grading", total=total, failures=0)
        )
        self.failures = 0

    def done(self, submission: Submission) -> None:
        self.failures += submission.troubled
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, failures=self.failures)


@contextmanager
def class_progress(console: Console, total: int) -> Iterator[ClassProgress]:
    """A progress bar on `console` while grading; nothing when it is not a terminal."""
    if not console.is_terminal:
        yield ClassProgress(None, total)
        return
    progress = Progress(
        TextColumn("Grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failures]} with failures"),
        TextColumn("·"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with progress:
        yield ClassProgress(progress, total)


def _points(value: float) -> str:
    return f"{value:g}"


def submissions_table(submissions: list[Submission], exercise_ids: list[str]) -> Table:
    """One row per file: its points and a status mark per exercise."""
    table = Table(box=box.SIMPLE_HEAD, title="Submissions")
    table.add_column("file", overflow="fold")
    table.add_column("points", justify="right", no_wrap=True)
    for exercise_id in exercise_ids:
        table.add_column(exercise_id, no_wrap=True, overflow="ellipsis")
    for submission in submissions:
        name = Text(visible(submission.file))
        if submission.report is None:
            table.add_row(name, Text("not graded", style="red"))
            continue
        marks = []
        for result in submission.report.exercises:
            label, style = STATUS_STYLE[result.status]
            marks.append(Text(label.split()[0], style=style))
        points = f"{_points(submission.report.points)}/{submission.report.max_points}"
        table.add_row(name, points, *marks)
    return table


def exercises_table(summary: ClassSummary) -> Table:
    """Per exercise: pass rate, mean points and the known mistakes made most often."""
    table = Table(box=box.SIMPLE_HEAD, title="By exercise")
    table.add_column("exercise", overflow="fold")
    table.add_column("passed", justify="right", no_wrap=True)
    table.add_column("mean points", justify="right", no_wrap=True)
    table.add_column("known mistakes, most frequent first", overflow="fold")
    for exercise in summary.exercises:
        shown = exercise.mistakes[:MISTAKES_SHOWN]
        mistakes = Text()
        for index, mistake in enumerate(shown):
            plural = "submission" if mistake.submissions == 1 else "submissions"
            mistakes.append("\n" if index else "")
            mistakes.append(f"{visible(mistake.message)} — {mistake.submissions} {plural}")
        hidden = len(exercise.mistakes) - len(shown)
        if hidden:
            mistakes.append(f"\n… and {hidden} more", style="dim")
        table.add_row(
            exercise.id,
            f"{exercise.pass_rate:.0%} ({exercise.passed}/{exercise.graded})",
            f"{_points(exercise.mean_points)}/{exercise.max_points}",
            mistakes,
        )
    return table


def render_class(
    submissions: list[Submission], summary: ClassSummary, exercise_ids: list[str], console: Console
) -> None:
    """Print the files' table, the exercises' table, then the troubles and the slowest one."""
    console.print(submissions_table(submissions, exercise_ids))
    console.print(exercises_table(summary))
    files = "file" if summary.submissions == 1 else "files"
    console.print(
        Text(
            f"{summary.graded} of {summary.submissions} {files} graded; mean "
            f"{_points(summary.mean_points)} / {summary.max_points} points",
            style="bold",
        )
    )
    if summary.timed_out:
        console.print(Text("Timed out: " + visible(", ".join(summary.timed_out)), style="yellow"))
    if summary.crashed:
        console.print(Text("Crashed: " + visible(", ".join(summary.crashed)), style="red"))
    if summary.slowest is not None:
        slowest = summary.slowest
        console.print(
            Text(
                f"Slowest exercise: {slowest.exercise}, {slowest.mean_seconds:.2f} s on average, "
                f"at most {slowest.max_seconds:.2f} s ({visible(slowest.file)})"
            )
        )
    for submission in summary.ungradeable:  # each error names its file
        console.print(Text(visible(submission.error), style="red"))
    if summary.interrupted:
        console.print(Text("Interrupted: only the files finished before Ctrl-C.", style="yellow"))
