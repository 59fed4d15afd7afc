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

import base64
import json
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.ops import substring

from emgis._arrays import ranges
from emgis.inputs.settings import Settings
from emgis.roads.cache import fingerprint, keep_beside, network_digest, read_beside
from emgis.roads.edges import EdgeArrays

if TYPE_CHECKING:
    from pathlib import Path

    import networkx as nx

SnapStatus = Literal["ok", "no_road_access", "cut_off"]


def main_component(G: nx.MultiDiGraph | EdgeArrays) -> set[int]:
    """Node ids of the largest weakly connected component (ties: the smallest node id)."""
    ea = G if isinstance(G, EdgeArrays) else _edge_arrays(G)
    return {int(n) for n in ea.node_ids[ea.component == ea.main]}


def _edge_arrays(G: nx.MultiDiGraph) -> EdgeArrays:
    """A networkx graph's arrays (deferred: loads networkx and scipy, which attaching points
    to arrays never needs: ``emgis validate``'s data quality starts 0.3 s sooner)."""
    from emgis.roads.nxio import edge_arrays

    return edge_arrays(G)


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
    ea = network if isinstance(network, EdgeArrays) else _edge_arrays(network)
    on_main = ea.component[ea.u] == ea.main
    pts = location_points(points)
    n = len(pts)
    max_m = settings.network.max_access_m
    offroad = settings.speed_kph("offroad")
    key_rank = ea.key_rank

    if "tree" not in ea.__dict__ and 0 < n <= FEW_POINTS and ea.n_edges:
        # a few points (a unit added): the roads within reach get a tree of their own; a
        # point with none takes the nearest of all roads, from every road's tree
        _, near = ea.near(pts, distance=max_m)
        positions = np.unique(near)
        tree = shapely.STRtree(ea.lines(positions))
        idx = _nearest(tree, pts, positions, key_rank, max_m)
        far = np.flatnonzero(idx < 0)
        if len(far):
            idx[far] = _nearest(ea.tree, pts[far], np.arange(ea.n_edges), key_rank, None)
    else:
        tree, positions = ea.tree, np.arange(ea.n_edges)
        idx = _nearest(tree, pts, positions, key_rank, None)
    dist = np.full(n, np.inf)
    found = idx >= 0
    dist[found] = shapely.distance(pts[found], ea.lines(idx[found]))
    status = np.full(n, "ok", dtype=object)
    status[~found | (dist > max_m)] = "no_road_access"
    off_main = (status == "ok") & ~on_main[np.maximum(idx, 0)]
    if off_main.any():  # (every road within reach of these points is among the positions)
        sub = np.flatnonzero(off_main)
        alt = _nearest(tree, pts[sub], positions, key_rank, max_m, allowed=on_main[positions])
        moved = alt >= 0
        idx[sub[moved]] = alt[moved]
        dist[sub[moved]] = shapely.distance(pts[sub[moved]], ea.lines(alt[moved]))
        status[sub[~moved]] = "cut_off"
    safe = np.maximum(idx, 0)
    lines = ea.lines(safe) if ea.n_edges else np.array([], dtype=object)
    if n and ea.n_edges:
        along = shapely.line_locate_point(lines, pts)
        lens = shapely.length(lines)
        on_road = shapely.line_interpolate_point(lines, along)
        sx, sy = shapely.get_x(on_road), shapely.get_y(on_road)
    else:
        along = lens = sx = sy = np.zeros(n)
    frac = np.where(lens > 0, along / np.where(lens > 0, lens, 1), 0.0)
    keys = ea.keys_of(safe) if ea.n_edges else np.zeros((n, 3), dtype=np.int64)
    return pd.DataFrame({
        "edge": np.where(found, idx, -1),
        "u": np.where(found, keys[:, 0], -1), "v": np.where(found, keys[:, 1], -1),
        "key": np.where(found, keys[:, 2], -1),
        "frac": np.where(found, frac, np.nan), "access_m": np.where(found, dist, np.nan),
        "access_min": np.where(found, dist / 1000.0 / offroad * 60.0, np.nan),
        "snap_x": np.where(found, sx, np.nan), "snap_y": np.where(found, sy, np.nan),
        "status": status,
    }, index=points.index)


#: At most this many points are snapped without the STR-tree of every road when it is not
#: made (:func:`snap_points`): the roads within reach of them get a tree of their own (a
#: unit added to a plan whose snaps were read from beside the cache: 0.15 s instead of the
#: lines and tree of a county's every road, 0.8 s).
FEW_POINTS = 64


# --- the snaps of a cached network, kept beside its cache ------------------------------------

