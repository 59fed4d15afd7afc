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

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import shapely.ops

from emgis._arrays import ranges
from emgis.analysis._outline import outlines
from emgis.analysis._reach import EITHER, FROM_START, TO_END, reach_owners, reach_times
from emgis.inputs.district import District
from emgis.inputs.kinds import (
    SOCIAL_BACKUP,
    UNIT_KINDS,
    mode_of,
    target_of,
    towards_unit,
    units_of,
)
from emgis.inputs.settings import Settings
from emgis.roads.edges import EdgeArrays
from emgis.roads.engine import Engine
from emgis.roads.nxio import edge_arrays
from emgis.roads.routing import (
    Before,
    NearestTwo,
    RoutingGraph,
    Search,
    nearest_two_many,
    times_from,
)

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)

#: Statuses of a village for a kind, from best to worst.
STATUSES: tuple[str, ...] = ("covered", "over_target", "cut_off", "no_road_access", "no_unit")

Status = Literal["covered", "over_target", "cut_off", "no_road_access", "no_unit"]

COLUMNS = ["village_id", "village_name", "township", "population", "kind", "nearest_id",
           "nearest_name", "nearest_min", "second_id", "second_name", "second_min",
           "target_min", "status", "cause", "access_m", "social_id", "social_name",
           "social_min", "social_covered"]

#: Causes of a village outside target (``cause`` column; words in :mod:`emgis.texts`).
CAUSES = ("over_target", "cut_off", "cut_off_piece", "no_road_access", "no_unit")


@dataclass(frozen=True)
class CoverageResult:
    """Everything :func:`compute_coverage` found.

    Attributes
    ----------
    table
        One row per village and kind (:data:`COLUMNS`), villages in input order, kinds in
        :data:`UNIT_KINDS` order.
    villages, units
        The villages and units with their snapping (``snap_status``, ``access_m``); units
        carry ``active`` (False where put out of action by a scenario).
    kinds
        The kinds evaluated.
    engine
        The engine (snapped locations, routing graphs) the times were computed on.
    node_min
        Per kind: minutes from the nearest unit to every node of the kind's routing graph (into
        the unit for shelters), turnout included; used for the kind's service area.
    node_unit
        Per kind: that nearest unit, as its row in ``units`` (-1 where none reaches the node);
        used for each unit's zone.
    unit_loc, village_loc
        Location index of each unit / village in the engine.
    searched
        Per kind (and ``social:<kind>`` for each social force backing public kinds up): the
        units searched from (rows in ``units``), and the search with its graph and its
        result at every node (for a scenario's search repaired from this one).
    """

    table: pd.DataFrame
    villages: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    kinds: tuple[str, ...]
    engine: Engine
    node_min: dict[str, np.ndarray]
    unit_loc: np.ndarray
    village_loc: np.ndarray
    node_unit: dict[str, np.ndarray] = field(default_factory=dict)
    searched: dict[str, tuple[np.ndarray, Before]] = field(default_factory=dict)

    @property
    def edges(self) -> EdgeArrays:
        """The road network's arrays."""
        return self.engine.network

    def graph(self, kind: str, settings: Settings) -> RoutingGraph:
        """The routing graph a kind's times are computed on (reversed for shelters)."""
        return self.engine.graph(mode_of(kind, settings),
                                 reverse=towards_unit(kind))


