"""Team availability by period and busy units (issue 29): ReVelle & Hogan's 1 - q^k by hand."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

import emgis
from emgis.analysis.availability import (
    availability,
    expected_free,
    p_free,
    team_availability,
    units_needed,
)

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny"


@pytest.mark.parametrize(("q", "k", "want"), [
    (0.1, 1, 0.9), (0.1, 2, 0.99), (0.1, 3, 0.999), (0.5, 2, 0.75), (0.3, 2, 0.91),
    (0.0, 1, 1.0), (1.0, 3, 0.0)])
def test_at_least_one_free(q: float, k: int, want: float) -> None:
    assert p_free([q] * k) == pytest.approx(want)
    assert float(expected_free(q, [k])[0]) == pytest.approx(want)


def test_unequal_units_and_none() -> None:
    assert p_free([0.2, 0.5]) == pytest.approx(1 - 0.1)
    assert p_free([]) == 0.0
    assert float(expected_free(0.2, [0])[0]) == 0.0


@pytest.mark.parametrize(("q", "alpha", "want"), [
    (0.3, 0.9, 2), (0.5, 0.9, 4), (0.5, 0.95, 5), (0.05, 0.9, 1), (0.1, 0.99, 2),
    (0.0, 0.99, 1)])
def test_units_needed(q: float, alpha: float, want: int) -> None:
    """The least k with 1 - q^k >= alpha (ReVelle & Hogan 1989)."""
    k = units_needed(q, alpha)
    assert k == want
    assert 1 - q ** k >= alpha - 1e-12
    if k > 1:
        assert 1 - q ** (k - 1) < alpha
    assert math.isinf(units_needed(1.0, 0.9))


@pytest.fixture
def two_stations(tmp_path: Path) -> Path:
    """The tiny district with a second micro fire station next to the first, the teams'
    availability by period given for it, and the village team's left to the profile."""
    d = tmp_path / "tiny"
    shutil.copytree(TINY, d, ignore=shutil.ignore_patterns(".emgis-cache"))
    (d / "teams.csv").write_text(
        "id,name,kind,headcount,township,turnout_min,full_time,夜间在岗率,汛期在岗率,lon,lat\n"
        "T1,东村微型消防站,micro_fire_station,6,东镇,1,,0.5,,1.5101,42.5001\n"
        "T4,东村第二微型消防站,micro_fire_station,6,东镇,1,,0.8,0.6,1.5102,42.5002\n"
        "T2,东镇应急救援队,township_rescue_team,30,东镇,,10,,,1.5180,42.5003\n"
        "T3,西村应急队,village_team,12,东镇,5,,,,1.4975,42.4975\n", "utf-8")
    return d


def test_availability_by_period_is_read(two_stations: Path) -> None:
    plan = emgis.open(two_stations, use_cache=False)
    a = team_availability(plan.district).set_index("id")
    assert a.loc["T1", "availability_night"] == 0.5  # its own 夜间在岗率
    assert a.loc["T4", "availability_flood"] == 0.6
    assert a.loc["T1", "availability_day"] == 1.0  # none given, micro fire station by day: 1
    assert a.loc["T1", "availability_flood"] == 1.0
    assert a.loc["T3", "availability_day"] == 0.6  # the profile's village_team_day
    assert a.loc["T3", "availability_night"] == 0.9
    assert a.loc["T2", "availability_night"] == 1.0


