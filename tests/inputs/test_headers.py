"""recognise and guess_layer: ledgers' headers found without ``fields``, the documented choices
between two columns, explicit fields, unit suffixes, and which layer a file is."""

from __future__ import annotations

import pytest

from emgis.inputs.fields import SCHEMAS
from emgis.inputs.headers import (
    SYNONYMS,
    guess_layer,
    is_known_header,
    normalise_header,
    recognise,
    required_fields,
    split_qualifier,
    synonym_table,
)
from emgis.texts import Msg, texts
from tests.conftest import catalogue_fields, english_words

ZH = texts("zh")

# --- the table ----------------------------------------------------------------------------------


def test_every_field_of_every_layer_has_synonyms() -> None:
    for name, schema in SCHEMAS.items():
        assert {f.name for f in schema.fields} <= set(SYNONYMS[name]), name
    assert {"unit", "village", "lon", "lat", "dispatch_time", "arrival_time"} <= set(
        SYNONYMS["calls"])
    for layer in ("villages", "teams", "stockpiles", "shelters", "warning_points"):
        assert {"lon", "lat"} <= set(SYNONYMS[layer])


def test_no_synonym_belongs_to_two_fields_of_a_layer() -> None:
    for layer, fields in SYNONYMS.items():
        owner: dict[str, str] = {}
        for f, syn in fields.items():
            assert syn.source, (layer, f)
            assert f in syn.names or f in ("id",) or f.isascii(), (layer, f)
            for n in syn.names:
                key = normalise_header(n)
                assert owner.setdefault(key, f) == f, (layer, n, owner[key], f)


def test_synonym_table_prints_every_field() -> None:
    text = synonym_table(markdown=True)
    assert "| villages | population | population、人口、" in text
    assert "| calls | arrival_time | arrival_time、到场时间、" in text
    assert len(synonym_table().splitlines()) == sum(len(f) for f in SYNONYMS.values())


@pytest.mark.parametrize(("header", "norm", "bare", "qualifier"), [
    ("人口（人）", "人口(人)", "人口", "人"),
    ("面积(㎡)", "面积(m2)", "面积", "m2"),
    ("容纳人数(人)", "容纳人数(人)", "容纳人数", "人"),
    ("容纳人数/人", "容纳人数/人", "容纳人数", "人"),
    ("常住人口\n（人）", "常住人口(人)", "常住人口", "人"),
    (" 经 度 ", "经度", "经度", ""),
    ("ID", "id", "id", ""),
    ("行政村（社区）", "行政村(社区)", "行政村", "社区"),
])
def test_normalise_and_qualifier(header: str, norm: str, bare: str, qualifier: str) -> None:
    assert normalise_header(header) == norm
    assert split_qualifier(norm) == (bare, qualifier)
    assert is_known_header(header)


# --- recognise: common ledger headers -----------------------------------------------------------

