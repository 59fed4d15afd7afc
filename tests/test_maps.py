"""The coverage map renders in headless Chromium with no network and shows its layers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emgis import load_district
from emgis.jobs import coverage_job
from emgis.network import load_network
from tests.conftest import render_dom


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from tests.conftest import TINY

    tmp = tmp_path_factory.mktemp("map")
    d = load_district(TINY)
    G, _ = load_network(d, use_cache=False)
    coverage_job(d, G, tmp, lang="en")
    page = (tmp / "coverage.html").read_text("utf-8")
    return page, render_dom(tmp / "coverage.html", tmp)


def test_map_is_self_contained(rendered: tuple[str, str]) -> None:
    page, _ = rendered
    assert not re.search(r'<script[^>]+src="https?:', page)
    assert not re.search(r'<link[^>]+href="https?:[^"]+\.css', page)
    assert "© OpenStreetMap contributors" in page


def test_map_shows_villages_units_areas_and_legend(rendered: tuple[str, str]) -> None:
    _, dom = rendered
    assert 'class="leaflet-container' in dom or "leaflet-container" in dom
    assert 'id="emgis-legend"' in dom and "Response time" in dom
    # the micro fire station layer is shown on opening: its one unit is a marker
    assert len(re.findall(r'class="[^"]*emgis-unit', dom)) == 1
    # village circles and service-area polygons are drawn as interactive SVG paths
    paths = re.findall(r'<path[^>]*class="leaflet-interactive"', dom)
    assert len(paths) >= 5 + 1  # 5 villages + the 3-minute service area
    fills = re.findall(r'fill="(#[0-9a-f]{6})"', dom)
    assert "#1a9850" in fills  # a village within target
    assert "#41b6c4" in fills  # the service area
    # the layer switcher lists villages, units and service areas per kind
    for label in ("Villages: Micro fire station", "Units: Micro fire station",
                  "Service area Micro fire station ≤ 3 min", "Townships"):
        assert label in dom
    assert "© OpenStreetMap contributors" in dom


PAYLOAD = "Z{{ 6*7 }}Z${7*6}`<img src=x onerror=alert(1)>"


def test_input_text_is_inert_in_every_map(tiny: Path, tmp_path: Path) -> None:
    """Names from every layer, in the coverage, scenario and siting maps: never evaluated as
    a Jinja template (folium renders GeoJSON data and tooltips through one), never run as a
    JavaScript template literal (tooltips are put in backticks), never raw HTML."""
    from emgis.jobs import scenarios_job, siting_job
    from emgis.network import load_network_arrays
    from tests.conftest import replace_in

    replace_in(tiny / "villages.csv", "V2,西村", f"V2,{PAYLOAD}v")
    replace_in(tiny / "teams.csv", "T1,东村微型消防站", f"T1,{PAYLOAD}t")
    replace_in(tiny / "shelters.geojson", "东村小学", f"{PAYLOAD}s")
    replace_in(tiny / "hazards.geojson", "河道洪水", f"{PAYLOAD}h")
    d = load_district(tiny)
    edges, _ = load_network_arrays(d)
    coverage_job(d, load_network(d)[0], tmp_path)
    scenarios_job(d, edges, tmp_path, d.scenarios)
    siting_job(d, edges, tmp_path, "micro_fire_station", add=2)
    pages = sorted(tmp_path.glob("*.html"))
    assert {p.name for p in pages} >= {"coverage.html", "siting_micro_fire_station.html"}
    assert any(p.name.startswith("scenario_") for p in pages)
    for p in pages:
        page = p.read_text("utf-8")
        assert "Z42Z" not in page, p.name  # not evaluated by Jinja
        assert "Z${" not in page and "`<img" not in page, p.name  # no live ${ or backtick
        assert "<img src=x" not in page, p.name
        # each name is there, as entities that show it exactly as typed
        assert "Z&#123;&#123; 6*7 &#125;&#125;Z&#36;&#123;7*6&#125;&#96;" in page.replace(
            "\\u0026", "&"), p.name
    dom = render_dom(tmp_path / "siting_micro_fire_station.html", tmp_path)
    assert "leaflet-container" in dom and "<img src=x" not in dom
