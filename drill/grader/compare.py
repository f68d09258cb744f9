"""Comparing what a submission produced with what was expected, as plain data.

Values arrive decoded from the worker's plain data as `Observed`. A comparison yields a
`Difference` (or None when they agree) with a one-line summary in the style of
"2 of 12 elements differ; max relative difference 3.1e-1 at [1, 2]" and a few rows of
obtained/expected values, printed with as many digits as it takes to tell them apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drill.grader.records import ValueKind
from drill.text import plural

# Correct variants (einsum, loops, np.where…) differ from the reference by rounding only.
RTOL = 1e-6
ATOL = 1e-9
# float32 keeps about 7 significant digits: agreement to this tolerance but not to RTOL is
# lost precision rather than a wrong formula.
LOW_PRECISION_RTOL = 1e-3
ROWS_SHOWN = 5


@dataclass(frozen=True)
class Observed:
    """One value a call produced: its kind, and its content when it has one."""

    kind: ValueKind
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
        }.get(self.kind, f"{_article(self.type_name)} {self.type_name}")


@dataclass(frozen=True)
class Difference:
    """How an obtained value departs from the expected one."""

    summary: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # index, obtained, expected


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in ("a", "e", "i", "o", "u") else "a"


def shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def number(value: float) -> str:
    """A number in six significant digits; a negative zero prints as 0."""
    return f"{value + 0.0:.6g}"


def numbers_apart(obtained: float, expected: float) -> tuple[str, str]:
    """Both numbers with the fewest digits (six at least) that show they differ."""
    for digits in range(6, 18):
        shown = f"{obtained + 0.0:.{digits}g}", f"{expected + 0.0:.{digits}g}"
        if shown[0] != shown[1]:
            return shown
    return shown


def is_low_precision(array: np.ndarray) -> bool:
    """Whether an array holds floats narrower than float64 (float32, float16)."""
    return array.dtype.kind == "f" and array.dtype.itemsize < 8


def significant_digits(dtype: np.dtype) -> int:
    """The decimal digits a float type keeps: 3 for float16, 7 for float32, 16 for float64."""
    return round(-math.log10(np.finfo(dtype).eps))


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
            obtained = Observed("array", obtained.value.reshape(()))
        elif obtained.kind == "number":
            obtained = Observed("array", np.array(obtained.value))
        else:
            return Difference(f"is {obtained.describe()}; expected a number")
        return _compare_arrays(obtained.value, np.array(expected.value))
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
            f"has shape {shape_text(obtained.shape)}; expected {shape_text(expected.shape)}"
        )
    if obtained.dtype.kind == "b" and expected.dtype.kind != "b":
        return Difference(
            "is an array of True/False values; expected numbers (a mask is not the result: "
            "multiply by it or use np.where)"
        )
    native = obtained
    obtained = obtained.astype(float)
    expected = expected.astype(float)
    finite = np.isfinite(expected)
    bad_finite = ~np.isfinite(obtained) & finite
    # np.isclose(rtol=RTOL, atol=ATOL, equal_nan=True), written out: it is called thousands
    # of times on small arrays, where np.isclose's own overhead dominates. The tolerance
    # applies to a finite expected value only (its bound would be inf otherwise); equal
    # infinities are close by ==.
    with np.errstate(invalid="ignore"):
        close = (
            (obtained == expected)
            | ((np.abs(obtained - expected) <= ATOL + RTOL * np.abs(expected)) & finite)
            | (np.isnan(obtained) & np.isnan(expected))
        )
    wrong = ~close
    if not wrong.any():
        return None
    count, total = int(wrong.sum()), obtained.size
    if bad_finite.any():
        what = "NaN" if np.isnan(obtained[bad_finite]).any() else "inf"
        bad = int(bad_finite.sum())
        verb = "is" if bad == 1 else "are"
        summary = f"{bad} of {plural(total, 'element')} {verb} {what}"
        if obtained.ndim:
            summary += f" (first at {index_text(np.argwhere(bad_finite)[0])})"
        return Difference(summary, _rows(obtained, expected, bad_finite))
    relative = np.abs(obtained - expected) / np.maximum(np.abs(expected), ATOL)
    relative = np.where(wrong, relative, 0.0)
    worst = np.unravel_index(int(np.argmax(relative)), relative.shape)
    if total == 1:
        summary = f"differs; relative difference {relative[worst]:.1e}"
    else:
        verb = "differs" if count == 1 else "differ"
        summary = (
            f"{count} of {plural(total, 'element')} {verb}; max relative difference "
            f"{relative[worst]:.1e} at {index_text(worst)}"
        )
    if is_low_precision(native) and np.allclose(
        obtained, expected, rtol=LOW_PRECISION_RTOL, atol=ATOL
    ):
        summary = (
            f"lost precision: your array is {native.dtype}, which keeps about "
            f"{significant_digits(native.dtype)} digits "
            f"({summary}); compute in float64"
        )
    elif native.dtype.kind in "iu":
        summary += f" (your array holds integers, dtype {native.dtype}; expected floats)"
    return Difference(summary, _rows(obtained, expected, wrong, relative))


def index_text(position: Any) -> str:
    return "[" + ", ".join(str(int(i)) for i in position) + "]"


def _rows(
    obtained: np.ndarray, expected: np.ndarray, mask: np.ndarray, order: np.ndarray | None = None
) -> list[tuple[str, str, str]]:
    """A few offending elements, the worst first when an order is given."""
    positions = [tuple(p) for p in np.argwhere(mask)]
    if order is not None:
        positions.sort(key=lambda p: -order[p])
    return [
        (index_text(p) if p else "", *numbers_apart(obtained[p], expected[p]))
        for p in positions[:ROWS_SHOWN]
    ]


def same(first: Observed, second: Observed) -> bool:
    """Whether two obtained values agree, used to recognise a known mistake."""
    if first.kind != second.kind:
        return False
    if first.kind == "array":
        return first.value.shape == second.value.shape and bool(
            np.allclose(
                first.value.astype(float),
                second.value.astype(float),
                rtol=RTOL,
                atol=ATOL,
                equal_nan=True,
            )
        )
    if first.kind == "number":
        return bool(np.isclose(first.value, second.value, rtol=RTOL, atol=ATOL, equal_nan=True))
    return first.value == second.value
