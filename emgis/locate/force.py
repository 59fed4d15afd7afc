"""Maximal force covering: add ``p`` sites so that the most persons live in villages where a
sufficient force (enough persons, not only a first unit) arrives within a time.

The effective response force of a village (:mod:`emgis.analysis.force`) is the persons of
every team reaching it within a rule's time: at least 30 within 30 min for the township rule,
15 within 10 min for the village rule (烈山区 2025 方案). A new site brings one team of ``h``
persons. On arrays, as the other models of :mod:`emgis.locate`: ``times[j, i]`` the minutes
from candidate ``j`` to village ``i`` (turnout included, ``inf`` where unreachable), per
village ``i`` its persons ``w_i``, the force ``e_i`` existing teams already bring within the
rule's time ``T`` and the force ``r_i`` the rule requires. Village ``i`` then needs

    k_i = ceil((r_i - e_i) / h)   new sites within ``T`` (0 where ``e_i >= r_i``).

A village already meeting the rule counts as a constant; one whose ``k_i`` exceeds the number
of candidates reaching it within ``T`` cannot be brought to the minimum by any plan
(:attr:`ForceModel.impossible`). With ``first_weight`` = ``a`` >= 0 the plan also counts
first arrival, as maximal covering does: a village not yet within ``target`` of an existing
unit that a new site reaches within ``target`` is newly covered. The objective, exactly:

    maximise  sum_i w_i y_i  +  a * sum_i w_i z_i
    s.t.      sum_{j: t_ji <= T} x_j        >= k_i y_i   (villages short of the rule)
              sum_{j: t_ji <= target} x_j   >= z_i       (villages not yet within target)
              sum_j x_j <= p,   x, y binary,  0 <= z <= 1,

plus ``sum_i w_i`` over the villages already meeting the rule (``y_i = 1`` fixed). ``a = 0``
(default) counts force only; a large ``a`` chooses the maximal covering plan, force breaking
ties. (At most ``p`` sites: adding a site never lowers the objective, so this is the optimum
of exactly ``p`` sites too; a site that adds nothing is not listed.)

Solved by HiGHS (``scipy.optimize.milp``). Above :data:`~emgis.locate.pairs.AUTO_MILP_PAIRS`
pairs (``method="auto"``), or with ``method="heuristic"``: a greedy that credits each site
with the share of a village's missing sites it gives (``w_i / (k_i - sites so far)``), then
one-for-one swaps while one improves the objective, with the LP relaxation as proven bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from emgis._errors import SitingError
from emgis._types import BoolArray, FloatArray, IntArray
from emgis.locate import METHODS
from emgis.locate.pairs import Pairs, Solution, _auto, _reaches
from emgis.texts import Msg

__all__ = ["ForceModel", "check_force_options", "force_after", "force_model", "force_value",
           "max_force_covering"]

_TOL = 1e-9


def _plain(v: object) -> object:
    """A NumPy scalar as the Python number it holds (``-1.0``, not ``np.float64(-1.0)``)."""
    return v.item() if isinstance(v, np.generic) else v


@dataclass(frozen=True)
class ForceModel:
    """A force covering instance, reduced to what the solvers use.

    Attributes
    ----------
    reach
        Candidate x village, 1 where the candidate is within the rule's time (CSR).
    first
        Candidate x village, 1 where the candidate newly brings a village within ``target``
        (CSR; empty without ``first_weight``).
    weights
        Persons of each village.
    need
        ``k_i``: new sites each village needs within the rule's time (0: meets already).
    impossible
        Villages short of the rule that every candidate together cannot bring to it
        (``k_i`` above the candidates reaching it).
    first_weight
        What a person newly within ``target`` counts beside a person with a sufficient force.
    """

    reach: sp.csr_matrix
    first: sp.csr_matrix
    weights: FloatArray
    need: IntArray
    impossible: BoolArray
    first_weight: float

    @property
    def met(self) -> BoolArray:
        """Villages that meet the rule without a new site."""
        out: BoolArray = self.need == 0
        return out

    @property
    def constant(self) -> float:
        """Persons of the villages meeting the rule already (counted in every plan)."""
        return float(self.weights[self.met].sum())


def _vector(name: str, v: npt.ArrayLike | None, n: int, *, default: float) -> FloatArray:
    """A per-village array of numbers >= 0 (``inf`` allowed only for ``base``)."""
    if v is None:
        return np.full(n, default)
    a = np.asarray(v, dtype=float).ravel()
    if len(a) != n:
        raise SitingError(Msg("force_size", name=name, n=len(a), villages=n))
    ok = (a >= 0) & (np.isfinite(a) | (name == "base"))
    bad = np.flatnonzero(~ok)
    if len(bad):
        raise SitingError(Msg("force_value", name=name, i=int(bad[0]), v=float(a[bad[0]])))
    return a


def _number(name: str, v: object, *, positive: bool) -> float:
    """A finite number (> 0 if ``positive``, else >= 0), or :class:`SitingError` naming it."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or \
            not np.isfinite(float(v)) or (float(v) <= 0 if positive else float(v) < 0):
        raise SitingError(Msg("force_positive" if positive else "force_nonnegative",
                              name=name, v=_plain(v)))
    return float(v)


