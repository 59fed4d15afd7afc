"""The sample points' times and owners (emgis.analysis._reach) against the numpy passes they
replaced, on random pieces with ties, unreached nodes (inf) and NaN."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emgis.analysis._reach import EITHER, FROM_START, TO_END, reach_owners, reach_times


def _numpy_times(best: np.ndarray, idx: np.ndarray, a: np.ndarray, b: np.ndarray,
                 fa: np.ndarray, tb: np.ndarray, nm: np.ndarray, how: int) -> None:
    if how == EITHER:
        t = np.minimum(nm[a] + fa, nm[b] + tb)
    elif how == TO_END:
        t = nm[b] + tb
    else:
        t = nm[a] + fa
    best[idx] = np.minimum(best[idx], t)


def _numpy_owners(best: np.ndarray, owner: np.ndarray, idx: np.ndarray, a: np.ndarray,
                  b: np.ndarray, fa: np.ndarray, tb: np.ndarray, nm: np.ndarray,
                  nu: np.ndarray, how: int) -> None:
    if how == EITHER:
        ta, tz = nm[a] + fa, nm[b] + tb
        t = np.minimum(ta, tz)
        o = np.where(ta <= tz, nu[a], nu[b])
    elif how == TO_END:
        t, o = nm[b] + tb, nu[b]
    else:
        t, o = nm[a] + fa, nu[a]
    better = t < best[idx]
    best[idx[better]] = t[better]
    owner[idx[better]] = o[better]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10**6), n_nodes=st.integers(1, 12), n_points=st.integers(0, 30),
       how=st.sampled_from([FROM_START, TO_END, EITHER]), sides=st.integers(1, 2))
def test_reach_is_the_numpy_pass_to_the_bit(seed: int, n_nodes: int, n_points: int,
                                            how: int, sides: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.array([0.0, 0.5, 1.0, 1.5, np.inf, np.nan])
    nm = rng.choice(values, n_nodes, p=[0.2, 0.2, 0.2, 0.2, 0.15, 0.05])
    nu = rng.integers(-1, 5, n_nodes)
    got_t = np.full(n_points, np.inf)
    want_t = got_t.copy()
    got_b, got_o = np.full(n_points, np.inf), np.full(n_points, -1, dtype=np.int64)
    want_b, want_o = got_b.copy(), got_o.copy()
    for _ in range(sides):  # a point on a piece of each side of its road
        idx = np.sort(rng.choice(n_points, rng.integers(0, n_points + 1), replace=False)) \
            if n_points else np.zeros(0, dtype=np.int64)
        a, b = rng.integers(0, n_nodes, len(idx)), rng.integers(0, n_nodes, len(idx))
        fa = rng.choice([0.0, 0.5, 1.0], len(idx))
        tb = rng.choice([0.0, 0.5, 1.0], len(idx))
        reach_times(got_t, idx, a, b, fa, tb, nm, how)
        _numpy_times(want_t, idx, a, b, fa, tb, nm, how)
        reach_owners(got_b, got_o, idx, a, b, fa, tb, nm, nu, how)
        _numpy_owners(want_b, want_o, idx, a, b, fa, tb, nm, nu, how)
    assert np.array_equal(got_t, want_t, equal_nan=True)
    assert np.array_equal(got_b, want_b, equal_nan=True)
    assert np.array_equal(got_o, want_o)
