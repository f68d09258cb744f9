"""drill progress path|export|import|reset, and unusable databases, through Typer's CliRunner."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner, Result

from drill.cli import app
from drill.progress.store import SCHEMA_VERSION, ExerciseGrade, open_store

if TYPE_CHECKING:
    from conftest import Clock

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"
PLAIN = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TTY_COMPATIBLE": None}
START = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)


def drill(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=PLAIN)


def some_history() -> None:
    with open_store() as store:
        store.record_review("sigmoid-max-slope", "good", "right", 20.0, when=START)
        store.record_review("chain-rule-basics", "hard", "none", 90.0, 1, when=START)
        store.record_grade(
            [ExerciseGrade("linear", "passed", 5.0, 5)],
            {"linear": ["linear-backward-code"]},
            when=START,
        )


def history() -> tuple:
    with open_store() as store:
        cards = {key: card.card.to_dict() for key, card in store.cards().items()}
        return cards, store.reviews(), store.grades(), store.interviews()


def test_path_names_the_database_in_drill_home(drill_home: Path) -> None:
    result = drill("progress", "path")
    assert result.exit_code == 0
    assert result.stdout.strip() == str(drill_home / "progress.sqlite3")


def stats_json() -> dict:
    result = CliRunner().invoke(app, ["stats", "--json", "--bank", str(FIXTURE_BANK)], env=PLAIN)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_reset_import_round_trip(tmp_path: Path, clock: Clock) -> None:
    some_history()
    before = history()
    stats_before = stats_json()
    assert stats_before["reviews"] == 3
    backup = tmp_path / "backup.json"

    result = drill("progress", "export", str(backup))
    assert result.exit_code == 0, result.output
    assert "3 reviews, 1 grade, 0 interviews" in result.stdout
    assert json.loads(backup.read_text())["format"] == "drill-progress"

    result = drill("progress", "reset", "--yes")
    assert result.exit_code == 0, result.output
    assert history() == ({}, [], [], [])

    result = drill("progress", "import", str(backup))
    assert result.exit_code == 0, result.output
    assert "3 new reviews, 1 new grade, 0 new interviews" in result.stdout
    assert history() == before
    assert stats_json() == stats_before

    result = drill("progress", "import", str(backup))
    assert result.exit_code == 0, result.output
    assert "0 new reviews, 0 new grades, 0 new interviews" in result.stdout
    assert history() == before
    assert stats_json() == stats_before


def test_export_to_standard_output_and_never_over_a_file(tmp_path: Path) -> None:
    some_history()
    result = drill("progress", "export", "-")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["reviews"]) == 3
    mine = tmp_path / "notes.json"
    mine.write_text("my notes")
    result = drill("progress", "export", str(mine))
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert mine.read_text() == "my notes"
    assert drill("progress", "export", str(mine), "--force").exit_code == 0
    assert json.loads(mine.read_text())["version"] == 1


def test_reset_asks_and_a_no_keeps_everything() -> None:
    some_history()
    before = history()
    result = drill("progress", "reset", input="n\n")
    assert result.exit_code == 1
    assert "Forget 3 reviews, 1 grade and 0 interviews" in result.stderr
    assert "nothing was reset" in result.stderr
    assert history() == before
    result = drill("progress", "reset", input="")
    assert result.exit_code == 1
    assert "nothing was reset" in result.stderr
    assert history() == before
    result = drill("progress", "reset", input="y\n")
    assert result.exit_code == 0
    assert history() == ({}, [], [], [])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        ('{"format": "something else"}', "not a drill progress export"),
        ("[" * 100_000 + "]" * 100_000, "its JSON is nested too deeply"),
    ],
)
def test_a_bad_import_file_exits_2_and_changes_nothing(
    tmp_path: Path, content: str | None, message: str
) -> None:
    some_history()
    before = history()
    file = tmp_path / "in.json"
    if content is not None:
        file.write_text(content)
    result = drill("progress", "import", str(file))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert history() == before


def test_a_corrupt_database_exits_2_with_what_to_do(drill_home: Path) -> None:
    database = drill_home / "progress.sqlite3"
    database.write_bytes(b"\x00garbage" * 500)
    for args in (["progress", "export", "-"], ["progress", "reset", "--yes"]):
        result = drill(*args)
        assert result.exit_code == 2, result.output
        assert str(database) in result.stderr
        assert "damaged" in result.stderr
        assert "Traceback" not in result.output
    assert database.read_bytes() == b"\x00garbage" * 500


def test_a_newer_database_exits_2(drill_home: Path) -> None:
    some_history()
    with sqlite3.connect(drill_home / "progress.sqlite3") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    result = drill("progress", "reset", "--yes")
    assert result.exit_code == 2
    assert "newer drill" in result.stderr
    with sqlite3.connect(drill_home / "progress.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == 3


@pytest.mark.parametrize(
    ("home", "problem"),
    [
        ("not-a-folder", "it is a file, not a folder; set DRILL_HOME to a folder"),
        ("not-a-folder/sub", "cannot write the progress database"),
    ],
)
def test_a_drill_home_that_cannot_be_written_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: str, problem: str
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("DRILL_HOME", str(tmp_path / home))
    result = CliRunner().invoke(app, ["quiz", "--bank", str(FIXTURE_BANK)], env=PLAIN)
    assert result.exit_code == 2
    assert problem in result.stderr
    assert str(blocker) in result.stderr
    assert blocker.read_text() == "a file where the folder should be"
