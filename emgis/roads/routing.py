"""The travel-time engine: routing graphs built once from the road arrays, fast searches on them.

:func:`build_routing_graph` turns the road network's arrays and the snapped locations
(villages, units, shelters, candidate sites) into a CSR graph in minutes:

- each location splits the edge it lies on (both directions of a two-way road), and the time of
  each piece is the exact time of the segments it covers (each OSM segment keeps its speed);
- hazard zones act on parts of edges: a closed part removes only the pieces it overlaps (a
  unit 20 m outside a flood band keeps its road), a slowed part multiplies the time of the
  segments inside;
- walking uses every street both ways once (no duplicate arcs).

Searches:

- :func:`nearest_two` gives, for every location, the nearest and second-nearest *distinct*
  source with their times, in one compiled pass (see :mod:`emgis.roads._top2`); several searches run
  on all cores (:func:`nearest_two_many`);
- :func:`times_from` gives the time from sources to target nodes (scipy.sparse.csgraph, with a
  cutoff), in chunks so that memory stays bounded.

All times are in minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring

from emgis._arrays import ranges
from emgis._types import FloatArray, Int32Array, IntArray
from emgis.roads._arcdiff import arc_diff
from emgis.roads._bounded import bounded_pairs
from emgis.roads._first import first_dijkstra
from emgis.roads._paths import paths_to
from emgis.roads._repair import FRESH_SHARE, repaired_pairs
from emgis.roads._threads import cores, on_threads
from emgis.roads._top2 import top2_dijkstra
from emgis.roads._top2repair import changed_reach, top2_repair
from emgis.roads.edges import EdgeArrays
from emgis.roads.nxio import edge_arrays

Mode = Literal["drive", "walk"]
T = TypeVar("T")
S = TypeVar("S")

#: Fractions this close to an end of an edge count as at that end.
_END = 1e-9
#: Weight of a zero-cost link for scipy (which may drop explicit zeros), minutes.
_TINY = 1e-12
#: Minutes a search goes beyond a pair's limit less its start, and a pair's whole time may
#: exceed its limit and be kept: the rounding of the difference and of the sum must not drop
#: a pair whose time is at its limit (1 + 0.15 against 1.15).
LIMIT_SLACK = 1e-12


@dataclass(frozen=True)
class RoutingGraph:
    """CSR arrays of a road graph with locations inserted as extra nodes.

    Attributes
    ----------
    indptr, indices, weights
        Forward adjacency; ``weights`` in minutes. ``indptr`` and ``indices`` (each arc's
        head) are 32-bit: the compiled searches walk through them, and half the bytes took a
        whole-county search from 10.6 to 9.3 ms (and a province's graphs keep less).
    n_road
        Number of road nodes; location ``i`` is node ``n_road + i`` (if it is on the network).
    node_ids
        The id of each road node.
    edge_u, edge_v, edge_w
        The road edges (indices into the road nodes) and their minutes (inf where closed), in
        the network's edge order.
    loc_node
        Network node of each location, -1 for a location off the network.
    loc_access
        Minutes of each location's access leg.
    piece_edge, piece_f0, piece_f1, piece_a, piece_b, piece_w
        The pieces of road edges the graph is made of (locations split edges): the edge, the
        fractions of its length where the piece starts and ends, its start and end nodes and
        its minutes (inf where closed), sorted by edge and start. Walking graphs hold one edge
        of each two-way pair, walked both ways.
    walk
        Whether this is a walking graph (at ``walk_kph``).
    flipped
        Whether every edge is reversed (:meth:`reversed`).
    """

    indptr: Int32Array
    indices: Int32Array
    weights: FloatArray
    n_road: int
    node_ids: IntArray
    edge_u: IntArray
    edge_v: IntArray
    edge_w: FloatArray
    loc_node: IntArray
    loc_access: FloatArray
    piece_edge: IntArray | None = None
    piece_f0: FloatArray | None = None
    piece_f1: FloatArray | None = None
    piece_a: IntArray | None = None
    piece_b: IntArray | None = None
    piece_w: FloatArray | None = None
    walk: bool = False
    flipped: bool = False
    walk_kph: float = 4.0

    @property
    def n_nodes(self) -> int:
        """Road nodes plus inserted locations."""
        return int(self.indptr.shape[0] - 1)

    def reversed(self) -> RoutingGraph:
        """The same graph with every edge reversed (for trips *to* the sources)."""
        csr = sp.csr_matrix((self.weights, self.indices, self.indptr),
                            shape=(self.n_nodes, self.n_nodes)).T.tocsr()
        csr.sort_indices()
        return RoutingGraph(
            indptr=csr.indptr.astype(np.int32), indices=csr.indices.astype(np.int32),
            weights=csr.data.astype(np.float64), n_road=self.n_road, node_ids=self.node_ids,
            edge_u=self.edge_v, edge_v=self.edge_u, edge_w=self.edge_w,
            loc_node=self.loc_node, loc_access=self.loc_access,
            piece_edge=self.piece_edge, piece_f0=self.piece_f0, piece_f1=self.piece_f1,
            piece_a=self.piece_a, piece_b=self.piece_b, piece_w=self.piece_w, walk=self.walk,
            flipped=not self.flipped, walk_kph=self.walk_kph,
        )

    def csr(self) -> sp.csr_matrix:
        """The adjacency as a scipy CSR matrix (minutes; zero-cost links as 1e-12)."""
        return sp.csr_matrix((np.maximum(self.weights, _TINY), self.indices, self.indptr),
                             shape=(self.n_nodes, self.n_nodes))


def _hazard_extra(ea: EdgeArrays, e: IntArray, fa: FloatArray, fb: FloatArray, *,
                  walk: bool) -> FloatArray:
    """Extra seconds (or metres walking) the hazard parts of each piece add: the cost of the
    overlap times (multiplier - 1); inf where a closed part overlaps the piece."""
    extra = np.zeros(len(e))
    hz = ea.hazards
    if hz is None or len(hz) == 0 or len(e) == 0:
        return extra
    # every (piece, hazard row) pair on the same edge: pieces in their order, each edge's
    # rows in theirs (a join without pandas: the few hit edges' pieces picked by a mask)
    h_edge = hz[:, 0].astype(np.int64)
    by_edge = np.argsort(h_edge, kind="stable")
    h_sorted = h_edge[by_edge]
    hit = np.zeros(max(ea.n_edges, int(e.max()) + 1, int(h_edge.max()) + 1), dtype=bool)
    hit[h_edge] = True
    i = np.flatnonzero(hit[e])
    start = np.searchsorted(h_sorted, e[i], side="left")
    count = np.searchsorted(h_sorted, e[i], side="right") - start
    pi = np.repeat(i, count)
    r = by_edge[ranges(start, count)]
    lo = np.maximum(fa[pi], hz[r, 1])
    hi = np.minimum(fb[pi], hz[r, 2])
    over = hi - lo > 1e-12
    pi, r, lo, hi = pi[over], r[over], lo[over], hi[over]
    if len(pi) == 0:
        return extra
    ed = e[pi]
    cost = (hi - lo) * ea.length[ed] if walk else ea.time_at(ed, hi) - ea.time_at(ed, lo)
    mult = hz[r, 3]
    add = np.where(np.isinf(mult), np.inf, cost * (mult - 1.0))
    np.add.at(extra, pi, add)
    return extra


def build_routing_graph(
    network: EdgeArrays | object,
    snaps: pd.DataFrame,
    *,
    mode: Mode = "drive",
    walk_kph: float = 4.0,
) -> RoutingGraph:
    """Convert the road network and snapped locations to a :class:`RoutingGraph`.

    Parameters
    ----------
    network
        The road network's :class:`~emgis.roads.network.EdgeArrays` (with any ``penalty`` or
        ``hazards`` of a scenario), or a networkx graph (converted).
    snaps
        One row per location, from :func:`emgis.roads.snapping.snap_points` (``edge``, ``frac``,
        ``access_m``, ``access_min``, ``status``); locations with status ``no_road_access`` are
        not inserted.
    mode
        ``"drive"``: edge minutes from the segments' travel times, one-way streets respected.
        ``"walk"``: minutes at ``walk_kph`` from length, every street both ways.
    walk_kph
        Walking speed, km/h (also for the access legs in walk mode).

    Returns
    -------
    RoutingGraph
    """
    ea = network if isinstance(network, EdgeArrays) else edge_arrays(network)  # type: ignore[arg-type]
    n_road = ea.n_nodes
    walk = mode == "walk"
    m_per_min = walk_kph * 1000.0 / 60.0
    # the edges routed: walking uses one edge of each two-way pair, in both directions
    use = np.ones(ea.n_edges, dtype=bool)
    if walk:
        use &= ~((ea.twin >= 0) & (ea.twin < np.arange(ea.n_edges)))
    n_loc = len(snaps)
    status = snaps["status"].to_numpy(dtype=object)
    edge = _edge_positions(ea, snaps)
    frac = snaps["frac"].to_numpy(dtype=float)
    on = (status != "no_road_access") & (edge >= 0)
    loc = np.flatnonzero(on)
    # every location sits on its edge and on the twin of it (the other direction)
    e_in = [edge[loc]]
    f_in = [frac[loc]]
    l_in = [loc]
    tw = ea.twin[edge[loc]]
    has = tw >= 0
    e_in.append(tw[has])
    f_in.append(1.0 - frac[loc][has])
    l_in.append(loc[has])
    ie = np.concatenate(e_in)
    ifr = np.clip(np.concatenate(f_in), 0.0, 1.0)
    il = np.concatenate(l_in)
    if walk:  # a location on a dropped twin goes on the kept edge at the mirrored fraction
        moved = ~use[ie]
        ifr = np.where(moved, 1.0 - ifr, ifr)
        ie = np.where(moved, ea.twin[ie], ie)
        keep = np.ones(len(ie), dtype=bool)
        if moved.any():  # the same location on one edge twice: keep one
            key = pd.DataFrame({"e": ie, "l": il})
            keep = ~key.duplicated().to_numpy()
        ie, ifr, il = ie[keep], ifr[keep], il[keep]
    order = np.lexsort((il, ifr, ie))
    ie, ifr, il = ie[order], ifr[order], il[order]
    loc_nodes = n_road + il
    # pieces: u -> L1 -> ... -> Lk -> v for edges with locations; u -> v for the others
    first = np.r_[True, ie[1:] != ie[:-1]] if len(ie) else np.zeros(0, dtype=bool)
    last = np.r_[ie[1:] != ie[:-1], True] if len(ie) else np.zeros(0, dtype=bool)
    prev_node = np.where(first, ea.u[ie], np.r_[-1, loc_nodes[:-1]])
    prev_frac = np.where(first, 0.0, np.r_[0.0, ifr[:-1]])
    has_loc = np.zeros(ea.n_edges, dtype=bool)
    has_loc[ie] = True
    plain = np.flatnonzero(use & ~has_loc)
    pe = np.concatenate([plain, ie, ie[last]])
    pa = np.concatenate([ea.u[plain], prev_node, loc_nodes[last]])
    pb = np.concatenate([ea.v[plain], loc_nodes, ea.v[ie[last]]])
    f0 = np.concatenate([np.zeros(len(plain)), prev_frac, ifr[last]])
    f1 = np.concatenate([np.ones(len(plain)), ifr, np.ones(int(last.sum()))])
    if walk:
        w = (f1 - f0) * ea.length[pe]
        w = w + _hazard_extra(ea, pe, f0, f1, walk=True)
        w = w / m_per_min
        edge_w = ea.length / m_per_min
    else:
        whole = (f0 <= 0.0) & (f1 >= 1.0)
        w = np.where(whole, ea.travel_time[pe], 0.0)
        part = ~whole
        if part.any():
            w[part] = ea.time_at(pe[part], f1[part]) - ea.time_at(pe[part], f0[part])
        w = (w + _hazard_extra(ea, pe, f0, f1, walk=False)) / 60.0
        edge_w = ea.travel_time / 60.0
    if ea.penalty is not None:  # a whole-edge multiplier (inf closes the edge)
        w = w * ea.penalty[pe]
        edge_w = edge_w * ea.penalty
    edge_w = edge_w.copy()
    closed_e = np.zeros(ea.n_edges, dtype=bool)
    closed_e[pe[~np.isfinite(w)]] = True
    edge_w[closed_e] = np.inf
    w = np.maximum(w, 0.0)
    src = [pa]
    dst = [pb]
    wts = [w]
    if walk:
        src.append(pb)
        dst.append(pa)
        wts.append(w)
    else:  # locations at one point of a one-way road reach each other in either order
        same = (pa >= n_road) & (pb >= n_road) & (f1 - f0 <= 0.0)
        src.append(pb[same])
        dst.append(pa[same])
        wts.append(np.zeros(int(same.sum())))
    # a location exactly at an end of its edge is at that node: it may leave by any road
    at0 = ifr <= _END
    at1 = ifr >= 1.0 - _END
    ends_l = np.concatenate([loc_nodes[at0], loc_nodes[at1]])
    ends_n = np.concatenate([ea.u[ie[at0]], ea.v[ie[at1]]])
    src += [ends_l, ends_n]
    dst += [ends_n, ends_l]
    wts += [np.zeros(len(ends_l)), np.zeros(len(ends_l))]
    n = n_road + n_loc
    rows = np.concatenate(src)
    cols = np.concatenate(dst)
    data = np.concatenate(wts)
    ok = np.isfinite(data)  # closed pieces are left out
    rows, cols, data = rows[ok], cols[ok], data[ok]
    # parallel arcs: only the fastest matters (arcs sorted by (row, col) as one key)
    pair, fastest = _fastest_of_each(rows.astype(np.int64) * n + cols, data)
    data = data[fastest]
    rows, cols = pair // n, pair % n
    if len(cols) >= 2**31 - 1:  # places held as 32-bit integers
        raise ValueError("a routing graph of 2**31 arcs or more")
    indptr = np.zeros(n + 1, dtype=np.int32)
    indptr[1:] = np.cumsum(np.bincount(rows, minlength=n))
    access_m = snaps["access_m"].to_numpy(dtype=float, na_value=np.nan)
    access = (access_m / m_per_min if walk
              else snaps["access_min"].to_numpy(dtype=float, na_value=np.nan))
    loc_node = np.full(n_loc, -1, dtype=np.int64)
    loc_node[loc] = n_road + loc
    porder = np.lexsort((f0, pe))
    return RoutingGraph(
        indptr=indptr, indices=cols.astype(np.int32), weights=data.astype(np.float64),
        n_road=n_road, node_ids=ea.node_ids, edge_u=ea.u, edge_v=ea.v, edge_w=edge_w,
        loc_node=loc_node, loc_access=np.nan_to_num(access, nan=np.inf),
        piece_edge=pe[porder], piece_f0=f0[porder], piece_f1=f1[porder], piece_a=pa[porder],
        piece_b=pb[porder], piece_w=np.where(np.isfinite(w[porder]), w[porder], np.inf),
        walk=walk, walk_kph=walk_kph,
    )


def _edge_positions(ea: EdgeArrays, snaps: pd.DataFrame) -> IntArray:
    """Each location's edge: the ``edge`` column, else found from its ``u``, ``v``, ``key``."""
    if "edge" in snaps:
        return snaps["edge"].to_numpy(dtype=np.int64)
    keys = ea.keys
    index = pd.MultiIndex.from_arrays([keys[:, 0], keys[:, 1], keys[:, 2]])
    want = pd.MultiIndex.from_arrays([snaps["u"].to_numpy(dtype=np.int64),
                                      snaps["v"].to_numpy(dtype=np.int64),
                                      snaps["key"].to_numpy(dtype=np.int64)])
    out: IntArray = index.get_indexer(want).astype(np.int64)
    return out


