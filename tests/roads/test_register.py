"""Rural-road register lines: speeds by given speed, grade, administrative grade, route code and
surface; column and value recognition; a register routed through the existing lines reader."""

from __future__ import annotations

import itertools
import math
import string
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from emgis.inputs.district import RoadSource
from emgis.inputs.settings import NetworkSettings, default_settings
from emgis.inputs.standards import SPEEDS
from emgis.roads.assemble import build_network
from emgis.roads.register import (
    ADMIN_GRADES,
    CLASS_LABELS,
    COLUMN_NAMES,
    DESIGN_SPEEDS,
    JTG_RANGES,
    SURFACE_FACTORS,
    admin_of,
    find_columns,
    grade_of,
    group_title,
    is_register,
    profile_rows,
    register_speeds,
    route_admin_of,
    speed_value,
    surface_of,
)
from emgis.roads.routing import build_routing_graph, times_from
from emgis.roads.snapping import snap_points
from emgis.texts import Msg, texts
from tests.conftest import english_words

ZH = texts("zh")


def one(row: dict[str, Any], **kw: Any) -> tuple[float, str, str]:
    """Speed, class and rule of a one-row register."""
    t = register_speeds(pd.DataFrame([row]), **kw)
    return float(t.speed_kph[0]), str(t.classes[0]), str(t.rules[0])


# --- rows -> speed and rule, hand-computed -------------------------------------------------------

