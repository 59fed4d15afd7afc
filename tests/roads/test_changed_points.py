"""Where a scenario's roads differ (Engine.changed_points): a search that cannot reach one of
those points finds the scenario's minutes equal to the baseline's, to the last bit; and the
points include the road a location was attached anew to, not only the hazard zones."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from emgis.plan import Plan
from emgis.roads.routing import pairs_within


@pytest.mark.parametrize("minutes", [3.0, 5.0, 15.0])
def test_searches_beyond_the_changes_find_the_baseline(demo_plan: Plan, minutes: float) -> None:
    """Every unit and candidate the check calls beyond reach finds, on each scenario's graph,
    the pairs it finds on the baseline's; and the check is not vacuous (some sources are
    beyond, some not, and some of those not beyond do find other pairs)."""
    eng = demo_plan.engine
    src = np.concatenate([eng.unit_loc, eng.extra_loc])
    pts = np.asarray(eng.points, dtype=object)[src]
    base = pairs_within(eng.graph("drive"), src, limits=minutes, targets=eng.village_loc)
    beyond_any = near_any = differ = 0
    for sc in demo_plan.siting_scenarios():
        far = eng.beyond_changes(sc.engine, pts, minutes)
        got = pairs_within(sc.engine.graph("drive"), src, limits=minutes,
                           targets=eng.village_loc)
        for i in range(len(src)):
            a = [x[base[0] == i] for x in base]
            b = [x[got[0] == i] for x in got]
            same = all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
            if far[i]:
                assert same, f"source {i} called beyond the changes of {sc.name}"
            differ += not same
        beyond_any += int(far.sum())
        near_any += int((~far).sum())
    assert beyond_any and near_any and differ


def test_a_location_attached_anew_is_a_change(demo_plan: Plan) -> None:
    """A location whose road a scenario closes is attached to another road: that road's
    point is among the changes, though it may lie outside every hazard zone."""
    eng = demo_plan.engine
    seen = 0
    for sc in demo_plan.siting_scenarios():
        moved = np.flatnonzero(np.isfinite(sc.engine.reattached_m(
            np.arange(len(sc.engine.snaps)))))
        if not len(moved):
            continue
        pts = eng.changed_points(sc.engine)
        assert pts is not None
        tree = shapely.STRtree(shapely.points(pts))
        new_at = sc.engine.node_xy(eng.graph("drive").n_road + moved)
        ok = np.isfinite(new_at).all(axis=1)
        _, gap = tree.query_nearest(shapely.points(new_at[ok]), return_distance=True)
        assert np.all(gap < 1e-6)
        seen += int(ok.sum())
    assert seen, "no scenario of the demo attaches a location anew"


def test_changes_found_once_per_scenario_engine(demo_plan: Plan) -> None:
    """The robust siting and each what-if page ask for the same changes: found once per
    scenario engine, mode and direction; an engine made from another by replacing its graphs
    (the uncertainty's samples) does not inherit them."""
    import dataclasses

    eng = demo_plan.engine
    sc = demo_plan.siting_scenarios()[0].engine
    a = eng.changed_points(sc)
    assert a is not None and eng.changed_points(sc) is a
    b = eng.changed_points(sc, reverse=True)
    assert b is not None and b is not a
    other = dataclasses.replace(eng, _graphs={})
    assert other._changed == {}
    c = other.changed_points(sc)
    assert c is not None and c is not a and np.array_equal(c, a)
