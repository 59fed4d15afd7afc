"""Compiled kernel: a driving graph's arc minutes under one speed factor per group.

Each piece of road holds its nominal minutes per speed group (a sparse row); under a sample's
factors its minutes are the sum of each group's minutes over the group's factor, and an arc
takes the least of its parallel pieces. numpy did this as a sparse product, a gather and a
``minimum.reduceat``, each through memory of its own (a province's 100 samples of the
uncertainty analysis: 3.4 s); this kernel does it in one pass, with the same sums in the same
order (the same floating-point numbers, see ``tests/roads/test_classtime.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def scaled_minutes(pptr, pcol, pdata, inv, order, arcs, lo, n_arcs):  # type: ignore[no-untyped-def]
    """Minutes of each piece and of each arc with ``inv`` (1 / factor) per group.

    Parameters
    ----------
    pptr, pcol, pdata
        The pieces' nominal minutes per group (CSR rows, in order, no duplicates).
    inv
        1 / factor of each group.
    order
        The pieces sorted by arc; ``lo[i]`` is where arc ``arcs[i]``'s pieces start in it
        (they run to the next arc's start, the last to the end).
    n_arcs
        Number of arcs: those not in ``arcs`` take 0 minutes (zero-minute links).

    Returns
    -------
    pw, w
        Minutes of each piece (``sum(pdata * inv[pcol])`` in row order, as scipy's product
        sums) and of each arc (the least of its pieces, NaN if one is, as
        ``numpy.minimum.reduceat``).
    """
    n_p = pptr.shape[0] - 1
    pw = np.empty(n_p)
    for r in range(n_p):
        s = 0.0
        for j in range(pptr[r], pptr[r + 1]):
            s += pdata[j] * inv[pcol[j]]
        pw[r] = s
    w = np.zeros(n_arcs)
    m = lo.shape[0]
    n_o = order.shape[0]
    for i in range(m):
        a = lo[i]
        b = lo[i + 1] if i + 1 < m else n_o
        v = pw[order[a]]
        for k in range(a + 1, b):
            x = pw[order[k]]
            if v == v and (x < v or x != x):
                v = x
        w[arcs[i]] = v
    return pw, w
