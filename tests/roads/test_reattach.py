"""Re-attaching a location whose road a scenario closes, and the exact reach of the search for
the main network (issue 29, items 1 and 5).

A hand-made district in metres (CGCS2000 / 3-degree Gauss-Kruger CM 117E, the CRS emgis picks
there, so the layers are used as drawn):

    B  (0,25) ==================================================== (2000,25)
        |                                                              |
    A  (0,0) ======== (800,0) [closed band 800-1200] (1200,0) ====== (2000,0)

Two parallel tertiary roads 25 m apart joined at both ends; a flood band 10 m wide (y -5..5)
closes road A between x = 800 and 1200. The oracles are networkx shortest paths on a graph
drawn from these coordinates by hand, and shapely distances.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from emgis import load_district
from emgis.analysis.scenario import Scenario, closed_area, hazard_network, run_scenario, zones
from emgis.inputs.settings import default_settings
from emgis.roads.engine import Engine
from emgis.roads.network import load_network_arrays
from emgis.roads.nxio import edge_arrays
from emgis.roads.routing import nearest_two
from emgis.roads.snapping import snap_points

CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 3_750_000.0
BAND = (800.0, -5.0, 1200.0, 5.0)  # the closed band over road A (x0, y0, x1, y1 from X0, Y0)


def pt(x: float, y: float) -> shapely.Point:
    return shapely.Point(X0 + x, Y0 + y)


def _district(root: Path, *, units: list[tuple[str, str, float, float]],
              villages: list[tuple[str, float, float]],
              shelters: list[tuple[str, str, float, float, int]] | None = None,
              roads: list[list[tuple[float, float]]] | None = None,
              hazards: list[tuple[str, str, tuple[float, float, float, float]]] | None = None,
              stockpiles: list[tuple[str, float, float]] | None = None,
              extra_toml: str = "") -> Path:
    """A district of GeoPackage layers drawn in metres around (X0, Y0)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = roads or [[(0, 0), (800, 0), (1200, 0), (2000, 0)], [(0, 25), (2000, 25)],
                      [(0, 0), (0, 25)], [(2000, 0), (2000, 25)]]
    gpd.GeoDataFrame({"highway": ["tertiary"] * len(lines)},
                     geometry=[shapely.LineString([(X0 + x, Y0 + y) for x, y in ln])
                               for ln in lines], crs=CRS).to_file(root / "roads.gpkg",
                                                                  driver="GPKG")
    gpd.GeoDataFrame(
        {"id": [v[0] for v in villages], "name": [f"村{v[0]}" for v in villages],
         "township": "甲镇", "kind": "village", "population": 100},
        geometry=[pt(v[1], v[2]) for v in villages], crs=CRS,
    ).to_file(root / "villages.gpkg", driver="GPKG")
    gpd.GeoDataFrame(
        {"id": [u[0] for u in units], "name": [f"队{u[0]}" for u in units],
         "kind": [u[1] for u in units], "headcount": 10, "township": "甲镇",
         "turnout_min": 1.0},
        geometry=[pt(u[2], u[3]) for u in units], crs=CRS,
    ).to_file(root / "teams.gpkg", driver="GPKG")
    hz = hazards if hazards is not None else [("F1", "closed", BAND)]
    gpd.GeoDataFrame(
        {"id": [h[0] for h in hz], "name": [h[0] for h in hz], "kind": "flood",
         "effect": [h[1] for h in hz], "speed_factor": [0.5 if h[1] == "slowed" else None
                                                        for h in hz]},
        geometry=[shapely.box(X0 + b[0], Y0 + b[1], X0 + b[2], Y0 + b[3]) for *_, b in hz],
        crs=CRS,
    ).to_file(root / "hazards.gpkg", driver="GPKG")
    toml = ('[district]\nname = "手绘区"\n\n[layers.villages]\npath = "villages.gpkg"\n\n'
            '[layers.teams]\npath = "teams.gpkg"\n\n[layers.hazards]\npath = "hazards.gpkg"\n\n')
    if shelters:
        gpd.GeoDataFrame(
            {"id": [s[0] for s in shelters], "name": [f"场所{s[0]}" for s in shelters],
             "kind": [s[1] for s in shelters], "capacity": [s[4] for s in shelters]},
            geometry=[pt(s[2], s[3]) for s in shelters], crs=CRS,
        ).to_file(root / "shelters.gpkg", driver="GPKG")
        toml += '[layers.shelters]\npath = "shelters.gpkg"\n\n'
    if stockpiles:
        gpd.GeoDataFrame(
            {"id": [k[0] for k in stockpiles], "name": [f"库{k[0]}" for k in stockpiles],
             "level": "township", "township": "甲镇", "items": "帐篷:10"},
            geometry=[pt(k[1], k[2]) for k in stockpiles], crs=CRS,
        ).to_file(root / "stockpiles.gpkg", driver="GPKG")
        toml += '[layers.stockpiles]\npath = "stockpiles.gpkg"\n\n'
    toml += '[roads]\npath = "roads.gpkg"\nformat = "lines"\n\n' + extra_toml
    (root / "district.toml").write_text(toml, "utf-8")
    return root


