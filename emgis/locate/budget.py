"""Budgeted covering: the most persons brought within target for at most a budget (yuan).

A bureau chief asks what a plan costs; the 泉州 2025 text budgets about 300,000 yuan per township
station and asks to reuse existing buildings, which cost less. Each candidate therefore has its
own cost, and :func:`budget_covering` chooses, for one shared budget, new sites of one or more
kinds (each kind with its own candidates, minutes, target and villages already covered) that
bring the most persons within target, each kind's persons weighted as the planner says.

This is the budgeted maximum coverage problem (Khuller, Moss & Naor 1999). On arrays, as the
other models of :mod:`emgis.siting`: ``times[j, i]`` the minutes from candidate ``j`` to village
``i`` (dense, or sparse :class:`~emgis.siting.Pairs`), ``base[i]`` the minutes from the nearest
existing unit. Several kinds are one problem on the block-diagonal candidate x village matrix of
all kinds, village ``i`` of kind ``k`` weighing ``weight_k x persons_i``.

Exact: a MILP on HiGHS (``scipy.optimize.milp``). Beyond :data:`~emgis.siting.AUTO_MILP_PAIRS`
pairs (``method="auto"``): the cost-effective greedy (most persons per yuan) and the best single
affordable candidate, each filled greedily up to the budget, then improving swaps; its gap is
measured against a proven upper bound (the LP relaxation, or the online bound of Leskovec et
al. 2007 for submodular functions under a budget).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from emgis._errors import SitingError
from emgis._types import FloatArray, IntArray
from emgis.locate.pairs import AUTO_MILP_PAIRS, Pairs, _auto, _newly_coverable, _reaches, _row
from emgis.texts import Msg

__all__ = ["BUDGET_LP_BOUND_PAIRS", "BudgetKind", "BudgetSite", "BudgetSolution",
           "budget_covering"]

#: Largest number of candidate-village pairs for which the heuristic's gap is measured
#: against the LP relaxation; above, against the online bound only (see
#: :func:`budget_covering`). Ten times :data:`~emgis.siting.AUTO_MILP_PAIRS`.
BUDGET_LP_BOUND_PAIRS = 10 * AUTO_MILP_PAIRS

_METHODS = ("auto", "milp", "heuristic")
_LP_SECONDS = 120.0  # at most this long for the LP bound, as emgis.siting's _mclp_bound


@dataclass(frozen=True, eq=False)
class BudgetKind:
    """One kind of unit in a budgeted plan: its candidates, villages and costs.

    Attributes
    ----------
    name
        The kind (``"micro_fire_station"``, ``"stockpile"`` ...); names the kind in results
        and errors, one per kind of a plan.
    times
        Candidate x village minutes (turnout included; ``inf`` where unreachable or beyond
        the search cutoff): a dense ``(candidates, villages)`` array or
        :class:`~emgis.siting.Pairs`.
    weights
        Persons of each village.
    base
        Minutes from the nearest existing unit of the kind to each village (``inf`` where
        none reaches): villages within ``target`` are already covered and count for nothing.
    target
        The kind's response-time target (minutes).
    costs
        What building each candidate costs (yuan, >= 0; 0 for a building already owned).
    weight
        The planner's weight of one person of this kind newly covered (default 1.0: every
        kind's persons count the same).
    """

    name: str
    times: FloatArray | Pairs
    weights: FloatArray
    base: FloatArray
    target: float
    costs: FloatArray
    weight: float = 1.0


@dataclass(frozen=True)
class BudgetSite:
    """One site of a budgeted plan.

    Attributes
    ----------
    kind
        The kind's name (:attr:`BudgetKind.name`).
    candidate
        The candidate's position among the kind's candidates (row of its ``times``).
    persons
        Persons it newly covers after the sites before it in the plan.
    weighted
        The same times the kind's weight: what it adds to the objective.
    cost
        What it costs (yuan).
    """

    kind: str
    candidate: int
    persons: float
    weighted: float
    cost: float


@dataclass(frozen=True)
class BudgetSolution:
    """A budgeted covering plan.

    Attributes
    ----------
    chosen
        The sites, in the order they add most (marginal weighted gain; equal gains cheaper
        first). Sites that would add nothing are left out, so no money is spent on them.
    cost
        Total cost of the sites (yuan), at most ``budget``.
    objective
        Weighted persons newly covered: the sum over kinds of weight x persons.
    persons
        Per kind (by name), the persons newly covered (not weighted).
    budget
        The budget (yuan).
    method, status
        ``"milp"`` or ``"heuristic"`` (whose plan was kept); ``"optimal"`` (proven, up to
        HiGHS's relative gap of 1e-4), ``"feasible"`` (a heuristic plan not proven
        optimal), ``"time limit"`` (HiGHS stopped; the better of its plan and the
        heuristic's kept) or, when HiGHS stopped otherwise, a :class:`emgis.texts.Msg`
        (``budget_stopped``, ``budget_over_tolerance``: ``"stopped: ..."`` in English).
    bound
        A proven upper bound of the objective (weighted persons): HiGHS's dual bound for the
        MILP, the least of the LP relaxation and the online bound for the heuristic.
    note
        What a planner should know when the plan is empty or spends nothing: the budget is
        below every candidate's cost, or no affordable candidate covers anyone new (a
        :class:`emgis.texts.Msg`, ``budget_*``; ``""`` when there is nothing to say).
    seconds
        Solve time.
    """

    chosen: tuple[BudgetSite, ...]
    cost: float
    objective: float
    persons: dict[str, float]
    budget: float
    method: str
    status: str
    bound: float
    note: str
    seconds: float

    @property
    def gap(self) -> float:
        """Relative gap of the objective to the bound (0 = proven optimal)."""
        if self.bound <= 0:
            return 0.0
        return max(0.0, self.bound - self.objective) / self.bound

    def sites(self, kind: str) -> tuple[int, ...]:
        """Candidates chosen of one kind (positions among its candidates), in plan order."""
        return tuple(s.candidate for s in self.chosen if s.kind == kind)


@dataclass(frozen=True)
class _Model:
    """All kinds as one problem, on the candidates and villages that can matter.

    ``a``: kept candidate x kept village, 1 where the candidate newly covers the village;
    ``w``: weighted persons of each kept village, ``p`` its persons, ``vkind`` its kind;
    ``c``: each kept candidate's cost, ``kind`` its kind, ``cand`` its position in the kind.
    """

    a: sp.csr_matrix
    w: FloatArray
    p: FloatArray
    vkind: IntArray
    c: FloatArray
    kind: IntArray
    cand: IntArray


def _fits(cost: float | FloatArray, budget: float) -> npt.NDArray[np.bool_]:
    """Whether a cost (yuan) is within the budget, up to rounding (1e-9 of the budget)."""
    return np.asarray(cost) <= budget + 1e-9 * max(1.0, budget)


def _plain(v: object) -> object:
    """A NumPy scalar as the Python number it holds (so that a message shows ``-1.0``, not
    ``np.float64(-1.0)``); anything else as it is."""
    return v.item() if isinstance(v, np.generic) else v


def _check(kinds: Sequence[BudgetKind], budget: float, method: str, time_limit: float) -> None:
    """Raise :class:`SitingError` (a ``ValueError``) for input the model cannot take."""
    if method not in _METHODS:
        raise SitingError(Msg("site_method", v=method))
    if not np.isfinite(time_limit) or time_limit <= 0:
        raise SitingError(Msg("budget_time_limit", v=_plain(time_limit)))
    if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)) \
            or np.isnan(budget) or budget < 0:
        raise SitingError(Msg("budget_amount", v=_plain(budget)))
    if not kinds:
        raise SitingError(Msg("budget_no_kind"))
    names = [k.name for k in kinds]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SitingError(Msg("budget_kind_twice", kind=twice[0]))
    for k in kinds:
        shape = Pairs.of(k.times).shape
        costs = np.asarray(k.costs, dtype=float).ravel()
        w = np.asarray(k.weights, dtype=float).ravel()
        if len(costs) != shape[0] or len(w) != shape[1] or np.shape(k.base) != (shape[1],):
            raise SitingError(Msg("budget_sizes", kind=k.name, candidates=shape[0],
                                  villages=shape[1], costs=len(costs), weights=len(w),
                                  base=int(np.size(k.base))))
        bad = np.flatnonzero(~(np.isfinite(costs) & (costs >= 0)))  # NaN, inf, negative
        if len(bad):
            raise SitingError(Msg("budget_costs" if len(bad) > 1 else "budget_cost",
                                  kind=k.name, j=int(bad[0]), cost=float(costs[bad[0]]),
                                  more=len(bad) - 1))
        bad = np.flatnonzero(~((w >= 0) & np.isfinite(w)))
        if len(bad):
            raise SitingError(Msg("budget_persons", kind=k.name, i=int(bad[0]),
                                  v=float(w[bad[0]])))
        if not (np.isfinite(k.weight) and k.weight >= 0):
            raise SitingError(Msg("budget_weight", kind=k.name, v=_plain(k.weight)))
        if np.isnan(k.target):
            raise SitingError(Msg("budget_target", kind=k.name, v=_plain(k.target)))


def _model(kinds: Sequence[BudgetKind], budget: float) -> _Model:
    """The candidates (affordable, covering someone new) and villages (weighing something)
    that can matter, of all kinds together."""
    covers, w, p, vkind, c, kind, cand = [], [], [], [], [], [], []
    for n, k in enumerate(kinds):
        pairs = Pairs.of(k.times)
        covers.append(_newly_coverable(pairs, float(k.target), np.asarray(k.base, dtype=float)))
        persons = np.asarray(k.weights, dtype=float).ravel()
        p.append(persons)
        w.append(float(k.weight) * persons)
        vkind.append(np.full(len(persons), n, dtype=np.int64))
        c.append(np.asarray(k.costs, dtype=float).ravel())
        kind.append(np.full(pairs.shape[0], n, dtype=np.int64))
        cand.append(np.arange(pairs.shape[0], dtype=np.int64))
    a = sp.csr_matrix(sp.block_diag(covers, format="csr"), dtype=np.float64)
    wa, ca = np.concatenate(w), np.concatenate(c)
    rows = np.flatnonzero(_fits(ca, budget))
    a = a[rows]
    cols = np.flatnonzero((wa > 0) & (np.asarray(a.sum(axis=0)).ravel() > 0))
    a = sp.csr_matrix(a[:, cols])
    some = np.flatnonzero(np.diff(a.indptr) > 0)
    rows = rows[some]
    return _Model(sp.csr_matrix(a[some]), wa[cols], np.concatenate(p)[cols],
                  np.concatenate(vkind)[cols], ca[rows], np.concatenate(kind)[rows],
                  np.concatenate(cand)[rows])


def _dominated_by_cheaper(a: sp.csr_matrix, c: FloatArray) -> npt.NDArray[np.bool_]:
    """Candidates whose cover is within that of another costing no more.

    Candidate ``r`` is dropped for ``k`` when ``cover(r)`` is within ``cover(k)``,
    ``c[k] <= c[r]`` and ``k`` is strictly better (covers more or costs less) or the same at a
    lower position. The relation has no cycles, so each dropped candidate has a kept one that
    dominates it; swapping it for that one keeps a plan within budget and covers no fewer
    persons, so the kept candidates hold an optimum. (A candidate covering less but costing
    less is kept: under a budget it may be what fits.)
    """
    m = sp.csr_matrix(a, dtype=np.float64)
    size = np.asarray(m.sum(axis=1)).ravel()
    ov = (m @ m.T).tocoo()
    r, k, n = ov.row, ov.col, ov.data
    within = (n == size[r]) & (r != k) & (c[k] <= c[r]) & (
        (size[k] > size[r]) | (c[k] < c[r]) | (k < r))
    out: npt.NDArray[np.bool_] = size == 0
    out[r[within]] = True
    return out


def _knapsack(gain: FloatArray, c: FloatArray, budget: float) -> float:
    """Most of ``gain`` that candidates of total cost ``budget`` can add, taken fractionally
    (the LP of the knapsack: best gain per yuan first, free candidates whole)."""
    pos = gain > 0
    total = float(gain[pos & (c <= 0)].sum())
    idx = np.flatnonzero(pos & (c > 0))
    if not len(idx):
        return total
    order = idx[np.argsort(-gain[idx] / c[idx], kind="stable")]
    cum = np.cumsum(c[order])
    n = int(np.searchsorted(cum, budget, side="right"))
    total += float(gain[order[:n]].sum())
    if n < len(order):
        left = budget - (float(cum[n - 1]) if n else 0.0)
        total += float(gain[order[n]]) * max(0.0, left) / float(c[order[n]])
    return total


def _value(w: FloatArray, count: FloatArray) -> float:
    return float(w[count > 0].sum())


def _pick(gain: FloatArray, c: FloatArray, ok: npt.NDArray[np.bool_]) -> int:
    """The next candidate of the cost-effective greedy: a free one covering most, else the
    most persons per yuan (ties: more persons, then cheaper, then first)."""
    free = np.flatnonzero(ok & (c <= 0))
    if len(free):
        return int(free[np.argmax(gain[free])])
    idx = np.flatnonzero(ok)
    ratio = gain[idx] / c[idx]
    tie = idx[ratio >= ratio.max() * (1 - 1e-12)]
    return int(tie[np.lexsort((tie, c[tie], -gain[tie]))[0]])


def _fill(a: sp.csr_matrix, w: FloatArray, c: FloatArray, budget: float, chosen: list[int],
          count: FloatArray, bounds: list[float] | None = None
          ) -> tuple[list[int], FloatArray]:
    """Add candidates by the cost-effective greedy while one fits and adds persons.

    Candidates that no longer fit are passed over, not stopped at (Khuller et al.'s modified
    greedy). With ``bounds``, appends at each step the online bound of the plan so far.
    """
    chosen, count = list(chosen), count.copy()
    taken = np.zeros(a.shape[0], dtype=bool)
    taken[chosen] = True
    spent = float(c[chosen].sum())
    while True:
        gain = a @ (w * (count == 0))
        gain[taken] = 0.0
        if bounds is not None:
            bounds.append(_value(w, count) + _knapsack(gain, c, budget))
        ok = ~taken & (gain > 0) & _fits(spent + c, budget)
        if not ok.any():
            return chosen, count
        j = _pick(gain, c, ok)
        chosen.append(j)
        taken[j] = True
        spent += float(c[j])
        count[_row(a, j)] += 1


def _swaps(a: sp.csr_matrix, w: FloatArray, c: FloatArray, budget: float, chosen: list[int],
           count: FloatArray, deadline: float) -> tuple[list[int], FloatArray]:
    """Improving moves under the budget while one helps and time is left.

    A move drops one site and either adds the one that covers most in its place (what fits)
    or not, then fills what money is left by the cost-effective greedy. It is taken when it
    covers more, or as much for less money.
    """
    tol = 1e-9 * max(1.0, float(w.sum()))
    best, spent = _value(w, count), float(c[chosen].sum())
    for _ in range(10 * a.shape[0] + 10):  # a bound on the moves, never reached in practice
        move = None
        for k in sorted(chosen, key=lambda j: (-c[j], j)):
            if time.perf_counter() > deadline:
                return chosen, count
            rest = [j for j in chosen if j != k]
            without = count.copy()
            without[_row(a, k)] -= 1
            tries = [(rest, without)]
            gain = a @ (w * (without == 0))
            gain[chosen] = 0.0
            gain[~_fits(spent - c[k] + c, budget)] = 0.0
            if gain.max() > 0:
                top = np.flatnonzero(gain >= gain.max() * (1 - 1e-12))
                j = int(top[np.lexsort((top, c[top]))[0]])
                add = without.copy()
                add[_row(a, j)] += 1
                tries.append(([*rest, j], add))
            for sites, cnt in tries:
                s2, c2 = _fill(a, w, c, budget, sites, cnt)
                v, cost = _value(w, c2), float(c[s2].sum())
                if v > best + tol or (v >= best - tol and cost < spent - 1e-9 * max(1.0, spent)):
                    move = (s2, c2, v, cost)
                    break
            if move is not None:
                break
        if move is None:
            return chosen, count
        chosen, count, best, spent = list(move[0]), move[1], max(best, move[2]), move[3]
    return chosen, count


def _heuristic(a: sp.csr_matrix, w: FloatArray, c: FloatArray, budget: float,
               deadline: float) -> tuple[list[int], float]:
    """The plan of the cost-effective greedy or of the best single candidate (each filled up
    to the budget), the better one improved by swaps; and the least online bound seen."""
    zero = np.zeros(a.shape[1])
    bounds: list[float] = []
    plans = [_fill(a, w, c, budget, [], zero, bounds)]
    single = a @ w
    top = np.flatnonzero(single >= single.max() * (1 - 1e-12))
    j = int(top[np.lexsort((top, c[top]))[0]])
    first = zero.copy()
    first[_row(a, j)] += 1
    plans.append(_fill(a, w, c, budget, [j], first))
    chosen, count = max(plans, key=lambda s: (_value(w, s[1]), -float(c[s[0]].sum())))
    chosen, count = _swaps(a, w, c, budget, chosen, count, deadline)
    gain = a @ (w * (count == 0))
    gain[chosen] = 0.0
    bounds.append(_value(w, count) + _knapsack(gain, c, budget))
    return chosen, min(bounds)


def _lp_bound(a: sp.csr_matrix, w: FloatArray, c: FloatArray, budget: float,
              time_limit: float) -> float | None:
    """The LP relaxation's optimum (HiGHS interior point), or None if it did not finish."""
    n_c, n_v = a.shape
    link = sp.hstack([-a.T, sp.identity(n_v)]).tocsr()
    rows, rhs = [link], [np.zeros(n_v)]
    if np.isfinite(budget) and c.max() > 0:
        scale = float(c.max())
        rows.append(sp.hstack([sp.csr_matrix(c[None, :] / scale), sp.csr_matrix((1, n_v))]))
        rhs.append(np.array([budget / scale]))
    res = linprog(np.concatenate([np.zeros(n_c), -w]), A_ub=sp.vstack(rows).tocsr(),
                  b_ub=np.concatenate(rhs), bounds=(0, 1), method="highs-ipm",
                  options={"time_limit": time_limit})
    if res.status != 0 or res.fun is None:
        return None
    return float(-res.fun)


