"""The engine against an oracle that does not merge: every OSM node a graph node, every
segment its own speed, locations inserted on the exact segment, hazards cut at the zone.

The test district's road mixes speeds along merged edges: 1-2-3-4 is one edge (residential
1-2-3 at 20 km/h, primary 3-4 at 60) and so is 4-5-6 (primary 4-5, tertiary 5-6 with
maxspeed=50, derated to 35). Villages and units lie part way along segments of different
speeds. Times must agree within 0.01 s.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from emgis import load_district
from emgis.analysis.scenario import apply_hazards
from emgis.roads.engine import Engine
from emgis.roads.network import load_network_arrays
from emgis.roads.routing import times_from

OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="42.5000" lon="1.5000"/>
  <node id="2" lat="42.5010" lon="1.5050"/>
  <node id="3" lat="42.5000" lon="1.5100"/>
  <node id="4" lat="42.5000" lon="1.5200"/>
  <node id="5" lat="42.5010" lon="1.5300"/>
  <node id="6" lat="42.5000" lon="1.5400"/>
  <node id="8" lat="42.5100" lon="1.5200"/>
  <node id="9" lat="42.5050" lon="1.5500"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="11"><nd ref="3"/><nd ref="4"/><nd ref="5"/><tag k="highway" v="primary"/></way>
  <way id="12"><nd ref="5"/><nd ref="6"/><tag k="highway" v="tertiary"/>
    <tag k="maxspeed" v="50"/></way>
  <way id="13"><nd ref="4"/><nd ref="8"/><tag k="highway" v="unclassified"/></way>
  <way id="14"><nd ref="6"/><nd ref="9"/><tag k="highway" v="residential"/>
    <tag k="oneway" v="yes"/></way>
</osm>
"""
VILLAGES = {"VA": (1.5075, 42.5008), "VB": (1.5140, 42.5003), "VC": (1.5350, 42.5008),
            "VD": (1.5203, 42.5090), "VE": (1.5450, 42.5028)}
UNITS = {"U1": ("micro_fire_station", 1.5020, 42.5006),
         "U2": ("township_rescue_team", 1.5260, 42.5004)}
TURNOUT = {"micro_fire_station": 1.0, "township_rescue_team": 2.0}
SPEED = {"residential": 20.0, "primary": 60.0, "tertiary": 50.0 * 0.7, "unclassified": 25.0}
OFFROAD = 5.0
CRS = "EPSG:32631"


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "roads.osm").write_text(OSM, "utf-8")
    rows = [f"{k},{k},T,village,100,{x},{y}" for k, (x, y) in VILLAGES.items()]
    (d / "villages.csv").write_text("id,name,township,kind,population,lon,lat\n"
                                    + "\n".join(rows) + "\n", "utf-8")
    rows = [f"{k},{k},{kind},10,T,{x},{y}" for k, (kind, x, y) in UNITS.items()]
    (d / "teams.csv").write_text("id,name,kind,headcount,township,lon,lat\n"
                                 + "\n".join(rows) + "\n", "utf-8")
    (d / "district.toml").write_text(
        '[district]\nname = "mixed"\ncrs = "EPSG:4326"\n\n[layers.villages]\n'
        'path = "villages.csv"\n\n[layers.teams]\npath = "teams.csv"\n\n[roads]\n'
        'path = "roads.osm"\n', "utf-8")
    return d


def _segments() -> tuple[dict[int, tuple[float, float]], list[tuple[int, int, float, bool]]]:
    """Projected nodes and the segments (a, b, km/h, one-way) of the OSM file, read anew."""
    root = ET.fromstring(OSM)
    tr = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    nodes = {int(n.attrib["id"]): tr.transform(float(n.attrib["lon"]), float(n.attrib["lat"]))
             for n in root.iter("node")}
    segs = []
    for w in root.iter("way"):
        tags = {t.attrib["k"]: t.attrib["v"] for t in w.iter("tag")}
        refs = [int(n.attrib["ref"]) for n in w.iter("nd")]
        speed = SPEED[tags["highway"]]
        for a, b in itertools.pairwise(refs):
            segs.append((a, b, speed, tags.get("oneway") == "yes"))
    return nodes, segs


