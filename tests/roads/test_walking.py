"""Walkers on footways and paths (issue 29, item 4): villagers walk to shelters on a walking
network of its own (the drivable ways but motorways, and the footways, paths, pedestrian
streets and steps of ``[network] walk_highway``); units still drive on the drivable network,
which stays exactly as it was.

A synthetic OSM file near 117E 33.9N (the district's CRS is then CGCS2000 / 3-degree
Gauss-Kruger CM 117E), about 925 m per 0.01 deg of longitude and 555 m per 0.005 deg of
latitude::

    n6 (117.010, 33.910)                    path
     |
    n4 (117.000, 33.905) ---residential--- n3 (117.010, 33.905)
     |  \\                                    |
  footway  primary foot=no (via n5)      residential
     |      \\                                |
    n1 (117.000, 33.900) ---residential--- n2 (117.010, 33.900)

Village V1 stands 20 m west of n1, the emergency shelter S1 20 m west of n4, V2 20 m north of
the path's end n6; the fire station F1 22 m south of n2. Walking V1 -> S1 takes the footway
(555 m) instead of the roads round by n2 and n3 (2,405 m); the primary road is a drive
shortcut walkers may not use. The oracles: networkx shortest paths over the ways read from the
XML by hand (xml.etree), projected with pyproj, each point attached by brute force to its
nearest segment.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from emgis import load_district
from emgis.analysis.coverage import compute_coverage, service_areas
from emgis.inputs.kinds import units_of
from emgis.roads import cache as cache_mod
from emgis.roads.cache import _ARRAYS, CACHE_FORMAT, load_edge_arrays, save_edge_arrays
from emgis.roads.engine import Engine
from emgis.roads.network import load_network_arrays

NODES = {1: (117.000, 33.900), 2: (117.010, 33.900), 3: (117.010, 33.905),
         4: (117.000, 33.905), 5: (117.003, 33.9025), 6: (117.010, 33.910)}
WAYS = [  # id, nodes, tags
    (101, [1, 2], {"highway": "residential"}),
    (102, [2, 3], {"highway": "residential"}),
    (103, [3, 4], {"highway": "residential"}),
    (104, [1, 4], {"highway": "footway"}),
    (105, [1, 5, 4], {"highway": "primary", "foot": "no"}),
    (106, [3, 6], {"highway": "path"}),
]
DX = 20 / 92_500  # 20 m of longitude at 33.9N, roughly
VILLAGES = [("V1", 117.0 - DX, 33.900), ("V2", 117.010, 33.910 + 20 / 111_000),
            ("V3", 117.005, 33.9003)]


def _osm(ways: list[tuple[int, list[int], dict[str, str]]]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for n, (lon, lat) in NODES.items():
        out.append(f'  <node id="{n}" lat="{lat}" lon="{lon}"/>')
    for wid, nds, tags in ways:
        body = "".join(f'<nd ref="{n}"/>' for n in nds) + "".join(
            f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append(f'  <way id="{wid}">{body}</way>')
    out.append("</osm>")
    return "\n".join(out) + "\n"


def _district(root: Path, *, ways: list[tuple[int, list[int], dict[str, str]]] = WAYS,
              extra_toml: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "roads.osm").write_text(_osm(ways), "utf-8")
    (root / "villages.csv").write_text(
        "id,name,township,kind,population,lon,lat\n" + "".join(
            f"{v},村{v},甲镇,village,100,{lon:.9f},{lat:.9f}\n" for v, lon, lat in VILLAGES),
        "utf-8")
    (root / "teams.csv").write_text(
        "id,name,kind,headcount,township,turnout_min,full_time,lon,lat\n"
        f"F1,消防站,fire_station,20,甲镇,1,20,117.010,{33.900 - 22 / 111_000:.9f}\n", "utf-8")
    shelters = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "S1", "name": "学校", "kind": "emergency",
                                           "capacity": 500},
         "geometry": {"type": "Point", "coordinates": [117.0 - DX, 33.905]}}]}
    (root / "shelters.geojson").write_text(json.dumps(shelters), "utf-8")
    (root / "district.toml").write_text(
        '[district]\nname = "步行区"\ncrs = "EPSG:4326"\n\n[layers.villages]\n'
        'path = "villages.csv"\n\n[layers.teams]\npath = "teams.csv"\n\n[layers.shelters]\n'
        'path = "shelters.geojson"\n\n[roads]\npath = "roads.osm"\n\n' + extra_toml, "utf-8")
    return root


def _oracle_graph(path: Path, crs: CRS, keep: object, weight: object) -> tuple[
        nx.Graph, list[tuple[object, object, shapely.LineString]]]:
    """The ways of an OSM file that ``keep(tags)`` accepts, as a networkx graph of segments
    (projected with pyproj) weighted by ``weight(tags, metres)``; and the segments."""
    root = ET.parse(path).getroot()
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xy = {int(n.get("id", "")): tr.transform(float(n.get("lon", "")), float(n.get("lat", "")))
          for n in root.iter("node")}
    G = nx.Graph()
    segs: list[tuple[object, object, shapely.LineString]] = []
    for w in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in w.iter("tag")}
        if not keep(tags):  # type: ignore[operator]
            continue
        nds = [int(nd.get("ref", "")) for nd in w.iter("nd")]
        for a, b in itertools.pairwise(nds):
            line = shapely.LineString([xy[a], xy[b]])
            G.add_edge(a, b, weight=weight(tags, line.length))  # type: ignore[operator]
            segs.append((a, b, line))
    return G, segs


def _attach(G: nx.Graph, segs: list[tuple[object, object, shapely.LineString]], name: str,
            p: shapely.Point, weight: object, leg: float) -> float:
    """Join point ``p`` to its nearest segment (brute force), splitting it; the leg costs
    ``leg`` per metre. Returns the leg's metres."""
    a, b, line = min(segs, key=lambda s: s[2].distance(p))
    d = line.distance(p)
    along = line.project(p)
    tags_w = G[a][b]["weight"] / line.length
    mid = ("on", name)
    G.add_edge(a, mid, weight=along * tags_w)
    G.add_edge(mid, b, weight=(line.length - along) * tags_w)
    G.add_edge(name, mid, weight=d * leg)
    return float(d)


