"""Build data/demo-ledgers/: the demo district as a county bureau would hold it.

Usage::

    python scripts/build_demo_ledgers.py [--demo data/demo] [--out data/demo-ledgers]

The same district as ``data/demo`` (same ids, names, numbers and coordinates), written the way
the files reach a planner (``shared/spec/mission.md``, "What a bureau actually holds"): Excel
ledgers (台账) with a title row, a 填报单位/填报日期 row, Chinese headers (one merged over two
rows), a 合计 row and numbers typed as text; an old ``.xls`` written with xlwt; coordinates as
degrees-minutes-seconds text or as a "lon,lat" pair in one cell; vector files with Chinese
columns and values; the hazards as one file per bureau; and the roads twice: the demo's OSM
extract (so travel times stay comparable) and a rural-road register (农村公路) derived from it.
There is deliberately no ``district.toml``: ``emgis init`` writes it.

The demo's files are read with pandas/geopandas (never through emgis), and every rule is
deterministic: running the script again writes identical bytes (the workbooks' dates and the zip
entries' times are pinned and their XML parts canonicalised, as openpyxl writes them differently
with and without lxml; the GeoPackage's timestamp through GDAL's ``OGR_CURRENT_DATE``). The
values are as illustrative as the demo's (see data/demo/README.md). Map data © OpenStreetMap
contributors, ODbL 1.0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import itertools
import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import canonicalize

import geopandas as gpd
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]

#: The one date every file carries (workbook properties, 填报日期, zip entries, GeoPackage).
PINNED = dt.datetime(2026, 1, 15, 9, 0, 0)
REPORT_DATE = "2026年1月15日"
UNIT = "某某区应急管理局"
AUTHOR = "emgis demo"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

TEAM_KINDS_ZH = {
    "micro_fire_station": "微型消防站", "fire_station": "消防站",
    "township_fire_brigade": "乡镇专职消防队", "township_rescue_team": "乡镇应急救援队",
    "village_team": "村应急队", "forest_fire_team": "森林消防队", "medical": "医疗点",
    "enterprise_brigade": "企业专职消防队", "social_rescue_team": "社会救援队",
}
VILLAGE_KINDS_ZH = {"village": "村", "community": "社区"}
LEVELS_ZH = {"county": "县级", "township": "乡镇级", "village": "村级"}
SHELTER_KINDS_ZH = {"emergency": "紧急", "fixed": "固定"}
WARNING_KINDS_ZH = {"loudspeaker": "大喇叭", "siren": "警报器", "warning_point": "预警点"}
HAZARD_KINDS_ZH = {"flood": "洪涝", "forest_fire": "森林火灾", "other": "其他"}
EFFECTS_ZH = {"closed": "封闭", "slowed": "减速"}
YES_NO = {"是", "否"}


# --- values ---------------------------------------------------------------------------------

def dms(value: float) -> str:
    """Degrees as 度分秒 text, exact for six decimals: 1.521247 -> ``1°31′16.4892″``."""
    micro = round(abs(value) * 1_000_000)
    tenk = micro * 36  # 1e-4 arc seconds: 1e-6 degree = 0.0036 s
    deg, rest = divmod(tenk, 3600 * 10_000)
    minutes, sec = divmod(rest, 60 * 10_000)
    s = f"{sec // 10_000}.{sec % 10_000:04d}".rstrip("0").rstrip(".")
    return f"{'-' if value < 0 else ''}{deg}°{minutes}′{s}″"


def num(text: str) -> int | float | None:
    """A CSV cell as the number it holds (None when empty)."""
    if text == "":
        return None
    f = float(text)
    return int(f) if f.is_integer() and "." not in text else f


def date(text: str) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def coord(text: str) -> float:
    return float(text)


# --- workbooks --------------------------------------------------------------------------------

def _pin_zip(data: bytes) -> bytes:
    """An .xlsx with every zip entry dated :data:`PINNED` and the core properties' dates
    pinned, so that the bytes do not depend on when it was written."""
    stamp = PINNED.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.endswith((".xml", ".rels")):
                # canonical XML (C14N 2.0): openpyxl writes the same document with lxml or
                # with the standard library, but not the same bytes
                text = canonicalize(body.decode("utf-8"))
                if info.filename == "docProps/core.xml":
                    text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                                  rf"\g<1>{stamp}\g<3>", text)
                body = (XML_DECLARATION + text).encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=PINNED.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def write_xlsx(path: Path, sheet: str, title: str, header: Sequence[Any],
               rows: Iterable[Sequence[Any]], *, total: Sequence[Any] | None = None,
               header2: Sequence[Any] | None = None, merges: Sequence[str] = (),
               notes: Sequence[str] = (), widths: dict[str, float] | None = None) -> None:
    """A ledger sheet: title row merged across, 填报单位/填报日期 row, a header of one or two
    rows (``header2`` and ``merges`` for the second), the records, a 合计 row; a second sheet
    of notes (填表说明) when ``notes`` are given."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.properties.creator = AUTHOR
    wb.properties.lastModifiedBy = AUTHOR
    wb.properties.created = PINNED
    wb.properties.modified = PINNED
    ws = wb.active
    ws.title = sheet
    n = len(header)
    last = get_column_letter(n)
    ws.append([title])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    half = max(1, n // 2)
    row2: list[Any] = [None] * n
    row2[0] = f"填报单位：{UNIT}"
    row2[half] = f"填报日期：{REPORT_DATE}"
    ws.append(row2)
    ws.merge_cells(f"A2:{get_column_letter(half)}2")
    if half + 1 < n:
        ws.merge_cells(f"{get_column_letter(half + 1)}2:{last}2")
    ws.append(list(header))
    if header2 is not None:
        ws.append(list(header2))
    for m in merges:
        ws.merge_cells(m)
    for r in ws.iter_rows(min_row=3, max_row=4 if header2 is not None else 3):
        for c in r:
            c.font = Font(bold=True)
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        ws.append(list(row))
        for c in ws[ws.max_row]:
            if isinstance(c.value, dt.datetime):
                c.number_format = "yyyy-mm-dd"
    if total is not None:
        ws.append(list(total))
    for letter, w in (widths or {}).items():
        ws.column_dimensions[letter].width = w
    if notes:
        ns = wb.create_sheet("填表说明")
        for line in notes:
            ns.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_pin_zip(buf.getvalue()))


