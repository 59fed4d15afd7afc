"""Compiled kernel: piecewise-linear interpolation within each queried edge's vertices.

An edge's vertices hold running metres (``vdist``) and seconds (``vtime``) from its start;
a point at some metres along an edge takes the seconds interpolated within the segment it
lies on, and the other way round. Each query searches its own edge's few vertices, so a
scenario's handful of cut edges costs nothing like a pass over every vertex of a province.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def interp_edges(ptr, xs, ys, edges, q):  # type: ignore[no-untyped-def]
    """``ys`` at ``q`` against ``xs`` within each edge's slice ``ptr[e]:ptr[e + 1]``.

    The segment is the last vertex whose ``xs`` is at most ``q`` (the first segment before
    the edge's start, the last one beyond its end), and the result is clipped to it."""
    out = np.empty(edges.shape[0])
    for i in range(edges.shape[0]):
        e = edges[i]
        a = ptr[e]
        b = ptr[e + 1]
        x = q[i]
        if x != x:  # no value: none out
            out[i] = np.nan
            continue
        lo = a
        hi = b
        while lo < hi:  # first vertex of the slice with xs > x
            mid = (lo + hi) >> 1
            if xs[mid] <= x:
                lo = mid + 1
            else:
                hi = mid
        k = min(max(lo - 1, a), b - 2)
        x0 = xs[k]
        x1 = xs[k + 1]
        w = 0.0
        if x1 > x0:
            w = (x - x0) / (x1 - x0)
            w = min(max(w, 0.0), 1.0)
        out[i] = ys[k] + w * (ys[k + 1] - ys[k])
    return out
