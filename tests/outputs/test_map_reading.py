"""Maps a chief can read (issue 25): village and township names on opening, a legend and
names on the report's overview, colours that do not collide with the roads, units out of
action on the scenario map, the chosen scenario's zones on the what-if page."""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emgis.plan import Plan
from emgis.run.jobs import coverage_job, scenarios_job, siting_job
from tests.conftest import open_plan, render_dom, replace_in, write_with


def _data(page: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="emgis-data">(.*?)</script>', page,
                      flags=re.S)
    assert block is not None
    out: dict[str, Any] = json.loads(block.group(1))
    return out


def _body(dom: str) -> str:
    """The DOM after the styles (class names in CSS rules are not elements)."""
    return dom.split("</style>")[-1]


# -- names on the interactive maps ------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_coverage(demo_plan: Plan, tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[str, str]:
    """coverage.html of the demo in Chinese, and its DOM in headless Chromium."""
    tmp = tmp_path_factory.mktemp("reading")
    write_with(coverage_job, demo_plan, tmp, lang="zh")
    page = (tmp / "coverage.html").read_text("utf-8")
    return page, render_dom(tmp / "coverage.html", tmp)


def _labels(dom: str, cls: str) -> list[tuple[str, str]]:
    """(style, text) of each name marker of a class in the DOM."""
    return re.findall(rf'<div class="leaflet-marker-icon {cls}[^"]*"[^>]*?style="([^"]*)"[^>]*>'
                      r"([^<]*)</div>", _body(dom))


def test_village_names_show_on_opening(demo_plan: Plan, demo_coverage: tuple[str, str]
                                       ) -> None:
    """66 villages (at most LABEL_ALL_UP_TO): names at the zoom the map opens at, below
    [maps] label_zoom; each a visible element (not hidden), each a village's name."""
    from emgis.outputs.mappage import LABEL_ALL_UP_TO

    page, dom = demo_coverage
    v = _data(page)["villages"]
    assert len(v["x"]) == len(demo_plan.district.villages) <= LABEL_ALL_UP_TO
    assert v["labelAll"] is True and v["labelZoom"] == 13
    zoom = re.search(r"leaflet-zoom-anim|leaflet-container", dom)
    assert zoom is not None
    labels = _labels(dom, "emgis-label")
    names = set(demo_plan.district.villages["name"].astype(str))
    assert len(labels) >= 15, labels
    for style, text in labels:
        assert text in names
        assert "display: none" not in style and "visibility: hidden" not in style
        assert "opacity: 0" not in style
    # decluttered: names are placed most populous first
    pop = demo_plan.district.villages["population"].to_numpy()
    assert (np.diff(pop[v["order"]]) <= 0).all()


def test_opening_zoom_is_below_the_label_zoom(demo_plan: Plan,
                                              demo_coverage: tuple[str, str]) -> None:
    """The names above show because the district is small, not because the map opened close:
    the zoom on opening (from the names' pixel positions against their longitudes) is below
    label_zoom."""
    _, dom = demo_coverage
    lon = dict(zip(demo_plan.district.villages["name"].astype(str),
                   demo_plan.district.villages.geometry.to_crs(4326).x, strict=False))
    pts = [(float(m.group(1)), lon[text]) for style, text in _labels(dom, "emgis-label")
           if (m := re.search(r"translate3d\((-?[\d.]+)px", style)) and text in lon]
    (x0, l0), (x1, l1) = min(pts, key=lambda p: p[1]), max(pts, key=lambda p: p[1])
    zoom = np.log2((x1 - x0) / (l1 - l0) * 360 / 256)
    assert 8 < zoom < 13, zoom


