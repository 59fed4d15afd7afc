"""Compiled kernel: bounded searches from each source on a baseline graph and on its scenario
graphs, each scenario's search repaired from the baseline's instead of run anew.

A scenario closes or slows some arcs of the baseline (and may attach a location to another
road, which adds arcs). From one source, a node keeps its baseline cost in a scenario unless
its baseline path uses a changed arc: only the nodes below such an arc in the baseline's
tree of paths (the *affected* ones) need searching again. The kernel searches the baseline
once per source, keeping the tree, then for each scenario:

1. marks the affected nodes, in the order the baseline settled them (a node is affected if
   the arc it came by got slower or closed, or its parent is affected), and forgets their
   costs;
2. seeds a search with each affected node's best arc from an unaffected node, the nodes the
   baseline left in its heap and the last node it settled (where it stopped once every
   target was settled, before that node's arcs), and every arc the scenario adds or makes
   faster;
3. runs Dijkstra from those seeds on the scenario's graph, to the same limit, reading the
   baseline's cost for every node it has not set itself (a stamp per node tells which).

Every cost is then the least over the node's in-arcs of the tail's cost plus the arc: the
fixed point a search from scratch reaches, so the costs are the same floating-point numbers
(``tests/roads/test_repair.py`` checks them against :func:`emgis.roads._bounded.bounded_pairs`
on each scenario graph). Where a scenario affects most of what the baseline settled, or the
source's search goes to another limit there (its access leg moved), that scenario is searched
from scratch instead.

The repair stops, as a search from scratch does, once every target is settled and nothing
left in its heap costs less than the dearest target kept from the baseline (an arc the
scenario makes faster could still lower one).

Keeping the tree costs the baseline search about a tenth to a quarter more, and each repair
walks the baseline's settled nodes once: where a whole search runs in the processor's caches
(a county) that eats the gain, where it does not (a province) the what-if page's searches
take a third less (see :data:`emgis.analysis.whatif.REPAIR_FROM`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emgis.roads._bounded import room_for, search_one
from emgis.roads._heap import OUT, SETTLED, heap_pop, heap_set
from emgis.roads._sorted import lower_bound

#: A scenario whose affected nodes are more than this share of what the baseline settled is
#: searched from scratch (the repair would walk most of the graph again).
FRESH_SHARE = 0.7


@njit(cache=True, nogil=True, inline="always")
def _emit(out_k, out_s, out_t, out_c, n_out, k, s, t, c):  # type: ignore[no-untyped-def]
    """Append one (graph, source, target, cost); returns the arrays (grown) and the count."""
    if n_out >= out_k.shape[0]:  # (source, target, cost) grown as bounded_pairs grows them
        out_s, out_t, out_c = room_for(out_s, out_t, out_c, n_out, 1)
        nk = np.empty(out_s.shape[0], dtype=np.int64)
        nk[:n_out] = out_k[:n_out]
        out_k = nk
    out_k[n_out] = k
    out_s[n_out] = s
    out_t[n_out] = t
    out_c[n_out] = c
    return out_k, out_s, out_t, out_c, n_out + 1


@njit(cache=True, nogil=True, inline="always")
def _slowed(ids, w, j):  # type: ignore[no-untyped-def]
    """The scenario's minutes of baseline arc ``j``, one of the sorted ``ids`` it slows or
    closes (``w``: inf where closed)."""
    return w[lower_bound(ids, 0, ids.shape[0], j)]


@njit(cache=True, nogil=True)
def repaired_pairs(indptr, indices, weights, graphs, rptr, r_tail, r_arc, slower, slow_ptr,  # type: ignore[no-untyped-def]
                   slow_ids, slow_w, dec_ptr, dec_u, dec_v, dec_w, sources, limits,
                   target_of_node, fresh_share):
    """Bounded searches from each source on the baseline and every scenario graph.

    Parameters
    ----------
    indptr, indices, weights
        The baseline's CSR adjacency (``weights`` >= 0).
    graphs
        Each scenario's ``(indptr, indices, weights)``, on the same nodes.
    rptr, r_tail, r_arc
        The baseline's arcs into each node (``rptr[y]:rptr[y + 1]``): their tails and their
        places in ``indices``.
    slower
        Shape ``(K, m)``: 1 where scenario ``k`` closes or slows baseline arc ``j``.
    slow_ptr, slow_ids, slow_w
        Those arcs of scenario ``k`` (``slow_ptr[k]:slow_ptr[k + 1]``, sorted) and their
        minutes there (inf where closed).
    dec_ptr, dec_u, dec_v, dec_w
        The arcs each scenario adds or makes faster (``dec_ptr[k]:dec_ptr[k + 1]``).
    sources
        Start node of each search; -1 for none.
    limits
        Shape ``(K + 1, len(sources))``: the largest cost searched per graph (row 0: the
        baseline) and source; below 0 for no search.
    target_of_node
        For each node, the index of the target it is (-1 for none).
    fresh_share
        Search a scenario from scratch where more than this share of the nodes the
        baseline settled is affected.

    Returns
    -------
    graph, src, tgt, cost
        For every target within a source's limit on a graph: the graph (0 for the baseline,
        ``k + 1`` for scenario ``k``), the source's position in ``sources``, the target index
        and the cost.
    """
    n = indptr.shape[0] - 1
    n_sc = len(graphs)
    if n >= 2**31 - 2 or indices.shape[0] >= 2**31 - 2:  # held as 32-bit integers
        raise ValueError("a graph of 2**31 nodes or arcs or more")
    n_targets = 0  # target nodes (several targets at one node count once)
    last_t = -1  # the largest target index
    for x in range(n):
        if target_of_node[x] >= 0:
            n_targets += 1
            last_t = max(last_t, target_of_node[x])
    # the baseline's search, by node: its cost, its place in the heap, and the parent's
    # place in the order settled (high 32 bits) with the arc it came by
    dist0 = np.full(n, np.inf)
    pos0 = np.full(n, OUT, dtype=np.int32)
    came = np.empty(n, dtype=np.int64)
    # ... in the order it settled them: the node, the arc, the parent's place, affected
    order = np.empty(n, dtype=np.int32)
    o_via = np.empty(n, dtype=np.int32)
    o_par = np.empty(n, dtype=np.int32)
    o_aff = np.zeros(n, dtype=np.uint8)
    frontier = np.empty(n, dtype=np.int32)
    # the targets it settled: index, node, cost, place in the order settled
    found_t = np.empty(n_targets + 1, dtype=np.int64)
    found_x = np.empty(n_targets + 1, dtype=np.int32)
    found_c = np.empty(n_targets + 1)
    got_t = np.empty(n_targets + 1, dtype=np.int64)  # a search from scratch's targets
    got_c = np.empty(n_targets + 1)
    t_rank = np.full(last_t + 1, -1, dtype=np.int32)  # by target index
    # a scenario's search: a node's cost is its own where stamped with the search's number,
    # else the baseline's (a repair); a search from scratch leaves every cost unset
    stamp = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    pos = np.full(n, OUT, dtype=np.int32)
    listed = np.empty(n, dtype=np.int32)
    hd = np.empty(max(n, 1))
    hn = np.empty(max(n, 1), dtype=np.int32)
    out_k = np.empty(1024, dtype=np.int64)
    out_s = np.empty(1024, dtype=np.int64)
    out_t = np.empty(1024, dtype=np.int64)
    out_c = np.empty(1024)
    n_out = 0
    ep = -1
    for s in range(sources.shape[0]):
        x0 = sources[s]
        if x0 < 0:
            continue
        # -- the baseline: a bounded search that keeps its tree
        lim0 = limits[0, s]
        ns0 = 0
        nf = 0
        n_found = 0
        cut = False  # whether it stopped at its last target, before that node's arcs
        if lim0 >= 0:
            dist0[x0] = 0.0
            came[x0] = 0
            size = heap_set(hd, hn, pos0, 0, 0.0, x0, OUT)
            while size > 0:
                d, x, size = heap_pop(hd, hn, pos0, size)
                c = came[x]
                order[ns0] = x
                o_via[ns0] = c & 0xFFFFFFFF
                o_par[ns0] = c >> 32
                me = ns0
                ns0 += 1
                t = target_of_node[x]
                if t >= 0:
                    out_k, out_s, out_t, out_c, n_out = _emit(out_k, out_s, out_t, out_c,
                                                              n_out, 0, s, t, d)
                    found_t[n_found] = t
                    found_x[n_found] = x
                    found_c[n_found] = d
                    t_rank[t] = me
                    n_found += 1
                    if n_found == n_targets:
                        cut = True
                        break
                for j in range(indptr[x], indptr[x + 1]):
                    y = indices[j]
                    nd = d + weights[j]
                    if nd > lim0 or nd >= dist0[y]:
                        continue
                    at = pos0[y]
                    if at == SETTLED:
                        continue
                    dist0[y] = nd
                    came[y] = (me << 32) | j
                    size = heap_set(hd, hn, pos0, size, nd, y, at)
            for i in range(size):  # what it left in its heap
                frontier[nf] = hn[i]
                nf += 1
        kept = found_c[n_found - 1] if n_found > 0 else -np.inf
        for k in range(n_sc):
            lim = limits[k + 1, s]
            if not lim >= 0:
                continue
            sp, si, sw = graphs[k]
            repair = lim0 >= 0 and lim == lim0
            if repair:
                # 1. the affected nodes, in the order settled (a parent before its child)
                n_aff = 0
                slow = slower[k]
                for i in range(1, ns0):
                    a = slow[o_via[i]] | o_aff[o_par[i]]
                    o_aff[i] = a
                    listed[n_aff] = order[i]  # kept where affected
                    n_aff += a
                repair = n_aff <= fresh_share * ns0
            if not repair:
                m = search_one(sp, si, sw, x0, lim, target_of_node, n_targets, dist, pos,
                               listed, hd, hn, got_t, got_c)
                for i in range(m):
                    out_k, out_s, out_t, out_c, n_out = _emit(
                        out_k, out_s, out_t, out_c, n_out, k + 1, s, got_t[i], got_c[i])
                continue
            ep += 1
            size = 0
            found = n_found  # targets settled, those kept from the baseline counted
            for i in range(n_aff):
                x = listed[i]
                stamp[x] = ep
                dist[x] = np.inf
                if target_of_node[x] >= 0:
                    found -= 1
            nt = n_aff
            for i in range(nf):  # the frontier, whose parents are settled
                x = frontier[i]
                stamp[x] = ep
                listed[nt] = x
                nt += 1
                c = came[x]
                if slow[c & 0xFFFFFFFF] | o_aff[c >> 32]:
                    dist[x] = np.inf  # affected: seeded below
                else:
                    dist[x] = dist0[x]
                    size = heap_set(hd, hn, pos, size, dist0[x], x, OUT)
            if cut and o_aff[ns0 - 1] == 0:  # the last node settled, whose arcs it left
                x = order[ns0 - 1]
                stamp[x] = ep
                listed[nt] = x
                nt += 1
                dist[x] = dist0[x]
                size = heap_set(hd, hn, pos, size, dist0[x], x, OUT)
            # 2. an affected node's best arc from an unaffected one (a baseline arc at its
            # minutes in the scenario; an arc the scenario adds is seeded below)
            a0 = slow_ptr[k]
            a1 = slow_ptr[k + 1]
            for i in range(nt):
                y = listed[i]
                if dist[y] < np.inf:  # an unaffected node of the frontier
                    continue
                best = np.inf
                for r in range(rptr[y], rptr[y + 1]):
                    x = r_tail[r]
                    dx = dist[x] if stamp[x] == ep else dist0[x]
                    if dx == np.inf:
                        continue
                    j = r_arc[r]
                    w = weights[j] if slow[j] == 0 else _slowed(slow_ids[a0:a1],
                                                                 slow_w[a0:a1], j)
                    nd = dx + w
                    if nd < best:
                        best = nd
                if best <= lim:
                    dist[y] = best
                    size = heap_set(hd, hn, pos, size, best, y, OUT)
            # arcs the scenario adds or makes faster
            for j in range(dec_ptr[k], dec_ptr[k + 1]):
                x = dec_u[j]
                y = dec_v[j]
                dx = dist[x] if stamp[x] == ep else dist0[x]
                dy = dist[y] if stamp[y] == ep else dist0[y]
                nd = dx + dec_w[j]
                if nd > lim or nd >= dy:
                    continue
                if stamp[y] != ep:
                    stamp[y] = ep
                    listed[nt] = y
                    nt += 1
                    at = OUT
                else:
                    at = pos[y]
                dist[y] = nd
                size = heap_set(hd, hn, pos, size, nd, y, at)
            # 3. Dijkstra on the scenario's graph
            while size > 0:
                # every target settled, and nothing left that could lower a kept one
                if found == n_targets and hd[0] >= kept:
                    break
                d, x, size = heap_pop(hd, hn, pos, size)
                t = target_of_node[x]
                if t >= 0 and not (pos0[x] == SETTLED and o_aff[t_rank[t]] == 0):
                    found += 1
                for j in range(sp[x], sp[x + 1]):
                    y = si[j]
                    nd = d + sw[j]
                    if nd > lim:
                        continue
                    if stamp[y] == ep:
                        if nd >= dist[y]:
                            continue
                        at = pos[y]
                        if at == SETTLED:
                            continue
                    else:
                        if nd >= dist0[y]:
                            continue
                        stamp[y] = ep
                        listed[nt] = y
                        nt += 1
                        at = OUT
                    dist[y] = nd
                    size = heap_set(hd, hn, pos, size, nd, y, at)
            # the pairs: the baseline's where the node kept its cost, then those set here
            for i in range(n_found):
                if stamp[found_x[i]] != ep:
                    out_k, out_s, out_t, out_c, n_out = _emit(
                        out_k, out_s, out_t, out_c, n_out, k + 1, s, found_t[i], found_c[i])
            for i in range(nt):
                x = listed[i]
                t = target_of_node[x]
                if t >= 0 and dist[x] < np.inf and dist[x] <= lim:  # reached
                    out_k, out_s, out_t, out_c, n_out = _emit(out_k, out_s, out_t, out_c,
                                                              n_out, k + 1, s, t, dist[x])
                dist[x] = np.inf  # as a search from scratch expects them
                pos[x] = OUT
        for i in range(ns0):  # reset only what the baseline touched
            dist0[order[i]] = np.inf
            pos0[order[i]] = OUT
        for i in range(nf):
            dist0[frontier[i]] = np.inf
            pos0[frontier[i]] = OUT
    return out_k[:n_out], out_s[:n_out], out_t[:n_out], out_c[:n_out]
