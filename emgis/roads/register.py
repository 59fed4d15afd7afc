"""Timing the lines of a rural-road register (农村公路电子地图) by grade, code and surface.

OSM is thin in rural China; county transport bureaus keep the rural-road register instead: one
line per road section with its route code (路线编码: ``G``/``S``/``X``/``Y``/``C``/``Z`` and
digits, e.g. ``X012``), administrative grade (行政等级: 国道 ... 专用公路), technical grade
(技术等级: 高速公路 ... 四级公路, 等外公路), surface (路面类型) and sometimes a design speed
(设计速度) or a posted limit (限速). :func:`register_speeds` turns those columns into an
emergency driving speed per line, with an OSM-like class label (for km per class and map
colours), the rule that timed each line in words, and the problems found.

How a line is timed (the first rule that applies):

1. 设计速度 / 限速 within the plausible range (5-130 km/h, as an OSM ``maxspeed``), the lower of
   the two where both are given, derated like an OSM ``maxspeed`` (``maxspeed_rule``
   ``"derate"``: x 0.7; ``"raw"``: as given; ``"ignore"``: columns not used);
2. 技术等级: the grade's design speed (:data:`DESIGN_SPEEDS`, JTG B01-2014) x ``derate``;
3. 行政等级: the typical technical grade of the administrative grade (:data:`ADMIN_GRADES`,
   planning assumption), timed as in 2;
4. the route code's first letter, read as the administrative grade, timed as in 3;
5. the default class (``unclassified``) at its class speed, with a warning naming the rows and
   their values.

Then the surface factor (:data:`SURFACE_FACTORS`: paved 1.0, 简易铺装 0.9, 砂石 0.8, 未铺装 0.7,
土路 0.6) multiplies the speed, whatever rule timed the line.

Design speeds: JTG B01-2014 gives each technical grade a range of design speeds (高速 120/100/80,
一级 100/80/60, 二级 80/60, 三级 40/30, 四级 30/20 km/h). The value taken is the highest of the
grade's range whose derated speed (x 0.7) does not exceed the standards profile's speed of the
same OSM class (:data:`CLASS_LABELS`, :data:`emgis.standards.SPEEDS`): 高速 100 (70 km/h <=
motorway 80), 一级 80 (56 <= primary 60), 二级 60 (42 <= secondary 50), 三级 40 (28 <= tertiary
35), 四级 30 (21 <= unclassified 25). So a register line is never timed faster than an OSM way
of the same class, and the top values (plains, trunk routes) that rural terrain seldom allows are
left out. 等外 (substandard) has no design speed: 15 km/h is a planning assumption (below the
lowest 四级 value), 10.5 km/h derated, under the track speed 15.

Column names (:data:`COLUMN_NAMES`) and values are compared after NFKC normalisation (full-width
letters and digits become ASCII, Ⅳ becomes IV), case folding and removal of spaces, ``_`` and
``-``; values also lose bracketed notes (``四级(单车道)``) and a trailing 公路/路面/路. The
register's numeric grade codes are *not* read (their coding differs between data sets): a
technical grade of ``4`` is unrecognised and warned; ``4级``, ``Ⅳ级`` and ``四级`` are all 四级.

User-facing messages are ``register_*`` entries of the catalogues (:class:`emgis.texts.Msg`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from emgis._types import FloatArray, ObjectArray
from emgis.inputs.problems import Problem
from emgis.inputs.standards import SPEEDS, Standard
from emgis.texts import Msg


def group_title(group: str) -> Msg:
    """The title of a group of :func:`profile_rows` (``"register_speeds"`` ...), as the
    catalogue's ``register_group_*`` entry."""
    return Msg("register_group_" + group.removeprefix("register_"))


# --- the data --------------------------------------------------------------------------------

#: Technical grades: key -> the register's name of the grade.
GRADE_NAMES: Mapping[str, str] = MappingProxyType({
    "expressway": "高速公路", "grade1": "一级公路", "grade2": "二级公路",
    "grade3": "三级公路", "grade4": "四级公路", "substandard": "等外公路",
})

