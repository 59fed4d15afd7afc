"""Scenarios: closed and slowed roads, shelters in the zone, and the evacuation LP."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from emgis import load_district
from emgis.analysis.scenario import Scenario, apply_hazards, run_scenario, transport
from emgis.plan import Plan
from emgis.roads.network import load_network, load_network_arrays
from emgis.roads.nxio import edge_arrays
from emgis.roads.routing import build_routing_graph, nearest_two
from tests.conftest import open_plan, replace_in, write_with
from tests.roads.test_routing import at_nodes

HAZARD = '{{"type":"Feature","properties":{{"id":"{id}","name":"{id}","kind":"flood",' \
    '"effect":"{effect}"{factor}}},"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}'


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]"


def add_hazard(tiny: Path, hid: str, ring: str, effect: str = "closed",
               factor: float | None = None) -> None:
    f = "" if factor is None else f',"speed_factor":{factor}'
    feat = HAZARD.format(id=hid, effect=effect, factor=f, ring=ring)
    replace_in(tiny / "hazards.geojson", '"features":[\n', f'"features":[\n{feat},\n')


def test_closed_only_link_cuts_the_village_off(tiny: Path) -> None:
    # road 2-7 (lon 1.510, lat 42.495-42.500) is the only way to 南村 V5
    add_hazard(tiny, "C1", box(1.5095, 42.4965, 1.5105, 42.4975))
    d = load_district(tiny)
    edges, _ = load_network_arrays(d)
    r = run_scenario(d, edges, Scenario("cut", ("C1",)))
    v5 = r.villages[r.villages["village_id"] == "V5"]
    assert set(v5["scenario_status"]) == {"cut_off", "no_unit"}  # no_unit: no such unit
    assert v5["island"].all()
    rescue = v5[v5["kind"] == "township_rescue_team"].iloc[0]
    assert rescue["baseline_status"] == "covered" and rescue["lost_cover"]
    # the other connected villages keep their rescue cover
    others = r.villages[(r.villages["kind"] == "township_rescue_team")
                        & r.villages["village_id"].isin(["V1", "V2"])]
    assert (others["scenario_status"] == "covered").all()


def test_every_village_keeps_a_row_with_both_statuses(tiny: Path) -> None:
    add_hazard(tiny, "C1", box(1.5095, 42.4965, 1.5105, 42.4975))
    d = load_district(tiny)
    edges, _ = load_network_arrays(d)
    r = run_scenario(d, edges, Scenario("cut", ("C1", "H1")))
    for kind, g in r.villages.groupby("kind"):
        assert list(g["village_id"]) == list(d.villages["id"]), kind
    assert r.villages["baseline_status"].notna().all()
    assert r.villages["scenario_status"].notna().all()


def test_slowed_roads_take_exactly_factor_times_longer(tiny: Path) -> None:
    d = load_district(tiny)
    G, _ = load_network(d, use_cache=False)
    ea = edge_arrays(G)
    x0, y0, x1, y1 = shapely.total_bounds(ea.geometry)
    everywhere = gpd.GeoDataFrame({"effect": ["slowed"], "speed_factor": [0.4]},
                                  geometry=[shapely.box(x0 - 1e4, y0 - 1e4, x1 + 1e4, y1 + 1e4)],
                                  crs=d.crs)
    slow = apply_hazards(ea, everywhere)
    hz = slow.hazards
    assert hz is not None and len(hz) == ea.n_edges  # every edge, whole, 1 / 0.4 as long
    assert sorted(hz[:, 0].astype(int)) == list(range(ea.n_edges))
    assert np.allclose(hz[:, 1], 0) and np.allclose(hz[:, 2], 1) and np.allclose(hz[:, 3], 2.5)
    nodes = sorted(n for n in G if G.degree(n) > 0)
    snaps = at_nodes(G, [2, *nodes])
    targets = np.arange(1, 1 + len(nodes))
    before = nearest_two(build_routing_graph(ea, snaps), [0], targets=targets)
    after = nearest_two(build_routing_graph(slow, snaps), [0], targets=targets)
    fin = np.isfinite(before.first_min)
    assert np.allclose(after.first_min[fin], before.first_min[fin] / 0.4)


def test_partly_covered_edge_is_slowed_for_the_part_inside(tiny: Path) -> None:
    d = load_district(tiny)
    G, _ = load_network(d, use_cache=False)
    ea = edge_arrays(G)
    i = next(j for j, (u, v, _) in enumerate(ea.keys) if (u, v) == (2, 7))
    line = ea.geometry[i]
    half = line.interpolate(0.5, normalized=True)
    zone = shapely.box(half.x - 30, half.y - 1000, half.x + 30, half.y)  # the southern half
    z = gpd.GeoDataFrame({"effect": ["slowed"], "speed_factor": [0.5]}, geometry=[zone],
                         crs=d.crs)
    hit = apply_hazards(ea, z)
    assert hit.hazards is not None
    rows = hit.hazards[hit.hazards[:, 0] == i]
    assert len(rows) == 1 and rows[0, 1] == pytest.approx(0.5, abs=1e-6)
    assert rows[0, 2] == pytest.approx(1.0) and rows[0, 3] == pytest.approx(2.0)
    # the whole edge: half at its speed, half at half its speed -> 1.5 times as long
    rg = build_routing_graph(hit, at_nodes(G, [2]))
    k = np.flatnonzero(rg.piece_edge == i)
    assert len(k) == 1 and rg.piece_w is not None
    assert rg.piece_w[k[0]] == pytest.approx(1.5 * ea.travel_time[i] / 60, rel=1e-6)


def test_shelter_inside_the_zone_receives_nobody(tiny: Path) -> None:
    # a flood over 东村 V1 and the school shelter SH1 beside it; 南村 V5 is evacuated too
    # (a closed zone: a zone that only slows roads puts no shelter out of action)
    add_hazard(tiny, "F1", box(1.508, 42.4995, 1.5165, 42.5015), effect="closed")
    d = load_district(tiny)
    edges, _ = load_network_arrays(d)
    r = run_scenario(d, edges, Scenario("flood", ("F1",), evacuate_within_m=500))
    sh = r.shelters.set_index("shelter_id")
    assert not sh.at["SH1", "usable"] and sh.at["SH1", "load"] == 0
    assert "SH1" not in set(r.evacuation["shelter_id"])
    assert (sh["load"] <= sh["capacity"]).all()
    left = r.unsheltered.set_index("village_id")
    assert "V1" in left.index
    # the fixed shelter SH2 holds 500: everyone who can be moved is, up to its capacity
    assert left["moved"].sum() == min(left["population"].sum(), 500)


def _flow_oracle(supply: np.ndarray, cap: np.ndarray, cost: np.ndarray) -> tuple[int, int]:
    """Max persons moved and least cost (in cost units) by networkx's network simplex."""
    g = nx.DiGraph()
    n, m = cost.shape
    for i in range(n):
        g.add_edge("s", f"v{i}", capacity=int(supply[i]), weight=0)
        for j in range(m):
            if np.isfinite(cost[i, j]):
                g.add_edge(f"v{i}", f"h{j}", weight=int(cost[i, j]))
    for j in range(m):
        g.add_edge(f"h{j}", "t", capacity=int(cap[j]), weight=0)
    flow = nx.max_flow_min_cost(g, "s", "t")
    moved = sum(flow["s"].values())
    return moved, nx.cost_of_flow(g, flow)


