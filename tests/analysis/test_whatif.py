"""The what-if siting page: clicks in Chromium give the cover Python computes for the same plan,
in the baseline and in a scenario, and the plan the page exports, read back with --plan, gives
the same cover again."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from emgis.analysis.whatif import covered_persons, nearest_minutes
from emgis.inputs.planfile import read_plan, with_plan
from emgis.plan import Plan
from emgis.run.jobs import siting_job
from tests.conftest import DEMO, render_dom, write_with

KIND = "fire_station"


@pytest.fixture(scope="module")
def page(demo_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Path, Any]:
    """The what-if page of the session's demo plan (fire stations, two proposed), its file and
    its data."""
    plan = demo_plan
    out = tmp_path_factory.mktemp("whatif")
    r, _ = write_with(siting_job, plan, out, KIND, add=2)
    data = plan.whatif(KIND, proposals=r.proposals)
    return plan, out / f"siting_{KIND}.html", data


def _attr(dom: str, el_id: str, attr: str) -> str:
    m = re.search(rf'<[^>]*\bid="{el_id}"[^>]*>', dom)
    assert m, f"#{el_id} not in the page"
    a = re.search(rf'\b{attr}="([^"]*)"', m.group(0))
    assert a, f"#{el_id} has no {attr}"
    return html.unescape(a.group(1))


def _text(dom: str, el_id: str) -> str:
    m = re.search(rf'<(\w+)[^>]*\bid="{el_id}"[^>]*>(.*?)</\1>', dom, re.S)
    assert m, f"#{el_id} not in the page"
    return html.unescape(m.group(2))


def _clicks(data: Any) -> tuple[list[str], np.ndarray]:
    """Two candidates not proposed switched on, the first proposal switched off, and the
    existing unit whose villages hold the most people switched off; the mask that gives."""
    n_u = data.n_units
    on = np.concatenate([np.ones(n_u, bool), data.candidates["proposed"].to_numpy(bool)])
    cand = data.candidates.reset_index(drop=True)
    off = [i for i in range(len(cand)) if not cand["proposed"].iloc[i]]
    # the candidates that reach the most villages in the baseline, so the clicks matter
    reach = np.diff(data.scenarios[0].ptr)[n_u:]
    picks = sorted(off, key=lambda i: (-reach[i], i))[:2]
    drop = [i for i in range(len(cand)) if cand["proposed"].iloc[i]][:1]
    clicks = [f"c:{cand['id'].iloc[i]}" for i in picks + drop]
    for i in picks + drop:
        on[n_u + i] = not on[n_u + i]
    unit = int(np.argmax(np.diff(data.scenarios[0].ptr)[:n_u]))
    clicks.append(f"u:{data.units['id'].iloc[unit]}")
    on[unit] = False
    return clicks, on


def _python_cover(plan: Plan, csv: Path, scenario: str) -> tuple[int, np.ndarray]:
    """Persons within target for the kind with the exported plan built on the district (the
    full analysis, as ``emgis run --plan`` does), and each village's minutes."""
    p2 = Plan(with_plan(plan.district, csv), plan.network)
    if scenario == "baseline":
        t = p2.coverage().table
        t = t[t["kind"] == KIND]
        return int(t.loc[t["status"] == "covered", "population"].sum()), \
            t["nearest_min"].to_numpy(float)
    v = p2.scenario(scenario).villages
    v = v[v["kind"] == KIND]
    return int(v.loc[v["scenario_status"] == "covered", "population"].sum()), \
        v["scenario_min"].to_numpy(float)


