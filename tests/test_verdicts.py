"""Verdicts on honest mistakes, and a report that shows outside text without obeying it."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from drill.bank import load_bank
from drill.cli import app
from drill.grader.compare import Observed, compare, number, numbers_apart
from drill.grader.grade import grade

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "solutions" / "backprop.py"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
runner = CliRunner()

# Sequences a terminal would obey: set the title (OSC 0), write the clipboard (OSC 52), clear
# the screen (CSI 2J), and a carriage return that redraws a line to read "passed".
ATTACK = "\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b2J\x7f\rlinear ✓ passed 10/10"
RAW = ("\x1b", "\x07", "\r", "\x9b", "\x7f")


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def write(tmp_path: Path, source: str, name: str = "solution.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def reference_with(tmp_path: Path, replacements: dict[str, str], extra: str = "") -> Path:
    source = REFERENCE.read_text()
    for old, new in replacements.items():
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return write(tmp_path, source + textwrap.dedent(extra))


def one_result(path: Path, bank, exercise_id: str):
    (result,) = grade(path, bank, [bank.exercises[exercise_id]]).exercises
    return result


def failing(result) -> dict[str, object]:
    return {check.name: check for check in result.checks if check.status == "failed"}


# --- nothing reaches the terminal raw ------------------------------------------------------


def hostile_text_solution(tmp_path: Path) -> Path:
    return reference_with(
        tmp_path,
        {
            "        self.x = x\n": f"        self.x = x\n        print({ATTACK!r})\n",
            "        self.grad_b = grad_output.sum(axis=0)\n": (
                f"        raise ValueError({ATTACK!r})\n"
            ),
        },
    )


def test_a_submissions_escape_sequences_are_shown_not_sent(tmp_path):
    path = hostile_text_solution(tmp_path)
    result = runner.invoke(app, ["grade", str(path), "--only", "linear"])
    assert result.exit_code == 1
    for character in RAW:
        assert character not in result.output
    # Shown, escaped, in the exception message, the traceback and the printed output.
    assert result.output.count("\\x1b]52;c;ZXZpbA==\\x07") >= 3
    assert "\\x1b[2J\\x9b2J\\x7f\\x0dlinear ✓" in result.output


def test_an_import_failure_quoting_escape_sequences_is_shown_not_sent(tmp_path):
    path = write(tmp_path, f"raise RuntimeError({ATTACK!r})\n")
    result = runner.invoke(app, ["grade", str(path), "--only", "linear"])
    assert result.exit_code == 2
    assert "\\x1b]52;c;ZXZpbA==\\x07" in result.output
    for character in RAW:
        assert character not in result.output


def test_json_carries_the_submissions_text_exactly(tmp_path):
    path = hostile_text_solution(tmp_path)
    result = runner.invoke(app, ["grade", str(path), "--only", "linear", "--json"])
    assert result.exit_code == 1
    for character in RAW:
        assert character not in result.stdout  # JSON escapes control characters
    (linear,) = json.loads(result.stdout)["exercises"]
    assert ATTACK in linear["output"]
    assert ATTACK in linear["message"]
    assert ATTACK in linear["traceback"]


def test_bank_text_in_the_report_is_shown_not_sent(tmp_path):
    root = tmp_path / "bank"
    shutil.copytree(FIXTURES / "bank", root / "questions")
    shutil.copytree(FIXTURES / "solutions", root / "solutions")
    exercise = root / "questions" / "backprop" / "exercises" / "linear_backward.yaml"
    text = exercise.read_text().replace(
        "message: grad_b must sum grad_output over the batch",
        'message: "grad_b must sum \\e]52;c;ZXZpbA==\\a over the batch \\x9b2J"',
    )
    exercise.write_text(text)
    source = (root / "solutions" / "backprop.py").read_text()
    path = write(tmp_path, source.replace("grad_output.sum(axis=0)", "grad_output[0]"))
    args = ["grade", str(path), "--bank", str(root / "questions")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "grad_b must sum \\x1b]52;c;ZXZpbA==\\x07 over the batch \\x9b2J" in result.output
    for character in RAW:
        assert character not in result.output


# --- what "missing" means -----------------------------------------------------------------


def test_a_stub_file_is_missing_in_one_line_not_one_per_exercise(tmp_path):
    starter = tmp_path / "starter.py"
    assert runner.invoke(app, ["init", str(starter)]).exit_code == 0
    result = runner.invoke(app, ["grade", str(starter)])
    assert result.exit_code == 0
    assert "still a stub" not in result.output
    assert result.output.count("Not attempted yet") == 1
    assert "linear, relu," in result.output


def test_a_stub_that_raises_on_one_case_only_is_failed_not_missing(tmp_path, bank):
    """NotImplementedError for a batch of one, and a wrong grad_b on the other cases."""
    path = reference_with(
        tmp_path,
        {
            "        self.grad_b = grad_output.sum(axis=0)\n": (
                "        if grad_output.shape[0] == 1:\n"
                "            raise NotImplementedError\n"
                "        self.grad_b = grad_output.mean(axis=0)\n"
            )
        },
    )
    result = one_result(path, bank, "linear")
    assert result.status == "failed"
    assert "the bias gradient sums over the batch" in result.message
    assert 0 < result.points < result.max_points


def test_a_stub_that_raises_on_one_case_and_passes_the_rest_is_failed(tmp_path, bank):
    path = reference_with(
        tmp_path,
        {
            "        self.grad_b = grad_output.sum(axis=0)\n": (
                "        if grad_output.shape[0] == 1:\n"
                "            raise NotImplementedError\n"
                "        self.grad_b = grad_output.sum(axis=0)\n"
            )
        },
    )
    result = one_result(path, bank, "linear")
    assert result.status == "failed"
    assert "raises NotImplementedError on case" in result.message
    assert "batch of one" in result.message
    unreached = [c.name for c in result.checks if c.status == "not reached"]
    assert "grad_b" in unreached


def test_a_raising_forward_lists_the_checks_it_kept_from_running_once(tmp_path):
    path = reference_with(
        tmp_path, {"        return x @ self.W + self.b\n": "        raise KeyError('oops')\n"}
    )
    result = runner.invoke(app, ["grade", str(path), "--only", "linear"])
    assert result.exit_code == 1
    assert "forward raised KeyError" in result.output
    assert result.output.count("not checked") == 1
    assert "not checked, as an earlier call raised: output, inputs unchanged," in result.output
    assert "grad_b" in result.output.split("not checked")[1]


# --- honest mistakes are judged, never crash drill ----------------------------------------


def test_relu_returning_the_boolean_mask_is_failed_with_a_reason(tmp_path, bank):
    path = reference_with(tmp_path, {"return np.where(self.mask, x, 0.0)": "return self.mask"})
    result = one_result(path, bank, "relu")
    assert result.status == "failed"
    assert "True/False values; expected numbers" in failing(result)["output"].message


def test_integer_outputs_are_compared_and_named(tmp_path, bank):
    path = reference_with(
        tmp_path,
        {"return np.where(self.mask, x, 0.0)": "return np.where(self.mask, x, 0.0).astype(int)"},
    )
    result = one_result(path, bank, "relu")
    assert result.status == "failed"
    assert "holds integers, dtype int64" in failing(result)["output"].message


def test_a_float32_forward_with_a_correct_backward_is_lost_precision(tmp_path, bank):
    path = reference_with(
        tmp_path,
        {
            "self.out = np.tanh(x)\n        return self.out\n": (
                "self.out = np.tanh(x)\n        return self.out.astype(np.float32)\n"
            )
        },
    )
    result = one_result(path, bank, "tanh")
    assert result.status == "failed"
    messages = " ".join(c.message for c in failing(result).values())
    assert "lost precision" in messages and "float32" in messages
    assert "backward does not match your own forward" not in messages


@pytest.mark.parametrize(
    ("returned", "described"),
    [
        ("(x @ self.W + self.b).tolist()", "is a list; expected a NumPy array of shape (4, 5)"),
        ("(x @ self.W + self.b) + 0j", "is an array of dtype complex128; expected a NumPy array"),
    ],
)
def test_something_other_than_a_float_array_is_described(tmp_path, bank, returned, described):
    path = reference_with(tmp_path, {"return x @ self.W + self.b": f"return {returned}"})
    assert failing(one_result(path, bank, "linear"))["output"].message.startswith(described)


def test_a_0d_result_is_reported_with_its_real_shape(tmp_path, bank):
    path = reference_with(
        tmp_path, {"return 2.0 * (pred - target) / pred.size": "return np.array(1.0)"}
    )
    result = one_result(path, bank, "mse_loss_backward")
    assert result.status == "failed"
    assert "has shape (); expected" in failing(result)["grad_pred"].message


def test_a_memory_error_stops_the_exercise_at_once(tmp_path):
    """The first call allocates far beyond the cap; any later call would hang until killed."""
    hog = """
        _calls = []


        def _hog_then_hang():
            _calls.append(1)
            if len(_calls) == 1:
                return np.ones(1 << 40)
            while True:
                pass
    """
    path = reference_with(
        tmp_path, {"        self.x = x\n": "        self.x = x\n        _hog_then_hang()\n"}, hog
    )
    args = ["grade", str(path), "--only", "linear", "--json", "--memory", "512"]
    result = runner.invoke(app, [*args, "--timeout", "60"])
    (linear,) = json.loads(result.stdout)["exercises"]
    assert linear["status"] == "error"
    assert linear["message"].startswith("Linear used more than 512 MiB of memory")
    assert "case 1 of" in linear["message"]


# --- numbers in the report ------------------------------------------------------------------


def test_the_table_shows_enough_digits_to_see_the_difference():
    assert numbers_apart(11.62941, 11.62942) == ("11.62941", "11.62942")
    assert numbers_apart(1.0, 2.0) == ("1", "2")
    difference = compare(
        Observed("array", np.array([11.62951, 3.0])), Observed("array", np.array([11.6294, 3.0]))
    )
    ((index, obtained, expected),) = difference.rows
    assert index == "[0]" and obtained != expected


def test_negative_zero_prints_as_zero():
    assert number(-0.0) == "0"
    assert numbers_apart(-0.0, 1.0) == ("0", "1")


def test_a_scalar_is_not_shown_at_an_empty_index():
    difference = compare(Observed("number", 2.5), Observed("number", 2.0))
    assert "[]" not in difference.summary
    assert difference.summary.startswith("differs; relative difference 2.5e-01")
    ((index, obtained, expected),) = difference.rows
    assert (index, obtained, expected) == ("", "2.5", "2")


def test_element_counts_agree_in_number():
    one = compare(
        Observed("array", np.array([1.0, 5.0, 3.0])), Observed("array", np.array([1.0, 2.0, 3.0]))
    )
    assert one.summary.startswith("1 of 3 elements differs;")
    nan = compare(
        Observed("array", np.array([np.nan, 2.0])), Observed("array", np.array([1.0, 2.0]))
    )
    assert nan.summary == "1 of 2 elements is NaN (first at [0])"


# --- a scalar autograd engine written another way ---------------------------------------

MICROGRAD_STYLE = """
import math


