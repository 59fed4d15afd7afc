"""Road network: the drive filter, oneway, travel time = length / speed, inputs and the cache."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely

from emgis import District, NetworkError, load_district
from emgis.roads import network as network_mod
from emgis.roads.assemble import build_network
from emgis.roads.network import load_network, summarize_network
from emgis.roads.readers import parse_maxspeed
from tests.conftest import REPO, replace_in
from tests.inputs.test_coords import metres

# node id -> (lon, lat) of tests/data/tiny/roads.osm
NODES = {1: (1.500, 42.500), 2: (1.510, 42.500), 3: (1.520, 42.500), 4: (1.520, 42.510),
         5: (1.510, 42.510), 7: (1.510, 42.495), 8: (1.497, 42.497)}


def seg(a: int, b: int) -> float:
    """Great-circle length of a straight segment between two nodes, metres."""
    (x1, y1), (x2, y2) = NODES[a], NODES[b]
    return metres(y1, x1, y2, x2)


def secs(length_m: float, kph: float) -> float:
    return length_m / (kph / 3.6)


@pytest.fixture
def graph(tiny_net: tuple[District, nx.MultiDiGraph]) -> nx.MultiDiGraph:
    """The tiny district's road graph (tests/conftest.py: tiny_net)."""
    return tiny_net[1]


def test_drive_filter_drops_footways_and_keeps_pieces(graph: nx.MultiDiGraph) -> None:
    assert 6 not in graph  # reached only by a footway
    assert all(d.get("highway") != "footway" for _, _, d in graph.edges(data=True))
    assert {10, 11} <= set(graph)  # the isolated piece is kept (villages on it are "cut off")


def test_oneway_is_respected(graph: nx.MultiDiGraph) -> None:
    assert graph.has_edge(3, 4) and not graph.has_edge(4, 3)  # oneway=yes
    assert graph.has_edge(5, 4) and not graph.has_edge(4, 5)  # oneway=-1, drawn 4 -> 5
    assert graph.has_edge(2, 3) and graph.has_edge(3, 2)  # two-way


@pytest.mark.parametrize(
    ("u", "v", "expected"),
    [
        (2, 3, lambda: secs(seg(2, 3), 60)),  # primary, class speed
        (3, 4, lambda: secs(seg(3, 4), 50)),  # secondary
        (5, 4, lambda: secs(seg(4, 5), 30 * 0.7)),  # residential, maxspeed=30 derated x 0.7
        (5, 2, lambda: secs(seg(5, 2), 25)),  # maxspeed=500 is implausible: class speed
        (2, 7, lambda: secs(seg(2, 7), 20 * 0.7)),  # tertiary, maxspeed=20 derated (not 35)
        # node 1 joins residential 8-1 (20 km/h) and primary 1-2 (60): one edge, each
        # segment at its own speed
        (8, 2, lambda: secs(seg(8, 1), 20) + secs(seg(1, 2), 60)),
    ],
)
def test_travel_time_is_length_over_speed(
    graph: nx.MultiDiGraph, u: int, v: int, expected: object
) -> None:
    data = graph.get_edge_data(u, v)[0]
    want = expected()  # type: ignore[operator]
    assert data["travel_time"] == pytest.approx(want, rel=5e-3)
    assert data["length"] / (data["speed_kph"] / 3.6) == pytest.approx(data["travel_time"],
                                                                       rel=1e-3)


