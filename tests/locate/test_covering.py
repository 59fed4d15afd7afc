"""Covering models on arrays (emgis.locate.covering, emgis.locate.pairs) against brute-force
enumeration of every set of sites, and against spopt on a medium instance."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from emgis.locate.covering import max_covering, set_covering
from emgis.locate.median import p_median
from emgis.locate.pairs import served_times
from tests.locate.conftest import Instance, covered, instance, nested_instance


@pytest.mark.parametrize("make", [instance, nested_instance])
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_max_covering_equals_brute_force(make: Callable[[int], Instance], seed: int,
                                         p: int) -> None:
    times, w, base = make(seed)
    best = max(covered(times, w, base, 5.0, s)
               for s in itertools.combinations(range(times.shape[0]), p))
    exact = max_covering(times, w, base, 5.0, p)
    assert exact.status == "optimal" and exact.objective == pytest.approx(best)
    assert covered(times, w, base, 5.0, exact.sites) == pytest.approx(best)
    heur = max_covering(times, w, base, 5.0, p, method="heuristic")
    assert heur.objective <= best + 1e-9
    assert heur.bound is not None and heur.bound >= best - 1e-6
    # ranked by marginal gain: gains add up to the objective and never increase
    assert sum(exact.gains) == pytest.approx(exact.objective)
    assert list(exact.gains) == sorted(exact.gains, reverse=True)


@pytest.mark.parametrize("seed", range(8))
def test_adding_sites_never_lowers_coverage(seed: int) -> None:
    times, w, base = instance(seed)
    values = [max_covering(times, w, base, 5.0, p).objective for p in range(0, 5)]
    assert values == sorted(values)


@pytest.mark.parametrize("make", [instance, nested_instance])
@pytest.mark.parametrize("seed", range(8))
def test_set_covering_equals_brute_force(make: Callable[[int], Instance], seed: int) -> None:
    times, w, base = make(seed)
    sol, unreachable = set_covering(times, w, base, 5.0)
    need = ~(base <= 5.0)
    cover: np.ndarray = (times <= 5.0) & need[None, :]
    target_villages = need & cover.any(axis=0)
    assert (unreachable == (need & ~cover.any(axis=0))).all()

    def covers_all(sites: tuple[int, ...]) -> bool:
        reached = np.any(cover[list(sites)], axis=0, keepdims=True)
        return bool(reached[0, target_villages].all())

    best = None
    for k in range(0, times.shape[0] + 1):
        for s in itertools.combinations(range(times.shape[0]), k):
            if not target_villages.any() or covers_all(s):
                best = k
                break
        if best is not None:
            break
    assert sol.objective == best
    if sol.sites:
        assert covers_all(tuple(sol.sites))


# spopt drives PuLP 3 APIs that PuLP announces will change in 4.0: not ours to fix
@pytest.mark.filterwarnings("ignore:.*PuLP 4.0.*:DeprecationWarning")
def test_medium_instance_equals_spopt() -> None:
    """Hundreds of villages and candidates: MCLP and LSCP optima equal spopt's (CBC)."""
    import pulp
    from spopt.locate import LSCP, MCLP

    rng = np.random.default_rng(3)
    n_c, n_v = 120, 300
    cand = rng.uniform(0, 30, (n_c, 2))
    vil = rng.uniform(0, 30, (n_v, 2))
    times = np.hypot(*(cand[:, None, :] - vil[None, :, :]).transpose(2, 0, 1)) * 1.3
    w = rng.integers(10, 900, n_v).astype(float)
    none = np.full(n_v, np.inf)  # no existing units: spopt's models have none either
    solver = pulp.PULP_CBC_CMD(msg=False)
    ours = max_covering(times, w, none, 4.0, 8)
    theirs = MCLP.from_cost_matrix(times.T, w, service_radius=4.0, p_facilities=8).solve(solver)
    assert ours.objective == pytest.approx(pulp.value(theirs.problem.objective))
    reach = (times <= 4.0).any(axis=0)
    sol, _ = set_covering(times[:, reach], w[reach], none[reach], 4.0)
    lscp = LSCP.from_cost_matrix(times[:, reach].T, service_radius=4.0).solve(solver)
    assert sol.objective == pytest.approx(pulp.value(lscp.problem.objective))


@pytest.mark.parametrize("seed", range(6))
def test_capacitated_covering_equals_brute_force(seed: int) -> None:
    from scipy.optimize import linprog

    from emgis.locate.covering import capacitated_covering

    times, w, base = instance(seed, n_c=6, n_v=10)
    cap, target, p = 600.0, 6.0, 2
    need = ~(base <= target)

    def served(s: tuple[int, ...]) -> float:
        # for a fixed set of sites, the most persons served is a transportation LP
        pairs = [(j, i) for j in s for i in range(len(w)) if times[j, i] <= target and need[i]]
        if not pairs:
            return 0.0
        a = np.zeros((len(w) + len(s), len(pairs)))
        for k, (j, i) in enumerate(pairs):
            a[i, k] = 1
            a[len(w) + s.index(j), k] = 1
        res = linprog(-np.ones(len(pairs)), A_ub=a, b_ub=np.r_[w, np.full(len(s), cap)],
                      bounds=(0, None), method="highs")
        return float(-res.fun)

    best = max(served(s) for s in itertools.combinations(range(times.shape[0]), p))
    sol = capacitated_covering(times, w, base, target, p, cap)
    assert sol.objective == pytest.approx(best)
    assert all(g <= cap + 1e-6 for g in sol.gains)


