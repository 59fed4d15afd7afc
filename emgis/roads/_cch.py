"""Compiled kernels: customizable contraction hierarchies (CCH) for one-to-many times from
many sources on graphs that share their nodes and differ in their minutes.

A what-if page searches from every candidate and existing unit to the villages on the
baseline's graph and on each scenario's (the same nodes, some arcs closed or slowed or
added): hundreds of searches that each cover most of a county. A CCH (Dibbelt, Strasser and
Wagner, *Customizable Contraction Hierarchies*, ACM JEA 21, 2016) splits that work in three:

1. an order of the nodes by nested dissection of the undirected graph with the nodes' points
   (:func:`nd_order_xy`: each part halved along x or y and cut by the nodes
   next to the other half, the cut ranked above both halves), made once;
2. the *contraction* of that order (:func:`contract`): each node's upward neighbours once
   every lower node is eliminated (a chordal supergraph), also from the topology alone;
3. a *customization* per graph's minutes (:func:`customize`): each upward arc's least
   minutes up and down over its lower triangles (:func:`downward` lists them), in the order
   of the ranks.

A query from a source (:func:`cch_pairs`) then walks the source's ancestors in the
elimination tree upward and sweeps the ancestors of the targets downward (RPHAST, Delling,
Goldberg and Werneck, 2011) without a heap. The minutes are the least over the same paths
as a Dijkstra search finds them, but summed in another grouping, so they may differ from a
search's in the last bits (``tests/roads/test_cch.py`` holds them to
:func:`emgis.roads.routing.pairs_within`'s within 1e-9).

Every node is numbered by its rank here: the callers relabel the graph first.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emgis.roads._bounded import room_for
from emgis.roads._sorted import lower_bound


@njit(cache=True)
def contract(optr, oidx):  # type: ignore[no-untyped-def]
    """The upward neighbours of each node (nodes numbered by rank) once all lower nodes are
    eliminated, from each node's original upward neighbours ``optr/oidx`` (CSR, any order):
    a node's list is its own upward neighbours and its children's lists in the elimination
    tree, less itself. Returns ``(cptr, cidx, parent)``: the lists sorted ascending and each
    node's parent (its lowest upward neighbour, -1 for a root)."""
    n = optr.shape[0] - 1
    parent = np.full(n, -1, dtype=np.int64)
    child_head = np.full(n, -1, dtype=np.int64)
    child_next = np.full(n, -1, dtype=np.int64)
    mark = np.full(n, -1, dtype=np.int64)
    cptr = np.zeros(n + 1, dtype=np.int64)
    cap = max(16, 4 * oidx.shape[0])
    cidx = np.empty(cap, dtype=np.int32)
    tmp = np.empty(max(n, 1), dtype=np.int64)
    used = 0
    for v in range(n):
        k = 0
        for j in range(optr[v], optr[v + 1]):
            u = oidx[j]
            if u > v and mark[u] != v:
                mark[u] = v
                tmp[k] = u
                k += 1
        c = child_head[v]
        while c >= 0:
            for j in range(cptr[c] + 1, cptr[c + 1]):  # the first is v itself
                u = cidx[j]
                if mark[u] != v:
                    mark[u] = v
                    tmp[k] = u
                    k += 1
            c = child_next[c]
        row = np.sort(tmp[:k])
        if used + k > cap:
            while used + k > cap:
                cap *= 2
            grown = np.empty(cap, dtype=np.int32)
            grown[:used] = cidx[:used]
            cidx = grown
        cidx[used:used + k] = row
        used += k
        cptr[v + 1] = used
        if k:
            p = row[0]
            parent[v] = p
            child_next[v] = child_head[p]
            child_head[p] = v
    return cptr, cidx[:used].copy(), parent


@njit(cache=True, inline="always")
def _find(cidx, a, b, u):  # type: ignore[no-untyped-def]
    """The place of ``u`` in the sorted ``cidx[a:b]`` (-1 if absent)."""
    at = lower_bound(cidx, a, b, u)
    return at if at < b and cidx[at] == u else -1