def test_township_names_on_every_map(demo_plan: Plan, demo_coverage: tuple[str, str]) -> None:
    page, dom = demo_coverage
    towns = set(demo_plan.district.townships["name"].astype(str))
    spec = _data(page)["layers"]["townnames"]
    assert {f["label"] for f in spec["features"]} == towns
    shown = {t for _, t in _labels(dom, "emgis-town-label")}
    assert len(shown) >= len(towns) - 1 and shown <= towns
    # larger than the village names, and a style of their own
    css = re.search(r"\.emgis-town-label\{([^}]*)\}", page)
    assert css is not None and "bold 15px" in css.group(1)
    panel = next(s for s in _data(page)["panel"] if s["items"]
                 and any("townships" in it.get("layers", []) for it in s["items"]))
    item = next(it for it in panel["items"] if "townships" in it.get("layers", []))
    assert "townnames" in item["layers"]


def test_names_that_would_overlap_are_left_out(tiny: Path, tmp_path: Path) -> None:
    """Four villages within 15 m: a name goes right of its village, else left, else under
    it; the least populous of the four, with no room left, is not named."""
    for head, old, new in (("V5,南村,东镇,village,500,", "1.5105,42.4952", "1.5151,42.5005"),
                           ("V2,西村,东镇,village,300,", "1.4975,42.4975", "1.5149,42.5006"),
                           ("V3,北村,东镇,village,80,", "1.5625,42.5405", "1.5150,42.5004")):
        replace_in(tiny / "villages.csv", head + old, head + new)
    write_with(coverage_job, open_plan(tiny), tmp_path / "o")
    dom = render_dom(tmp_path / "o" / "coverage.html", tmp_path)
    names = [t for _, t in _labels(dom, "emgis-label")]
    assert "东村" in names and "山村" in names and "北村" not in names
    assert len(names) == len(set(names)) < 5


def test_large_districts_name_villages_from_the_label_zoom() -> None:
    from emgis.inputs.settings import MapSettings
    from emgis.outputs.mappage import LABEL_ALL_UP_TO, label_all

    assert label_all(LABEL_ALL_UP_TO, MapSettings())
    assert not label_all(LABEL_ALL_UP_TO + 1, MapSettings())
    # a label_zoom the planner set is obeyed
    assert not label_all(10, MapSettings(label_zoom=15))


# -- colours ---------------------------------------------------------------------------------

