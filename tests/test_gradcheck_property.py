"""Property tests of the grader's own gradient check, on random smooth layers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from drill.grader.checks import LayerCheck
from drill.grader.compare import Observed, compare
from drill.grader.judge import decode
from drill.grader.worker import Recorder, encode

CHECK = {
    "type": "layer",
    "init": ["W"],
    "input": "x",
    "grads": {"W": "grad_W"},
    "arrays": {"W": {"shape": ["D", "M"]}, "x": {"shape": ["N", "D"]}},
}


def smooth_layer(sine: float, square: float, gradient_error: float = 0.0):
    """forward = sine·sin(XW) + square·(XW)²; backward off by a factor (1 + gradient_error)."""

    class Smooth:
        def __init__(self, W):
            self.W = W

        def forward(self, x):
            self.x, self.h = x, x @ self.W
            return sine * np.sin(self.h) + square * self.h**2

        def backward(self, grad_output):
            local = grad_output * (sine * np.cos(self.h) + 2 * square * self.h)
            self.grad_W = (1 + gradient_error) * self.x.T @ local
            return local @ self.W.T

    return Smooth


def self_check(layer, sizes: dict[str, int], seed: int) -> list:
    """The gradient-check findings for `layer` on one generated case."""
    check = {**CHECK, "cases": [{"name": "random", **sizes}]}
    kind = LayerCheck()
    (case,) = kind.validate(check)
    plan = kind.plan(f"property-{seed}", check, case, layer)
    recorder = Recorder(None)
    kind.drive(layer, plan.call, plan.arrays, recorder)
    meta, arrays = encode(recorder.values, "p")
    verdicts = kind.verdicts(plan, decode({"values": meta}, arrays).values)
    return [verdict.difference for verdict in verdicts]


sizes = st.fixed_dictionaries(
    {"N": st.integers(1, 5), "D": st.integers(1, 5), "M": st.integers(1, 5)}
)
coefficient = st.floats(0.2, 3.0) | st.floats(-3.0, -0.2)


@settings(max_examples=40, deadline=None)
@given(sizes=sizes, sine=coefficient, square=coefficient, seed=st.integers(0, 10**6))
def test_a_correct_backward_always_passes(sizes, sine, square, seed):
    findings = self_check(smooth_layer(sine, square), sizes, seed)
    assert len(findings) == 2  # one directional check for x, one for W
    assert all(finding is None for finding in findings)


@settings(max_examples=40, deadline=None)
@given(
    sizes=sizes,
    sine=coefficient,
    square=coefficient,
    seed=st.integers(0, 10**6),
    error=st.floats(0.01, 1.0) | st.floats(-2.0, -0.01),
)
def test_a_scaled_weight_gradient_always_fails(sizes, sine, square, seed, error):
    findings = self_check(smooth_layer(sine, square, error), sizes, seed)
    input_finding, weight_finding = findings
    assert input_finding is None
    assert weight_finding is not None
    assert "backward does not match your own forward for grad_W" in weight_finding.summary


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    seed=st.integers(0, 10**6),
    scale=st.floats(1e-3, 1e3),
)
def test_rounding_noise_passes_and_a_real_difference_fails(shape, seed, scale):
    rng = np.random.default_rng(seed)
    expected = rng.normal(size=shape) * scale
    rounding = expected * (1 + rng.uniform(-1e-12, 1e-12, size=shape))
    assert compare(Observed("array", rounding), Observed("array", expected)) is None
    wrong = expected.copy()
    wrong.flat[rng.integers(expected.size)] += 1e-3 * scale + 1e-6
    difference = compare(Observed("array", wrong), Observed("array", expected))
    assert difference is not None
    if expected.size == 1:
        assert difference.summary.startswith("differs; relative difference")
    else:
        assert difference.summary.startswith(f"1 of {expected.size} elements differs;")