def test_cover_per_period_by_hand(two_stations: Path) -> None:
    """A village both micro fire stations reach within 3 min: at night they answer 0.5 and 0.8
    of the time and are busy 5% of it, so at least one is free with 1 - (1 - 0.5 x 0.95)
    x (1 - 0.8 x 0.95) = 0.874, below the 0.9 reliability; by day 1 - 0.05^2 = 0.9975."""
    plan = emgis.open(two_stations, use_cache=False)
    res = availability(plan.district, plan.engine)
    t = res.table.set_index(["period", "kind", "village_id"])
    both = [v for v in plan.district.villages["id"]
            if t.loc[("night", "micro_fire_station", v), "units_within"] == 2]
    assert both, t.xs("micro_fire_station", level="kind")
    v = both[0]
    # pandas-stubs type a tuple key of .loc as (row, column), wrongly for a MultiIndex row key
    night = t.loc[("night", "micro_fire_station", v)]  # type: ignore[index]
    assert night["p_free"] == pytest.approx(1 - (1 - 0.5 * 0.95) * (1 - 0.8 * 0.95), abs=1e-4)
    assert not night["reliable"]
    day = t.loc[("day", "micro_fire_station", v)]  # type: ignore[index]
    assert day["p_free"] == pytest.approx(1 - 0.05 ** 2, abs=1e-4)
    assert day["reliable"]
    flood = t.loc[("flood", "micro_fire_station", v)]  # type: ignore[index]
    assert flood["p_free"] == pytest.approx(1 - 0.05 * (1 - 0.6 * 0.95), abs=1e-4)
    s = res.summary.set_index(["period", "kind"])
    pop = plan.district.villages.set_index("id")["population"]
    exp = sum(float(pop[vid]) * float(t.loc[("night", "micro_fire_station", vid), "p_free"])
              for vid in pop.index)
    assert s.loc[("night", "micro_fire_station"), "population_expected"] == round(exp)
    # a village with no unit of the kind within target has no chance
    none = res.table[res.table["units_within"] == 0]
    assert (none["p_free"] == 0).all() and not none["reliable"].any()


def test_settings_override_the_profile(two_stations: Path) -> None:
    with (two_stations / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[availability]\nbusy_share = 0.2\nreliability = { value = 0.95, '
                 'source = "县局 2025" }\nvillage_team_day = 0.3\n')
    plan = emgis.open(two_stations, use_cache=False)
    res = plan.availability()
    assert res.busy_share == 0.2 and res.alpha == 0.95
    assert team_availability(plan.district).set_index("id").loc["T3", "availability_day"] == 0.3
    bad = two_stations / "district.toml"
    bad.write_text(bad.read_text("utf-8").replace("village_team_day", "village_team_noon"),
                   "utf-8")
    with pytest.raises(emgis.ValidationError):
        emgis.open(two_stations, use_cache=False)


def test_kinds_the_force_holds_take_its_pairs(demo_plan: emgis.Plan) -> None:
    """The force's pairs (every team within its longest time) give each team kind within its
    target exactly what a search from that kind's units to its target finds (the same
    pairs, the same minutes), and the availability from them is the one searching anew; a
    kind beyond the force's time, or units it did not search, get None (searched alone)."""
    import numpy as np

    from emgis.analysis.availability import availability
    from emgis.analysis.force import force_pairs, force_units
    from emgis.inputs.kinds import target_of, units_of
    from emgis.roads.routing import pairs_within

    plan = demo_plan
    s = plan.district.settings
    held = force_pairs(plan.district, plan.engine)
    units = units_of(plan.district)
    kinds = units["kind"].to_numpy(dtype=object)
    turnout = units["turnout_min"].to_numpy(dtype=float)
    used = 0
    for k in dict.fromkeys(kinds[held.units]):
        sel = np.flatnonzero(kinds == k)
        target = target_of(k, s) if k in s.targets else held.limit
        got = held.within(sel, target)
        if target > held.limit:
            assert got is None
            continue
        assert got is not None
        want = pairs_within(plan.engine.graph("drive"), plan.engine.unit_loc[sel],
                            limits=target, offsets=turnout[sel],
                            targets=plan.engine.village_loc)
        for a, b in zip(got, want, strict=True):
            assert np.array_equal(a, b)
        used += 1
    assert used >= 2
    assert held.within(held.units, held.limit + 1.0) is None
    others = np.setdiff1d(np.arange(len(units)), force_units(units))
    assert held.within(others[:1], 1.0) is None
    reused = availability(plan.district, plan.engine, pairs=held)
    searched = availability(plan.district, plan.engine)
    pd.testing.assert_frame_equal(reused.table, searched.table)
    pd.testing.assert_frame_equal(reused.summary, searched.summary)
