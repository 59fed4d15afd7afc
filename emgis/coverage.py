"""Coverage and gaps: response times from every unit kind to every village, and service areas.

For every village and every unit kind present, :func:`compute_coverage` finds the nearest unit
and the second-nearest distinct unit (the backup) over the road network, their times in minutes
(turnout included), the target of the kind, and a status:

``covered``
    the nearest unit arrives within the target;
``over_target``
    it arrives, but later than the target;
``no_road_access``
    the village is farther from any road than ``[network] max_access_m``;
``cut_off``
    no unit of the kind can reach it over the network (an isolated piece of road, one-way
    traps, or every unit of the kind itself without road access);
``no_unit``
    the district has no unit of that kind.

Responders travel from the unit to the village (one-way streets in that direction); villagers
travel from the village to shelters (walking or driving, ``[coverage]`` says which).
Every input village appears once per kind; none is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from emgis.district import District
from emgis.network import EdgeArrays, edge_arrays
from emgis.settings import Settings
from emgis.snapping import snap_points
from emgis.standards import TEAM_KINDS
from emgis.traveltime import RoutingGraph, build_routing_graph, nearest_two, times_from

log = logging.getLogger(__name__)

#: Every unit kind, in report order.
UNIT_KINDS: tuple[str, ...] = (*TEAM_KINDS, "stockpile", "shelter_emergency", "shelter_fixed")

#: Statuses of a village for a kind, from best to worst.
STATUSES: tuple[str, ...] = ("covered", "over_target", "cut_off", "no_road_access", "no_unit")

Status = Literal["covered", "over_target", "cut_off", "no_road_access", "no_unit"]

COLUMNS = ["village_id", "village_name", "township", "population", "kind", "nearest_id",
           "nearest_min", "second_id", "second_min", "target_min", "status"]


def units_of(district: District) -> gpd.GeoDataFrame:
    """All units of the district in one table: teams, stockpiles and shelters.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id``, ``name``, ``kind`` (a coverage kind of :data:`UNIT_KINDS`), ``township``,
        ``turnout_min`` (the unit's own, else the standards default), ``layer`` and the point.
    """
    s = district.settings
    parts = []
    t = district.teams
    if len(t):
        default = t["kind"].map(lambda k: float(s.turnout[k].value) if k in s.turnout else 0.0)
        parts.append(pd.DataFrame({
            "id": t["id"], "name": t["name"], "kind": t["kind"], "township": t["township"],
            "turnout_min": t["turnout_min"].astype("Float64").fillna(default).astype(float),
            "layer": "teams", "geometry": t.geometry}))
    st = district.stockpiles
    if len(st):
        parts.append(pd.DataFrame({
            "id": st["id"], "name": st["name"], "kind": "stockpile", "township": st["township"],
            "turnout_min": float(s.turnout["stockpile"].value), "layer": "stockpiles",
            "geometry": st.geometry}))
    sh = district.shelters
    if len(sh):
        parts.append(pd.DataFrame({
            "id": sh["id"], "name": sh["name"], "kind": "shelter_" + sh["kind"].astype(str),
            "township": sh["township"], "turnout_min": 0.0, "layer": "shelters",
            "geometry": sh.geometry}))
    if not parts:
        return gpd.GeoDataFrame(
            {c: [] for c in ["id", "name", "kind", "township", "turnout_min", "layer"]},
            geometry=[], crs=district.crs)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                           crs=district.crs)
    out["kind"] = out["kind"].astype(str)
    return out


def target_of(kind: str, settings: Settings) -> float:
    """Target minutes of a coverage kind."""
    return float(settings.targets[kind].value)


def mode_of(kind: str, settings: Settings) -> str:
    """``"walk"`` or ``"drive"``: how the trip of this kind is made."""
    if kind == "shelter_emergency":
        return settings.coverage.shelter_emergency_mode
    if kind == "shelter_fixed":
        return settings.coverage.shelter_fixed_mode
    return "drive"


def towards_unit(kind: str) -> bool:
    """True where villagers travel to the unit (shelters) rather than the unit to them."""
    return kind.startswith("shelter_")


@dataclass(frozen=True)
class CoverageResult:
    """Everything :func:`compute_coverage` found.

    Attributes
    ----------
    table
        One row per village and kind (:data:`COLUMNS`), villages in input order, kinds in
        :data:`UNIT_KINDS` order.
    villages, units
        The villages and units with their snapping (``snap_status``, ``access_m``).
    kinds
        The kinds evaluated.
    graphs
        The routing graph per travel mode (``"drive"``, ``"walk"``).
    node_min
        Per kind: minutes from the nearest unit to every network node (into the unit for
        shelters), turnout included; used for the kind's service area.
    unit_loc, village_loc
        Location index of each unit / village in the routing graphs.
    edges
        The road graph's edge arrays (geometry in routing-graph edge order).
    """

    table: pd.DataFrame
    villages: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    kinds: tuple[str, ...]
    graphs: dict[str, RoutingGraph]
    node_min: dict[str, np.ndarray]
    unit_loc: np.ndarray
    village_loc: np.ndarray
    edges: EdgeArrays


def compute_coverage(
    district: District,
    network: nx.MultiDiGraph | EdgeArrays,
    *,
    kinds: tuple[str, ...] | None = None,
    units: gpd.GeoDataFrame | None = None,
) -> CoverageResult:
    """Response times and coverage status of every village for every unit kind.

    Parameters
    ----------
    district
        The loaded district (villages, units, settings).
    network
        Its road network in the district's CRS (:func:`emgis.network.load_network`), or the
        network's edge arrays (:func:`emgis.network.load_network_arrays`: faster and lighter
        on large networks).
    kinds
        Kinds to evaluate; default every kind of :data:`UNIT_KINDS` with a target, including
        those with no unit (their villages get ``no_unit``) for team kinds present in the
        standards.
    units
        Units to use instead of the district's (as :func:`units_of` returns them), e.g. with
        proposed sites added.

    Returns
    -------
    CoverageResult
    """
    settings = district.settings
    villages = district.layer("villages")
    units = units_of(district) if units is None else units.copy()
    if kinds is None:
        kinds = tuple(k for k in UNIT_KINDS if k in settings.targets)
    points = pd.concat([villages.geometry, units.geometry], ignore_index=True)
    edges = network if isinstance(network, EdgeArrays) else edge_arrays(network)
    snaps = snap_points(edges, gpd.GeoSeries(points, crs=district.crs), settings=settings)
    n_v = len(villages)
    village_loc = np.arange(n_v)
    unit_loc = np.arange(n_v, n_v + len(units))
    villages["snap_status"] = snaps["status"].to_numpy()[:n_v]
    villages["access_m"] = snaps["access_m"].to_numpy()[:n_v]
    units["snap_status"] = snaps["status"].to_numpy()[n_v:]
    units["access_m"] = snaps["access_m"].to_numpy()[n_v:]

    modes = {mode_of(k, settings) for k in kinds}
    graphs = {m: build_routing_graph(edges, snaps, mode=m,  # type: ignore[arg-type]
                                     walk_kph=settings.speed_kph("walk"))
              for m in sorted(modes)}
    reversed_graphs: dict[str, RoutingGraph] = {}

    frames = []
    node_min: dict[str, np.ndarray] = {}
    for kind in kinds:
        target = target_of(kind, settings)
        sel = np.flatnonzero((units["kind"] == kind).to_numpy())
        rg = graphs[mode_of(kind, settings)]
        if towards_unit(kind):
            mode = mode_of(kind, settings)
            if mode not in reversed_graphs:
                reversed_graphs[mode] = rg.reversed()
            rg = reversed_graphs[mode]
        first: np.ndarray[tuple[int], np.dtype[np.object_]]
        second: np.ndarray[tuple[int], np.dtype[np.object_]]
        if len(sel):
            res = nearest_two(rg, unit_loc[sel], offsets=units["turnout_min"].to_numpy()[sel],
                              targets=village_loc)
            first_min, second_min = res.first_min, res.second_min
            ids = units["id"].to_numpy()[sel]
            first = _ids(res.first, ids)
            second = _ids(res.second, ids)
            node_min[kind] = res.node_min[: rg.n_road]
        else:
            first_min = second_min = np.full(n_v, np.inf)
            first = np.full(n_v, None, dtype=object)
            second = np.full(n_v, None, dtype=object)
        status = np.where(first_min <= target + 1e-9, "covered",
                          np.where(np.isfinite(first_min), "over_target", "cut_off"))
        status = np.where(villages["snap_status"].to_numpy() == "no_road_access",
                          "no_road_access", status)
        if not len(sel):
            status[:] = "no_unit"
        frames.append(pd.DataFrame({
            "village_id": villages["id"].to_numpy(),
            "village_name": villages["name"].to_numpy(),
            "township": villages["township"].to_numpy(),
            "population": villages["population"].to_numpy(dtype=float, na_value=0).astype(int),
            "kind": kind,
            "nearest_id": first,
            "nearest_min": np.where(np.isfinite(first_min), np.round(first_min, 2), np.nan),
            "second_id": second,
            "second_min": np.where(np.isfinite(second_min), np.round(second_min, 2), np.nan),
            "target_min": target,
            "status": status,
        }))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    return CoverageResult(
        table=table[COLUMNS], villages=villages, units=units, kinds=tuple(kinds), graphs=graphs,
        node_min=node_min, unit_loc=unit_loc, village_loc=village_loc, edges=edges)


def _ids(pos: np.ndarray, ids: np.ndarray) -> np.ndarray[tuple[int], np.dtype[np.object_]]:
    """The ids at positions ``pos``; None where ``pos`` is -1."""
    out = np.full(len(pos), None, dtype=object)
    ok = pos >= 0
    out[ok] = ids[pos[ok]]
    return out


def summarize(table: pd.DataFrame, *, by: tuple[str, ...] = ("kind",)) -> pd.DataFrame:
    """Villages and population per status, and the population share covered.

    Parameters
    ----------
    table
        The per-village table of :func:`compute_coverage`.
    by
        Grouping columns: ``("kind",)`` or ``("township", "kind")``.

    Returns
    -------
    pandas.DataFrame
        Per group: ``villages``, ``population``, ``villages_<status>`` and
        ``population_<status>`` for every status, and ``share_covered`` (population-weighted,
        0-1).
    """
    rows = []
    for key, grp in table.groupby(list(by), sort=False):
        key_t = key if isinstance(key, tuple) else (key,)
        row: dict[str, object] = dict(zip(by, key_t, strict=True))
        row["villages"] = len(grp)
        row["population"] = int(grp["population"].sum())
        for st in STATUSES:
            g = grp[grp["status"] == st]
            row[f"villages_{st}"] = len(g)
            row[f"population_{st}"] = int(g["population"].sum())
        pop = row["population"]
        row["share_covered"] = round(row["population_covered"] / pop, 4) if pop else 0.0  # type: ignore[operator]
        rows.append(row)
    return pd.DataFrame(rows)


def gaps(table: pd.DataFrame) -> pd.DataFrame:
    """Villages outside the target, worst first: most people, then longest time, per kind."""
    g = table[table["status"] != "covered"].copy()
    g["_order"] = g["kind"].map({k: i for i, k in enumerate(UNIT_KINDS)})
    g = g.sort_values(["_order", "population", "nearest_min", "village_id"],
                      ascending=[True, False, False, True], na_position="first")
    return g.drop(columns="_order").reset_index(drop=True)


class _Sampler:
    """Points every ``step`` metres along every road edge, to rasterise reached roads.

    A service area is the set of grid cells (half the buffer wide) holding a reached point,
    grown by the buffer and turned back into a polygon: the same band along the reached roads
    as buffering each road piece, at a small fraction of the cost on large networks. Points
    are kept as coordinate arrays (no geometry objects) to stay light on large networks.
    """

    def __init__(self, geoms: np.ndarray, step: float) -> None:
        dense = shapely.segmentize(geoms, step)
        xy, edge = shapely.get_coordinates(dense, return_index=True)
        seg = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
        seg = np.concatenate([[0.0], seg])
        first = np.ones(len(edge), dtype=bool)
        first[1:] = edge[1:] != edge[:-1]
        seg[first] = 0.0  # no distance across from one edge to the next
        cum = np.cumsum(seg)
        start_cum = cum[first]
        self.dist = cum - np.repeat(start_cum, np.diff(np.append(np.flatnonzero(first),
                                                                 len(edge))))
        self.edge = edge
        self.length = shapely.length(geoms)
        self.x = xy[:, 0]
        self.y = xy[:, 1]

    def times(self, tu: np.ndarray, w: np.ndarray, *, from_end: bool) -> np.ndarray:
        """Minutes at which each point is reached, given the time ``tu`` at the end each edge is
        entered from (its start, or its end when ``from_end``) and the edge's minutes ``w``."""
        along = self.dist
        length = self.length[self.edge]
        if from_end:
            along = length - along
        frac = np.divide(along, length, out=np.zeros_like(along), where=length > 0)
        out: np.ndarray = tu[self.edge] + frac * w[self.edge]
        return out


