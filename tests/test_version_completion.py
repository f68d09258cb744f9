"""drill --version and shell completion."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import drill
from drill.cli import app


def test_version_matches_the_installed_distribution() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"drill {importlib.metadata.version('backprop-drill')}\n"
    assert drill.__version__ == importlib.metadata.version("backprop-drill")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_completion_prints_a_script_for_the_shell(shell: str) -> None:
    result = CliRunner().invoke(app, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert "_DRILL_COMPLETE" in result.stdout
    assert f"complete_{shell}" in result.stdout


def test_completion_refuses_an_unknown_shell() -> None:
    result = CliRunner().invoke(app, ["completion", "tcsh"])
    assert result.exit_code == 2
    assert "tcsh" in result.output


def complete(words: str) -> list[str]:
    """What drill answers when bash asks to complete the last of `words`."""
    env = {
        **os.environ,
        "_DRILL_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    done = subprocess.run(
        [sys.executable, "-m", "drill"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_commands_subcommands_and_choices() -> None:
    assert complete("drill qu") == ["quiz"]
    assert complete("drill progress ") == ["path", "export", "import", "reset"]
    assert complete("drill quiz --kind c") == ["concept", "code", "choice"]


FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"


def test_bash_completes_question_and_exercise_ids_from_the_bank() -> None:
    bank = f"--bank {FIXTURE_BANK}"
    assert complete(f"drill show {bank} s") == ["sigmoid-max-slope", "softmax-facts"]
    assert complete(f"drill quiz {bank} chain-rule-basics re") == ["relu-gradient-choice"]
    assert complete(f"drill init x.py {bank} --only lin") == ["linear_backward"]
    assert complete(f"drill show {bank} nothing-like-this") == []
