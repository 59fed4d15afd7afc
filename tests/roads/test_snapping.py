"""Attaching points to the nearest road edge, and the no-road-access / cut-off flags."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import networkx as nx
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from emgis import District, load_district
from emgis.roads.network import load_network
from emgis.roads.nxio import edges_frame
from emgis.roads.snapping import main_component, snap_points


def test_snaps_to_nearest_edge_not_nearest_node(tiny_net: tuple[District, nx.MultiDiGraph]
                                                ) -> None:
    d, G = tiny_net
    snaps = snap_points(G, d.villages.geometry, settings=d.settings)
    v1 = snaps.loc[d.villages.index[d.villages["id"] == "V1"][0]]
    # V1 lies about 55 m north of the middle of road 2-3 and about 410 m from either node
    assert {v1["u"], v1["v"]} == {2, 3}
    assert v1["access_m"] == pytest.approx(55.6, abs=1.5)
    assert v1["frac"] == pytest.approx(0.5, abs=0.02)
    assert v1["access_min"] == pytest.approx(v1["access_m"] / 1000 / 5 * 60)  # 5 km/h off-road
    p = d.villages.geometry.iloc[0]
    node_d = min(shapely.Point(G.nodes[n]["x"], G.nodes[n]["y"]).distance(p) for n in G)
    assert node_d > 350 > v1["access_m"]


def test_flags(tiny_net: tuple[District, nx.MultiDiGraph]) -> None:
    d, G = tiny_net
    snaps = snap_points(G, d.villages.geometry, settings=d.settings)
    status = dict(zip(d.villages["id"], snaps["status"], strict=True))
    assert status == {"V1": "ok", "V2": "ok", "V3": "cut_off", "V4": "no_road_access",
                      "V5": "ok"}
    v4 = snaps.iloc[3]
    assert v4["access_m"] > d.settings.network.max_access_m


def test_max_access_setting(tiny_net: tuple[District, nx.MultiDiGraph]) -> None:
    d, G = tiny_net
    near = replace(d.settings, network=replace(d.settings.network, max_access_m=30.0))
    snaps = snap_points(G, d.villages.geometry, settings=near)
    assert snaps.iloc[0]["status"] == "no_road_access"  # V1 is 55 m from the road
    far = replace(d.settings, network=replace(d.settings.network, max_access_m=5000.0))
    snaps = snap_points(G, d.villages.geometry, settings=far)
    # with a long enough reach V3 is attached to the main network past its isolated piece
    assert snaps.iloc[2]["status"] == "ok"
    assert snaps.iloc[2]["u"] in main_component(G)
    assert (snaps["status"] == "ok").all()


@settings(max_examples=60, deadline=None)
@given(st.floats(1.495, 1.525), st.floats(42.494, 42.514))
def test_snap_distance_equals_brute_force(x: float, y: float) -> None:
    from tests.conftest import TINY

    d = load_district(TINY)
    G, _ = load_network(d)
    p = gpd.GeoSeries([shapely.Point(x, y)], crs=4326).to_crs(d.crs)
    snap = snap_points(G, p, settings=d.settings).iloc[0]
    edges = edges_frame(G)
    main = main_component(G)
    on_main = [u in main for u, _, _ in edges.index]
    brute = min(g.distance(p.iloc[0]) for g, m in zip(edges.geometry, on_main, strict=True)
                if m)
    assert snap["access_m"] == pytest.approx(brute, abs=1e-6)
    line = edges.loc[(snap["u"], snap["v"], snap["key"])].geometry
    assert line.distance(p.iloc[0]) == pytest.approx(brute, abs=1e-6)
    on_road = shapely.Point(snap["snap_x"], snap["snap_y"])
    assert line.distance(on_road) < 1e-6
