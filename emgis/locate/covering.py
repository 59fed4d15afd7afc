"""Covering models: the most persons within target for p new sites (maximal covering, with
capacities), the fewest sites covering everyone reachable (set covering), and share covering.

Exact models are mixed-integer programmes solved by HiGHS (``scipy.optimize.milp``); above
:data:`~emgis.locate.pairs.AUTO_MILP_PAIRS` pairs greedy plus swaps with a proven bound."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from emgis._types import FloatArray, IntArray
from emgis.locate.pairs import (
    Pairs,
    Solution,
    _auto,
    _covered_persons,
    _dominated,
    _newly_coverable,
    _order_by_gain,
    _reaches,
    _row,
    _with_best_others,
)


def max_covering(times: FloatArray | Pairs, weights: FloatArray, base: FloatArray,
                 target: float, p: int, *, method: str = "milp",
                 time_limit: float = 300.0) -> Solution:
    """Add ``p`` sites covering the most persons not covered within ``target`` minutes yet.

    ``method="milp"`` solves the MILP exactly (HiGHS), after dropping candidates whose cover
    another candidate's contains. If HiGHS stops at ``time_limit`` seconds, the better of its
    incumbent and the heuristic's solution is returned with the MILP's proven bound, so the
    gap says how far from the optimum it can be. ``method="heuristic"``: greedy and swaps,
    with the LP-relaxation bound. ``method="auto"``: the MILP up to
    :data:`AUTO_MILP_PAIRS` pairs, the heuristic above.
    """
    t0 = time.perf_counter()
    pairs = Pairs.of(times)
    cover = _newly_coverable(pairs, target, base)
    method = "enumeration" if method == "auto" and p == 1 else _auto(method, cover.nnz)
    useful = np.asarray(cover.sum(axis=0)).ravel() > 0
    p = int(min(p, pairs.n_candidates))
    if method == "enumeration":  # one site: the candidate covering most is the optimum
        gain = cover @ weights
        sites = [int(np.argmax(gain))] if len(gain) and gain.max() > 0 else []
        obj = _covered_persons(cover, weights, sites)
        order, gains = _order_by_gain(cover, weights, sites)
        return Solution(order, obj, gains, "max_covering", "enumeration", "optimal", None,
                        time.perf_counter() - t0)
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
    # only candidates that can be in a plan at least as good as greedy's (every optimum)
    may = np.flatnonzero(_may_improve(a, w, p))
    kept, a = kept[may], a[may]
    n_c, n_v = a.shape
    # variables: x_j (sites), y_i (villages covered); maximise w.y
    c = np.concatenate([np.zeros(n_c), -w])
    link = sp.hstack([-a.T.astype(float), sp.identity(n_v)])  # y_i <= sum x
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


def capacitated_covering(times: FloatArray | Pairs, weights: FloatArray, base: FloatArray,
                         target: float, p: int, capacity: float | FloatArray, *,
                         time_limit: float = 300.0) -> Solution:
    """Maximal covering where each new site serves at most ``capacity`` persons.

    For stockpiles and shelters: persons of villages not yet covered are assigned (in part,
    if need be) to chosen sites within ``target``; a site takes at most its capacity.
    Variables: x_j (open), z_ij (persons of village i served by j); maximise sum z.
    """
    t0 = time.perf_counter()
    pairs = Pairs.of(times)
    cover = _newly_coverable(pairs, target, base).tocoo()
    n_c, n_v = cover.shape
    cap = np.broadcast_to(np.asarray(capacity, dtype=float), (n_c,))
    pj, pi = cover.row.astype(np.int64), cover.col.astype(np.int64)
    k = len(pj)
    if k == 0 or p <= 0:
        return Solution((), 0.0, (), "capacitated_covering", "milp", "optimal", None,
                        time.perf_counter() - t0)
    n = n_c + k
    c = np.concatenate([np.zeros(n_c), -np.ones(k)])
    z = n_c + np.arange(k)
    village = sp.csr_matrix((np.ones(k), (pi, z)), shape=(n_v, n))
    site = sp.csr_matrix((np.concatenate([np.ones(k), -cap]),
                          (np.concatenate([pj, np.arange(n_c)]),
                           np.concatenate([z, np.arange(n_c)]))), shape=(n_c, n))
    count = sp.csr_matrix((np.ones(n_c), (np.zeros(n_c, int), np.arange(n_c))), shape=(1, n))
    upper = np.concatenate([np.ones(n_c), weights[pi]])
    res = milp(c, constraints=[LinearConstraint(village, -np.inf, weights),
                               LinearConstraint(site, -np.inf, 0),
                               LinearConstraint(count, -np.inf, p)],
               integrality=np.concatenate([np.ones(n_c), np.zeros(k)]),
               bounds=Bounds(0, upper), options={"time_limit": time_limit})
    sites = [int(j) for j in np.flatnonzero(res.x[:n_c] > 0.5)] if res.x is not None else []
    served = np.zeros(n_c)
    if res.x is not None:
        np.add.at(served, pj, res.x[n_c:])
    order = sorted(sites, key=lambda j: (-served[j], j))
    return Solution(tuple(order), float(-res.fun) if res.fun is not None else 0.0,
                    tuple(float(round(served[j], 3)) for j in order), "capacitated_covering",
                    "milp", "optimal" if res.status == 0 else str(res.message), None,
                    time.perf_counter() - t0)


def _may_improve(a: sp.csr_matrix, w: FloatArray, p: int) -> npt.NDArray[np.bool_]:
    """Candidates (rows of ``a``) that can be in a plan of ``p`` sites covering at least as
    many persons as greedy and swaps' plan, and so in every optimal plan.

    A plan's cover is at most the sum of its sites' own covers, so a plan holding candidate
    ``j`` covers at most ``j``'s persons plus the ``p - 1`` largest covers of the others: a
    candidate whose sum falls below the persons greedy's plan covers is in no optimum (nor in
    any plan as good). On a province's micro fire stations (11,433 candidates after dominance,
    19,130 villages, p = 3) 4 candidates are left and HiGHS's 9-11 s fall to milliseconds.
    """
    n_c = a.shape[0]
    if n_c <= p or p <= 0:
        return np.ones(n_c, dtype=bool)
    m = sp.csr_matrix(a, dtype=np.float64)
    found = _covered_persons(m, w, _greedy_swap(m, w, p))
    out: npt.NDArray[np.bool_] = _with_best_others(m @ w, p) >= \
        found - 1e-9 * max(1.0, abs(found))
    return out


def _mclp_bound(a: sp.csr_matrix, w: FloatArray, p: int, time_limit: float = 120.0) -> float:
    """LP-relaxation bound of the maximal covering objective (HiGHS interior point).

    If the LP does not finish in ``time_limit`` seconds, the weaker bound "the p largest
    single-site covers added up" is returned instead.
    """

    n_c, n_v = a.shape
    if n_v == 0:
        return 0.0
    a = sp.csr_matrix(a, dtype=float)
    single = np.sort(a @ w)[::-1][:p].sum()
    c = np.concatenate([np.zeros(n_c), -w])
    link = sp.hstack([-a.T, sp.identity(n_v)]).tocsr()
    count = sp.hstack([sp.csr_matrix(np.ones((1, n_c))), sp.csr_matrix((1, n_v))]).tocsr()
    res = linprog(c, A_ub=sp.vstack([link, count]).tocsr(),
                  b_ub=np.concatenate([np.zeros(n_v), [p]]), bounds=(0, 1),
                  method="highs-ipm", options={"time_limit": time_limit})
    if res.status != 0 or res.fun is None:
        return float(single)
    return float(min(-res.fun, single))


def _greedy_swap(cover: sp.csr_matrix, weights: FloatArray, p: int) -> list[int]:
    """Greedy maximal covering, then one-for-one swaps while one improves the cover.

    Works on the sparse candidate x village matrix, keeping per village the number of chosen
    sites that cover it, so each step is a sparse matrix-vector product.
    """
    a = sp.csr_matrix(cover, dtype=np.float64)
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
        count[_row(a, j)] += 1

    def value(c: npt.NDArray[np.float64]) -> float:
        return float(weights[c > 0].sum())

    best = value(count)
    improved = True
    while improved:
        improved = False
        for k in list(chosen):
            without = count.copy()
            without[_row(a, k)] -= 1
            gain = a @ (weights * (without == 0))
            gain[chosen] = -1.0
            j = int(np.argmax(gain))
            if gain[j] <= 0:
                continue
            cand = without.copy()
            cand[_row(a, j)] += 1
            v = value(cand)
            if v > best + 1e-9:
                chosen = [c for c in chosen if c != k] + [j]
                count, best, improved = cand, v, True
                break
    return sorted(chosen)


def set_covering(times: FloatArray | Pairs, weights: FloatArray, base: FloatArray,
                 target: float, *, time_limit: float = 300.0
                 ) -> tuple[Solution, npt.NDArray[np.bool_]]:
    """The fewest new sites that bring every coverable village within ``target``.

    Returns the solution and a mask of the villages no candidate can cover (and that existing
    units do not cover): the model is solved for the rest, and these are listed, not failed on.
    """
    t0 = time.perf_counter()
    pairs = Pairs.of(times)
    cover = _newly_coverable(pairs, target, base)
    need = ~(base <= target + 1e-9)
    coverable = np.asarray(cover.sum(axis=0)).ravel() > 0
    unreachable = need & ~coverable
    cols = need & ~unreachable
    a = cover[:, cols]
    if a.shape[1] == 0:
        return Solution((), 0.0, (), "set_covering", "milp", "optimal", None,
                        time.perf_counter() - t0), unreachable
    kept = np.flatnonzero(~_dominated(a))
    a = a[kept]
    n_c = a.shape[0]
    res = milp(np.ones(n_c), constraints=[LinearConstraint(a.T.tocsr(), 1, np.inf)],
               integrality=np.ones(n_c), bounds=Bounds(0, 1), options={"time_limit": time_limit})
    sites = [int(kept[j]) for j in np.flatnonzero(res.x > 0.5)] if res.x is not None else []
    order, gains = _order_by_gain(cover, weights, sites)
    return Solution(order, float(len(sites)), gains, "set_covering", "milp",
                    "optimal" if res.status == 0 else str(res.message), None,
                    time.perf_counter() - t0), unreachable


def share_covering(cover: Pairs, weights: FloatArray, groups: IntArray, need: FloatArray, *,
                   time_limit: float = 300.0) -> Solution:
    """The fewest new sites so that every group reaches its persons: set covering where a
    group (a village) needs only part of its points (its people) covered.

    Parameters
    ----------
    cover
        Candidate x point pairs: the points each candidate site would reach (``t`` unused).
    weights
        Persons at each point (points already reached by existing sites left out).
    groups
        The group (village) of each point.
    need
        Per group, the persons still to reach (<= 0: none).

    Returns
    -------
    Solution
        ``objective`` the number of sites; the sites ordered by the persons each adds.
        A group that even every candidate cannot bring to its need is served as far as it
        can be (its need is lowered to what all candidates reach).
    """
    t0 = time.perf_counter()
    n_c, n_p = cover.shape
    need = np.asarray(need, dtype=float).copy()
    w = np.asarray(weights, dtype=float)
    reach = np.zeros(n_p, dtype=bool)
    reach[cover.col] = True
    possible = np.bincount(groups, weights=w * reach, minlength=len(need))
    need = np.minimum(need, possible - 1e-9)
    active = np.flatnonzero(need > 1e-9)
    if not len(active) or n_c == 0:
        return Solution((), 0.0, (), "share_covering", "milp", "optimal", None,
                        time.perf_counter() - t0)
    pts = np.flatnonzero(np.isin(groups, active) & reach)
    pos = np.full(n_p, -1, dtype=np.int64)
    pos[pts] = np.arange(len(pts))
    keep = pos[cover.col] >= 0
    a = sp.csr_matrix((np.ones(int(keep.sum())), (pos[cover.col[keep]], cover.row[keep])),
                      shape=(len(pts), n_c))
    # variables: x (candidates, binary) then y (points, 0-1): y_i <= sum_j a_ij x_j and, per
    # group, sum_i w_i y_i >= need
    link = sp.hstack([-a, sp.identity(len(pts), format="csr")], format="csr")
    gpos = np.full(len(need), -1, dtype=np.int64)
    gpos[active] = np.arange(len(active))
    grp = sp.csr_matrix((w[pts], (gpos[groups[pts]], np.arange(len(pts)))),
                        shape=(len(active), len(pts)))
    demand = sp.hstack([sp.csr_matrix((len(active), n_c)), grp], format="csr")
    c = np.concatenate([np.ones(n_c), np.zeros(len(pts))])
    res = milp(c, constraints=[LinearConstraint(link, -np.inf, 0),
                               LinearConstraint(demand, need[active], np.inf)],
               integrality=np.concatenate([np.ones(n_c), np.zeros(len(pts))]),
               bounds=Bounds(0, 1), options={"time_limit": time_limit})
    sites = [int(j) for j in np.flatnonzero(res.x[:n_c] > 0.5)] if res.x is not None else []
    # order: the site reaching most persons first, then by what each adds
    covered = np.zeros(n_p, dtype=bool)
    order, gains = [], []
    left = list(sites)
    row_pts = {j: cover.col[cover.row == j] for j in sites}
    while left:
        best = max(left, key=lambda j: (float(w[row_pts[j]][~covered[row_pts[j]]].sum()), -j))
        gains.append(float(w[row_pts[best]][~covered[row_pts[best]]].sum()))
        covered[row_pts[best]] = True
        order.append(best)
        left.remove(best)
    status = "optimal" if res.status == 0 else ("time limit" if res.status == 1 else
                                                 str(res.message))
    return Solution(tuple(order), float(len(sites)), tuple(gains), "share_covering", "milp",
                    status, None, time.perf_counter() - t0)
