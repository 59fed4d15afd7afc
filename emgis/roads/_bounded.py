"""Compiled kernel: many single-source Dijkstra searches, each with its own cutoff, returning
only the targets they reach (sparse pairs).

scipy's ``dijkstra(indices=...)`` returns a dense row of every node per source and takes one
cutoff for all; for siting at county or province size (thousands of sources on a graph of
10^5-10^6 nodes, a different useful radius per source) that is most of the work and memory.
This kernel resets only the nodes it touched between searches, stops each search at its own
cutoff (or as soon as it has settled every target: a search for the villages of one zone ends
near the zone), records the (source, target, cost) of target nodes it settles, and releases the
GIL so that chunks of sources run on several cores.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emgis.roads._heap import OUT, heap_pop, heap_set, relax


@njit(cache=True, nogil=True)
def search_one(indptr, indices, weights, x0, lim, target_of_node, n_targets, dist, pos,  # type: ignore[no-untyped-def]
               touched, hd, hn, got_t, got_c):
    """One search from node ``x0`` up to ``lim``, stopping once it has settled all
    ``n_targets`` targets: writes the targets it settles (index, cost, in the order settled)
    into ``got_t``/``got_c`` (room for every target) and returns how many. ``dist`` (inf)
    and ``pos`` (``OUT``) are left as found; ``touched``, ``hd``, ``hn`` are its workspace
    (one entry per node)."""
    found = 0
    n_touched = 1
    no_pred = np.empty(0, dtype=np.int32)  # no predecessors kept
    dist[x0] = 0.0
    touched[0] = x0
    size = heap_set(hd, hn, pos, 0, 0.0, x0, OUT)
    while size > 0:
        d, x, size = heap_pop(hd, hn, pos, size)
        t = target_of_node[x]
        if t >= 0:
            got_t[found] = t
            got_c[found] = d
            found += 1
            if found == n_targets:
                break
        size, n_touched = relax(x, d, lim, indptr, indices, weights, dist, pos, touched,
                                n_touched, hd, hn, size, no_pred)
    for k in range(n_touched):  # reset only what this search touched
        dist[touched[k]] = np.inf
        pos[touched[k]] = OUT
    return found


@njit(cache=True, nogil=True, inline="always")
def room_for(out_s, out_t, out_c, n_out, need):  # type: ignore[no-untyped-def]
    """The pair arrays (source, target, cost) with room for ``need`` more pairs after their
    first ``n_out``: the same arrays where they have it, else copies twice as long as often
    as needed (for :func:`bounded_pairs`, :func:`emgis.roads._cch.cch_pairs` and
    :mod:`emgis.roads._repair`'s pairs)."""
    cap = out_s.shape[0]
    if n_out + need <= cap:
        return out_s, out_t, out_c
    while n_out + need > cap:
        cap *= 2
    ns = np.empty(cap, dtype=np.int64)
    nt = np.empty(cap, dtype=np.int64)
    nc = np.empty(cap)
    ns[:n_out] = out_s[:n_out]
    nt[:n_out] = out_t[:n_out]
    nc[:n_out] = out_c[:n_out]
    return ns, nt, nc


@njit(cache=True, nogil=True)
def bounded_pairs(indptr, indices, weights, sources, limits, target_of_node):  # type: ignore[no-untyped-def]
    """Searches from each source node up to its limit.

    Parameters
    ----------
    indptr, indices, weights
        CSR adjacency (``weights`` >= 0).
    sources
        Start node of each search.
    limits
        Largest cost to search to, per source (searches stop beyond it).
    target_of_node
        For each node, the index of the target it is (-1 for none).

    Returns
    -------
    src, tgt, cost
        For every target settled within a source's limit: the source's position in
        ``sources``, the target index and the cost.
    """
    n = indptr.shape[0] - 1
    if n >= 2**31 - 2:  # places and nodes are held as 32-bit integers
        raise ValueError("a graph of 2**31 nodes or more")
    dist = np.full(n, np.inf)
    pos = np.full(n, OUT, dtype=np.int32)  # place in the heap, or OUT, or SETTLED
    touched = np.empty(n, dtype=np.int32)
    hd = np.empty(max(n, 1))
    hn = np.empty(max(n, 1), dtype=np.int32)
    n_targets = 0  # a search that has settled every target stops there
    for x in range(n):
        if target_of_node[x] >= 0:
            n_targets += 1
    got_t = np.empty(n_targets + 1, dtype=np.int64)
    got_c = np.empty(n_targets + 1)
    out_s = np.empty(1024, dtype=np.int64)
    out_t = np.empty(1024, dtype=np.int64)
    out_c = np.empty(1024)
    n_out = 0
    for s in range(sources.shape[0]):
        lim = limits[s]
        x0 = sources[s]
        if x0 < 0 or not lim >= 0:
            continue
        m = search_one(indptr, indices, weights, x0, lim, target_of_node, n_targets, dist,
                       pos, touched, hd, hn, got_t, got_c)
        out_s, out_t, out_c = room_for(out_s, out_t, out_c, n_out, m)
        out_s[n_out:n_out + m] = s
        out_t[n_out:n_out + m] = got_t[:m]
        out_c[n_out:n_out + m] = got_c[:m]
        n_out += m
    return out_s[:n_out], out_t[:n_out], out_c[:n_out]
