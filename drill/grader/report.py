"""Rendering a GradeReport for people: a summary table, then what went wrong and where."""

from __future__ import annotations

import math
from collections.abc import Iterator

from rich import box
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from drill.grader.heatmap import HeatMap, Panel
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


# Level 0 is a correct entry; 1–4 are quarters of the largest difference.
SHADES = " ░▒▓█"
HEAT_STYLES = ("dim", "yellow", "dark_orange", "red", "bold bright_red")


def _level(error: float, wrong: bool, largest: float) -> int:
    if not wrong:
        return 0
    if not math.isfinite(error) or largest <= 0:
        return 4
    return max(1, min(4, math.ceil(4 * error / largest)))


class HeatMapView:
    """A heat map of |obtained − expected|: coloured blocks, or shade characters without colour."""

    def __init__(self, name: str, heatmap: HeatMap) -> None:
        self.name = name
        self.heatmap = heatmap

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        heatmap = self.heatmap
        plain = console.no_color or console.color_system is None
        size = math.prod(heatmap.shape)
        yield Text(
            f"where {self.name} is wrong ({heatmap.wrong_count} of {size} entries; "
            f"|obtained − expected| up to {heatmap.largest:.3g}"
            f"{', NaN or inf drawn as the largest' if heatmap.has_non_finite else ''}):",
            style="dim",
        )
        scale = "".join(SHADES[1:]) if plain else "yellow → red"
        yield Text(f"{scale} = up to ¼ ½ ¾ 1 of that, blank = correct", style="dim")
        if heatmap.slices_with_errors > len(heatmap.panels):
            shown, total = len(heatmap.panels), heatmap.slices_with_errors
            yield Text(f"the {shown} of {total} slices with most wrong entries:", style="dim")
        # Side by side while they fit, so that several slices cost few lines.
        yield Columns([self._panel(panel, plain) for panel in heatmap.panels], padding=(0, 3))

    def _panel(self, panel: Panel, plain: bool) -> Group:
        width = len(panel.errors[0])
        lines = [
            Text(f"{self.name}{panel.label}", style="dim", no_wrap=True),
            Text("┌" + "─" * width + "┐", no_wrap=True),
        ]
        for errors, wrong in zip(panel.errors, panel.wrong):
            line = Text("│", no_wrap=True)
            for error, is_wrong in zip(errors, wrong):
                level = _level(error, is_wrong, self.heatmap.largest)
                if plain:
                    line.append(SHADES[level])
                else:
                    line.append("█" if level else " ", style=HEAT_STYLES[level])
            line.append("│")
            lines.append(line)
        lines.append(Text("└" + "─" * width + "┘", no_wrap=True))
        return Group(*lines)


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
    if check.heatmap is not None:
        lines.append(Padding(HeatMapView(check.name, check.heatmap), (0, 0, 0, 2)))
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
