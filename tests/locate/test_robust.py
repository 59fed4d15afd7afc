"""Scenario-robust siting: the MILP's optimum equals brute force on small instances for every
objective; the heuristic stays under its proven bound; the demo's plans side by side."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from emgis.locate.robust import OBJECTIVES, robust_covering, robust_objective, robust_values
from tests.conftest import REPO, open_plan


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
    import emgis.analysis.siting as siting

    monkeypatch.setattr(siting, "ROBUST_LP_BOUND_PAIRS", 0)
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


def test_demo_plans_side_by_side() -> None:
    """Fire stations on the demo: the robust (worst-case) plan gives up some cover in the
    baseline for more in the flood; each plan's figures are recomputed from coverage."""
    plan = open_plan(REPO / "data" / "demo", use_cache=True)
    r = plan.site_robust("fire_station", add=2, objective="worst")
    c = r.comparison.set_index("scenario")
    assert list(c.index) == ["baseline", *[s.name for s in plan.district.scenarios]]
    assert r.value_robust_plan >= r.value_baseline_plan
    assert r.value_robust_plan == c["covered_robust_plan"].min()
    assert r.value_baseline_plan == c["covered_baseline_plan"].min()
    # the baseline plan is optimal on the baseline: the robust one cannot beat it there
    assert c.at["baseline", "covered_baseline_plan"] >= c.at["baseline", "covered_robust_plan"]
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
