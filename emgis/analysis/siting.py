"""Siting: where new units do the most good, on candidate x village minutes.

The solver core works on plain arrays, as spopt's does: ``times[j, i]`` is the response time
from candidate ``j`` to village ``i`` (minutes, turnout included, ``inf`` where unreachable or
beyond the search cutoff), ``weights[i]`` the village's population, and ``base[i]`` the time from
the nearest *existing* unit, which stays (as "required" facilities in ArcGIS
Location-Allocation). ``times`` may be a dense array or sparse :class:`Pairs` (only the pairs
within a cutoff: what a county or a province needs). Models:

- :func:`max_covering` (MCLP): add ``p`` sites to cover the most people not yet covered;
- :func:`set_covering` (LSCP): the fewest sites that cover every village a candidate can reach;
- :func:`p_median`: add ``p`` sites for the least population-weighted time;
- :func:`p_center`: add ``p`` sites for the least worst time;
- :func:`capacitated_covering`: maximal covering with a capacity per site.

Exact models are mixed-integer programmes solved by HiGHS (``scipy.optimize.milp``) on the pairs
that can matter (a candidate slower than the existing unit never serves a village); the
heuristics (greedy, then one-for-one swaps while they help; max covering and p-median) are for
sizes beyond them and report their gap to a proven bound (LP relaxation, Lagrangian). Method
``auto`` takes the MILP while the model is small and the heuristic above that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp

from emgis._errors import SitingError
from emgis.texts import Msg

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Largest number of candidate-village pairs ``method="auto"`` gives the exact MILP.
AUTO_MILP_PAIRS = 200_000


@dataclass(frozen=True)
class Pairs:
    """Candidate x village minutes as sparse pairs: ``inf`` for every pair not listed.

    Attributes
    ----------
    shape
        (candidates, villages).
    row, col, t
        Candidate, village and minutes of each listed pair, sorted by candidate then village.
    """

    shape: tuple[int, int]
    row: IntArray
    col: IntArray
    t: FloatArray

    @classmethod
    def of(cls, times: FloatArray | Pairs) -> Pairs:
        """Pairs of a dense matrix (its finite entries), or the pairs themselves."""
        if isinstance(times, Pairs):
            return times
        a = np.asarray(times, dtype=float)
        r, c = np.nonzero(np.isfinite(a))
        return cls((a.shape[0], a.shape[1]), r.astype(np.int64), c.astype(np.int64),
                   a[r, c].astype(float))

    def select(self, keep: npt.NDArray[np.bool_]) -> Pairs:
        """Only the pairs where ``keep`` is True."""
        return Pairs(self.shape, self.row[keep], self.col[keep], self.t[keep])

    def dense(self) -> FloatArray:
        """The full matrix (``inf`` where no pair); for small instances."""
        out = np.full(self.shape, np.inf)
        out[self.row, self.col] = self.t
        return out

    def matrix(self, mask: npt.NDArray[np.bool_] | None = None) -> sp.csr_matrix:
        """A 0/1 CSR matrix of the pairs (where ``mask``)."""
        r, c = (self.row, self.col) if mask is None else (self.row[mask], self.col[mask])
        return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=self.shape)

    @property
    def n_candidates(self) -> int:
        """Number of candidates."""
        return self.shape[0]


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


def served_times(times: FloatArray | Pairs, base: FloatArray,
                 sites: list[int] | tuple[int, ...]) -> FloatArray:
    """Each village's time from the nearest of the existing units and the chosen sites."""
    out: FloatArray = np.asarray(base, dtype=float).copy()
    if not len(sites):
        return out
    if not isinstance(times, Pairs):
        dense: FloatArray = np.minimum(out, np.asarray(times, dtype=float)[list(sites)]
                                       .min(axis=0))
        return dense
    sel = np.isin(times.row, np.asarray(list(sites), dtype=np.int64))
    np.minimum.at(out, times.col[sel], times.t[sel])
    return out


def _newly_coverable(times: Pairs, target: float, base: FloatArray) -> sp.csr_matrix:
    """cover[j, i] = 1: candidate j reaches village i within target, and i is not covered
    yet."""
    ok = (times.t <= target + 1e-9) & ~(base <= target + 1e-9)[times.col]
    return times.matrix(ok)


def _row(a: sp.csr_matrix, j: int) -> IntArray:
    """Column indices of row ``j`` of a CSR matrix."""
    out: IntArray = a.indices[a.indptr[j]:a.indptr[j + 1]]
    return out


