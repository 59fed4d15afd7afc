"""Data quality of the roads (emgis.analysis.quality): a hand-made district whose answers can be
seen, thresholds from district.toml, the demo against coverage.csv, and the outputs."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from emgis.analysis.quality import data_quality
from emgis.texts import say, texts
from tests.conftest import REPO, TINY

#: CGCS2000 / 3-degree Gauss-Kruger CM 117E: the metric CRS emgis picks for a district at 117E,
#: so the hand-made layers are used as drawn (烈山区 lies near 116.8E, 33.9N).
CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 3_750_000.0


def _layers(root: Path, quality: str = "") -> Path:
    """Two townships as 2 km squares side by side (甲镇 west, 乙镇 east), a third (丙镇) only
    named by its villages; one road east-west through both at y = 1000 with a branch north in
    each; villages at known distances from the roads.

    甲镇: roads inside 2.0 + 0.5 km on 4 km² (0.625 km/km²); villages 100, 300, 900 m from a road.
    乙镇: 2.0 + 1.0 km (the branch leaves the square after 1 km) on 4 km² (0.75); villages 50,
    800, 700, 800 m from a road. 丙镇: no boundary; villages 510 and 600 m from a road.
    """
    root.mkdir(parents=True, exist_ok=True)
    sq = [shapely.box(X0, Y0, X0 + 2000, Y0 + 2000), shapely.box(X0 + 2000, Y0, X0 + 4000,
                                                                 Y0 + 2000)]
    gpd.GeoDataFrame({"name": ["甲镇", "乙镇"]}, geometry=sq, crs=CRS).to_file(
        root / "townships.gpkg", driver="GPKG")
    y = Y0 + 1000
    roads = [shapely.LineString([(X0 - 1000, y), (X0 + 500, y)]),
             shapely.LineString([(X0 + 500, y), (X0 + 3000, y)]),
             shapely.LineString([(X0 + 3000, y), (X0 + 5000, y)]),
             shapely.LineString([(X0 + 500, y), (X0 + 500, y + 500)]),
             shapely.LineString([(X0 + 3000, y), (X0 + 3000, y + 2000)])]
    gpd.GeoDataFrame({"highway": ["tertiary"] * len(roads)}, geometry=roads, crs=CRS).to_file(
        root / "roads.gpkg", driver="GPKG")
    villages = [  # id, name, township, population, x, y (from X0, Y0)
        ("A1", "甲一村", "甲镇", 100, 200, 1100), ("A2", "甲二村", "甲镇", 200, 1500, 1300),
        ("A3", "甲三村", "甲镇", 300, 1800, 1900),
        ("B1", "乙一村", "乙镇", 1000, 2500, 1050), ("B2", "乙二村", "乙镇", 50, 2200, 1800),
        ("B3", "乙三村", "乙镇", 60, 3700, 1700), ("B4", "乙四村", "乙镇", 70, 3500, 200),
        ("C1", "丙一村", "丙镇", 10, 5500, 1100), ("C2", "丙二村", "丙镇", 20, 4800, 400),
    ]
    gpd.GeoDataFrame(
        {"id": [v[0] for v in villages], "name": [v[1] for v in villages],
         "township": [v[2] for v in villages], "kind": ["village"] * len(villages),
         "population": [v[3] for v in villages]},
        geometry=[shapely.Point(X0 + v[4], Y0 + v[5]) for v in villages], crs=CRS,
    ).to_file(root / "villages.gpkg", driver="GPKG")
    (root / "district.toml").write_text(
        '[district]\nname = "手绘区"\n\n[layers.villages]\npath = "villages.gpkg"\n\n'
        '[layers.townships]\npath = "townships.gpkg"\n\n[roads]\npath = "roads.gpkg"\n'
        'format = "lines"\n' + quality, "utf-8")
    return root


def _quality(root: Path) -> tuple[Any, Any, Any]:
    from emgis.inputs.district import load_district
    from emgis.roads.network import load_network_arrays

    d = load_district(root)
    network, _ = load_network_arrays(d, use_cache=False)
    return d, network, data_quality(d, network)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any]:
    return _quality(_layers(tmp_path_factory.mktemp("drawn") / "d"))


def test_hand_made_district_exact_answers(drawn: tuple[Any, Any, Any]) -> None:
    d, _, dq = drawn
    assert d.crs.to_epsg() == 4548
    t = dq.townships.set_index("township")
    assert list(t.index) == ["甲镇", "乙镇", "丙镇"]
    assert t["villages"].tolist() == [3, 4, 2]
    assert t["villages_far"].tolist() == [1, 3, 2]
    assert t.at["乙镇", "far_share"] == 0.75
    assert t["population_far"].tolist() == [300, 180, 30]
    assert t.at["甲镇", "access_median_m"] == pytest.approx(300, abs=1e-6)
    assert t.at["甲镇", "access_max_m"] == pytest.approx(900, abs=1e-6)
    assert t.at["乙镇", "access_median_m"] == pytest.approx(750, abs=1e-6)
    assert t.at["丙镇", "access_median_m"] == pytest.approx((np.hypot(500, 100) + 600) / 2,
                                                            abs=1e-6)
    assert t.at["甲镇", "area_km2"] == pytest.approx(4.0, abs=1e-6)
    assert t.at["甲镇", "road_km"] == pytest.approx(2.5, abs=1e-6)
    assert t.at["甲镇", "road_km_per_km2"] == pytest.approx(0.625, abs=1e-6)
    assert t.at["乙镇", "road_km"] == pytest.approx(3.0, abs=1e-6)
    assert t.at["乙镇", "road_km_per_km2"] == pytest.approx(0.75, abs=1e-6)
    assert np.isnan(t.at["丙镇", "area_km2"]) and np.isnan(t.at["丙镇", "road_km_per_km2"])
    # verdicts: 乙镇 and 丙镇 have more than half of their villages far from roads
    assert t["verdict"].tolist() == ["ok", "thinly_mapped", "thinly_mapped"]
    assert dq.thin == ["乙镇", "丙镇"]
    # the district: 6 of 9 villages far; 5.5 km of road on the 8 km² of the two squares
    w = dq.district
    assert (w["villages"], w["villages_far"], w["population_far"]) == (9, 6, 510)
    assert w["road_km"] == pytest.approx(5.5, abs=1e-6)
    assert w["road_km_per_km2"] == pytest.approx(0.6875, abs=1e-6)
    assert w["verdict"] == "thinly_mapped"


def test_reasons_and_warnings_in_words(drawn: tuple[Any, Any, Any]) -> None:
    _, _, dq = drawn
    en = [say(w, "en") for w in dq.warnings]
    assert en == ["乙镇 thinly mapped: 3 of 4 villages more than 500 m from any road",
                  "丙镇 thinly mapped: 2 of 2 villages more than 500 m from any road",
                  "丙镇: no boundary in the townships layer, road density unknown"]
    zh = [say(w, "zh") for w in dq.warnings]
    assert zh[0] == "乙镇道路数据稀薄：4个村中有3个距任何道路超过500米"
    assert not any(re.search(r"[A-Za-z]", z) for z in zh)
    table = dq.table("zh").set_index("township")
    assert table.at["全区", "scope"] == "district"
    assert table.at["丙镇", "note"] == "2个村中有2个距任何道路超过500米、没有边界，道路密度未知"
    assert table.at["甲镇", "note"] == ""


def test_thresholds_from_district_toml(tmp_path: Path) -> None:
    """[quality] overrides: 250 m makes two of 甲镇's three villages far (67% > 30%), and
    0.7 km/km² makes its 0.625 sparse; the sources table cites the overrides."""
    from emgis.outputs.profile import sources_table

    root = _layers(tmp_path / "d", quality='\n[quality]\nfar_m = 250\nthin_far_share = '
                   '{ value = 0.3, source = "县交通局口径" }\nmin_road_km_per_km2 = 0.7\n')
    d, _, dq = _quality(root)
    assert (dq.far_m, dq.thin_far_share, dq.min_road_km_per_km2) == (250, 0.3, 0.7)
    t = dq.townships.set_index("township")
    assert t["villages_far"].tolist() == [2, 3, 2]
    assert t["verdict"].tolist() == ["thinly_mapped"] * 3
    assert say(dq.warnings[0], "en") == ("甲镇 thinly mapped: 2 of 3 villages more than 250 m "
                                         "from any road, 0.625 km of road per km², below 0.7")
    src = sources_table(d.settings).set_index("key")
    assert src.at["thin_far_share", "source"] == "县交通局口径"
    assert src.at["far_m", "value"] == 250 and src.at["far_m", "group"] == "quality"


def test_bad_quality_key_is_named(tmp_path: Path) -> None:
    from emgis.inputs.district import validate_district

    root = _layers(tmp_path / "d", quality="\n[quality]\nthin_far_share = 2\nfar_meters = 3\n")
    report = validate_district(root)
    fields = {p.field for p in report.errors}
    assert {"quality.thin_far_share", "quality.far_meters"} <= fields
    assert any("far_m" in str(p) for p in report.errors if p.field == "quality.far_meters")


def test_engine_snaps_are_reused(drawn: tuple[Any, Any, Any]) -> None:
    """With an engine the villages' snapped locations are its own (no second search)."""
    from emgis.roads.engine import Engine

    d, network, dq = drawn
    eng = Engine.build(network, villages=d.villages.geometry,
                       units=gpd.GeoSeries([], crs=d.crs), settings=d.settings)
    eng.snaps.loc[0, "access_m"] = 12_345.0  # the engine's value, visibly
    again = data_quality(d, network, engine=eng)
    assert again.villages["access_m"].iloc[0] == 12_345.0
    assert again.villages["access_m"].iloc[1:].tolist() == dq.villages["access_m"].iloc[1:] \
        .tolist()


