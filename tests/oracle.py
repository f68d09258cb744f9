"""The independent oracle the reference tests share: central differences and a tolerance."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions" / "backprop.py"

# Analytic and central-difference gradients in float64 agree to about 1e-9 on these sizes;
# 1e-6 leaves room without letting a wrong factor or a missing term through.
TOL = 1e-6


def load_reference(name: str) -> ModuleType:
    """The reference module, loaded by path because solutions/ is not a package."""
    spec = importlib.util.spec_from_file_location(name, SOLUTIONS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def central_diff(loss: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """dL/dx by central differences, where loss() returns L and reads x.

    x is perturbed in place one element at a time and holds its original values on return.
    """
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        x[idx] = original + eps
        loss_plus = loss()
        x[idx] = original - eps
        loss_minus = loss()
        x[idx] = original
        grad[idx] = (loss_plus - loss_minus) / (2 * eps)
    return grad


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=TOL, atol=TOL)