def compute_coverage(
    district: District,
    network: nx.MultiDiGraph | EdgeArrays | Engine,
    *,
    kinds: tuple[str, ...] | None = None,
    units: gpd.GeoDataFrame | None = None,
    active: npt.ArrayLike | None = None,
    baseline: CoverageResult | None = None,
) -> CoverageResult:
    """Response times and coverage status of every village for every unit kind.

    Parameters
    ----------
    district
        The loaded district (villages, units, settings).
    network
        Its road network's arrays (:func:`emgis.roads.network.load_network_arrays`), a networkx
        graph, or an :class:`~emgis.roads.engine.Engine` of the district (locations and routing
        graphs reused).
    kinds
        Kinds to evaluate; default every kind of :data:`UNIT_KINDS` with a target (villages get
        ``no_unit`` for a kind the district has no unit of).
    units
        Units to use instead of the district's (as :func:`units_of` returns them), e.g. with
        proposed sites added; not with an engine.
    active
        Per unit, whether it can respond (a scenario puts units out of action); a kind whose
        units are all out of action leaves its villages ``cut_off``, not ``no_unit``.
    baseline
        The coverage of the same district and units on a network of the same roads (a
        scenario's on the roads before its hazards): each kind's search is repaired from
        the baseline's where the network's changes may reach, instead of run anew (the
        same minutes).

    Returns
    -------
    CoverageResult
    """
    settings = district.settings
    villages = district.layer("villages")
    if isinstance(network, Engine):
        engine = network
        units = units_of(district) if units is None else units.copy()
        if len(units) != engine.n_units:
            raise ValueError("units differ from the engine's; build an Engine for them")
    else:
        edges = network if isinstance(network, EdgeArrays) else edge_arrays(network)
        units = units_of(district) if units is None else units.copy()
        engine = Engine.for_district(district, edges, units=units)
    if kinds is None:
        kinds = tuple(k for k in UNIT_KINDS if k in settings.targets)
    ok = np.ones(len(units), dtype=bool) if active is None else np.asarray(active, dtype=bool)
    n_v = len(villages)
    village_loc = engine.village_loc
    unit_loc = engine.unit_loc
    vstatus = engine.status(village_loc)
    villages["snap_status"] = vstatus
    villages["access_m"] = engine.access_m(village_loc)
    units["snap_status"] = engine.status(unit_loc)
    units["access_m"] = engine.access_m(unit_loc)
    units["active"] = ok
    kind_arr = units["kind"].to_numpy(dtype=object)
    searches: dict[tuple[str, bool], list[tuple[str, np.ndarray, Search]]] = {}
    for kind in kinds:
        sel = np.flatnonzero((kind_arr == kind) & ok)
        if len(sel):
            key = (mode_of(kind, settings), towards_unit(kind))
            searches.setdefault(key, []).append((kind, sel, Search(
                unit_loc[sel], units["turnout_min"].to_numpy(dtype=float)[sel], village_loc)))
    found: dict[str, NearestTwo] = {}
    searched: dict[str, tuple[np.ndarray, Before]] = {}
    for (mode, back), items in searches.items():
        rg = engine.graph(mode, reverse=back)  # type: ignore[arg-type]
        prior = [_before(baseline, kind, sel, len(units)) for kind, sel, _ in items]
        for (kind, sel, srch), res in zip(items, nearest_two_many(
                rg, [s for *_, s in items], before=prior), strict=True):
            found[kind] = res
            searched[kind] = (sel, Before(rg, srch, res, np.arange(len(sel))))
    frames = []
    node_min: dict[str, np.ndarray] = {}
    node_unit: dict[str, np.ndarray] = {}
    ids_all = units["id"].to_numpy(dtype=object)
    names_all = dict(zip(units["id"].astype(str), units["name"].astype(str), strict=True))
    pop = villages["population"].to_numpy(dtype=float, na_value=0).astype(np.int64)
    access = np.round(villages["access_m"].to_numpy(dtype=float), 0)
    for kind in kinds:
        target = target_of(kind, settings)
        sel = np.flatnonzero((kind_arr == kind) & ok)
        exists = bool((kind_arr == kind).any())
        first: np.ndarray[tuple[int], np.dtype[np.object_]]
        second: np.ndarray[tuple[int], np.dtype[np.object_]]
        if kind in found:
            res = found[kind]
            first_min, second_min = res.first_min, res.second_min
            first = _ids(res.first, ids_all[sel])
            second = _ids(res.second, ids_all[sel])
            node_min[kind] = res.node_min
            if res.node_first is not None:
                node_unit[kind] = np.where(res.node_first >= 0,
                                           sel[np.maximum(res.node_first, 0)], -1).astype(
                                               np.int32)
        else:
            first_min = second_min = np.full(n_v, np.inf)
            first = np.full(n_v, None, dtype=object)
            second = np.full(n_v, None, dtype=object)
        status = np.where(first_min <= target + 1e-9, "covered",
                          np.where(np.isfinite(first_min), "over_target", "cut_off"))
        # the village's attachment to the network the kind travels on (walkers: the walking
        # network where there is one)
        kst = vstatus if engine.walk_snaps is None else engine.status(
            village_loc, mode_of(kind, settings))
        status = np.where(kst == "no_road_access", "no_road_access", status)
        if not exists:
            status[:] = "no_unit"
        cause = np.where(status == "covered", "", status)
        cause = np.where((cause == "cut_off") & (kst == "cut_off"), "cut_off_piece", cause)
        frames.append(pd.DataFrame({
            "village_id": villages["id"].to_numpy(),
            "village_name": villages["name"].to_numpy(),
            "township": villages["township"].to_numpy(),
            "population": pop,
            "kind": kind,
            "nearest_id": first,
            "nearest_name": [None if i is None else names_all.get(str(i)) for i in first],
            "nearest_min": np.where(np.isfinite(first_min), first_min, np.nan),
            "second_id": second,
            "second_name": [None if i is None else names_all.get(str(i)) for i in second],
            "second_min": np.where(np.isfinite(second_min), second_min, np.nan),
            "target_min": target,
            "status": status,
            "cause": cause,
            "access_m": access if engine.walk_snaps is None else np.round(
                engine.access_m(village_loc, mode_of(kind, settings)), 0),
        }))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    if frames:
        table = _social_backup(table, engine, units, ok, settings, baseline=baseline,
                               searched=searched)
    return CoverageResult(
        table=table[COLUMNS], villages=villages, units=units, kinds=tuple(kinds),
        engine=engine, node_min=node_min, unit_loc=unit_loc, village_loc=village_loc,
        node_unit=node_unit, searched=searched)


