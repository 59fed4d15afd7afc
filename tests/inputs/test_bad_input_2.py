"""Bad input, round two: one fault at a time on the surfaces added since the first round
(tests/inputs/test_bad_input.py): a province and ``emgis batch``, plan files, the new settings
tables, dates, the new layers (warning points, buildings, the "eight haves", social forces),
townships without villages, Excel ledgers, hazards from several files, text that is not data,
road lines and output folders.

Each case edits a copy of the tiny district (tests/data/tiny) once, sometimes with a file
beside it (a plan, a province.toml), and runs one command of the CLI in-process. The outcomes
are those of the first round (``Problem``, ``Fails``, ``Warns``, ``Accepts``), and for every
case: never an internal error or a traceback, never a raw ESC character on the console, and
every file that existed before the run byte-identical after it (a run never writes over an
input, refused or not). The same faults are then told with ``--lang zh``.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import html
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import english_words
from tests.inputs.test_bad_input import (
    PROPER,
    Accepts,
    Case,
    Check,
    Edit,
    Fails,
    Problem,
    Warns,
    _config_words,
    _run,
    both,
    sub,
    toml,
    toml_sub,
    write,
)

# --- edits ---------------------------------------------------------------------------------

def beside(name: str, content: str | bytes, encoding: str = "utf-8") -> Edit:
    """A file in the district's parent folder (a plan, a province.toml)."""
    def edit(d: Path) -> None:
        data = content.encode(encoding) if isinstance(content, str) else content
        (d.parent / name).write_bytes(data)
    return edit


def gbk_toml(old: str = "", new: str = "") -> Edit:
    """district.toml saved in GBK (after replacing ``old`` by ``new``)."""
    def edit(d: Path) -> None:
        text = (d / "district.toml").read_text("utf-8")
        if old:
            assert old in text
            text = text.replace(old, new)
        data = text.encode("gbk")
        if old:  # the case this is for: GBK bytes that are valid UTF-8 too
            data.decode("utf-8")
        (d / "district.toml").write_bytes(data)
    return edit


def village_column(name: str, v1: str, others: str = "") -> Edit:
    """villages.csv with one more column: V1's value, the others' value."""
    def edit(d: Path) -> None:
        lines = (d / "villages.csv").read_text("utf-8").splitlines()
        out = [lines[0] + f",{name}"] + [ln + f",{v1 if ln.startswith('V1,') else others}"
                                         for ln in lines[1:]]
        (d / "villages.csv").write_text("\n".join(out) + "\n", "utf-8")
    return edit


def teams_columns(cols: Sequence[str], values: dict[str, Sequence[str]],
                  extra_row: str | None = None) -> Edit:
    """teams.csv with more columns (``values``: id -> cells; blank elsewhere) and perhaps one
    more row (its cells in the new header's order)."""
    def edit(d: Path) -> None:
        lines = (d / "teams.csv").read_text("utf-8").splitlines()
        out = [lines[0] + "," + ",".join(cols)]
        for ln in lines[1:]:
            out.append(ln + "," + ",".join(values.get(ln.split(",")[0], [""] * len(cols))))
        if extra_row is not None:
            out.append(extra_row)
        (d / "teams.csv").write_text("\n".join(out) + "\n", "utf-8")
    return edit


#: A social rescue team (社会救援力量) in the teams' columns, before availability and
#: mobilisation_min.
SOCIAL = "T4,蓝天救援队,social_rescue_team,20,东镇,,,1.5000,42.5000"


def social(availability: str, mobilisation: str) -> Edit:
    return teams_columns(["availability", "mobilisation_min"], {},
                         f"{SOCIAL},{availability},{mobilisation}")


WP_HEADER = "id,name,kind,radius_m,lon,lat\n"


def warning_points(rows: str) -> Edit:
    def edit(d: Path) -> None:
        (d / "warning_points.csv").write_text(WP_HEADER + rows, "utf-8")
        with (d / "district.toml").open("a", encoding="utf-8") as fh:
            fh.write('\n[layers.warning_points]\npath = "warning_points.csv"\n')
    return edit


def square(x: float, y: float, props: dict[str, Any], side: float = 0.0001) -> dict[str, Any]:
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def buildings(features: Sequence[dict[str, Any]]) -> Edit:
    def edit(d: Path) -> None:
        (d / "buildings.geojson").write_text(json.dumps(
            {"type": "FeatureCollection", "features": list(features)}), "utf-8")
        with (d / "district.toml").open("a", encoding="utf-8") as fh:
            fh.write('\n[layers.buildings]\npath = "buildings.geojson"\n')
    return edit


def township_props(props: str) -> Edit:
    """More properties of 东镇 in townships.geojson (JSON members, comma first)."""
    return sub("townships.geojson", '"office_fulltime_staff":3',
               '"office_fulltime_staff":3' + props)


#: A second flood zone, around 山村 (V4).
RING2 = [[1.540, 42.520], [1.545, 42.520], [1.545, 42.525], [1.540, 42.525], [1.540, 42.520]]


def hazard_file(name: str, *props: dict[str, Any]) -> Edit:
    """A hazard file drawn by another bureau beside hazards.geojson, listed with it."""
    def edit(d: Path) -> None:
        feats = [{"type": "Feature", "properties": p,
                  "geometry": {"type": "Polygon", "coordinates": [RING2]}} for p in props]
        (d / name).parent.mkdir(exist_ok=True)
        (d / name).write_text(json.dumps({"type": "FeatureCollection", "features": feats},
                                         ensure_ascii=False), "utf-8")
        text = (d / "district.toml").read_text("utf-8")
        old = '[layers.hazards]\npath = "hazards.geojson"'
        assert old in text
        (d / "district.toml").write_text(text.replace(
            old, f'[layers.hazards]\npath = ["hazards.geojson", "{name}"]'), "utf-8")
    return edit


def hazard_folder(d: Path) -> None:
    """Every hazard file in a folder: hazards.geojson and one of the water bureau's."""
    (d / "灾害").mkdir()
    shutil.move(str(d / "hazards.geojson"), str(d / "灾害" / "hazards.geojson"))
    (d / "灾害" / "水利局洪水.geojson").write_text(json.dumps({
        "type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
            "编号": "W1", "名称": "淹没区", "灾种": "洪水", "影响": "减速", "speed_factor": 0.5},
            "geometry": {"type": "Polygon", "coordinates": [RING2]}}]}, ensure_ascii=False),
        "utf-8")
    text = (d / "district.toml").read_text("utf-8")
    (d / "district.toml").write_text(text.replace('path = "hazards.geojson"', 'path = "灾害"'),
                                     "utf-8")


def to_china(d: Path) -> None:
    """Move the district 115 degrees east (lon 1.5 -> 116.5, the latitudes kept): the same
    shapes in China's ranges, where a ledger's coordinate pairs and swapped columns are told
    apart by them."""
    for f in d.iterdir():
        text = f.read_text("utf-8") if f.suffix in (".osm", ".geojson", ".csv") else None
        if text is None:
            continue
        if f.suffix == ".osm":
            text = re.sub(r'lon="1\.', 'lon="116.', text)
        elif f.suffix == ".geojson":
            text = re.sub(r"\[1\.(\d+),", r"[116.\1,", text)
        else:
            text = re.sub(r",1\.(\d+),", r",116.\1,", text)
        f.write_text(text, "utf-8")


# --- ledgers -----------------------------------------------------------------------------------

TITLE = ["某某镇村庄人口台账"]
VH = ["编号", "村名", "所属乡镇", "类型", "人口", "经度", "纬度"]
VROWS: list[list[Any]] = [
    ["V1", "东村", "东镇", "社区", 1200, 1.5150, 42.5005],
    ["V2", "西村", "东镇", "行政村", 300, 1.4975, 42.4975],
    ["V3", "北村", "东镇", "行政村", 80, 1.5625, 42.5405],
    ["V4", "山村", "东镇", "行政村", 40, 1.5450, 42.5250],
    ["V5", "南村", "东镇", "行政村", 500, 1.5105, 42.4952]]


def rows_with(**changes: Any) -> list[list[Any]]:
    """VROWS with cells changed: ``V5_5="x"`` sets V5's cell 5 (0-based)."""
    out = copy.deepcopy(VROWS)
    for key, value in changes.items():
        vid, col = key.split("_")
        next(r for r in out if r[0] == vid)[int(col)] = value
    return out


CHINA = [[*r[:5], round(r[5] + 115, 4), r[6]] for r in VROWS]


