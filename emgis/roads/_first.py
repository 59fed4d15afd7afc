"""Compiled kernel: multi-source Dijkstra keeping only the nearest source's cost per node.

Where only the nearest time counts (each sample of the uncertainty analysis asks whether a
village is within its target, not which unit is second), one label per node is enough: half
the labels of :mod:`emgis.roads._top2`'s two-source search and no check for distinct sources.
Each source enters at its own initial cost (its turnout and access leg), which scipy's
``dijkstra(min_only=True)`` cannot take. The kernel releases the GIL, so several searches run
on several cores.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def first_dijkstra(indptr, indices, weights, seed_nodes, seed_costs, limit):  # type: ignore[no-untyped-def]
    """The cost of the nearest source at every node.

    Parameters
    ----------
    indptr, indices, weights
        CSR adjacency (``weights`` >= 0).
    seed_nodes, seed_costs
        Where each source enters the graph and at what initial cost.
    limit
        Costs beyond this are not kept (``np.inf`` for none).

    Returns
    -------
    numpy.ndarray
        Per node the least cost from any source (``inf`` where none within ``limit``).
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    done = np.zeros(n, dtype=np.bool_)
    cap = max(16, seed_nodes.shape[0] + 16)
    hd = np.empty(cap)
    hn = np.empty(cap, dtype=np.int64)
    size = 0
    for i in range(seed_nodes.shape[0]):
        c0 = seed_costs[i]
        x = seed_nodes[i]
        if not c0 <= limit or c0 >= dist[x]:
            continue
        dist[x] = c0
        j = size  # sift up
        while j > 0:
            p = (j - 1) >> 1
            if hd[p] <= c0:
                break
            hd[j] = hd[p]
            hn[j] = hn[p]
            j = p
        hd[j] = c0
        hn[j] = x
        size += 1
    while size > 0:
        d = hd[0]
        x = hn[0]
        size -= 1
        if size > 0:  # sift the last entry down from the root
            ld, lx = hd[size], hn[size]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and hd[c + 1] < hd[c]:
                    c += 1
                if ld <= hd[c]:
                    break
                hd[i] = hd[c]
                hn[i] = hn[c]
                i = c
            hd[i] = ld
            hn[i] = lx
        if done[x] or d > dist[x]:
            continue
        done[x] = True
        for k in range(indptr[x], indptr[x + 1]):
            y = indices[k]
            nd = d + weights[k]
            if nd > limit or nd >= dist[y]:
                continue
            dist[y] = nd
            if size >= cap:
                cap *= 2
                a = np.empty(cap)
                b = np.empty(cap, dtype=np.int64)
                a[:size] = hd[:size]
                b[:size] = hn[:size]
                hd, hn = a, b
            j = size  # sift up
            while j > 0:
                p = (j - 1) >> 1
                if hd[p] <= nd:
                    break
                hd[j] = hd[p]
                hn[j] = hn[p]
                j = p
            hd[j] = nd
            hn[j] = y
            size += 1
    return dist
