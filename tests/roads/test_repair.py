"""Scenario searches repaired from the baseline's (emgis.roads._repair) against searches from
scratch on each scenario's graph: the same pairs, to the last bit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from emgis.roads.routing import RoutingGraph, pairs_within, pairs_within_each


def _graph(n: int, tail: np.ndarray, head: np.ndarray, w: np.ndarray,
           access: np.ndarray | None = None, n_off: int = 0) -> RoutingGraph:
    """A routing graph whose every node is a location (location i is node i), and ``n_off``
    locations off the network after them; arcs deduplicated to the fastest as
    build_routing_graph leaves them."""
    key = tail.astype(np.int64) * n + head
    order = np.lexsort((w, key))
    key, w = key[order], w[order]
    keep = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    key, w = key[keep], w[keep]
    rows, cols = key // n, key % n
    indptr = np.zeros(n + 1, dtype=np.int32)
    indptr[1:] = np.cumsum(np.bincount(rows, minlength=n))
    none = np.zeros(0, dtype=np.int64)
    return RoutingGraph(indptr=indptr, indices=cols.astype(np.int32),
                        weights=w.astype(np.float64), n_road=0, node_ids=none, edge_u=none,
                        edge_v=none, edge_w=np.zeros(0),
                        loc_node=np.r_[np.arange(n, dtype=np.int64), np.full(n_off, -1)],
                        loc_access=np.r_[np.zeros(n) if access is None else access,
                                         np.full(n_off, np.inf)])


def _arcs(g: RoutingGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.repeat(np.arange(g.n_nodes), np.diff(g.indptr)), g.indices.copy(),
            g.weights.copy())


def _scenario(base: RoutingGraph, rng: np.random.Generator, *, slow: float, close: float,
              add: float, faster: float) -> RoutingGraph:
    """The base graph with some arcs slowed, closed, made faster, and a few arcs added."""
    t, h, w = _arcs(base)
    u = rng.random(len(w))
    w = np.where(u < slow, w * rng.uniform(1.1, 4.0, len(w)), w)
    w = np.where((u >= slow) & (u < slow + faster), w * rng.uniform(0.3, 0.95, len(w)), w)
    keep = rng.random(len(w)) >= close
    t, h, w = t[keep], h[keep], w[keep]
    n_add = int(add * base.n_nodes)
    nt = rng.integers(0, base.n_nodes, n_add)
    nh = rng.integers(0, base.n_nodes, n_add)
    ok = nt != nh
    g = _graph(base.n_nodes, np.r_[t, nt[ok]], np.r_[h, nh[ok]],
               np.r_[w, rng.uniform(0.1, 9.0, n_add)[ok]])
    return RoutingGraph(**{**g.__dict__, "loc_node": base.loc_node,
                           "loc_access": base.loc_access})


def _random_base(rng: np.random.Generator, n: int, *, ties: bool = False,
                 n_off: int = 0) -> RoutingGraph:
    """A connected-ish random road graph: a ring of two-way roads and random chords, minutes
    with fractions so that sums round (or, with ``ties``, a few values, zero among them, so
    that many paths tie); ``n_off`` locations off the network."""
    ring = np.arange(n)
    t = np.r_[ring, (ring + 1) % n]
    h = np.r_[(ring + 1) % n, ring]
    m = 2 * n
    ct = rng.integers(0, n, m)
    ch = rng.integers(0, n, m)
    ok = ct != ch
    t = np.r_[t, ct[ok]]
    h = np.r_[h, ch[ok]]
    w = rng.choice([0.0, 0.25, 0.5, 1.0], len(t)) if ties else rng.uniform(0.05, 6.0,
                                                                          len(t)) / 3.0
    return _graph(n, t, h, w, n_off=n_off)


Pairs = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def _same(got: Pairs, want: Pairs) -> None:
    assert len(got) == len(want)
    for (gs, gt, gc), (ws, wt, wc) in zip(got, want, strict=True):
        assert np.array_equal(gs, ws)
        assert np.array_equal(gt, wt)
        assert np.array_equal(gc, wc)  # the same floating-point numbers, not near ones


def _each_alone(graphs: list[RoutingGraph], src: np.ndarray, limits: np.ndarray,
                tgt: np.ndarray, off: np.ndarray) -> Pairs:
    return [pairs_within(g, src, limits=limits[i], targets=tgt, offsets=off, workers=1)
            for i, g in enumerate(graphs)]


def test_a_slowed_arc_on_a_path_you_can_see() -> None:
    """0 -> 1 -> 2 -> 3 at 1 minute each, and 0 -> 3 at 5. Slowing 1 -> 2 to 4 minutes makes
    node 2 take 5 and node 3 take 5 (by the direct arc); closing 0 -> 1 leaves 1 and 2
    unreached and 3 at 5; nodes before the change keep their minutes."""
    base = _graph(4, np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3]),
                  np.array([1.0, 1.0, 1.0, 5.0]))
    slowed = _graph(4, np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3]),
                    np.array([1.0, 4.0, 1.0, 5.0]))
    closed = _graph(4, np.array([1, 2, 0]), np.array([2, 3, 3]), np.array([1.0, 1.0, 5.0]))
    got = pairs_within_each([base, slowed, closed], [0], limits=10.0, targets=[1, 2, 3])
    assert [dict(zip(t.tolist(), c.tolist(), strict=True)) for _, t, c in got] == [
        {0: 1.0, 1: 2.0, 2: 3.0}, {0: 1.0, 1: 5.0, 2: 5.0}, {2: 5.0}]


@pytest.mark.parametrize("share", [-1.0, 0.7, 1.0])
@settings(max_examples=60, deadline=None)
# no limit, and a target the scenario leaves unreached (it was once given as inf minutes)
@example(seed=5206162, n=42, n_src=1, n_scen=3, few=False, n_off=0, ties=False, again=False)
# off-network targets whose index runs past the count of target nodes (once written past
# the kernel's array)
@example(seed=5, n=40, n_src=3, n_scen=2, few=True, n_off=3, ties=False, again=True)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 60), n_src=st.integers(1, 6),
       n_scen=st.integers(1, 3), few=st.booleans(), n_off=st.integers(0, 3),
       ties=st.booleans(), again=st.booleans())
def test_repaired_pairs_equal_searches_from_scratch(share: float, seed: int, n: int,
                                                    n_src: int, n_scen: int, few: bool,
                                                    n_off: int, ties: bool, again: bool,
                                                    ) -> None:
    """Slowed, closed, faster and new arcs; limits that end searches early, sources not
    searched in a scenario, a few targets (the baseline stops once it has them all, leaving
    a frontier), targets off the network or listed twice, zero minutes and tied paths, every
    scenario repaired (share 1), none (-1) or as the kernel decides: the pairs are those of
    pairs_within on each graph."""
    rng = np.random.default_rng(seed)
    n_src = min(n_src, n)
    base = _random_base(rng, n, ties=ties, n_off=n_off)
    graphs = [base] + [_scenario(base, rng, slow=rng.uniform(0, 0.5),
                                 close=rng.uniform(0, 0.3), add=rng.uniform(0, 0.2),
                                 faster=rng.uniform(0, 0.2) * (k % 2))
                       for k in range(n_scen)]
    src = rng.choice(n, n_src, replace=False)
    tgt = rng.choice(n, 2 if few else n, replace=False)
    tgt = np.r_[np.arange(n, n + n_off), tgt]  # off-network targets first (their index
    if again:  # runs past the count of target nodes), and some targets twice
        tgt = np.r_[tgt, tgt[:2]]
    off = rng.uniform(0, 2, n_src)
    limits = rng.choice([1.0, 3.0, 8.0, np.inf], (len(graphs), n_src))
    limits[1:][rng.random((n_scen, n_src)) < 0.2] = -1.0
    want = _each_alone(graphs, src, limits, tgt, off)
    _same(pairs_within_each(graphs, src, limits=limits, targets=tgt, offsets=off,
                            workers=2, fresh_share=share), want)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_source_whose_access_moves_is_searched_anew(seed: int) -> None:
    """Where a scenario attaches a source or a target anew (another access leg), its start
    and the targets' totals follow that scenario's legs, as pairs_within's do."""
    rng = np.random.default_rng(seed)
    n = 30
    base = _random_base(rng, n)
    scen = _scenario(base, rng, slow=0.2, close=0.1, add=0.05, faster=0.0)
    access = np.where(rng.random(n) < 0.3, rng.uniform(0, 2, n), 0.0)
    moved = RoutingGraph(**{**scen.__dict__, "loc_access": access})
    src = rng.choice(n, 4, replace=False)
    tgt = np.arange(n)
    limits = np.full((2, 4), 6.0)
    off = np.zeros(4)
    _same(pairs_within_each([base, moved], src, limits=limits, targets=tgt, offsets=off),
          _each_alone([base, moved], src, limits, tgt, off))