def oracle(zones: list[tuple[shapely.Geometry, float]] | None = None) -> dict[
        tuple[str, str], float]:
    """Seconds from each unit to each village on the unmerged graph.

    ``zones``: (polygon in metres, time multiplier; inf = closed) cutting segments where they
    cross the zone.
    """
    nodes, segs = _segments()
    tr = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    pts = {k: tr.transform(x, y) for k, (x, y) in VILLAGES.items()}
    pts.update({k: tr.transform(x, y) for k, (_, x, y) in UNITS.items()})
    # each location on its nearest segment (brute force), at the projected point
    on_seg: dict[int, list[tuple[float, str]]] = {}
    access: dict[str, float] = {}
    for name, p in pts.items():
        best = None
        for i, (a, b, _, _) in enumerate(segs):
            line = shapely.LineString([nodes[a], nodes[b]])
            d = line.distance(shapely.Point(p))
            if best is None or d < best[0] - 1e-9:
                best = (d, i, line.project(shapely.Point(p), normalized=True))
        assert best is not None
        access[name] = best[0] / 1000 / OFFROAD * 3600
        on_seg.setdefault(best[1], []).append((best[2], name))
    G = nx.DiGraph()
    for i, (a, b, speed, oneway) in enumerate(segs):
        line = shapely.LineString([nodes[a], nodes[b]])
        cuts = sorted(on_seg.get(i, []))
        # pieces between the segment's ends and the locations on it, cut again at zones
        stops = [(0.0, a), *[(f, n) for f, n in cuts], (1.0, b)]
        for (f0, n0), (f1, n1) in itertools.pairwise(stops):
            piece = shapely.ops.substring(line, f0, f1, normalized=True) if f1 > f0 else None
            secs = 0.0 if piece is None else piece.length / (speed / 3.6)
            for zone, mult in zones or []:
                if piece is None:
                    continue
                inside = piece.intersection(zone).length
                if inside > 1e-9:
                    secs = np.inf if np.isinf(mult) else secs + inside / (speed / 3.6) * (
                        mult - 1)
            if np.isfinite(secs):
                G.add_edge(n0, n1, t=secs)
                if not oneway:
                    G.add_edge(n1, n0, t=secs)
    out = {}
    for u, (kind, _, _) in UNITS.items():
        dist = nx.single_source_dijkstra_path_length(G, u, weight="t") if u in G else {}
        for v in VILLAGES:
            start = TURNOUT[kind] * 60 + access[u]
            out[(u, v)] = start + dist[v] + access[v] if v in dist else np.inf
    return out


def engine_times(d: Path, zones: list[tuple[shapely.Geometry, float]] | None = None) -> dict[
        tuple[str, str], float]:
    dist = load_district(d)
    ea, _ = load_network_arrays(dist, use_cache=False)
    if zones:
        z = gpd.GeoDataFrame({"effect": ["closed" if np.isinf(m) else "slowed" for _, m in zones],
                              "speed_factor": [1 / m for _, m in zones]},
                             geometry=[g for g, _ in zones], crs=CRS)
        ea = apply_hazards(ea, z)
    eng = Engine.for_district(dist, ea)
    rg = eng.graph("drive")
    kinds = list(dist.teams["kind"])
    t = times_from(rg, eng.unit_loc, offsets=[TURNOUT[k] for k in kinds],
                   targets=eng.village_loc)
    return {(u, v): float(t[i, j]) * 60 for i, u in enumerate(dist.teams["id"])
            for j, v in enumerate(dist.villages["id"])}


def test_merged_edges_mix_speeds(mixed: Path) -> None:
    ea, _ = load_network_arrays(load_district(mixed), use_cache=False)
    ids = ea.node_ids
    one = np.flatnonzero((ids[ea.u] == 1) & (ids[ea.v] == 4))
    assert len(one) == 1  # 1-2-3-4 is one edge
    e = int(one[0])
    classes = {ea.classes[c] for c in ea.vclass[ea.vptr[e]:ea.vptr[e + 1]]}
    assert classes == {"residential", "primary"}


def _assert_close(got: dict[tuple[str, str], float], want: dict[tuple[str, str], float]
                  ) -> None:
    for key, w in want.items():
        g = got[key]
        if np.isinf(w):
            assert np.isinf(g), (key, g)
        else:
            assert abs(g - w) <= 0.01, (key, g, w)


