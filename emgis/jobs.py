"""Whole jobs, as the ``emgis`` command runs them: analyses first, then the files they write.

Each job takes a loaded district and its road network, calls the analyses, and hands their
result tables to the writers (:mod:`emgis.export`, :mod:`emgis.maps`). The command line is a
thin shell over these functions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from emgis import coverage as cov
from emgis.district import District
from emgis.export import write_csv, write_gpkg
from emgis.network import EdgeArrays
from emgis.scenario import Scenario, ScenarioResult
from emgis.siting import SitingResult

log = logging.getLogger(__name__)


def compliance_job(district: District, out: str | Path) -> tuple[pd.DataFrame, Path]:
    """Evaluate the organisational minimums and write ``compliance.csv`` under ``out``."""
    from emgis.compliance import check_compliance

    findings = check_compliance(district)
    return findings, write_csv(findings, Path(out) / "compliance.csv")


def report_job(
    district: District,
    out: str | Path,
    *,
    coverage: CoverageOutputs | None,
    compliance: pd.DataFrame | None,
    scenarios: ScenarioOutputs | None = None,
    sites: list[SitingResult] | None = None,
    lang: str = "en",
) -> Path:
    """Write ``report.html`` from the results of the jobs that ran."""
    from emgis.report import build_report, save_report

    maps = {}
    if coverage is not None:
        maps["coverage.html"] = "coverage.html"
    if scenarios is not None:
        for r in scenarios.results:
            maps[f"scenario_{r.scenario.name}.html"] = f"scenario_{r.scenario.name}.html"
    for s in sites or []:
        maps[f"siting_{s.kind}.html"] = f"siting_{s.kind}.html"
    page = build_report(
        district,
        coverage=coverage.result.table if coverage else None,
        coverage_summary=coverage.summary if coverage else None,
        compliance=compliance,
        scenarios=scenarios.comparison if scenarios is not None else None,
        scenario_villages=pd.concat(
            [r.villages.assign(scenario=r.scenario.name) for r in scenarios.results],
            ignore_index=True) if scenarios is not None and scenarios.results else None,
        sites=pd.concat([s.proposals.drop(columns="geometry").assign(
            kind=s.kind, township=_township_of(district, s.proposals)) for s in sites],
            ignore_index=True) if sites else None,
        maps=maps,
        lang=lang,
    )
    return save_report(page, Path(out) / "report.html")


def _township_of(district: District, points: gpd.GeoDataFrame) -> list[object]:
    """The township each point lies in (None outside every township polygon)."""
    towns = district.townships
    out: list[object] = []
    for g in points.geometry:
        hit = towns[towns.geometry.contains(g)] if len(towns) else towns
        out.append(hit["name"].iloc[0] if len(hit) else None)
    return out


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


def coverage_job(
    district: District,
    network: nx.MultiDiGraph | EdgeArrays,
    out: str | Path,
    *,
    lang: str = "en",
    per_unit_areas: bool = True,
    progress: bool = False,
) -> CoverageOutputs:
    """Compute coverage, gaps and service areas and write them under ``out``.

    Writes ``coverage.csv`` (one row per village and kind, UTF-8 with BOM),
    ``coverage_summary.csv`` (per kind), ``coverage_townships.csv`` (per township and kind),
    ``gaps.csv`` (villages outside target, worst first), ``coverage.gpkg`` (the per-village
    table as points, service areas per unit and break, per kind and break, and uncovered areas)
    and ``coverage.html`` (the interactive map).
    """
    from emgis.maps import coverage_map, save

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def step(msg: str) -> float:
        if progress:
            print(f"  {msg} ...", flush=True)
        return time.perf_counter()

    t0 = step("response times from every unit to every village")
    result = cov.compute_coverage(district, network)
    summary = cov.summarize(result.table)
    by_town = cov.summarize(result.table, by=("township", "kind"))
    gaps = cov.gaps(result.table)
    t1 = step(f"service areas ({time.perf_counter() - t0:.1f} s so far)")
    areas = cov.service_areas(result, settings=district.settings, per_unit=per_unit_areas)
    uncovered = cov.uncovered_areas(areas, district)
    step(f"writing tables and the map ({time.perf_counter() - t1:.1f} s for service areas)")

    files = [
        write_csv(result.table, out / "coverage.csv"),
        write_csv(summary, out / "coverage_summary.csv"),
        write_csv(by_town, out / "coverage_townships.csv"),
        write_csv(gaps, out / "gaps.csv"),
    ]
    pts = result.villages[["id", "geometry"]].rename(columns={"id": "village_id"})
    table_pts = gpd.GeoDataFrame(result.table.merge(pts, on="village_id", how="left"),
                                 geometry="geometry", crs=district.crs)
    units = result.units.drop(columns=["turnout_min"]).assign(
        turnout_min=result.units["turnout_min"])
    files.append(write_gpkg({
        "coverage": table_pts,
        "units": units,
        "service_areas": areas,
        "uncovered": uncovered,
    }, out / "coverage.gpkg"))
    files.append(save(coverage_map(result, areas, district, lang=lang), out / "coverage.html"))
    return CoverageOutputs(result, summary, by_town, gaps, areas, uncovered, tuple(files))


@dataclass(frozen=True)
class ScenarioOutputs:
    """What :func:`scenarios_job` computed and wrote."""

    results: tuple[ScenarioResult, ...]
    comparison: pd.DataFrame
    by_village: pd.DataFrame
    files: tuple[Path, ...]


def scenarios_job(
    district: District,
    edges: EdgeArrays,
    out: str | Path,
    scenarios: tuple[Scenario, ...],
    *,
    baseline: pd.DataFrame | None = None,
    lang: str = "en",
    progress: bool = False,
) -> ScenarioOutputs:
    """Run each scenario and write its tables, GeoPackage and map, and the comparison.

    Per scenario: ``scenario_<name>.csv`` (every village and kind, baseline vs scenario),
    ``scenario_<name>_evacuation.csv``, ``scenario_<name>_shelters.csv``,
    ``scenario_<name>.gpkg`` and ``scenario_<name>.html``; for all: ``scenarios.csv`` (one row
    per scenario) and ``scenarios_villages.csv`` (per village, the kinds losing cover in each
    scenario and in how many scenarios it keeps all its cover).
    """
    import shapely

    from emgis.maps import save, scenario_map
    from emgis.scenario import run_scenario, zones

    out = Path(out)
    files: list[Path] = []
    results = []
    if baseline is None:
        baseline = cov.compute_coverage(district, edges).table
    for sc in scenarios:
        if progress:
            print(f"  scenario {sc.name} ({', '.join(sc.hazards)}) ...", flush=True)
        r = run_scenario(district, edges, sc, baseline=baseline)
        results.append(r)
        stem = f"scenario_{sc.name}"
        files += [write_csv(r.villages, out / f"{stem}.csv"),
                  write_csv(r.evacuation, out / f"{stem}_evacuation.csv"),
                  write_csv(r.shelters, out / f"{stem}_shelters.csv")]
        z = zones(district, sc)
        v = district.villages.set_index("id")
        lines = [shapely.LineString([v.geometry[a], district.shelters.set_index("id").geometry[b]])
                 for a, b in zip(r.evacuation["village_id"], r.evacuation["shelter_id"],
                                 strict=True)]
        pen = r.edges.penalty if r.edges.penalty is not None else None
        hit = [] if pen is None else list(np.flatnonzero(pen != 1.0))
        roads = gpd.GeoDataFrame({
            "u": r.edges.keys[hit, 0] if hit else [], "v": r.edges.keys[hit, 1] if hit else [],
            "effect": ["closed" if pen is not None and not np.isfinite(pen[i]) else "slowed"
                       for i in hit],
            "time_factor": [float(pen[i]) if pen is not None and np.isfinite(pen[i]) else None
                            for i in hit]},
            geometry=list(r.edges.geometry[hit]) if hit else [], crs=district.crs)
        per_v = _village_scenario(r, district)
        files.append(write_gpkg({
            "villages": per_v,
            "evacuation": gpd.GeoDataFrame(r.evacuation, geometry=lines, crs=district.crs),
            "shelters": gpd.GeoDataFrame(
                r.shelters.merge(district.shelters[["id", "geometry"]], left_on="shelter_id",
                                 right_on="id", how="left").drop(columns="id"),
                geometry="geometry", crs=district.crs),
            "hazard_zones": z[["id", "name", "kind", "effect", "geometry"]],
            "affected_roads": roads,
        }, out / f"{stem}.gpkg"))
        files.append(save(scenario_map(r, per_v, z, roads, district, lang=lang),
                          out / f"{stem}.html"))
    comparison = pd.concat([r.summary for r in results], ignore_index=True) if results else \
        pd.DataFrame()
    files.append(write_csv(comparison, out / "scenarios.csv"))
    by_village = _compare_villages(district, results)
    files.append(write_csv(by_village, out / "scenarios_villages.csv"))
    return ScenarioOutputs(tuple(results), comparison, by_village, tuple(files))


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
        "population": v["population"].fillna(0).astype(int).to_numpy(),
        "kinds_losing_cover": lost.reindex(v["id"]).fillna("").to_numpy(),
        "island": first["island"].reindex(v["id"]).fillna(False).to_numpy(dtype=bool),
        "evacuate": v["id"].isin(left.index).to_numpy(),
        "moved": left["moved"].reindex(v["id"]).fillna(0).astype(int).to_numpy(),
        "unsheltered": left["unsheltered"].reindex(v["id"]).fillna(0).astype(int).to_numpy(),
    }, geometry=v.geometry.to_numpy(), crs=district.crs)


def _compare_villages(district: District, results: list[ScenarioResult]) -> pd.DataFrame:
    v = district.villages
    out = pd.DataFrame({"village_id": v["id"].to_numpy(), "village_name": v["name"].to_numpy(),
                        "township": v["township"].to_numpy(),
                        "population": v["population"].fillna(0).astype(int).to_numpy()})
    keeps = np.zeros(len(v), dtype=int)
    for r in results:
        n = r.villages.groupby("village_id", sort=False)["lost_cover"].sum()
        lost = n.reindex(v["id"]).fillna(0).astype(int).to_numpy()
        out[f"kinds_losing_cover_{r.scenario.name}"] = lost
        keeps += lost == 0
    out["scenarios_keeping_all_cover"] = keeps
    out["scenarios"] = len(results)
    return out


def _solver_text(method: str, status: str) -> str:
    if method == "milp":
        return "HiGHS (scipy.optimize.milp)"
    if status == "time limit":
        return "greedy + swap (the HiGHS MILP stopped at its time limit with a worse solution)"
    return "greedy + swap"


def siting_job(
    district: District,
    edges: EdgeArrays,
    out: str | Path,
    kind: str,
    *,
    add: int | None = None,
    cover_all: bool = False,
    model: str = "max_covering",
    method: str = "milp",
    lang: str = "en",
    capacity: float | None = None,
    time_limit: float = 300.0,
) -> tuple[SitingResult, tuple[Path, ...]]:
    """Site new units of ``kind`` and write ``siting_<kind>.csv``, ``.gpkg`` and ``.html``."""
    from emgis.maps import save, siting_map
    from emgis.siting import site_units

    r = site_units(district, edges, kind, add=add, cover_all=cover_all, model=model,
                   method=method, capacity=capacity, time_limit=time_limit)
    out = Path(out)
    stem = f"siting_{kind}"
    table = r.proposals.drop(columns="geometry").assign(
        x=r.proposals.geometry.x.round(1), y=r.proposals.geometry.y.round(1),
        lon=r.proposals.to_crs(4326).geometry.x.round(6),
        lat=r.proposals.to_crs(4326).geometry.y.round(6),
        model=r.solution.model, method=r.solution.method,
        solver=_solver_text(r.solution.method, r.solution.status),
        status=r.solution.status, gap_to_bound=r.solution.gap)
    # the solve time is printed by the CLI and kept in r.solution.seconds, not written: the
    # same inputs must give the same files
    files = [write_csv(table, out / f"{stem}.csv"),
             write_csv(r.unreachable, out / f"{stem}_unreachable.csv"),
             write_csv(r.excluded, out / f"{stem}_excluded.csv"),
             write_gpkg({"proposals": r.proposals, "villages": r.villages}, out / f"{stem}.gpkg"),
             save(siting_map(r, district, lang=lang), out / f"{stem}.html")]
    return r, tuple(files)
