"""Whole jobs, as the ``emgis`` command runs them: analyses from a :class:`~emgis.plan.Plan`,
then the files they write through an :class:`~emgis.outputs.folder.OutputDir`.

Each job asks the plan for its results (computed once, shared) and hands them to the writers
(:mod:`emgis.outputs.tables`, :mod:`emgis.outputs.maps`, :mod:`emgis.outputs.report`). Outputs never
compute analyses:
the report's numbers are the same tables the CSV files hold. The command line is a thin shell
over these functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from emgis._errors import EmgisError
from emgis._files import sha256_file
from emgis._gc import frozen_heap, give_back
from emgis._progress import SILENT, Progress
from emgis.analysis import coverage as cov
from emgis.analysis.compliance import station_checklist
from emgis.analysis.gaps import place_gaps, village_gaps
from emgis.analysis.impact import before_after
from emgis.analysis.scenario import (
    Scenario,
    ScenarioResult,
    drop_graphs,
    trace_routes,
    zones,
)
from emgis.analysis.siting import BudgetResult, SitingResult
from emgis.analysis.zones import Zones
from emgis.inputs.coords import in_china, wgs84_to_gcj02
from emgis.outputs.docx import write_report_docx
from emgis.outputs.folder import OutputDir
from emgis.outputs.mappage import kept_road_layer, prepare_maps, road_layer
from emgis.outputs.maps import affected_units, coverage_map, scenario_map, siting_map, warning_map
from emgis.outputs.overview import overview_png
from emgis.outputs.qgis import coverage_styles, scenario_styles, siting_styles, warning_styles
from emgis.outputs.report import render_report, report_model
from emgis.outputs.style import scenario_label
from emgis.outputs.tables import write_csv, write_gpkg
from emgis.outputs.workbook import write_workbook
from emgis.run._fork import Forked
from emgis.run.minutes import (
    Minutes,
    compute_minutes,
    report_section,
    with_p_within,
    workbook_sheets,
    write_minutes,
)
from emgis.texts import say, texts

if TYPE_CHECKING:
    from emgis.analysis.quality import DataQuality
    from emgis.analysis.warning import WarningReach
    from emgis.inputs.district import District
    from emgis.plan import Plan

log = logging.getLogger(__name__)



def describe(out: OutputDir, plan: Plan, **options: object) -> None:
    """Record the run's inputs (with their sha256), settings and options in the manifest."""
    d = plan.district
    inputs = {}
    for p in d.sources:
        try:
            name = str(p.relative_to(d.root))
        except ValueError:
            name = str(p)
        if p.exists():
            inputs[name] = sha256_file(p)
    s = d.settings
    settings = {"targets": {k: v.value for k, v in s.targets.items()},
                "turnout": {k: v.value for k, v in s.turnout.items()},
                "speeds": {k: v.value for k, v in s.speeds.items()},
                "minimums": {k: v.value for k, v in s.minimums.items()},
                "shelter": {k: v.value for k, v in s.shelter.items()},
                "quality": {k: v.value for k, v in s.quality.items()},
                "costs": {k: v.value for k, v in s.costs.items()},
                "uncertainty": {k: v.value for k, v in s.uncertainty.items()},
                "availability": {k: v.value for k, v in s.availability.items()},
                "siting": asdict(s.siting),
                "network": asdict(s.network), "coverage": asdict(s.coverage)}
    text = json.dumps(settings, sort_keys=True, default=str)
    out.describe(district=d.name, inputs=inputs, options=options,
                 settings_sha256=hashlib.sha256(text.encode()).hexdigest(), settings=settings)


@dataclass(frozen=True)
class CoverageOutputs:
    """What :func:`coverage_job` computed and where it wrote it."""

    result: cov.CoverageResult
    summary: pd.DataFrame
    by_township: pd.DataFrame
    gaps: pd.DataFrame
    areas: gpd.GeoDataFrame
    uncovered: gpd.GeoDataFrame
    files: tuple[Path, ...]
    zones: Zones | None = None
    place_gaps: pd.DataFrame | None = None


def coverage_job(plan: Plan, out: OutputDir, *, lang: str = "en", per_unit_areas: bool = False,
                 progress: Progress = SILENT) -> CoverageOutputs:
    """Coverage, gaps and service areas, written under ``out``.

    Writes ``coverage.csv`` (one row per village and kind, UTF-8 with BOM),
    ``coverage_summary.csv`` (per kind), ``coverage_townships.csv`` (per township and kind),
    ``gaps.csv`` (one row per village with a public force outside its target, most people
    first: :func:`emgis.analysis.gaps.village_gaps`), ``gaps_places.csv`` (the same for
    shelters and stores), ``zones.csv`` and
    ``zones_balance.csv`` (each unit's zone: villages, persons, area, longest time; how
    unequal a kind's zones are), ``coverage.gpkg`` (the per-village table as points, the
    units, service areas per kind (and per unit) and break, uncovered areas, zones) and
    ``coverage.html`` (the interactive map).
    """

    t = texts(lang)
    progress.step(t["progress.times"])
    result = plan.coverage()
    return _coverage_files(plan, out, result, lang=lang, per_unit_areas=per_unit_areas,
                           progress=progress)


def _coverage_files(plan: Plan, out: OutputDir, result: cov.CoverageResult, *, lang: str,
                    per_unit_areas: bool, progress: Progress) -> CoverageOutputs:
    """The part of :func:`coverage_job` after the times: areas, zones and the files."""
    c = _coverage_tables(plan, result, lang=lang, per_unit_areas=per_unit_areas,
                         progress=progress)
    progress.step(texts(lang)["progress.writing"])
    return replace(c, files=_write_coverage(plan, out, c, lang=lang))


