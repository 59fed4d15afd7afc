"""Siting: where new units do the most good, on the district's map.

The adapter between the district and the location models of :mod:`emgis.locate` (which work
on plain arrays, as spopt's do): the candidate sites (village centres, public buildings, the
planner's list) with the reasons some are left out, their minutes to the villages from the
engine's searches, and the ranked proposals with their gains, in the baseline or over the
scenarios together (robust siting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from emgis._errors import SitingError
from emgis._types import BoolArray, FloatArray, IntArray
from emgis.analysis.coverage import compute_coverage
from emgis.inputs.kinds import mode_of, target_of, towards_unit, units_of
from emgis.locate import HEURISTIC_MODELS, METHODS, MODELS
from emgis.locate.budget import BudgetKind, BudgetSolution, budget_covering
from emgis.locate.covering import capacitated_covering, max_covering, set_covering
from emgis.locate.median import p_center, p_median
from emgis.locate.pairs import Pairs, Solution, _newly_coverable, served_times
from emgis.locate.robust import robust_covering, robust_objective, robust_values
from emgis.roads.engine import Engine
from emgis.roads.routing import pair_order, pairs_within
from emgis.texts import Msg

if TYPE_CHECKING:
    from emgis.inputs.district import District
    from emgis.roads.edges import EdgeArrays

#: Candidates closer than this to an existing unit of the kind count as on top of it, metres.
ON_TOP_M = 50.0


#: Candidate sources (``source`` of :func:`candidate_sites`) by their name in ``[siting]
#: sources``.
SOURCE_OF = {"village centre": "villages", "shelters": "shelters", "stockpiles": "stockpiles",
             "teams": "teams", "candidates layer": "listed"}


def candidate_sites(district: District, kind: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Candidate sites for new units of ``kind``, and the ones excluded with the reason.

    Candidates: every village and community centre, the public buildings of the district's
    layers (shelters, stockpiles, teams' bases) and the optional ``candidates`` layer, as
    ``[siting]`` chooses: ``sources`` names the sources used and ``candidates = "listed"``
    keeps the ``candidates`` layer only; the others are excluded ("source not used", "not a
    listed candidate"). A candidate on top of an existing unit of the kind (within 50 m) is
    excluded. Of candidates at one location (to the metre) the cheapest is kept (the first on
    equal costs), so that a reused building is not hidden behind a village centre.

    Each candidate carries ``loc``: its location in the district's
    :class:`~emgis.roads.engine.Engine` (villages, then units in
    :func:`~emgis.analysis.coverage.units_of` order, then the candidates layer), ``cost``: what
    building there costs (yuan; NaN where no cost is known), and ``cost_basis``: how the cost
    was set: ``"candidate's own cost"`` (the ``cost`` of ``[layers.candidates]``),
    ``"kind's cost"`` (``[costs] KIND``), ``"reused building"`` (a shelter, stockpile or team
    base, 利旧: ``[costs] KIND`` x ``[costs] reuse_factor``) or ``"no cost known"``.
    """

    v = district.villages
    units = units_of(district)
    n_v, n_u = len(v), len(units)
    s = district.settings
    build = float(s.costs[kind].value) if kind in s.costs else np.nan
    reuse = float(s.costs["reuse_factor"].value) if "reuse_factor" in s.costs else 1.0
    parts = [pd.DataFrame({"id": "village:" + v["id"].astype(str), "name": v["name"],
                           "source": "village centre", "geometry": v.geometry,
                           "loc": np.arange(n_v), "cost": build,
                           "cost_basis": "kind's cost"})]
    layer_of = units["layer"].to_numpy(dtype=object)
    for layer in ("shelters", "stockpiles", "teams"):
        sel = np.flatnonzero(layer_of == layer)
        if len(sel):
            g = units.iloc[sel]
            parts.append(pd.DataFrame({"id": f"{layer}:" + g["id"].astype(str),
                                       "name": g["name"].to_numpy(), "source": layer,
                                       "geometry": g.geometry.to_numpy(),
                                       "loc": n_v + sel, "cost": build * reuse,
                                       "cost_basis": "reused building"}))
    c = district.candidates
    if len(c):
        own = pd.to_numeric(c["cost"], errors="coerce").to_numpy(dtype=float, na_value=np.nan) \
            if "cost" in c else np.full(len(c), np.nan)
        parts.append(pd.DataFrame({"id": "candidate:" + c["id"].astype(str), "name": c["name"],
                                   "source": "candidates layer", "geometry": c.geometry,
                                   "loc": n_v + n_u + np.arange(len(c)),
                                   "cost": np.where(np.isnan(own), build, own),
                                   "cost_basis": np.where(np.isnan(own), "kind's cost",
                                                          "candidate's own cost")}))
    cand = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                            crs=district.crs)
    cost = cand["cost"].to_numpy(dtype=float)
    cand["cost_basis"] = np.where(np.isnan(cost), "no cost known",
                                  cand["cost_basis"].to_numpy(dtype=object))
    excluded: list[dict[str, object]] = []

    def exclude(mask: npt.NDArray[np.bool_], reason: str) -> None:
        excluded.extend({"id": i, "name": n, "reason": reason}
                        for i, n in zip(cand["id"][mask], cand["name"][mask], strict=True))

    # the sources [siting] uses
    listed_only = s.siting.candidates == "listed"
    used = ("listed",) if listed_only else s.siting.sources
    keep = cand["source"].map(SOURCE_OF).isin(used).to_numpy(dtype=bool).copy()
    exclude(~keep, "not a listed candidate" if listed_only else "source not used")
    existing = units[units["kind"] == kind]
    if len(existing) and keep.any():
        tree = shapely.STRtree(existing.geometry.values)
        near = tree.query(cand.geometry.values, predicate="dwithin", distance=ON_TOP_M)
        on_top = np.zeros(len(cand), dtype=bool)
        on_top[near[0]] = True
        on_top &= keep
        keep &= ~on_top
        exclude(on_top, "on top of an existing unit")
    # one candidate per location (a village centre and a school at the same point): the
    # cheapest, the first on equal costs
    idx = np.flatnonzero(keep)
    if len(idx):
        xy = np.round(np.column_stack([cand.geometry.x.to_numpy()[idx],
                                       cand.geometry.y.to_numpy()[idx]]), 0)
        order = np.lexsort((idx, np.where(np.isnan(cost[idx]), np.inf, cost[idx])))
        _, first = np.unique(xy[order], axis=0, return_index=True)
        keep[:] = False
        keep[idx[order[first]]] = True
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