def _walk_keep(tags: dict[str, str], walkable: tuple[str, ...] = ("footway", "path",
               "pedestrian", "steps", "bridleway")) -> bool:
    return tags.get("foot") != "no" and tags["highway"] not in ("motorway", "motorway_link") \
        and (tags["highway"] in walkable or tags["highway"] in ("residential", "primary"))


@pytest.fixture
def walkers(tmp_path: Path) -> Path:
    return _district(tmp_path / "d")


def test_a_footpath_shortens_the_walk_to_the_shelter(walkers: Path) -> None:
    d = load_district(walkers)
    assert d.crs.to_epsg() == 4548
    edges, _ = load_network_arrays(d, use_cache=False)
    assert edges.walk is not None
    res = compute_coverage(d, edges, kinds=("shelter_emergency", "fire_station"))
    t = res.table.set_index(["village_id", "kind"])
    s = d.settings
    m_per_min = s.speed_kph("walk") * 1000 / 60
    # the oracle: walkers on the footway and the path, not on the primary road (foot=no)
    G, segs = _oracle_graph(walkers / "roads.osm", d.crs, _walk_keep,
                            lambda tags, m: m / m_per_min)
    sh = d.shelters.geometry.iloc[0]
    _attach(G, segs, "S1", sh, None, 1 / m_per_min)
    for vid, geom in zip(d.villages["id"], d.villages.geometry, strict=True):
        acc = _attach(G, segs, vid, geom, None, 1 / m_per_min)
        want = nx.shortest_path_length(G, vid, "S1", weight="weight")
        got = t.at[(vid, "shelter_emergency"), "nearest_min"]
        assert got == pytest.approx(want, abs=1e-6), vid
        assert t.at[(vid, "shelter_emergency"), "access_m"] == pytest.approx(acc, abs=0.51)
    # V1 walks the footway: about 595 m, within the 10-minute target (round by the roads it
    # would take about 2,445 m)
    assert t.at[("V1", "shelter_emergency"), "status"] == "covered"
    assert t.loc[("V1", "shelter_emergency"), "nearest_min"] < 10.0  # type: ignore[operator, arg-type]
    # V2 lives 20 m from the path's end (575 m from the nearest road)
    assert t.at[("V2", "shelter_emergency"), "access_m"] == pytest.approx(20, abs=1)
    assert t.loc[("V2", "fire_station"), "access_m"] > 500  # type: ignore[operator, arg-type]