def write_xls(path: Path, sheet: str, title: str, header: Sequence[str],
              rows: Iterable[Sequence[Any]], *, total: Sequence[Any] | None = None) -> None:
    """The old binary .xls (BIFF8) with xlwt: title row merged, 填报 row, header, records."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet(sheet)
    bold = xlwt.easyxf("font: bold on; align: horiz center")
    n = len(header)
    ws.write_merge(0, 0, 0, n - 1, title, bold)
    ws.write(1, 0, f"填报单位：{UNIT}")
    ws.write(1, max(1, n // 2), f"填报日期：{REPORT_DATE}")
    for j, h in enumerate(header):
        ws.write(2, j, h, bold)
    r = 3
    for row in rows:
        for j, v in enumerate(row):
            if v is not None:
                ws.write(r, j, v)
        r += 1
    if total is not None:
        for j, v in enumerate(total):
            if v is not None:
                ws.write(r, j, v)
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())


# --- vector files -----------------------------------------------------------------------------

def _jsonable(v: Any) -> Any:
    if v is None or (isinstance(v, float) and v != v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def write_geojson(path: Path, name: str, gdf: gpd.GeoDataFrame,
                  columns: dict[str, str]) -> None:
    """A GeoJSON FeatureCollection (WGS-84, so no ``crs`` member) with the columns renamed;
    coordinates exactly as read (Python's shortest repr), one feature per line."""
    feats = []
    for _, row in gdf.iterrows():
        props = {zh: _jsonable(row[src]) for src, zh in columns.items()}
        geom = shapely.geometry.mapping(row.geometry)
        feats.append(json.dumps({"type": "Feature", "properties": props, "geometry": geom},
                                ensure_ascii=False, separators=(",", ":")))
    text = ('{"type":"FeatureCollection","name":' + json.dumps(name, ensure_ascii=False)
            + ',"features":[\n' + ",\n".join(feats) + "\n]}\n")
    path.write_text(text, encoding="utf-8")


# --- the layers -------------------------------------------------------------------------------

def _csv(demo: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(demo / name, dtype=str, keep_default_na=False)


def villages(demo: Path, out: Path) -> None:
    v = _csv(demo, "villages.csv")
    header = ["村（社区）编码", "村（社区）名称", "所属乡镇（街道）", "类型", "常住人口", "户数",
              "网格员", "服务站人员", "年演练次数", "最近演练日期", "坐标", None, "OSM编号"]
    header2 = [None] * 10 + ["经度", "纬度", None]
    merges = [f"{c}3:{c}4" for c in "ABCDEFGHIJM"] + ["K3:L3"]
    rows = []
    for r in v.to_dict("records"):
        rows.append([r["id"], r["name"], r["township"], VILLAGE_KINDS_ZH[r["kind"]],
                     num(r["population"]), num(r["households"]), num(r["grid_members"]),
                     num(r["service_centre_staff"]), num(r["drills_per_year"]),
                     date(r["last_drill"]), dms(coord(r["lon"])), dms(coord(r["lat"])),
                     r["osm_id"]])
    total = ["合计", None, None, None, int(v["population"].astype(int).sum()),
             int(v["households"].astype(int).sum()), int(v["grid_members"].astype(int).sum()),
             None, None, None, None, None, None]
    write_xlsx(out / "村庄台账.xlsx", "村庄", "某某区村庄（社区）基本情况台账", header, rows,
               total=total, header2=header2, merges=merges,
               widths={"B": 22, "C": 20, "K": 16, "L": 16},
               notes=["填表说明：", "1. 人口为常住人口（示意数据，非真实统计）。",
                      "2. 坐标为 WGS-84 经纬度，度分秒格式。",
                      "3. 地图数据 © OpenStreetMap contributors。"])


def teams(demo: Path, out: Path) -> None:
    t = _csv(demo, "teams.csv")
    header = ["序号", "队伍编号", "队伍名称", "队伍类型", "队员人数", "专职人数", "所属乡镇",
              "所属村编码", "年演练次数", "最近演练日期", "可用率", "动员时间（分钟）", "经度",
              "纬度", "OSM编号"]
    rows = []
    for i, r in enumerate(t.to_dict("records"), start=1):
        head: Any = num(r["headcount"])
        if i % 5 == 0:  # numbers typed as text, as ledgers hold some
            head = str(head)
        rows.append([i, r["id"], r["name"], TEAM_KINDS_ZH[r["kind"]], head,
                     num(r["full_time"]), r["township"], r["village"] or None,
                     num(r["drills_per_year"]), date(r["last_drill"]),
                     num(r["availability"]), num(r["mobilisation_min"]), coord(r["lon"]),
                     coord(r["lat"]), r["osm_id"]])
    total = ["合计", None, None, None, int(t["headcount"].astype(int).sum())] + [None] * 10
    write_xlsx(out / "救援队伍台账.xlsx", "救援队伍", "某某区应急救援队伍统计表", header, rows,
               total=total, widths={"C": 36, "D": 16})


def stockpiles(demo: Path, out: Path) -> None:
    s = _csv(demo, "stockpiles.csv")
    header = ["储备点编号", "储备点名称", "储备级别", "所属乡镇", "储备物资", "经纬度"]
    rows = [[r["id"], r["name"], LEVELS_ZH[r["level"]], r["township"], r["items"],
             f"E{r['lon']},N{r['lat']}"] for r in s.to_dict("records")]
    write_xls(out / "物资储备点.xls", "物资储备点", "某某区应急物资储备点台账", header, rows,
              total=["合计", f"{len(rows)} 处", None, None, None, None])


def warning_points(demo: Path, out: Path) -> None:
    w = _csv(demo, "warning_points.csv")
    header = ["设备编号", "设备名称", "设备类型", "所属乡镇", "覆盖半径（米）", "经度", "纬度"]
    rows = [[r["id"], r["name"], WARNING_KINDS_ZH[r["kind"]], r["township"],
             num(r["radius_m"]), coord(r["lon"]), coord(r["lat"])]
            for r in w.to_dict("records")]
    write_xlsx(out / "预警设施.xlsx", "预警设施", "某某区预警信息发布设施台账", header, rows,
               total=["合计", f"{len(rows)} 处", None, None, None, None, None],
               widths={"B": 36})


def shelters(demo: Path, out: Path) -> None:
    g = gpd.read_file(demo / "shelters.geojson")
    g["kind"] = g["kind"].map(SHELTER_KINDS_ZH)
    write_geojson(out / "避难场所.geojson", "避难场所", g,
                  {"id": "编号", "name": "名称", "kind": "类型", "area_m2": "面积",
                   "township": "所属乡镇", "osm_id": "OSM编号"})


def townships(demo: Path, out: Path) -> None:
    g = gpd.read_file(demo / "townships.geojson")
    cols = {"name": "乡镇名称", "office_fulltime_staff": "应急办专职人员",
            "station_posts": "编制岗位数", "station_fulltime_posts": "专职岗位数",
            "builtup_km2": "建成区面积", "office": "办公场所", "satellite_phones": "卫星电话",
            "video_conference": "视频会商系统", "broadcast_system": "应急广播",
            "duty_system": "值班制度", "enforcement_team": "执法队伍",
            "emergency_plan": "应急预案", "warning_education_site": "警示教育场所",
            "osm_id": "OSM编号"}
    for c in cols:
        if c in g and g[c].dtype == object:
            bad = set(g[c].dropna()) - YES_NO
            assert c in ("name", "osm_id") or not bad, (c, bad)
    write_geojson(out / "乡镇边界.geojson", "乡镇边界", g, cols)


def hazards(demo: Path, out: Path) -> None:
    g = gpd.read_file(demo / "hazards.geojson")
    g["kind_zh"] = g["kind"].map(HAZARD_KINDS_ZH)
    g["effect_zh"] = g["effect"].map(EFFECTS_ZH)
    cols = {"id": "编号", "name": "名称", "kind_zh": "类型", "effect_zh": "影响",
            "speed_factor": "速度系数"}
    write_geojson(out / "洪水淹没范围.geojson", "洪水淹没范围", g[g["kind"] == "flood"], cols)
    write_geojson(out / "山火风险区.geojson", "山火风险区", g[g["kind"] == "forest_fire"], cols)
    assert set(g["kind"]) <= {"flood", "forest_fire"}


#: OSM classes that are no road for a vehicle: not in the register.
NOT_ROADS = {"path", "footway", "steps", "pedestrian", "cycleway", "bridleway", "via_ferrata",
             "raceway", "construction", "proposed", "corridor", "elevator", "platform"}
#: OSM classes not among register.CLASS_LABELS: the class whose grade they take.
CLASS_OF = {"trunk": "primary", "residential": "unclassified", "living_street": "unclassified",
            "service": "unclassified", "road": "unclassified"}
#: Administrative grade (route-code letter) per OSM class: illustrative.
ADMIN_OF = {"motorway": "G", "trunk": "G", "primary": "S", "secondary": "X", "tertiary": "Y",
            "unclassified": "C", "residential": "C", "living_street": "C", "service": "C",
            "road": "C", "track": "Z"}
SURFACE_ZH = {"asphalt": "沥青混凝土", "concrete": "水泥混凝土", "paved": "沥青混凝土",
              "paving_stones": "块石", "sett": "块石", "cobblestone": "块石",
              "gravel": "砂石", "fine_gravel": "砂石", "compacted": "砂石", "unpaved": "未铺装",
              "dirt": "土路", "ground": "土路", "earth": "土路", "mud": "土路", "grass": "土路"}


def _surface(cls: str, other: object) -> str:
    m = re.search(r'"surface"=>"([^"]*)"', other if isinstance(other, str) else "")
    if m and m.group(1) in SURFACE_ZH:
        return SURFACE_ZH[m.group(1)]
    if cls == "track":
        return "砂石"
    if cls in ("residential", "living_street", "service", "unclassified"):
        return "水泥混凝土"
    return "沥青混凝土"


def register_roads(pbf: Path, out: Path) -> None:
    """A rural-road register (农村公路) from the OSM ways: 技术等级 by the inverse of
    emgis.roads.register.CLASS_LABELS (links and classes it lacks take their parent's grade),
    行政等级 and 路线编码 by class (illustrative), 路面类型 from ``surface`` or the class."""
    from emgis.roads.register import ADMIN_NAMES, CLASS_LABELS, GRADE_NAMES

    grade_of_class = {label: GRADE_NAMES[key] for key, label in CLASS_LABELS.items()}
    g = gpd.read_file(pbf, layer="lines")
    g = g[g["highway"].notna() & ~g["highway"].isin(NOT_ROADS)].copy()
    g["osm_num"] = g["osm_id"].astype("int64")
    g = g.sort_values("osm_num", kind="stable").reset_index(drop=True)
    base = g["highway"].str.removesuffix("_link")
    cls = base.map(lambda c: CLASS_OF.get(c, c))
    keep = cls.isin(grade_of_class.keys())
    g, base, cls = g[keep].reset_index(drop=True), base[keep].reset_index(drop=True), \
        cls[keep].reset_index(drop=True)
    letters = base.map(ADMIN_OF).fillna("C")
    codes: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    count: dict[str, int] = {}
    for letter, name, oid in zip(letters, g["name"], g["osm_id"], strict=True):
        key = (letter, name if isinstance(name, str) and name else f"osm{oid}")
        if key not in seen:
            count[letter] = count.get(letter, 0) + 1
            seen[key] = f"{letter}{count[letter]:03d}"
        codes.append(seen[key])
    whole = pd.DataFrame({
        "路线编码": codes,
        "路线名称": g["name"].fillna(""),
        "行政等级": letters.map(ADMIN_NAMES),
        "技术等级": cls.map(grade_of_class),
        "路面类型": [_surface(c, o) for c, o in zip(cls, g["other_tags"], strict=True)],
        "OSM编号": "w" + g["osm_id"].astype(str),
    })
    # register lines meet where their ends meet: cut every way at the nodes it shares with
    # another way (or with itself), as the register's sections end at junctions
    arrays = [shapely.get_coordinates(geom) for geom in g.geometry]
    uses: dict[tuple[float, float], int] = {}
    for arr in arrays:
        for xy in map(tuple, arr):
            uses[xy] = uses.get(xy, 0) + 1
    rows, pieces = [], []
    for i, arr in enumerate(arrays):
        cuts = [0] + [k for k in range(1, len(arr) - 1) if uses[tuple(arr[k])] > 1] \
            + [len(arr) - 1]
        for a, b in itertools.pairwise(cuts):
            rows.append(i)
            pieces.append(shapely.LineString(arr[a:b + 1]))
    reg = gpd.GeoDataFrame(whole.iloc[rows].reset_index(drop=True), geometry=pieces,
                           crs="EPSG:4326")
    target = out / "农村公路.gpkg"
    target.unlink(missing_ok=True)
    old = os.environ.get("OGR_CURRENT_DATE")
    os.environ["OGR_CURRENT_DATE"] = PINNED.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    try:
        reg.to_file(target, layer="农村公路", driver="GPKG", engine="pyogrio")
    finally:
        if old is None:
            os.environ.pop("OGR_CURRENT_DATE", None)
        else:
            os.environ["OGR_CURRENT_DATE"] = old


README = """\
# 演示台账：the demo district as a county bureau holds it (illustrative)

The district of `../demo` (Andorra: parishes play townships, settlements play villages), written
the way the files reach a planner: Excel/WPS ledgers (台账) with title rows and Chinese headers,
an old `.xls`, coordinates as text, vector files with Chinese columns and values, hazard zones
one file per bureau, and a rural-road register. Built by `python scripts/build_demo_ledgers.py`
from the files of `../demo`; rerunning it writes identical files.

There is deliberately **no `district.toml`**: it is what `emgis init` writes.

    emgis init data/demo-ledgers --lang zh
    emgis validate data/demo-ledgers
    emgis run data/demo-ledgers --out maps/demo-ledgers

## The files

- `村庄台账.xlsx` (villages): sheet 村庄: title row merged across, 填报单位/填报日期 row, a
  two-row header (坐标 merged over 经度/纬度, the other headers merged down), 类型 村/社区,
  常住人口, coordinates as degrees-minutes-seconds text (`1°31′16.4892″`), last drills as
  Excel dates, a 合计 row; a second sheet 填表说明 of notes.
- `救援队伍台账.xlsx` (teams): title and 填报 rows, 序号 column, 队伍类型 in words
  (微型消防站, 消防站, 乡镇应急救援队, 村应急队, 森林消防队, 医疗点, 企业专职消防队,
  社会救援队), every fifth 队员人数 typed as text, decimal 经度/纬度, a 合计 row.
- `物资储备点.xls` (stockpiles): old binary Excel (xlwt), 储备级别 县级/乡镇级/村级,
  coordinates as a `lon,lat` pair in one cell (经纬度: `E1.522626,N42.507325`; outside China
  the two values cannot be told apart by their ranges, so the hemisphere marks say which is
  which), a 合计 row.
- `预警设施.xlsx` (warning points): 设备类型 大喇叭/警报器, 覆盖半径（米）, a 合计 row.
- `避难场所.geojson` (shelters): 编号, 名称, 类型 紧急/固定, 面积 (m²), 所属乡镇.
- `乡镇边界.geojson` (townships): 乡镇名称, staff and posts, 建成区面积, the eight haves
  是/否.
- `洪水淹没范围.geojson`, `山火风险区.geojson` (hazards): one file each (water bureau,
  forestry bureau): 编号, 名称, 类型 洪涝/森林火灾, 影响 封闭/减速, 速度系数.
- `路网.osm.pbf` (roads): the demo's OSM extract, copied byte for byte, so travel times can be
  compared with `../demo`.
- `农村公路.gpkg` (roads, a second check): a register-style line layer derived from the OSM
  ways: 路线编码, 路线名称, 行政等级, 技术等级, 路面类型, OSM编号.

Ids, names, numbers and coordinates are those of `../demo` (the DMS text is exact to the demo's
six decimals), so `emgis init` then `emgis run` here gives the coverage of `../demo`.

## How the register was derived (`农村公路.gpkg`)

From the OSM `highway=*` ways of the extract, without footways, paths, steps, cycleways and the
like. 技术等级 is the inverse of emgis's register class labels (`emgis/roads/register.py`
`CLASS_LABELS`): motorway 高速公路, primary 一级公路, secondary 二级公路, tertiary 三级公路,
unclassified 四级公路, track 等外公路; links take their road's grade, trunk is 一级,
residential, living streets and service roads 四级. 行政等级 by class (motorway/trunk 国道,
primary 省道, secondary 县道, tertiary 乡道, minor roads 村道, tracks 专用公路) and 路线编码 its
letter with a number per named road; 路面类型 from OSM `surface` where tagged, else asphalt for
the main classes, concrete for minor roads and gravel for tracks. Each way is cut at the nodes
it shares with other ways (register lines meet only where their ends meet), so the sections join
as the OSM network does. The register is timed by grade and surface, not by OSM class, `maxspeed`
and `oneway`, so its minutes differ from the OSM network's: it is there for a second check of the
register path, not to reproduce the demo's minutes. Taking it instead of `路网.osm.pbf` (see the
commented line `emgis init` writes under `[roads]`), the nearest unit was the same for 89 % of
the village-kind pairs and the status for 99 % when this folder was built.

## Illustrative values

Every population, headcount, staff figure, drill, stockpile, shelter area, hazard effect and
road grade here is as illustrative as in `../demo` (see its README): none describes the real
Andorran services or roads. 某某区 and 某某区应急管理局 are placeholders.

Map data © OpenStreetMap contributors, under the Open Database License 1.0; these files,
derived from it, stay under the ODbL.
"""


def build(demo: Path, out: Path) -> list[Path]:
    """Write every file of the folder; returns them, sorted."""
    out.mkdir(parents=True, exist_ok=True)
    villages(demo, out)
    teams(demo, out)
    stockpiles(demo, out)
    warning_points(demo, out)
    shelters(demo, out)
    townships(demo, out)
    hazards(demo, out)
    shutil.copyfile(demo / "roads.osm.pbf", out / "路网.osm.pbf")
    register_roads(demo / "roads.osm.pbf", out)
    (out / "README.md").write_text(README, encoding="utf-8")
    return sorted(p for p in out.iterdir() if p.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo", type=Path, default=ROOT / "data" / "demo")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "demo-ledgers")
    args = ap.parse_args(argv)
    for p in build(args.demo, args.out):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