def check_request(model: str, *, method: str = "auto", cover_all: bool = False,
                  capacity: float | None = None, add: object = 1) -> None:
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


def _nearest(district: District, engine: Engine, kind: str, *, active: BoolArray | None = None,
             known: pd.DataFrame | None = None) -> FloatArray:
    """Each village's minutes from the nearest existing unit of ``kind`` (``inf`` where none):
    from ``known`` (a coverage table on this engine with these units active) when it holds
    the kind's rows in the villages' order, else searched."""
    rows = known[(known["kind"] == kind).to_numpy()] if known is not None else None
    if rows is None or len(rows) != len(district.villages) or not np.array_equal(
            rows["village_id"].to_numpy(dtype=object),
            district.villages["id"].to_numpy(dtype=object)):
        rows = compute_coverage(district, engine, kinds=(kind,), active=active).table
    t = rows["nearest_min"].to_numpy(dtype=float)
    return np.where(np.isnan(t), np.inf, t)


def _locate(district: District, network: EdgeArrays | Engine) -> Engine:

    return network if isinstance(network, Engine) else Engine.for_district(district, network)


def site_units(district: District, network: EdgeArrays | Engine, kind: str, *,
               add: int | None = None, cover_all: bool = False, model: str = "max_covering",
               method: str = "auto", capacity: float | None = None,
               time_limit: float = 300.0, coverage: pd.DataFrame | None = None
               ) -> SitingResult:
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
    coverage
        The district's coverage table on this engine, if already computed (its times are
        taken instead of searched again).

    Raises
    ------
    SitingError
        A model, method or option that do not go together, ``add`` < 1, or a kind without a
        target.
    """

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
    base = _nearest(district, engine, kind, known=coverage)
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


def candidate_times(engine: Engine, kind: str, cand_loc: IntArray, base: FloatArray, *,
                    target: float, turnout: float, covering: bool) -> Pairs:
    """Minutes from each candidate to each village, where they can matter.

    Covering models need the pairs within the target (a search from each candidate up to
    it); p-median and p-center only the pairs that beat the existing units: a search from each
    village, on the reversed roads, as far as its current time (or a cutoff of four times the
    target, at least 60 minutes and the longest current time, where no unit reaches it yet).
    """

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
    order = pair_order(ci, vi, n_v)  # each (candidate, village) once
    return Pairs((n_c, n_v), ci[order], vi[order], t[order])


def _with_baseline(pairs0: Pairs, far: BoolArray, near: Pairs) -> Pairs:
    """The baseline's pairs of the ``far`` candidates, and ``near``'s (the searches of the
    others, in their order) for the rest; sorted by candidate then village."""
    rows_near = np.flatnonzero(~far)[near.row]
    keep = far[pairs0.row]
    row = np.concatenate([pairs0.row[keep], rows_near])
    col = np.concatenate([pairs0.col[keep], near.col])
    t = np.concatenate([pairs0.t[keep], near.t])
    order = pair_order(row, col, pairs0.shape[1])  # the two parts' rows do not meet
    return Pairs(pairs0.shape, row[order], col[order], t[order])


def _result(district: District, kind: str, sol: Solution, cand: gpd.GeoDataFrame,
            excluded: pd.DataFrame, times: Pairs, weights: FloatArray, base: FloatArray,
            target: float, unreachable: BoolArray, *, requested: int | None
            ) -> SitingResult:
    """Proposals ranked by what each adds, with every village before and after."""
    v = district.villages
    before_cov = base <= target + 1e-9
    covered = before_cov.copy()
    reached = np.isfinite(base)
    cur = base.copy()
    rows: list[dict[str, object]] = []
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
                     "cost_yuan": float(cand["cost"].iloc[j]) if "cost" in cand else np.nan,
                     "cost_basis": str(cand["cost_basis"].iloc[j]) if "cost_basis" in cand
                     else "no cost known",
                     "villages": ";".join(f"{a} {b}" for a, b in zip(
                         v["id"][new], v["name"][new], strict=True)),
                     "geometry": cand.geometry.iloc[j]})
    cols = ["rank", "site_id", "name", "source", "newly_covered_population",
            "newly_reached_population", "gain", "gain_unit", "cost_yuan", "cost_basis",
            "villages"]
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
                        "best_possible_min": best[unreachable], "target_min": target})
    villages = gpd.GeoDataFrame({
        "village_id": v["id"].to_numpy(), "village_name": v["name"].to_numpy(),
        "population": weights.astype(np.int64),
        "before_min": np.where(np.isfinite(base), base, np.nan),
        "after_min": np.where(np.isfinite(after), after, np.nan), "target_min": target,
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
    engine: Engine
    active: BoolArray
    out_area: shapely.Geometry | None
    #: Where the scenario's roads differ from the baseline's (its zones), if known: a search
    #: that cannot reach it finds what it finds in the baseline.
    hazard_area: shapely.Geometry | None = None
    #: The scenario's coverage (``village_id``, ``kind``, ``nearest_min`` on this engine with
    #: these units active), if already computed: siting takes its times instead of searching.
    coverage: pd.DataFrame | None = field(default=None, repr=False, compare=False)


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


def site_robust(district: District, network: EdgeArrays | Engine, kind: str, *, add: int = 1,
                scenarios: list[ScenarioSpec], objective: str = "worst",
                probs: npt.ArrayLike | None = None, k: int | None = None,
                method: str = "auto", time_limit: float = 300.0,
                coverage: pd.DataFrame | None = None) -> RobustResult:
    """New sites of ``kind`` chosen over the baseline and the scenarios together
    (:func:`robust_covering`), compared with the plan chosen on the baseline alone.

    In each scenario the candidates reach villages over its affected roads, existing units
    out of action respond to nothing, and a candidate inside the scenario's ``out_area`` is
    out of action too. ``coverage`` (the district's coverage table) and each scenario's
    ``coverage``, when given, spare the searches for the existing units' times.
    """

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
    actives: list[BoolArray | None] = [None, *[sc.active for sc in scenarios]]
    knowns = [coverage, *[sc.coverage for sc in scenarios]]
    covers, covered, pairs0, base0 = [], [], None, None
    mode = mode_of(kind, s)
    for i, (eng, act, known) in enumerate(zip(engines, actives, knowns, strict=True)):
        base = _nearest(district, eng, kind, active=act, known=known)
        if pairs0 is None:
            pairs = candidate_times(eng, kind, cloc, base, target=target, turnout=turnout,
                                    covering=True)
        else:
            # a candidate too far from the scenario's changes to the roads for a search of
            # the target to reach one keeps its baseline pairs: only the others are searched
            far = engine.beyond_changes(eng, cand.geometry.values, target, mode,
                                        reverse=towards_unit(kind))
            pairs = _with_baseline(pairs0, far, candidate_times(
                eng, kind, cloc[~far], base, target=target, turnout=turnout, covering=True))
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


@dataclass(frozen=True)
class BudgetResult:
    """New sites of one or more kinds chosen within one budget (budgeted covering).

    Attributes
    ----------
    budget
        The money for all kinds together, yuan.
    solution
        The plan over all kinds (:class:`~emgis.locate.budget.BudgetSolution`): the sites in
        the order they add most, the total cost, the weighted persons, the proven bound and
        gap, method and status.
    sites
        One :class:`SitingResult` per kind, in the order asked (proposals ranked by what each
        adds, with ``cost_yuan``; every village before and after; the candidates excluded,
        with those whose cost is not known).
    weights
        Each kind's weight of a person newly covered.
    yearly
        Each kind's yearly running cost of one site (``[costs] KIND_yearly``, yuan), where
        known.
    """

    budget: float
    solution: BudgetSolution
    sites: tuple[SitingResult, ...]
    weights: Mapping[str, float]
    yearly: Mapping[str, float]

    @property
    def cost(self) -> float:
        """What the plan costs, yuan."""
        return self.solution.cost

    def summary(self) -> pd.DataFrame:
        """The plan per kind and in all (``siting_budget.csv``): sites, cost, yearly running
        cost, persons newly covered, weight and weighted persons; the ``all`` row also the
        budget, what is left of it, the proven bound, the gap, method and status."""
        sol = self.solution
        rows = []
        for r in self.sites:
            n = len(r.proposals)
            cost = float(r.proposals["cost_yuan"].sum()) if n else 0.0
            persons = int(r.proposals["newly_covered_population"].sum()) if n else 0
            w = float(self.weights.get(r.kind, 1.0))
            rows.append({"kind": r.kind, "sites": n, "cost_yuan": cost,
                         "yearly_yuan": n * self.yearly[r.kind] if r.kind in self.yearly
                         else (0.0 if not n else np.nan),
                         "newly_covered_population": persons, "weight": w,
                         "weighted_persons": round(w * persons, 1)})
        table = pd.DataFrame(rows)
        total = {"kind": "all", "sites": int(table["sites"].sum()),
                 "cost_yuan": float(table["cost_yuan"].sum()),
                 "yearly_yuan": float(table["yearly_yuan"].sum(min_count=len(table))),
                 "newly_covered_population": int(table["newly_covered_population"].sum()),
                 "weight": np.nan, "weighted_persons": round(sol.objective, 1),
                 "budget_yuan": self.budget, "unspent_yuan": self.budget - sol.cost,
                 "bound": round(sol.bound, 1), "gap_to_bound": sol.gap}
        out = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
        out["method"] = sol.method
        out["status"] = str(sol.status)
        return out[["kind", "sites", "cost_yuan", "yearly_yuan", "newly_covered_population",
                    "weight", "weighted_persons", "budget_yuan", "unspent_yuan", "bound",
                    "gap_to_bound", "method", "status"]]


def site_budget(district: District, network: EdgeArrays | Engine, kinds: Sequence[str], *,
                budget: float, weights: Mapping[str, float] | None = None,
                method: str = "auto", time_limit: float = 300.0) -> BudgetResult:
    """New sites of one or more kinds covering the most persons for a budget (yuan).

    Each kind's candidates (:func:`candidate_sites`, with their costs), minutes within its
    target and villages already covered make one budgeted maximum covering problem
    (:func:`emgis.locate.budget.budget_covering`): the exact MILP on HiGHS while it is small
    (``method="auto"``), the cost-effective greedy with swaps and a proven bound above. A
    person newly covered counts ``weights[kind]`` (default 1 for every kind). Candidates whose
    cost is not known are excluded ("no cost known"). Each kind's result is a
    :class:`SitingResult` (proposals with their cost), as :func:`site_units` gives.

    Raises
    ------
    SitingError
        A kind without a target, given twice, or with no candidate of known cost; a weight
        for a kind not asked for; a budget, weight, method or time limit
        :func:`~emgis.locate.budget.budget_covering` does not take.
    """
    s = district.settings
    kinds = list(kinds)
    twice = sorted({k for k in kinds if kinds.count(k) > 1})
    if twice:
        raise SitingError(Msg("budget_kind_twice", kind=twice[0]))
    weights = dict(weights or {})
    for k, w in weights.items():
        if k not in kinds:
            raise SitingError(Msg("cli_kind_weight", v=f"{k}={w}"))
    engine = _locate(district, network)
    v = district.villages
    pop = v["population"].fillna(0).to_numpy(dtype=float)
    parts = []
    for kind in kinds:
        if kind not in s.targets:
            raise SitingError(Msg("site_kind_no_target", v=kind, options=", ".join(s.targets)))
        target = target_of(kind, s)
        turnout = 0.0 if towards_unit(kind) else (float(s.turnout[kind].value)
                                                    if kind in s.turnout else 0.0)
        cand, excluded = candidate_sites(district, kind)
        cost = cand["cost"].to_numpy(dtype=float)
        unknown = np.isnan(cost)
        if len(cand) and unknown.all():
            raise SitingError(Msg("budget_needs_cost", kind=kind))
        base = compute_coverage(district, engine, kinds=(kind,)).table[
            "nearest_min"].to_numpy(dtype=float)
        base = np.where(np.isnan(base), np.inf, base)
        no_road = engine.status(cand["loc"].to_numpy(dtype=np.int64)) == "no_road_access"
        more = [pd.DataFrame({"id": cand["id"][m], "name": cand["name"][m], "reason": why})
                for m, why in ((no_road & ~unknown, "no road access"),
                               (unknown, "no cost known")) if m.any()]
        excluded = pd.concat([excluded, *more], ignore_index=True)
        cand = cand[~unknown].reset_index(drop=True)
        times = candidate_times(engine, kind, cand["loc"].to_numpy(dtype=np.int64), base,
                                target=target, turnout=turnout, covering=True)
        parts.append((kind, cand, excluded, times, base, target))
    bkinds = [BudgetKind(kind, times, pop, base, target, cand["cost"].to_numpy(dtype=float),
                         float(weights.get(kind, 1.0)))
              for kind, cand, _, times, base, target in parts]
    sol = budget_covering(bkinds, budget, method=method, time_limit=time_limit)
    results = []
    for kind, cand, excluded, times, base, target in parts:
        chosen = [c for c in sol.chosen if c.kind == kind]
        w = float(weights.get(kind, 1.0))
        bound = sol.bound / w if len(parts) == 1 and w > 0 else None
        k_sol = Solution(tuple(c.candidate for c in chosen), sol.persons.get(kind, 0.0),
                         tuple(c.persons for c in chosen), "budget_covering", sol.method,
                         str(sol.status), bound, sol.seconds)
        r = _result(district, kind, k_sol, cand, excluded, times, pop, base, target,
                    np.zeros(len(v), dtype=bool), requested=None)
        note: str = sol.note or ("" if len(r.proposals) else Msg("budget_kind_none"))
        results.append(SitingResult(r.kind, r.solution, r.proposals, r.villages, r.excluded,
                                    r.unreachable, r.target_min, note, None))
    yearly = {k: float(s.costs[f"{k}_yearly"].value) for k in kinds if f"{k}_yearly" in s.costs}
    return BudgetResult(float(budget), sol, tuple(results),
                        {k: float(weights.get(k, 1.0)) for k in kinds}, yearly)
