"""The network in and out of networkx: osmnx-style graphs, GraphML files and edge tables."""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

import numpy as np
from pyproj import CRS

from emgis._errors import NetworkError
from emgis.inputs.settings import Settings
from emgis.texts import Msg

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

    from emgis.inputs.district import RoadSource

import geopandas as gpd
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from emgis.roads.edges import EdgeArrays
from emgis.roads.readers import _finite, way_speed

log = logging.getLogger(__name__)

# --- networkx in and out -----------------------------------------------------------------------

def add_travel_times(G: nx.MultiDiGraph, *, settings: Settings) -> nx.MultiDiGraph:
    """Return a copy of ``G`` with ``speed_kph`` and ``travel_time`` (seconds) on every edge.

    The speed is that of the edge's road class in ``settings.speeds`` (the mean where a
    simplified edge has several classes), or its ``maxspeed`` by the rule of
    :func:`way_speed`; ``travel_time = length / speed``.
    """
    H = G.copy()
    for u, v, k, data in H.edges(keys=True, data=True):
        hwy = data.get("highway", settings.network.default_class)
        classes = hwy if isinstance(hwy, list) else [hwy]
        speed = float(np.mean([way_speed(str(c), data.get("maxspeed"), settings)
                               for c in classes]))
        if "length" not in data:
            raise NetworkError(Msg("edge_no_length", u=u, v=v, k=k))
        data["speed_kph"] = round(speed, 3)
        data["travel_time"] = float(data["length"]) / (speed / 3.6)
    return H


def edge_arrays(G: nx.MultiDiGraph) -> EdgeArrays:
    """The arrays of a networkx road graph (osmnx conventions: node ``x``/``y``; edge
    ``length`` m, ``travel_time`` s, optional ``geometry`` and ``highway``).

    A graph edge's time is spread along its geometry in proportion to length (a graph holds
    one time per edge). Two-way roads are recognised as an edge and its reverse of the same
    length.
    """

    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
    order = np.argsort(node_ids, kind="stable")
    node_ids = node_ids[order]
    pos = {int(n): i for i, n in enumerate(node_ids)}
    xs = np.array([G.nodes[n]["x"] for n in node_ids], dtype=float)
    ys = np.array([G.nodes[n]["y"] for n in node_ids], dtype=float)
    rows = []
    for a, b, _, data in sorted(G.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2])):
        geom = data.get("geometry")
        coords = np.asarray(geom.coords) if geom is not None else np.array(
            [[xs[pos[a]], ys[pos[a]]], [xs[pos[b]], ys[pos[b]]]])
        hwy = data.get("highway", "unknown")
        rows.append((pos[a], pos[b], float(data["length"]),
                     float(data.get("travel_time", np.nan)), coords,
                     str(hwy[0] if isinstance(hwy, list) else hwy)))
    m = len(rows)
    u = np.array([r[0] for r in rows], dtype=np.int64)
    v = np.array([r[1] for r in rows], dtype=np.int64)
    length = np.array([r[2] for r in rows])
    tt = np.array([r[3] for r in rows])
    counts = np.array([len(r[4]) for r in rows], dtype=np.int64)
    vptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    coords = np.concatenate([r[4] for r in rows]) if rows else np.zeros((0, 2))
    seg = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    seg = np.concatenate([[0.0], seg])
    seg[vptr[:-1]] = 0.0
    cum = np.cumsum(seg)
    vdist = cum - np.repeat(cum[vptr[:-1]], counts)
    geom_len = np.repeat(vdist[vptr[1:] - 1], counts)
    scale = np.divide(np.repeat(length, counts), geom_len, out=np.ones(len(vdist)),
                      where=geom_len > 0)
    vdist = vdist * scale
    frac = np.divide(vdist, np.repeat(length, counts), out=np.zeros(len(vdist)),
                     where=np.repeat(length, counts) > 0)
    vtime = frac * np.repeat(tt, counts)
    class_names = sorted({r[5] for r in rows})
    code = {c: i for i, c in enumerate(class_names)}
    vclass = np.repeat(np.array([code[r[5]] for r in rows], dtype=np.int16), counts)
    twin = np.full(m, -1, dtype=np.int64)
    by_pair: dict[tuple[int, int], list[int]] = {}
    for i in range(m):
        by_pair.setdefault((int(u[i]), int(v[i])), []).append(i)
    for i in range(m):
        if twin[i] >= 0:
            continue
        for j in by_pair.get((int(v[i]), int(u[i])), []):
            if j != i and twin[j] < 0 and abs(length[j] - length[i]) <= 0.5:
                twin[i], twin[j] = j, i
                break
    n = len(node_ids)
    adj = coo_matrix((np.ones(m), (u, v)), shape=(n, n)).tocsr()
    _, labels = connected_components(adj, directed=True, connection="weak")
    sizes = np.bincount(labels) if n else np.zeros(1, int)
    best = np.flatnonzero(sizes == sizes.max())
    main = int(min(best, key=lambda c: int(node_ids[labels == c].min()))) if n else 0
    return EdgeArrays(node_ids, xs, ys, u, v, length, tt, twin, vptr, coords[:, 0].copy(),
                      coords[:, 1].copy(), vdist, vtime, vclass, tuple(class_names),
                      labels.astype(np.int64), main)