def _milp(a: sp.csr_matrix, w: FloatArray, c: FloatArray, budget: float,
          time_limit: float) -> tuple[list[int] | None, int, str, float]:
    """The MILP on the candidates no cheaper one dominates: chosen positions (None if HiGHS
    has no plan), HiGHS's status and message, and its dual bound (``nan`` if none)."""
    keep = np.flatnonzero(~_dominated_by_cheaper(a, c))
    ak = a[keep]
    n_c, n_v = ak.shape
    # variables: x_j (sites), y_i (villages covered); maximise w.y
    link = sp.hstack([-ak.T, sp.identity(n_v)])  # y_i <= sum of x_j covering i
    cons = [LinearConstraint(link, -np.inf, 0)]
    ck = c[keep]
    if np.isfinite(budget) and ck.max() > 0:  # costs scaled to at most 1
        scale = float(ck.max())
        cons.append(LinearConstraint(sp.hstack([sp.csr_matrix(ck[None, :] / scale),
                                                sp.csr_matrix((1, n_v))]),
                                     -np.inf, budget / scale))
    res = milp(np.concatenate([np.zeros(n_c), -w]), constraints=cons,
               integrality=np.concatenate([np.ones(n_c), np.zeros(n_v)]),
               bounds=Bounds(0, 1), options={"time_limit": time_limit})
    sites = [int(keep[j]) for j in np.flatnonzero(res.x[:n_c] > 0.5)] \
        if res.x is not None else None
    dual = getattr(res, "mip_dual_bound", None)
    bound = float(-dual) if dual is not None and np.isfinite(dual) else float("nan")
    return sites, int(res.status), str(res.message), bound