#: Most cells of the grid a service area is drawn on; larger districts get coarser cells.
MAX_GRID_CELLS = 2_000_000


def _raster_area(x: np.ndarray, y: np.ndarray, buffer_m: float) -> shapely.Geometry:
    """Cells of a half-buffer grid holding a point, grown by the buffer, as a polygon."""
    from scipy import ndimage

    if len(x) == 0:
        return shapely.Polygon()
    extent = (x.max() - x.min() + 2 * buffer_m) * (y.max() - y.min() + 2 * buffer_m)
    cell = max(buffer_m / 2.0, float(np.sqrt(extent / MAX_GRID_CELLS)))
    r = max(1, round(buffer_m / cell))
    x0 = np.floor(x.min() / cell) * cell - (r + 1) * cell
    y0 = np.floor(y.min() / cell) * cell - (r + 1) * cell
    ix = ((x - x0) // cell).astype(np.int64)
    iy = ((y - y0) // cell).astype(np.int64)
    mask = np.zeros((iy.max() + r + 2, ix.max() + r + 2), dtype=bool)
    mask[iy, ix] = True
    yy, xx = np.ogrid[-r:r + 1, -r:r + 1]
    mask = ndimage.binary_dilation(mask, structure=(xx * xx + yy * yy) <= r * r + r)
    d = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)
    boxes = shapely.box(x0 + starts * cell, y0 + rows * cell, x0 + ends * cell,
                        y0 + (rows + 1) * cell)
    # cells touching only at a corner make an invalid ring: buffer(0) mends it cheaply
    area = shapely.buffer(shapely.coverage_union_all(boxes), 0)
    # smooth the cell staircase (less than a cell), as a buffer of the roads would be
    return polygonal(shapely.simplify(area, cell * 0.75, preserve_topology=True))


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry made valid (lines and points dropped)."""
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def service_areas(
    result: CoverageResult,
    *,
    settings: Settings,
    per_unit: bool = True,
) -> gpd.GeoDataFrame:
    """Areas reachable within each break, per unit and per kind, from the reached roads.

    The reached road edges (whole, or the reached part of a partly reached edge) are buffered
    by ``[coverage] service_area_buffer_m`` and merged (on a grid half the buffer wide):
    pockets the roads do not reach stay out, unlike a convex hull.

    Returns
    -------
    geopandas.GeoDataFrame
        ``scope`` (``unit`` or ``kind``), ``kind``, ``unit_id`` (for units), ``break_min``
        and the polygon, in the district's CRS.
    """
    crs = result.villages.crs
    buf = settings.coverage.service_area_buffer_m
    sampler = _Sampler(result.edges.geometry, buf / 2.0)
    rows = []
    for kind in result.kinds:
        target = target_of(kind, settings)
        breaks = sorted({*settings.coverage.breaks_min, target})
        if kind not in result.node_min:
            continue
        rg = result.graphs[mode_of(kind, settings)]
        back = towards_unit(kind)
        if back:
            rg = rg.reversed()
        t = sampler.times(result.node_min[kind][rg.edge_u], rg.edge_w, from_end=back)
        for b in breaks:
            ok = t <= b
            area = _raster_area(sampler.x[ok], sampler.y[ok], buf)
            rows.append({"scope": "kind", "kind": kind, "unit_id": None, "break_min": b,
                         "geometry": area})
        if not per_unit:
            continue
        sel = np.flatnonzero((result.units["kind"] == kind).to_numpy())
        times = times_from(rg, result.unit_loc[sel],
                           offsets=result.units["turnout_min"].to_numpy()[sel],
                           limit=max(breaks))
        for j, i in enumerate(sel):
            t = sampler.times(times[j, : rg.n_road][rg.edge_u], rg.edge_w, from_end=back)
            for b in breaks:
                ok = t <= b
                area = _raster_area(sampler.x[ok], sampler.y[ok], buf)
                rows.append({"scope": "unit", "kind": kind,
                             "unit_id": result.units["id"].iloc[i], "break_min": b,
                             "geometry": area})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs) if rows else gpd.GeoDataFrame(
        {"scope": [], "kind": [], "unit_id": [], "break_min": []}, geometry=[], crs=crs)


def uncovered_areas(
    areas: gpd.GeoDataFrame, district: District
) -> gpd.GeoDataFrame:
    """Per kind, the part of the district outside the union of its units' target areas."""
    towns = district.townships
    if len(towns) == 0:
        return gpd.GeoDataFrame({"kind": [], "area_km2": []}, geometry=[], crs=district.crs)
    whole = shapely.union_all(towns.geometry.values)
    rows = []
    kinds = areas[areas["scope"] == "kind"]
    for kind in dict.fromkeys(kinds["kind"]):
        target = target_of(kind, district.settings)
        sa = kinds[(kinds["kind"] == kind) & (kinds["break_min"] == target)]
        covered = shapely.union_all(sa.geometry.values)
        gap = polygonal(whole.difference(covered))
        rows.append({"kind": kind, "area_km2": round(gap.area / 1e6, 3), "geometry": gap})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=district.crs)