#: Version of the snaps' text kept beside a network cache (:func:`snap_points_kept`): changed
#: whenever what :func:`snap_points` gives or the text's layout changes.
SNAP_FORMAT = "1"

#: ``status`` of the snaps, by their code in the kept text.
_STATUSES = ("ok", "no_road_access", "cut_off")

#: Columns of the snaps kept as numbers (``u``, ``v``, ``key`` follow from ``edge``).
_NUMBERS = ("frac", "access_m", "access_min", "snap_x", "snap_y")


def snap_settings(settings: Settings) -> tuple[float, float]:
    """What of the settings :func:`snap_points` reads: ``network.max_access_m`` (metres) and
    the off-road speed (km/h). Snaps made under the same figures are the same."""
    return float(settings.network.max_access_m), float(settings.speed_kph("offroad"))


def snap_points_kept(network: EdgeArrays, points: gpd.GeoSeries, *, settings: Settings,
                     cache: Path | None, roads: EdgeArrays | None = None,
                     label: str = "drive") -> pd.DataFrame:
    """:func:`snap_points` (index reset), read from beside the network cache ``cache`` where
    a run on the same roads, points and snapping settings kept them, else made and kept
    there.

    The snaps depend on the roads (named by the cache's checksum,
    :func:`emgis.roads.cache.network_digest` of ``roads``, the network read from the cache:
    ``network`` itself or the one whose walking network it is, told apart by ``label``),
    the points' coordinates, ``network.max_access_m``, the off-road speed and
    :data:`SNAP_FORMAT`: any change of them reads nothing. Snapping makes a line and an
    index of every road (a county's 0.8 s, a province's 5-11 s, on one core at the start of
    a run); reading them takes milliseconds. A kept text that is not whole or does not fit
    the network is made again."""
    if cache is None:
        return snap_points(network, points, settings=settings).reset_index(drop=True)
    pts = location_points(points)
    max_m, kph = snap_settings(settings)
    name = "snaps-" + label + "-" + fingerprint(
        np.asarray(shapely.get_x(pts), dtype=float), np.asarray(shapely.get_y(pts), dtype=float),
        extra=f"{network_digest(roads if roads is not None else network)} "
              f"{max_m!r} {kph!r} {SNAP_FORMAT}")
    text = read_beside(cache, name)
    got = None if text is None else _snaps_from_text(text, network, len(pts))
    if got is not None:
        return got
    made = snap_points(network, points, settings=settings).reset_index(drop=True)
    keep_beside(cache, name, _snaps_text(made))
    return made


def _snaps_text(snaps: pd.DataFrame) -> str:
    """The snaps as JSON: the edges, the numbers and the status codes as base64 of their
    bytes (little-endian: read back to the last bit)."""
    def b64(a: np.ndarray, dtype: str) -> str:
        return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")

    codes = pd.Categorical(snaps["status"], categories=_STATUSES).codes
    return json.dumps({
        "format": SNAP_FORMAT, "n": len(snaps),
        "edge": b64(snaps["edge"].to_numpy(dtype=np.int64), "<i8"),
        "numbers": b64(np.column_stack([snaps[c].to_numpy(dtype=float) for c in _NUMBERS]),
                       "<f8"),
        "status": b64(codes, "<i1"),
    })


def _snaps_from_text(text: str, ea: EdgeArrays, n: int) -> pd.DataFrame | None:
    """The snaps of :func:`_snaps_text`, or None where the text does not hold ``n`` snaps to
    edges of ``ea`` with known statuses."""
    try:
        d = json.loads(text)
        if not isinstance(d, dict) or d.get("format") != SNAP_FORMAT or d.get("n") != n:
            return None
        edge = np.frombuffer(base64.b64decode(d["edge"], validate=True), dtype="<i8")
        nums = np.frombuffer(base64.b64decode(d["numbers"], validate=True), dtype="<f8")
        codes = np.frombuffer(base64.b64decode(d["status"], validate=True), dtype="<i1")
    except (ValueError, TypeError, KeyError):
        return None
    if len(edge) != n or len(codes) != n or len(nums) != n * len(_NUMBERS) or \
            (n and (edge.min() < -1 or edge.max() >= ea.n_edges
                    or codes.min() < 0 or codes.max() >= len(_STATUSES))):
        return None
    edge = edge.astype(np.int64)
    nums = nums.reshape(n, len(_NUMBERS)).astype(float)
    found = edge >= 0
    keys = np.full((n, 3), -1, dtype=np.int64)
    if found.any():
        keys[found] = ea.keys_of(edge[found])
    out = pd.DataFrame({"edge": edge, "u": keys[:, 0], "v": keys[:, 1], "key": keys[:, 2]})
    for j, c in enumerate(_NUMBERS):
        out[c] = nums[:, j]
    out["status"] = np.asarray(_STATUSES, dtype=object)[codes]
    return out


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