def to_networkx(ea: EdgeArrays, *, crs: CRS | str | None = None) -> nx.MultiDiGraph:
    """The network as a networkx MultiDiGraph with osmnx's conventions (for API users and
    for saving as GraphML): node ``x``/``y``; edge ``length`` (m), ``travel_time`` (s),
    ``speed_kph``, ``highway``, ``oneway`` and ``geometry``."""
    import networkx as nx  # deferred: loads networkx

    G = nx.MultiDiGraph(crs=str(crs) if crs is not None else None)
    for i, nid in enumerate(ea.node_ids):
        G.add_node(int(nid), x=float(ea.node_x[i]), y=float(ea.node_y[i]))
    keys = ea.keys
    geoms = ea.geometry
    for e in range(ea.n_edges):
        cls = ea.classes[int(ea.vclass[ea.vptr[e]])]
        t = float(ea.travel_time[e])
        G.add_edge(int(keys[e, 0]), int(keys[e, 1]), key=int(keys[e, 2]),
                   length=float(ea.length[e]), travel_time=t,
                   speed_kph=round(float(ea.length[e]) / t * 3.6, 3) if t > 0 else 0.0,
                   highway=cls, oneway=bool(ea.twin[e] < 0), geometry=geoms[e])
    return G


def _read_graphml(source: RoadSource, settings: Settings, crs: CRS) -> EdgeArrays:
    import osmnx as ox  # deferred: loads osmnx

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            G = ox.load_graphml(source.path)
    except Exception as exc:
        raise NetworkError(Msg("graphml_unreadable", path=str(source.path),
                               detail=f"{type(exc).__name__}: {str(exc)[:200]}")) from exc
    if G.number_of_edges() == 0:
        raise NetworkError(Msg("graphml_no_edges", path=str(source.path)))
    missing = [k for k in ("x", "y") if any(k not in d for _, d in G.nodes(data=True))]
    if missing or any("length" not in d for _, _, d in G.edges(data=True)):
        raise NetworkError(Msg("graphml_fields", path=str(source.path)))
    if "crs" not in G.graph:
        G.graph["crs"] = source.crs or "epsg:4326"
    timed = all(_finite(d.get("travel_time")) for _, _, d in G.edges(data=True))
    if not timed:  # a graph that carries travel times on every edge is used as timed
        G = add_travel_times(G, settings=settings)
    if CRS.from_user_input(G.graph["crs"]) != crs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            G = ox.project_graph(G, to_crs=crs)
    return edge_arrays(G)


def edges_frame(network: EdgeArrays | nx.MultiDiGraph, *, crs: CRS | str | None = None
                ) -> gpd.GeoDataFrame:
    """The edges as a GeoDataFrame indexed by (u, v, key) (node ids), as osmnx's
    ``graph_to_gdfs``: length (m), travel_time (s), highway (class of the first segment),
    oneway, geometry."""

    ea = network if isinstance(network, EdgeArrays) else edge_arrays(network)
    keys = ea.keys
    index = pd.MultiIndex.from_arrays([keys[:, 0], keys[:, 1], keys[:, 2]],
                                      names=["u", "v", "key"])
    return gpd.GeoDataFrame({
        "length": ea.length, "travel_time": ea.travel_time,
        "highway": np.array(ea.classes, dtype=object)[ea.vclass[ea.vptr[:-1]]]
        if ea.classes else np.array([], dtype=object),
        "oneway": ea.twin < 0}, geometry=list(ea.geometry), crs=crs, index=index)
