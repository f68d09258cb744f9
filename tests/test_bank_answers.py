"""The bank's numeric answers, recomputed independently (central differences or a grid)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drill.bank import load_bank
from drill.grader.grade import grade

EPS = 1e-6


def central_difference(f, x: float) -> float:
    return (f(x + EPS) - f(x - EPS)) / (2 * EPS)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def max_sigmoid_slope() -> float:
    grid = np.linspace(-10, 10, 200001)
    return float(np.max((sigmoid(grid + EPS) - sigmoid(grid - EPS)) / (2 * EPS)))


def weight_after_decay_step() -> float:
    w, rate, decay = 2.0, 0.1, 0.01

    def total(v: float) -> float:
        return 0.5 * v + decay / 2 * v**2  # a data loss whose slope is 0.5, plus the decay term

    return w - rate * central_difference(total, w)


def smoothed_logit_gradient() -> float:
    classes, smoothing = 4, 0.1
    target = np.full(classes, smoothing / classes)
    target[0] += 1 - smoothing

    def loss(z0: float) -> float:
        z = np.array([z0, 0.0, 0.0, 0.0])
        return float(-np.sum(target * (z - np.log(np.sum(np.exp(z))))))

    return central_difference(loss, math.log(57))


def clipped_component() -> float:
    gradients = [np.array([3.0, 4.0]), np.array([12.0])]
    norm = math.sqrt(sum(float(np.sum(g**2)) for g in gradients))
    return 12.0 * min(1.0, 5.0 / norm)


def kaiming_std() -> float:
    fan_in = 64 * 3 * 3
    return math.sqrt(2.0 / fan_in)


def bce_logit_gradient() -> float:
    def loss(z: float) -> float:
        return -math.log(1 / (1 + math.exp(-z)))  # the label is 1

    return central_difference(loss, math.log(3))


def fp16_smallest_positive() -> float:
    return float(np.finfo(np.float16).smallest_subnormal)


def quadratic_form_second_component() -> float:
    A = np.array([[1.0, 2.0], [0.0, 3.0]])

    def f(x2: float) -> float:
        x = np.array([1.0, x2])
        return float(x @ A @ x)

    return central_difference(f, -1.0)


def micro_batch_factor() -> float:
    """The factor that makes 20 examples' mean contribute as they do to the mean over 40."""
    losses = np.random.default_rng(0).uniform(size=40)
    big = losses[20:]
    return float((big.sum() / losses.size) / big.mean())


def swish_slope() -> float:
    return central_difference(lambda x: x * sigmoid(x), math.log(3))


def transposed_conv_height() -> float:
    """Scatter each input row's 3-row window, 2 rows apart, then crop the padding."""
    rows_in, kernel, stride, padding = 4, 3, 2, 1
    covered = {i * stride + k for i in range(rows_in) for k in range(kernel)}
    return float(len(covered) - 2 * padding)


EXPECTED = {
    "sigmoid-max-slope": max_sigmoid_slope,
    "ten-sigmoid-layers": lambda: max_sigmoid_slope() ** 10,
    "weight-decay-gradient": weight_after_decay_step,
    "label-smoothing-gradient": smoothed_logit_gradient,
    "global-norm-clipping": clipped_component,
    "kaiming-init-std": kaiming_std,
    "bce-logit-gradient-value": bce_logit_gradient,
    "fp16-smallest-gradient": fp16_smallest_positive,
    "quadratic-form-gradient-value": quadratic_form_second_component,
    "micro-batch-loss-scale": micro_batch_factor,
    "swish-derivative-value": swish_slope,
    "transposed-conv-output-size": transposed_conv_height,
}


def test_every_numeric_question_is_covered():
    numeric = {q.id for q in load_bank().questions.values() if q.kind == "numeric"}
    assert numeric == set(EXPECTED)


@pytest.mark.parametrize("question_id", sorted(EXPECTED))
def test_numeric_answer_matches_an_independent_computation(question_id):
    question = load_bank().questions[question_id]
    computed = EXPECTED[question_id]()
    assert abs(computed - question.value) <= question.tolerance / 10, computed


# Company tags only where the seed sheet names them; every other tag had no source.
SOURCED_COMPANIES = {
    "explain-backprop": ("Google", "Meta", "Amazon"),
    "softmax-cross-entropy-gradient": ("Google",),
}


def test_company_tags_appear_only_where_they_are_sourced():
    tagged = {q.id: q.companies for q in load_bank().questions.values() if q.companies}
    assert tagged == SOURCED_COMPANIES


NAIVE_SIGMOID = """
import numpy as np


class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))  # exp(1000) overflows to inf; 1/inf is still 0
        return self.out

    def backward(self, grad_output):
        return grad_output * self.out * (1 - self.out)
"""


def test_sigmoid_prompt_agrees_with_its_checks(tmp_path):
    """The prompt says the grader compares values and cannot see an overflow warning: the
    naive 1 / (1 + exp(−x)) gives the right values at ±1000 and passes."""
    bank = load_bank()
    prompt = " ".join(bank.questions["sigmoid-backward"].prompt.split())
    assert "the grader compares values, so it cannot see a warning" in prompt
    solution = tmp_path / "naive.py"
    solution.write_text(NAIVE_SIGMOID, encoding="utf-8")
    (result,) = grade(solution, bank, [bank.exercises["sigmoid"]]).exercises
    assert result.status == "passed", result.message
