"""Siting: where new units do the most good, on a candidate x village matrix of minutes.

The solver core works on plain arrays, as spopt's does: ``times[j, i]`` is the response time
from candidate ``j`` to village ``i`` (minutes, turnout included, ``inf`` where unreachable),
``weights[i]`` the village's population, and ``base[i]`` the time from the nearest *existing*
unit, which stays (as "required" facilities in ArcGIS Location-Allocation). Models:

- :func:`max_covering` (MCLP): add ``p`` sites to cover the most people not yet covered;
- :func:`set_covering` (LSCP): the fewest sites that cover every village a candidate can reach;
- :func:`p_median`: add ``p`` sites for the least population-weighted time;
- :func:`p_center`: add ``p`` sites for the least worst time.

Exact models are mixed-integer programmes solved by HiGHS (``scipy.optimize.milp``); the
heuristics (greedy, then one-for-one swaps while they help; max covering and p-median) are for
sizes beyond them, and report their gap to a proven bound (LP relaxation, Lagrangian).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from emgis._errors import SitingError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Solution:
    """A siting solution.

    Attributes
    ----------
    sites
        Positions of the chosen candidates, in the order they add most (marginal gain).
    objective
        The model's objective (persons covered, sites, person-minutes or minutes).
    gains
        For each chosen site, in order, the persons it newly covers (covering models) or the
        person-minutes the sites up to it save together (p-median).
    model, method, status
        Which model; ``"milp"`` or ``"heuristic"``; the solver's status (``"optimal"``...).
    bound
        The proven bound the objective is measured against, where one is computed: the
        LP relaxation (max covering heuristic), HiGHS's dual bound (a MILP stopped by its
        time limit), a Lagrangian bound (p-median heuristic); ``None`` for MILPs solved to
        optimality.
    seconds
        Solve time.
    """

    sites: tuple[int, ...]
    objective: float
    gains: tuple[float, ...]
    model: str
    method: str
    status: str
    bound: float | None
    seconds: float

    @property
    def gap(self) -> float | None:
        """Relative gap to the bound (0 = proven optimal), where there is a bound."""
        if self.bound is None or self.bound == 0:
            return None
        return abs(self.bound - self.objective) / abs(self.bound)


def _reaches(value: float, bound: float) -> bool:
    """Whether ``value`` equals ``bound`` up to rounding: the bound then proves it optimal."""
    return abs(bound - value) <= 1e-9 * max(1.0, abs(bound))


def _newly_coverable(times: FloatArray, target: float, base: FloatArray) -> npt.NDArray[np.bool_]:
    """cover[j, i]: candidate j reaches village i within target, and i is not covered yet."""
    return (times <= target + 1e-9) & ~(base <= target + 1e-9)[None, :]


def _covered_persons(cover: npt.NDArray[np.bool_], weights: FloatArray,
                     sites: list[int]) -> float:
    """Persons in the villages that at least one of ``sites`` newly covers."""
    return float(weights[cover[sites].any(axis=0)].sum()) if sites else 0.0


def _order_by_gain(cover: npt.NDArray[np.bool_], weights: FloatArray,
                   sites: list[int]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Sites ordered greedily by the persons each newly covers after the ones before it."""
    left = list(sites)
    covered = np.zeros(cover.shape[1], dtype=bool)
    order: list[int] = []
    gains: list[float] = []
    while left:
        g = [float(weights[cover[j] & ~covered].sum()) for j in left]
        k = int(np.argmax(g))
        j = left.pop(k)
        order.append(j)
        gains.append(g[k])
        covered |= cover[j]
    return tuple(order), tuple(gains)


