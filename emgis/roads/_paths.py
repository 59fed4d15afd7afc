"""Compiled kernel: the paths of some origins to each destination, from one search per
destination.

``route_lines`` took each evacuation destination's tree of paths from scipy's Dijkstra with
predecessors: a whole array per destination (a province's shelters: 16 s of a run), then
walked each route node by node in Python. This kernel searches from each destination (on
the reversed graph) with the indexed 4-ary heap of :mod:`emgis.roads._heap`, keeps each
node's predecessor as scipy does (set where the node's cost first falls or falls strictly
lower), stops once every origin of the destination is settled (their paths are then final:
every node on them was settled before them), and returns each origin's path.

The costs are scipy's (the same sums); where two paths to a node cost exactly the same,
the one kept may differ from scipy's (the heaps order equal costs differently): either is a
fastest route.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emgis.roads._heap import OUT, SETTLED, heap_pop, heap_set, relax


@njit(cache=True, nogil=True)
def paths_to(indptr, indices, weights, dnodes, limits, optr, onodes):  # type: ignore[no-untyped-def]
    """Each origin's path to its destination.

    Parameters
    ----------
    indptr, indices, weights
        CSR adjacency of the reversed graph (``weights`` >= 0).
    dnodes, limits
        Per destination: its node and the largest cost searched (nodes beyond it are not
        reached).
    optr, onodes
        The origins of destination ``k``: ``onodes[optr[k]:optr[k + 1]]`` (nodes, -1 for
        none).

    Returns
    -------
    sptr, steps, found
        Per origin, its path from the origin to the destination,
        ``steps[sptr[i]:sptr[i + 1]]`` (the origin first), and whether it has one (an
        origin at the destination's node has the path of that node alone).
    """
    n = indptr.shape[0] - 1
    if n >= 2**31 - 2:  # places and nodes are held as 32-bit integers
        raise ValueError("a graph of 2**31 nodes or more")
    dist = np.full(n, np.inf)
    pos = np.full(n, OUT, dtype=np.int32)
    pred = np.full(n, -1, dtype=np.int32)
    want = np.zeros(n, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    hd = np.empty(max(n, 1))
    hn = np.empty(max(n, 1), dtype=np.int32)
    m = onodes.shape[0]
    found = np.zeros(m, dtype=np.bool_)
    sptr = np.zeros(m + 1, dtype=np.int64)
    cap = 1024
    steps = np.empty(cap, dtype=np.int64)
    n_steps = 0
    for k in range(dnodes.shape[0]):
        a = optr[k]
        b = optr[k + 1]
        x0 = dnodes[k]
        lim = limits[k]
        remaining = 0
        for i in range(a, b):
            o = onodes[i]
            if o >= 0:
                if want[o] == 0:
                    remaining += 1
                want[o] += 1
        n_touched = 0
        if x0 >= 0 and remaining > 0 and lim >= 0:
            dist[x0] = 0.0
            touched[0] = x0
            n_touched = 1
            size = heap_set(hd, hn, pos, 0, 0.0, x0, OUT)
            while size > 0:
                d, x, size = heap_pop(hd, hn, pos, size)
                if want[x] > 0:
                    remaining -= 1
                    if remaining == 0:
                        break
                size, n_touched = relax(x, d, lim, indptr, indices, weights, dist, pos,
                                        touched, n_touched, hd, hn, size, pred)
        for i in range(a, b):
            o = onodes[i]
            if o >= 0 and x0 >= 0 and pos[o] == SETTLED:
                found[i] = True
                node = o
                while True:
                    if n_steps >= cap:
                        cap *= 2
                        grown = np.empty(cap, dtype=np.int64)
                        grown[:n_steps] = steps[:n_steps]
                        steps = grown
                    steps[n_steps] = node
                    n_steps += 1
                    if node == x0:
                        break
                    node = pred[node]
            sptr[i + 1] = n_steps
        for i in range(a, b):
            o = onodes[i]
            if o >= 0:
                want[o] = 0
        for t in range(n_touched):
            y = touched[t]
            dist[y] = np.inf
            pos[y] = OUT
            pred[y] = -1
    return sptr, steps[:n_steps].copy(), found