@dataclass(frozen=True)
class NearestTwo:
    """Nearest and second-nearest distinct source of every location (minutes, ``-1`` = none)."""

    first_min: FloatArray
    first: IntArray
    second_min: FloatArray
    second: IntArray
    node_min: FloatArray  # time of the nearest source at every network node
    node_first: IntArray | None = None  # position of that source (-1 where none)
    node_second_min: FloatArray | None = None  # time of the second-nearest distinct source
    node_second: IntArray | None = None  # position of that source (-1 where none)


@dataclass(frozen=True)
class Search:
    """One nearest-two search: sources (location indices), their extra minutes, the targets;
    for :func:`nearest_min_many`, perhaps ``rest``: per node of the graph, a consistent lower
    bound of the minutes on to the nearest target, access leg included, once multiplied by
    ``rest_scale`` (see :mod:`emgis.roads._first`: nodes beyond ``limit`` with it are not
    searched)."""

    sources: IntArray
    offsets: FloatArray
    targets: IntArray
    limit: float = np.inf
    rest: FloatArray | None = None
    rest_scale: float = 1.0


def nearest_two(
    rg: RoutingGraph,
    sources: npt.ArrayLike,
    *,
    offsets: npt.ArrayLike | None = None,
    targets: npt.ArrayLike,
    limit: float = np.inf,
) -> NearestTwo:
    """Nearest and second-nearest distinct source for each target location.

    Parameters
    ----------
    rg
        The routing graph; use ``rg.reversed()`` for trips from the targets to the sources.
    sources
        Location indices of the sources (e.g. units); off-network ones are ignored.
    offsets
        Extra minutes per source before it sets off (turnout); its access leg is added too.
    targets
        Location indices of the targets (e.g. villages); their access leg is added at the end.
    limit
        Ignore times over this many minutes.

    Returns
    -------
    NearestTwo
        Per target: minutes and position in ``sources`` of the nearest and second-nearest
        source (``inf`` / ``-1`` where none reaches it).
    """
    src = np.asarray(sources, dtype=np.int64)
    off = np.zeros(len(src)) if offsets is None else np.asarray(offsets, dtype=float)
    return nearest_two_many(rg, [Search(src, off, np.asarray(targets, dtype=np.int64),
                                        float(limit))])[0]