def _before(baseline: CoverageResult | None, key: str, sel: np.ndarray, n_units: int
            ) -> Before | None:
    """The baseline's search ``key`` for a scenario's to be repaired from (None: none); the
    units (rows of the same units table) searched from now are ``sel``."""
    if baseline is None or key not in baseline.searched or len(baseline.units) != n_units:
        return None
    b_sel, b = baseline.searched[key]
    pos = np.full(n_units, -1, dtype=np.int64)
    pos[sel] = np.arange(len(sel))
    return dataclasses.replace(b, to_now=pos[b_sel])


def _social_backup(table: pd.DataFrame, engine: Engine, units: gpd.GeoDataFrame,
                   ok: np.ndarray, settings: Settings, *, baseline: CoverageResult | None,
                   searched: dict[str, tuple[np.ndarray, Before]]) -> pd.DataFrame:
    """The nearest social force backing up each public kind (``social_*`` columns): a backup
    shown beside the public cover, counted as cover only with ``[coverage] social_as_cover``.
    Social forces answering less often than ``[social] min_availability`` are left out.
    Each social kind's search is kept in ``searched`` (as ``social:<kind>``), repaired from
    ``baseline``'s where there is one."""
    n = len(table)
    out = table.assign(social_id=pd.Series([None] * n, dtype=object),
                       social_name=pd.Series([None] * n, dtype=object),
                       social_min=np.nan, social_covered=False)
    kinds = units["kind"].to_numpy(dtype=object)
    least = float(settings.social["min_availability"].value)
    avail = units["availability"].to_numpy(dtype=float) if "availability" in units else \
        np.ones(len(units))
    for social, backed in SOCIAL_BACKUP.items():
        sel = np.flatnonzero((kinds == social) & ok & (avail >= least))
        rows = np.flatnonzero(out["kind"].isin(backed).to_numpy())
        if not len(sel) or not len(rows):
            continue
        rg = engine.graph("drive")
        key = f"social:{social}"
        srch = Search(engine.unit_loc[sel], units["turnout_min"].to_numpy(dtype=float)[sel],
                      engine.village_loc)
        res = nearest_two_many(rg, [srch], before=[_before(baseline, key, sel, len(units))])[0]
        searched[key] = (sel, Before(rg, srch, res, np.arange(len(sel))))
        ids = _ids(res.first, units["id"].to_numpy(dtype=object)[sel])
        names = _ids(res.first, units["name"].to_numpy(dtype=object)[sel])
        vi = rows % len(engine.village_loc)  # the table holds every village, per kind
        t_min = res.first_min[vi]
        better = ~(t_min >= out["social_min"].to_numpy()[rows])  # keep the faster backup
        r = rows[better]
        out.loc[out.index[r], "social_id"] = ids[vi[better]]
        out.loc[out.index[r], "social_name"] = names[vi[better]]
        out.loc[out.index[r], "social_min"] = np.where(np.isfinite(t_min[better]),
                                                       t_min[better], np.nan)
    out["social_covered"] = (out["social_min"] <= out["target_min"] + 1e-9).to_numpy()
    if settings.coverage.social_as_cover:
        lift = out["social_covered"] & (out["status"] != "covered") & (
            out["status"] != "no_road_access")
        out.loc[lift, "status"] = "covered"
        out.loc[lift, "cause"] = ""
    return out


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
    pop_dtype = table["population"].dtype if "population" in table else None
    if isinstance(pop_dtype, np.dtype) and np.issubdtype(pop_dtype, np.integer) and not any(
            isinstance(table[c].dtype, pd.CategoricalDtype) for c in by):
        return _summarize_counts(table, by)
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


