"""Where a wrong array is wrong: |obtained − expected| per entry, as plain data for the report.

A 2-D result up to MAX_ROWS × MAX_COLS is kept whole, so a pattern shows at a glance: one
wrong column, a transposed block, only the border. A larger matrix is cut to the window
holding the most wrong entries; an array of more dimensions is cut into 2-D slices over its
last two axes, the slices with the most wrong entries first. A 1-D array is one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from drill.grader.compare import ATOL, RTOL

MAX_ROWS = 24
MAX_COLS = 48
MAX_PANELS = 4
# Results up to this many entries also carry their whole mask of wrong entries in --json.
MASK_LIMIT = MAX_ROWS * MAX_COLS


@dataclass
class Panel:
    """One 2-D piece of the array: which piece, and the error of each of its entries."""

    label: str  # e.g. "[1, :, :]", or "[0:24, 48:96]" for a window of a large matrix
    errors: list[list[float]]  # |obtained − expected|; inf where the submission gave NaN/inf
    wrong: list[list[bool]]  # outside the comparison's tolerance


@dataclass
class HeatMap:
    shape: tuple[int, ...]
    wrong_count: int
    largest: float  # the largest finite error, the top of the scale
    has_non_finite: bool  # the submission gave NaN or inf where a number was expected
    panels: list[Panel]
    slices_with_errors: int  # 2-D slices that hold a wrong entry; len(panels) may be fewer


def wrong_entries(obtained: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Bool array of expected's shape: True where the comparison's tolerance is exceeded."""
    return ~np.isclose(obtained, expected, rtol=RTOL, atol=ATOL, equal_nan=True)


def wrong_mask(obtained: np.ndarray, expected: np.ndarray) -> list | None:
    """The mask of wrong entries as nested lists, for results of at most MASK_LIMIT entries."""
    if obtained.shape != expected.shape or expected.ndim == 0 or expected.size > MASK_LIMIT:
        return None
    mask = wrong_entries(obtained.astype(float), expected.astype(float))
    return mask.tolist() if mask.any() else None


def heat_map(obtained: np.ndarray, expected: np.ndarray) -> HeatMap | None:
    """The picture of where obtained departs from expected (same shape, at least two entries).

    None when there is nothing to draw: different shapes, a scalar, or no wrong entry.
    """
    if obtained.shape != expected.shape or expected.size < 2:
        return None
    obtained, expected = obtained.astype(float), expected.astype(float)
    wrong = wrong_entries(obtained, expected)
    if not wrong.any():
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        errors = np.abs(obtained - expected)
    errors = np.where(np.isfinite(errors), errors, np.inf)
    finite = errors[np.isfinite(errors) & wrong]
    largest = float(finite.max()) if finite.size else 0.0

    # Every array as a stack of 2-D slices over its last two axes; a 1-D array is one row.
    matrix_shape = errors.shape[-2:] if errors.ndim >= 2 else (1, errors.shape[0])
    error_stack = errors.reshape(-1, *matrix_shape)
    wrong_stack = wrong.reshape(-1, *matrix_shape)
    leading = list(np.ndindex(*errors.shape[:-2]))
    counts = wrong_stack.reshape(len(leading), -1).sum(axis=1)
    chosen = sorted(np.argsort(-counts, kind="stable")[:MAX_PANELS])
    panels = [
        _panel(leading[i], error_stack[i], wrong_stack[i], errors.ndim)
        for i in chosen
        if counts[i] > 0
    ]
    return HeatMap(
        shape=tuple(expected.shape),
        wrong_count=int(wrong.sum()),
        largest=largest,
        has_non_finite=bool(np.isinf(errors[wrong]).any()),
        panels=panels,
        slices_with_errors=int(np.count_nonzero(counts)),
    )


def _panel(lead: tuple, errors: np.ndarray, wrong: np.ndarray, ndim: int) -> Panel:
    """One 2-D slice, cut to the MAX_ROWS × MAX_COLS window with the most wrong entries."""
    rows, cols = _window(wrong)
    parts = [str(i) for i in lead]
    if ndim >= 2:
        parts.append(_range_text(rows, wrong.shape[0]))
    parts.append(_range_text(cols, wrong.shape[1]))
    return Panel(
        label="[" + ", ".join(parts) + "]",
        errors=errors[rows, cols].tolist(),
        wrong=wrong[rows, cols].tolist(),
    )


def _window(wrong: np.ndarray) -> tuple[slice, slice]:
    """The aligned window of at most MAX_ROWS × MAX_COLS holding the most wrong entries."""
    height, width = wrong.shape
    starts = product(range(0, height, MAX_ROWS), range(0, width, MAX_COLS))
    best = max(
        starts,
        key=lambda start: (
            int(wrong[start[0] : start[0] + MAX_ROWS, start[1] : start[1] + MAX_COLS].sum()),
            -start[0],
            -start[1],
        ),
    )
    return slice(best[0], min(best[0] + MAX_ROWS, height)), slice(
        best[1], min(best[1] + MAX_COLS, width)
    )


def _range_text(part: slice, length: int) -> str:
    if part.start == 0 and part.stop == length:
        return ":"
    return f"{part.start}:{part.stop}"