@pytest.mark.parametrize(
    ("row", "kph", "cls", "rule"),
    [
        # technical grade: design speed x 0.7
        ({"技术等级": "高速公路"}, 70.0, "motorway", "技术等级 高速 100 km/h x 0.7"),
        ({"技术等级": "一级公路"}, 56.0, "primary", "技术等级 一级 80 km/h x 0.7"),
        ({"技术等级": "二级"}, 42.0, "secondary", "技术等级 二级 60 km/h x 0.7"),
        ({"技术等级": "三级公路"}, 28.0, "tertiary", "技术等级 三级 40 km/h x 0.7"),
        ({"技术等级": "四级公路"}, 21.0, "unclassified", "技术等级 四级 30 km/h x 0.7"),
        ({"技术等级": "等外公路"}, 10.5, "track", "技术等级 等外 15 km/h x 0.7"),
        ({"技术等级": "等外"}, 10.5, "track", "技术等级 等外 15 km/h x 0.7"),
        ({"技术等级": "高速"}, 70.0, "motorway", "技术等级 高速 100 km/h x 0.7"),
        # numerals and notes
        ({"技术等级": "4级"}, 21.0, "unclassified", "技术等级 四级 30 km/h x 0.7"),
        ({"技术等级": "４级"}, 21.0, "unclassified", "技术等级 四级 30 km/h x 0.7"),
        ({"技术等级": "Ⅳ级"}, 21.0, "unclassified", "技术等级 四级 30 km/h x 0.7"),
        ({"技术等级": "IV级"}, 21.0, "unclassified", "技术等级 四级 30 km/h x 0.7"),
        ({"技术等级": "Ⅱ级公路"}, 42.0, "secondary", "技术等级 二级 60 km/h x 0.7"),
        ({"技术等级": "3级"}, 28.0, "tertiary", "技术等级 三级 40 km/h x 0.7"),
        ({"技术等级": " 四级公路（单车道） "}, 21.0, "unclassified",
         "技术等级 四级 30 km/h x 0.7"),
        # surface
        ({"技术等级": "四级", "路面类型": "砂石"}, 16.8, "unclassified",
         "技术等级 四级 30 km/h x 0.7 x 砂石 0.8"),
        ({"技术等级": "四级", "路面类型": "砂石路面"}, 16.8, "unclassified",
         "技术等级 四级 30 km/h x 0.7 x 砂石 0.8"),
        ({"技术等级": "等外", "路面类型": "土路"}, 6.3, "track",
         "技术等级 等外 15 km/h x 0.7 x 土路 0.6"),
        ({"技术等级": "三级", "路面类型": "简易铺装"}, 25.2, "tertiary",
         "技术等级 三级 40 km/h x 0.7 x 简易铺装 0.9"),
        ({"技术等级": "三级", "路面类型": "未铺装"}, 19.6, "tertiary",
         "技术等级 三级 40 km/h x 0.7 x 未铺装 0.7"),
        ({"技术等级": "二级", "路面类型": "沥青混凝土"}, 42.0, "secondary",
         "技术等级 二级 60 km/h x 0.7"),
        ({"技术等级": "二级", "路面类型": "水泥混凝土（C30）"}, 42.0, "secondary",
         "技术等级 二级 60 km/h x 0.7"),
        ({"技术等级": "二级", "路面类型": "砼"}, 42.0, "secondary", "技术等级 二级 60 km/h x 0.7"),
        # administrative grade -> typical technical grade
        ({"行政等级": "国道"}, 42.0, "secondary", "行政等级 国道 → 二级 60 km/h x 0.7"),
        ({"行政等级": "省道"}, 42.0, "secondary", "行政等级 省道 → 二级 60 km/h x 0.7"),
        ({"行政等级": "县道"}, 28.0, "tertiary", "行政等级 县道 → 三级 40 km/h x 0.7"),
        ({"行政等级": "乡道"}, 21.0, "unclassified", "行政等级 乡道 → 四级 30 km/h x 0.7"),
        ({"行政等级": "村道"}, 21.0, "unclassified", "行政等级 村道 → 四级 30 km/h x 0.7"),
        ({"行政等级": "专用公路"}, 21.0, "unclassified",
         "行政等级 专用公路 → 四级 30 km/h x 0.7"),
        ({"XZDJ": "Y"}, 21.0, "unclassified", "行政等级 乡道 → 四级 30 km/h x 0.7"),
        # route code prefix
        ({"路线编码": "G105"}, 42.0, "secondary", "路线编码 G → 国道 → 二级 60 km/h x 0.7"),
        ({"路线编码": "S201"}, 42.0, "secondary", "路线编码 S → 省道 → 二级 60 km/h x 0.7"),
        ({"路线编码": "X012"}, 28.0, "tertiary", "路线编码 X → 县道 → 三级 40 km/h x 0.7"),
        ({"路线编码": "Y203"}, 21.0, "unclassified", "路线编码 Y → 乡道 → 四级 30 km/h x 0.7"),
        ({"路线编码": "C105"}, 21.0, "unclassified", "路线编码 C → 村道 → 四级 30 km/h x 0.7"),
        ({"路线编码": "Z001"}, 21.0, "unclassified",
         "路线编码 Z → 专用公路 → 四级 30 km/h x 0.7"),
        ({"LXBM": "x012371521"}, 28.0, "tertiary", "路线编码 X → 县道 → 三级 40 km/h x 0.7"),
        ({"路线编码": "Ｙ２０３"}, 21.0, "unclassified", "路线编码 Y → 乡道 → 四级 30 km/h x 0.7"),
        # given speeds, derated like an OSM maxspeed
        ({"限速": 40}, 28.0, "unclassified", "限速 40 km/h x 0.7"),
        ({"最高限速": "30公里/小时"}, 21.0, "unclassified", "限速 30 km/h x 0.7"),
        ({"设计速度": "60km/h"}, 42.0, "unclassified", "设计速度 60 km/h x 0.7"),
        ({"SJSD": 20.0, "路面类型": "砂石"}, 11.2, "unclassified",
         "设计速度 20 km/h x 0.7 x 砂石 0.8"),
        ({"限速": "40", "技术等级": "三级"}, 28.0, "tertiary", "限速 40 km/h x 0.7"),
        # nothing known: the default class, surface still applied
        ({"路面类型": "砂石"}, 20.0, "unclassified", "default unclassified 25 km/h x 砂石 0.8"),
    ],
)
def test_row_speed_and_rule(row: dict[str, Any], kph: float, cls: str, rule: str) -> None:
    got_kph, got_cls, got_rule = one(row)
    assert got_kph == pytest.approx(kph, rel=1e-12)
    assert (got_cls, got_rule) == (cls, rule)


