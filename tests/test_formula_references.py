"""Every formula question's reference, checked against central differences of a forward pass
written here independently of the bank (plain NumPy, no expressions from the YAML)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from drill.bank import load_bank
from drill.formula.judge import compute, generate, sizes_of

STEP = 1e-6
BANK = load_bank()
FORMULA_QUESTIONS = sorted(q.id for q in BANK.questions.values() if q.kind == "formula")

# For one data set: answer name → (a scalar function of one array, the point to take its
# gradient at). The reference expression must equal that gradient.
Probe = dict[str, tuple[Callable[[np.ndarray], float], np.ndarray]]


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def normalised(x: np.ndarray, axis: int) -> np.ndarray:
    mean = x.mean(axis=axis, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axis, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    return softmax(q @ k.T / np.sqrt(q.shape[1])) @ v


def probes(question_id: str, a: dict[str, np.ndarray]) -> Probe:
    n = a.get("X", a.get("Z", np.zeros(1))).shape[0]
    table: dict[str, Callable[[], Probe]] = {
        "formula-linear-dx": lambda: {"dX": (lambda x: np.sum(a["G"] * (x @ a["W"])), a["X"])},
        "formula-linear-dw": lambda: {"dW": (lambda w: np.sum(a["G"] * (a["X"] @ w)), a["W"])},
        "formula-linear-db": lambda: {
            "db": (lambda b: np.sum(a["G"] * (a["X"] @ a["W"] + b)), a["b"])
        },
        "formula-relu": lambda: {"dX": (lambda x: np.sum(a["G"] * np.maximum(x, 0)), a["X"])},
        "formula-sigmoid": lambda: {"dX": (lambda x: np.sum(a["G"] * sigmoid(x)), a["X"])},
        "formula-tanh": lambda: {"dX": (lambda x: np.sum(a["G"] * np.tanh(x)), a["X"])},
        "formula-softmax-jvp": lambda: {
            "dZ": (lambda z: np.sum(a["G"] * softmax(z)), np.log(a["P"]))
        },
        "formula-softmax-ce-summed": lambda: {
            "dZ": (lambda z: -np.sum(a["Y"] * np.log(softmax(z))), a["Z"])
        },
        "formula-softmax-ce-mean": lambda: {
            "dZ": (lambda z: -np.sum(a["Y"] * np.log(softmax(z))) / n, a["Z"])
        },
        "formula-mse": lambda: {"dP": (lambda p: np.mean((p - a["T"]) ** 2), a["P"])},
        "formula-batchnorm-params": lambda: {
            "dgamma": (
                lambda g: np.sum(a["G"] * g * normalised(a["X"], 0)),
                np.ones(a["X"].shape[1]),
            ),
            "dbeta": (
                lambda b: np.sum(a["G"] * (normalised(a["X"], 0) + b)),
                np.zeros(a["X"].shape[1]),
            ),
        },
        "formula-batchnorm-dx": lambda: {
            "dX": (lambda x: np.sum(a["G"] * a["gamma"] * normalised(x, 0)), a["X"])
        },
        "formula-layernorm-dx": lambda: {
            "dX": (lambda x: np.sum(a["G"] * a["gamma"] * normalised(x, 1)), a["X"])
        },
        "formula-attention-dv-dp": lambda: {
            "dV": (lambda v: np.sum(a["G"] * attention(a["Q"], a["K"], v)), a["V"]),
            "dP": (lambda p: np.sum(a["G"] * (p @ a["V"])), a["P"]),
        },
        "formula-attention-ds": lambda: {
            "dS": (lambda s: np.sum(a["dP"] * softmax(s)), np.log(a["P"]))
        },
        "formula-attention-dq-dk": lambda: {
            "dQ": (lambda q: np.sum(a["G"] * attention(q, a["K"], a["V"])), a["Q"]),
            "dK": (lambda k: np.sum(a["G"] * attention(a["Q"], k, a["V"])), a["K"]),
        },
        "formula-embedding": lambda: {
            "dW": (lambda w: np.sum(a["G"] * w[a["H"].argmax(axis=1)]), a["W"])
        },
        "formula-weight-decay": lambda: {
            "dW": (lambda w: np.sum(a["Gd"] * w) + a["lam"] / 2 * np.sum(w**2), a["W"])
        },
        "formula-sigmoid-bce": lambda: {
            "dZ": (
                lambda z: (
                    -np.mean(a["Y"] * np.log(sigmoid(z)) + (1 - a["Y"]) * np.log(1 - sigmoid(z)))
                ),
                a["Z"],
            )
        },
        "formula-dropout": lambda: {
            "dX": (lambda x: np.sum(a["G"] * x * a["M"] / (1 - a["p"])), a["X"])
        },
        "formula-linear-relu-dw": lambda: {
            "dW": (lambda w: np.sum(a["G"] * np.maximum(a["X"] @ w + a["b"], 0)), a["W"])
        },
        "formula-quadratic-form": lambda: {"dx": (lambda x: x @ a["A"] @ x, a["x"])},
        "formula-least-squares": lambda: {
            "dw": (lambda w: 0.5 * np.sum((a["X"] @ w - a["y"]) ** 2), a["w"])
        },
        "formula-mean-pool": lambda: {"dX": (lambda x: np.sum(a["G"] * x.mean(axis=1)), a["X"])},
        "formula-bias-broadcast": lambda: {"db": (lambda b: np.sum(a["G"] * (a["X"] + b)), a["b"])},
    }
    return table[question_id]()


def central_differences(f: Callable[[np.ndarray], float], point: np.ndarray) -> np.ndarray:
    point = np.array(point, dtype=float)
    gradient = np.zeros_like(point)
    for index in np.ndindex(*point.shape):
        step = np.zeros_like(point)
        step[index] = STEP
        gradient[index] = (f(point + step) - f(point - step)) / (2 * STEP)
    return gradient


def test_the_bank_has_at_least_twenty_formula_questions() -> None:
    assert len(FORMULA_QUESTIONS) >= 20


@pytest.mark.parametrize("question_id", FORMULA_QUESTIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_reference_matches_central_differences(question_id: str, seed: int) -> None:
    formula = BANK.questions[question_id].formula
    assert formula is not None
    arrays = generate(formula, question_id, seed)
    checks = probes(question_id, arrays)
    assert set(checks) == {answer.name for answer in formula.answers}
    for answer in formula.answers:
        f, point = checks[answer.name]
        expected = central_differences(f, point)
        obtained = compute(answer.reference, formula, arrays, sizes_of(formula))
        if question_id == "formula-relu":
            # At exactly 0 a difference straddles the kink; the prompt fixes the slope there at 0.
            kink = arrays["X"] == 0
            assert kink.any() and np.all(obtained[kink] == 0)
            expected = np.where(kink, 0.0, expected)
        assert obtained.shape == point.shape
        np.testing.assert_allclose(obtained, expected, rtol=1e-5, atol=1e-7)