def test_locations_part_way_along_mixed_speed_edges(mixed: Path) -> None:
    want = oracle()
    assert np.isfinite(list(want.values())).all()
    _assert_close(engine_times(mixed), want)
    # spreading the time of 1-2-3-4 evenly by length (the old way) would be far off for VA
    ea, _ = load_network_arrays(load_district(mixed), use_cache=False)
    e = int(np.flatnonzero((ea.node_ids[ea.u] == 1) & (ea.node_ids[ea.v] == 4))[0])
    f = ea.vdist[ea.vptr[e] + 2] / ea.length[e]  # at node 3, where primary begins
    even = f * ea.travel_time[e]
    assert abs(float(ea.time_at([e], [f])[0]) - even) > 30  # seconds


def test_partly_slowed_edge(mixed: Path) -> None:
    tr = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    (x0, y0), (x1, y1) = tr.transform(1.5160, 42.49), tr.transform(1.5180, 42.51)
    zone = shapely.box(x0, y0, x1, y1)  # across part of the primary segment 3-4
    zones = [(zone, 2.0)]  # speed factor 0.5
    want = oracle(zones)
    base = oracle()
    assert want[("U1", "VC")] > base[("U1", "VC")] + 5  # the zone does slow the way east
    _assert_close(engine_times(mixed, zones), want)


def test_partial_closure_keeps_a_unit_just_outside(mixed: Path) -> None:
    """A closed band across 4-5: U2, about 25 m east of it on the same edge, keeps every time
    east of the band and loses only the west (no way round)."""
    tr = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    ux, uy = tr.transform(*UNITS["U2"][1:])
    band = shapely.box(ux - 200, uy - 1000, ux - 20, uy + 1000)  # 180 m wide, 20 m west of U2
    assert shapely.Point(ux, uy).distance(band) == pytest.approx(20)
    zones = [(band, np.inf)]
    want = oracle(zones)
    got = engine_times(mixed, zones)
    _assert_close(got, want)
    base = engine_times(mixed)
    for v in ("VC", "VE"):  # east of the band: unchanged
        assert got[("U2", v)] == pytest.approx(base[("U2", v)], abs=1e-6)
    for v in ("VA", "VB", "VD"):  # west: cut
        assert np.isinf(got[("U2", v)]) and np.isfinite(base[("U2", v)])


def test_scenario_lists_units_cut_off_and_out_of_action(mixed: Path) -> None:
    """Units in a zone are out of action; a unit whose road is closed on both sides is cut
    off; the others stay in action."""
    from emgis.analysis.scenario import run_scenario
    from emgis.inputs.settings import Scenario

    hz = ('{"type":"FeatureCollection","features":['
          '{"type":"Feature","properties":{"id":"W","name":"w","kind":"flood","effect":'
          '"closed"},"geometry":{"type":"Polygon","coordinates":[[[1.5235,42.49],[1.5257,42.49],'
          '[1.5257,42.51],[1.5235,42.51],[1.5235,42.49]]]}},'
          '{"type":"Feature","properties":{"id":"E","name":"e","kind":"flood","effect":'
          '"closed"},"geometry":{"type":"Polygon","coordinates":[[[1.5275,42.49],[1.5290,42.49],'
          '[1.5290,42.51],[1.5275,42.51],[1.5275,42.49]]]}},'
          '{"type":"Feature","properties":{"id":"U","name":"u","kind":"flood","effect":'
          '"closed"},"geometry":{"type":"Polygon","coordinates":[[[1.5010,42.499],[1.5030,42.499],'
          '[1.5030,42.502],[1.5010,42.502],[1.5010,42.499]]]}}]}')
    (mixed / "hazards.geojson").write_text(hz, "utf-8")
    with (mixed / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[layers.hazards]\npath = "hazards.geojson"\n')
    d = load_district(mixed)
    ea, _ = load_network_arrays(d, use_cache=False)
    r = run_scenario(d, ea, Scenario("both_sides", ("W", "E", "U")))
    st = r.units.set_index("unit_id")
    assert st.at["U1", "status"] == "out_of_action"  # inside zone U
    assert st.at["U2", "status"] == "cut_off" and "closed" in str(st.at["U2", "reason"])
    s = r.summary.iloc[0]
    assert s["units_out_of_action"] == 1 and s["units_cut_off"] == 1
    rescue = r.villages[r.villages["kind"] == "township_rescue_team"]
    assert set(rescue["scenario_status"]) == {"cut_off"}
    assert pd.Series(rescue["baseline_status"]).isin(["covered", "over_target"]).all()
