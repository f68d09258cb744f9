"""`drill grade`'s command line: limits, unusable paths and --json errors; `drill check .`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drill.cli import app

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "solutions" / "backprop.py"
runner = CliRunner()


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--timeout", "inf", "between 0.1 and 3600 seconds"),
        ("--timeout", "nan", "between 0.1 and 3600 seconds"),
        ("--timeout", "1e308", "between 0.1 and 3600 seconds"),
        ("--timeout", "0", "between 0.1 and 3600 seconds"),
        ("--timeout", "-5", "between 0.1 and 3600 seconds"),
        ("--timeout", "soon", "takes a number of seconds"),
        ("--memory", "12345678901234", "between 256 and 1048576 MiB"),
        ("--memory", "100", "between 256 and 1048576 MiB"),
        ("--memory", "2e3", "takes a whole number of MiB"),
        ("--memory", "-512", "takes a whole number of MiB"),
    ],
)
def test_limits_out_of_range_get_a_clear_message(option, value, expected):
    result = runner.invoke(app, ["grade", str(REFERENCE), option, value])
    assert result.exit_code == 2
    assert expected in result.output
    with_json = runner.invoke(app, ["grade", str(REFERENCE), option, value, "--json"])
    assert with_json.exit_code == 2
    assert expected in json.loads(with_json.stdout)["error"]


def test_limits_in_range_are_accepted():
    result = runner.invoke(
        app, ["grade", str(REFERENCE), "--only", "relu", "--timeout", "2.5", "--memory", "512"]
    )
    assert result.exit_code == 0


def unusable_paths(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    loop = tmp_path / "loop.py"
    loop.symlink_to(loop)
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"x = 1\0\n")
    folder = tmp_path / "folder.py"
    folder.mkdir()
    return {
        "folder": (folder, "is a folder; give the path of your solution file"),
        "symlink-loop": (loop, "symbolic link that loops back on itself"),
        "nul-bytes": (binary, "contains NUL bytes"),
        "missing": (tmp_path / "absent.py", "no such file"),
    }


@pytest.mark.parametrize("case", ["folder", "symlink-loop", "nul-bytes", "missing"])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_unusable_solution_paths_each_get_their_own_message(tmp_path, case, as_json):
    path, expected = unusable_paths(tmp_path)[case]
    result = runner.invoke(app, ["grade", str(path), *(["--json"] if as_json else [])])
    assert result.exit_code == 2
    if as_json:
        assert expected in json.loads(result.stdout)["error"]  # one object, nothing else
    else:
        assert expected in result.output and "Traceback" not in result.output


def test_check_dot_works_inside_a_questions_folder(monkeypatch):
    monkeypatch.chdir(ROOT / "questions")
    result = runner.invoke(app, ["check", "."])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


@pytest.mark.parametrize(
    ("folder", "expected"),
    [(".", "run 'drill check questions'"), ("questions/backprop", "is one topic of a bank")],
)
def test_check_says_what_to_point_it_at(monkeypatch, folder, expected):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["check", folder])
    assert result.exit_code == 2
    assert expected in result.output
    if folder != ".":
        assert f"drill check {ROOT / 'questions'}" in result.output


def test_grade_help_names_the_sandbox_options():
    result = runner.invoke(app, ["grade", "--help"], env={**os.environ, "COLUMNS": "200"})
    assert "--strict" in result.output and "SECONDS" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--only", "lineer"], "did you mean 'linear'"),
        (["--bank", "{empty}"], "the bank holds no questions"),
    ],
    ids=["unknown-id", "unusable-bank"],
)
def test_with_json_bank_and_id_errors_are_one_json_object(tmp_path, args, expected):
    args = [arg.format(empty=tmp_path) for arg in args]
    result = runner.invoke(app, ["grade", str(REFERENCE), "--json", *args])
    assert result.exit_code == 2
    assert expected in json.loads(result.stdout)["error"]
