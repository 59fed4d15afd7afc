"""Which column of a ledger holds which field: the header synonyms of every layer.

A county's ledgers name the same thing in many ways (村名 / 村庄名称 / 行政村（社区）; 人口 /
户籍人口 / 常住人口; 经度 / 东经). :data:`SYNONYMS` lists, for every field of every layer emgis
reads, the headers taken for it, each list with a one-line source or rationale. It is pure data,
like :mod:`emgis.standards`, so that it can be printed with the standards profile
(:func:`synonym_table`) and extended from ``district.toml`` (the ``extra`` argument of
:func:`recognise`).

How a column is recognised (:func:`recognise`)
-----------------------------------------------
1. Headers and synonyms are normalised (:func:`normalise_header`): NFKC (full-width letters,
   digits and parentheses become ASCII, ㎡ becomes ``m2``), every space and line break removed,
   ASCII letters lower-cased. A trailing bracketed part or ``/unit`` (``人口（人）``,
   ``面积(㎡)``, ``容纳人数/人``) is split off as the column's *qualifier*.
2. An explicit ``fields`` mapping wins: the column it names holds the field, whatever its header.
3. **Exact**: the normalised header, or the header without its qualifier, equals a synonym of
   the field. Within a layer no synonym belongs to two fields (a test keeps it so).
4. **Containment**, only for a field no column matched exactly and only from columns that match
   no field exactly: the header (without qualifier) contains a Chinese synonym of at least two
   characters (``队伍人数合计`` contains ``人数``). A column containing synonyms of several fields
   goes to the field of the longest one; a tie leaves it unused, with a warning. English
   synonyms only match exactly (``x`` must not match ``index``). Every containment match is
   named in a warning, so the planner can check it.
5. **Two columns for one field** are the planner's decision. Where the layer has a documented
   preference (:data:`PREFERENCES`) and exactly one candidate carries its marker, that column is
   taken with a warning that names both columns and the exact ``fields = { ... }`` line that
   chooses the other: a village's population defaults to 常住人口 (resident population: who is
   there when a disaster strikes, the base of 应急避难场所 planning), a shelter's area to its
   有效 (usable) area. Any other ambiguity is an error naming both candidates and the lines to
   write; the field is left unmapped.
6. A qualifier that is a unit other than emgis's (``人口（万人）``, ``面积（亩）``) is a
   warning: values are never rescaled.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from emgis.inputs.fields import POINT_LAYERS, SCHEMAS
from emgis.texts import Msg


@dataclass(frozen=True)
class Synonyms:
    """The headers taken for one field.

    Attributes
    ----------
    names
        Headers, Chinese and English, as ledgers write them (normalised when compared).
    source
        Where the names come from or why they are there (one line).
    """

    names: tuple[str, ...]
    source: str


_LON = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "中心经度", "中心点经度",
        "坐标经度", "经度坐标", "GPS经度")
_LAT = ("lat", "latitude", "y", "纬度", "北纬", "中心纬度", "中心点纬度", "坐标纬度",
        "纬度坐标", "GPS纬度")
_SRC_LONLAT = "emgis.layers LON_NAMES/LAT_NAMES; 东经/北纬 and 坐标 parents of county ledgers"
_SRC_TOWN = "乡镇 or 街道 a unit belongs to; 乡镇（街道） as county ledgers head it"
_SRC_DRILL = "演练 columns of the 应急队伍/村级应急 ledgers (emgis.layers FIELD_ALIASES)"
_TOWNSHIP = ("township", "乡镇", "所属乡镇", "乡镇(街道)", "所属乡镇(街道)", "乡镇街道",
             "所属乡镇街道", "乡镇名称", "镇街", "所属镇街", "镇(街道)", "所在乡镇", "乡(镇)",
             "乡镇(街道)名称")
_LAST_DRILL = ("last_drill", "最近演练", "最近演练日期", "最近演练时间", "最近一次演练时间",
               "最近一次演练日期", "上次演练时间", "上次演练日期")
_DRILLS = ("drills_per_year", "年演练次数", "演练次数", "每年演练次数", "年度演练次数")


def _s(source: str, *names: str) -> Synonyms:
    return Synonyms(tuple(names), source)


def _freeze(d: dict[str, dict[str, Synonyms]]) -> Mapping[str, Mapping[str, Synonyms]]:
    return MappingProxyType({k: MappingProxyType(v) for k, v in d.items()})


#: Header synonyms per layer and field: layer -> field -> :class:`Synonyms`. Every field of
#: :data:`emgis.layers.SCHEMAS` is here, with ``lon``/``lat`` for tables of points and the
#: ``calls`` layer of dispatch records (出警记录).
SYNONYMS: Mapping[str, Mapping[str, Synonyms]] = _freeze({
    "villages": {
        "id": _s("村（社区）编码 and 统计用区划代码 (国家统计局 12-digit codes) of village ledgers",
                 "id", "编码", "编号", "代码", "村编码", "村编号", "村代码", "村庄编码",
                 "村(社区)编码", "村(居)编码", "区划代码", "行政区划代码", "统计用区划代码"),
        "name": _s("headings of 村庄台账 and 村（社区）基本情况表",
                   "name", "名称", "村名", "村名称", "村庄", "村庄名称", "村庄名", "行政村",
                   "行政村名称", "行政村(社区)", "村(社区)", "村(社区)名称", "村(居)",
                   "村(居)名称", "村居", "村居名称", "社区名称", "村(社区)名"),
        "township": _s(_SRC_TOWN, *_TOWNSHIP),
        "kind": _s("村/社区 distinction (KIND_ALIASES villages)",
                   "kind", "type", "类型", "类别", "村庄类型", "村(社区)类型", "村居类型",
                   "村社类型"),
        "population": _s("户籍/常住人口 of 统计年鉴 and village ledgers; 常住 preferred "
                         "(PREFERENCES)",
                         "population", "人口", "总人口", "人口数", "人口总数", "户籍人口",
                         "常住人口", "户籍人口数", "常住人口数", "户籍总人口", "常住总人口",
                         "resident_population", "registered_population"),
        "service_centre_staff": _s("村（社区）综合服务站 staff of 基层应急能力 ledgers",
                                   "service_centre_staff", "服务中心人员", "服务站人员",
                                   "综合服务站人员", "便民服务中心人员", "服务中心人数"),
        "drills_per_year": _s(_SRC_DRILL, *_DRILLS),
        "grid_members": _s("网格员 of 网格化管理 ledgers (emgis.layers FIELD_ALIASES)",
                           "grid_members", "网格员", "网格员人数", "网格员数", "网格员数量"),
        "households": _s("户数 of village ledgers (emgis.layers FIELD_ALIASES)",
                         "households", "户数", "总户数", "户籍户数", "常住户数"),
        "last_drill": _s(_SRC_DRILL, *_LAST_DRILL),
        "lon": _s(_SRC_LONLAT, *_LON),
        "lat": _s(_SRC_LONLAT, *_LAT),
    },
    "townships": {
        "name": _s(_SRC_TOWN, "name", "名称", *_TOWNSHIP[1:]),
        "office_fulltime_staff": _s("乡镇应急管理办公室 staff (emgis.layers FIELD_ALIASES)",
                                    "office_fulltime_staff", "专职人员", "专职人员数",
                                    "应急办专职人员", "专职工作人员"),
        "station_posts": _s("应急管理站 posts (泉州 2025)", "station_posts", "岗位数",
                            "编制岗位数", "站岗位数"),
        "station_fulltime_posts": _s("应急管理站 full-time posts (泉州 2025)",
                                     "station_fulltime_posts", "专职岗位数", "专职岗位"),
        "builtup_km2": _s("建成区面积 of 统计年鉴", "builtup_km2", "建成区面积", "建成区"),
        "office": _s("八有: 有办公场所 (泉州 2025)", "office", "应急办公场所", "办公场所"),
        "satellite_phones": _s("八有: 卫星电话 (泉州 2025)", "satellite_phones", "卫星电话",
                               "卫星电话数"),
        "video_conference": _s("八有: 视频会商 (泉州 2025)", "video_conference", "视频会议系统",
                               "视频会商系统", "视频会商"),
        "broadcast_system": _s("八有: 应急广播 (泉州 2025)", "broadcast_system", "应急广播",
                               "应急广播系统"),
        "duty_system": _s("八有: 四位一体值班 (泉州 2025)", "duty_system", "四位一体值班",
                          "值班制度", "工作机制"),
        "enforcement_team": _s("八有: 执法队伍 (泉州 2025)", "enforcement_team", "执法队伍"),
        "emergency_plan": _s("八有: 应急预案 (泉州 2025)", "emergency_plan", "应急预案",
                             "预案体系"),
        "materials_warehouse": _s("八有: 物资仓库 (泉州 2025)", "materials_warehouse",
                                  "物资仓库", "综合物资仓库"),
        "warning_education_site": _s("八有: 警示教育场所 (泉州 2025)", "warning_education_site",
                                     "安全警示教育基地", "警示教育场所"),
    },
    "teams": {
        "id": _s("队伍编号 of 应急救援队伍台账", "id", "编号", "编码", "队伍编号", "队伍编码",
                 "单位编号", "队伍代码"),
        "name": _s("应急救援队伍统计表 headings", "name", "名称", "队伍名称", "队名",
                   "救援队伍名称", "单位名称", "消防站名称", "队伍全称"),
        "kind": _s("队伍类型 of the ledgers (KIND_ALIASES teams)", "kind", "type", "类型",
                   "类别", "队伍类型", "队伍类别", "队伍性质", "力量类型", "队伍种类"),
        "headcount": _s("人数 columns of 应急救援队伍统计表", "headcount", "人数", "总人数",
                        "队员人数", "队伍人数", "人员数量", "队员数", "人员数", "在编人数",
                        "现有人数"),
        "township": _s(_SRC_TOWN, *_TOWNSHIP),
        "village": _s("the village (id) a village team belongs to", "village", "所属村",
                      "所在村", "所属村(社区)", "所在村(社区)", "村(社区)", "所属村编码",
                      "驻地村", "村编码"),
        "turnout_min": _s("出动准备时间 (公消〔2015〕301号 turnout)", "turnout_min", "出动时间",
                          "出动准备时间", "出警准备时间", "出动用时"),
        "full_time": _s("专职 members of 乡镇专职消防队 ledgers", "full_time", "专职人数",
                        "专职", "专职队员", "专职队员人数", "专职人员"),
        "drills_per_year": _s(_SRC_DRILL, *_DRILLS),
        "engines": _s("车辆 columns of 消防站/队伍 ledgers", "engines", "车辆", "车辆数",
                      "车辆数量", "消防车", "消防车辆", "消防车数", "装备车辆", "救援车辆"),
        "last_drill": _s(_SRC_DRILL, *_LAST_DRILL),
        "availability": _s("社会应急力量 availability (emgis.layers FIELD_ALIASES)",
                           "availability", "可用率", "在岗率"),
        "mobilisation_min": _s("社会应急力量 mobilisation (emgis.layers FIELD_ALIASES)",
                               "mobilisation_min", "动员时间", "集结时间"),
        "availability_day": _s("在岗率 by period of 值班/在岗 rosters "
                               "(emgis.analysis.availability)", "availability_day",
                               "白天在岗率", "日间在岗率", "白天可用率", "日间可用率",
                               "昼间在岗率"),
        "availability_night": _s("在岗率 by period of 值班/在岗 rosters "
                                 "(emgis.analysis.availability)",
                                 "availability_night", "夜间在岗率", "夜间可用率", "晚间在岗率"),
        "availability_flood": _s("在岗率 by period of 值班/在岗 rosters "
                                 "(emgis.analysis.availability)",
                                 "availability_flood", "汛期在岗率", "汛期可用率"),
        "lon": _s(_SRC_LONLAT, *_LON),
        "lat": _s(_SRC_LONLAT, *_LAT),
    },
    "stockpiles": {
        "id": _s("储备点编号 of 物资储备点台账", "id", "编号", "编码", "储备点编号", "仓库编号",
                 "储备库编号"),
        "name": _s("物资储备点台账 headings", "name", "名称", "储备点名称", "物资储备点名称",
                   "仓库名称", "储备库名称", "储备点", "物资储备点", "储备仓库名称"),
        "level": _s("county/township/village level of the reserve (KIND_ALIASES stockpiles)",
                    "level", "级别", "层级", "等级", "储备级别", "储备层级", "储备点级别"),
        "township": _s(_SRC_TOWN, *_TOWNSHIP),
        "items": _s("物资 columns of 物资储备点台账", "items", "物资", "储备物资", "主要物资",
                    "物资品种", "物资清单", "储备品种", "物资种类", "储备物资品种"),
        "lon": _s(_SRC_LONLAT, *_LON),
        "lat": _s(_SRC_LONLAT, *_LAT),
    },
    "shelters": {
        "id": _s("场所编号 of 应急避难场所台账", "id", "编号", "编码", "场所编号",
                 "避难场所编号"),
        "name": _s("应急避难场所台账 headings", "name", "名称", "场所名称", "避难场所名称",
                   "避难场所", "避难点名称", "安置点名称"),
        "kind": _s("紧急/固定避难场所 (GB 21734, KIND_ALIASES shelters)", "kind", "type", "类型",
                   "类别", "场所类型", "避难场所类型", "场所类别"),
        "capacity": _s("容纳人数 of 应急避难场所台账 (GB 21734)", "capacity", "容纳人数",
                       "可容纳人数", "容量", "容纳人口", "可容纳人口", "设计容量",
                       "设计容纳人数", "可安置人数"),
        "area_m2": _s("面积 of 应急避难场所台账; 有效避难面积 preferred (PREFERENCES)", "area_m2",
                      "area", "面积", "占地面积", "有效面积", "有效避难面积", "避难面积",
                      "场所面积", "总面积"),
        "township": _s(_SRC_TOWN, *_TOWNSHIP),
        "lon": _s(_SRC_LONLAT, *_LON),
        "lat": _s(_SRC_LONLAT, *_LAT),
    },
    "candidates": {
        "id": _s("候选点编号", "id", "编号", "编码", "候选点编号"),
        "name": _s("候选点名称", "name", "名称", "候选点名称", "地点", "地点名称"),
        "cost": _s("建设费用/投资估算 of a list of candidate sites (yuan; blank: [costs])", "cost",
                   "费用", "造价", "建设费用", "投资", "投资估算", "估算投资", "预算",
                   "建设资金"),
        "lon": _s(_SRC_LONLAT, *_LON),
        "lat": _s(_SRC_LONLAT, *_LAT),
    },
    "warning_points": {
        "id": _s("预警设施编号", "id", "编号", "编码", "预警点编号", "设备编号", "终端编号"),
        "name": _s("预警设施台账 headings", "name", "名称", "预警点名称", "设备名称",
                   "站点名称", "点位名称"),
        "kind": _s("大喇叭/警报器/预警点 (KIND_ALIASES warning_points)", "kind", "type", "类型",
                   "类别", "设备类型", "设施类型", "预警设施类型"),
        "radius_m": _s("覆盖半径 (emgis.layers FIELD_ALIASES)", "radius_m", "半径", "覆盖半径",
                       "有效半径", "覆盖范围", "广播半径"),
        "township": _s(_SRC_TOWN, *_TOWNSHIP),
        "lon": _s(_SRC_LONLAT, *_LON),
        "lat": _s(_SRC_LONLAT, *_LAT),
    },
    "buildings": {
        "floors": _s("层数 of 房屋普查 (第一次全国自然灾害综合风险普查)", "floors", "层数",
                     "楼层数", "地上层数", "建筑层数"),
        "lon": _s(_SRC_LONLAT, *_LON),
        "lat": _s(_SRC_LONLAT, *_LAT),
    },
    "hazards": {
        "id": _s("风险区/图斑编号", "id", "编号", "编码", "区域编号", "风险区编号", "图斑编号"),
        "name": _s("风险区 headings", "name", "名称", "区域名称", "风险区名称", "隐患点名称"),
        "kind": _s("灾种 (KIND_ALIASES hazards)", "kind", "type", "类型", "灾种", "灾害类型",
                   "风险类型", "灾害种类"),
        "effect": _s("emgis's closed/slowed effect on roads", "effect", "影响", "通行影响",
                     "道路影响", "交通影响"),
        "speed_factor": _s("emgis's speed factor of slowed roads", "speed_factor", "速度系数",
                           "通行系数", "限速系数", "车速系数"),
    },
    "calls": {
        "id": _s("警情编号 of 接处警 records", "id", "编号", "警情编号", "事件编号", "出警单号",
                 "警情号"),
        "unit": _s("出警单位 of 接处警/出警记录 (the team id)", "unit", "unit_id", "team",
                   "出警单位", "出动单位", "出警队伍", "出动队伍", "处置单位", "出警力量",
                   "队伍编号"),
        "village": _s("事发地 of 出警记录 (the village id)", "village", "place", "事发地",
                      "事发地点", "发生地", "发生地点", "事发村", "所在村", "村(社区)",
                      "事发村(社区)"),
        "kind": _s("警情类型 of 接处警 records", "kind", "type", "警情类型", "事件类型",
                   "警情类别"),
        "call_time": _s("接警时间 of 接处警 records", "call_time", "接警时间", "报警时间"),
        "dispatch_time": _s("出警时间 of 出警记录", "dispatch_time", "出警时间", "出动时间",
                            "派警时间", "调派时间"),
        "arrival_time": _s("到场时间 of 出警记录", "arrival_time", "到场时间", "到达时间",
                           "到达现场时间", "抵达时间"),
        "lon": _s(_SRC_LONLAT, *_LON, "事发地经度"),
        "lat": _s(_SRC_LONLAT, *_LAT, "事发地纬度"),
    },
})

#: Required fields of the ``calls`` layer (dispatch records), which :data:`SCHEMAS` lacks.
CALLS_REQUIRED: tuple[str, ...] = ("unit", "dispatch_time", "arrival_time")

#: Layers emgis reads from a table of points (lon/lat required there).
COORDINATE_LAYERS: tuple[str, ...] = (*POINT_LAYERS,)


@dataclass(frozen=True)
class Preference:
    """How two candidate columns for one field are decided.

    Attributes
    ----------
    marker
        Text in the header of the column taken (``常住`` of 常住人口).
    why
        Catalogue key (``[msg]``) of the reason given in the warning.
    """

    marker: str
    why: str


#: Documented choices between two columns holding one field: layer -> field -> preference.
PREFERENCES: Mapping[str, Mapping[str, Preference]] = MappingProxyType({
    "villages": MappingProxyType({"population": Preference("常住", "header_why_population")}),
    "shelters": MappingProxyType({"area_m2": Preference("有效", "header_why_area")}),
})

#: Units other than emgis's that a header's qualifier may name, per field: a warning. Each
#: field's foreign units and the catalogue key (``[msg]``) of the unit emgis expects.
FOREIGN_UNITS: Mapping[str, tuple[tuple[str, ...], str]] = MappingProxyType({
    "population": (("万人", "千人", "万"), "header_unit_persons"),
    "headcount": (("万人", "千人"), "header_unit_persons"),
    "capacity": (("万人", "千人", "万"), "header_unit_persons"),
    "area_m2": (("亩", "公顷", "ha", "km2", "平方公里", "平方千米", "万平方米", "万m2"),
                "header_unit_m2"),
    "builtup_km2": (("m2", "平方米", "亩", "公顷", "ha", "万平方米"), "header_unit_km2"),
    "radius_m": (("km", "公里", "千米"), "header_unit_metres"),
    "turnout_min": (("秒", "s", "小时", "h"), "header_unit_minutes"),
    "mobilisation_min": (("秒", "s", "小时", "h"), "header_unit_minutes"),
    "cost": (("万元", "万", "千元", "亿元"), "header_unit_yuan"),
})


def layers() -> tuple[str, ...]:
    """Every layer with header synonyms, in :data:`SYNONYMS` order."""
    return tuple(SYNONYMS)


def required_fields(layer: str, *, coordinates: bool = True) -> tuple[str, ...]:
    """The fields a table of ``layer`` must have.

    Parameters
    ----------
    layer
        A layer of :data:`SYNONYMS`.
    coordinates
        Whether the table must carry its points as ``lon``/``lat`` (a ledger or CSV of a point
        layer: yes; the attribute table of a vector file: no).
    """
    if layer == "calls":
        return CALLS_REQUIRED
    out = tuple(f.name for f in SCHEMAS[layer].fields if f.required)
    return (*out, "lon", "lat") if coordinates and layer in COORDINATE_LAYERS else out


# --- normalisation -------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_QUALIFIER = re.compile(r"^(.+?)(?:\(([^()]*)\)|\[([^\[\]]*)\]|【([^【】]*)】|/([^/()]+))$")


def normalise_header(text: object) -> str:
    """A header as it is compared: NFKC, no spaces or line breaks, ASCII letters lower-case.

    ``"人口\\n（人）"`` -> ``"人口(人)"``; ``"面积(㎡)"`` -> ``"面积(m2)"``; ``" ID "`` -> ``"id"``.
    """
    t = _SPACE.sub("", unicodedata.normalize("NFKC", str(text)))
    return "".join(c.lower() if c.isascii() else c for c in t)


def split_qualifier(header: str) -> tuple[str, str]:
    """A normalised header and its trailing qualifier: ``"人口(人)"`` -> ``("人口", "人")``,
    ``"容纳人数/人"`` -> ``("容纳人数", "人")``; ``("经度", "")`` without one."""
    m = _QUALIFIER.match(header)
    if m is None:
        return header, ""
    qualifier = next((g for g in m.groups()[1:] if g is not None), "")
    return m.group(1), qualifier


def is_known_header(text: str) -> bool:
    """Whether a header is a synonym of some field of some layer (qualifier aside)."""
    h = normalise_header(text)
    return h in _ALL or split_qualifier(h)[0] in _ALL


def _all_names() -> frozenset[str]:
    return frozenset(normalise_header(n) for fields in SYNONYMS.values()
                     for syn in fields.values() for n in syn.names)


_ALL = _all_names()


# --- recognition --------------------------------------------------------------------------

@dataclass(frozen=True)
class Recognition:
    """Which column holds which field of a layer.

    Attributes
    ----------
    layer
        The layer.
    mapping
        Field -> column (the column as given).
    how
        Field -> ``"explicit"``, ``"exact"``, ``"contained"`` or ``"preferred"``.
    missing
        Required fields no column holds.
    ambiguities
        Field -> the candidate columns, for every field two or more columns could hold (the
        ones decided by a preference included).
    unused
        Columns that hold no field (kept by the layer reader as extra attributes).
    warnings
        Preference choices, containment matches, foreign units (:class:`emgis.texts.Msg`:
        English as ``str``, ``.say(texts("zh"))`` in Chinese).
    errors
        Undecided ambiguities and unusable ``explicit`` entries (:class:`emgis.texts.Msg`).
    """

    layer: str
    mapping: Mapping[str, str]
    how: Mapping[str, str]
    missing: tuple[str, ...]
    ambiguities: Mapping[str, tuple[str, ...]]
    unused: tuple[str, ...]
    warnings: tuple[Msg, ...] = field(default=())
    errors: tuple[Msg, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when there are no errors and no required field is missing."""
        return not self.errors and not self.missing

    def rename(self) -> dict[str, str]:
        """Column -> field, for ``DataFrame.rename``."""
        return {col: f for f, col in self.mapping.items()}


