"""The coverage map renders in headless Chromium with no network and shows its layers."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emgis.run.jobs import coverage_job
from tests.conftest import chromium, open_plan, render_dom, replace_in, write_with


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from tests.conftest import TINY

    tmp = tmp_path_factory.mktemp("map")
    write_with(coverage_job, open_plan(TINY), tmp, lang="en")
    page = (tmp / "coverage.html").read_text("utf-8")
    return page, render_dom(tmp / "coverage.html", tmp)


def test_map_is_self_contained(rendered: tuple[str, str]) -> None:
    page, _ = rendered
    assert not re.search(r'<script[^>]+src="https?:', page)
    assert not re.search(r'<link[^>]+href="https?:[^"]+\.css', page)
    assert "© OpenStreetMap contributors" in page


def _data(page: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="emgis-data">(.*?)</script>', page,
                      flags=re.S)
    assert block is not None
    out: dict[str, Any] = json.loads(block.group(1))
    return out


def test_map_shows_villages_units_areas_and_legend(rendered: tuple[str, str]) -> None:
    _, dom = rendered
    assert "leaflet-container" in dom
    assert 'id="emgis-legend"' in dom and "Response time" in dom
    # the micro fire station is chosen on opening: its one unit is a marker
    assert len(re.findall(r'class="[^"]*emgis-unit', dom)) == 1
    # village circles and the service-area polygon are drawn as interactive SVG paths
    paths = re.findall(r'<path[^>]*class="leaflet-interactive"', dom)
    assert len(paths) >= 5 + 1  # 5 villages + the 3-minute service area
    fills = re.findall(r'fill="(#[0-9a-f]{6})"', dom)
    assert "#1a9850" in fills  # a village within target
    assert "#41b6c4" in fills  # the service area
    assert "© OpenStreetMap contributors" in dom


def test_layer_panel_is_grouped(rendered: tuple[str, str]) -> None:
    """One panel: basemap radios, base layers, then a radio per kind whose units and service
    area breaks (radios, the target chosen) show under the chosen kind only."""
    page, dom = rendered
    panel = re.search(r'<div class="leaflet-control" id="emgis-panel">.*?</div></div>', dom,
                      flags=re.S)
    assert panel is not None
    text = re.sub(r"<[^>]+>", "|", panel.group(0))
    for label in ("Background", "OpenStreetMap", "none (roads and boundaries only)", "Roads",
                  "Townships", "Village names (from zoom 13)", "Villages coloured by",
                  "Micro fire station", "service area ≤ 3 min", "no service area"):
        assert label in text, label
    kinds = re.findall(r'<input type="radio" name="emgis-kind"[^>]*>', dom)
    data = _data(page)
    section = next(s for s in data["panel"] if s["title"] == "Villages coloured by")
    assert len(kinds) == len(section["items"]) >= 5
    assert [bool(re.search(r"checked", k)) for k in kinds].count(True) == 1
    first = section["items"][0]
    breaks = [it for it in first["sub"] if it["type"] == "radio"]
    assert [it["on"] for it in breaks].count(True) == 1
    assert next(it for it in breaks if it["on"])["label"] == "service area ≤ 3 min"
    # the sub-items of kinds not chosen are hidden
    subs = re.findall(r'<div class="sub"( style="display: none;")?>', dom)
    assert len(subs) == len(kinds) and sum(1 for s in subs if not s) == 1


def test_village_names_from_the_label_zoom(rendered: tuple[str, str], tiny: Path,
                                            tmp_path: Path) -> None:
    """The tiny district opens closer than zoom 13: every village is named; with
    label_zoom = 20 none is."""
    _, dom = rendered
    names = re.findall(r'class="leaflet-marker-icon emgis-label[^"]*"[^>]*>([^<]*)<', dom)
    assert sorted(names) == sorted(["东村", "西村", "南村", "北村", "山村"])
    with open(tiny / "district.toml", "a", encoding="utf-8") as f:
        f.write("\n[maps]\nlabel_zoom = 20\n")
    write_with(coverage_job, open_plan(tiny), tmp_path / "o")
    dom2 = render_dom(tmp_path / "o" / "coverage.html", tmp_path)
    assert "emgis-label" not in dom2.split("</style>")[-1]


def test_villages_cluster_above_the_threshold(tiny: Path, tmp_path: Path) -> None:
    """More villages than cluster_above, below the label zoom: drawn as clusters whose
    numbers and single circles add up to every village, each cluster's pie by class."""
    with open(tiny / "district.toml", "a", encoding="utf-8") as f:
        f.write("\n[maps]\nlabel_zoom = 20\ncluster_above = 2\n")
    # two villages 8 m apart: one cluster of 2 at any zoom the map opens on
    replace_in(tiny / "villages.csv", "V5,南村,东镇,village,500,1.5105,42.4952",
               "V5,南村,东镇,village,500,1.5151,42.5005")
    write_with(coverage_job, open_plan(tiny), tmp_path / "o")
    page = (tmp_path / "o" / "coverage.html").read_text("utf-8")
    dom = render_dom(tmp_path / "o" / "coverage.html", tmp_path)
    clusters = re.findall(r'<div class="emgis-cluster"[^>]*background:\s*conic-gradient\('
                          r'[^>]*>(\d+)</div>', dom)
    assert clusters
    singles = len(re.findall(r'<path[^>]*fill="(?:#1a9850|#fdae61|#d73027|#542788|#737373)"',
                             dom))
    villages = len(_data(page)["villages"]["x"])
    assert sum(int(n) for n in clusters) + singles == villages == 5
    assert "2" in clusters


