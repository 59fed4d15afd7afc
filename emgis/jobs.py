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
import pandas as pd

from emgis import coverage as cov
from emgis.district import District
from emgis.export import write_csv, write_gpkg
from emgis.network import EdgeArrays

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
    lang: str = "en",
) -> Path:
    """Write ``report.html`` from the results of the jobs that ran."""
    from emgis.report import build_report, save_report

    maps = {}
    if coverage is not None:
        maps["coverage.html"] = "coverage.html"
    page = build_report(
        district,
        coverage=coverage.result.table if coverage else None,
        coverage_summary=coverage.summary if coverage else None,
        compliance=compliance,
        maps=maps,
        lang=lang,
    )
    return save_report(page, Path(out) / "report.html")


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
