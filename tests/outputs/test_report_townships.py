"""The report's township sections, now read from each table once (issue 27), are what the
filter-per-township code made: that code is kept here as the oracle and both run on the demo's
tables as they are and made hostile (rows shuffled, townships missing or numbers, statuses
missing, overdue drills tied or without months, villages losing cover in several kinds)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from emgis.analysis.compliance import STATUSES
from emgis.outputs import report as rp
from emgis.outputs.style import scenario_label
from emgis.plan import Plan
from emgis.texts import Texts, texts


# -- the code the one pass replaced ------------------------------------------------------------
def _by_township(frame: pd.DataFrame | None, names: list[str]
                 ) -> dict[str, pd.DataFrame | None]:
    if frame is None or not len(frame) or "township" not in frame:
        return {n: frame for n in names}
    groups = {str(k): g for k, g in frame.groupby("township", sort=False)}
    return {n: groups.get(n, frame.iloc[:0]) for n in names}


def _old_township(name: str, plan: Plan, coverage: pd.DataFrame | None,
                  compliance: pd.DataFrame | None, scenario_villages: pd.DataFrame | None,
                  t: Texts) -> dict[str, Any]:
    district = plan.district
    n = int(district.settings.report.township_rows)
    v = district.villages
    tv = v[v["township"] == name]
    out: dict[str, Any] = {"name": name, "population": f"{int(tv['population'].fillna(0).sum()):,}",
                           "villages": len(tv), "gaps": None, "findings": None, "sites": None,
                           "losses": None, "gaps_more": 0, "losses_more": 0,
                           "overdue": None, "overdue_more": 0, "not_recorded": "",
                           "impact": []}
    if coverage is not None:
        rows = rp.gap_rows(coverage[coverage["township"] == name], t)
        out["gaps"] = rows[:n]
        out["gaps_more"] = max(0, len(rows) - n)
    if compliance is not None:
        f = compliance[compliance["township"] == name]
        found = []
        for rule, grp in f.groupby("rule", sort=False):
            counts = grp["status"].value_counts()
            if counts.get("meets", 0) == len(grp):
                continue
            found.append({"rule": t.get("rule", str(rule)),
                          **{s: int(counts.get(s, 0)) for s in STATUSES}})
        blank = [r for r in found if r["not_recorded"] and not any(
            r[s] for s in STATUSES if s not in ("not_recorded", "meets"))]
        out["findings"] = [r for r in found if r not in blank]
        sep = "、" if t.lang == "zh" else ", "
        out["not_recorded"] = sep.join(str(r["rule"]) for r in blank)
        late = f[(f["rule"] == "drill_interval_months") & (f["status"] == "overdue")]
        late = late.sort_values("actual", ascending=False, kind="stable")
        out["overdue"] = [{"name": r["place_name"], "id": r["place_id"],
                           "months": f"{float(r['actual']):.1f}"}
                          for r in late.head(n).to_dict("records")]
        out["overdue_more"] = max(0, len(late) - n)
    if scenario_villages is not None:
        sv = scenario_villages[(scenario_villages["township"] == name)
                               & scenario_villages["lost_cover"]]
        losses: list[dict[str, Any]] = []
        for (scn, vid), grp in sv.groupby(["scenario", "village_id"], sort=False):
            losses.append({"scenario": scenario_label(str(scn), t),
                           "village": grp["village_name"].iloc[0], "village_id": vid,
                           "island": bool(grp["island"].iloc[0]),
                           "population": f"{int(grp['population'].iloc[0]):,}",
                           "kinds": "、".join(t.kind(str(k)) for k in grp["kind"])
                           if t.lang == "zh" else ", ".join(t.kind(str(k)) for k in grp["kind"]),
                           "_pop": int(grp["population"].iloc[0])})
        losses.sort(key=lambda r: -int(r["_pop"]))
        out["losses"] = losses[:n]
        out["losses_more"] = max(0, len(losses) - n)
    return out


def _old(plan: Plan, coverage: pd.DataFrame | None, compliance: pd.DataFrame | None,
         scenario_villages: pd.DataFrame | None, t: Texts) -> list[dict[str, Any]]:
    towns = plan.district.township_names()
    cov_t, comp_t, loss_t = (_by_township(f, towns) for f in (
        coverage, compliance, scenario_villages))
    return [_old_township(name, plan, cov_t[name], comp_t[name], loss_t[name], t)
            for name in towns]


def _new(plan: Plan, coverage: pd.DataFrame | None, compliance: pd.DataFrame | None,
         scenario_villages: pd.DataFrame | None, t: Texts) -> list[dict[str, Any]]:
    n = int(plan.district.settings.report.township_rows)
    gaps = rp.gap_rows(coverage, t, first=0, per_township=n) if coverage is not None else None
    return rp._townships(plan.district.township_names(), plan.district, coverage, compliance,
                         None, scenario_villages, t, gaps=gaps)


# -- the tables ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tables(demo_plan: Plan) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    plan = demo_plan
    coverage = plan.coverage().table
    compliance = plan.compliance(as_of=dt.date(2026, 6, 30))
    villages = pd.concat([plan.scenario(sc).villages.assign(scenario=sc.name)
                          for sc in plan.district.scenarios], ignore_index=True)
    return coverage, compliance, villages


def _hostile(frame: pd.DataFrame, rng: np.random.Generator, *, towns: list[str],
             by_village: bool = False) -> pd.DataFrame:
    """Rows shuffled; some townships missing, a number, or another township's name (with
    ``by_village``, a village's every row alike, as in the coverage table)."""
    f = frame.sample(frac=1.0, random_state=int(rng.integers(1 << 30))).reset_index(drop=True)
    town = f["township"].astype(object).to_numpy().copy()
    if by_village:
        ids, at = np.unique(f["village_id"].astype(str).to_numpy(), return_inverse=True)
        pick = rng.random(len(ids))[at]
    else:
        pick = rng.random(len(f))
    town[pick < 0.05] = None
    town[(pick >= 0.05) & (pick < 0.08)] = 7
    swap = (pick >= 0.08) & (pick < 0.15)
    other = np.asarray(rng.choice(towns, len(pick)), dtype=object)
    if by_village:
        other = other[np.unique(at, return_index=True)[1]][at]
    town[swap] = other[swap]
    return f.assign(township=town)