class Value:
    def __init__(self, data, _parents=()):
        self.data = data
        self.grad = 0.0
        self._prev = set(_parents)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad {op} out.grad
            other.grad {op} out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad {op} other.data * out.grad
            other.grad {op} self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        out = Value(self.data**k, (self,))

        def _backward():
            self.grad {op} k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,))

        def _backward():
            self.grad {op} (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.grad {op} (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,))

        def _backward():
            self.grad {op} out.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
"""


def test_a_differently_written_value_engine_passes(tmp_path, bank):
    path = write(tmp_path, MICROGRAD_STYLE.replace("{op}", "+="))
    assert one_result(path, bank, "value").status == "passed"


def test_grad_assigned_is_named_for_every_input_whatever_the_traversal(tmp_path, bank):
    path = write(tmp_path, MICROGRAD_STYLE.replace("{op}", "="))
    result = one_result(path, bank, "value")
    assigned = next(m for m in bank.exercises["value"].mistakes if m.id == "grad-assigned")
    assert result.status == "failed"
    assert result.message == assigned.message
    wrong = failing(result)
    assert {"a.grad", "b.grad", "c.grad"} <= set(wrong)
    assert {check.mistake for check in wrong.values()} == {assigned.message}


def test_number_minus_value_computed_the_wrong_way_round_is_named(tmp_path, bank):
    source = MICROGRAD_STYLE.replace("{op}", "+=").replace(
        "return other + (-self)", "return self - other"
    )
    result = one_result(write(tmp_path, source), bank, "value")
    assert result.status == "failed"
    assert result.message.startswith("number − Value computes Value − number")


# --- findings whose wording the user relies on -----------------------------------------------


def test_an_input_modified_in_place_is_named_with_its_count(tmp_path, bank):
    path = reference_with(
        tmp_path, {"        self.x = x\n": "        self.x = x\n        x[0, 0] = 0.0\n"}
    )
    result = one_result(path, bank, "linear")
    check = failing(result)["inputs unchanged"]
    assert check.message == "forward modified x in place (1 of 12 elements changed); work on a copy"


def test_a_function_that_modifies_its_argument_is_named(tmp_path, bank):
    path = reference_with(
        tmp_path,
        {
            "    return 2.0 * (pred - target) / pred.size": (
                "    grad = 2.0 * (pred - target) / pred.size\n"
                "    target -= target\n"
                "    return grad"
            )
        },
    )
    check = failing(one_result(path, bank, "mse_loss_backward"))["inputs unchanged"]
    assert check.message.startswith("the call modified target in place (")
    assert check.message.endswith(" elements changed); work on a copy")


@pytest.mark.parametrize(("value", "word"), [("np.nan", "NaN"), ("-np.inf", "inf")])
def test_a_non_finite_output_is_counted_and_located(tmp_path, bank, value, word):
    path = reference_with(
        tmp_path,
        {
            "        return x @ self.W + self.b\n": (
                "        out = x @ self.W + self.b\n"
                f"        out[1, 2] = {value}\n"
                "        return out\n"
            )
        },
    )
    check = failing(one_result(path, bank, "linear"))["output"]
    assert check.message == f"1 of 20 elements is {word} (first at [1, 2])"


def test_a_wrong_return_structure_is_a_finding_of_its_own(tmp_path, bank):
    path = reference_with(tmp_path, {"    return dQ, dK, dV\n": "    return dQ, dK\n"})
    result = one_result(path, bank, "attention_backward")
    assert result.status == "failed"
    assert failing(result)["return value"].message == (
        "the return value has the wrong structure: expected a tuple of 3, got a tuple of 2"
    )


def test_a_list_where_a_dict_belongs_is_a_wrong_structure(tmp_path, bank):
    path = reference_with(
        tmp_path,
        {"    return float(loss), grads\n": "    return float(loss), list(grads.values())\n"},
    )
    result = one_result(path, bank, "two_layer_net")
    assert failing(result)["return value"].message == (
        "the return value[1] has the wrong structure: expected a dict, got a list of 4"
    )


# --- the time limit is per exercise ------------------------------------------------------------

SLOW_FIRST_CALLS = """