def fields_line(layer: str, field_name: str, column: str) -> str:
    """The ``district.toml`` line that maps a field to a column:
    ``fields = { population = "户籍人口" }``."""
    return f"fields = {{ {field_name} = {json.dumps(column, ensure_ascii=False)} }}"


def _synonyms(layer: str, extra: Mapping[str, Sequence[str]] | None
              ) -> dict[str, tuple[str, ...]]:
    table = SYNONYMS[layer]
    out = {f: tuple(dict.fromkeys(normalise_header(n) for n in s.names)) for f, s in
           table.items()}
    for f, names in (extra or {}).items():
        out[f] = tuple(dict.fromkeys((*(normalise_header(n) for n in names), *out.get(f, ()))))
    return out


def recognise(
    columns: Iterable[str],
    layer: str,
    *,
    extra: Mapping[str, Sequence[str]] | None = None,
    explicit: Mapping[str, str] | None = None,
    coordinates: bool = True,
) -> Recognition:
    """Find the column of each field of ``layer`` among a table's headers.

    Parameters
    ----------
    columns
        The table's headers (a :class:`~emgis.inputs.ledgers.Ledger`'s frame columns, a CSV's).
    layer
        A layer of :data:`SYNONYMS` (``villages``, ``teams`` ..., ``calls``).
    extra
        More synonyms per field (``district.toml``), tried with the built-in ones.
    explicit
        The layer's ``fields`` mapping, field -> column; it wins over every synonym. A column
        may be named as written or as normalised (:func:`normalise_header`).
    coordinates
        Whether ``lon``/``lat`` are required (a table of points); see :func:`required_fields`.

    Returns
    -------
    Recognition
        The mapping and everything the planner should know about it (module docstring for the
        rules).

    Raises
    ------
    KeyError
        An unknown layer.
    """
    if layer not in SYNONYMS:
        raise KeyError(f"unknown layer {layer!r}; layers: {', '.join(SYNONYMS)}")
    cols = [str(c) for c in columns]
    norm = [normalise_header(c) for c in cols]
    split = [split_qualifier(n) for n in norm]
    syn = _synonyms(layer, extra)
    warns: list[Msg] = []
    errors: list[Msg] = []
    mapping: dict[str, str] = {}
    how: dict[str, str] = {}
    ambiguities: dict[str, tuple[str, ...]] = {}
    taken: set[int] = set()

    for f, col in (explicit or {}).items():
        if f not in syn:
            errors.append(Msg("header_explicit_unknown_field", field=f, layer=layer,
                              fields=tuple(syn)))
            continue
        idx = next((i for i, c in enumerate(cols) if c == col), None)
        if idx is None:
            idx = next((i for i, n in enumerate(norm) if n == normalise_header(col)), None)
        if idx is None:
            errors.append(Msg("header_explicit_no_column", field=f, column=col,
                              columns=tuple(cols)))
            continue
        mapping[f] = cols[idx]
        how[f] = "explicit"
        taken.add(idx)

    exact: dict[str, list[int]] = {}
    exact_cols: set[int] = set()
    for i, (n, (bare, _)) in enumerate(zip(norm, split)):
        full = [f for f, names in syn.items() if n in names]
        for f in full or [f for f, names in syn.items() if bare in names]:
            exact.setdefault(f, []).append(i)
            exact_cols.add(i)
    contained: dict[str, list[tuple[int, str]]] = {}
    for i, (bare, _) in enumerate(split):
        if i in exact_cols or i in taken:
            continue
        best: list[tuple[int, str, str]] = []  # (length, field, synonym)
        for f, names in syn.items():
            hits = [s for s in names if len(s) >= 2 and not s.isascii() and s in bare]
            if hits:
                s = max(hits, key=len)
                best.append((len(s), f, s))
        if not best:
            continue
        top = max(b[0] for b in best)
        winners = sorted({b[1] for b in best if b[0] == top})
        if len(winners) > 1:
            warns.append(Msg("header_column_two_fields", column=cols[i], fields=tuple(winners),
                             layer=layer))
            continue
        s = next(b[2] for b in best if b[0] == top)
        contained.setdefault(winners[0], []).append((i, s))

    for f in syn:
        if f in mapping:
            continue
        cands = [i for i in exact.get(f, []) if i not in taken]
        tier = "exact"
        via: dict[int, str] = {}
        if not cands:
            pairs = [(i, s) for i, s in contained.get(f, []) if i not in taken]
            cands = [i for i, _ in pairs]
            via = dict(pairs)
            tier = "contained"
        if not cands:
            continue
        if len(cands) > 1:
            names = tuple(cols[i] for i in cands)
            ambiguities[f] = names
            pref = PREFERENCES.get(layer, {}).get(f)
            marked = [i for i in cands if pref is not None and pref.marker in norm[i]]
            if pref is None or len(marked) != 1:
                lines = tuple(fields_line(layer, f, c) for c in names)
                errors.append(Msg("header_ambiguous", field=f, layer=layer, columns=_quoted(names),
                                  lines=lines))
                continue
            chosen = marked[0]
            others = tuple(fields_line(layer, f, cols[i]) for i in cands if i != chosen)
            warns.append(Msg("header_ambiguous_preferred", field=f, layer=layer,
                             columns=_quoted(names), chosen=cols[chosen],
                             why=Msg(pref.why), lines=others))
            mapping[f] = cols[chosen]
            how[f] = "preferred"
            taken.add(chosen)
            continue
        i = cands[0]
        mapping[f] = cols[i]
        how[f] = tier
        taken.add(i)
        if tier == "contained":
            warns.append(Msg("header_contained", column=cols[i], field=f, layer=layer,
                             synonym=via[i]))

    for f, col in mapping.items():
        unit = split_qualifier(normalise_header(col))[1]
        foreign = FOREIGN_UNITS.get(f)
        if unit and foreign is not None and unit in foreign[0]:
            warns.append(Msg("header_unit_mismatch", column=col, field=f, unit=unit,
                             expected=Msg(foreign[1])))

    need = required_fields(layer, coordinates=coordinates)
    used = set(mapping.values())
    return Recognition(
        layer=layer,
        mapping=MappingProxyType(mapping),
        how=MappingProxyType(how),
        missing=tuple(f for f in need if f not in mapping),
        ambiguities=MappingProxyType(ambiguities),
        unused=tuple(c for c in cols if c not in used),
        warnings=tuple(warns),
        errors=tuple(errors),
    )


