"""Scenario-robust covering on arrays (emgis.locate.robust): the MILP's optimum equals brute
force on small instances for every objective; the heuristic stays under its proven bound.
(The demo's plans side by side: tests/analysis/test_siting.py.)"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from emgis.locate import OBJECTIVES
from emgis.locate.robust import robust_covering, robust_objective, robust_values


def _instance(seed: int) -> tuple[list[sp.csr_matrix], np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    n_c, n_v, n_s = 7, 10, 3
    w = rng.integers(1, 100, n_v).astype(float)
    covered = [rng.random(n_v) < 0.25 for _ in range(n_s)]
    covers = []
    for s in range(n_s):
        a = (rng.random((n_c, n_v)) < 0.3) & ~covered[s]
        a[rng.integers(0, n_c)] = False  # a candidate out of action in this scenario
        covers.append(sp.csr_matrix(a.astype(float)))
    return covers, w, covered


def _brute(covers: list[sp.csr_matrix], w: np.ndarray, covered: list[np.ndarray], p: int,
           objective: str, probs: np.ndarray, k: int) -> float:
    best = -1.0
    for combo in itertools.combinations(range(covers[0].shape[0]), p):
        persons, masks = robust_values(covers, w, covered, combo)
        best = max(best, robust_objective(persons, masks, w, objective, probs, k))
    return best


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("seed", range(5))
def test_robust_milp_equals_brute_force(seed: int, objective: str) -> None:
    covers, w, covered = _instance(seed)
    probs = np.array([0.5, 0.3, 0.2])
    k = 2
    for p in (1, 2, 3):
        sol = robust_covering(covers, w, covered, p, objective=objective, probs=probs, k=k,
                              method="milp")
        want = _brute(covers, w, covered, p, objective, probs, k)
        assert sol.status == "optimal"
        assert sol.objective == pytest.approx(want), (seed, objective, p)
        persons, masks = robust_values(covers, w, covered, sol.sites)
        assert robust_objective(persons, masks, w, objective, probs, k) == \
            pytest.approx(sol.objective)
        heur = robust_covering(covers, w, covered, p, objective=objective, probs=probs, k=k,
                               method="heuristic")
        assert heur.objective <= want + 1e-9
        assert heur.bound is not None and heur.bound >= want - 1e-6


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("seed", range(5))
def test_marginal_gains_bound_without_lp(seed: int, objective: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond ROBUST_LP_BOUND_PAIRS the heuristic's bound comes from its plan's marginal
    gains alone (no LP): it still never falls below the brute-force optimum."""
    import emgis.locate.robust as robust

    monkeypatch.setattr(robust, "ROBUST_LP_BOUND_PAIRS", 0)
    covers, w, covered = _instance(seed)
    probs = np.array([0.5, 0.3, 0.2])
    for p in (1, 2, 3):
        want = _brute(covers, w, covered, p, objective, probs, 2)
        heur = robust_covering(covers, w, covered, p, objective=objective, probs=probs, k=2,
                               method="heuristic")
        assert heur.objective <= want + 1e-9
        assert heur.bound is not None and heur.bound >= want - 1e-6, (seed, objective, p)
        if heur.status == "optimal":
            assert heur.objective == pytest.approx(want)



