"""The report: rendered by Chromium, a section per township, numbers equal to coverage.csv."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from emgis.outputs.folder import OutputDir
from emgis.plan import Plan
from emgis.run.jobs import compliance_job, coverage_job, report_job, scenarios_job
from tests.conftest import open_plan, render_dom, replace_in


@pytest.fixture(scope="module")
def demo_report(demo_plan: Plan, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Plan, Path, str]:
    """The demo's report (the session's demo plan), its folder and its DOM in Chromium."""
    out = tmp_path_factory.mktemp("report")
    plan = demo_plan
    with OutputDir(out, command="run") as od:
        cov = coverage_job(plan, od)
        findings, _ = compliance_job(plan, od)
        sc = scenarios_job(plan, od, plan.district.scenarios)
        report_job(plan, od, coverage=cov, compliance=findings, scenarios=sc)
        od.finish()
    return plan, out, render_dom(out / "report.html", out)


def test_every_township_has_a_section(demo_report: tuple[Plan, Path, str]) -> None:
    plan, _, dom = demo_report
    d = plan.district
    names = re.findall(r"<div class=\"township\" id=\"township-\d+\" data-name=\"([^\"]+)\"",
                       dom)
    assert names == list(d.townships["name"])
    assert "Standards used" in dom and "公消〔2015〕301号" in dom
    assert "planning assumption" in dom  # proposals are marked as such
    assert '<a href="coverage.html">' in dom


def test_numbers_match_coverage_csv(demo_report: tuple[Plan, Path, str]) -> None:
    plan, out, dom = demo_report
    csv = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    rows: Any = re.findall(r'<tr data-kind="([a-z_]+)">(?:(?!</tr>).)*?class="n covered">(\d+)</td>'
                      r'\s*<td class="n outside">(\d+)</td>\s*<td class="n share" '
                      r'data-share="([0-9.]+)">', dom, flags=re.S)
    assert len(rows) >= 8
    for kind, covered, outside, share in rows:
        k = csv[csv["kind"] == kind]
        assert int(covered) == (k["status"] == "covered").sum()
        assert int(outside) == (k["status"] != "covered").sum()
        want = k.loc[k["status"] == "covered", "population"].sum() / k["population"].sum()
        assert float(share) == pytest.approx(want, abs=5e-5)
    # the per-township gap tables list, one row group per village, the csv's villages with a
    # public force outside target, most people first, up to [report] township_rows villages,
    # and say how many more the workbook holds
    public = {"micro_fire_station", "fire_station", "township_fire_brigade",
              "township_rescue_team", "village_team", "forest_fire_team", "medical"}
    gaps = csv[csv["kind"].isin(public)
               & csv["status"].isin(["over_target", "cut_off", "no_road_access"])]
    limit = plan.district.settings.report.township_rows
    blocks = re.findall(r'<div class="township" id="township-\d+" data-name="([^"]+)">(.*?)</div>',
                        dom, flags=re.S)
    assert sum("<table class=\"gaps\">" in b for _, b in blocks) == gaps["township"].nunique()
    for name, block in blocks:
        want = gaps[gaps["township"] == name].drop_duplicates("village_id")
        table = re.search(r'<table class="gaps">(.*?)</table>', block, flags=re.S)
        shown = table.group(1).count('<td rowspan="') if table else 0
        assert shown == min(limit, len(want)), name
        more = re.search(r'class="small more">… (\d+) more rows in results.xlsx \(sheet Gaps\)',
                         block)
        assert (int(more.group(1)) if more else 0) == len(want) - shown, name
        pops = [int(c.replace(",", "")) for c in re.findall(
            r'<td class="n" rowspan="\d+">([0-9,]+)</td>', table.group(1))] if table else []
        assert len(pops) == shown, name
        assert pops == sorted(pops, reverse=True)
        # each village's failing kinds, one row each, as many as the csv has for it
        rows = table.group(1).count("<tr>") - 1 if table else 0
        kinds = gaps[gaps["village_id"].isin(want.sort_values(
            "population", ascending=False, kind="mergesort")["village_id"].head(shown))]
        assert rows == len(kinds), name


def test_report_escapes_and_speaks_chinese(tiny: Path, tmp_path: Path) -> None:
    replace_in(tiny / "villages.csv", "V2,西村", "V2,<b>西村</b>")
    plan = open_plan(tiny)
    with OutputDir(tmp_path, command="run") as od:
        cov = coverage_job(plan, od, lang="zh")
        findings, _ = compliance_job(plan, od)
        page = report_job(plan, od, coverage=cov, compliance=findings, lang="zh").read_text(
            "utf-8")
    assert "应急覆盖评估报告" in page and "<b>西村</b>" not in page
    assert "&lt;b&gt;西村&lt;/b&gt;" in page


def test_scenario_numbers_match_scenarios_csv(demo_report: tuple[Plan, Path, str]) -> None:
    _, out, dom = demo_report
    comp = pd.read_csv(out / "scenarios.csv", encoding="utf-8-sig")
    assert len(comp) == 3  # the demo ships a flood, a forest fire and a combined scenario
    for r in comp.to_dict("records"):
        row = re.search(rf'<tr data-scenario="{re.escape(r["scenario"])}">(.*?)</tr>', dom,
                        flags=re.S)
        assert row, r["scenario"]
        for col in ("population_losing_cover", "population_evacuated",
                    "population_unsheltered"):
            cell = re.search(rf'class="n {col}">([0-9,]+)<', row.group(1))
            assert cell and int(cell.group(1).replace(",", "")) == r[col]
    assert '<a href="scenario_flood.html">' in dom


@pytest.mark.parametrize("broken", ["folder", "write"])
def test_template_without_its_bytecode_cache_is_the_same(
        broken: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's template comes from jinja2's bytecode cache; where no folder of one's own
    can be made, or the compiled code cannot be written there, it is compiled as before: the
    same template (the same text rendered)."""
    import jinja2

    from emgis.outputs import report

    report._template.cache_clear()
    cached = report._template()
    report._template.cache_clear()

    def refuse(*a: Any, **k: Any) -> None:
        raise OSError("read-only file system")

    if broken == "folder":
        monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "__init__", refuse)
    else:
        monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "load_bytecode",
                            lambda self, bucket: None)
        monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "dump_bytecode", refuse)
    try:
        again = report._template()
    finally:
        report._template.cache_clear()
    src = (Path(report.__file__).parent.parent / "_templates" / "report.html.j2").read_text(
        "utf-8")
    plain = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                               keep_trailing_newline=True).from_string(src)
    for t in (cached, again):  # the same compiled code as compiling the source anew
        assert t.root_render_func.__code__ == plain.root_render_func.__code__
        assert sorted(t.blocks) == sorted(plain.blocks)