def _quoted(names: Sequence[str]) -> tuple[Msg, ...]:
    return tuple(Msg("header_quoted", name=n) for n in names)


# --- which layer is a file ------------------------------------------------------------------

#: Words in a file or sheet name that point to a layer (compared normalised).
NAME_KEYWORDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "villages": ("村庄", "行政村", "村(社区)", "村居", "村情", "村级", "人口", "village"),
    "townships": ("乡镇", "镇街", "行政区划", "边界", "township"),
    "teams": ("救援队伍", "应急队伍", "队伍", "消防站", "消防队", "救援队", "应急队",
              "救援力量", "team"),
    "stockpiles": ("物资", "储备", "仓库", "stockpile"),
    "shelters": ("避难", "避险", "安置点", "shelter"),
    "hazards": ("洪水", "淹没", "山火", "风险区", "隐患", "危险区", "地质灾害", "内涝",
                "hazard", "flood"),
    "warning_points": ("预警", "大喇叭", "村村响", "广播", "警报", "warning"),
    "buildings": ("建筑", "房屋", "楼栋", "building"),
    "candidates": ("候选", "备选", "candidate"),
    "calls": ("出警", "警情", "接处警", "出动记录", "call", "dispatch", "incident"),
    "roads": ("道路", "路网", "公路", "road", "osm"),
})