# --- precedence -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("row", "kph", "rule"),
    [
        # a plausible given speed beats the technical grade
        ({"技术等级": "四级", "限速": 40}, 28.0, "限速 40 km/h x 0.7"),
        ({"技术等级": "二级", "设计速度": 30}, 21.0, "设计速度 30 km/h x 0.7"),
        # both given: the lower
        ({"设计速度": 60, "限速": 40}, 28.0, "限速 40 km/h x 0.7"),
        ({"设计速度": 30, "限速": 60}, 21.0, "设计速度 30 km/h x 0.7"),
        # implausible or empty given speeds fall through to the grade
        ({"技术等级": "四级", "限速": 200}, 21.0, "技术等级 四级 30 km/h x 0.7"),
        ({"技术等级": "四级", "限速": 4}, 21.0, "技术等级 四级 30 km/h x 0.7"),
        ({"技术等级": "四级", "限速": 0}, 21.0, "技术等级 四级 30 km/h x 0.7"),
        ({"技术等级": "四级", "限速": None}, 21.0, "技术等级 四级 30 km/h x 0.7"),
        ({"技术等级": "四级", "限速": "不限"}, 21.0, "技术等级 四级 30 km/h x 0.7"),
        # the plausible range is inclusive
        ({"技术等级": "四级", "限速": 5}, 3.5, "限速 5 km/h x 0.7"),
        ({"技术等级": "四级", "限速": 130}, 91.0, "限速 130 km/h x 0.7"),
        # technical grade beats administrative grade beats route code
        ({"技术等级": "二级", "行政等级": "村道", "路线编码": "C105"}, 42.0,
         "技术等级 二级 60 km/h x 0.7"),
        ({"行政等级": "县道", "路线编码": "Y203"}, 28.0, "行政等级 县道 → 三级 40 km/h x 0.7"),
        # an unknown value gives way to the next rule
        ({"技术等级": "快速路", "行政等级": "县道"}, 28.0, "行政等级 县道 → 三级 40 km/h x 0.7"),
        ({"技术等级": "快速路", "行政等级": "?", "路线编码": "Y203"}, 21.0,
         "路线编码 Y → 乡道 → 四级 30 km/h x 0.7"),
        ({"技术等级": None, "行政等级": "", "路线编码": "Q12"}, 25.0,
         "default unclassified 25 km/h"),
    ],
)
def test_precedence(row: dict[str, Any], kph: float, rule: str) -> None:
    got_kph, _, got_rule = one(row)
    assert got_kph == pytest.approx(kph, rel=1e-12)
    assert got_rule == rule


def test_class_by_grade_even_when_timed_by_a_given_speed() -> None:
    assert one({"限速": 40, "技术等级": "二级"})[1] == "secondary"
    assert one({"限速": 40, "行政等级": "县道"})[1] == "tertiary"
    assert one({"限速": 40, "路线编码": "Y203"})[1] == "unclassified"
    assert one({"限速": 40, "路线编码": "G105", "技术等级": "高速"})[1] == "motorway"


def test_options() -> None:
    row = {"技术等级": "四级", "限速": 40}
    assert one(row, maxspeed_rule="raw") == (40.0, "unclassified", "限速 40 km/h")
    assert one(row, maxspeed_rule="ignore")[2] == "技术等级 四级 30 km/h x 0.7"
    kph, _, rule = one({"技术等级": "四级"}, derate=0.8)
    assert kph == pytest.approx(24.0) and rule == "技术等级 四级 30 km/h x 0.8"
    assert one({"技术等级": "四级"}, design_speeds={"grade4": 20})[0] == pytest.approx(14.0)
    assert one({"技术等级": "四级", "路面类型": "砂石"},
               surface_factors={"gravel": 0.5})[0] == pytest.approx(10.5)
    assert one({"技术等级": "?"}, speeds={"unclassified": 20})[0] == 20.0
    assert one({"技术等级": "?"}, default_class="track")[:2] == (15.0, "track")
    assert one({"限速": 140}, plausible_kph=(5, 150))[0] == pytest.approx(98.0)
    with pytest.raises(ValueError, match="maxspeed_rule"):
        register_speeds(pd.DataFrame([row]), maxspeed_rule="fast")
    with pytest.raises(ValueError, match="derate"):
        register_speeds(pd.DataFrame([row]), derate=1.5)


