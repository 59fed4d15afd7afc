"""Attaching points (villages, units, shelters, candidate sites) to the road network.

Each point is attached to the nearest road *edge*, not merely the nearest node, at the point on
the edge closest to it (as ArcGIS Network Analyst locates network locations). The straight access
leg from the point to the road is travelled at the off-road speed of the settings. A point
farther than ``max_access_m`` from any road is flagged ``no_road_access``; a point whose nearest
road within reach lies only on a piece of network disconnected from the main network (the
largest weakly connected component) is attached to the main network if that is within reach,
else flagged ``cut_off``.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from emgis.inputs.settings import Settings
from emgis.roads.edges import EdgeArrays
from emgis.roads.nxio import edge_arrays

SnapStatus = Literal["ok", "no_road_access", "cut_off"]


def main_component(G: nx.MultiDiGraph | EdgeArrays) -> set[int]:
    """Node ids of the largest weakly connected component (ties: the smallest node id)."""
    ea = G if isinstance(G, EdgeArrays) else edge_arrays(G)
    return {int(n) for n in ea.node_ids[ea.component == ea.main]}


def location_points(points: gpd.GeoSeries) -> npt.NDArray[np.object_]:
    """The point each location is attached from: the point itself, or a point inside a
    polygon."""
    pts = np.asarray(points.values, dtype=object)
    if len(pts):
        poly = np.array([p is not None and p.geom_type != "Point" for p in pts], dtype=bool)
        if poly.any():
            pts = pts.copy()
            pts[poly] = shapely.point_on_surface(pts[poly].astype(object))
    return pts


def snap_points(
    network: nx.MultiDiGraph | EdgeArrays,
    points: gpd.GeoSeries,
    *,
    settings: Settings,
) -> pd.DataFrame:
    """Attach each point to its nearest road edge.

    Parameters
    ----------
    network
        The road network's arrays (metres), or a projected networkx graph.
    points
        Points in the network's CRS; polygons are represented by a point inside them.
    settings
        ``network.max_access_m`` (metres) and the ``offroad`` speed (km/h).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``: ``edge`` (position in the network's edges, -1 where none),
        ``u``, ``v``, ``key`` (the edge as node ids), ``frac`` (0-1, position along the edge
        from ``u``), ``access_m`` (metres from the point to the road), ``access_min`` (minutes
        at the off-road speed), ``snap_x``/``snap_y`` (the point on the road) and ``status``
        (``ok``, ``no_road_access`` or ``cut_off``).
    """
    ea = network if isinstance(network, EdgeArrays) else edge_arrays(network)
    geoms = ea.geometry
    on_main = ea.component[ea.u] == ea.main
    pts = location_points(points)
    n = len(pts)
    max_m = settings.network.max_access_m
    offroad = settings.speed_kph("offroad")
    karr = ea.keys
    key_rank = np.lexsort((karr[:, 2], karr[:, 1], karr[:, 0])).argsort()

    idx = _nearest(ea.tree, pts, np.arange(len(geoms)), key_rank, None)
    dist = np.full(n, np.inf)
    found = idx >= 0
    dist[found] = shapely.distance(pts[found], geoms[idx[found]])
    status = np.full(n, "ok", dtype=object)
    status[~found | (dist > max_m)] = "no_road_access"
    off_main = (status == "ok") & ~on_main[np.maximum(idx, 0)]
    if off_main.any():
        sub = np.flatnonzero(off_main)
        alt = _nearest(ea.tree, pts[sub], np.arange(len(geoms)), key_rank, max_m,
                       allowed=on_main)
        moved = alt >= 0
        idx[sub[moved]] = alt[moved]
        dist[sub[moved]] = shapely.distance(pts[sub[moved]], geoms[alt[moved]])
        status[sub[~moved]] = "cut_off"
    safe = np.maximum(idx, 0)
    lines = geoms[safe] if len(geoms) else np.array([], dtype=object)
    if n and len(geoms):
        along = shapely.line_locate_point(lines, pts)
        lens = shapely.length(lines)
        on_road = shapely.line_interpolate_point(lines, along)
        sx, sy = shapely.get_x(on_road), shapely.get_y(on_road)
    else:
        along = lens = sx = sy = np.zeros(n)
    frac = np.where(lens > 0, along / np.where(lens > 0, lens, 1), 0.0)
    keys = karr[safe] if len(karr) else np.zeros((n, 3), dtype=np.int64)
    return pd.DataFrame({
        "edge": np.where(found, idx, -1),
        "u": np.where(found, keys[:, 0], -1), "v": np.where(found, keys[:, 1], -1),
        "key": np.where(found, keys[:, 2], -1),
        "frac": np.where(found, frac, np.nan), "access_m": np.where(found, dist, np.nan),
        "access_min": np.where(found, dist / 1000.0 / offroad * 60.0, np.nan),
        "snap_x": np.where(found, sx, np.nan), "snap_y": np.where(found, sy, np.nan),
        "status": status,
    }, index=points.index)


def _nearest(
    tree: shapely.STRtree,
    pts: np.ndarray,
    positions: np.ndarray,
    key_rank: np.ndarray,
    max_distance: float | None,
    *,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Nearest edge to each point (-1 if none within ``max_distance``), among ``allowed``
    edges if given; among equidistant edges the smallest (u, v, key), so that the result does
    not depend on the tree."""
    out = np.full(len(pts), -1, dtype=np.int64)
    if len(pts) == 0 or len(positions) == 0:
        return out
    if allowed is None:
        (src, hit), dist = tree.query_nearest(pts, max_distance=max_distance,
                                              return_distance=True, all_matches=True)
    else:  # every edge within reach (exactly: GEOS's distance, no polygon), then the nearest
        # allowed one
        src, hit = tree.query(pts, predicate="dwithin",
                              distance=np.inf if max_distance is None else max_distance)
        ok = allowed[hit]
        src, hit = src[ok], hit[ok]
        dist = shapely.distance(pts[src], tree.geometries[hit])
        near = dist <= (max_distance if max_distance is not None else np.inf)
        src, hit, dist = src[near], hit[near], dist[near]
    cand = positions[hit]
    order = np.lexsort((key_rank[cand], np.round(dist, 6), src))
    src, cand = src[order], cand[order]
    first = np.ones(len(src), dtype=bool)
    first[1:] = src[1:] != src[:-1]
    out[src[first]] = cand[first]
    return out