def _summarize_counts(table: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """:func:`summarize` of a table with whole-number populations, counted for every group
    at once (the same rows: groups in order of first appearance, rows without a key left
    out, exact integer sums) instead of selecting each group's rows per status."""
    ngroup = table.groupby(list(by), sort=False).ngroup()
    keep = ngroup.notna().to_numpy()
    ids = ngroup.to_numpy()[keep].astype(np.int64)
    n = int(ids.max()) + 1 if len(ids) else 0
    if n == 0:
        return pd.DataFrame([])
    pop = table["population"].to_numpy()[keep].astype(np.int64)
    status = table["status"]
    first = np.unique(ids, return_index=True)[1]
    keys = [table[c].to_numpy()[keep][first] for c in by]

    def counts(mask: np.ndarray | None) -> tuple[list[int], list[int]]:
        i, w = (ids, pop) if mask is None else (ids[mask], pop[mask])
        total = np.zeros(n, dtype=np.int64)
        np.add.at(total, i, w)
        return np.bincount(i, minlength=n).tolist(), total.tolist()

    villages, population = counts(None)
    per_status = {st: counts((status == st).to_numpy(dtype=bool, na_value=False)[keep])
                  for st in STATUSES}
    rows = []
    for g in range(n):
        row: dict[str, object] = {c: k[g] for c, k in zip(by, keys, strict=True)}
        row["villages"] = villages[g]
        row["population"] = population[g]
        for st in STATUSES:
            row[f"villages_{st}"] = per_status[st][0][g]
            row[f"population_{st}"] = per_status[st][1][g]
        pop_g = population[g]
        row["share_covered"] = round(per_status["covered"][1][g] / pop_g, 4) if pop_g else 0.0
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
    """Points every ``step`` metres along every road (one edge of each two-way pair), with
    the fraction of the edge's length they lie at, to rasterise the roads reached.

    A service area is the set of grid cells (half the buffer wide) holding a reached point,
    grown by the buffer and turned back into a polygon: the same band along the reached roads
    as buffering each road piece, at a small fraction of the cost on large networks. Points
    are kept as coordinate arrays, made straight from the network's vertex arrays.
    """

    def __init__(self, ea: EdgeArrays, step: float) -> None:
        keep = (ea.twin < 0) | (np.arange(ea.n_edges) < ea.twin)
        edge_of_v = np.repeat(np.arange(ea.n_edges), np.diff(ea.vptr))
        seg = np.flatnonzero(np.r_[edge_of_v[1:] == edge_of_v[:-1], False]
                             & keep[edge_of_v])  # vertex starting each segment
        x0, y0 = ea.vx[seg], ea.vy[seg]
        dx, dy = ea.vx[seg + 1] - x0, ea.vy[seg + 1] - y0
        seglen = np.hypot(dx, dy)
        k = np.maximum(1, np.ceil(seglen / step).astype(np.int64))
        rep = np.repeat(np.arange(len(seg)), k)
        t = ranges(np.zeros(len(k), dtype=np.int64), k) / np.repeat(k, k)
        self.x = np.repeat(x0, k) + t * np.repeat(dx, k)
        self.y = np.repeat(y0, k) + t * np.repeat(dy, k)
        # the last vertex of each edge too
        ends = ea.vptr[1:][keep] - 1
        self.x = np.concatenate([self.x, ea.vx[ends]])
        self.y = np.concatenate([self.y, ea.vy[ends]])
        e = np.concatenate([edge_of_v[seg][rep], np.flatnonzero(keep)])
        d = np.concatenate([ea.vdist[seg][rep] + t * seglen[rep], ea.length[keep]])
        self.edge = e
        self.frac = np.divide(d, ea.length[e], out=np.zeros(len(d)), where=ea.length[e] > 0)
        self.ea = ea
        self._along: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}

    def _pieces(self, rg: RoutingGraph, i: int) -> tuple[np.ndarray, ...]:
        """For the points (i = 0: on their edge; 1: on its twin), the routing graph's piece
        each lies on, and the minutes from the piece's start and to its end (the same for
        every kind on one graph: computed once)."""
        key = (id(rg.piece_edge), i)
        if key in self._along:
            return self._along[key]
        ea = self.ea
        assert rg.piece_edge is not None and rg.piece_f0 is not None and rg.piece_a is not None
        assert rg.piece_f1 is not None and rg.piece_b is not None
        if i == 0:
            e, f, idx = self.edge, self.frac, np.arange(len(self.edge))
        else:
            tw = ea.twin[self.edge]
            idx = np.flatnonzero(tw >= 0)
            e, f = tw[idx], 1.0 - self.frac[idx]
        pkey = rg.piece_edge * 2.0 + rg.piece_f0
        p = np.clip(np.searchsorted(pkey, e * 2.0 + f, side="right") - 1, 0, len(pkey) - 1)
        ok = (rg.piece_edge[p] == e) & np.isfinite(rg.piece_w[p])  # type: ignore[index]
        p, e, f, idx = p[ok], e[ok], f[ok], idx[ok]
        f0, f1 = rg.piece_f0[p], rg.piece_f1[p]
        if rg.walk:
            per = ea.length[e] / 1000.0 * 60.0 / rg.walk_kph  # minutes per unit of fraction
            from_a, to_b = (f - f0) * per, (f1 - f) * per
        else:
            tf = ea.time_at(e, f)
            # the times at the pieces' ends, per piece (fewer than the points: the same
            # numbers, each found once)
            e_all = rg.piece_edge
            from_a = (tf - ea.time_at(e_all, rg.piece_f0)[p]) / 60.0
            to_b = (ea.time_at(e_all, rg.piece_f1)[p] - tf) / 60.0
        out = (idx, rg.piece_a[p], rg.piece_b[p], from_a, to_b)
        # each point lies on one piece per side: no point twice (the callers rely on it)
        assert len(idx) < 2 or bool((idx[1:] > idx[:-1]).all())
        self._along[key] = out
        return out

    def times(self, rg: RoutingGraph, node_min: np.ndarray) -> np.ndarray:
        """Minutes at which each point is reached (from the sources, or to them on a reversed
        graph), along the pieces of the routing graph: exact for points between a unit and the
        end of its road, and for segments of different speeds."""
        best = np.full(len(self.x), np.inf)
        for i in (0,) if rg.walk else (0, 1):
            idx, a, b, from_a, to_b = self._pieces(rg, i)
            # walking: the nearer end; to the sources: on to the piece's end (idx has no
            # repeats), in one compiled pass (emgis.analysis._reach)
            reach_times(best, idx, a, b, from_a, to_b, np.asarray(node_min, dtype=float),
                        _how(rg))
        return best

    def owners(self, rg: RoutingGraph, node_min: np.ndarray, node_unit: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Per point, the minutes of the first unit to reach it and that unit (its row in the
        units table; -1 where none), along the pieces as :meth:`times`."""
        best = np.full(len(self.x), np.inf)
        owner = np.full(len(self.x), -1, dtype=np.int64)
        for i in (0,) if rg.walk else (0, 1):
            idx, a, b, from_a, to_b = self._pieces(rg, i)
            # one piece per point on this side (idx has no repeats): the better of the sides
            reach_owners(best, owner, idx, a, b, from_a, to_b,
                         np.asarray(node_min, dtype=float), np.asarray(node_unit), _how(rg))
        return best, owner


#: How much finer than a grid's cells the service areas' points may lie for the grid to be
#: drawn from them (zones: :func:`road_points`).
SHARE_POINTS_WITHIN = 1.25


def road_points(engine: Engine, net: EdgeArrays, buffer_m: float, *,
                cell: float | None = None) -> _Sampler:
    """The points along ``net`` (one of ``engine``'s networks) that service areas drawn
    with a ``buffer_m`` band are made of: every :func:`_grid_cell` metres, with the minutes
    along the pieces of each routing graph found for them; made once inside the engine's
    :meth:`~emgis.roads.engine.Engine.keeping` block (a run's areas and zones).

    ``cell``: the cells of another grid drawn from points along the roads (the zones'): the
    same points where they lie no more than :data:`SHARE_POINTS_WITHIN` times closer than
    its cells (a county: 50 m for 54 m cells), else points every ``cell`` metres of its own,
    not kept (a province's zones draw on cells twice as wide: twice the points would cost
    their grid's memory and time)."""
    ea = engine.network
    step = _grid_cell(ea.vx, ea.vy, buffer_m)
    if cell is not None and step * SHARE_POINTS_WITHIN < cell:
        return _Sampler(net, cell)
    return engine.kept(("road_points", id(net), step), lambda: _Sampler(net, step))


def _how(rg: RoutingGraph) -> int:
    """How a sample point on a piece of ``rg`` is reached (:mod:`emgis.analysis._reach`):
    walking, from the nearer end; on a reversed graph, on to the piece's end; else from its
    start."""
    return EITHER if rg.walk else TO_END if rg.flipped else FROM_START


#: Most cells of the grid a service area is drawn on; larger districts get coarser cells.
MAX_GRID_CELLS = 2_000_000


def _grid_cell(x: np.ndarray, y: np.ndarray, buffer_m: float,
               max_cells: int = MAX_GRID_CELLS) -> float:
    """Metres a cell of a grid over points is wide: half the buffer, or wider where the
    points' extent (grown by the buffer) would need more than ``max_cells`` cells."""
    if not len(x):
        return buffer_m / 2.0
    extent = (float(x.max() - x.min()) + 2 * buffer_m) * (float(y.max() - y.min())
                                                           + 2 * buffer_m)
    return max(buffer_m / 2.0, float(np.sqrt(extent / max_cells)))


class _Grid:
    """A half-buffer grid over some points: cell indices computed once, polygons per mask
    (cells ``cell`` metres wide if given, else :func:`_grid_cell`'s)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, buffer_m: float, *,
                 cell: float | None = None) -> None:
        self.buffer = buffer_m
        self.n = len(x)
        if not len(x):
            return
        self.cell = cell = _grid_cell(x, y, buffer_m) if cell is None else cell
        self.r = r = max(1, round(buffer_m / cell))
        self.x0 = np.floor(x.min() / cell) * cell - (r + 1) * cell
        self.y0 = np.floor(y.min() / cell) * cell - (r + 1) * cell
        self.ix = ((x - self.x0) // cell).astype(np.int64)
        self.iy = ((y - self.y0) // cell).astype(np.int64)
        self.shape = (int(self.iy.max()) + r + 2, int(self.ix.max()) + r + 2)

    def area(self, mask: np.ndarray) -> shapely.Geometry:
        """Cells of the points in ``mask``, grown by the buffer, as a polygon."""

        if self.n == 0 or not mask.any():
            return shapely.Polygon()
        r, cell = self.r, self.cell
        iy, ix = self.iy[mask], self.ix[mask]
        y_lo, y_hi = int(iy.min()) - r - 1, int(iy.max()) + r + 2
        x_lo, x_hi = int(ix.min()) - r - 1, int(ix.max()) + r + 2
        grid = np.zeros((y_hi - y_lo, x_hi - x_lo), dtype=bool)
        grid[iy - y_lo, ix - x_lo] = True
        grid = dilate_disc(grid, r)
        area = outlines(np.where(grid, 0, -1), x0=self.x0 + x_lo * cell,
                        y0=self.y0 + y_lo * cell, cell=cell).get(0, shapely.Polygon())
        # smooth the cell staircase (less than a cell), as a buffer of the roads would be
        return polygonal(shapely.simplify(polygonal(area), cell * 0.75,
                                          preserve_topology=True))


def dilate_disc(grid: np.ndarray, r: int) -> np.ndarray:
    """``grid`` grown by the disc of cells ``dx² + dy² <= r² + r`` (as
    ``scipy.ndimage.binary_dilation`` with that structure, cells beyond the grid empty), row
    by row: each row of the disc is a run of cells, so the grid is widened along its rows
    once per run width and the widened rows are laid over each other (a few passes over the
    grid instead of one per cell of the disc)."""
    out = grid.copy()
    if r < 1 or not grid.size:
        return out
    wide: dict[int, np.ndarray] = {}
    for dy in range(-r, r + 1):
        half = math.isqrt(r * r + r - dy * dy)  # the disc's row dy: |dx| <= half
        if half not in wide:
            w = grid.copy()
            for k in range(1, half + 1):
                w[:, k:] |= grid[:, :-k]
                w[:, :-k] |= grid[:, k:]
            wide[half] = w
        w = wide[half]
        if dy > 0:
            out[:-dy] |= w[dy:]
        elif dy < 0:
            out[-dy:] |= w[:dy]
        else:
            out |= w
    return out


def _raster_area(x: np.ndarray, y: np.ndarray, buffer_m: float) -> shapely.Geometry:
    """Cells of a half-buffer grid holding a point, grown by the buffer, as a polygon."""
    return _Grid(x, y, buffer_m).area(np.ones(len(x), dtype=bool))


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry made valid (lines and points dropped)."""
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _break_areas(grid: _Grid, t: np.ndarray, breaks: list[float]) -> list[shapely.Geometry]:
    """The area of each break (ascending) on ``grid`` (over the points reached at times
    ``t``); a break reaching no point more than the one before it has that break's area (the
    same points: the same polygon, drawn once)."""
    out: list[shapely.Geometry] = []
    last = -1
    for b in breaks:
        mask = t <= b
        n = int(mask.sum())  # the breaks' points nest: as many points, the same points
        if n != last:
            out.append(grid.area(mask))
        else:
            out.append(out[-1])
        last = n
    return out


def service_areas(
    result: CoverageResult,
    *,
    settings: Settings,
    per_unit: bool = False,
    kinds: tuple[str, ...] | None = None,
    each: Callable[[int], None] | None = None,
) -> gpd.GeoDataFrame:
    """Areas reachable within each break, per kind (and per unit on request), from the roads
    reached.

    The reached roads (whole, or the reached part of a partly reached edge, at the exact time
    along it) are buffered by ``[coverage] service_area_buffer_m`` and merged (on a grid half
    the buffer wide): pockets the roads do not reach stay out, unlike a convex hull.

    Parameters
    ----------
    per_unit
        Also each unit's own areas (one search per unit: minutes at county size).
    kinds
        Kinds to draw (default: every kind of the result with a unit).
    each
        Called with 1 after each kind (progress).

    Returns
    -------
    geopandas.GeoDataFrame
        ``scope`` (``unit`` or ``kind``), ``kind``, ``unit_id`` (for units), ``break_min``
        and the polygon, in the district's CRS.
    """
    crs = result.villages.crs
    buf = settings.coverage.service_area_buffer_m
    rows = []
    for kind in kinds or result.kinds:
        target = target_of(kind, settings)
        breaks = sorted({*settings.coverage.breaks_min, target})
        if each is not None:
            each(1)
        if kind not in result.node_min:
            continue
        rg = result.graph(kind, settings)
        # points closer than a grid cell add nothing to the area drawn (walkers' kinds:
        # points along the walking network)
        sampler = road_points(result.engine, result.engine.network_of(mode_of(kind, settings)),
                              buf)
        t = sampler.times(rg, result.node_min[kind])
        reach = t <= max(breaks)
        grid = _Grid(sampler.x[reach], sampler.y[reach], buf)
        for b, geom in zip(breaks, _break_areas(grid, t[reach], breaks), strict=True):
            rows.append({"scope": "kind", "kind": kind, "unit_id": None, "break_min": b,
                         "geometry": geom})
        if not per_unit:
            continue
        sel = np.flatnonzero(((result.units["kind"] == kind) & result.units["active"])
                             .to_numpy(dtype=bool))
        times = times_from(rg, result.unit_loc[sel],
                           offsets=result.units["turnout_min"].to_numpy()[sel],
                           limit=max(breaks))
        for j, i in enumerate(sel):
            tu = sampler.times(rg, times[j])
            reach = tu <= max(breaks)
            grid = _Grid(sampler.x[reach], sampler.y[reach], buf)
            for b, geom in zip(breaks, _break_areas(grid, tu[reach], breaks), strict=True):
                rows.append({"scope": "unit", "kind": kind,
                             "unit_id": result.units["id"].iloc[i], "break_min": b,
                             "geometry": geom})
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
    if not rows:
        return gpd.GeoDataFrame({"kind": [], "area_km2": []}, geometry=[], crs=district.crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=district.crs)
