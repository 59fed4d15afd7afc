"""data/demo-ledgers: the demo district as a bureau holds it (scripts/build_demo_ledgers.py).

The builder is deterministic: two runs write the same bytes, every file included. The workbooks
pin their core-property dates and zip-entry times and canonicalise their XML (openpyxl writes
other bytes with lxml than without); the ``.xls`` (xlwt, BIFF8) carries no date at
all, so its bytes are identical too (its cell values are compared as well, which is what would
still hold should a writer ever add a timestamp); the GeoPackage's ``last_change`` is pinned with
GDAL's ``OGR_CURRENT_DATE``. The folder in the repository is what the builder writes now, and
its ids and values are the demo's.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"
LEDGERS = REPO / "data" / "demo-ledgers"


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_demo_ledgers",
                                                  REPO / "scripts" / "build_demo_ledgers.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_demo_ledgers", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One build in this process, one in a fresh one with openpyxl kept off lxml (which
    writes the same workbook in other bytes)."""
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    _builder().build(DEMO, a)
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_demo_ledgers.py"),
                    "--demo", str(DEMO), "--out", str(b)], check=True, capture_output=True,
                   env={**os.environ, "OPENPYXL_LXML": "False"})
    return a, b


def _xls_cells(path: Path) -> list[list[object]]:
    import xlrd

    sheet = xlrd.open_workbook(str(path)).sheet_by_index(0)
    return [sheet.row_values(r) for r in range(sheet.nrows)]


def test_builder_writes_identical_bytes(two_builds: tuple[Path, Path]) -> None:
    a, b = two_builds
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {"村庄台账.xlsx", "救援队伍台账.xlsx", "物资储备点.xls", "预警设施.xlsx",
            "避难场所.geojson", "乡镇边界.geojson", "洪水淹没范围.geojson", "山火风险区.geojson",
            "路网.osm.pbf", "农村公路.gpkg", "README.md"} == set(names)
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert _xls_cells(a / "物资储备点.xls") == _xls_cells(b / "物资储备点.xls")


def test_the_folder_is_what_the_builder_writes(two_builds: tuple[Path, Path]) -> None:
    a, _ = two_builds
    here = sorted(p.name for p in LEDGERS.iterdir() if p.is_file())
    assert here == sorted(p.name for p in a.iterdir())
    for name in here:
        assert (LEDGERS / name).read_bytes() == (a / name).read_bytes(), \
            f"{name} is stale: run python scripts/build_demo_ledgers.py"


def test_no_district_toml_and_credit() -> None:
    assert not (LEDGERS / "district.toml").exists()
    readme = (LEDGERS / "README.md").read_text("utf-8")
    assert "© OpenStreetMap contributors" in readme
    assert "illustrative" in readme.lower()
    assert "emgis init" in readme


def test_villages_ledger_holds_the_demo_villages() -> None:
    from emgis.inputs.coordtext import parse_degrees
    from emgis.inputs.ledgers import read_ledger

    demo = pd.read_csv(DEMO / "villages.csv", dtype=str, keep_default_na=False)
    led = read_ledger(LEDGERS / "村庄台账.xlsx", sheet="村庄")
    f = led.frame
    assert led.header_rows == (3, 4)
    assert list(f["村(社区)编码"]) == list(demo["id"])
    assert list(f["村(社区)名称"]) == list(demo["name"])
    assert list(f["常住人口"]) == list(demo["population"])
    assert list(f["类型"]) == [{"village": "村", "community": "社区"}[k] for k in demo["kind"]]
    assert list(f["最近演练日期"]) == list(demo["last_drill"])
    for text, lon in zip(f["经度"], demo["lon"], strict=True):
        assert "°" in text and "″" in text
        assert parse_degrees(text, axis="lon") == pytest.approx(float(lon), abs=1e-9)
    for text, lat in zip(f["纬度"], demo["lat"], strict=True):
        assert parse_degrees(text, axis="lat") == pytest.approx(float(lat), abs=1e-9)
    # the 合计 row sums the population and is skipped by the reader
    total_row = led.skipped[-1][0]
    import openpyxl

    ws = openpyxl.load_workbook(LEDGERS / "村庄台账.xlsx")["村庄"]
    assert ws.cell(row=1, column=1).value == "某某区村庄（社区）基本情况台账"
    assert str(ws.cell(row=2, column=1).value).startswith("填报单位：")
    assert ws.cell(row=total_row, column=1).value == "合计"
    assert ws.cell(row=total_row, column=5).value == demo["population"].astype(int).sum()


