"""The standards profile as a table: printed by ``emgis standards``, cited by the report and the
workbook (every value a run used, with its source).
"""

from __future__ import annotations

import pandas as pd

from emgis.inputs.headers import SYNONYMS
from emgis.inputs.settings import CoverageSettings, NetworkSettings, Settings
from emgis.inputs.standards import (
    AVAILABILITY,
    COSTS,
    MINIMUMS,
    QUALITY,
    SHELTER,
    SOCIAL,
    SPEEDS,
    TARGETS,
    TURNOUT,
    UNCERTAINTY,
    WARNING,
    Standard,
)
from emgis.roads.register import group_title
from emgis.roads.register import profile_rows as register_rows
from emgis.texts import Texts, texts

#: Names of the profile's groups and of the engine's own defaults, in English and Chinese.
_GROUPS = {
    "targets": ("Response-time targets (minutes, turnout included)",
                "响应时间目标（分钟，含出动时间）"),
    "turnout": ("Turnout (minutes to leave the base)", "出动准备时间（分钟）"),
    "speeds": ("Travel speeds (km/h)", "通行速度（千米/小时）"),
    "engine": ("How the engine uses them", "路网计算规则"),
    "minimums": ("Organisational minimums", "组织建设最低要求"),
    "warning": ("Warning reach", "预警覆盖"),
    "social": ("Social and enterprise forces", "社会和企业力量"),
    "quality": ("Data quality of the roads", "道路数据质量"),
    "costs": ("Costs of new sites (yuan; a kind without a build cost here needs one in "
              "[costs] to be sited within a budget)",
              "新建站点费用（元；此处没有建设费用的类别，须在 [costs] 中设定后才能按预算选址）"),
    "shelter": ("Shelters", "避难场所"),
    "uncertainty": ("How sure the minutes are (ranges without dispatch records)",
                    "时间的可靠程度（无出警记录时的取值范围）"),
    "availability": ("Team availability by period and busy units (ReVelle & Hogan 1989: at "
                     "least one of k units free with probability 1 - q^k)",
                     "分时段队伍可用率与忙碌队伍（雷韦尔与霍根1989年：多支队伍中至少一支空闲的概率为"
                     "1减去各队伍不能响应概率之积）"),
    "synonyms": ("Column headers read as each field (extend with [synonyms.LAYER] in "
                 "district.toml)",
                 "各字段可识别的表头（可在 district.toml 的 [synonyms.图层] 中补充）"),
}
_COLS = {"en": ("setting", "value", "source"), "zh": ("项目", "数值", "依据")}
_PROPOSAL = {"en": "planning assumption", "zh": "规划假设"}


def sources_table(settings: Settings, *, lang: str = "en") -> pd.DataFrame:
    """The values a district's run used, each with its source (for reports and workbooks).

    Parameters
    ----------
    settings
        The district's :class:`emgis.inputs.settings.Settings` (defaults and overrides).
    lang
        ``"en"`` or ``"zh"``: labels, units and sources in that language.

    Returns
    -------
    pandas.DataFrame
        One row per value: ``group``, ``key``, ``label``, ``value``, ``unit``, ``source`` and
        ``proposal`` (True for a planning assumption with no national figure).
    """
    t = texts(lang)
    groups = (("targets", settings.targets), ("turnout", settings.turnout),
              ("minimums", settings.minimums), ("shelter", settings.shelter),
              ("warning", settings.warning), ("social", settings.social),
              ("quality", settings.quality), ("costs", settings.costs),
              ("speeds", settings.speeds), ("uncertainty", settings.uncertainty),
              ("availability", settings.availability))
    rows = []
    for group, table in groups:
        for key, std in table.items():
            if group in ("targets", "turnout"):
                label = t.kind(key)
                if group == "turnout":
                    label = f"{label} ({t['map.turnout']})"
            elif group == "speeds":
                label = t.get("road_class", key)
            elif group == "minimums":
                label = t.get("minimum", key)
            elif group in ("warning", "social", "quality", "uncertainty", "availability"):
                label = t.get(f"{group}_norm", key)
            elif group == "costs":
                label = t.get("cost_norm", key)
            else:
                label = t.get("shelter_norm", key)
            rows.append({"group": group, "key": key, "label": label, "value": std.value,
                         "unit": t.get("std_unit", std.unit), "source": std.cite(lang),
                         "proposal": std.proposal})
    return pd.DataFrame(rows, columns=["group", "key", "label", "value", "unit", "source",
                                       "proposal"])


def _value(std: Standard, t: Texts) -> str:
    """A value with its unit, the unit in the catalogue's language."""
    unit = t.get("std_unit", std.unit, std.unit) if t.lang != "en" else std.unit
    sep = "" if t.lang == "zh" and unit and not unit[0].isascii() else " "
    return f"{std.value:g}{sep}{unit}".strip()


