"""A district whose roads are a rural road register (农村公路电子地图), timed by its grades.

Three connected 1 km lines: 二级 asphalt, 四级 cement, 等外 gravel (砂石), with no class or
speed column; a fire station at the west end and a village at the east end. The response time
is turnout plus the sum of length / speed, each speed the JTG B01-2014 design speed of the grade
derated x 0.7 (emgis standards), the gravel slowed by its surface factor: computed here by
hand from those figures, and by networkx on the lines as an independent route.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

import emgis
from emgis.roads.register import DESIGN_SPEEDS, SURFACE_FACTORS

CRS = "EPSG:4547"  # CGCS2000 3-degree Gauss-Krüger, central meridian 114E
X0, Y0 = 500_000.0, 3_750_000.0


#: The register's words, as this test's lines carry them, and the profile's keys for them.
GRADE = {"二级": "grade2", "四级": "grade4", "等外": "substandard"}
SURFACE = {"沥青混凝土": "paved", "水泥混凝土": "paved", "砂石": "gravel"}


def _kph(grade: str, surface: str) -> float:
    """Design speed of the grade x 0.7 (the derating of the class speeds) x the surface."""
    return (DESIGN_SPEEDS[GRADE[grade]].value * 0.7
            * SURFACE_FACTORS[SURFACE[surface]].value)


@pytest.fixture(scope="module")
def register_district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("register")
    xs = [X0, X0 + 1000, X0 + 2000, X0 + 3000]
    lines = [shapely.LineString([(xs[k], Y0), (xs[k + 1], Y0)]) for k in range(3)]
    roads = gpd.GeoDataFrame({"路线编码": ["X012", "Y203", "C105"],
                              "技术等级": ["二级公路", "四级公路", "等外公路"],
                              "路面类型": ["沥青混凝土", "水泥混凝土", "砂石"]},
                             geometry=lines, crs=CRS)
    roads.to_file(root / "农村公路.geojson", driver="GeoJSON")
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    vx, vy = to_ll.transform(xs[-1], Y0)
    ux, uy = to_ll.transform(xs[0], Y0)
    (root / "villages.csv").write_text(
        "村编码,村名,所属乡镇,类型,人口,经度,纬度\n"
        f"V1,东村,东镇,村,300,{vx:.9f},{vy:.9f}\n", encoding="utf-8")
    (root / "teams.csv").write_text(
        "队伍编号,队伍名称,队伍类型,队员人数,所属乡镇,经度,纬度\n"
        f"FS1,西站,消防站,20,东镇,{ux:.9f},{uy:.9f}\n", encoding="utf-8")
    (root / "district.toml").write_text(
        '[district]\nname = "登记路网测试"\ncrs = "EPSG:4326"\n\n'
        '[layers.villages]\npath = "villages.csv"\n\n[layers.teams]\npath = "teams.csv"\n\n'
        '[roads]\npath = "农村公路.geojson"\n', encoding="utf-8")
    return root


def test_register_roads_are_timed_by_their_grades(register_district: Path) -> None:
    plan = emgis.open(register_district)
    row = plan.coverage().table.query("kind == 'fire_station'").iloc[0]
    hand = 1.0 + sum(60.0 / _kph(g, s) for g, s in (("二级", "沥青混凝土"),
                                                      ("四级", "水泥混凝土"),
                                                      ("等外", "砂石")))
    assert row["nearest_id"] == "FS1"
    assert row["nearest_min"] == pytest.approx(hand, abs=5e-3)
    # the classes the register roads were given
    assert set(plan.network.classes) >= {"secondary", "unclassified", "track"}


def test_register_route_equals_networkx(register_district: Path) -> None:
    roads = gpd.read_file(register_district / "农村公路.geojson").to_crs(CRS)
    G = nx.Graph()
    for geom, grade, surface in zip(roads.geometry, roads["技术等级"], roads["路面类型"]):
        a, b = geom.coords[0], geom.coords[-1]
        g = str(grade).removesuffix("公路")
        G.add_edge(a, b, minutes=geom.length / 1000 * 60 / _kph(g, str(surface)))
    drive = nx.shortest_path_length(G, (X0, Y0), (X0 + 3000, Y0), weight="minutes")
    plan = emgis.open(register_district)
    row = plan.coverage().table.query("kind == 'fire_station'").iloc[0]
    turnout = float(plan.district.settings.turnout["fire_station"].value)
    assert row["nearest_min"] == pytest.approx(turnout + drive, abs=5e-3)
    assert isinstance(plan.coverage().table, pd.DataFrame)
