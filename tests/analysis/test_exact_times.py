"""Exact times decide: statuses, siting, what-if counts and printed rows all use the unrounded
minutes, and a printed row never contradicts its status.

The V03 case of a hold-out district: a village 0.003 min over its target was "over target" in
coverage but counted as covered by siting (which read times rounded to 0.01 min), and its row
read "over the target by 0.0 min". Here the demo's target for micro fire stations is set a few
thousandths of a minute below one village's exact time, so that village is just over target.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

import emgis
from emgis.analysis.whatif import covered_persons, whatif_data
from emgis.inputs.standards import Standard
from emgis.outputs.tables import present
from emgis.plan import Plan
from emgis.texts import shown_minutes, texts

KIND = "micro_fire_station"


@pytest.fixture(scope="module")
def just_over() -> tuple[Plan, str, float]:
    """The demo with the target set 0.003 min below the exact time of a village."""
    base = emgis.open("data/demo")
    rows = base.coverage().table.query("kind == @KIND and status != 'no_road_access'")
    rows = rows[np.isfinite(rows["nearest_min"])].sort_values("nearest_min")
    pick = rows.iloc[len(rows) // 2]
    target = float(pick["nearest_min"]) - 0.003
    s = base.district.settings
    targets = MappingProxyType({**s.targets, KIND: Standard(target, "min", "test")})
    district = dataclasses.replace(base.district, settings=dataclasses.replace(
        s, targets=targets))
    return Plan(district, base.network, base.cache), str(pick["village_id"]), target


def test_statuses_use_exact_minutes(just_over: tuple[Plan, str, float]) -> None:
    plan, vid, target = just_over
    table = plan.coverage().table
    row = table[(table["kind"] == KIND) & (table["village_id"] == vid)].iloc[0]
    assert row["nearest_min"] == pytest.approx(target + 0.003, abs=1e-9)
    assert row["status"] == "over_target"


def test_cover_all_does_not_count_a_village_just_over_target(
        just_over: tuple[Plan, str, float]) -> None:
    """Set covering must bring the village within target or list it as unreachable: it is
    never taken as covered already (what reading rounded minutes did)."""
    plan, vid, _ = just_over
    res = plan.site(KIND, cover_all=True)
    after = res.villages.set_index("village_id")["after_min"] if "after_min" in \
        res.villages else None
    unreachable = set(res.unreachable["village_id"]) if len(res.unreachable) else set()
    assert vid in unreachable or (after is not None and after[vid] <= plan.district.settings
                                  .targets[KIND].value + 1e-9), res.villages.head()


def test_whatif_counts_agree_with_statuses(just_over: tuple[Plan, str, float]) -> None:
    plan, _, _ = just_over
    data = whatif_data(plan.district, plan.engine, KIND)
    table = plan.coverage().table.query("kind == @KIND")
    pop = plan.district.villages["population"].fillna(0).to_numpy(dtype=float)
    on = np.zeros(len(data.units) + len(data.candidates), dtype=bool)
    on[:len(data.units)] = True
    page = covered_persons(data, 0, on, pop)
    statuses = int(table.loc[table["status"] == "covered", "population"].sum())
    # the page holds tenths of a minute rounded up: within a target of whole tenths it agrees
    # exactly; here the target is not a whole number of tenths, so the page may only be
    # stricter, never more generous
    assert page <= statuses


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_printed_row_agrees_with_its_status(just_over: tuple[Plan, str, float],
                                                  lang: str) -> None:
    plan, _, _ = just_over
    table = plan.coverage().table
    shown = present(table, lang=lang)
    ok = table["nearest_min"].notna()
    over = ok & (table["status"] == "over_target")
    covered = ok & (table["status"] == "covered")
    printed = pd.to_numeric(shown["nearest_min"])
    assert (printed[over] > table.loc[over, "target_min"]).all()
    assert (printed[covered] <= table.loc[covered, "target_min"]).all()
    words = texts(lang).fmt("cause.over_target", n="0.0")
    assert not shown["cause"].astype(str).str.contains(words, regex=False).any()


@pytest.mark.parametrize(("minutes", "target", "digits", "want"), [
    (5.003, 5, 2, 5.01), (5.003, 5, 1, 5.1), (4.996, 5, 2, 5.0), (4.999999, 5, 1, 5.0),
    (12.4286, 5, 2, 12.43), (3.456, 5, 2, 3.46), (5.0, 5, 2, 5.0), (float("nan"), 5, 2, None),
])
def test_shown_minutes(minutes: float, target: float, digits: int, want: float | None) -> None:
    got = shown_minutes(minutes, target, digits=digits)
    if want is None:
        assert got != got
    else:
        assert got == want