@njit(cache=True)
def downward(cptr, cidx):  # type: ignore[no-untyped-def]
    """For each node ``u``, the upward arcs that end at it (their places in ``cidx``, by
    their lower end) and where each lower end's list ends: ``(dptr, darc, dend)``."""
    n = cptr.shape[0] - 1
    m = cidx.shape[0]
    dptr = np.zeros(n + 1, dtype=np.int64)
    for a in range(m):
        dptr[cidx[a] + 1] += 1
    for u in range(n):
        dptr[u + 1] += dptr[u]
    fill = dptr[:-1].copy()
    if m >= 2**31 - 1:  # places held as 32-bit integers
        raise ValueError("a contraction of 2**31 arcs or more")
    darc = np.empty(m, dtype=np.int32)
    dend = np.empty(m, dtype=np.int32)
    for v in range(n):
        for a in range(cptr[v], cptr[v + 1]):
            u = cidx[a]
            darc[fill[u]] = a
            dend[fill[u]] = cptr[v + 1]
            fill[u] += 1
    return dptr, darc, dend


@njit(cache=True, nogil=True)
def customize(cptr, cidx, dptr, darc, dend, tails, heads, w):  # type: ignore[no-untyped-def]
    """Each upward arc's minutes for the arcs ``tails -> heads`` (``w``, nodes numbered by
    rank): ``(up, down)``, the least minutes from the lower end to the upper and back (inf
    where there is no path), after every lower triangle.

    The arcs of node ``u`` are finished in the order of the ranks, each from the triangles
    below it (``u`` and the upper end both above a lower node ``v``: :func:`downward` lists
    those ``v``), whose arcs from ``v`` are finished already."""
    n = cptr.shape[0] - 1
    m = cidx.shape[0]
    up = np.full(m, np.inf)
    dn = np.full(m, np.inf)
    pos = np.full(n, -1, dtype=np.int64)
    for k in range(tails.shape[0]):
        a = tails[k]
        b = heads[k]
        if a < b:
            at = _find(cidx, cptr[a], cptr[a + 1], b)
            if w[k] < up[at]:
                up[at] = w[k]
        elif b < a:
            at = _find(cidx, cptr[b], cptr[b + 1], a)
            if w[k] < dn[at]:
                dn[at] = w[k]
    for u in range(n):
        for q in range(cptr[u], cptr[u + 1]):
            pos[cidx[q]] = q
        for e in range(dptr[u], dptr[u + 1]):
            a = darc[e]  # the arc v -> u, v below u
            up_vu = up[a]
            dn_vu = dn[a]
            for j in range(a + 1, dend[e]):  # v's arcs to nodes above u
                q = pos[cidx[j]]  # among u's arcs: the contraction is chordal
                c1 = dn_vu + up[j]
                if c1 < up[q]:
                    up[q] = c1
                c2 = dn[j] + up_vu
                if c2 < dn[q]:
                    dn[q] = c2
    return up, dn


@njit(cache=True)
def select(cptr, cidx, parent, targets):  # type: ignore[no-untyped-def]
    """The targets' ancestors in the elimination tree, the highest first, and the downward
    sweep over them: ``(nodes, place, sw_ptr, sw_from, sw_arc)`` where ``place`` is each
    node's place in ``nodes`` (-1 outside) and node ``nodes[i]`` takes the least of its own
    cost and ``cost[sw_from[e]] + down[sw_arc[e]]`` over ``sw_ptr[i] <= e < sw_ptr[i + 1]``."""
    n = cptr.shape[0] - 1
    inside = np.zeros(n, dtype=np.bool_)
    for t in targets:
        x = t
        while x >= 0 and not inside[x]:
            inside[x] = True
            x = parent[x]
    k = 0
    for x in range(n):
        if inside[x]:
            k += 1
    nodes = np.empty(k, dtype=np.int64)
    place = np.full(n, -1, dtype=np.int64)
    i = 0
    for x in range(n - 1, -1, -1):
        if inside[x]:
            nodes[i] = x
            place[x] = i
            i += 1
    sw_ptr = np.zeros(k + 1, dtype=np.int64)
    for i in range(k):
        x = nodes[i]
        sw_ptr[i + 1] = sw_ptr[i] + cptr[x + 1] - cptr[x]
    sw_from = np.empty(sw_ptr[k], dtype=np.int32)
    sw_arc = np.empty(sw_ptr[k], dtype=np.int32)
    for i in range(k):
        x = nodes[i]
        e = sw_ptr[i]
        for a in range(cptr[x], cptr[x + 1]):
            sw_from[e] = place[cidx[a]]
            sw_arc[e] = a
            e += 1
    return nodes, place, sw_ptr, sw_from, sw_arc


