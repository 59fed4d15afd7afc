"""Calibration from dispatch records: the model's minutes against the recorded ones, and speeds
and turnout fitted so that the minutes are ones a bureau can defend.

Each record of the ``calls`` layer (:mod:`emgis.inputs.calls`) is matched to the unit sent (its
team id, else a team's exact name) and the place (the incident point where the record has
coordinates, else the village by id, else by exact name), and to the model's time for that
unit and place: the unit's turnout, then the fastest route (both access legs included), as
coverage computes it. The recorded minutes are arrival - dispatch.

Records that make no sense are listed one by one with the reason (:data:`FLAGS`) and left out
of the fit: times missing or unreadable, arrival not after dispatch, longer than 240 minutes,
an unknown unit or village, no place at all, a place or unit the roads do not reach, a
duplicate (the same record id, or the same unit, place, dispatch and arrival as an earlier row),
faster than :data:`MAX_KPH` over the route's length (impossible), or slower than
:data:`MIN_KPH` over a route of at least a kilometre.

The fit (:func:`calibrate`)
---------------------------
For a record ``i`` of a unit of kind ``k``, with ``m_ig`` the nominal minutes its route spends
in speed group ``g`` (a road class, ``posted`` speeds, the ``offroad`` access legs:
:mod:`emgis.roads.classtime`)::

    recorded_i = T_k + d_u + sum_g m_ig / f_g + e_i

``f_g`` is group ``g``'s speed factor (its speed times ``f_g``), ``T_k`` the turnout of kind
``k`` and ``d_u`` a unit's own deviation from it (only for units with at least
:data:`MIN_UNIT_RECORDS` records, shrunk towards 0 as if :data:`UNIT_SHRINK` more records sat
at the kind's turnout). The model is linear in ``1 / f_g``, ``T_k`` and ``d_u``; it is solved by
``scipy.optimize.least_squares`` with the robust ``soft_l1`` loss (Huber-like: quadratic for
residuals within the scale, linear beyond, so an odd record cannot pull the fit), the scale the
robust spread of the nominal residuals (1.4826 x their median absolute deviation, within
0.5-5 minutes), with bounds ``0.3 <= f_g <= 2.0`` and ``0 <= T_k <= 30``. A group is fitted only
where at least :data:`MIN_GROUP_RECORDS` records spend a minute on it (else its factor stays
1); a kind's turnout only with :data:`MIN_KIND_RECORDS` records.

Routes depend on speeds: after a fit, every route is searched again on the network at the
fitted speeds and the fit repeated, until the routes no longer change (at most
:data:`MAX_ROUNDS` rounds). Error before and after is cross-validated over :data:`FOLDS` folds
of the records (shuffled, seeded): each fold's records are predicted by a fit on the others
(on the routes of the full fit), against the model as it is.

The result writes ``calibration.toml``: the ``[speeds]`` of each fitted class (the class speed x
its factor), ``[network] maxspeed_factor`` for posted speeds (``maxspeed_rule = "derate"``),
``[speeds] offroad`` and ``[turnout]`` per kind, each with its source, and every unit's own
turnout as a comment (the teams layer's ``turnout_min``); and ``calibration.csv`` (every
record: model, recorded, residual, flags).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from emgis._types import FloatArray, IntArray
from emgis.inputs.calls import parse_time
from emgis.inputs.kinds import SOCIAL_KINDS, units_of
from emgis.roads.classtime import OFFROAD, POSTED, ClassTimes, class_times, route_minutes
from emgis.roads.engine import Engine
from emgis.roads.routing import times_from
from emgis.texts import texts

if TYPE_CHECKING:
    from emgis.inputs.district import District
    from emgis.roads.edges import EdgeArrays

#: Why a record is not used, in the order they are checked (words: ``calib_flag`` in the
#: catalogue). ``outlier`` is said of a used record the fit puts far off (|residual| > 4 x the
#: robust spread): the robust loss already keeps it from pulling the fit.
FLAGS = ("missing_time", "arrival_before_dispatch", "too_long", "unknown_unit",
         "unknown_village", "no_place", "duplicate", "no_route", "too_fast", "too_slow")

#: Above this average speed over the route's length (km/h, turnout included) a record is
#: impossible: no emergency vehicle averages it on county roads (the motorway class speed is
#: 80 km/h, its posted limit 120).
MAX_KPH = 120.0
#: Below this average speed over a route of at least a kilometre a record is no measure of
#: driving (walking pace: the unit waited, or the time is wrong).
MIN_KPH = 3.0
#: Longest plausible record, minutes (as a turnout in the layers: LIMITS["minutes"]).
MAX_MIN = 240.0
#: Records per fitted speed group (each spending at least a minute on it).
MIN_GROUP_RECORDS = 10
#: Records a kind needs for its turnout to be fitted, and a unit for its own.
MIN_KIND_RECORDS = 5
MIN_UNIT_RECORDS = 5
#: A unit's own turnout is shrunk towards its kind's as if this many records sat there.
UNIT_SHRINK = 5.0
#: Bounds of a speed factor and of a turnout (minutes).
FACTOR_BOUNDS = (0.3, 2.0)
TURNOUT_BOUNDS = (0.0, 30.0)
#: Rounds of fit and route search.
MAX_ROUNDS = 3
#: Folds of the cross-validation.
FOLDS = 5
#: A used record whose residual exceeds this many robust spreads is an outlier.
OUTLIER_SPREADS = 4.0


@dataclass(frozen=True)
class Fit:
    """Fitted parameters: a factor per speed group, a turnout per kind, per unit."""

    factors: FloatArray
    turnout: dict[str, float]
    unit_turnout: dict[str, float]
    fitted_groups: tuple[str, ...]
    fitted_kinds: tuple[str, ...]
    fitted_units: tuple[str, ...]


@dataclass(frozen=True)
class CalibrationResult:
    """Everything :func:`calibrate` found.

    Attributes
    ----------
    records
        One row per record of the calls layer (see :func:`calibrate`).
    groups
        Per speed group: ``group``, ``nominal_kph``, ``factor``, ``calibrated_kph``,
        ``minutes`` (of the used records' routes), ``records`` (spending a minute on it),
        ``fitted``.
    turnout
        Per kind and unit: ``scope`` (``kind``/``unit``), ``kind``, ``unit_id``,
        ``unit_name``, ``nominal_min``, ``fitted_min``, ``records``.
    errors
        Model against recorded, before and after the fit: ``scope`` (``district``,
        ``road_class``, ``township``, ``unit``), ``name``, ``records``, ``bias_before``,
        ``spread_before``, ``mae_before``, ``bias_after``, ``spread_after``, ``mae_after``
        (minutes; bias = mean of recorded - model, spread its standard deviation).
    cv
        Cross-validated error: ``folds``, ``records``, ``mae_before``, ``mae_after``,
        ``rmse_before``, ``rmse_after``, ``median_before``, ``median_after``.
    fit
        The fitted parameters.
    groups_names
        The speed groups in the order of ``fit.factors``.
    rounds
        Fit-and-route rounds run.
    log_spread
        Robust standard deviation of log(recorded travel / fitted travel) over the used
        records: the spread the uncertainty analysis draws speeds from.
    nominal
        Nominal values written beside the fitted ones: ``speeds`` (km/h per group),
        ``maxspeed_factor``, ``maxspeed_rule``.
    period
        First and last dispatch of the used records.
    """

    records: pd.DataFrame
    groups: pd.DataFrame
    turnout: pd.DataFrame
    errors: pd.DataFrame
    cv: Mapping[str, float]
    fit: Fit
    groups_names: tuple[str, ...]
    rounds: int
    log_spread: float
    nominal: Mapping[str, Any] = field(default_factory=dict)
    period: tuple[str, str] = ("", "")

    @property
    def used(self) -> int:
        """Records used by the fit."""
        return int(self.records["used"].sum())

    @property
    def factors(self) -> dict[str, float]:
        """The fitted factor of every speed group."""
        return {g: float(f) for g, f in zip(self.groups_names, self.fit.factors, strict=True)}

    def problems(self) -> pd.DataFrame:
        """The records not used, each with its row and reasons (codes)."""
        r = self.records
        return r[~r["used"]][["row", "call_id", "unit", "place", "flags", "note"]]

    def toml(self, lang: str = "en") -> str:
        """``calibration.toml``: the snippet of ``district.toml`` keys (see the module text)."""
        return calibration_toml(self, lang=lang)


# --- records --------------------------------------------------------------------------------


def _lookup(values: Sequence[object], ids: Sequence[object], names: Sequence[object]
            ) -> IntArray:
    """Position of each value among ``ids``, else among unique ``names``; -1 where neither."""
    by_id = {str(v): i for i, v in enumerate(ids) if v is not None}
    counts = pd.Series([str(n) for n in names]).value_counts()
    by_name = {str(n): i for i, n in enumerate(names) if counts.get(str(n), 0) == 1}
    out = np.full(len(values), -1, dtype=np.int64)
    for i, v in enumerate(values):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            continue
        s = str(v).strip()
        out[i] = by_id.get(s, by_name.get(s, -1))
    return out


def _pick(values: pd.Series, pos: IntArray) -> np.ndarray:
    """``values`` at positions ``pos``, None where ``pos`` is -1."""
    out = np.full(len(pos), None, dtype=object)
    ok = pos >= 0
    out[ok] = values.to_numpy(dtype=object)[pos[ok]]
    return out


@dataclass
class _Records:
    """The calls matched to units and places, with the engine their routes run on."""

    frame: pd.DataFrame
    engine: Engine
    ct: ClassTimes
    unit_loc: IntArray  # location per record (-1 unknown)
    place_loc: IntArray
    unit_pos: IntArray  # row of units_of(district) per record
    recorded: FloatArray
    turnout: FloatArray  # nominal turnout of the record's unit
    kinds: npt_obj
    units: gpd.GeoDataFrame


npt_obj = np.ndarray


def _match(district: District, network: EdgeArrays) -> _Records:
    calls = district.calls
    n = len(calls)
    units = units_of(district)
    teams = units[units["layer"] == "teams"].reset_index(drop=True)
    v = district.villages
    uid = _lookup(list(calls["unit"]), list(teams["id"]), list(teams["name"]))
    vid = _lookup(list(calls["village"]), list(v["id"]), list(v["name"]))
    geoms = calls.geometry.values
    has_pt = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    pts = gpd.GeoSeries([g for g, h in zip(geoms, has_pt, strict=True) if h], crs=calls.crs)
    eng = Engine.build(network, villages=v.geometry, units=teams.geometry,
                       extra=pts if len(pts) else None, settings=district.settings)
    unit_loc = np.where(uid >= 0, eng.n_villages + uid, -1).astype(np.int64)
    place_loc = np.where(vid >= 0, vid, -1).astype(np.int64)
    pt_loc = eng.n_villages + eng.n_units + np.arange(int(has_pt.sum()))
    place_loc[has_pt] = pt_loc
    disp = [parse_time(x) for x in calls["dispatch_time"]]
    arr = [parse_time(x) for x in calls["arrival_time"]]
    rec = np.array([(a - d).total_seconds() / 60.0 if a is not None and d is not None
                    else np.nan for d, a in zip(disp, arr, strict=True)])
    turnout = np.where(uid >= 0, teams["turnout_min"].to_numpy(dtype=float)[np.maximum(uid, 0)],
                       np.nan)
    kinds = _pick(teams["kind"], uid)
    frame = pd.DataFrame({
        "row": calls["row"].to_numpy() if "row" in calls else np.arange(1, n + 1),
        "call_id": calls["id"].to_numpy(dtype=object),
        "unit": calls["unit"].to_numpy(dtype=object),
        "unit_id": _pick(teams["id"], uid), "unit_name": _pick(teams["name"], uid),
        "kind": kinds,
        "village_id": _pick(v["id"], vid),
        "place": [("point" if h else "village" if k >= 0 else None)
                  for h, k in zip(has_pt, vid, strict=True)],
        "dispatch": [d.isoformat(sep=" ") if d is not None else None for d in disp],
        "arrival": [a.isoformat(sep=" ") if a is not None else None for a in arr],
        "_given_village": calls["village"].to_numpy(dtype=object),
        "_disp_ok": [d is not None for d in disp], "_arr_ok": [a is not None for a in arr],
        "_point": [f"{g.x:.1f},{g.y:.1f}" if h else "" for g, h in zip(geoms, has_pt,
                                                                     strict=True)],
    })
    # the township of a record: its village's, else the nearest village's
    town = np.full(n, None, dtype=object)
    towns = v["township"].to_numpy(dtype=object)
    town[vid >= 0] = towns[vid[vid >= 0]]
    if has_pt.any() and len(v):
        tree = v.sindex
        near = tree.nearest(pts.to_crs(v.crs).values, return_all=False)[1]
        town[has_pt] = towns[near]
    frame["township"] = town
    ct = class_times(eng.graph("drive"), network, district.settings)
    return _Records(frame, eng, ct, unit_loc, place_loc,
                    np.where(uid >= 0, eng.n_villages + uid, -1), rec, turnout, kinds, teams)


def _flags(r: _Records, minutes: FloatArray, metres: FloatArray) -> list[list[str]]:
    """The reasons each record is not used (empty: used)."""
    f = r.frame
    n = len(f)
    out: list[list[str]] = [[] for _ in range(n)]
    seen_id: dict[str, int] = {}
    seen_key: dict[tuple[object, ...], int] = {}
    notes = [""] * n
    for i in range(n):
        flags = out[i]
        if not (f["_disp_ok"].iat[i] and f["_arr_ok"].iat[i]):
            flags.append("missing_time")
        elif not r.recorded[i] > 0:
            flags.append("arrival_before_dispatch")
        elif r.recorded[i] > MAX_MIN:
            flags.append("too_long")
        if r.unit_loc[i] < 0:
            flags.append("unknown_unit")
        given = f["_given_village"].iat[i]
        given_ok = isinstance(given, str) and given.strip() != ""
        if not isinstance(f["place"].iat[i], str):
            flags.append("unknown_village" if given_ok else "no_place")
        cid = f["call_id"].iat[i]
        key = (str(f["unit"].iat[i]), str(given), f["_point"].iat[i], f["dispatch"].iat[i],
               f["arrival"].iat[i])
        has_id = isinstance(cid, str) and cid.strip() != ""
        if has_id and str(cid) in seen_id:
            flags.append("duplicate")
            notes[i] = str(f["row"].iat[seen_id[str(cid)]])
        elif isinstance(f["dispatch"].iat[i], str) and key in seen_key:
            flags.append("duplicate")
            notes[i] = str(f["row"].iat[seen_key[key]])
        else:
            if has_id:
                seen_id[str(cid)] = i
            if isinstance(f["dispatch"].iat[i], str):
                seen_key[key] = i
        if not flags and not np.isfinite(minutes[i]):
            flags.append("no_route")
        if not flags:
            km = metres[i] / 1000.0
            kph = km / (r.recorded[i] / 60.0)
            if kph > MAX_KPH:
                flags.append("too_fast")
            elif km >= 1.0 and kph < MIN_KPH:
                flags.append("too_slow")
    r.frame["note"] = notes
    return out


# --- the fit ----------------------------------------------------------------------------------


def _design(m: FloatArray, kinds: Sequence[str], units: Sequence[str], fit_groups: IntArray,
            fit_kinds: Sequence[str], fit_units: Sequence[str]) -> tuple[FloatArray, FloatArray]:
    """The design matrix of the linear model and the fixed part (groups not fitted)."""
    n = len(m)
    fixed = m[:, [g for g in range(m.shape[1]) if g not in set(fit_groups.tolist())]].sum(axis=1)
    cols = [m[:, fit_groups]]
    kcol = np.zeros((n, len(fit_kinds)))
    for j, k in enumerate(fit_kinds):
        kcol[:, j] = [kk == k for kk in kinds]
    ucol = np.zeros((n, len(fit_units)))
    for j, u in enumerate(fit_units):
        ucol[:, j] = [uu == u for uu in units]
    return np.hstack([*cols, kcol, ucol]), fixed


def _solve(m: FloatArray, y: FloatArray, kinds: Sequence[str], units: Sequence[str],
           nominal_turnout: FloatArray, fit_groups: IntArray, fit_kinds: Sequence[str],
           fit_units: Sequence[str], scale: float) -> tuple[FloatArray, dict[str, float],
                                                            dict[str, float]]:
    """Solve the robust fit; returns (1/factor per fitted group, turnout per fitted kind,
    deviation per fitted unit)."""

    a, fixed = _design(m, kinds, units, fit_groups, fit_kinds, fit_units)
    # records of a kind whose turnout is not fitted keep their nominal turnout
    kind_fit = np.array([k in set(fit_kinds) for k in kinds])
    base = fixed + np.where(kind_fit, 0.0, nominal_turnout)
    n_g, n_k, n_u = len(fit_groups), len(fit_kinds), len(fit_units)
    pen = math.sqrt(UNIT_SHRINK)
    shrink = np.zeros((n_u, n_g + n_k + n_u))
    shrink[:, n_g + n_k:] = np.eye(n_u) * pen
    jac = np.vstack([a, shrink])

    def resid(p: FloatArray) -> FloatArray:
        return np.concatenate([a @ p + base - y, shrink @ p])

    lo = np.concatenate([np.full(n_g, 1.0 / FACTOR_BOUNDS[1]), np.full(n_k, TURNOUT_BOUNDS[0]),
                         np.full(n_u, -TURNOUT_BOUNDS[1])])
    hi = np.concatenate([np.full(n_g, 1.0 / FACTOR_BOUNDS[0]), np.full(n_k, TURNOUT_BOUNDS[1]),
                         np.full(n_u, TURNOUT_BOUNDS[1])])
    k_nom = [float(np.median(nominal_turnout[[kk == k for kk in kinds]])) for k in fit_kinds]
    x0 = np.clip(np.concatenate([np.ones(n_g), k_nom, np.zeros(n_u)]), lo + 1e-9, hi - 1e-9)
    if len(x0) == 0:
        return np.zeros(0), {}, {}
    res = least_squares(resid, x0, jac=lambda p: jac, bounds=(lo, hi), loss="soft_l1",
                        f_scale=scale, method="trf", x_scale="jac", max_nfev=2000)
    p = res.x
    return (p[:n_g], {k: float(p[n_g + j]) for j, k in enumerate(fit_kinds)},
            {u: float(p[n_g + n_k + j]) for j, u in enumerate(fit_units)})


def _predict(m: FloatArray, kinds: Sequence[str], units: Sequence[str],
             nominal_turnout: FloatArray, fit: Fit) -> FloatArray:
    turn = np.array([fit.unit_turnout.get(u, fit.turnout.get(k, t)) for k, u, t in
                     zip(kinds, units, nominal_turnout, strict=True)])
    return np.asarray(m @ (1.0 / fit.factors) + turn, dtype=float)


def _choose(m: FloatArray, kinds: Sequence[str], units: Sequence[str], groups: Sequence[str]
            ) -> tuple[IntArray, list[str], list[str]]:
    """The groups, kinds and units with enough records to be fitted."""
    enough = (m >= 1.0).sum(axis=0) >= MIN_GROUP_RECORDS
    fit_groups = np.flatnonzero(enough).astype(np.int64)
    kc = pd.Series(list(kinds)).value_counts()
    fit_kinds = sorted(str(k) for k, c in kc.items() if c >= MIN_KIND_RECORDS)
    uc = pd.Series(list(units)).value_counts()
    fit_units = sorted(str(u) for u, c in uc.items() if c >= MIN_UNIT_RECORDS
                       and str(kinds[list(units).index(str(u))]) in fit_kinds)
    # a unit alone in its kind: the kind's turnout is its own
    per_kind = pd.Series([kinds[list(units).index(u)] for u in fit_units]).value_counts()
    fit_units = [u for u in fit_units if per_kind.get(kinds[list(units).index(u)], 0) > 1]
    return fit_groups, fit_kinds, fit_units


def _fit(m: FloatArray, y: FloatArray, kinds: Sequence[str], units: Sequence[str],
         nominal_turnout: FloatArray, groups: Sequence[str], scale: float) -> Fit:
    fit_groups, fit_kinds, fit_units = _choose(m, kinds, units, groups)
    inv, turn, dev = _solve(m, y, kinds, units, nominal_turnout, fit_groups, fit_kinds,
                            fit_units, scale)
    factors = np.ones(len(groups))
    factors[fit_groups] = 1.0 / inv
    unit_turn = {}
    for u, d in dev.items():
        k = kinds[list(units).index(u)]
        unit_turn[u] = max(0.0, turn[k] + d)
    return Fit(factors, turn, unit_turn, tuple(groups[g] for g in fit_groups),
               tuple(fit_kinds), tuple(fit_units))


def _robust_sd(x: FloatArray) -> float:
    x = x[np.isfinite(x)]
    if not len(x):
        return float("nan")
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def _errors(frame: pd.DataFrame, before: FloatArray, after: FloatArray) -> pd.DataFrame:
    """Bias, spread and mean absolute error of recorded - model, per scope."""
    rows = []
    used = frame["used"].to_numpy(dtype=bool)

    def add(scope: str, name: object, mask: np.ndarray) -> None:
        b, a = before[mask], after[mask]
        if not len(b):
            return
        rows.append({"scope": scope, "name": name, "records": int(mask.sum()),
                     "bias_before": float(np.mean(b)),
                     "spread_before": float(np.std(b, ddof=1)) if len(b) > 1 else 0.0,
                     "mae_before": float(np.mean(np.abs(b))),
                     "bias_after": float(np.mean(a)),
                     "spread_after": float(np.std(a, ddof=1)) if len(a) > 1 else 0.0,
                     "mae_after": float(np.mean(np.abs(a)))})

    add("district", "", used)
    for col, scope in (("road_class", "road_class"), ("township", "township"),
                       ("unit_id", "unit")):
        values = frame[col].to_numpy(dtype=object)
        for name in sorted({str(x) for x in values[used] if x is not None}):
            add(scope, name, used & np.array([str(x) == name for x in values]))
    cols = ["scope", "name", "records", "bias_before", "spread_before", "mae_before",
            "bias_after", "spread_after", "mae_after"]
    out = pd.DataFrame(rows, columns=cols)
    num = cols[3:]
    out[num] = out[num].astype(float).round(2)
    return out


def calibrate(district: District, network: EdgeArrays, *, folds: int = FOLDS,
              seed: int = 0) -> CalibrationResult | None:
    """Model against recorded minutes, and speeds and turnout fitted to the records.

    Parameters
    ----------
    district
        The district with its ``calls`` layer (:mod:`emgis.inputs.calls`).
    network
        Its road network's arrays (without a scenario's hazards).
    folds
        Folds of the cross-validation (at least 2; fewer when there are fewer records).
    seed
        Seed of the folds' shuffle.

    Returns
    -------
    CalibrationResult or None
        None when the district has no dispatch records (the model stays as it is). The
        ``records`` table has one row per record: ``row`` (as the file shows it), ``call_id``,
        ``unit`` (as written), ``unit_id``, ``unit_name``, ``kind``, ``village_id``,
        ``township``, ``place`` (``point``/``village``), ``dispatch``, ``arrival``,
        ``recorded_min``, ``model_min``, ``fitted_min``, ``residual_before`` and
        ``residual_after`` (recorded - model), ``route_km``, ``speed_kph`` (route length over
        the recorded minutes), ``road_class`` (the group most of the route's minutes are on),
        ``used``, ``outlier``, ``flags`` (codes of :data:`FLAGS`, ``;``-separated) and ``note``
        (the first row of a duplicate).
    """
    if not len(district.calls):
        return None
    r = _match(district, network)
    ct = r.ct
    groups = ct.groups
    n = len(r.frame)
    ok_pair = (r.unit_loc >= 0) & (r.place_loc >= 0)
    m = np.full((n, len(groups)), np.nan)
    metres = np.full(n, np.nan)
    idx = np.flatnonzero(ok_pair)
    if len(idx):
        m[idx], _, metres[idx] = _minutes_metres(ct, r.unit_loc[idx], r.place_loc[idx])
    nominal = np.nansum(m, axis=1) + np.nan_to_num(r.turnout)
    nominal[~np.isfinite(m).all(axis=1)] = np.nan
    flags = _flags(r, nominal, metres)
    used = np.array([not f for f in flags])
    kinds = [str(k) for k in r.frame["kind"]]
    units = [str(u) for u in r.frame["unit_id"]]
    y = r.recorded
    scale = float(np.clip(_robust_sd((y - nominal)[used]), 0.5, 5.0)) if used.any() else 1.0
    u_idx = np.flatnonzero(used)
    fit = Fit(np.ones(len(groups)), {}, {}, (), (), ())
    rounds = 0
    mu = m[u_idx]
    while len(u_idx) and rounds < MAX_ROUNDS:
        rounds += 1
        fit = _fit(mu, y[u_idx], [kinds[i] for i in u_idx], [units[i] for i in u_idx],
                   r.turnout[u_idx], groups, scale)
        new, _, new_m = _minutes_metres(ct, r.unit_loc[u_idx], r.place_loc[u_idx],
                                        factors=fit.factors)
        if np.allclose(np.nan_to_num(new), np.nan_to_num(mu), atol=1e-6):
            break
        mu = new
        m[u_idx] = new
        metres[u_idx] = new_m
    fitted = np.full(n, np.nan)
    if len(u_idx):
        fitted[u_idx] = _predict(m[u_idx], [kinds[i] for i in u_idx],
                                 [units[i] for i in u_idx], r.turnout[u_idx], fit)
    # nominal minutes of the used records on their (final) routes are the model's own
    # (the model's route is the fastest at nominal speeds): keep the first search's
    before = y - nominal
    after = y - fitted
    spread = _robust_sd(after[used])
    outlier = used & (np.abs(after) > OUTLIER_SPREADS * max(spread, 0.5))
    main = np.full(n, None, dtype=object)
    fin = np.isfinite(m).all(axis=1)
    main[fin] = np.array(groups, dtype=object)[np.argmax(m[fin], axis=1)]
    travel_rec = y - np.array([fit.unit_turnout.get(u, fit.turnout.get(k, t)) for k, u, t in
                               zip(kinds, units, np.nan_to_num(r.turnout), strict=True)])
    travel_fit = m @ (1.0 / fit.factors)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.log(travel_rec / travel_fit)
        speed = np.where(y > 0, metres / 1000.0 / (y / 60.0), np.nan)
    log_spread = _robust_sd(ratio[used & (travel_rec > 0) & (travel_fit > 0)])
    f = r.frame
    frame = pd.DataFrame({
        "row": f["row"], "call_id": f["call_id"], "unit": f["unit"], "unit_id": f["unit_id"],
        "unit_name": f["unit_name"], "kind": f["kind"], "village_id": f["village_id"],
        "township": f["township"], "place": f["place"], "dispatch": f["dispatch"],
        "arrival": f["arrival"], "recorded_min": np.round(y, 2),
        "model_min": np.round(nominal, 2), "fitted_min": np.round(fitted, 2),
        "residual_before": np.round(before, 2), "residual_after": np.round(after, 2),
        "route_km": np.round(metres / 1000.0, 3),
        "speed_kph": np.round(speed, 1),
        "road_class": main, "used": used, "outlier": outlier,
        "flags": [";".join(x) for x in flags], "note": f["note"]})
    nom_kph = _nominal_kph(district, groups)
    mu_used = m[used] if used.any() else np.zeros((0, len(groups)))
    gtable = pd.DataFrame({
        "group": list(groups), "nominal_kph": nom_kph,
        "factor": np.round(fit.factors, 3),
        "calibrated_kph": np.round(nom_kph * fit.factors, 1),
        "minutes": np.round(mu_used.sum(axis=0), 1),
        "records": (mu_used >= 1.0).sum(axis=0).astype(int),
        "fitted": [g in fit.fitted_groups for g in groups]})
    ttable = _turnout_table(district, r, fit, used)
    errors = _errors(frame, before, after)
    cv = _cross_validate(m, y, kinds, units, r.turnout, nominal, used, groups, scale, folds,
                         seed)
    disp = [d for d, u in zip(f["dispatch"], used, strict=True) if u and d]
    s = district.settings
    return CalibrationResult(
        frame, gtable, ttable, errors, cv, fit, groups, rounds,
        float(log_spread) if np.isfinite(log_spread) else float("nan"),
        nominal={"speeds": dict(zip(groups, nom_kph, strict=True)),
                 "maxspeed_factor": s.network.maxspeed_factor,
                 "maxspeed_rule": s.network.maxspeed_rule},
        period=(min(disp)[:10], max(disp)[:10]) if disp else ("", ""))


def _minutes_metres(ct: ClassTimes, src: IntArray, tgt: IntArray, *,
                    factors: FloatArray | None = None) -> tuple[FloatArray, FloatArray,
                                                                 FloatArray]:
    """Group minutes (nominal), total minutes (under ``factors``) and metres of each route,
    the route being the fastest under ``factors``."""
    return route_minutes(ct, src, tgt, factors=factors)


def _nominal_kph(district: District, groups: Sequence[str]) -> FloatArray:
    s = district.settings
    out = []
    for g in groups:
        if g == POSTED:
            out.append(np.nan)
        elif g == OFFROAD:
            out.append(s.speed_kph("offroad"))
        else:
            out.append(s.speed_kph(g))
    return np.array(out, dtype=float)


def _turnout_table(district: District, r: _Records, fit: Fit, used: np.ndarray
                   ) -> pd.DataFrame:
    s = district.settings
    rows = []
    kinds = r.frame["kind"].to_numpy(dtype=object)
    uids = r.frame["unit_id"].to_numpy(dtype=object)
    for k in sorted({str(x) for x in kinds[used]}):
        nom = float(s.turnout[k].value) if k in s.turnout else float("nan")
        rows.append({"scope": "kind", "kind": k, "unit_id": None, "unit_name": None,
                     "nominal_min": nom, "fitted_min": round(fit.turnout.get(k, nom), 2),
                     "records": int(((kinds == k) & used).sum()),
                     "fitted": k in fit.turnout})
    teams = r.units.set_index("id")
    for u in sorted({str(x) for x in uids[used]}):
        k = str(teams.loc[u, "kind"])
        nom = float(teams.loc[u, "turnout_min"])
        rows.append({"scope": "unit", "kind": k, "unit_id": u,
                     "unit_name": str(teams.loc[u, "name"]), "nominal_min": nom,
                     "fitted_min": round(fit.unit_turnout.get(u, fit.turnout.get(k, nom)), 2),
                     "records": int(((uids == u) & used).sum()),
                     "fitted": u in fit.unit_turnout})
    return pd.DataFrame(rows, columns=["scope", "kind", "unit_id", "unit_name", "nominal_min",
                                       "fitted_min", "records", "fitted"])


def _cross_validate(m: FloatArray, y: FloatArray, kinds: Sequence[str], units: Sequence[str],
                    turnout: FloatArray, nominal: FloatArray, used: np.ndarray,
                    groups: Sequence[str], scale: float, folds: int, seed: int
                    ) -> dict[str, float]:
    """k-fold error of the model as it is and of the fit, on the records held out."""
    idx = np.flatnonzero(used)
    k = int(min(folds, len(idx)))
    out = {"folds": float(k), "records": float(len(idx))}
    if k < 2:
        return {**out, **{f"{a}_{b}": float("nan") for a in ("mae", "rmse", "median")
                          for b in ("before", "after")}}
    rng = np.random.default_rng(seed)
    perm = rng.permutation(idx)
    parts = np.array_split(perm, k)
    err_b = np.full(len(y), np.nan)
    err_a = np.full(len(y), np.nan)
    for part in parts:
        train = np.setdiff1d(idx, part)
        fit = _fit(m[train], y[train], [kinds[i] for i in train], [units[i] for i in train],
                   turnout[train], groups, scale)
        pred = _predict(m[part], [kinds[i] for i in part], [units[i] for i in part],
                        turnout[part], fit)
        err_a[part] = y[part] - pred
        err_b[part] = y[part] - nominal[part]
    b, a = err_b[idx], err_a[idx]
    return {**out, "mae_before": float(np.mean(np.abs(b))), "mae_after": float(np.mean(np.abs(a))),
            "rmse_before": float(np.sqrt(np.mean(b ** 2))),
            "rmse_after": float(np.sqrt(np.mean(a ** 2))),
            "median_before": float(np.median(np.abs(b))),
            "median_after": float(np.median(np.abs(a)))}


# --- calibration.toml -------------------------------------------------------------------------


def calibration_toml(res: CalibrationResult, *, lang: str = "en") -> str:
    """The ``district.toml`` keys of a calibration (see the module text), with comments."""

    t = texts(lang)
    cv = res.cv
    src = t.fmt("calib.toml_source", n=res.used, first=res.period[0], last=res.period[1])
    lines = [f"# {t.fmt('calib.toml_head', n=res.used, first=res.period[0], last=res.period[1])}",
             "# " + t.fmt("calib.toml_cv", folds=int(cv["folds"]), before=_f(cv["mae_before"]),
                          after=_f(cv["mae_after"])),
             f"# {t['calib.toml_copy']}", ""]
    speeds = []
    for g, f, fitted in zip(res.groups["group"], res.groups["factor"], res.groups["fitted"],
                            strict=True):
        if not fitted or g == POSTED:
            continue
        nom = float(res.nominal["speeds"][g])
        speeds.append(f'{g} = {{ value = {round(nom * float(f), 1):g}, source = "{src}: '
                      f'{float(f):.3f} x {nom:g} km/h" }}')
    if speeds:
        lines += ["[speeds]", *speeds, ""]
    posted = res.groups[(res.groups["group"] == POSTED) & res.groups["fitted"]]
    if len(posted):
        f = float(posted["factor"].iloc[0])
        base = float(res.nominal["maxspeed_factor"])
        value = min(1.0, round(base * f, 3))
        lines += ["[network]", f"# {t['calib.toml_posted']}", 'maxspeed_rule = "derate"',
                  f"maxspeed_factor = {value:g}"
                  + (f"  # {t.fmt('calib.toml_capped', v=round(base * f, 3))}"
                     if base * f > 1.0 else ""), ""]
    kinds = res.turnout[(res.turnout["scope"] == "kind") & res.turnout["fitted"]]
    social = kinds[kinds["kind"].isin(SOCIAL_KINDS)]
    kinds = kinds[~kinds["kind"].isin(SOCIAL_KINDS)]
    if len(social):  # their minutes hold the mobilisation ([social] mobilisation_min) too
        lines.append(f"# {t['calib.toml_social']}")
        for r in social.to_dict("records"):
            lines.append(f"#   {r['kind']} = {float(r['fitted_min']):g}")
        lines.append("")
    if len(kinds):
        lines.append("[turnout]")
        for r in kinds.to_dict("records"):
            lines.append(f'{r["kind"]} = {{ value = {float(r["fitted_min"]):g}, source = '
                         f'"{src}: {t.fmt("calib.toml_records", n=int(r["records"]))}" }}')
        lines.append("")
    units = res.turnout[(res.turnout["scope"] == "unit") & res.turnout["fitted"]]
    if len(units):
        lines.append(f"# {t['calib.toml_units']}")
        for r in units.to_dict("records"):
            lines.append(f"#   {r['unit_id']} = {float(r['fitted_min']):g}")
    return "\n".join(lines).rstrip() + "\n"


def _f(v: float) -> str:
    return "?" if v != v else f"{v:.2f}"


# --- synthetic records (for tests and benchmarks) -----------------------------------------------


def simulate_calls(district: District, network: EdgeArrays, *,
                   factors: Mapping[str, float], turnout: Mapping[str, float],
                   n: int = 400, noise: float = 0.05, max_min: float = 45.0, seed: int = 0,
                   start: dt.datetime = dt.datetime(2024, 1, 1, 0, 0, 0)) -> pd.DataFrame:
    """Dispatch records drawn from hidden speed factors and turnouts, as a bureau's ledger
    holds them (Chinese headers: 警情编号, 出警单位, 事发地, 出警时间, 到场时间).

    Each record sends a random team to a random village its route reaches within ``max_min``
    minutes at the hidden speeds; the recorded minutes are the hidden turnout of its kind plus
    the travel at the hidden speeds (fastest route on the network with every group's speed x
    its factor, :meth:`emgis.roads.classtime.ClassTimes.scaled`) times a lognormal noise of
    log sd ``noise``, rounded to the second.
    """

    units = units_of(district)
    teams = units[units["layer"] == "teams"].reset_index(drop=True)
    v = district.villages
    eng = Engine.build(network, villages=v.geometry, units=teams.geometry,
                       settings=district.settings)
    ct = class_times(eng.graph("drive"), network, district.settings)
    f = ct.factors(factors)
    rg = ct.scaled(f)
    t = times_from(rg, eng.unit_loc, targets=eng.village_loc, limit=max_min)
    rng = np.random.default_rng(seed)
    ui, vi = np.nonzero(np.isfinite(t))
    pick = rng.choice(len(ui), size=n, replace=len(ui) < n)
    ui, vi = ui[pick], vi[pick]
    kinds = teams["kind"].to_numpy(dtype=object)[ui]
    own = teams["turnout_min"].to_numpy(dtype=float)[ui]  # a social force's with mobilisation
    turn = np.array([float(turnout.get(str(k), o)) for k, o in zip(kinds, own, strict=True)])
    minutes = turn + t[ui, vi] * np.exp(rng.normal(0.0, noise, n))
    secs = np.round(minutes * 60.0)
    hours = np.cumsum(rng.uniform(0.5, 30.0, n))
    disp = [(start + dt.timedelta(hours=float(h))).replace(microsecond=0) for h in hours]
    arr = [d + dt.timedelta(seconds=float(s)) for d, s in zip(disp, secs, strict=True)]
    return pd.DataFrame({
        "警情编号": [f"J{i + 1:05d}" for i in range(n)],
        "出警单位": teams["id"].to_numpy(dtype=object)[ui],
        "事发地": v["id"].to_numpy(dtype=object)[vi],
        "出警时间": [d.strftime("%Y-%m-%d %H:%M:%S") for d in disp],
        "到场时间": [a.strftime("%Y-%m-%d %H:%M:%S") for a in arr]})