def test_unchanged_scenario_gives_the_baseline() -> None:
    """A scenario that changes nothing gives the baseline's pairs."""
    rng = np.random.default_rng(7)
    base = _random_base(rng, 40)
    copy = _graph(40, *_arcs(base))
    got = pairs_within_each([base, copy], np.arange(5), limits=4.0, targets=np.arange(40))
    _same([got[1]], [got[0]])
    _same(got, _each_alone([base, copy], np.arange(5), np.full((2, 5), 4.0), np.arange(40),
                           np.zeros(5)))


def test_no_index_out_of_bounds(tmp_path: Path) -> None:
    """Compiled with numba's bounds checks (a fresh cache, in a process of its own), the kernel
    runs cases with off-network and repeated targets and every path of the repair without an
    index past an array's end (numba does not check by default: such a write once corrupted
    the heap silently)."""
    code = (
        "import numpy as np\n"
        "from tests.roads.test_repair import _random_base, _scenario, _each_alone, _same\n"
        "from emgis.roads.routing import pairs_within_each\n"
        "for seed in range(40):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    n = 40\n"
        "    base = _random_base(rng, n, ties=bool(seed % 2), n_off=3)\n"
        "    graphs = [base] + [_scenario(base, rng, slow=0.3, close=0.1, add=0.05,\n"
        "                                 faster=0.1 * k) for k in range(2)]\n"
        "    src = rng.choice(n, 3, replace=False)\n"
        "    tgt = np.r_[np.arange(n, n + 3), rng.choice(n, 2 if seed % 3 else n, replace=False)]\n"
        "    tgt = np.r_[tgt, tgt[:2]]\n"
        "    lim = rng.choice([1.0, 3.0, np.inf], (3, 3))\n"
        "    off = np.zeros(3)\n"
        "    for share in (-1.0, 0.7, 1.0):\n"
        "        _same(pairs_within_each(graphs, src, limits=lim, targets=tgt, offsets=off,\n"
        "                                workers=1, fresh_share=share),\n"
        "              _each_alone(graphs, src, lim, tgt, off))\n"
        "print('ok')\n")
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 40), ties=st.booleans(),
       slow=st.floats(0.0, 0.5), close=st.floats(0.0, 0.5), add=st.floats(0.0, 1.0),
       faster=st.floats(0.0, 0.5))
