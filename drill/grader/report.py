"""Rendering a GradeReport for people: a summary table, then what went wrong and where.

Everything shown that drill did not write itself (the submission's output, its exception
messages and tracebacks, the bank's ids, messages and case names) goes through
`drill.text.visible`, and into Rich only as `Text`, so neither escape sequences nor Rich
markup in it take effect.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from drill.grader.results import (
    FAILING,
    CheckResult,
    ExerciseResult,
    ExerciseStatus,
    GradeReport,
)
from drill.text import plural, visible

STATUS_STYLE: dict[ExerciseStatus, tuple[str, str]] = {
    "passed": ("✓ passed", "green"),
    "failed": ("✗ failed", "red"),
    "error": ("✗ error", "red"),
    "timeout": ("⧗ timeout", "yellow"),
    "missing": ("· missing", "dim"),
}
OUTPUT_SHOWN = 2000  # characters of a submission's printed output in the report


def _status(status: ExerciseStatus) -> Text:
    label, style = STATUS_STYLE[status]
    return Text(label, style=style)


def _points(value: float) -> str:
    return f"{value:g}"


def _shown(text: str, style: str = "") -> Text:
    return Text(visible(text), style=style)


def _indented(renderable: Text | Table | Group, depth: int = 2) -> Padding:
    return Padding(renderable, (0, 0, 0, depth))


def summary_table(report: GradeReport) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=False, title=_shown(f"drill grade {report.solution}"))
    table.add_column("exercise", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for exercise in report.exercises:
        # Passed needs no reason, and missing ones are listed once under the table.
        quiet = exercise.status in ("passed", "missing")
        table.add_row(
            _shown(exercise.id),
            _status(exercise.status),
            f"{_points(exercise.points)}/{exercise.max_points}",
            _shown("" if quiet else exercise.message),
        )
    return table


def _check_detail(check: CheckResult) -> Group:
    headline = Text("• ", style="red")
    headline.append(visible(check.name), style="bold")
    headline.append(" — " + visible(check.mistake or check.message))
    lines: list[Text | Padding] = [headline]
    if check.mistake:
        lines.append(_indented(_shown(check.message)))
    if check.case:
        lines.append(_indented(_shown(check.case, style="dim")))
    if check.rows:
        rows = Table(box=box.MINIMAL, show_edge=False, padding=(0, 1))
        rows.add_column("index")
        rows.add_column("obtained", justify="right")
        rows.add_column("expected", justify="right")
        for index, obtained, expected in check.rows:
            rows.add_row(_shown(index), _shown(obtained), _shown(expected))
        lines.append(_indented(rows))
    return Group(*lines)


def exercise_detail(exercise: ExerciseResult) -> Group:
    parts: list[Text | Padding] = [
        Text.assemble((visible(exercise.id), "bold"), " ", _status(exercise.status))
    ]
    failing = [check for check in exercise.checks if check.status == "failed"]
    unreached = [check.name for check in exercise.checks if check.status == "not reached"]
    if exercise.status != "failed" or not failing:
        parts.append(_indented(_shown(exercise.message)))
    for check in failing:
        parts.append(_indented(_check_detail(check)))
    if unreached:
        line = "not checked, as an earlier call raised: " + ", ".join(unreached)
        parts.append(_indented(_shown(line, style="dim")))
    if exercise.traceback:
        parts.append(_indented(Text("Your code's traceback:", style="bold")))
        parts.append(_indented(_shown(exercise.traceback.rstrip(), style="dim"), 4))
    if exercise.output.strip():
        parts.append(_indented(Text("Your code printed:", style="bold")))
        printed = exercise.output.rstrip()[:OUTPUT_SHOWN]
        parts.append(_indented(_shown(printed, style="dim"), 4))
    return Group(*parts)


def render(report: GradeReport, console: Console) -> None:
    """Print the summary table, the details of each exercise not passed, and the total."""
    console.print(summary_table(report))
    troubled = [e for e in report.exercises if e.status in FAILING]
    for exercise in troubled:
        console.print(exercise_detail(exercise))
        console.print()
    missing = [e.id for e in report.exercises if e.status == "missing"]
    points = plural(report.max_points, "point")
    console.print(Text(f"Total: {_points(report.points)} / {points}", style="bold"))
    if missing:
        counted = f"{len(missing)} of {plural(len(report.exercises), 'exercise')}"
        console.print(
            _shown(
                f"Not attempted yet ({counted}): {', '.join(missing)}. "
                "Fill in those stubs (drill init FILE --only ID writes one)."
            )
        )
