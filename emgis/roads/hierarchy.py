"""Many sources to many targets on graphs that share their nodes, by a customizable
contraction hierarchy (see :mod:`emgis.roads._cch`).

:func:`pairs_within_cch` answers what :func:`emgis.roads.routing.pairs_within` answers on
each graph, for searches that reach most of the graph: the what-if page of a kind whose
target covers most of a county (stockpiles at 60 minutes) searches the whole county from
every source on the baseline and on each scenario. The hierarchy's order and contraction are
made once for all the graphs; each graph then costs one customization and a heap-free sweep
per block of sources. Measured on the county's stockpile page graphs (83,515 nodes, four
graphs, 230 sources, one thread; ``python scripts/benchmark_hierarchy.py``): Dijkstra
searches 5.4 s, the hierarchy 1.7 s (order 0.15 s, a customization 0.24 s per graph, the
sweeps 0.43 s for all), the same 883,496 pairs; with all 1,800 sources 43.7 against 4.8 s.
On a grid-like county the contraction holds 14 times the road arcs; on real roads, with
their smaller cuts, it holds far fewer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from emgis._types import FloatArray, IntArray
from emgis.roads._cch import cch_pairs, contract, customize, downward, nd_order_xy, select
from emgis.roads._threads import cores, on_threads
from emgis.roads.routing import LIMIT_SLACK, RoutingGraph, pair_order, pairs_within

#: Largest part the nested dissection leaves uncut.
LEAF = 32

#: Sources swept together (the sweep's inner loop runs over them).
WIDTH = 32


def pairs_within_cch(graphs: Sequence[RoutingGraph], sources: npt.ArrayLike, *,
                     limits: npt.ArrayLike, targets: npt.ArrayLike, xy: npt.ArrayLike,
                     offsets: npt.ArrayLike | None = None, workers: int | None = None
                     ) -> list[tuple[IntArray, IntArray, FloatArray]]:
    """:func:`~emgis.roads.routing.pairs_within` on each of ``graphs`` at once.

    Parameters
    ----------
    graphs
        Routing graphs of the same nodes (a baseline and its scenarios); graphs of other
        nodes are searched one by one instead.
    sources, targets, offsets
        As for :func:`~emgis.roads.routing.pairs_within`, the same on every graph.
    limits
        Largest minutes per graph and source, shape ``(len(graphs), len(sources))`` (or
        what broadcasts to it); below 0 for no search.
    xy
        Metres (x, y) of each node, shape ``(n_nodes, 2)`` (NaN where a node has no point):
        the order is cut along them.

    Returns
    -------
    list of (source position, target position, minutes)
        One per graph, as :func:`~emgis.roads.routing.pairs_within` returns them. The
        minutes are the least over the same paths, summed in another grouping (they may
        differ from a search's in the last bits, and a pair within 1e-12 of its limit may
        fall on the other side of it).
    """

    src = np.asarray(sources, dtype=np.int64)
    tgt = np.asarray(targets, dtype=np.int64)
    lim = np.broadcast_to(np.asarray(limits, dtype=float), (len(graphs), len(src))).copy()
    if not graphs:
        return []
    n = graphs[0].n_nodes
    if any(g.n_nodes != n for g in graphs):
        return [pairs_within(g, src, limits=lim[i], targets=tgt, offsets=offsets,
                             workers=workers) for i, g in enumerate(graphs)]
    off = np.zeros(len(src)) if offsets is None else np.asarray(offsets, dtype=float)
    pts = np.asarray(xy, dtype=float).reshape(n, 2).copy()
    # a node without a point (a location off the roads: no arcs) stands at the points' mean,
    # where it leans no cut to one side
    missing = ~np.isfinite(pts).all(axis=1)
    pts[missing] = pts[~missing].mean(axis=0) if (~missing).any() else 0.0
    tails = [np.repeat(np.arange(n, dtype=np.int64), np.diff(g.indptr)) for g in graphs]
    # the order and the contraction, from every graph's arcs at once
    a = np.concatenate(tails)
    b = np.concatenate([g.indices for g in graphs]).astype(np.int64)
    und = sp.csr_matrix((np.ones(2 * len(a), dtype=bool),
                         (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))
    und.sum_duplicates()
    und.sort_indices()
    uptr = und.indptr.astype(np.int64)
    uidx = und.indices.astype(np.int64)
    rank = nd_order_xy(uptr, uidx, np.ascontiguousarray(pts[:, 0]),
                       np.ascontiguousarray(pts[:, 1]), LEAF)
    ra = rank[np.repeat(np.arange(n, dtype=np.int64), np.diff(uptr))]
    rb = rank[uidx]
    low = ra < rb
    upward = sp.csr_matrix((np.ones(int(low.sum()), dtype=bool), (ra[low], rb[low])),
                           shape=(n, n))
    upward.sum_duplicates()
    cptr, cidx, parent = contract(upward.indptr.astype(np.int64),
                                  upward.indices.astype(np.int64))
    dptr, darc, dend = downward(cptr, cidx)
    # the targets as each graph's search reaches them: one per node, the last one there
    tplaces = []
    of_node = []
    for g in graphs:
        target_of_node = np.full(n, -1, dtype=np.int64)
        tnode = g.loc_node[tgt]
        on = tnode >= 0
        target_of_node[tnode[on]] = np.flatnonzero(on)
        of_node.append(target_of_node)
    kept = np.flatnonzero(np.any(np.stack(of_node) >= 0, axis=0))
    _, place, sw_ptr, sw_from, sw_arc = select(cptr, cidx, parent, rank[kept])
    for target_of_node in of_node:
        at = np.flatnonzero(target_of_node >= 0)
        tplace = np.full(len(tgt), -1, dtype=np.int64)
        tplace[target_of_node[at]] = place[rank[at]]
        tplaces.append(tplace)
    workers = workers or cores()

    def one(i: int) -> tuple[IntArray, IntArray, FloatArray]:
        g = graphs[i]
        up, down = customize(cptr, cidx, dptr, darc, dend, rank[tails[i]],
                             rank[g.indices.astype(np.int64)], g.weights.astype(np.float64))
        start = off + g.loc_access[src]
        snode = g.loc_node[src]
        ok = (snode >= 0) & np.isfinite(start) & (start <= lim[i])
        s_rank = np.where(ok, rank[np.where(snode >= 0, snode, 0)], -1)
        with np.errstate(invalid="ignore"):  # inf - inf where not searched anyway
            path_lim = np.where(ok, lim[i] - start + LIMIT_SLACK, -1.0)
        sw_w = down[sw_arc]
        del down  # the sweep's arcs' down minutes are all it needs of them
        s, t, c = cch_pairs(cptr, cidx, parent, up, place, sw_ptr, sw_from, sw_w, s_rank,
                            path_lim, tplaces[i], WIDTH)
        total = c + start[s] + g.loc_access[tgt[t]]
        keep = total <= lim[i][s] + LIMIT_SLACK
        s, t, total = s[keep], t[keep], total[keep]
        order = pair_order(s, t, len(tgt))
        return s[order], t[order], total[order]

    return on_threads(one, range(len(graphs)), workers)