def _coverage_tables(plan: Plan, result: cov.CoverageResult, *, lang: str,
                     per_unit_areas: bool, progress: Progress = SILENT) -> CoverageOutputs:
    """The coverage's summaries, gaps, service areas, uncovered areas and zones, before any
    file is written (``files`` empty): what the workbook and the report read of them."""
    t = texts(lang)
    district = plan.district
    summary = cov.summarize(result.table)
    by_town = cov.summarize(result.table, by=("township", "kind"))
    gaps = village_gaps(result.table)
    places = place_gaps(result.table)
    what = t["progress.areas_per_unit" if per_unit_areas else "progress.areas"]
    with progress.bar(what, len(result.kinds), t["progress.kinds"]) as advance:
        areas = plan.service_areas(per_unit=per_unit_areas, each=advance)
    uncovered = cov.uncovered_areas(areas, district)
    progress.step(t["progress.zones"])
    zones = plan.zones()
    return CoverageOutputs(result, summary, by_town, gaps, areas, uncovered, (), zones, places)


def _write_coverage(plan: Plan, out: OutputDir, c: CoverageOutputs, *, lang: str
                    ) -> tuple[Path, ...]:
    """The coverage's files (see :func:`coverage_job`) from its tables."""
    district = plan.district
    result, areas, zones, places = c.result, c.areas, c.zones, c.place_gaps
    if zones is None or places is None:  # _coverage_tables gives both
        raise ValueError("the coverage's files need its zones and its places' gaps")
    files = [
        write_csv(out, "coverage.csv", with_p_within(plan, result.table), lang=lang),
        write_csv(out, "coverage_summary.csv", c.summary, lang=lang),
        write_csv(out, "coverage_townships.csv", c.by_township, lang=lang),
        write_csv(out, "gaps.csv", c.gaps, lang=lang),
        write_csv(out, "gaps_places.csv", places, lang=lang),
        write_csv(out, "zones.csv", zones.zones.drop(columns="geometry"), lang=lang),
        write_csv(out, "zones_balance.csv", zones.balance, lang=lang),
    ]
    pts = result.villages[["id", "geometry"]].rename(columns={"id": "village_id"})
    table_pts = gpd.GeoDataFrame(with_p_within(plan, result.table).merge(
        pts, on="village_id", how="left"),
                                 geometry="geometry", crs=district.crs)
    files.append(write_gpkg(out, "coverage.gpkg", {
        "coverage": table_pts,
        "units": result.units,
        "service_areas": areas,
        "uncovered": c.uncovered,
        "zones": zones.zones,
    }, styles=coverage_styles(result.kinds, lang, breaks=sorted(
        {float(b) for b in areas["break_min"]}) if len(areas) else ())))
    files.append(out.write_text("coverage.html",
                                coverage_map(result, areas, district, lang=lang,
                                             zones=zones.zones)))
    return tuple(files)


def compliance_job(plan: Plan, out: OutputDir, *, lang: str = "en",
                   as_of: dt.date | None = None) -> tuple[pd.DataFrame, Path]:
    """Evaluate the organisational minimums (drills dated against ``as_of``, default today)
    and write ``compliance.csv``."""
    findings = plan.compliance(as_of=as_of)
    return findings, write_csv(out, "compliance.csv", findings, lang=lang)


@dataclass(frozen=True)
class ScenarioOutputs:
    """What :func:`scenarios_job` computed and wrote; ``stems`` maps each scenario's name to
    the stem of its files (a safe name made from it)."""

    results: tuple[ScenarioResult, ...]
    comparison: pd.DataFrame
    by_village: pd.DataFrame
    files: tuple[Path, ...]
    stems: dict[str, str] = field(default_factory=dict)


def scenarios_job(plan: Plan, out: OutputDir, scenarios: Sequence[Scenario], *,
                  lang: str = "en", progress: Progress = SILENT) -> ScenarioOutputs:
    """Run each scenario and write its tables, GeoPackage and map, and the comparison.

    Per scenario (``STEM`` = ``scenario_`` + a safe name made from the scenario's name):
    ``STEM.csv`` (every village and kind, baseline vs scenario), ``STEM_units.csv`` (every
    unit: in action, out of action or cut off, and why), ``STEM_evacuation.csv``,
    ``STEM_shelters.csv``, ``STEM.gpkg`` and ``STEM.html``; for all: ``scenarios.csv`` (one
    row per scenario) and ``scenarios_villages.csv`` (per village, the kinds losing cover in
    each scenario and in how many scenarios it keeps all its cover).
    """
    district = plan.district
    files: list[Path] = []
    results: list[ScenarioResult] = []
    stems: dict[str, str] = {}

    t = texts(lang)
    with progress.bar(t["progress.scenarios"], len(scenarios), "") as advance:
        for sc in scenarios:
            _one_scenario(plan, out, sc, lang, results, stems, files)
            advance(1)
    comparison = pd.concat([r.summary for r in results], ignore_index=True) if results else \
        pd.DataFrame()
    files.append(write_csv(out, "scenarios.csv", comparison, lang=lang))
    by_village = _compare_villages(district, results)
    files.append(write_csv(out, "scenarios_villages.csv", by_village, lang=lang))
    return ScenarioOutputs(tuple(results), comparison, by_village, tuple(files), stems)