def _oracle(d: object, *, closed: tuple[float, float] | None, legs: dict[str, tuple[
        tuple[float, float], tuple[float, float]]]) -> nx.Graph:
    """The two roads and their links as a networkx graph in minutes (two-way tertiary roads),
    road A without the part ``closed`` (x from, x to); each location joined to the point of
    the road it attaches at (``legs``: name -> (its point, the point on the road)) by its
    access leg at the off-road speed. Road points are split wherever a location attaches."""
    s = d.settings  # type: ignore[attr-defined]
    drive = s.speed_kph("tertiary") * 1000 / 60  # metres per minute
    off = s.speed_kph("offroad") * 1000 / 60
    on_a = sorted({0.0, 800.0, 1200.0, 2000.0, *(q[0] for _, q in legs.values() if q[1] == 0)})
    on_b = sorted({0.0, 2000.0, *(q[0] for _, q in legs.values() if q[1] == 25)})
    G = nx.Graph()
    for xs, y in ((on_a, 0.0), (on_b, 25.0)):
        for a, b in itertools.pairwise(xs):
            if y == 0.0 and closed is not None and a >= closed[0] and b <= closed[1]:
                continue
            G.add_edge((a, y), (b, y), weight=(b - a) / drive)
    for x in (0.0, 2000.0):
        G.add_edge((x, 0.0), (x, 25.0), weight=25.0 / drive)
    for name, (p, q) in legs.items():
        G.add_edge(name, q, weight=float(np.hypot(p[0] - q[0], p[1] - q[1])) / off)
    return G


# --- 1. a unit 1.3 m outside a closed band keeps its cover through the open road -------------

def test_unit_outside_a_closed_band_reattaches_to_the_open_road(tmp_path: Path) -> None:
    # U1 is 1.3 m outside the band (y = 5), 6.3 m from road A (inside the band's part of it)
    # and 18.7 m from road B; V1 lies 10 m south of road A near its east end
    root = _district(tmp_path / "d", units=[("U1", "township_rescue_team", 1000, 6.3)],
                     villages=[("V1", 1900, -10), ("V2", 1000, 2)])
    d = load_district(root)
    assert d.crs.to_epsg() == 4548
    edges, _ = load_network_arrays(d, use_cache=False)
    r = run_scenario(d, edges, Scenario("flood", ("F1",)))
    u = r.units.set_index("unit_id").loc["U1"]
    assert u["status"] == "in_action"  # it was cut off before re-attaching
    assert u["reattached_m"] == pytest.approx(18.7, abs=0.05)
    eng = r.engine
    assert eng is not None
    loc = int(eng.unit_loc[0])
    # the exact access leg: straight north to road B
    assert eng.snaps.at[loc, "access_m"] == pytest.approx(18.7, abs=1e-6)
    assert eng.snaps.at[loc, "snap_x"] == pytest.approx(X0 + 1000, abs=1e-6)
    assert eng.snaps.at[loc, "snap_y"] == pytest.approx(Y0 + 25, abs=1e-6)
    # before the flood it drove off road A, 6.3 m away
    assert r.engine is not None and Engine.for_district(d, edges).snaps.at[
        loc, "access_m"] == pytest.approx(6.3, abs=1e-6)
    # the networkx oracle: U1 -> B -> east -> down the link -> A west to V1's point -> V1
    G = _oracle(d, closed=(800.0, 1200.0), legs={
        "U1": ((1000, 6.3), (1000, 25.0)), "V1": ((1900, -10), (1900, 0.0))})
    want = 1.0 + nx.shortest_path_length(G, "U1", "V1", weight="weight")  # 1 min turnout
    row = r.villages[(r.villages["village_id"] == "V1")
                     & (r.villages["kind"] == "township_rescue_team")].iloc[0]
    assert row["scenario_min"] == pytest.approx(want, abs=1e-6)
    assert row["scenario_status"] == "covered" and not row["lost_cover"]
    assert np.isnan(row["reattached_m"])  # V1's own road stays open
    # V2 stands inside the band: it is not moved out of the flood (cut off, as before)
    v2 = r.villages[(r.villages["village_id"] == "V2")
                    & (r.villages["kind"] == "township_rescue_team")].iloc[0]
    assert v2["scenario_status"] == "cut_off" and np.isnan(v2["reattached_m"])
    # the same times from the engine's own search
    res = nearest_two(eng.graph("drive"), eng.unit_loc, offsets=[1.0],
                      targets=eng.village_loc[:1])
    assert res.first_min[0] == pytest.approx(want, abs=1e-6)


