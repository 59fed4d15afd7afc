"""Median and centre models: the least population-weighted time (p-median, exact assignment
MILP or greedy plus swaps with a Lagrangian bound) and the least worst time (p-center)."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from emgis._types import FloatArray
from emgis.locate.pairs import Pairs, Solution, _auto, _reaches, served_times


def _useful_pairs(pairs: Pairs, base: FloatArray) -> Pairs:
    """Only the pairs where the candidate would be faster than the existing units: a village
    is never better served by a slower new site, so these hold every optimum."""
    return pairs.select(pairs.t < base[pairs.col] - 1e-12)


def _assignment_milp(pairs: Pairs, weights: FloatArray, base: FloatArray, p: int,
                     *, center: bool, time_limit: float) -> tuple[list[int], float, str, float]:
    """p-median (sum) or p-center (max) with the existing units as a fixed option per village.

    Variables: x_j (open candidate), z_ij (village i served by j, for the useful pairs), e_i
    (served by existing), and for the p-center the worst time W. Returns the sites, the
    objective, the status and HiGHS's dual bound.
    """
    n_c, n_v = pairs.shape
    base_c = _penalised(pairs, base)
    use = _useful_pairs(pairs, base_c)
    pj, pi, pt = use.row, use.col, use.t
    k = len(pj)
    nx_ = n_c + k + n_v + (1 if center else 0)
    cost = np.zeros(nx_)
    if not center:
        cost[n_c:n_c + k] = weights[pi] * pt
        cost[n_c + k:n_c + k + n_v] = weights * base_c
    else:
        cost[-1] = 1.0
    rows: list[sp.csr_matrix] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []
    # each village served once: sum_j z_ij + e_i = 1
    assign = sp.csr_matrix((np.ones(k), (pi, n_c + np.arange(k))), shape=(n_v, nx_)) + \
        sp.csr_matrix((np.ones(n_v), (np.arange(n_v), n_c + k + np.arange(n_v))),
                      shape=(n_v, nx_))
    rows.append(assign)
    lo.append(np.ones(n_v))
    hi.append(np.ones(n_v))
    # z_ij <= x_j
    link = sp.csr_matrix((np.concatenate([np.ones(k), -np.ones(k)]),
                          (np.concatenate([np.arange(k), np.arange(k)]),
                           np.concatenate([n_c + np.arange(k), pj]))), shape=(k, nx_))
    rows.append(link)
    lo.append(np.full(k, -np.inf))
    hi.append(np.zeros(k))
    count = sp.csr_matrix((np.ones(n_c), (np.zeros(n_c, int), np.arange(n_c))), shape=(1, nx_))
    rows.append(count)
    lo.append(np.array([-np.inf]))
    hi.append(np.array([float(p)]))
    if center:  # time of each village <= W
        tv = sp.csr_matrix((pt, (pi, n_c + np.arange(k))), shape=(n_v, nx_)) + sp.csr_matrix(
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
    dual = getattr(res, "mip_dual_bound", None)
    return sites, float(res.fun) if res.fun is not None else float("nan"), (
        "optimal" if res.status == 0 else "time limit" if res.status == 1 else
        str(res.message)), float(dual) if dual is not None else float("nan")


def _penalised(times: FloatArray | Pairs, base: FloatArray) -> FloatArray:
    """``base`` with ``inf`` (no existing unit reaches the village) as a large finite time.

    The penalty (ten times the longest finite time, plus 1,000 minutes) makes serving such a
    village from a new site worth more than anything else, and keeps sums finite.
    """
    pairs = Pairs.of(times)
    fin_b = base[np.isfinite(base)]
    big = max(float(pairs.t.max()) if len(pairs.t) else 0.0,
              float(fin_b.max()) if fin_b.size else 0.0)
    out: FloatArray = np.where(np.isfinite(base), base, big * 10 + 1000)
    return out


def _savings(pairs: Pairs, cur: FloatArray, w: FloatArray) -> FloatArray:
    """For every candidate j: sum_i w_i max(0, cur_i - t_ji), the person-minutes it saves."""
    gain = w[pairs.col] * np.maximum(0.0, cur[pairs.col] - pairs.t)
    out: FloatArray = np.bincount(pairs.row, weights=gain, minlength=pairs.n_candidates
                                  ).astype(float)
    return out


def _p_median_greedy_swap(pairs: Pairs, w: FloatArray, cur0: FloatArray, p: int) -> list[int]:
    """Greedy p-median (each step the site saving most person-minutes), then one-for-one swaps
    (Teitz and Bart) while one lowers the total. ``cur0``: each village's time without new sites.
    """
    chosen: list[int] = []
    cur = cur0.copy()
    total = float(cur @ w)
    for _ in range(min(p, pairs.n_candidates)):
        save = _savings(pairs, cur, w)
        save[chosen] = -np.inf
        j = int(np.argmax(save))
        if not save[j] > 1e-9 * max(1.0, total):
            break
        chosen.append(j)
        cur = served_times(pairs, cur, [j])
        total = float(cur @ w)
    improved = True
    while improved:
        improved = False
        for k in list(chosen):
            rest = [c for c in chosen if c != k]
            without = served_times(pairs, cur0, rest)
            base_total = float(without @ w)
            save = _savings(pairs, without, w)
            save[chosen] = -np.inf
            j = int(np.argmax(save))
            if base_total - save[j] < total - 1e-9 * max(1.0, total):
                chosen = [*rest, j]
                cur = served_times(pairs, without, [j])
                total = float(cur @ w)
                improved = True
    return sorted(chosen)


def _p_median_lagrangian_bound(pairs: Pairs, w: FloatArray, cur0: FloatArray, p: int,
                               sites: list[int], upper: float, iterations: int = 60) -> float:
    """A lower bound of the least total person-minutes with ``p`` new sites (Lagrangian).

    The constraints "each village served once" are relaxed with multipliers ``lam``:
    L(lam) = sum lam + sum min(0, w cur0 - lam) + the p smallest of
    rho_j = sum_i min(0, w_i t_ji - lam_i). Every L(lam) is a valid bound; the multipliers
    start from the heuristic's times and are improved by subgradient steps.
    """
    lam = w * served_times(pairs, cur0, sites)
    best = -np.inf
    theta = 1.0
    stall = 0
    n_c = pairs.n_candidates
    wt = w[pairs.col] * pairs.t
    for _ in range(iterations):
        red = np.minimum(0.0, wt - lam[pairs.col])
        rho = np.bincount(pairs.row, weights=red, minlength=n_c)
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
            inpick = np.isin(pairs.row, pick) & (red < 0)
            served += np.bincount(pairs.col[inpick], minlength=len(w))
        g = 1.0 - served
        norm = float(g @ g)
        if norm == 0 or upper - best <= 1e-9 * max(1.0, abs(upper)):
            break
        lam = lam + theta * (upper - best) / norm * g
    return float(min(best, upper))


def p_median(times: FloatArray | Pairs, weights: FloatArray, base: FloatArray, p: int, *,
             method: str = "milp", time_limit: float = 300.0) -> Solution:
    """Add ``p`` sites for the least population-weighted response time (existing units stay).

    ``method="milp"``: exact (HiGHS), one variable per candidate-village pair where the
    candidate would beat the existing units; if HiGHS stops at ``time_limit`` the better of its
    incumbent and the heuristic's sites is kept, with its proven bound. ``"heuristic"``:
    greedy and swaps, with a Lagrangian lower bound (``bound``; ``gap`` = how far from the
    optimum it can be). ``"auto"``: the MILP up to :data:`AUTO_MILP_PAIRS` useful pairs, the
    heuristic above.

    The objective is the person-minutes over the villages any unit reaches; a village no
    existing unit reaches counts with a large penalty time, so reaching it comes first.
    """
    t0 = time.perf_counter()
    pairs = Pairs.of(times)
    reach = np.isfinite(base) | (np.bincount(pairs.col, minlength=len(base)) > 0)
    cur0 = _penalised(pairs, base)
    method = "enumeration" if method == "auto" and p == 1 else _auto(
        method, len(_useful_pairs(pairs, cur0).t))
    bound: float | None = None
    status = "feasible"
    if method == "enumeration":  # one site: every candidate's total, the best is the optimum
        save = _savings(pairs, cur0, weights * reach)
        sites = [int(np.argmax(save))] if len(save) and save.max() > 0 else []
        status = "optimal"
    elif method == "heuristic":
        sites = _heuristic_sites(pairs, weights, cur0, p, reach)
        upper = float(weights[reach] @ served_times(pairs, cur0, sites)[reach])
        w_r = weights * reach
        lower = _p_median_lagrangian_bound(pairs, w_r, cur0, p, sites, upper)
        after = served_times(pairs, base, sites)
        if np.isfinite(after[reach]).all():  # no penalty in the total: the bound applies to it
            bound = lower
            status = "optimal" if _reaches(upper, lower) else status
    else:
        sites, _, status, dual = _assignment_milp(pairs, weights, base, p, center=False,
                                                  time_limit=time_limit)
        if status != "optimal":
            alt = _heuristic_sites(pairs, weights, cur0, p, reach)
            mine = float(weights @ served_times(pairs, cur0, sites))
            theirs = float(weights @ served_times(pairs, cur0, alt))
            if theirs < mine:
                sites, method = alt, "heuristic"
            if np.isfinite(dual):
                bound = dual
    t = served_times(pairs, base, sites)
    fin = np.isfinite(t)
    obj = float((weights[fin] * t[fin]).sum())
    order, gains = _order_p_median(pairs, weights, base, sites)
    return Solution(order, obj, gains, "p_median", method, status, bound,
                    time.perf_counter() - t0)


def _heuristic_sites(pairs: Pairs, weights: FloatArray, cur0: FloatArray, p: int,
                     reach: npt.NDArray[np.bool_]) -> list[int]:
    return _p_median_greedy_swap(pairs, weights * reach, cur0, p)


def _order_p_median(pairs: Pairs, weights: FloatArray, base: FloatArray, sites: list[int]
                    ) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Sites ordered greedily by what each adds after the ones before it (persons newly
    reached first, then person-minutes saved); gains: person-minutes the sites up to each save
    together over the villages reached before."""
    left = list(sites)
    cur = base.copy()
    before = np.isfinite(base)
    order: list[int] = []
    gains: list[float] = []
    total0 = float(weights[before] @ base[before])
    while left:
        scores = []
        for j in left:
            t = served_times(pairs, cur, [j])
            newly = float(weights[~np.isfinite(cur) & np.isfinite(t)].sum())
            saved = float(weights[before] @ (cur[before] - t[before]))
            scores.append((newly, saved))
        k = max(range(len(left)), key=lambda i: scores[i])
        j = left.pop(k)
        order.append(j)
        cur = served_times(pairs, cur, [j])
        gains.append(round(total0 - float(weights[before] @ cur[before]), 6))
    return tuple(order), tuple(gains)


def p_center(times: FloatArray | Pairs, weights: FloatArray, base: FloatArray, p: int, *,
             time_limit: float = 300.0) -> Solution:
    """Add ``p`` sites for the least worst response time over the reachable villages."""
    t0 = time.perf_counter()
    pairs = Pairs.of(times)
    reach = np.isfinite(base) | (np.bincount(pairs.col, minlength=len(base)) > 0)
    idx = np.flatnonzero(reach)
    remap = np.full(len(base), -1, dtype=np.int64)
    remap[idx] = np.arange(len(idx))
    sub = pairs.select(reach[pairs.col])
    sub = Pairs((pairs.n_candidates, len(idx)), sub.row, remap[sub.col], sub.t)
    sites, _, status, dual = _assignment_milp(sub, weights[reach], base[reach], p, center=True,
                                              time_limit=time_limit)
    t = served_times(sub, base[reach], sites)
    return Solution(tuple(sites), float(t.max()) if len(t) else 0.0, (), "p_center", "milp",
                    status, dual if status != "optimal" and np.isfinite(dual) else None,
                    time.perf_counter() - t0)
