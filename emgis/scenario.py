"""Hazard scenarios: floods and forest fires that close or slow roads, and evacuation.

A scenario is a set of hazard zones (the ``hazards`` layer), optionally grown by a buffer. Each
zone acts on the roads as ArcGIS's polygon barriers do: ``closed`` removes every edge that crosses
it; ``slowed`` multiplies the travel time of the part of an edge inside it by ``1 /
speed_factor``. Units inside a zone are out of action (settable), shelters inside are not usable,
and stockpiles inside cannot be reached. Coverage is recomputed on the affected network and
compared with the baseline, village by village; villages inside (or near) a zone are evacuated to
usable shelters by a transportation linear programme that moves as many people as the shelters
and the time limit allow, at the least total person-minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linprog

from emgis.coverage import compute_coverage, units_of
from emgis.district import District
from emgis.network import EdgeArrays
from emgis.traveltime import build_routing_graph, times_from


@dataclass(frozen=True)
class Scenario:
    """A named set of hazard zones and how they act.

    Attributes
    ----------
    name
        Used in file names and tables.
    hazards
        Ids of records of the district's ``hazards`` layer.
    buffer_m
        Metres the zones are grown by.
    units_out_of_action
        Units inside a zone cannot respond.
    evacuate_within_m
        Villages inside a zone, or within this many metres of it, must leave.
    max_evacuation_min
        Shelters farther than this (minutes of driving) are not assigned.
    speed_factor
        The scenario's intensity for ``slowed`` zones: overrides their ``speed_factor`` (0-1,
        smaller is slower).
    evacuate_before_closure
        Evacuation routes use the roads as they are before the hazard closes or slows them
        (pre-emptive evacuation, as plans are made); False routes on the affected roads, where
        a village on a closed road cannot leave by car.
    """

    name: str
    hazards: tuple[str, ...]
    buffer_m: float = 0.0
    units_out_of_action: bool = True
    evacuate_within_m: float = 0.0
    max_evacuation_min: float = 60.0
    speed_factor: float | None = None
    evacuate_before_closure: bool = True


def zones(district: District, scenario: Scenario) -> gpd.GeoDataFrame:
    """The scenario's hazard zones (grown by its buffer), in the district's CRS.

    Raises
    ------
    KeyError
        A hazard id of the scenario is not in the hazards layer.
    """
    hz = district.hazards
    missing = [h for h in scenario.hazards if h not in set(hz["id"])]
    if missing:
        raise KeyError(f"scenario {scenario.name!r}: hazard id(s) {', '.join(missing)} not in "
                       f"the hazards layer; expected one of {', '.join(map(str, hz['id']))}")
    out = hz[hz["id"].isin(scenario.hazards)].copy()
    if scenario.speed_factor is not None:
        if not 0 < scenario.speed_factor <= 1:
            raise ValueError(f"scenario {scenario.name!r}: speed_factor = "
                             f"{scenario.speed_factor}; expected a number in (0, 1]")
        out.loc[out["effect"] == "slowed", "speed_factor"] = scenario.speed_factor
    if scenario.buffer_m > 0:
        out["geometry"] = out.geometry.buffer(scenario.buffer_m)
    return out


def apply_hazards(edges: EdgeArrays, zones_: gpd.GeoDataFrame) -> EdgeArrays:
    """Edge arrays with the zones' effect as a time multiplier per edge.

    An edge that crosses a ``closed`` zone gets ``inf`` (closed); for a ``slowed`` zone with
    speed factor ``f`` the part of the edge inside takes ``1 / f`` times as long, so the edge's
    time is multiplied by ``(1 - s) + s / f`` where ``s`` is the share of its length inside.
    """
    penalty = np.ones(len(edges.length)) if edges.penalty is None else edges.penalty.copy()
    geoms = edges.geometry
    tree = shapely.STRtree(geoms)
    lengths = shapely.length(geoms)
    for _, z in zones_.iterrows():
        hit = tree.query(z.geometry, predicate="intersects")
        if len(hit) == 0:
            continue
        if z["effect"] == "closed":
            penalty[hit] = np.inf
            continue
        inside = shapely.length(shapely.intersection(geoms[hit], z.geometry))
        share = np.divide(inside, lengths[hit], out=np.zeros(len(hit)), where=lengths[hit] > 0)
        penalty[hit] *= (1.0 - share) + share / float(z["speed_factor"])
    return replace(edges, penalty=penalty)


@dataclass(frozen=True)
class ScenarioResult:
    """What :func:`run_scenario` found.

    Attributes
    ----------
    villages
        One row per village and kind: baseline and scenario nearest minutes and status,
        ``lost_cover`` and ``island`` flags.
    evacuation
        One row per village-to-shelter assignment (persons, minutes).
    shelters
        Every shelter: usable, capacity, load (persons), share of capacity.
    unsheltered
        Per evacuated village: population, moved, left without a place.
    summary
        One row: population losing cover (any kind), cut off, evacuated, unsheltered.
    edges
        The affected edge arrays (penalty per edge).
    """

    scenario: Scenario
    villages: pd.DataFrame
    evacuation: pd.DataFrame
    shelters: pd.DataFrame
    unsheltered: pd.DataFrame
    summary: pd.DataFrame
    edges: EdgeArrays


def run_scenario(district: District, edges: EdgeArrays, scenario: Scenario, *,
                 baseline: pd.DataFrame | None = None) -> ScenarioResult:
    """Coverage on the affected network, compared with the baseline, and the evacuation.

    Parameters
    ----------
    district
        The loaded district.
    edges
        Its road network's edge arrays (:func:`emgis.network.load_network_arrays`).
    scenario
        The hazards and how they act.
    baseline
        The baseline coverage table, if already computed.
    """
    z = zones(district, scenario)
    union = shapely.union_all(z.geometry.values) if len(z) else shapely.Polygon()
    hit = apply_hazards(edges, z)
    units = units_of(district)
    inside = units.geometry.within(union)
    dropped = inside & (units["kind"].str.startswith("shelter_") | (units["kind"] == "stockpile")
                        | scenario.units_out_of_action)
    base = compute_coverage(district, edges).table if baseline is None else baseline
    scen = compute_coverage(district, hit, units=units[~dropped.to_numpy()]).table
    table = base.rename(columns={"nearest_id": "baseline_id", "nearest_min": "baseline_min",
                                 "status": "baseline_status"})[
        ["village_id", "village_name", "township", "population", "kind", "target_min",
         "baseline_id", "baseline_min", "baseline_status"]]
    table["scenario_id"] = scen["nearest_id"].to_numpy()
    table["scenario_min"] = scen["nearest_min"].to_numpy()
    table["scenario_status"] = scen["status"].to_numpy()
    table["lost_cover"] = (table["baseline_status"] == "covered") & (
        table["scenario_status"] != "covered")
    table["island"] = _all_cut_off(scen, table["village_id"]) & ~_all_cut_off(
        base, table["village_id"])

    evac, loads, left = evacuate(district, edges if scenario.evacuate_before_closure else hit,
                                 union, scenario,
                                 usable=~inside.to_numpy() | ~units["kind"].str.startswith(
                                     "shelter_").to_numpy(), units=units)
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
    }])
    return ScenarioResult(scenario, table, evac, loads, left, summary, hit)


def _all_cut_off(table: pd.DataFrame, order: pd.Series) -> np.ndarray:
    """Per row of ``order``: no unit of any kind present reaches the village."""
    rel = table[table["status"] != "no_unit"]
    cut = (rel["status"] == "cut_off").groupby(rel["village_id"].to_numpy()).all()
    out: np.ndarray = cut.reindex(order.to_numpy(), fill_value=False).to_numpy(dtype=bool)
    return out


def evacuate(district: District, edges: EdgeArrays, union: shapely.Geometry,
             scenario: Scenario, *, usable: np.ndarray, units: gpd.GeoDataFrame
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Assign the people of villages in (or near) the zones to usable shelters.

    Returns the assignments (village, shelter, persons, minutes), the shelters' loads, and per
    evacuated village the population, the persons moved and those left without a place.
    """
    from emgis.snapping import snap_points

    v = district.villages
    near = v.geometry.distance(union) <= scenario.evacuate_within_m if not union.is_empty \
        else pd.Series(False, index=v.index)
    must = np.flatnonzero(near.to_numpy())
    sh_all = units[units["kind"].str.startswith("shelter_")]
    ok_sh = usable[units["kind"].str.startswith("shelter_").to_numpy()]
    sh = sh_all[ok_sh]
    cap = sh_all.merge(district.shelters[["id", "capacity"]], on="id", how="left")["capacity"]
    cap_all = cap.fillna(0).to_numpy(dtype=float)
    pts = pd.concat([v.geometry.iloc[must], sh.geometry], ignore_index=True)
    cost = np.full((len(must), len(sh)), np.inf)
    if len(must) and len(sh):
        snaps = snap_points(edges, gpd.GeoSeries(pts, crs=district.crs),
                            settings=district.settings)
        rg = build_routing_graph(edges, snaps).reversed()  # villagers drive to the shelters
        t = times_from(rg, np.arange(len(must), len(must) + len(sh)),
                       limit=scenario.max_evacuation_min)
        nodes = rg.loc_node[: len(must)]
        acc = rg.loc_access[: len(must)]
        for j in range(len(sh)):
            ok = nodes >= 0
            cost[ok, j] = t[j, nodes[ok]] + acc[ok]
        cost[cost > scenario.max_evacuation_min] = np.inf
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
                          "capacity": cap_all, "load": np.round(load).astype(int)})
    loads["load_share"] = np.where(loads["capacity"] > 0,
                                   np.round(loads["load"] / loads["capacity"].where(
                                       loads["capacity"] > 0, 1), 4), 0.0)
    moved = np.round(flows.sum(axis=1)).astype(int) if len(must) else np.zeros(0, int)
    left = pd.DataFrame({"village_id": v["id"].iloc[must].to_numpy(),
                         "village_name": v["name"].iloc[must].to_numpy(),
                         "population": pop.astype(int), "moved": moved,
                         "unsheltered": pop.astype(int) - moved})
    return evac, loads, left