def _covered_persons(cover: sp.csr_matrix, weights: FloatArray, sites: list[int]) -> float:
    """Persons in the villages that at least one of ``sites`` newly covers."""
    if not sites:
        return 0.0
    hit = np.zeros(cover.shape[1], dtype=bool)
    for j in sites:
        hit[_row(cover, j)] = True
    return float(weights[hit].sum())


def _order_by_gain(cover: sp.csr_matrix, weights: FloatArray,
                   sites: list[int]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Sites ordered greedily by the persons each newly covers after the ones before it."""
    left = list(sites)
    covered = np.zeros(cover.shape[1], dtype=bool)
    order: list[int] = []
    gains: list[float] = []
    while left:
        g = [float(weights[_row(cover, j)][~covered[_row(cover, j)]].sum()) for j in left]
        k = int(np.argmax(g))
        j = left.pop(k)
        order.append(j)
        gains.append(g[k])
        covered[_row(cover, j)] = True
    return tuple(order), tuple(gains)


def _auto(method: str, n_pairs: int) -> str:
    return ("milp" if n_pairs <= AUTO_MILP_PAIRS else "heuristic") if method == "auto" \
        else method


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


def _dominated(a: sp.csr_matrix | npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Candidates whose cover (rows of ``a``) is empty or within another candidate's.

    Of candidates with the same cover the first is kept. Swapping a dominated candidate for
    its dominator never lowers a covering objective, so the kept ones hold an optimum.
    """
    m = sp.csr_matrix(a, dtype=np.float64)
    size = np.asarray(m.sum(axis=1)).ravel()
    ov = (m @ m.T).tocoo()
    r, k, n = ov.row, ov.col, ov.data
    within = (n == size[r]) & (r != k) & ((size[k] > size[r]) | ((size[k] == size[r]) & (k < r)))
    out: npt.NDArray[np.bool_] = size == 0
    out[r[within]] = True
    return out


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


def _mclp_bound(a: sp.csr_matrix, w: FloatArray, p: int, time_limit: float = 120.0) -> float:
    """LP-relaxation bound of the maximal covering objective (HiGHS interior point).

    If the LP does not finish in ``time_limit`` seconds, the weaker bound "the p largest
    single-site covers added up" is returned instead.
    """
    from scipy.optimize import linprog

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



#: Objectives of scenario-robust siting.
OBJECTIVES = ("expected", "worst", "k_of_n")


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

    nnz = sum(c.nnz for c in covers)
    # the max-min and k-of-n MILPs have weak relaxations: beyond a district's candidates
    # HiGHS spends its whole time limit (80 s at 22,000 candidates) for what the greedy finds
    method = _auto(method, nnz if n_c <= ROBUST_AUTO_MILP_CANDIDATES else AUTO_MILP_PAIRS + 1)
    bound: float | None = None
    if method == "heuristic":
        sites = _robust_greedy_swap(value, n_c, p)
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
        sites, dual, ok = _robust_milp(covers, weights, covered, p, objective, pr, kk,
                                       time_limit)
        used, status = "milp", "optimal" if ok else "time limit"
        if not ok:
            bound = dual
            alt = _robust_greedy_swap(value, n_c, p)
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


def _robust_greedy_swap(value: Any, n_c: int, p: int) -> list[int]:
    """Greedy on the objective, then one-for-one swaps while one improves it."""
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


# --- GeoDataFrame adapter ---------------------------------------------------------------------

#: Candidates closer than this to an existing unit of the kind count as on top of it, metres.
ON_TOP_M = 50.0


def candidate_sites(district: Any, kind: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Candidate sites for new units of ``kind``, and the ones excluded with the reason.

    Candidates: every village and community centre, the public buildings of the district's
    layers (shelters, stockpiles, teams' bases) and the optional ``candidates`` layer. A
    candidate on top of an existing unit of the kind (within 50 m) is excluded. Each candidate
    carries ``loc``: its location in the district's :class:`~emgis.roads.engine.Engine` (villages,
    then units in :func:`~emgis.analysis.coverage.units_of` order, then the candidates layer).
    """
    from emgis.analysis.coverage import units_of

    v = district.villages
    units = units_of(district)
    n_v, n_u = len(v), len(units)
    parts = [pd.DataFrame({"id": "village:" + v["id"].astype(str), "name": v["name"],
                           "source": "village centre", "geometry": v.geometry,
                           "loc": np.arange(n_v)})]
    layer_of = units["layer"].to_numpy(dtype=object)
    for layer in ("shelters", "stockpiles", "teams"):
        sel = np.flatnonzero(layer_of == layer)
        if len(sel):
            g = units.iloc[sel]
            parts.append(pd.DataFrame({"id": f"{layer}:" + g["id"].astype(str),
                                       "name": g["name"].to_numpy(), "source": layer,
                                       "geometry": g.geometry.to_numpy(),
                                       "loc": n_v + sel}))
    c = district.candidates
    if len(c):
        parts.append(pd.DataFrame({"id": "candidate:" + c["id"].astype(str), "name": c["name"],
                                   "source": "candidates layer", "geometry": c.geometry,
                                   "loc": n_v + n_u + np.arange(len(c))}))
    cand = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                            crs=district.crs)
    existing = units[units["kind"] == kind]
    excluded = []
    keep = np.ones(len(cand), dtype=bool)
    if len(existing):
        tree = shapely.STRtree(existing.geometry.values)
        near = tree.query(cand.geometry.values, predicate="dwithin", distance=ON_TOP_M)
        on_top = np.zeros(len(cand), dtype=bool)
        on_top[near[0]] = True
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
    """A siting run on a district: proposals ranked by marginal gain, and what was left out.

    Attributes
    ----------
    note
        What a planner should know beyond the proposals: that no candidate improves on the
        existing units, or that fewer sites than asked for add anything.
    requested
        Sites asked for (``add``), or None for set covering.
    comparison, robust
        For a scenario-robust plan: the objective (``worst``, ``expected``, ``k_of_n``) and
        the persons covered per scenario by the existing units, the baseline-only plan and
        the robust plan (:class:`RobustResult`).
    """

    kind: str
    solution: Solution
    proposals: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    excluded: pd.DataFrame
    unreachable: pd.DataFrame
    target_min: float
    note: str = ""
    requested: int | None = None
    comparison: pd.DataFrame | None = None
    robust: str | None = None


MODELS = ("max_covering", "capacitated_covering", "p_median", "p_center")
METHODS = ("auto", "milp", "heuristic")
#: Models with a heuristic (``method="heuristic"``); the others are solved exactly only.
HEURISTIC_MODELS = ("max_covering", "p_median")


def check_request(model: str, *, method: str = "auto", cover_all: bool = False,
                  capacity: float | None = None, add: Any = 1) -> None:
    """Raise :class:`SitingError` for a model, method and options that do not go together.

    Parameters are those of :func:`site_units`; called by it, and by the CLI before any work.
    """
    if model not in MODELS:
        raise SitingError(Msg("site_model", v=model, options=", ".join(MODELS)))
    if method not in METHODS:
        raise SitingError(Msg("site_method", v=method))
    if method == "heuristic" and (cover_all or model not in HEURISTIC_MODELS):
        what = Msg("site_set_covering") if cover_all else model
        raise SitingError(Msg("site_no_heuristic", what=what,
                              options=", ".join(HEURISTIC_MODELS)))
    if model == "capacitated_covering" and not cover_all and (capacity is None or capacity <= 0):
        raise SitingError(Msg("site_capacity"))
    if not cover_all and (isinstance(add, bool) or not isinstance(add, (int, np.integer))
                          or add < 1):
        raise SitingError(Msg("site_add", v=add))


def _locate(district: Any, network: Any) -> Any:
    from emgis.roads.engine import Engine

    return network if isinstance(network, Engine) else Engine.for_district(district, network)


def site_units(district: Any, network: Any, kind: str, *, add: int | None = None,
               cover_all: bool = False, model: str = "max_covering", method: str = "auto",
               capacity: float | None = None, time_limit: float = 300.0) -> SitingResult:
    """Where new units of ``kind`` do the most good, existing units fixed.

    Parameters
    ----------
    district, network
        The loaded district and its road network's arrays, or its
        :class:`~emgis.roads.engine.Engine` (locations and routing graphs reused).
    kind
        A unit kind with a target (``micro_fire_station``, ``stockpile`` ...).
    add
        Number of new sites (max_covering, p_median, p_center, capacitated_covering), >= 1.
    cover_all
        The fewest new sites covering every village a candidate can reach (set covering).
    model
        ``max_covering``, ``capacitated_covering``, ``p_median`` or ``p_center`` (ignored with
        ``cover_all``).
    capacity
        Persons a new site can serve (``capacitated_covering``, e.g. for stockpiles).
    method
        ``auto`` (exact while small, the heuristic above), ``milp`` (exact, HiGHS) or
        ``heuristic`` (max_covering and p_median only).
    time_limit
        Seconds the exact solver may take (see :func:`max_covering` for what happens then).

    Raises
    ------
    SitingError
        A model, method or option that do not go together, ``add`` < 1, or a kind without a
        target.
    """
    from emgis.analysis.coverage import compute_coverage, target_of, towards_unit

    if add is None and not cover_all:
        add = 1
    check_request(model, method=method, cover_all=cover_all, capacity=capacity, add=add)
    s = district.settings
    if kind not in s.targets:
        raise SitingError(Msg("site_kind_no_target", v=kind, options=", ".join(s.targets)))
    engine = _locate(district, network)
    target = target_of(kind, s)
    turnout = float(s.turnout[kind].value) if kind in s.turnout else 0.0
    if towards_unit(kind):  # villagers go to shelters: no turnout
        turnout = 0.0
    cand, excluded = candidate_sites(district, kind)
    v = district.villages
    base_table = compute_coverage(district, engine, kinds=(kind,)).table
    base = base_table["nearest_min"].to_numpy(dtype=float)
    base = np.where(np.isnan(base), np.inf, base)
    cloc = cand["loc"].to_numpy(dtype=np.int64)
    no_road = engine.status(cloc) == "no_road_access"
    if no_road.any():
        excluded = pd.concat([excluded, pd.DataFrame({
            "id": cand["id"][no_road], "name": cand["name"][no_road],
            "reason": "no road access"})], ignore_index=True)
    covering = cover_all or model.endswith("covering")
    times = candidate_times(engine, kind, cloc, base, target=target, turnout=turnout,
                            covering=covering)
    weights = v["population"].fillna(0).to_numpy(dtype=float)
    unreachable = np.zeros(len(v), dtype=bool)
    p = int(add or 1)
    if cover_all:
        sol, unreachable = set_covering(times, weights, base, target, time_limit=time_limit)
    elif model == "max_covering":
        sol = max_covering(times, weights, base, target, p, method=method,
                           time_limit=time_limit)
    elif model == "capacitated_covering":
        sol = capacitated_covering(times, weights, base, target, p, float(capacity or 0),
                                   time_limit=time_limit)
    elif model == "p_median":
        sol = p_median(times, weights, base, p, method=method, time_limit=time_limit)
    else:
        sol = p_center(times, weights, base, p, time_limit=time_limit)
    return _result(district, kind, sol, cand, excluded, times, weights, base, target,
                   unreachable, requested=None if cover_all else p)


def candidate_times(engine: Any, kind: str, cand_loc: IntArray, base: FloatArray, *,
                    target: float, turnout: float, covering: bool) -> Pairs:
    """Minutes from each candidate to each village, where they can matter.

    Covering models need the pairs within the target (a search from each candidate up to
    it); p-median and p-center only the pairs that beat the existing units: a search from each
    village, on the reversed roads, as far as its current time (or a cutoff of four times the
    target, at least 60 minutes and the longest current time, where no unit reaches it yet).
    """
    from emgis.analysis.coverage import mode_of, towards_unit
    from emgis.roads.routing import pairs_within

    s = engine.settings
    mode = mode_of(kind, s)
    n_c, n_v = len(cand_loc), len(base)
    if covering:
        rg = engine.graph(mode, reverse=towards_unit(kind))
        ci, vi, t = pairs_within(rg, cand_loc, limits=np.full(n_c, target),
                                 offsets=np.full(n_c, turnout), targets=engine.village_loc)
        return Pairs((n_c, n_v), ci, vi, t)
    fin = base[np.isfinite(base)]
    cap = max(4 * target, 60.0, float(fin.max()) if fin.size else 0.0)
    limits = np.where(np.isfinite(base), base, cap)
    back = engine.graph(mode, reverse=not towards_unit(kind))
    vi, ci, t = pairs_within(back, engine.village_loc, limits=limits - turnout,
                             targets=cand_loc)
    t = t + turnout
    keep = t < limits[vi] - 1e-12
    vi, ci, t = vi[keep], ci[keep], t[keep]
    order = np.lexsort((vi, ci))
    return Pairs((n_c, n_v), ci[order], vi[order], t[order])


def _result(district: Any, kind: str, sol: Solution, cand: gpd.GeoDataFrame,
            excluded: pd.DataFrame, times: Pairs, weights: FloatArray, base: FloatArray,
            target: float, unreachable: npt.NDArray[np.bool_], *, requested: int | None
            ) -> SitingResult:
    """Proposals ranked by what each adds, with every village before and after."""
    v = district.villages
    before_cov = base <= target + 1e-9
    covered = before_cov.copy()
    reached = np.isfinite(base)
    cur = base.copy()
    rows: list[dict[str, Any]] = []
    chosen: list[int] = []
    unit = "person-minutes" if sol.model == "p_median" else "persons"
    for j in sol.sites:
        t = served_times(times, cur, [j])
        new = (t <= target + 1e-9) & ~covered
        newly_reached = np.isfinite(t) & ~reached
        saved = float(weights[reached] @ (cur[reached] - t[reached]))
        if sol.model == "capacitated_covering":
            gain = float(sol.gains[len(rows)]) if len(rows) < len(sol.gains) else 0.0
        elif sol.model == "p_median":
            gain = saved
        else:
            gain = float(weights[new].sum())
        useful = new.any() or newly_reached.any() or saved > 1e-9 or gain > 1e-9
        if not useful:
            continue  # a site that adds nothing is not proposed
        covered |= new
        reached |= newly_reached
        cur = t
        chosen.append(int(j))
        rows.append({"rank": len(rows) + 1, "site_id": cand["id"].iloc[j],
                     "name": cand["name"].iloc[j], "source": cand["source"].iloc[j],
                     "newly_covered_population": round(gain) if sol.model ==
                     "capacitated_covering" else int(weights[new].sum()),
                     "newly_reached_population": int(weights[newly_reached].sum()),
                     "gain": round(gain, 1), "gain_unit": unit,
                     "villages": ";".join(f"{a} {b}" for a, b in zip(
                         v["id"][new], v["name"][new], strict=True)),
                     "geometry": cand.geometry.iloc[j]})
    cols = ["rank", "site_id", "name", "source", "newly_covered_population",
            "newly_reached_population", "gain", "gain_unit", "villages"]
    proposals = gpd.GeoDataFrame(rows, geometry="geometry", crs=district.crs) if rows else \
        gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=district.crs)
    note = ""
    if not rows:
        note = "no candidate site improves on the existing units"
    elif requested is not None and len(rows) < requested:
        note = (f"only {len(rows)} of the {requested} sites asked for improve on the existing "
                "units and the sites before them; the others would add nothing")
    after = served_times(times, base, chosen)
    after_cov = after <= target + 1e-9
    best = np.full(len(v), np.inf)
    if times.t.size:
        np.minimum.at(best, times.col, times.t)
    unr = pd.DataFrame({"village_id": v["id"][unreachable], "village_name": v["name"][unreachable],
                        "population": weights[unreachable].astype(np.int64),
                        "best_possible_min": np.round(best[unreachable], 2)})
    villages = gpd.GeoDataFrame({
        "village_id": v["id"].to_numpy(), "village_name": v["name"].to_numpy(),
        "population": weights.astype(np.int64),
        "before_min": np.where(np.isfinite(base), np.round(base, 2), np.nan),
        "after_min": np.where(np.isfinite(after), np.round(after, 2), np.nan),
        "covered_before": before_cov, "covered_after": after_cov,
        "newly_covered": after_cov & ~before_cov}, geometry=v.geometry.to_numpy(),
        crs=district.crs)
    return SitingResult(kind, sol, proposals, villages, excluded, unr, target, note, requested)


@dataclass(frozen=True)
class ScenarioSpec:
    """A scenario as robust siting sees it: its name, the engine on its affected roads, which
    existing units still respond, the area where a new site would be out of action (empty
    where units inside the zones keep working), and the zones themselves."""

    name: str
    engine: Any
    active: npt.NDArray[np.bool_]
    out_area: Any
    #: Where the scenario's roads differ from the baseline's (its zones), if known: a search
    #: that cannot reach it finds what it finds in the baseline.
    hazard_area: Any = None


@dataclass(frozen=True)
class RobustResult:
    """A scenario-robust siting run.

    Attributes
    ----------
    robust
        The robust plan (proposals ranked by what each adds to the objective; the villages
        before and after in the baseline).
    baseline
        The plan chosen on the baseline alone (maximal covering), for comparison.
    comparison
        One row per scenario (the baseline first): persons covered by the existing units, with
        the baseline plan and with the robust plan, and the difference.
    objective, k, probs
        The objective and its parameters.
    value_baseline_plan, value_robust_plan
        The objective's value for each plan (persons).
    """

    robust: SitingResult
    baseline: SitingResult
    comparison: pd.DataFrame
    objective: str
    k: int
    probs: tuple[float, ...]
    value_baseline_plan: float = 0.0
    value_robust_plan: float = 0.0


def site_robust(district: Any, network: Any, kind: str, *, add: int = 1,
                scenarios: list[ScenarioSpec], objective: str = "worst",
                probs: npt.ArrayLike | None = None, k: int | None = None,
                method: str = "auto", time_limit: float = 300.0) -> RobustResult:
    """New sites of ``kind`` chosen over the baseline and the scenarios together
    (:func:`robust_covering`), compared with the plan chosen on the baseline alone.

    In each scenario the candidates reach villages over its affected roads, existing units
    out of action respond to nothing, and a candidate inside the scenario's ``out_area`` is
    out of action too.
    """
    from emgis.analysis.coverage import compute_coverage, target_of, towards_unit

    check_request("max_covering", add=add)
    s = district.settings
    if kind not in s.targets:
        raise SitingError(Msg("site_kind_no_target", v=kind, options=", ".join(s.targets)))
    engine = _locate(district, network)
    target = target_of(kind, s)
    turnout = 0.0 if towards_unit(kind) else (float(s.turnout[kind].value)
                                                if kind in s.turnout else 0.0)
    cand, excluded = candidate_sites(district, kind)
    cloc = cand["loc"].to_numpy(dtype=np.int64)
    weights = district.villages["population"].fillna(0).to_numpy(dtype=float)
    names = ["baseline", *[sc.name for sc in scenarios]]
    engines = [engine, *[sc.engine for sc in scenarios]]
    actives: list[Any] = [None, *[sc.active for sc in scenarios]]
    covers, covered, pairs0, base0 = [], [], None, None
    for i, (eng, act) in enumerate(zip(engines, actives, strict=True)):
        table = compute_coverage(district, eng, kinds=(kind,), active=act).table
        base = table["nearest_min"].to_numpy(dtype=float)
        base = np.where(np.isnan(base), np.inf, base)
        pairs = candidate_times(eng, kind, cloc, base, target=target, turnout=turnout,
                                covering=True)
        if i > 0 and scenarios[i - 1].out_area is not None and \
                not shapely.is_empty(scenarios[i - 1].out_area):
            inside = cand.geometry.within(scenarios[i - 1].out_area).to_numpy()
            pairs = pairs.select(~inside[pairs.row])
        if i == 0:
            pairs0, base0 = pairs, base
        covers.append(_newly_coverable(pairs, target, base))
        covered.append(base <= target + 1e-9)
    assert pairs0 is not None and base0 is not None
    sol = robust_covering(covers, weights, covered, add, objective=objective, probs=probs, k=k,
                          method=method, time_limit=time_limit)
    n = len(covers)
    pr = np.full(n, 1.0 / n) if probs is None else np.asarray(probs, dtype=float)
    pr = pr / pr.sum()
    kk = int(k if k is not None else max(1, n - 1))
    base_sol = max_covering(pairs0, weights, base0, target, add, method=method,
                            time_limit=time_limit)
    empty = np.zeros(len(base0), dtype=bool)
    robust = _result(district, kind, sol, cand, excluded, pairs0, weights, base0, target,
                     empty, requested=add)
    baseline = _result(district, kind, base_sol, cand, excluded, pairs0, weights, base0,
                       target, empty, requested=add)
    none, _ = robust_values(covers, weights, covered, [])
    with_base, mb = robust_values(covers, weights, covered, list(base_sol.sites))
    with_rob, mr = robust_values(covers, weights, covered, list(sol.sites))
    comparison = pd.DataFrame({
        "scenario": names, "weight": np.round(pr, 4),
        "covered_existing": none.astype(np.int64),
        "covered_baseline_plan": with_base.astype(np.int64),
        "covered_robust_plan": with_rob.astype(np.int64),
        "difference": (with_rob - with_base).astype(np.int64)})
    return RobustResult(robust, baseline, comparison, objective, kk, tuple(float(x) for x in pr),
                        robust_objective(with_base, mb, weights, objective, pr, kk),
                        robust_objective(with_rob, mr, weights, objective, pr, kk))