#: JTG B01-2014's design speeds of each grade, km/h, highest first.
JTG_RANGES: Mapping[str, tuple[float, ...]] = MappingProxyType({
    "expressway": (120.0, 100.0, 80.0), "grade1": (100.0, 80.0, 60.0), "grade2": (80.0, 60.0),
    "grade3": (40.0, 30.0), "grade4": (30.0, 20.0),
})

#: OSM-like class each technical grade is reported and drawn as (km per class, map colours).
#: 一级 is ``primary``, not ``trunk``: OSM in China tags 国道 ``trunk`` whatever their grade,
#: and the technical grade alone does not say; the catalogue already names ``primary``
#: 一级道路 ... ``unclassified`` 四级道路.
CLASS_LABELS: Mapping[str, str] = MappingProxyType({
    "expressway": "motorway", "grade1": "primary", "grade2": "secondary", "grade3": "tertiary",
    "grade4": "unclassified", "substandard": "track",
})


#: Why each grade gets its class: (English, Chinese).
CLASS_SOURCES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "expressway": ("高速公路 are OSM motorway", "高速公路即 OSM motorway"),
    "grade1": ("OSM in China tags 国道 trunk whatever their grade; a technical grade alone says "
               "primary, which the catalogue calls 一级道路",
               "OSM 中国道不论等级均标 trunk；仅凭技术等级取 primary（目录中称一级道路）"),
    "grade2": ("secondary, which the catalogue calls 二级道路", "secondary（目录中称二级道路）"),
    "grade3": ("tertiary, which the catalogue calls 三级道路", "tertiary（目录中称三级道路）"),
    "grade4": ("unclassified, OSM's minor public road, which the catalogue calls 四级道路",
               "unclassified，OSM 的次要公共道路（目录中称四级道路）"),
    "substandard": ("proposal: substandard roads are mostly farm and forest tracks (机耕道), "
                    "OSM track", "规划假设：等外公路多为机耕道、林道，对应 OSM track"),
})


def _design(key: str, value: float) -> Standard:
    name = GRADE_NAMES[key]
    label = CLASS_LABELS[key]
    spans = "/".join(f"{v:g}" for v in JTG_RANGES[key])
    cap = SPEEDS[label].value
    return Standard(
        value, "km/h",
        f"JTG B01-2014 design speeds of {name}: {spans} km/h; {value:g} taken, the highest "
        f"whose x 0.7 does not exceed the {label} class speed ({cap:g} km/h): rural terrain "
        "seldom allows the top value",
        source_zh=f"JTG B01-2014 {name}设计速度 {spans} 千米/小时；取 {value:g}，即乘以0.7后不超过"
                  f" {label} 类道路速度（{cap:g} 千米/小时）的最高值：农村地形少有条件采用最高值")


#: Design speed per technical grade, km/h, before the derating for emergency driving.
DESIGN_SPEEDS: Mapping[str, Standard] = MappingProxyType({
    "expressway": _design("expressway", 100.0),
    "grade1": _design("grade1", 80.0),
    "grade2": _design("grade2", 60.0),
    "grade3": _design("grade3", 40.0),
    "grade4": _design("grade4", 30.0),
    "substandard": Standard(
        15.0, "km/h", "proposal: a substandard road (等外公路) has no design speed; 15 km/h, "
        "below the lowest 四级 value (20), so 10.5 km/h x 0.7, under the track speed 15",
        proposal=True,
        source_zh="规划假设：等外公路无设计速度；取15千米/小时（低于四级公路最低值20），"
                  "乘以0.7为10.5千米/小时，低于机耕道速度15"),
})


@dataclass(frozen=True)
class GradeAssumption:
    """The technical grade assumed for a road known only by its administrative grade.

    Attributes
    ----------
    grade
        Key of the technical grade (:data:`GRADE_NAMES`).
    source, source_zh
        Why, in English and Chinese.
    proposal
        Always True: a planning assumption, no national figure.
    """

    grade: str
    source: str
    source_zh: str
    proposal: bool = True

    def cite(self, lang: str) -> str:
        """The source in a language."""
        return self.source_zh if lang == "zh" else self.source


#: Administrative grades (key = route-code letter) -> their name in the register.
ADMIN_NAMES: Mapping[str, str] = MappingProxyType({
    "G": "国道", "S": "省道", "X": "县道", "Y": "乡道", "C": "村道", "Z": "专用公路",
})