def _on_cores(one: Callable[[S], T], searches: Sequence[S], workers: int | None
              ) -> list[T]:
    """``one`` of each search, the searches on several threads (the compiled kernels release
    the GIL): ``workers`` or every core, at most one thread per search."""
    return on_threads(one, searches, workers or cores())


@dataclass(frozen=True)
class Before:
    """A :func:`nearest_two_many` search's result on a baseline graph, from which the same
    kind of search on a scenario graph of the same nodes is repaired instead of run anew
    (:mod:`emgis.roads._top2repair`).

    Attributes
    ----------
    graph
        The baseline's routing graph.
    search
        The baseline's search.
    result
        Its result, with ``node_second_min`` and ``node_second``.
    to_now
        Per source of the baseline's search: its position among the scenario search's
        sources (-1 where it is not among them, e.g. out of action).
    """

    graph: RoutingGraph
    search: Search
    result: NearestTwo
    to_now: IntArray


#: A repair marking more than this share of the nodes is run from scratch instead.
REPAIR_SHARE = 0.6


def _seeds(s: Search, rg: RoutingGraph) -> tuple[IntArray, FloatArray, IntArray]:
    """A search's seeds: the node, start minutes and position of each source on the roads."""
    nodes = rg.loc_node[s.sources]
    cost = s.offsets + rg.loc_access[s.sources]
    ok = (nodes >= 0) & np.isfinite(cost)
    return nodes[ok], cost[ok], np.flatnonzero(ok).astype(np.int64)


