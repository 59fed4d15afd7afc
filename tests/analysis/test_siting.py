"""Siting on a district (emgis.analysis.siting, Plan.site, Plan.site_robust, emgis site):
proposals, the siting map, the command line, and the demo's robust plans side by side. The
models on arrays: tests/locate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emgis.plan import Plan


def test_site_units_on_the_tiny_district(tiny: Path) -> None:
    from emgis import load_district
    from emgis.analysis.siting import ON_TOP_M, site_units
    from emgis.roads.network import load_network_arrays

    d = load_district(tiny)
    edges, _ = load_network_arrays(d)
    r = site_units(d, edges, "micro_fire_station", add=2)
    existing = d.teams[d.teams["kind"] == "micro_fire_station"]
    # a site is never proposed on top of an existing unit
    for g in r.proposals.geometry:
        assert existing.distance(g).min() > ON_TOP_M
    # newly covered villages are exactly those covered after and not before
    v = r.villages
    assert (v["newly_covered"] == (v["covered_after"] & ~v["covered_before"])).all()
    assert r.proposals["newly_covered_population"].sum() == v.loc[v["newly_covered"],
                                                                  "population"].sum()
    # candidates without road access are excluded with the reason
    assert "no road access" in set(r.excluded["reason"])
    # cover-all: villages no candidate can reach are listed, the rest covered
    allr = site_units(d, edges, "micro_fire_station", cover_all=True)
    assert set(allr.unreachable["village_id"]) >= {"V4"}  # 2 km from any road
    reach = ~v["village_id"].isin(allr.unreachable["village_id"])
    assert allr.villages.loc[reach.to_numpy(), "covered_after"].all()


def test_cli_site_with_a_time_limit(tiny: Path, tmp_path: Path) -> None:
    """--time-limit 0 stops HiGHS at once; the kept solution still equals the optimum here."""
    import pandas as pd

    from emgis import load_district
    from emgis.analysis.siting import site_units
    from emgis.cli import main
    from emgis.roads.network import load_network_arrays

    assert main(["-q", "site", str(tiny), "--kind", "micro_fire_station", "--add", "2",
                 "--method", "milp", "--time-limit", "0", "--out", str(tmp_path)]) == 0
    t = pd.read_csv(tmp_path / "siting_micro_fire_station.csv")
    d = load_district(tiny)
    exact = site_units(d, load_network_arrays(d)[0], "micro_fire_station", add=2)
    assert t["newly_covered_population"].sum() == exact.solution.objective
    # the heuristic's cover reaches the LP bound, which proves it optimal
    assert set(t["status"]) == {"optimal"} and set(t["gap_to_bound"]) == {0.0}
    assert set(t["method"]) == {"heuristic"}


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"model": "p_center", "method": "heuristic"}, "p_center has no heuristic"),
    ({"model": "max_covering", "method": "heuristic", "cover_all": True}, "set covering"),
    ({"model": "capacitated_covering"}, "capacity"),
    ({"model": "capacitated_covering", "capacity": 0}, "greater than 0"),
    ({"model": "p_middle"}, "expected one of"),
    ({"model": "max_covering", "method": "greedy"}, "expected auto, milp or heuristic"),
    ({"model": "max_covering", "add": 0}, "add = 0: expected the number of new sites"),
    ({"model": "p_median", "add": -1}, "add = -1: expected the number of new sites"),
    ({"model": "max_covering", "add": 2.5}, "a whole number >= 1"),
])
def test_bad_siting_requests_are_named(kwargs: dict[str, object], words: str) -> None:
    from emgis import SitingError
    from emgis.analysis.siting import check_request

    model = str(kwargs.pop("model"))
    with pytest.raises(SitingError, match=words):
        check_request(model, **kwargs)  # type: ignore[arg-type]


def test_cli_site_refuses_a_heuristic_it_has_not(tiny: Path, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:
    from emgis.cli import main

    assert main(["site", str(tiny), "--kind", "微型消防站", "--model", "p_center",
                 "--method", "heuristic"]) == 2
    assert "p_center has no heuristic" in capsys.readouterr().err


def test_siting_map_shows_ranked_proposals_and_villages(tiny: Path, tmp_path: Path) -> None:
    """siting_<kind>.html in Chromium (no network): one numbered marker per proposal, the
    existing units and candidates as what-if markers, a circle per village, coloured covered
    where the proposals cover it (the clicks: tests/analysis/test_whatif.py).
    (Input text in this map:
    tests/outputs/test_maps.py::test_input_text_is_inert_in_every_map.)"""
    import re

    from emgis.run.jobs import siting_job
    from tests.conftest import open_plan, render_dom, write_with

    plan = open_plan(tiny)
    d = plan.district
    r, files = write_with(siting_job, plan, tmp_path, "micro_fire_station", add=2)
    page = tmp_path / "siting_micro_fire_station.html"
    assert page in files
    dom = render_dom(page, tmp_path)
    marks = re.findall(r'class="[^"]*emgis-proposal[^"]*"[^>]*>(.*?)</div>', dom, flags=re.S)
    assert len(marks) == len(r.proposals) >= 1
    ranks = [re.sub(r"<[^>]+>", "", m).strip() for m in marks]
    assert sorted(ranks) == [str(k) for k in range(1, len(r.proposals) + 1)]
    existing = d.teams[d.teams["kind"] == "micro_fire_station"]
    # the what-if layer: a marker per existing unit and per candidate, a circle per village
    assert len(re.findall(r'class="[^"]*emgis-unit-wi ', dom)) == len(existing)
    assert len(re.findall(r'class="[^"]*emgis-cand ', dom)) >= len(r.proposals)
    circles = re.findall(r'<path[^>]*class="[^"]*emgis-wi-village[^"]*"[^>]*>', dom)
    assert len(circles) == len(d.villages)
    new = int(r.villages["newly_covered"].sum())
    assert new >= 1
    covered = int((r.villages["newly_covered"] | r.villages["covered_before"]).sum())
    assert sum('fill="#1a9850"' in c for c in circles) == covered  # covered with proposals
    assert "© OpenStreetMap contributors" in dom


def test_siting_files_are_the_same_on_every_run(demo_plan: Plan, tmp_path: Path) -> None:
    """On the demo (solves take milliseconds that differ from run to run, as they did in the
    CSV once), every file of two siting runs is byte-identical: one on the session's plan,
    one on the demo opened anew."""
    import hashlib

    from emgis.run.jobs import siting_job
    from tests.conftest import DEMO, open_plan, write_with

    digests = []
    for run, plan in (("a", demo_plan), ("b", open_plan(DEMO, use_cache=True))):
        _, files = write_with(siting_job, plan, tmp_path / run, "stockpile", add=2,
                              model="p_median")
        digests.append({f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files})
    assert digests[0] == digests[1] and len(digests[0]) == 5


@pytest.mark.parametrize(("kind", "model", "add"), [
    ("micro_fire_station", "max_covering", 3), ("stockpile", "p_median", 2),
    ("fire_station", "p_center", 1), ("shelter_emergency", "max_covering", 2)])
def test_sparse_candidate_times_give_the_dense_answer(demo_plan: Plan, kind: str, model: str,
                                                      add: int) -> None:
    """On the demo: the candidate x village pairs of the bounded searches lead to the same
    proposals as the full dense matrix (scipy, every pair)."""
    from emgis.analysis.coverage import compute_coverage
    from emgis.analysis.siting import candidate_sites, candidate_times, site_units
    from emgis.inputs.kinds import mode_of, target_of, towards_unit
    from emgis.locate.pairs import Pairs
    from emgis.roads.routing import times_from

    d, eng = demo_plan.district, demo_plan.engine
    target = target_of(kind, d.settings)
    turnout = 0.0 if towards_unit(kind) else float(d.settings.turnout[kind].value)
    cand, _ = candidate_sites(d, kind)
    cloc = cand["loc"].to_numpy()
    base = compute_coverage(d, eng, kinds=(kind,)).table["nearest_min"].to_numpy(dtype=float)
    base = np.where(np.isnan(base), np.inf, base)
    rg = eng.graph(mode_of(kind, d.settings), reverse=towards_unit(kind))
    dense = times_from(rg, cloc, offsets=np.full(len(cloc), turnout), targets=eng.village_loc)
    covering = model.endswith("covering")
    sparse = candidate_times(eng, kind, cloc, base, target=target, turnout=turnout,
                             covering=covering)
    full = Pairs.of(dense)
    keep = full.t <= target + 1e-9 if covering else full.t < base[full.col] - 1e-12
    want = {(int(a), int(b)): float(t) for a, b, t in zip(full.row[keep], full.col[keep],
                                                          full.t[keep], strict=True)}
    got = {(int(a), int(b)): float(t) for a, b, t in zip(sparse.row, sparse.col, sparse.t,
                                                         strict=True)}
    assert set(got) == set(want) and len(got) > 0
    assert all(abs(got[k] - want[k]) < 1e-9 for k in got)
    r = site_units(d, eng, kind, add=add, model=model)
    assert len(r.proposals) >= 1


def test_demo_plans_side_by_side(demo_plan: Plan) -> None:
    """Fire stations on the demo: the robust (worst-case) plan gives up some cover in the
    baseline for more in the flood; each plan's figures are recomputed from coverage."""
    plan = demo_plan
    r = plan.site_robust("fire_station", add=2, objective="worst")
    c = r.comparison.set_index("scenario")
    assert list(c.index) == ["baseline", *[s.name for s in plan.district.scenarios]]
    assert r.value_robust_plan >= r.value_baseline_plan
    assert r.value_robust_plan == c["covered_robust_plan"].min()
    assert r.value_baseline_plan == c["covered_baseline_plan"].min()
    # the baseline plan is optimal on the baseline: the robust one cannot beat it there
    baseline = c.loc["baseline"]
    assert baseline["covered_baseline_plan"] >= baseline["covered_robust_plan"]
    # the persons covered in the baseline agree with a coverage run with the sites added
    from emgis.analysis.coverage import compute_coverage
    from emgis.inputs.kinds import units_of

    units = units_of(plan.district)
    added = r.robust.proposals.assign(kind="fire_station", turnout_min=units.loc[
        units["kind"] == "fire_station", "turnout_min"].iloc[0], availability=1.0,
        id=r.robust.proposals["site_id"], township=None, layer="teams")
    import pandas as pd

    both = pd.concat([units, added[units.columns]], ignore_index=True)
    t = compute_coverage(plan.district, plan.network, kinds=("fire_station",), units=both).table
    assert int(t.loc[t["status"] == "covered", "population"].sum()) == \
        c.at["baseline", "covered_robust_plan"]