#: Typical technical grade of each administrative grade, for lines without a technical grade.
ADMIN_GRADES: Mapping[str, GradeAssumption] = MappingProxyType({
    "G": GradeAssumption("grade2", "proposal: rural 普通国道 are mostly 二级 (some 一级); 二级 is "
                         "the cautious choice",
                         "规划假设：农村地区普通国道多为二级（部分一级），取二级"),
    "S": GradeAssumption("grade2", "proposal: 普通省道 are planned as 二级 or better and mostly "
                         "are", "规划假设：普通省道按二级及以上规划，多数已达二级"),
    "X": GradeAssumption("grade3", "proposal: 县道 are mostly 三级 (some 二级 or 四级)",
                         "规划假设：县道多为三级（部分二级或四级）"),
    "Y": GradeAssumption("grade4", "proposal: 乡道 are mostly 四级",
                         "规划假设：乡道多为四级"),
    "C": GradeAssumption("grade4", "proposal: 村道 are mostly 四级 (some 等外)",
                         "规划假设：村道多为四级（部分等外）"),
    "Z": GradeAssumption("grade4", "proposal: 专用公路 (forest, mine, reservoir roads) are "
                         "mostly 四级", "规划假设：专用公路（林区、矿区、水库道路）多为四级"),
})

#: Surface kinds -> the register's name of the kind.
SURFACE_NAMES: Mapping[str, str] = MappingProxyType({
    "paved": "有铺装", "simple": "简易铺装", "gravel": "砂石", "unpaved": "未铺装", "earth": "土路",
})

#: Speed factor per surface kind (the grade speeds assume a paved road). Planning assumptions.
SURFACE_FACTORS: Mapping[str, Standard] = MappingProxyType({
    "paved": Standard(1.0, "x", "asphalt or cement concrete (沥青/水泥混凝土): the grade speeds "
                      "assume a paved road",
                      source_zh="沥青或水泥混凝土路面：技术等级速度按铺装路面"),
    "simple": Standard(0.9, "x", "proposal: a thin surfacing (简易铺装, 沥青表处, 块石) is "
                       "rougher but all-weather", proposal=True,
                       source_zh="规划假设：简易铺装（沥青表处、块石等）较粗糙但全天候可通行"),
    "gravel": Standard(0.8, "x", "proposal: loose stones, dust and corrugation slow a heavy "
                       "vehicle on gravel (砂石); calibrate locally", proposal=True,
                       source_zh="规划假设：砂石路面松散、扬尘、搓板，重型车辆减速；宜本地校准"),
    "unpaved": Standard(0.7, "x", "proposal: unpaved of unstated kind (未铺装), between gravel "
                        "and earth", proposal=True,
                        source_zh="规划假设：未说明类型的未铺装路面，介于砂石与土路之间"),
    "earth": Standard(0.6, "x", "proposal: an earth road (土路) is rutted and slow, worse when "
                      "wet; calibrate locally", proposal=True,
                      source_zh="规划假设：土路车辙多、通行慢，雨天更差；宜本地校准"),
})

#: Register column roles -> recognised column names, in order of preference (compared after
#: :func:`normalise_name`). ``fields`` maps a role to a column by its exact name.
COLUMN_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "technical_grade": ("技术等级", "技术等级名称", "技术等级代码", "jsdj", "technical_grade",
                        "tech_grade"),
    "admin_grade": ("行政等级", "行政等级名称", "行政等级代码", "xzdj", "admin_grade",
                    "administrative_grade"),
    "route_code": ("路线编码", "路线代码", "路线编号", "lxbm", "route_code", "road_code"),
    "surface": ("路面类型", "路面", "路面类型名称", "lmlx", "surface", "pavement"),
    "design_speed": ("设计速度", "设计时速", "sjsd", "design_speed"),
    "speed_limit": ("限速", "最高限速", "speed_limit", "maxspeed"),
})

#: Roles whose presence makes a table of lines a register (:func:`is_register`).
REGISTER_ROLES: tuple[str, ...] = ("technical_grade", "admin_grade", "route_code")

#: Register names of the roles, as rules and messages say them.
ROLE_NAMES: Mapping[str, str] = MappingProxyType({
    "technical_grade": "技术等级", "admin_grade": "行政等级", "route_code": "路线编码",
    "surface": "路面类型", "design_speed": "设计速度", "speed_limit": "限速",
})

