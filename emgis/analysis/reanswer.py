"""Re-answer, don't rerun: what a change of one input invalidates in a coverage table.

A planner asks "and with a 10-minute target?", "and a station here?", "and without that
team?": each answer needs only part of the work of a whole run.

- a **target** changes no time: the kind's statuses, causes and the social cover flags are
  recomputed from the minutes already found (:func:`restatus`), no search;
- a **turnout**, a unit **added** or **removed** changes the times of one kind (and of the
  kinds a social force backs up, for a social unit): that kind's rows are found again by one
  multi-source search of its units on the engine (every other location's attachment to the
  roads kept; a unit added is attached alone), :func:`redo_kinds`, and spliced into the table.
  The two-nearest kernel keeps only the nearest and second distinct unit, so removing the
  nearest needs the third: the kind's one search gives it exactly (it costs about what two
  single-unit searches cost: every road node is settled at most twice);
- a **hazard** added runs only its own scenario (:meth:`emgis.plan.Plan.add_hazard`).

Every function returns what a full recomputation returns: the same ids, minutes and statuses
(``tests/analysis/test_reanswer.py`` checks it on the demo and on random unit changes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from emgis.analysis.coverage import COLUMNS, compute_coverage
from emgis.inputs.kinds import SOCIAL_BACKUP, TEAM_KINDS, mode_of, target_of, units_of
from emgis.inputs.standards import Standard

if TYPE_CHECKING:
    import geopandas as gpd

    from emgis.analysis.coverage import CoverageResult
    from emgis.inputs.district import District
    from emgis.inputs.settings import Settings
    from emgis.roads.engine import Engine


def _kind_status(engine: Engine, kind: str, settings: Settings) -> np.ndarray:
    """The villages' attachment to the network the kind travels on (as compute_coverage)."""
    loc = engine.village_loc
    if getattr(engine, "walk_snaps", None) is None:
        return np.asarray(engine.status(loc), dtype=object)
    return np.asarray(engine.status(loc, mode_of(kind, settings)),  # type: ignore[call-arg]
                      dtype=object)


def restatus(result: CoverageResult, settings: Settings, kinds: Sequence[str]
             ) -> pd.DataFrame:
    """The coverage table with the rows of ``kinds`` given the targets of ``settings``: target,
    status, cause and social cover from the minutes already found (no search)."""
    table = result.table.copy()
    kind_col = table["kind"].to_numpy(dtype=object)
    unit_kinds = set(result.units["kind"].astype(str))
    for kind in kinds:
        rows = np.flatnonzero(kind_col == kind)
        if not len(rows):
            continue
        target = target_of(kind, settings)
        first = table["nearest_min"].to_numpy(dtype=float)[rows]
        first = np.where(np.isnan(first), np.inf, first)
        status = np.where(first <= target + 1e-9, "covered",
                          np.where(np.isfinite(first), "over_target", "cut_off"))
        kst = _kind_status(result.engine, kind, settings)
        status = np.where(kst == "no_road_access", "no_road_access", status)
        if kind not in unit_kinds:
            status[:] = "no_unit"
        cause = np.where(status == "covered", "", status)
        cause = np.where((cause == "cut_off") & (kst == "cut_off"), "cut_off_piece", cause)
        social_min = table["social_min"].to_numpy(dtype=float)[rows]
        social_cov = social_min <= target + 1e-9
        if settings.coverage.social_as_cover:
            lift = social_cov & (status != "covered") & (status != "no_road_access")
            status = np.where(lift, "covered", status)
            cause = np.where(lift, "", cause)
        idx = table.index[rows]
        table.loc[idx, "target_min"] = target
        table.loc[idx, "status"] = status
        table.loc[idx, "cause"] = cause
        table.loc[idx, "social_covered"] = social_cov
    return table


def kinds_touched(kind: str, kinds: Sequence[str]) -> tuple[str, ...]:
    """The table's kinds whose rows a change to units of ``kind`` changes: the kind itself and,
    for a social force, the kinds it backs up."""
    touched = {kind, *SOCIAL_BACKUP.get(kind, ())}
    return tuple(k for k in kinds if k in touched)


def redo_kinds(district: District, engine: Engine, table: pd.DataFrame,
               kinds: Sequence[str], all_kinds: Sequence[str]
               ) -> tuple[pd.DataFrame, CoverageResult | None]:
    """The coverage table with the rows of ``kinds`` found again on ``engine`` (one search per
    kind; the other rows kept), and the partial result of those kinds (None when none).

    ``table`` is the full table of ``all_kinds`` (villages in input order within each kind,
    kinds in that order), as :func:`emgis.analysis.coverage.compute_coverage` gives it."""

    kinds = [k for k in all_kinds if k in set(kinds)]
    if not kinds:
        return table, None
    part = compute_coverage(district, engine, kinds=tuple(kinds))
    n_v = len(district.villages)
    blocks = []
    new = part.table
    for i, k in enumerate(all_kinds):
        if k in kinds:
            j = kinds.index(k)
            blocks.append(new.iloc[j * n_v:(j + 1) * n_v])
        else:
            blocks.append(table.iloc[i * n_v:(i + 1) * n_v])
    out = pd.concat(blocks, ignore_index=True)[COLUMNS] if blocks else table
    return out, part


