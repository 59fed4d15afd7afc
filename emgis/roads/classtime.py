"""Minutes per road class: where a route's time is spent, and routing graphs at other speeds.

A driving :class:`~emgis.roads.routing.RoutingGraph` is made of *pieces* of road edges (a
location splits the edge it lies on) plus zero-minute links; an edge merged from OSM segments
keeps each segment's own speed and class (``EdgeArrays.vclass``). This module splits every
piece's minutes by *speed group*:

- a road class timed at its class speed (``[speeds]``: ``primary``, ``tertiary`` ...; a
  ``*_link`` road takes its class's speed and group, a class the table does not name the
  ``[network] default_class``'s);
- ``posted``: a segment timed at its own speed rather than its class's (an OSM ``maxspeed``
  derated by ``[network] maxspeed_factor``, a register's design speed, a ``speed_field``);
- ``offroad``: the access legs between a location and its road (the ``offroad`` speed).

Two things follow, both exact:

1. **Scaled graphs** (:meth:`ClassTimes.scaled`): with a factor per group (a speed x f takes
   minutes / f), each arc's minutes are ``sum_g minutes_g / f_g``, the minimum over the
   parallel pieces an arc stands for (which of two parallel roads is faster can change with
   the factors), zero-minute links staying zero. The CSR structure is shared; only the weights
   change, so every search of :mod:`emgis.roads.routing` runs on it unchanged. A sample of the
   uncertainty analysis and a calibrated network are such graphs.
2. **A route's minutes per group** (:func:`route_minutes`): Dijkstra with predecessors from
   each source (scipy), then each target's path is walked back arc by arc (a compiled loop)
   summing the arcs' per-group minutes. The path is the one whose total is the model's time, so
   the groups add up to it exactly (ties between equal paths aside); a search that carried a
   vector of group minutes per node would give the same at more memory per node.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from numba import njit
from scipy.sparse.csgraph import dijkstra

from emgis._arrays import ranges
from emgis._types import FloatArray, IntArray
from emgis.inputs.settings import Settings
from emgis.roads._scale import scaled_minutes
from emgis.roads.edges import EdgeArrays
from emgis.roads.routing import RoutingGraph

#: The group of segments timed at their own speed (maxspeed, register grade, speed field).
POSTED = "posted"
#: The group of the access legs.
OFFROAD = "offroad"
#: A segment is timed at its class speed when its speed is within this share of it.
CLASS_SPEED_TOL = 0.01


def speed_group(cls: str, settings: Settings) -> str:
    """The ``[speeds]`` key whose speed a road class takes (``primary_link`` -> ``primary``,
    an unknown class -> ``[network] default_class``)."""
    c = cls.removesuffix("_link")
    return c if c in settings.speeds else settings.network.default_class


def segment_groups(ea: EdgeArrays, settings: Settings) -> tuple[npt.NDArray[np.int64],
                                                                 tuple[str, ...]]:
    """The speed group of the segment starting at every vertex, and the groups' names (road
    classes in first-seen order, then ``posted`` and ``offroad``)."""
    names: list[str] = []
    of_class = np.zeros(len(ea.classes), dtype=np.int64)
    class_kph = np.zeros(len(ea.classes))
    for i, c in enumerate(ea.classes):
        g = speed_group(str(c), settings)
        if g not in names:
            names.append(g)
        of_class[i] = names.index(g)
        class_kph[i] = settings.speed_kph(str(c))
    posted = len(names)
    names += [POSTED, OFFROAD]
    seg_len = np.diff(ea.vdist)
    seg_t = np.diff(ea.vtime)
    cls = ea.vclass[:-1].astype(np.int64)
    kph = np.divide(seg_len, seg_t, out=np.zeros(len(seg_t)), where=seg_t > 0) * 3.6
    own = np.abs(kph - class_kph[cls]) > CLASS_SPEED_TOL * class_kph[cls]
    group = np.where(own & (seg_t > 0), posted, of_class[cls])
    return np.r_[group, 0].astype(np.int64), tuple(names)


def _piece_groups(ea: EdgeArrays, seg_group: npt.NDArray[np.int64], n_groups: int,
                  pe: IntArray, f0: FloatArray, f1: FloatArray) -> sp.csr_matrix:
    """Minutes of each piece (edge ``pe`` between fractions ``f0`` and ``f1``) per group."""
    n_p = len(pe)
    seg_t = np.diff(ea.vtime)
    edge_of_vertex = np.repeat(np.arange(ea.n_edges), np.diff(ea.vptr))
    # per edge and group, for whole pieces
    last = np.zeros(len(ea.vdist), dtype=bool)
    last[ea.vptr[1:] - 1] = True
    real = np.flatnonzero(~last[:-1])
    whole_edge = sp.csr_matrix((seg_t[real] / 60.0, (edge_of_vertex[real], seg_group[real])),
                               shape=(ea.n_edges, n_groups))
    whole = (f0 <= 0.0) & (f1 >= 1.0)
    rows = [whole_edge[pe[whole]]]
    idx = [np.flatnonzero(whole)]
    part = np.flatnonzero(~whole)
    if len(part):
        e = pe[part]
        start = ea.vptr[e]
        count = ea.vptr[e + 1] - start - 1  # segments of the edge
        rep = np.repeat(np.arange(len(part)), count)
        k = ranges(start, count)
        d0 = (f0[part] * ea.length[e])[rep]
        d1 = (f1[part] * ea.length[e])[rep]
        lo = np.maximum(d0, ea.vdist[k])
        hi = np.minimum(d1, ea.vdist[k + 1])
        seg_len = ea.vdist[k + 1] - ea.vdist[k]
        share = np.divide(np.maximum(hi - lo, 0.0), seg_len, out=np.zeros(len(k)),
                          where=seg_len > 0)
        rows.append(sp.csr_matrix((share * seg_t[k] / 60.0, (rep, seg_group[k])),
                                  shape=(len(part), n_groups)))
        idx.append(part)
    stacked = sp.vstack(rows, format="csr")
    order = np.argsort(np.concatenate(idx), kind="stable")
    out: sp.csr_matrix = stacked[order]
    out.sum_duplicates()
    assert out.shape == (n_p, n_groups)
    return out


@dataclass(frozen=True)
class ClassTimes:
    """A driving routing graph's minutes split by speed group (see the module's text).

    Attributes
    ----------
    graph
        The routing graph (forward, driving, without hazards).
    groups
        Names of the speed groups: road classes, ``posted``, ``offroad``.
    piece
        Minutes of each piece of the graph per group (pieces x groups).
    arc_lo, arc_hi
        The pieces an arc of the CSR graph stands for: ``order[arc_lo[a]:arc_hi[a]]`` (none
        for a zero-minute link).
    order
        The pieces sorted by (start node, end node).
    link
        Arcs that are (or are parallel to) a zero-minute link: always zero.
    access
        Minutes of each location's access leg (all ``offroad``).
    piece_m
        Metres of each piece.
    access_m
        Metres of each location's access leg.
    """

    graph: RoutingGraph
    groups: tuple[str, ...]
    piece: sp.csr_matrix
    arc_lo: IntArray
    arc_hi: IntArray
    order: IntArray
    link: npt.NDArray[np.bool_]
    access: FloatArray
    piece_m: FloatArray
    access_m: FloatArray

    @property
    def n_groups(self) -> int:
        """Number of speed groups."""
        return len(self.groups)

    def factors(self, by_group: Mapping[str, float] | None = None) -> FloatArray:
        """A factor per group (1 where ``by_group`` does not name it)."""
        f = np.ones(self.n_groups)
        for name, value in (by_group or {}).items():
            if name in self.groups:
                f[self.groups.index(name)] = float(value)
        return f

    @functools.cached_property
    def _spans(self) -> tuple[npt.NDArray[np.bool_], IntArray, IntArray]:
        """The arcs with pieces (not links), and where their pieces start and end in
        :attr:`order`."""
        has = (self.arc_hi > self.arc_lo) & ~self.link
        return has, self.arc_lo[has], self.arc_hi[has]

    @functools.cached_property
    def _span_arcs(self) -> IntArray:
        """The arcs with pieces (:attr:`_spans`), by position."""
        return np.flatnonzero(self._spans[0])

    def _chosen(self, inverse: FloatArray) -> IntArray:
        """The piece each arc takes with ``1 / factor`` per group: its fastest (-1: a
        link)."""
        pw = np.asarray(self.piece @ inverse, dtype=float).ravel()
        chosen = np.full(len(self.arc_lo), -1, dtype=np.int64)
        has, lo, hi = self._spans
        if has.any():
            # the piece reaching the minimum (parallel pieces are rare: a short loop)
            first = self.order[lo]
            multi = np.flatnonzero(hi - lo > 1)
            pick = first.copy()
            for j in multi:
                seg = self.order[lo[j]:hi[j]]
                pick[j] = seg[int(np.argmin(pw[seg]))]
            chosen[has] = pick
        return chosen

    def scaled(self, factors: npt.ArrayLike) -> RoutingGraph:
        """The graph with every group's speed times its factor (minutes / factor): the same
        arcs and locations, new weights and access legs."""
        f = np.asarray(factors, dtype=float)
        g = self.graph
        off = self.groups.index(OFFROAD)
        p = self.piece
        pw, w = scaled_minutes(p.indptr, p.indices, p.data, 1.0 / f, self.order,
                               self._span_arcs, self._spans[1], len(self.arc_lo))
        return dataclasses.replace(g, weights=w,
                                   loc_access=self.access / f[off],
                                   piece_w=np.where(np.isfinite(g.piece_w), pw, np.inf)
                                   if g.piece_w is not None else None)

    def arc_groups(self, factors: npt.ArrayLike | None = None) -> sp.csr_matrix:
        """Per arc, the nominal minutes per group of the piece it takes under ``factors``,
        and its metres in a last column (arcs x (groups + 1); zero rows for links)."""
        if factors is None:
            return self._nominal_groups
        return self._arc_groups(np.asarray(factors, dtype=float))

    @functools.cached_property
    def _nominal_groups(self) -> sp.csr_matrix:
        """:meth:`arc_groups` at nominal speeds, made once (each kind of the uncertainty
        analysis asks for it: 0.2 s each on a province)."""
        return self._arc_groups(np.ones(self.n_groups))

    def _arc_groups(self, f: FloatArray) -> sp.csr_matrix:
        """:meth:`arc_groups` under the factors ``f`` (one per group)."""
        chosen = self._chosen(1.0 / f)
        rows = np.flatnonzero(chosen >= 0)
        sel = self.piece[chosen[rows]].tocoo()
        g = self.n_groups
        return sp.csr_matrix((np.concatenate([sel.data, self.piece_m[chosen[rows]]]),
                              (np.concatenate([rows[sel.row], rows]),
                               np.concatenate([sel.col, np.full(len(rows), g)]))),
                             shape=(len(chosen), g + 1))


def class_times(graph: RoutingGraph, network: EdgeArrays, settings: Settings) -> ClassTimes:
    """Split a driving routing graph (built by :func:`emgis.roads.routing.build_routing_graph`
    on ``network`` without hazards or penalties) by speed group.

    Raises
    ------
    ValueError
        A walking or reversed graph, a network with hazards or penalties, or a graph without
        its pieces.
    """
    g = graph
    if g.walk or g.flipped or g.piece_edge is None or g.piece_f0 is None or g.piece_f1 is None \
            or g.piece_a is None or g.piece_b is None or g.piece_w is None:
        raise ValueError("class_times needs a forward driving graph with its pieces")
    if network.penalty is not None or (network.hazards is not None and len(network.hazards)):
        raise ValueError("class_times needs the network without a scenario's hazards")
    seg_group, names = segment_groups(network, settings)
    piece = _piece_groups(network, seg_group, len(names), g.piece_edge, g.piece_f0,
                          g.piece_f1)
    n = np.int64(g.n_nodes)
    keys = g.piece_a * n + g.piece_b
    order = np.argsort(keys, kind="stable").astype(np.int64)
    sk = keys[order]
    rows = np.repeat(np.arange(g.n_nodes, dtype=np.int64), np.diff(g.indptr))
    arc_keys = rows * n + g.indices
    lo = np.searchsorted(sk, arc_keys, side="left").astype(np.int64)
    hi = np.searchsorted(sk, arc_keys, side="right").astype(np.int64)
    pw = np.asarray(piece.sum(axis=1)).ravel()
    best = np.full(len(arc_keys), np.inf)
    has = hi > lo
    if has.any():
        best[has] = np.minimum.reduceat(pw[order], lo[has]) if len(order) else np.inf
    # a zero-minute link parallel to a piece: the graph kept the link
    margin = np.where(has, best - 1e-9 * np.maximum(np.where(has, best, 1.0), 1.0), 0.0)
    link = ~has | (g.weights < margin)
    access = np.where(np.isfinite(g.loc_access), g.loc_access, np.inf)
    piece_m = (g.piece_f1 - g.piece_f0) * network.length[g.piece_edge]
    access_m = access * settings.speed_kph("offroad") * 1000.0 / 60.0
    return ClassTimes(g, names, piece, lo, hi, order, link, access, piece_m, access_m)


@njit(cache=True)
def _walk(pred, pred_row, start, target, indptr, indices, ag_ptr, ag_col, ag_val, n_groups):  # type: ignore[no-untyped-def]
    """Per record, the group minutes of the path from ``start`` to ``target`` (predecessor
    row ``pred_row``); -1 in the first column where the target is not reached."""
    n = target.shape[0]
    out = np.zeros((n, n_groups))
    ok = np.ones(n, dtype=np.bool_)
    for r in range(n):
        node = target[r]
        src = start[r]
        row = pred_row[r]
        if node < 0 or src < 0 or row < 0:
            ok[r] = False
            continue
        steps = 0
        while node != src:
            p = pred[row, node]
            if p < 0:
                ok[r] = False
                break
            arc = -1
            for a in range(indptr[p], indptr[p + 1]):
                if indices[a] == node:
                    arc = a
                    break
            if arc < 0:
                ok[r] = False
                break
            for q in range(ag_ptr[arc], ag_ptr[arc + 1]):
                out[r, ag_col[q]] += ag_val[q]
            node = p
            steps += 1
            if steps > indptr.shape[0]:
                ok[r] = False
                break
    return out, ok


#: Sources searched at once by :func:`route_minutes` (each holds a row of every node).
CHUNK = 32


def route_minutes(ct: ClassTimes, sources: npt.ArrayLike, targets: npt.ArrayLike, *,
                  factors: npt.ArrayLike | None = None
                  ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Minutes per speed group of the fastest route of each (source, target) pair of
    locations, access legs included, at nominal speeds, along the route that is fastest under
    ``factors`` (default: nominal).

    Returns
    -------
    (minutes, total, metres)
        ``minutes``: pairs x groups (NaN rows where the target is not reached, or either
        location is off the network); ``total``: each route's minutes under ``factors``;
        ``metres``: its length, access legs included.
    """
    src = np.asarray(sources, dtype=np.int64)
    tgt = np.asarray(targets, dtype=np.int64)
    f = np.ones(ct.n_groups) if factors is None else np.asarray(factors, dtype=float)
    rg = ct.scaled(f) if factors is not None else ct.graph
    ag = ct.arc_groups(None if factors is None else f)
    csr = sp.csr_matrix((np.maximum(rg.weights, 1e-12), rg.indices, rg.indptr),
                        shape=(rg.n_nodes, rg.n_nodes))
    g = ct.graph
    out = np.full((len(src), ct.n_groups + 1), np.nan)
    snode = g.loc_node[src]
    tnode = g.loc_node[tgt]
    off = ct.groups.index(OFFROAD)
    uniq = np.unique(snode[snode >= 0])
    for c in range(0, len(uniq), CHUNK):
        nodes = uniq[c:c + CHUNK]
        _, pred = dijkstra(csr, directed=True, indices=nodes, return_predecessors=True)
        pred = np.atleast_2d(pred).astype(np.int64)
        rec = np.flatnonzero(np.isin(snode, nodes) & (tnode >= 0))
        if not len(rec):
            continue
        row = np.searchsorted(nodes, snode[rec]).astype(np.int64)
        m, ok = _walk(pred, row, snode[rec], tnode[rec], g.indptr, g.indices, ag.indptr,
                      ag.indices.astype(np.int64), ag.data, ct.n_groups + 1)
        m[:, off] += ct.access[src[rec]] + ct.access[tgt[rec]]
        m[:, -1] += ct.access_m[src[rec]] + ct.access_m[tgt[rec]]
        m[~ok] = np.nan
        m[~np.isfinite(m).all(axis=1)] = np.nan
        out[rec] = m
    minutes = out[:, :-1]
    return minutes, minutes @ (1.0 / f), out[:, -1]


