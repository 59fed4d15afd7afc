"""The gap list: one row per village outside target, as a bureau reads it.

The coverage table has a row per village and kind; a chief asks which *villages* lack cover
and for what. :func:`village_gaps` gives one row per village with at least one public kind
(the public forces of :data:`~emgis.inputs.kinds.PUBLIC_KINDS`) outside its target: the
village's population and township, how many public kinds fail, and for each failing kind its
minutes against the target, the nearest unit by name and the status. Shelters (a walk) and
stores are listed apart (:func:`place_gaps`); social forces are a backup and never in the gap
list; a kind the district has no unit of (``no_unit``) is said once for the district
(:func:`missing_kinds`), not once per village.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from emgis.inputs.kinds import KINDS, PUBLIC_KINDS

#: The statuses that put a village in the gap list (``no_unit`` is said once per district).
OUTSIDE = ("over_target", "cut_off", "no_road_access")

#: Kinds listed apart from the public forces: shelters (villagers walk) and stores.
PLACE_KINDS: tuple[str, ...] = tuple(k for k, v in KINDS.items()
                                     if v.layer in ("shelters", "stockpiles"))


def village_gaps(table: pd.DataFrame, *, kinds: Sequence[str] = PUBLIC_KINDS) -> pd.DataFrame:
    """One row per village with at least one of ``kinds`` outside its target.

    Parameters
    ----------
    table
        The coverage table (:func:`emgis.analysis.coverage.compute_coverage`), one row per
        village and kind, with exact minutes.
    kinds
        The kinds whose gaps count (default the public forces).

    Returns
    -------
    pandas.DataFrame
        ``village_id``, ``village_name``, ``township``, ``population`` (persons),
        ``kinds_outside`` (how many of ``kinds`` fail there), ``worst_status``, then for each
        kind that fails anywhere ``<kind>_status``, ``<kind>_min`` (minutes of the nearest
        unit, NaN where none reaches), ``<kind>_target`` (minutes) and ``<kind>_nearest`` (the
        nearest unit's name); most people first, then the most kinds failing, then the id.
        Villages without a failing kind are not listed; kinds the district has no unit of
        never count (:func:`missing_kinds`).
    """
    rows = table[table["kind"].isin(kinds) & table["status"].isin(OUTSIDE)]
    base = ["village_id", "village_name", "township", "population"]
    if rows.empty:
        return pd.DataFrame(columns=[*base, "kinds_outside", "worst_status"])
    present = set(rows["kind"].unique())  # once: a province's 150,000 rows per kind asked
    order = [k for k in kinds if k in present]
    villages = rows.drop_duplicates("village_id")[base].set_index("village_id")
    out = villages.copy()
    out["kinds_outside"] = rows.groupby("village_id")["kind"].nunique()
    rank = {s: i for i, s in enumerate(("over_target", "cut_off", "no_road_access"))}
    worst = rows.assign(_r=rows["status"].map(rank)).groupby("village_id")["_r"].max()
    out["worst_status"] = worst.map({i: s for s, i in rank.items()})
    for kind in order:
        k = rows[rows["kind"] == kind].set_index("village_id")
        out[f"{kind}_status"] = k["status"]
        out[f"{kind}_min"] = k["nearest_min"].astype(float)
        out[f"{kind}_target"] = k["target_min"].astype(float)
        out[f"{kind}_nearest"] = k["nearest_name"]
    out = out.reset_index()
    out["population"] = out["population"].fillna(0)
    out = out.sort_values(["population", "kinds_outside", "village_id"],
                          ascending=[False, False, True], kind="mergesort")
    return out.reset_index(drop=True)


def place_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """Shelters and stores, apart from the public forces: one row per village with a shelter
    or store kind outside its target (see :func:`village_gaps`)."""
    return village_gaps(table, kinds=PLACE_KINDS)


def missing_kinds(table: pd.DataFrame, *, kinds: Sequence[str] = (*PUBLIC_KINDS,
                                                                    *PLACE_KINDS)
                  ) -> tuple[str, ...]:
    """The kinds the district has no unit of (every village ``no_unit``), in report order."""
    k = table[table["kind"].isin(kinds)]
    none = k.groupby("kind")["status"].agg(lambda s: bool(np.all(s == "no_unit")))
    return tuple(kind for kind in kinds if bool(none.get(kind, False)))


def gap_counts(table: pd.DataFrame, *, kinds: Sequence[str] = PUBLIC_KINDS) -> dict[str, int]:
    """What the gap list counts, each count saying what it counts: ``villages`` (villages with
    at least one kind outside target), ``persons`` (their people), ``village_kinds`` (village x
    kind rows outside target) and ``villages_total``."""
    g = village_gaps(table, kinds=kinds)
    rows = table[table["kind"].isin(kinds) & table["status"].isin(OUTSIDE)]
    return {"villages": len(g), "persons": int(g["population"].sum()) if len(g) else 0,
            "village_kinds": len(rows), "villages_total": int(table["village_id"].nunique())}