def test_teams_stockpiles_warning_points() -> None:
    from emgis.inputs.coordtext import parse_pair
    from emgis.inputs.ledgers import read_ledger
    from emgis.inputs.standards import KIND_ALIASES

    teams = pd.read_csv(DEMO / "teams.csv", dtype=str, keep_default_na=False)
    f = read_ledger(LEDGERS / "救援队伍台账.xlsx").frame
    assert list(f["队伍编号"]) == list(teams["id"])
    assert [KIND_ALIASES["teams"][k] for k in f["队伍类型"]] == list(teams["kind"])
    assert all("\u4e00" <= k[0] <= "\u9fff" for k in f["队伍类型"])
    assert list(f["队员人数"]) == list(teams["headcount"])

    stock = pd.read_csv(DEMO / "stockpiles.csv", dtype=str, keep_default_na=False)
    f = read_ledger(LEDGERS / "物资储备点.xls").frame
    assert list(f["储备点编号"]) == list(stock["id"])
    assert set(f["储备级别"]) <= {"县级", "乡镇级", "村级"}
    for text, lon, lat in zip(f["经纬度"], stock["lon"], stock["lat"], strict=True):
        assert parse_pair(text) == (float(lon), float(lat))

    warn = pd.read_csv(DEMO / "warning_points.csv", dtype=str, keep_default_na=False)
    f = read_ledger(LEDGERS / "预警设施.xlsx").frame
    assert list(f["设备编号"]) == list(warn["id"])
    assert set(f["设备类型"]) == {"大喇叭", "警报器"}


def test_vector_files_hold_the_demo_features() -> None:
    shelters = gpd.read_file(LEDGERS / "避难场所.geojson")
    demo = gpd.read_file(DEMO / "shelters.geojson")
    assert list(shelters["编号"]) == list(demo["id"])
    assert list(shelters["面积"]) == list(demo["area_m2"])
    assert set(shelters["类型"]) == {"紧急", "固定"}
    assert shelters.geometry.equals(demo.geometry)
    towns = gpd.read_file(LEDGERS / "乡镇边界.geojson")
    assert list(towns["乡镇名称"]) == list(gpd.read_file(DEMO / "townships.geojson")["name"])
    hz = pd.concat([gpd.read_file(LEDGERS / n) for n in ("洪水淹没范围.geojson",
                                                          "山火风险区.geojson")])
    assert sorted(hz["编号"]) == ["H1", "H2", "H3"]
    assert set(hz["类型"]) == {"洪涝", "森林火灾"} and set(hz["影响"]) == {"封闭", "减速"}
    assert (LEDGERS / "路网.osm.pbf").read_bytes() == (DEMO / "roads.osm.pbf").read_bytes()


def test_register_lines_carry_grades_register_py_reads() -> None:
    from emgis.roads.register import admin_of, grade_of, is_register, route_admin_of

    reg = gpd.read_file(LEDGERS / "农村公路.gpkg")
    assert is_register(reg.columns)
    assert reg.geom_type.eq("LineString").all()
    assert reg["技术等级"].map(grade_of).notna().all()
    assert reg["行政等级"].map(admin_of).notna().all()
    assert (reg["路线编码"].map(route_admin_of) == reg["行政等级"].map(admin_of)).all()