def test_defaults_follow_the_network_settings() -> None:
    net = NetworkSettings()
    assert net.maxspeed_factor == 0.7  # the default derate of register_speeds
    assert (net.maxspeed_min_kph, net.maxspeed_max_kph) == (5.0, 130.0)
    assert net.maxspeed_rule == "derate" and net.default_class == "unclassified"


# --- problems -----------------------------------------------------------------------------------

def test_unknown_values_warned_with_rows_and_values() -> None:
    frame = pd.DataFrame({
        "技术等级": ["四级", "快速", None, "快速", "4", "二级"],
        "行政等级": [None, "县道", None, None, None, None],
        "路线编码": [None, None, "Q1", None, None, None],
        "路面类型": ["砂石", None, None, None, None, "泥巴"],
        "限速": [None, None, None, "abc", None, 300],
    })
    t = register_speeds(frame, file="register.gpkg")
    np.testing.assert_allclose(t.speed_kph, [16.8, 28.0, 25.0, 25.0, 25.0, 42.0])
    assert list(t.classes) == ["unclassified", "tertiary", "unclassified", "unclassified",
                               "unclassified", "secondary"]
    texts = [p.message for p in t.problems]
    assert [(p.level, p.file, p.row, p.field) for p in t.problems] == [
        ("warning", "register.gpkg", 4, "限速"),
        ("warning", "register.gpkg", 6, "限速"),
        ("warning", "register.gpkg", 2, "技术等级"),
        ("warning", "register.gpkg", 3, None),
        ("warning", "register.gpkg", 4, None),
        ("warning", "register.gpkg", 5, None),
        ("warning", "register.gpkg", 6, "路面类型"),
    ]
    assert "限速 'abc'" in texts[0] and "(4)" in texts[0]
    assert "限速 '300'" in texts[1] and "5-130 km/h" in texts[1]
    assert "技术等级 '快速'" in texts[2] and "(2)" in texts[2]
    # the rows at the default class: the row, every grade column's value and the speed
    assert texts[3] == ("no road grade recognised in 1 row(s) (3) with 技术等级 (empty); "
                        "行政等级 (empty); 路线编码 'Q1': timed at the default class "
                        "unclassified, 25 km/h")
    assert texts[3] == Msg("register_default_speed", n=1, rows=(3,), cls="unclassified",
                           kph=25.0, values=Msg(
                               "semicolon", a=Msg("register_shown_empty", column="技术等级"),
                               b=Msg("semicolon",
                                     a=Msg("register_shown_empty", column="行政等级"),
                                     b=Msg("register_shown", column="路线编码", value="Q1"))))
    assert texts[0] == Msg("register_bad_speed", field="限速", value="abc", n=1, rows=(4,),
                           lo=5.0, hi=130.0)
    assert "技术等级 '快速'" in texts[4] and "(4)" in texts[4]
    assert "技术等级 '4'" in texts[5]  # a bare code is not read as a grade
    assert "路面类型 '泥巴'" in texts[6] and "x 1" in texts[6]
    zh = [p.message.say(ZH) for p in t.problems]  # type: ignore[attr-defined]
    assert zh[3] == ("1 行（3）无法识别道路等级（技术等级（空）；行政等级（空）；路线编码「Q1」）："
                     "按默认等级 unclassified 计，25 千米/小时")
    assert t.problems[3].say(ZH).startswith("警告：register.gpkg，第 3 行：1 行（3）")


def test_warnings_grouped_by_value() -> None:
    frame = pd.DataFrame({"技术等级": ["快速"] * 12 + ["四级", "快速"]})
    t = register_speeds(frame)
    assert len(t.problems) == 1
    p = t.problems[0]
    assert p.row == 1
    assert "in 13 row(s) (1, 2, 3, 4, 5, 6, 7, 8, 9, 10 ... 3 more)" in p.message
    assert "13 行（1、2、3、4、5、6、7、8、9、10……另 3 行）" in p.say(ZH)
    assert t.rules[12] == "技术等级 四级 30 km/h x 0.7"


