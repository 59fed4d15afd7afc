"""Each unit's own zone (责任区): which station answers for which villages.

Per kind, every village the kind's units reach is assigned to the unit that reaches it first
(the ``nearest_id`` of the coverage table), so each reachable village is in exactly one zone.
The zone's area is drawn from the roads each unit reaches first: points along every road carry
the first unit to reach them (exact along each piece of road, as the service areas), the roads
reached are widened by ``[coverage] service_area_buffer_m`` on a grid half as wide, and every
cell goes to the unit of the nearest reached point; zones are therefore mutually exclusive, as
the exclusive service areas of network analysts. Per unit: villages, persons, area, the longest
time to a village of its zone, and the villages of it outside the target; per kind, how unequal
the zones are.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from emgis.analysis._outline import outlines
from emgis.analysis.coverage import (
    CoverageResult,
    _Grid,
    _grid_cell,
    _Sampler,
    dilate_disc,
    polygonal,
    road_points,
)
from emgis.inputs.kinds import mode_of, target_of
from emgis.inputs.settings import Settings

#: Most cells of the grid zones are drawn on (a quarter of a service area's,
#: :data:`emgis.analysis.coverage.MAX_GRID_CELLS`): every kind's zones are drawn on it, so larger
#: districts get coarser cells sooner (the villages of a zone do not depend on it, its area
#: is exact to a cell's width along the border).
ZONE_MAX_GRID_CELLS = 500_000

#: Columns of the per-unit zone table.
COLUMNS = ["kind", "unit_id", "unit_name", "township", "villages", "population", "area_km2",
           "longest_min", "farthest_village_id", "farthest_village", "target_min",
           "villages_over_target", "population_share"]

#: Columns of the per-kind balance table.
BALANCE_COLUMNS = ["kind", "units", "units_without_village", "population_mean",
                   "population_max", "population_cv", "max_over_mean", "longest_min"]


@dataclass(frozen=True)
class Zones:
    """What :func:`unit_zones` found.

    Attributes
    ----------
    zones
        One row per unit with a unit kind's units reaching anything (:data:`COLUMNS`), with
        its zone polygon (metres, the district's CRS; empty where it reaches no road first).
    balance
        One row per kind: how unequal its zones are (:data:`BALANCE_COLUMNS`); ``population_cv``
        is the standard deviation of the zones' persons over their mean.
    villages
        Per village and kind: the unit whose zone it is in (``unit_id``; None where no unit of
        the kind reaches it).
    """

    zones: gpd.GeoDataFrame
    balance: pd.DataFrame
    villages: pd.DataFrame


def unit_zones(result: CoverageResult, *, settings: Settings,
               kinds: tuple[str, ...] | None = None) -> Zones:
    """Every unit's zone per kind: its villages and its area.

    Parameters
    ----------
    result
        The coverage of the district (:func:`emgis.analysis.coverage.compute_coverage`).
    settings
        The district's settings (buffer of the area drawn, targets).
    kinds
        Kinds to zone (default: every kind of the result with a unit).
    """
    table = result.table
    crs = result.villages.crs
    units = result.units
    buf = settings.coverage.service_area_buffer_m
    ea = result.edges
    cell = _grid_cell(ea.vx, ea.vy, buf, ZONE_MAX_GRID_CELLS)
    # the service areas' points where they are about as far apart as the cells (else points
    # a cell apart), each network's grid made once (walkers' kinds: points along the
    # walking network)
    grids: dict[int, tuple[_Sampler, _ZoneGrid]] = {}
    rows: list[dict[str, object]] = []
    balance: list[dict[str, object]] = []
    village_rows = []
    for kind in kinds or result.kinds:
        if kind not in result.node_min or kind not in result.node_unit:
            continue
        target = target_of(kind, settings)
        k = table[table["kind"] == kind]
        village_rows.append(pd.DataFrame({"village_id": k["village_id"].to_numpy(),
                                          "kind": kind, "unit_id": k["nearest_id"].to_numpy()}))
        rg = result.graph(kind, settings)
        net = result.engine.network_of(mode_of(kind, settings))
        if id(net) not in grids:
            on = road_points(result.engine, net, buf, cell=cell)
            grids[id(net)] = (on, _ZoneGrid(on.x, on.y, buf, cell=cell))
        sampler, grid = grids[id(net)]
        t, owner = sampler.owners(rg, result.node_min[kind], result.node_unit[kind])
        polys = _exclusive_areas(grid, owner, np.isfinite(t) & (owner >= 0), t)
        sel = np.flatnonzero(((units["kind"] == kind) & units["active"]).to_numpy(dtype=bool))
        total = float(k["population"].sum()) or 1.0
        pops = []
        each = _per_unit(k, units["id"].to_numpy(dtype=object)[sel])
        names = units["name"].to_numpy(dtype=object)
        towns = units["township"].to_numpy(dtype=object) if "township" in units else None
        for j, i in enumerate(sel):
            count, pop, over, far = each[j]
            geom = polys.get(int(i), shapely.Polygon())
            pops.append(pop)
            rows.append({
                "kind": kind, "unit_id": units["id"].iloc[i], "unit_name": names[i],
                "township": None if towns is None else towns[i],
                "villages": count, "population": pop,
                "area_km2": round(geom.area / 1e6, 3),
                "longest_min": None if far is None else far[0],
                "farthest_village_id": None if far is None else far[1],
                "farthest_village": None if far is None else far[2],
                "target_min": target,
                "villages_over_target": over,
                "population_share": round(pop / total, 4), "geometry": geom})
        p = np.asarray(pops, dtype=float)
        mean = float(p.mean()) if len(p) else 0.0
        balance.append({
            "kind": kind, "units": len(p), "units_without_village": int((p == 0).sum()),
            "population_mean": round(mean, 1), "population_max": int(p.max()) if len(p) else 0,
            "population_cv": round(float(p.std()) / mean, 3) if mean else None,
            "max_over_mean": round(float(p.max()) / mean, 2) if mean else None,
            "longest_min": float(k["nearest_min"].max()) if k["nearest_min"].notna().any()
            else None})
    zones = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs) if rows else \
        gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs=crs)
    villages = pd.concat(village_rows, ignore_index=True) if village_rows else \
        pd.DataFrame(columns=["village_id", "kind", "unit_id"])
    return Zones(zones, pd.DataFrame(balance, columns=BALANCE_COLUMNS), villages)


def _per_unit(k: pd.DataFrame, uids: np.ndarray
              ) -> list[tuple[int, int, int, tuple[float, object, object] | None]]:
    """Per unit id of ``uids``: the villages of its zone (the rows of one kind's coverage
    table ``k`` whose ``nearest_id`` it is), their persons, those over the target, and the
    farthest (its minutes, id and name: the first of the table's rows with the most minutes),
    or None for a zone of no village. One pass over the rows, not a frame per unit."""
    n = len(uids)
    at = pd.Index(uids).get_indexer(pd.Index(k["nearest_id"].to_numpy(dtype=object)))
    mine = at >= 0
    place = at[mine]
    count = np.bincount(place, minlength=n)
    persons = np.bincount(place, weights=np.nan_to_num(
        k["population"].to_numpy(dtype=float, na_value=np.nan)[mine]), minlength=n)
    over = np.bincount(place, weights=(k["status"].to_numpy(dtype=object)[mine]
                                       != "covered").astype(float), minlength=n)
    minutes = k["nearest_min"].to_numpy(dtype=float, na_value=np.nan)[mine]
    # the farthest row of each zone: most minutes first, the table's first row on ties (rows
    # of unknown minutes are no zone's farthest)
    known = ~np.isnan(minutes)
    rows, unit, mins = np.flatnonzero(mine)[known], place[known], minutes[known]
    order = np.lexsort((rows, -mins, unit))
    firsts = order[np.r_[True, unit[order][1:] != unit[order][:-1]]] if len(order) else order
    ids = k["village_id"].to_numpy(dtype=object)
    names = k["village_name"].to_numpy(dtype=object)
    far: list[tuple[float, object, object] | None] = [None] * n
    for f in firsts:
        r = int(rows[f])
        far[int(unit[f])] = (float(mins[f]), ids[r], names[r])
    return [(int(count[j]), int(persons[j]), int(over[j]), far[j]) for j in range(n)]


class _ZoneGrid(_Grid):
    """The grid zones are drawn on, over every point along the roads (the same for every
    kind), with the points grouped by cell once."""

    def __init__(self, x: np.ndarray, y: np.ndarray, buffer_m: float, *, cell: float) -> None:
        super().__init__(x, y, buffer_m, cell=cell)
        if not self.n:
            self.cell, self.r, self.x0, self.y0, self.shape = cell, 1, 0.0, 0.0, (1, 1)
            self.ix = self.iy = np.zeros(0, np.int64)
        flat = self.iy * self.shape[1] + self.ix
        self.order = np.argsort(flat, kind="stable")
        fs = flat[self.order]
        self.starts = np.flatnonzero(np.r_[True, fs[1:] != fs[:-1]]) if len(fs) else \
            np.zeros(0, np.int64)
        self.cells = fs[self.starts]
        self.group = np.repeat(np.arange(len(self.starts)),
                               np.diff(np.r_[self.starts, len(fs)]))

    def seed(self, owner: np.ndarray, ok: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Per cell, the owner of its point reached first (the first such point on ties);
        -1 for a cell no reached point lies in."""
        tt = np.where(ok, t, np.inf)[self.order]
        seed = np.full(self.shape[0] * self.shape[1], -1, dtype=np.int64)
        if not len(tt):
            return seed.reshape(self.shape)
        least = np.minimum.reduceat(tt, self.starts)
        pos = np.flatnonzero((tt == least[self.group]) & np.isfinite(tt))
        g = self.group[pos]
        first = pos[np.r_[True, g[1:] != g[:-1]]] if len(pos) else pos
        seed[self.cells[self.group[first]]] = owner[self.order[first]]
        return seed.reshape(self.shape)


def _exclusive_areas(grid_: _ZoneGrid, owner: np.ndarray, ok: np.ndarray, t: np.ndarray
                     ) -> dict[int, shapely.Geometry]:
    """Per owner, the grid cells within the buffer of a reached point whose nearest reached
    cell is that owner's (a cell with reached points is its first-reached point's owner's):
    polygons that never overlap."""

    if not ok.any():
        return {}
    seed = grid_.seed(owner, ok, t)
    cell, r, x0, y0 = grid_.cell, grid_.r, grid_.x0, grid_.y0
    grid = dilate_disc(seed >= 0, r)
    cy, cx = np.nonzero(grid)
    # each cell of the widened roads goes to its nearest reached cell (a distance transform
    # on the grid: no tree of the millions of points along a province's roads)
    ny, nx = ndimage.distance_transform_edt(seed < 0, return_distances=False,
                                            return_indices=True)
    lab = np.full(seed.shape, -1, dtype=np.int64)
    lab[cy, cx] = seed[ny[cy, cx], nx[cy, cx]]
    # each owner's cells as polygons, traced along the grid: neighbouring zones share every
    # vertex of their common edges (a coverage)
    found = outlines(lab, x0=x0, y0=y0, cell=cell)
    keys = sorted(found)
    areas = [polygonal(found[k]) for k in keys]
    # smooth the cell staircase, edges shared between zones kept shared (no overlap, no gap)
    smooth = shapely.coverage_simplify(np.array(areas, dtype=object), cell * 0.75)
    return {k: polygonal(shapely.make_valid(g)) for k, g in zip(keys, smooth, strict=True)}
