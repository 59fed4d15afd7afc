"""Effective response force: how many persons can be at a village in time, not only the first
unit (after the effective response force of NFPA 1710 and FireCARES: the persons of every unit
arriving within a time, summed).

Per village, every unit of the kinds of :data:`FORCE_KINDS` that reaches it is taken with its
arrival time (turnout included, over the roads, as coverage computes it) and its persons: the
team's ``headcount`` times its availability (1 for a public unit, a social force's
``availability``, or the availability of a period: :mod:`emgis.analysis.availability`). The
persons within a time ``T`` are the sum over the units arriving within ``T``; units of 10, 12
and 15 persons at 4, 7 and 9 minutes put 22 persons there within 8 minutes.

Two rules of the standards profile are checked per village (:data:`RULES`): at least ``[minimums]
township_rescue_team_headcount`` (30, 烈山区 2025 方案) persons within the township rescue
team's target (30 min), and at least ``village_team_headcount`` (15, 烈山区 2025 方案) within the
village team's target (10 min); the persons are also given within each ``[coverage] breaks_min``
time. A village a first unit reaches within the rule's time but where the force stays below the
minimum is listed (``first_only``): first arrival looks fine there, the force does not.

Siting counts force when asked: :func:`emgis.analysis.force_siting.site_force` (``emgis site
--force-rule township|village``, :meth:`emgis.plan.Plan.site_force`) places new teams for the
most persons with a sufficient force within a rule's time, optionally weighing first arrival
too (:func:`emgis.locate.force.max_force_covering`); the other siting models count first
arrival only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from emgis._cached import unlocked_cached_property
from emgis._types import FloatArray, IntArray
from emgis.analysis.unitpairs import UnitPairs, unit_pairs
from emgis.inputs.kinds import target_of, units_of

if TYPE_CHECKING:
    from emgis.inputs.district import District
    from emgis.inputs.settings import Settings
    from emgis.roads.engine import Engine

#: Kinds whose persons make up the force (every rescue and fire team; not medical points,
#: stores or shelters).
FORCE_KINDS = ("micro_fire_station", "fire_station", "township_fire_brigade",
               "township_rescue_team", "village_team", "forest_fire_team",
               "enterprise_brigade", "social_rescue_team")

#: The force rules: (name, the ``[minimums]`` key of the persons required, the kind whose
#: target is the time).
RULES: tuple[tuple[str, str, str], ...] = (
    ("township", "township_rescue_team_headcount", "township_rescue_team"),
    ("village", "village_team_headcount", "village_team"),
)


def persons_within(minutes: npt.ArrayLike, persons: npt.ArrayLike, within: float) -> float:
    """Persons of the units arriving within ``within`` minutes (``minutes[i]``: unit ``i``'s
    arrival, ``persons[i]``: its persons)."""
    t = np.asarray(minutes, dtype=float)
    p = np.asarray(persons, dtype=float)
    return float(p[t <= within + 1e-9].sum())


@dataclass(frozen=True)
class _PairArrays:
    """The force's pairs by position: village ``village_ids[village[i]]`` reached by unit
    ``unit_ids[unit[i]]`` (of kind ``unit_kinds[unit[i]]``) in ``minutes[i]`` with
    ``persons[i]``."""

    village_ids: np.ndarray
    unit_ids: np.ndarray
    unit_kinds: np.ndarray
    village: IntArray
    unit: IntArray
    minutes: FloatArray
    persons: FloatArray


@dataclass(frozen=True)
class ForceResult:
    """Everything :func:`effective_force` found.

    Attributes
    ----------
    table
        One row per village and rule: ``village_id``, ``village_name``, ``township``,
        ``population``, ``rule``, ``within_min``, ``required_persons``, ``persons``,
        ``units_within``, ``first_id``, ``first_min``, ``meets``, ``first_only`` (a first unit
        within the time, the force below the minimum), ``force_units`` (the units making it up, in
        arrival order: ``id (persons, minutes)``) and ``persons_T`` for each time of
        ``times``.
    pairs
        Every unit reaching a village within the longest time: ``village_id``, ``unit_id``,
        ``kind``, ``minutes``, ``persons``.
    times
        The times the persons are given within.
    """

    table: pd.DataFrame
    times: tuple[float, ...]
    #: the pairs as arrays (:class:`_PairArrays`): :attr:`pairs` is made from them on first
    #: use. A province's 1.6 million pairs as a frame of ids took 2 s to pickle out of the
    #: run's worker (148 MB), where the run never reads them.
    pair_arrays: _PairArrays = field(repr=False)

    @unlocked_cached_property
    def pairs(self) -> pd.DataFrame:
        """Every unit reaching a village within the longest time: ``village_id``,
        ``unit_id``, ``kind``, ``minutes``, ``persons`` (by village, then minutes, then unit
        id)."""
        a = self.pair_arrays
        return pd.DataFrame({"village_id": a.village_ids[a.village], "unit_id": a.unit_ids[a.unit],
                             "kind": a.unit_kinds[a.unit], "minutes": np.round(a.minutes, 2),
                             "persons": np.round(a.persons, 2)})

    def first_only(self) -> pd.DataFrame:
        """The villages a first unit reaches in time but no sufficient force does."""
        return self.table[self.table["first_only"]].sort_values(
            ["population"], ascending=False, kind="stable").reset_index(drop=True)


def _times(settings: Settings, times: Sequence[float] | None) -> tuple[float, ...]:
    """The times the persons are given within (default ``[coverage] breaks_min``)."""
    return tuple(float(x) for x in (settings.coverage.breaks_min if times is None else times))


def _rules(settings: Settings) -> list[tuple[str, float, float]]:
    """The rules the settings hold: name, persons required and minutes."""
    return [(name, float(settings.minimums[key].value), target_of(kind, settings))
            for name, key, kind in RULES if key in settings.minimums and kind in settings.targets]


def force_limit(district: District, times: Sequence[float] | None = None) -> float:
    """Minutes the force's searches go to: the longest of ``times`` (default ``[coverage]
    breaks_min``) and of the rules' times."""
    s = district.settings
    return max([*_times(s, times), *(r[2] for r in _rules(s))], default=0.0)