def test_arc_changes_are_each_arc_looked_up_in_the_other(seed: int, n: int, ties: bool,
                                                        slow: float, close: float,
                                                        add: float, faster: float) -> None:
    """arc_changes' row-by-row merge (emgis.roads._arcdiff) against the oracle it replaced:
    every arc's (tail * n + head) looked up in the other graph's sorted keys."""
    from emgis.roads.routing import arc_changes

    rng = np.random.default_rng(seed)
    base = _random_base(rng, n, ties=ties)
    other = _scenario(base, rng, slow=slow, close=close, add=add, faster=faster)
    if rng.random() < 0.2 and len(other.weights):  # NaN: neither slower nor faster
        other.weights[rng.integers(0, len(other.weights), 2)] = np.nan
    t0, h0, w0 = _arcs(base)
    t1, h1, w1 = _arcs(other)
    k0, k1 = t0.astype(np.int64) * n + h0, t1.astype(np.int64) * n + h1
    w_in1 = np.full(len(k0), np.inf)
    if len(k1):
        at = np.minimum(np.searchsorted(k1, k0), len(k1) - 1)
        same = k1[at] == k0
        w_in1[same] = w1[at[same]]
    want_slow = np.flatnonzero(~(w_in1 <= w0))
    fast = np.ones(len(k1), dtype=bool)
    if len(k0):
        back = np.minimum(np.searchsorted(k0, k1), len(k0) - 1)
        had = k0[back] == k1
        fast[had] = w1[had] < w0[back[had]]
    j = np.flatnonzero(fast)
    got = arc_changes(base, other)
    assert np.array_equal(got[0], want_slow)
    assert np.array_equal(got[1], w_in1[want_slow], equal_nan=True)
    assert np.array_equal(got[2], k1[j] // n)
    assert np.array_equal(got[3], k1[j] % n)
    assert np.array_equal(got[4], w1[j], equal_nan=True)