def _repaired(rg: RoutingGraph, s: Search, b: Before,
              changes: tuple[IntArray, FloatArray, IntArray, IntArray, FloatArray],
              share: float = REPAIR_SHARE
              ) -> tuple[FloatArray, IntArray, FloatArray, IntArray] | None:
    """The scenario's top-two labels repaired from the baseline's (None where the repair
    would walk most of the graph: search anew)."""
    base, res = b.graph, b.result
    if res.node_first is None or res.node_second is None or res.node_second_min is None \
            or float(b.search.limit) != float(s.limit):
        return None
    d1, d2 = res.node_min, res.node_second_min
    slow, _, f_tail, f_head, f_w = changes
    s_tail = np.searchsorted(base.indptr, slow, side="right").astype(np.int64) - 1
    # the sources that start as before (same node, same minutes) and those that do not
    n0, c0, p0 = _seeds(b.search, base)
    n1, c1, p1 = _seeds(s, rg)
    start0 = np.full(len(b.search.sources), np.nan)
    node0 = np.full(len(b.search.sources), -1, dtype=np.int64)
    start0[p0], node0[p0] = c0, n0
    start1 = np.full(len(s.sources), np.nan)
    node1 = np.full(len(s.sources), -1, dtype=np.int64)
    start1[p1], node1[p1] = c1, n1
    now = b.to_now
    has = now >= 0
    same = np.zeros(len(now), dtype=bool)
    same[has] = (node0[has] == node1[now[has]]) & (start0[has] == start1[now[has]])
    kept_now = np.zeros(len(s.sources), dtype=bool)
    kept_now[now[same]] = True
    gone = ~same & (node0 >= 0)
    new = ~kept_now & (node1 >= 0)
    seed_nodes = np.concatenate([base.indices[slow].astype(np.int64), f_head,
                                 node0[gone], node1[new]])
    seed_costs = np.concatenate([d1[s_tail] + base.weights[slow], d1[f_tail] + f_w,
                                 start0[gone], start1[new]])
    ok = np.isfinite(seed_costs)
    inside = changed_reach(base.indptr, base.indices, base.weights, rg.indptr, rg.indices,
                           rg.weights, seed_nodes[ok], seed_costs[ok], d2, float(s.limit))
    if int(inside.sum()) > share * rg.n_nodes:
        return None
    # the baseline's sources as the scenario's: outside the marked nodes every label's
    # source starts as before (a test, not an assumption: otherwise search anew)
    to = np.where(same, now, -1)
    first = np.asarray(res.node_first, dtype=np.int64)
    second = np.asarray(res.node_second, dtype=np.int64)
    u1 = np.where(first >= 0, to[np.maximum(first, 0)], -1)
    u2 = np.where(second >= 0, to[np.maximum(second, 0)], -1)
    out = ~inside
    if ((u1 < 0) & (first >= 0) & out).any() or ((u2 < 0) & (second >= 0) & out).any():
        return None
    r: tuple[FloatArray, IntArray, FloatArray, IntArray] = top2_repair(
        rg.indptr, rg.indices, rg.weights, inside, d1, u1, d2, u2, n1, c1, p1,
        float(s.limit))
    return r


