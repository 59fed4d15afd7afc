"""The scenarios' evacuations share their searches while the engine keeps them (issue 27): each
source's pairs are searched once, to every shelter or village, and every evacuation is the one
searched on its own (the oracle: :func:`emgis.roads.routing.pairs_within` called as before)."""

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


@pytest.mark.parametrize("which", ["from_villages", "from_shelters"])
def test_kept_pairs_are_the_searched_pairs(demo_plan: Plan, which: str) -> None:
    engine = demo_plan.engine
    units = units_of(demo_plan.district)
    shelters = np.flatnonzero(units["kind"].str.startswith("shelter_").to_numpy())
    if which == "from_villages":
        src_pool, pool = engine.village_loc, engine.unit_loc[shelters]
    else:
        src_pool, pool = engine.unit_loc[shelters], engine.village_loc
    rg = engine.graph("drive", reverse=which == "from_shelters")
    rng = np.random.default_rng(5)
    asked = []
    with engine.keeping():
        for _ in range(6):  # overlapping draws: later ones find most sources kept
            src = np.sort(rng.choice(src_pool, size=min(6, len(src_pool)), replace=False))
            lim = rng.choice([-1.0, 3.0, 10.0, 60.0], size=len(src))
            tgt = np.sort(rng.choice(pool, size=max(1, len(pool) // 2), replace=False))
            got = sc._pairs(engine, which, src, lim, tgt, pool=pool)
            want = pairs_within(rg, src, limits=lim, targets=tgt)
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)  # to the last bit
            asked.append(len(want[0]))
        assert engine._kept  # kept while the block is open
    assert not engine._kept  # and let go when it ends
    assert sum(asked) > 0
    with engine.keeping(), pytest.raises(ValueError, match="outside the pool"):
        sc._pairs(engine, which, src_pool[:1], np.array([5.0]), np.array([-7]), pool=pool)


def _all(plan: Plan, monkeypatch: pytest.MonkeyPatch, *, villages: bool) -> tuple[
        list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]], list[int]]:
    """Every scenario's evacuation under several reaches and times on the roads before the
    hazards, searched from the villages or the shelters; and the sources each search had."""
    searched: list[int] = []
    real = pairs_within

    def spy(rg: Any, sources: Any, **kw: Any) -> Any:
        searched.append(len(sources))
        return real(rg, sources, **kw)

    units = units_of(plan.district)
    out = []
    with monkeypatch.context() as m:
        m.setattr(sc, "pairs_within", spy)
        m.setattr(sc, "_from_villages", lambda v, s: villages)
        for s in [*plan.district.scenarios, *plan.district.scenarios]:  # each twice
            zones = sc.zones(plan.district, s)
            union = shapely.union_all(zones.geometry.values)
            usable = np.ones(len(units), dtype=bool)
            for within, most in ((s.evacuate_within_m, s.max_evacuation_min),
                                 (5000.0, 6.0), (2000.0, 2.0)):
                spec = dataclasses.replace(s, evacuate_within_m=within,
                                           max_evacuation_min=most)
                out.append(evacuate(plan.district, plan.engine, union, spec, usable=usable,
                                    units=units))
    return out, searched


@pytest.mark.parametrize("villages", [True, False])
def test_shared_evacuations_are_the_evacuations(demo_plan: Plan,
                                                monkeypatch: pytest.MonkeyPatch,
                                                villages: bool) -> None:
    plain, plain_searched = _all(demo_plan, monkeypatch, villages=villages)
    with demo_plan.engine.keeping():
        shared, shared_searched = _all(demo_plan, monkeypatch, villages=villages)
    assert any(len(e[0]) for e in plain)  # persons were moved
    for a, b in zip(plain, shared, strict=True):
        for x, y in zip(a, b, strict=True):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
    # the second round of scenarios searched nothing: every source was kept
    assert sum(shared_searched) < sum(plain_searched) / 2
    assert sum(plain_searched[len(plain_searched) // 2:]) > 0


def test_a_runs_scenarios_search_each_evacuation_source_once(
        demo_copy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Plan.scenarios`` keeps the searches while it runs the district's scenarios: the
    results are those of each scenario run on its own."""
    import emgis

    with open(demo_copy / "district.toml", "a", encoding="utf-8") as f:  # the flood again,
        f.write('\n[scenarios.flood_again]\nhazards = ["H1"]\nevacuate_within_m = 100\n'
                '\n[scenarios.flood_wider]\nhazards = ["H1"]\nevacuate_within_m = 400\n')
    searched: list[np.ndarray] = []
    real = pairs_within

    def spy(rg: Any, sources: Any, **kw: Any) -> Any:
        searched.append(np.asarray(sources).copy())
        return real(rg, sources, **kw)

    alone = emgis.open(demo_copy)
    monkeypatch.setattr(sc, "pairs_within", spy)
    want = [alone.scenario(s) for s in alone.district.scenarios]
    each = np.concatenate(searched)
    assert len(np.unique(each)) < len(each)  # on their own, scenarios repeat sources
    searched.clear()
    together = emgis.open(demo_copy)
    got = together.scenarios()
    for w, g in zip(want, got, strict=True):
        for name in ("villages", "units", "evacuation", "shelters", "unsheltered", "summary"):
            pd.testing.assert_frame_equal(getattr(w, name), getattr(g, name), check_exact=True)
    every = np.concatenate(searched) if searched else np.zeros(0)
    assert len(every) and len(np.unique(every)) == len(every)  # no source searched twice



def test_routes_traced_together_are_each_scenarios_routes(
        demo_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's scenarios evacuate on the same roads (before the hazards): their routes
    traced together, one search per shelter, are those each traces on its own (the same
    lines, point for point)."""
    results = [dataclasses.replace(r) for r in demo_plan.scenarios()]  # nothing traced yet
    assert len(results) >= 2 and not any("routes" in r.__dict__ for r in results)
    alone = []
    for r in results:
        assert r.route_inputs is not None
        district, engine, units, limit = r.route_inputs
        alone.append(sc.evacuation_routes(district, engine, r.evacuation, units=units,
                                          limit=limit))
    pairs = [set(zip(r.evacuation["village_id"], r.evacuation["shelter_id"], strict=True))
             for r in results]
    assert len(set.union(*pairs)) < sum(len(p) for p in pairs)  # routes the scenarios share
    calls: list[int] = []
    real = sc.evacuation_routes

    def spy(*args: Any, **kw: Any) -> Any:
        calls.append(len(args[2]))
        return real(*args, **kw)

    monkeypatch.setattr(sc, "evacuation_routes", spy)
    sc.trace_routes(results)
    assert calls == [len(set.union(*pairs))]  # once, for every route of them all
    for r, want in zip(results, alone, strict=True):
        got = r.routes
        assert got is not None and len(got) == len(want) == len(r.evacuation)
        for g, w in zip(got, want, strict=True):
            assert (g is None and w is None) or shapely.equals_exact(g, w, tolerance=0.0)
