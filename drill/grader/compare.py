"""Comparing what a submission produced with what was expected, as plain data.

Values arrive decoded from the worker's plain data as `Observed`. A comparison yields a
`Difference` (or None when they agree) with a one-line summary in the style of
"2 of 12 elements differ; max relative difference 3.1e-1 at [1, 2]" and a few rows of
obtained/expected values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Correct variants (einsum, loops, np.where…) differ from the reference by rounding only.
RTOL = 1e-6
ATOL = 1e-9
ROWS_SHOWN = 5


@dataclass(frozen=True)
class Observed:
    """One value a call produced: its kind, and its content when it has one."""

    kind: str  # array | number | bool | none | missing | text | object
    value: Any = None
    type_name: str = ""

    def describe(self) -> str:
        if self.kind == "array":
            return f"an array of shape {shape_text(self.value.shape)}"
        return {
            "number": f"the number {self.value!r}",
            "bool": f"the bool {self.value!r}",
            "none": "None",
            "missing": "nothing (it was never set)",
            "text": f"text ({self.value})",
        }.get(self.kind, f"a {self.type_name}")


@dataclass(frozen=True)
class Difference:
    """How an obtained value departs from the expected one."""

    summary: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # index, obtained, expected
    shape_mismatch: bool = False


def shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def number(value: float) -> str:
    return f"{value:.6g}"


def compare(obtained: Observed, expected: Observed) -> Difference | None:
    """None when `obtained` matches `expected` within tolerance; else what differs."""
    if expected.kind == "bool":
        if obtained.kind != "bool":
            return Difference(f"returned {obtained.describe()}; expected a bool (True or False)")
        if obtained.value != expected.value:
            return Difference(f"returned {obtained.value}; expected {expected.value}")
        return None
    if expected.kind == "number":
        if obtained.kind == "array" and obtained.value.size == 1:
            obtained = Observed("number", float(obtained.value.reshape(())))
        if obtained.kind != "number":
            return Difference(f"is {obtained.describe()}; expected a number")
        return _compare_arrays(np.array(obtained.value), np.array(expected.value))
    if expected.kind == "array":
        if obtained.kind != "array":
            expected_shape = shape_text(expected.value.shape)
            return Difference(
                f"is {obtained.describe()}; expected a NumPy array of shape {expected_shape}"
            )
        return _compare_arrays(obtained.value, expected.value)
    if obtained.kind != expected.kind:
        return Difference(f"is {obtained.describe()}; expected {expected.describe()}")
    return None


def _compare_arrays(obtained: np.ndarray, expected: np.ndarray) -> Difference | None:
    if obtained.shape != expected.shape:
        return Difference(
            f"has shape {shape_text(obtained.shape)}; expected {shape_text(expected.shape)}",
            shape_mismatch=True,
        )
    obtained = obtained.astype(float)
    expected = expected.astype(float)
    bad_finite = ~np.isfinite(obtained) & np.isfinite(expected)
    close = np.isclose(obtained, expected, rtol=RTOL, atol=ATOL, equal_nan=True)
    wrong = ~close
    if not wrong.any():
        return None
    count, total = int(wrong.sum()), obtained.size
    if bad_finite.any():
        where = index_text(np.argwhere(bad_finite)[0])
        what = "NaN" if np.isnan(obtained[bad_finite]).any() else "inf"
        summary = f"{int(bad_finite.sum())} of {total} elements are {what} (first at {where})"
        return Difference(summary, _rows(obtained, expected, bad_finite))
    relative = np.abs(obtained - expected) / np.maximum(np.abs(expected), ATOL)
    relative = np.where(wrong, relative, 0.0)
    worst = np.unravel_index(int(np.argmax(relative)), relative.shape)
    summary = (
        f"{count} of {total} elements differ; max relative difference "
        f"{relative[worst]:.1e} at {index_text(worst)}"
    )
    return Difference(summary, _rows(obtained, expected, wrong, relative))


def index_text(position: Any) -> str:
    return "[" + ", ".join(str(int(i)) for i in position) + "]"


def _rows(
    obtained: np.ndarray, expected: np.ndarray, mask: np.ndarray, order: np.ndarray | None = None
) -> list[tuple[str, str, str]]:
    """A few offending elements, the worst first when an order is given."""
    positions = np.argwhere(mask)
    if order is not None:
        positions = sorted(positions, key=lambda p: -order[tuple(p)])
    rows = []
    for position in positions[:ROWS_SHOWN]:
        key = tuple(position)
        rows.append((index_text(key), number(obtained[key]), number(expected[key])))
    return rows


def same(first: Observed, second: Observed) -> bool:
    """Whether two obtained values agree, used to recognise a known mistake."""
    if first.kind != second.kind:
        return False
    if first.kind == "array":
        return first.value.shape == second.value.shape and bool(
            np.allclose(first.value, second.value, rtol=RTOL, atol=ATOL, equal_nan=True)
        )
    if first.kind == "number":
        return bool(np.isclose(first.value, second.value, rtol=RTOL, atol=ATOL, equal_nan=True))
    return first.value == second.value