def test_no_register_column_at_all() -> None:
    t = register_speeds(pd.DataFrame({"name": ["a", "b"]}))
    assert list(t.speed_kph) == [25.0, 25.0] and dict(t.columns) == {}
    assert [p.message for p in t.problems] == [
        "no road grade recognised in 2 row(s) (1, 2) with no grade column: timed at the "
        "default class unclassified, 25 km/h"]


def test_empty_frame() -> None:
    t = register_speeds(pd.DataFrame({"技术等级": []}))
    assert len(t.speed_kph) == 0 and t.problems == ()


#: ASCII words a Chinese register message may hold: the keys and values a planner writes in
#: district.toml ([network] maxspeed_rule, default_class and the OSM classes, the roles of
#: fields).
ALLOWED = {"fields", "maxspeed_rule", "derate", "raw", "ignore", *SPEEDS, *COLUMN_NAMES}




def test_messages_in_both_languages() -> None:
    en, zh = texts("en").section("msg"), ZH.section("msg")
    keys = [k for k in en if k.startswith("register_")]
    assert len(keys) >= 17
    for key in keys:
        assert en[key] and zh[key], key
        assert sorted(_fields(en[key])) == sorted(_fields(zh[key])), key
        said = ZH.fmt(f"msg.{key}", **{f: 7 for f in _fields(zh[key])})
        assert english_words(said, ALLOWED) == set(), (key, said)
    assert Msg("register_bad_rule", rule="x").say(ZH).startswith("maxspeed_rule「x」")


def test_problems_and_errors_in_chinese() -> None:
    """Every warning and error of the register, said in Chinese: no English word but the
    keys and values of district.toml and the values found (quoted)."""
    frame = pd.DataFrame({
        "技术等级": ["四级", "快速", None, "快速", "4", "二级"] + ["快速"] * 12,
        "行政等级": [None, "县道", None, None, None, None] + [None] * 12,
        "路线编码": [None, None, "Q1", None, None, None] + [None] * 12,
        "路面类型": ["砂石", None, None, None, None, "泥巴"] + [None] * 12,
        "限速": [None, None, None, "abc", None, 300] + [None] * 12,
    })
    problems = register_speeds(frame, file="register.gpkg").problems
    problems += register_speeds(pd.DataFrame({"name": ["a", "b"]})).problems
    assert {p.message.key for p in problems} == {  # type: ignore[attr-defined]
        "register_bad_speed", "register_unknown_value", "register_default_speed",
        "register_unknown_surface"}
    said = [p.say(ZH) for p in problems]
    for call in (lambda: register_speeds(frame, maxspeed_rule="fast"),
                 lambda: register_speeds(frame, derate=1.5),
                 lambda: find_columns(["技术等级"], fields={"technical_grade": "缺失"}),
                 lambda: find_columns(["技术等级"], fields={"grade": "等级"})):
        with pytest.raises(ValueError) as info:
            call()
        assert isinstance(info.value.args[0], Msg)
        said.append(info.value.args[0].say(ZH))
    said += [group_title(g).say(ZH) for g in {r[0] for r in profile_rows()}]
    for text in said:
        assert english_words(text, ALLOWED | {"register", "gpkg", "roads"}) == set(), text