def _one_scenario(plan: Plan, out: OutputDir, sc: Scenario, lang: str,
                  results: list[ScenarioResult], stems: dict[str, str],
                  files: list[Path]) -> None:
    """Run one scenario and write its files."""


    district = plan.district
    r = plan.scenario(sc)
    results.append(r)
    # the routes of every scenario computed by now traced together (a run's: all of them)
    trace_routes([*plan.scenarios_done(plan.district.scenarios), r])
    stem = out.stem("scenario_", sc.name)
    stems[sc.name] = stem
    files += [write_csv(out, f"{stem}.csv", r.villages, lang=lang),
              write_csv(out, f"{stem}_units.csv", r.units, lang=lang),
              write_csv(out, f"{stem}_evacuation.csv", r.evacuation, lang=lang),
              write_csv(out, f"{stem}_shelters.csv", r.shelters, lang=lang)]
    z = zones(district, sc)
    v = district.villages.set_index("id")
    s_geo = district.shelters.set_index("id").geometry
    routes = list(r.routes) if r.routes is not None else [None] * len(r.evacuation)
    lines = [g if g is not None else shapely.LineString([v.geometry[a], s_geo[b]])
             for g, a, b in zip(routes, r.evacuation["village_id"], r.evacuation["shelter_id"],
                                strict=True)]
    roads = r.roads
    per_v = _village_scenario(r, district)
    files.append(write_gpkg(out, f"{stem}.gpkg", {
        "villages": per_v,
        "units": gpd.GeoDataFrame(r.units.merge(
            plan.units[["id", "geometry"]].rename(columns={"id": "unit_id"}),
            on="unit_id", how="left"), geometry="geometry", crs=district.crs),
        "evacuation": gpd.GeoDataFrame(r.evacuation, geometry=lines, crs=district.crs),
        "shelters": gpd.GeoDataFrame(
            r.shelters.merge(district.shelters[["id", "geometry"]], left_on="shelter_id",
                             right_on="id", how="left").drop(columns="id"),
            geometry="geometry", crs=district.crs),
        "hazard_zones": z[["id", "name", "kind", "effect", "geometry"]],
        "affected_roads": roads,
    }, styles=scenario_styles(lang)))
    files.append(out.write_text(f"{stem}.html", scenario_map(r, per_v, z, roads, district,
                                                            lang=lang)))


def _village_scenario(r: ScenarioResult, district: District) -> gpd.GeoDataFrame:
    """One row per village: kinds losing cover, island, evacuation figures, as points."""
    t = r.villages
    lost = t[t["lost_cover"]].groupby("village_id")["kind"].agg(lambda k: ",".join(k))
    first = t.drop_duplicates("village_id").set_index("village_id")
    left = r.unsheltered.set_index("village_id")
    v = district.villages
    return gpd.GeoDataFrame({
        "village_id": v["id"].to_numpy(), "village_name": v["name"].to_numpy(),
        "township": v["township"].to_numpy(),
        "population": v["population"].fillna(0).astype(np.int64).to_numpy(),
        "kinds_losing_cover": lost.reindex(v["id"]).fillna("").to_numpy(),
        "island": first["island"].reindex(v["id"]).fillna(False).to_numpy(dtype=bool),
        "evacuate": v["id"].isin(left.index).to_numpy(),
        "moved": left["moved"].reindex(v["id"]).fillna(0).astype(np.int64).to_numpy(),
        "unsheltered": left["unsheltered"].reindex(v["id"]).fillna(0).astype(np.int64)
        .to_numpy(),
    }, geometry=v.geometry.to_numpy(), crs=district.crs)


def _compare_villages(district: District, results: list[ScenarioResult]) -> pd.DataFrame:
    v = district.villages
    out = pd.DataFrame({"village_id": v["id"].to_numpy(), "village_name": v["name"].to_numpy(),
                        "township": v["township"].to_numpy(),
                        "population": v["population"].fillna(0).astype(np.int64).to_numpy()})
    keeps = np.zeros(len(v), dtype=np.int64)
    for r in results:
        n = r.villages.groupby("village_id", sort=False)["lost_cover"].sum()
        lost = n.reindex(v["id"]).fillna(0).astype(np.int64).to_numpy()
        out[f"kinds_losing_cover_{r.scenario.name}"] = lost
        keeps += lost == 0
    out["scenarios_keeping_all_cover"] = keeps
    out["scenarios"] = len(results)
    return out


def _solver_text(method: str, status: str) -> str:
    if method == "milp":
        return "HiGHS (scipy.optimize.milp)"
    if method == "enumeration":
        return "every candidate evaluated (one site)"
    if status == "time limit":
        return "greedy + swap (the HiGHS MILP stopped at its time limit with a worse solution)"
    return "greedy + swap"


def siting_job(plan: Plan, out: OutputDir, kind: str, *, add: int | None = None,
               cover_all: bool = False, model: str = "max_covering", method: str = "auto",
               lang: str = "en", capacity: float | None = None, time_limit: float = 300.0,
               robust: str | None = None, k: int | None = None,
               probs: Sequence[float] | None = None,
               ) -> tuple[SitingResult, tuple[Path, ...]]:
    """Site new units of ``kind`` and write ``siting_<kind>.csv``, ``_unreachable.csv``,
    ``_excluded.csv``, ``.gpkg`` and ``.html`` (the what-if page). With ``robust`` (an
    objective of :data:`emgis.analysis.siting.OBJECTIVES`) the sites are chosen over the baseline
    and
    the district's scenarios together, and ``siting_<kind>_robust.csv`` compares the plans
    per scenario."""


    if robust and plan.district.scenarios:
        rr = plan.site_robust(kind, add=int(add or 1), objective=robust, k=k, probs=probs,
                              method=method, time_limit=time_limit)
        r = replace(rr.robust, comparison=rr.comparison, robust=robust)
    else:
        r = plan.site(kind, add=add, cover_all=cover_all, model=model, method=method,
                      capacity=capacity, time_limit=time_limit)
    return r, write_siting(plan, out, r, lang=lang)