def group_factors(groups: Sequence[str], by_group: Mapping[str, float]) -> FloatArray:
    """A factor per group from a mapping (1 where it does not name the group)."""
    return np.array([float(by_group.get(g, 1.0)) for g in groups])


@njit(cache=True)
def _walk_tree(pred, root, target, indptr, indices, ag_ptr, ag_col, ag_val, n_cols):  # type: ignore[no-untyped-def]
    """Per target, the group minutes of its path in a shortest-path tree grown from ``root``
    (a node joined to every source), and the source node the path starts at (-1: not
    reached)."""
    n = target.shape[0]
    out = np.zeros((n, n_cols))
    start = np.full(n, -1, dtype=np.int64)
    for r in range(n):
        node = target[r]
        if node < 0:
            continue
        steps = 0
        while True:
            p = pred[node]
            if p < 0:
                break
            if p == root:
                start[r] = node
                break
            arc = -1
            for a in range(indptr[p], indptr[p + 1]):
                if indices[a] == node:
                    arc = a
                    break
            if arc < 0:
                break
            for q in range(ag_ptr[arc], ag_ptr[arc + 1]):
                out[r, ag_col[q]] += ag_val[q]
            node = p
            steps += 1
            if steps > indptr.shape[0]:
                break
    return out, start


def nearest_routes(ct: ClassTimes, sources: npt.ArrayLike, offsets: npt.ArrayLike,
                   targets: npt.ArrayLike, *, limit: float = np.inf
                   ) -> tuple[FloatArray, IntArray, FloatArray]:
    """Each target's fastest route from its nearest source (offsets included, as
    :func:`emgis.roads.routing.nearest_two` finds it), split by speed group: one search from a
    root joined to every source by an arc of its offset and access leg.

    Returns
    -------
    (minutes, source, offset)
        ``minutes``: targets x groups, access legs in ``offroad`` (NaN rows where no source
        reaches the target within ``limit``); ``source``: the position in ``sources`` of the
        source the route starts at (-1); ``offset``: that source's offset.
    """
    src = np.asarray(sources, dtype=np.int64)
    off = np.asarray(offsets, dtype=float)
    tgt = np.asarray(targets, dtype=np.int64)
    g = ct.graph
    n = g.n_nodes
    snode = g.loc_node[src]
    seed = off + ct.access[src]
    ok = (snode >= 0) & np.isfinite(seed)
    out = np.full((len(tgt), ct.n_groups), np.nan)
    which = np.full(len(tgt), -1, dtype=np.int64)
    if not ok.any():
        return out, which, np.full(len(tgt), np.nan)
    # the root's arcs: to each source node, its cheapest source
    order = np.lexsort((seed[ok], snode[ok]))
    cand = np.flatnonzero(ok)[order]
    first = np.r_[True, snode[cand][1:] != snode[cand][:-1]]
    best = cand[first]
    # the graph's rows, then the root's (the arcs are distinct: no sums, no reordering)
    indptr = np.append(np.asarray(g.indptr, dtype=np.int64), len(g.indices) + len(best))
    cols = np.concatenate([g.indices, snode[best]])
    data = np.concatenate([np.maximum(g.weights, 1e-12), np.maximum(seed[best], 1e-12)])
    csr = sp.csr_matrix((data, cols, indptr), shape=(n + 1, n + 1))
    _, pred = dijkstra(csr, directed=True, indices=n, return_predecessors=True,
                       limit=limit)
    pred = np.asarray(pred, dtype=np.int64)
    ag = ct.arc_groups()
    tnode = g.loc_node[tgt]
    m, start = _walk_tree(pred, n, tnode, g.indptr, g.indices, ag.indptr,
                          ag.indices.astype(np.int64), ag.data, ct.n_groups + 1)
    reached = start >= 0
    src_of_node = dict(zip(snode[best].tolist(), best.tolist(), strict=True))
    pos = np.array([src_of_node.get(int(s), -1) for s in start], dtype=np.int64)
    offroad = ct.groups.index(OFFROAD)
    mm = m[:, :-1]
    mm[:, offroad] += np.where(reached, ct.access[np.maximum(src[np.maximum(pos, 0)], 0)], 0.0)
    mm[:, offroad] += np.where(tnode >= 0, ct.access[tgt], 0.0)
    out[reached] = mm[reached]
    which[reached] = pos[reached]
    return out, which, np.where(reached, off[np.maximum(pos, 0)], np.nan)