# --- the demo: one run (no siting, to keep it short) ------------------------------------------

@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    import emgis

    plan = emgis.open(REPO / "data" / "demo")
    out = tmp_path_factory.mktemp("demo") / "out"
    plan.write(out, sites=())
    return plan, out


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig")


def test_run_writes_quality_csv_on_the_demo(demo_run: tuple[Any, Path]) -> None:
    plan, out = demo_run
    q = _csv(out / "quality.csv")
    assert list(q.columns) == ["scope", "township", "villages", "population", "villages_far",
                               "far_share", "population_far", "access_median_m",
                               "access_max_m", "area_km2", "road_km", "road_km_per_km2",
                               "verdict", "note"]
    assert q["township"].tolist()[:-1] == plan.district.township_names()
    assert q["scope"].tolist() == ["township"] * (len(q) - 1) + ["district"]
    assert q["villages"].iloc[-1] == len(plan.district.villages) == q["villages"][:-1].sum()
    assert set(q["verdict"]) <= {"ok", "thinly_mapped"}
    assert plan.quality() is plan.quality()  # the plan keeps it
    import json

    manifest = json.loads((out / "run.json").read_text("utf-8"))
    assert "quality.csv" in json.dumps(manifest["files"])
    assert manifest["settings"]["quality"] == {"far_m": 500, "thin_far_share": 0.5,
                                               "min_road_km_per_km2": 0.5}