def test_the_demo_has_what_the_sections_show(tables: tuple[pd.DataFrame, ...]) -> None:
    coverage, compliance, villages = tables
    assert coverage["status"].isin(["over_target", "cut_off", "no_road_access"]).any()
    assert (compliance["status"] != "meets").any()
    assert villages["lost_cover"].any()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sections_as_before(demo_plan: Plan, tables: tuple[pd.DataFrame, ...], lang: str
                            ) -> None:
    coverage, compliance, villages = tables
    t = texts(lang)
    assert _new(demo_plan, coverage, compliance, villages, t) == \
        _old(demo_plan, coverage, compliance, villages, t)
    assert _new(demo_plan, None, None, None, t) == _old(demo_plan, None, None, None, t)
    empty = (coverage.iloc[:0], compliance.iloc[:0], villages.iloc[:0])
    assert _new(demo_plan, *empty, t) == _old(demo_plan, *empty, t)


@pytest.mark.parametrize("seed", range(8))
def test_sections_as_before_on_hostile_tables(demo_plan: Plan,
                                              tables: tuple[pd.DataFrame, ...],
                                              seed: int) -> None:
    coverage, compliance, villages = tables
    rng = np.random.default_rng(seed)
    towns = demo_plan.district.township_names()
    cov = _hostile(coverage, rng, towns=towns, by_village=True)
    comp = _hostile(compliance, rng, towns=towns)
    # overdue drills: tied months, missing months; statuses missing
    drill = rng.random(len(comp)) < 0.3
    comp.loc[drill, "rule"] = "drill_interval_months"
    comp.loc[drill, "status"] = rng.choice(["overdue", "meets", "not_recorded"],
                                           int(drill.sum()))
    months = rng.choice([13.0, 13.0, 24.5, np.nan], len(comp))
    comp["actual"] = np.where(drill, months, comp["actual"].to_numpy(dtype=float))
    comp.loc[rng.random(len(comp)) < 0.03, "status"] = None
    sv = _hostile(villages, rng, towns=towns)
    sv["lost_cover"] = rng.random(len(sv)) < 0.4
    sv["population"] = rng.choice([0, 150, 150, 2400], len(sv))
    t = texts("zh" if seed % 2 else "en")
    new = _new(demo_plan, cov, comp, sv, t)
    assert new == _old(demo_plan, cov, comp, sv, t)
    assert any(s["overdue"] for s in new) and any(s["losses"] for s in new)


@pytest.mark.parametrize(("first", "per_township", "seed"),
                         [(0, 1, 0), (1, 0, 1), (2, 2, 2), (5, 1, 3), (None, 1, 4), (3, None, 5)])
def test_gap_rows_hold_their_words_where_shown(demo_plan: Plan,
                                               tables: tuple[pd.DataFrame, ...],
                                               first: int | None, per_township: int | None,
                                               seed: int) -> None:
    """A report asks for the rows it shows (the first ``first``, the first ``per_township`` of
    each township's): those are the rows of the whole list, the others the same village,
    township and people without words, in the same order (hostile townships too)."""
    coverage = tables[0]
    rng = np.random.default_rng(seed)
    cov = _hostile(coverage, rng, towns=demo_plan.district.township_names(), by_village=True)
    t = texts("zh" if seed % 2 else "en")
    whole = rp.gap_rows(cov, t)
    some = rp.gap_rows(cov, t, first=first, per_township=per_township)
    assert len(some) == len(whole) > 0
    seen: dict[Any, int] = {}
    light = 0
    for i, (a, b) in enumerate(zip(whole, some, strict=True)):
        town = a["township"]
        shown = (first is not None and i < first) or (
            per_township is not None and seen.get(town, 0) < per_township)
        seen[town] = seen.get(town, 0) + 1
        if shown:
            assert b == a
        else:
            light += 1
            assert b == {k: a[k] for k in ("village", "village_id", "township", "population")}
    assert light > 0  # the demo's gaps outnumber what these rows show