def test_reattaches_at_the_edge_of_the_band_on_its_own_road(tmp_path: Path) -> None:
    # U1 is 1 m below the band near its east end: the nearest open road is road A itself at
    # the band's edge (1200, 0), sqrt(5^2 + 6^2) m away (road B is 31 m away)
    root = _district(tmp_path / "d", units=[("U1", "township_rescue_team", 1195, -6)],
                     villages=[("V1", 1900, -10)])
    d = load_district(root)
    edges, _ = load_network_arrays(d, use_cache=False)
    r = run_scenario(d, edges, Scenario("flood", ("F1",)))
    u = r.units.set_index("unit_id").loc["U1"]
    assert u["status"] == "in_action"
    assert u["reattached_m"] == pytest.approx(np.hypot(5, 6), abs=0.05)
    eng = r.engine
    assert eng is not None
    loc = int(eng.unit_loc[0])
    assert eng.snaps.at[loc, "access_m"] == pytest.approx(np.hypot(5, 6), abs=1e-6)
    assert eng.snaps.at[loc, "snap_x"] == pytest.approx(X0 + 1200, abs=1e-6)
    G = _oracle(d, closed=(800.0, 1200.0), legs={
        "U1": ((1195, -6), (1200, 0.0)), "V1": ((1900, -10), (1900, 0.0))})
    want = 1.0 + nx.shortest_path_length(G, "U1", "V1", weight="weight")
    row = r.villages[(r.villages["village_id"] == "V1")
                     & (r.villages["kind"] == "township_rescue_team")].iloc[0]
    assert row["scenario_min"] == pytest.approx(want, abs=1e-6)


def test_villages_and_shelters_reattach_too_and_the_tables_say_so(tmp_path: Path) -> None:
    # V3 and the shelter S1 both attach inside the band's part of road A from outside it
    root = _district(tmp_path / "d", units=[("U1", "township_rescue_team", 100, 10)],
                     villages=[("V3", 900, -7.0)],
                     shelters=[("S1", "emergency", 1100, 8.0, 500)])
    d = load_district(root)
    edges, _ = load_network_arrays(d, use_cache=False)
    r = run_scenario(d, edges, Scenario("flood", ("F1",), evacuate_within_m=50))
    rows = r.villages[r.villages["village_id"] == "V3"]
    drive = rows[rows["kind"] == "township_rescue_team"].iloc[0]
    # V3: road A at the band's west edge (800, 0) is hypot(100, 7) m away, road B 32 m
    assert drive["reattached_m"] == pytest.approx(32.0, abs=0.05)
    assert drive["scenario_status"] == "covered"
    s1 = r.units.set_index("unit_id").loc["S1"]
    assert s1["status"] == "in_action" and s1["reattached_m"] == pytest.approx(17.0, abs=0.05)
    assert bool(r.shelters.set_index("shelter_id").at["S1", "usable"])
    assert "reattached_m" in r.units.columns and "reattached_m" in r.villages.columns


def test_no_open_road_within_reach_stays_cut_off(tmp_path: Path) -> None:
    # with max_access_m = 15, U1 (18.7 m from road B) has no open road within reach
    root = _district(tmp_path / "d", units=[("U1", "township_rescue_team", 1000, 6.3)],
                     villages=[("V1", 1900, -10)], extra_toml="[network]\nmax_access_m = 15\n")
    d = load_district(root)
    edges, _ = load_network_arrays(d, use_cache=False)
    r = run_scenario(d, edges, Scenario("flood", ("F1",)))
    u = r.units.set_index("unit_id").loc["U1"]
    assert u["status"] == "cut_off" and np.isnan(u["reattached_m"])