import functools as _functools
import time as _time


def _slow_first_call(function):
    calls = []

    @_functools.wraps(function)
    def wrapped(*args, **kwargs):
        if not calls:
            calls.append(1)
            _time.sleep(0.4)
        return function(*args, **kwargs)

    return wrapped


for _entry in (Linear, ReLU, Sigmoid, Tanh, BatchNorm, LayerNorm, Embedding):
    _entry.forward = _slow_first_call(_entry.forward)
softmax_cross_entropy_backward = _slow_first_call(softmax_cross_entropy_backward)
mse_loss_backward = _slow_first_call(mse_loss_backward)
softmax_backward = _slow_first_call(softmax_backward)
gradient_check = _slow_first_call(gradient_check)
numerical_gradient = _slow_first_call(numerical_gradient)
"""
SLOW_TWELVE = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "batchnorm",
    "layernorm",
    "embedding",
    "softmax_cross_entropy_backward",
    "mse_loss_backward",
    "softmax_backward",
    "gradient_check",
    "numerical_gradient",
]


def test_each_exercise_gets_the_whole_time_limit(tmp_path):
    """Twelve exercises of 0.4 s each: 4.8 s in all, each within 4 s (an 8x margin)."""
    path = write(tmp_path, REFERENCE.read_text() + SLOW_FIRST_CALLS)
    only = [option for exercise in SLOW_TWELVE for option in ("--only", exercise)]
    result = runner.invoke(app, ["grade", str(path), "--json", "--timeout", "4", *only])
    statuses = {e["id"]: e["status"] for e in json.loads(result.stdout)["exercises"]}
    assert statuses == dict.fromkeys(SLOW_TWELVE, "passed")
    assert result.exit_code == 0


@pytest.mark.parametrize(("dtype", "digits"), [(np.float16, 3), (np.float32, 7)])
def test_lost_precision_names_the_digits_of_its_own_float_type(dtype, digits):
    expected = np.linspace(1.0, 2.0, 12).reshape(3, 4) + 1e-4
    # As computed in that type: off by more than float64 rounding, within LOW_PRECISION_RTOL.
    obtained = (expected * (1 + 1e-5)).astype(dtype)
    difference = compare(Observed("array", obtained), Observed("array", expected))
    assert difference is not None
    assert f"your array is {np.dtype(dtype).name}, which keeps about {digits} digits" in (
        difference.summary
    )