def test_merged_edge_keeps_each_segments_time(tiny: Path) -> None:
    """Node 1 is not a junction (degree 2): 8-1-2 is one edge whose vertex at node 1 carries
    the time of the residential segment alone, not a share of the whole by length."""
    from emgis.roads.network import load_network_arrays

    ea, _ = load_network_arrays(load_district(tiny), use_cache=False)
    e = int(np.flatnonzero((ea.node_ids[ea.u] == 8) & (ea.node_ids[ea.v] == 2))[0])
    assert ea.vptr[e + 1] - ea.vptr[e] == 3  # 8, 1, 2
    at_1 = ea.vtime[ea.vptr[e] + 1]
    assert at_1 == pytest.approx(secs(seg(8, 1), 20), rel=5e-3)
    frac_1 = ea.vdist[ea.vptr[e] + 1] / ea.length[e]
    assert float(ea.time_at([e], [frac_1])[0]) == pytest.approx(at_1)
    # half way along the residential segment: half its time
    assert float(ea.time_at([e], [frac_1 / 2])[0]) == pytest.approx(at_1 / 2)
    twin = int(ea.twin[e])
    assert ea.node_ids[ea.u[twin]] == 2 and ea.travel_time[twin] == pytest.approx(
        ea.travel_time[e])
    assert ea.km_by_class()["residential"] > 0 and ea.km_by_class()["primary"] > 0


@pytest.mark.parametrize(("rule", "kph"), [("derate", 30 * 0.7), ("raw", 30.0),
                                             ("ignore", 20.0)])
def test_maxspeed_rule(tiny: Path, rule: str, kph: float) -> None:
    replace_in(tiny / "district.toml", "[roads]",
               f'[network]\nmaxspeed_rule = "{rule}"\n\n[roads]')
    G, _ = load_network(load_district(tiny), use_cache=False)
    assert G.get_edge_data(5, 4)[0]["travel_time"] == pytest.approx(secs(seg(4, 5), kph),
                                                                    rel=5e-3)


def test_lengths_are_metres(graph: nx.MultiDiGraph) -> None:
    assert graph.get_edge_data(2, 3)[0]["length"] == pytest.approx(seg(2, 3), rel=5e-3)
    assert graph.graph["crs"] == "EPSG:32631"
    # projected coordinates: node 2 -> 3 is about 820 m east
    dx = graph.nodes[3]["x"] - graph.nodes[2]["x"]
    assert dx == pytest.approx(seg(2, 3), rel=5e-3)


def test_speed_override_changes_travel_times(tiny: Path) -> None:
    replace_in(tiny / "district.toml", "[roads]", "[speeds]\nprimary = 30\n\n[roads]")
    G, _ = load_network(load_district(tiny), use_cache=False)
    assert G.get_edge_data(2, 3)[0]["travel_time"] == pytest.approx(secs(seg(2, 3), 30),
                                                                    rel=5e-3)


def test_parse_maxspeed() -> None:
    assert parse_maxspeed("50") == 50
    assert parse_maxspeed("30 mph") == pytest.approx(48.28, abs=0.01)
    assert parse_maxspeed("50;70") == 60
    assert parse_maxspeed(["40", "60"]) == 50
    assert parse_maxspeed("signals") is None