# --- re-attaching locations whose road a scenario closes -------------------------------------

#: Fractions of an edge this close count as the same point (as the routing graph's ends).
_TOL = 1e-9


def closed_intervals(ea: EdgeArrays) -> dict[int, list[tuple[float, float]]]:
    """Per edge, the parts a scenario closes, merged: ``(start, end)`` fractions of its length,
    in order. A part closed on the edge running the other way along the same road counts too
    (mirrored), and so does a whole edge closed by ``penalty``."""
    rows: list[np.ndarray] = []
    if ea.hazards is not None and len(ea.hazards):
        hz = ea.hazards[np.isinf(ea.hazards[:, 3])]
        e = hz[:, 0].astype(np.int64)
        rows.append(np.column_stack([e, hz[:, 1], hz[:, 2]]))
        tw = ea.twin[e]
        has = tw >= 0
        rows.append(np.column_stack([tw[has], 1.0 - hz[has, 2], 1.0 - hz[has, 1]]))
    if ea.penalty is not None:
        whole = np.flatnonzero(np.isinf(ea.penalty))
        rows.append(np.column_stack([whole, np.zeros(len(whole)), np.ones(len(whole))]))
        tw = ea.twin[whole]
        tw = tw[tw >= 0]
        rows.append(np.column_stack([tw, np.zeros(len(tw)), np.ones(len(tw))]))
    if not rows:
        return {}
    r = np.concatenate(rows)
    if not len(r):
        return {}
    r = r[np.lexsort((r[:, 1], r[:, 0]))]
    out: dict[int, list[tuple[float, float]]] = {}
    for e_f, lo, hi in r.tolist():
        parts = out.setdefault(int(e_f), [])
        lo, hi = max(0.0, lo), min(1.0, hi)
        if parts and lo <= parts[-1][1] + _TOL:
            parts[-1] = (parts[-1][0], max(parts[-1][1], hi))
        else:
            parts.append((lo, hi))
    return out


def on_closed_road(ea: EdgeArrays, snaps: pd.DataFrame, *,
                   closed: dict[int, list[tuple[float, float]]] | None = None
                   ) -> npt.NDArray[np.bool_]:
    """Per location: it is attached inside a closed part of its road (strictly: a location at
    the edge of a closed part can still leave by the open side). ``closed``:
    :func:`closed_intervals` of ``ea``, if found already."""
    if closed is None:
        closed = closed_intervals(ea)
    edge = snaps["edge"].to_numpy(dtype=np.int64)
    frac = snaps["frac"].to_numpy(dtype=float, na_value=np.nan)
    out = np.zeros(len(snaps), dtype=bool)
    if not closed:
        return out
    shut = np.fromiter(closed.keys(), dtype=np.int64, count=len(closed))
    for i in np.flatnonzero(np.isin(edge, shut)).tolist():
        f = float(frac[i])
        out[i] = any(lo + _TOL < f < hi - _TOL for lo, hi in closed.get(int(edge[i]), ()))
    return out


def _open_parts(ea: EdgeArrays, edges: npt.NDArray[np.int64],
                closed: dict[int, list[tuple[float, float]]]
                ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64],
                           npt.NDArray[np.float64], npt.NDArray[np.object_]]:
    """The open parts of ``edges``: (position in ``edges``, start and end fractions, line)."""

    pos: list[int] = []
    f0: list[float] = []
    f1: list[float] = []
    geoms: list[object] = []
    whole_line = ea.lines(edges)
    for j, e in enumerate(edges.tolist()):
        shut = closed.get(int(e))
        if not shut:
            pos.append(j)
            f0.append(0.0)
            f1.append(1.0)
            geoms.append(whole_line[j])
            continue
        start = 0.0
        for lo, hi in [*shut, (1.0, 1.0)]:
            if lo - start > _TOL:
                pos.append(j)
                f0.append(start)
                f1.append(lo)
                geoms.append(substring(whole_line[j], start, lo, normalized=True))
            start = max(start, hi)
    return (np.asarray(pos, dtype=np.int64), np.asarray(f0, dtype=float),
            np.asarray(f1, dtype=float), np.asarray(geoms, dtype=object))


