"""The code a bank carries: reference solutions, known mistakes, stubs and autograd expressions.

Broken bank code is a bank error naming its file and line (exit 2), never a crash of drill;
an autograd expression is arithmetic checked node by node, never handed to eval.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drill.bank import load_bank
from drill.cli import app
from drill.grader.grade import validate_exercises
from drill.grader.worker import ExpressionError, evaluate_expression, parse_expression

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCE = Path(__file__).resolve().parent.parent / "solutions" / "backprop.py"
runner = CliRunner()


def fixture_copy(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A writable copy of the fixture bank: (questions folder, exercise file, solutions file)."""
    shutil.copytree(FIXTURES / "bank", tmp_path / "questions")
    shutil.copytree(FIXTURES / "solutions", tmp_path / "solutions")
    exercise = tmp_path / "questions" / "backprop" / "exercises" / "linear_backward.yaml"
    return tmp_path / "questions", exercise, tmp_path / "solutions" / "backprop.py"


def check_problems(questions: Path) -> list[str]:
    return validate_exercises(load_bank(questions))


# --- broken reference solutions ---------------------------------------------------------------


def test_a_missing_reference_file_is_a_bank_error(tmp_path):
    questions, _, solutions = fixture_copy(tmp_path)
    solutions.unlink()
    (problem,) = check_problems(questions)
    assert f"{solutions}: the reference solutions are missing" in problem


def test_a_reference_with_a_syntax_error_names_its_file_and_line(tmp_path):
    questions, _, solutions = fixture_copy(tmp_path)
    lines = solutions.read_text().splitlines()
    lines[4] = "class Linear(:"
    solutions.write_text("\n".join(lines) + "\n")
    (problem,) = check_problems(questions)
    assert f"{solutions}:5: importing the reference solutions has a syntax error" in problem


def test_a_reference_that_raises_at_import_names_its_file_and_line(tmp_path):
    questions, _, solutions = fixture_copy(tmp_path)
    solutions.write_text(solutions.read_text() + "\nraise RuntimeError('half written')\n")
    line = len(solutions.read_text().splitlines())
    (problem,) = check_problems(questions)
    assert f"{solutions}:{line}: importing the reference solutions raised RuntimeError" in problem


def test_grading_against_a_broken_bank_exits_2_with_one_message(tmp_path):
    questions, _, solutions = fixture_copy(tmp_path)
    submission = tmp_path / "mine.py"
    submission.write_text(solutions.read_text())
    solutions.write_text("import no_such_module_anywhere\n")
    result = runner.invoke(app, ["grade", str(submission), "--bank", str(questions)])
    assert result.exit_code == 2
    assert f"{solutions}:1: importing the reference solutions raised ModuleNotFoundError" in (
        result.output
    )
    assert "Traceback" not in result.output


# --- drill check's own checks ----------------------------------------------------------------


def test_check_reports_a_stub_that_is_not_a_stub(tmp_path):
    questions, exercise, _ = fixture_copy(tmp_path)
    text = exercise.read_text().replace(
        "          raise NotImplementedError\n", "          return x\n"
    )
    exercise.write_text(text)
    (problem,) = check_problems(questions)
    assert problem == f"{exercise}: the stub does not raise NotImplementedError"


def test_check_reports_a_stub_with_a_syntax_error_and_its_line(tmp_path):
    questions, exercise, _ = fixture_copy(tmp_path)
    text = exercise.read_text().replace("      def forward(self, x):", "      def forward(self, x:")
    exercise.write_text(text)
    (problem,) = check_problems(questions)
    assert problem.startswith(f"{exercise}: the stub has a syntax error on its line 7: ")


def test_check_reports_a_mistake_that_behaves_like_the_reference(tmp_path):
    questions, exercise, _ = fixture_copy(tmp_path)
    text = exercise.read_text().replace(
        '{old: "grad_output.sum(axis=0)", new: "grad_output[0]"}',
        '{old: "grad_output.sum(axis=0)", new: "grad_output.sum(axis=0) + 0.0"}',
    )
    exercise.write_text(text)
    (problem,) = check_problems(questions)
    assert problem == f"{exercise}: mistake 'bias-not-summed' behaves like the reference"


def test_check_passes_the_fixture_bank_as_it_is(tmp_path):
    questions, _, _ = fixture_copy(tmp_path)
    assert check_problems(questions) == []


# --- autograd expressions ------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "().__class__.__base__.__subclasses__()",
        "a.__class__.__base__.__subclasses__()",
        "a.__class__",
        "a.data",
        "a.relu.__globals__",
        "(lambda: a)()",
        "[c for c in (a, b)]",
        "__import__('os').system('true')",
        "a.relu(b)",
        "a if b else a",
        "'text' * 3",
        "True + a",
        "b * (h := a) + h.__dict__",
        "h + (h := a)",
    ],
)
def test_an_expression_outside_the_arithmetic_is_refused(expression):
    with pytest.raises(ExpressionError):
        parse_expression(expression, ["a", "b"])


def test_a_bank_with_an_escaping_expression_fails_drill_check(tmp_path):
    bank = tmp_path / "questions"
    shutil.copytree(FIXTURES / "bank", bank)
    shutil.copy(REFERENCE.parent.parent / "questions/backprop/exercises/value.yaml", bank)
    exercise = bank / "backprop" / "exercises" / "value.yaml"
    shutil.move(bank / "value.yaml", exercise)
    shutil.copytree(REFERENCE.parent, tmp_path / "solutions")
    text = exercise.read_text().replace(
        'expression: "a * b"', 'expression: "a.__class__.__base__.__subclasses__()"'
    )
    exercise.write_text(text)
    problems = check_problems(bank)
    message = "case 'a single product': invalid expression: calling .__subclasses__(…) is not"
    assert any(message in problem for problem in problems), problems


def test_every_expression_of_the_bank_evaluates_as_python_would():
    """The same Values built by Python's own evaluator and by the checked tree walk."""
    namespace: dict = {}
    exec(compile(REFERENCE.read_text(), str(REFERENCE), "exec"), namespace)
    value = namespace["Value"]
    cases = [
        case
        for exercise in load_bank().exercises.values()
        if exercise.check["type"] == "autograd"
        for case in exercise.check["cases"]
    ]
    assert len(cases) >= 5
    for case in cases:
        expression, inputs = case["expression"], case["inputs"]
        tree = parse_expression(expression, inputs)
        ours = evaluate_expression(tree, {k: value(v) for k, v in inputs.items()})
        # trusted: the repository's own bank, evaluated by Python as the reference
        theirs = eval(expression, {}, {k: value(v) for k, v in inputs.items()})
        assert ours.data == theirs.data