def transport(supply: np.ndarray, capacity: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Move as many persons as possible from villages to shelters, then at least total cost.

    Two linear programmes solved by HiGHS (scipy): the most persons that can be moved over the
    allowed pairs (finite ``cost``) within ``capacity``; then, with that many moved, the least
    total person-minutes. Supplies and capacities are whole persons, so the optimal vertex is
    whole too.

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
    a_rows = np.zeros((n + m, k))
    a_rows[pairs[:, 0], np.arange(k)] = 1.0
    a_rows[n + pairs[:, 1], np.arange(k)] = 1.0
    b = np.concatenate([supply, capacity])
    most = linprog(-np.ones(k), A_ub=a_rows, b_ub=b, bounds=(0, None), method="highs")
    if not most.success:  # pragma: no cover - a feasible LP with x = 0 always solves
        raise RuntimeError(f"evacuation LP failed: {most.message}")
    moved = -most.fun
    c = cost[pairs[:, 0], pairs[:, 1]]
    best = linprog(c, A_ub=a_rows, b_ub=b, A_eq=np.ones((1, k)), b_eq=[moved],
                   bounds=(0, None), method="highs")
    if not best.success:  # pragma: no cover
        raise RuntimeError(f"evacuation LP failed: {best.message}")
    out[pairs[:, 0], pairs[:, 1]] = np.round(best.x, 6)
    return out