def profile_table(*, lang: str = "en", markdown: bool = False) -> str:
    """Every default the standards profile and the travel-time engine use, with its source.

    Parameters
    ----------
    lang
        ``"en"`` or ``"zh"`` for the headings.
    markdown
        A Markdown table (as in the README) instead of aligned text.

    Returns
    -------
    str
        One row per value: group, key, value with unit, source (proposals marked).
    """
    zh = lang == "zh"
    t = texts(lang)
    net = NetworkSettings()
    cov = CoverageSettings()
    rows: list[tuple[str, str, str, str]] = []
    for group, table in (("targets", TARGETS), ("turnout", TURNOUT), ("speeds", SPEEDS)):
        for key, std in table.items():
            note = f" ({_PROPOSAL[lang]})" if std.proposal else ""
            rows.append((group, key, _value(std, t), std.cite(lang) + note))
    engine = [
        ("maxspeed_rule", f"{net.maxspeed_rule} x {net.maxspeed_factor:g}",
         "an OSM maxspeed within the plausible range is derated like the class speeds "
         "(JTG B01-2014 x ~0.7)" if not zh else "OSM限速在合理范围内时同样乘以折减系数"),
        ("maxspeed_range", f"{net.maxspeed_min_kph:g}-{net.maxspeed_max_kph:g} km/h",
         "outside it a maxspeed tag is ignored; values like '30 mph', '50;70' are read"
         if not zh else "超出范围的限速标签不予采用"),
        ("default_class", net.default_class,
         "speed of a road class the table does not name" if not zh else "未列出道路等级的默认速度"),
        ("village_roads", "track, service, unclassified",
         "kept as the village roads (村道) of Chinese villages; driveways and parking aisles "
         "are not" if not zh else "按村道纳入路网（不含车道、停车场通道）"),
        ("max_access_m", f"{net.max_access_m:g} m",
         "a point farther from every road has no road access; the access leg is driven at "
         "the offroad speed" if not zh else "超过此距离视为无道路可达；接驳段按越野速度"),
        ("clip_buffer_m", f"{net.clip_buffer_m:g} m",
         "roads kept around the district's area" if not zh else "保留辖区外缓冲范围内的道路"),
        ("units_to_villages", "drive" if not zh else "驾车",
         "units drive to villages, one-way streets respected" if not zh else
         "救援力量驾车前往村庄，遵守单行"),
        ("villagers_to_shelters", f"{cov.shelter_emergency_mode}/{cov.shelter_fixed_mode}"
         if not zh else "/".join("步行" if m == "walk" else "驾车" for m in (
             cov.shelter_emergency_mode, cov.shelter_fixed_mode)),
         "GB 50413-2007 gives shelter targets as walking times; walking at the walk speed, "
         "every street both ways" if not zh else "避难场所目标为步行时间（GB 50413-2007）"),
        ("walk_highway", ", ".join(net.walk_highway),
         "OSM ways villagers walk on besides the roads (osmnx's walk filter): no motorway, "
         "nothing tagged foot=no" if not zh else
         "村民除道路外还可步行的OSM路径（参照osmnx步行筛选）：不含高速公路及禁止步行的道路"),
        ("evacuation", "drive" if not zh else "驾车",
         "evacuees drive to shelters, on the roads before the hazard closes them by default"
         if not zh else "疏散默认按灾前路网驾车前往避难场所"),
    ]
    rows += [("engine", k, v, s) for k, v, s in engine]
    for group, table in (("minimums", MINIMUMS), ("shelter", SHELTER), ("warning", WARNING),
                         ("social", SOCIAL), ("quality", QUALITY), ("costs", COSTS),
                         ("uncertainty", UNCERTAINTY), ("availability", AVAILABILITY)):
        for key, std in table.items():
            note = f" ({_PROPOSAL[lang]})" if std.proposal else ""
            rows.append((group, key, _value(std, t), std.cite(lang) + note))
    rows += register_rows(lang=lang, derate=net.maxspeed_factor)
    sep = t["msg.list_sep"]
    rows += [("synonyms", f"{layer}.{name}", sep.join(s.names), s.source if not zh else "")
             for layer, fields in SYNONYMS.items() for name, s in fields.items()]
    c1, c2, c3 = _COLS[lang]
    out: list[str] = []
    current = None
    for group, key, value, source in rows:
        if group != current:
            current = group
            title = _GROUPS[group][1 if zh else 0] if group in _GROUPS else \
                group_title(group).say(t)
            if markdown:
                out += ["", f"**{title}**", "", f"| {c1} | {c2} | {c3} |", "| --- | --- | --- |"]
            else:
                out += ["", title]
        if markdown:
            out.append(f"| {key} | {value} | {source} |")
        else:
            out.append(f"  {key:<34} {value:<22} {source}")
    return "\n".join(out).strip("\n")