COMMON = {
    "villages": (["序号", "村(社区)编码", "行政村（社区）", "乡镇（街道）", "类型",
                  "户籍人口（人）", "户数", "网格员人数", "东经", "北纬", "备注"],
                 {"id": "村(社区)编码", "name": "行政村（社区）", "township": "乡镇（街道）",
                  "kind": "类型", "population": "户籍人口（人）", "households": "户数",
                  "grid_members": "网格员人数", "lon": "东经", "lat": "北纬"}),
    "teams": (["序号", "队伍编号", "队伍名称", "队伍类型", "队员人数", "专职人数", "所属乡镇",
               "所属村", "车辆数", "出动时间（分钟）", "最近演练日期", "经度", "纬度", "负责人",
               "联系电话"],
              {"id": "队伍编号", "name": "队伍名称", "kind": "队伍类型", "headcount": "队员人数",
               "full_time": "专职人数", "township": "所属乡镇", "village": "所属村",
               "engines": "车辆数", "turnout_min": "出动时间（分钟）",
               "last_drill": "最近演练日期", "lon": "经度", "lat": "纬度"}),
    "stockpiles": (["储备点编号", "储备点名称", "级别", "所属乡镇", "主要物资", "经度", "纬度"],
                   {"id": "储备点编号", "name": "储备点名称", "level": "级别",
                    "township": "所属乡镇", "items": "主要物资", "lon": "经度", "lat": "纬度"}),
    "shelters": (["场所编号", "避难场所名称", "场所类型", "可容纳人数（人）", "有效避难面积(㎡)",
                  "所在乡镇", "经度", "纬度"],
                 {"id": "场所编号", "name": "避难场所名称", "kind": "场所类型",
                  "capacity": "可容纳人数（人）", "area_m2": "有效避难面积(㎡)",
                  "township": "所在乡镇", "lon": "经度", "lat": "纬度"}),
    "hazards": (["图斑编号", "风险区名称", "灾种", "通行影响", "速度系数"],
                {"id": "图斑编号", "name": "风险区名称", "kind": "灾种", "effect": "通行影响",
                 "speed_factor": "速度系数"}),
    "warning_points": (["设备编号", "站点名称", "设备类型", "覆盖半径(米)", "乡镇", "经度",
                        "纬度"],
                       {"id": "设备编号", "name": "站点名称", "kind": "设备类型",
                        "radius_m": "覆盖半径(米)", "township": "乡镇", "lon": "经度",
                        "lat": "纬度"}),
    "townships": (["乡镇（街道）", "专职人员", "建成区面积（平方公里）", "卫星电话", "应急广播"],
                  {"name": "乡镇（街道）", "office_fulltime_staff": "专职人员",
                   "builtup_km2": "建成区面积（平方公里）", "satellite_phones": "卫星电话",
                   "broadcast_system": "应急广播"}),
    "buildings": (["楼栋编号", "层数"], {"floors": "层数"}),
    "calls": (["警情编号", "出警单位", "事发地点", "事发地经度", "事发地纬度", "接警时间",
               "出警时间", "到场时间"],
              {"id": "警情编号", "unit": "出警单位", "village": "事发地点", "lon": "事发地经度",
               "lat": "事发地纬度", "call_time": "接警时间", "dispatch_time": "出警时间",
               "arrival_time": "到场时间"}),
    "candidates": (["编号", "地点名称", "X", "Y"],
                   {"id": "编号", "name": "地点名称", "lon": "X", "lat": "Y"}),
}


@pytest.mark.parametrize("layer", list(COMMON))
def test_common_ledger_headers_recognised(layer: str) -> None:
    columns, expected = COMMON[layer]
    rec = recognise(columns, layer)
    assert dict(rec.mapping) == expected
    assert rec.errors == () and rec.warnings == ()
    assert set(rec.how.values()) == {"exact"}
    assert rec.unused == tuple(c for c in columns if c not in expected.values())


def test_english_field_names_still_work() -> None:
    rec = recognise(["id", "name", "township", "kind", "population", "lon", "lat"], "villages")
    assert rec.ok and rec.mapping["population"] == "population"


def test_missing_required_fields() -> None:
    rec = recognise(["村名", "人口"], "villages")
    assert rec.missing == ("id", "township", "kind", "lon", "lat")
    assert not rec.ok
    assert recognise(["村名", "人口"], "villages", coordinates=False).missing == (
        "id", "township", "kind")
    assert required_fields("calls") == ("unit", "dispatch_time", "arrival_time")


# --- two columns for one field -----------------------------------------------------------------

def test_population_prefers_resident_with_warning_and_line() -> None:
    rec = recognise(["村名", "户籍人口", "常住人口（人）"], "villages")
    assert rec.mapping["population"] == "常住人口（人）"
    assert rec.how["population"] == "preferred"
    assert rec.ambiguities["population"] == ("户籍人口", "常住人口（人）")
    assert rec.errors == ()
    assert list(rec.warnings) == [
        'field population of layer villages: columns "户籍人口", "常住人口（人）" could all hold '
        'it; "常住人口（人）" is taken (resident population 常住人口 is who is there in an '
        "emergency). To take another, write under [layers.villages]: "
        'fields = { population = "户籍人口" }']
    assert rec.warnings[0] == Msg(
        "header_ambiguous_preferred", field="population", layer="villages",
        columns=(Msg("header_quoted", name="户籍人口"),
                 Msg("header_quoted", name="常住人口（人）")),
        chosen="常住人口（人）", why=Msg("header_why_population"),
        lines=('fields = { population = "户籍人口" }',))
    assert rec.warnings[0].say(ZH) == (
        "图层 villages 的字段 population：列「户籍人口」、「常住人口（人）」都可能是它；"
        "已采用「常住人口（人）」（常住人口是发生灾害时实际在场的人口）。如需改用其他列，"
        '请在 [layers.villages] 下写：fields = { population = "户籍人口" }')
    assert "户籍人口" in rec.unused