def write_siting(plan: Plan, out: OutputDir, r: SitingResult, *, lang: str = "en"
                 ) -> tuple[Path, ...]:
    """Write a siting result's files: ``siting_<kind>.csv`` (the proposals with their cost),
    ``_unreachable.csv``, ``_excluded.csv``, ``.gpkg``, ``.html`` (the what-if page) and, for a
    robust plan, ``_robust.csv``."""
    district, kind = plan.district, r.kind
    stem = f"siting_{kind}"
    p = r.proposals
    wgs = p.to_crs(4326) if len(p) else p
    table = p.drop(columns="geometry").assign(
        x=p.geometry.x.round(1) if len(p) else [], y=p.geometry.y.round(1) if len(p) else [],
        lon=wgs.geometry.x.round(6) if len(p) else [],
        lat=wgs.geometry.y.round(6) if len(p) else [],
        model=r.solution.model, method=r.solution.method,
        solver=_solver_text(r.solution.method, r.solution.status),
        status=r.solution.status, gap_to_bound=r.solution.gap)
    # the solve time is printed by the CLI and kept in r.solution.seconds, not written: the
    # same inputs must give the same files
    files = [write_csv(out, f"{stem}.csv", table, lang=lang),
             write_csv(out, f"{stem}_unreachable.csv", r.unreachable, lang=lang),
             write_csv(out, f"{stem}_excluded.csv", r.excluded, lang=lang),
             write_gpkg(out, f"{stem}.gpkg", {"proposals": p, "villages": r.villages},
                        styles=siting_styles(lang)),
             out.write_text(f"{stem}.html", siting_map(
                 r, district, network=plan.network, lang=lang,
                 whatif=plan.whatif(kind, proposals=r.proposals)))]
    if r.comparison is not None:
        files.append(write_csv(out, f"{stem}_robust.csv", r.comparison, lang=lang))
    return tuple(files)


def budget_job(plan: Plan, out: OutputDir, kinds: Sequence[str], *, budget: float,
               weights: Mapping[str, float] | None = None, method: str = "auto",
               lang: str = "en", time_limit: float = 300.0
               ) -> tuple[BudgetResult, tuple[Path, ...]]:
    """Site new units of one or more kinds within one budget (yuan; :meth:`Plan.site_budget`)
    and write each kind's files as :func:`siting_job` does, and ``siting_budget.csv``: per
    kind and in all, the sites, their cost (and yearly running cost where known), the persons
    newly covered, the weights, the budget and what is left of it, the proven bound and gap."""
    res = plan.site_budget(kinds, budget=budget, weights=weights, method=method,
                           time_limit=time_limit)
    files: list[Path] = []
    for r in res.sites:
        files += write_siting(plan, out, r, lang=lang)
    files.append(write_csv(out, "siting_budget.csv", res.summary(), lang=lang))
    return res, tuple(files)


def siting_note(result: SitingResult, lang: str = "en") -> str:
    """What a planner must know beyond a siting run's proposals, in words: that no candidate
    improves on the existing units, or that fewer sites than asked for add anything."""

    t = texts(lang)
    n = len(result.proposals)
    if n == 0:
        return t["report.siting_none"]
    if result.requested is not None and n < result.requested:
        return t.fmt("report.siting_fewer", n=n, requested=result.requested)
    return ""


def _township_of(district: District, points: gpd.GeoDataFrame) -> list[object]:
    """The township each point lies in (None outside every township polygon)."""
    towns = district.townships
    out: list[object] = []
    for g in points.geometry:
        hit = towns[towns.geometry.contains(g)] if len(towns) else towns
        out.append(hit["name"].iloc[0] if len(hit) else None)
    return out


def proposals_table(district: District, sites: Sequence[SitingResult]) -> pd.DataFrame:
    """Every proposal of a run in one table: kind, rank, site, township, gains, target, and the
    coordinates in WGS-84 and (for sites in China) GCJ-02."""

    parts = []
    for s in sites:
        p = s.proposals
        if not len(p):
            continue
        wgs = p.to_crs(4326).geometry
        lon, lat = wgs.x.to_numpy(), wgs.y.to_numpy()
        glon, glat = wgs84_to_gcj02(lon, lat)
        china = in_china(lon, lat)
        parts.append(p.drop(columns="geometry").assign(
            kind=s.kind, target_min=s.target_min, township=_township_of(district, p),
            lon=np.round(lon, 6), lat=np.round(lat, 6),
            lon_gcj02=np.where(china, np.round(glon, 6), np.nan),
            lat_gcj02=np.where(china, np.round(glat, 6), np.nan)))
    cols = ["kind", "rank", "site_id", "name", "source", "township", "newly_covered_population",
            "newly_reached_population", "gain", "gain_unit", "cost_yuan", "target_min", "lon",
            "lat",
            "lon_gcj02", "lat_gcj02", "villages"]
    if not parts:
        return pd.DataFrame(columns=cols)
    table: pd.DataFrame = pd.concat(parts, ignore_index=True)[cols]
    return table


