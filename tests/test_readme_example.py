"""The README's worked example of a new exercise: written out, validated and graded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drill.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE = re.compile(r"<!-- example: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)```", re.S)

runner = CliRunner()


@pytest.fixture
def example_bank(tmp_path: Path) -> Path:
    files = {m["path"]: m["body"] for m in EXAMPLE.finditer(README.read_text())}
    assert set(files) == {
        "solutions/activations.py",
        "questions/activations/exercises/leaky_relu.yaml",
        "questions/activations/leaky-relu-backward.yaml",
    }
    for relative, body in files.items():
        target = tmp_path / "mybank" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    return tmp_path / "mybank"


def test_the_example_passes_drill_check(example_bank):
    result = runner.invoke(app, ["check", str(example_bank / "questions")])
    assert result.exit_code == 0, result.output
    assert "1 question and 1 exercise, no problems" in result.output


def test_the_example_grades_its_reference_and_its_mistake(example_bank, tmp_path):
    bank = ["--bank", str(example_bank / "questions")]
    reference = example_bank / "solutions" / "activations.py"
    passed = runner.invoke(app, ["grade", str(reference), "--json", *bank])
    assert passed.exit_code == 0
    assert json.loads(passed.stdout)["points"] == 5

    mistaken = tmp_path / "mine.py"
    mistaken.write_text(reference.read_text().replace("self.slope * grad_output)", "0.0)"))
    failed = runner.invoke(app, ["grade", str(mistaken), "--json", *bank])
    assert failed.exit_code == 1
    (exercise,) = json.loads(failed.stdout)["exercises"]
    assert exercise["message"] == "the gradient for x <= 0 is the slope, not 0"


def test_the_example_starter_is_all_stubs(example_bank, tmp_path):
    bank = ["--bank", str(example_bank / "questions")]
    starter = tmp_path / "starter.py"
    assert runner.invoke(app, ["init", str(starter), *bank]).exit_code == 0
    graded = runner.invoke(app, ["grade", str(starter), "--json", *bank])
    assert graded.exit_code == 0
    assert json.loads(graded.stdout)["exercises"][0]["status"] == "missing"


def test_a_broken_declaration_is_reported_by_check_and_grade(example_bank):
    exercise = example_bank / "questions" / "activations" / "exercises" / "leaky_relu.yaml"
    exercise.write_text(exercise.read_text().replace("type: layer", "type: lair"))
    bank = str(example_bank / "questions")
    checked = runner.invoke(app, ["check", bank])
    assert checked.exit_code == 1
    assert "unknown check type 'lair'" in checked.output
    reference = example_bank / "solutions" / "activations.py"
    graded = runner.invoke(app, ["grade", str(reference), "--bank", bank])
    assert graded.exit_code == 2
    assert "exercise declarations are broken" in graded.output
    assert "Traceback" not in graded.output


# `drill show ID`, `drill quiz ID ID`…: a README command line naming questions.
NAMED = re.compile(r"^drill (show|hint|reveal|quiz) ((?:[a-z][\w-]* ?)+?)\s*(?:#|--|$)", re.M)


def test_the_question_ids_in_the_readme_commands_name_one_question_each():
    from drill.bank import load_bank, resolve

    questions = load_bank().questions
    named = [query for _, ids in NAMED.findall(README.read_text()) for query in ids.split()]
    assert len(named) >= 5, named
    for query in named:
        resolve(query, questions, "question")  # UnknownId for a typo or an ambiguous start