_ROMAN = {"i": "一", "ii": "二", "iii": "三", "iv": "四", "1": "一", "2": "二", "3": "三",
          "4": "四"}

#: Technical-grade spellings (normalised) -> grade key.
GRADE_VALUES: Mapping[str, str] = MappingProxyType({
    **{v: "expressway" for v in ("高速", "expressway", "motorway", "freeway")},
    **{f"{zh}级": k for zh, k in (("一", "grade1"), ("二", "grade2"), ("三", "grade3"),
                                  ("四", "grade4"))},
    **{f"grade{i}": f"grade{i}" for i in range(1, 5)},
    **{f"class{i}": f"grade{i}" for i in range(1, 5)},
    **{v: "substandard" for v in ("等外", "等外级", "substandard")},
})

#: Administrative-grade spellings (normalised) -> route-code letter.
ADMIN_VALUES: Mapping[str, str] = MappingProxyType({
    **{v: "G" for v in ("国道", "国", "g", "national")},
    **{v: "S" for v in ("省道", "省", "s", "provincial")},
    **{v: "X" for v in ("县道", "县", "x", "county")},
    **{v: "Y" for v in ("乡道", "乡", "y", "township")},
    **{v: "C" for v in ("村道", "村", "c", "village")},
    **{v: "Z" for v in ("专用", "专用道", "专用道路", "z", "special")},
})

#: Surface spellings (normalised) -> surface kind.
SURFACE_VALUES: Mapping[str, str] = MappingProxyType({
    **{v: "paved" for v in ("沥青混凝土", "沥青", "沥青砼", "沥青碎石", "沥青贯入", "沥青贯入式",
                            "柏油", "水泥混凝土", "水泥", "水泥砼", "砼", "混凝土", "有铺装",
                            "铺装", "asphalt", "concrete", "cement", "paved")},
    **{v: "simple" for v in ("简易铺装", "沥青表处", "沥青表面处治", "表处", "块石", "条石",
                             "弹石", "石板", "砖", "砖铺", "块料", "sett", "paving_stones")},
    **{v: "gravel" for v in ("砂石", "沙石", "碎石", "砾石", "泥结碎石", "级配碎石", "级配砾石",
                             "泥结石", "石渣", "渣石", "gravel", "fine_gravel", "compacted")},
    **{v: "unpaved" for v in ("未铺装", "无铺装", "非铺装", "unpaved")},
    **{v: "earth" for v in ("土", "土质", "土路", "泥土", "素土", "earth", "dirt", "ground",
                            "mud")},
})

_PLAUSIBLE = (5.0, 130.0)
_SHOW_ROWS = 10


# --- recognition -------------------------------------------------------------------------------