def test_population_explicit_takes_the_other() -> None:
    rec = recognise(["村名", "户籍人口", "常住人口"], "villages",
                    explicit={"population": "户籍人口"})
    assert rec.mapping["population"] == "户籍人口"
    assert rec.how["population"] == "explicit"
    assert rec.warnings == () and rec.errors == ()


def test_shelter_area_prefers_usable_area() -> None:
    rec = recognise(["场所名称", "占地面积", "有效避难面积"], "shelters")
    assert rec.mapping["area_m2"] == "有效避难面积"
    assert 'fields = { area_m2 = "占地面积" }' in rec.warnings[0]


@pytest.mark.parametrize(("layer", "columns", "field", "message"), [
    ("villages", ["村名", "村庄名称", "人口"], "name",
     'field name of layer villages: columns "村名", "村庄名称" could all hold it and emgis '
     "does not guess; write under [layers.villages] one of: "
     'fields = { name = "村名" }, fields = { name = "村庄名称" }'),
    ("teams", ["队伍名称", "人数", "总人数"], "headcount",
     'field headcount of layer teams: columns "人数", "总人数" could all hold it and emgis '
     "does not guess; write under [layers.teams] one of: "
     'fields = { headcount = "人数" }, fields = { headcount = "总人数" }'),
    ("shelters", ["名称", "面积", "占地面积"], "area_m2",
     'field area_m2 of layer shelters: columns "面积", "占地面积" could all hold it and emgis '
     "does not guess; write under [layers.shelters] one of: "
     'fields = { area_m2 = "面积" }, fields = { area_m2 = "占地面积" }'),
    ("villages", ["村名", "户籍人口", "户籍人口数"], "population",
     'field population of layer villages: columns "户籍人口", "户籍人口数" could all hold it '
     "and emgis does not guess; write under [layers.villages] one of: "
     'fields = { population = "户籍人口" }, fields = { population = "户籍人口数" }'),
    ("teams", ["队伍名称", "队员人数合计", "人数小计"], "headcount",
     'field headcount of layer teams: columns "队员人数合计", "人数小计" could all hold it and '
     "emgis does not guess; write under [layers.teams] one of: "
     'fields = { headcount = "队员人数合计" }, fields = { headcount = "人数小计" }'),
])
def test_other_ambiguity_is_an_error(layer: str, columns: list[str], field: str,
                                     message: str) -> None:
    rec = recognise(columns, layer)
    assert field not in rec.mapping
    assert list(rec.errors) == [message]
    assert not rec.ok
    assert rec.ambiguities[field] == tuple(message.split('"')[1::2][:2])


@pytest.mark.parametrize(("explicit", "message"), [
    ({"populaton": "人口"},
     "fields = { populaton = ... }: layer villages has no field populaton; its fields are id, "
     "name, township, kind, population, service_centre_staff, drills_per_year, grid_members, "
     "households, last_drill, lon, lat"),
    ({"population": "人口数"},
     'fields = { population = "人口数" }: the table has no column "人口数"; its columns are '
     "村名, 人口"),
])
def test_explicit_errors(explicit: dict[str, str], message: str) -> None:
    rec = recognise(["村名", "人口"], "villages", explicit=explicit)
    assert list(rec.errors) == [message]


def test_explicit_wins_over_synonyms() -> None:
    rec = recognise(["村名", "村庄简称", "人口", "备用人口"], "villages",
                    explicit={"name": "村庄简称", "population": "备用人口"})
    assert rec.mapping["name"] == "村庄简称" and rec.mapping["population"] == "备用人口"
    assert rec.how["name"] == "explicit"
    assert "村名" in rec.unused and "人口" in rec.unused


def test_explicit_column_matched_normalised() -> None:
    rec = recognise(["常住人口（人）"], "villages", explicit={"population": "常住人口(人)"})
    assert rec.mapping["population"] == "常住人口（人）"


def test_extra_synonyms() -> None:
    rec = recognise(["村落", "丁口"], "villages", extra={"name": ["村落"], "population": ["丁口"]})
    assert rec.mapping["name"] == "村落" and rec.mapping["population"] == "丁口"


