"""A scenario of several hazards finds again the parts of roads its hazards' own scenarios
found (issue 27): each zone's parts are cut once per network, and the network a scenario
builds from them is the one it builds cutting them afresh."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from emgis.analysis import scenario as sc
from emgis.plan import Plan


def test_each_zone_cut_once(demo_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    district = demo_plan.district
    hz = district.hazards
    assert len(hz) >= 2
    ea = demo_plan.network
    sc._PARTS._items.clear()
    fresh = {i: sc.hazard_network(ea, hz.iloc[[i]])[0].hazards for i in range(len(hz))}
    both_fresh = sc.hazard_network(ea, hz)[0].hazards  # cut afresh? no: cached by now
    sc._PARTS._items.clear()
    calls: list[Any] = []
    real = sc._intervals

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(sc, "_intervals", counted)
    both = sc.hazard_network(ea, hz)[0].hazards  # every zone cut here
    n_cut = len(calls)
    for i in range(len(hz)):  # each zone alone: found again, not cut
        again, first = sc.hazard_network(ea, hz.iloc[[i]])[0].hazards, fresh[i]
        assert again is not None and first is not None
        assert np.array_equal(again, first)
    assert len(calls) == n_cut and n_cut >= 2
    assert both is not None and both_fresh is not None
    assert np.array_equal(both, both_fresh)
    # what the cache holds is what cutting gives
    assert np.array_equal(np.concatenate([np.asarray(fresh[i]) for i in range(len(hz))]), both)
