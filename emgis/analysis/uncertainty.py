"""How sure the minutes are: speeds and turnout drawn from ranges, the chance of every village
being within target, the fragile villages, and siting for the expected cover.

A *sample* draws a factor per speed group (road class, ``posted`` speeds, ``offroad`` access
legs: :mod:`emgis.roads.classtime`) and a turnout multiplier per kind:

- speed factor of group ``g``: ``c_g * exp(N(0, s))``, lognormal with median ``c_g``;
- turnout of every unit of kind ``k`` (with a social force's mobilisation): its own x
  ``U(1 - w, 1 + w)``, one draw per kind and sample.

Without dispatch records (or with too few to fit anything) ``c_g = 1``, ``s = [uncertainty]
speed_sd`` (0.15) and ``w = [uncertainty] turnout_share`` (0.5), planning assumptions of the
standards profile. With a
calibration (:mod:`emgis.analysis.calibration`) the centres are the fitted factors and
turnouts, and ``s`` is the robust spread of the log ratio of recorded to fitted travel minutes
over the records (the variation the fit does not explain), ``w`` as without.

A sample is a routing graph with scaled weights (:meth:`ClassTimes.scaled`: the same arcs,
minutes / factor per group): every driving kind's nearest unit is searched on it at once
(:func:`emgis.roads.routing.nearest_min_many`: one label per node, each search stopping at
the kind's target: beyond it only "not within" matters). Villages the bounds decide (the
nominal nearest unit's route at the sample's speeds; a lower bound) are not asked for, and a
search labels only the nodes from which a village it asks about may be within the target
(:func:`_rest`). Walking kinds (shelters) do not
depend on the road speeds: their nominal status is reused (probability 0 or 1).

Per village and kind, ``p_within`` is the share of samples in which the nearest unit arrives
within the target. A village *fragile* is covered at nominal speeds and within target in fewer
than ``[uncertainty] fragile_below`` (0.8) of the samples. Statuses use the same tolerance as
coverage (1e-9 min): with zero spread every probability is 0 or 1 and equals today's status.

:func:`site_expected` chooses new sites for the most persons covered on average over the
samples: :func:`emgis.locate.robust.robust_covering` with the samples as equally likely
scenarios and the ``expected`` objective, on ``[uncertainty] siting_samples`` of them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from emgis._types import FloatArray
from emgis.analysis.coverage import compute_coverage
from emgis.analysis.siting import RobustResult, _result, candidate_sites, candidate_times
from emgis.inputs.kinds import mode_of, target_of, towards_unit, units_of
from emgis.locate.covering import max_covering
from emgis.locate.pairs import _newly_coverable
from emgis.locate.robust import robust_covering, robust_objective, robust_values
from emgis.roads._first import first_dijkstra
from emgis.roads.classtime import ClassTimes, class_times, nearest_routes
from emgis.roads.engine import Engine
from emgis.roads.routing import Search, nearest_min_many

if TYPE_CHECKING:
    from emgis.analysis.calibration import CalibrationResult
    from emgis.analysis.siting import RobustResult
    from emgis.inputs.district import District


@dataclass(frozen=True)
class Ranges:
    """What a sample is drawn from.

    Attributes
    ----------
    centre
        Median speed factor per group (1 without records).
    speed_sd
        Standard deviation of the log of a speed factor.
    turnout
        Centre turnout per unit (minutes; the calibration's where it fitted one).
    turnout_share
        Half-width of the uniform turnout multiplier.
    basis
        ``"defaults"`` (the standards profile) or ``"calibration"``.
    """

    centre: FloatArray
    speed_sd: float
    turnout: FloatArray
    turnout_share: float
    basis: str = "defaults"


@dataclass(frozen=True)
class UncertaintyResult:
    """Everything :func:`uncertainty` found.

    Attributes
    ----------
    table
        One row per village and kind (the coverage table's order): ``village_id``,
        ``village_name``, ``township``, ``population``, ``kind``, ``status`` (nominal),
        ``nearest_min``, ``target_min``, ``p_within`` and ``fragile``.
    summary
        Per kind: ``kind``, ``target_min``, ``samples``, ``population``,
        ``population_covered`` (nominal), ``population_expected`` (persons x probability),
        ``villages_fragile``, ``population_fragile``.
    groups
        The speed groups sampled.
    factors
        The speed factors drawn, samples x groups.
    turnout
        The turnout multipliers drawn, samples x kinds (``kinds``).
    kinds
        The driving kinds sampled.
    ranges
        What the samples were drawn from.
    seconds
        Time the samples took.
    within
        Per kind, each village's share of samples within target.
    searched
        Searches run (samples x kinds whose villages the bounds did not all decide).
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    groups: tuple[str, ...]
    factors: FloatArray
    turnout: FloatArray
    kinds: tuple[str, ...]
    ranges: Ranges
    seconds: float = 0.0
    within: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    searched: int = 0

    @property
    def samples(self) -> int:
        """Samples drawn."""
        return int(self.factors.shape[0])

    def fragile(self) -> pd.DataFrame:
        """The fragile villages, most people first."""
        f = self.table[self.table["fragile"]]
        return f.sort_values(["population", "p_within"], ascending=[False, True],
                             kind="stable").reset_index(drop=True)


def ranges_of(district: District, ct: ClassTimes, units: pd.DataFrame,
              calibration: CalibrationResult | None = None, *,
              speed_sd: float | None = None, turnout_share: float | None = None) -> Ranges:
    """The ranges of the samples: the standards profile's, or the calibration's."""
    u = district.settings.uncertainty
    sd = float(u["speed_sd"].value) if speed_sd is None else float(speed_sd)
    share = float(u["turnout_share"].value) if turnout_share is None else float(turnout_share)
    turnout = units["turnout_min"].to_numpy(dtype=float).copy()
    if calibration is None or not (calibration.fit.fitted_groups
                                   or calibration.fit.fitted_kinds):
        return Ranges(np.ones(ct.n_groups), sd, turnout, share)  # nothing fitted: the profile's
    centre = ct.factors(calibration.factors)
    fit = calibration.fit
    kinds = units["kind"].to_numpy(dtype=object)
    ids = units["id"].astype(str).to_numpy()
    for i in range(len(units)):
        if ids[i] in fit.unit_turnout:
            turnout[i] = fit.unit_turnout[ids[i]]
        elif str(kinds[i]) in fit.turnout:
            turnout[i] = fit.turnout[str(kinds[i])]
    if speed_sd is None and np.isfinite(calibration.log_spread):
        sd = float(calibration.log_spread)
    return Ranges(centre, sd, turnout, share, "calibration")


def draw(ranges: Ranges, n_kinds: int, samples: int, seed: int = 0
         ) -> tuple[FloatArray, FloatArray]:
    """Speed factors (samples x groups) and turnout multipliers (samples x kinds)."""
    rng = np.random.default_rng(seed)
    g = len(ranges.centre)
    z = rng.standard_normal((samples, g))
    f = ranges.centre[None, :] * np.exp(ranges.speed_sd * z)
    w = rng.uniform(-1.0, 1.0, (samples, n_kinds))
    return f, 1.0 + ranges.turnout_share * w


@dataclass(frozen=True)
class _Bounds:
    """What decides a kind's villages in a sample without a search.

    ``upper``: the route from each village's nominal nearest unit, at the sample's speeds and
    turnout (a route: the fastest is no slower); ``lower``: the least turnout of the kind plus
    the nominal travel, at most ``first - max turnout``, divided by the sample's largest speed
    factor (every arc is at least its nominal minutes / the largest factor).
    """

    minutes: FloatArray  # villages x groups, nominal, of the nominal nearest unit's route
    offset: FloatArray  # that unit's (centre) turnout
    first: FloatArray  # nominal minutes of the nearest unit (inf: none)
    min_turn: float
    max_turn: float

    @classmethod
    def of(cls, ct: ClassTimes, engine: Engine, turnout: FloatArray, units: np.ndarray
           ) -> _Bounds:

        m, _, off = nearest_routes(ct, units, turnout, engine.village_loc)
        first = np.where(np.isfinite(m).all(axis=1), m.sum(axis=1) + off, np.inf)
        return cls(np.nan_to_num(m), np.nan_to_num(off), first, float(turnout.min()),
                   float(turnout.max()))

    def decide(self, inv: FloatArray, fmax: float, mult: float, target: float
               ) -> tuple[np.ndarray, np.ndarray]:
        """Villages within target for sure, and those left undecided (a search's)."""
        reach = np.isfinite(self.first)
        upper = np.where(reach, self.offset * mult + self.minutes @ inv, np.inf)
        lower = np.where(reach, self.min_turn * mult + np.maximum(
            self.first - self.max_turn, 0.0) / fmax, np.inf)
        sure = upper <= target + 1e-9
        out = lower > target + 1e-9
        return sure, ~sure & ~out


def _within_reach(units: np.ndarray, villages: np.ndarray, metres: float) -> np.ndarray:
    """Which ``units`` (points) stand within ``metres`` of one of the ``villages``, as the crow
    flies (a unit without a point is kept: its search reaches nothing)."""
    keep = np.ones(len(units), dtype=bool)
    if not len(villages) or not np.isfinite(metres):
        return keep
    (hit, _), gap = shapely.STRtree(villages).query_nearest(units, return_distance=True,
                                                               all_matches=False)
    near = np.zeros(len(units))
    near[hit] = gap
    keep[hit] = near[hit] <= metres * 1.001 + 1.0
    return keep


#: A sample's lower bound of the minutes on to the undecided villages is their nominal
#: minutes over its largest speed factor, times this (sums in another order may differ in
#: their last bits; a bound a little low prunes a little less).
_SHRINK = 1.0 - 1e-9


def _rest(ct: ClassTimes, engine: Engine, kinds: Sequence[str], asked: np.ndarray,
          far: FloatArray, targets: Mapping[str, float]) -> dict[str, FloatArray]:
    """Per kind, each node's nominal minutes (access leg included) on to the nearest village
    that some sample asks a search for (``asked``: kinds x villages; ``far``: per kind the
    largest speed factor of the samples that ask): over a sample's largest speed factor, a
    lower bound of its minutes there at the sample's speeds (every arc takes at least its
    nominal minutes over it), and a consistent one (a distance), which lets each search
    leave out the nodes from which no asked village is within the target
    (:mod:`emgis.roads._first`). One search per kind on the reversed roads, as far as the
    target at the fastest such sample's speeds (beyond it, ``inf``: nothing asked is within
    reach there)."""
    back = ct.graph.reversed()
    out: dict[str, FloatArray] = {}
    for j, k in enumerate(kinds):
        if not asked[j].any():
            continue
        loc = engine.village_loc[asked[j]]
        nodes = back.loc_node[loc]
        cost = back.loc_access[loc]
        ok = (nodes >= 0) & np.isfinite(cost)
        out[k] = first_dijkstra(back.indptr, back.indices, back.weights, nodes[ok], cost[ok],
                                targets[k] * float(far[j]), np.zeros(0), 1.0)
    return out


def _drive_kinds(district: District, kinds: Sequence[str]) -> list[str]:
    s = district.settings
    return [k for k in kinds if k in s.targets and mode_of(k, s) == "drive"
            and not towards_unit(k)]


def uncertainty(district: District, engine: Engine, coverage: pd.DataFrame, *,
                samples: int | None = None, seed: int = 0,
                calibration: CalibrationResult | None = None,
                speed_sd: float | None = None, turnout_share: float | None = None,
                ct: ClassTimes | None = None) -> UncertaintyResult:
    """The chance of every village being within target when speeds and turnout vary.

    Parameters
    ----------
    district, engine
        The district and its :class:`~emgis.roads.engine.Engine` (the coverage's).
    coverage
        The coverage table (:func:`emgis.analysis.coverage.compute_coverage`), for the
        nominal statuses.
    samples
        Samples drawn (default ``[uncertainty] samples``).
    seed
        Seed of the draws (the same seed, the same samples).
    calibration
        A calibration: its fitted speeds and turnout are the centres and its residual spread
        the speed range.
    speed_sd, turnout_share
        Override the ranges (``0, 0``: every sample is the nominal model).
    ct
        The graph's split by speed group, if already made.
    """
    s = district.settings
    n = int(s.uncertainty["samples"].value) if samples is None else int(samples)
    frag = float(s.uncertainty["fragile_below"].value)
    units = units_of(district)
    if len(units) != engine.n_units:
        raise ValueError("units differ from the engine's")
    ct = ct or class_times(engine.graph("drive"), engine.network, s)
    rng_spec = ranges_of(district, ct, units, calibration, speed_sd=speed_sd,
                         turnout_share=turnout_share)
    present = list(dict.fromkeys(coverage["kind"].astype(str)))
    kinds = _drive_kinds(district, present)
    kind_arr = units["kind"].to_numpy(dtype=object)
    sel = {k: np.flatnonzero(kind_arr == k) for k in kinds}
    kinds = [k for k in kinds if len(sel[k])]
    factors, mult = draw(rng_spec, len(kinds), n, seed)
    nv = engine.n_villages
    counts = {k: np.zeros(nv, dtype=np.int64) for k in kinds}
    targets = {k: target_of(k, s) for k in kinds}
    t0 = time.perf_counter()
    bounds = {k: _Bounds.of(ct, engine, rng_spec.turnout[sel[k]], engine.unit_loc[sel[k]])
              for k in kinds}
    # a search starts only from the units that can reach an undecided village within the
    # target at the sample's fastest speed (as the crow flies), and asks only for those
    # villages: the others are decided by the bounds
    top = engine.top_speed()
    pts = np.asarray(engine.points, dtype=object)
    v_pts = pts[engine.village_loc]
    u_pts = {k: pts[engine.unit_loc[sel[k]]] for k in kinds}
    # first every sample's bounds (cheap), so that each kind's searches know every village
    # any sample asks for
    fmax = factors.max(axis=1) if n else np.zeros(0)
    asks: list[list[tuple[int, np.ndarray]]] = []
    asked = np.zeros((len(kinds), nv), dtype=bool)  # by any sample, per kind
    far = np.zeros(len(kinds))  # the largest factor of the samples asking, per kind
    for i in range(n):
        inv = 1.0 / factors[i]
        need: list[tuple[int, np.ndarray]] = []
        for j, k in enumerate(kinds):
            sure, unsure = bounds[k].decide(inv, float(fmax[i]), float(mult[i, j]),
                                            targets[k])
            counts[k] += sure
            if unsure.any():
                need.append((j, np.flatnonzero(unsure)))
                asked[j] |= unsure
                far[j] = max(far[j], float(fmax[i]))
        asks.append(need)
    rest = _rest(ct, engine, kinds, asked, far, targets)
    searched = 0
    for i in range(n):
        need = asks[i]
        if need:
            rg = ct.scaled(factors[i])
            searches = []
            for j, ask in need:
                k = kinds[j]
                near = _within_reach(u_pts[k], v_pts[ask], targets[k] * top * fmax[i])
                searches.append(Search(engine.unit_loc[sel[k]][near],
                                       rng_spec.turnout[sel[k]][near] * mult[i, j],
                                       engine.village_loc[ask], targets[k], rest[k],
                                       _SHRINK / float(fmax[i])))
            for (j, ask), first_min in zip(need, nearest_min_many(rg, searches), strict=True):
                counts[kinds[j]][ask] += first_min <= targets[kinds[j]] + 1e-9
            searched += len(need)
    seconds = time.perf_counter() - t0
    table = coverage[["village_id", "village_name", "township", "population", "kind",
                      "status", "nearest_min", "target_min"]].copy()
    p = np.where(table["status"].to_numpy() == "covered", 1.0, 0.0)
    kcol = table["kind"].to_numpy(dtype=object)
    for k in kinds:
        rows = np.flatnonzero(kcol == k)
        p[rows] = counts[k] / n if n else p[rows]
    table["p_within"] = np.round(p, 4)
    table["fragile"] = (table["status"].to_numpy() == "covered") & (p < frag - 1e-12)
    summary = _summary(table, kinds, n)
    return UncertaintyResult(table, summary, ct.groups, factors, mult, tuple(kinds), rng_spec,
                             seconds, {k: counts[k] / max(n, 1) for k in kinds},
                             searched=searched)


def _summary(table: pd.DataFrame, kinds: Sequence[str], n: int) -> pd.DataFrame:
    rows = []
    for k in kinds:
        g = table[table["kind"] == k]
        pop = g["population"].to_numpy(dtype=float)
        rows.append({"kind": k, "target_min": float(g["target_min"].iloc[0]), "samples": n,
                     "population": int(pop.sum()),
                     "population_covered": int(pop[(g["status"] == "covered").to_numpy()].sum()),
                     "population_expected": round(float(pop @ g["p_within"].to_numpy())),
                     "villages_fragile": int(g["fragile"].sum()),
                     "population_fragile": int(pop[g["fragile"].to_numpy()].sum())})
    return pd.DataFrame(rows, columns=["kind", "target_min", "samples", "population",
                                       "population_covered", "population_expected",
                                       "villages_fragile", "population_fragile"])


def sample_engine(engine: Engine, ct: ClassTimes, factors: FloatArray) -> Engine:
    """The engine with its driving graph at a sample's speeds (the same locations)."""
    rg = ct.scaled(factors)
    out = dataclasses.replace(engine, _graphs={("drive", False): rg})
    if out.graph("drive") is not rg:  # the engine keeps its graphs otherwise now
        raise RuntimeError("Engine's graph cache changed: sample_engine needs updating")
    return out


def sample_district(district: District, kind_mult: Mapping[str, float]) -> District:
    """The district with every unit's turnout (and each kind's default) times its kind's
    multiplier."""
    s = district.settings
    teams = district.teams
    if len(teams):
        default = teams["kind"].map(lambda k: float(s.turnout[k].value) if k in s.turnout
                                    else 0.0)
        own = teams["turnout_min"].astype("Float64").fillna(default).astype(float)
        mult = teams["kind"].map(lambda k: float(kind_mult.get(str(k), 1.0))).astype(float)
        teams = teams.assign(turnout_min=pd.array(own * mult, dtype="Float64"))
    turnout = {k: dataclasses.replace(v, value=float(v.value) * float(kind_mult.get(k, 1.0)))
               for k, v in s.turnout.items()}
    return dataclasses.replace(district, teams=teams,
                               settings=dataclasses.replace(s, turnout=turnout))


def site_expected(district: District, engine: Engine, kind: str, *, add: int,
                  result: UncertaintyResult, samples: int | None = None,
                  method: str = "auto", time_limit: float = 300.0) -> RobustResult:
    """New sites of ``kind`` for the most persons within target on average over the samples,
    compared with the plan chosen at nominal speeds.

    The first ``samples`` (default ``[uncertainty] siting_samples``) samples of ``result`` are
    the scenarios of :func:`emgis.locate.robust.robust_covering` (objective ``expected``,
    equally likely): in each, every unit's and candidate's turnout and every speed is the
    sample's. ``comparison`` has a row per sample: persons covered by the existing units, with
    the nominal plan and with the expected-cover plan.
    """

    s = district.settings
    n = int(s.uncertainty["siting_samples"].value) if samples is None else int(samples)
    n = max(1, min(n, result.samples))
    target = target_of(kind, s)
    turnout = float(s.turnout[kind].value) if kind in s.turnout else 0.0
    ct = class_times(engine.graph("drive"), engine.network, s)
    cand, excluded = candidate_sites(district, kind)
    cloc = cand["loc"].to_numpy(dtype=np.int64)
    weights = district.villages["population"].fillna(0).to_numpy(dtype=float)
    base0 = compute_coverage(district, engine, kinds=(kind,)).table["nearest_min"].to_numpy(
        dtype=float)
    base0 = np.where(np.isnan(base0), np.inf, base0)
    pairs0 = candidate_times(engine, kind, cloc, base0, target=target, turnout=turnout,
                             covering=True)
    covers, covered = [], []
    for i in range(n):
        mult = {k: float(result.turnout[i, j]) for j, k in enumerate(result.kinds)}
        d_i = sample_district(district, mult)
        eng = sample_engine(engine, ct, result.factors[i])
        base = compute_coverage(d_i, eng, kinds=(kind,)).table["nearest_min"].to_numpy(
            dtype=float)
        base = np.where(np.isnan(base), np.inf, base)
        pairs = candidate_times(eng, kind, cloc, base, target=target,
                                turnout=turnout * mult.get(kind, 1.0), covering=True)
        covers.append(_newly_coverable(pairs, target, base))
        covered.append(base <= target + 1e-9)
    pr = np.full(n, 1.0 / n)
    sol = robust_covering(covers, weights, covered, add, objective="expected", probs=pr,
                          method=method, time_limit=time_limit)
    nominal = max_covering(pairs0, weights, base0, target, add, method=method,
                           time_limit=time_limit)
    empty = np.zeros(len(base0), dtype=bool)
    chosen = _result(district, kind, sol, cand, excluded, pairs0, weights, base0, target,
                     empty, requested=add)
    plain = _result(district, kind, nominal, cand, excluded, pairs0, weights, base0, target,
                    empty, requested=add)
    none, _ = robust_values(covers, weights, covered, [])
    with_nom, mn = robust_values(covers, weights, covered, list(nominal.sites))
    with_exp, me = robust_values(covers, weights, covered, list(sol.sites))
    comparison = pd.DataFrame({
        "scenario": [f"#{i + 1}" for i in range(n)], "weight": np.round(pr, 4),
        "covered_existing": none.astype(np.int64),
        "covered_baseline_plan": with_nom.astype(np.int64),
        "covered_robust_plan": with_exp.astype(np.int64),
        "difference": (with_exp - with_nom).astype(np.int64)})
    return RobustResult(chosen, plain, comparison, "expected", n, tuple(float(x) for x in pr),
                        robust_objective(with_nom, mn, weights, "expected", pr, n),
                        robust_objective(with_exp, me, weights, "expected", pr, n))
