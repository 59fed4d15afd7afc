"""The travel-time engine: arrays built once from the road graph, fast shortest paths on them.

networkx stays the graph model (and the tests' oracle); the engine converts it once to CSR arrays
and runs compiled Dijkstra searches on them:

- :func:`nearest_two` gives, for every location, the nearest and second-nearest *distinct*
  source with their times, in one pass (see :mod:`emgis._top2`);
- :func:`times_from` gives the time from one source to every node (scipy.sparse.csgraph, with a
  cutoff), used for service areas.

Locations (villages, units, shelters) enter the network where :mod:`emgis.snapping` attached them:
the edge they lie on is split at that point (both directions of a two-way road), so that a unit
and a village on the same road reach each other along it, and the access leg is added at the
off-road speed. All times are in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from emgis._top2 import top2_dijkstra
from emgis.network import EdgeArrays, edge_arrays

Mode = Literal["drive", "walk"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RoutingGraph:
    """CSR arrays of a road graph with locations inserted as extra nodes.

    Attributes
    ----------
    indptr, indices, weights
        Forward adjacency; ``weights`` in minutes.
    n_road
        Number of road nodes; location ``i`` is node ``n_road + i`` (if it is on the network).
    node_ids
        The graph's node id of each road node.
    edge_u, edge_v, edge_w
        The road edges (indices into the road nodes) and their minutes, in ``edge_keys`` order.
    edge_keys
        ``(u, v, key)`` of every road edge, as in the networkx graph (shape (edges, 3)).
    loc_node
        Network node of each location, -1 for a location off the network.
    loc_access
        Minutes of each location's access leg.
    """

    indptr: IntArray
    indices: IntArray
    weights: FloatArray
    n_road: int
    node_ids: IntArray
    edge_u: IntArray
    edge_v: IntArray
    edge_w: FloatArray
    edge_keys: npt.NDArray[np.int64]
    loc_node: IntArray
    loc_access: FloatArray

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
            indptr=csr.indptr.astype(np.int64), indices=csr.indices.astype(np.int64),
            weights=csr.data.astype(np.float64), n_road=self.n_road, node_ids=self.node_ids,
            edge_u=self.edge_v, edge_v=self.edge_u, edge_w=self.edge_w,
            edge_keys=self.edge_keys[:, [1, 0, 2]],
            loc_node=self.loc_node, loc_access=self.loc_access,
        )

    def csr(self) -> sp.csr_matrix:
        """The adjacency as a scipy CSR matrix (minutes)."""
        return sp.csr_matrix((self.weights, self.indices, self.indptr),
                             shape=(self.n_nodes, self.n_nodes))


def build_routing_graph(
    network: nx.MultiDiGraph | EdgeArrays,
    snaps: pd.DataFrame,
    *,
    mode: Mode = "drive",
    walk_kph: float = 4.0,
) -> RoutingGraph:
    """Convert a road graph and snapped locations to a :class:`RoutingGraph`.

    Parameters
    ----------
    network
        Road graph with ``travel_time`` (seconds) and ``length`` (metres) on its edges, or its
        :func:`~emgis.network.edge_arrays`.
    snaps
        One row per location, from :func:`emgis.snapping.snap_points` (``u``, ``v``, ``key``,
        ``frac``, ``access_min``, ``status``); locations with status ``no_road_access`` are not
        inserted.
    mode
        ``"drive"``: edge minutes from ``travel_time``, one-way streets respected.
        ``"walk"``: minutes at ``walk_kph`` from ``length``, every street both ways.
    walk_kph
        Walking speed, km/h (also for the access legs in walk mode).
    Returns
    -------
    RoutingGraph
    """
    ea = network if isinstance(network, EdgeArrays) else edge_arrays(network)
    node_ids = ea.node_ids
    keys = ea.keys
    eu, ev, length = ea.u, ea.v, ea.length
    ew = ea.travel_time / 60.0 if mode == "drive" else length / 1000.0 / walk_kph * 60.0
    if ea.penalty is not None:  # a scenario slows (x factor) or closes (inf) edges
        ew = ew * ea.penalty
    n_road = len(node_ids)

    src: list[npt.NDArray[np.int64]] = [eu]
    dst: list[npt.NDArray[np.int64]] = [ev]
    wts: list[FloatArray] = [ew]
    if mode == "walk":  # streets are walked both ways
        src.append(ev)
        dst.append(eu)
        wts.append(ew)

    # Locations split the edge they lie on, and its reverse twin (same road, other direction).
    snapped = {(int(u), int(v), int(k)) for u, v, k, st in zip(
        snaps["u"], snaps["v"], snaps["key"], snaps["status"], strict=True)
        if st != "no_road_access" and int(u) >= 0}
    triples = pd.MultiIndex.from_arrays([keys[:, 0], keys[:, 1], keys[:, 2]])
    wanted = sorted(snapped)
    found = triples.get_indexer(pd.MultiIndex.from_tuples(wanted, names=triples.names)
                                ) if wanted else np.empty(0, dtype=np.int64)
    edge_index = {k: int(i) for k, i in zip(wanted, found, strict=True)}
    by_pair = _pairs(keys, {(v, u) for u, v, _ in snapped})
    on_edge: dict[int, list[tuple[float, int]]] = {}
    n_loc = len(snaps)
    loc_node = np.full(n_loc, -1, dtype=np.int64)
    access = snaps["access_min"].to_numpy(dtype=float, na_value=np.nan)
    if mode == "walk":
        access = snaps["access_m"].to_numpy(dtype=float, na_value=np.nan) / 1000 / walk_kph * 60
    for i, (u, v, k, frac, status) in enumerate(
        zip(snaps["u"], snaps["v"], snaps["key"], snaps["frac"], snaps["status"], strict=True)
    ):
        if status == "no_road_access" or int(u) < 0:
            continue
        loc_node[i] = n_road + i
        e = edge_index[(int(u), int(v), int(k))]
        on_edge.setdefault(e, []).append((float(frac), i))
        twin = _twin(e, keys, by_pair, length)
        if twin is not None:
            on_edge.setdefault(twin, []).append((1.0 - float(frac), i))
    for e, pts in on_edge.items():
        pts.sort()
        u_i, v_i, w = int(eu[e]), int(ev[e]), float(ew[e])
        chain = [u_i] + [n_road + i for _, i in pts] + [v_i]
        fracs = [0.0] + [f for f, _ in pts] + [1.0]
        a = np.array(chain[:-1], dtype=np.int64)
        b = np.array(chain[1:], dtype=np.int64)
        d = np.diff(np.array(fracs))
        c = d * w if np.isfinite(w) else np.where(d > 0, np.inf, 0.0)
        src.append(a)
        dst.append(b)
        wts.append(c)
        if mode == "walk":
            src.append(b)
            dst.append(a)
            wts.append(c)
        else:  # locations at one point of a one-way road reach each other in either order
            same = (d == 0) & (a >= n_road) & (b >= n_road)
            src.append(b[same])
            dst.append(a[same])
            wts.append(np.zeros(int(same.sum())))
        # a location exactly at an end of the edge is at that node: it may leave by any road
        at_end = [(n_road + i, u_i if f <= 1e-9 else v_i) for f, i in pts
                  if f <= 1e-9 or f >= 1.0 - 1e-9]
        if at_end:
            p, q = (np.array(x, dtype=np.int64) for x in zip(*at_end, strict=True))
            src += [p, q]
            dst += [q, p]
            wts += [np.zeros(len(p)), np.zeros(len(p))]
    n = n_road + n_loc
    rows = np.concatenate(src)
    cols = np.concatenate(dst)
    data = np.maximum(np.concatenate(wts), 0.0)
    open_ = np.isfinite(data)  # closed roads (and the pieces of them) are left out
    rows, cols, data = rows[open_], cols[open_], data[open_]
    order = np.lexsort((cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    indptr = np.cumsum(indptr)
    return RoutingGraph(
        indptr=indptr, indices=cols.astype(np.int64), weights=data.astype(np.float64),
        n_road=n_road, node_ids=node_ids, edge_u=eu, edge_v=ev, edge_w=ew,
        edge_keys=keys, loc_node=loc_node, loc_access=np.nan_to_num(access, nan=np.inf),
    )


def _twin(
    e: int, keys: npt.NDArray[np.int64], by_pair: dict[tuple[int, int], list[int]],
    length: FloatArray,
) -> int | None:
    """The edge running the other way along the same road, if the road is two-way."""
    u, v = int(keys[e, 0]), int(keys[e, 1])
    for j in by_pair.get((v, u), []):
        if abs(length[j] - length[e]) <= 0.5:
            return j
    return None


def _pairs(keys: npt.NDArray[np.int64], needed: set[tuple[int, int]]
           ) -> dict[tuple[int, int], list[int]]:
    """Edge positions of the node pairs in ``needed``."""
    out: dict[tuple[int, int], list[int]] = {}
    if not needed:
        return out
    pairs = pd.MultiIndex.from_arrays([keys[:, 0], keys[:, 1]])
    for i in np.flatnonzero(pairs.isin(sorted(needed))):
        out.setdefault((int(keys[i, 0]), int(keys[i, 1])), []).append(int(i))
    return out


@dataclass(frozen=True)
class NearestTwo:
    """Nearest and second-nearest distinct source of every location (minutes, ``-1`` = none)."""

    first_min: FloatArray
    first: IntArray
    second_min: FloatArray
    second: IntArray
    node_min: FloatArray  # time of the nearest source at every network node


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
    tgt = np.asarray(targets, dtype=np.int64)
    off = np.zeros(len(src)) if offsets is None else np.asarray(offsets, dtype=float)
    nodes = rg.loc_node[src]
    ok = nodes >= 0
    seed_cost = off + rg.loc_access[src]
    ok &= np.isfinite(seed_cost)
    d1, s1, d2, s2 = top2_dijkstra(
        rg.indptr, rg.indices, rg.weights, nodes[ok], seed_cost[ok],
        np.flatnonzero(ok).astype(np.int64), float(limit),
    )
    tnodes = rg.loc_node[tgt]
    on = tnodes >= 0
    acc = rg.loc_access[tgt]
    first_min = np.full(len(tgt), np.inf)
    second_min = np.full(len(tgt), np.inf)
    first = np.full(len(tgt), -1, dtype=np.int64)
    second = np.full(len(tgt), -1, dtype=np.int64)
    first_min[on] = d1[tnodes[on]] + acc[on]
    second_min[on] = d2[tnodes[on]] + acc[on]
    first[on] = s1[tnodes[on]]
    second[on] = s2[tnodes[on]]
    # the access leg can exceed the limit
    over = first_min > limit
    first_min[over], first[over] = np.inf, -1
    over = second_min > limit
    second_min[over], second[over] = np.inf, -1
    return NearestTwo(first_min, first, second_min, second, np.asarray(d1))


def times_from(rg: RoutingGraph, sources: npt.ArrayLike, *, offsets: npt.ArrayLike | None = None,
               limit: float = np.inf) -> FloatArray:
    """Minutes from each source to every network node (scipy Dijkstra with a cutoff).

    Returns
    -------
    numpy.ndarray
        Shape (len(sources), rg.n_nodes); ``inf`` where not reached within ``limit``.
    """
    src = np.asarray(sources, dtype=np.int64)
    off = np.zeros(len(src)) if offsets is None else np.asarray(offsets, dtype=float)
    out = np.full((len(src), rg.n_nodes), np.inf)
    nodes = rg.loc_node[src]
    start = off + rg.loc_access[src]
    ok = (nodes >= 0) & np.isfinite(start) & (start <= limit)
    if ok.any():
        csr = rg.csr()
        for i in np.flatnonzero(ok):
            d = dijkstra(csr, directed=True, indices=int(nodes[i]), limit=limit - start[i])
            out[i] = d + start[i]
    return out
