"""Rendering a GradeReport for people: a summary table, then what went wrong and where.

Everything shown that drill did not write itself (the submission's output, its exception
messages and tracebacks, the bank's ids, messages and case names) goes through
`drill.text.visible`, and into Rich only as `Text`, so neither escape sequences nor Rich
markup in it take effect.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from rich import box
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from drill.grader.heatmap import HeatMap, Panel
from drill.grader.results import (
    FAILING,
    CheckResult,
    ExerciseResult,
    ExerciseStatus,
    GradeReport,
)
from drill.text import one_line, plural, visible

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


def _indented(renderable: RenderableType, depth: int = 2) -> Padding:
    return Padding(renderable, (0, 0, 0, depth))


# Narrower than this, the table leaves out its reasons: squeezed into a few characters they
# would break every word, and each one is in the details under the table anyway.
REASONS_MIN_WIDTH = 72


def summary_table(report: GradeReport, width: int) -> Table:
    """One row an exercise; the reason too when the console is `width` >= REASONS_MIN_WIDTH."""
    reasons = width >= REASONS_MIN_WIDTH
    table = Table(box=box.SIMPLE_HEAD, expand=False)
    table.add_column("exercise", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    if reasons:
        table.add_column("reason", overflow="fold")
    for exercise in report.exercises:
        row = [
            _shown(exercise.id),
            _status(exercise.status),
            f"{_points(exercise.points)}/{exercise.max_points}",
        ]
        if reasons:
            # Passed needs no reason, and missing ones are listed once under the table.
            quiet = exercise.status in ("passed", "missing")
            row.append(_shown("" if quiet else exercise.message))
        table.add_row(*row)
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
    if check.heatmap is not None:
        lines.append(_indented(HeatMapView(visible(check.name), check.heatmap)))
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
    # The path goes on a line of its own: as a table title it would fold at the table's width.
    console.print(Text(one_line(f"drill grade {report.solution}"), style="bold"))
    console.print(summary_table(report, console.width))
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


def watch_heading(solution_name: str, stamp: str, missing: list[str]) -> Group:
    """The line drill grade --watch shows above each round, and the protections it lacked."""
    lines = [
        Text(
            f"drill grade --watch {visible(solution_name)} · graded at {stamp} · Ctrl-C to stop",
            style="dim",
        )
    ]
    if missing:
        lines.append(Text(f"graded without {', '.join(missing)}", style="yellow"))
    return Group(*lines)


def watch_problem(message: str) -> Group:
    """Why this save of the file could not be graded (it may quote the file: made visible)."""
    return Group(_shown(message), Text("Waiting for the next save…", style="dim"))