def nearest_two_many(rg: RoutingGraph, searches: Sequence[Search], *,
                     workers: int | None = None,
                     before: Sequence[Before | None] | None = None,
                     repair_share: float = REPAIR_SHARE) -> list[NearestTwo]:
    """Several :func:`nearest_two` searches on one graph, run on all cores (the compiled
    kernel releases the GIL).

    ``before``, one per search (or None), holds the same search's result on a baseline
    graph of the same nodes: a scenario's search is then repaired from it, searching again
    only where the scenario's changes may reach (the same minutes), unless that is more
    than ``repair_share`` of the nodes."""
    changes: dict[int, tuple[IntArray, FloatArray, IntArray, IntArray, FloatArray]] = {}
    prior = list(before) if before is not None else [None] * len(searches)
    if len(prior) != len(searches):
        raise ValueError("before needs one entry per search")
    for b in prior:
        if b is not None and id(b.graph) not in changes and \
                b.graph.n_nodes == rg.n_nodes and b.graph.n_road == rg.n_road:
            changes[id(b.graph)] = arc_changes(b.graph, rg)

    def one(item: tuple[Search, Before | None]) -> NearestTwo:
        s, b = item
        found = None
        if b is not None and id(b.graph) in changes:
            found = _repaired(rg, s, b, changes[id(b.graph)], repair_share)
        if found is None:
            nodes, cost, ids = _seeds(s, rg)
            found = top2_dijkstra(rg.indptr, rg.indices, rg.weights, nodes, cost, ids,
                                  float(s.limit))
        d1, s1, d2, s2 = found
        tnodes = rg.loc_node[s.targets]
        on = tnodes >= 0
        acc = rg.loc_access[s.targets]
        nt = len(s.targets)
        first_min = np.full(nt, np.inf)
        second_min = np.full(nt, np.inf)
        first = np.full(nt, -1, dtype=np.int64)
        second = np.full(nt, -1, dtype=np.int64)
        first_min[on] = d1[tnodes[on]] + acc[on]
        second_min[on] = d2[tnodes[on]] + acc[on]
        first[on] = s1[tnodes[on]]
        second[on] = s2[tnodes[on]]
        over = first_min > s.limit  # the access leg can exceed the limit
        first_min[over], first[over] = np.inf, -1
        over = second_min > s.limit
        second_min[over], second[over] = np.inf, -1
        return NearestTwo(first_min, first, second_min, second, np.asarray(d1),
                          np.asarray(s1, dtype=np.int32), np.asarray(d2),
                          np.asarray(s2, dtype=np.int32))

    return _on_cores(one, list(zip(searches, prior, strict=True)), workers)


#: ``rest`` of a search without one.
_NO_REST = np.zeros(0)


def nearest_min_many(rg: RoutingGraph, searches: Sequence[Search], *,
                     workers: int | None = None) -> list[FloatArray]:
    """Per search, each target's minutes from its nearest source (``inf`` where none within
    the limit): :func:`nearest_two_many`'s ``first_min`` alone, from one label per node (see
    :mod:`emgis.roads._first`), on all cores."""
    def one(s: Search) -> FloatArray:
        nodes, cost, _ = _seeds(s, rg)
        d = first_dijkstra(rg.indptr, rg.indices, rg.weights, nodes, cost,
                           float(s.limit), _NO_REST if s.rest is None else s.rest,
                           float(s.rest_scale))
        tnodes = rg.loc_node[s.targets]
        on = tnodes >= 0
        out = np.full(len(s.targets), np.inf)
        out[on] = d[tnodes[on]] + rg.loc_access[s.targets][on]
        out[out > s.limit] = np.inf  # the access leg can exceed the limit
        return out

    return _on_cores(one, searches, workers)


#: Most floats a chunk of :func:`times_from` holds at once (64 MB).
_CHUNK_FLOATS = 8_000_000