def test_an_open_sliver_between_two_closures_is_no_way_out(tmp_path: Path) -> None:
    # two bands close road A at 800-990 and 1010-1200; the open 20 m between them (1.5 m from
    # U1) leads nowhere: U1 goes to road B instead
    root = _district(tmp_path / "d", units=[("U1", "township_rescue_team", 1000, -6.5)],
                     villages=[("V1", 1900, -10)],
                     hazards=[("F1", "closed", (800, -5, 990, 5)),
                              ("F2", "closed", (1010, -5, 1200, 5))])
    d = load_district(root)
    edges, _ = load_network_arrays(d, use_cache=False)
    r = run_scenario(d, edges, Scenario("flood", ("F1", "F2")))
    u = r.units.set_index("unit_id").loc["U1"]
    # U1 stands beside the sliver: its own road is open, so it stays on it and is cut off
    assert u["status"] == "cut_off" and np.isnan(u["reattached_m"])
    # a unit attached inside a band beside the sliver does not move onto it
    root2 = _district(tmp_path / "d2", units=[("U2", "township_rescue_team", 985, -6.0)],
                      villages=[("V1", 1900, -10)],
                      hazards=[("F1", "closed", (800, -5, 990, 5)),
                               ("F2", "closed", (1010, -5, 1200, 5))])
    d2 = load_district(root2)
    edges2, _ = load_network_arrays(d2, use_cache=False)
    r2 = run_scenario(d2, edges2, Scenario("flood", ("F1", "F2")))
    u2 = r2.units.set_index("unit_id").loc["U2"]
    assert u2["status"] == "in_action"
    assert u2["reattached_m"] == pytest.approx(31.0, abs=0.05)  # road B, not the sliver


def test_reattach_is_exact_to_the_reach(tmp_path: Path) -> None:
    # the band closes road A all along; the only open road lies `dist` from U1 in a direction
    # where a 16-sided polygon falls short of the circle (11.25 degrees off its vertices: its
    # radius there is 980.8 m for 1,000 m)
    phi = np.radians(270.0 - 11.25)  # south, a little west of U1
    ux, uy = 1000.0, -6.0
    for dist, found in ((985.0, True), (999.0, True), (1000.5, False)):
        # a road square to that direction, its nearest point to U1 `dist` away, running west
        # and north to road A's west end
        cx, cy = ux + dist * np.cos(phi), uy + dist * np.sin(phi)
        ax, ay = cx - 300 * np.sin(phi), cy + 300 * np.cos(phi)
        bx, by = cx + 300 * np.sin(phi), cy - 300 * np.cos(phi)
        west = [(bx, by), (ax, ay), (-400, ay), (-400, 0)]
        roads = [[(-400, 0), (800, 0), (1200, 0), (2400, 0)], west]
        root = _district(tmp_path / f"d{dist}", units=[("U1", "township_rescue_team", ux, uy)],
                         villages=[("V1", -400, -500)], roads=roads,
                         hazards=[("F1", "closed", (-500, -5, 2500, 5))])
        d = load_district(root)
        edges, _ = load_network_arrays(d, use_cache=False)
        eng = Engine.for_district(d, edges)
        z = zones(d, Scenario("flood", ("F1",)))
        hit, _ = hazard_network(edges, z)
        moved = eng.with_network(hit, closed_area=closed_area(z))
        got = moved.reattached_m(moved.unit_loc)[0]
        # the oracle: shapely's distance to the open road (outside the band)
        band = shapely.box(X0 - 500, Y0 - 5, X0 + 2500, Y0 + 5)
        open_road = shapely.LineString([(X0 + x, Y0 + y) for x, y in west]).difference(band)
        oracle = pt(ux, uy).distance(open_road)
        assert oracle == pytest.approx(dist, abs=1e-6)
        if found:
            assert got == pytest.approx(oracle, abs=1e-6)
            loc = int(moved.unit_loc[0])
            assert moved.snaps.at[loc, "snap_x"] == pytest.approx(X0 + cx, abs=1e-6)
            assert moved.snaps.at[loc, "snap_y"] == pytest.approx(Y0 + cy, abs=1e-6)
        else:
            assert np.isnan(got)


# --- 5. the search for the main network is exact to max_access_m ---------------------------

