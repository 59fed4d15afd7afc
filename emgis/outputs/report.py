"""The report a bureau hands over: one self-contained, printable HTML page, summary first.

Pages 1-2 give the district's answer: where to build (every proposal of the run, ranked, with
its gain in its own measure and its coordinates), the villages outside target most people first
with the nearest unit by name and the cause in words, the headlines of coverage, compliance and
the scenarios, and a static overview map. The district's tables follow, then each township as an
appendix; long tables are cut (``[report]`` row limits) and say where the rest is (the workbook).
The page is rendered from a jinja2 template with autoescape; every word comes from the
language's catalogue (:mod:`emgis.texts`), and every number is read from the same tables the
CSV files hold. Print CSS lays it out on A4 (or A3) with page numbers.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from emgis.analysis.compliance import EIGHT_HAVES, STATUSES, station_checklist, summary_table
from emgis.analysis.gaps import (
    OUTSIDE,
    PLACE_KINDS,
    gap_counts,
    missing_kinds,
    village_gaps,
)
from emgis.inputs.district import District
from emgis.inputs.kinds import PUBLIC_KINDS, UNIT_KINDS, units_of
from emgis.outputs.profile import sources_table
from emgis.outputs.style import CLASS_COLOURS, credit_of, scenario_label
from emgis.texts import Texts, shown_minutes, texts

if TYPE_CHECKING:
    import jinja2

BANDS = ("covered", "over_target", "far_over", "cut_off", "no_road_access")


@cache
def _template() -> jinja2.Template:
    """The report's template, compiled once per machine: jinja2 keeps the compiled code in
    its bytecode cache (a folder of the user's own in the temporary directory, keyed by the
    template's source), which a run then loads in milliseconds instead of compiling the
    template again (0.4 s of every run's report step on this machine)."""
    import jinja2  # deferred: loads jinja2

    def load(compiled: jinja2.BytecodeCache | None) -> jinja2.Template:
        env = jinja2.Environment(loader=jinja2.PackageLoader("emgis", "_templates"),
                                 bytecode_cache=compiled, autoescape=True,
                                 undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        return env.get_template("report.html.j2")

    try:
        return load(jinja2.FileSystemBytecodeCache())
    except (OSError, RuntimeError):  # no folder of one's own, or it cannot be written
        return load(None)


def css_string(text: str) -> str:
    """A CSS string literal holding ``text`` (every character escaped: input-safe)."""

    return Markup('"' + "".join(f"\\{ord(c):06x}" for c in text) + '"')


def _band(status: str, nearest: float, target: float) -> str:
    if status == "over_target":
        return "far_over" if nearest > 2 * target else "over_target"
    return status


def _fmt_min(v: float | None, target: float | None = None) -> str:
    """Minutes to one decimal; against a target, never printed on the wrong side of it."""
    if v is None or pd.isna(v):
        return "–"
    if target is None or pd.isna(target):
        return f"{float(v):.1f}"
    return f"{shown_minutes(float(v), float(target), digits=1):.1f}"


def gap_rows(coverage: pd.DataFrame, t: Texts, *, kinds: Sequence[str] = PUBLIC_KINDS,
             first: int | None = None, per_township: int | None = None
             ) -> list[dict[str, Any]]:
    """One row per village with a kind of ``kinds`` outside its target, most people first
    (:func:`emgis.analysis.gaps.village_gaps`): the village, its township and people, and each
    failing kind with its time against the target, the nearest unit and the cause in words
    (``items``; ``kind``, ``time``, ``target``, ``nearest`` and ``cause`` repeat the first).

    ``first``, ``per_township``: the rows a report shows, the first ``first`` of the list and
    the first ``per_township`` of each township's (the rows whose ``township`` is its name).
    Where either is given, every other row holds only ``village``, ``village_id``,
    ``township`` and ``population``: it is counted, never shown (a province's 15,000 gap
    villages took seconds of words for the few dozen a report prints)."""
    g = village_gaps(coverage, kinds=kinds)
    if not len(g):
        return []
    order = {k: i for i, k in enumerate(UNIT_KINDS)}
    sub = coverage[coverage["kind"].isin(kinds) & coverage["status"].isin(OUTSIDE)]
    # each village's rows (one per kind) in kind order, from plain columns: one pass
    col = {c: sub[c].tolist() for c in ("kind", "nearest_name", "nearest_min", "target_min",
                                        "cause", "access_m")}
    rank = [order.get(k, len(order)) for k in col["kind"]]
    groups: dict[Any, list[int]] = {}
    for i, v in enumerate(sub["village_id"].tolist()):
        groups.setdefault(v, []).append(i)
    by_v = {str(v): sorted(idx, key=lambda i: rank[i]) for v, idx in groups.items()}
    rows: list[dict[str, Any]] = []
    every = first is None and per_township is None
    seen: dict[Any, int] = {}  # rows of each township so far
    for vid, name, town, pop in g[["village_id", "village_name", "township",
                                    "population"]].itertuples(index=False, name=None):
        town = "" if pd.isna(town) else town
        before = seen.get(town, 0)
        seen[town] = before + 1
        if not (every or (first is not None and len(rows) < first)
                or (per_township is not None and before < per_township)):
            rows.append({"village": name, "village_id": vid, "township": town,
                         "population": f"{int(pop):,}"})
            continue
        items = []
        for i in by_v[str(vid)]:
            kind, near, t_min, target = (col["kind"][i], col["nearest_name"][i],
                                         col["nearest_min"][i], col["target_min"][i])
            access = col["access_m"][i]
            items.append({
                "kind": t.kind(str(kind)),
                "nearest": "–" if near is None or pd.isna(near) else near,
                "time": _fmt_min(t_min, target),
                "target": f"{float(target):g}",
                "cause": t.cause(str(col["cause"][i]), kind=str(kind), nearest_min=float(
                    t_min) if pd.notna(t_min) else np.nan,
                    target_min=float(target), access_m=float(access)
                    if pd.notna(access) else np.nan)})
        rows.append({"village": name, "village_id": vid, "township": town,
                     "population": f"{int(pop):,}", "items": items,
                     **{k: items[0][k] for k in ("nearest", "time", "target", "cause")},
                     "kind": t["msg.list_sep"].join(x["kind"] for x in items)})
    return rows


def _impact_rows(impact: pd.DataFrame | None, t: Texts) -> list[dict[str, str]]:
    """Before and after per kind sited, as page 1 prints it (:mod:`emgis.analysis.impact`)."""
    if impact is None or not len(impact):
        return []
    rows = []
    for r in impact.to_dict("records"):
        cost = r.get("cost_yuan")
        rows.append({
            "kind": t.kind(str(r["kind"])),
            "before": f"{float(r['share_before']):.1%}", "persons_before":
                f"{int(r['persons_before']):,}",
            "after": f"{float(r['share_after']):.1%}", "persons_after":
                f"{int(r['persons_after']):,}",
            "change": f"{int(r['persons_change']):+,}"
            if r.get("gain_unit") != "person-minutes" or int(r["persons_change"]) else
            f"{float(r['gain']):,.0f} {t['map.person_min']}",
            "share_change": f"{100 * float(r['share_change']):+.1f}"
            if r.get("gain_unit") != "person-minutes" or int(r["persons_change"]) else "",
            "sites": str(int(r["sites"])),
            "cost": "–" if cost is None or pd.isna(cost) else f"{float(cost):,.0f}"})
    return rows


def gap_table(coverage: pd.DataFrame) -> pd.DataFrame:
    """Village x kind rows outside target for kinds the district has, most people first (the
    gap list of emgis 0.2; the report now lists one row per village: :func:`gap_rows`).
    Kept for one release."""
    g = coverage[(coverage["status"] != "covered") & (coverage["status"] != "no_unit")].copy()
    g["_o"] = g["kind"].map({k: i for i, k in enumerate(UNIT_KINDS)})
    return g.sort_values(["population", "_o", "village_id"], ascending=[False, True, True],
                         kind="stable").drop(columns="_o")


def gain_text(row: Mapping[Any, Any], t: Texts, target: float) -> str:
    """A proposal's gain in its own measure."""
    if row.get("gain_unit") == "person-minutes":
        text = f"{float(row['gain']):,.0f} {t['map.person_min']}"
        reached = int(row.get("newly_reached_population") or 0)
        if reached:
            text += f"; +{reached:,} {t['unit.persons']} ({t['column.newly_reached_population']})"
        return text
    return f"+{int(row['newly_covered_population']):,} {t['unit.persons']} ≤ {target:g} " \
        f"{t['unit.min']}"


def report_model(
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
    overview: bytes | None = None,
    overview_kind: str | None = None,
    china: bool = False,
    zones: pd.DataFrame | None = None,
    zone_balance: pd.DataFrame | None = None,
    warning: pd.DataFrame | None = None,
    loudspeakers: pd.DataFrame | None = None,
    robust: Sequence[tuple[str, pd.DataFrame, str]] = (),
    quality: pd.DataFrame | None = None,
    quality_warnings: Sequence[str] = (),
    impact: pd.DataFrame | None = None,
    impact_townships: pd.DataFrame | None = None,
    affected: Sequence[tuple[str, pd.DataFrame]] = (),
    minutes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report's sections and numbers: the one model that both the HTML page
    (:func:`build_report`) and ``report.docx`` (:mod:`emgis.outputs.docx`) render.

    Parameters
    ----------
    district
        The district (names, settings, layers for counts).
    coverage, coverage_summary
        :func:`emgis.analysis.coverage.compute_coverage`'s table and
        :func:`emgis.analysis.coverage.summarize` of
        it, or None if coverage was not run.
    compliance
        :func:`emgis.analysis.compliance.check_compliance`'s findings, or None.
    scenarios, scenario_villages
        The scenario comparison (one row per scenario) and every scenario's per-village table
        with a ``scenario`` column, or None.
    sites
        Every proposal of the run: ``kind``, ``rank``, ``site_id``, ``name``, ``township``,
        ``newly_covered_population``, ``newly_reached_population``, ``gain``, ``gain_unit``,
        ``target_min``, ``lon``/``lat`` (WGS-84) and ``lon_gcj02``/``lat_gcj02``; or None.
    maps
        Title -> relative link of the maps to list.
    lang
        ``"en"`` or ``"zh"``.
    notes
        What the planner must know about this run (steps that failed, siting runs that found
        nothing to add).
    overview, overview_kind
        The static overview map (PNG) and the kind its villages are coloured by.
    china
        Give GCJ-02 coordinates too (for AMap and Tencent maps).
    zones, zone_balance
        Each unit's zone and each kind's balance (:func:`emgis.analysis.zones.unit_zones`), or None.
    warning, loudspeakers
        Every village's warning reach and the new loudspeakers proposed
        (:func:`emgis.analysis.warning.warning_reach`), or None.
    robust
        Scenario-robust siting runs: (kind, the plans compared per scenario, objective).
    quality, quality_warnings
        The data quality of the roads per township and for the district
        (:meth:`emgis.analysis.quality.DataQuality.table`) and its warnings in words, or None:
        a section of the district's part (not the summary pages).
    minutes
        How sure the minutes are and how many persons arrive in time (calibration,
        uncertainty, effective force, availability), as
        :func:`emgis.run.minutes.report_section` words it, or None: a short section.
    """

    t = texts(lang)
    s = district.settings
    rs = s.report
    v = district.villages
    towns = district.township_names()
    units = units_of(district)
    ctx: dict[str, Any] = {
        "lang": lang, "t": t, "district": district.name, "paper": rs.paper,
        "css_header": css_string(f"{district.name} · {t['report.title']}"),
        "css_page": _css_page(lang),
        "credit": _credit(district), "notes": list(notes), "china": china,
        "population": f"{int(v['population'].fillna(0).sum()):,}", "n_villages": f"{len(v):,}",
        "n_townships": len(towns),
        "units": [(t.kind(str(k)), int(n)) for k, n in units["kind"].value_counts()
                  .reindex(UNIT_KINDS).dropna().items()],
        "statuses": STATUSES,
        "scenario_cols": ("population_losing_cover", "population_cut_off",
                          "population_to_evacuate", "population_evacuated",
                          "population_unsheltered"),
        "overview": base64.b64encode(overview).decode("ascii") if overview else None,
        "overview_caption": t.fmt("report.overview_caption", kind=t.kind(overview_kind))
        if overview_kind else "",
        "maps": list((maps or {}).items()),
    }
    # build here
    build = []
    if sites is not None and len(sites):
        for r in sites.to_dict("records"):
            build.append({**_site(r, t), "gain": gain_text(r, t, float(r["target_min"]))})
    ctx["build_here"] = build
    # gaps
    headlines: list[str] = []
    all_gaps: list[dict[str, Any]] | None = None
    if coverage is not None and coverage_summary is not None:
        n = int(rs.summary_rows)
        all_gaps = gap_rows(coverage, t, first=n, per_township=int(rs.township_rows))
        ctx["gaps"] = all_gaps[:n]
        ctx["gaps_more"] = max(0, len(all_gaps) - n)
        ctx["gap_counts"] = gap_counts(coverage)
        ctx["missing_kinds"] = t["msg.list_sep"].join(t.kind(k) for k in missing_kinds(coverage))
        places = village_gaps(coverage, kinds=PLACE_KINDS)
        ctx["place_gaps"] = {"villages": len(places),
                             "persons": f"{int(places['population'].sum()):,}"
                             if len(places) else "0"}
        present = coverage_summary[coverage_summary["villages_no_unit"]
                                   < coverage_summary["villages"]]
        rows = []
        for r in present.to_dict("records"):
            kind = str(r["kind"])
            target = s.targets[kind].value
            share = float(r["share_covered"])
            rows.append({"kind": kind, "label": t.kind(kind), "target": f"{target:g}",
                         "covered": r["villages_covered"],
                         "outside": r["villages"] - r["villages_covered"],
                         "share_raw": share, "share": f"{share:.1%}"})
            headlines.append(t.fmt("report.coverage_line", kind=t.kind(kind), share=f"{share:.1%}",
                                   target=f"{target:g}", covered=r["villages_covered"],
                                   villages=r["villages"]))
        ctx["coverage"] = rows
        ctx["bands"], ctx["band_legend"] = _bands(coverage, present["kind"], t)
    else:
        ctx.update(gaps=[], gaps_more=0, coverage=[], bands=[], band_legend=[],
                   gap_counts=None, missing_kinds="", place_gaps=None)
    if compliance is not None:

        summ = summary_table(compliance)
        ctx["compliance"] = [{"rule": t.get("rule", str(r["rule"])),
                              **{k: int(r[k]) for k in ctx["statuses"]}}
                             for r in summ.to_dict("records")]
        tot = {k: int(summ[k].sum()) for k in ctx["statuses"]}
        headlines.append(t.fmt("report.compliance_line", **tot))
        ctx["checklist"], ctx["checklist_cols"] = _checklist(compliance, t)
    else:
        ctx["compliance"] = []
        ctx["checklist"], ctx["checklist_cols"] = [], []
    if scenarios is not None and len(scenarios):
        ctx["scenarios"] = [{"scenario": r["scenario"], "label": scenario_label(r["scenario"], t),
                             "hazards": r["hazards"],
                             **{c: f"{int(r[c]):,}" for c in ctx["scenario_cols"]}}
                            for r in scenarios.to_dict("records")]
        for r in scenarios.to_dict("records"):
            headlines.append(t.fmt("report.scenario_line", name=scenario_label(r["scenario"], t),
                                   losing=f"{int(r['population_losing_cover']):,}",
                                   cut=f"{int(r['population_cut_off']):,}",
                                   evacuate=f"{int(r['population_to_evacuate']):,}",
                                   unsheltered=f"{int(r['population_unsheltered']):,}"))
    else:
        ctx["scenarios"] = []
    ctx["warning"] = _warning(warning, loudspeakers, t, headlines, int(rs.summary_rows),
                              float(s.warning["min_share"].value))
    ctx["robust"] = [_robust(kind, table, obj, t, headlines) for kind, table, obj in robust]
    ctx["quality"] = _quality(quality, quality_warnings, t, s)
    ctx["headlines"] = headlines
    ctx["zone_balance"], ctx["zone_units"], ctx["zone_more"] = _zones(zones, zone_balance, t,
                                                                      3 * int(rs.township_rows))
    # each table read once for every township section (a filter, a groupby and a gap list
    # per township were 100 passes over a province's 240,000 coverage rows)
    if coverage is not None and all_gaps is None:
        all_gaps = gap_rows(coverage, t, first=0, per_township=int(rs.township_rows))
    ctx["townships"] = _townships(towns, district, coverage, compliance, sites,
                                  scenario_villages, t, gaps=all_gaps)
    ctx["impact"] = _impact_rows(impact, t)
    ctx["affected"] = [{"scenario": scenario_label(name, t),
                        "rows": frame.to_dict("records")[:3 * int(rs.township_rows)],
                        "more": max(0, len(frame) - 3 * int(rs.township_rows))}
                       for name, frame in affected if len(frame)]
    if impact_townships is not None and len(impact_townships):
        for tw in ctx["townships"]:
            tw["impact"] = _impact_rows(
                impact_townships[impact_townships["township"] == tw["name"]], t)
    ctx["sources"] = _sources(district, t)
    ctx["overview_png"] = overview  # the picture itself, for report.docx
    # how sure the minutes are, and how many persons in time (emgis.run.minutes.report_section)
    ctx["minutes"] = minutes
    if minutes:
        headlines.extend(minutes.get("headlines") or ())
    return ctx


def build_report(district: District, **inputs: Any) -> str:
    """The report as an HTML page: :func:`report_model` (same arguments) rendered."""
    return render_report(report_model(district, **inputs))


def render_report(model: Mapping[str, Any]) -> str:
    """The HTML page of a :func:`report_model`."""
    return str(_template().render(**model))


def _css_page(lang: str) -> Markup:

    if lang == "zh":
        return Markup('"第 " counter(page) " 页 / 共 " counter(pages) " 页"')
    return Markup('"page " counter(page) " of " counter(pages)')


def _credit(district: District) -> str:

    return credit_of(district)


def _site(r: Mapping[Any, Any], t: Texts) -> dict[str, Any]:
    def c(v: float | None) -> str:
        return "" if v is None or pd.isna(v) else f"{float(v):.6f}"

    source, _, own_id = str(r["site_id"]).partition(":")
    return {"kind": r["kind"], "kind_label": t.kind(str(r["kind"])), "rank": int(r["rank"]),
            "name": r["name"], "site_id": f"{t.get('source_kind', str(r.get('source', source)))}"
            f" {own_id}",
            "township": "" if r.get("township") is None or pd.isna(r.get("township"))
            else r["township"],
            "lon": c(r.get("lon")), "lat": c(r.get("lat")), "lon_gcj": c(r.get("lon_gcj02")),
            "lat_gcj": c(r.get("lat_gcj02")),
            "cost": "–" if r.get("cost_yuan") is None or pd.isna(r.get("cost_yuan"))
            else f"{float(r['cost_yuan']):,.0f}"}


def _bands(coverage: pd.DataFrame, kinds: Iterable[str], t: Texts
           ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    width = 420.0
    bars: list[dict[str, object]] = []
    for kind in kinds:
        k = coverage[coverage["kind"] == kind]
        # plain lists: iterating a Series is slow (a province: 20,000 villages a kind)
        band = [_band(s_, n, tg) for s_, n, tg in zip(
            k["status"].tolist(), k["nearest_min"].tolist(), k["target_min"].tolist(),
            strict=True)]
        pop = k["population"].to_numpy(dtype=float)
        counts = {b: float(pop[[x == b for x in band]].sum()) for b in BANDS}
        total = sum(counts.values()) or 1.0
        x = 170.0
        segs = []
        for b in BANDS:
            w = counts[b] / total * width
            if w > 0:
                segs.append({"x": x, "w": w, "colour": CLASS_COLOURS[b],
                             "title": f"{t.status(b)}: {counts[b]:,.0f}"})
            x += w
        bars.append({"label": t.kind(str(kind)), "segments": segs})
    legend = []
    x = 170
    for b in BANDS:
        label = t.status(b)
        legend.append({"x": x, "colour": CLASS_COLOURS[b], "label": label})
        x += 13 + (12 if t.lang == "zh" else 7) * len(label) + 12
    return bars, legend


def _townships(towns: Sequence[str], district: District, coverage: pd.DataFrame | None,
               compliance: pd.DataFrame | None, sites: pd.DataFrame | None,
               scenario_villages: pd.DataFrame | None, t: Texts, *,
               gaps: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every township's section, each table read once: the villages and persons, the gaps
    (the district's ``gaps`` rows of the township, in their order), the compliance findings
    and overdue drills, the sites proposed and the villages losing cover in a scenario.
    A row belongs to the township whose name equals its ``township``."""
    n = int(district.settings.report.township_rows)
    v = district.villages
    names = set(towns)
    pop = v["population"].fillna(0).to_numpy(dtype=float)
    v_town = v["township"].tolist()
    persons: dict[str, float] = dict.fromkeys(towns, 0.0)
    count: dict[str, int] = dict.fromkeys(towns, 0)
    for town, p in zip(v_town, pop.tolist(), strict=True):
        if _named(town, names):
            persons[town] += p
            count[town] += 1
    out: dict[str, dict[str, Any]] = {
        name: {"name": name, "population": f"{int(persons[name]):,}", "villages": count[name],
               "gaps": None, "findings": None, "sites": None, "losses": None, "gaps_more": 0,
               "losses_more": 0, "overdue": None, "overdue_more": 0, "not_recorded": "",
               "impact": []} for name in towns}
    if gaps is not None:
        rows_of: dict[str, list[dict[str, Any]]] = {name: [] for name in towns}
        for row in gaps:
            if _named(row["township"], names):
                rows_of[row["township"]].append(row)
        for name, rows in rows_of.items():
            out[name]["gaps"] = rows[:n]
            out[name]["gaps_more"] = max(0, len(rows) - n)
    if compliance is not None:
        _township_findings(out, compliance, names, t, n)
    if sites is not None:
        for name in towns:
            st = sites[sites["township"] == name] if len(sites) else sites
            out[name]["sites"] = [{**_site(r, t), "gain": gain_text(r, t, float(r["target_min"]))}
                                  for r in st.to_dict("records")]
    if scenario_villages is not None:
        _township_losses(out, scenario_villages, names, t, n)
    return [out[name] for name in towns]


def _named(town: object, names: set[str]) -> bool:
    """Whether a row's township is one of the township ``names`` (a name, not a number)."""
    return isinstance(town, str) and town in names


def _township_findings(out: dict[str, dict[str, Any]], compliance: pd.DataFrame,
                       names: set[str], t: Texts, n: int) -> None:
    """Each township's compliance findings (rules not met by every place, in the order the
    rules first appear; rules the data cannot evaluate named in one line) and its overdue
    drills, most months first."""
    counts: dict[str, dict[Any, dict[str, int]]] = {name: {} for name in names}
    late: dict[str, list[tuple[float, str, Any]]] = {name: [] for name in names}
    if len(compliance):
        cols = [compliance[c].tolist() for c in ("township", "rule", "status", "actual",
                                                 "place_name", "place_id")]
        for town, rule, status, actual, place, pid in zip(*cols, strict=True):
            if not _named(town, names) or pd.isna(rule):
                continue
            c = counts[town].setdefault(rule, {})
            c[status] = c.get(status, 0) + 1
            if rule == "drill_interval_months" and status == "overdue":
                late[town].append((actual, place, pid))
    sep = t["msg.list_sep"]
    for name in names:
        rows = []
        for rule, c in counts[name].items():
            if c.get("meets", 0) == sum(c.values()):
                continue
            rows.append({"rule": t.get("rule", str(rule)),
                         **{s: int(c.get(s, 0)) for s in STATUSES}})
        blank = [r for r in rows if r["not_recorded"] and not any(
            r[s] for s in STATUSES if s not in ("not_recorded", "meets"))]
        out[name]["findings"] = [r for r in rows if r not in blank]
        out[name]["not_recorded"] = sep.join(str(r["rule"]) for r in blank)
        # most months first, the order of the table among equals, no value last
        drills = sorted(late[name], key=lambda r: (pd.isna(r[0]), 0.0 if pd.isna(r[0])
                                                   else -float(r[0])))
        out[name]["overdue"] = [{"name": place, "id": pid, "months": f"{float(actual):.1f}"}
                                for actual, place, pid in drills[:n]]
        out[name]["overdue_more"] = max(0, len(drills) - n)


def _township_losses(out: dict[str, dict[str, Any]], scenario_villages: pd.DataFrame,
                     names: set[str], t: Texts, n: int) -> None:
    """Each township's villages losing cover in a scenario (one row per scenario and village,
    its kinds listed), most persons first."""
    found: dict[str, dict[tuple[Any, Any], list[int]]] = {name: {} for name in names}
    sv = scenario_villages
    if len(sv):
        lost = sv["lost_cover"].to_numpy(dtype=bool)
        cols = [sv[c].tolist() for c in ("township", "scenario", "village_id")]
        for i, (town, scn, vid) in enumerate(zip(*cols, strict=True)):
            if lost[i] and _named(town, names) and not (pd.isna(scn) or pd.isna(vid)):
                found[town].setdefault((scn, vid), []).append(i)
    if any(found.values()):
        vname, island, people, kind = (sv[c].tolist() for c in (
            "village_name", "island", "population", "kind"))
    sep = t["msg.list_sep"]
    for name in names:
        losses: list[dict[str, Any]] = []
        for (scn, vid), idx in found[name].items():
            first = idx[0]
            losses.append({"scenario": scenario_label(str(scn), t),
                           "village": vname[first], "village_id": vid,
                           "island": bool(island[first]),
                           "population": f"{int(people[first]):,}",
                           "kinds": sep.join(t.kind(str(kind[i])) for i in idx),
                           "_pop": int(people[first])})
        losses.sort(key=lambda r: -int(r["_pop"]))
        out[name]["losses"] = losses[:n]
        out[name]["losses_more"] = max(0, len(losses) - n)


def _robust(kind: str, table: pd.DataFrame, objective: str, t: Texts,
            headlines: list[str]) -> dict[str, Any]:
    """The robust and the baseline-only plan side by side, and what the robust one costs and
    gains."""
    base = table.iloc[0]
    worst = table.iloc[int(np.argmin(table["covered_baseline_plan"].to_numpy()))]
    gain = int(worst["covered_robust_plan"] - worst["covered_baseline_plan"])
    cost = int(base["covered_baseline_plan"] - base["covered_robust_plan"])
    wname = t["map.whatif_baseline"] if worst["scenario"] == "baseline" else \
        scenario_label(str(worst["scenario"]), t)
    if (table["covered_robust_plan"] == table["covered_baseline_plan"]).all():
        headlines.append(t.fmt("report.robust_same", kind=t.kind(kind),
                               persons=f"{int(base['covered_robust_plan']):,}"))
    else:
        headlines.append(t.fmt("report.robust_line", kind=t.kind(kind),
                               objective=t.get("model", f"robust_{objective}"),
                               cost=f"{cost:,}", gain=f"{gain:,}", worst=wname))
    rows = [{"scenario": t["map.whatif_baseline"] if r["scenario"] == "baseline"
             else scenario_label(str(r["scenario"]), t),
             "existing": f"{int(r['covered_existing']):,}",
             "baseline": f"{int(r['covered_baseline_plan']):,}",
             "robust": f"{int(r['covered_robust_plan']):,}",
             "difference": f"{int(r['difference']):+,}"} for r in table.to_dict("records")]
    return {"kind": t.kind(kind), "rows": rows}


def _warning(villages: pd.DataFrame | None, new: pd.DataFrame | None, t: Texts,
             headlines: list[str], limit: int, need: float) -> dict[str, Any] | None:
    """The warning-reach headline, the villages below the share and the new loudspeakers
    per township."""
    if villages is None:
        return None
    n_new = 0 if new is None else len(new)
    meets = int((villages["status"] == "meets").sum())
    headlines.append(t.fmt("report.warning_line", meets=meets, villages=len(villages),
                           share=f"{need:.0%}", reached=f"{int(villages['reached'].sum()):,}",
                           persons=f"{int(villages['population'].sum()):,}", new=n_new))
    below = villages[villages["status"] != "meets"].sort_values(
        ["share", "population"], ascending=[True, False], kind="stable")
    rows = [{"village": f"{r['village_name']} ({r['village_id']})",
             "township": "" if pd.isna(r["township"]) else r["township"],
             "population": f"{int(r['population']):,}", "share": f"{float(r['share']):.0%}",
             "reached": f"{int(r['reached']):,}"} for r in below.head(limit).to_dict("records")]
    per_town: list[dict[str, Any]] = []
    if new is not None and n_new:
        counts = new.groupby("township", sort=False, dropna=False).agg(
            n=("rank", "size"), persons=("persons_added", "sum"))
        per_town = [{"township": "" if pd.isna(k) else k, "n": int(n_),  # type: ignore[call-overload]
                     "persons": f"{int(p_):,}"}
                    for k, n_, p_ in zip(counts.index, counts["n"], counts["persons"],
                                         strict=True)]
    return {"below": rows, "more": max(0, len(below) - limit), "towns": per_town}


def _quality(table: pd.DataFrame | None, warnings: Sequence[str], t: Texts, s: Any
             ) -> dict[str, Any] | None:
    """The data-quality section: a row per township and the district's, the thinly mapped
    townships named, the warnings (reasons, townships without a boundary), and what the
    thresholds mean."""
    if table is None:
        return None

    def num(v: Any, fmt: str) -> str:
        return "–" if v is None or pd.isna(v) else format(float(v), fmt)

    rows = [{"scope": str(r["scope"]), "township": r["township"], "villages": int(r["villages"]),
             "far": int(r["villages_far"]), "share": num(r["far_share"], ".0%"),
             "persons": f"{int(r['population_far']):,}",
             "median": num(r["access_median_m"], ",.0f"), "max": num(r["access_max_m"], ",.0f"),
             "km": num(r["road_km"], ",.1f"), "density": num(r["road_km_per_km2"], ".2f"),
             "verdict": str(r["verdict"]), "verdict_label": t.get("verdict", str(r["verdict"])),
             "note": str(r["note"] or "")}
            for r in table.to_dict("records")]
    towns = [r for r in rows if r["scope"] == "township"]
    q = s.quality
    return {"rows": rows,
            "thin": [r["township"] for r in towns if r["verdict"] == "thinly_mapped"],
            "warnings": list(warnings),
            "note": t.fmt("quality.note", far=f"{q['far_m'].value:g}",
                          density=f"{q['min_road_km_per_km2'].value:g}",
                          share=f"{q['thin_far_share'].value:.0%}")}


def _zones(zones: pd.DataFrame | None, balance: pd.DataFrame | None, t: Texts, limit: int
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """The balance of each kind's zones, and the units with the most persons in theirs."""
    if zones is None or balance is None or not len(zones):
        return [], [], 0
    bal = [{"kind": t.kind(str(r["kind"])), "units": int(r["units"]),
            "mean": f"{float(r['population_mean']):,.0f}",
            "spread": "–" if pd.isna(r["population_cv"]) else f"{float(r['population_cv']):.2f}",
            "max": "–" if pd.isna(r["max_over_mean"]) else f"{float(r['max_over_mean']):.2f}",
            "longest": _fmt_min(r["longest_min"])}
           for r in balance.to_dict("records") if int(r["units"]) > 0]
    z = zones[zones["villages"] > 0].copy()
    z["_o"] = z["kind"].map({k: i for i, k in enumerate(UNIT_KINDS)})
    z = z.sort_values(["population", "_o", "unit_id"], ascending=[False, True, True],
                      kind="stable")
    units = [{"kind": t.kind(str(r["kind"])), "unit": f"{r['unit_name']} ({r['unit_id']})",
              "villages": int(r["villages"]), "persons": f"{int(r['population']):,}",
              "area": f"{float(r['area_km2']):,.1f}", "longest": _fmt_min(r["longest_min"]),
              "far": "" if r["farthest_village"] is None or pd.isna(r["farthest_village"])
              else str(r["farthest_village"])}
             for r in z.head(limit).to_dict("records")]
    return bal, units, max(0, len(z) - limit)


def _checklist(findings: pd.DataFrame, t: Texts) -> tuple[list[dict[str, Any]], list[str]]:
    """The eight haves per township (marks), the station's posts and the grid members."""

    table = station_checklist(findings)
    mark = {"meets": "✓", "missing": "✗", "below": "✗", "not_recorded": "?"}
    keys = [k for k, _ in EIGHT_HAVES]
    cols = [t.get("have", k) for k in keys] + [t["report.posts"], t["report.grid"]]
    grid = findings[findings["rule"].isin(("grid_members_per_village",
                                            "households_per_grid_member"))]
    # per township, its villages meeting both grid rules and its villages (one pass: a
    # province's 100 townships took 2.3 s one by one)
    met = (grid["status"] == "meets").groupby([grid["township"], grid["place_id"]],
                                              sort=False).all()
    n_met = met.groupby(level=0, sort=False).sum()
    n_all = met.groupby(level=0, sort=False).size()
    rows = []
    for r in table.to_dict("records"):
        town = r["township"]
        posts = [r.get("township_station_posts"), r.get("township_station_fulltime_posts")]
        post = "?" if any(p == "not_recorded" or pd.isna(p) for p in posts) else (
            "✓" if all(p == "meets" for p in posts) else "✗")
        cells = [(mark.get(str(r.get(k)), "?"), str(r.get(k))) for k in keys]
        n_ok = int(n_met.get(town, 0))  # 0/0: a township with no village
        cells += [(post, "meets" if post == "✓" else "missing" if post == "✗" else
                   "not_recorded"), (f"{n_ok}/{int(n_all.get(town, 0))}", "")]
        rows.append({"township": town, "cells": cells})
    return rows, cols


def _sources(district: District, t: Texts) -> list[dict[str, Any]]:

    table = sources_table(district.settings, lang=t.lang)
    return [{"key": r["label"], "value": f"{r['value']:g} {r['unit']}", "source": r["source"],
             "proposal": bool(r["proposal"])} for r in table.to_dict("records")]


def save_report(page: str, path: str | Path) -> Path:
    """Write the report (UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