def report_job(plan: Plan, out: OutputDir, *, coverage: CoverageOutputs | None,
               compliance: pd.DataFrame | None, scenarios: ScenarioOutputs | None = None,
               sites: Sequence[SitingResult] = (), lang: str = "en",
               failures: Sequence[tuple[str, str]] = (), warning: WarningReach | None = None,
               quality: DataQuality | None = None, as_of: dt.date | None = None,
               overview: tuple[bytes | None, str | None] | None = None,
               minutes: Minutes | None = None, writing: Collection[str] = ()) -> Path:
    """Write ``report.html`` and ``report.docx`` (the same model, dated ``as_of``, default
    today) from the results of this run's jobs (never from files of another run: it links
    only maps this run wrote). Returns the HTML page's path. ``overview``: the overview
    picture and its kind as :func:`report_overview` draws them (drawn here when None).
    ``writing``: maps a worker of the run is still writing, linked as if written (the run
    makes the report again should one fail)."""

    t = texts(lang)
    district = plan.district
    maps: dict[str, str] = {}
    if coverage is not None:
        maps[t["report.coverage_map"]] = "coverage.html"
    if scenarios is not None:
        for r in scenarios.results:
            stem = scenarios.stems.get(r.scenario.name, "")
            maps[t.fmt("report.scenario_map", name=scenario_label(r.scenario.name, t))] = \
                f"{stem}.html"
    for s in sites:
        maps[t.fmt("report.siting_map", kind=t.kind(s.kind))] = f"siting_{s.kind}.html"
    if warning is not None:
        maps[t["report.warning_map"]] = "warnings.html"
    maps = {k: v for k, v in maps.items() if v in out.written or v in writing}
    table = proposals_table(district, sites)
    picture, kind = overview if overview is not None else report_overview(
        plan, coverage.result if coverage is not None else None, sites, lang=lang)
    wgs = district.villages.to_crs(4326).geometry
    china = bool(in_china(wgs.x.to_numpy(), wgs.y.to_numpy()).any()) if len(wgs) else False
    model = report_model(
        district,
        coverage=coverage.result.table if coverage else None,
        coverage_summary=coverage.summary if coverage else None,
        compliance=compliance,
        scenarios=scenarios.comparison if scenarios is not None else None,
        scenario_villages=pd.concat(
            [r.villages.assign(scenario=r.scenario.name) for r in scenarios.results],
            ignore_index=True) if scenarios is not None and scenarios.results else None,
        sites=table if sites else None,
        maps=maps,
        lang=lang,
        notes=[*(say(p.message, t) for p in district.warnings
                 if getattr(p.message, "key", "") == "township_no_village"),
               *(f"{t.kind(s.kind)}: {siting_note(s, lang)}" for s in sites if s.note),
               *(f"{step}: {msg}" for step, msg in failures)],
        overview=picture, overview_kind=kind, china=china,
        zones=coverage.zones.zones.drop(columns="geometry") if coverage and coverage.zones
        else None,
        zone_balance=coverage.zones.balance if coverage and coverage.zones else None,
        warning=warning.villages if warning is not None else None,
        loudspeakers=warning.proposals.drop(columns="geometry") if warning is not None
        else None,
        robust=[(s.kind, s.comparison, s.robust or "worst") for s in sites
                if s.comparison is not None],
        quality=quality.table(lang) if quality is not None else None,
        quality_warnings=[say(w, t) for w in quality.warnings] if quality is not None else (),
        affected=[(r.scenario.name, affected_units(r, lang)) for r in scenarios.results]
        if scenarios is not None else (),
        impact=before_after(coverage.result.table, sites) if coverage and sites else None,
        impact_townships=before_after(coverage.result.table, sites, by=("township",))
        if coverage and sites else None,
        minutes=report_section(minutes, lang, rows=int(district.settings.report.township_rows)),
    )
    # the Word report (the same model) in a worker beside the HTML page
    docx = Forked(out, write_report_docx, out, model, date=as_of or dt.date.today())
    page = out.write_text("report.html", render_report(model))
    docx.result()
    return page


def report_overview(plan: Plan, result: cov.CoverageResult | None,
                    sites: Sequence[SitingResult], *, lang: str = "en"
                    ) -> tuple[bytes | None, str | None]:
    """The report's overview picture (PNG) and the kind it shows (micro fire stations where
    the district has them), with that kind's proposed sites; (None, None) without coverage."""
    overview, kind = None, None
    if result is not None:
        present = [k for k in result.kinds if k in result.node_min]
        kind = "micro_fire_station" if "micro_fire_station" in present else (
            present[0] if present else None)
        if kind is not None:
            props = next((s.proposals for s in sites if s.kind == kind and len(s.proposals)),
                         None)
            overview = overview_png(plan.network, plan.district, result.table, kind, props,
                                    lang=lang)
    return overview, kind


def quality_job(plan: Plan, out: OutputDir, *, lang: str = "en"
                ) -> tuple[DataQuality, Path]:
    """The data quality of the roads per township (:mod:`emgis.analysis.quality`): writes
    ``quality.csv`` (one row per township and one for the whole district: villages far from
    every road, access distances, road km per km², the verdict and why)."""
    dq = plan.quality()
    return dq, write_csv(out, "quality.csv", dq.table(lang), lang=lang)


def warning_job(plan: Plan, out: OutputDir, *, lang: str = "en"
                ) -> tuple[WarningReach, tuple[Path, ...]]:
    """Warning reach and the fewest new loudspeakers (:mod:`emgis.analysis.warning`): writes
    ``warnings.csv`` (every village: share of its people within reach), ``warning_points.csv``,
    ``warning_proposals.csv``, ``warnings.gpkg`` and ``warnings.html``."""

    reach = plan.warning_reach()
    d = plan.district
    circles = reach.points.copy()
    circles["geometry"] = reach.points.geometry.buffer(reach.points["radius_m"].to_numpy())
    prop = reach.proposals
    v = d.villages[["id", "geometry"]].rename(columns={"id": "village_id"})
    files = [write_csv(out, "warnings.csv", reach.villages, lang=lang),
             write_csv(out, "warning_points.csv", reach.points.drop(columns="geometry"),
                       lang=lang),
             write_csv(out, "warning_proposals.csv", _with_lonlat(prop), lang=lang),
             write_gpkg(out, "warnings.gpkg", {
                 "villages": gpd.GeoDataFrame(reach.villages.merge(v, on="village_id"),
                                              geometry="geometry", crs=d.crs),
                 "warning_points": reach.points, "reach": circles,
                 "proposals": prop}, styles=warning_styles(lang)),
             out.write_text("warnings.html", warning_map(reach, d, network=plan.network,
                                                         lang=lang))]
    return reach, tuple(files)