def test_units_still_drive_on_the_drivable_network(walkers: Path) -> None:
    d = load_district(walkers)
    edges, _ = load_network_arrays(d, use_cache=False)
    res = compute_coverage(d, edges, kinds=("fire_station",))
    t = res.table.set_index(["village_id", "kind"])
    s = d.settings
    off = s.speed_kph("offroad") * 1000 / 60

    def drive_keep(tags: dict[str, str]) -> bool:
        return tags["highway"] in ("residential", "primary")

    G, segs = _oracle_graph(walkers / "roads.osm", d.crs, drive_keep,
                            lambda tags, m: m / (s.speed_kph(tags["highway"]) * 1000 / 60))
    units = units_of(d)
    f1 = units.set_index("id")
    _attach(G, segs, "F1", f1.geometry["F1"], None, 1 / off)
    turnout = float(f1.at["F1", "turnout_min"])
    for vid, geom in zip(d.villages["id"], d.villages.geometry, strict=True):
        _attach(G, segs, vid, geom, None, 1 / off)
        want = turnout + nx.shortest_path_length(G, "F1", vid, weight="weight")
        assert t.at[(vid, "fire_station"), "nearest_min"] == pytest.approx(want, abs=1e-6), vid


def test_the_drivable_network_is_unchanged_by_the_walkways(walkers: Path, tmp_path: Path
                                                           ) -> None:
    d = load_district(walkers)
    edges, _ = load_network_arrays(d, use_cache=False)
    # the same file without the walk-only ways: the same drive arrays, byte for byte
    bare = _district(tmp_path / "bare", ways=[w for w in WAYS if w[2]["highway"] in (
        "residential", "primary")])
    d2 = load_district(bare)
    plain, _ = load_network_arrays(d2, use_cache=False)
    for k in _ARRAYS:
        a, b = getattr(edges, k), getattr(plain, k)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), k
    assert edges.classes == plain.classes and edges.main == plain.main
    assert "footway" not in edges.classes and "path" not in edges.classes
    assert edges.walk is not None
    assert {"footway", "path"} <= set(edges.walk.classes)
    assert "primary" not in edges.walk.classes  # foot=no
    # and the drive times are the same with or without the walkways
    a = compute_coverage(d, edges, kinds=("fire_station",)).table
    b = compute_coverage(d2, plain, kinds=("fire_station",)).table
    assert np.array_equal(a["nearest_min"].to_numpy(), b["nearest_min"].to_numpy())


def test_walk_highway_setting_and_the_roads_only_walk(walkers: Path, tmp_path: Path) -> None:
    # without footways and paths in the list, V1 walks round by the roads
    root = _district(tmp_path / "nofoot", extra_toml="[network]\nwalk_highway = []\n")
    d = load_district(root)
    assert d.settings.network.walk_highway == ()
    edges, _ = load_network_arrays(d, use_cache=False)
    assert edges.walk is not None and "footway" not in edges.walk.classes
    t = compute_coverage(d, edges, kinds=("shelter_emergency",)).table.set_index("village_id")
    m_per_min = d.settings.speed_kph("walk") * 1000 / 60
    G, segs = _oracle_graph(root / "roads.osm", d.crs,
                            lambda tags: _walk_keep(tags, walkable=()),
                            lambda tags, m: m / m_per_min)
    _attach(G, segs, "S1", d.shelters.geometry.iloc[0], None, 1 / m_per_min)
    geom = d.villages.set_index("id").geometry["V1"]
    _attach(G, segs, "V1", geom, None, 1 / m_per_min)
    want = nx.shortest_path_length(G, "V1", "S1", weight="weight")
    assert t.at["V1", "nearest_min"] == pytest.approx(want, abs=1e-6)
    assert t.loc["V1", "nearest_min"] > 30  # type: ignore[operator, arg-type]  # about 2,445 m


