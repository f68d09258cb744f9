"""drill init on an existing file adds the missing exercises and never touches the rest."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from drill.bank import load_bank
from drill.cli import app
from drill.grader.starter import defines

BANK = load_bank()
MY_LINEAR = '''import numpy as np


class Linear:
    """My own work, with a bug I am still chasing."""

    def forward(self, x):
        return x @ self.W  # TODO: bias
'''


def init(*args: str) -> Result:
    return CliRunner().invoke(app, ["init", *args], env={"NO_COLOR": "1"})


def test_a_missing_exercise_is_appended_and_the_users_code_kept(tmp_path: Path) -> None:
    target = tmp_path / "solution.py"
    target.write_text(MY_LINEAR)
    target.chmod(0o640)
    result = init(str(target), "--only", "relu")
    assert result.exit_code == 0, result.output
    assert f"Added to {target}: 1 exercise stub: relu" in result.stdout
    assert "Next: fill it in, then run" in result.stdout
    text = target.read_text()
    assert text.startswith(MY_LINEAR)
    assert text[len(MY_LINEAR) :].lstrip("\n").startswith("# --- relu: ")
    assert BANK.exercises["relu"].stub.rstrip() in text
    assert target.stat().st_mode & 0o777 == 0o640
    compile(text, str(target), "exec")


def test_an_exercise_already_in_the_file_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "solution.py"
    target.write_text(MY_LINEAR)
    result = init(str(target), "--only", "linear")
    assert result.exit_code == 0, result.output
    assert "already has linear: left as it is" in result.stdout
    assert target.read_text() == MY_LINEAR
    # Several at once: only the absent ones are added, each once.
    result = init(str(target), "--only", "linear", "--only", "relu", "--only", "sigmoid")
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text.count("class Linear") == 1
    assert text.count("class ReLU") == 1
    assert text.count("class Sigmoid") == 1
    again = init(str(target), "--only", "relu")
    assert target.read_text() == text
    assert "left as it is" in again.stdout


def test_init_without_only_fills_in_every_missing_exercise(tmp_path: Path) -> None:
    target = tmp_path / "solution.py"
    target.write_text(MY_LINEAR)
    assert init(str(target)).exit_code == 0
    text = target.read_text()
    assert text.startswith(MY_LINEAR)
    for exercise in BANK.exercises.values():
        assert defines(text, exercise.entry), exercise.id
    assert text.count("class Linear") == 1


def test_a_file_with_a_syntax_error_is_still_read(tmp_path: Path) -> None:
    target = tmp_path / "solution.py"
    broken = MY_LINEAR + "\ndef half_written(:\n"
    target.write_text(broken)
    assert init(str(target), "--only", "linear", "--only", "relu").exit_code == 0
    text = target.read_text()
    assert text.startswith(broken)
    assert text.count("class Linear") == 1 and text.count("class ReLU") == 1


def test_force_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "solution.py"
    target.write_text(MY_LINEAR)
    result = init(str(target), "--only", "relu", "--force")
    assert result.exit_code == 0
    assert "My own work" not in target.read_text()
    assert "class ReLU" in target.read_text()


def test_a_binary_file_is_refused_untouched(tmp_path: Path) -> None:
    target = tmp_path / "solution.py"
    target.write_bytes(b"\xff\xfe\x00binary")
    result = init(str(target), "--only", "relu")
    assert result.exit_code == 2
    assert "not UTF-8 text" in result.stderr
    assert target.read_bytes() == b"\xff\xfe\x00binary"


def test_defines_sees_only_top_level_definitions() -> None:
    assert defines("class ReLU:\n    pass\n", "ReLU")
    assert defines("def numerical_gradient(f, x):\n    pass\n", "numerical_gradient")
    assert not defines("class ReLUish:\n    pass\n", "ReLU")
    assert not defines("    def forward(self):\n        pass\n", "forward")
    assert not defines("# class ReLU: later\n", "ReLU")
