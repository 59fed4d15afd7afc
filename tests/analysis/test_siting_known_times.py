"""Siting takes the existing units' times from coverage already computed (the baseline's and
each scenario's) instead of searching again: the same times, the same plans."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from emgis.analysis.siting import _nearest, site_robust, site_units
from emgis.plan import Plan


def test_known_times_equal_a_new_search(demo_plan: Plan) -> None:
    d, eng = demo_plan.district, demo_plan.engine
    specs = demo_plan.siting_scenarios()
    assert specs and all(s.coverage is not None for s in specs)
    for kind in ("micro_fire_station", "stockpile", "township_rescue_team"):
        searched = _nearest(d, eng, kind)
        known = _nearest(d, eng, kind, known=demo_plan.coverage().table)
        np.testing.assert_array_equal(known, searched)
        for sc in specs:
            np.testing.assert_array_equal(
                _nearest(d, sc.engine, kind, active=sc.active, known=sc.coverage),
                _nearest(d, sc.engine, kind, active=sc.active))
    # a table of other villages (or none of the kind) is not taken: the times are searched
    other = demo_plan.coverage().table.iloc[::-1]
    np.testing.assert_array_equal(_nearest(d, eng, "stockpile", known=other),
                                  _nearest(d, eng, "stockpile"))


def test_plans_with_known_times_are_the_plans_searched(demo_plan: Plan) -> None:
    d, eng = demo_plan.district, demo_plan.engine
    specs = demo_plan.siting_scenarios()
    bare = [dataclasses.replace(s, coverage=None) for s in specs]
    a = site_robust(d, eng, "micro_fire_station", add=2, scenarios=specs,
                    coverage=demo_plan.coverage().table)
    b = site_robust(d, eng, "micro_fire_station", add=2, scenarios=bare)
    assert a.robust.solution.sites == b.robust.solution.sites
    assert a.comparison.equals(b.comparison)
    c = site_units(d, eng, "stockpile", add=1, model="p_median",
                   coverage=demo_plan.coverage().table)
    e = site_units(d, eng, "stockpile", add=1, model="p_median")
    assert c.proposals.drop(columns="geometry").equals(e.proposals.drop(columns="geometry"))


def test_robust_plans_with_candidates_beyond_the_changes_are_the_plans_searched(
        demo_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    """Robust siting keeps a candidate's baseline pairs in a scenario where its search
    cannot reach the scenario's changes to the roads: the plan, its values and every
    scenario's comparison are those of searching every candidate in every scenario."""
    from emgis.roads.engine import Engine

    d, eng = demo_plan.district, demo_plan.engine
    specs = demo_plan.siting_scenarios()
    kept = site_robust(d, eng, "micro_fire_station", add=2, scenarios=specs)
    calls: list[int] = []

    def nowhere(self: Engine, other: Engine, points: Any, *a: Any, **k: Any) -> Any:
        calls.append(len(points))
        return np.zeros(len(points), dtype=bool)

    monkeypatch.setattr(Engine, "beyond_changes", nowhere)
    searched = site_robust(d, eng, "micro_fire_station", add=2, scenarios=specs)
    assert len(calls) == len(specs)
    assert kept.robust.solution.sites == searched.robust.solution.sites
    assert kept.comparison.equals(searched.comparison)
    assert kept.robust.proposals.drop(columns="geometry").equals(
        searched.robust.proposals.drop(columns="geometry"))


def test_baseline_pairs_of_far_candidates_merge_with_the_searched_ones() -> None:
    """Candidates 0 and 2 are far (their baseline pairs kept), 1 and 3 searched (the search
    numbers them 0 and 1): the pairs come out by candidate then village."""
    from emgis.analysis.siting import _with_baseline
    from emgis.locate.pairs import Pairs

    base = Pairs((4, 3), np.array([0, 0, 1, 2, 3]), np.array([0, 2, 1, 0, 2]),
                 np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    near = Pairs((2, 3), np.array([0, 1, 1]), np.array([2, 0, 1]), np.array([9.0, 8.0, 7.0]))
    got = _with_baseline(base, np.array([True, False, True, False]), near)
    assert got.shape == (4, 3)
    assert list(zip(got.row.tolist(), got.col.tolist(), got.t.tolist(), strict=True)) == [
        (0, 0, 1.0), (0, 2, 2.0), (1, 2, 9.0), (2, 0, 4.0), (3, 0, 8.0), (3, 1, 7.0)]