def _with_lonlat(points: gpd.GeoDataFrame) -> pd.DataFrame:
    """A point table without geometry, with WGS-84 longitude and latitude."""
    if not len(points):
        return pd.DataFrame(points.drop(columns="geometry")).assign(lon=[], lat=[])
    wgs = points.to_crs(4326).geometry
    return pd.DataFrame(points.drop(columns="geometry")).assign(
        lon=np.round(wgs.x.to_numpy(), 6), lat=np.round(wgs.y.to_numpy(), 6))


def _scenario_losses(scenarios: ScenarioOutputs | None) -> pd.DataFrame | None:
    """Every scenario's village rows losing cover, with a ``scenario`` column first."""
    if scenarios is None or not scenarios.results:
        return None
    parts = [r.villages[r.villages["lost_cover"]] for r in scenarios.results]
    table = pd.concat([p.assign(scenario=r.scenario.name) for p, r in
                       zip(parts, scenarios.results, strict=True)], ignore_index=True)
    return table[["scenario", *(c for c in table.columns if c != "scenario")]]


def workbook_job(plan: Plan, out: OutputDir, *, coverage: CoverageOutputs | None,
                 compliance: pd.DataFrame | None, scenarios: ScenarioOutputs | None = None,
                 sites: Sequence[SitingResult] = (), lang: str = "en",
                 failures: Sequence[tuple[str, str]] = (), warning: WarningReach | None = None,
                 quality: DataQuality | None = None, minutes: Minutes | None = None) -> Path:
    """Write ``results.xlsx``: the tables of this run's jobs as sheets (see
    :mod:`emgis.outputs.workbook`)."""

    t = texts(lang)
    return write_workbook(
        out, district=plan.district,
        coverage=with_p_within(plan, coverage.result.table) if coverage else None,
        coverage_summary=coverage.summary if coverage else None,
        gaps=coverage.gaps if coverage else None, compliance=compliance,
        scenarios=scenarios.comparison if scenarios is not None else None,
        scenario_villages=_scenario_losses(scenarios),
        sites=proposals_table(plan.district, sites) if sites else None,
        zones=coverage.zones.zones.drop(columns="geometry") if coverage and coverage.zones
        else None,
        zone_balance=coverage.zones.balance if coverage and coverage.zones else None,
        checklist=station_checklist(compliance) if compliance is not None else None,
        warning=warning.villages if warning is not None else None,
        loudspeakers=_with_lonlat(warning.proposals) if warning is not None else None,
        quality=quality.table(lang) if quality is not None else None,
        extra_sheets=workbook_sheets(minutes, lang),
        lang=lang,
        notes=[*(say(p.message, t) for p in plan.district.warnings
                 if getattr(p.message, "key", "") == "township_no_village"),
               *(f"{t.kind(s.kind)}: {siting_note(s, lang)}" for s in sites if s.note),
               *(f"{step}: {msg}" for step, msg in failures)])


def _site(plan: Plan, kind: str, *, add: int, model: str, time_limit: float,
          robust: str | None) -> SitingResult:
    """The siting of :func:`siting_job` without its files."""
    if robust and plan.district.scenarios:
        rr = plan.site_robust(kind, add=int(add or 1), objective=robust, method="auto",
                              time_limit=time_limit)
        return replace(rr.robust, comparison=rr.comparison, robust=robust)
    return plan.site(kind, add=add, model=model, method="auto", time_limit=time_limit)


def _areas_slim(plan: Plan, per_unit: bool) -> tuple[gpd.GeoDataFrame, Zones]:
    """The plan's service areas and zones, as a worker sends them back: the zones first,
    then the areas, on the same points along the roads where the zones' cells are about the
    areas' (:func:`emgis.analysis.coverage.road_points`; else the zones' own points are let
    go before the areas' are made)."""
    with plan.engine.keeping():
        zones = plan.zones()
        return plan.service_areas(per_unit=per_unit), zones


def _areas_back(got: tuple[gpd.GeoDataFrame, Zones], plan: Plan, per_unit: bool) -> None:
    """A worker's service areas and zones kept in the plan (computed once)."""
    areas, zones = got
    plan._areas.setdefault(per_unit, areas)
    if plan._zones is None:
        plan._zones = zones


def _minutes_slim(plan: Plan, *, lang: str) -> tuple[Minutes, dict[Any, Any]]:
    """:func:`compute_minutes` as a worker sends it back: with what it computed for the plan
    (its cache of the minutes' analyses, without the graph split by speed group and the
    force's pairs: large, and found again where asked for)."""
    minutes = compute_minutes(plan, lang=lang)
    return minutes, {k: v for k, v in plan._minutes.items()
                     if k not in ("class_times", "force_pairs")}


def _minutes_back(got: tuple[Minutes, dict[Any, Any]], plan: Plan) -> Minutes:
    """A worker's minutes, its analyses kept in the plan (computed once)."""
    minutes, cache = got
    for key, value in cache.items():
        plan._minutes.setdefault(key, value)
    return minutes


def _scenarios_slim(plan: Plan, out: OutputDir, scenarios: Sequence[Scenario], *,
                    lang: str) -> ScenarioOutputs:
    """:func:`scenarios_job` as a worker sends it back: without the results (the parent
    holds them, with their engines)."""
    return replace(scenarios_job(plan, out, scenarios, lang=lang), results=())


def _slim_back(s: ScenarioOutputs, plan: Plan) -> ScenarioOutputs:
    """A worker's scenario outputs with the parent's results."""
    return replace(s, results=tuple(plan.scenario(sc) for sc in plan.district.scenarios))


@dataclass(frozen=True)
class RunOutputs:
    """What :func:`run_all` computed and wrote."""

    coverage: CoverageOutputs | None
    compliance: pd.DataFrame | None
    scenarios: ScenarioOutputs | None
    sites: tuple[SitingResult, ...]
    report: Path
    manifest: Path
    files: tuple[Path, ...]
    failures: tuple[tuple[str, str], ...]
    quality: DataQuality | None = None
    minutes: Minutes | None = None


