"""Helpers of the location-model tests: small random instances on arrays (candidate x
village minutes, weights, the existing units' minutes) small enough for brute force."""

from __future__ import annotations

import numpy as np

from emgis.locate.pairs import served_times

#: An instance: minutes (candidates x villages), weights, minutes from the existing units.
Instance = tuple[np.ndarray, np.ndarray, np.ndarray]


def instance(seed: int, n_c: int = 7, n_v: int = 12) -> Instance:
    rng = np.random.default_rng(seed)
    times = rng.uniform(0.5, 12, (n_c, n_v))
    times[rng.random((n_c, n_v)) < 0.2] = np.inf
    weights = rng.integers(10, 500, n_v).astype(float)
    base = rng.uniform(2, 20, n_v)
    base[rng.random(n_v) < 0.2] = np.inf  # villages no existing unit reaches
    return times, weights, base


def nested_instance(seed: int, n_v: int = 12) -> Instance:
    """Candidates whose covers lie within others' (and duplicates): dominance at work."""
    rng = np.random.default_rng(seed)
    rows = [rng.random(n_v) < 0.35 for _ in range(4)]
    for _ in range(5):  # a part of an existing cover, or the same cover again
        r = rows[rng.integers(len(rows))]
        rows.append(r & (rng.random(n_v) < (1.0 if rng.random() < 0.3 else 0.6)))
    cover = np.array(rows)[rng.permutation(len(rows))]
    times = np.where(cover, rng.uniform(0.5, 5.0, cover.shape), np.inf)
    return times, rng.integers(10, 500, n_v).astype(float), np.full(n_v, np.inf)


def covered(times: np.ndarray, weights: np.ndarray, base: np.ndarray, target: float,
            sites: tuple[int, ...]) -> float:
    t = served_times(times, base, sites)
    new = (t <= target) & ~(base <= target)
    return float(weights[new].sum())
