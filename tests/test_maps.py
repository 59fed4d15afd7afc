"""The coverage map renders in headless Chromium with no network and shows its layers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from emgis.jobs import coverage_job
from tests.conftest import open_plan, render_dom, write_with


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
    a Jinja template, never run as a JavaScript template literal, never raw HTML: they are
    JSON data, and shown as text (checked in the DOM Chromium builds)."""
    from emgis.jobs import scenarios_job, siting_job
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