def check_force_options(p: object, *, headcount: object, first_weight: object = 0.0,
                        method: str = "auto", time_limit: object = 300.0) -> None:
    """Raise :class:`SitingError` for options :func:`max_force_covering` does not take: ``p``
    not a whole number >= 1, ``headcount`` not > 0 persons, ``first_weight`` not >= 0, a
    method not of :data:`~emgis.locate.METHODS`, ``time_limit`` not >= 0 seconds (0: HiGHS
    stops at once and the heuristic's plan is kept if better)."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise SitingError(Msg("force_add", v=_plain(p)))
    _number("headcount", headcount, positive=True)
    _number("first_weight", first_weight, positive=False)
    if method not in METHODS:
        raise SitingError(Msg("site_method", v=method))
    _number("time_limit", time_limit, positive=False)


def force_model(times: FloatArray | Pairs, weights: npt.ArrayLike, existing: npt.ArrayLike,
                required: npt.ArrayLike, *, within: float, headcount: float,
                first_weight: float = 0.0, base: npt.ArrayLike | None = None,
                target: float | None = None) -> ForceModel:
    """The instance of :func:`max_force_covering` (see there for the parameters), checked.

    Raises
    ------
    SitingError
        An argument of the wrong size, a negative or non-finite number of persons, minutes or
        weight, a headcount <= 0.
    """
    pairs = Pairs.of(times)
    n_c, n_v = pairs.shape
    within = _number("within", within, positive=False)
    h = _number("headcount", headcount, positive=True)
    a = _number("first_weight", first_weight, positive=False)
    tgt = within if target is None else _number("target", target, positive=False)
    w = _vector("weights", weights, n_v, default=0.0)
    e = _vector("existing", existing, n_v, default=0.0)
    r = _vector("required", required, n_v, default=0.0)
    b = _vector("base", base, n_v, default=np.inf)
    short = r - e
    need = np.where(short > _TOL, np.ceil(short / h - _TOL), 0).astype(np.int64)
    reach = pairs.matrix(pairs.t <= within + _TOL)
    n_reach = np.asarray(reach.sum(axis=0)).ravel()
    impossible = need > n_reach
    first = pairs.matrix((pairs.t <= tgt + _TOL) & ~(b <= tgt + _TOL)[pairs.col]) if a > 0 \
        else sp.csr_matrix((n_c, n_v))
    return ForceModel(sp.csr_matrix(reach), sp.csr_matrix(first), w, need, impossible, a)


def force_after(times: FloatArray | Pairs, existing: npt.ArrayLike, sites: npt.ArrayLike, *,
                within: float, headcount: float) -> FloatArray:
    """Each village's force (persons) within ``within`` minutes when a team of ``headcount``
    persons is added at each of ``sites`` (candidate positions) to the ``existing`` persons."""
    pairs = Pairs.of(times)
    out: FloatArray = np.asarray(existing, dtype=float).copy()
    chosen = np.asarray(sites, dtype=np.int64)
    ok = np.isin(pairs.row, chosen) & (pairs.t <= within + _TOL)
    np.add.at(out, pairs.col[ok], float(headcount))
    return out


def force_value(model: ForceModel, sites: npt.ArrayLike) -> float:
    """The objective of a plan: persons in villages meeting the rule after it (those meeting
    already included) plus ``first_weight`` x persons it newly brings within target."""
    chosen = np.asarray(sites, dtype=np.int64)
    cnt = np.asarray(model.reach[chosen].sum(axis=0)).ravel() if len(chosen) else \
        np.zeros(len(model.weights))
    value = float(model.weights[cnt >= model.need].sum())
    if model.first_weight > 0 and len(chosen):
        hit = np.asarray(model.first[chosen].sum(axis=0)).ravel() > 0
        value += model.first_weight * float(model.weights[hit].sum())
    return value


def _order(model: ForceModel, sites: list[int]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The sites the plan needs (one whose removal loses nothing is left out), ordered
    greedily by what each adds to the objective after the ones before it; where none adds
    anything alone (a village needing two more sites), the site whose removal from the rest
    of the plan loses most comes first; then the lower position."""
    left = sorted(sites)
    for j in list(left):
        rest = [k for k in left if k != j]
        if force_value(model, rest) >= force_value(model, left) - _TOL:
            left = rest  # adds nothing to the plan
    order: list[int] = []
    gains: list[float] = []
    value = force_value(model, [])
    while left:
        full = force_value(model, [*order, *left])
        keys = [(round(force_value(model, [*order, j]) - value, 9),
                 round(full - force_value(model, [*order, *(k for k in left if k != j)]), 9),
                 -j) for j in left]
        i = max(range(len(left)), key=lambda n: keys[n])
        j = left.pop(i)
        order.append(j)
        new = force_value(model, order)
        gains.append(new - value)
        value = new
    return tuple(order), tuple(float(g) for g in gains)


