"""Scenarios whose files cannot be written: the run still ends with its report, names the
step, and leaves the scenarios (and their maps) out of the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emgis.run import jobs
from tests.conftest import open_plan

SITES = (("micro_fire_station", 1, "max_covering"),)


def test_scenario_files_that_fail_are_named_and_left_out(
        tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_workers: str) -> None:
    real = jobs._one_scenario
    calls: list[str] = []

    def one(plan: Any, out: Any, sc: Any, *args: Any) -> None:
        calls.append(sc.name)
        real(plan, out, sc, *args)  # its files written, then the next file fails
        raise ValueError("disk full (test)")

    monkeypatch.setattr(jobs, "_one_scenario", one)
    plan = open_plan(tiny)
    assert plan.district.scenarios
    res = jobs.run_all(plan, tmp_path / "out", sites=SITES, time_limit=30)
    assert res.scenarios is None
    named = [(step, msg) for step, msg in res.failures if "disk full (test)" in msg]
    assert len(named) == 1
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "disk full (test)" in page
    assert 'href="coverage.html"' in page and 'href="siting_micro_fire_station.html"' in page
    # no map of a scenario is linked, though the scenario's own files were written before
    # the failure (and are listed in the manifest)
    first = [p.name for p in res.files if p.name.startswith("scenario_")
             and p.suffix == ".html"]
    assert first and not any(f'href="{name}"' in page for name in first)
    assert (tmp_path / "out" / "run.json").exists()


def test_scenario_maps_linked_when_written(tiny: Path, tmp_path: Path) -> None:
    """Without a failure every scenario's map is linked from the report, as written."""
    plan = open_plan(tiny)
    res = jobs.run_all(plan, tmp_path / "out", sites=SITES, time_limit=30)
    assert res.scenarios is not None and not res.failures
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    maps = sorted(p.name for p in res.files if p.name.startswith("scenario_")
                  and p.suffix == ".html")
    assert len(maps) == len(plan.district.scenarios)
    assert all(f'href="{name}"' in page for name in maps)
    assert {p.name for p in res.coverage.files} >= {"coverage.html", "coverage.csv"} \
        if res.coverage is not None else False
    assert {p.name for p in res.scenarios.files} >= {"scenarios.csv", *maps}