def times_from(rg: RoutingGraph, sources: npt.ArrayLike, *, offsets: npt.ArrayLike | None = None,
               limit: float = np.inf, targets: npt.ArrayLike | None = None) -> FloatArray:
    """Minutes from each source to every network node, or to the target locations.

    scipy's Dijkstra with a cutoff, run on chunks of sources so that memory stays bounded.

    Parameters
    ----------
    sources
        Location indices of the sources.
    offsets
        Extra minutes per source (turnout); the source's access leg is added too.
    limit
        Minutes beyond which nothing is searched (``inf`` beyond it).
    targets
        Location indices: return their minutes (access leg included), shape (sources,
        targets). None: every network node, shape (sources, rg.n_nodes).
    """
    src = np.asarray(sources, dtype=np.int64)
    off = np.zeros(len(src)) if offsets is None else np.asarray(offsets, dtype=float)
    tgt = None if targets is None else np.asarray(targets, dtype=np.int64)
    width = rg.n_nodes if tgt is None else len(tgt)
    out = np.full((len(src), width), np.inf)
    nodes = rg.loc_node[src]
    start = off + rg.loc_access[src]
    ok = np.flatnonzero((nodes >= 0) & np.isfinite(start) & (start <= limit))
    if not len(ok):
        return out
    csr = rg.csr()
    if tgt is not None:
        tnodes = rg.loc_node[tgt]
        ton = tnodes >= 0
        tacc = rg.loc_access[tgt]
    chunk = max(1, _CHUNK_FLOATS // max(rg.n_nodes, 1))
    for s in range(0, len(ok), chunk):
        idx = ok[s:s + chunk]
        lim = float(limit - start[idx].min() + LIMIT_SLACK) if np.isfinite(limit) else np.inf
        d = dijkstra(csr, directed=True, indices=nodes[idx], limit=lim)
        d = np.atleast_2d(d) + start[idx][:, None]
        if np.isfinite(limit):
            d[d > limit] = np.inf
        if tgt is None:
            out[idx] = d
        else:
            t = np.full((len(idx), width), np.inf)
            t[:, ton] = d[:, tnodes[ton]] + tacc[ton][None, :]
            if np.isfinite(limit):
                t[t > limit] = np.inf
            out[idx] = t
    return out


def pairs_within(rg: RoutingGraph, sources: npt.ArrayLike, *, limits: npt.ArrayLike,
                 targets: npt.ArrayLike, offsets: npt.ArrayLike | None = None,
                 workers: int | None = None) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (source, target) pair within the source's own limit, as sparse arrays.

    A compiled search per source stops at its limit and keeps only the targets it reaches
    (see :mod:`emgis.roads._bounded`): for thousands of sources on a large graph this is far
    lighter than dense rows. Sources are split over the cores.

    Parameters
    ----------
    rg
        The routing graph.
    sources, targets
        Location indices.
    limits
        Largest minutes per source (turnout and both access legs included).
    offsets
        Extra minutes per source (turnout).

    Returns
    -------
    (source position, target position, minutes)
        Sorted by source then target; minutes include the offset and both access legs.
    """

    src = np.asarray(sources, dtype=np.int64)
    tgt = np.asarray(targets, dtype=np.int64)
    lim = np.broadcast_to(np.asarray(limits, dtype=float), src.shape).copy()
    off = np.zeros(len(src)) if offsets is None else np.asarray(offsets, dtype=float)
    start = off + rg.loc_access[src]
    snode = rg.loc_node[src]
    ok = (snode >= 0) & np.isfinite(start) & (start <= lim)
    snode = np.where(ok, snode, -1)
    with np.errstate(invalid="ignore"):  # inf - inf: a source off the roads, no limit
        path_lim = np.where(ok, lim - start + LIMIT_SLACK, -1.0)
    tnode = rg.loc_node[tgt]
    target_of_node = np.full(rg.n_nodes, -1, dtype=np.int64)
    on = tnode >= 0
    target_of_node[tnode[on]] = np.flatnonzero(on)
    n = workers or cores()
    chunks = [c for c in np.array_split(np.arange(len(src)), max(1, min(n, len(src)))) if len(c)]

    def run(idx: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
        s, t, c = bounded_pairs(rg.indptr, rg.indices, rg.weights, snode[idx], path_lim[idx],
                                target_of_node)
        return idx[s], t, c

    parts = on_threads(run, chunks, n) or [(np.zeros(0, np.int64), np.zeros(0, np.int64),
                                             np.zeros(0))]
    s = np.concatenate([p[0] for p in parts])
    t = np.concatenate([p[1] for p in parts])
    c = np.concatenate([p[2] for p in parts])
    total = c + start[s] + rg.loc_access[tgt[t]]
    keep = total <= lim[s] + LIMIT_SLACK
    s, t, total = s[keep], t[keep], total[keep]
    order = pair_order(s, t, len(tgt))
    return s[order], t[order], total[order]


def pair_order(s: IntArray, t: IntArray, n_t: int) -> IntArray:
    """The order sorting (source, target) pairs, each pair at most once, by source then
    target (targets ``0 .. n_t - 1``): one sort of a single key, a quarter of the time of a
    lexsort of both (the same order, the keys being distinct)."""
    out: IntArray = np.argsort(s.astype(np.int64) * max(n_t, 1) + t)
    return out


def arc_changes(base: RoutingGraph, other: RoutingGraph
             ) -> tuple[IntArray, FloatArray, IntArray, IntArray, FloatArray]:
    """How ``other`` differs from ``base`` (graphs of the same nodes): base's arcs it closes
    or slows (their places in ``base.indices``, sorted) with their minutes in ``other`` (inf
    where closed), and the arcs it adds or makes faster (tail, head, minutes)."""
    if base.n_nodes != other.n_nodes:
        raise ValueError("arc_changes compares graphs of the same nodes")
    slow, slow_w, j = arc_diff(base.indptr, base.indices, base.weights, other.indptr,
                               other.indices, other.weights)
    tails = np.searchsorted(other.indptr, j, side="right").astype(np.int64) - 1
    return slow, slow_w, tails, other.indices[j].astype(np.int64), other.weights[j]


def pairs_within_each(graphs: Sequence[RoutingGraph], sources: npt.ArrayLike, *,
                      limits: npt.ArrayLike, targets: npt.ArrayLike,
                      offsets: npt.ArrayLike | None = None, workers: int | None = None,
                      fresh_share: float = FRESH_SHARE
                      ) -> list[tuple[IntArray, IntArray, FloatArray]]:
    """:func:`pairs_within` on a baseline graph and its scenario graphs at once.

    A scenario's search from a source is repaired from the baseline's
    (:mod:`emgis.roads._repair`): only what lies behind a closed or slowed arc is searched
    again. The pairs are those :func:`pairs_within` gives on each graph, to the last bit.

    Parameters
    ----------
    graphs
        The baseline's routing graph, then each scenario's (the same locations on the same
        roads: the same nodes).
    sources, targets, offsets
        As for :func:`pairs_within`, the same on every graph.
    limits
        Largest minutes per graph and source, shape ``(len(graphs), len(sources))`` (or
        what broadcasts to it); below 0 for no search.
    fresh_share
        A scenario's search from a source is run from scratch instead where more than this
        share of the nodes the baseline settled lies behind a changed arc (1: always
        repaired; below 0: never).

    Returns
    -------
    list of (source position, target position, minutes)
        One per graph, as :func:`pairs_within` returns them.
    """

    src = np.asarray(sources, dtype=np.int64)
    tgt = np.asarray(targets, dtype=np.int64)
    lim = np.broadcast_to(np.asarray(limits, dtype=float), (len(graphs), len(src))).copy()
    base = graphs[0]
    if len(graphs) == 1 or any(g.n_nodes != base.n_nodes or g.n_road != base.n_road
                               for g in graphs):
        return [pairs_within(g, src, limits=lim[i], targets=tgt, offsets=offsets,
                             workers=workers) for i, g in enumerate(graphs)]
    off = np.zeros(len(src)) if offsets is None else np.asarray(offsets, dtype=float)
    starts = np.empty_like(lim)
    path_lim = np.empty_like(lim)
    snode = np.full(len(src), -1, dtype=np.int64)
    target_of_node = np.full(base.n_nodes, -1, dtype=np.int64)
    for i, g in enumerate(graphs):
        starts[i] = off + g.loc_access[src]
        sn = g.loc_node[src]
        ok = (sn >= 0) & np.isfinite(starts[i]) & (starts[i] <= lim[i])
        path_lim[i] = np.where(ok, lim[i] - starts[i] + LIMIT_SLACK, -1.0)
        snode = np.where(ok, sn, snode)
        tn = g.loc_node[tgt]
        target_of_node[tn[tn >= 0]] = np.flatnonzero(tn >= 0)
    # the baseline's arcs into each node: their tails and their places
    n_arcs = len(base.indices)
    into = sp.csr_matrix((np.arange(n_arcs, dtype=np.int64), base.indices, base.indptr),
                         shape=(base.n_nodes, base.n_nodes)).tocsc()
    rptr = into.indptr.astype(np.int64)
    r_tail = into.indices.astype(np.int32)
    r_arc = into.data.astype(np.int32)
    changes = [arc_changes(base, g) for g in graphs[1:]]
    slower = np.zeros((len(changes), n_arcs), dtype=np.uint8)
    for i, ch in enumerate(changes):
        slower[i, ch[0]] = 1
    slow_ptr = np.cumsum([0] + [len(c[0]) for c in changes]).astype(np.int64)
    slow_ids = np.concatenate([c[0] for c in changes]).astype(np.int64)
    slow_w = np.concatenate([c[1] for c in changes]).astype(np.float64)
    dec_ptr = np.cumsum([0] + [len(c[2]) for c in changes]).astype(np.int64)
    dec_u = np.concatenate([c[2] for c in changes]).astype(np.int64)
    dec_v = np.concatenate([c[3] for c in changes]).astype(np.int64)
    dec_w = np.concatenate([c[4] for c in changes]).astype(np.float64)
    scen = tuple((g.indptr, g.indices, g.weights) for g in graphs[1:])
    n = workers or cores()
    # a few chunks per core: the sources' searches differ in size
    chunks = [c for c in np.array_split(np.arange(len(src)), max(1, min(4 * n, len(src))))
              if len(c)]

    def run(idx: IntArray) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
        k, s, t, c = repaired_pairs(base.indptr, base.indices, base.weights, scen, rptr,
                                    r_tail, r_arc, slower, slow_ptr, slow_ids, slow_w,
                                    dec_ptr, dec_u, dec_v, dec_w, snode[idx],
                                    np.ascontiguousarray(path_lim[:, idx]), target_of_node,
                                    fresh_share)
        return k, idx[s], t, c

    parts = on_threads(run, chunks, n)
    if parts:
        gk = np.concatenate([p[0] for p in parts])
        s = np.concatenate([p[1] for p in parts])
        t = np.concatenate([p[2] for p in parts])
        c = np.concatenate([p[3] for p in parts])
    else:
        gk = s = t = np.zeros(0, dtype=np.int64)
        c = np.zeros(0)
    out = []
    for i, g in enumerate(graphs):
        on = gk == i
        si, ti = s[on], t[on]
        total = c[on] + starts[i][si] + g.loc_access[tgt[ti]]
        keep = total <= lim[i][si] + LIMIT_SLACK
        si, ti, total = si[keep], ti[keep], total[keep]
        order = pair_order(si, ti, len(tgt))
        out.append((si[order], ti[order], total[order]))
    return out


def _fastest_of_each(keys: IntArray, w: FloatArray) -> tuple[IntArray, IntArray]:
    """Each distinct key (a node pair, sorted) and the position of its fastest entry (least
    ``w``; of equals, the first given): what a lexsort by (key, minutes) keeping the first of
    each key gives, from one stable sort of the keys (a county's 300,000 arcs or road pieces:
    43 -> 11 ms). Parallel arcs of a routing graph, and route_lines' piece per step."""
    order = np.argsort(keys, kind="stable")
    ks, ws = keys[order], w[order]
    if not len(ks):
        return ks, order
    first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    group = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(ks)]))
    at = np.flatnonzero(ws == np.minimum.reduceat(ws, first)[group])
    at = at[np.r_[True, group[at][1:] != group[at][:-1]]]  # the first least of each key
    return ks[at], order[at]