@pytest.mark.parametrize("scenario", ["baseline", "flood"])
def test_clicks_give_the_python_cover(page: tuple[Plan, Path, Any], scenario: str,
                                      tmp_path: Path) -> None:
    plan, html_path, data = page
    clicks, on = _clicks(data)
    frag = "click=" + ",".join(quote(c, safe=":") for c in clicks)
    if scenario != "baseline":
        frag += f"&scenario={quote(scenario)}"
    dom = render_dom(html_path, tmp_path, fragment=frag)
    shown = int(_attr(dom, "emgis-wi-covered", "data-persons"))
    assert int(_attr(dom, "emgis-wi-ms", "data-clicks")) == len(clicks)
    k = [s.name for s in data.scenarios].index(scenario)
    pop = plan.district.villages["population"].to_numpy(float)
    # the page's own figure is the Python figure for the same plan (same 0.1-min rounding)
    assert shown == covered_persons(data, k, on, pop)
    on0 = np.concatenate([np.ones(data.n_units, bool),
                          data.candidates["proposed"].to_numpy(bool)])
    assert shown != covered_persons(data, k, on0, pop), "the clicks changed nothing"
    # the exported plan, read back, gives the same cover in the full analysis
    csv = tmp_path / "plan.csv"
    csv.write_text(_text(dom, "emgis-wi-export"), encoding="utf-8")
    rows = read_plan(csv)
    n_add = int(on[data.n_units:].sum())
    assert sorted(rows["action"]) == ["add"] * n_add + ["remove"]
    full, minutes = _python_cover(plan, csv, scenario)
    # the page holds minutes to 0.1: a village within 0.05 min of the target may round across
    near = np.abs(np.nan_to_num(minutes, nan=np.inf) - data.target_min) < 0.05
    slack = pop[near].sum()
    assert abs(full - shown) <= slack
    if slack == 0:
        assert full == shown
    # and the page's minutes are the full analysis's, to the page's rounding
    best = nearest_minutes(data, k, on)
    both = np.isfinite(best) & np.isfinite(np.nan_to_num(minutes, nan=np.inf)) & \
        (best <= data.cutoff_min)
    assert np.allclose(best[both], minutes[both], atol=0.06)


def test_geojson_export_reads_back(page: tuple[Plan, Path, Any], tmp_path: Path) -> None:
    plan, html_path, data = page
    clicks, _ = _clicks(data)
    dom = render_dom(html_path, tmp_path,
                     fragment="click=" + ",".join(quote(c, safe=":") for c in clicks))
    gj = tmp_path / "plan.geojson"
    gj.write_text(_text(dom, "emgis-wi-export-geojson"), encoding="utf-8")
    csv = tmp_path / "plan.csv"
    csv.write_text(_text(dom, "emgis-wi-export"), encoding="utf-8")
    a, b = read_plan(gj), read_plan(csv)
    assert list(a["id"]) == list(b["id"]) and list(a["action"]) == list(b["action"])
    assert np.allclose(a.geometry.x, b.geometry.x) and np.allclose(a.geometry.y, b.geometry.y)
    assert _python_cover(plan, gj, "baseline")[0] == _python_cover(plan, csv, "baseline")[0]


def test_page_opens_with_the_proposals(page: tuple[Plan, Path, Any], tmp_path: Path) -> None:
    """Without clicks the page shows the proposed plan's cover, which is what the siting run
    reports, and the export lists the proposals."""
    plan, html_path, data = page
    dom = render_dom(html_path, tmp_path)
    shown = int(_attr(dom, "emgis-wi-covered", "data-persons"))
    on0 = np.concatenate([np.ones(data.n_units, bool),
                          data.candidates["proposed"].to_numpy(bool)])
    pop = plan.district.villages["population"].to_numpy(float)
    assert shown == covered_persons(data, 0, on0, pop)
    assert int(_attr(dom, "emgis-wi-change", "data-persons")) == 0
    exported = _text(dom, "emgis-wi-export").splitlines()[1:]
    ids = sorted(line.split(",")[0] for line in exported)
    assert ids == sorted(data.candidates.loc[data.candidates["proposed"], "id"].astype(str))


def test_plan_on_the_command_line(demo_plan: Plan, tmp_path: Path) -> None:
    """`emgis coverage --plan`: a unit removed and one added change coverage.csv as the same
    plan built in Python does; the plan file is among the run's inputs."""
    import json

    import pandas as pd

    from emgis.cli import main

    plan = demo_plan
    fs = plan.units[plan.units["kind"] == KIND].reset_index(drop=True)
    v = plan.district.villages.to_crs(4326)
    csv = tmp_path / "plan.csv"
    pd.DataFrame({"id": ["NEW1", str(fs["id"].iloc[0])], "name": ["=new site", "gone"],
                  "kind": [KIND, KIND], "action": ["add", "remove"],
                  "lon": [v.geometry.x.iloc[5], 0.0], "lat": [v.geometry.y.iloc[5], 0.0]}
                 ).to_csv(csv, index=False)
    out = tmp_path / "o"
    assert main(["-q", "coverage", str(DEMO), "--out", str(out),
                 "--plan", str(csv)]) == 0
    got = pd.read_csv(out / "coverage.csv", dtype={"nearest_id": str})
    got = got[got["kind"] == KIND]
    want = Plan(with_plan(plan.district, csv), plan.network).coverage().table
    want = want[want["kind"] == KIND]
    assert list(got["nearest_id"].fillna("")) == list(want["nearest_id"].fillna(""))
    assert "NEW1" in set(got["nearest_id"]) and str(fs["id"].iloc[0]) not in set(
        got["nearest_id"].dropna())
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert "plan.csv" in json.dumps(manifest)


