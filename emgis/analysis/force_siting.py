"""Siting that counts the force as well as first arrival, when asked (issue 29).

The adapter between the district and :func:`emgis.locate.force.max_force_covering`: new teams
of ``kind`` are sited where they bring the most persons (villagers) to a sufficient effective
response force (:mod:`emgis.analysis.force`: at least ``[minimums]
township_rescue_team_headcount`` = 30 persons within the township rescue team's target for
the ``township`` rule, ``village_team_headcount`` = 15 within the village team's target for
the ``village`` rule). The candidates, their minutes and the existing first-arrival times are
those of :func:`emgis.analysis.siting.site_units` (:func:`~emgis.analysis.siting.candidate_sites`,
:func:`~emgis.analysis.siting.candidate_times`); the existing force is
:func:`~emgis.analysis.force.effective_force`'s. With ``first_weight`` > 0 a person newly
within the kind's target (maximal covering's first arrival) counts ``first_weight`` beside a
person newly with a sufficient force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from emgis._errors import SitingError
from emgis._types import BoolArray
from emgis.analysis.coverage import compute_coverage
from emgis.analysis.force import FORCE_KINDS, RULES, effective_force
from emgis.analysis.siting import (
    SitingResult,
    _locate,
    _result,
    candidate_sites,
    candidate_times,
)
from emgis.inputs.kinds import SOCIAL_KINDS, target_of
from emgis.locate.force import check_force_options, force_after, max_force_covering
from emgis.locate.pairs import served_times
from emgis.texts import Msg

if TYPE_CHECKING:
    from emgis.inputs.district import District
    from emgis.roads.edges import EdgeArrays
    from emgis.roads.engine import Engine

__all__ = ["FORCE_RULES", "ForceSitingResult", "default_headcount", "force_rule_of",
           "site_force"]

#: The names of the force rules (:data:`emgis.analysis.force.RULES`).
FORCE_RULES = tuple(name for name, _, _ in RULES)


@dataclass(frozen=True)
class ForceSitingResult:
    """A force siting run.

    Attributes
    ----------
    siting
        The plan as every siting run gives it: ``proposals`` ranked by what each adds to the
        objective, with ``newly_sufficient_population`` (persons of the villages it brings to
        the rule, after the sites before it), ``sufficient_villages`` and the first-arrival
        columns of :func:`~emgis.analysis.siting.site_units`; ``villages`` with
        ``persons_before``, ``persons_after`` (force within the rule's time, persons),
        ``required_persons``, ``sufficient_before``, ``sufficient_after``,
        ``newly_sufficient`` and the first-arrival columns; ``unreachable``: the villages no
        number of new sites of the kind brings to the rule (``persons_possible``: the force
        with a team at every candidate).
    rule
        ``township`` or ``village``.
    within_min
        The rule's time, minutes.
    required_persons
        The persons the rule requires.
    headcount
        Persons of each new team (before its availability).
    first_weight
        What a person newly within the kind's target counts beside one newly with a sufficient
        force.
    """

    siting: SitingResult
    rule: str
    within_min: float
    required_persons: float
    headcount: float
    first_weight: float

    @property
    def newly_sufficient(self) -> int:
        """Persons of the villages the plan brings to a sufficient force."""
        v = self.siting.villages
        return int(v.loc[v["newly_sufficient"], "population"].sum())


def force_rule_of(kind: str) -> str | None:
    """The force rule whose time is ``kind``'s target (``township_rescue_team``: township,
    ``village_team``: village), or None."""
    return next((name for name, _, k in RULES if k == kind), None)


def default_headcount(district: District, kind: str) -> float | None:
    """Persons of a new team of ``kind`` by the standards profile: ``[minimums]
    KIND_headcount`` (30 for a township rescue team, 15 for a village team, 6 for a micro
    fire station, 20 for a forest fire team), or None where the profile has none."""
    m = district.settings.minimums
    key = f"{kind}_headcount"
    return float(m[key].value) if key in m else None


def site_force(district: District, network: EdgeArrays | Engine, kind: str, *, add: int = 1,
               rule: str | None = None, headcount: float | None = None,
               first_weight: float = 0.0, method: str = "auto",
               time_limit: float = 300.0) -> ForceSitingResult:
    """New teams of ``kind`` for the most persons with a sufficient force within a rule's time
    (:func:`emgis.locate.force.max_force_covering`), existing teams fixed.

    Parameters
    ----------
    district, network
        The loaded district and its road network's arrays, or its
        :class:`~emgis.roads.engine.Engine`.
    kind
        A kind whose persons make up the force (:data:`~emgis.analysis.force.FORCE_KINDS`)
        and that has a target.
    add
        Number of new sites, >= 1.
    rule
        ``township`` (``[minimums] township_rescue_team_headcount`` persons within the
        township rescue team's target, minutes) or ``village`` (``village_team_headcount``
        within the village team's target); default the rule of ``kind`` itself
        (:func:`force_rule_of`).
    headcount
        Persons of each new team (> 0); default :func:`default_headcount`. A social force's
        persons count at ``[social] availability``, as :func:`effective_force` counts them.
    first_weight
        What a person newly within ``kind``'s target (first arrival, as maximal covering
        counts it) counts beside a person newly with a sufficient force (>= 0; 0: force only).
    method, time_limit
        As :func:`~emgis.analysis.siting.site_units` (seconds).

    Raises
    ------
    SitingError
        A kind that brings no force or has no target, a rule not known, no rule of the kind's
        own and none given, no headcount known and none given, or an ``add``, ``method``,
        ``headcount``, ``first_weight`` or ``time_limit`` the model does not take.
    """
    s = district.settings
    if kind not in FORCE_KINDS:
        raise SitingError(Msg("force_kind", v=kind, options=", ".join(FORCE_KINDS)))
    if kind not in s.targets:
        raise SitingError(Msg("site_kind_no_target", v=kind, options=", ".join(s.targets)))
    if rule is None:
        rule = force_rule_of(kind)
        if rule is None:
            raise SitingError(Msg("force_kind_rule", v=kind, options=", ".join(FORCE_RULES)))
    if rule not in FORCE_RULES:
        raise SitingError(Msg("force_rule", v=rule, options=", ".join(FORCE_RULES)))
    if headcount is None:
        headcount = default_headcount(district, kind)
        if headcount is None:
            raise SitingError(Msg("force_no_headcount", v=kind))
    check_force_options(add, headcount=headcount, first_weight=first_weight, method=method,
                        time_limit=time_limit)
    engine = _locate(district, network)
    _, key, rule_kind = next(r for r in RULES if r[0] == rule)
    within = target_of(rule_kind, s)
    required = float(s.minimums[key].value)
    target = target_of(kind, s)
    turnout = float(s.turnout[kind].value) if kind in s.turnout else 0.0
    persons = float(headcount)
    if kind in SOCIAL_KINDS:  # as units_of counts a social force: mobilisation, availability
        turnout += float(s.social["mobilisation_min"].value)
        persons *= float(s.social["availability"].value)
    table = effective_force(district, engine).table
    mine = table[table["rule"] == rule].set_index("village_id")
    v = district.villages
    existing = mine.loc[v["id"].to_numpy(), "persons"].to_numpy(dtype=float) if len(mine) \
        else np.zeros(len(v))
    cand, excluded = candidate_sites(district, kind)
    base = compute_coverage(district, engine, kinds=(kind,)).table["nearest_min"].to_numpy(
        dtype=float)
    base = np.where(np.isnan(base), np.inf, base)
    cloc = cand["loc"].to_numpy(dtype=np.int64)
    no_road = engine.status(cloc) == "no_road_access"
    if no_road.any():
        excluded = pd.concat([excluded, pd.DataFrame({
            "id": cand["id"][no_road], "name": cand["name"][no_road],
            "reason": "no road access"})], ignore_index=True)
    times = candidate_times(engine, kind, cloc, base, target=max(within, target),
                            turnout=turnout, covering=True)
    weights = v["population"].fillna(0).to_numpy(dtype=float)
    sol = max_force_covering(times, weights, existing, np.full(len(v), required), add,
                             within=within, headcount=persons, first_weight=first_weight,
                             base=base, target=target, method=method, time_limit=time_limit)
    ok = required - 1e-9
    rows: list[dict[str, object]] = []
    cur = base.copy()
    cover = base <= target + 1e-9
    was = existing >= ok
    for n, j in enumerate(sol.sites):
        now = force_after(times, existing, sol.sites[:n + 1], within=within,
                          headcount=persons) >= ok
        new = now & ~was
        was = now
        t = served_times(times, cur, [j])
        newly_cov = (t <= target + 1e-9) & ~cover
        newly_reached = np.isfinite(t) & ~np.isfinite(cur)
        cover |= newly_cov
        cur = t
        rows.append({"rank": n + 1, "site_id": cand["id"].iloc[j],
                     "name": cand["name"].iloc[j], "source": cand["source"].iloc[j],
                     "newly_sufficient_population": int(weights[new].sum()),
                     "sufficient_villages": _names(v, new),
                     "newly_covered_population": int(weights[newly_cov].sum()),
                     "newly_reached_population": int(weights[newly_reached].sum()),
                     "gain": round(sol.gains[n], 1), "gain_unit": "persons",
                     "cost_yuan": float(cand["cost"].iloc[j]),
                     "cost_basis": str(cand["cost_basis"].iloc[j]),
                     "villages": _names(v, newly_cov), "geometry": cand.geometry.iloc[j]})
    cols = ["rank", "site_id", "name", "source", "newly_sufficient_population",
            "sufficient_villages", "newly_covered_population", "newly_reached_population",
            "gain", "gain_unit", "cost_yuan", "cost_basis", "villages"]
    proposals = gpd.GeoDataFrame(rows, geometry="geometry", crs=district.crs) if rows else \
        gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=district.crs)
    # first arrival before and after, as every siting run gives it
    first = _result(district, kind, sol, cand, excluded, times, weights, base, target,
                    np.zeros(len(v), dtype=bool), requested=add)
    after = force_after(times, existing, sol.sites, within=within, headcount=persons)
    villages = first.villages.copy()
    villages["persons_before"] = np.round(existing, 2)
    villages["persons_after"] = np.round(after, 2)
    villages["required_persons"] = required
    villages["sufficient_before"] = existing >= ok
    villages["sufficient_after"] = after >= ok
    villages["newly_sufficient"] = (after >= ok) & ~(existing >= ok)
    possible = force_after(times, existing, np.arange(len(cand)), within=within,
                           headcount=persons)
    lost = possible < ok
    unreachable = pd.DataFrame({
        "village_id": v["id"].to_numpy()[lost], "village_name": v["name"].to_numpy()[lost],
        "population": weights[lost].astype(np.int64), "persons": np.round(existing[lost], 2),
        "persons_possible": np.round(possible[lost], 2), "required_persons": required,
        "within_min": within})
    note = ""
    if not rows:
        note = "no candidate site improves on the existing units"
    elif len(rows) < add:
        note = (f"only {len(rows)} of the {add} sites asked for improve on the existing "
                "units and the sites before them; the others would add nothing")
    siting = SitingResult(kind, sol, proposals, villages, first.excluded, unreachable, target,
                          note, add)
    return ForceSitingResult(siting, rule, within, required, float(headcount),
                             float(first_weight))


def _names(v: pd.DataFrame, mask: BoolArray) -> str:
    """``id name`` of the villages of ``mask``, joined by ``;``."""
    return ";".join(f"{a} {b}" for a, b in zip(v["id"][mask], v["name"][mask], strict=True))