def _use_ledger(d: Path, name: str, sheet: str | int | None) -> None:
    text = (d / "district.toml").read_text("utf-8")
    old = '[layers.villages]\npath = "villages.csv"'
    assert old in text
    new = f'[layers.villages]\npath = "{name}"' + (
        "" if sheet is None else f"\nsheet = {json.dumps(sheet, ensure_ascii=False)}")
    (d / "district.toml").write_text(text.replace(old, new), "utf-8")
    (d / "villages.csv").unlink()


def xlsx(rows: Sequence[Sequence[Any]], merges: Sequence[str] = (), *,
         sheet: str | int | None = None) -> Edit:
    """The villages as an .xlsx ledger (openpyxl), sheet 台账."""
    def edit(d: Path) -> None:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "台账"
        for r in rows:
            ws.append(list(r))
        for m in merges:
            ws.merge_cells(m)
        wb.save(d / "villages.xlsx")
        _use_ledger(d, "villages.xlsx", sheet)
    return edit


def xls(rows: Sequence[Sequence[Any]], merges: Sequence[tuple[int, int, int, int]] = ()
        ) -> Edit:
    """The villages as an old binary .xls ledger (xlwt); merges (r0, r1, c0, c1), 0-based."""
    def edit(d: Path) -> None:
        import xlwt

        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("台账")
        first = {(r0, c0) for r0, _, c0, _ in merges}
        covered = {(r, c) for r0, r1, c0, c1 in merges for r in range(r0, r1 + 1)
                   for c in range(c0, c1 + 1)} - first
        for r0, r1, c0, c1 in merges:
            ws.write_merge(r0, r1, c0, c1, rows[r0][c0])
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is not None and (i, j) not in first and (i, j) not in covered:
                    ws.write(i, j, v)
        wb.save(str(d / "villages.xls"))
        _use_ledger(d, "villages.xls", None)
    return edit


def xlsx_file(name: str, rows: Sequence[Sequence[Any]]) -> Edit:
    """A workbook of one sheet in the district's folder."""
    def edit(d: Path) -> None:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        for r in rows:
            ws.append(list(r))
        wb.save(d / name)
    return edit


#: 坐标 merged over 经度 and 纬度; the other headers merged over both header rows.
H1 = ["编号", "村名", "所属乡镇", "类型", "人口", "坐标", None]
H2 = [None, None, None, None, None, "经度", "纬度"]
MERGED_XLSX = ["A1:G1", "F2:G2", "A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:E3"]
MERGED_XLS = [(0, 0, 0, 6), (1, 1, 5, 6), (1, 2, 0, 0), (1, 2, 1, 1), (1, 2, 2, 2),
              (1, 2, 3, 3), (1, 2, 4, 4)]


# --- plans ---------------------------------------------------------------------------------------

PLAN_HEADER = "id,name,kind,action,lon,lat\n"
#: A new micro fire station beside 北村 (V3), which no unit reaches today.
NEW_SITE = "N1,北村新站,micro_fire_station,add,1.5620,42.5400\n"


def plan(rows: str, *, encoding: str = "utf-8", header: str = PLAN_HEADER) -> Edit:
    return beside("plan.csv", header + rows, encoding)


def with_plan(cmd: str = "coverage", file: str = "plan.csv") -> tuple[str, ...]:
    return (cmd, "{d}", "--out", "{out}", "--plan", "{parent}/" + file)


# --- roads -----------------------------------------------------------------------------------

def line(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def road_file(features: Sequence[tuple[dict[str, Any], dict[str, Any] | None]],
              extra_toml: str = "") -> Edit:
    """roads.geojson (WGS-84) with the given (properties, geometry) in place of roads.osm."""
    def edit(d: Path) -> None:
        fc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": p, "geometry": g} for p, g in features]}
        (d / "roads.geojson").write_text(json.dumps(fc, ensure_ascii=False), "utf-8")
        text = (d / "district.toml").read_text("utf-8")
        (d / "district.toml").write_text(text.replace(
            'path = "roads.osm"', 'path = "roads.geojson"' + extra_toml), "utf-8")
    return edit


WEST, MID, EAST, NORTH = (1.497, 42.4975), (1.510, 42.500), (1.520, 42.500), (1.565, 42.540)
REGISTER = [
    ({"路线编码": "X012", "技术等级": "二级公路", "路面类型": "沥青混凝土"}, line(WEST, MID)),
    ({"路线编码": "Y203", "技术等级": "四级公路", "路面类型": "水泥混凝土"}, line(MID, EAST)),
    ({"路线编码": "C105", "技术等级": "等外公路", "路面类型": "砂石"}, line(EAST, NORTH))]
POINT = {"type": "Point", "coordinates": [1.505, 42.499]}


# --- text ------------------------------------------------------------------------------------

#: Template syntax and markup a name may carry.
HOSTILE = "{{7*7}}<script>alert(1)</script>"


def moved_under_bang(d: Path) -> None:
    """The district moved into a folder named ``a!b`` (GDAL's archive separator)."""
    (d.parent / "a!b").mkdir()
    shutil.move(str(d), str(d.parent / "a!b" / "tiny"))


# --- checks ----------------------------------------------------------------------------------

def district(d: Path) -> Any:
    from emgis import load_district

    return load_district(d)


def villages_read(names: Sequence[str], population: int) -> Check:
    """The villages read in order with these names and this total population."""
    def check(d: Path, out: Path) -> None:
        v = district(d).villages
        assert list(v["name"]) == list(names)
        assert int(v["population"].sum()) == population
    return check


FIVE = ("东村", "西村", "北村", "山村", "南村")


def village_at(vid: str, lon: float, lat: float) -> Check:
    def check(d: Path, out: Path) -> None:
        v = district(d).villages.to_crs(4326).set_index("id")
        p = v.geometry[vid]
        assert abs(p.x - lon) < 1e-6 and abs(p.y - lat) < 1e-6, (p.x, p.y)
    return check


def village_column_is(column: str, values: Sequence[str]) -> Check:
    def check(d: Path, out: Path) -> None:
        assert list(district(d).villages[column]) == list(values)
    return check


def hazard_is(hid: str, **want: Any) -> Check:
    def check(d: Path, out: Path) -> None:
        h = district(d).hazards.set_index("id")
        assert hid in h.index, list(h.index)
        for k, v in want.items():
            assert h.at[hid, k] == v, (k, h.at[hid, k])
    return check


def nearest_is(kind: str, vid: str, uid: str, name: str | None = None) -> Check:
    """coverage.csv: the village's nearest unit of the kind (and its name as written)."""
    def check(d: Path, out: Path) -> None:
        t = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig", dtype=str,
                        keep_default_na=False)
        row = t[(t["kind"] == kind) & (t["village_id"] == vid)]
        assert list(row["nearest_id"]) == [uid], row.to_dict("records")
        if name is not None:
            assert list(row["nearest_name"]) == [name], list(row["nearest_name"])
    return check


def drill_status(vid: str, status: str) -> Check:
    """compliance.csv: the village's last-drill rule has this status."""
    def check(d: Path, out: Path) -> None:
        t = pd.read_csv(out / "compliance.csv", encoding="utf-8-sig", dtype=str,
                        keep_default_na=False)
        row = t[(t["place_id"] == vid) & (t["evidence"] == "villages.last_drill")]
        assert list(row["status"]) == [status], row.to_dict("records")
    return check


def status_is(kind: str, vid: str, status: str) -> Check:
    def check(d: Path, out: Path) -> None:
        t = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig", dtype=str,
                        keep_default_na=False)
        row = t[(t["kind"] == kind) & (t["village_id"] == vid)]
        assert list(row["status"]) == [status], row.to_dict("records")
    return check


def network_built(d: Path, out: Path) -> None:
    import emgis

    assert emgis.open(d, use_cache=False).network.n_edges > 0


def report_and_workbook(d: Path, out: Path) -> None:
    """The run finished every step and wrote report.html and results.xlsx."""
    manifest = json.loads((out / "run.json").read_text("utf-8"))
    assert manifest["complete"] is True and not manifest.get("failures")
    assert (out / "report.html").stat().st_size > 0
    assert (out / "results.xlsx").stat().st_size > 0


def road_classes(*classes: str) -> Check:
    def check(d: Path, out: Path) -> None:
        import emgis

        net = emgis.open(d, use_cache=False).network
        km = net.km_by_class()
        assert set(km) == set(classes), km
    return check


def as_typed(file: str, text: str) -> Check:
    """A page shows the text as typed: markup escaped, template syntax not evaluated."""
    def check(d: Path, out: Path) -> None:
        page = (out / file).read_text("utf-8")
        assert "<script>alert" not in page
        assert "{{7*7}}" in page and "49&lt;script" not in page
        shown = html.unescape(page).replace("\\u003c", "<").replace("\\u003e", ">") \
            .replace("\\/", "/")
        assert text in shown
    return check


