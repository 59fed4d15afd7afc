"""Compiled kernels: the two nearest distinct sources of every node on a scenario graph,
repaired from a baseline's (:mod:`emgis.roads._top2`) instead of searched anew.

A scenario closes or slows arcs of the baseline, may add or speed up a few (a location
attached anew to another road) and may take sources away or start them elsewhere. A node's
two labels stay what they were unless a path through one of those *changes* could cost at
most its second label: any path through a change costs at least the change's *seed* (the
least baseline cost of the arc's tail plus the arc, or the source's start) plus the least
minutes from there on over the arcs of both graphs. :func:`changed_reach` runs that one
search, from every change at once, and marks the nodes it reaches within their second
label; it goes no further from a node it reaches beyond it (what lies behind that node
keeps its labels too, as the module's tests check on random graphs). Outside the marked
nodes the baseline's labels are exact for the scenario; :func:`top2_repair` searches again
only the marked nodes, from the labels of their unmarked neighbours and from the sources
standing among them.

The costs are the same floating-point numbers a search from scratch gives (the same sums
along the same paths); where two sources tie exactly, the one kept may differ. The flood
and fire scenarios of a province change the labels of a few per cent of its nodes: the
repair walks those and their neighbours instead of the whole graph per kind.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emgis.roads._heap import OUT, SETTLED, heap_pop, heap_set
from emgis.roads._top2 import _down, _offer, _up

#: Relative slack on the test "within its second label" (a sum over another grouping may
#: differ in its last bits; a node marked needlessly is only searched again).
SLACK = 1e-9


@njit(cache=True, nogil=True)
def changed_reach(indptr0, indices0, w0, indptr1, indices1, w1, seed_nodes, seed_costs,  # type: ignore[no-untyped-def]
                  second, limit):
    """The nodes whose labels a scenario's changes may alter.

    Parameters
    ----------
    indptr0, indices0, w0, indptr1, indices1, w1
        The baseline's and the scenario's CSR arrays (the same nodes); the search runs over
        the arcs of both.
    seed_nodes, seed_costs
        Where each change takes effect and the least cost of a path through it there.
    second
        Each node's second label in the baseline (``inf`` where none).
    limit
        Labels beyond this cost are not kept.

    Returns
    -------
    numpy.ndarray of bool
        Per node: reached through a change within its second label (and the limit).
    """
    n = indptr0.shape[0] - 1
    dist = np.full(n, np.inf)
    pos = np.full(n, OUT, dtype=np.int32)
    hd = np.empty(n)
    hn = np.empty(n, dtype=np.int32)
    inside = np.zeros(n, dtype=np.bool_)
    size = 0
    for i in range(seed_nodes.shape[0]):
        x = seed_nodes[i]
        c = seed_costs[i]
        if c < dist[x]:
            dist[x] = c
            size = heap_set(hd, hn, pos, size, c, x, pos[x])
    while size > 0:
        d, x, size = heap_pop(hd, hn, pos, size)
        b = second[x]
        if d > limit or d > b + SLACK * (1.0 + abs(b)):
            continue  # its labels stand, and so do those found only through it
        inside[x] = True
        for j in range(indptr0[x], indptr0[x + 1]):
            y = indices0[j]
            nd = d + w0[j]
            if nd < dist[y] and pos[y] != SETTLED:
                dist[y] = nd
                size = heap_set(hd, hn, pos, size, nd, y, pos[y])
        for j in range(indptr1[x], indptr1[x + 1]):
            y = indices1[j]
            nd = d + w1[j]
            if nd < dist[y] and pos[y] != SETTLED:
                dist[y] = nd
                size = heap_set(hd, hn, pos, size, nd, y, pos[y])
    return inside


@njit(cache=True, nogil=True, inline="always")
def _push(hd, hk, size, cap, c, k):  # type: ignore[no-untyped-def]
    """Put key ``k`` at cost ``c`` in the heap (grown when full); returns the heap's arrays,
    size and capacity. (:func:`~emgis.roads._top2.top2_dijkstra` keeps this inline: a
    shared push returning its arrays made the whole-graph search 10% slower.)"""
    if size >= cap:
        cap *= 2
        a = np.empty(cap)
        b = np.empty(cap, dtype=np.int64)
        a[:size] = hd[:size]
        b[:size] = hk[:size]
        hd, hk = a, b
    hd[size] = c
    hk[size] = k
    _up(hd, hk, size)
    return hd, hk, size + 1, cap


@njit(cache=True, nogil=True)
def top2_repair(indptr, indices, weights, inside, d1, s1, d2, s2, seed_nodes, seed_costs,  # type: ignore[no-untyped-def]
                seed_sources, limit):
    """:func:`emgis.roads._top2.top2_dijkstra` on a scenario graph, from the baseline's labels.

    Parameters
    ----------
    indptr, indices, weights
        The scenario's CSR arrays.
    inside
        :func:`changed_reach`'s nodes: searched again; every other node keeps its labels.
    d1, s1, d2, s2
        The baseline's labels, their sources as the scenario's source ids (not changed).
    seed_nodes, seed_costs, seed_sources, limit
        As for :func:`~emgis.roads._top2.top2_dijkstra`, on the scenario.

    Returns
    -------
    d1, s1, d2, s2
        As :func:`~emgis.roads._top2.top2_dijkstra` returns them on the scenario graph.
    """
    n = indptr.shape[0] - 1
    o1 = d1.copy()
    o2 = d2.copy()
    u1 = s1.astype(np.int64)
    u2 = s2.astype(np.int64)
    cnt = np.full(n, 2, dtype=np.int8)
    st = np.empty((n, 3))
    n_in = 0
    for x in range(n):
        if inside[x]:
            o1[x] = np.inf
            o2[x] = np.inf
            u1[x] = -1
            u2[x] = -1
            cnt[x] = 0
            st[x, 0] = np.inf
            st[x, 1] = -1.0
            st[x, 2] = np.inf
            n_in += 1
    cap = max(16, 2 * n_in + seed_nodes.shape[0])
    hd = np.empty(cap)
    hk = np.empty(cap, dtype=np.int64)
    size = 0
    shift = 32
    mask = (1 << shift) - 1
    for i in range(seed_nodes.shape[0]):
        x = seed_nodes[i]
        c0 = seed_costs[i]
        if c0 > limit or not inside[x]:
            continue
        s = seed_sources[i]
        if _offer(st, x, c0, float(s)):
            hd, hk, size, cap = _push(hd, hk, size, cap, c0, (s << shift) | x)
    # the labels coming in from the nodes that keep theirs
    for y in range(n):
        if inside[y]:
            continue
        for lab in range(2):
            s = u1[y] if lab == 0 else u2[y]
            if s < 0:
                continue
            c = o1[y] if lab == 0 else o2[y]
            fs = float(s)
            for j in range(indptr[y], indptr[y + 1]):
                x = indices[j]
                if not inside[x]:
                    continue
                nd = c + weights[j]
                if nd > limit:
                    continue
                if _offer(st, x, nd, fs):
                    hd, hk, size, cap = _push(hd, hk, size, cap, nd, (s << shift) | x)
    while size > 0:
        d = hd[0]
        k = hk[0]
        size -= 1
        if size > 0:
            hd[0] = hd[size]
            hk[0] = hk[size]
            _down(hd, hk, size)
        x = k & mask
        s = k >> shift
        c = cnt[x]
        if c == 2 or (c == 1 and u1[x] == s):
            continue
        if c == 0:
            o1[x] = d
            u1[x] = s
        else:
            o2[x] = d
            u2[x] = s
        cnt[x] = c + 1
        fs = float(s)
        for j in range(indptr[x], indptr[x + 1]):
            y = indices[j]
            if not inside[y]:
                continue
            nd = d + weights[j]
            if nd > limit:
                continue
            if _offer(st, y, nd, fs):
                hd, hk, size, cap = _push(hd, hk, size, cap, nd, (s << shift) | y)
    return o1, u1, o2, u2
