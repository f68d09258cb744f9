"""The grader's element-wise closeness is np.isclose's, on any floats (inf and NaN too)."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from drill.grader.compare import ATOL, RTOL, Observed, compare

# Values near one another as well as far apart, and every special float.
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.0, 1.0 + 1e-7, 1.0 + 1e-5, 1e-10, -1e-10, 2e-9]),
)


@given(
    hnp.arrays(np.float64, st.integers(1, 6), elements=FLOATS),
    hnp.arrays(np.float64, st.integers(1, 6), elements=FLOATS),
)
@example(np.array([0.0]), np.array([np.inf]))  # a tolerance scaled by inf covers everything
@example(np.array([np.inf]), np.array([np.inf]))
@example(np.array([-np.inf]), np.array([np.inf]))
@example(np.array([np.nan]), np.array([np.nan]))
@example(np.array([1.0]), np.array([np.nan]))
def test_an_array_passes_exactly_where_np_isclose_says_every_element_is_close(obtained, expected):
    if obtained.shape != expected.shape:
        obtained = np.resize(obtained, expected.shape)
    with np.errstate(all="ignore"):  # as the grader judges: a huge difference may overflow
        difference = compare(Observed("array", obtained), Observed("array", expected))
    close = np.isclose(obtained, expected, rtol=RTOL, atol=ATOL, equal_nan=True)
    assert (difference is None) == bool(close.all())