def max_covering(times: FloatArray, weights: FloatArray, base: FloatArray, target: float,
                 p: int, *, method: str = "milp", time_limit: float = 300.0) -> Solution:
    """Add ``p`` sites covering the most persons not covered within ``target`` minutes yet.

    ``method="milp"`` solves the MILP exactly (HiGHS), after dropping candidates whose cover
    another candidate's contains. If HiGHS stops at ``time_limit`` seconds, the better of its
    incumbent and the heuristic's solution is returned with the MILP's proven bound, so the
    gap says how far from the optimum it can be. ``method="heuristic"``: greedy and swaps,
    with the LP-relaxation bound.
    """
    t0 = time.perf_counter()
    cover = _newly_coverable(times, target, base)
    useful = cover.any(axis=0)
    p = int(min(p, times.shape[0]))
    if method == "heuristic":
        sites = _greedy_swap(cover, weights, p)
        obj = _covered_persons(cover, weights, sites)
        bound = _mclp_bound(cover[:, useful], weights[useful], p)
        order, gains = _order_by_gain(cover, weights, sites)
        return Solution(order, obj, gains, "max_covering", "heuristic",
                        "optimal" if _reaches(obj, bound) else "feasible", bound,
                        time.perf_counter() - t0)
    a = cover[:, useful]
    w = weights[useful]
    kept = np.flatnonzero(~_dominated(a))  # an optimum never needs a dominated candidate
    if len(kept) == 0:
        return Solution((), 0.0, (), "max_covering", "milp", "optimal", None,
                        time.perf_counter() - t0)
    a = a[kept]
    n_c, n_v = a.shape
    # variables: x_j (sites), y_i (villages covered); maximise w.y
    c = np.concatenate([np.zeros(n_c), -w])
    link = sp.hstack([-sp.csr_matrix(a.T.astype(float)), sp.identity(n_v)])  # y_i <= sum x
    count = sp.hstack([sp.csr_matrix(np.ones((1, n_c))), sp.csr_matrix((1, n_v))])
    cons = [LinearConstraint(link, -np.inf, 0), LinearConstraint(count, -np.inf, p)]
    res = milp(c, constraints=cons, integrality=np.concatenate([np.ones(n_c), np.zeros(n_v)]),
               bounds=Bounds(0, 1), options={"time_limit": time_limit})
    sites = [int(kept[j]) for j in np.flatnonzero(res.x[:n_c] > 0.5)] if res.x is not None \
        else []
    obj = _covered_persons(cover, weights, sites)
    method_used, status, bound = "milp", "optimal", float("nan")
    if res.status != 0:
        # stopped (time limit): keep the better of the incumbent and the heuristic, and say
        # how far it may be from the optimum by the MILP's proven bound
        dual = getattr(res, "mip_dual_bound", None)
        bound = float(-dual) if dual is not None and np.isfinite(dual) else \
            _mclp_bound(cover[:, useful], weights[useful], p)
        status = "time limit" if res.status == 1 else f"stopped: {res.message}"
        alt = _greedy_swap(cover, weights, p)
        alt_obj = _covered_persons(cover, weights, alt)
        if alt_obj > obj:  # method says whose solution is kept
            sites, obj, method_used = alt, alt_obj, "heuristic"
        if _reaches(obj, bound):
            status = "optimal"  # the bound proves it
    order, gains = _order_by_gain(cover, weights, sites)
    return Solution(order, obj, gains, "max_covering", method_used, status,
                    None if np.isnan(bound) else bound, time.perf_counter() - t0)


