"""Siting takes the existing units' times from coverage already computed (the baseline's and
each scenario's) instead of searching again: the same times, the same plans."""

from __future__ import annotations

import dataclasses

import numpy as np

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