def route_lines(rg: RoutingGraph, edges: EdgeArrays, origins: npt.ArrayLike,
                destinations: npt.ArrayLike, *, origin_xy: npt.ArrayLike,
                destination_xy: npt.ArrayLike, limit: float = np.inf,
                minutes: npt.ArrayLike | None = None) -> list[object]:
    """The fastest route of each (origin, destination) pair of locations, along the roads.

    Parameters
    ----------
    rg
        The routing graph the times were computed on (forward: origin to destination).
    edges
        The network the graph was built from (its edge geometries, metres).
    origins, destinations
        Location indices, one pair per row.
    origin_xy, destination_xy
        The points of the locations (metres): the access legs join them to the roads.
    limit
        Largest minutes searched from each destination.
    minutes
        Optional: the minutes each route is known to take on this graph (e.g. the
        evacuation's): the search from a destination then stops just past its longest route
        (a province's shelters need not search their whole hour), and goes on to ``limit``
        only for a route not found by then.

    Returns
    -------
    list
        One shapely LineString per pair, or None where the destination is not reached
        within ``limit`` (or either location is off the network).
    """

    org = np.asarray(origins, dtype=np.int64)
    dst = np.asarray(destinations, dtype=np.int64)
    oxy = np.asarray(origin_xy, dtype=float).reshape(-1, 2)
    dxy = np.asarray(destination_xy, dtype=float).reshape(-1, 2)
    out: list[object] = [None] * len(org)
    if not len(org) or rg.piece_a is None or rg.piece_b is None or rg.piece_edge is None \
            or rg.piece_f0 is None or rg.piece_f1 is None or rg.piece_w is None:
        return out
    if rg.flipped:
        raise ValueError("route_lines needs the forward graph (engine.graph(mode))")
    pa, pb, pw = rg.piece_a, rg.piece_b, rg.piece_w
    n = np.int64(rg.n_nodes)
    keys = np.concatenate([pa * n + pb, pb * n + pa]) if rg.walk else pa * n + pb
    piece = np.concatenate([np.arange(len(pa)), np.arange(len(pa))]) if rg.walk else \
        np.arange(len(pa))
    back = np.concatenate([np.zeros(len(pa), bool), np.ones(len(pa), bool)]) if rg.walk else \
        np.zeros(len(pa), bool)
    w = np.concatenate([pw, pw]) if rg.walk else pw
    keys, fastest = _fastest_of_each(keys, w)
    piece, back = piece[fastest], back[fastest]
    rev = rg.csr().T.tocsr()
    piece_xy: dict[tuple[int, bool], np.ndarray] = {}  # routes to a shelter share their roads
    pe, f0, f1 = rg.piece_edge, rg.piece_f0, rg.piece_f1

    def coords_of(p: int, b: bool) -> np.ndarray:
        xy = piece_xy.get((p, b))
        if xy is None:
            e = int(pe[p])
            if f0[p] <= 0.0 and f1[p] >= 1.0:  # a whole edge: its own vertices
                a, z = int(edges.vptr[e]), int(edges.vptr[e + 1])
                xy = np.column_stack([edges.vx[a:z], edges.vy[a:z]])
            else:
                part = substring(edges.lines([e])[0], float(f0[p]), float(f1[p]),
                                 normalized=True)
                xy = shapely.get_coordinates(part)
            xy = piece_xy[(p, b)] = xy[::-1] if b else xy
        return xy

    known = None if minutes is None else np.asarray(minutes, dtype=float).reshape(-1)
    # per destination (on the network) its origins, in order, and how far to search
    dests = np.array([d for d in np.unique(dst) if rg.loc_node[d] >= 0], dtype=np.int64)
    rows_of = [np.flatnonzero(dst == d) for d in dests]
    reach = np.full(len(dests), float(limit))
    if known is not None:
        for k, rows in enumerate(rows_of):
            if np.isfinite(known[rows]).all():
                reach[k] = min(limit, float(known[rows].max()) * 1.01 + 0.1)

    def paths(which: list[int], lims: FloatArray) -> tuple[IntArray, IntArray, IntArray,
                                                            npt.NDArray[np.bool_]]:
        """Each origin's nodes to its destination (``which``: the destinations searched,
        each to its limit): the origins' rows, and the paths as :func:`paths_to` gives
        them."""
        rows = [rows_of[k] for k in which]
        at = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        optr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
        sptr, steps, found = paths_to(rev.indptr, rev.indices, rev.data,
                                      rg.loc_node[dests[which]], lims, optr,
                                      rg.loc_node[org[at]])
        return at, sptr, steps, found

    route: dict[int, IntArray] = {}  # per row, the nodes from its origin to its destination
    at, sptr, steps, found = paths(list(range(len(dests))), reach)
    # a destination whose search stopped short of ``limit`` and lost an origin on the
    # network is searched again to ``limit``
    owner = np.repeat(np.arange(len(dests)), [len(r) for r in rows_of])
    lost = ~found & (rg.loc_node[org[at]] >= 0)
    again = sorted({int(k) for k in owner[lost] if reach[k] < limit})
    for i, row in enumerate(at.tolist()):
        if found[i] and int(owner[i]) not in again:
            route[row] = steps[sptr[i]:sptr[i + 1]]
    if again:
        at, sptr, steps, found = paths(again, np.full(len(again), float(limit)))
        for i, row in enumerate(at.tolist()):
            if found[i]:
                route[row] = steps[sptr[i]:sptr[i + 1]]
    for i in sorted(route):
        nodes = route[i]
        step = np.searchsorted(keys, nodes[:-1] * n + nodes[1:])  # each step's fastest piece
        parts = [oxy[i][None, :],
                 *[coords_of(p, b) for p, b in zip(piece[step].tolist(),
                                                   back[step].tolist(), strict=True)],
                 dxy[i][None, :]]
        out[i] = shapely.LineString(np.concatenate(parts))
    return out
