"""Interpolation within edges (emgis.roads._interp, issue 27): each query searches its own
edge's vertices; the values are those of the pass over every vertex it replaced, kept here as
the oracle, on edges with repeated vertices, queries before and beyond an edge and missing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emgis.roads.edges import _interp


def _old(ptr: np.ndarray, xs: np.ndarray, ys: np.ndarray, e: np.ndarray, q: np.ndarray
         ) -> np.ndarray:
    if len(e) == 0:
        return np.zeros(0)
    span = xs[ptr[1:] - 1] - xs[ptr[:-1]]
    offset = np.concatenate([[0.0], np.cumsum(span + 1.0)[:-1]])
    edge_of = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    gx = xs + offset[edge_of]
    gq = q + offset[e]
    k = np.searchsorted(gx, gq, side="right") - 1
    k = np.clip(k, ptr[e], ptr[e + 1] - 2)
    x0, x1 = xs[k], xs[k + 1]
    w = np.divide(q - x0, x1 - x0, out=np.zeros(len(q)), where=x1 > x0)
    out: np.ndarray = ys[k] + np.clip(w, 0.0, 1.0) * (ys[k + 1] - ys[k])
    return out


@st.composite
def edges(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of 2-6 vertices: running metres and seconds from the start, some steps zero."""
    n = draw(st.integers(1, 6))
    ptr = [0]
    xs: list[float] = []
    ys: list[float] = []
    for _ in range(n):
        k = draw(st.integers(2, 6))
        dx = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 7.25, 100.0]), min_size=k - 1,
                           max_size=k - 1))
        dy = draw(st.lists(st.sampled_from([0.0, 0.1, 2.0, 9.5]), min_size=k - 1,
                           max_size=k - 1))
        xs += list(np.concatenate([[0.0], np.cumsum(dx)]))
        ys += list(np.concatenate([[0.0], np.cumsum(dy)]))
        ptr.append(ptr[-1] + k)
    return np.array(ptr), np.array(xs), np.array(ys)


@settings(max_examples=200, deadline=None)
@given(edges(), st.data())
def test_as_the_pass_over_every_vertex(net: tuple[np.ndarray, np.ndarray, np.ndarray],
                                       data: st.DataObject) -> None:
    ptr, xs, ys = net
    n = len(ptr) - 1
    e = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=12)), dtype=np.int64)
    q = np.array(data.draw(st.lists(st.sampled_from([-1.0, 0.0, 0.25, 0.5, 1.0, 3.0, 7.25,
                                                     50.0, 100.0, 500.0, 1e6]),
                                    min_size=len(e), max_size=len(e))))
    got = _interp(ptr, xs, ys, e, q)
    want = _old(ptr, xs, ys, e, q)
    assert got == pytest.approx(want, abs=1e-9)


def test_a_missing_query_gives_none_and_an_empty_one_nothing() -> None:
    ptr, xs, ys = np.array([0, 3]), np.array([0.0, 10.0, 20.0]), np.array([0.0, 1.0, 3.0])
    got = _interp(ptr, xs, ys, np.array([0, 0, 0]), np.array([np.nan, 15.0, 25.0]))
    assert np.isnan(got[0]) and got[1] == pytest.approx(2.0) and got[2] == pytest.approx(3.0)
    assert len(_interp(ptr, xs, ys, np.zeros(0, dtype=np.int64), np.zeros(0))) == 0
