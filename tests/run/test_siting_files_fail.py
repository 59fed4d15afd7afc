"""A siting whose files cannot be written: the run still ends with its report, names the step,
and leaves the site out of the report and its overview picture (which the run draws beside the
writing from the sites found, then again without the one left out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emgis.run import jobs
from tests.conftest import open_plan

SITES = (("micro_fire_station", 1, "max_covering"), ("stockpile", 1, "p_median"))


def test_a_siting_whose_files_fail_is_named_and_left_out(
        tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_workers: str) -> None:
    real_write = jobs.write_siting
    drawn: list[list[str]] = []
    real_view = jobs.report_overview

    def write(plan: Any, out: Any, r: Any, **kw: Any) -> Any:
        if r.kind == "micro_fire_station":
            raise ValueError("disk full (test)")
        return real_write(plan, out, r, **kw)

    def view(plan: Any, result: Any, sites: Any, **kw: Any) -> Any:
        drawn.append([s.kind for s in sites])  # seen here when the step runs in this process
        return real_view(plan, result, sites, **kw)

    monkeypatch.setattr(jobs, "write_siting", write)
    monkeypatch.setattr(jobs, "report_overview", view)
    plan = open_plan(tiny)
    res = jobs.run_all(plan, tmp_path / "out", sites=SITES, time_limit=30)
    assert [s.kind for s in res.sites] == ["stockpile"]
    named = [(step, msg) for step, msg in res.failures if "disk full (test)" in msg]
    assert len(named) == 1 and "icro fire station" in named[0][0]
    written = {p.name for p in res.files}
    assert "siting_stockpile.csv" in written and "siting_micro_fire_station.csv" not in written
    assert (tmp_path / "out" / "report.html").exists() and (tmp_path / "out" / "run.json").exists()
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "disk full (test)" in page
    # the report, made while the pages were written, made again without the page that failed
    assert 'href="siting_stockpile.html"' in page
    assert "siting_micro_fire_station.html" not in page
    if run_workers == "1":  # drawn with both sites found, then again without the one left out
        assert drawn == [["micro_fire_station", "stockpile"], ["stockpile"]]
