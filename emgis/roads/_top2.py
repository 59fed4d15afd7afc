"""Compiled kernel: multi-source Dijkstra keeping the two nearest *distinct* sources per node.

scipy's ``dijkstra(min_only=True)`` gives the nearest source of every node in one pass but not the
second-nearest distinct one; getting that from scipy takes 1 + 2*log2(K) passes for K sources
(partitioning the sources by the bits of their index). This kernel keeps up to two labels with
distinct sources per node (the k-nearest-facility Dijkstra), so one pass gives both.

Layout, measured on a 1,000,000-node network: a node's tentative state (best cost, its source,
second-best cost of a distinct source) is one row of one array, so relaxing an arc reads one
cache line; the priority queue is a binary heap of (cost, source << 32 | node) with lazy
deletion, growing as needed. A label is pushed only when it beats the node's tentative labels
(settled labels are final, so no other check is needed), which keeps the pushes near two per
node. The kernel releases the GIL, so searches for several unit kinds run on several cores.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _up(hd, hk, i):  # type: ignore[no-untyped-def]
    d, k = hd[i], hk[i]
    while i > 0:
        p = (i - 1) >> 1
        if hd[p] < d or (hd[p] == d and hk[p] <= k):
            break
        hd[i] = hd[p]
        hk[i] = hk[p]
        i = p
    hd[i] = d
    hk[i] = k

@njit(cache=True, nogil=True)
def _down(hd, hk, size):  # type: ignore[no-untyped-def]
    d, k = hd[0], hk[0]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        r = c + 1
        if r < size and (hd[r] < hd[c] or (hd[r] == hd[c] and hk[r] < hk[c])):
            c = r
        if d < hd[c] or (d == hd[c] and k <= hk[c]):
            break
        hd[i] = hd[c]
        hk[i] = hk[c]
        i = c
    hd[i] = d
    hk[i] = k

@njit(cache=True, nogil=True, inline="always")
def _offer(st, x, c, fs):  # type: ignore[no-untyped-def]
    """A tentative label (cost ``c``, source ``fs``) for node ``x``: True where it beats the
    node's tentative labels ``st[x]`` (best cost, its source, second-best cost of a distinct
    source), which it then updates."""
    if fs == st[x, 1]:
        if c < st[x, 0]:
            st[x, 0] = c
            return True
        return False
    if c < st[x, 0]:
        st[x, 2] = st[x, 0]
        st[x, 0] = c
        st[x, 1] = fs
        return True
    if c < st[x, 2]:
        st[x, 2] = c
        return True
    return False


@njit(cache=True, nogil=True)
def top2_dijkstra(indptr, indices, weights, seed_nodes, seed_costs, seed_sources, limit):  # type: ignore[no-untyped-def]
    """Two nearest distinct sources of every node.

    Parameters
    ----------
    indptr, indices, weights
        CSR adjacency (``weights`` >= 0
        fewer than 2**32 nodes and sources).
    seed_nodes, seed_costs, seed_sources
        Where each source enters the graph, at what initial cost, and the source's id
        (ids >= 0
        several seeds may share an id).
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
    # per node: tentative best cost, its source, tentative second-best cost (distinct source)
    st = np.empty((n, 3))
    st[:, 0] = np.inf
    st[:, 1] = -1.0
    st[:, 2] = np.inf
    cap = max(16, n + seed_nodes.shape[0])
    hd = np.empty(cap)
    hk = np.empty(cap, dtype=np.int64)
    size = 0
    shift = 32
    mask = (1 << shift) - 1
    for i in range(seed_nodes.shape[0]):
        c0 = seed_costs[i]
        if c0 > limit:
            continue
        x = seed_nodes[i]
        s = seed_sources[i]
        if _offer(st, x, c0, float(s)):
            if size >= cap:
                cap *= 2
                a = np.empty(cap)
                b = np.empty(cap, dtype=np.int64)
                a[:size] = hd[:size]
                b[:size] = hk[:size]
                hd, hk = a, b
            hd[size] = c0
            hk[size] = (s << shift) | x
            _up(hd, hk, size)
            size += 1
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
        if c == 2 or (c == 1 and s1[x] == s):
            continue
        if c == 0:
            d1[x] = d
            s1[x] = s
        else:
            d2[x] = d
            s2[x] = s
        cnt[x] = c + 1
        fs = float(s)
        for j in range(indptr[x], indptr[x + 1]):
            y = indices[j]
            nd = d + weights[j]
            if nd > limit:
                continue
            if not _offer(st, y, nd, fs):
                continue
            if size >= cap:
                cap *= 2
                a = np.empty(cap)
                b = np.empty(cap, dtype=np.int64)
                a[:size] = hd[:size]
                b[:size] = hk[:size]
                hd, hk = a, b
            hd[size] = nd
            hk[size] = (s << shift) | y
            _up(hd, hk, size)
            size += 1
    return d1, s1, d2, s2
