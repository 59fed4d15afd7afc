"""emgis._arrays.ranges: runs of consecutive integers, against the loop it replaces."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from emgis._arrays import ranges


@given(st.lists(st.tuples(st.integers(-50, 10**9), st.integers(0, 6)), max_size=30))
def test_runs_of_consecutive_integers(runs: list[tuple[int, int]]) -> None:
    starts = np.array([s for s, _ in runs], dtype=np.int64)
    counts = np.array([c for _, c in runs], dtype=np.int64)
    want = np.concatenate([np.arange(s, s + c, dtype=np.int64) for s, c in runs]) \
        if runs else np.zeros(0, dtype=np.int64)
    got = ranges(starts, counts)
    assert got.dtype == np.int64 and np.array_equal(got, want)
