"""Compiled kernels: the minutes at which sample points along the roads are reached, and by
whom, from the minutes at the routing graph's nodes.

Service areas and zones sample points along every road (:class:`emgis.analysis.coverage.
_Sampler`); each point lies on one piece of the routing graph per side of its road, and is
reached from the piece's start (or, on a reversed graph, goes on to its end). numpy did each
kind's pass as gathers, sums, a comparison and scatters over every point, each through
memory of its own (a county's 22 passes: about 0.4 s; a province's several seconds); these
kernels make one pass with the same sums and comparisons (the same floating-point numbers
and owners: ``tests/analysis/test_reach.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: How a piece's point is reached: from the piece's start, on to its end (a reversed graph),
#: or the nearer of both ends (walking, both ways).
FROM_START, TO_END, EITHER = 0, 1, 2


@njit(cache=True, nogil=True)
def _point(k, a, b, from_a, to_b, node_min, how):  # type: ignore[no-untyped-def]
    """Point ``k``'s time and whether it is reached by its piece's end ``b`` (else ``a``):
    walking, the nearer end, ``a`` on a tie, NaN if either end's time is (as
    ``numpy.minimum``)."""
    if how == FROM_START:
        return node_min[a[k]] + from_a[k], False
    if how == TO_END:
        return node_min[b[k]] + to_b[k], True
    ta = node_min[a[k]] + from_a[k]
    tb = node_min[b[k]] + to_b[k]
    if ta != ta or tb != tb:
        return np.nan, False
    if ta <= tb:
        return ta, False
    return tb, True


@njit(cache=True, nogil=True)
def reach_times(best, idx, a, b, from_a, to_b, node_min, how):  # type: ignore[no-untyped-def]
    """``best[idx] = minimum(best[idx], t)`` for the points' times ``t`` (``idx`` without
    repeats; NaN wins, as ``numpy.minimum``)."""
    for k in range(idx.shape[0]):
        t, _ = _point(k, a, b, from_a, to_b, node_min, how)
        i = idx[k]
        x = best[i]
        if x != x:
            continue
        if t != t or t < x:
            best[i] = t


@njit(cache=True, nogil=True)
def reach_owners(best, owner, idx, a, b, from_a, to_b, node_min, node_unit, how):  # type: ignore[no-untyped-def]
    """Where a point's time beats ``best``: its time and its unit into ``best``/``owner``
    (a NaN time beats nothing; walking, the unit of the nearer end, ``a``'s on a tie)."""
    for k in range(idx.shape[0]):
        t, via_b = _point(k, a, b, from_a, to_b, node_min, how)
        i = idx[k]
        if t < best[i]:
            best[i] = t
            owner[i] = node_unit[b[k]] if via_b else node_unit[a[k]]