@njit(cache=True)
def _halve(buf, s, m, x, y, d, side, proj):  # type: ignore[no-untyped-def]
    """Side 0 for the lower half of the part ``buf[s:s + m]`` by x (``d`` 0) or y (1), side 1
    for the rest (equal values in the part's order)."""
    for k in range(m):
        proj[k] = x[buf[s + k]] if d == 0 else y[buf[s + k]]
    order = np.argsort(proj[:m], kind="mergesort")
    half = m // 2
    for k in range(m):
        side[buf[s + order[k]]] = 0 if k < half else 1


@njit(cache=True, inline="always")
def _on_border(v, uptr, uidx, seg, g, side):  # type: ignore[no-untyped-def]
    """Whether node ``v`` has a neighbour in part ``g`` on the other side."""
    for j in range(uptr[v], uptr[v + 1]):
        u = uidx[j]
        if seg[u] == g and side[u] != side[v]:
            return True
    return False


@njit(cache=True)
def nd_order_xy(uptr, uidx, x, y, leaf):  # type: ignore[no-untyped-def]
    """The rank of each node by nested dissection with the nodes' points: each part of more
    than ``leaf`` nodes is halved at the median of x or of y, cut by the nodes of one half
    next to the other (the fewest of the four), and the cut ranked above both halves. (The
    two diagonals as well gave cuts no smaller on the county, at twice the time.)"""
    n = uptr.shape[0] - 1
    leaf = max(leaf, 1)  # a part of one node is never cut
    rank = np.full(n, -1, dtype=np.int64)
    buf = np.arange(n, dtype=np.int64)
    seg = np.zeros(n, dtype=np.int64)
    side = np.zeros(n, dtype=np.int8)
    tmp = np.empty(n, dtype=np.int64)
    cut = np.zeros(n, dtype=np.bool_)
    kept = np.zeros(n, dtype=np.int8)
    proj = np.empty(n)
    st_s = np.empty(n + 2, dtype=np.int64)
    st_e = np.empty(n + 2, dtype=np.int64)
    st_lo = np.empty(n + 2, dtype=np.int64)
    st_id = np.empty(n + 2, dtype=np.int64)
    if n == 0:
        return rank
    st_s[0] = 0
    st_e[0] = n
    st_lo[0] = 0
    st_id[0] = 0
    top = 1
    next_id = 1
    while top > 0:
        top -= 1
        s = st_s[top]
        e = st_e[top]
        lo = st_lo[top]
        g = st_id[top]
        m = e - s
        if m <= leaf:
            for k in range(m):
                rank[buf[s + k]] = lo + k
                seg[buf[s + k]] = -1
            continue
        best = m + 1
        best_dir = 0
        best_side = 0
        for d in range(2):
            _halve(buf, s, m, x, y, d, side, proj)
            c0 = 0
            c1 = 0
            for k in range(m):
                v = buf[s + k]
                if _on_border(v, uptr, uidx, seg, g, side):
                    if side[v] == 0:
                        c0 += 1
                    else:
                        c1 += 1
            if c0 < best:
                best = c0
                best_dir = d
                best_side = 0
            if c1 < best:
                best = c1
                best_dir = d
                best_side = 1
            if d == 0:  # x's halves kept, should they be the best
                for k in range(m):
                    kept[k] = side[buf[s + k]]
        if best_dir == 0:
            for k in range(m):
                side[buf[s + k]] = kept[k]
        # the cut: the nodes of best_side with a neighbour on the other side
        na = 0
        nb = 0
        ns = 0
        for k in range(m):
            v = buf[s + k]
            tmp[k] = v
            cut[k] = side[v] == best_side and _on_border(v, uptr, uidx, seg, g, side)
            if cut[k]:
                ns += 1
            elif side[v] == 0:
                na += 1
            else:
                nb += 1
        for k in range(m):
            if cut[k]:
                side[tmp[k]] = 2
        ia = s
        ib = s + na
        isep = s + na + nb
        for k in range(m):
            v = tmp[k]
            if side[v] == 0:
                buf[ia] = v
                ia += 1
                seg[v] = next_id
            elif side[v] == 1:
                buf[ib] = v
                ib += 1
                seg[v] = next_id + 1
            else:
                buf[isep] = v
                rank[v] = lo + na + nb + (isep - s - na - nb)
                seg[v] = -1
                isep += 1
        if na:
            st_s[top] = s
            st_e[top] = s + na
            st_lo[top] = lo
            st_id[top] = next_id
            top += 1
        if nb:
            st_s[top] = s + na
            st_e[top] = s + na + nb
            st_lo[top] = lo + na
            st_id[top] = next_id + 1
            top += 1
        next_id += 2
    return rank


