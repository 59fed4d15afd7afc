"""Compiled kernel: multi-source Dijkstra keeping the two nearest *distinct* sources per node.

scipy's ``dijkstra(min_only=True)`` gives the nearest source of every node in one pass but not the
second-nearest distinct one; getting that from scipy takes 1 + 2*log2(K) passes for K sources
(partitioning the sources by the bits of their index). This kernel keeps up to two labels with
distinct sources per node (the k-nearest-facility Dijkstra), so one pass gives both.

The priority queue is a binary heap of (cost, node, source) with lazy deletion; a label is only
pushed when it beats the node's tentative labels, and the heap grows as needed (it starts at the
node count rather than at twice the edge count). The kernel releases the GIL, so searches for
several unit kinds run on several cores.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _sift_up(hd, hn, hs, i):  # type: ignore[no-untyped-def]
    d, n, s = hd[i], hn[i], hs[i]
    while i > 0:
        parent = (i - 1) >> 1
        pd_ = hd[parent]
        if pd_ < d or (pd_ == d and hs[parent] <= s):
            break
        hd[i] = pd_
        hn[i] = hn[parent]
        hs[i] = hs[parent]
        i = parent
    hd[i] = d
    hn[i] = n
    hs[i] = s


@njit(cache=True, nogil=True)
def _sift_down(hd, hn, hs, size):  # type: ignore[no-untyped-def]
    d, n, s = hd[0], hn[0], hs[0]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        r = c + 1
        if r < size and (hd[r] < hd[c] or (hd[r] == hd[c] and hs[r] < hs[c])):
            c = r
        if d < hd[c] or (d == hd[c] and s <= hs[c]):
            break
        hd[i] = hd[c]
        hn[i] = hn[c]
        hs[i] = hs[c]
        i = c
    hd[i] = d
    hn[i] = n
    hs[i] = s


@njit(cache=True, nogil=True)
def _keep(tb1, ts1, tb2, y, nd, s):  # type: ignore[no-untyped-def]
    """Whether a label (cost ``nd``, source ``s``) at node ``y`` can still be one of its two
    best; updates the tentative best label and the tentative second-best cost."""
    if s == ts1[y]:
        if nd < tb1[y]:
            tb1[y] = nd
            return True
        return False
    if nd < tb1[y]:
        tb2[y] = tb1[y]
        tb1[y] = nd
        ts1[y] = s
        return True
    if nd < tb2[y]:
        tb2[y] = nd
        return True
    return False


@njit(cache=True, nogil=True)
def top2_dijkstra(indptr, indices, weights, seed_nodes, seed_costs, seed_sources, limit):  # type: ignore[no-untyped-def]
    """Two nearest distinct sources of every node.

    Parameters
    ----------
    indptr, indices, weights
        CSR adjacency (``weights`` >= 0).
    seed_nodes, seed_costs, seed_sources
        Where each source enters the graph, at what initial cost, and the source's id
        (ids >= 0; several seeds may share an id).
    limit
        Labels beyond this cost are not kept (``np.inf`` for none).

    Returns
    -------
    d1, s1, d2, s2
        Cost and source id of the nearest and second-nearest distinct source (inf / -1 where
        none). Ties are broken by the smaller source id.
    """
    n = indptr.shape[0] - 1
    d1 = np.full(n, np.inf)
    d2 = np.full(n, np.inf)
    s1 = np.full(n, -1, dtype=np.int64)
    s2 = np.full(n, -1, dtype=np.int64)
    cnt = np.zeros(n, dtype=np.int8)
    cap = max(16, n + seed_nodes.shape[0])
    hd = np.empty(cap)
    hn = np.empty(cap, dtype=np.int32)
    hs = np.empty(cap, dtype=np.int32)
    # tentative best label (cost, source) and second-best cost of a distinct source: a new label
    # no better than two distinct-source labels, or than its own source's label, is never pushed
    tb1 = np.full(n, np.inf)
    ts1 = np.full(n, -1, dtype=np.int64)
    tb2 = np.full(n, np.inf)
    size = 0
    for i in range(seed_nodes.shape[0]):
        if seed_costs[i] <= limit:
            x = seed_nodes[i]
            if _keep(tb1, ts1, tb2, x, seed_costs[i], seed_sources[i]):
                if size >= cap:
                    cap *= 2
                    hd2 = np.empty(cap)
                    hn2 = np.empty(cap, dtype=np.int32)
                    hs2 = np.empty(cap, dtype=np.int32)
                    hd2[:size] = hd[:size]
                    hn2[:size] = hn[:size]
                    hs2[:size] = hs[:size]
                    hd, hn, hs = hd2, hn2, hs2
                hd[size] = seed_costs[i]
                hn[size] = x
                hs[size] = seed_sources[i]
                _sift_up(hd, hn, hs, size)
                size += 1
    while size > 0:
        d, x, s = hd[0], hn[0], hs[0]
        size -= 1
        if size > 0:
            hd[0], hn[0], hs[0] = hd[size], hn[size], hs[size]
            _sift_down(hd, hn, hs, size)
        c = cnt[x]
        if c == 2 or (c == 1 and s1[x] == s):
            continue
        if c == 0:
            d1[x] = d
            s1[x] = s
        else:
            d2[x] = d
            s2[x] = s
        cnt[x] = c + 1
        for j in range(indptr[x], indptr[x + 1]):
            y = indices[j]
            cy = cnt[y]
            if cy == 2 or (cy == 1 and s1[y] == s):
                continue
            nd = d + weights[j]
            if nd > limit:
                continue
            if not _keep(tb1, ts1, tb2, y, nd, s):
                continue
            if size >= cap:
                cap *= 2
                hd2 = np.empty(cap)
                hn2 = np.empty(cap, dtype=np.int32)
                hs2 = np.empty(cap, dtype=np.int32)
                hd2[:size] = hd[:size]
                hn2[:size] = hn[:size]
                hs2[:size] = hs[:size]
                hd, hn, hs = hd2, hn2, hs2
            hd[size] = nd
            hn[size] = y
            hs[size] = s
            _sift_up(hd, hn, hs, size)
            size += 1
    return d1, s1, d2, s2
