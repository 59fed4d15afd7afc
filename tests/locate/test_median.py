"""The p-median and p-center models on arrays (emgis.locate.median) against brute-force
enumeration of every set of sites, the heuristic against its bound and the MILP."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emgis.locate.median import p_center, p_median
from emgis.locate.pairs import served_times
from tests.locate.conftest import instance


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2])
def test_p_median_and_p_center_equal_brute_force(seed: int, p: int) -> None:
    times, w, base = instance(seed)
    reach = np.isfinite(base) | np.isfinite(times).any(axis=0)

    def total(s: tuple[int, ...]) -> float:
        t = served_times(times, base, s)
        return float((w[np.isfinite(t)] * t[np.isfinite(t)]).sum()) + \
            1e9 * int((~np.isfinite(t) & reach).sum())

    def worst(s: tuple[int, ...]) -> float:
        return float(served_times(times, base, s)[reach].max())

    combos = list(itertools.combinations(range(times.shape[0]), p))
    med = p_median(times, w, base, p)
    assert med.objective == pytest.approx(min(total(s) for s in combos))
    cen = p_center(times, w, base, p)
    assert cen.objective == pytest.approx(min(worst(s) for s in combos))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_p_median_heuristic_and_its_bound_against_brute_force(seed: int, p: int) -> None:
    """Heuristic total >= the optimum >= its Lagrangian bound (brute force over all sets)."""
    times, w, base = instance(seed, n_c=8, n_v=14)
    reach = np.isfinite(base) | np.isfinite(times).any(axis=0)

    def total(s: tuple[int, ...]) -> float:  # person-minutes; inf if a reachable one is not
        t = served_times(times, base, s)
        return float(w[reach] @ t[reach])

    best = min(total(s) for s in itertools.combinations(range(times.shape[0]), p))
    he = p_median(times, w, base, p, method="heuristic")
    assert len(he.sites) <= p and he.method == "heuristic"
    assert he.bound is not None
    assert he.bound - 1e-6 <= best <= he.objective + 1e-6
    assert he.gap is not None and he.gap < 0.1


def test_p_median_heuristic_on_a_medium_instance_against_the_milp() -> None:
    rng = np.random.default_rng(5)
    cand = rng.uniform(0, 30, (60, 2))
    vil = rng.uniform(0, 30, (200, 2))
    times = np.hypot(*(cand[:, None, :] - vil[None, :, :]).transpose(2, 0, 1)) * 1.3
    w = rng.integers(10, 900, 200).astype(float)
    base = np.full(200, np.inf)
    base[:50] = rng.uniform(1, 10, 50)
    exact = p_median(times, w, base, 5)
    he = p_median(times, w, base, 5, method="heuristic")
    assert exact.status == "optimal"
    assert he.bound is not None and he.bound <= exact.objective + 1e-6
    assert he.objective >= exact.objective - 1e-6
    assert he.objective <= 1.05 * exact.objective  # local search lands close
