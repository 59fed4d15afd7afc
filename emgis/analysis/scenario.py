"""Hazard scenarios: floods and forest fires that close or slow roads, and evacuation.

A scenario is a set of hazard zones (the ``hazards`` layer), optionally grown by a buffer. Each
zone acts on the roads where they lie inside it, as ArcGIS's polygon barriers do, but cut at the
zone's boundary: a ``closed`` zone closes the part of every edge inside it (a unit on the same
road outside the zone keeps its way out), a ``slowed`` zone multiplies the travel time of the
segments inside it by ``1 / speed_factor``. Units inside a closed zone are out of action
(settable), units whose roads are closed on every side are cut off; shelters inside a closed zone
are not usable, and stockpiles inside cannot be reached (a zone that only slows roads puts
nothing out of action). A location (village, unit, shelter, candidate site) outside the closed
zones whose own piece of road is closed is attached anew to the nearest open road within
``max_access_m`` (``reattached_m`` in the tables). Coverage is recomputed on the affected network
and compared with the baseline, village by village; villages inside (or near) a zone are
evacuated to the shelters that are usable and not cut off, by a transportation linear programme
that moves as many people as the shelters and the time limit allow, at the least total
person-minutes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components, maximum_flow

from emgis._errors import DistrictError
from emgis._held import Held
from emgis.analysis.coverage import CoverageResult, compute_coverage
from emgis.inputs.district import District
from emgis.inputs.kinds import mode_of, units_of
from emgis.inputs.settings import Scenario
from emgis.roads.edges import EdgeArrays, derive
from emgis.roads.engine import Engine
from emgis.roads.routing import (
    Mode,
    Search,
    nearest_min_many,
    pair_order,
    pairs_within,
    route_lines,
)
from emgis.texts import Msg

__all__ = ["Scenario", "ScenarioResult", "apply_hazards", "evacuate", "run_scenario",
           "transport", "zones"]

#: Statuses of a unit in a scenario.
UNIT_STATUSES = ("in_action", "out_of_action", "cut_off")


def zones(district: District, scenario: Scenario) -> gpd.GeoDataFrame:
    """The scenario's hazard zones (grown by its buffer), in the district's CRS.

    Raises
    ------
    DistrictError
        A hazard id of the scenario is not in the hazards layer, or its intensity is out of
        range.
    """
    hz = district.hazards
    known = set(hz["id"].astype(str))
    missing = [h for h in scenario.hazards if h not in known]
    if missing:
        raise DistrictError(Msg("scenario_hazard_ids", name=scenario.name, ids=", ".join(missing),
                                known=", ".join(sorted(known))) if known else Msg(
            "scenario_hazard_ids_none", name=scenario.name, ids=", ".join(missing)))
    out = hz[hz["id"].astype(str).isin(scenario.hazards)].copy()
    if scenario.speed_factor is not None:
        if not 0 < scenario.speed_factor <= 1:
            raise DistrictError(Msg("scenario_speed_factor", name=scenario.name,
                                    v=scenario.speed_factor))
        out.loc[out["effect"] == "slowed", "speed_factor"] = scenario.speed_factor
    if scenario.buffer_m > 0:
        out["geometry"] = out.geometry.buffer(scenario.buffer_m)
    return out


def _intervals(ea: EdgeArrays, zone: shapely.Geometry, hit: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The parts of edges ``hit`` inside ``zone``: (edge, start, end) as fractions of length,
    and the parts' lines."""
    geoms = ea.lines(hit)
    # an edge wholly inside is its own part (most of a large zone's edges): only the edges
    # crossing the zone's edge are cut
    shapely.prepare(zone)
    inside = shapely.contains_properly(zone, geoms)
    cross = np.flatnonzero(~inside)
    parts, idx = shapely.get_parts(shapely.intersection(geoms[cross], zone), return_index=True)
    lines = shapely.get_type_id(parts) == 1  # LineString
    parts, idx = parts[lines], cross[idx[lines]]
    whole = np.flatnonzero(inside)
    order = np.argsort(np.concatenate([whole, idx]), kind="stable")
    parts = np.concatenate([geoms[whole], parts])[order]
    cut = np.flatnonzero(np.r_[np.zeros(len(whole), bool), np.ones(len(idx), bool)][order])
    idx = np.concatenate([whole, idx])[order]
    if not len(parts):
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, dtype=object)
    e = hit[idx]
    # an edge wholly inside runs from 0 to 1; only the cut parts are located along theirs
    f0, f1 = np.zeros(len(e)), np.ones(len(e))
    if len(cut):
        base, piece = geoms[idx[cut]], parts[cut]
        a = shapely.line_locate_point(base, shapely.get_point(piece, 0))
        b = shapely.line_locate_point(base, shapely.get_point(piece, -1))
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        # a part may run along the edge further than its ends show (edges that double back)
        blen = shapely.length(base)
        hi = np.maximum(hi, np.minimum(lo + shapely.length(piece), blen))
        L = ea.length[e[cut]]
        scale = np.divide(L, blen, out=np.ones(len(cut)), where=blen > 0)
        f0[cut] = np.clip(np.divide(lo * scale, L, out=np.zeros(len(cut)), where=L > 0), 0, 1)
        f1[cut] = np.clip(np.divide(hi * scale, L, out=np.ones(len(cut)), where=L > 0), 0, 1)
    return e, f0, f1, parts