@pytest.mark.parametrize(("body", "field", "expected"), [
    ("id,name,kind,action,lon\nA,a,fire_station,add,1.5\n", "lat", "missing field"),
    ("id,name,kind,action,lon,lat\nA,a,castle,add,1.5,42.5\n", "kind", "unknown kind"),
    ("id,name,kind,action,lon,lat\nA,a,fire_station,build,1.5,42.5\n", "action",
     "expected add or remove"),
    ("id,name,kind,action,lon,lat\nA,a,fire_station,add,500,42.5\n", "lon",
     "lon in -180..180"),
    ("id,name,kind,action,lon,lat\nNOPE,a,fire_station,remove,1.5,42.5\n", "id",
     "no unit with this id"),
])
def test_bad_plan_files_say_what_is_wrong(demo_plan: Plan, tmp_path: Path, body: str,
                                          field: str, expected: str) -> None:
    from emgis._errors import ValidationError

    plan = demo_plan
    f = tmp_path / "myplan.csv"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        with_plan(plan.district, f)
    text = str(info.value)
    assert "myplan.csv" in text and field in text and expected in text


def test_most_promising_candidates_when_all_do_not_fit(page: tuple[Plan, Path, Any]) -> None:
    """With a small pair budget the page holds the proposals and the most promising other
    candidates at the target cutoff, each with the same minutes as in the full data."""
    from emgis.analysis.whatif import whatif_data

    plan, _, full = page
    budget = 400
    small = whatif_data(plan.district, plan.engine, KIND, scenarios=plan.siting_scenarios(),
                        proposals=full.candidates[full.candidates["proposed"]].rename(
                            columns={"id": "site_id"}),
                        coverage=plan.coverage().table, max_pairs=budget)
    assert small.cutoff_min == small.target_min
    assert small.candidates_all == len(full.candidates) > len(small.candidates)
    assert set(full.candidates.loc[full.candidates["proposed"], "id"]) <= \
        set(small.candidates.loc[small.candidates["proposed"], "id"])
    assert sum(len(s.village) for s in small.scenarios) <= 3 * budget
    pos = {c: i for i, c in enumerate(full.candidates["id"])}
    for s_small, s_full in zip(small.scenarios, full.scenarios, strict=True):
        for j, cid in enumerate(small.candidates["id"]):
            a, b = small.n_units + j, full.n_units + pos[cid]
            got = dict(zip(s_small.village[s_small.ptr[a]:s_small.ptr[a + 1]],
                           s_small.minutes[s_small.ptr[a]:s_small.ptr[a + 1]], strict=True))
            want = {v: m for v, m in zip(s_full.village[s_full.ptr[b]:s_full.ptr[b + 1]],
                                         s_full.minutes[s_full.ptr[b]:s_full.ptr[b + 1]],
                                         strict=True) if m <= small.cutoff_min}
            assert got.keys() == want.keys()
            assert all(abs(got[v] - want[v]) < 1e-9 for v in got)


def test_pairs_cut_to_the_target_equal_a_search_to_the_target(
        page: tuple[Plan, Path, Any]) -> None:
    """When the pairs found at twice the target are too many, the page keeps those within the
    target: the same pairs and minutes as a search stopping at the target finds."""
    from emgis.analysis.whatif import _within
    from emgis.inputs.kinds import mode_of, towards_unit
    from emgis.roads.routing import pairs_within

    plan, _, full = page
    assert full.cutoff_min > full.target_min
    base = full.scenarios[0]
    cut = _within(base, full.target_min)
    eng = plan.engine
    units = plan.units
    sel = np.flatnonzero((units["kind"] == KIND).to_numpy())
    src = np.concatenate([eng.unit_loc[sel], full.candidates["loc"].to_numpy(dtype=np.int64)])
    s = plan.district.settings
    off = np.concatenate([units["turnout_min"].to_numpy(dtype=float)[sel],
                          np.full(len(full.candidates), float(s.turnout[KIND].value)
                                  if KIND in s.turnout and not towards_unit(KIND) else 0.0)])
    si, vi, t = pairs_within(eng.graph(mode_of(KIND, s), reverse=towards_unit(KIND)), src,
                             limits=full.target_min, offsets=off, targets=eng.village_loc)
    assert len(cut.village) < len(base.village)
    assert np.array_equal(cut.ptr, np.searchsorted(si, np.arange(len(src) + 1)))
    assert np.array_equal(cut.village, vi)
    assert np.allclose(cut.minutes, t, rtol=0, atol=1e-9)