@njit(cache=True, nogil=True)
def cch_pairs(cptr, cidx, parent, up, place, sw_ptr, sw_from, sw_w,  # type: ignore[no-untyped-def]
              sources, limits, target_node_place, width):
    """The (source, target, minutes) of every target within each source's limit.

    ``width`` sources at a time: each walks its ancestors in the elimination tree upward
    (``up``, the upward minutes), then one sweep over :func:`select`'s nodes takes them all
    downward (``sw_w``, the down minutes of the sweep's arcs). ``sources`` are nodes
    numbered by rank (-1 for none), ``limits`` their largest minutes (below 0 for none) and
    ``target_node_place`` each target's place among the sweep's nodes (-1 for none). Pairs
    come sorted by source then target."""
    n = cptr.shape[0] - 1
    k = sw_ptr.shape[0] - 1
    ns = sources.shape[0]
    nt = target_node_place.shape[0]
    val = np.full(n, np.inf)
    d = np.empty((k, width))
    best = np.empty(width)
    out_s = np.empty(1024, dtype=np.int64)
    out_t = np.empty(1024, dtype=np.int64)
    out_c = np.empty(1024)
    n_out = 0
    for b0 in range(0, ns, width):
        b1 = min(ns, b0 + width)
        d[:, :] = np.inf
        for si in range(b0, b1):
            s = sources[si]
            if s < 0 or not limits[si] >= 0:
                continue
            col = si - b0
            val[s] = 0.0
            x = s
            while x >= 0:  # the source's ancestors, upward
                dx = val[x]
                if dx < np.inf:
                    for a in range(cptr[x], cptr[x + 1]):
                        u = cidx[a]
                        nd = dx + up[a]
                        if nd < val[u]:
                            val[u] = nd
                if place[x] >= 0:
                    d[place[x], col] = dx
                val[x] = np.inf
                x = parent[x]
        for i in range(k):  # the targets' ancestors, downward, all sources at once
            for c in range(width):
                best[c] = d[i, c]
            for e in range(sw_ptr[i], sw_ptr[i + 1]):
                f = sw_from[e]
                w = sw_w[e]
                for c in range(width):
                    v = d[f, c] + w
                    if v < best[c]:
                        best[c] = v
            for c in range(width):
                d[i, c] = best[c]
        for si in range(b0, b1):
            lim = limits[si]
            if sources[si] < 0 or not lim >= 0:
                continue
            out_s, out_t, out_c = room_for(out_s, out_t, out_c, n_out, nt)
            for j in range(nt):
                pl = target_node_place[j]
                if pl < 0:
                    continue
                c = d[pl, si - b0]
                if c <= lim and c < np.inf:
                    out_s[n_out] = si
                    out_t[n_out] = j
                    out_c[n_out] = c
                    n_out += 1
    return out_s[:n_out], out_t[:n_out], out_c[:n_out]