def normalise_name(name: object) -> str:
    """A column name as compared: NFKC, case-folded, without spaces, ``_`` and ``-``."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return re.sub(r"[\s_\-]+", "", text)


def _normalise_value(value: object) -> str:
    """A value as compared: NFKC, case-folded, without spaces, bracketed notes and a trailing
    公路/路面/路 (``"四级公路（单车道）"`` -> ``"四级"``); empty for a missing value."""
    if _missing(value):
        return ""
    text = unicodedata.normalize("NFKC", str(value)).casefold().strip()
    text = re.sub(r"[(\[【][^)\]】]*[)\]】]", "", text)
    text = re.sub(r"\s+", "", text)
    for suffix in ("公路", "路面", "路"):
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    return text.replace("-", "_")


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def grade_of(value: object) -> str | None:
    """The technical grade key of a 技术等级 value (``"四级公路"``, ``"4级"``, ``"Ⅳ级"`` ->
    ``"grade4"``), None when it is not recognised or missing."""
    text = _normalise_value(value)
    m = re.fullmatch(r"(iv|i{1,3}|[1-4])级", text)
    if m:
        text = _ROMAN[m.group(1)] + "级"
    return GRADE_VALUES.get(text)


def admin_of(value: object) -> str | None:
    """The route-code letter of a 行政等级 value (``"县道"``, ``"X"`` -> ``"X"``), None when it
    is not recognised or missing."""
    return ADMIN_VALUES.get(_normalise_value(value))


def route_admin_of(value: object) -> str | None:
    """The administrative grade (route-code letter) of a 路线编码 (``"Y203"``,
    ``"x012371521"`` -> ``"Y"``, ``"X"``): a letter G/S/X/Y/C/Z followed by letters and digits
    with at least one digit; None otherwise."""
    if _missing(value):
        return None
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).upper()
    m = re.fullmatch(r"([GSXYCZ])[0-9A-Z]*", text)
    return m.group(1) if m and re.search(r"\d", text) else None


def surface_of(value: object) -> str | None:
    """The surface kind of a 路面类型 value (``"沥青混凝土"`` -> ``"paved"``, ``"砂石路面"`` ->
    ``"gravel"``), None when it is not recognised or missing."""
    return SURFACE_VALUES.get(_normalise_value(value))


def speed_value(value: object) -> float | None:
    """A speed in km/h read from a 设计速度 / 限速 value (``40``, ``"40km/h"``, ``"40公里/小时"``),
    None when it has no number."""
    if _missing(value):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        return v if math.isfinite(v) else None
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value)).casefold())
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:km/h|kmh|kph|km|公里/小时|千米/小时|公里/时|公里)?", text)
    return float(m.group(1)) if m else None


def find_columns(columns: Iterable[object], *, fields: Mapping[str, str] | None = None
                 ) -> dict[str, str]:
    """The register columns of a table: role -> column name.

    Parameters
    ----------
    columns
        The table's column names.
    fields
        Role -> exact column name; wins over recognition. An empty name leaves the role out.
        Roles: ``technical_grade``, ``admin_grade``, ``route_code``, ``surface``,
        ``design_speed``, ``speed_limit``.

    Returns
    -------
    dict
        Role -> column, for the roles found (recognised by :data:`COLUMN_NAMES`, earlier names
        of a role first).

    Raises
    ------
    ValueError
        ``fields`` names an unknown role, or a column the table lacks.
    """
    cols = [c for c in columns if isinstance(c, str)]
    by_norm: dict[str, str] = {}
    for c in cols:
        by_norm.setdefault(normalise_name(c), c)
    found: dict[str, str] = {}
    for role, names in COLUMN_NAMES.items():
        for name in names:
            col = by_norm.get(normalise_name(name))
            if col is not None:
                found[role] = col
                break
    for role, col in (fields or {}).items():
        if role not in COLUMN_NAMES:
            raise ValueError(Msg("register_field_role", role=role, roles=tuple(COLUMN_NAMES)))
        if not col:
            found.pop(role, None)
        elif col not in cols:
            raise ValueError(Msg("register_field_missing", role=role, column=col,
                                 columns=tuple(cols)))
        else:
            found[role] = col
    return found


def is_register(columns: Iterable[object], *, fields: Mapping[str, str] | None = None) -> bool:
    """Whether road lines with these columns are a rural-road register: a technical grade, an
    administrative grade or a route code column is there (a speed limit or a surface alone is
    not enough: OSM exports carry those)."""
    found = find_columns(columns, fields=fields)
    return any(role in found for role in REGISTER_ROLES)


# --- timing --------------------------------------------------------------------------------------

Shown = tuple[tuple[str, str], ...]


def _rows(rows: tuple[int, ...]) -> tuple[int, ...] | Msg:
    """The rows a message names: the first :data:`_SHOW_ROWS`, then how many more."""
    if len(rows) <= _SHOW_ROWS:
        return rows
    return Msg("register_more_rows", rows=rows[:_SHOW_ROWS], n=len(rows) - _SHOW_ROWS)


def _shown(shown: Shown) -> Msg:
    """Each grade column and its value (or none), separated by semicolons."""
    if not shown:
        return Msg("register_no_column")
    parts = [Msg("register_shown", column=col, value=val) if val else
             Msg("register_shown_empty", column=col) for col, val in shown]
    joined = parts[-1]
    for part in reversed(parts[:-1]):
        joined = Msg("semicolon", a=part, b=joined)
    return joined


def _problem(file: str, key: str, rows: tuple[int, ...], field: str | None, value: str,
             shown: Shown, extra: Mapping[str, Any]) -> Problem:
    """A warning naming the rows (``row`` is the first), the column and the value found."""
    values: dict[str, Any] = {"n": len(rows), "rows": _rows(rows), **extra}
    if key == "register_default_speed":
        values["values"] = _shown(shown)
    else:
        values.update(field=field, value=value)
    if key == "register_unknown_value":
        values["next"] = Msg("register_next_rule")
    return Problem("warning", file, Msg(key, **values), row=rows[0], field=field)


@dataclass(frozen=True)
class RegisterTiming:
    """How each register line is timed.

    Attributes
    ----------
    speed_kph
        Emergency driving speed of each line, km/h (the rule's speed times the surface factor).
    classes
        OSM-like class of each line (:data:`CLASS_LABELS`; the default class where no grade is
        known), for km per class and map colours.
    rules
        The rule that timed each line, in words: ``"技术等级 四级 30 km/h x 0.7 x 砂石 0.8"``,
        ``"限速 40 km/h x 0.7"``, ``"路线编码 Y → 乡道 → 四级 30 km/h x 0.7"``,
        ``"default unclassified 25 km/h"``.
    columns
        Role -> column used (see :func:`find_columns`).
    problems
        The problems found, as warnings of the input (:class:`emgis.inputs.problems.Problem`
        whose message is a :class:`emgis.texts.Msg`; ``problem.say("zh")`` in Chinese): one
        per column and value (and one per set of values timed at the default class), naming
        the rows in the message; ``row`` is the first of them.
    file
        The file the problems name.
    """

    speed_kph: FloatArray
    classes: ObjectArray
    rules: ObjectArray
    columns: Mapping[str, str]
    problems: tuple[Problem, ...] = ()
    file: str = "roads"


@dataclass(frozen=True)
class _Row:
    """What one set of values gives: speed, class, rule and the findings to report."""

    kph: float
    label: str
    rule: str
    findings: tuple[tuple[str, str | None, str, Shown], ...]  # (key, column, value, shown)


@dataclass(frozen=True)
class _Rules:
    """The tables and options one call of :func:`register_speeds` times with."""

    design: Mapping[str, float]
    factors: Mapping[str, float]
    derate: float
    given_factor: float | None  # None: 设计速度 / 限速 not used
    lo: float
    hi: float
    default_class: str
    default_kph: float

    def grade(self, key: str) -> tuple[float, str]:
        kph = self.design[key] * self.derate
        name = GRADE_NAMES[key].removesuffix("公路")
        return kph, f"{name} {_g(self.design[key])} km/h x {_g(self.derate)}"


def _g(v: float) -> str:
    return f"{v:g}"


def register_speeds(
    frame: pd.DataFrame,
    *,
    fields: Mapping[str, str] | None = None,
    derate: float = 0.7,
    speeds: Mapping[str, float] | None = None,
    design_speeds: Mapping[str, float] | None = None,
    surface_factors: Mapping[str, float] | None = None,
    maxspeed_rule: str = "derate",
    plausible_kph: tuple[float, float] = _PLAUSIBLE,
    default_class: str = "unclassified",
    file: str = "roads",
) -> RegisterTiming:
    """Emergency driving speed of every line of a rural-road register.

    Parameters
    ----------
    frame
        The register's lines (a GeoDataFrame or any DataFrame), one row per line.
    fields
        Role -> column, winning over recognition (see :func:`find_columns`).
    derate
        Factor from design speed (or posted limit) to emergency driving speed, (0, 1]; pass
        ``[network] maxspeed_factor`` (0.7 by default, the derating of the class speeds).
    speeds
        Speed per OSM class, km/h (the values of ``settings.speeds``); only the default
        class's is used, for lines without a recognised grade. Default:
        :data:`emgis.standards.SPEEDS`.
    design_speeds
        Design speed per technical grade key (:data:`GRADE_NAMES`), km/h, overriding
        :data:`DESIGN_SPEEDS`.
    surface_factors
        Factor per surface kind (:data:`SURFACE_NAMES`), overriding :data:`SURFACE_FACTORS`.
    maxspeed_rule
        What a plausible 设计速度 / 限速 does, as ``[network] maxspeed_rule``: ``"derate"``
        (times ``derate``), ``"raw"`` (as given) or ``"ignore"`` (the columns are not used).
    plausible_kph
        A 设计速度 / 限速 inside this range, km/h, is used; outside it, or without a number, it
        is warned and ignored (``[network] maxspeed_min_kph``, ``maxspeed_max_kph``). An
        empty value or 0 is read as "not given", without a warning.
    default_class
        Class of lines without a recognised grade (``[network] default_class``).
    file
        File name the problems name.

    Returns
    -------
    RegisterTiming

    Raises
    ------
    ValueError
        ``fields`` names an unknown role or a missing column; ``derate`` is outside (0, 1];
        ``maxspeed_rule`` is unknown.
    """
    if maxspeed_rule not in ("derate", "raw", "ignore"):
        raise ValueError(Msg("register_bad_rule", rule=maxspeed_rule))
    if not (0.0 < derate <= 1.0):
        raise ValueError(Msg("register_bad_derate", derate=derate))
    cols = find_columns(frame.columns, fields=fields)
    class_speeds = {k: float(s.value) for k, s in SPEEDS.items()}
    class_speeds.update({k: float(v) for k, v in (speeds or {}).items()})
    rules = _Rules(
        design={**{k: float(s.value) for k, s in DESIGN_SPEEDS.items()},
                **{k: float(v) for k, v in (design_speeds or {}).items()}},
        factors={**{k: float(s.value) for k, s in SURFACE_FACTORS.items()},
                 **{k: float(v) for k, v in (surface_factors or {}).items()}},
        derate=derate,
        given_factor=None if maxspeed_rule == "ignore" else
        (derate if maxspeed_rule == "derate" else 1.0),
        lo=plausible_kph[0], hi=plausible_kph[1], default_class=default_class,
        default_kph=class_speeds[default_class])
    roles = ("technical_grade", "admin_grade", "route_code", "surface", "design_speed",
             "speed_limit")
    used = [(role, cols.get(role)) for role in roles]
    n = len(frame)
    columns = [frame[c].tolist() if c is not None else [None] * n for _, c in used]
    speed = np.empty(n, dtype=np.float64)
    classes = np.empty(n, dtype=object)
    words = np.empty(n, dtype=object)
    found: dict[tuple[str, str | None, str, Shown], list[int]] = {}
    memo: dict[tuple[object, ...], _Row] = {}
    for i in range(n):
        values = tuple(_hashable(col[i]) for col in columns)
        hit = memo.get(values)
        if hit is None:
            hit = memo[values] = _time_row(dict(zip(roles, values, strict=True)), cols, rules)
        speed[i], classes[i], words[i] = hit.kph, hit.label, hit.rule
        for finding in hit.findings:
            found.setdefault(finding, []).append(i + 1)
    order = {"bad_speed": 0, "unknown_value": 1, "default_speed": 2, "unknown_surface": 3}
    problems = []
    for (key, col, value, shown), rows in sorted(found.items(), key=lambda kv: (
            order[kv[0][0]], kv[1][0])):
        extra: dict[str, Any] = {"lo": rules.lo, "hi": rules.hi} if key == "bad_speed" else \
            {"cls": default_class, "kph": rules.default_kph} if key == "default_speed" else {}
        problems.append(_problem(file, "register_" + key, tuple(rows), col, value, shown,
                                 extra))
    return RegisterTiming(speed_kph=speed, classes=classes, rules=words,
                          columns=MappingProxyType(dict(cols)), problems=tuple(problems),
                          file=file)


def _hashable(v: object) -> object:
    """A cell as a key of the memo: missing values as None, unhashable ones as text."""
    if _missing(v):
        return None
    try:
        hash(v)
    except TypeError:
        return str(v)
    return v


def _time_row(v: Mapping[str, object], cols: Mapping[str, str], rules: _Rules) -> _Row:
    """Speed, class, rule and findings of one set of values (see :func:`register_speeds`)."""
    findings: list[tuple[str, str | None, str, Shown]] = []
    grade = grade_of(v["technical_grade"])
    admin = admin_of(v["admin_grade"])
    route = route_admin_of(v["route_code"])
    # the class: by the technical grade, else by the grade assumed for the admin grade
    letter = admin or route
    label_grade = grade or (ADMIN_GRADES[letter].grade if letter else None)
    label = CLASS_LABELS[label_grade] if label_grade else rules.default_class
    kph: float | None = None
    rule = ""
    # 1. a design speed / posted limit within the plausible range: the lower of the two
    if rules.given_factor is not None:
        for role in ("design_speed", "speed_limit"):
            raw = v[role]
            if role not in cols or raw is None:
                continue
            given = speed_value(raw)
            if given == 0:
                continue
            if given is None or not rules.lo <= given <= rules.hi:
                findings.append(("bad_speed", cols[role], str(raw), ()))
                continue
            if kph is None or given * rules.given_factor < kph:
                kph = given * rules.given_factor
                rule = f"{ROLE_NAMES[role]} {_g(given)} km/h" + (
                    f" x {_g(rules.given_factor)}" if rules.given_factor != 1.0 else "")
    # 2.-4. the technical grade, the administrative grade, the route code
    unknown = [(role, v[role]) for role, parsed in (("technical_grade", grade),
                                                    ("admin_grade", admin),
                                                    ("route_code", route))
               if role in cols and parsed is None and v[role] is not None]
    if kph is None and grade is not None:
        kph, words = rules.grade(grade)
        rule = f"{ROLE_NAMES['technical_grade']} {words}"
    elif kph is None and admin is not None:
        kph, words = rules.grade(ADMIN_GRADES[admin].grade)
        rule = f"{ROLE_NAMES['admin_grade']} {ADMIN_NAMES[admin]} → {words}"
    elif kph is None and route is not None:
        kph, words = rules.grade(ADMIN_GRADES[route].grade)
        rule = f"{ROLE_NAMES['route_code']} {route} → {ADMIN_NAMES[route]} → {words}"
    elif kph is None:
        # 5. the default class, naming every grade column's value
        kph = rules.default_kph
        rule = f"default {rules.default_class} {_g(kph)} km/h"
        shown = tuple((cols[r], "" if v[r] is None else str(v[r]))
                      for r in REGISTER_ROLES if r in cols)
        findings.append(("default_speed", None, "", shown))
        unknown = []  # the default-speed note names them
    findings += [("unknown_value", cols[role], str(raw), ()) for role, raw in unknown]
    # then the surface
    if "surface" in cols and v["surface"] is not None:
        kind = surface_of(v["surface"])
        if kind is None:
            findings.append(("unknown_surface", cols["surface"], str(v["surface"]), ()))
        elif rules.factors[kind] != 1.0:
            kph *= rules.factors[kind]
            rule += f" x {SURFACE_NAMES[kind]} {_g(rules.factors[kind])}"
    return _Row(kph, label, rule, tuple(findings))


# --- the profile -------------------------------------------------------------------------------

def profile_rows(*, lang: str = "en", derate: float = 0.7) -> list[tuple[str, str, str, str]]:
    """The register's defaults with their sources, as rows of ``emgis standards``.

    Parameters
    ----------
    lang
        ``"en"`` or ``"zh"``: sources in that language.
    derate
        The derating shown with the design speeds.

    Returns
    -------
    list of (group, key, value, source)
        Groups ``register_speeds`` (design km/h and the driving speed), ``register_admin``
        (the grade assumed), ``register_surface`` (factor) and ``register_class`` (OSM class);
        planning assumptions are marked. Group titles: :func:`group_title`.
    """
    mark = " (规划假设)" if lang == "zh" else " (planning assumption)"
    rows: list[tuple[str, str, str, str]] = []
    for key, std in DESIGN_SPEEDS.items():
        value = f"{std.value:g} x {derate:g} = {std.value * derate:g} km/h"
        rows.append(("register_speeds", f"{key} {GRADE_NAMES[key]}", value,
                     std.cite(lang) + (mark if std.proposal else "")))
    for letter, ga in ADMIN_GRADES.items():
        rows.append(("register_admin", f"{letter} {ADMIN_NAMES[letter]}",
                     GRADE_NAMES[ga.grade], ga.cite(lang) + mark))
    for kind, std in SURFACE_FACTORS.items():
        rows.append(("register_surface", f"{kind} {SURFACE_NAMES[kind]}", f"x {std.value:g}",
                     std.cite(lang) + (mark if std.proposal else "")))
    for key, label in CLASS_LABELS.items():
        en, zh = CLASS_SOURCES[key]
        rows.append(("register_class", f"{key} {GRADE_NAMES[key]}", label,
                     zh if lang == "zh" else en))
    return rows