def test_print_to_a4_landscape(tiny: Path, tmp_path: Path) -> None:
    """Printed, a map fills A4 landscape pages, its legend beside it (print CSS)."""
    write_with(coverage_job, open_plan(tiny), tmp_path / "o")
    page = (tmp_path / "o" / "coverage.html").read_text("utf-8")
    assert "@page{size:A4 landscape" in page
    assert re.search(r"#emgis-legend\{position:absolute!important;top:0!important;"
                     r"right:0!important", page)
    pdf = tmp_path / "map.pdf"
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--host-resolver-rules=MAP * ~NOTFOUND", "--no-pdf-header-footer",
                    f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=4000",
                    f"--print-to-pdf={pdf}", (tmp_path / "o" / "coverage.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf.read_bytes())
    assert boxes
    for w, h in boxes:
        assert float(w) == pytest.approx(841.9, abs=1) and float(h) == pytest.approx(595.3,
                                                                                      abs=1)


@pytest.mark.parametrize("basemap, host, shifted", [
    ("osm", "tile.openstreetmap.org", False), ("amap", "autonavi.com", True),
    ("amap-satellite", "autonavi.com", True), ("none", None, False)])
def test_basemaps(tiny: Path, tmp_path: Path, basemap: str, host: str | None,
                  shifted: bool) -> None:
    """Each basemap's tiles are in the data (none for "none"), offered with "none" as
    radios; AMap's say GCJ-02 and its attribution is shown."""
    from emgis.outputs.basemaps import is_gcj02

    with open(tiny / "district.toml", "a", encoding="utf-8") as f:
        f.write(f'\n[maps]\nbasemap = "{basemap}"\n')
    write_with(coverage_job, open_plan(tiny), tmp_path / "o")
    page = (tmp_path / "o" / "coverage.html").read_text("utf-8")
    data = _data(page)
    assert is_gcj02(basemap) is shifted
    if host is None:
        assert data["tiles"] == []
    else:
        assert data["tiles"] and all(host in t["url"] for t in data["tiles"])
    radios = data["panel"][0]["items"]
    assert [r["on"] for r in radios] == ([True, False] if host else [True])
    if shifted:
        assert "AutoNavi" in page


def test_tianditu_needs_a_key(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                              ) -> None:
    """Tianditu without a key is refused when the district loads, saying where to put one;
    with TIANDITU_KEY set its tiles carry the key."""
    from emgis import load_district
    from emgis._errors import ValidationError

    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with open(tiny / "district.toml", "a", encoding="utf-8") as f:
        f.write('\n[maps]\nbasemap = "tianditu-vec"\n')
    with pytest.raises(ValidationError) as err:
        load_district(tiny)
    msg = str(err.value)
    assert "maps.tianditu_key" in msg and "TIANDITU_KEY" in msg
    monkeypatch.setenv("TIANDITU_KEY", "not-a-key")
    with pytest.raises(ValidationError, match="32 hexadecimal"):
        load_district(tiny)
    key = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("TIANDITU_KEY", key)
    write_with(coverage_job, open_plan(tiny), tmp_path / "o")
    tiles = _data((tmp_path / "o" / "coverage.html").read_text("utf-8"))["tiles"]
    assert len(tiles) == 2 and all(t["tk"] == key and "tianditu.gov.cn" in t["url"]
                                   for t in tiles)


def test_gcj02_shift_of_overlays_round_trips() -> None:
    """With an AMap basemap every overlay is shifted to GCJ-02: at Huaibei by some 500 m,
    and shifting back recovers WGS-84 to under 1 m; outside China nothing moves."""
    import geopandas as gpd
    import shapely
    from pyproj import Geod

    from emgis.inputs.coords import gcj02_to_wgs84
    from emgis.outputs.basemaps import display_frame

    rng = np.random.default_rng(7)
    lon = 116.5 + rng.random(200) * 0.8  # Huaibei, Anhui
    lat = 33.6 + rng.random(200) * 0.6
    pts = gpd.GeoSeries(shapely.points(lon, lat), crs=4326).to_crs(32650)
    line = gpd.GeoSeries([shapely.LineString(np.column_stack([lon[:20], lat[:20]]))],
                         crs=4326).to_crs(32650)
    geod = Geod(ellps="WGS84")
    shown = display_frame(pts, gcj02=True)
    sx, sy = shown.x.to_numpy(), shown.y.to_numpy()
    _, _, shift = geod.inv(lon, lat, sx, sy)
    assert shift.min() > 300 and shift.max() < 800
    bx, by = gcj02_to_wgs84(sx, sy)
    _, _, back = geod.inv(lon, lat, bx, by)
    assert back.max() < 1.0
    lshown = shapely.get_coordinates(display_frame(line, gcj02=True).iloc[0])
    lx, ly = gcj02_to_wgs84(lshown[:, 0], lshown[:, 1])
    assert geod.inv(lon[:20], lat[:20], lx, ly)[2].max() < 1.0
    same = display_frame(pts, gcj02=False)
    assert geod.inv(lon, lat, same.x.to_numpy(), same.y.to_numpy())[2].max() < 0.01
    andorra = gpd.GeoSeries(shapely.points([1.52], [42.51]), crs=4326)
    assert display_frame(andorra, gcj02=True).x.iloc[0] == pytest.approx(1.52, abs=1e-12)


PAYLOAD = "Z{{ 6*7 }}Z${7*6}`<img src=x onerror=alert(1)>"


def test_input_text_is_inert_in_every_map(tiny: Path, tmp_path: Path) -> None:
    """Names from every layer, in the coverage, scenario and siting maps: never evaluated as
    a Jinja template, never run as a JavaScript template literal, never raw HTML: they are
    JSON data, and shown as text (checked in the DOM Chromium builds)."""
    from emgis.run.jobs import scenarios_job, siting_job
    from tests.conftest import replace_in

    replace_in(tiny / "villages.csv", "V2,西村", f"V2,{PAYLOAD}v")
    replace_in(tiny / "teams.csv", "T1,东村微型消防站", f"T1,{PAYLOAD}t")
    replace_in(tiny / "shelters.geojson", "东村小学", f"{PAYLOAD}s")
    replace_in(tiny / "hazards.geojson", "河道洪水", f"{PAYLOAD}h")
    plan = open_plan(tiny)
    write_with(coverage_job, plan, tmp_path)
    write_with(scenarios_job, plan, tmp_path, plan.district.scenarios)
    write_with(siting_job, plan, tmp_path, "micro_fire_station", add=2)
    pages = sorted(tmp_path.glob("*.html"))
    assert {p.name for p in pages} >= {"coverage.html", "siting_micro_fire_station.html"}
    assert any(p.name.startswith("scenario_") for p in pages)
    for p in pages:
        page = p.read_text("utf-8")
        assert "Z42Z" not in page, p.name  # not evaluated by Jinja
        block = re.search(r'<script type="application/json" id="emgis-data">(.*?)</script>',
                          page, flags=re.S)
        assert block is not None, p.name
        rest = page[:block.start()] + page[block.end():]
        # outside the data block the names never appear: not in a template, not in a script
        assert "Z{{" not in rest and "Z${" not in rest and "<img src=x" not in rest, p.name
        # in it, each name is data, exactly as typed
        data = json.loads(block.group(1))
        texts = json.dumps(data, ensure_ascii=False)
        assert json.dumps(PAYLOAD, ensure_ascii=False)[1:-1] in texts, p.name
    dom = render_dom(tmp_path / "siting_micro_fire_station.html", tmp_path)
    assert "leaflet-container" in dom and "<img src=x" not in dom


def test_encoded_parts_are_the_bytes_encoding_would_give(tiny: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """The road layer is encoded once for every map of a run (issue 27) and written where its
    stand-in stands: the pages are byte for byte those with the layer encoded in place, and a
    name spelling a stand-in stays a name."""
    from emgis.outputs import mappage

    plan = open_plan(tiny)
    write_with(coverage_job, plan, tmp_path / "parts", lang="en")
    page = (tmp_path / "parts" / "coverage.html").read_text("utf-8")
    mappage._ROAD_CACHE._items.clear()
    # the oracle: every value encoded where it stands (no stand-ins)
    monkeypatch.setattr(mappage._Page, "encoded", lambda self, text: json.loads(text))
    write_with(coverage_job, open_plan(tiny), tmp_path / "whole", lang="en")
    whole = (tmp_path / "whole" / "coverage.html").read_text("utf-8")
    assert page == whole
    roads = _data(page)["layers"]["roads"]["features"]
    assert roads and all(f["g"]["type"] == "MultiLineString" for f in roads)
    monkeypatch.undo()
    mappage._ROAD_CACHE._items.clear()
    # a village named like a stand-in (the nonce aside, which input cannot know)
    fake = f"\x00emgis-part-0-{'0' * 32}\x00"
    villages = plan.district.villages.copy()
    villages.loc[villages.index[0], "name"] = fake
    named = dataclasses.replace(plan.district, villages=villages)
    p = mappage._Page(named, "en", "t")
    stand_in = p.encoded(mappage.script_json([1, 2]))
    p.add("x", {"type": "lines", "features": stand_in, "fake": fake})
    data = _data(p.render())
    assert data["layers"]["x"]["features"] == [1, 2]
    assert data["layers"]["x"]["fake"] == fake


def _as_lists(x: Any) -> Any:
    """A structure with its numpy arrays and numbers as Python lists and numbers."""
    if isinstance(x, dict):
        return {k: _as_lists(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_as_lists(v) for v in x]
    if isinstance(x, np.ndarray | np.generic):
        return x.tolist()
    return x


@pytest.mark.parametrize("gcj02", [False, True])
def test_road_layer_as_its_coordinates_in_lists(demo_plan: Any, gcj02: bool) -> None:
    """The maps' road layer, its coordinates views of one array, is the JSON the standard
    library writes for the same coordinates in lists (the oracle)."""
    from emgis.outputs import mappage

    feats = mappage._make_road_features(demo_plan.network, demo_plan.district.crs, gcj02)
    assert feats and all(len(f["g"]["coordinates"]) for f in feats)
    want = json.dumps(_as_lists(feats), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)
    assert mappage.script_json(feats) == want
