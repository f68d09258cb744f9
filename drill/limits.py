"""Limits on a submission's process, shared by the command line and the grader."""

from __future__ import annotations

import math

DEFAULT_TIMEOUT = 10.0  # seconds per exercise
DEFAULT_MEMORY_MB = 2048
TIMEOUT_RANGE = (0.1, 3600.0)  # seconds: a tenth of a second to an hour
MEMORY_RANGE_MB = (256, 1 << 20)  # MiB: enough for Python and NumPy, up to 1 TiB
# Set to 1: a submission gets one BLAS thread, and drill's own small arrays need no more
# (a thread a core only slows NumPy's start-up, tens of ms of CPU on every grade).
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class LimitError(ValueError):
    """A limit given on the command line that drill cannot use."""


def parse_timeout(text: str) -> float:
    """Seconds per exercise from the command line: a finite number within TIMEOUT_RANGE."""
    low, high = TIMEOUT_RANGE
    try:
        value = float(text)
    except ValueError:
        raise LimitError(f"--timeout takes a number of seconds, not {text[:20]!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise LimitError(f"--timeout must be between {low:g} and {high:g} seconds, not {text[:20]}")
    return value


def parse_memory(text: str) -> int:
    """The memory cap in MiB from the command line: a whole number within MEMORY_RANGE_MB."""
    low, high = MEMORY_RANGE_MB
    digits = text.strip()
    if not digits.isdigit() or not digits.isascii():
        raise LimitError(f"--memory takes a whole number of MiB, not {text[:20]!r}")
    if len(digits) > 8 or not low <= int(digits) <= high:
        raise LimitError(f"--memory must be between {low} and {high} MiB, not {text[:20]}")
    return int(digits)