def force_units(units: pd.DataFrame, kinds: Sequence[str] = FORCE_KINDS) -> IntArray:
    """The units whose persons make up the force: the teams of ``kinds`` (their rows in
    ``units``, :func:`emgis.inputs.kinds.units_of`'s table, ascending)."""
    return np.flatnonzero(units["kind"].isin(list(kinds)).to_numpy()
                          & (units["layer"] == "teams").to_numpy())


def force_pairs(district: District, engine: Engine, *, times: Sequence[float] | None = None,
                kinds: Sequence[str] = FORCE_KINDS) -> UnitPairs:
    """The pairs the force counts (:func:`force_units` within :func:`force_limit`), on the
    driving roads: the availability takes its kinds' pairs from them too."""
    units = units_of(district)
    rg = engine.graph("drive")
    return unit_pairs(rg, engine.unit_loc, engine.village_loc,
                      force_units(units, kinds), limit=force_limit(district, times),
                      turnout=units["turnout_min"].to_numpy(dtype=float),
                      xy=lambda: engine.node_xy(np.arange(rg.n_nodes), "drive"))


def effective_force(district: District, engine: Engine, *, times: Sequence[float] | None = None,
                    kinds: Sequence[str] = FORCE_KINDS,
                    availability: npt.ArrayLike | None = None,
                    pairs: UnitPairs | None = None) -> ForceResult:
    """Persons that can reach every village within the rules' times and within ``times``.

    Parameters
    ----------
    district, engine
        The district and its :class:`~emgis.roads.engine.Engine`.
    times
        Minutes to give the persons within (default ``[coverage] breaks_min``).
    kinds
        Kinds whose units count.
    availability
        Per unit (:func:`emgis.inputs.kinds.units_of` order), the share of its persons
        counted (default: the unit's ``availability``: 1 public, a social force's own).
    pairs
        :func:`force_pairs` of these ``times`` and ``kinds``, if already found.
    """
    s = district.settings
    tt = _times(s, times)
    rules = _rules(s)
    units = units_of(district)
    heads = dict(zip(district.teams["id"].astype(str),
                     district.teams["headcount"].astype("Float64").fillna(0).astype(float),
                     strict=True)) if len(district.teams) else {}
    avail = units["availability"].to_numpy(dtype=float) if availability is None else \
        np.asarray(availability, dtype=float)
    ids = units["id"].astype(str).to_numpy()
    persons_u = np.array([heads.get(i, 0.0) for i in ids]) * avail
    v = district.villages
    nv = len(v)
    found = pairs
    if found is None or not np.array_equal(found.units, force_units(units, kinds)) or \
            found.limit != force_limit(district, times):
        found = force_pairs(district, engine, times=times, kinds=kinds)
    sel, si, vi, mins = found.units, found.unit, found.village, found.minutes
    u = sel[si]
    order = np.lexsort((ids[u], mins, vi))
    u, vi, mins = u[order], vi[order], mins[order]
    pers = persons_u[u]
    pair_arrays = _PairArrays(v["id"].to_numpy(), ids, units["kind"].to_numpy(), vi, u, mins,
                              pers)
    ptr = np.searchsorted(vi, np.arange(nv + 1))
    pop = v["population"].fillna(0).to_numpy(dtype=float).astype(np.int64)

    def within(limit_min: float) -> FloatArray:
        ok = mins <= limit_min + 1e-9
        out = np.zeros(nv)
        np.add.at(out, vi[ok], pers[ok])
        return out

    by_time = {t: within(t) for t in tt}
    # each pair in words once, for every rule's list of the units within its time
    # (a unit's id and persons formatted once: a province's 1.6 million pairs took 2.9 s)
    named = [f"{i} ({p:g}, " for i, p in zip(ids.tolist(), persons_u.tolist(), strict=True)]
    words = [named[k] + f"{m:.1f})" for k, m in zip(u.tolist(), mins.tolist(), strict=True)]
    frames = []
    for name, required, tmin in rules:
        got = within(tmin)
        n_within = np.bincount(vi[mins <= tmin + 1e-9], minlength=nv)
        first_min = np.full(nv, np.nan)
        first_id = np.full(nv, None, dtype=object)
        has = ptr[1:] > ptr[:-1]
        first_min[has] = mins[ptr[:-1][has]]
        first_id[has] = ids[u[ptr[:-1][has]]]
        # a village's pairs run by minutes: those within the rule's time are its first ones
        starts = ptr[:-1].tolist()
        listing = ["; ".join(words[a:a + k]) for a, k in zip(starts, n_within.tolist(),
                                                             strict=True)]
        meets = got >= required - 1e-9
        first_in = np.nan_to_num(first_min, nan=np.inf) <= tmin + 1e-9
        frame = pd.DataFrame({
            "village_id": v["id"].to_numpy(), "village_name": v["name"].to_numpy(),
            "township": v["township"].to_numpy(), "population": pop, "rule": name,
            "within_min": tmin, "required_persons": required, "persons": np.round(got, 2),
            "units_within": n_within.astype(np.int64), "first_id": first_id,
            "first_min": np.round(first_min, 2), "meets": meets,
            "first_only": first_in & ~meets, "force_units": listing})
        for t in tt:
            frame[f"persons_{t:g}min"] = np.round(by_time[t], 2)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return ForceResult(table, tt, pair_arrays)