#: Catalogue keys of a geometry family's name (plural), and of what a layer needs.
_GEOMETRY_WORDS = {"point": "header_points", "polygon": "header_polygons",
                   "line": "header_lines"}
_NEEDS = {**_GEOMETRY_WORDS, "point/polygon": "header_points_or_polygons"}


def _geometry_family(geometry: str) -> str:
    g = geometry.lower().removeprefix("multi")
    return {"point": "point", "polygon": "polygon", "linestring": "line", "line": "line",
            "linearring": "line"}.get(g, g)


def _accepts(layer: str) -> set[str]:
    if layer == "roads":
        return {"line"}
    if layer == "calls":
        return {"point"}
    return {_geometry_family(g) for g in SCHEMAS[layer].geometry}


def guess_layer(
    *,
    file_name: str,
    sheet: str | None,
    columns: Sequence[str],
    geometry: str | None,
) -> list[tuple[str, float, Msg]]:
    """Which layer a file is, best first, for ``emgis init``.

    Parameters
    ----------
    file_name
        The file's name (``村庄台账.xlsx``); only its stem is read.
    sheet
        The sheet (or GeoPackage layer) name, if any.
    columns
        The file's headers.
    geometry
        The geometry type of a vector file (``Point``, ``MultiPolygon``, ``LineString`` ...), or
        None for a table (ledger, CSV).

    Returns
    -------
    list of (layer, score, reason)
        Every layer (``roads`` for lines too) with a score in [0, 1] and the reason in words
        (a :class:`emgis.texts.Msg`: ``str`` in English, ``.say(texts("zh"))`` in Chinese),
        highest score first.
        Score: up to 0.5 from a keyword in the file or sheet name (0.3 + 0.05 per character of
        the longest keyword, so ``救援队伍`` outweighs ``乡镇`` in 乡镇应急救援队伍), up to 0.4
        from the share of the layer's required fields recognised in the columns (calls: both
        times found), 0.1 for a fitting geometry (0.5 for lines, which only roads are, and
        nothing when neither name nor columns point to the layer); a geometry that does not fit
        makes the score 0, and a table without coordinates halves a polygon layer's.
    """
    stem = file_name.rsplit("/", 1)[-1]
    stem = stem.split(".", 1)[0] if "." in stem else stem
    name = normalise_header(stem + ("|" + sheet if sheet else ""))
    family = _geometry_family(geometry) if geometry else None
    out: list[tuple[str, float, Msg]] = []
    for layer in (*SYNONYMS, "roads"):
        parts: list[Msg] = []
        score = 0.0
        hits = [k for k in NAME_KEYWORDS[layer] if normalise_header(k) in name]
        if hits:
            k = max(hits, key=len)
            score += min(0.5, 0.3 + 0.05 * len(k))
            parts.append(Msg("header_reason_name", name=stem + (f" / {sheet}" if sheet else ""),
                             keyword=k))
        if layer != "roads" and columns:
            rec = recognise(columns, layer, coordinates=False)
            need = required_fields(layer, coordinates=False)
            if layer == "calls":
                found = {"dispatch_time", "arrival_time"} <= set(rec.mapping)
                if found:
                    score += 0.4
                    parts.append(Msg("header_reason_calls"))
            elif need:
                n = sum(1 for f in need if f in rec.mapping)
                if n:
                    score += 0.4 * n / len(need)
                    parts.append(Msg("header_reason_columns", n=n, total=len(need)))
        accepts = _accepts(layer)
        needs_key = "point/polygon" if accepts == {"point", "polygon"} else next(iter(accepts))
        if family is not None:
            words = Msg(_GEOMETRY_WORDS[family]) if family in _GEOMETRY_WORDS else geometry
            if family in accepts:
                # only roads are lines: the geometry alone says it
                score += 0.5 if layer == "roads" else (0.1 if score else 0.0)
                parts.append(Msg("header_reason_geometry_fits", geometry=words))
            else:
                score = 0.0
                parts.append(Msg("header_reason_geometry_wrong", geometry=words,
                                 needs=Msg(_NEEDS[needs_key])))
        elif "point" not in accepts and score:
            score *= 0.5
            parts.append(Msg("header_reason_table", needs=Msg(_NEEDS[needs_key])))
        if not parts:
            parts.append(Msg("header_reason_nothing"))
        out.append((layer, round(score, 3), _join(parts)))
    out.sort(key=lambda t: -t[1])
    return out


def _join(parts: list[Msg]) -> Msg:
    """The parts as one message, separated by semicolons (``msg.semicolon``)."""
    joined = parts[-1]
    for part in reversed(parts[:-1]):
        joined = Msg("semicolon", a=part, b=joined)
    return joined


# --- printing -------------------------------------------------------------------------------

def synonym_table(*, markdown: bool = False) -> str:
    """The synonym table as text, for ``emgis standards`` (one row per layer and field).

    Parameters
    ----------
    markdown
        A Markdown table instead of plain text.
    """
    rows = [(layer, f, "、".join(s.names), s.source) for layer, fields in SYNONYMS.items()
            for f, s in fields.items()]
    if markdown:
        out = ["| layer | field | headers | source |", "| --- | --- | --- | --- |"]
        out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    else:
        out = [f"  {a:<15} {b:<24} {c}  [{d}]" for a, b, c, d in rows]
    return "\n".join(out)