def _main_and_piece(dist: float) -> tuple[nx.MultiDiGraph, shapely.Point]:
    """A point 50 m from an isolated road piece, its nearest main road `dist` away in a
    direction 11.25 degrees off a 16-sided polygon's vertices (where such a polygon is 980.8 m
    from its centre for a 1,000 m radius)."""
    s = default_settings()
    p = (0.0, 0.0)
    theta = np.radians(11.25)
    dx, dy = np.cos(theta), np.sin(theta)
    c = (p[0] + dist * dx, p[1] + dist * dy)  # the foot of the perpendicular on the main road
    G = nx.MultiDiGraph(crs=CRS)
    main = [(c[0] - 400 * dy, c[1] + 400 * dx), c, (c[0] + 400 * dy, c[1] - 400 * dx),
            (c[0] + 400 * dy + 300 * dx, c[1] - 400 * dx + 300 * dy)]
    piece = [(-50.0, -30.0), (-50.0, 30.0)]
    speed = s.speed_kph("tertiary") / 3.6
    for i, xy in enumerate(main + piece):
        G.add_node(i + 1, x=xy[0], y=xy[1])
    for a, b in ((1, 2), (2, 3), (3, 4), (5, 6)):
        ln = float(np.hypot(G.nodes[a]["x"] - G.nodes[b]["x"], G.nodes[a]["y"] - G.nodes[b]["y"]))
        for u, v in ((a, b), (b, a)):
            G.add_edge(u, v, length=ln, travel_time=ln / speed, highway="tertiary")
    return G, shapely.Point(p)


@pytest.mark.parametrize("dist", [985.0, 992.5, 999.0, 999.999])
def test_a_point_999_m_from_the_main_road_attaches(dist: float) -> None:
    G, p = _main_and_piece(dist)
    ea = edge_arrays(G)
    snaps = snap_points(ea, gpd.GeoSeries([p], crs=CRS), settings=default_settings())
    row = snaps.iloc[0]
    assert row["status"] == "ok"
    main = {int(n) for n in ea.node_ids[ea.component == ea.main]}
    assert {int(row["u"]), int(row["v"])} <= main
    # oracle: shapely's distance to the main road's lines
    lines = [shapely.LineString([(G.nodes[a]["x"], G.nodes[a]["y"]),
                                 (G.nodes[b]["x"], G.nodes[b]["y"])])
             for a, b in ((1, 2), (2, 3), (3, 4))]
    assert row["access_m"] == pytest.approx(min(p.distance(g) for g in lines), abs=1e-6)
    assert row["access_m"] == pytest.approx(dist, abs=1e-6)


def test_a_point_just_beyond_the_reach_is_cut_off() -> None:
    G, p = _main_and_piece(1000.001)
    snaps = snap_points(edge_arrays(G), gpd.GeoSeries([p], crs=CRS),
                        settings=default_settings())
    assert snaps.iloc[0]["status"] == "cut_off"
    # and with a longer reach it attaches to the main road at its exact distance
    s = default_settings()
    far = replace(s, network=replace(s.network, max_access_m=1000.01))
    snaps = snap_points(edge_arrays(G), gpd.GeoSeries([p], crs=CRS), settings=far)
    assert snaps.iloc[0]["status"] == "ok"
    assert snaps.iloc[0]["access_m"] == pytest.approx(1000.001, abs=1e-6)


def test_brute_force_over_random_points() -> None:
    # every off-main point: attached to the main network exactly when the nearest main road is
    # within max_access_m (shapely's distance), at that distance
    G, _ = _main_and_piece(990.0)
    ea = edge_arrays(G)
    rng = np.random.default_rng(29)
    pts = gpd.GeoSeries(shapely.points(rng.uniform(-60, 60, 400), rng.uniform(-60, 60, 400)),
                        crs=CRS)
    snaps = snap_points(ea, pts, settings=default_settings())
    main = ea.component[ea.u] == ea.main
    d_main = np.array([min(shapely.distance(p, g) for g in ea.geometry[main]) for p in pts])
    d_piece = np.array([min(shapely.distance(p, g) for g in ea.geometry[~main]) for p in pts])
    off = d_piece < d_main
    want = np.where(~off, "ok", np.where(d_main <= 1000.0, "ok", "cut_off"))
    assert list(snaps["status"]) == list(want)
    ok = want == "ok"
    assert np.allclose(snaps["access_m"].to_numpy()[ok], np.minimum(d_main, np.where(
        off, d_main, d_piece))[ok], atol=1e-6)
    assert pd.Series(want).nunique() == 2  # both cases occur
