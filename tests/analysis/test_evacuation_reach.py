"""The evacuation searches only from shelters that a village to evacuate can reach in the time
(one search from those villages bounds them all; issue 27): the evacuation is the one searched
from every shelter. And the top speed the uncertainty and the what-if page bound their searches
by (:meth:`emgis.roads.engine.Engine.top_speed`) holds for every route."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

from emgis.analysis import scenario as sc
from emgis.analysis.scenario import evacuate
from emgis.inputs.kinds import units_of
from emgis.plan import Plan
from emgis.roads.routing import pairs_within


def test_no_route_is_faster_than_the_top_speed(demo_plan: Plan) -> None:
    """Crow-flies metres between any two locations never exceed the top speed times the
    minutes of the route between them, on the baseline and on every scenario's roads."""
    engines = [demo_plan.engine, *(demo_plan.scenario(s).engine
                                   for s in demo_plan.district.scenarios)]
    for engine in engines:
        assert engine is not None
        top = engine.top_speed()
        n = len(engine.snaps)
        src = np.arange(n, dtype=np.int64)
        si, ti, t = pairs_within(engine.graph("drive"), src, limits=np.inf, targets=src)
        pts = np.asarray(engine.points)
        crow = shapely.distance(pts[si], pts[ti])
        assert len(t) > n
        assert (crow <= top * t + 1e-6).all()
        assert (crow / np.maximum(t, 1e-9))[t > 1].max() > 0.3 * top  # the bound is not loose


def _evacuations(plan: Plan, monkeypatch: pytest.MonkeyPatch, *, pruned: bool,
                 villages: bool | None = None
                 ) -> tuple[list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]], list[int]]:
    """Every scenario's evacuation under several reaches and times, on the roads before and
    after (``villages``: searched from the villages, True, or from the shelters, False, for
    all; None: from the fewer)."""
    skipped: list[int] = []
    real = pairs_within

    def spy(rg: Any, sources: Any, **kw: Any) -> Any:
        skipped.append(int((np.asarray(kw["limits"]) < 0).sum()))
        return real(rg, sources, **kw)

    with monkeypatch.context() as m:
        m.setattr(sc, "pairs_within", spy)
        if villages is not None:
            m.setattr(sc, "_from_villages", lambda v, s: villages)
        if not pruned:  # every shelter in reach
            m.setattr(sc, "nearest_min_many",
                      lambda rg, searches: [np.zeros(len(x.targets)) for x in searches])
        units = units_of(plan.district)
        out = []
        for s in plan.district.scenarios:
            r = plan.scenario(s)
            zones = sc.zones(plan.district, s)
            union = shapely.union_all(zones.geometry.values)
            usable = np.ones(len(units), dtype=bool)
            shelter = units["kind"].str.startswith("shelter_").to_numpy()
            usable[shelter & (r.units["status"] != "in_action").to_numpy()] = False
            assert r.engine is not None
            for eng in (plan.engine, r.engine):
                for within, most in ((s.evacuate_within_m, s.max_evacuation_min),
                                     (5000.0, 6.0), (2000.0, 2.0), (800.0, 1.0)):
                    spec = dataclasses.replace(s, evacuate_within_m=within,
                                               max_evacuation_min=most)
                    out.append(evacuate(plan.district, eng, union, spec, usable=usable,
                                        units=units))
    return out, skipped


def test_evacuation_as_when_every_shelter_is_searched(demo_plan: Plan,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pruned, skipped = _evacuations(demo_plan, monkeypatch, pruned=True)
    whole, none_skipped = _evacuations(demo_plan, monkeypatch, pruned=False)
    assert sum(skipped) > 0 and sum(none_skipped) == 0  # far shelters were left out
    assert any(len(p[0]) for p in pruned)  # persons were moved
    for a, b in zip(pruned, whole, strict=True):
        for x, y in zip(a, b, strict=True):
            pd.testing.assert_frame_equal(x, y)


def test_evacuation_searched_from_villages_or_shelters_alike(
        demo_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    """From the villages to the shelters or from the shelters back to the villages: the same
    evacuation (persons, minutes, loads), whichever side is searched from."""
    chosen, _ = _evacuations(demo_plan, monkeypatch, pruned=True)
    shelters, from_shelters = _evacuations(demo_plan, monkeypatch, pruned=True, villages=False)
    villages, from_villages = _evacuations(demo_plan, monkeypatch, pruned=True, villages=True)
    assert sum(from_shelters) > 0 and sum(from_villages) == 0  # the sides did differ
    assert any(len(p[0]) for p in villages)
    for a, b, c in zip(chosen, shelters, villages, strict=True):
        for x, y, z in zip(a, b, c, strict=True):
            pd.testing.assert_frame_equal(x, y)
            pd.testing.assert_frame_equal(x, z)
