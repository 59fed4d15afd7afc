"""Compiled kernel: multi-source Dijkstra keeping the two nearest *distinct* sources per node.

scipy's ``dijkstra(min_only=True)`` gives the nearest source of every node in one pass but not the
second-nearest distinct one; getting that from scipy takes 1 + 2*log2(K) passes for K sources
(partitioning the sources by the bits of their index). This kernel keeps up to two labels with
distinct sources per node (the k-nearest-facility Dijkstra), so one pass gives both.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _push(hd, hn, hs, size, d, n, s):  # type: ignore[no-untyped-def]
    i = size
    hd[i] = d
    hn[i] = n
    hs[i] = s
    while i > 0:
        parent = (i - 1) // 2
        if hd[parent] < hd[i] or (hd[parent] == hd[i] and hs[parent] <= hs[i]):
            break
        hd[i], hd[parent] = hd[parent], hd[i]
        hn[i], hn[parent] = hn[parent], hn[i]
        hs[i], hs[parent] = hs[parent], hs[i]
        i = parent
    return size + 1


@njit(cache=True)
def _pop(hd, hn, hs, size):  # type: ignore[no-untyped-def]
    d, n, s = hd[0], hn[0], hs[0]
    size -= 1
    hd[0], hn[0], hs[0] = hd[size], hn[size], hs[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        c = left
        right = left + 1
        if right < size and (hd[right] < hd[left] or
                             (hd[right] == hd[left] and hs[right] < hs[left])):
            c = right
        if hd[i] < hd[c] or (hd[i] == hd[c] and hs[i] <= hs[c]):
            break
        hd[i], hd[c] = hd[c], hd[i]
        hn[i], hn[c] = hn[c], hn[i]
        hs[i], hs[c] = hs[c], hs[i]
        i = c
    return d, n, s, size


@njit(cache=True)
def _keep(tb1, ts1, tb2, y, nd, s):  # type: ignore[no-untyped-def]
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


@njit(cache=True)
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
    cap = 2 * indices.shape[0] + seed_nodes.shape[0] + 16
    hd = np.empty(cap)
    hn = np.empty(cap, dtype=np.int64)
    hs = np.empty(cap, dtype=np.int64)
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
                size = _push(hd, hn, hs, size, seed_costs[i], x, seed_sources[i])
    while size > 0:
        d, x, s, size = _pop(hd, hn, hs, size)
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
            if size >= cap:  # cannot happen: each label relaxes each edge once
                continue
            size = _push(hd, hn, hs, size, nd, y, s)
    return d1, s1, d2, s2
