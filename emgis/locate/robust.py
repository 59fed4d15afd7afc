"""Robust covering: sites chosen over several scenarios together (expected, worst case,
k of n), exact on HiGHS at district size, greedy plus swaps with a bound beyond."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from emgis._errors import SitingError
from emgis._types import FloatArray
from emgis.locate import OBJECTIVES
from emgis.locate.pairs import (
    AUTO_MILP_PAIRS,
    Solution,
    _auto,
    _reaches,
    _row,
    _with_best_others,
)
from emgis.texts import Msg


def robust_values(covers: list[sp.csr_matrix], weights: FloatArray,
                  covered: list[npt.NDArray[np.bool_]], sites: list[int] | tuple[int, ...]
                  ) -> tuple[FloatArray, list[npt.NDArray[np.bool_]]]:
    """Persons covered in each scenario with ``sites`` added, and each scenario's villages
    covered (``covers[s]``: candidate x village, newly coverable in scenario ``s``;
    ``covered[s]``: covered by the existing units in it)."""
    masks = []
    for cover, base in zip(covers, covered, strict=True):
        hit = base.copy()
        for j in sites:
            hit[_row(cover, j)] = True
        masks.append(hit)
    return np.array([float(weights[m].sum()) for m in masks]), masks


def robust_objective(persons: FloatArray, masks: list[npt.NDArray[np.bool_]],
                     weights: FloatArray, objective: str, probs: FloatArray, k: int) -> float:
    """The value of a plan under an objective: the expected persons covered (``probs``), the
    persons covered in the worst scenario, or the persons covered in at least ``k`` of the
    scenarios."""
    if objective == "expected":
        return float(probs @ persons)
    if objective == "worst":
        return float(persons.min())
    times_covered = np.sum(masks, axis=0)
    return float(weights[times_covered >= k].sum())


def _robust_greedy_bound(covers: list[sp.csr_matrix], weights: FloatArray,
                         covered: list[npt.NDArray[np.bool_]], sites: list[int], p: int,
                         objective: str, probs: FloatArray, k: int) -> float:
    """An upper bound on the robust optimum from a plan's marginal gains (no LP).

    Cover in one scenario, f_s, is monotone and submodular, so for any plan T of p sites
    f_s(T) <= f_s(S) + (the p largest gains of single sites added to S). Hence the expected
    optimum <= sum_s probs_s (f_s(S) + top-p gains_s); the worst-scenario optimum <=
    min_s (...); and persons covered in at least k scenarios <= (1/k) sum_s (...), since such
    a person counts at least k times in the sum of the scenarios' covers.
    """
    persons, masks = robust_values(covers, weights, covered, sites)
    per = np.empty(len(covers))
    for s, (cover, mask) in enumerate(zip(covers, masks, strict=True)):
        gains = sp.csr_matrix(cover, dtype=float) @ np.where(mask, 0.0, weights)
        top = np.sort(gains)[::-1][:p].sum() if len(gains) else 0.0
        per[s] = persons[s] + float(top)
    if objective == "expected":
        return float(probs @ per)
    if objective == "worst":
        return float(per.min())
    return float(min(per.sum() / k, weights.sum()))


#: Candidates up to which ``robust_covering(method="auto")`` solves the exact MILP (with at
#: most :data:`AUTO_MILP_PAIRS` pairs over all scenarios); the heuristic beyond.
ROBUST_AUTO_MILP_CANDIDATES = 5_000

#: Pairs (all scenarios) up to which the robust heuristic's bound also comes from the LP
#: relaxation (tighter than the marginal-gains bound), when there are also at most
#: :data:`ROBUST_AUTO_MILP_CANDIDATES` candidates: at a province's 22,000 candidates and
#: 190,000 pairs HiGHS spent a minute on the LP and reached no bound in it.
ROBUST_LP_BOUND_PAIRS = AUTO_MILP_PAIRS


def robust_covering(covers: list[sp.csr_matrix], weights: FloatArray,
                    covered: list[npt.NDArray[np.bool_]], p: int, *,
                    objective: str = "worst", probs: npt.ArrayLike | None = None,
                    k: int | None = None, method: str = "auto",
                    time_limit: float = 300.0) -> Solution:
    """Add ``p`` sites covering the most persons across scenarios together.

    Parameters
    ----------
    covers
        Per scenario (the baseline first), candidate x village: 1 where the candidate reaches
        the village within the target in that scenario and the village is not covered there
        yet (a candidate in a closed zone reaches nothing).
    weights
        Persons per village.
    covered
        Per scenario, the villages the existing units cover in it.
    p
        Sites to add.
    objective
        ``expected`` (``probs`` per scenario, default equal), ``worst`` (the persons covered in
        the worst scenario) or ``k_of_n`` (the persons covered in at least ``k`` of the N
        scenarios; default ``k = N - 1``).
    method
        ``auto`` (the MILP while its pairs are at most :data:`AUTO_MILP_PAIRS` and its
        candidates at most :data:`ROBUST_AUTO_MILP_CANDIDATES`), ``milp`` or
        ``heuristic`` (greedy and swaps on the objective, with a proven bound: the marginal
        gains bound, and the LP relaxation's while the pairs are at most
        :data:`ROBUST_LP_BOUND_PAIRS` and the candidates at most
        :data:`ROBUST_AUTO_MILP_CANDIDATES`).

    Returns
    -------
    Solution
        ``objective`` the plan's value; ``gains`` the objective after each site in order.
    """
    t0 = time.perf_counter()
    if objective not in OBJECTIVES:
        raise SitingError(Msg("site_objective", v=objective, options=", ".join(OBJECTIVES)))
    n_s = len(covers)
    n_c = covers[0].shape[0]
    pr = np.full(n_s, 1.0 / n_s) if probs is None else np.asarray(probs, dtype=float)
    if len(pr) != n_s or (pr < 0).any() or pr.sum() <= 0:
        raise SitingError(Msg("site_weights", v=str(list(pr)), n=n_s))
    pr = pr / pr.sum()
    kk = int(k if k is not None else max(1, n_s - 1))
    if not 1 <= kk <= n_s:
        raise SitingError(Msg("site_k", k=kk, n=n_s))
    p = int(min(p, n_c))
    model = f"robust_{objective}"

    def value(sites: list[int] | tuple[int, ...]) -> float:
        persons, masks = robust_values(covers, weights, covered, sites)
        return robust_objective(persons, masks, weights, objective, pr, kk)

    def each(sites: list[int]) -> FloatArray:
        return robust_values_each(covers, weights, covered, sites, objective, pr)

    every = None if objective == "k_of_n" else each  # k of n counts across the scenarios

    nnz = sum(c.nnz for c in covers)
    # the max-min and k-of-n MILPs have weak relaxations: beyond a district's candidates
    # HiGHS spends its whole time limit (80 s at 22,000 candidates) for what the greedy finds
    method = _auto(method, nnz if n_c <= ROBUST_AUTO_MILP_CANDIDATES else AUTO_MILP_PAIRS + 1)
    bound: float | None = None
    if method == "heuristic":
        sites = _robust_greedy_swap(value, n_c, p, every)
        bound = _robust_greedy_bound(covers, weights, covered, sites, p, objective, pr, kk)
        if nnz <= ROBUST_LP_BOUND_PAIRS and n_c <= ROBUST_AUTO_MILP_CANDIDATES \
                and not _reaches(value(sites), bound):
            lp = _robust_milp(covers, weights, covered, p, objective, pr, kk, time_limit,
                              relax=True)[1]
            bound = bound if lp is None else min(bound, lp)
        status = "optimal" if bound is not None and _reaches(value(sites), bound) else \
            "feasible"
        used = "heuristic"
    else:
        # only candidates that can be in a plan at least as good as greedy's (every optimum;
        # k of n has no greedy on every candidate at once, and its bound is weak: all kept)
        keep = np.arange(n_c)
        alt = None
        if every is not None:
            alt = _robust_greedy_swap(value, n_c, p, every)
            keep = np.flatnonzero(robust_may_improve(covers, weights, covered, p, objective,
                                                     pr, kk, value(alt)))
        sites, dual, ok = _robust_milp([c[keep] for c in covers], weights, covered, p,
                                       objective, pr, kk, time_limit)
        sites = [int(keep[j]) for j in sites]
        used, status = "milp", "optimal" if ok else "time limit"
        if not ok:
            bound = dual
            if alt is None:
                alt = _robust_greedy_swap(value, n_c, p, every)
            if value(alt) > value(sites):
                sites, used = alt, "heuristic"
            if bound is not None and _reaches(value(sites), bound):
                status = "optimal"
    # order: the site adding most to the objective first
    left, order, gains = list(sites), [], []  # type: list[int], list[int], list[float]
    while left:
        best = max(left, key=lambda j: (value([*order, j]), -j))
        order.append(best)
        left.remove(best)
        gains.append(value(order))
    return Solution(tuple(order), value(order), tuple(gains), model, used, status, bound,
                    time.perf_counter() - t0)


def robust_may_improve(covers: list[sp.csr_matrix], weights: FloatArray,
                       covered: list[npt.NDArray[np.bool_]], p: int, objective: str,
                       probs: FloatArray, k: int, found: float) -> npt.NDArray[np.bool_]:
    """Candidates that can be in a plan of ``p`` sites whose objective reaches ``found`` (a
    plan's value, e.g. greedy and swaps'), and so in every optimal plan.

    In each scenario a plan covers at most its base persons plus its sites' own new persons
    there, so a plan holding candidate ``j`` is worth at most: for ``worst``, the least over
    the scenarios of (base + ``j``'s new persons + the ``p - 1`` largest of the others'); for
    ``expected``, the same on the probability-weighted sums; for ``k_of_n``, on the sums over
    the scenarios divided by ``k`` (a person counted in ``k`` scenarios counts ``k`` times
    there). A candidate whose bound falls below ``found`` is in no plan as good. On a
    county's micro fire stations (1,711 candidates, 3 scenarios, p = 3) HiGHS's 0.6 s fell
    to milliseconds.
    """
    n_c, n_s = covers[0].shape[0], len(covers)
    if n_c <= p or p <= 0:
        return np.ones(n_c, dtype=bool)
    gains = np.column_stack([sp.csr_matrix(c, dtype=np.float64) @ weights for c in covers])
    base = np.array([float(weights[c].sum()) for c in covered])
    if objective == "worst":
        ub = np.min([base[s] + _with_best_others(gains[:, s], p) for s in range(n_s)], axis=0)
    else:
        wt = probs if objective == "expected" else np.full(n_s, 1.0 / k)
        ub = float(wt @ base) + _with_best_others(gains @ wt, p)
    keep: npt.NDArray[np.bool_] = ub >= found - 1e-9 * max(1.0, abs(found))
    return keep


def robust_values_each(covers: list[sp.csr_matrix], weights: FloatArray,
                       covered: list[npt.NDArray[np.bool_]], sites: list[int],
                       objective: str, probs: FloatArray) -> FloatArray:
    """The objective of ``sites`` plus each candidate ``j`` in turn, for every ``j`` at once
    (``expected`` and ``worst``): a scenario's persons with ``j`` added are its persons with
    ``sites`` plus the persons ``j`` newly covers there (one sparse product per scenario
    instead of a plan's masks per candidate)."""
    persons, masks = robust_values(covers, weights, covered, sites)
    per = np.column_stack([
        persons[s] + sp.csr_matrix(cover, dtype=float) @ np.where(mask, 0.0, weights)
        for s, (cover, mask) in enumerate(zip(covers, masks, strict=True))])
    if objective == "expected":
        out: FloatArray = per @ probs
        return out
    worst: FloatArray = per.min(axis=1)
    return worst


def _robust_greedy_swap(value: Callable[[list[int]], float], n_c: int, p: int,
                        each: Callable[[list[int]], FloatArray] | None = None) -> list[int]:
    """Greedy on the objective, then one-for-one swaps while one improves it (``each``: the
    values of a plan plus every candidate at once, where the objective allows)."""
    if each is not None:
        return _greedy_swap_each(value, each, n_c, p)
    chosen: list[int] = []
    cur = value(chosen)
    for _ in range(p):
        gains = [(value([*chosen, j]), -j) for j in range(n_c) if j not in chosen]
        if not gains:
            break
        best, neg = max(gains)
        if best <= cur + 1e-12:
            break
        chosen.append(-neg)
        cur = best
    improved = True
    while improved:
        improved = False
        for out in list(chosen):
            rest = [c for c in chosen if c != out]
            for j in range(n_c):
                if j in chosen:
                    continue
                v = value([*rest, j])
                if v > cur + 1e-9:
                    chosen, cur, improved = [*rest, j], v, True
                    break
            if improved:
                break
    return sorted(chosen)


def _greedy_swap_each(value: Callable[[list[int]], float],
                      each: Callable[[list[int]], FloatArray], n_c: int, p: int) -> list[int]:
    """:func:`_robust_greedy_swap` with every candidate's value at once: the same steps
    (the best candidate, the lowest index on a tie; the first improving swap in index
    order)."""
    chosen: list[int] = []
    cur = value(chosen)
    for _ in range(p):
        vals = each(chosen).astype(float)
        vals[chosen] = -np.inf
        if not np.isfinite(vals).any():
            break
        best = float(vals.max())
        if best <= cur + 1e-12:
            break
        j = int(np.flatnonzero(vals == best)[0])
        chosen.append(j)
        cur = best
    improved = True
    while improved:
        improved = False
        for out in list(chosen):
            rest = [c for c in chosen if c != out]
            vals = each(rest).astype(float)
            vals[chosen] = -np.inf
            better = np.flatnonzero(vals > cur + 1e-9)
            if len(better):
                j = int(better[0])
                chosen, cur, improved = [*rest, j], float(vals[j]), True
                break
    return sorted(chosen)


def _robust_milp(covers: list[sp.csr_matrix], weights: FloatArray,
                 covered: list[npt.NDArray[np.bool_]], p: int, objective: str,
                 probs: FloatArray, k: int, time_limit: float, *, relax: bool = False
                 ) -> tuple[list[int], float | None, bool]:
    """The robust MILP (or its LP relaxation): returns the sites, the proven bound on the
    objective, and whether it was solved to optimality.

    Variables: x_j (sites); y_si (village i newly covered in scenario s, for the villages a
    candidate can newly cover there); and z (worst) or u_i (k_of_n, village counted).
    """
    n_s = len(covers)
    n_c = covers[0].shape[0]
    cols = [np.flatnonzero(np.asarray(c.sum(axis=0)).ravel() > 0) for c in covers]
    offs = np.cumsum([0, *[len(c) for c in cols]])
    n_y = int(offs[-1])
    base_persons = np.array([float(weights[c].sum()) for c in covered])
    n_v = len(weights)
    extra = {"expected": 0, "worst": 1, "k_of_n": n_v}[objective]
    n = n_c + n_y + extra
    c_obj = np.zeros(n)
    rows, lo, hi = [], [], []
    # y_si <= sum_j cover_s[j, i] x_j
    for s, cover in enumerate(covers):
        a = cover[:, cols[s]].T.tocsr().astype(float)  # villages x candidates
        block = sp.hstack([-a, sp.csr_matrix((len(cols[s]), int(offs[s]))),
                           sp.identity(len(cols[s]), format="csr"),
                           sp.csr_matrix((len(cols[s]), n - n_c - int(offs[s + 1])))],
                          format="csr")
        rows.append(block)
        lo.append(np.full(len(cols[s]), -np.inf))
        hi.append(np.zeros(len(cols[s])))
    count = sp.csr_matrix((np.ones(n_c), (np.zeros(n_c, dtype=np.int64), np.arange(n_c))),
                          shape=(1, n))
    rows.append(count)
    lo.append(np.array([-np.inf]))
    hi.append(np.array([float(p)]))
    integrality = np.concatenate([np.ones(n_c), np.zeros(n_y), np.zeros(extra)])
    lb, ub = np.zeros(n), np.ones(n)
    if objective == "expected":
        for s in range(n_s):
            c_obj[n_c + offs[s]:n_c + offs[s + 1]] = -probs[s] * weights[cols[s]]
        const = float(probs @ base_persons)
    elif objective == "worst":
        zi = n - 1
        c_obj[zi] = -1.0
        ub[zi] = np.inf
        for s in range(n_s):  # z - sum_i w_i y_si <= base persons of s
            r = np.zeros(n)
            r[zi] = 1.0
            r[n_c + offs[s]:n_c + offs[s + 1]] = -weights[cols[s]]
            rows.append(sp.csr_matrix(r))
            lo.append(np.array([-np.inf]))
            hi.append(np.array([base_persons[s]]))
        const = 0.0
    else:
        ui = n_c + n_y
        c_obj[ui:] = -weights
        integrality[ui:] = 1
        # k u_i - sum_s y_si <= number of scenarios the existing units cover i in
        r_i = [np.arange(n_v)] + [cols[s] for s in range(n_s)]
        c_i = [ui + np.arange(n_v)] + [n_c + offs[s] + np.arange(len(cols[s]))
                                       for s in range(n_s)]
        vals = [np.full(n_v, float(k))] + [np.full(len(cols[s]), -1.0) for s in range(n_s)]
        rows.append(sp.csr_matrix((np.concatenate(vals), (np.concatenate(r_i),
                                                          np.concatenate(c_i))), shape=(n_v, n)))
        lo.append(np.full(n_v, -np.inf))
        hi.append(np.sum(covered, axis=0).astype(float))
        const = 0.0
    a = sp.vstack(rows, format="csr")
    res = milp(c_obj, constraints=[LinearConstraint(a, np.concatenate(lo), np.concatenate(hi))],
               integrality=np.zeros(n) if relax else integrality, bounds=Bounds(lb, ub),
               options={"time_limit": time_limit})
    if relax:  # only a solved LP bounds the optimum
        return [], (float(-res.fun) + const if res.status == 0 else None), res.status == 0
    sites = [int(j) for j in np.flatnonzero(res.x[:n_c] > 0.5)] if res.x is not None else []
    dual = getattr(res, "mip_dual_bound", None)
    bound = float(-dual) + const if dual is not None and np.isfinite(dual) else None
    return sites, bound, res.status == 0