def _fields(text: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


# --- recognition ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["技术等级"], {"technical_grade": "技术等级"}),
        (["技术等级代码"], {"technical_grade": "技术等级代码"}),
        (["JSDJ"], {"technical_grade": "JSDJ"}),
        (["jsdj"], {"technical_grade": "jsdj"}),
        (["ＪＳＤＪ"], {"technical_grade": "ＪＳＤＪ"}),  # full-width
        ([" 技术等级 "], {"technical_grade": " 技术等级 "}),
        (["Technical_Grade"], {"technical_grade": "Technical_Grade"}),
        (["行政等级"], {"admin_grade": "行政等级"}),
        (["XZDJ"], {"admin_grade": "XZDJ"}),
        (["路线编码"], {"route_code": "路线编码"}),
        (["路线代码"], {"route_code": "路线代码"}),
        (["路线编号"], {"route_code": "路线编号"}),
        (["ＬＸＢＭ"], {"route_code": "ＬＸＢＭ"}),
        (["路面类型"], {"surface": "路面类型"}),
        (["路面"], {"surface": "路面"}),
        (["LMLX"], {"surface": "LMLX"}),
        (["设计速度"], {"design_speed": "设计速度"}),
        (["设计时速"], {"design_speed": "设计时速"}),
        (["SJSD"], {"design_speed": "SJSD"}),
        (["限速"], {"speed_limit": "限速"}),
        (["最高限速"], {"speed_limit": "最高限速"}),
        (["maxspeed"], {"speed_limit": "maxspeed"}),
        # the earlier name of a role wins
        (["技术等级代码", "技术等级"], {"technical_grade": "技术等级"}),
        (["LXBM", "路线编码"], {"route_code": "路线编码"}),
        # everything at once, other columns ignored
        (["OBJECTID", "JSDJ", "XZDJ", "LXBM", "LMLX", "SJSD", "限速", "geometry"],
         {"technical_grade": "JSDJ", "admin_grade": "XZDJ", "route_code": "LXBM",
          "surface": "LMLX", "design_speed": "SJSD", "speed_limit": "限速"}),
        (["highway", "name", "oneway"], {}),
    ],
)
def test_column_recognition(columns: list[str], expected: dict[str, str]) -> None:
    assert find_columns(columns) == expected


def test_fields_override() -> None:
    cols = ["技术等级", "等级", "路面类型"]
    assert find_columns(cols, fields={"technical_grade": "等级"}) == {
        "technical_grade": "等级", "surface": "路面类型"}
    assert find_columns(cols, fields={"surface": ""}) == {"technical_grade": "技术等级"}
    with pytest.raises(ValueError, match="'缺失'"):
        find_columns(cols, fields={"technical_grade": "缺失"})
    with pytest.raises(ValueError, match="'grade'"):
        find_columns(cols, fields={"grade": "等级"})
    t = register_speeds(pd.DataFrame({"技术等级": ["二级"], "等级": ["四级"]}),
                        fields={"technical_grade": "等级"})
    assert t.speed_kph[0] == pytest.approx(21.0) and t.columns["technical_grade"] == "等级"


def test_is_register() -> None:
    assert is_register(["路线编码", "geometry"])
    assert is_register(["JSDJ"])
    assert is_register(["行政等级"])
    assert not is_register(["highway", "maxspeed", "surface", "oneway"])  # an OSM export
    assert not is_register(["限速", "路面类型"])
    assert is_register(["等级"], fields={"technical_grade": "等级"})


@pytest.mark.parametrize(
    ("value", "grade"),
    [("高速公路", "expressway"), ("高速", "expressway"), ("Expressway", "expressway"),
     ("一级公路", "grade1"), ("一级", "grade1"), ("1级", "grade1"), ("Ⅰ级", "grade1"),
     ("I级", "grade1"), ("二级公路", "grade2"), ("2级", "grade2"), ("Ⅱ级", "grade2"),
     ("三级", "grade3"), ("Ⅲ级", "grade3"), ("III级", "grade3"), ("四级公路", "grade4"),
     ("4级", "grade4"), ("Ⅳ级", "grade4"), ("四级（双车道）", "grade4"),
     ("等外公路", "substandard"), ("等外", "substandard"), ("等外路", "substandard"),
     ("4", None), ("1", None), ("5级", None), ("快速路", None), ("", None), (None, None),
     (float("nan"), None)],
)
def test_grade_values(value: object, grade: str | None) -> None:
    assert grade_of(value) == grade


@pytest.mark.parametrize(
    ("value", "letter"),
    [("国道", "G"), ("省道", "S"), ("县道", "X"), ("乡道", "Y"), ("村道", "C"), ("专用公路", "Z"),
     ("专用道路", "Z"), ("x", "X"), ("Ｇ", "G"), ("县", "X"), ("高速", None), ("", None)],
)
def test_admin_values(value: str, letter: str | None) -> None:
    assert admin_of(value) == letter