def test_cache_is_reused_and_keyed_by_settings(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = load_district(tiny)
    G1, path1 = load_network(d)
    assert path1 is not None and path1.exists() and path1.parent.name == ".emgis-cache"
    assert path1.suffix == ".npz"

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network was parsed again")

    monkeypatch.setattr(network_mod, "build_network", no_build)
    G2, path2 = load_network(d)
    assert path2 == path1
    assert sorted(G1.edges(keys=True)) == sorted(G2.edges(keys=True))
    for u, v, k, data in G1.edges(keys=True, data=True):
        assert G2.edges[u, v, k]["travel_time"] == pytest.approx(data["travel_time"])
    monkeypatch.undo()
    replace_in(tiny / "district.toml", "[roads]", "[speeds]\nprimary = 30\n\n[roads]")
    _, path3 = load_network(load_district(tiny))
    assert path3 != path1


def test_graphml_input(tiny: Path) -> None:
    G, _ = load_network(load_district(tiny), use_cache=False)
    ox.save_graphml(ox.project_graph(G, to_crs="EPSG:4326"), tiny / "roads.graphml")
    replace_in(tiny / "district.toml", 'path = "roads.osm"', 'path = "roads.graphml"')
    H, _ = load_network(load_district(tiny), use_cache=False)
    assert sorted(H.edges(keys=True)) == sorted(G.edges(keys=True))
    # the graph carries travel times on its edges: used as timed
    assert H.get_edge_data(5, 4)[0]["travel_time"] == pytest.approx(
        secs(seg(4, 5), 30 * 0.7), rel=5e-3)
    for u, v, k, data in G.edges(keys=True, data=True):
        assert H.edges[u, v, k]["travel_time"] == pytest.approx(data["travel_time"])


def test_road_lines_input(tiny: Path) -> None:
    a, b, c = (1.50, 42.50), (1.51, 42.50), (1.51, 42.51)
    lines = gpd.GeoDataFrame(
        {"highway": ["primary", "residential"], "oneway": ["no", "yes"]},
        geometry=[shapely.LineString([a, b]), shapely.LineString([b, c])], crs=4326)
    lines.to_file(tiny / "roads.geojson")
    replace_in(tiny / "district.toml", 'path = "roads.osm"', 'path = "roads.geojson"')
    d = load_district(tiny)
    G, _ = load_network(d, use_cache=False)
    assert G.number_of_nodes() == 3 and G.number_of_edges() == 3  # 2 + 1 one-way
    proj = lines.to_crs(d.crs)
    for _, _, data in G.edges(data=True):
        speed = 60 if data["highway"] == "primary" else 20
        assert data["travel_time"] == pytest.approx(data["length"] / (speed / 3.6))
    lengths = sorted(round(x, 3) for x in proj.length)
    assert sorted({round(d["length"], 3) for _, _, d in G.edges(data=True)}) == lengths
    # the residential line is one-way b -> c: nothing comes back from c
    c_node = [n for n, deg in G.out_degree() if deg == 0]
    assert len(c_node) == 1 and G.in_degree(c_node[0]) == 1


def test_missing_road_file(tiny: Path) -> None:
    d = load_district(tiny)
    (tiny / "roads.osm").unlink()
    with pytest.raises(NetworkError, match=r"roads\.osm"):
        build_network(d.roads, settings=d.settings, crs=d.crs)  # type: ignore[arg-type]


def test_summary(tiny: Path, graph: nx.MultiDiGraph) -> None:
    from emgis.roads.network import load_network_arrays

    # the arrays keep each segment's class (a networkx graph holds one per edge)
    s = summarize_network(load_network_arrays(load_district(tiny), use_cache=False)[0])
    # 2 3 4 5 7 8 9 12 13 and the isolated 10 11 (node 1 lies inside the edge 8-1-2)
    assert s.nodes == graph.number_of_nodes() == 11
    assert s.components == 2 and s.largest_component == 9
    assert s.km_by_class["primary"] == pytest.approx((seg(1, 2) + seg(2, 3)) / 1000, abs=0.05)
    assert s.km_by_class["secondary"] == pytest.approx(seg(3, 4) / 1000, abs=0.05)
    total = sum(seg(*e) for e in [(1, 2), (2, 3), (3, 4), (4, 5), (5, 2), (2, 7), (1, 8)])
    total += 3 * 414 + 410  # the stubs 3-9, 4-12, 5-13 and the isolated piece 10-11
    assert math.isclose(sum(s.km_by_class.values()), total / 1000, abs_tol=0.15)


def test_demo_network_has_the_expected_size() -> None:
    d = load_district(REPO / "data" / "demo")
    G, _ = load_network(d)
    s = summarize_network(G)
    # the real Andorra network with its village roads (tracks, service roads): about 3,100
    # junctions, 6,900 directed edges, 780 km (of which 440 km are drive-filter roads)
    assert 2800 <= s.nodes <= 3500 and 6000 <= s.edges <= 7500
    assert s.largest_component >= 0.95 * s.nodes
    assert 700 <= sum(s.km_by_class.values()) <= 850
    assert 250 <= s.km_by_class["track"] <= 330