def test_scenario_searches_far_from_the_zones_reuse_the_baseline(
        page: tuple[Plan, Path, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A source that cannot come near a scenario's changes to the roads within the cutoff (at
    the network's top speed) keeps its baseline times there instead of a new search: the
    page's data equal those of searching every source in every scenario, to the last bit,
    and fewer sources are searched."""
    import emgis.analysis.whatif as whatif_mod
    from emgis.analysis.whatif import whatif_data
    from emgis.roads.engine import Engine

    plan, _, _ = page
    specs = plan.siting_scenarios()
    searched: list[int] = []
    real: Callable[..., Any] = vars(whatif_mod)["pairs_within"]  # the one whatif calls

    def counting(rg: Any, sources: Any, **kw: Any) -> Any:
        searched.append(int((np.asarray(kw["limits"]) >= 0).sum()))
        return real(rg, sources, **kw)

    monkeypatch.setattr(whatif_mod, "pairs_within", counting)
    pruned = whatif_data(plan.district, plan.engine, KIND, scenarios=specs)
    n_pruned = sum(searched)
    searched.clear()
    monkeypatch.setattr(Engine, "beyond_changes",
                        lambda self, other, points, *a, **k: np.zeros(len(points), bool))
    full = whatif_data(plan.district, plan.engine, KIND, scenarios=specs)
    assert n_pruned < sum(searched)
    assert pruned.cutoff_min == full.cutoff_min
    for a, b in zip(pruned.scenarios, full.scenarios, strict=True):
        assert np.array_equal(a.ptr, b.ptr) and np.array_equal(a.village, b.village)
        assert np.array_equal(a.minutes, b.minutes)


def _graphs_per_call(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Wrap the what-if module's ``name`` (a search of several graphs at once) so that each
    call records how many graphs it was given; the list of those counts."""
    import emgis.analysis.whatif as whatif_mod

    calls: list[int] = []
    real: Callable[..., Any] = vars(whatif_mod)[name]

    def counting(graphs: Any, sources: Any, **kw: Any) -> Any:
        calls.append(len(graphs))
        return real(graphs, sources, **kw)

    monkeypatch.setattr(whatif_mod, name, counting)
    return calls


def test_scenario_searches_repaired_from_the_baseline_give_the_same_page(
        page: tuple[Plan, Path, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """On a large graph each scenario's searches are repaired from the baseline's
    (pairs_within_each): the page's data are those of searching every scenario anew, to the
    last bit."""
    import emgis.analysis.whatif as whatif_mod
    from emgis.analysis.whatif import whatif_data

    plan, _, _ = page
    specs = plan.siting_scenarios()
    anew = whatif_data(plan.district, plan.engine, KIND, scenarios=specs)
    calls = _graphs_per_call(monkeypatch, "pairs_within_each")
    monkeypatch.setattr(whatif_mod, "REPAIR_FROM", 0)
    repaired = whatif_data(plan.district, plan.engine, KIND, scenarios=specs)
    assert calls == [len(specs) + 1]
    assert repaired.cutoff_min == anew.cutoff_min
    for a, b in zip(repaired.scenarios, anew.scenarios, strict=True):
        assert a.name == b.name
        assert np.array_equal(a.ptr, b.ptr) and np.array_equal(a.village, b.village)
        assert np.array_equal(a.minutes, b.minutes)


@pytest.mark.parametrize("case", ["fits_twice", "fits_target_only", "overflows_target"])
def test_cutoff_is_the_one_a_sample_to_twice_the_target_gives(
        page: tuple[Plan, Path, Any], case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's cutoff is decided as from the sample searched to twice the target (the
    oracle, searched here); the sample is searched to the target first, and where that
    already overflows the budget no sample search goes to twice the target."""
    import emgis.analysis.whatif as wi
    from emgis.analysis.siting import candidate_sites
    from emgis.inputs.kinds import mode_of, target_of, towards_unit
    from emgis.roads.routing import pairs_within

    plan, _, _ = page
    s, eng = plan.district.settings, plan.engine
    target = target_of(KIND, s)
    cand, _ = candidate_sites(plan.district, KIND)
    pick = np.unique(np.linspace(0, len(cand) - 1, min(wi.SAMPLE, len(cand))).astype(int))
    turnout = float(s.turnout[KIND].value) if KIND in s.turnout and not towards_unit(KIND) \
        else 0.0
    rg = eng.graph(mode_of(KIND, s), reverse=towards_unit(KIND))
    t2 = pairs_within(rg, cand["loc"].to_numpy(dtype=np.int64)[pick], limits=2 * target,
                      offsets=np.full(len(pick), turnout), targets=eng.village_loc)[2]
    scale = len(cand) * (1 + len(plan.siting_scenarios())) / len(pick)
    at_twice = (t2 <= 2 * target + 1e-12).sum() * scale
    at_target = (t2 <= target + 1e-12).sum() * scale
    assert at_twice > at_target > 0  # the demo's cases differ
    budget = {"fits_twice": int(np.ceil(at_twice)), "fits_target_only":
              int((at_twice + at_target) / 2), "overflows_target": int(at_target) - 1}[case]
    far: list[float] = []  # how far each sample search went

    def counted(*args: Any, **kwargs: Any) -> Any:
        if len(np.atleast_1d(args[1])) == len(pick):
            far.append(float(np.max(kwargs["limits"])))
        return pairs_within(*args, **kwargs)

    monkeypatch.setattr(wi, "pairs_within", counted)
    got = wi.whatif_data(plan.district, eng, KIND, scenarios=plan.siting_scenarios(),
                         coverage=plan.coverage().table, max_pairs=budget)
    want = 2 * target if at_twice <= budget else target
    assert got.cutoff_min == want
    assert (2 * target in far) == (at_target <= budget)
    assert (len(got.candidates) < len(cand)) == (at_target > budget)


def test_a_page_reaching_most_villages_is_answered_by_a_hierarchy(
        demo_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's stockpile page (a target reaching most of the district from every source)
    takes the contraction hierarchy once for all its graphs; its pairs are those of a search
    from every source on every graph, the minutes within 1e-9 (summed in another grouping).
    With too few sources for the hierarchy to pay, the page is searched."""
    import emgis.analysis.whatif as whatif_mod
    from emgis.analysis.whatif import whatif_data

    specs = demo_plan.siting_scenarios()
    calls = _graphs_per_call(monkeypatch, "pairs_within_cch")
    fast = whatif_data(demo_plan.district, demo_plan.engine, "stockpile", scenarios=specs)
    assert calls == [len(specs) + 1]
    monkeypatch.setattr(whatif_mod, "CCH_SHARE", np.inf)
    searched = whatif_data(demo_plan.district, demo_plan.engine, "stockpile", scenarios=specs)
    assert calls == [len(specs) + 1]
    # too few sources for the hierarchy to pay: searched, as with no share reached
    monkeypatch.setattr(whatif_mod, "CCH_SHARE", 0.5)
    monkeypatch.setattr(whatif_mod, "CCH_MIN_REACH", float(len(fast.candidates)
                                                          + fast.n_units + 1))
    few = whatif_data(demo_plan.district, demo_plan.engine, "stockpile", scenarios=specs)
    assert calls == [len(specs) + 1]
    assert [np.array_equal(a.minutes, b.minutes)
            for a, b in zip(few.scenarios, searched.scenarios, strict=True)] == [True] * len(
        searched.scenarios)
    assert fast.cutoff_min == searched.cutoff_min
    assert len(fast.scenarios) == len(specs) + 1
    for a, b in zip(fast.scenarios, searched.scenarios, strict=True):
        assert a.name == b.name
        assert np.array_equal(a.ptr, b.ptr) and np.array_equal(a.village, b.village)
        assert np.allclose(a.minutes, b.minutes, rtol=0, atol=1e-9)
