"""Many-to-many times by a customizable contraction hierarchy (emgis.roads.hierarchy and its
kernels in emgis.roads._cch) against bounded Dijkstra searches on each graph."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from emgis.roads._cch import contract, nd_order_xy
from emgis.roads.hierarchy import pairs_within_cch
from emgis.roads.routing import RoutingGraph, pairs_within
from tests.roads.test_repair import _graph, _random_base, _scenario

Pairs = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def _as_dicts(pairs: Pairs) -> list[dict[tuple[int, int], float]]:
    return [{(int(a), int(b)): float(c) for a, b, c in zip(s, t, m, strict=True)}
            for s, t, m in pairs]


def test_a_path_you_can_see() -> None:
    """0 -> 1 -> 2 -> 3 at 1 minute each and 0 -> 3 at 5 (points on a line). Slowing 1 -> 2
    to 4 minutes makes node 2 take 5 and node 3 take 5 (by the direct arc); closing 0 -> 1
    leaves 1 and 2 unreached and 3 at 5; a limit of 2.5 keeps nodes 1 and 2 only."""
    base = _graph(4, np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3]),
                  np.array([1.0, 1.0, 1.0, 5.0]))
    slowed = _graph(4, np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3]),
                    np.array([1.0, 4.0, 1.0, 5.0]))
    closed = _graph(4, np.array([1, 2, 0]), np.array([2, 3, 3]), np.array([1.0, 1.0, 5.0]))
    xy = np.c_[np.arange(4.0), np.zeros(4)]
    got = pairs_within_cch([base, slowed, closed], [0], limits=10.0, targets=[1, 2, 3],
                           xy=xy)
    assert [dict(zip(t.tolist(), c.tolist(), strict=True)) for _, t, c in got] == [
        {0: 1.0, 1: 2.0, 2: 3.0}, {0: 1.0, 1: 5.0, 2: 5.0}, {2: 5.0}]
    near = pairs_within_cch([base], [0], limits=2.5, targets=[1, 2, 3], xy=xy)
    assert dict(zip(near[0][1].tolist(), near[0][2].tolist(), strict=True)) == {0: 1.0,
                                                                                 1: 2.0}


@settings(max_examples=80, deadline=None)
# a target off the network, and two blocks of sources (the sweep takes 32 at a time)
@example(seed=7, n=30, n_src=40, n_scen=2, n_off=2, ties=False, nan_xy=False, few=False)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 70), n_src=st.integers(1, 40),
       n_scen=st.integers(0, 3), n_off=st.integers(0, 3), ties=st.booleans(),
       nan_xy=st.booleans(), few=st.booleans())
def test_pairs_are_those_of_a_search_on_each_graph(seed: int, n: int, n_src: int,
                                                   n_scen: int, n_off: int, ties: bool,
                                                   nan_xy: bool, few: bool) -> None:
    """Slowed, closed, faster and new arcs in the scenarios, limits per graph and source
    (some sources not searched), offsets, access legs, locations off the network in some
    graphs only and with other access legs there, sources and targets listed twice, more
    sources than one sweep takes, zero minutes and tied paths, points missing: each graph's
    pairs are those pairs_within finds on it, their minutes within 1e-9 (the hierarchy sums
    the same paths in another grouping), but for pairs within 1e-9 of their limit, which may
    fall either side."""
    rng = np.random.default_rng(seed)
    base = _random_base(rng, n, ties=ties, n_off=n_off)
    access = np.r_[rng.choice([0.0, 0.3, 1.7], n), np.full(n_off, np.inf)]
    base = RoutingGraph(**{**base.__dict__, "loc_access": access})
    graphs = [base]
    for _ in range(n_scen):
        g = _scenario(base, rng, slow=rng.uniform(0, 0.5), close=rng.uniform(0, 0.3),
                      add=rng.uniform(0, 0.2), faster=rng.uniform(0, 0.2))
        off_here = rng.random(n + n_off) < 0.1
        moved = rng.random(n + n_off) < 0.1
        graphs.append(RoutingGraph(**{
            **g.__dict__, "loc_node": np.where(off_here, -1, g.loc_node),
            "loc_access": np.where(moved, g.loc_access + 0.4, g.loc_access)}))
    src = rng.choice(n + n_off, n_src, replace=True)
    off = rng.choice([0.0, 0.5, 2.0], n_src)
    limits = rng.choice([-1.0, 2.0, 5.0, 12.0, np.inf], (len(graphs), n_src))
    tgt = rng.choice(n + n_off, max(1, (n + n_off) // (4 if few else 1)), replace=True)
    xy = rng.uniform(0, 1000, (n, 2))
    if nan_xy:
        xy[rng.random(n) < 0.3] = np.nan
    got = _as_dicts(pairs_within_cch(graphs, src, limits=limits, targets=tgt, xy=xy,
                                     offsets=off))
    want = _as_dicts([pairs_within(g, src, limits=limits[i], targets=tgt, offsets=off,
                                   workers=1) for i, g in enumerate(graphs)])
    for i, (mine, theirs) in enumerate(zip(got, want, strict=True)):
        lim = limits[i]
        edge = {k for k, c in {**mine, **theirs}.items()
                if np.isfinite(lim[k[0]]) and abs(c - lim[k[0]]) <= 1e-9}
        assert set(mine) - edge == set(theirs) - edge
        for k in set(mine) & set(theirs):
            assert mine[k] == pytest.approx(theirs[k], abs=1e-9)


def test_graphs_of_other_nodes_are_searched_one_by_one() -> None:
    """A graph with another count of nodes cannot share the hierarchy: each graph is then
    searched alone, with the same pairs as pairs_within."""
    rng = np.random.default_rng(3)
    a = _random_base(rng, 20)
    b = _random_base(rng, 24)
    got = pairs_within_cch([a, b], [0, 5], limits=6.0, targets=np.arange(20), xy=np.zeros(
        (20, 2)))
    for g, (s, t, c) in zip([a, b], got, strict=True):
        ws, wt, wc = pairs_within(g, [0, 5], limits=6.0, targets=np.arange(20))
        assert np.array_equal(s, ws) and np.array_equal(t, wt) and np.array_equal(c, wc)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), leaf=st.sampled_from([1, 4, 32]))
def test_order_is_a_ranking_and_its_contraction_chordal(seed: int, n: int, leaf: int) -> None:
    """The nested dissection ranks every node once; in its contraction each node's upward
    neighbours but the lowest are upward neighbours of that lowest one (its parent), every
    original arc stands in it, and each list is sorted."""
    rng = np.random.default_rng(seed)
    g = _random_base(rng, n) if n > 2 else _graph(n, np.zeros(0, np.int64),
                                                  np.zeros(0, np.int64), np.zeros(0))
    t = np.repeat(np.arange(n), np.diff(g.indptr))
    h = g.indices.astype(np.int64)
    a, b = np.r_[t, h], np.r_[h, t]
    keep = a != b
    order = np.lexsort((b[keep], a[keep]))
    a, b = a[keep][order], b[keep][order]
    uptr = np.zeros(n + 1, dtype=np.int64)
    uptr[1:] = np.cumsum(np.bincount(a, minlength=n))
    xy = rng.uniform(0, 100, (n, 2))
    rank = nd_order_xy(uptr, b, xy[:, 0].copy(), xy[:, 1].copy(), leaf)
    assert np.array_equal(np.sort(rank), np.arange(n))
    ra, rb = rank[a], rank[b]
    low = ra < rb
    o = np.lexsort((rb[low], ra[low]))
    optr = np.zeros(n + 1, dtype=np.int64)
    optr[1:] = np.cumsum(np.bincount(ra[low], minlength=n))
    cptr, cidx, parent = contract(optr, rb[low][o])
    up = [cidx[cptr[v]:cptr[v + 1]] for v in range(n)]
    for v in range(n):
        assert np.all(np.diff(up[v]) > 0) and np.all(up[v] > v)
        if len(up[v]):
            assert parent[v] == up[v][0]
            assert set(up[v][1:].tolist()) <= set(up[parent[v]].tolist())
        else:
            assert parent[v] == -1
    for x, y in zip(ra[low].tolist(), rb[low].tolist(), strict=True):
        assert y in set(up[x].tolist())


@pytest.mark.parametrize(("lo", "hi", "u", "want"), [
    (0, 4, 9, 2), (0, 3, 12, -1), (1, 3, 5, -1), (0, 4, 12, 3), (2, 2, 9, -1), (0, 4, 6, -1)])
def test_an_arc_is_found_in_its_own_row_only(lo: int, hi: int, u: int, want: int) -> None:
    """A node looked for in one row of the upward lists is found there or not at all, never
    in the next row (rows [5, 7, 9] and [12] side by side)."""
    from emgis.roads._cch import _find

    assert _find(np.array([5, 7, 9, 12], dtype=np.int32), lo, hi, u) == want


def test_an_order_with_parts_of_one_node_ends() -> None:
    """Leaves of one node (or none asked for) still rank every node once."""
    uptr = np.array([0, 1, 2, 2], dtype=np.int64)
    uidx = np.array([1, 0], dtype=np.int64)
    for leaf in (0, 1):
        rank = nd_order_xy(uptr, uidx, np.zeros(3), np.zeros(3), leaf)
        assert sorted(rank.tolist()) == [0, 1, 2]
