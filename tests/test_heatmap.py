"""The picture of where a wrong result is wrong: its data, its rendering and its JSON field."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
from rich.console import Console
from typer.testing import CliRunner

from drill.cli import app
from drill.grader.heatmap import MASK_LIMIT, MAX_COLS, MAX_ROWS, heat_map, wrong_mask
from drill.grader.report import SHADES, HeatMapView

runner = CliRunner()

# A Linear layer whose grad_W is wrong in column 1 only: that column is doubled.
WRONG_COLUMN = """\
    class Linear:
        def __init__(self, W, b):
            self.W, self.b = W, b

        def forward(self, x):
            self.x = x
            return x @ self.W + self.b

        def backward(self, grad_output):
            self.grad_W = self.x.T @ grad_output
            self.grad_W[:, 1] *= 2
            self.grad_b = grad_output.sum(axis=0)
            return grad_output @ self.W.T
"""


def wrong_column_solution(tmp_path: Path) -> Path:
    path = tmp_path / "solution.py"
    path.write_text(textwrap.dedent(WRONG_COLUMN))
    return path


def test_the_mask_of_a_wrong_column():
    expected = np.random.default_rng(5).normal(size=(3, 5))
    obtained = expected.copy()
    obtained[:, 1] *= 2
    column = [[j == 1 for j in range(5)] for _ in range(3)]

    assert wrong_mask(obtained, expected) == column
    heatmap = heat_map(obtained, expected)
    (panel,) = heatmap.panels
    assert panel.label == "[:, :]"
    assert panel.wrong == column
    assert heatmap.wrong_count == 3
    assert not heatmap.has_non_finite
    assert heatmap.largest == np.abs(expected[:, 1]).max()
    np.testing.assert_allclose(panel.errors, np.abs(obtained - expected))


def test_nothing_to_draw_when_the_values_agree_or_shapes_differ():
    a = np.arange(6.0).reshape(2, 3)
    assert heat_map(a, a + 1e-12) is None
    assert wrong_mask(a, a + 1e-12) is None
    assert heat_map(a.T, a) is None
    big = np.zeros(MASK_LIMIT + 1)
    assert wrong_mask(big + 1, big) is None, "large results carry no mask"


def test_a_large_matrix_is_cut_to_the_window_with_the_errors():
    expected = np.zeros((30, 100))
    obtained = expected.copy()
    obtained[27, 60] = 1.0
    (panel,) = heat_map(obtained, expected).panels
    assert panel.label == f"[{MAX_ROWS}:30, {MAX_COLS}:{2 * MAX_COLS}]"
    assert len(panel.wrong) == 30 - MAX_ROWS and len(panel.wrong[0]) == MAX_COLS
    assert panel.wrong[27 - MAX_ROWS][60 - MAX_COLS]


def test_higher_dimensions_are_shown_by_the_slices_that_hold_errors():
    expected = np.zeros((2, 3, 4, 4))  # (N, C, H, W), as a convolution's gradient
    obtained = expected.copy()
    obtained[1, 2, 0, :] = 5.0  # the top border of one channel
    obtained[0, 1, 3, 3] = np.nan
    heatmap = heat_map(obtained, expected)
    assert [p.label for p in heatmap.panels] == ["[0, 1, :, :]", "[1, 2, :, :]"]
    assert heatmap.panels[1].wrong[0] == [True] * 4
    assert not any(heatmap.panels[1].wrong[1])
    assert heatmap.largest == 5.0, "NaN is drawn at the top of the scale, not measured"
    assert heatmap.has_non_finite


def render(heatmap, color: bool) -> str:
    console = Console(
        width=100,
        no_color=not color,
        force_terminal=color,
        color_system="standard" if color else None,
    )
    with console.capture() as capture:
        console.print(HeatMapView("grad_W", heatmap))
    return capture.get()


def test_without_colour_the_map_uses_shade_characters():
    expected = np.ones((2, 4))
    obtained = expected.copy()
    obtained[0, 0] += 4.0  # the largest: a full block
    obtained[1, 3] += 0.5  # an eighth of it: the lightest shade
    text = render(heat_map(obtained, expected), color=False)
    assert "│█   │" in text
    assert f"│   {SHADES[1]}│" in text
    assert "\x1b[" not in text


def test_with_colour_the_map_uses_coloured_blocks():
    expected = np.ones((2, 4))
    obtained = expected.copy()
    obtained[0, 0] += 4.0
    obtained[1, 3] += 0.5
    text = render(heat_map(obtained, expected), color=True)
    assert "\x1b[" in text
    assert not set(SHADES[1:4]) & set(text)


def test_grade_draws_the_wrong_column(tmp_path):
    result = runner.invoke(
        app,
        ["grade", str(wrong_column_solution(tmp_path)), "--only", "linear"],
        env={"NO_COLOR": "1"},
    )
    assert result.exit_code == 1
    assert "where grad_W is wrong" in result.output
    lines = [line.strip() for line in result.output.splitlines()]
    top = lines.index("grad_W[:, :]") + 1
    assert lines[top] == "┌─────┐"
    # grad_W is (D, M) = (3, 5) in the first case: every row blank but for column 1.
    body = lines[top + 1 : top + 4]
    assert all(
        row[0] == "│" and row[1] == " " and row[2] != " " and row[3:6] == "   " for row in body
    )


def test_json_carries_the_mask_of_wrong_entries(tmp_path):
    result = runner.invoke(
        app, ["grade", str(wrong_column_solution(tmp_path)), "--only", "linear", "--json"]
    )
    (exercise,) = json.loads(result.stdout)["exercises"]
    checks = {check["name"]: check for check in exercise["checks"]}
    assert checks["grad_W"]["wrong_mask"] == [[j == 1 for j in range(5)] for _ in range(3)]
    assert checks["grad_input"]["wrong_mask"] is None, "a passing check has no mask"
    assert "heatmap" not in checks["grad_W"]
