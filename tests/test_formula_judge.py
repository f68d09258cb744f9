"""Judging typed gradients, the formula kind in the bank schema, the quiz and drill check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drill.bank import BankError, load_bank
from drill.cli import app
from drill.formula.judge import SEEDS, generate, judge_formula, split_answers
from drill.formula.syntax import Rejected
from drill.quiz.judge import InvalidAnswer, judge

FORMULA_BANK = Path(__file__).parent / "fixtures" / "formula_bank"
QUESTIONS = load_bank(FORMULA_BANK).questions
SINGLE = QUESTIONS["linear-dw"]
DOUBLE = QUESTIONS["linear-dw-db"]
REAL = load_bank().questions


def drill(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


@pytest.mark.parametrize(
    "text",
    [
        "X.T @ G",
        "np.dot(X.T, G)",
        "(G.T @ X).T",
        "np.einsum('nd,nm->dm', X, G)",
        "einsum('nm,nd->dm', G, X)",
        "numpy.matmul(X.T, G)",
        "X.T @ G + 0 * W",
        "dW = X.T @ G",
    ],
)
def test_equivalent_forms_are_right(text: str) -> None:
    assert judge_formula(SINGLE, text).right


def test_a_transposed_answer_is_told_its_shape_first_then_named() -> None:
    verdict = judge_formula(SINGLE, "G.T @ X")
    assert not verdict.right
    assert verdict.reasons == (
        "your expression has shape (M, D); ∂L/∂W has shape (D, M) — transposed; "
        "∂L/∂W has the shape of W",
    )


def test_a_known_mistake_with_the_right_shape_is_named() -> None:
    verdict = judge_formula(SINGLE, "np.dot(X.T, G) / N")
    assert verdict.reasons == ("divided by N; the batch is summed",)


def test_an_unknown_wrong_answer_gets_its_constant_factor_or_a_plain_reason() -> None:
    assert "every value is -1 times ∂L/∂W" in judge_formula(SINGLE, "-X.T @ G").reasons[0]
    plain = judge_formula(SINGLE, "X.T @ (G + 1)").reasons
    assert plain == ("the shape is right but the values differ from ∂L/∂W",)


def test_an_answer_right_on_one_data_set_only_is_wrong() -> None:
    first = generate(SINGLE.formula, SINGLE.id, SEEDS[0])["X"][0, 0]
    # Exactly the reference on the first data set, off by a factor on the second.
    assert not judge_formula(SINGLE, f"X.T @ G * X[0, 0] / ({float(first)!r})").right


def test_an_answer_that_cannot_be_computed_is_wrong_with_the_reason() -> None:
    verdict = judge_formula(SINGLE, "X @ G")
    assert verdict.reasons == ("X @ G: the inner sizes of (N, D) @ (N, M) differ",)
    assert judge_formula(SINGLE, "X").reasons == (
        "your expression has shape (N, D); ∂L/∂W has shape (D, M)",
    )


def test_inf_or_nan_is_reported() -> None:
    verdict = judge_formula(SINGLE, "X.T @ G / 0")
    assert verdict.reasons == ("your expression gives inf or NaN on ordinary inputs",)


def test_an_expression_outside_the_whitelist_is_rejected_to_be_retyped() -> None:
    with pytest.raises(Rejected, match=r"the attribute \.__class__ is not allowed"):
        judge_formula(SINGLE, "X.__class__")
    with pytest.raises(Rejected, match="unknown name 'b'"):
        judge_formula(DOUBLE, "X.T @ G; b")


def test_several_gradients_on_one_line_in_order_or_labelled() -> None:
    assert split_answers(DOUBLE, "X.T @ G; G.sum(0)") == {"dW": "X.T @ G", "db": " G.sum(0)"}
    assert split_answers(DOUBLE, "db = G.sum(0); dW = X.T @ G;") == {
        "db": " G.sum(0)",
        "dW": " X.T @ G",
    }
    assert split_answers(DOUBLE, "db = G.sum(0); X.T @ G")["dW"] == " X.T @ G"
    with pytest.raises(Rejected, match=r"asks for 2 expressions \(dW; db\) separated by ';'"):
        split_answers(DOUBLE, "X.T @ G")
    with pytest.raises(Rejected, match="'dX' is not asked for here"):
        split_answers(DOUBLE, "dX = G; G")
    with pytest.raises(Rejected, match="dW is given twice"):
        split_answers(DOUBLE, "dW = G; dW = G")
    # A comparison is not a label.
    assert split_answers(SINGLE, "X == 0") == {"dW": "X == 0"}


def test_each_of_several_gradients_is_judged_and_reported() -> None:
    verdict = judge_formula(DOUBLE, "X.T @ G; G.mean(axis=0)")
    assert not verdict.right
    assert verdict.reasons == (
        "dW: right",
        "db: averaged; the bias gradient sums over the batch",
    )
    assert judge_formula(DOUBLE, "db = G.sum(axis=0); dW = np.einsum('nd,nm->dm', X, G)").right


def test_the_quiz_judge_scores_formula_answers_and_asks_again_for_unreadable_ones() -> None:
    right = judge(SINGLE, "X.T @ G")
    assert (right.outcome, right.reasons) == ("right", ())
    wrong = judge(SINGLE, "G.T @ X")
    assert wrong.outcome == "wrong" and "shape (M, D)" in wrong.reasons[0]
    assert judge(SINGLE, "   ").outcome == "none"
    with pytest.raises(InvalidAnswer, match="calling __import__"):
        judge(SINGLE, "__import__('os')")


def test_every_bank_formula_question_accepts_its_own_reference_and_names_its_mistakes() -> None:
    for question in REAL.values():
        if question.formula is None:
            continue
        answers = question.formula.answers
        line = "; ".join(answer.reference for answer in answers)
        assert judge_formula(question, line).right, question.id
        for position, answer in enumerate(answers):
            for mistake in answer.mistakes:
                typed = [a.reference for a in answers]
                typed[position] = mistake.expression
                verdict = judge_formula(question, "; ".join(typed))
                assert not verdict.right, (question.id, mistake.expression)
                assert any(mistake.message in reason for reason in verdict.reasons), (
                    question.id,
                    mistake.expression,
                    verdict.reasons,
                )


# -- the quiz, piped -------------------------------------------------------------------------


def test_quiz_kind_formula_scores_answers_and_shows_the_reason() -> None:
    result = drill(
        "quiz",
        "--bank",
        str(FORMULA_BANK),
        "--kind",
        "formula",
        "--seed",
        "1",
        input="X.T @ G\nX.T @ G; G.mean(0)\ng\nnp.__class__\nG.T @ X\nh\n",
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "asks for 2 expressions (dW; db) separated by ';'; got 1" in out
    assert "✗ Wrong. dW: right db: averaged; the bias gradient sums over the batch" in out
    assert "the attribute .__class__ is not allowed; only .T is" in out
    assert "your expression has shape (M, D); ∂L/∂W has shape (D, M) — transposed" in out
    assert "2 questions: 0 right, 2 wrong, 0 skipped" in out


def test_list_and_show_handle_formula_questions() -> None:
    listed = drill("list", "--bank", str(FORMULA_BANK), "--kind", "formula", "--json")
    assert listed.exit_code == 0
    assert '"kind": "formula"' in listed.output and "linear-dw-db" in listed.output
    shown = drill("show", "linear-dw", "--bank", str(FORMULA_BANK))
    assert shown.exit_code == 0 and "Write ∂L/∂W" in shown.output


# -- the schema and drill check --------------------------------------------------------------


def _bank_with(tmp_path: Path, text: str, *, name: str = "linear-dw") -> Path:
    bank = tmp_path / "questions"
    shutil.copytree(FORMULA_BANK, bank)
    (bank / "backprop" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return bank


SINGLE_TEXT = (FORMULA_BANK / "backprop" / "linear-dw.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("sizes: {N: 5, D: 3, M: 4}", "sizes: {N: 5, D: 3, M: 3}", "sizes must differ"),
        ("sizes: {N: 5, D: 3, M: 4}", "sizes: {N: 5, D: 1, M: 4}", "from 2 to 64"),
        ("  W: {shape: [D, M]}", "  exp: {shape: [D, M]}", "'exp' in 'variables' is the name"),
        ("  W: {shape: [D, M]}", "  W: {shape: [D, K]}", "variable 'W' needs a 'shape'"),
        ("reference: X.T @ G", "reference: X.T.__class__", "answers[0].reference: the attri"),
        ("G.T @ X, message", "open('f'), message", "answers[0].mistakes[0].expression"),
        ("kind: formula", "kind: numeric", "'variables' belongs to formula questions"),
        ("    label: ∂L/∂W\n", "", "answers[0]: missing required field 'label'"),
        ("sizes: {N: 5", "derived: {Z: Q * 2}\nsizes: {N: 5", "unknown name 'Q'"),
        ("    mistakes:\n", "    mistakes: []\n    unused:\n", "has unknown field 'unused'"),
        (
            "sizes: {N: 5",
            "checked_against: {exercise: linear, inputs: {X: x}, answers: {}}\nsizes: {N: 5",
            "checked_against.answers must be a mapping",
        ),
        (
            "sizes: {N: 5",
            "checked_against: {exercise: linear, inputs: {X: x}, answers: {dW: d}}\nsizes: {N: 5",
            "checked_against.inputs must bind every variable",
        ),
    ],
)
def test_malformed_formula_questions_are_bank_errors(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in SINGLE_TEXT
    bank = _bank_with(tmp_path, SINGLE_TEXT.replace(old, new))
    with pytest.raises(BankError) as caught:
        load_bank(bank)
    assert message in str(caught.value)
    result = drill("list", "--bank", str(bank))
    assert result.exit_code == 2


def test_check_flags_a_mistake_that_equals_its_reference(tmp_path: Path) -> None:
    text = SINGLE_TEXT.replace("expression: X.T @ G / N", "expression: (G.T @ X).T")
    result = drill("check", str(_bank_with(tmp_path, text)))
    assert result.exit_code == 1
    assert "the mistake '(G.T @ X).T' of dW equals its reference" in result.output


def test_check_flags_an_unknown_linked_exercise(tmp_path: Path) -> None:
    text = SINGLE_TEXT + (
        "checked_against:\n  exercise: linear\n"
        "  inputs: {X: x, W: W, G: grad_output}\n  answers: {dW: grad_W}\n"
    )
    result = drill("check", str(_bank_with(tmp_path, text)))
    assert result.exit_code == 1
    assert "checked_against names exercise 'linear', which the bank lacks" in result.output


def _linked_bank(tmp_path: Path, replace: tuple[str, str] | None = None) -> Path:
    """The real Linear exercise and its reference beside one linked formula question."""
    root = tmp_path / "bank"
    (root / "questions" / "backprop" / "exercises").mkdir(parents=True)
    real = Path(__file__).parent.parent
    shutil.copytree(real / "solutions", root / "solutions")
    shutil.copy(
        real / "questions" / "backprop" / "exercises" / "linear.yaml",
        root / "questions" / "backprop" / "exercises" / "linear.yaml",
    )
    text = (real / "questions" / "backprop" / "formula-linear-dw.yaml").read_text("utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    (root / "questions" / "backprop" / "formula-linear-dw.yaml").write_text(text, "utf-8")
    return root / "questions"


def test_check_verifies_references_against_the_linked_exercise(tmp_path: Path) -> None:
    good = drill("check", str(_linked_bank(tmp_path / "good")))
    assert good.exit_code == 0, good.output
    wrong = _linked_bank(tmp_path / "wrong", ("answers: {dW: grad_W}", "answers: {dW: grad_b}"))
    result = drill("check", str(wrong))
    assert result.exit_code == 1
    assert "the reference of dW disagrees with grad_b of exercise 'linear'" in result.output
    missing = _linked_bank(tmp_path / "missing", ("G: grad_output}", "G: grad_out}"))
    result = drill("check", str(missing))
    assert "exercise 'linear' has no array or recorded value 'grad_out'" in result.output


def test_a_question_whose_own_expressions_fail_is_reported_not_crashed(tmp_path: Path) -> None:
    text = SINGLE_TEXT.replace("sizes: {N: 5", "derived:\n  Z: X @ X\nsizes: {N: 5")
    bank = _bank_with(tmp_path, text)
    result = drill(
        "quiz", "--bank", str(bank), "--kind", "formula", "--seed", "1", input="s\nX.T @ G\ns\n"
    )
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "this question cannot be judged (X @ X: the inner sizes of (N, D) @ (N, D)" in shown
    checked = drill("check", str(bank))
    assert checked.exit_code == 1
    assert "X @ X: the inner sizes of (N, D) @ (N, D) differ" in checked.output


def test_check_says_when_no_case_of_the_linked_exercise_fits_the_setting(tmp_path: Path) -> None:
    bank = _linked_bank(tmp_path, ("inputs: {X: x,", "inputs: {X: b,"))  # b is 1-D
    result = drill("check", str(bank))
    assert result.exit_code == 1
    assert "no case of exercise 'linear' has the shapes of this setting" in result.output


def test_a_wrong_formula_answer_reaches_the_scheduler_as_again() -> None:
    quiz = drill("quiz", "linear-dw", "--bank", str(FORMULA_BANK), input="G.T @ X\ne\n")
    assert quiz.exit_code == 0, quiz.output
    exported = drill("progress", "export", "-")
    (review,) = json.loads(exported.output)["reviews"]
    assert (review["question_id"], review["outcome"]) == ("linear-dw", "wrong")
    assert (review["self_rating"], review["rating"]) == ("easy", "again")