@pytest.mark.parametrize("seed", range(12))
def test_evacuation_lp_equals_min_cost_flow(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 7), rng.integers(1, 5)
    supply = rng.integers(0, 300, n).astype(float)
    cap = rng.integers(0, 400, m).astype(float)
    cost = rng.integers(1, 90, (n, m)).astype(float)
    cost[rng.random((n, m)) < 0.3] = np.inf  # shelters out of reach
    x = transport(supply, cap, cost)
    assert (x.sum(axis=1) <= supply + 1e-6).all()
    assert (x.sum(axis=0) <= cap + 1e-6).all()
    assert np.allclose(x, np.round(x))
    assert not (x[~np.isfinite(cost)] > 0).any()
    moved, best = _flow_oracle(supply, cap, cost)
    assert x.sum() == pytest.approx(moved)
    used = np.isfinite(cost)
    assert float((x[used] * cost[used]).sum()) == pytest.approx(best)


def test_evacuation_tables_are_consistent(tiny: Path) -> None:
    add_hazard(tiny, "F1", box(1.508, 42.4995, 1.5165, 42.5015), effect="slowed", factor=0.5)
    d = load_district(tiny)
    edges, _ = load_network_arrays(d)
    r = run_scenario(d, edges, Scenario("flood", ("F1",), evacuate_within_m=500))
    per = r.evacuation.groupby("village_id")["persons"].sum()
    left = r.unsheltered.set_index("village_id")
    for vid, row in left.iterrows():
        assert per.get(vid, 0) == row["moved"]
        assert row["moved"] + row["unsheltered"] == row["population"]
    s = r.summary.iloc[0]
    assert s["population_evacuated"] == left["moved"].sum()
    assert isinstance(r.villages, pd.DataFrame)


