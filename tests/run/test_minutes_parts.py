"""The minutes' analyses in parts (issue 27): ``emgis run`` computes the calibration and the
uncertainty in one worker, the force and the availability in another; joined, they are what
one pass computes, failures named in the same order."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

import emgis
from emgis.run.minutes import STEPS, Minutes, compute_minutes, joined

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"


def _tables(m: Minutes) -> dict[str, pd.DataFrame | None]:
    return {"uncertainty": None if m.uncertainty is None else m.uncertainty.table,
            "force": None if m.force is None else m.force.table,
            "availability": None if m.availability is None else m.availability.table,
            "calibration": None if m.calibration is None else m.calibration.records}


@pytest.mark.parametrize("split", [2, 1, 3])
def test_parts_joined_are_one_pass(split: int) -> None:
    whole = compute_minutes(emgis.open(DEMO))
    plan = emgis.open(DEMO)  # a plan of its own: the parts must not find the whole's
    parts = [compute_minutes(plan, steps=STEPS[:split]),
             compute_minutes(plan, steps=STEPS[split:])]
    for part, steps in zip(parts, (STEPS[:split], STEPS[split:]), strict=True):
        for name in STEPS:  # a part holds its own analyses only
            assert (getattr(part, name) is None) == (name not in steps) or \
                (name == "calibration" and whole.calibration is None)
    got = joined(parts)
    assert got.failures == whole.failures == ()
    for name, table in _tables(whole).items():
        other = _tables(got)[name]
        if table is None:
            assert other is None
        else:
            assert other is not None
            pd.testing.assert_frame_equal(other, table)


def test_failures_keep_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = emgis.open(DEMO)

    def fails(*_: object, **__: object) -> None:
        raise ValueError("no good")

    monkeypatch.setattr(plan, "uncertainty", fails)
    monkeypatch.setattr(plan, "availability", fails)
    whole = compute_minutes(plan)
    got = joined([compute_minutes(plan, steps=STEPS[:2]),
                  compute_minutes(plan, steps=STEPS[2:])])
    assert [s for s, _ in got.failures] == [s for s, _ in whole.failures]
    assert len(got.failures) == 2
    assert got.uncertainty is None and got.availability is None and got.force is not None
    assert dataclasses.replace(got, failures=()).force is whole.force  # the plan's own, kept