def budget_covering(kinds: Sequence[BudgetKind], budget: float, *, method: str = "auto",
                    time_limit: float = 300.0) -> BudgetSolution:
    """New sites of one or more kinds covering the most (weighted) persons for a budget.

    A village counts for a kind when a chosen candidate of that kind reaches it within the
    kind's target and no existing unit of the kind does yet. Maximise the sum over kinds of
    ``weight x persons newly covered`` subject to the chosen candidates' costs adding up to
    at most ``budget``.

    Parameters
    ----------
    kinds
        The kinds to site (:class:`BudgetKind`), each with its candidates, minutes, persons,
        current minutes, target (minutes), costs (yuan) and weight; names distinct.
    budget
        Money for all kinds together (yuan, >= 0; ``inf`` for no limit). A plan may spend
        up to 1e-9 of it more (rounding).
    method
        ``"milp"``: exact, a MILP on HiGHS with variables x (candidates, binary) and y
        (villages covered, 0-1): ``y_i <= sum of x_j covering i``, ``costs.x <= budget``,
        after dropping every candidate whose cover is within that of one costing no more.
        ``"heuristic"``: the cost-effective greedy (most weighted persons per yuan, passing
        over candidates that no longer fit) and the best single affordable candidate, each
        filled up to the budget by the same greedy; the better one improved by moves (drop a
        site, add the best that fits or none, fill again) that cover more or as much for
        less, while ``time_limit`` lasts. Greedy-or-best-single alone covers at least
        (1 - 1/e)/2 of the optimum (Khuller, Moss & Naor 1999, Inf. Process. Lett.
        70(1):39-45), which the swaps can only improve. ``"auto"``: the MILP up to
        :data:`~emgis.siting.AUTO_MILP_PAIRS` candidate-village pairs that can matter
        (affordable candidates, villages not yet covered), the heuristic above.
    time_limit
        Seconds for HiGHS (``milp``) or the swaps (``heuristic``). When HiGHS stops at it,
        the better of its plan and the heuristic's (with a tenth of the time for swaps, at
        least 1 s) is kept, with HiGHS's proven bound.

    Returns
    -------
    BudgetSolution
        The sites in marginal-gain order, each with the persons it adds and its cost; the
        total cost, objective, persons per kind, method, status, proven bound and gap. The
        heuristic's bound is the least of the LP relaxation (up to
        :data:`BUDGET_LP_BOUND_PAIRS` pairs; two minutes at most) and the online bound of
        submodular maximisation under a budget (Leskovec et al. 2007, "Cost-effective
        outbreak detection in networks", KDD, section 3: for any plan S,
        ``OPT <= f(S) + the fractional-knapsack best of the marginal gains d_j(S) for the
        budget``; it holds because coverage is monotone and submodular), taken at every step
        of the greedy and at the final plan.

    Raises
    ------
    SitingError
        (a ``ValueError``) An unknown method; a budget or time limit NaN or negative; no
        kinds or a kind twice; a cost NaN, infinite or negative (naming the candidate and the
        kind); persons NaN or negative; a kind's weight not a number >= 0; arrays of the wrong
        sizes.

    Notes
    -----
    Candidates of cost 0 (buildings already owned) are taken whenever they add persons. With
    a budget below every candidate's cost the plan is empty and ``note`` says so. Among plans
    covering the same, the cheaper is preferred, but not proven cheapest: a candidate whose
    cover is within a cheaper one's is dropped before the MILP, the MILP's plan then goes
    through the heuristic's moves (which take a plan covering as much for less money; a
    tenth of ``time_limit``, at least 1 s), and sites adding nothing are left out.
    """
    t0 = time.perf_counter()
    _check(kinds, budget, method, time_limit)
    budget = float(budget)
    m = _model(kinds, budget)
    used = _auto(method, m.a.nnz)
    if m.a.shape[0] == 0:
        all_costs = np.concatenate([np.asarray(k.costs, dtype=float).ravel() for k in kinds])
        if not len(all_costs):
            note = Msg("budget_no_candidates")
        elif not _fits(all_costs.min(), budget):
            note = Msg("budget_below_cost", budget=budget, cheapest=float(all_costs.min()))
        else:
            note = Msg("budget_covers_none")
        return _solution(kinds, m, [], budget, used, "optimal", 0.0, note, t0)
    if used == "heuristic":
        sites, bound = _heuristic(m.a, m.w, m.c, budget, t0 + time_limit)
        if m.a.nnz <= BUDGET_LP_BOUND_PAIRS:
            left = max(1.0, min(_LP_SECONDS, t0 + time_limit - time.perf_counter()))
            lp = _lp_bound(m.a, m.w, m.c, budget, left)
            bound = bound if lp is None else min(bound, lp)
        obj = _value(m.w, _counts(m.a, sites))
        status = "optimal" if _reaches(obj, bound) else "feasible"
        return _solution(kinds, m, sites, budget, "heuristic", status, bound, "", t0)
    found, code, message, dual = _milp(m.a, m.w, m.c, budget, time_limit)
    sites = found or []
    trouble: str = ""
    if not _fits(float(m.c[sites].sum()), budget):  # HiGHS's feasibility tolerance
        sites, trouble = [], Msg("budget_over_tolerance")
    if code == 0 and not trouble:
        # of the plans covering as much, a cheaper one nearby (HiGHS is not told costs matter
        # beyond the budget)
        sites, _ = _swaps(m.a, m.w, m.c, budget, sites, _counts(m.a, sites),
                          time.perf_counter() + max(1.0, 0.1 * time_limit))
        obj = _value(m.w, _counts(m.a, sites))
        return _solution(kinds, m, sites, budget, "milp", "optimal",
                         dual if np.isfinite(dual) else obj, "", t0)
    obj = _value(m.w, _counts(m.a, sites))
    # stopped (time limit): keep the better of HiGHS's plan and the heuristic's, and say how
    # far it may be from the optimum by the least proven bound
    status = trouble or ("time limit" if code == 1 else Msg("budget_stopped", message=message))
    alt, bound = _heuristic(m.a, m.w, m.c, budget,
                            time.perf_counter() + max(1.0, 0.1 * time_limit))
    if np.isfinite(dual):
        bound = min(bound, dual)
    used = "milp"
    alt_obj = _value(m.w, _counts(m.a, alt))
    if alt_obj > obj:
        sites, obj, used = alt, alt_obj, "heuristic"
    if _reaches(obj, bound):
        status = "optimal"
    return _solution(kinds, m, sites, budget, used, status, bound, "", t0)