# --- containment and units ---------------------------------------------------------------------

@pytest.mark.parametrize(("columns", "layer", "field", "column"), [
    (["人口（人）"], "villages", "population", "人口（人）"),
    (["面积(㎡)"], "shelters", "area_m2", "面积(㎡)"),
    (["容纳人数(人)"], "shelters", "capacity", "容纳人数(人)"),
    (["容纳人数/人"], "shelters", "capacity", "容纳人数/人"),
    (["经度（°）", "纬度（°）"], "teams", "lat", "纬度（°）"),
    (["人数（名）"], "teams", "headcount", "人数（名）"),
])
def test_unit_suffixes(columns: list[str], layer: str, field: str, column: str) -> None:
    rec = recognise(columns, layer)
    assert rec.mapping[field] == column
    assert rec.how[field] == "exact"
    assert rec.warnings == ()


@pytest.mark.parametrize(("column", "field", "layer", "unit"), [
    ("人口（万人）", "population", "villages", "万人"),
    ("面积（亩）", "area_m2", "shelters", "亩"),
    ("覆盖半径(km)", "radius_m", "warning_points", "km"),
])
def test_foreign_unit_warns(column: str, field: str, layer: str, unit: str) -> None:
    rec = recognise([column], layer)
    assert rec.mapping[field] == column
    assert list(rec.warnings) == [rec.warnings[0]]
    assert f"is given in {unit}; emgis expects" in rec.warnings[0]
    assert rec.warnings[0].key == "header_unit_mismatch"
    assert f"的单位是 {unit}；emgis 要求以" in rec.warnings[0].say(ZH)


def test_containment_names_itself() -> None:
    rec = recognise(["队伍名称", "应急队员人数合计"], "teams")
    assert rec.mapping["headcount"] == "应急队员人数合计"
    assert rec.how["headcount"] == "contained"
    assert list(rec.warnings) == [
        'column "应急队员人数合计" taken as field headcount of layer teams because it contains '
        '"队员人数"; if that is wrong, map the field with fields = { headcount = "..." }']


def test_containment_tie_leaves_column_unused() -> None:
    rec = recognise(["乡镇村庄情况"], "villages")
    assert rec.mapping == {}
    assert rec.unused == ("乡镇村庄情况",)
    assert "could be field name, township of layer villages" in rec.warnings[0]


def test_exact_beats_containment() -> None:
    rec = recognise(["人数", "专职人数", "兼职人数"], "teams")
    assert rec.mapping["headcount"] == "人数" and rec.mapping["full_time"] == "专职人数"
    assert rec.unused == ("兼职人数",)
    assert rec.warnings == ()


def test_unknown_layer() -> None:
    with pytest.raises(KeyError, match="unknown layer 'roadz'"):
        recognise(["a"], "roadz")


# --- guess_layer --------------------------------------------------------------------------------

@pytest.mark.parametrize(("file_name", "sheet", "columns", "geometry", "layer"), [
    ("村庄台账.xlsx", None, ["村名", "人口"], None, "villages"),
    ("某某镇村情.xlsx", "Sheet1", [], None, "villages"),
    ("data.xlsx", None, ["行政村", "乡镇", "类型", "常住人口"], None, "villages"),
    ("救援队伍台账.xlsx", None, [], None, "teams"),
    ("乡镇应急救援队伍统计表.xlsx", None, ["队伍名称"], None, "teams"),
    ("物资储备点.xls", None, [], None, "stockpiles"),
    ("应急避难场所.geojson", None, ["名称", "容纳人数"], "Polygon", "shelters"),
    ("避难场所.csv", None, [], None, "shelters"),
    ("洪水淹没范围.shp", None, ["名称"], "MultiPolygon", "hazards"),
    ("山火风险区.gpkg", "风险区", [], "Polygon", "hazards"),
    ("2024年出警记录.xlsx", None, ["出警单位", "出警时间", "到场时间"], None, "calls"),
    ("export.xlsx", None, ["出警单位", "出警时间", "到场时间"], None, "calls"),
    ("大喇叭点位.csv", None, [], None, "warning_points"),
    ("乡镇边界.shp", None, ["乡镇名称"], "Polygon", "townships"),
    ("路网.gpkg", None, [], "LineString", "roads"),
    ("a.gpkg", None, [], "MultiLineString", "roads"),
    ("房屋.shp", None, ["层数"], "Polygon", "buildings"),
])
def test_guess_layer(file_name: str, sheet: str | None, columns: list[str],
                     geometry: str | None, layer: str) -> None:
    guesses = guess_layer(file_name=file_name, sheet=sheet, columns=columns, geometry=geometry)
    assert guesses[0][0] == layer, guesses[:3]
    assert guesses[0][1] > guesses[1][1]
    assert 0 < guesses[0][1] <= 1
    assert {g[0] for g in guesses} == {*SYNONYMS, "roads"}