#: What ``emgis run`` sites: (kind, new sites, model).
RUN_SITES: tuple[tuple[str, int, str], ...] = (("micro_fire_station", 3, "robust_worst"),
                                                ("stockpile", 1, "p_median"))


def run_all(plan: Plan, out: str | Path, *, lang: str = "en", per_unit_areas: bool = False,
            progress: Progress | None = None,
            sites: Sequence[tuple[str, int, str]] = RUN_SITES, time_limit: float = 60.0,
            lock_timeout: float = 600.0, options: dict[str, object] | None = None,
            as_of: dt.date | None = None,
            extra: Callable[..., None] | None = None) -> RunOutputs:
    """The main job: coverage, compliance, the district's scenarios, siting, the data quality
    of the roads (``quality.csv``), and the report, written under ``out`` with the manifest
    last.

    A step that fails (scenarios, a siting run) is named in the report and in
    ``RunOutputs.failures``; the run still ends with its report. ``extra`` is called before
    the manifest is written as ``extra(out_dir, coverage=, compliance=, scenarios=, sites=,
    failures=)`` to write more files of the run (``emgis batch``: the district's summary for
    the roll-up).
    """

    with frozen_heap():  # what the workers' forks freeze, out of the collections till the end
        return _run_all(plan, out, lang=lang, per_unit_areas=per_unit_areas,
                        progress=progress, sites=sites, time_limit=time_limit,
                        lock_timeout=lock_timeout, options=options, as_of=as_of, extra=extra)