def test_demo_quality_agrees_with_coverage_access(demo_run: tuple[Any, Path]) -> None:
    """Per township: the villages, the far ones, the persons in them and the largest access
    distance are those of coverage.csv's access_m (rounded to the metre there)."""
    plan, out = demo_run
    cov = _csv(out / "coverage.csv").drop_duplicates("village_id")
    q = _csv(out / "quality.csv").set_index("township")
    dq = plan.quality()
    merged = dq.villages.merge(cov[["village_id", "access_m"]], on="village_id",
                               suffixes=("", "_cov"))
    assert len(merged) == len(plan.district.villages)
    assert np.allclose(merged["access_m"].round(0), merged["access_m_cov"], atol=0.5,
                       equal_nan=True)
    for name, g in cov.groupby("township"):
        far = g["access_m"] > 500
        assert q.at[name, "villages"] == len(g)
        assert q.at[name, "villages_far"] == int(far.sum()), name
        assert q.at[name, "population_far"] == int(g.loc[far, "population"].sum())
        assert q.at[name, "access_max_m"] == pytest.approx(g["access_m"].max(), abs=0.6)
    assert q["villages_far"].iloc[-1] == int((cov["access_m"] > 500).sum())


# --- what a Chinese reader sees --------------------------------------------------------------

#: What may stay in Latin letters: units, the data credit's name.
ALLOWED = {"km", "m", "OSM"}