def _useful(model: ForceModel, p: int) -> tuple[IntArray, IntArray, IntArray]:
    """Candidates, villages short of the rule that ``p`` sites can bring to it, and villages
    a site can newly bring within target: all that the objective can gain from."""
    w = model.weights
    short = np.flatnonzero((model.need > 0) & ~model.impossible & (model.need <= p) & (w > 0))
    firsts = np.flatnonzero((np.asarray(model.first.sum(axis=0)).ravel() > 0) & (w > 0)) \
        if model.first_weight > 0 else np.zeros(0, dtype=np.int64)
    touch = np.asarray(model.reach[:, short].sum(axis=1)).ravel() + \
        np.asarray(model.first[:, firsts].sum(axis=1)).ravel()
    return np.flatnonzero(touch > 0), short, firsts


def _lp_bound(model: ForceModel, p: int, cand: IntArray, short: IntArray,
              firsts: IntArray) -> float:
    """The LP relaxation of the MILP (a proven upper bound of the objective)."""
    c, _, _, cons = _milp_parts(model, p, cand, short, firsts)
    a_ub = sp.vstack([con.A for con in cons]).tocsr()
    b_ub = np.concatenate([con.ub for con in cons])
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    if res.status != 0 or res.fun is None:
        return model.constant + float(model.weights[short].sum()) + \
            model.first_weight * float(model.weights[firsts].sum())
    return model.constant - float(res.fun)


def _milp_parts(model: ForceModel, p: int, cand: IntArray, short: IntArray, firsts: IntArray
                ) -> tuple[FloatArray, FloatArray, FloatArray, list[LinearConstraint]]:
    """Objective (to minimise), integrality, upper bounds and constraints of the MILP over
    x (``cand``), y (``short``) and z (``firsts``)."""
    n_c, n_y, n_z = len(cand), len(short), len(firsts)
    w = model.weights
    c = np.concatenate([np.zeros(n_c), -w[short], -model.first_weight * w[firsts]])
    r = model.reach[cand][:, short].T.tocsr()  # villages x candidates
    f = model.first[cand][:, firsts].T.tocsr()
    force = sp.hstack([-r, sp.diags(model.need[short].astype(float)),
                       sp.csr_matrix((n_y, n_z))], format="csr")
    first = sp.hstack([-f, sp.csr_matrix((n_z, n_y)), sp.identity(n_z)], format="csr")
    count = sp.hstack([sp.csr_matrix(np.ones((1, n_c))), sp.csr_matrix((1, n_y + n_z))],
                      format="csr")
    cons = [LinearConstraint(m, -np.inf, ub) for m, ub in
            ((force, np.zeros(n_y)), (first, np.zeros(n_z)), (count, np.array([float(p)])))
            if m.shape[0]]
    integ = np.concatenate([np.ones(n_c + n_y), np.zeros(n_z)])
    return c, integ, np.ones(n_c + n_y + n_z), cons


def _greedy_swap(model: ForceModel, p: int, cand: IntArray) -> list[int]:
    """Greedy on the credited share of each village's missing sites, then one-for-one swaps
    on the true objective while one improves it."""
    need = model.need.astype(float)
    w = model.weights
    live = (need > 0) & ~model.impossible
    reach = model.reach[cand]
    first = model.first[cand]
    count = np.zeros(len(w))
    hit = np.zeros(len(w), dtype=bool)
    chosen: list[int] = []
    taken: list[int] = []  # positions in cand of the chosen
    for _ in range(min(p, len(cand))):
        left = np.maximum(need - count, 1.0)
        credit = np.where(live & (count < need), w / left, 0.0)
        score = reach @ credit
        if model.first_weight > 0:
            score = score + model.first_weight * (first @ (w * ~hit))
        score[taken] = -1.0
        k = int(np.argmax(score))
        if score[k] <= 0:
            break
        taken.append(k)
        chosen.append(int(cand[k]))
        count += reach[k].toarray().ravel()
        hit |= first[k].toarray().ravel() > 0
    best = force_value(model, chosen)
    improved = True
    while improved:
        improved = False
        for out in list(chosen):
            rest = [j for j in chosen if j != out]
            for j in cand.tolist():
                if j in chosen:
                    continue
                v = force_value(model, [*rest, j])
                if v > best + _TOL:
                    chosen, best, improved = [*rest, j], v, True
                    break
            if improved:
                break
        if not improved and len(chosen) < min(p, len(cand)):  # room left: add the best
            extra = [(force_value(model, [*chosen, j]), j) for j in cand.tolist()
                     if j not in chosen]
            if extra and max(extra)[0] > best + _TOL:
                best, j = max(extra)
                chosen.append(int(j))
                improved = True
    return sorted(chosen)


