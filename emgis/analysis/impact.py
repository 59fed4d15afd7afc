"""What the proposals change: persons and villages within target today and with the sites
proposed, per kind and per township, and what the proposals cost.

A bureau chief reads page 1 as "micro fire stations reach 56.3% of people within 3 minutes
today; with the 3 proposed stations 69.5%, +10,128 persons, for 360,000 yuan". Both figures
come from the same exact times: today's from the coverage statuses, the proposals' from the
siting result's villages after the sites are built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from emgis.analysis.siting import SitingResult

COLUMNS = ["kind", "model", "gain", "gain_unit", "villages", "population", "sites",
           "cost_yuan", "villages_before",
           "persons_before", "share_before", "villages_after", "persons_after", "share_after",
           "persons_change", "share_change"]


def before_after(table: pd.DataFrame, sites: Sequence[SitingResult], *,
                 by: tuple[str, ...] = ()) -> pd.DataFrame:
    """Persons and villages within target today and with each kind's proposals.

    Parameters
    ----------
    table
        The coverage table (one row per village and kind, exact minutes and statuses).
    sites
        The siting results of the run (one per kind sited).
    by
        ``("township",)`` for a row per township and kind; empty for the district.

    Returns
    -------
    pandas.DataFrame
        Per kind sited (and township): ``model`` and the proposals' ``gain`` in its own
        ``gain_unit`` (persons, or person-minutes saved for p-median), ``villages``,
        ``population`` (persons), ``sites``
        proposed, ``cost_yuan`` (their total, NaN where costs are not known),
        ``villages_before``/``persons_before``/``share_before`` (within target today, from the
        statuses), the same ``_after`` with the proposals built, and the changes (persons,
        share points as a fraction).
    """
    rows = []
    for s in sites:
        cov = table[table["kind"] == s.kind][["village_id", "township", "population",
                                              "status"]]
        if cov.empty:
            continue
        after = s.villages[["village_id", "covered_after"]] if len(s.villages) else \
            pd.DataFrame({"village_id": [], "covered_after": []})
        v = cov.merge(after, on="village_id", how="left")
        v["before"] = v["status"] == "covered"
        # a village the siting could not serve keeps its status; with no road access it is
        # never within target
        v["after"] = (v["covered_after"].fillna(False).astype(bool) | v["before"]) & (
            v["status"] != "no_road_access")
        v["population"] = v["population"].fillna(0)
        n_sites = len(s.proposals)
        cost = float(s.proposals["cost_yuan"].sum()) if "cost_yuan" in s.proposals and \
            n_sites else (0.0 if not n_sites else float("nan"))
        groups = v.groupby(list(by), sort=False) if by else [((), v)]
        for key, g in groups:
            pop = float(g["population"].sum())
            pb = float(g.loc[g["before"], "population"].sum())
            pa = float(g.loc[g["after"], "population"].sum())
            row: dict[str, object] = dict(zip(by, key if isinstance(key, tuple) else (key,),
                                              strict=True)) if by else {}
            row.update({
                "kind": s.kind, "model": s.solution.model,
                "gain": float(s.proposals["gain"].sum()) if n_sites else 0.0,
                "gain_unit": str(s.proposals["gain_unit"].iloc[0]) if n_sites else "persons",
                "villages": len(g), "population": int(pop),
                "sites": n_sites, "cost_yuan": cost,
                "villages_before": int(g["before"].sum()), "persons_before": int(pb),
                "share_before": pb / pop if pop else 0.0,
                "villages_after": int(g["after"].sum()), "persons_after": int(pa),
                "share_after": pa / pop if pop else 0.0,
                "persons_change": int(pa - pb),
                "share_change": (pa - pb) / pop if pop else 0.0})
            rows.append(row)
    return pd.DataFrame(rows, columns=[*by, *COLUMNS])