@pytest.mark.parametrize("seed", range(10))
def test_dominated_candidates_are_within_a_kept_one(seed: int) -> None:
    from emgis.locate.pairs import _dominated

    times, _, _ = nested_instance(seed)
    cover = times <= 5.0
    dom = _dominated(cover)
    kept = np.flatnonzero(~dom)
    for j in np.flatnonzero(dom):  # each dropped one's cover lies within a kept one's
        assert any((cover[j] <= cover[k]).all() for k in kept)
    for j, k in itertools.permutations(kept, 2):  # no kept one lies within another
        assert not (cover[j] <= cover[k]).all()
    assert dom.any()  # the instance does have dominated candidates


def test_milp_stopped_keeps_the_better_solution_and_a_bound() -> None:
    """A MILP stopped by its time limit returns no worse than the heuristic, with a bound."""
    rng = np.random.default_rng(3)
    times = rng.uniform(0, 20, (300, 1500))  # random, non-metric: hard for branch and bound
    w = rng.integers(10, 500, 1500).astype(float)
    none = np.full(1500, np.inf)
    heur = max_covering(times, w, none, 3.0, 12, method="heuristic")
    stopped = max_covering(times, w, none, 3.0, 12, time_limit=0.0)
    assert stopped.status == "time limit"
    assert stopped.objective >= heur.objective
    assert stopped.method == ("heuristic" if stopped.objective == heur.objective else "milp")
    assert len(stopped.sites) == 12
    assert covered(times, w, none, 3.0, stopped.sites) == pytest.approx(stopped.objective)
    assert stopped.bound is not None and stopped.bound >= stopped.objective
    assert stopped.gap is not None and 0 <= stopped.gap < 1


@pytest.mark.parametrize("seed", range(8))
def test_one_site_by_enumeration_is_the_brute_force_optimum(seed: int) -> None:
    times, w, base = instance(seed, n_c=9, n_v=15)
    mc = max_covering(times, w, base, 4.0, 1, method="auto")
    best = max(covered(times, w, base, 4.0, (j,)) for j in range(times.shape[0]))
    assert mc.method == "enumeration" and mc.status == "optimal"
    assert mc.objective == pytest.approx(best)
    reach = np.isfinite(base) | np.isfinite(times).any(axis=0)
    pm = p_median(times, w, base, 1, method="auto")
    milp = p_median(times, w, base, 1, method="milp")
    assert pm.method == "enumeration" and pm.status == "optimal"
    t_pm = served_times(times, base, pm.sites)[reach]
    t_milp = served_times(times, base, milp.sites)[reach]
    big = 1e6  # unreached villages weigh most, as in the model
    assert float(w[reach] @ np.where(np.isfinite(t_pm), t_pm, big)) == pytest.approx(
        float(w[reach] @ np.where(np.isfinite(t_milp), t_milp, big)))


@pytest.mark.parametrize("make", [instance, nested_instance])
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_candidates_left_out_of_the_milp_are_in_no_plan_as_good_as_greedy(
        make: Callable[[int], Instance], seed: int, p: int) -> None:
    """Every candidate of every plan covering at least greedy's persons (so of every
    optimum) stays in the MILP; the ones left out are in none (brute force)."""
    import scipy.sparse as sp

    from emgis.locate.covering import _greedy_swap, _may_improve

    times, w, base = make(seed)
    cover = sp.csr_matrix((times <= 5.0) & ~(base <= 5.0)[None, :], dtype=np.float64)
    greedy = covered(times, w, base, 5.0, tuple(_greedy_swap(cover, w, p)))
    may = _may_improve(cover, w, p)
    in_good = np.zeros(times.shape[0], dtype=bool)
    for s in itertools.combinations(range(times.shape[0]), p):
        if covered(times, w, base, 5.0, s) >= greedy - 1e-9:
            in_good[list(s)] = True
    assert (may >= in_good).all()
    # a candidate kept has a bound at least greedy's: one left out has none
    gain = cover @ w
    for j in np.flatnonzero(~may):
        best_others = np.sort(np.delete(gain, j))[::-1][:p - 1].sum()
        assert gain[j] + best_others < greedy


def test_the_milp_leaves_out_candidates_on_a_skewed_instance() -> None:
    """A few large candidates and many small ones: the small ones cannot join a plan as good
    as greedy's, are left out, and the MILP's plan is still the brute-force optimum."""
    import scipy.sparse as sp

    from emgis.locate.covering import _may_improve

    rng = np.random.default_rng(5)
    n_c, n_v = 14, 40
    cover = rng.random((n_c, n_v)) < 0.08
    cover[:3] = False
    cover[0, :12], cover[1, 10:22], cover[2, 20:32] = True, True, True
    times = np.where(cover, 2.0, np.inf)
    w = rng.integers(10, 500, n_v).astype(float)
    base = np.full(n_v, np.inf)
    may = _may_improve(sp.csr_matrix(cover, dtype=np.float64), w, 3)
    assert 3 <= may.sum() < n_c
    best = max(covered(times, w, base, 5.0, s) for s in itertools.combinations(range(n_c), 3))
    sol = max_covering(times, w, base, 5.0, 3, method="milp")
    assert sol.status == "optimal" and sol.objective == pytest.approx(best)
