"""The grade report as printed: the summary table at different terminal widths."""

from __future__ import annotations

from rich.console import Console

from drill.grader.report import REASONS_MIN_WIDTH, render
from drill.grader.results import CheckResult, ExerciseResult, GradeReport

REASON = "grad_input: 7 of 20 elements differ; max relative difference 5.0e-01 at [0, 0]"


def printed(width: int) -> str:
    failed = ExerciseResult(
        "relu",
        "ReLU",
        "failed",
        REASON,
        2.5,
        5,
        [CheckResult("grad_input", "failed", message=REASON[len("grad_input: ") :])],
    )
    passed = ExerciseResult("linear", "Linear", "passed", "", 10, 10)
    console = Console(width=width, record=True, no_color=True)
    render(GradeReport("solution.py", [passed, failed]), console)
    return console.export_text()


def table_of(text: str) -> str:
    return text.split("relu ✗ failed")[0]  # the details of the failed exercise follow it


def test_a_wide_terminal_shows_each_reason_in_the_table():
    table = table_of(printed(REASONS_MIN_WIDTH + 20))
    assert "reason" in table
    assert "7 of 20 elements differ" in table


def test_a_narrow_terminal_leaves_the_reasons_to_the_details_and_breaks_no_word():
    text = printed(40)
    table = table_of(text)
    assert "reason" not in table
    assert "exercise" in table  # the heading whole, not folded into "exerci" / "se"
    assert "relu" in table and "2.5/5" in table
    assert "7 of 20 elements" in text  # the reason is still there, under the table
