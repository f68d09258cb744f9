"""drill grade records each graded round: statuses, scores and reviews of the code questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from typer.testing import CliRunner, Result

from drill.cli import app
from drill.progress.store import open_store

if TYPE_CHECKING:
    from conftest import Clock

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_BANK = FIXTURES / "bank"
REFERENCE = (FIXTURES / "solutions" / "backprop.py").read_text()
# The classic slip: the bias gradient averaged over the batch instead of summed.
WRONG = REFERENCE.replace("grad_output.sum(axis=0)", "grad_output.mean(axis=0)")
PLAIN = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TTY_COMPATIBLE": None}


def grade(path: Path, *args: str) -> Result:
    return CliRunner().invoke(
        app, ["grade", str(path), "--bank", str(FIXTURE_BANK), *args], env=PLAIN
    )


def solution(tmp_path: Path, text: str, name: str = "solution.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_pass_is_recorded_with_a_good_review_of_its_code_question(
    tmp_path: Path, clock: Clock
) -> None:
    result = grade(solution(tmp_path, REFERENCE), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["points"] == 10
    with open_store() as store:
        [graded] = store.grades()
        [review] = store.reviews()
    assert (graded.exercise_id, graded.status, graded.points, graded.max_points) == (
        "linear_backward",
        "passed",
        10,
        10,
    )
    assert graded.graded_at == clock.moment
    assert (review.question_id, review.source, review.rating) == (
        "linear-backward-code",
        "grade",
        "good",
    )


def test_the_first_grade_of_the_day_decides_the_review(tmp_path: Path, clock: Clock) -> None:
    assert grade(solution(tmp_path, WRONG)).exit_code == 1
    clock.advance(minutes=30)
    assert grade(solution(tmp_path, REFERENCE)).exit_code == 0
    with open_store() as store:
        assert [g.status for g in store.grades()] == ["failed", "passed"]
        assert [r.rating for r in store.reviews()] == ["again"]
    clock.advance(days=1)
    assert grade(solution(tmp_path, REFERENCE)).exit_code == 0
    with open_store() as store:
        # The first try since yesterday's review passed: good.
        assert [r.rating for r in store.reviews()] == ["again", "good"]
    # A failure later that day is no review (the day's is spent), but it makes the next
    # day's pass hard.
    clock.advance(hours=1)
    assert grade(solution(tmp_path, WRONG)).exit_code == 1
    clock.advance(days=1)
    assert grade(solution(tmp_path, REFERENCE)).exit_code == 0
    with open_store() as store:
        assert [r.rating for r in store.reviews()] == ["again", "good", "hard"]
        statuses = ["failed", "passed", "passed", "failed", "passed"]
        assert [g.status for g in store.grades()] == statuses


def test_a_starter_file_records_missing_grades_and_no_review(tmp_path: Path) -> None:
    starter = tmp_path / "starter.py"
    runner = CliRunner()
    init = runner.invoke(app, ["init", str(starter), "--bank", str(FIXTURE_BANK)], env=PLAIN)
    assert init.exit_code == 0, init.output
    assert grade(starter).exit_code == 0
    with open_store() as store:
        assert [g.status for g in store.grades()] == ["missing"]
        assert store.reviews() == []


def test_an_ungradeable_file_records_nothing(tmp_path: Path) -> None:
    assert grade(solution(tmp_path, "def broken(:\n")).exit_code == 2
    with open_store() as store:
        assert store.grades() == []


def test_a_damaged_store_is_refused_before_any_result_is_shown(
    tmp_path: Path, drill_home: Path
) -> None:
    (drill_home / "progress.sqlite3").write_bytes(b"garbage" * 300)
    result = grade(solution(tmp_path, REFERENCE))
    assert result.exit_code == 2
    assert "linear_backward" not in result.stdout
    assert "damaged" in result.stderr
    result = grade(solution(tmp_path, REFERENCE), "--json")
    assert result.exit_code == 2
    [line] = result.stdout.splitlines()  # the error alone, no report
    assert "damaged" in json.loads(line)["error"]
    assert (drill_home / "progress.sqlite3").read_bytes() == b"garbage" * 300
