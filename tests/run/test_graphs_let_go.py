"""A run lets go of its scenarios' routing graphs once every worker reading them has forked,
and gives the memory back (issue 27: a province's later workers started from a parent 1 GB
larger): the graphs are built again, the same, where asked for."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import numpy as np
import pytest

from emgis._gc import give_back
from emgis.run import jobs
from tests.conftest import open_plan

SITES = (("micro_fire_station", 1, "robust_worst"),)


def test_a_run_lets_go_of_the_scenarios_graphs(demo_copy: Path, tmp_path: Path) -> None:
    plan = open_plan(demo_copy)
    res = jobs.run_all(plan, tmp_path / "o", sites=SITES, time_limit=30)
    assert not res.failures
    assert res.scenarios is not None and len(res.scenarios.results) == 3
    assert (tmp_path / "o" / "siting_micro_fire_station.html").exists()
    for r in res.scenarios.results:
        assert r.engine is not None and not r.engine._graphs
    assert plan.engine._graphs  # the roads before the hazards: kept
    r = res.scenarios.results[-1]
    assert r.engine is not None
    again = r.engine.graph("drive")  # built again on use
    fresh = open_plan(demo_copy).scenario(r.scenario).engine
    assert fresh is not None
    want = fresh.graph("drive")
    for name in ("indptr", "indices", "weights", "loc_node", "loc_access"):
        np.testing.assert_array_equal(getattr(again, name), getattr(want, name))


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="malloc_trim is glibc's")
def test_give_back_returns_freed_heap_pages() -> None:
    # 300 blocks of 100 kB (below the size glibc maps on its own) in the heap, the last kept
    # so that the heap's top is not free: freeing the others leaves them counted
    blocks = [bytearray(b"x" * 100_000) for _ in range(300)]
    keep = blocks[-1]
    before = _rss_mb()
    del blocks
    held = _rss_mb()
    give_back()
    after = _rss_mb()
    assert held > before - 5  # freed, but still resident
    assert after < held - 15  # given back
    assert keep[0] == ord("x")
