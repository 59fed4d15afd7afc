"""Coverage on the tiny district: every village for every kind, statuses, tables and files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import cast

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from emgis import District, load_district
from emgis.analysis.coverage import COLUMNS, STATUSES, compute_coverage, gaps, summarize
from emgis.inputs.kinds import UNIT_KINDS
from emgis.roads.network import load_network
from emgis.run.jobs import coverage_job
from tests.conftest import open_plan, replace_in, write_with


def test_every_village_for_every_kind(tiny_net: tuple[District, nx.MultiDiGraph]) -> None:
    d, G = tiny_net
    r = compute_coverage(d, G)
    t = r.table
    assert list(t.columns) == COLUMNS
    assert len(t) == len(d.villages) * len(UNIT_KINDS)
    for kind in UNIT_KINDS:
        assert list(t[t["kind"] == kind]["village_id"]) == list(d.villages["id"])
    assert t["status"].isin(STATUSES).all()


def test_statuses(tiny_net: tuple[District, nx.MultiDiGraph]) -> None:
    d, G = tiny_net
    t = compute_coverage(d, G).table.set_index(["kind", "village_id"])
    # no fire station in the tiny district
    assert (cast(pd.Series, t.loc["fire_station", "status"]) == "no_unit").all()
    for kind in ("micro_fire_station", "township_rescue_team", "village_team", "stockpile"):
        assert t.loc[(kind, "V3"), "status"] == "cut_off"  # on the isolated road
        assert t.loc[(kind, "V4"), "status"] == "no_road_access"  # 2 km from any road
        assert np.isnan(cast(float, t.loc[(kind, "V4"), "nearest_min"]))
    # the rescue team reaches every connected village within 30 minutes
    for v in ("V1", "V2", "V5"):
        assert t.loc[("township_rescue_team", v), "status"] == "covered"
    # the only micro fire station: its backup does not exist
    assert t.loc[("micro_fire_station", "V1"), "second_id"] is None


def test_times_by_hand(tiny_net: tuple[District, nx.MultiDiGraph]) -> None:
    """T2 (rescue team) and V1 both lie beside road 2-3; T2 travels west along it."""
    d, G = tiny_net
    r = compute_coverage(d, G, kinds=("township_rescue_team",))
    row = r.table.set_index("village_id").loc["V1"]
    snaps = r.villages.set_index("id")
    units = r.units.set_index("id")
    # positions along the 2-3 road, from node 2, metres (x grows eastwards in UTM)
    x2 = G.nodes[2]["x"]
    x3 = G.nodes[3]["x"]
    v1 = d.villages.set_index("id").geometry["V1"].x
    t2 = d.teams.set_index("id").geometry["T2"].x
    along_m = abs(t2 - v1) * (G.edges[2, 3, 0]["length"] / (x3 - x2))
    drive = along_m / 1000 / 60 * 60  # primary at 60 km/h, minutes
    walk = (units.at["T2", "access_m"] + snaps.at["V1", "access_m"]) / 1000 / 5 * 60
    turnout = 2.0  # township rescue team default
    assert row["nearest_id"] == "T2"
    assert row["nearest_min"] == pytest.approx(turnout + walk + drive, abs=0.02)


def test_summaries_and_gaps(tiny_net: tuple[District, nx.MultiDiGraph]) -> None:
    d, G = tiny_net
    t = compute_coverage(d, G).table
    s = summarize(t).set_index("kind")
    assert s.at["township_rescue_team", "population"] == 2120
    covered = t[(t["kind"] == "township_rescue_team") & (t["status"] == "covered")]
    assert s.at["township_rescue_team", "share_covered"] == pytest.approx(
        covered["population"].sum() / 2120, abs=1e-4)
    by_town = summarize(t, by=("township", "kind"))
    assert set(by_town["township"]) == {"东镇"}
    g = gaps(t)
    assert (g["status"] != "covered").all()
    rescue = g[g["kind"] == "township_rescue_team"]
    assert list(rescue["population"]) == sorted(rescue["population"], reverse=True)


def test_more_units_never_worse(tiny: Path) -> None:
    d = load_district(tiny)
    G, _ = load_network(d, use_cache=False)
    before = compute_coverage(d, G, kinds=("micro_fire_station",)).table
    with (tiny / "teams.csv").open("a", encoding="utf-8") as fh:
        fh.write("T9,南村微型消防站,micro_fire_station,6,东镇,1,,1.5105,42.4955\n")
    d2 = load_district(tiny)
    after = compute_coverage(d2, G, kinds=("micro_fire_station",)).table
    b = before["nearest_min"].fillna(np.inf).to_numpy()
    a = after["nearest_min"].fillna(np.inf).to_numpy()
    assert (a <= b + 1e-9).all() and (a < b).any()


def test_coverage_job_files(tiny: Path, tmp_path: Path) -> None:
    plan = open_plan(tiny)
    res = write_with(coverage_job, plan, tmp_path / "a", lang="zh")
    names = sorted(p.name for p in res.files)
    assert names == ["coverage.csv", "coverage.gpkg", "coverage.html", "coverage_summary.csv",
                     "coverage_townships.csv", "gaps.csv", "gaps_places.csv", "zones.csv",
                     "zones_balance.csv"]
    raw = (tmp_path / "a" / "coverage.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    # in Chinese: a row of Chinese headers, then the English field names (README, Outputs)
    zh_head = pd.read_csv(tmp_path / "a" / "coverage.csv", encoding="utf-8-sig", nrows=0)
    assert list(zh_head.columns)[:4] == ["村编码", "村（社区）", "乡镇（街道）", "人口"]
    csv = pd.read_csv(tmp_path / "a" / "coverage.csv", encoding="utf-8-sig", header=1)
    assert list(csv.columns) == COLUMNS
    assert "东村" in set(csv["village_name"])
    # the gap list: one row per village with a public force outside its target (computed
    # here from the coverage table itself), most people first
    gaps = pd.read_csv(tmp_path / "a" / "gaps.csv", encoding="utf-8-sig", header=1)
    en = plan.coverage().table
    public = {"micro_fire_station", "fire_station", "township_fire_brigade",
              "township_rescue_team", "village_team", "forest_fire_team", "medical"}
    outside = en[en["kind"].isin(public) & en["status"].isin(
        ["over_target", "cut_off", "no_road_access"])]
    assert gaps["village_id"].is_unique
    assert set(gaps["village_id"]) == set(outside["village_id"])
    assert list(gaps["population"]) == sorted(gaps["population"], reverse=True)
    counts = outside.groupby("village_id")["kind"].nunique()
    assert dict(zip(gaps["village_id"], gaps["kinds_outside"], strict=True)) == counts.to_dict()
    assert set(csv["status"]) <= {"目标时间内", "超出目标", "路网不通", "无道路可达", "无此类力量"}
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "a" / "coverage.gpkg")}
    assert layers == {"coverage", "units", "service_areas", "uncovered", "zones",
                      "layer_styles"}
    # the same inputs give the same files
    write_with(coverage_job, open_plan(tiny), tmp_path / "b", lang="zh")
    for p in res.files:
        other = tmp_path / "b" / p.name
        assert hashlib.sha256(p.read_bytes()).digest() == \
            hashlib.sha256(other.read_bytes()).digest(), p.name


def test_service_areas_follow_roads(tiny_net: tuple[District, nx.MultiDiGraph]) -> None:
    from emgis.analysis.coverage import service_areas

    d, G = tiny_net
    r = compute_coverage(d, G, kinds=("township_rescue_team",))
    a = service_areas(r, settings=d.settings, per_unit=True)
    unit = a[(a["scope"] == "unit") & (a["unit_id"] == "T2")].sort_values("break_min")
    areas = list(unit.geometry.area)
    assert areas == sorted(areas)  # larger breaks reach more
    big = unit.geometry.iloc[-1]
    # the isolated road (villages cut off) is not inside any service area
    v3 = d.villages.set_index("id").geometry["V3"]
    assert not big.contains(v3)
    # a band along the roads, not a hull: far less than the hull of the reached roads
    assert big.area < 0.5 * big.convex_hull.area


def test_input_text_in_the_coverage_map_is_data_not_markup(tiny: Path, tmp_path: Path
                                                            ) -> None:
    """Markup and template syntax from the layers and the district's name reach the page only
    as JSON data (read by the map's own script, which escapes it) or HTML-escaped text: never
    as markup, never evaluated by Jinja."""
    import html
    import json
    import re

    replace_in(tiny / "villages.csv", "V2,西村", 'V2,"<script>alert(1)</script>"')
    replace_in(tiny / "villages.csv", "V3,北村", "V3,{{ 7*7 }}村")
    replace_in(tiny / "teams.csv", "T3,西村应急队", "T3,<img src=x onerror=alert(2)>")
    replace_in(tiny / "district.toml", 'name = "测试区"', 'name = "{{ 6*7 }}区"')
    write_with(coverage_job, open_plan(tiny), tmp_path)
    page = (tmp_path / "coverage.html").read_text("utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "49村" not in page and "42区" not in page
    block = re.search(r'<script type="application/json" id="emgis-data">(.*?)</script>', page,
                      flags=re.S)
    assert block is not None
    text = json.dumps(json.loads(block.group(1)), ensure_ascii=False)
    for name in ("<script>alert(1)</script>", "{{ 7*7 }}村", "<img src=x onerror=alert(2)>"):
        assert json.dumps(name, ensure_ascii=False)[1:-1] in text, name
    title = re.search(r"<title>(.*?)</title>", page)
    assert title is not None and html.unescape(title.group(1)).startswith("{{ 6*7 }}区")


def test_cached_arrays_give_the_same_coverage_as_fresh_ones(tiny: Path) -> None:
    from emgis.roads.network import load_network_arrays

    d = load_district(tiny)
    fresh, _ = load_network_arrays(d, use_cache=False)
    _, path = load_network_arrays(d)
    assert path is not None and path.exists() and path.suffix == ".npz"
    again, _ = load_network_arrays(d)  # from the file this time
    assert (again.keys == fresh.keys).all()
    for name in ("travel_time", "length", "vtime", "vdist", "vx", "vy", "twin"):
        assert np.array_equal(getattr(again, name), getattr(fresh, name)), name
    assert all(a.equals(b) for a, b in zip(again.geometry, fresh.geometry, strict=True))
    pd.testing.assert_frame_equal(compute_coverage(d, fresh).table,
                                  compute_coverage(d, again).table)


SOCIAL = [("teams.csv", "turnout_min,full_time,lon,lat",
           "turnout_min,full_time,availability,mobilisation_min,lon,lat"),
          ("teams.csv", "6,东镇,1,,", "6,东镇,1,,,,"),
          ("teams.csv", "30,东镇,,10,", "30,东镇,,10,,,"),
          ("teams.csv", "12,东镇,5,,", "12,东镇,5,,,,")]


def _social_team(tiny: Path, availability: str) -> None:
    """A social rescue team where T2 stands, called up in 10 minutes."""
    for file, old, new in SOCIAL:
        replace_in(tiny / file, old, new)
    with open(tiny / "teams.csv", "a", encoding="utf-8") as f:
        f.write(f"T5,社会救援队,社会救援队,12,东镇,,,{availability},10,1.5180,42.5003\n")


def test_social_force_is_a_backup_not_the_cover(tiny: Path) -> None:
    """Beside T2 (the public rescue team) stands a social rescue team: it backs up the rescue
    kinds 13 minutes later (turnout 5 instead of 2, plus 10 to call it up), never counts as
    the public cover, and is left out below the least availability."""
    _social_team(tiny, "0.9")
    d = load_district(tiny)
    t = compute_coverage(d, load_network(d, use_cache=False)[0]).table
    rescue = t[t["kind"] == "township_rescue_team"].set_index("village_id")
    assert (rescue["nearest_id"] == "T2").loc[["V1", "V2"]].all()
    reached = rescue["nearest_min"].notna()
    assert (rescue.loc[reached, "social_id"] == "T5").all()
    assert np.allclose(rescue.loc[reached, "social_min"],
                       rescue.loc[reached, "nearest_min"] + 13, atol=0.02)
    assert (rescue["social_covered"] == (rescue["social_min"] <= 30)).all()
    # fire kinds are backed up by enterprise brigades only
    assert t.loc[t["kind"] == "fire_station", "social_id"].isna().all()
    # public cover does not move; the social team's own rows show it as a kind of its own
    own = t[t["kind"] == "social_rescue_team"].set_index("village_id")
    assert np.allclose(own.loc[reached, "nearest_min"], rescue.loc[reached, "social_min"],
                       atol=0.01)
    replace_in(tiny / "teams.csv", ",0.9,10,", ",0.3,10,")
    d = load_district(tiny)
    t = compute_coverage(d, load_network(d, use_cache=False)[0]).table
    assert t["social_id"].isna().all()  # 0.3 < [social] min_availability 0.5


def test_social_as_cover_when_the_district_says_so(tiny: Path) -> None:
    _social_team(tiny, "0.9")
    replace_in(tiny / "teams.csv", "township_rescue_team,30,", "fire_station,30,")
    d = load_district(tiny)
    G = load_network(d, use_cache=False)[0]
    t = compute_coverage(d, G).table
    rescue = t[t["kind"] == "township_rescue_team"]
    assert (rescue["status"] == "no_unit").all() and rescue["social_covered"].any()
    with open(tiny / "district.toml", "a", encoding="utf-8") as f:
        f.write("\n[coverage]\nsocial_as_cover = true\n")
    d = load_district(tiny)
    t2 = compute_coverage(d, G).table
    r2 = t2[t2["kind"] == "township_rescue_team"]
    assert (r2["status"] == np.where(rescue["social_covered"], "covered", "no_unit")).all()
