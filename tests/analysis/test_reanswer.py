"""Re-answer, don't rerun: a target, a turnout, a unit added or removed and a hazard added each
give what a full recomputation gives (the same ids, minutes to 1e-9, the same statuses)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

import emgis
from emgis.analysis.coverage import compute_coverage
from emgis.plan import Plan
from emgis.roads.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"


def _full(plan: Plan) -> pd.DataFrame:
    """The coverage table computed from scratch for the plan's district as it is now."""
    fresh = Engine.for_district(plan.district, plan.network)
    return compute_coverage(plan.district, fresh).table


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        if col in ("nearest_min", "second_min", "social_min"):
            x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
            assert np.array_equal(np.isnan(x), np.isnan(y)), col
            ok = ~np.isnan(x)
            assert np.allclose(x[ok], y[ok], rtol=0, atol=1e-9), col
        else:
            assert a[col].astype(object).where(a[col].notna(), None).tolist() == \
                b[col].astype(object).where(b[col].notna(), None).tolist(), col


@pytest.fixture
def demo(tmp_path: Path) -> Plan:
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst)
    return emgis.open(dst)


def test_target_turnout_units_hazard_on_the_demo(demo: Plan) -> None:
    plan = demo
    plan.coverage()
    plan.scenario("flood")
    plan.set_target("micro_fire_station", 8)
    _same(plan.coverage().table, _full(plan))
    assert (plan.coverage().table.query("kind == 'micro_fire_station'")["target_min"] == 8).all()
    plan.set_target("stockpile", 20)
    _same(plan.coverage().table, _full(plan))
    plan.set_turnout("fire_station", 3.5)
    _same(plan.coverage().table, _full(plan))
    plan.set_turnout("enterprise_brigade", 9)  # a social force: the kinds it backs up
    _same(plan.coverage().table, _full(plan))
    # a scenario after the turnouts changed (its searches repaired from the baseline's of
    # the new turnouts) is the scenario from scratch
    _scenario_as_from_scratch(plan, "flood")
    units = plan.units
    first = plan.coverage().table.query("kind == 'micro_fire_station'")["nearest_id"]
    busiest = str(first.value_counts().index[0])  # the nearest unit of the most villages
    plan.remove_unit(busiest)
    assert busiest not in set(plan.coverage().table["nearest_id"].dropna())
    assert busiest not in set(plan.coverage().table["second_id"].dropna())
    _same(plan.coverage().table, _full(plan))
    v = plan.district.villages.geometry.iloc[3]
    plan.add_unit("micro_fire_station", shapely.Point(v.x + 120, v.y - 60), unit_id="NEW-1",
                  name="new station")
    assert "NEW-1" in set(plan.coverage().table["nearest_id"].dropna())
    _same(plan.coverage().table, _full(plan))
    # one unit fewer and one more: as many units as before, other ones (the searches kept
    # from before the change are not repaired from)
    _scenario_as_from_scratch(plan, "forest_fire")
    shelter = str(units[units["kind"] == "shelter_emergency"]["id"].iloc[0])
    plan.remove_unit(shelter)  # villagers walk to shelters: the reversed walking graph
    _same(plan.coverage().table, _full(plan))
    # service areas and zones follow the changed units (found again when asked)
    assert len(plan.service_areas()) and len(plan.zones().zones)
    # a hazard added: only its scenario runs, the others are kept
    hz = shapely.Point(v.x, v.y).buffer(300)
    plan.scenario("flood")
    kept = dict(plan._scenarios)
    assert kept
    r = plan.add_hazard("HX", hz, name="test flood")
    assert all(plan._scenarios[k] is v for k, v in kept.items())  # the others kept
    from emgis.analysis.scenario import run_scenario

    again = run_scenario(plan.district, Engine.for_district(plan.district, plan.network),
                         r.scenario, baseline=_full(plan))
    _same_frames(r.villages, again.villages)
    _same_frames(r.units, again.units)
    assert [s.name for s in plan.district.scenarios][-1] == "HX"


def _scenario_as_from_scratch(plan: Plan, name: str) -> None:
    from emgis.analysis.scenario import run_scenario

    got = plan.scenario(name)
    again = run_scenario(plan.district, Engine.for_district(plan.district, plan.network),
                         got.scenario, baseline=_full(plan))
    _same_frames(got.villages, again.villages)
    _same_frames(got.units, again.units)


def _same_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_exact=False, rtol=0, atol=1e-9)


def _synthetic(tmp: Path) -> Path:
    spec = importlib.util.spec_from_file_location("synthetic_district",
                                                  ROOT / "scripts" / "synthetic_district.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("synthetic_district", mod)
    spec.loader.exec_module(mod)
    out: Path = mod.write_district(tmp / "syn", nodes=3000, villages=80, units=30,
                                   townships=4, seed=7)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_random_unit_changes_on_a_synthetic_network(tmp_path: Path, seed: int) -> None:
    plan = emgis.open(_synthetic(tmp_path))
    plan.coverage()
    rng = np.random.default_rng(seed)
    xs = plan.network.node_x
    ys = plan.network.node_y
    kinds = ["micro_fire_station", "fire_station", "village_team", "stockpile"]
    for step in range(6):
        units = plan.units
        if step % 2 == 0:
            kind = str(rng.choice(kinds))
            i = int(rng.integers(len(xs)))
            pt = shapely.Point(float(xs[i]) + float(rng.normal(0, 40)),
                               float(ys[i]) + float(rng.normal(0, 40)))
            plan.add_unit(kind, pt, unit_id=f"R{seed}-{step}")
        else:
            pick = units[units["kind"].isin(kinds)]
            uid = str(pick["id"].iloc[int(rng.integers(len(pick)))])
            plan.remove_unit(uid)
        _same(plan.coverage().table, _full(plan))
