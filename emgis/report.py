"""The report a bureau hands over: one self-contained, printable HTML page.

It only presents result tables computed elsewhere (coverage, compliance); every number in it is
read from the same tables that are written as CSV. Charts are inline SVG; every string from the
input is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from emgis.coverage import UNIT_KINDS
from emgis.district import District
from emgis.maps import CLASS_COLOURS, CREDIT, KIND_LABELS
from emgis.standards import Standard

T: dict[str, dict[str, str]] = {
    "en": {
        "title": "Emergency coverage report", "summary": "District summary",
        "population": "Population", "villages": "Villages", "townships": "Townships",
        "units": "Units by kind", "kind": "Kind", "count": "Number", "target": "Target (min)",
        "covered_share": "Population within target", "covered": "Villages within target",
        "outside": "Villages outside target", "coverage": "Coverage by kind",
        "bands": "Population by response-time band", "compliance": "Compliance with the minimums",
        "rule": "Rule", "required": "Required", "actual": "Actual", "status": "Status",
        "source": "Source", "township": "Township", "gaps": "Villages outside target",
        "village": "Village", "reason": "Reason", "time": "Nearest (min)",
        "findings": "Findings below the minimum or not recorded", "none": "None.",
        "sites": "Proposed sites", "scenarios": "Scenario losses",
        "not_run": "Not run in this job.", "maps": "Maps", "sources": "Standards used",
        "value": "Value", "assumption": "planning assumption (no national figure)",
        "meets": "meets", "below": "below", "missing": "missing",
        "not_recorded": "not recorded", "covered_s": "within target",
        "over_target": "over target", "cut_off": "cut off", "no_road_access": "no road access",
        "no_unit": "no unit", "far_over": "over 2x target", "coverage_map": "coverage map",
        "credit": f"Map data {CREDIT}. Figures marked illustrative in the inputs are estimates.",
        "meets_all": "All evaluated rules met.",
        "scen_compare": "Scenarios compared", "scenario": "Scenario",
        "population_losing_cover": "Persons losing cover",
        "population_cut_off": "Persons cut off", "population_to_evacuate": "Persons to evacuate",
        "population_evacuated": "Persons sheltered", "population_unsheltered": "Without a place",
        "kinds_lost": "Cover lost for", "island": "cut off entirely",
        "site": "Proposed site", "newly": "Persons newly covered",
        "notes": "Notes on this run",
    },
    "zh": {
        "title": "应急覆盖评估报告", "summary": "全区概况", "population": "人口",
        "villages": "村（社区）",
        "townships": "乡镇", "units": "各类应急力量", "kind": "类型", "count": "数量",
        "target": "目标（分钟）", "covered_share": "目标时间内覆盖人口",
        "covered": "目标时间内的村",
        "outside": "超出目标的村", "coverage": "各类力量覆盖情况", "bands": "各响应时间段人口",
        "compliance": "标准达标情况", "rule": "规则", "required": "要求", "actual": "实际",
        "status": "状态", "source": "依据", "township": "乡镇", "gaps": "超出目标时间的村",
        "village": "村（社区）", "reason": "原因", "time": "最近（分钟）",
        "findings": "未达标或未记录的项目", "none": "无。", "sites": "建议新增站点",
        "scenarios": "灾害情景影响", "not_run": "本次未运行。", "maps": "地图",
        "sources": "采用的标准",
        "value": "数值", "assumption": "规划假设（无国家标准）", "meets": "达标", "below": "未达标",
        "missing": "缺失", "not_recorded": "未记录", "covered_s": "目标时间内",
        "over_target": "超出目标", "cut_off": "路网不通", "no_road_access": "无道路可达",
        "no_unit": "无此类队伍", "far_over": "超出目标2倍以上", "coverage_map": "覆盖地图",
        "credit": f"地图数据 {CREDIT}。输入中标注为示意（illustrative）的数据为估算值。",
        "meets_all": "所有可评估的规则均达标。",
        "scen_compare": "灾害情景比较", "scenario": "情景",
        "population_losing_cover": "失去覆盖人口",
        "population_cut_off": "孤立人口", "population_to_evacuate": "需转移人口",
        "population_evacuated": "已安置人口", "population_unsheltered": "无处安置人口",
        "kinds_lost": "失去覆盖的力量类型", "island": "完全孤立",
        "site": "建议站点", "newly": "新增覆盖人口",
        "notes": "本次运行说明",
    },
}

CSS = """
body{font:14px/1.45 "Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px}
h2{font-size:18px;border-bottom:2px solid #2c7fb8;padding-bottom:3px;margin-top:28px}
h3{font-size:15px;margin:14px 0 6px}table{border-collapse:collapse;margin:6px 0 12px}
td,th{border:1px solid #bbb;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#eef3f8}td.n{text-align:right}.small{color:#555;font-size:12px}
section.township{page-break-before:always}
.s-meets{color:#1a9850}.s-below{color:#d73027}.s-missing{color:#b2182b;font-weight:bold}
.s-not_recorded{color:#777}
@media print{body{margin:10mm}a{color:#000}}
"""


def _rule(key: object, lang: str) -> str:
    from emgis.compliance import RULES

    for r in RULES:
        if r.key == key:
            return (r.text_zh or r.text) if lang == "zh" else r.text
    return str(key)


def _e(x: object) -> str:
    return html.escape(str(x))


def _label(kind: str, lang: str) -> str:
    return KIND_LABELS.get(kind, {}).get(lang, kind)


def _bars(rows: list[tuple[str, float]], *, width: int = 420) -> str:
    """Horizontal bars of shares 0-1, as inline SVG."""
    h = 22 * len(rows) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 230}" height="{h}" '
             'role="img">']
    for i, (label, share) in enumerate(rows):
        y = 4 + 22 * i
        w = max(0.0, min(1.0, share)) * width
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{_e(label)}</text>'
                     f'<rect x="170" y="{y}" width="{width}" height="16" fill="#eee"/>'
                     f'<rect x="170" y="{y}" width="{w:.1f}" height="16" fill="#1a9850"/>'
                     f'<text x="{175 + width}" y="{y + 13}" font-size="12">{share:.1%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _stacked(rows: list[tuple[str, dict[str, int]]], order: list[str], t: dict[str, str],
             *, width: int = 420) -> str:
    """Stacked horizontal bars of population per band, with a legend, as inline SVG."""
    h = 22 * len(rows) + 30
    legend_w = sum(13 + 7 * len(t.get(b, b)) + 12 for b in order)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(width, legend_w) + 180}" '
             f'height="{h}" role="img">']
    for i, (label, counts) in enumerate(rows):
        y = 4 + 22 * i
        total = sum(counts.values()) or 1
        x = 170.0
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{_e(label)}</text>')
        for band in order:
            w = counts.get(band, 0) / total * width
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="16" '
                             f'fill="{CLASS_COLOURS[band]}"><title>{_e(t.get(band, band))}: '
                             f'{counts.get(band, 0):,}</title></rect>')
            x += w
    y = 8 + 22 * len(rows)
    x = 170.0
    for band in order:
        parts.append(f'<rect x="{x:.0f}" y="{y}" width="10" height="10" '
                     f'fill="{CLASS_COLOURS[band]}"/><text x="{x + 13:.0f}" y="{y + 9}" '
                     f'font-size="10">{_e(t.get(band, band))}</text>')
        x += 13 + 7 * len(t.get(band, band)) + 12
    parts.append("</svg>")
    return "".join(parts)


def _band(row: pd.Series) -> str:
    st = str(row["status"])
    if st == "covered":
        return "covered"
    if st == "over_target":
        return "far_over" if row["nearest_min"] > 2 * row["target_min"] else "over_target"
    return st


def build_report(
    district: District,
    *,
    coverage: pd.DataFrame | None,
    coverage_summary: pd.DataFrame | None,
    compliance: pd.DataFrame | None,
    scenarios: pd.DataFrame | None = None,
    scenario_villages: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    maps: Mapping[str, str] | None = None,
    lang: str = "en",
    notes: Sequence[str] = (),
) -> str:
    """The report as an HTML page.

    Parameters
    ----------
    district
        The district (names, settings, layers for counts).
    coverage, coverage_summary
        :func:`emgis.coverage.compute_coverage`'s table and :func:`emgis.coverage.summarize` of
        it, or None if coverage was not run.
    compliance
        :func:`emgis.compliance.check_compliance`'s findings, or None.
    scenarios, scenario_villages
        The scenario comparison (one row per scenario) and every scenario's per-village table
        with a ``scenario`` column, or None.
    maps
        Title -> relative link of the maps to list.
    lang
        ``"en"`` or ``"zh"``.
    notes
        What the planner must know about this run (steps that failed, siting runs that found
        nothing to add).
    """
    t = T[lang]
    out: list[str] = []
    v = district.villages
    out.append(f"<h1>{_e(district.name)} · {t['title']}</h1>")
    out.append(f'<p class="small">{_e(t["credit"])}</p>')
    if notes:
        out.append(f"<div class='notes'><h2>{t['notes']}</h2><ul>"
                   + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul></div>")
    # summary
    out.append(f"<h2>{t['summary']}</h2><table>")
    out.append(f"<tr><th>{t['population']}</th><td class='n' id='population'>"
               f"{int(v['population'].fillna(0).sum()):,}</td></tr>")
    out.append(f"<tr><th>{t['villages']}</th><td class='n'>{len(v):,}</td></tr>")
    towns = district.township_names()
    out.append(f"<tr><th>{t['townships']}</th><td class='n'>{len(towns)}</td></tr></table>")
    from emgis.coverage import units_of

    units = units_of(district)
    if len(units):
        out.append(f"<h3>{t['units']}</h3><table><tr><th>{t['kind']}</th><th>{t['count']}</th>"
                   "</tr>")
        for kind, n in units["kind"].value_counts().reindex(UNIT_KINDS).dropna().items():
            out.append(f"<tr><td>{_e(_label(str(kind), lang))}</td><td class='n'>{int(n)}</td>"
                       "</tr>")
        out.append("</table>")
    if coverage_summary is not None and coverage is not None:
        s = coverage_summary[coverage_summary["villages_no_unit"] < coverage_summary["villages"]]
        out.append(f"<h2>{t['coverage']}</h2><table><tr><th>{t['kind']}</th>"
                   f"<th>{t['target']}</th><th>{t['covered']}</th><th>{t['outside']}</th>"
                   f"<th>{t['covered_share']}</th></tr>")
        for r in s.to_dict("records"):
            kind = str(r["kind"])
            target = district.settings.targets[kind].value
            out.append(
                f"<tr data-kind='{_e(kind)}'><td>{_e(_label(kind, lang))}</td>"
                f"<td class='n'>{target:g}</td><td class='n covered'>{r['villages_covered']}</td>"
                f"<td class='n outside'>{r['villages'] - r['villages_covered']}</td>"
                f"<td class='n share' data-share='{r['share_covered']:.4f}'>"
                f"{r['share_covered']:.1%}</td></tr>")
        out.append("</table>")
        out.append(_bars([(_label(str(r["kind"]), lang), float(r["share_covered"]))
                          for r in s.to_dict("records")]))
        out.append(f"<h3>{t['bands']}</h3>")
        order = ["covered", "over_target", "far_over", "cut_off", "no_road_access"]
        bands = coverage.assign(band=coverage.apply(_band, axis=1))
        rows = []
        for kind in s["kind"]:
            k = bands[bands["kind"] == kind]
            rows.append((_label(str(kind), lang),
                         {b: int(k.loc[k["band"] == b, "population"].sum()) for b in order}))
        out.append(_stacked(rows, order, {**t, "covered": t["covered_s"]}))
    if compliance is not None:
        from emgis.compliance import summary_table

        out.append(f"<h2>{t['compliance']}</h2><table><tr><th>{t['rule']}</th>"
                   + "".join(f"<th>{t[s_]}</th>" for s_ in
                             ("meets", "below", "missing", "not_recorded")) + "</tr>")
        for r in summary_table(compliance).to_dict("records"):
            out.append(f"<tr><td>{_e(_rule(r['rule'], lang))}</td>" + "".join(
                f"<td class='n s-{s_}'>{r[s_]}</td>" for s_ in
                ("meets", "below", "missing", "not_recorded")) + "</tr>")
        out.append("</table>")
    if scenarios is not None and len(scenarios):
        cols = ["population_losing_cover", "population_cut_off", "population_to_evacuate",
                "population_evacuated", "population_unsheltered"]
        out.append(f"<h2>{t['scen_compare']}</h2><table><tr><th>{t['scenario']}</th>"
                   + "".join(f"<th>{t[c]}</th>" for c in cols) + "</tr>")
        for r in scenarios.to_dict("records"):
            out.append(f"<tr data-scenario='{_e(r['scenario'])}'><td>{_e(r['scenario'])} "
                       f"<span class='small'>({_e(r['hazards'])})</span></td>" + "".join(
                           f"<td class='n {c}'>{int(r[c]):,}</td>" for c in cols) + "</tr>")
        out.append("</table>")
        total = float(v["population"].fillna(0).sum()) or 1.0
        out.append(_bars([(f"{r['scenario']}: {t['population_losing_cover']}",
                           r["population_losing_cover"] / total)
                          for r in scenarios.to_dict("records")]))
    if maps:
        out.append(f"<h2>{t['maps']}</h2><ul>")
        for title, href in maps.items():
            out.append(f"<li><a href='{_e(href)}'>{_e(title)}</a></li>")
        out.append("</ul>")
    # townships
    for i, name in enumerate(towns):
        out.append(f"<section class='township' id='township-{i}' data-name='{_e(name)}'>"
                   f"<h2>{t['township']}: {_e(name)}</h2>")
        tv = v[v["township"] == name]
        out.append(f"<p>{t['population']}: {int(tv['population'].fillna(0).sum()):,} · "
                   f"{t['villages']}: {len(tv)}</p>")
        if coverage is not None:
            g = coverage[(coverage["township"] == name) & (coverage["status"] != "covered")
                         & (coverage["status"] != "no_unit")]
            out.append(f"<h3>{t['gaps']}</h3>")
            if len(g) == 0:
                out.append(f"<p>{t['none']}</p>")
            else:
                out.append(f"<table class='gaps'><tr><th>{t['kind']}</th><th>{t['village']}</th>"
                           f"<th>{t['population']}</th><th>{t['time']}</th>"
                           f"<th>{t['target']}</th><th>{t['reason']}</th></tr>")
                g = g.assign(_o=g["kind"].map({k: j for j, k in enumerate(UNIT_KINDS)}))
                for r in g.sort_values(["_o", "population"], ascending=[True, False]
                                       ).to_dict("records"):
                    near = "–" if pd.isna(r["nearest_min"]) else f"{r['nearest_min']:.1f}"
                    out.append(
                        f"<tr><td>{_e(_label(str(r['kind']), lang))}</td>"
                        f"<td>{_e(r['village_name'])} ({_e(r['village_id'])})</td>"
                        f"<td class='n'>{int(r['population']):,}</td><td class='n'>{near}</td>"
                        f"<td class='n'>{r['target_min']:g}</td>"
                        f"<td>{_e(t.get(str(r['status']), r['status']))}</td></tr>")
                out.append("</table>")
        if compliance is not None:
            f = compliance[(compliance["township"] == name) & (compliance["status"] != "meets")]
            out.append(f"<h3>{t['findings']}</h3>")
            if len(f) == 0:
                out.append(f"<p>{t['meets_all']}</p>")
            else:
                out.append(f"<table><tr><th>{t['rule']}</th><th>{t['village']}</th>"
                           f"<th>{t['required']}</th><th>{t['actual']}</th>"
                           f"<th>{t['status']}</th><th>{t['source']}</th></tr>")
                for r in f.to_dict("records"):
                    act = "–" if pd.isna(r["actual"]) else f"{r['actual']:g}"
                    out.append(
                        f"<tr><td>{_e(_rule(r['rule'], lang))}</td>"
                        f"<td>{_e(r['place_name'])}</td>"
                        f"<td class='n'>{r['required']:g} {_e(r['unit'])}</td>"
                        f"<td class='n'>{act}</td>"
                        f"<td class='s-{_e(r['status'])}'>{t[str(r['status'])]}</td>"
                        f"<td class='small'>{_e(r['source'])}</td></tr>")
                out.append("</table>")
        out.append(f"<h3>{t['sites']}</h3>")
        if sites is None:
            out.append(f"<p class='small'>{t['not_run']}</p>")
        else:
            st = sites[sites["township"] == name]
            if len(st) == 0:
                out.append(f"<p>{t['none']}</p>")
            else:
                out.append(f"<table class='sites'><tr><th>{t['kind']}</th><th>#</th>"
                           f"<th>{t['site']}</th><th>{t['newly']}</th></tr>")
                for r in st.to_dict("records"):
                    out.append(f"<tr><td>{_e(_label(str(r['kind']), lang))}</td>"
                               f"<td class='n'>{r['rank']}</td><td>{_e(r['name'])}</td>"
                               f"<td class='n'>{int(r['newly_covered_population']):,}</td></tr>")
                out.append("</table>")
        out.append(f"<h3>{t['scenarios']}</h3>")
        if scenario_villages is None:
            out.append(f"<p class='small'>{t['not_run']}</p>")
        else:
            sv = scenario_villages[(scenario_villages["township"] == name)
                                   & scenario_villages["lost_cover"]]
            if len(sv) == 0:
                out.append(f"<p>{t['none']}</p>")
            else:
                out.append(f"<table class='scenario-losses'><tr><th>{t['scenario']}</th>"
                           f"<th>{t['village']}</th><th>{t['population']}</th>"
                           f"<th>{t['kinds_lost']}</th></tr>")
                for (scn, vid), g in sv.groupby(["scenario", "village_id"], sort=False):
                    kinds = ", ".join(_label(str(k), lang) for k in g["kind"])
                    isl = f" <b>({t['island']})</b>" if bool(g["island"].iloc[0]) else ""
                    out.append(f"<tr><td>{_e(scn)}</td><td>{_e(g['village_name'].iloc[0])} "
                               f"({_e(vid)}){isl}</td><td class='n'>"
                               f"{int(g['population'].iloc[0]):,}</td><td>{_e(kinds)}</td></tr>")
                out.append("</table>")
        out.append("</section>")
    # sources
    out.append(f"<section class='township'><h2>{t['sources']}</h2><table><tr><th></th>"
               f"<th>{t['value']}</th><th>{t['source']}</th></tr>")
    s_ = district.settings
    for group in (s_.targets, s_.turnout, s_.minimums, s_.shelter, s_.speeds):
        for key, std in group.items():
            out.append(_source_row(key, std, t))
    out.append("</table></section>")
    body = "\n".join(out)
    return (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<title>{_e(district.name)} · {t['title']}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def _source_row(key: str, std: Standard, t: dict[str, str]) -> str:
    note = f" <i>({t['assumption']})</i>" if std.proposal else ""
    return (f"<tr><td>{_e(key)}</td><td class='n'>{std.value:g} {_e(std.unit)}</td>"
            f"<td>{_e(std.source)}{note}</td></tr>")


def save_report(page: str, path: str | Path) -> Path:
    """Write the report (UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
