"""Compiled indexed 4-ary min-heap of (cost, node) for the search kernels
(:mod:`emgis.roads._bounded`, :mod:`emgis.roads._first`, :mod:`emgis.roads._repair`).

Each node stands in the heap at most once: ``pos[node]`` is its place in the heap, ``-1``
when it is not in it and ``-2`` once it is settled (popped), and a better cost found for a
node already in the heap moves it up where it stands (decrease-key) instead of adding a
second entry. Four children per entry make the heap half as deep as a binary one. Against
the binary heap with lazy deletion this kernel replaced, a whole-county search (83,515
nodes) takes 7.1 instead of 14.0 ms with the same costs: a node's cost is the least of the
same sums either way.

The arrays ``hd`` (costs), ``hn`` (nodes) and ``pos`` are the caller's, of one entry per
node of the graph: the heap never holds more, so it never grows. The kernels hold ``hn`` and
``pos`` as 32-bit integers: half the memory the search walks through, which on a province
(842,613 nodes) took a bounded search from 5.4 to 4.0 ms and on the county from 7.3 to
6.7 ms (graphs of fewer than 2**31 nodes).

:func:`relax` is the Dijkstra step of :mod:`emgis.roads._bounded` and
:mod:`emgis.roads._paths`.

The functions are compiled without numba's reference counts (``_nrt=False``: they allocate
nothing) and inlined by LLVM (``forceinline``). Passing the heap's arrays to them otherwise
cost an atomic reference count per array and call (NRT_incref/NRT_decref, 7% of a county
run's CPU under ``perf``), even with numba's own ``inline="always"``; without it the
searches are 21% faster (100 uncertainty searches on the county 0.146 -> 0.115 s; 200
searches of 60 minutes 1.51 -> 1.20 s), the same costs.

Editing this file: numba caches each kernel by its own file only, so the kernels that call
these functions (:mod:`emgis.roads._bounded`, :mod:`emgis.roads._first`, :mod:`emgis.roads._paths`,
:mod:`emgis.roads._repair`) keep the old heap compiled into them until their own files
change; touch them or clear
``emgis/roads/__pycache__`` (a fresh install is not affected).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: ``pos`` of a node not in the heap, and of a node taken from it (settled).
OUT = -1
SETTLED = -2

#: How the heap's functions are compiled: without reference counts (``_nrt``, a numba option
#: its type stubs leave out; they allocate nothing, they only borrow the caller's arrays) and
#: inlined by LLVM (see the module).
_BORROWING = njit(cache=True, nogil=True, _nrt=False, forceinline=True)  # type: ignore[call-overload]


@_BORROWING
def heap_set(hd, hn, pos, size, d, x, i):  # type: ignore[no-untyped-def]
    """Put node ``x`` at cost ``d`` in the heap of ``size`` entries (``i``: ``pos[x]``, as the
    caller read it), or lower its cost if it stands there already (``d`` must not be above
    its cost in the heap); returns the new size."""
    if i < 0:
        i = size
        size += 1
    while i > 0:  # sift up
        p = (i - 1) >> 2
        if hd[p] <= d:
            break
        hd[i] = hd[p]
        hn[i] = hn[p]
        pos[hn[i]] = i
        i = p
    hd[i] = d
    hn[i] = x
    pos[x] = i
    return size


@_BORROWING
def heap_pop(hd, hn, pos, size):  # type: ignore[no-untyped-def]
    """Take the least entry and mark its node settled; returns its cost, its node and the
    new size."""
    d = hd[0]
    x = hn[0]
    pos[x] = SETTLED
    size -= 1
    if size > 0:  # sift the last entry down from the root
        ld, lx = hd[size], hn[size]
        i = 0
        while True:
            c = 4 * i + 1
            if c >= size:
                break
            best = c
            bd = hd[c]
            end = min(c + 4, size)
            for k in range(c + 1, end):
                if hd[k] < bd:
                    bd = hd[k]
                    best = k
            if ld <= bd:
                break
            hd[i] = bd
            hn[i] = hn[best]
            pos[hn[i]] = i
            i = best
        hd[i] = ld
        hn[i] = lx
        pos[lx] = i
    return d, x, size


@_BORROWING
def relax(x, d, lim, indptr, indices, weights, dist, pos, touched,  # type: ignore[no-untyped-def]
          n_touched, hd, hn, size, pred):
    """Relax the arcs of node ``x``, settled at cost ``d``, up to cost ``lim``: each head
    reached sooner gets its cost, its place in the heap and (where ``pred`` has room, one
    entry per node) ``x`` as its predecessor; a head reached for the first time is listed in
    ``touched``. Returns the heap's new size and the count of nodes touched."""
    keep_pred = pred.shape[0] > 0
    for j in range(indptr[x], indptr[x + 1]):
        y = indices[j]
        nd = d + weights[j]
        if nd > lim or nd >= dist[y]:
            continue
        at = pos[y]
        if at == SETTLED:
            continue
        if dist[y] == np.inf:
            touched[n_touched] = y
            n_touched += 1
        dist[y] = nd
        if keep_pred:
            pred[y] = x
        size = heap_set(hd, hn, pos, size, nd, y, at)
    return size, n_touched