def reattach(
    network: EdgeArrays,
    snaps: pd.DataFrame,
    points: npt.NDArray[np.object_],
    *,
    settings: Settings,
    skip: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Move the locations whose road a scenario closes to the nearest open road.

    A location attached (status ``ok``) inside a closed part of its edge (a ``closed`` hazard
    zone's part, or a whole edge closed by ``penalty``) is attached anew at the nearest point of
    an *open* part of a road of the main network within ``max_access_m``: the exact distance to
    the open lines (GEOS), no polygon approximation. The open part must reach a junction (an
    end of its edge): an open sliver of a road between two closed parts is no way out, as a
    unit that reaches no road node is cut off. A location with no such road within reach keeps
    its closed road (it is then cut off).

    Parameters
    ----------
    network
        The network with the scenario's hazards (or penalty).
    snaps
        The locations attached to the same network without them (:func:`snap_points`).
    points
        The point of each location (:func:`location_points`), in the network's CRS.
    skip
        Per location, True to leave it on its road (e.g. a location inside a closed zone).

    Returns
    -------
    pandas.DataFrame
        ``snaps`` with the moved rows replaced and a column ``reattached_m``: the new access
        leg in metres where a location was moved, NaN elsewhere.
    """
    out = snaps.copy()
    out["reattached_m"] = np.nan
    closed = closed_intervals(network)
    if not closed or not len(snaps):
        return out
    stuck = (snaps["status"].to_numpy(dtype=object) == "ok") & on_closed_road(
        network, snaps, closed=closed)
    if skip is not None:
        stuck &= ~np.asarray(skip, dtype=bool)
    who = np.flatnonzero(stuck)
    if not len(who):
        return out
    ea = network
    max_m = settings.network.max_access_m
    pts = np.asarray(points, dtype=object)[who]
    src, hit = ea.near(pts, distance=max_m)
    on_main = ea.component[ea.u] == ea.main  # as when first attached: the main network
    src, hit = src[on_main[hit]], hit[on_main[hit]]
    edges = np.unique(hit)
    ppos, pf0, pf1, pgeom = _open_parts(ea, edges, closed)
    # only the open parts that reach a junction
    lead = (pf0 <= _TOL) | (pf1 >= 1.0 - _TOL)
    ppos, pf0, pf1, pgeom = ppos[lead], pf0[lead], pf1[lead], pgeom[lead]
    # every (location, open part) pair: the parts of the edges within reach
    order = np.argsort(ppos, kind="stable")
    ppos, pf0, pf1, pgeom = ppos[order], pf0[order], pf1[order], pgeom[order]
    first = np.searchsorted(ppos, np.arange(len(edges)))
    count = np.searchsorted(ppos, np.arange(len(edges)), side="right") - first
    ej = np.searchsorted(edges, hit)
    n_of = count[ej]
    s_rep = np.repeat(src, n_of)
    part = ranges(first[ej], n_of)
    e_rep = edges[ppos[part]]
    dist = shapely.distance(pts[s_rep], pgeom[part])
    near = dist <= max_m
    s_rep, part, e_rep, dist = s_rep[near], part[near], e_rep[near], dist[near]
    if not len(s_rep):
        return out
    key_rank = ea.key_rank
    best = np.lexsort((pf0[part], key_rank[e_rep], np.round(dist, 6), s_rep))
    s_rep, part, e_rep, dist = s_rep[best], part[best], e_rep[best], dist[best]
    one = np.r_[True, s_rep[1:] != s_rep[:-1]]
    s_rep, part, e_rep, dist = s_rep[one], part[one], e_rep[one], dist[one]
    lines = pgeom[part]
    along = shapely.line_locate_point(lines, pts[s_rep])
    on_road = shapely.line_interpolate_point(lines, along)
    whole = shapely.length(ea.lines(e_rep))
    frac = np.clip(pf0[part] + np.divide(along, whole, out=np.zeros(len(along)),
                                         where=whole > 0), pf0[part], pf1[part])
    offroad = settings.speed_kph("offroad")
    rows = out.index[who[s_rep]]
    karr = ea.keys_of(e_rep)
    out.loc[rows, "edge"] = e_rep
    out.loc[rows, "u"] = karr[:, 0]
    out.loc[rows, "v"] = karr[:, 1]
    out.loc[rows, "key"] = karr[:, 2]
    out.loc[rows, "frac"] = frac
    out.loc[rows, "access_m"] = dist
    out.loc[rows, "access_min"] = dist / 1000.0 / offroad * 60.0
    out.loc[rows, "snap_x"] = shapely.get_x(on_road)
    out.loc[rows, "snap_y"] = shapely.get_y(on_road)
    out.loc[rows, "reattached_m"] = dist
    return out