def _lab(colour: str, alpha: float = 1.0) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour drawn at ``alpha`` over white."""
    h = colour.lstrip("#")
    rgb = np.array([int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    rgb = alpha * rgb + (1 - alpha)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                  [0.0193, 0.1192, 0.9505]])
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_lab_of_known_colours() -> None:
    assert np.allclose(_lab("#ffffff"), [100, 0, 0], atol=0.05)
    assert np.allclose(_lab("#000000"), [0, 0, 0], atol=0.05)
    assert np.allclose(_lab("#ff0000"), [53.24, 80.09, 67.20], atol=0.1)


#: Least CIELAB distance (ΔE*76) between a village class colour and a road colour.
MIN_DELTA_E = 20.0


def test_village_classes_do_not_collide_with_roads() -> None:
    """Every village class of every map (coverage, scenario, siting, warning) against every
    road colour, as specified and as drawn (at the roads' opacity over white)."""
    from emgis.outputs.overview import OVERVIEW_ROADS
    from emgis.outputs.style import (
        CLASS_COLOURS,
        ROAD_CLASSES,
        ROAD_OPACITY,
        SCENARIO_COLOURS,
        SITING_COLOURS,
        WARNING_COLOURS,
    )

    villages = {**{f"class {k}": c for k, c in CLASS_COLOURS.items()},
                **{f"scenario {k}": SCENARIO_COLOURS[k] for k in ("island", "lost", "kept")},
                **{f"siting {k}": SITING_COLOURS[k] for k in ("before", "new", "out")},
                **{f"warning {k}": WARNING_COLOURS[k] for k in ("meets", "half", "low")}}
    roads = {c for _, c, _ in ROAD_CLASSES} | {c for _, c, _ in OVERVIEW_ROADS}
    worst = min((float(np.linalg.norm(_lab(v) - _lab(r, a))), name, r)
                for name, v in villages.items() for r in roads for a in (1.0, ROAD_OPACITY))
    assert worst[0] >= MIN_DELTA_E, worst
    # the case of the issue: "over target" was orange on orange roads
    assert min(np.linalg.norm(_lab(CLASS_COLOURS["over_target"]) - _lab(r)) for r in roads) > 20


# -- the report's overview -------------------------------------------------------------------

def test_overview_labels(demo_plan: Plan) -> None:
    """Every township named, the most populous villages (at most OVERVIEW_VILLAGE_NAMES),
    no two names overlapping, none over the legend box, all inside the image."""
    from emgis.outputs.overview import OVERVIEW_VILLAGE_NAMES, overview_labels

    d = demo_plan.district
    legend = (700.0, 0.0, 1063.0, 250.0)
    labels = overview_labels(d, avoid=[legend])
    towns = [lab for lab in labels if lab.role == "township"]
    villages = [lab for lab in labels if lab.role == "village"]
    assert {lab.text for lab in towns} <= set(d.townships["name"])
    assert len(towns) >= len(d.townships) - 1
    assert 10 <= len(villages) <= OVERVIEW_VILLAGE_NAMES
    top = set(d.villages.sort_values("population", ascending=False)["name"]
              [:OVERVIEW_VILLAGE_NAMES])
    assert {lab.text for lab in villages} <= top
    boxes = [lab.box for lab in labels]
    for i, a in enumerate(boxes):
        assert 0 <= a[0] < a[2] <= 180 / 25.4 * 150 and 0 <= a[1] < a[3] <= 120 / 25.4 * 150
        assert not (a[0] < legend[2] and legend[0] < a[2] and a[1] < legend[3]
                    and legend[1] < a[3])
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def test_overview_legend_in_the_language(demo_plan: Plan) -> None:
    from emgis.outputs.overview import cjk_font, overview_legend
    from emgis.texts import texts

    assert cjk_font() is not None  # fonts-noto-cjk (README, Quick start)
    t = texts("zh")
    table = demo_plan.coverage().table
    head, rows = overview_legend(table, "micro_fire_station", lang="zh", has_proposals=True)
    labels = [r[2] for r in rows]
    assert t.kind("micro_fire_station") in head
    for word in (t.status("covered"), t.status("over_target"), t.status("far_over"),
                 t["map.roads"], t["map.townships"], t.kind("micro_fire_station")):
        assert word in labels
    assert {r[0] for r in rows} >= {"dot", "square", "road", "boundary"}


def test_overview_png_has_a_legend_box_and_names(demo_plan: Plan) -> None:
    """The image: Chinese drawn with glyphs (no missing-glyph warning), and the legend's
    frame (a grey line, the only long neutral grey lines of the image) encloses a box holding
    the class colours and text, not an empty one."""
    from matplotlib.image import imread

    from emgis.outputs.overview import overview_png
    from emgis.outputs.style import CLASS_COLOURS

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = overview_png(demo_plan.network, demo_plan.district, demo_plan.coverage().table,
                           "micro_fire_station", lang="zh")
    assert not [w for w in caught if "missing from" in str(w.message)]
    img = (imread(io.BytesIO(png))[:, :, :3] * 255).round().astype(int)
    grey = (img.max(axis=2) - img.min(axis=2) <= 3) & (img[:, :, 0] > 100) & (img[:, :, 0] < 200)
    rows, cols = np.flatnonzero(grey.sum(axis=1) > 150), np.flatnonzero(grey.sum(axis=0) > 150)
    assert len(rows) >= 2 and len(cols) >= 2
    box = img[rows.min() + 2:rows.max() - 1, cols.min() + 2:cols.max() - 1]
    assert box.shape[0] > 60 and box.shape[1] > 100
    ink = np.any(box < 200, axis=2).mean()
    assert 0.03 < ink < 0.6, ink
    for key in ("covered", "over_target", "far_over"):
        rgb = [int(CLASS_COLOURS[key][i:i + 2], 16) for i in (1, 3, 5)]
        assert np.any(np.all(np.abs(box - rgb) <= 2, axis=2)), key
    # the same inputs give the same bytes
    assert png == overview_png(demo_plan.network, demo_plan.district,
                               demo_plan.coverage().table, "micro_fire_station", lang="zh")


# -- units out of action ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def flood(demo_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    tmp = tmp_path_factory.mktemp("flood")
    sc = next(s for s in demo_plan.district.scenarios if s.name == "flood")
    write_with(scenarios_job, demo_plan, tmp, [sc], lang="en")
    return demo_plan.scenario(sc), tmp / "scenario_flood.html"


def test_scenario_map_lists_units_out_of_action(flood: tuple[Any, Path], tmp_path: Path
                                                ) -> None:
    from emgis.outputs.maps import affected_units

    result, path = flood
    hit = result.units[result.units["status"] != "in_action"]
    hit = hit[~hit["kind"].str.startswith("shelter_")]
    assert len(hit), "the demo's flood puts units out of action"
    page = path.read_text("utf-8")
    spec = _data(page)["layers"]["units_out"]
    pops = {f["pop"]["title"]: f["pop"]["lines"] for f in spec["features"]}
    assert len(pops) == len(hit)
    for row in hit.itertuples(index=False):
        title = next(k for k in pops if f"({row.unit_id})" in k)
        assert f"reason: {row.reason}" in pops[title]
    assert {f["badge"] for f in spec["features"]} <= {"×", "!"}
    legend = re.search(r'<div id="emgis-legend".*?</div></div>', page, flags=re.S)
    assert legend is not None and "Units out of action" in legend.group(0)
    dom = render_dom(path, tmp_path)
    assert len(re.findall(r'class="leaflet-marker-icon emgis-unit-out', dom)) == len(hit)
    pane = dom[dom.index('class="leaflet-pane leaflet-marker-pane"'):]
    assert len(re.findall(r'<span class="emgis-badge"', pane)) == len(hit)
    # the table for the report: every unit out of action or cut off, with the reason in words
    table = affected_units(result, "zh")
    assert list(table.columns) == ["unit_id", "unit_name", "kind", "township", "status",
                                   "reason"]
    assert set(table["unit_id"]) == set(result.units.loc[
        result.units["status"] != "in_action", "unit_id"].astype(str))
    assert set(table["status"]) <= {"无法出动", "被困"}
    assert not any(re.search(r"[A-Za-z]", r) for r in table["reason"])


# -- the what-if page ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def whatif_page(demo_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("whatif_zones")
    write_with(siting_job, demo_plan, out, "fire_station", add=1)
    return out / "siting_fire_station.html"


def test_whatif_data_carries_each_scenarios_zones(demo_plan: Plan, whatif_page: Path) -> None:
    from emgis.analysis.scenario import zones

    scen = _data(whatif_page.read_text("utf-8"))["whatif"]["scenarios"]
    assert scen[0]["key"] == "baseline" and scen[0]["zones"] == []
    by_name = {s.name: s for s in demo_plan.district.scenarios}
    for s in scen[1:]:
        assert len(s["zones"]) == len(zones(demo_plan.district, by_name[s["key"]]))
        assert all(f["g"]["type"] in ("Polygon", "MultiPolygon") for f in s["zones"])


def test_whatif_page_draws_the_chosen_scenarios_zones(whatif_page: Path, tmp_path: Path
                                                      ) -> None:
    scen = {s["key"]: s for s in _data(whatif_page.read_text("utf-8"))["whatif"]["scenarios"]}
    base = render_dom(whatif_page, tmp_path)
    assert "emgis-wi-zone" not in _body(base)
    dom = render_dom(whatif_page, tmp_path, fragment="scenario=flood")
    drawn = re.findall(r'<path[^>]*class="[^"]*emgis-wi-zone[^"]*"', dom)
    assert len(drawn) == len(scen["flood"]["zones"]) > 0
    assert f'data-zones="{len(scen["flood"]["zones"])}"' in dom
