"""Team availability by period, and the chance that a unit within target is free.

**Availability** of a team in a period (``day``, ``night``, ``flood`` season) is the share of
that period it can answer a call with its people: the team's own ``availability_day`` /
``availability_night`` / ``availability_flood`` column of the teams layer, else its own
``availability`` (every period), else the standards profile's ``[availability] KIND_PERIOD``
(a part-time village team by day: 0.6 ...), else 1 for a public unit and ``[social]
availability`` for a social force.

**Busy units** (ReVelle & Hogan 1989, the maximum availability location problem): a unit can be
out on another call; with ``b = [availability] busy_share`` (0.05) the chance a unit ``u`` cannot
answer is ``q_u = 1 - a_u (1 - b)``. Where ``k`` units of a kind reach a village within the
target, at least one is free with probability::

    P = 1 - prod_u q_u          (= 1 - q^k when every unit has the same q)

and the village is covered *with reliability* alpha (``[availability] reliability``, 0.9) when
``P >= alpha``, that is when at least ``b_alpha = ceil(log(1 - alpha) / log q)`` units reach it
(:func:`units_needed`). Source: C. ReVelle, K. Hogan (1989), "The maximum availability location
problem", Transportation Science 23(3): 192-200.

:func:`availability` gives, per period, kind and village, the units within target, ``P`` and
whether it is reliable; and per period and kind the persons within target of a unit (as
coverage), the persons expected covered (``sum population x P``) and the persons covered
reliably.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from emgis._types import FloatArray
from emgis.analysis.unitpairs import UnitPairs
from emgis.inputs.kinds import SOCIAL_KINDS, mode_of, target_of, towards_unit, units_of
from emgis.inputs.standards import PERIODS
from emgis.roads.routing import pairs_within

if TYPE_CHECKING:
    from emgis.inputs.district import District
    from emgis.roads.engine import Engine


def p_free(q: npt.ArrayLike) -> float:
    """The chance at least one of several units is free: ``1 - prod(q)`` (``q``: each unit's
    chance of being unable to answer; ReVelle & Hogan 1989's ``1 - q^k`` for equal ``q``)."""
    qa = np.asarray(q, dtype=float)
    return float(1.0 - np.prod(qa)) if len(qa) else 0.0


def units_needed(q: float, alpha: float) -> int:
    """Units within target a village needs to be covered with reliability ``alpha`` when each
    is busy with probability ``q`` (ReVelle & Hogan 1989): the least ``k`` with
    ``1 - q^k >= alpha``, ``ceil(log(1 - alpha) / log q)``."""
    if q <= 0.0:
        return 1
    if q >= 1.0 or alpha >= 1.0:
        return math.inf  # type: ignore[return-value]
    if alpha <= 0.0:
        return 0
    return max(1, math.ceil(math.log(1.0 - alpha) / math.log(q) - 1e-12))


def team_availability(district: District, units: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each unit's availability per period (see the module text).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``kind`` and ``availability_day``, ``availability_night``,
        ``availability_flood`` (0-1), in the order of :func:`emgis.inputs.kinds.units_of`.
    """
    s = district.settings
    u = units_of(district) if units is None else units
    out = pd.DataFrame({"id": u["id"].to_numpy(), "kind": u["kind"].to_numpy()})
    t = district.teams
    own = {p: dict(zip(t["id"].astype(str), t[f"availability_{p}"], strict=True))
           if f"availability_{p}" in t and len(t) else {} for p in PERIODS}
    every = dict(zip(t["id"].astype(str), t["availability"], strict=True)) \
        if "availability" in t and len(t) else {}
    social_default = float(s.social["availability"].value)
    for p in PERIODS:
        vals = []
        for uid, kind, layer in zip(u["id"].astype(str), u["kind"].astype(str), u["layer"],
                                    strict=True):
            v = own[p].get(uid) if layer == "teams" else None
            if v is None or pd.isna(v):
                v = every.get(uid) if layer == "teams" else None
            if v is None or pd.isna(v):
                key = f"{kind}_{p}"
                if key in s.availability:
                    v = float(s.availability[key].value)
                else:
                    v = social_default if kind in SOCIAL_KINDS else 1.0
            vals.append(float(v))
        out[f"availability_{p}"] = vals
    return out


@dataclass(frozen=True)
class AvailabilityResult:
    """Everything :func:`availability` found.

    Attributes
    ----------
    table
        One row per period, kind and village: ``period``, ``village_id``, ``village_name``,
        ``township``, ``population``, ``kind``, ``target_min``, ``units_within``,
        ``p_free`` (at least one of them free) and ``reliable`` (``p_free >= alpha``).
    summary
        Per period and kind: ``period``, ``kind``, ``target_min``, ``population``,
        ``population_within`` (a unit within target), ``population_expected`` (persons x
        ``p_free``), ``population_reliable``, ``busy_share``, ``units_needed`` (for the
        kind's mean availability in the period).
    units
        Each unit's availability per period (:func:`team_availability`).
    alpha, busy_share
        The reliability and the busy share used.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    units: pd.DataFrame
    alpha: float
    busy_share: float


def availability(district: District, engine: Engine, *, kinds: Sequence[str] | None = None,
                 periods: Sequence[str] = PERIODS, pairs: UnitPairs | None = None
                 ) -> AvailabilityResult:
    """Cover per period when units are sometimes unavailable or busy (see the module text).

    Parameters
    ----------
    district, engine
        The district and its :class:`~emgis.roads.engine.Engine`.
    kinds
        Driving kinds (default every team kind with a target and units).
    periods
        Periods (``day``, ``night``, ``flood``).
    pairs
        Pairs already found (the force's: :func:`emgis.analysis.force.force_pairs`): a kind
        whose units and target they hold takes its pairs from them instead of searching.
    """
    s = district.settings
    alpha = float(s.availability["reliability"].value)
    busy = float(s.availability["busy_share"].value)
    units = units_of(district)
    avail = team_availability(district, units)
    kind_arr = units["kind"].to_numpy(dtype=object)
    layer = units["layer"].to_numpy(dtype=object)
    if kinds is None:
        kinds = [k for k in dict.fromkeys(kind_arr[layer == "teams"]) if k in s.targets]
    kinds = [k for k in kinds if mode_of(k, s) == "drive" and not towards_unit(k)]
    v = district.villages
    nv = len(v)
    pop = v["population"].fillna(0).to_numpy(dtype=float)
    rg = engine.graph("drive")
    rows, summ = [], []
    for k in kinds:
        sel = np.flatnonzero(kind_arr == k)
        if not len(sel):
            continue
        target = target_of(k, s)
        held = pairs.within(sel, target) if pairs is not None else None
        if held is not None:
            si, vi, _ = held
        else:
            si, vi, _ = pairs_within(rg, engine.unit_loc[sel], limits=target,
                                     offsets=units["turnout_min"].to_numpy(dtype=float)[sel],
                                     targets=engine.village_loc)
        count = np.bincount(vi, minlength=nv)
        for p in periods:
            a = avail[f"availability_{p}"].to_numpy(dtype=float)[sel]
            q = 1.0 - a * (1.0 - busy)
            logq = np.log(np.maximum(q, 1e-300))
            # P = 1 - prod q, summed in logs per village
            lsum = np.zeros(nv)
            np.add.at(lsum, vi, logq[si])
            prob = np.where(count > 0, 1.0 - np.exp(lsum), 0.0)
            reliable = prob >= alpha - 1e-12
            rows.append(pd.DataFrame({
                "period": p, "village_id": v["id"].to_numpy(),
                "village_name": v["name"].to_numpy(), "township": v["township"].to_numpy(),
                "population": pop.astype(np.int64), "kind": k, "target_min": target,
                "units_within": count.astype(np.int64), "p_free": np.round(prob, 4),
                "reliable": reliable}))
            q_mean = float(np.mean(q)) if len(q) else 1.0
            summ.append({"period": p, "kind": k, "target_min": target,
                         "population": int(pop.sum()),
                         "population_within": int(pop[count > 0].sum()),
                         "population_expected": round(float(pop @ prob)),
                         "population_reliable": int(pop[reliable].sum()),
                         "busy_share": busy, "units_needed": units_needed(q_mean, alpha)})
    cols = ["period", "village_id", "village_name", "township", "population", "kind",
            "target_min", "units_within", "p_free", "reliable"]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)
    summary = pd.DataFrame(summ, columns=["period", "kind", "target_min", "population",
                                          "population_within", "population_expected",
                                          "population_reliable", "busy_share",
                                          "units_needed"])
    return AvailabilityResult(table, summary, avail, alpha, busy)


def expected_free(q: float, counts: npt.ArrayLike) -> FloatArray:
    """``1 - q^k`` for each village's count ``k`` of units within target (equal ``q``)."""
    k = np.asarray(counts, dtype=float)
    out: FloatArray = np.where(k > 0, 1.0 - np.power(float(q), k), 0.0)
    return out