def _counts(a: sp.csr_matrix, sites: list[int]) -> FloatArray:
    """Per village, the number of ``sites`` covering it."""
    count = np.zeros(a.shape[1])
    for j in sites:
        count[_row(a, j)] += 1
    return count


def _solution(kinds: Sequence[BudgetKind], m: _Model, sites: list[int], budget: float,
              method: str, status: str, bound: float, note: str, t0: float) -> BudgetSolution:
    """The plan in marginal-gain order (equal gains cheaper first), sites adding nothing
    left out."""
    covered = np.zeros(m.a.shape[1], dtype=bool)
    left = sorted(sites, key=lambda j: (m.c[j], j))
    chosen: list[BudgetSite] = []
    while left:
        gains = [float(m.w[_row(m.a, j)][~covered[_row(m.a, j)]].sum()) for j in left]
        k = int(np.argmax(gains))
        if gains[k] <= 0:
            break  # the rest add nothing
        j = left.pop(k)
        new = _row(m.a, j)[~covered[_row(m.a, j)]]
        covered[new] = True
        chosen.append(BudgetSite(kinds[int(m.kind[j])].name, int(m.cand[j]),
                                 float(m.p[new].sum()), gains[k], float(m.c[j])))
    objective = float(m.w[covered].sum())
    per = np.bincount(m.vkind[covered], weights=m.p[covered], minlength=len(kinds))
    cost = float(sum(s.cost for s in chosen))
    if not note and not chosen:
        note = Msg("budget_covers_none")
    return BudgetSolution(tuple(chosen), cost, objective,
                          {k.name: float(v) for k, v in zip(kinds, per, strict=True)}, budget,
                          method, status, max(float(bound), objective), note,
                          time.perf_counter() - t0)