def test_guess_layer_reasons() -> None:
    g = guess_layer(file_name="村庄台账.xlsx", sheet=None, columns=["村名", "人口"],
                    geometry=None)
    assert g[0] == ("villages", 0.56, 'the name "村庄台账" contains "村庄"; 2 of its 5 required '
                                      "fields found in the columns")
    assert g[0][2] == Msg("semicolon", a=Msg("header_reason_name", name="村庄台账", keyword="村庄"),
                          b=Msg("header_reason_columns", n=2, total=5))
    assert g[0][2].say(ZH) == "名称「村庄台账」含「村庄」；列中找到其 5 个必填字段中的 2 个"


def test_guess_layer_geometry_that_does_not_fit() -> None:
    g = dict((layer, (score, why)) for layer, score, why in guess_layer(
        file_name="洪水淹没范围.shp", sheet=None, columns=[], geometry="Point"))
    assert g["hazards"][0] == 0
    assert "points do not fit this layer (it needs polygons)" in g["hazards"][1]
    assert "点不符合该图层（需要面）" in g["hazards"][1].say(ZH)


# --- the messages in the catalogues -------------------------------------------------------------

#: ASCII words a Chinese header message may hold: emgis, the fields and layers a planner writes
#: in district.toml, and units written as they are.
ALLOWED = {"emgis", "fields", "layers", "m", "km", *SYNONYMS,
           *(f for fields in SYNONYMS.values() for f in fields)}






def test_messages_have_the_same_fields_in_both_languages() -> None:
    en, zh = texts("en").section("msg"), ZH.section("msg")
    keys = [k for k in en if k.startswith("header_")]
    assert len(keys) >= 25
    for key in keys:
        assert catalogue_fields(en[key]) == catalogue_fields(zh[key]), key
        said = ZH.fmt(f"msg.{key}", **{f: 7 for f in catalogue_fields(zh[key])})
        assert english_words(said, ALLOWED) == set(), (key, said)


def test_warnings_errors_and_reasons_in_chinese() -> None:
    """What recognise and guess_layer say, in Chinese: no English word but emgis, the fields
    and layers as district.toml names them, and the headers found (quoted)."""
    said: list[str] = []
    for columns, layer, explicit in [
            (["村名", "户籍人口", "常住人口（人）"], "villages", None),
            (["场所名称", "占地面积", "有效避难面积"], "shelters", None),
            (["村名", "村庄名称", "人口"], "villages", None),
            (["队伍名称", "应急队员人数合计"], "teams", None),
            (["乡镇村庄情况"], "villages", None),
            (["人口（万人）"], "villages", None),
            (["面积（亩）"], "shelters", None),
            (["覆盖半径(km)"], "warning_points", None),
            (["村名", "人口"], "villages", {"populaton": "人口"}),
            (["村名", "人口"], "villages", {"population": "人口数"})]:
        rec = recognise(columns, layer, explicit=explicit)
        said += [m.say(ZH) for m in (*rec.warnings, *rec.errors)]
    assert len(said) == 10
    for file_name, columns, geometry in [("村庄台账.xlsx", ["村名", "人口"], None),
                                          ("洪水淹没范围.shp", [], "Point"),
                                          ("export.xlsx", ["出警单位", "出警时间", "到场时间"],
                                           None),
                                          ("路网.gpkg", [], "LineString"),
                                          ("避难场所.csv", [], None),
                                          ("a.gpkg", [], "GeometryCollection")]:
        said += [why.say(ZH) for _, _, why in guess_layer(
            file_name=file_name, sheet=None, columns=columns, geometry=geometry)]
    # a field mistyped in district.toml, a geometry type as the file names it
    allowed = ALLOWED | {"populaton", "GeometryCollection"}
    for text in said:
        assert english_words(text, allowed) == set(), text