def _dominated(a: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Candidates whose cover (rows of ``a``) is empty or within another candidate's.

    Of candidates with the same cover the first is kept. Swapping a dominated candidate for
    its dominator never lowers a covering objective, so the kept ones hold an optimum.
    """
    m = sp.csr_matrix(a.astype(np.float64))
    size = np.asarray(m.sum(axis=1)).ravel()
    ov = (m @ m.T).tocoo()
    r, k, n = ov.row, ov.col, ov.data
    within = (n == size[r]) & (r != k) & ((size[k] > size[r]) | ((size[k] == size[r]) & (k < r)))
    out: npt.NDArray[np.bool_] = size == 0
    out[r[within]] = True
    return out


def capacitated_covering(times: FloatArray, weights: FloatArray, base: FloatArray,
                         target: float, p: int, capacity: float | FloatArray, *,
                         time_limit: float = 300.0) -> Solution:
    """Maximal covering where each new site serves at most ``capacity`` persons.

    For stockpiles and shelters: persons of villages not yet covered are assigned (in part,
    if need be) to chosen sites within ``target``; a site takes at most its capacity.
    Variables: x_j (open), z_ij (persons of village i served by j); maximise sum z.
    """
    t0 = time.perf_counter()
    cover = _newly_coverable(times, target, base)
    n_c, n_v = cover.shape
    cap = np.broadcast_to(np.asarray(capacity, dtype=float), (n_c,))
    pairs = np.argwhere(cover)  # (j, i)
    k = len(pairs)
    if k == 0 or p <= 0:
        return Solution((), 0.0, (), "capacitated_covering", "milp", "optimal", None,
                        time.perf_counter() - t0)
    n = n_c + k
    c = np.concatenate([np.zeros(n_c), -np.ones(k)])
    z = n_c + np.arange(k)
    village = sp.csr_matrix((np.ones(k), (pairs[:, 1], z)), shape=(n_v, n))
    site = sp.csr_matrix((np.concatenate([np.ones(k), -cap]),
                          (np.concatenate([pairs[:, 0], np.arange(n_c)]),
                           np.concatenate([z, np.arange(n_c)]))), shape=(n_c, n))
    count = sp.csr_matrix((np.ones(n_c), (np.zeros(n_c, int), np.arange(n_c))), shape=(1, n))
    upper = np.concatenate([np.ones(n_c), weights[pairs[:, 1]]])
    res = milp(c, constraints=[LinearConstraint(village, -np.inf, weights),
                               LinearConstraint(site, -np.inf, 0),
                               LinearConstraint(count, -np.inf, p)],
               integrality=np.concatenate([np.ones(n_c), np.zeros(k)]),
               bounds=Bounds(0, upper), options={"time_limit": time_limit})
    sites = [int(j) for j in np.flatnonzero(res.x[:n_c] > 0.5)] if res.x is not None else []
    served = np.zeros(n_c)
    if res.x is not None:
        np.add.at(served, pairs[:, 0], res.x[n_c:])
    order = sorted(sites, key=lambda j: (-served[j], j))
    return Solution(tuple(order), float(-res.fun) if res.fun is not None else 0.0,
                    tuple(float(round(served[j], 3)) for j in order), "capacitated_covering",
                    "milp", "optimal" if res.status == 0 else str(res.message), None,
                    time.perf_counter() - t0)


def _mclp_bound(a: npt.NDArray[np.bool_], w: FloatArray, p: int,
                time_limit: float = 120.0) -> float:
    """LP-relaxation bound of the maximal covering objective (HiGHS interior point).

    If the LP does not finish in ``time_limit`` seconds, the weaker bound "the p largest
    single-site covers added up" is returned instead.
    """
    from scipy.optimize import linprog

    n_c, n_v = a.shape
    if n_v == 0:
        return 0.0
    single = np.sort(sp.csr_matrix(a.astype(float)) @ w)[::-1][:p].sum()
    c = np.concatenate([np.zeros(n_c), -w])
    link = sp.hstack([-sp.csr_matrix(a.T.astype(float)), sp.identity(n_v)]).tocsr()
    count = sp.hstack([sp.csr_matrix(np.ones((1, n_c))), sp.csr_matrix((1, n_v))]).tocsr()
    res = linprog(c, A_ub=sp.vstack([link, count]).tocsr(),
                  b_ub=np.concatenate([np.zeros(n_v), [p]]), bounds=(0, 1),
                  method="highs-ipm", options={"time_limit": time_limit})
    if res.status != 0 or res.fun is None:
        return float(single)
    return float(min(-res.fun, single))


def _greedy_swap(cover: npt.NDArray[np.bool_], weights: FloatArray, p: int) -> list[int]:
    """Greedy maximal covering, then one-for-one swaps while one improves the cover.

    Works on a sparse candidate x village matrix, keeping per village the number of chosen
    sites that cover it, so each step is a sparse matrix-vector product.
    """
    a = sp.csr_matrix(cover.astype(np.float64))
    n_c, n_v = a.shape
    chosen: list[int] = []
    count = np.zeros(n_v)
    for _ in range(min(p, n_c)):
        gain = a @ (weights * (count == 0))
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        count += a[j].toarray().ravel()

    def value(c: npt.NDArray[np.float64]) -> float:
        return float(weights[c > 0].sum())

    best = value(count)
    improved = True
    while improved:
        improved = False
        for k in list(chosen):
            without = count - a[k].toarray().ravel()
            gain = a @ (weights * (without == 0))
            gain[chosen] = -1.0
            j = int(np.argmax(gain))
            if gain[j] <= 0:
                continue
            cand = without + a[j].toarray().ravel()
            v = value(cand)
            if v > best + 1e-9:
                chosen = [c for c in chosen if c != k] + [j]
                count, best, improved = cand, v, True
                break
    return sorted(chosen)


def set_covering(times: FloatArray, weights: FloatArray, base: FloatArray, target: float, *,
                 time_limit: float = 300.0) -> tuple[Solution, npt.NDArray[np.bool_]]:
    """The fewest new sites that bring every coverable village within ``target``.

    Returns the solution and a mask of the villages no candidate can cover (and that existing
    units do not cover): the model is solved for the rest, and these are listed, not failed on.
    """
    t0 = time.perf_counter()
    cover = _newly_coverable(times, target, base)
    need = ~(base <= target + 1e-9)
    unreachable = need & ~cover.any(axis=0)
    cols = need & ~unreachable
    a = cover[:, cols]
    if a.shape[1] == 0:
        return Solution((), 0.0, (), "set_covering", "milp", "optimal", None,
                        time.perf_counter() - t0), unreachable
    kept = np.flatnonzero(~_dominated(a))
    a = a[kept]
    n_c = a.shape[0]
    res = milp(np.ones(n_c), constraints=[LinearConstraint(sp.csr_matrix(a.T.astype(float)),
                                                           1, np.inf)],
               integrality=np.ones(n_c), bounds=Bounds(0, 1), options={"time_limit": time_limit})
    sites = [int(kept[j]) for j in np.flatnonzero(res.x > 0.5)] if res.x is not None else []
    order, gains = _order_by_gain(cover, weights, sites)
    return Solution(order, float(len(sites)), gains, "set_covering", "milp",
                    "optimal" if res.status == 0 else str(res.message), None,
                    time.perf_counter() - t0), unreachable


def _assignment_milp(times: FloatArray, weights: FloatArray, base: FloatArray, p: int,
                     *, center: bool, time_limit: float) -> tuple[list[int], float, str]:
    """p-median (sum) or p-center (max) with the existing units as a fixed option per village.

    Variables: x_j (open candidate), z_ij (village i served by j), e_i (served by existing),
    and for the p-center the worst time W.
    """
    n_c, n_v = times.shape
    base_c = _penalised(times, base)
    ok = np.isfinite(times)
    pairs = np.argwhere(ok)  # (j, i)
    k = len(pairs)
    nx_ = n_c + k + n_v + (1 if center else 0)
    cost = np.zeros(nx_)
    if not center:
        cost[n_c:n_c + k] = weights[pairs[:, 1]] * times[pairs[:, 0], pairs[:, 1]]
        cost[n_c + k:n_c + k + n_v] = weights * base_c
    else:
        cost[-1] = 1.0
    rows: list[sp.csr_matrix] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []
    # each village served once: sum_j z_ij + e_i = 1
    assign = sp.csr_matrix((np.ones(k), (pairs[:, 1], n_c + np.arange(k))), shape=(n_v, nx_)) + \
        sp.csr_matrix((np.ones(n_v), (np.arange(n_v), n_c + k + np.arange(n_v))),
                      shape=(n_v, nx_))
    rows.append(assign)
    lo.append(np.ones(n_v))
    hi.append(np.ones(n_v))
    # z_ij <= x_j
    link = sp.csr_matrix((np.concatenate([np.ones(k), -np.ones(k)]),
                          (np.concatenate([np.arange(k), np.arange(k)]),
                           np.concatenate([n_c + np.arange(k), pairs[:, 0]]))), shape=(k, nx_))
    rows.append(link)
    lo.append(np.full(k, -np.inf))
    hi.append(np.zeros(k))
    count = sp.csr_matrix((np.ones(n_c), (np.zeros(n_c, int), np.arange(n_c))), shape=(1, nx_))
    rows.append(count)
    lo.append(np.array([-np.inf]))
    hi.append(np.array([float(p)]))
    if center:  # time of each village <= W
        tv = sp.csr_matrix((times[pairs[:, 0], pairs[:, 1]], (pairs[:, 1], n_c + np.arange(k))),
                           shape=(n_v, nx_)) + sp.csr_matrix(
            (base_c, (np.arange(n_v), n_c + k + np.arange(n_v))), shape=(n_v, nx_)) + \
            sp.csr_matrix((-np.ones(n_v), (np.arange(n_v), np.full(n_v, nx_ - 1))),
                          shape=(n_v, nx_))
        rows.append(tv)
        lo.append(np.full(n_v, -np.inf))
        hi.append(np.zeros(n_v))
    a = sp.vstack(rows).tocsr()
    integrality = np.zeros(nx_)
    integrality[:n_c] = 1
    upper = np.ones(nx_)
    if center:
        upper[-1] = np.inf
    res = milp(cost, constraints=[LinearConstraint(a, np.concatenate(lo), np.concatenate(hi))],
               integrality=integrality, bounds=Bounds(0, upper),
               options={"time_limit": time_limit})
    sites = [int(j) for j in np.flatnonzero(res.x[:n_c] > 0.5)] if res.x is not None else []
    return sites, float(res.fun) if res.fun is not None else float("nan"), (
        "optimal" if res.status == 0 else str(res.message))


def _penalised(times: FloatArray, base: FloatArray) -> FloatArray:
    """``base`` with ``inf`` (no existing unit reaches the village) as a large finite time.

    The penalty (ten times the longest finite time, plus 1,000 minutes) makes serving such a
    village from a new site worth more than anything else, and keeps sums finite.
    """
    fin_t = times[np.isfinite(times)]
    fin_b = base[np.isfinite(base)]
    big = max(float(fin_t.max()) if fin_t.size else 0.0, float(fin_b.max()) if fin_b.size
              else 0.0)
    out: FloatArray = np.where(np.isfinite(base), base, big * 10 + 1000)
    return out


def _weighted_min(times: FloatArray, cur: FloatArray, w: FloatArray,
                  chunk: int = 256) -> FloatArray:
    """For every candidate j: sum_i w_i min(cur_i, times[j, i]) (person-minutes), by chunks."""
    out = np.empty(times.shape[0])
    for s in range(0, times.shape[0], chunk):
        out[s:s + chunk] = np.minimum(times[s:s + chunk], cur[None, :]) @ w
    return out


def _p_median_greedy_swap(times: FloatArray, w: FloatArray, cur0: FloatArray,
                          p: int) -> list[int]:
    """Greedy p-median (each step the site saving most person-minutes), then one-for-one swaps
    (Teitz and Bart) while one lowers the total. ``cur0``: each village's time without new sites.
    """
    chosen: list[int] = []
    cur = cur0.copy()
    total = float(cur @ w)
    for _ in range(min(p, times.shape[0])):
        val = _weighted_min(times, cur, w)
        val[chosen] = np.inf
        j = int(np.argmin(val))
        if not val[j] < total - 1e-9:
            break
        chosen.append(j)
        cur = np.minimum(cur, times[j])
        total = float(val[j])
    improved = True
    while improved:
        improved = False
        for k in list(chosen):
            rest = [c for c in chosen if c != k]
            without = served_times(times, cur0, rest)
            val = _weighted_min(times, without, w)
            val[chosen] = np.inf
            j = int(np.argmin(val))
            if val[j] < total - 1e-9 * max(1.0, total):
                chosen = [*rest, j]
                cur = np.minimum(without, times[j])
                total = float(val[j])
                improved = True
    return sorted(chosen)


def _p_median_lagrangian_bound(times: FloatArray, w: FloatArray, cur0: FloatArray, p: int,
                               sites: list[int], upper: float, iterations: int = 60) -> float:
    """A lower bound of the least total person-minutes with ``p`` new sites (Lagrangian).

    The constraints "each village served once" are relaxed with multipliers ``lam``:
    L(lam) = sum lam + sum min(0, w cur0 - lam) + the p smallest of
    rho_j = sum_i min(0, w_i t_ji - lam_i). Every L(lam) is a valid bound; the multipliers
    start from the heuristic's times and are improved by subgradient steps.
    """
    wt_fin = np.isfinite(times)
    lam = w * served_times(times, cur0, sites)
    best = -np.inf
    theta = 1.0
    stall = 0
    n_c = times.shape[0]
    for _ in range(iterations):
        rho = np.empty(n_c)
        for s in range(0, n_c, 256):
            block = np.where(wt_fin[s:s + 256], times[s:s + 256] * w[None, :], np.inf)
            rho[s:s + 256] = np.minimum(0.0, block - lam[None, :]).sum(axis=1)
        k = min(p, n_c)
        pick = np.argsort(rho, kind="stable")[:k]
        pick = pick[rho[pick] < 0]
        own = w * cur0 - lam
        value = float(lam.sum() + np.minimum(0.0, own).sum() + rho[pick].sum())
        if not np.isfinite(best) or value > best + 1e-9 * max(1.0, abs(best)):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2, 0
        # subgradient of L at lam: 1 - (times village i is served in the relaxed solution)
        served = (own < 0).astype(float)
        if len(pick):
            served += (np.where(wt_fin[pick], times[pick] * w[None, :], np.inf)
                       < lam[None, :]).sum(axis=0)
        g = 1.0 - served
        norm = float(g @ g)
        if norm == 0 or upper - best <= 1e-9 * max(1.0, abs(upper)):
            break
        lam = lam + theta * (upper - best) / norm * g
    return float(min(best, upper))


def served_times(times: FloatArray, base: FloatArray, sites: list[int] | tuple[int, ...]
                 ) -> FloatArray:
    """Each village's time from the nearest of the existing units and the chosen sites."""
    if not sites:
        return base.copy()
    out: FloatArray = np.minimum(base, times[list(sites)].min(axis=0))
    return out


def p_median(times: FloatArray, weights: FloatArray, base: FloatArray, p: int, *,
             method: str = "milp", time_limit: float = 300.0) -> Solution:
    """Add ``p`` sites for the least population-weighted response time (existing units stay).

    ``method="milp"``: exact (HiGHS), one variable per candidate-village pair with a finite
    time. ``method="heuristic"``: greedy and swaps, for sizes beyond that, with a Lagrangian
    lower bound of the person-minutes (``bound``; ``gap`` = how far from the optimum it can be).
    """
    t0 = time.perf_counter()
    bound = None
    if method == "heuristic":
        reach = np.isfinite(base) | np.isfinite(times).any(axis=0)
        cur0 = _penalised(times[:, reach], base[reach])
        w = weights[reach]
        t_reach = times[:, reach]
        sites = _p_median_greedy_swap(t_reach, w, cur0, p)
        upper = float(w @ served_times(t_reach, cur0, sites))
        lower = _p_median_lagrangian_bound(t_reach, w, cur0, p, sites, upper)
        status = "feasible"
        after = served_times(times, base, sites)
        if np.isfinite(after[reach]).all():  # no penalty in the total: the bound applies to it
            bound = lower
            status = "optimal" if _reaches(upper, lower) else status
    else:
        sites, _, status = _assignment_milp(times, weights, base, p, center=False,
                                            time_limit=time_limit)
    t = served_times(times, base, sites)
    fin = np.isfinite(t)
    obj = float((weights[fin] * t[fin]).sum())
    before = float((weights[np.isfinite(base)] * base[np.isfinite(base)]).sum())
    gains = tuple(before - float((weights[fin] * served_times(times, base, sites[:k + 1])[fin])
                                 .sum()) for k in range(len(sites)))
    return Solution(tuple(sites), obj, gains, "p_median", method, status, bound,
                    time.perf_counter() - t0)


def p_center(times: FloatArray, weights: FloatArray, base: FloatArray, p: int, *,
             time_limit: float = 300.0) -> Solution:
    """Add ``p`` sites for the least worst response time over the reachable villages."""
    t0 = time.perf_counter()
    reach = np.isfinite(base) | np.isfinite(times).any(axis=0)
    sites, _, status = _assignment_milp(times[:, reach], weights[reach], base[reach], p,
                                        center=True, time_limit=time_limit)
    t = served_times(times[:, reach], base[reach], sites)
    return Solution(tuple(sites), float(t.max()) if len(t) else 0.0, (), "p_center", "milp",
                    status, None, time.perf_counter() - t0)


# --- GeoDataFrame adapter ---------------------------------------------------------------------

#: Candidates closer than this to an existing unit of the kind count as on top of it, metres.
ON_TOP_M = 50.0


def candidate_sites(district: object, kind: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Candidate sites for new units of ``kind``, and the ones excluded with the reason.

    Candidates: every village and community centre, the public buildings of the district's
    layers (shelters, stockpiles, teams' bases) and the optional ``candidates`` layer. A
    candidate on top of an existing unit of the kind (within 50 m) is excluded.
    """
    from emgis.coverage import units_of
    from emgis.district import District

    assert isinstance(district, District)
    v = district.villages
    parts = [pd.DataFrame({"id": "village:" + v["id"].astype(str), "name": v["name"],
                           "source": "village centre", "geometry": v.geometry})]
    for layer in ("shelters", "stockpiles", "teams"):
        g = getattr(district, layer)
        if len(g):
            parts.append(pd.DataFrame({"id": f"{layer}:" + g["id"].astype(str),
                                       "name": g["name"], "source": layer,
                                       "geometry": g.geometry}))
    c = district.candidates
    if len(c):
        parts.append(pd.DataFrame({"id": "candidate:" + c["id"].astype(str), "name": c["name"],
                                   "source": "candidates layer", "geometry": c.geometry}))
    cand = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                            crs=district.crs)
    units = units_of(district)
    existing = units[units["kind"] == kind]
    excluded = []
    keep = np.ones(len(cand), dtype=bool)
    if len(existing):
        d = np.array([existing.distance(g).min() for g in cand.geometry])
        on_top = d <= ON_TOP_M
        keep &= ~on_top
        excluded += [{"id": i, "name": n, "reason": "on top of an existing unit"}
                     for i, n in zip(cand["id"][on_top], cand["name"][on_top], strict=True)]
    # one candidate per location (a village centre and a school at the same point)
    xy = np.round(np.column_stack([cand.geometry.x, cand.geometry.y]), 0)
    _, first = np.unique(xy, axis=0, return_index=True)
    dup = np.ones(len(cand), dtype=bool)
    dup[first] = False
    keep &= ~dup
    return cand[keep].reset_index(drop=True), pd.DataFrame(
        excluded, columns=["id", "name", "reason"])


@dataclass(frozen=True)
class SitingResult:
    """A siting run on a district: proposals ranked by marginal gain, and what was left out."""

    kind: str
    solution: Solution
    proposals: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    excluded: pd.DataFrame
    unreachable: pd.DataFrame
    target_min: float


MODELS = ("max_covering", "capacitated_covering", "p_median", "p_center")
METHODS = ("milp", "heuristic")
#: Models with a heuristic (``method="heuristic"``); the others are solved exactly only.
HEURISTIC_MODELS = ("max_covering", "p_median")


def check_request(model: str, *, method: str = "milp", cover_all: bool = False,
                  capacity: float | None = None) -> None:
    """Raise :class:`SitingError` for a model, method and options that do not go together.

    Parameters are those of :func:`site_units`; called by it, and by the CLI before any work.
    """
    if model not in MODELS:
        raise SitingError(f"model {model!r}: expected one of {', '.join(MODELS)}")
    if method not in METHODS:
        raise SitingError(f"method {method!r}: expected milp or heuristic")
    if method == "heuristic" and (cover_all or model not in HEURISTIC_MODELS):
        what = "set covering (cover all)" if cover_all else model
        raise SitingError(f"{what} has no heuristic: use method milp (exact), or a model with "
                          f"one ({', '.join(HEURISTIC_MODELS)})")
    if model == "capacitated_covering" and not cover_all and (capacity is None or capacity <= 0):
        raise SitingError("capacitated_covering needs the persons a site can serve: give "
                          "capacity (--capacity N) greater than 0")


def site_units(district: object, edges: object, kind: str, *, add: int | None = None,
               cover_all: bool = False, model: str = "max_covering", method: str = "milp",
               capacity: float | None = None, time_limit: float = 300.0) -> SitingResult:
    """Where new units of ``kind`` do the most good, existing units fixed.

    Parameters
    ----------
    district, edges
        The loaded district and its road network's edge arrays.
    kind
        A unit kind with a target (``micro_fire_station``, ``stockpile`` ...).
    add
        Number of new sites (max_covering, p_median, p_center).
    cover_all
        The fewest new sites covering every village a candidate can reach (set covering).
    model
        ``max_covering``, ``capacitated_covering``, ``p_median`` or ``p_center`` (ignored with
        ``cover_all``).
    capacity
        Persons a new site can serve (``capacitated_covering``, e.g. for stockpiles).
    method
        ``milp`` (exact, HiGHS) or ``heuristic`` (max_covering and p_median only).
    time_limit
        Seconds the exact solver may take (see :func:`max_covering` for what happens then).
    """
    from emgis.coverage import compute_coverage, mode_of, target_of, towards_unit
    from emgis.district import District
    from emgis.network import EdgeArrays
    from emgis.snapping import snap_points
    from emgis.traveltime import build_routing_graph, times_from

    assert isinstance(district, District) and isinstance(edges, EdgeArrays)
    check_request(model, method=method, cover_all=cover_all, capacity=capacity)
    s = district.settings
    target = target_of(kind, s)
    turnout = float(s.turnout[kind].value) if kind in s.turnout else 0.0
    if towards_unit(kind):  # villagers go to shelters: no turnout
        turnout = 0.0
    cand, excluded = candidate_sites(district, kind)
    v = district.villages
    base_table = compute_coverage(district, edges, kinds=(kind,)).table
    base = base_table["nearest_min"].to_numpy(dtype=float)
    base = np.where(np.isnan(base), np.inf, base)
    pts = pd.concat([v.geometry, cand.geometry], ignore_index=True)
    snaps = snap_points(edges, gpd.GeoSeries(pts, crs=district.crs), settings=s)
    rg = build_routing_graph(edges, snaps, mode=mode_of(kind, s),  # type: ignore[arg-type]
                             walk_kph=s.speed_kph("walk"))
    if towards_unit(kind):
        rg = rg.reversed()
    no_road = snaps["status"].to_numpy()[len(v):] == "no_road_access"
    if no_road.any():
        excluded = pd.concat([excluded, pd.DataFrame({
            "id": cand["id"][no_road], "name": cand["name"][no_road],
            "reason": "no road access"})], ignore_index=True)
    limit = target if (cover_all or model.endswith("covering")) else max(4 * target, 60.0)
    cidx = np.arange(len(v), len(v) + len(cand))
    t = times_from(rg, cidx, offsets=np.full(len(cand), turnout), limit=limit)
    vnodes = rg.loc_node[: len(v)]
    times = np.full((len(cand), len(v)), np.inf)
    ok = vnodes >= 0
    times[:, ok] = t[:, vnodes[ok]] + rg.loc_access[: len(v)][ok][None, :]
    times[no_road] = np.inf
    weights = v["population"].fillna(0).to_numpy(dtype=float)
    unreachable = np.zeros(len(v), dtype=bool)
    if cover_all:
        sol, unreachable = set_covering(times, weights, base, target, time_limit=time_limit)
    elif model == "max_covering":
        sol = max_covering(times, weights, base, target, int(add or 1), method=method,
                           time_limit=time_limit)
    elif model == "capacitated_covering":
        sol = capacitated_covering(times, weights, base, target, int(add or 1),
                                   float(capacity or 0), time_limit=time_limit)
    elif model == "p_median":
        sol = p_median(times, weights, base, int(add or 1), method=method,
                       time_limit=time_limit)
    else:
        sol = p_center(times, weights, base, int(add or 1), time_limit=time_limit)
    after = served_times(times, base, sol.sites)
    before_cov = base <= target + 1e-9
    after_cov = after <= target + 1e-9
    rows = []
    covered = before_cov.copy()
    for rank, j in enumerate(sol.sites, start=1):
        new = (times[j] <= target + 1e-9) & ~covered
        covered |= new
        rows.append({"rank": rank, "site_id": cand["id"].iloc[j], "name": cand["name"].iloc[j],
                     "source": cand["source"].iloc[j],
                     "newly_covered_population": round(sol.gains[rank - 1])
                     if sol.model == "capacitated_covering" else int(weights[new].sum()),
                     "gain": round(float(sol.gains[rank - 1]), 1) if rank <= len(sol.gains)
                     else None,
                     "villages": ";".join(f"{a} {b}" for a, b in zip(
                         v["id"][new], v["name"][new], strict=True)),
                     "geometry": cand.geometry.iloc[j]})
    proposals = gpd.GeoDataFrame(rows, geometry="geometry", crs=district.crs) if rows else \
        gpd.GeoDataFrame({"rank": [], "site_id": [], "name": [], "source": [],
                          "newly_covered_population": [], "villages": []}, geometry=[],
                         crs=district.crs)
    best = times.min(axis=0) if len(cand) else np.full(len(v), np.inf)
    unr = pd.DataFrame({"village_id": v["id"][unreachable], "village_name": v["name"][unreachable],
                        "population": weights[unreachable].astype(int),
                        "best_possible_min": np.round(best[unreachable], 2)})
    villages = gpd.GeoDataFrame({
        "village_id": v["id"].to_numpy(), "village_name": v["name"].to_numpy(),
        "population": weights.astype(int),
        "before_min": np.where(np.isfinite(base), np.round(base, 2), np.nan),
        "after_min": np.where(np.isfinite(after), np.round(after, 2), np.nan),
        "covered_before": before_cov, "covered_after": after_cov,
        "newly_covered": after_cov & ~before_cov}, geometry=v.geometry.to_numpy(),
        crs=district.crs)
    return SitingResult(kind, sol, proposals, villages, excluded, unr, target)