def test_the_cache_keeps_the_walking_network(walkers: Path, tmp_path: Path) -> None:
    assert CACHE_FORMAT >= 5
    d = load_district(walkers)
    built, _ = load_network_arrays(d, use_cache=False)
    path = save_edge_arrays(built, tmp_path / "net.npz")
    back = load_edge_arrays(path)
    assert back.walk is not None and built.walk is not None
    for k in _ARRAYS:
        assert np.array_equal(getattr(back, k), getattr(built, k)), k
        assert np.array_equal(getattr(back.walk, k), getattr(built.walk, k)), k
    assert back.walk.classes == built.walk.classes and back.walk.main == built.walk.main
    # through load_network_arrays: written, then read back the same
    first, p1 = load_network_arrays(d)
    again, p2 = load_network_arrays(d)
    assert p1 == p2 and p1 is not None and p1.name.endswith(f"-v{cache_mod.CACHE_FORMAT}.npz")
    assert again.walk is not None and first.walk is not None
    assert np.array_equal(again.walk.length, first.walk.length)
    # the walk_highway list is part of the cache key
    root = _district(tmp_path / "other", extra_toml="[network]\nwalk_highway = [\"path\"]\n")
    assert load_district(root).settings.network_key() != d.settings.network_key()


def test_engine_and_service_areas_walk_on_the_walking_network(walkers: Path) -> None:
    d = load_district(walkers)
    edges, _ = load_network_arrays(d, use_cache=False)
    eng = Engine.for_district(d, edges)
    assert eng.network_of("walk") is edges.walk and eng.network_of("drive") is edges
    assert eng.walk_snaps is not None
    res = compute_coverage(d, eng, kinds=("shelter_emergency",))
    areas = service_areas(res, settings=d.settings)
    ten = areas[(areas["kind"] == "shelter_emergency") & (areas["break_min"] == 10)]
    assert len(ten) == 1
    # the middle of the footway is reached within 10 minutes, the far corner n2 is not
    tr = Transformer.from_crs("EPSG:4326", d.crs, always_xy=True)
    mid = shapely.Point(tr.transform(117.000, 33.9025))
    n2 = shapely.Point(tr.transform(117.010, 33.900))
    assert ten.geometry.iloc[0].contains(mid)
    assert not ten.geometry.iloc[0].contains(n2)


def test_road_lines_keep_walkers_on_the_roads(tmp_path: Path) -> None:
    # road lines (and GraphML) have no walking network: walkers use the roads, as before
    from tests.roads.test_reattach import _district as lines_district

    root = lines_district(tmp_path / "lines", units=[("U1", "township_rescue_team", 100, 10)],
                          villages=[("V1", 1900, -10)],
                          shelters=[("S1", "emergency", 1000, 15, 500)])
    d = load_district(root)
    edges, _ = load_network_arrays(d, use_cache=False)
    assert edges.walk is None
    eng = Engine.for_district(d, edges)
    assert eng.walk_snaps is None and eng.network_of("walk") is edges


def test_the_cache_keeps_each_networks_key_rank(walkers: Path, tmp_path: Path) -> None:
    """The edges' order by key comes back from the cache as made, for the roads and the
    walking network (made from the arrays read: the same order)."""
    d = load_district(walkers)
    built, _ = load_network_arrays(d, use_cache=False)
    back = load_edge_arrays(save_edge_arrays(built, tmp_path / "net.npz"))
    assert back.walk is not None and built.walk is not None
    for got, net in ((back, built), (back.walk, built.walk)):
        assert "key_rank" in got.__dict__  # read, not made
        assert got.key_rank.dtype == np.int32
        assert np.array_equal(got.key_rank, net.key_rank)
        fresh = dataclasses.replace(got)  # a copy that makes its own
        assert "key_rank" not in fresh.__dict__
        assert np.array_equal(fresh.key_rank, got.key_rank)
