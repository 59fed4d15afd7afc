"""The paths of origins to their destinations (emgis.roads._paths, route_lines' search)
against scipy's Dijkstra with predecessors, the search it replaced."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from emgis.roads._paths import paths_to


def _graph(rng: np.random.Generator, n: int, ties: bool) -> sp.csr_matrix:
    """A random directed graph of ``n`` nodes, one arc per pair, minutes > 0 (a few values
    with ``ties``, so that many paths cost the same)."""
    m = 3 * n
    t, h = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.choice([0.5, 1.0, 2.0], m) if ties else rng.uniform(0.01, 5.0, m)
    ok = t != h
    g = sp.csr_matrix((w[ok], (t[ok], h[ok])), shape=(n, n))  # repeats summed: one arc
    g.sort_indices()
    return g


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 40), ties=st.booleans(),
       n_dest=st.integers(0, 4), lim=st.sampled_from([0.0, 1.5, 4.0, np.inf]))
def test_paths_are_scipys_shortest_paths(seed: int, n: int, ties: bool, n_dest: int,
                                        lim: float) -> None:
    rng = np.random.default_rng(seed)
    g = _graph(rng, n, ties)
    dests = rng.integers(-1, n, n_dest)  # -1: a destination off the network
    origins = [rng.integers(-1, n, rng.integers(0, 6)) for _ in range(n_dest)]
    optr = np.cumsum([0] + [len(o) for o in origins]).astype(np.int64)
    onodes = np.concatenate(origins).astype(np.int64) if origins else np.zeros(0, np.int64)
    sptr, steps, found = paths_to(g.indptr, g.indices, g.data, dests.astype(np.int64),
                                  np.full(n_dest, lim), optr, onodes)
    assert len(sptr) == len(onodes) + 1
    for k, d in enumerate(dests):
        if d >= 0:
            dist, pred = dijkstra(g, indices=int(d), limit=lim, return_predecessors=True)
        for i in range(optr[k], optr[k + 1]):
            o = onodes[i]
            path = steps[sptr[i]:sptr[i + 1]]
            reached = d >= 0 and o >= 0 and (o == d or pred[o] >= 0)
            assert found[i] == reached
            if not reached:
                assert len(path) == 0
                continue
            assert path[0] == o and path[-1] == d
            cost = 0.0  # summed from the destination outwards, as the search sums
            for a, b in zip(path[::-1][:-1], path[::-1][1:], strict=True):
                assert g[a, b] > 0  # an arc of the graph
                cost += g[a, b]
            assert cost == dist[o]  # a fastest path, to the bit
            if not ties:  # no equal costs: scipy's very path
                want = [o]
                while want[-1] != d:
                    want.append(int(pred[want[-1]]))
                assert path.tolist() == want