def max_force_covering(times: FloatArray | Pairs, weights: npt.ArrayLike,
                       existing: npt.ArrayLike, required: npt.ArrayLike, p: int, *,
                       within: float, headcount: float, first_weight: float = 0.0,
                       base: npt.ArrayLike | None = None, target: float | None = None,
                       method: str = "auto", time_limit: float = 300.0) -> Solution:
    """Add ``p`` sites of ``headcount`` persons each for the most persons in villages with a
    sufficient force within ``within`` minutes (and, with ``first_weight``, newly within
    ``target``); the model and objective are in the module's docstring.

    Parameters
    ----------
    times
        Candidate x village minutes (turnout included, ``inf`` where unreachable): a dense
        ``(candidates, villages)`` array or :class:`~emgis.locate.pairs.Pairs`.
    weights
        Persons of each village (>= 0).
    existing
        Per village, the persons existing teams bring within ``within`` minutes (>= 0).
    required
        Per village, the persons the rule requires within ``within`` minutes (>= 0).
    p
        Sites to add, a whole number >= 1.
    within
        The rule's time, minutes.
    headcount
        Persons a new site brings (> 0; a new team's headcount times its availability).
    first_weight
        What a person newly within ``target`` of a new site counts beside a person with a
        sufficient force (>= 0; default 0: force only).
    base
        Per village, minutes from the nearest existing unit (first arrival; default ``inf``:
        none within target).
    target
        The first-arrival target, minutes (default ``within``).
    method
        ``auto`` (the MILP up to :data:`~emgis.locate.pairs.AUTO_MILP_PAIRS` pairs, the
        heuristic above), ``milp`` or ``heuristic``.
    time_limit
        Seconds HiGHS may take (>= 0); when reached, the better of its incumbent and the
        heuristic's plan is kept, with HiGHS's proven bound.

    Returns
    -------
    Solution
        ``objective``: the persons in villages meeting the rule after the plan (those
        meeting already included) plus ``first_weight`` x the persons newly within target;
        ``gains``: what each site adds to it, in order; ``model`` ``"max_force_covering"``.

    Raises
    ------
    SitingError
        ``p``, ``method``, ``time_limit`` or an array that the model cannot take (the
        message names the argument and what was expected).
    """
    t0 = time.perf_counter()
    check_force_options(p, headcount=headcount, first_weight=first_weight, method=method,
                        time_limit=time_limit)
    model = force_model(times, weights, existing, required, within=within,
                        headcount=headcount, first_weight=first_weight, base=base,
                        target=target)
    p = int(min(p, model.reach.shape[0]))
    cand, short, firsts = _useful(model, p)
    n_pairs = int(model.reach[cand][:, short].nnz + model.first[cand][:, firsts].nnz)
    method = _auto(method, n_pairs)
    name = "max_force_covering"
    if len(cand) == 0 or p == 0:
        return Solution((), model.constant, (), name, method, "optimal", None,
                        time.perf_counter() - t0)
    if method == "heuristic":
        sites = _greedy_swap(model, p, cand)
        obj = force_value(model, sites)
        lp = _lp_bound(model, p, cand, short, firsts)
        order, gains = _order(model, sites)
        return Solution(order, obj, gains, name, "heuristic",
                        "optimal" if _reaches(obj, lp) else "feasible", lp,
                        time.perf_counter() - t0)
    c, integ, upper, cons = _milp_parts(model, p, cand, short, firsts)
    res = milp(c, constraints=cons, integrality=integ, bounds=Bounds(0, upper),
               options={"time_limit": time_limit})
    sites = [int(cand[j]) for j in np.flatnonzero(res.x[:len(cand)] > 0.5)] \
        if res.x is not None else []
    obj = force_value(model, sites)
    used, status, bound = "milp", "optimal", None
    if res.status != 0:
        dual = getattr(res, "mip_dual_bound", None)
        bound = model.constant - float(dual) if dual is not None and np.isfinite(dual) else \
            _lp_bound(model, p, cand, short, firsts)
        status = "time limit" if res.status == 1 else f"stopped: {res.message}"
        alt = _greedy_swap(model, p, cand)
        alt_obj = force_value(model, alt)
        if alt_obj > obj:
            sites, obj, used = alt, alt_obj, "heuristic"
        if _reaches(obj, bound):
            status = "optimal"
    order, gains = _order(model, sites)
    return Solution(order, obj, gains, name, used, status, bound, time.perf_counter() - t0)