def with_unit(district: District, kind: str, point: object, *, unit_id: str,
              name: str | None = None, turnout_min: float | None = None,
              township: str | None = None) -> District:
    """The district with one more unit of ``kind`` at ``point`` (in the district's CRS), in the
    layer that holds its kind (teams, stockpiles or shelters)."""



    layer = "teams" if kind in TEAM_KINDS else "stockpiles" if kind == "stockpile" else \
        "shelters"
    gdf: gpd.GeoDataFrame = getattr(district, layer)
    if unit_id in set(district.teams["id"].astype(str)) | set(
            district.stockpiles["id"].astype(str)) | set(district.shelters["id"].astype(str)):
        raise ValueError(f"a unit {unit_id!r} exists already")
    row: dict[str, object] = {"id": unit_id, "name": name if name is not None else unit_id,
                              "geometry": point}
    if "kind" in gdf.columns:
        row["kind"] = kind
    if township is not None and "township" in gdf.columns:
        row["township"] = township
    if turnout_min is not None and "turnout_min" in gdf.columns:
        row["turnout_min"] = float(turnout_min)
    if "row" in gdf.columns:
        row["row"] = int(gdf["row"].max()) + 1 if len(gdf) else 1
    add = gpd.GeoDataFrame([row], geometry="geometry", crs=gdf.crs)
    for col in gdf.columns:
        if col != "geometry" and col in add.columns:
            add[col] = add[col].astype(gdf[col].dtype)
    grown = gpd.GeoDataFrame(pd.concat([gdf, add], ignore_index=True), geometry="geometry",
                             crs=gdf.crs)
    return dataclasses.replace(district, **{layer: grown})


def without_unit(district: District, unit_id: str) -> tuple[District, str]:
    """The district without the unit ``unit_id``, and that unit's kind."""


    units = units_of(district)
    hit = units[units["id"].astype(str) == str(unit_id)]
    if not len(hit):
        raise KeyError(f"no unit {unit_id!r}")
    kind = str(hit["kind"].iloc[0])
    layer = str(hit["layer"].iloc[0]) if "layer" in hit else None
    for name in ("teams", "stockpiles", "shelters") if layer not in (
            "teams", "stockpiles", "shelters") else (layer,):
        gdf = getattr(district, name)
        keep = gdf["id"].astype(str) != str(unit_id)
        if not keep.all():
            return dataclasses.replace(district, **{name: gdf[keep].reset_index(drop=True)}), \
                kind
    raise KeyError(f"no unit {unit_id!r}")


def with_setting(settings: Settings, table: str, kind: str, value: float) -> Settings:
    """Settings with ``[table] kind = value`` (targets or turnout, minutes)."""


    values = dict(getattr(settings, table))
    old = values.get(kind)
    values[kind] = dataclasses.replace(old, value=float(value), source="set in Python") \
        if old is not None else Standard(float(value), "min", "set in Python", True)
    changed: Settings = dataclasses.replace(settings, **{table: values})  # type: ignore[arg-type]
    return changed


def hazard_row(district: District, hazard_id: str, geometry: object, *, kind: str = "flood",
               effect: str = "closed", name: str | None = None,
               speed_factor: float | None = None) -> gpd.GeoDataFrame:
    """The district's hazards with one more (in the district's CRS)."""

    hz = district.hazards
    if hazard_id in set(hz["id"].astype(str)):
        raise ValueError(f"a hazard {hazard_id!r} exists already")
    row: dict[str, object] = {"id": hazard_id, "name": name if name is not None else hazard_id,
                              "kind": kind, "effect": effect, "geometry": geometry}
    if "speed_factor" in hz.columns:
        row["speed_factor"] = speed_factor
    if "row" in hz.columns:
        row["row"] = int(hz["row"].max()) + 1 if len(hz) else 1
    add = gpd.GeoDataFrame([row], geometry="geometry", crs=hz.crs or district.crs)
    for col in hz.columns:
        if col != "geometry" and col in add.columns:
            add[col] = add[col].astype(hz[col].dtype)
    return gpd.GeoDataFrame(pd.concat([hz, add], ignore_index=True), geometry="geometry",
                            crs=hz.crs or district.crs)