def test_scenario_job_writes_every_village(tiny: Path, tmp_path: Path) -> None:
    from emgis.run.jobs import scenarios_job
    from tests.conftest import render_dom

    add_hazard(tiny, "C1", box(1.5095, 42.4965, 1.5105, 42.4975))
    replace_in(tiny / "district.toml", "[roads]",
               '[scenarios.cut]\nhazards = ["C1"]\n\n[scenarios.both]\nhazards = ["C1", "H1"]\n'
               'evacuate_within_m = 300\n\n[roads]')
    plan = open_plan(tiny)
    d = plan.district
    assert [s.name for s in d.scenarios] == ["cut", "both"]
    res = write_with(scenarios_job, plan, tmp_path, d.scenarios)
    names = {p.name for p in res.files}
    for stem in ("scenario_cut", "scenario_both"):
        assert {f"{stem}.csv", f"{stem}.gpkg", f"{stem}.html", f"{stem}_evacuation.csv",
                f"{stem}_shelters.csv", f"{stem}_units.csv"} <= names
        u = pd.read_csv(tmp_path / f"{stem}_units.csv", encoding="utf-8-sig")
        assert len(u) == len(plan.units) and set(u["status"]) <= {
            "in_action", "out_of_action", "cut_off"}
        t = pd.read_csv(tmp_path / f"{stem}.csv", encoding="utf-8-sig")
        assert len(t) == len(d.villages) * t["kind"].nunique()
        assert set(t["village_id"]) == set(d.villages["id"])
        assert t["baseline_status"].notna().all() and t["scenario_status"].notna().all()
    comp = pd.read_csv(tmp_path / "scenarios.csv", encoding="utf-8-sig")
    assert list(comp["scenario"]) == ["cut", "both"]
    per = pd.read_csv(tmp_path / "scenarios_villages.csv", encoding="utf-8-sig")
    assert list(per["village_id"]) == list(d.villages["id"])
    assert per.set_index("village_id")["kinds_losing_cover_cut"]["V5"] >= 1
    dom = render_dom(tmp_path / "scenario_cut.html", tmp_path)
    assert 'id="emgis-legend"' in dom and "Hazard zone" in dom
    assert len(__import__("re").findall(r'class="leaflet-interactive"', dom)) >= 5


def test_unknown_scenario_hazard_is_an_error(tiny: Path) -> None:
    from emgis import ValidationError

    replace_in(tiny / "district.toml", "[roads]", '[scenarios.x]\nhazards = ["NOPE"]\n\n[roads]')
    with pytest.raises(ValidationError, match="NOPE") as info:
        load_district(tiny)
    p = info.value.problems[0]
    assert p.file == "district.toml" and p.field == "scenarios.x.hazards"


def test_default_scenarios_one_per_hazard_kind(tiny: Path) -> None:
    add_hazard(tiny, "F9", box(1.50, 42.50, 1.501, 42.501))
    replace_in(tiny / "hazards.geojson", '"id":"F9","name":"F9","kind":"flood"',
               '"id":"F9","name":"F9","kind":"forest_fire"')
    d = load_district(tiny)
    assert [(s.name, s.hazards) for s in d.scenarios] == [
        ("forest_fire", ("F9",)), ("flood", ("H1",)), ("all_hazards", ("F9", "H1"))]


