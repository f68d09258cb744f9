"""Rendering a GradeReport for people: a summary table, then what went wrong and where."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from drill.grader.results import CheckResult, ExerciseResult, GradeReport

STATUS_STYLE = {
    "passed": ("✓ passed", "green"),
    "failed": ("✗ failed", "red"),
    "error": ("✗ error", "red"),
    "timeout": ("⧗ timeout", "yellow"),
    "missing": ("· missing", "dim"),
}


def _status(status: str) -> Text:
    label, style = STATUS_STYLE[status]
    return Text(label, style=style)


def _points(value: float) -> str:
    return f"{value:g}"


def summary_table(report: GradeReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=False, title=f"drill grade {report.solution}")
    table.add_column("exercise", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for exercise in report.exercises:
        table.add_row(
            exercise.id,
            _status(exercise.status),
            f"{_points(exercise.points)}/{exercise.max_points}",
            exercise.message if exercise.status != "passed" else "",
        )
    return table


def _check_detail(check: CheckResult) -> Group:
    lines: list = []
    headline = Text("• ", style="red")
    headline.append(check.name, style="bold")
    headline.append(f" — {check.mistake or check.message}")
    lines.append(headline)
    if check.mistake:
        lines.append(Padding(Text(check.message), (0, 0, 0, 2)))
    if check.case:
        lines.append(Padding(Text(check.case, style="dim"), (0, 0, 0, 2)))
    if check.rows:
        rows = Table(box=box.MINIMAL, show_edge=False, padding=(0, 1))
        rows.add_column("index")
        rows.add_column("obtained", justify="right")
        rows.add_column("expected", justify="right")
        for index, obtained, expected in check.rows:
            rows.add_row(index, obtained, expected)
        lines.append(Padding(rows, (0, 0, 0, 2)))
    return Group(*lines)


def exercise_detail(exercise: ExerciseResult) -> Group:
    parts: list = [Text.assemble((exercise.id, "bold"), " ", _status(exercise.status))]
    failing = [check for check in exercise.checks if not check.passed]
    if exercise.status != "failed" or not failing:
        parts.append(Padding(Text(exercise.message), (0, 0, 0, 2)))
    for check in failing:
        parts.append(Padding(_check_detail(check), (0, 0, 0, 2)))
    if exercise.traceback:
        parts.append(Padding(Text("Your code's traceback:", style="bold"), (0, 0, 0, 2)))
        parts.append(Padding(Text(exercise.traceback.rstrip(), style="dim"), (0, 0, 0, 4)))
    if exercise.output.strip():
        parts.append(Padding(Text("Your code printed:", style="bold"), (0, 0, 0, 2)))
        parts.append(Padding(Text(exercise.output.rstrip()[:2000], style="dim"), (0, 0, 0, 4)))
    return Group(*parts)


def render(report: GradeReport, console: Console) -> None:
    """Print the summary table, the details of each exercise not passed, and the total."""
    console.print(summary_table(report))
    troubled = [e for e in report.exercises if e.status in ("failed", "error", "timeout")]
    for exercise in troubled:
        console.print(exercise_detail(exercise))
        console.print()
    missing = [e.id for e in report.exercises if e.status == "missing"]
    total = Text(f"Total: {_points(report.points)} / {report.max_points} points", style="bold")
    console.print(total)
    if missing:
        console.print(
            f"Not attempted yet: {escape(', '.join(missing))}. "
            "Fill in those stubs (drill init FILE --only ID writes one)."
        )
