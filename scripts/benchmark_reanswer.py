"""Time the planner's re-answers on a county-size district against answering from scratch.

On the synthetic county of ``benchmark_county.py`` (default: 100,000 road nodes, 1,500
villages, 300 units, 3 hazards; written first if missing), a :class:`emgis.Plan` with its
coverage found is changed five ways, each timed (wall seconds, the minimum and median of
``--repeat`` fresh plans):

- ``set_target``: a kind's target changed (statuses from the minutes found, no search);
- ``set_turnout``: a kind's default turnout changed (that kind's units searched again);
- ``add_unit``: one micro fire station added near a village (it alone attached to the roads);
- ``remove_unit``: that kind's first unit removed;
- ``add_hazard``: a flood zone added (only its own scenario runs).

Beside each: the same answer from scratch (the coverage table of a new engine on the changed
district, or the new scenario run on it), timed, and whether the two tables are equal (the
minutes within 1e-9; ``tests/analysis/test_reanswer.py`` asserts it on hand-made and random
changes). Target (issue "Answers while the planner waits"): each re-answer under 1 s.

Usage::

    python scripts/benchmark_reanswer.py
    python scripts/benchmark_reanswer.py --repeat 5 --dir /tmp/emgis-county-100000-1500-300
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_district as synd

import emgis
from emgis.analysis.coverage import compute_coverage
from emgis.analysis.scenario import run_scenario
from emgis.plan import Plan
from emgis.roads.engine import Engine

MINUTES = ("nearest_min", "second_min", "social_min")


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal tables: the minutes within 1e-9, every other column exactly."""
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for col in a.columns:
        if col in MINUTES or a[col].dtype.kind == "f":
            x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
            if not np.array_equal(np.isnan(x), np.isnan(y)):
                return False
            if not np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=0, atol=1e-9):
                return False
        elif not a[col].astype(object).fillna("").equals(b[col].astype(object).fillna("")):
            return False
    return True


def full_coverage(plan: Plan) -> pd.DataFrame:
    """The coverage table of the plan's district as it is now, from a new engine."""
    return compute_coverage(plan.district, Engine.for_district(plan.district, plan.network)).table


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def one_round(folder: Path) -> dict[str, tuple[float, float, bool]]:
    """Each change on a fresh plan's coverage: (re-answer s, from scratch s, equal)."""
    plan = emgis.open(folder)
    plan.coverage()
    out: dict[str, tuple[float, float, bool]] = {}
    kind = "micro_fire_station"
    target = float(plan.district.settings.targets[kind].value)
    s, cov = timed(lambda: plan.set_target(kind, target + 5.0))
    f, fresh = timed(lambda: full_coverage(plan))
    out["set_target"] = (s, f, same(cov.table, fresh))
    turnout = float(plan.district.settings.turnout[kind].value)
    s, cov = timed(lambda: plan.set_turnout(kind, turnout + 1.0))
    f, fresh = timed(lambda: full_coverage(plan))
    out["set_turnout"] = (s, f, same(cov.table, fresh))
    v = plan.district.villages.geometry.iloc[len(plan.district.villages) // 2]
    point = shapely.Point(v.x + 150.0, v.y + 150.0)
    s, cov = timed(lambda: plan.add_unit(kind, point, unit_id="BENCH-NEW"))
    f, fresh = timed(lambda: full_coverage(plan))
    out["add_unit"] = (s, f, same(cov.table, fresh))
    units = plan.units
    first = str(units[units["kind"] == kind]["id"].iloc[0])
    s, cov = timed(lambda: plan.remove_unit(first))
    f, fresh = timed(lambda: full_coverage(plan))
    out["remove_unit"] = (s, f, same(cov.table, fresh))
    for sc in plan.district.scenarios:  # the district's own scenarios, found before
        plan.scenario(sc)
    zone = shapely.Point(v.x, v.y).buffer(1500.0)
    s, r = timed(lambda: plan.add_hazard("BENCH-FLOOD", zone, name="benchmark flood"))

    def again() -> Any:
        return run_scenario(plan.district, Engine.for_district(plan.district, plan.network),
                            r.scenario, baseline=full_coverage(plan))

    f, fresh = timed(again)
    out["add_hazard"] = (s, f, same(r.villages, fresh.villages) and same(r.units, fresh.units))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    synd.county_options(ap)
    args = ap.parse_args()
    folder = synd.county_from(args)
    emgis.open(folder)  # the network cache built once, outside the timings
    rounds = [one_round(folder) for _ in range(args.repeat)]
    print(f"re-answer on {folder} ({args.repeat} fresh plans; wall seconds, min / median)")
    print(f"{'change':<14}{'re-answer':>20}{'from scratch':>20}{'equal':>8}")
    for name in rounds[0]:
        s = [r[name][0] for r in rounds]
        f = [r[name][1] for r in rounds]
        eq = all(r[name][2] for r in rounds)
        print(f"{name:<14}{min(s):>10.3f} /{statistics.median(s):>7.3f}"
              f"{min(f):>11.3f} /{statistics.median(f):>7.3f}{'yes' if eq else 'NO':>8}")


if __name__ == "__main__":
    main()
