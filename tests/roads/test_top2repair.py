"""A scenario's two nearest distinct sources repaired from the baseline's
(emgis.roads._top2repair) against the same search from scratch on the scenario's graph."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emgis.roads.routing as routing
from emgis.analysis.coverage import compute_coverage
from emgis.analysis.scenario import _unit_states, closed_area, hazard_network, zones
from emgis.inputs.kinds import units_of
from emgis.plan import Plan
from emgis.roads._top2repair import changed_reach
from emgis.roads.routing import Before, NearestTwo, RoutingGraph, Search, nearest_two_many
from tests.roads.test_repair import _graph, _random_base, _scenario


def _both(base: RoutingGraph, scen: RoutingGraph, s0: Search, s1: Search,
          to_now: np.ndarray, share: float = routing.REPAIR_SHARE
          ) -> tuple[NearestTwo, NearestTwo, NearestTwo]:
    before = nearest_two_many(base, [s0], workers=1)[0]
    fresh = nearest_two_many(scen, [s1], workers=1)[0]
    got = nearest_two_many(scen, [s1], workers=1, before=[Before(base, s0, before, to_now)],
                           repair_share=share)[0]
    return before, fresh, got


def _same_minutes(got: NearestTwo, want: NearestTwo) -> None:
    # the same floating-point numbers, not near ones
    for name in ("first_min", "second_min", "node_min", "node_second_min"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_a_closed_road_between_two_stations_you_can_see() -> None:
    """A line 0-1-2-3-4 of two-way 1-minute roads, stations at 0 and 4. Closing 2 -> 3 (one
    way only) leaves station 0 no way to 3 and 4: their second label goes (inf); nodes 0-2
    keep both stations (station 4 still comes by 3 -> 2), node 2 tied at 2 minutes."""
    t = np.array([0, 1, 1, 2, 2, 3, 3, 4])
    h = np.array([1, 0, 2, 1, 3, 2, 4, 3])
    base = _graph(5, t, h, np.ones(8))
    keep = ~((t == 2) & (h == 3))
    scen = _graph(5, t[keep], h[keep], np.ones(int(keep.sum())))
    s = Search(np.array([0, 4]), np.zeros(2), np.arange(5))
    _, fresh, got = _both(base, scen, s, s, np.arange(2))
    _same_minutes(got, fresh)
    assert got.first_min.tolist() == [0.0, 1.0, 2.0, 1.0, 0.0]
    assert got.second_min.tolist() == [4.0, 3.0, 2.0, np.inf, np.inf]
    assert got.first.tolist() == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("share", [0.6, 1.01])
@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 70), n_src=st.integers(1, 8),
       ties=st.booleans(), finite=st.booleans(), n_off=st.integers(0, 2))
def test_repaired_labels_equal_a_search_from_scratch(share: float, seed: int, n: int,
                                                     n_src: int, ties: bool, finite: bool,
                                                     n_off: int) -> None:
    """Slowed, closed, faster and new arcs; sources out of action, starting later or sooner,
    attached anew (another access leg) or new in the scenario; a limit or none; zero minutes
    and tied paths: the minutes at every node and target are those of the search from
    scratch, and so are the sources where no two paths tie. With ``share`` 1.01 every
    scenario is repaired (the repair is not skipped)."""
    rng = np.random.default_rng(seed)
    base = _random_base(rng, n, ties=ties, n_off=n_off)
    scen = _scenario(base, rng, slow=rng.uniform(0, 0.4), close=rng.uniform(0, 0.15),
                     add=rng.uniform(0, 0.1), faster=rng.uniform(0, 0.15) * (seed % 2))
    n_loc = len(base.loc_node)
    access = scen.loc_access.copy()
    moved = rng.random(n) < 0.1
    access[:n][moved] = rng.uniform(0, 2, int(moved.sum()))
    scen = RoutingGraph(**{**scen.__dict__, "loc_access": access})
    k = min(n_src, n_loc)
    src = rng.choice(n_loc, k, replace=False)
    off = rng.uniform(0, 2, k)
    limit = float(rng.uniform(1, 8)) if finite else np.inf
    s0 = Search(src, off, np.arange(n_loc), limit)
    stay = np.flatnonzero(rng.random(k) >= 0.25)
    off1 = off[stay].copy()
    later = rng.random(len(stay)) < 0.2
    off1[later] = rng.uniform(0, 2, int(later.sum()))
    extra = np.setdiff1d(np.arange(n_loc), src)[:int(rng.integers(0, 2))]
    s1 = Search(np.r_[src[stay], extra], np.r_[off1, rng.uniform(0, 2, len(extra))],
                np.arange(n_loc), limit)
    to_now = np.full(k, -1)
    to_now[stay] = np.arange(len(stay))
    before, fresh, got = _both(base, scen, s0, s1, to_now, share)
    _same_minutes(got, fresh)
    if not ties:
        assert np.array_equal(got.first, fresh.first)
        assert np.array_equal(got.second, fresh.second)
    if share > 1:
        assert routing._repaired(scen, s1, Before(base, s0, before, to_now),
                                 routing.arc_changes(base, scen), share) is not None


def test_an_unchanged_scenario_searches_nothing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing changed: no node is marked, and the labels are the baseline's."""
    rng = np.random.default_rng(3)
    base = _random_base(rng, 50)
    copy = _graph(50, np.repeat(np.arange(50), np.diff(base.indptr)), base.indices.copy(),
                  base.weights.copy())
    s = Search(np.array([3, 17, 40]), np.array([0.5, 0.0, 1.0]), np.arange(50))
    before = nearest_two_many(base, [s])[0]
    b = Before(base, s, before, np.arange(3))
    marked: list[int] = []
    real = changed_reach

    def spy(*args: object) -> np.ndarray:
        out = np.asarray(real(*args), dtype=bool)
        marked.append(int(out.sum()))
        return out

    monkeypatch.setattr(routing, "changed_reach", spy)
    got = nearest_two_many(copy, [s], before=[b])[0]
    assert marked == [0]
    _same_minutes(got, before)
    assert np.array_equal(got.first, before.first) and np.array_equal(got.second, before.second)


def test_demo_scenarios_repaired_give_the_same_coverage(demo_plan: Plan) -> None:
    """Each demo scenario's coverage table, repaired from the baseline's, is the table of
    the searches from scratch."""
    district, engine = demo_plan.district, demo_plan.engine
    base = demo_plan.coverage()
    units = units_of(district)
    for sc in demo_plan.scenario_specs():
        z = zones(district, sc)
        shut = closed_area(z)
        hit, _ = hazard_network(engine.network, z)
        hit_engine = engine.with_network(hit, closed_area=shut)
        active = (_unit_states(units, shut, sc, engine, hit_engine)["status"]
                  != "out_of_action").to_numpy()
        fresh = compute_coverage(district, hit_engine, active=active).table
        got = compute_coverage(district, hit_engine, active=active, baseline=base).table
        assert got.equals(fresh), sc.name