def apply_hazards(edges: EdgeArrays, zones_: gpd.GeoDataFrame) -> EdgeArrays:
    """The network with the zones' effect on the parts of edges inside them.

    Each part of an edge inside a ``closed`` zone is closed (time multiplier ``inf``); inside a
    ``slowed`` zone with speed factor ``f`` it takes ``1 / f`` times as long. The result carries
    the parts as ``hazards`` rows (edge, start, end, multiplier); the routing graph closes or
    slows exactly those parts, so a location on the same edge outside the zone keeps its road.
    """
    return hazard_network(edges, zones_)[0]


#: The parts of roads inside a zone, per network and zone (a scenario of several hazards
#: finds again the parts its hazards' own scenarios found).
_PARTS: Held[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = Held(8)


def _zone_parts(edges: EdgeArrays, zone: shapely.Geometry
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_intervals` of the edges meeting ``zone`` (none: empty arrays)."""
    _, hit = edges.near([zone])
    if len(hit) == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, dtype=object)
    return _intervals(edges, zone, hit)


def hazard_network(edges: EdgeArrays, zones_: gpd.GeoDataFrame
                   ) -> tuple[EdgeArrays, gpd.GeoDataFrame]:
    """:func:`apply_hazards`, and the parts of roads the zones close or slow as lines (one per
    zone and road, a two-way road once): ``u``, ``v`` (node ids), ``effect``, ``time_factor``
    (for slowed) and ``length_m`` inside the zone."""
    rows = [] if edges.hazards is None else [edges.hazards]
    once = (edges.twin < 0) | (np.arange(edges.n_edges) < edges.twin)
    cols: dict[str, list[object]] = {"u": [], "v": [], "effect": [], "time_factor": [],
                                  "length_m": [], "geometry": []}
    for _, z in zones_.iterrows():
        if z.geometry is None or z.geometry.is_empty:
            continue
        zone = z.geometry
        e, f0, f1, parts = _PARTS.get(edges, shapely.to_wkb(zone),
                                      functools.partial(_zone_parts, edges, zone))
        if len(e) == 0:
            continue
        closed = z["effect"] == "closed"
        mult = np.inf if closed else 1.0 / float(z["speed_factor"])
        rows.append(np.column_stack([e.astype(float), f0, f1, np.full(len(e), mult)]))
        show = once[e]
        cols["u"] += list(edges.node_ids[edges.u[e[show]]])
        cols["v"] += list(edges.node_ids[edges.v[e[show]]])
        cols["effect"] += ["closed" if closed else "slowed"] * int(show.sum())
        cols["time_factor"] += [np.nan if closed else mult] * int(show.sum())
        cols["length_m"] += list(np.round(shapely.length(parts[show]), 1))
        cols["geometry"] += list(parts[show])
    hz = np.concatenate(rows) if rows else np.zeros((0, 4))
    # the walking network (its own arrays) takes the same zones
    walk = None if edges.walk is None else hazard_network(edges.walk, zones_)[0]
    return derive(edges, hazards=hz, walk=walk), gpd.GeoDataFrame(cols, geometry="geometry")


@dataclass(frozen=True)
class ScenarioResult:
    """What :func:`run_scenario` found.

    Attributes
    ----------
    villages
        One row per village and kind: baseline and scenario nearest minutes and status,
        ``lost_cover`` and ``island`` flags.
    units
        Every unit: its status in the scenario (``in_action``, ``out_of_action``, ``cut_off``)
        and why.
    evacuation
        One row per village-to-shelter assignment (persons, minutes).
    shelters
        Every shelter: usable, capacity, load (persons), share of capacity.
    unsheltered
        Per evacuated village: population, moved, left without a place.
    summary
        One row: population losing cover (any kind), cut off, evacuated, unsheltered, units
        out of action and cut off.
    edges
        The affected network (hazard parts per edge).
    roads
        The parts of roads closed or slowed, as lines (:func:`hazard_network`).
    routes
        The road path of each evacuation row (same order; metres, the district's CRS; None
        where no path was drawn): traced when first asked for (only maps and GeoPackages
        draw them), None for a result made without the evacuation's engine.
    engine
        The engine on the affected network, with the routing graphs it built (reused by
        siting over the scenario); None if not kept.
    """

    scenario: Scenario
    villages: pd.DataFrame
    units: pd.DataFrame
    evacuation: pd.DataFrame
    shelters: pd.DataFrame
    unsheltered: pd.DataFrame
    summary: pd.DataFrame
    edges: EdgeArrays
    roads: gpd.GeoDataFrame
    engine: Engine | None = field(default=None, repr=False, compare=False)
    #: What tracing the routes needs: (district, the evacuation's engine, units, limit).
    route_inputs: tuple[District, Engine, gpd.GeoDataFrame, float] | None = field(
        default=None, repr=False, compare=False)

    @cached_property
    def routes(self) -> gpd.GeoSeries | None:
        """The evacuation's road paths (see the class), traced once."""
        if self.route_inputs is None:
            return None
        district, engine, units, limit = self.route_inputs
        return evacuation_routes(district, engine, self.evacuation, units=units, limit=limit)


#: :func:`_on_roads` of the last two graphs: the baseline's, asked again by every scenario,
#: stays while each scenario's own comes and goes.
_ON_ROADS: Held[np.ndarray] = Held(2)


def _on_roads(engine: Engine) -> np.ndarray:
    """Per unit: from its location the drive graph reaches a road node (a unit whose road is
    closed on both sides reaches only the locations beside it on the same closed-off piece)."""

    rg = engine.graph("drive")

    def make() -> np.ndarray:
        n_comp, lab = connected_components(rg.csr(), directed=True, connection="weak")
        has_road = np.zeros(n_comp, dtype=bool)
        has_road[lab[: rg.n_road]] = True
        node = rg.loc_node[engine.unit_loc]
        out: np.ndarray = (node >= 0) & has_road[lab[np.maximum(node, 0)]]
        return out

    return _ON_ROADS.get(rg, (engine.n_villages, engine.n_units), make).copy()


def drop_graphs(results: Iterable[ScenarioResult]) -> None:
    """Let go of the routing graphs of these scenarios' roads (built again where asked for),
    and of what was derived from them and held here."""
    for r in results:
        if r.engine is not None:
            r.engine.drop_graphs()
    _ON_ROADS.clear()


def closed_area(zones_: gpd.GeoDataFrame) -> shapely.Geometry:
    """The union of the zones that close roads (the slowed ones put nothing out of action)."""
    shut = zones_[(zones_["effect"] == "closed").to_numpy(dtype=bool)] if len(zones_) else zones_
    return shapely.union_all(shut.geometry.values) if len(shut) else shapely.Polygon()


def _unit_states(units: gpd.GeoDataFrame, union: shapely.Geometry, scenario: Scenario,
                 engine: Engine, hit_engine: Engine) -> pd.DataFrame:
    """Each unit's status in the scenario and the reason; ``union`` is the closed zones'
    area, and ``reattached_m`` the access leg of a unit whose road is closed and that was
    attached anew to an open road (on the roads it drives on; NaN elsewhere)."""
    inside = units.geometry.within(union).to_numpy() if not union.is_empty else \
        np.zeros(len(units), dtype=bool)
    kind = units["kind"].astype(str).to_numpy()
    shelter = np.char.startswith(kind.astype(str), "shelter_")
    stock = kind == "stockpile"
    status = np.full(len(units), "in_action", dtype=object)
    reason = np.full(len(units), "", dtype=object)
    out = inside & (shelter | stock | scenario.units_out_of_action)
    status[out] = "out_of_action"
    reason[out & shelter] = "inside the hazard zone: not usable"
    reason[out & stock] = "inside the hazard zone: cannot be reached"
    reason[out & ~shelter & ~stock] = "inside the hazard zone"
    # cut off: a unit that had a road before and has none now (closed on both sides)
    cut = (status == "in_action") & _on_roads(engine) & ~_on_roads(hit_engine)
    status[cut] = "cut_off"
    reason[cut] = "every road from it is closed"
    return pd.DataFrame({"unit_id": units["id"].to_numpy(), "unit_name": units["name"].to_numpy(),
                         "kind": kind, "township": units["township"].to_numpy(),
                         "status": status, "reason": reason,
                         "reattached_m": np.round(hit_engine.reattached_m(hit_engine.unit_loc),
                                                  1)})


def run_scenario(district: District, network: EdgeArrays | Engine, scenario: Scenario, *,
                 baseline: pd.DataFrame | CoverageResult | None = None) -> ScenarioResult:
    """Coverage on the affected network, compared with the baseline, and the evacuation.

    Parameters
    ----------
    district
        The loaded district.
    network
        Its road network's arrays (:func:`emgis.roads.network.load_network_arrays`), or its
        :class:`~emgis.roads.engine.Engine` (locations and baseline graphs reused).
    scenario
        The hazards and how they act.
    baseline
        The baseline coverage, if already computed: its table, or its
        :class:`~emgis.analysis.coverage.CoverageResult` (the scenario's searches are then
        repaired from the baseline's where the hazards may change them).
    """
    engine = network if isinstance(network, Engine) else Engine.for_district(district, network)
    z = zones(district, scenario)
    union = shapely.union_all(z.geometry.values) if len(z) else shapely.Polygon()
    shut = closed_area(z)
    hit, roads = hazard_network(engine.network, z)
    roads = roads.set_crs(district.crs, allow_override=True)
    hit_engine = engine.with_network(hit, closed_area=shut)
    units = units_of(district)
    states = _unit_states(units, shut, scenario, engine, hit_engine)
    active = (states["status"] != "out_of_action").to_numpy()
    before = compute_coverage(district, engine) if baseline is None else baseline
    base = before if isinstance(before, pd.DataFrame) else before.table
    scen = compute_coverage(district, hit_engine, active=active, baseline=(
        None if isinstance(before, pd.DataFrame) else before)).table
    table = base.rename(columns={"nearest_id": "baseline_id", "nearest_min": "baseline_min",
                                 "status": "baseline_status"})[
        ["village_id", "village_name", "township", "population", "kind", "target_min",
         "baseline_id", "baseline_min", "baseline_status"]].copy()
    table["scenario_id"] = scen["nearest_id"].to_numpy()
    table["scenario_min"] = scen["nearest_min"].to_numpy()
    table["scenario_status"] = scen["status"].to_numpy()
    # the village's new access leg where its road is closed, on the network of the kind's mode
    vi = np.arange(len(table)) % max(hit_engine.n_villages, 1)
    modes = table["kind"].map(lambda k: mode_of(str(k), district.settings)).to_numpy()
    moved = np.full(len(table), np.nan)
    both: tuple[Mode, ...] = ("drive", "walk")
    for mode in both:
        rows = modes == mode
        moved[rows] = hit_engine.reattached_m(hit_engine.village_loc, mode)[vi[rows]]
    table["reattached_m"] = np.round(moved, 1)
    table["lost_cover"] = (table["baseline_status"] == "covered") & (
        table["scenario_status"] != "covered")
    table["island"] = _all_cut_off(scen, table["village_id"]) & ~_all_cut_off(
        base, table["village_id"])

    # a shelter out of action or cut off in the scenario receives nobody
    shelter_units = units["kind"].str.startswith("shelter_").to_numpy()
    usable = ~(shelter_units & (states["status"] != "in_action").to_numpy())
    evac_engine = engine if scenario.evacuate_before_closure else hit_engine
    evac, loads, left = evacuate(district, evac_engine, union, scenario, usable=usable,
                                 units=units)
    by_village = table.drop_duplicates("village_id")
    lost = table[table["lost_cover"]].drop_duplicates("village_id")
    summary = pd.DataFrame([{
        "scenario": scenario.name,
        "hazards": ",".join(scenario.hazards),
        "villages_losing_cover": len(lost),
        "population_losing_cover": int(lost["population"].sum()),
        "villages_cut_off": int(by_village["island"].sum()),
        "population_cut_off": int(by_village.loc[by_village["island"], "population"].sum()),
        "population_to_evacuate": int(left["population"].sum()),
        "population_evacuated": int(left["moved"].sum()),
        "population_unsheltered": int(left["unsheltered"].sum()),
        "units_out_of_action": int((states["status"] == "out_of_action").sum()),
        "units_cut_off": int((states["status"] == "cut_off").sum()),
    }])
    return ScenarioResult(scenario, table, states, evac, loads, left, summary, hit, roads,
                          hit_engine, (district, evac_engine, units,
                                       float(scenario.max_evacuation_min)))


def evacuation_routes(district: District, engine: Engine, evacuation: pd.DataFrame, *,
                      units: gpd.GeoDataFrame, limit: float) -> gpd.GeoSeries:
    """The road path of each evacuation row, village to shelter, on the engine's drive graph
    (the one the evacuation was planned on). Metres, in the district's CRS."""

    v = district.villages.reset_index(drop=True)
    vpos = pd.Series(np.arange(len(v)), index=v["id"].to_numpy())
    upos = pd.Series(np.arange(len(units)), index=units["id"].to_numpy())
    upos = upos[~upos.index.duplicated()]
    vi = vpos.reindex(evacuation["village_id"].to_numpy()).to_numpy()
    ui = upos.reindex(evacuation["shelter_id"].to_numpy()).to_numpy()
    vg, ug = v.geometry.to_numpy(), units.geometry.to_numpy()
    lines = route_lines(engine.graph("drive"), engine.network,
                        engine.village_loc[vi.astype(np.int64)],
                        engine.unit_loc[ui.astype(np.int64)],
                        origin_xy=shapely.get_coordinates(vg[vi.astype(np.int64)]),
                        destination_xy=shapely.get_coordinates(ug[ui.astype(np.int64)]),
                        limit=limit + 1e-6, minutes=evacuation["minutes"].to_numpy(dtype=float)
                        ) if len(evacuation) else []
    return gpd.GeoSeries(lines, crs=district.crs)


def trace_routes(results: Sequence[ScenarioResult]) -> None:
    """Trace the evacuation routes of several scenarios at once where they evacuate on the
    same roads (:attr:`ScenarioResult.routes`, filled in): one search from each shelter for
    the routes to it in all of them, instead of one per scenario (a province's scenario of
    all hazards repeats the routes of the others: 349 searches of up to an hour's roads
    became 174). A route is the one its shelter's search finds either way (where two
    routes tie exactly, the one kept may differ: either is a fastest route)."""
    groups: dict[tuple[int, float], list[ScenarioResult]] = {}
    for r in {id(x): x for x in results}.values():
        if r.route_inputs is not None and "routes" not in r.__dict__:
            _, engine, _, limit = r.route_inputs
            groups.setdefault((id(engine), float(limit)), []).append(r)
    for group in groups.values():
        district, engine, units, limit = group[0].route_inputs  # type: ignore[misc]
        same = [r for r in group if r.route_inputs is not None
                and r.route_inputs[2]["id"].tolist() == units["id"].tolist()]
        if len(same) < 2:
            continue
        rows = pd.concat([r.evacuation[["village_id", "shelter_id", "minutes"]]
                          for r in same], ignore_index=True)
        rows = rows.sort_values("minutes", kind="stable").drop_duplicates(
            ["village_id", "shelter_id"], keep="last").reset_index(drop=True)
        lines = evacuation_routes(district, engine, rows, units=units, limit=limit)
        at = pd.Series(np.arange(len(rows)), index=pd.MultiIndex.from_frame(
            rows[["village_id", "shelter_id"]]))
        for r in same:
            pick = at.reindex(pd.MultiIndex.from_frame(
                r.evacuation[["village_id", "shelter_id"]])).to_numpy(dtype=np.int64)
            r.__dict__["routes"] = gpd.GeoSeries(lines.to_numpy()[pick], crs=lines.crs)


def _all_cut_off(table: pd.DataFrame, order: pd.Series) -> np.ndarray:
    """Per row of ``order``: no unit of any kind the district has reaches the village."""
    rel = table[table["status"] != "no_unit"]
    cut = (rel["status"] == "cut_off").groupby(rel["village_id"].to_numpy()).all()
    out: np.ndarray = cut.reindex(order.to_numpy(), fill_value=False).to_numpy(dtype=bool)
    return out


def evacuate(district: District, network: EdgeArrays | Engine, union: shapely.Geometry,
             scenario: Scenario, *, usable: np.ndarray, units: gpd.GeoDataFrame
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Assign the people of villages in (or near) the zones to usable shelters.

    Villagers drive to the shelters (on the roads before the hazard, or on the affected roads,
    as the engine given says).

    Returns the assignments (village, shelter, persons, minutes), the shelters' loads, and per
    evacuated village the population, the persons moved and those left without a place.
    """
    engine = network if isinstance(network, Engine) else Engine.for_district(
        district, network, units=units)
    v = district.villages
    near = v.geometry.distance(union) <= scenario.evacuate_within_m if not union.is_empty \
        else pd.Series(False, index=v.index)
    must = np.flatnonzero(near.to_numpy())
    is_sh = units["kind"].str.startswith("shelter_").to_numpy()
    sh_all = units[is_sh]
    ok_sh = usable[is_sh]
    sh_idx = np.flatnonzero(is_sh)[ok_sh]
    sh = sh_all[ok_sh]
    cap = sh_all.merge(district.shelters[["id", "capacity"]], on="id", how="left")["capacity"]
    cap_all = cap.fillna(0).to_numpy(dtype=float)
    cost = np.full((len(must), len(sh)), np.inf)
    if len(must) and len(sh):
        drive = engine.graph("drive")  # villagers drive to the shelters
        limit = float(scenario.max_evacuation_min)
        # a shelter no village to evacuate reaches within the time is not searched from (a
        # province's shelters are mostly far from a zone): one search from all those
        # villages gives each shelter the nearest one's minutes (with a hair's slack, as
        # sums taken the other way round may differ in the last digit)
        bound = nearest_min_many(drive, [Search(
            engine.village_loc[must], np.zeros(len(must)), engine.unit_loc[sh_idx],
            limit + 1e-6)])[0]
        reach = bound <= limit + 1e-6
        if _from_villages(len(must), int(reach.sum())):
            vi, si, t = _pairs(engine, "from_villages", engine.village_loc[must],
                               np.full(len(must), limit), engine.unit_loc[sh_idx],
                               pool=engine.unit_loc[np.flatnonzero(is_sh)])
        else:
            si, vi, t = _pairs(engine, "from_shelters", engine.unit_loc[sh_idx],
                               np.where(reach, limit, -1.0), engine.village_loc[must],
                               pool=engine.village_loc)
        cost[vi, si] = t
    pop = v["population"].iloc[must].fillna(0).to_numpy(dtype=float)
    flows = transport(pop, cap_all[ok_sh], cost)
    rows = [{"village_id": v["id"].iloc[must[i]], "village_name": v["name"].iloc[must[i]],
             "shelter_id": sh["id"].iloc[j], "shelter_name": sh["name"].iloc[j],
             "persons": int(np.rint(flows[i, j])), "minutes": round(float(cost[i, j]), 2)}
            for i, j in zip(*np.nonzero(flows > 0.5), strict=True)]
    evac = pd.DataFrame(rows, columns=["village_id", "village_name", "shelter_id",
                                       "shelter_name", "persons", "minutes"])
    load = np.zeros(len(sh_all))
    load[np.flatnonzero(ok_sh)] = flows.sum(axis=0) if len(must) else 0
    loads = pd.DataFrame({"shelter_id": sh_all["id"].to_numpy(),
                          "shelter_name": sh_all["name"].to_numpy(),
                          "kind": sh_all["kind"].to_numpy(), "usable": ok_sh,
                          "capacity": cap_all, "load": np.round(load).astype(np.int64)})
    loads["load_share"] = np.where(loads["capacity"] > 0,
                                   np.round(loads["load"] / loads["capacity"].where(
                                       loads["capacity"] > 0, 1), 4), 0.0)
    moved = np.round(flows.sum(axis=1)).astype(np.int64) if len(must) else np.zeros(0, np.int64)
    left = pd.DataFrame({"village_id": v["id"].iloc[must].to_numpy(),
                         "village_name": v["name"].iloc[must].to_numpy(),
                         "population": pop.astype(np.int64), "moved": moved,
                         "unsheltered": pop.astype(np.int64) - moved})
    return evac, loads, left


def _pairs(engine: Engine, which: str, sources: np.ndarray, limits: np.ndarray,
           targets: np.ndarray, *, pool: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The evacuation's pairs: :func:`emgis.roads.routing.pairs_within` on the engine's drive
    graph (``which``: ``"from_villages"``, or ``"from_shelters"`` on the reversed graph) from
    ``sources`` within their ``limits`` to ``targets``.

    Inside the engine's :meth:`~emgis.roads.engine.Engine.keeping` block (a run's scenarios),
    each source's pairs to every location of ``pool`` (all the shelters, or all the villages:
    a superset of ``targets``) are kept with the engine, by source and limit, and the next
    scenario evacuating on the same roads searches only from the sources it adds (the
    scenario of all hazards repeats the others' villages and shelters: a province's took
    7.9 CPU-s). A source's search does not depend on the targets asked for, so the pairs are
    those of the plain call, to the last bit.
    """
    if not engine.is_keeping:
        rg = engine.graph("drive", reverse=which == "from_shelters")
        return pairs_within(rg, sources, limits=limits, targets=targets)
    store: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = engine.kept(
        ("evacuation_pairs", which), dict)
    keys = [(int(s), float(lim)) for s, lim in zip(sources, limits, strict=True)]
    new = list(dict.fromkeys(k for k in keys if k not in store and k[1] >= 0))
    if new:
        rg = engine.graph("drive", reverse=which == "from_shelters")
        src = np.array([k[0] for k in new], dtype=np.int64)
        s, t, c = pairs_within(rg, src, limits=np.array([k[1] for k in new]), targets=pool)
        cut = np.searchsorted(s, np.arange(len(new) + 1))  # sorted by source
        for j, k in enumerate(new):
            store[k] = (t[cut[j]:cut[j + 1]], c[cut[j]:cut[j + 1]])
    # each pool location's place among the targets (-1: not asked for); the pool is sorted
    at = np.searchsorted(pool, targets)
    if len(targets) and (int(at.max()) >= len(pool) or not np.array_equal(pool[at], targets)):
        raise ValueError("evacuation targets outside the pool searched")
    place = np.full(len(pool), -1, dtype=np.int64)
    place[at] = np.arange(len(targets))
    parts_s, parts_t, parts_c = [], [], []
    for i, k in enumerate(keys):
        if k[1] < 0:  # not searched: no pair
            continue
        pt, pc = store[k]
        mine = place[pt]
        keep = mine >= 0
        parts_s.append(np.full(int(keep.sum()), i, dtype=np.int64))
        parts_t.append(mine[keep])
        parts_c.append(pc[keep])
    if not parts_s:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    s_all, t_all, c_all = (np.concatenate(parts_s), np.concatenate(parts_t),
                           np.concatenate(parts_c))
    order = pair_order(s_all, t_all, len(targets))
    return s_all[order], t_all[order], c_all[order]


def _from_villages(villages: int, shelters: int) -> bool:
    """Whether the evacuation's pairs are searched from the villages (to the shelters) rather
    than from the shelters in reach: from the fewer (the same pairs either way, up to the
    last digit of a sum taken the other way round; a province's first flood: 77 villages,
    not 189 searches of an hour's roads)."""
    return villages < shelters


def _most_moved(supply: np.ndarray, capacity: np.ndarray, pairs: np.ndarray) -> float | None:
    """The most persons movable from villages (``supply``) to shelters (``capacity``) over
    the ``pairs`` (village, shelter) allowed: a maximum flow (scipy's, on whole persons)
    where every supply and capacity is a whole number below 2**31 in all, else None (the
    linear programme finds it then). The flow takes milliseconds where HiGHS took a second
    for a province's 150,000 pairs."""
    n, m = len(supply), len(capacity)
    whole = np.concatenate([supply, capacity])
    if not (np.isfinite(whole).all() and (whole >= 0).all() and (whole == np.round(whole)).all()
            and float(supply.sum()) + float(capacity.sum()) < 2**31 - 1):
        return None
    big = int(supply.sum()) + 1  # a pair's own room: more than any village has
    src, sink = n + m, n + m + 1
    rows = np.concatenate([np.full(n, src), pairs[:, 0], n + np.arange(m)])
    cols = np.concatenate([np.arange(n), n + pairs[:, 1], np.full(m, sink)])
    room = np.concatenate([supply, np.full(len(pairs), big), capacity]).astype(np.int32)
    graph = sp.csr_array((room, (rows, cols)), shape=(n + m + 2, n + m + 2))
    graph.sum_duplicates()
    return float(maximum_flow(graph, src, sink).flow_value)


def transport(supply: np.ndarray, capacity: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Move as many persons as possible from villages to shelters, then at least total cost.

    The most persons that can be moved over the allowed pairs (finite ``cost``) within
    ``capacity`` (a maximum flow, :func:`_most_moved`); then, with that many moved, the least
    total person-minutes, a linear programme solved by HiGHS (scipy). Supplies and capacities
    are whole persons, so the optimal vertex is whole too.

    Returns
    -------
    numpy.ndarray
        Persons moved from village i to shelter j.
    """

    n, m = cost.shape
    out = np.zeros((n, m))
    pairs = np.argwhere(np.isfinite(cost))
    if len(pairs) == 0 or supply.sum() == 0 or capacity.sum() == 0:
        return out
    k = len(pairs)
    a_rows = sp.csr_matrix((np.ones(2 * k), (np.concatenate([pairs[:, 0], n + pairs[:, 1]]),
                                             np.concatenate([np.arange(k), np.arange(k)]))),
                           shape=(n + m, k))
    b = np.concatenate([supply, capacity])
    moved = _most_moved(supply, capacity, pairs)
    if moved is None:
        most = linprog(-np.ones(k), A_ub=a_rows, b_ub=b, bounds=(0, None), method="highs")
        if not most.success:  # pragma: no cover - a feasible LP with x = 0 always solves
            raise RuntimeError(f"evacuation LP failed: {most.message}")
        moved = -most.fun
    c = cost[pairs[:, 0], pairs[:, 1]]
    best = linprog(c, A_ub=a_rows, b_ub=b, A_eq=sp.csr_matrix(np.ones((1, k))), b_eq=[moved],
                   bounds=(0, None), method="highs")
    if not best.success:  # pragma: no cover
        raise RuntimeError(f"evacuation LP failed: {best.message}")
    out[pairs[:, 0], pairs[:, 1]] = np.round(best.x, 6)
    return out
