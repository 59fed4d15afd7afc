"""The coverage map renders in headless Chromium with no network and shows its layers."""

from __future__ import annotations

import re

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