def _run_all(plan: Plan, out: str | Path, *, lang: str, per_unit_areas: bool,
             progress: Progress | None, sites: Sequence[tuple[str, int, str]],
             time_limit: float, lock_timeout: float, options: dict[str, object] | None,
             as_of: dt.date | None, extra: Callable[..., None] | None) -> RunOutputs:
    """:func:`run_all`'s steps."""
    t = texts(lang)
    progress = progress or SILENT
    failures: list[tuple[str, str]] = []
    with OutputDir(out, command="run", lock_timeout=lock_timeout,
                   on_wait=progress.step, inputs=plan.district.sources) as od:
        describe(od, plan, command="run", lang=lang, per_unit_areas=per_unit_areas,
                 as_of=str(as_of or dt.date.today()), **(options or {}))
        # Steps that only write (areas, zones and maps of the coverage, the scenarios'
        # files, the siting pages, the overview picture, the workbook) run in forked workers
        # beside the next analyses (emgis.run._fork); the files and results are the same.
        progress.step(t["progress.times"])
        # the maps' road layer as kept beside the network cache by an earlier run on these
        # roads, else made in a worker (and kept) while the parent finds the times
        roads: str | None = kept_road_layer(plan.network, plan.district, cache=plan.cache)
        roads_job = None if roads is not None else Forked(
            None, road_layer, plan.network, plan.district, cache=plan.cache)
        # the organisational minimums need the district alone: in a worker beside the times
        comp_job = Forked(od, compliance_job, plan, od, lang=lang, as_of=as_of)
        result = plan.coverage()
        # calibration, uncertainty (p_within joins coverage.csv), force and availability in
        # a worker beside the compliance, the scenarios and the siting; the coverage's files
        # after them
        progress.step(t["progress.minutes"])
        min_job = Forked(None, _minutes_slim, plan, lang=lang)
        # the service areas and zones (a province's grids take over a gigabyte) in a worker
        # forked now, while the parent is at its smallest; their files are written later
        area_job = Forked(None, _areas_slim, plan, per_unit_areas)
        progress.step(t["progress.compliance"])
        findings, _ = comp_job.result()
        min_at = len(failures)  # where the minutes' failures are named
        # the maps' roads once (encoded as the pages' JSON), for every worker (made here if
        # their worker failed)
        try:
            if roads_job is not None:
                roads = roads_job.result()
        except (EmgisError, ValueError, RuntimeError, OSError):
            log.debug("the maps' road layer failed in its worker", exc_info=True)
            roads = None
        prepare_maps(plan.network, plan.district, roads=roads)
        sc_out: ScenarioOutputs | None = None
        sc_job: Forked[ScenarioOutputs] | None = None
        if plan.district.scenarios:
            try:
                # the scenarios' evacuations on the roads before the hazards share their
                # searches (emgis.analysis.scenario._pairs) while the engine keeps them
                with progress.bar(t["progress.scenarios"], len(plan.district.scenarios),
                                  "") as advance, plan.engine.keeping():
                    for sc in plan.district.scenarios:
                        plan.scenario(sc)
                        od.stem("scenario_", sc.name)  # each scenario's stem, in order
                        advance(1)
                sc_job = Forked(od, _scenarios_slim, plan, od, plan.district.scenarios,
                                lang=lang)
            except (EmgisError, ValueError, RuntimeError) as exc:
                log.debug("scenarios failed", exc_info=True)
                failures.append((t["progress.scenarios"], say(exc, t)))
        # per kind in order: its result and the worker writing its files, or its failure
        pending: list[tuple[str, SitingResult | None, Forked[tuple[Path, ...]] | None,
                            tuple[str, str] | None]] = []
        for kind, add, model in sites:
            if kind not in plan.district.settings.targets:
                continue
            robust = model.removeprefix("robust_") if model.startswith("robust_") and \
                plan.district.scenarios else None
            base_model = "max_covering" if model.startswith("robust_") else model
            progress.step(t.fmt("progress.siting", n=add, kind=t.kind(kind),
                                model=t.get("model", model if robust else base_model)))
            try:
                r = _site(plan, kind, add=add, model=base_model, time_limit=time_limit,
                          robust=robust)
                pending.append((kind, r, Forked(od, write_siting, plan, od, r, lang=lang),
                                None))
            except (EmgisError, ValueError, RuntimeError) as exc:
                log.debug("siting %s failed", kind, exc_info=True)
                pending.append((kind, None, None, (t.fmt("msg.step_siting", kind=t.kind(kind)),
                                                   say(exc, t))))
        # the overview picture from the sites found, beside the writing (drawn again below
        # in the rare run where a site's files fail and it is left out of the report)
        found = [got for _, got, _, failed in pending if failed is None and got is not None]
        view = Forked(None, report_overview, plan, result, found, lang=lang)
        # every worker reading the scenarios' roads has forked: their routing graphs (a
        # province's took 1 GB) are let go and their memory given back, so that the workers
        # forked from here on (coverage files, workbook, report) start from a smaller parent
        drop_graphs(plan._scenarios.values())
        give_back()
        # the minutes' and the areas' workers awaited only now: the siting needs neither, and
        # on a province the minutes took longer than the scenarios (the parent sat waiting)
        minutes = _minutes_back(min_job.result(), plan)
        failures[min_at:min_at] = minutes.failures
        _areas_back(area_job.result(), plan, per_unit_areas)
        # the worker draws no bar (its output is not the terminal's): the step is said here
        what = t["progress.areas_per_unit" if per_unit_areas else "progress.areas"]
        progress.step(f"{what} ({len(result.kinds)} {t['progress.kinds']})")
        # the coverage's tables here (a province's in under a second), its files in a worker:
        # the workbook and the report read the tables and need not wait for the files
        cov_out = _coverage_tables(plan, result, lang=lang, per_unit_areas=per_unit_areas)
        cov_job = Forked(od, _write_coverage, plan, od, cov_out, lang=lang)
        sc_at = len(failures)  # where a failure of the scenarios' files is named
        # the parent's own steps while the workers write: their failures are named after the
        # siting's, as the steps come in the report
        later: list[tuple[str, str]] = []
        warn = None
        if len(plan.district.warning_points):
            progress.step(t["progress.warning"])
            try:
                warn, _ = warning_job(plan, od, lang=lang)
            except (EmgisError, ValueError, RuntimeError) as exc:
                log.debug("warning reach failed", exc_info=True)
                later.append((t["progress.warning"], say(exc, t)))
        quality = None
        progress.step(t["progress.quality"])
        try:
            quality, _ = quality_job(plan, od, lang=lang)
        except (EmgisError, ValueError, RuntimeError) as exc:
            log.debug("data quality failed", exc_info=True)
            later.append((t["progress.quality"], say(exc, t)))
        try:
            write_minutes(od, plan, minutes, lang=lang)
        except (EmgisError, ValueError, RuntimeError) as exc:
            log.debug("minutes' files failed", exc_info=True)
            later.append((t["progress.minutes"], say(exc, t)))
        if sc_job is not None:
            try:
                sc_out = _slim_back(sc_job.result(), plan)
            except (EmgisError, ValueError, RuntimeError) as exc:
                log.debug("scenarios failed", exc_info=True)
                failures.insert(sc_at, (t["progress.scenarios"], say(exc, t)))
        # the workbook and the report begin while the coverage's files and the siting pages
        # are still being written, as if each will be (a county's stockpile page and a
        # province's coverage files were the run's last workers: the parent sat waiting for
        # them, one core idle); should a page fail, both are made again
        hoped_failures = [*failures, *(f for *_, f in pending if f is not None), *later]

        def book_and_report(sites: list[SitingResult], failed: list[tuple[str, str]],
                            overview: tuple[bytes | None, str | None],
                            writing: frozenset[str]) -> tuple[Forked[Path], Path]:
            book = Forked(od, workbook_job, plan, od, coverage=cov_out, compliance=findings,
                          scenarios=sc_out, sites=sites, lang=lang, failures=failed,
                          warning=warn, quality=quality, minutes=minutes)
            progress.step(t["progress.report"])
            return book, report_job(plan, od, coverage=cov_out, compliance=findings,
                                    scenarios=sc_out, sites=sites, lang=lang, failures=failed,
                                    warning=warn, quality=quality, as_of=as_of,
                                    overview=overview, minutes=minutes, writing=writing)

        book, report = book_and_report(found, hoped_failures, view.result(),
                                       frozenset({"coverage.html", *(f"siting_{s.kind}.html"
                                                                     for s in found)}))
        cov_out = replace(cov_out, files=cov_job.result())
        done: list[SitingResult] = []
        for kind, got, job, failed in pending:  # each written, or its failure named in order
            if failed is not None or job is None or got is None:
                failures.append(failed or ("", ""))
                continue
            try:
                job.result()
                done.append(got)
            except (EmgisError, ValueError, RuntimeError) as exc:
                log.debug("siting %s failed", kind, exc_info=True)
                failures.append((t.fmt("msg.step_siting", kind=t.kind(kind)), say(exc, t)))
        failures.extend(later)
        progress.step(t["progress.workbook"])
        book.result()
        if len(done) != len(found) or failures != hoped_failures:  # a page failed: again
            view = Forked(None, report_overview, plan, result, done, lang=lang)
            book, report = book_and_report(done, failures, view.result(), frozenset())
            book.result()
        if extra is not None:
            extra(od, coverage=cov_out, compliance=findings, scenarios=sc_out, sites=done,
                  failures=failures)
        od.describe(failures=[{"step": s, "error": m} for s, m in failures])
        manifest = od.finish()
        files = tuple(od.path(n) for n in sorted(od.written))
    return RunOutputs(cov_out, findings, sc_out, tuple(done), report, manifest, files,
                      tuple(failures), quality=quality, minutes=minutes)
