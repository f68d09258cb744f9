"""Figures that the bank states in words, recomputed independently.

Each test recomputes a number that a question's text states (a threshold, an extremum, a
ratio, the right option of a choice question) and checks that the text states the number it
computes, so an edit that breaks either the math or the sentence fails here.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from drill.bank import load_bank

EPS = 1e-6


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def prose(bank, question_id: str) -> str:
    """Every text field of a question on one line, with ASCII minus signs."""
    question = bank.questions[question_id]
    parts = [question.prompt, question.answer, *question.key_points, *question.hints]
    parts += question.options or []
    return re.sub(r"\s+", " ", " ".join(parts)).replace("\u2212", "-")


def option(bank, question_id: str, letter: str) -> str:
    question = bank.questions[question_id]
    return question.options[ord(letter) - ord("A")]


def normal_cdf(x: np.ndarray) -> np.ndarray:
    # erfc, so that the check does not share the reference's erf
    return np.vectorize(lambda v: 0.5 * math.erfc(-v / math.sqrt(2.0)))(x)


def gelu(x: np.ndarray) -> np.ndarray:
    return x * normal_cdf(x)


def swish(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def slope(f, x: np.ndarray) -> np.ndarray:
    return (f(x + EPS) - f(x - EPS)) / (2 * EPS)


GRID = np.linspace(-4.0, 4.0, 80001)  # steps of 1e-4


def test_gelu_minimum_and_slope_extremes(bank):
    values, slopes = gelu(GRID), slope(gelu, GRID)
    minimum = GRID[np.argmin(values)]
    low, high = np.argmin(slopes), np.argmax(slopes)
    assert f"{minimum:.2f}" == "-0.75"
    assert "negative for x below about -0.75" in prose(bank, "gelu-backward")
    assert "GELU near x ≈ -0.75" in prose(bank, "smooth-activation-derivatives")
    assert (f"{slopes[low]:.2f}", f"{slopes[high]:.2f}") == ("-0.13", "1.13")
    assert GRID[low] == pytest.approx(-math.sqrt(2), abs=1e-3)
    assert GRID[high] == pytest.approx(math.sqrt(2), abs=1e-3)
    text = prose(bank, "gelu-backward")
    assert "lowest slope about -0.13, at x = -√2" in text
    assert "about 1.13 at x = √2" in text


def test_gelu_tanh_form_gap(bank):
    tanh_form = 0.5 * GRID * (1 + np.tanh(math.sqrt(2 / math.pi) * (GRID + 0.044715 * GRID**3)))
    gap = float(np.max(np.abs(tanh_form - gelu(GRID))))
    assert f"{gap:.0e}" == "5e-04"
    assert "up to about 5·10⁻⁴ in the output" in prose(bank, "gelu-backward")


def test_swish_minimum_and_largest_slope(bank):
    minimum = GRID[np.argmin(swish(GRID))]
    slopes = slope(swish, GRID)
    peak = np.argmax(slopes)
    assert f"{minimum:.2f}" == "-1.28"
    assert "Swish has its minimum near x ≈ -1.28" in prose(bank, "smooth-activation-derivatives")
    assert (f"{slopes[peak]:.1f}", f"{GRID[peak]:.1f}") == ("1.1", "2.4")
    assert "about 1.1 at x = 2.4" in prose(bank, "swish-derivative-value")


def test_forget_gate_decay_over_twenty_steps(bank):
    unbiased, biased = 0.5**20, (1 / (1 + math.exp(-1))) ** 20
    assert f"{unbiased:.0e}" == "1e-06"
    assert f"{biased:.0e}" == "2e-03"
    assert round(biased / unbiased, -3) == 2000
    text = prose(bank, "forget-gate-bias")
    assert "0.5^20 ≈ 10⁻⁶" in text and "0.73^20 ≈ 2·10⁻³" in text
    assert "about two thousand times larger" in text


def first_saturation(dtype, logits: np.ndarray, target: float) -> float:
    """The first logit along `logits` where σ, rounded to `dtype`, equals `target`.

    exp is only taken of −|z|, so that the rounding of σ itself is seen, not an overflow.
    """
    e = np.exp(-np.abs(logits)).astype(dtype)
    one = dtype(1)
    probs = np.where(logits >= 0, one / (one + e), e / (one + e))
    return float(logits[np.argmax(probs == target)])


def test_sigmoid_rounding_thresholds(bank):
    to_one_64 = first_saturation(np.float64, np.arange(0.0, 60.0, 0.01), 1.0)
    to_zero_64 = first_saturation(np.float64, -np.arange(0.0, 800.0, 0.01), 0.0)
    to_one_32 = first_saturation(np.float32, np.arange(0.0, 30.0, 0.01), 1.0)
    assert (round(to_one_64), round(to_zero_64), round(to_one_32)) == (37, -745, 17)
    logits = prose(bank, "bce-with-logits-backward")
    assert "rounds to exactly 1 once z is above about 37 (and to 0 below about -745)" in logits
    assert "σ(z) rounds to exactly 1 for z above about 17" in prose(
        bank, "bce-with-logits-stability"
    )


def test_float16_loss_scaling_example(bank):
    scaled = np.float16(1e-8 * 2**16)
    assert np.float16(1e-8) == 0
    assert scaled >= np.finfo(np.float16).tiny
    assert f"{float(scaled):.1e}" == "6.6e-04"
    text = prose(bank, "fp16-smallest-gradient")
    assert "A gradient of 10⁻⁸ is below half of that" in text
    assert "loss scale of 2¹⁶ it becomes about 6.6·10⁻⁴" in text


def test_fan_out_choice(bank):
    def loss(x: float) -> float:
        a = 3 * x
        return a**2 + 2 * a

    gradient = (loss(1 + EPS) - loss(1 - EPS)) / (2 * EPS)
    question = bank.questions["fan-out-accumulation"]
    right = tuple(
        letter
        for letter, text in zip("ABCD", question.options)
        if float(text) == pytest.approx(gradient)
    )
    assert right == question.correct


def test_dropout_scale_choice(bank):
    keep = 1 - 0.2
    masks = np.random.default_rng(0).uniform(size=400_000) < keep
    # The factor that keeps the mean activation: 1 over the fraction kept.
    factor = 1 / masks.mean()
    assert factor == pytest.approx(1.25, abs=0.01)
    (letter,) = bank.questions["dropout-scaling-choice"].correct
    expected = "multiplied by 1.25 in training; identity at evaluation"
    assert option(bank, "dropout-scaling-choice", letter) == expected


SOFTPLUS_OPTIONS = {
    "1/(1 + eˣ)": lambda x: 1 / (1 + np.exp(x)),
    "σ(x) = 1/(1 + e^(−x))": lambda x: 1 / (1 + np.exp(-x)),
    "σ(x)(1 − σ(x))": lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2,
    "log(1 + e^(−x))": lambda x: np.log1p(np.exp(-x)),
}


def test_softplus_choice_has_exactly_one_right_option(bank):
    question = bank.questions["softplus-derivative"]
    assert set(question.options) == set(SOFTPLUS_OPTIONS)
    x = np.linspace(-5, 5, 101)
    derivative = slope(lambda v: np.log1p(np.exp(v)), x)
    right = tuple(
        letter
        for letter, text in zip("ABCD", question.options)
        if np.allclose(SOFTPLUS_OPTIONS[text](x), derivative, atol=1e-8)
    )
    assert right == question.correct
