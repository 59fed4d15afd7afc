"""Compiled binary min-heap of (cost, node) in two growing arrays, inlined into the search
kernels (:mod:`emgis.roads._bounded`, :mod:`emgis.roads._first`): lazy deletion, so a node
may stand in it more than once and a popped entry costlier than its node's label is stale."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def heap_push(hd, hn, size, d, x):  # type: ignore[no-untyped-def]
    """Put (``d``, ``x``) in the heap of ``size`` entries (growing the arrays when full);
    returns the arrays and the new size."""
    if size >= hd.shape[0]:
        a = np.empty(2 * hd.shape[0])
        b = np.empty(2 * hd.shape[0], dtype=np.int64)
        a[:size] = hd[:size]
        b[:size] = hn[:size]
        hd, hn = a, b
    i = size  # sift up
    while i > 0:
        p = (i - 1) >> 1
        if hd[p] <= d:
            break
        hd[i] = hd[p]
        hn[i] = hn[p]
        i = p
    hd[i] = d
    hn[i] = x
    return hd, hn, size + 1


@njit(cache=True, nogil=True, inline="always")
def heap_pop(hd, hn, size):  # type: ignore[no-untyped-def]
    """Take the least entry; returns its cost, its node and the new size."""
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
    return d, x, size