@pytest.mark.parametrize(
    ("value", "letter"),
    [("G105", "G"), ("S201", "S"), ("X012", "X"), ("Y203", "Y"), ("C105", "C"), ("Z001", "Z"),
     ("y203", "Y"), ("X012371521", "X"), (" Ｃ１０５ ", "C"), ("CA01", "C"),
     ("X", None), ("Q12", None), ("105", None), ("县道", None), (None, None)],
)
def test_route_codes(value: str | None, letter: str | None) -> None:
    assert route_admin_of(value) == letter


@pytest.mark.parametrize(
    ("value", "kind"),
    [("沥青混凝土", "paved"), ("沥青混凝土路面", "paved"), ("水泥混凝土", "paved"), ("砼", "paved"),
     ("水泥", "paved"), ("asphalt", "paved"), ("简易铺装", "simple"), ("沥青表处", "simple"),
     ("块石", "simple"), ("砂石", "gravel"), ("砂石路面", "gravel"), ("泥结碎石", "gravel"),
     ("Gravel", "gravel"), ("未铺装", "unpaved"), ("土路", "earth"), ("土", "earth"),
     ("泥巴", None), ("", None)],
)
def test_surface_values(value: str, kind: str | None) -> None:
    assert surface_of(value) == kind


@pytest.mark.parametrize(
    ("value", "kph"),
    [(40, 40.0), (40.5, 40.5), ("40", 40.0), ("40km/h", 40.0), ("40 KM/H", 40.0),
     ("４０", 40.0), ("30公里/小时", 30.0), (np.int64(60), 60.0), ("不限", None), (None, None),
     (float("nan"), None), ("", None)],
)
def test_speed_values(value: object, kph: float | None) -> None:
    assert speed_value(value) == kph


# --- the data -----------------------------------------------------------------------------------

def test_design_speeds_follow_their_rule() -> None:
    """Each grade's design speed is one of JTG B01-2014's values for it: the highest whose
    derated speed does not exceed the profile's speed of the grade's class."""
    for key, values in JTG_RANGES.items():
        cap = SPEEDS[CLASS_LABELS[key]].value
        chosen = DESIGN_SPEEDS[key].value
        assert chosen in values
        assert chosen == max(v for v in values if v * 0.7 <= cap), key
        assert not DESIGN_SPEEDS[key].proposal and "JTG B01-2014" in DESIGN_SPEEDS[key].source
    sub = DESIGN_SPEEDS["substandard"]
    assert sub.proposal and sub.value < min(JTG_RANGES["grade4"])
    assert sub.value * 0.7 <= SPEEDS["track"].value
    # the speeds fall with the grade
    kph = [DESIGN_SPEEDS[k].value for k in CLASS_LABELS]
    assert kph == sorted(kph, reverse=True)


def test_fallbacks_and_surfaces_are_marked() -> None:
    assert {a.grade for a in ADMIN_GRADES.values()} <= set(DESIGN_SPEEDS)
    assert all(a.proposal and a.source and a.source_zh for a in ADMIN_GRADES.values())
    assert SURFACE_FACTORS["paved"].value == 1.0
    f = [SURFACE_FACTORS[k].value for k in ("paved", "simple", "gravel", "unpaved", "earth")]
    assert f == sorted(f, reverse=True) and all(0 < x <= 1 for x in f)
    assert all(s.proposal for k, s in SURFACE_FACTORS.items() if k != "paved")
    assert set(CLASS_LABELS.values()) <= set(SPEEDS)
    assert set(COLUMN_NAMES) >= {"technical_grade", "admin_grade", "route_code"}


def test_profile_rows() -> None:
    rows = profile_rows()
    assert rows[4][:3] == ("register_speeds", "grade4 四级公路", "30 x 0.7 = 21 km/h")
    groups = [r[0] for r in rows]
    assert groups.count("register_speeds") == 6 and groups.count("register_admin") == 6
    assert {group_title(g) for g in set(groups)} == {
        "Rural-road register: design speeds by technical grade (km/h)",
        "Rural-road register: typical grade by administrative grade",
        "Rural-road register: surface factors",
        "Rural-road register: road class shown for each grade"}
    assert group_title("register_surface").say(ZH) == "农村公路数据：路面类型折减系数"
    assert "(planning assumption)" in rows[5][3]
    assert "(规划假设)" in profile_rows(lang="zh")[5][3]


