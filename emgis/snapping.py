"""Attaching points (villages, units, shelters) to the road network.

Each point is attached to the nearest road *edge*, not merely the nearest node, at the point on
the edge closest to it (as ArcGIS Network Analyst locates network locations). The straight access
leg from the point to the road is travelled at the off-road speed of the settings. A point
farther than ``max_access_m`` from any road is flagged ``no_road_access``; a point whose nearest
road within reach lies only on a piece of network disconnected from the main network (the
largest weakly connected component) is flagged ``cut_off``.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from emgis.network import edges_frame
from emgis.settings import Settings

SnapStatus = Literal["ok", "no_road_access", "cut_off"]


def main_component(G: nx.MultiDiGraph) -> set[int]:
    """Nodes of the largest weakly connected component (ties broken by smallest node id)."""
    comps: list[set[int]] = [set(c) for c in nx.weakly_connected_components(G)]
    if not comps:
        return set()
    def size_then_smallest_id(c: set[int]) -> tuple[int, int]:
        return len(c), -min(c)

    return max(comps, key=size_then_smallest_id)


def snap_points(
    G: nx.MultiDiGraph, points: gpd.GeoSeries, *, settings: Settings
) -> pd.DataFrame:
    """Attach each point to its nearest road edge.

    Parameters
    ----------
    G
        Projected road graph (metres) with ``travel_time`` on its edges.
    points
        Points in the graph's CRS; polygons are represented by a point inside them.
    settings
        ``network.max_access_m`` (metres) and the ``offroad`` speed (km/h).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``, with ``u``, ``v``, ``key`` (the edge, -1 where none), ``frac``
        (0-1, position along the edge from ``u``), ``access_m`` (metres from the point to the
        road), ``access_min`` (minutes at the off-road speed), ``snap_x``/``snap_y`` (the point
        on the road) and ``status`` (``ok``, ``no_road_access`` or ``cut_off``).
    """
    edges = edges_frame(G)
    keys = list(edges.index)
    geoms = np.asarray(edges.geometry.values)
    main = main_component(G)
    on_main = np.array([u in main for u, _, _ in keys])
    pts = np.asarray(points.values)
    pts = np.array([p if p.geom_type == "Point" else p.representative_point() for p in pts])
    max_m = settings.network.max_access_m
    offroad = settings.speed_kph("offroad")
    tree_all = shapely.STRtree(geoms)
    main_idx = np.flatnonzero(on_main)
    tree_main = shapely.STRtree(geoms[main_idx]) if len(main_idx) else None

    rows = []
    for p in pts:
        idx, dist = _nearest(tree_all, p, keys, np.arange(len(keys)))
        status: SnapStatus = "ok"
        if idx is None or dist > max_m:
            status = "no_road_access"
        elif not on_main[idx]:
            alt = (_nearest(tree_main, p, keys, main_idx, max_distance=max_m)
                   if tree_main is not None else (None, np.inf))
            if alt[0] is not None:
                idx, dist = alt
            else:
                status = "cut_off"
        if idx is None:
            rows.append((-1, -1, -1, np.nan, np.nan, np.nan, np.nan, np.nan, status))
            continue
        line = geoms[idx]
        along = line.project(p)
        frac = along / line.length if line.length > 0 else 0.0
        on_road = line.interpolate(along)
        u, v, k = keys[idx]
        rows.append((u, v, k, frac, dist, dist / 1000.0 / offroad * 60.0, on_road.x, on_road.y,
                     status))
    out = pd.DataFrame(
        rows,
        columns=["u", "v", "key", "frac", "access_m", "access_min", "snap_x", "snap_y", "status"],
        index=points.index,
    )
    return out


def _nearest(
    tree: shapely.STRtree,
    p: shapely.Point,
    keys: list[tuple[int, int, int]],
    positions: np.ndarray,
    max_distance: float | None = None,
) -> tuple[int | None, float]:
    """Nearest edge to ``p``; among equidistant edges the smallest (u, v, key) for determinism."""
    res = tree.query_nearest(p, max_distance=max_distance, return_distance=True,
                             all_matches=True)
    hits, dists = res
    if len(hits) == 0:
        return None, float("inf")
    cand = [int(positions[h]) for h in hits]
    best = min(range(len(cand)), key=lambda i: (round(float(dists[i]), 6), keys[cand[i]]))
    return cand[best], float(dists[best])