def test_scenario_intensity_overrides_the_speed_factor(tiny: Path) -> None:
    add_hazard(tiny, "S1", box(1.49, 42.49, 1.58, 42.55), effect="slowed", factor=0.5)
    d = load_district(tiny)
    edges, _ = load_network_arrays(d)
    mild = run_scenario(d, edges, Scenario("mild", ("S1",)))
    hard = run_scenario(d, edges, Scenario("hard", ("S1",), speed_factor=0.25))
    assert mild.edges.hazards is not None and hard.edges.hazards is not None
    assert len(mild.edges.hazards) == len(hard.edges.hazards) > 0
    assert np.allclose(mild.edges.hazards[:, 3], 2.0)  # 1 / 0.5 of the layer
    assert np.allclose(hard.edges.hazards[:, 3], 4.0)  # 1 / 0.25 of the scenario
    assert np.allclose(mild.edges.hazards[:, :3], hard.edges.hazards[:, :3])


def test_evacuation_routes_follow_the_roads(demo_plan: Plan) -> None:
    """Each evacuation row's route runs from the village to the shelter along the roads: it
    starts and ends at their points, every vertex between lies on a road, and it is no shorter
    than the straight line nor longer than its minutes at the fastest road speed allow."""
    plan = demo_plan
    sc = next(s for s in plan.district.scenarios if s.name == "combined")
    r = plan.scenario(sc)
    assert len(r.evacuation) >= 10 and r.routes is not None
    assert len(r.routes) == len(r.evacuation) and r.routes.notna().all()
    v = plan.district.villages.set_index("id").geometry
    s = plan.district.shelters.set_index("id").geometry
    roads = shapely.union_all(plan.network.geometry)
    top = max(sp.value for sp in plan.district.settings.speeds.values()) * 1000 / 60  # m/min
    for line, row in zip(r.routes, r.evacuation.itertuples(index=False), strict=True):
        xy = shapely.get_coordinates(line)
        assert shapely.Point(xy[0]).distance(v[row.village_id]) < 1e-6
        assert shapely.Point(xy[-1]).distance(s[row.shelter_id]) < 1e-6
        inner = shapely.points(xy[1:-1])
        assert float(shapely.distance(inner, roads).max()) < 0.01
        straight = v[row.village_id].distance(s[row.shelter_id])
        assert straight - 1e-6 <= line.length <= cast(float, row.minutes) * top + 1e-6
    # searching each shelter only as far as its routes' minutes finds the same routes as
    # searching the whole limit
    from emgis.analysis.scenario import evacuation_routes
    from emgis.inputs.kinds import units_of

    engine = plan.engine if sc.evacuate_before_closure else r.engine
    assert engine is not None
    full = evacuation_routes(plan.district, engine, r.evacuation.assign(minutes=np.inf),
                             units=units_of(plan.district), limit=sc.max_evacuation_min)
    assert all(a.equals_exact(b, 0.0) for a, b in zip(r.routes, full, strict=True))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_most_moved_is_the_linear_programmes_maximum(seed: int) -> None:
    """The maximum flow of whole persons moves as many as the linear programme it replaced
    (HiGHS, the oracle); fractional persons fall back to the programme (None)."""
    from scipy.optimize import linprog

    from emgis.analysis.scenario import _most_moved

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 9)), int(rng.integers(1, 6))
    supply = rng.integers(0, 500, n).astype(float)
    cap = rng.integers(0, 400, m).astype(float)
    pairs = np.argwhere(rng.random((n, m)) < 0.6)
    got = _most_moved(supply, cap, pairs)
    if len(pairs):
        k = len(pairs)
        a = sp.csr_matrix((np.ones(2 * k), (np.concatenate([pairs[:, 0], n + pairs[:, 1]]),
                                            np.concatenate([np.arange(k), np.arange(k)]))),
                          shape=(n + m, k))
        want = -linprog(-np.ones(k), A_ub=a, b_ub=np.concatenate([supply, cap]),
                        bounds=(0, None), method="highs").fun
    else:
        want = 0.0
    assert got == pytest.approx(want, abs=1e-9)
    assert _most_moved(supply + 0.5, cap, pairs) is None