@pytest.mark.parametrize("objective", ["expected", "worst"])
@pytest.mark.parametrize("seed", range(12))
def test_greedy_with_every_candidate_at_once_takes_the_same_steps(seed: int,
                                                                 objective: str) -> None:
    """The heuristic's values of a plan plus every candidate at once (one sparse product per
    scenario) equal the plan's value recomputed candidate by candidate, and the greedy and
    swaps on them choose the very sites of the candidate-by-candidate loop."""
    from emgis.locate.robust import _robust_greedy_swap, robust_values_each

    rng = np.random.default_rng(seed)
    n_c, n_v, n_s = 40, 60, 4
    w = rng.integers(1, 1000, n_v).astype(float)
    covered = [rng.random(n_v) < 0.2 for _ in range(n_s)]
    covers = [sp.csr_matrix(((rng.random((n_c, n_v)) < 0.08) & ~covered[s]).astype(float))
              for s in range(n_s)]
    probs = rng.random(n_s)
    probs = probs / probs.sum()

    def value(sites: list[int] | tuple[int, ...]) -> float:
        persons, masks = robust_values(covers, w, covered, sites)
        return robust_objective(persons, masks, w, objective, probs, n_s - 1)

    for base in ([], [3], [5, 17]):
        got = robust_values_each(covers, w, covered, base, objective, probs)
        want = np.array([value([*base, j]) for j in range(n_c)])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    for p in (1, 3, 6):
        one_by_one = _robust_greedy_swap(value, n_c, p)
        at_once = _robust_greedy_swap(
            value, n_c, p, lambda s: robust_values_each(covers, w, covered, s, objective, probs))
        assert at_once == one_by_one, (seed, objective, p)


def _skewed(seed: int) -> tuple[list[sp.csr_matrix], np.ndarray, list[np.ndarray]]:
    """A few large candidates and many small ones in each scenario (the small ones can be
    left out), a random small candidate out of action in each scenario."""
    rng = np.random.default_rng(seed)
    n_c, n_v, n_s = 12, 36, 3
    w = rng.integers(10, 400, n_v).astype(float)
    covered = [rng.random(n_v) < 0.15 for _ in range(n_s)]
    covers = []
    for s in range(n_s):
        a = rng.random((n_c, n_v)) < 0.05
        a[0, :12], a[1, 10:22], a[2, 20:32] = True, True, True
        a &= ~covered[s]
        a[rng.integers(3, n_c)] = False
        covers.append(sp.csr_matrix(a.astype(float)))
    return covers, w, covered


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_candidates_left_out_are_in_no_plan_as_good(seed: int, objective: str,
                                                    p: int) -> None:
    """robust_may_improve keeps every candidate of every plan reaching the value it is given
    (so of every optimum: brute force over all plans), and the MILP on what is kept still
    finds the brute-force optimum."""
    from emgis.locate.robust import robust_may_improve

    covers, w, covered = _skewed(seed) if seed % 2 else _instance(seed)
    probs = np.array([0.5, 0.3, 0.2])
    k = 2
    n_c = covers[0].shape[0]
    values = {s: robust_objective(*robust_values(covers, w, covered, s), w, objective, probs,
                                  k)
              for s in itertools.combinations(range(n_c), p)}
    best = max(values.values())
    for found in (best, sorted(values.values())[len(values) // 2]):
        may = robust_may_improve(covers, w, covered, p, objective, probs, k, found)
        in_good = np.zeros(n_c, dtype=bool)
        for s, v in values.items():
            if v >= found - 1e-9:
                in_good[list(s)] = True
        assert (may >= in_good).all(), (seed, objective, p, found)
    sol = robust_covering(covers, w, covered, p, objective=objective, probs=probs, k=k,
                          method="milp")
    assert sol.status == "optimal" and sol.objective == pytest.approx(best)


def test_the_skewed_instance_leaves_candidates_out() -> None:
    """The bound is not vacuous: on the skewed instance the small candidates are left out
    for the worst case and the expectation (while every optimum stays, above)."""
    from emgis.locate.robust import _robust_greedy_swap, robust_may_improve

    covers, w, covered = _skewed(1)
    probs = np.full(3, 1 / 3)
    for objective in ("worst", "expected"):
        def value(sites: list[int] | tuple[int, ...], objective: str = objective) -> float:
            return robust_objective(*robust_values(covers, w, covered, sites), w, objective,
                                    probs, 2)

        found = value(_robust_greedy_swap(value, covers[0].shape[0], 3))
        may = robust_may_improve(covers, w, covered, 3, objective, probs, 2, found)
        assert 3 <= may.sum() < covers[0].shape[0], objective