def test_zh_section_and_sheet_headers_have_no_english(tmp_path: Path) -> None:
    import shutil

    import openpyxl

    import emgis

    district = tmp_path / "tiny"
    shutil.copytree(TINY, district, ignore=shutil.ignore_patterns(".emgis-cache"))
    plan = emgis.open(district, use_cache=False)
    out = tmp_path / "zh"
    plan.write(out, lang="zh", sites=())
    page = (out / "report.html").read_text("utf-8")
    start = page.index('<h2 id="quality">')
    end = page.index("</p>", page.index('<table class="quality"', start))  # the note's end
    section = html.unescape(re.sub(r"<[^>]+>", " ", page[start:end]))
    assert "数据质量" in section and "东镇" in section and "道路数据稀薄" in section
    section = section.replace("东镇", "")
    assert set(re.findall(r"[A-Za-z]+", section)) <= ALLOWED, section
    # the section sits in the district's part, after the summary pages
    assert page.index('<section class="rest">') < start < page.index('<section class="appendix">')
    wb = openpyxl.load_workbook(out / "results.xlsx")
    assert texts("zh")["sheet.quality"] in wb.sheetnames
    ws = wb[texts("zh")["sheet.quality"]]
    rows = list(ws.iter_rows(values_only=True))
    heads = [str(v) for v in rows[0]]
    assert not any(re.search(r"[A-Za-z]", h) for h in heads if h not in ("", "None")), heads
    assert rows[-1][0] == "全区" and rows[-1][1] == "全区"
    assert "道路数据稀薄" in [str(v) for v in rows[1]]
    with (out / "quality.csv").open(encoding="utf-8-sig") as fh:
        zh_head, en_head = list(csv.reader(fh))[:2]
    assert not any(re.search(r"[A-Za-z]", h) for h in zh_head)
    assert en_head[:3] == ["scope", "township", "villages"]


def test_cli_network_and_validate_print_the_quality_lines(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from emgis.cli import main

    district = tmp_path / "tiny"
    shutil.copytree(TINY, district, ignore=shutil.ignore_patterns(".emgis-cache"))
    assert main(["validate", str(district)]) == 0
    out = capsys.readouterr().out
    assert "Data quality of the roads: not shown" in out and "emgis network" in out
    assert main(["network", str(district)]) == 0
    cap = capsys.readouterr()
    assert "Data quality of the roads (villages more than 500 m" in cap.out
    assert re.search(r"东镇\s+5\s+1\s+20%", cap.out)
    assert "东镇 thinly mapped: 0.148 km of road per km², below 0.5" in cap.err
    # validate now reads the cached network, and says it in Chinese with --lang zh
    assert main(["validate", str(district), "--lang", "zh"]) == 0
    cap = capsys.readouterr()
    assert "道路数据质量（距任何道路超过500米的村" in cap.out
    assert re.search(r"东镇\s+5\s+1\s+20%.*道路数据稀薄", cap.out)
    assert "东镇道路数据稀薄：道路密度0.148千米/平方千米，低于0.5" in cap.err