def csv_has(file: str, column: str, value: str) -> Check:
    def check(d: Path, out: Path) -> None:
        t = pd.read_csv(out / file, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        assert value in set(t[column]), (value, set(t[column]))
    return check


def all_of(*checks: Check) -> Check:
    def check(d: Path, out: Path) -> None:
        for c in checks:
            c(d, out)
    return check


def coverage_written(d: Path, out: Path) -> None:
    t = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig", keep_default_na=False)
    assert set(t["village_id"]) == {"V1", "V2", "V3", "V4", "V5"}


# --- the cases -------------------------------------------------------------------------------

BATCH = ("batch", "{parent}", "--out", "{out}")
CHECK = ("check", "{d}", "--out", "{out}")
RUN = ("run", "{d}", "--out", "{out}")
COVERAGE = ("coverage", "{d}", "--out", "{out}")
NETWORK = ("network", "{d}")
NOTHING: Edit = lambda d: None  # noqa: E731
#: The district's files do not change and no file appears in it (its road cache aside).
UNTOUCHED = {"district_untouched": True}


def drill(value: str) -> Edit:
    return village_column("last_drill", value)


CASES: list[Case] = [
    # --- province.toml and the districts of a province ---------------------------------------
    Case("province", "districts-misspelt", beside("province.toml",
                                                  '[province]\ndistrcts = ["tiny"]\n'),
         Fails("unknown key province.distrcts: did you mean 'province.districts'"), BATCH),
    Case("province", "table-misspelt", beside("province.toml", '[provnce]\nname = "某省"\n'),
         Fails("unknown key provnce: did you mean 'province'"), BATCH),
    Case("province", "cross-border-misspelt",
         beside("province.toml", "[province]\ncross_boarder = []\n"),
         Fails("unknown key province.cross_boarder: did you mean 'province.cross_border'"),
         BATCH),
    Case("province", "unknown-district",
         beside("province.toml", '[province]\ndistricts = ["tiny", "nowhere"]\n'),
         Fails("[province] districts: 'nowhere' has no district.toml"), BATCH),
    Case("province", "districts-not-a-list",
         beside("province.toml", '[province]\ndistricts = "tiny"\n'),
         Fails("[province] districts: expected a list of folders, found 'tiny'"), BATCH),
    Case("province", "name-a-number", beside("province.toml", "[province]\nname = 5\n"),
         Fails("[province] name: expected text, found 5"), BATCH),
    Case("province", "cross-border-not-a-list",
         beside("province.toml", '[province]\ncross_border = "fire_station"\n'),
         Fails("[province] cross_border: expected a list of unit kinds"), BATCH),
    Case("province", "roads-a-number", beside("province.toml", "[province]\nroads = 7\n"),
         Fails("[province] roads: expected a file path, found 7"), BATCH),
    Case("province", "saved-in-gbk",
         beside("province.toml", '[province]\nname = "河北省"\n', "gbk"),
         Fails("province.toml is saved in GBK"), BATCH),
    Case("province", "gbk-bytes-valid-utf8",  # 某省 in GBK is C4B3 CAA1: valid UTF-8 (ĳʡ)
         beside("province.toml", '[province]\nname = "某省"\n', "gbk"),
         Fails("province.toml is saved in GBK"), BATCH),
    Case("province", "district-listed-twice",
         beside("province.toml", '[province]\ndistricts = ["tiny", "tiny"]\n'),
         Fails("district folders named alike (tiny)"), BATCH),
    Case("province", "province-not-a-table", beside("province.toml", "province = 5\n"),
         Fails("[province] must be a table"), BATCH),
    Case("province", "folder-without-districts", lambda d: (d.parent / "empty").mkdir(),
         Fails("no district folder (a sub-folder with a district.toml)"),
         ("batch", "{parent}/empty", "--out", "{out}")),
    Case("province", "no-such-folder", NOTHING, Fails("nowhere: no such folder"),
         ("batch", "{parent}/nowhere", "--out", "{out}")),
    Case("province", "district-with-a-bad-record", sub("villages.csv", "V2,西村", "V1,西村"),
         Fails("villages.csv, row 2, id V1, field 'id': duplicate id 'V1'"), BATCH),
    Case("province", "district-toml-in-gbk", gbk_toml(), Fails("district.toml is saved in GBK"),
         BATCH),
    Case("province", "out-is-the-province",
         beside("province.toml", '[province]\nname = "某省"\n'),
         Fails("holds input files of this run"), ("batch", "{parent}", "--out", "{parent}"),
         UNTOUCHED),
    Case("province", "out-is-a-district", NOTHING, Fails("holds input files of this run"),
         ("batch", "{parent}", "--out", "{d}"), UNTOUCHED),
    # --- emgis batch: its options, checked before anything runs -------------------------------
    Case("batch", "scheduler-dashboard-address", NOTHING,
         Fails("--scheduler 'http://127.0.0.1:8787' is the dashboard's web address"),
         (*BATCH, "--scheduler", "http://127.0.0.1:8787")),
    Case("batch", "scheduler-garbage", NOTHING,
         Fails("--scheduler 'not a scheduler' is not a Dask scheduler address"),
         (*BATCH, "--scheduler", "not a scheduler")),
    Case("batch", "scheduler-unreachable", NOTHING,
         Fails("no scheduler answered within 2 s"),
         (*BATCH, "--scheduler", "tcp://127.0.0.1:{free_port}"),
         {"patch": {"CONNECT_TIMEOUT_S": 2.0}, "seconds": 60}),
    Case("batch", "scheduler-without-workers", NOTHING,
         Fails("no worker was ready within 3 s"), (*BATCH, "--scheduler", "{scheduler}"),
         {"patch": {"WORKER_TIMEOUT_S": 3.0}, "scheduler": True, "seconds": 60}),
    Case("batch", "memory-limit-lots", NOTHING,
         Fails("--memory-limit 'lots' is not a size"), (*BATCH, "--memory-limit", "lots")),
    Case("batch", "memory-limit-too-small", NOTHING,
         Fails("--memory-limit 100MB is below what a worker needs"),
         (*BATCH, "--memory-limit", "100MB")),
    Case("batch", "scratch-unwritable", NOTHING,
         Fails("Dask cannot write its scratch folder /proc/nope"), BATCH,
         {"env": {"DASK_TEMPORARY_DIRECTORY": "/proc/nope"}}),
    Case("batch", "workers-zero", NOTHING, Fails("'0': expected a whole number >= 1"),
         (*BATCH, "--workers", "0")),
    Case("batch", "as-of-malformed", NOTHING, Fails("expected a date like 2025-06-30"),
         (*BATCH, "--as-of", "2025-6-31")),
    # --- plan files (--plan on coverage and run) ----------------------------------------------
    Case("plan", "duplicate-ids",
         plan(NEW_SITE + "N1,另一新站,micro_fire_station,add,1.5300,42.5000\n"),
         Problem("plan.csv", "duplicate id 'N1', first used in row 1", "id", 2, "N1"),
         with_plan()),
    Case("plan", "unit-5000-km-away", plan("N1,远站,micro_fire_station,add,61.5620,42.5400\n"),
         Problem("plan.csv", "km from the district's area", "lon", 1, "N1"), with_plan()),
    Case("plan", "unknown-kind", plan("N1,城堡,castle,add,1.5620,42.5400\n"),
         Problem("plan.csv", "unknown kind 'castle'", "kind", 1, "N1"), with_plan()),
    Case("plan", "remove-unknown-unit", plan("T9,旧站,micro_fire_station,remove,1.51,42.50\n"),
         Problem("plan.csv", "remove 'T9': no unit with this id in the district's teams", "id",
                 1, "T9"), with_plan()),
    Case("plan", "remove-unknown-stockpile", plan("S9,旧库,stockpile,remove,1.51,42.50\n"),
         Problem("plan.csv", "remove 'S9': no unit with this id in the district's stockpiles",
                 "id", 1, "S9"), with_plan()),
    Case("plan", "add-over-existing-id", plan("T1,新站,micro_fire_station,add,1.5620,42.5400\n"),
         Problem("plan.csv", "add 'T1': the id of an existing unit", "id", 1, "T1"),
         with_plan()),
    Case("plan", "gbk-encoded-reads", plan("N1,北村新站,微型消防站,add,1.5620,42.5400\n",
                                           encoding="gbk"),
         Accepts(nearest_is("micro_fire_station", "V3", "N1", "北村新站")), with_plan()),
    Case("plan", "missing-lon-lat", plan("N1,北村新站,micro_fire_station,add\n",
                                         header="id,name,kind,action\n"),
         Problem("plan.csv", "missing field 'lon'", "lon"), with_plan()),
    Case("plan", "blank-lon", plan("N1,北村新站,micro_fire_station,add,,42.5400\n"),
         Problem("plan.csv", "expected a point", "lon", 1, "N1"), with_plan()),
    Case("plan", "bad-action", plan("N1,北村新站,micro_fire_station,build,1.5620,42.5400\n"),
         Problem("plan.csv", "found 'build'; expected add or remove", "action", 1, "N1"),
         with_plan()),
    Case("plan", "no-rows", plan(""), Problem("plan.csv", "the plan has no rows"),
         with_plan()),
    Case("plan", "geojson-no-features",
         beside("plan.geojson", '{"type":"FeatureCollection","features":[]}'),
         Problem("plan.geojson", "the plan has no rows"), with_plan(file="plan.geojson")),
    Case("plan", "geojson-polygon",
         beside("plan.geojson", json.dumps({"type": "FeatureCollection", "features": [{
             "type": "Feature", "properties": {"id": "N1", "name": "面", "kind": "stockpile",
                                               "action": "add"},
             "geometry": {"type": "Polygon", "coordinates": [[[1.5, 42.5], [1.51, 42.5],
                                                              [1.51, 42.51], [1.5, 42.5]]]}}]})),
         Problem("plan.geojson", "expected a point", "lon", 1, "N1"),
         with_plan(file="plan.geojson")),
    Case("plan", "hostile-name", plan(f"N1,\"=cmd|' /C calc'!A0{HOSTILE}\",micro_fire_station,"
                                      "add,1.5620,42.5400\n"),
         Accepts(nearest_is("micro_fire_station", "V3", "N1", f"'=cmd|' /C calc'!A0{HOSTILE}")),
         with_plan()),
    Case("plan", "remove-existing-unit", plan("T1,东村微型消防站,micro_fire_station,remove,"
                                              "1.5101,42.5001\n"),
         Accepts(status_is("micro_fire_station", "V1", "no_unit")), with_plan()),
    Case("plan", "chinese-kind-stockpile", plan("N1,北村储备点,物资储备点,add,1.5620,42.5400\n"),
         Accepts(nearest_is("stockpile", "V3", "N1")), with_plan()),
    Case("plan", "no-header-row", plan(NEW_SITE, header=""),
         Problem("plan.csv", "missing field 'lon'", "lon"), with_plan()),
    Case("plan", "excel-bom", beside("plan.csv", "\ufeff" + PLAN_HEADER + NEW_SITE),
         Accepts(nearest_is("micro_fire_station", "V3", "N1")), with_plan()),
    Case("plan", "action-in-chinese", plan("N1,北村新站,micro_fire_station,新增,1.5620,42.5400\n"),
         Problem("plan.csv", "found '新增'; expected add or remove", "action", 1, "N1"),
         with_plan()),
    Case("plan", "out-beside-the-plan", plan(NEW_SITE),
         Fails("holds input files of this run"),
         ("coverage", "{d}", "--out", "{parent}", "--plan", "{parent}/plan.csv")),
    # --- settings: the tables added since round one ---------------------------------------------
    Case("settings", "warning-min-share-1.5", toml("[warning]\nmin_share = 1.5"),
         Problem("district.toml", "found 1.5; expected a share from 0 to 1", "warning.min_share")),
    Case("settings", "social-availability-5", toml("[social]\navailability = 5"),
         Problem("district.toml", "found 5; expected a share from 0 to 1",
                 "social.availability")),
    Case("settings", "social-min-availability-2", toml("[social]\nmin_availability = 2"),
         Problem("district.toml", "found 2; expected a share from 0 to 1",
                 "social.min_availability")),
    Case("settings", "social-mobilisation-negative", toml("[social]\nmobilisation_min = -1"),
         Problem("district.toml", ">= 0", "social.mobilisation_min")),
    Case("settings", "warning-radius-zero", toml("[warning]\nloudspeaker_radius_m = 0"),
         Problem("district.toml", "> 0", "warning.loudspeaker_radius_m")),
    Case("settings", "warning-key-misspelt", toml("[warning]\nsiren_radius = 900"),
         Problem("district.toml", "did you mean 'siren_radius_m'", "warning.siren_radius")),
    Case("settings", "quality-text", toml('[quality]\nfar_m = "far"'),
         Problem("district.toml", "expected a number of metres", "quality.far_m")),
    Case("settings", "quality-share-above-one", toml("[quality]\nthin_far_share = 1.5"),
         Problem("district.toml", "found 1.5; expected a share from 0 to 1",
                 "quality.thin_far_share")),
    Case("settings", "quality-key-misspelt", toml("[quality]\nfar = 500"),
         Problem("district.toml", "did you mean 'far_m'", "quality.far")),
    Case("settings", "costs-negative", toml("[costs]\nmicro_fire_station = -5"),
         Problem("district.toml", "expected a number of yuan >= 0", "costs.micro_fire_station")),
    Case("settings", "costs-key-misspelt", toml("[costs]\nmicro_fire_staton = 5"),
         Problem("district.toml", "did you mean 'micro_fire_station'",
                 "costs.micro_fire_staton")),
    Case("settings", "costs-reuse-factor", toml("[costs]\nreuse_factor = 3"),
         Problem("district.toml", "found 3; expected a share from 0 to 1", "costs.reuse_factor")),
    Case("settings", "costs-text", toml('[costs]\nstockpile = "20万"'),
         Problem("district.toml", "expected a number of yuan", "costs.stockpile")),
    Case("settings", "siting-candidates-choice", toml('[siting]\ncandidates = "some"'),
         Problem("district.toml", 'expected one of "all", "listed"', "siting.candidates")),
    Case("settings", "siting-unknown-source", toml('[siting]\nsources = ["villages", "castles"]'),
         Problem("district.toml", "expected a list of candidate sources", "siting.sources")),
    Case("settings", "siting-key-misspelt", toml('[siting]\ncandidate = "all"'),
         Problem("district.toml", "did you mean 'candidates'", "siting.candidate")),
    Case("settings", "maps-basemap-choice", toml('[maps]\nbasemap = "google"'),
         Problem("district.toml", 'expected one of "osm"', "maps.basemap")),
    Case("settings", "maps-zoom-text", toml('[maps]\nlabel_zoom = "close"'),
         Problem("district.toml", "expected a number", "maps.label_zoom")),
    Case("settings", "maps-key-misspelt", toml("[maps]\nlabel_zom = 14"),
         Problem("district.toml", "did you mean 'label_zoom'", "maps.label_zom")),
    Case("settings", "report-paper", toml('[report]\npaper = "A5"'),
         Problem("district.toml", 'expected one of "A4", "A3"', "report.paper")),
    Case("settings", "report-rows-fraction", toml("[report]\nsummary_rows = 2.5"),
         Problem("district.toml", "expected a whole number", "report.summary_rows")),
    Case("settings", "report-rows-a-date", toml("[report]\nsummary_rows = 2025-06-30"),
         Problem("district.toml", "summary_rows = 2025-06-30: expected a whole number",
                 "report.summary_rows")),
    Case("settings", "report-key-misspelt", toml('[report]\npapr = "A4"'),
         Problem("district.toml", "did you mean 'paper'", "report.papr")),
    Case("settings", "synonyms-not-a-list", toml('[synonyms.villages]\npopulation = "人口"'),
         Problem("district.toml", "expected a list of texts", "synonyms.villages.population")),
    Case("settings", "synonyms-not-a-table", toml('[synonyms]\nvillages = ["人口"]'),
         Problem("district.toml", "expected a table [synonyms.villages]", "synonyms.villages")),
    Case("settings", "synonyms-layer-misspelt", toml('[synonyms.vilages]\npopulation = ["人口"]'),
         Problem("district.toml", "did you mean 'villages'", "synonyms.vilages")),
    Case("settings", "synonyms-field-misspelt",
         toml('[synonyms.villages]\npopulaton = ["人口"]'),
         Problem("district.toml", "did you mean 'population'", "synonyms.villages.populaton")),
    Case("settings", "sheet-fraction",
         toml_sub('path = "villages.csv"', 'path = "villages.csv"\nsheet = 1.5'),
         Problem("district.toml", "expected a sheet name in quotes", "layers.villages.sheet")),
    Case("settings", "sheet-boolean",
         toml_sub('path = "villages.csv"', 'path = "villages.csv"\nsheet = true'),
         Problem("district.toml", "sheet = true: expected a sheet name", "layers.villages.sheet")),
    Case("settings", "path-list-missing-file",
         toml_sub('path = "hazards.geojson"', 'path = ["hazards.geojson", "gone.geojson"]'),
         Problem("gone.geojson", "file not found")),
    Case("settings", "path-list-empty", toml_sub('path = "hazards.geojson"', "path = []"),
         Problem("district.toml", "with at least one", "layers.hazards.path")),
    Case("settings", "datum-check-value",
         toml_sub('crs = "EPSG:4326"', 'crs = "EPSG:4326"\ndatum_check = "strict"'),
         Problem("district.toml", 'expected one of "error", "warn", "off"',
                 "district.datum_check")),
    Case("settings", "datum-check-boolean",
         toml_sub('crs = "EPSG:4326"', 'crs = "EPSG:4326"\ndatum_check = false'),
         Problem("district.toml", "datum_check = false: expected one of",
                 "district.datum_check")),
    Case("settings", "district-toml-gbk", gbk_toml(), Fails("district.toml is saved in GBK")),
    Case("settings", "district-toml-gbk-valid-utf8", gbk_toml('name = "测试区"', 'name = "某省"'),
         Fails("district.toml is saved in GBK")),
    # --- dates ---------------------------------------------------------------------------------
    Case("dates", "drill-2052-warned", drill("2052-03-01"),
         Warns("the date 2052-03-01 is after today")),
    Case("dates", "drill-2052-not-met-before", drill("2052-03-01"),
         Accepts(drill_status("V1", "not_recorded")), (*CHECK, "--as-of", "2025-06-30")),
    Case("dates", "drill-2052-met-after", drill("2052-03-01"),
         Accepts(drill_status("V1", "meets")), (*CHECK, "--as-of", "2052-06-30")),
    Case("dates", "drill-chinese-date", drill("2025年6月1日"),
         Accepts(drill_status("V1", "meets")), (*CHECK, "--as-of", "2025-06-30")),
    Case("dates", "drill-month-13", drill("2025-13-45"),
         Problem("villages.csv", "found '2025-13-45'; expected a date", "last_drill", 1, "V1")),
    Case("dates", "drill-words", drill("去年"),
         Problem("villages.csv", "found '去年'; expected a date", "last_drill", 1, "V1")),
    Case("dates", "team-drill-unparseable",
         teams_columns(["last_drill"], {"T2": ["30/02/2025"]}),
         Problem("teams.csv", "found '30/02/2025'; expected a date", "last_drill", 2, "T2")),
    Case("dates", "excel-date-cell",
         xlsx([TITLE, [*VH, "最近演练日期"],
               *[[*r, dt.datetime(2025, 6, 1) if r[0] == "V1" else None] for r in VROWS]],
              ["A1:H1"]),
         Accepts(drill_status("V1", "meets")), (*CHECK, "--as-of", "2025-06-30")),
    Case("dates", "excel-date-2052",
         xlsx([TITLE, [*VH, "最近演练日期"],
               *[[*r, dt.datetime(2052, 6, 1) if r[0] == "V1" else None] for r in VROWS]],
              ["A1:H1"]),
         Warns("the date 2052-06-01 is after today")),
    Case("dates", "as-of-malformed", NOTHING, Fails("'30/06/2025': expected a date like"),
         (*CHECK, "--as-of", "30/06/2025")),
    Case("dates", "as-of-impossible", NOTHING, Fails("'2025-02-30': expected a date like"),
         (*RUN, "--as-of", "2025-02-30")),
    # --- warning points ----------------------------------------------------------------------
    Case("warning_points", "duplicate-id",
         warning_points("W1,东村大喇叭,大喇叭,300,1.515,42.5005\n"
                        "W1,西村大喇叭,大喇叭,300,1.4975,42.4975\n"),
         Problem("warning_points.csv", "duplicate id 'W1'", "id", 2, "W1")),
    Case("warning_points", "missing-id", warning_points(",东村大喇叭,大喇叭,300,1.515,42.5005\n"),
         Problem("warning_points.csv", "missing id", "id", 1)),
    Case("warning_points", "unknown-kind", warning_points("W1,东村鼓楼,castle,300,1.515,42.5005\n"),
         Problem("warning_points.csv", "unknown kind 'castle'", "kind", 1, "W1")),
    Case("warning_points", "chinese-kind", warning_points("W1,东村警报,防空警报,,1.515,42.5005\n"),
         Accepts(lambda d, o: None if list(district(d).warning_points["kind"]) == ["siren"]
                 else pytest.fail("kind"))),
    Case("warning_points", "radius-negative",
         warning_points("W1,东村大喇叭,大喇叭,-3,1.515,42.5005\n"),
         Problem("warning_points.csv", "found '-3'", "radius_m", 1, "W1")),
    Case("warning_points", "radius-implausible",
         warning_points("W1,东村大喇叭,大喇叭,50000,1.515,42.5005\n"),
         Problem("warning_points.csv", "not plausible", "radius_m", 1, "W1")),
    Case("warning_points", "radius-text",
         warning_points("W1,东村大喇叭,大喇叭,far,1.515,42.5005\n"),
         Problem("warning_points.csv", "found 'far'", "radius_m", 1, "W1")),
    # --- buildings -------------------------------------------------------------------------
    Case("buildings", "outside-one-warning-with-a-count",
         buildings([square(1.515, 42.5005, {"floors": 2}), square(61.5, 42.5, {"floors": 1}),
                    square(61.6, 42.5, {"floors": 1})]),
         Warns("2 of 3 buildings lie outside the district"), extra={"once": "buildings.geojson"}),
    Case("buildings", "floors-negative", buildings([square(1.515, 42.5005, {"floors": -2})]),
         Problem("buildings.geojson", "found -2", "floors", 1)),
    Case("buildings", "floors-text", buildings([square(1.515, 42.5005, {"层数": "很多"})]),
         Problem("buildings.geojson", "found '很多'", "floors", 1)),
    Case("buildings", "floors-implausible", buildings([square(1.515, 42.5005, {"floors": 500})]),
         Problem("buildings.geojson", "not plausible", "floors", 1)),
    Case("buildings", "line-building",
         buildings([{"type": "Feature", "properties": {"floors": 1},
                     "geometry": line((1.515, 42.5005), (1.516, 42.5005))}]),
         Problem("buildings.geojson", "found a LineString; expected a polygon", "geometry", 1)),
    # --- the "eight haves" of a township station ------------------------------------------------
    Case("checklist", "office-in-two-columns", township_props(',"office":"no","应急办公场所":"有"'),
         Problem("townships.geojson", "two columns hold the field office: 'office' and "
                 "'应急办公场所'; keep one, or write fields = { office", "office")),
    Case("checklist", "office-maybe", township_props(',"office":"maybe"'),
         Problem("townships.geojson", "found 'maybe'; expected yes or no", "office", 1)),
    Case("checklist", "phones-in-words", township_props(',"卫星电话":"两部"'),
         Problem("townships.geojson", "found '两部'", "satellite_phones", 1)),
    Case("checklist", "phones-negative", township_props(',"卫星电话":-1'),
         Problem("townships.geojson", "found -1", "satellite_phones", 1)),
    Case("checklist", "chinese-flags-read",
         township_props(',"应急办公场所":"有","应急预案":"无","物资仓库":"是"'),
         Accepts(lambda d, o: None if [bool(district(d).townships[c].iloc[0]) for c in (
             "office", "emergency_plan", "materials_warehouse")] == [True, False, True]
             else pytest.fail("flags"))),
    # --- social forces and team availability ------------------------------------------------
    Case("social", "availability-above-one", social("1.5", ""),
         Problem("teams.csv", "found '1.5'; expected a number in [0, 1]", "availability", 4,
                 "T4")),
    Case("social", "mobilisation-negative", social("0.5", "-10"),
         Problem("teams.csv", "found '-10'", "mobilisation_min", 4, "T4")),
    Case("social", "availability-percent", social("80%", ""),
         Problem("teams.csv", "found '80%'", "availability", 4, "T4")),
    Case("social", "team-availability-2", teams_columns(["availability"], {"T2": ["2"]}),
         Problem("teams.csv", "found '2'; expected a number in [0, 1]", "availability", 2, "T2")),
    Case("social", "night-availability-negative",
         teams_columns(["availability_night"], {"T2": ["-0.1"]}),
         Problem("teams.csv", "found '-0.1'", "availability_night", 2, "T2")),
    Case("social", "availability-chinese-header", teams_columns(["可用率"], {"T2": ["high"]}),
         Problem("teams.csv", "found 'high'", "availability", 2, "T2")),
    Case("social", "social-force-read", social("0.6", "20"),
         Accepts(lambda d, o: None if list(district(d).teams.set_index("id").loc[
             "T4", ["kind", "availability", "mobilisation_min"]]) == [
             "social_rescue_team", 0.6, 20.0] else pytest.fail("social force"))),
    # --- townships without villages --------------------------------------------------------
    Case("townships", "named-otherwise-warned", sub("townships.geojson", '"name":"东镇"',
                                                     '"name":"东镇区"'),
         Warns("township '东镇区' has no village in the villages layer: its report section is "
               "empty; the villages name '东镇'")),
    Case("townships", "named-otherwise-runs", sub("townships.geojson", '"name":"东镇"',
                                                   '"name":"东镇区"'),
         Accepts(report_and_workbook), RUN),
    Case("townships", "empty-township-warned",
         sub("townships.geojson", "]}}\n]}",
             ']}},\n{"type":"Feature","properties":{"name":"北山乡"},"geometry":{"type":'
             '"Polygon","coordinates":[[[1.6,42.6],[1.61,42.6],[1.61,42.61],[1.6,42.6]]]}}\n]}'),
         Warns("township '北山乡' has no village in the villages layer")),
    Case("townships", "empty-township-runs",
         sub("townships.geojson", "]}}\n]}",
             ']}},\n{"type":"Feature","properties":{"name":"北山乡"},"geometry":{"type":'
             '"Polygon","coordinates":[[[1.6,42.6],[1.61,42.6],[1.61,42.61],[1.6,42.6]]]}}\n]}'),
         Accepts(report_and_workbook), RUN),
    Case("townships", "from-a-csv",
         both(write("townships.csv", "name,应急办公场所\n东镇,有\n"),
              toml_sub('path = "townships.geojson"', 'path = "townships.csv"')),
         Problem("townships.csv", "holds points, and the townships layer is areas", "geometry")),
    Case("townships", "village-township-unknown",
         sub("villages.csv", "V2,西村,东镇", "V2,西村,东真"),
         Warns("township '东真' is not in the townships layer")),
    # --- Excel ledgers ------------------------------------------------------------------------
    Case("ledgers", "xlsx-title-row", xlsx([TITLE, VH, *VROWS], ["A1:G1"]),
         Accepts(villages_read(FIVE, 2120))),
    Case("ledgers", "xlsx-merged-headers", xlsx([TITLE, H1, H2, *VROWS], MERGED_XLSX),
         Accepts(all_of(villages_read(FIVE, 2120), village_at("V3", 1.5625, 42.5405)))),
    Case("ledgers", "xls-merged-headers", xls([TITLE, H1, H2, *VROWS], MERGED_XLS),
         Accepts(all_of(villages_read(FIVE, 2120), village_at("V3", 1.5625, 42.5405)))),
    Case("ledgers", "xls-title-row", xls([TITLE, VH, *VROWS], [(0, 0, 0, 6)]),
         Accepts(villages_read(FIVE, 2120))),
    Case("ledgers", "total-row-warned",
         xlsx([TITLE, VH, *VROWS, ["合计", None, None, None, 2120]], ["A1:G1"]),
         Warns('row 8: "合计" is a total row, not a record; skipped')),
    Case("ledgers", "total-row-not-counted",
         xlsx([TITLE, VH, *VROWS, ["合计", None, None, None, 2120]], ["A1:G1"]),
         Accepts(villages_read(FIVE, 2120))),
    Case("ledgers", "text-numbers", xlsx([TITLE, VH, *rows_with(V1_4="1,200", V5_4="５００")],
                                         ["A1:G1"]),
         Accepts(villages_read(FIVE, 2120))),
    Case("ledgers", "full-width-digits-and-comma",
         xlsx([TITLE, VH, *rows_with(V5_4="１，２００")], ["A1:G1"]),
         Accepts(villages_read(FIVE, 2820))),
    Case("ledgers", "dms-coordinates",
         xlsx([TITLE, VH, *rows_with(V5_5="1°30'37.8\"", V5_6="42°29'42.72\"")], ["A1:G1"]),
         Accepts(village_at("V5", 1.5105, 42.4952))),
    Case("ledgers", "dms-minutes-61",
         xlsx([TITLE, VH, *rows_with(V5_5="1°61'37.8\"")], ["A1:G1"]),
         Problem("villages.xlsx", "minutes 61 not below 60", "经度", 7, "V5")),
    Case("ledgers", "pair-in-one-cell-marked",
         xlsx([TITLE, [*VH[:5], "坐标"], *[[*r[:5], f"E{r[5]},N{r[6]}"] for r in VROWS]],
              ["A1:F1"]),
         Accepts(village_at("V4", 1.5450, 42.5250))),
    Case("ledgers", "pair-in-one-cell-china",
         both(to_china, xlsx([TITLE, [*VH[:5], "坐标"],
                              *[[*r[:5], f"{r[6]:.4f} {r[5]:.4f}"] for r in CHINA]], ["A1:F1"])),
         Accepts(village_at("V4", 116.5450, 42.5250))),
    Case("ledgers", "swapped-columns-warned",
         both(to_china, xlsx([TITLE, VH, *[[*r[:5], r[6], r[5]] for r in CHINA]], ["A1:G1"])),
         Warns("hold the latitudes and the longitudes the other way round")),
    Case("ledgers", "swapped-columns-read",
         both(to_china, xlsx([TITLE, VH, *[[*r[:5], r[6], r[5]] for r in CHINA]], ["A1:G1"])),
         Accepts(village_at("V2", 116.4975, 42.4975))),
    Case("ledgers", "sheet-missing", xlsx([TITLE, VH, *VROWS], ["A1:G1"], sheet="村庄"),
         Problem("villages.xlsx", 'there is no sheet "村庄"', "sheet")),
    Case("ledgers", "sheet-index-missing", xlsx([TITLE, VH, *VROWS], ["A1:G1"], sheet=3),
         Problem("villages.xlsx", "its sheets are 0: 台账", "sheet")),
    Case("ledgers", "two-population-columns",
         xlsx([TITLE, [*VH[:4], "户籍人口", "常住人口", *VH[5:]],
               *[[*r[:5], r[4] + 1, *r[5:]] for r in VROWS]], ["A1:H1"]),
         Warns('"常住人口" is taken (resident population 常住人口 is who is there in an '
               'emergency). To take another, write under [layers.villages]: fields = '
               '{ population = "户籍人口" }')),
    Case("ledgers", "unknown-header-kept",
         xlsx([TITLE, [*VH, "联系人"], *[[*r, "张三"] for r in VROWS]], ["A1:H1"]),
         Accepts(village_column_is("联系人", ["张三"] * 5))),
    Case("ledgers", "population-words-excel-row",
         xlsx([TITLE, VH, *rows_with(V3_4="约八十")], ["A1:G1"]),
         Problem("villages.xlsx", "found '约八十'", "population", 5, "V3")),
    Case("ledgers", "township-merged-down-xlsx",
         xlsx([TITLE, VH, VROWS[0], *[[*r[:2], None, *r[3:]] for r in VROWS[1:]]],
              ["A1:G1", "C3:C7"]),
         Accepts(village_column_is("township", ["东镇"] * 5))),
    Case("ledgers", "township-merged-down-xls",
         xls([TITLE, VH, VROWS[0], *[[*r[:2], None, *r[3:]] for r in VROWS[1:]]],
             [(0, 0, 0, 6), (2, 6, 2, 2)]),
         Accepts(village_column_is("township", ["东镇"] * 5))),
    Case("ledgers", "header-below-row-10", xlsx([TITLE, *[[]] * 10, VH, *VROWS]),
         Problem("villages.xlsx", "no header row in rows 1-10")),
    Case("ledgers", "xls-that-is-a-web-page",
         both(write("villages.xls", "<html><body><table><tr><td>编号</td></tr></table>"),
              toml_sub('path = "villages.csv"', 'path = "villages.xls"')),
         Problem("villages.xls", "is a web page (HTML) saved under an Excel name")),
    Case("ledgers", "xlsx-corrupt",
         both(write("villages.xlsx", b"PK\x03\x04" + bytes(range(200))),
              toml_sub('path = "villages.csv"', 'path = "villages.xlsx"')),
         Problem("villages.xlsx", "cannot be read as a workbook")),
    Case("ledgers", "sheet-on-a-csv",
         toml_sub('path = "villages.csv"', 'path = "villages.csv"\nsheet = "台账"'),
         Warns("sheet = '台账' is ignored: only a workbook (.xlsx, .xls) has sheets")),
    # --- hazards from several files --------------------------------------------------------
    Case("hazards", "chinese-effect-closed",
         hazard_file("林业局山火.geojson", {"id": "F1", "name": "山火区", "kind": "森林火灾",
                                        "effect": "封闭"}),
         Accepts(hazard_is("F1", effect="closed", kind="forest_fire"))),
    Case("hazards", "chinese-effect-slowed",
         hazard_file("水利局.geojson", {"id": "W1", "name": "淹没区", "kind": "洪水",
                                     "effect": "减速", "speed_factor": 0.5}),
         Accepts(hazard_is("W1", effect="slowed", speed_factor=0.5))),
    Case("hazards", "no-id-warned",
         hazard_file("水利局洪水.geojson", {"name": "淹没区", "kind": "洪水", "effect": "封闭"}),
         Warns("the file has no id column: each zone gets its file name and row as id "
               "(e.g. 水利局洪水-1)")),
    Case("hazards", "no-id-made",
         hazard_file("水利局洪水.geojson", {"name": "淹没区", "kind": "洪水", "effect": "封闭"}),
         Accepts(hazard_is("水利局洪水-1", effect="closed"))),
    Case("hazards", "no-kind-from-file-name",
         hazard_file("水利局洪水.geojson", {"id": "W1", "name": "淹没区", "effect": "封闭"}),
         Warns("its zones are read as flood from the file name")),
    Case("hazards", "no-kind-no-word", hazard_file("水利局.geojson", {"id": "W1", "name": "淹没区",
                                                                 "effect": "封闭"}),
         Problem("水利局.geojson", "missing required field 'kind'", "kind")),
    Case("hazards", "duplicate-id-across-files",
         hazard_file("水利局洪水.geojson", {"id": "H1", "name": "淹没区", "kind": "洪水",
                                         "effect": "封闭"}),
         Problem("水利局洪水.geojson", "duplicate id 'H1', already used in hazards.geojson", "id",
                 1, "H1")),
    Case("hazards", "unknown-chinese-effect",
         hazard_file("水利局洪水.geojson", {"id": "W1", "name": "淹没区", "kind": "洪水",
                                         "effect": "淹了"}),
         Problem("水利局洪水.geojson", "found '淹了'; expected closed or slowed", "effect", 1,
                 "W1")),
    Case("hazards", "slowed-without-factor",
         hazard_file("水利局洪水.geojson", {"id": "W1", "name": "淹没区", "kind": "洪水",
                                         "effect": "缓行"}),
         Problem("水利局洪水.geojson", "needs a speed_factor", "speed_factor", 1, "W1")),
    Case("hazards", "a-spreadsheet-of-zones",
         both(xlsx_file("灾害.xlsx", [["编号", "名称", "类型", "影响"],
                                    ["X1", "淹没区", "洪水", "封闭"]]),
              toml_sub('path = "hazards.geojson"', 'path = ["hazards.geojson", "灾害.xlsx"]')),
         Problem("灾害.xlsx", "holds points, and the hazards layer is areas", "geometry")),
    Case("hazards", "a-folder-of-files", hazard_folder,
         Accepts(all_of(hazard_is("W1", effect="slowed", kind="flood"),
                        hazard_is("H1", effect="closed")))),
    # --- text that is not data ------------------------------------------------------------
    Case("text", "osc-title-in-a-team-name",
         sub("teams.csv", "T1,东村微型消防站", "T1,东村\x1b]0;pwned\x07微型消防站"),
         Warns("the text holds control characters")),
    Case("text", "colour-escape-in-a-warning-point",
         warning_points("W1,东村\x1b[31m大喇叭,大喇叭,300,1.515,42.5005\n"),
         Warns("the text holds control characters")),
    Case("text", "c1-csi-in-a-village-name", sub("villages.csv", "V2,西村", "V2,西\x9b31m村"),
         Warns("the text holds control characters")),
    Case("text", "bidi-override-in-a-name", sub("villages.csv", "V2,西村", "V2,西\u202e村"),
         Warns("the text holds control characters")),
    Case("text", "escape-in-a-name-runs",
         sub("teams.csv", "T2,东镇应急救援队", "T2,东镇\x1b[2J应急救援队"),
         Accepts(coverage_written), COVERAGE),
    Case("text", "hostile-warning-point",
         warning_points(f"W1,喇叭{HOSTILE},大喇叭,300,1.515,42.5005\n"),
         Accepts(all_of(as_typed("warnings.html", f"喇叭{HOSTILE}"),
                        csv_has("warning_points.csv", "name", f"喇叭{HOSTILE}"))), RUN),
    Case("text", "hostile-team-in-the-report",
         sub("teams.csv", "东镇应急救援队", f"救援队{HOSTILE}"),
         Accepts(as_typed("report.html", f"救援队{HOSTILE}")), RUN),
    Case("text", "hostile-hazard-name",
         hazard_file("水利局洪水.geojson", {"id": "W1", "name": f"淹没区{HOSTILE}", "kind": "洪水",
                                         "effect": "封闭"}),
         Accepts(hazard_is("W1", name=f"淹没区{HOSTILE}"))),
    Case("text", "c1-in-an-id", sub("villages.csv", "V2,西村", "V\x9b2,西村"),
         Problem("villages.csv", "is not usable", "id", 2)),
    Case("text", "hostile-social-force-in-the-report",
         teams_columns(["availability", "mobilisation_min"], {},
                       SOCIAL.replace("蓝天救援队", f"蓝天救援队{HOSTILE}") + ",0.6,10"),
         Accepts(as_typed("report.html", f"蓝天救援队{HOSTILE}")), RUN),
    Case("text", "hostile-plan-site-in-the-report",
         plan(f"N1,新站{HOSTILE},micro_fire_station,add,1.5620,42.5400\n"),
         Accepts(as_typed("report.html", f"新站{HOSTILE}")), with_plan("run")),
    Case("text", "bang-in-the-path", moved_under_bang, Accepts(coverage_written),
         ("coverage", "{parent}/a!b/tiny", "--out", "{out}")),
    # --- road lines ----------------------------------------------------------------------------
    Case("roads", "null-and-point-features",
         road_file([({"highway": "primary"}, line(WEST, MID)),
                    ({"highway": "primary"}, line(MID, EAST)),
                    ({"highway": "primary"}, None), ({"highway": "primary"}, POINT)]),
         Warns("2 feature(s) that are not lines"), NETWORK),
    Case("roads", "points-only",
         road_file([({"highway": "primary"}, POINT), ({"highway": "primary"}, None)]),
         Fails("no lines; expected road centre lines"), NETWORK),
    Case("roads", "register-without-class-field", road_file(REGISTER),
         Accepts(road_classes("secondary", "unclassified", "track")), NETWORK),
    Case("roads", "multilinestring",
         road_file([({"highway": "primary"}, {"type": "MultiLineString", "coordinates": [
             [list(WEST), list(MID)], [list(MID), list(EAST)]]})]),
         Accepts(network_built), NETWORK),
    Case("roads", "register-unknown-grade",
         road_file([({"技术等级": "五级公路"}, line(WEST, MID)), *REGISTER[1:]]),
         Warns("no road grade recognised in 1 row(s)"), NETWORK),
    Case("roads", "register-with-nulls",
         road_file([*REGISTER, ({"技术等级": "四级公路"}, None)]),
         Warns("1 feature(s) that are not lines"), NETWORK),
    # --- output folders ------------------------------------------------------------------------
    Case("output", "run-into-the-district", NOTHING, Fails("holds input files of this run"),
         ("run", "{d}", "--out", "{d}"), UNTOUCHED),
    Case("output", "coverage-into-the-district", NOTHING,
         Fails("holds input files of this run"), ("coverage", "{d}", "--out", "{d}"), UNTOUCHED),
    Case("output", "check-into-the-district", NOTHING, Fails("holds input files of this run"),
         ("check", "{d}", "--out", "{d}"), UNTOUCHED),
    Case("output", "scenario-into-the-district", NOTHING,
         Fails("holds input files of this run"), ("scenario", "{d}", "--out", "{d}"),
         UNTOUCHED),
    Case("output", "site-into-the-district", NOTHING, Fails("holds input files of this run"),
         ("site", "{d}", "--kind", "stockpile", "--out", "{d}"), UNTOUCHED),
    Case("output", "district-spelt-with-dot", NOTHING, Fails("holds input files of this run"),
         ("coverage", "{d}", "--out", "{d}/."), UNTOUCHED),
    Case("output", "district-spelt-with-dotdot", NOTHING,
         Fails("holds input files of this run"), ("coverage", "{d}", "--out", "{d}/../tiny"),
         UNTOUCHED),
    Case("output", "into-a-folder-of-inputs",
         both(lambda d: (d / "灾害").mkdir(),
              lambda d: shutil.move(str(d / "hazards.geojson"), str(d / "灾害" / "h.geojson")),
              toml_sub('path = "hazards.geojson"', 'path = "灾害/h.geojson"')),
         Fails("holds input files of this run"), ("coverage", "{d}", "--out", "{d}/灾害"),
         UNTOUCHED),
    Case("output", "a-new-folder-inside", NOTHING, Accepts(coverage_written),
         ("coverage", "{d}", "--out", "{d}/out")),
]


# --- running a case --------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def idle_scheduler() -> Iterator[str]:
    """A Dask scheduler on 127.0.0.1 with no worker (``dask scheduler`` in a subprocess)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() - t0 > 60:
                    pytest.fail("the test's Dask scheduler did not start")
                time.sleep(0.2)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _files(root: Path) -> dict[Path, str]:
    """Every file under ``root`` (road caches aside) with its SHA-256."""
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and ".emgis-cache" not in p.parts}


def _prepared(case: Case, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
              lang: str | None = None) -> Case:
    """The case with its placeholders filled and its patches applied."""
    import emgis.run.batch as batch

    for name, value in case.extra.get("patch", {}).items():
        monkeypatch.setattr(batch, name, value)
    for name, value in case.extra.get("env", {}).items():
        monkeypatch.setenv(name, value)
    sched = request.getfixturevalue("idle_scheduler") if case.extra.get("scheduler") else ""
    cmd = tuple(a.replace("{free_port}", str(_free_port())).replace("{scheduler}", sched)
                for a in case.cmd)
    return replace(case, cmd=cmd + (("--lang", lang) if lang else ()))


def _ran(case: Case, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
         lang: str | None = None) -> tuple[int, str, str]:
    """Edit, run, and check what holds for every case: no internal error or traceback, no
    raw ESC on the console, every earlier file byte-identical, a bounded time."""
    case.edit(tiny)
    run = _prepared(case, monkeypatch, request, lang)
    before = _files(tmp_path)
    t0 = time.monotonic()
    rc, stdout, stderr = _run(run, tiny, tmp_path / "out", capsys)
    seconds = time.monotonic() - t0
    text = stdout + stderr
    assert "internal error" not in text and "Traceback" not in text, text
    assert "\x1b" not in text and "\x9b" not in text, "a raw escape reached the console"
    after = _files(tmp_path)
    changed = sorted(str(p) for p, h in before.items() if after.get(p) != h)
    assert not changed, f"input files changed or removed: {changed}"
    if case.extra.get("district_untouched"):
        home = tiny if tiny.exists() else next(tmp_path.rglob("district.toml")).parent
        new = sorted(str(p) for p in after if p not in before and home in p.parents)
        assert not new, f"files written into the district: {new}"
    if "once" in case.extra:
        said = [ln for ln in text.splitlines() if case.extra["once"] in ln]
        assert len(said) == 1, said
    if "seconds" in case.extra:
        assert seconds < case.extra["seconds"], f"took {seconds:.0f} s"
    return rc, stdout, stderr


@pytest.mark.parametrize("case", CASES, ids=[f"{c.cls}-{c.id}" for c in CASES])
def test_bad_input_2(case: Case, tiny: Path, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                     request: pytest.FixtureRequest) -> None:
    rc, stdout, stderr = _ran(case, tiny, tmp_path, capsys, monkeypatch, request)
    e = case.expect
    if isinstance(e, Problem):
        assert rc == 2, (rc, stdout, stderr)
        lines = [ln for ln in stderr.splitlines() if ln.strip().startswith("error:")
                 and e.file in ln and e.words in ln]
        assert lines, f"no error line with {e.file!r} and {e.words!r}:\n{stderr}"
        line = lines[0]
        if e.field is not None:
            assert f"field '{e.field}'" in line, line
        if e.row is not None:
            assert f"row {e.row}," in line, line
        if e.rid is not None:
            assert f"id {e.rid}," in line, line
    elif isinstance(e, Fails):
        assert rc == 2, (rc, stdout, stderr)
        assert e.words in stderr, stderr
    elif isinstance(e, Warns):
        assert rc == 0, (rc, stdout, stderr)
        assert e.words in stdout + stderr, stdout + stderr
    else:
        assert isinstance(e, Accepts)
        assert rc == 0, (rc, stdout, stderr)
        home = tiny if tiny.exists() else next(tmp_path.rglob("district.toml")).parent
        out = next((Path(case.cmd[i + 1].replace("{d}", str(tiny))) for i, a in
                    enumerate(case.cmd[:-1]) if a == "--out"), tmp_path / "out")
        e.check(home, out.resolve() if out.exists() else tmp_path / "out")


# --- the classes and the count -------------------------------------------------------------

#: Every class of fault this battery must hold.
CLASSES = ("province", "batch", "plan", "settings", "dates", "warning_points", "buildings",
           "checklist", "social", "townships", "ledgers", "hazards", "text", "roads", "output")


def test_cases_by_class(capsys: pytest.CaptureFixture[str]) -> None:
    """A table of the cases by class (printed; ``pytest -s`` shows it), every class present
    with at least 4 cases, at least 80 in all, and no two cases named alike."""
    count = Counter(c.cls for c in CASES)
    kinds = {cls: Counter(type(c.expect).__name__ for c in CASES if c.cls == cls)
             for cls in count}
    with capsys.disabled():
        print(f"\n{'class':<16}{'cases':>6}   outcomes")
        for cls in CLASSES:
            detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.get(cls, {}).items()))
            print(f"{cls:<16}{count.get(cls, 0):>6}   {detail}")
        print(f"{'total':<16}{len(CASES):>6}")
    assert set(count) == set(CLASSES)
    assert all(count[cls] >= 4 for cls in CLASSES), count
    assert len(CASES) >= 80
    assert len({f"{c.cls}-{c.id}" for c in CASES}) == len(CASES)


# --- the same faults told in Chinese ---------------------------------------------------------

#: Names a Chinese message writes as they are, beyond the first round's: programs and their
#: settings (Dask's temporary-directory, TMPDIR), address and size syntax, AB岗 (A/B posts).
PROPER_2 = {"Dask", "dask", "TMPDIR", "temporary", "directory", "tcp", "HOST", "PORT", "http",
            "MB", "GB", "MiB", "GiB", "Excel", "xlsx", "xls", "Windows", "WPS", "AB", "HTML"}

ZH_CASES = [c for c in CASES if isinstance(c.expect, (Problem, Fails, Warns))]


def _all_input_words(root: Path) -> set[str]:
    """The ASCII words of every file a case wrote (names, ids, values, file names), the cells
    of its workbooks included."""
    words: set[str] = set()
    for f in root.rglob("*"):
        words |= set(re.findall(r"[A-Za-z]+", f.name))
        if not f.is_file() or ".emgis-cache" in f.parts:
            continue
        if f.suffix == ".xlsx":
            import openpyxl

            try:
                wb = openpyxl.load_workbook(f, read_only=True)
            except Exception:
                text = f.read_bytes().decode("utf-8", "replace")
            else:
                text = " ".join(str(v) for ws in wb.worksheets
                                for row in ws.iter_rows(values_only=True) for v in row if v)
        elif f.suffix == ".xls":
            text = ""
        else:
            data = f.read_bytes()
            text = data.decode("utf-8", "replace") + data.decode("gbk", "replace")
        words |= set(re.findall(r"[A-Za-z]+", text))
    return words


@pytest.mark.parametrize("case", ZH_CASES, ids=[f"{c.cls}-{c.id}" for c in ZH_CASES])
def test_bad_input_2_in_chinese(case: Case, tiny: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch,
                                request: pytest.FixtureRequest) -> None:
    """With --lang zh: the same exit code, the same culprit (file, 第 N 行, 编号, 字段) and no
    English word but ids, names, values, file names, the command's words and the keys and
    fields a planner writes."""
    rc, stdout, stderr = _ran(case, tiny, tmp_path, capsys, monkeypatch, request, lang="zh")
    text = stdout + stderr
    e = case.expect
    assert rc == (0 if isinstance(e, Warns) else 2), (rc, text)
    if isinstance(e, Problem):
        lines = [ln for ln in stderr.splitlines() if ln.strip().startswith("错误：")
                 and e.file in ln]
        assert lines, stderr
        line = next((ln for ln in lines if (e.field is None or f"字段 '{e.field}'" in ln)
                     and (e.row is None or f"第 {e.row} 行" in ln)
                     and (e.rid is None or f"编号 {e.rid}" in ln)), None)
        assert line is not None, stderr
    elif isinstance(e, Fails):
        assert "错误" in stderr or "失败" in stderr, stderr  # a batch's district: 失败
    from emgis.run.batch import PROVINCE_KEYS

    allowed = PROPER | _config_words() | _all_input_words(tmp_path) | set(PROVINCE_KEYS) | {
        w for a in case.cmd for w in re.findall(r"[A-Za-z]+", a)} | PROPER_2
    # the district's CRS is named as pyproj names it (CGCS2000 / 3-degree Gauss-Kruger CM 117E)
    text = re.sub(r"坐标系：.*", "", text)
    assert english_words(text, allowed) == set(), text


def test_2052_is_still_ahead() -> None:
    """The drill dated 2052 is a date after today, as the dates cases need."""
    assert dt.date.today() < dt.date(2052, 3, 1)