# --- a register routed through the existing lines reader ----------------------------------------

CRS_GK = CRS.from_epsg(4547)  # CGCS2000 / 3-degree Gauss-Kruger CM 114E, metres
X0, Y0 = 500_000.0, 3_500_000.0


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    """Three connected lines of 1 km: 二级 asphalt, 四级 cement (with an inner vertex), 等外
    gravel drawn backwards; and a register-style attribute table."""
    a, b, c, d = ((X0 + k * 1000.0, Y0) for k in range(4))
    lines = gpd.GeoDataFrame(
        {"路线编码": ["X012", "Y203", "C105"], "技术等级": ["二级公路", "四级公路", "等外公路"],
         "行政等级": ["县道", "乡道", "村道"], "路面类型": ["沥青混凝土", "水泥混凝土", "砂石"]},
        geometry=[shapely.LineString([a, b]),
                  shapely.LineString([b, (X0 + 1500.0, Y0), c]),
                  shapely.LineString([d, c])],
        crs=CRS_GK)
    path = tmp_path / "register.geojson"
    lines.to_file(path, driver="GeoJSON")
    return path


def test_register_route_time(register_file: Path, tmp_path: Path) -> None:
    lines = gpd.read_file(register_file)
    assert lines.crs == CRS_GK
    assert is_register(lines.columns)
    t = register_speeds(lines)
    # 二级 60 x 0.7 = 42; 四级 30 x 0.7 = 21; 等外 15 x 0.7 x 砂石 0.8 = 8.4 km/h
    np.testing.assert_allclose(t.speed_kph, [42.0, 21.0, 8.4], rtol=1e-12)
    assert list(t.classes) == ["secondary", "unclassified", "track"]
    assert t.problems == ()
    # by hand: 1 km at each speed, 60 / kph minutes
    by_hand = 60 / 42 + 60 / 21 + 60 / 8.4
    assert by_hand == pytest.approx(80 / 7, rel=1e-12)

    # the existing lines reader, with the speeds as its speed column and the labels as classes
    timed = lines.assign(speed=t.speed_kph, highway=t.classes)
    path = tmp_path / "timed.geojson"
    timed.to_file(path, driver="GeoJSON")
    source = RoadSource(path=path, format="lines", class_field="highway", speed_field="speed")
    settings = default_settings()
    ea = build_network(source, settings=settings, crs=CRS_GK)
    assert ea.km_by_class() == {"secondary": 1.0, "unclassified": 1.0, "track": 1.0}
    ends = gpd.GeoSeries([shapely.Point(X0, Y0), shapely.Point(X0 + 3000.0, Y0)], crs=CRS_GK)
    snaps = snap_points(ea, ends, settings=settings)
    assert list(snaps["status"]) == ["ok", "ok"] and float(snaps["access_m"].max()) < 1e-9
    rg = build_routing_graph(ea, snaps)
    there = float(times_from(rg, [0], targets=[1])[0, 0])
    back = float(times_from(rg, [1], targets=[0])[0, 0])
    assert there == pytest.approx(by_hand, abs=1e-6)
    assert back == pytest.approx(by_hand, abs=1e-6)

    # an independent oracle: a networkx graph of the lines' ends, minutes = length / speed
    G = nx.Graph()
    for geom, kph in zip(lines.geometry, t.speed_kph, strict=True):
        coords = list(geom.coords)
        u, v = coords[0], coords[-1]
        G.add_edge(u, v, minutes=geom.length / 1000.0 / kph * 60.0)
    path_nodes = nx.shortest_path(G, (X0, Y0), (X0 + 3000.0, Y0), weight="minutes")
    oracle = sum(G.edges[p, q]["minutes"] for p, q in itertools.pairwise(path_nodes))
    assert len(path_nodes) == 4
    assert oracle == pytest.approx(by_hand, abs=1e-9)
    assert there == pytest.approx(oracle, abs=1e-6)
    assert not math.isinf(there)
