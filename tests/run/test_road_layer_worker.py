"""The maps' road layer is made in a worker while the run attaches its locations and finds
its times (issue 27): the maps are the same as when the parent makes it, and a worker that
fails (or is lost) costs only the time, not the maps."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from emgis.outputs import mappage
from emgis.run import jobs
from tests.conftest import open_plan

SITES = (("micro_fire_station", 1, "max_covering"),)


def _pages(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.html"))}


@pytest.mark.parametrize("how", ["fails", "lost"])
def test_maps_whether_the_road_layer_worker_works_or_not(
        tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if sys.platform == "win32":
        pytest.skip("fork is POSIX only")
    monkeypatch.setenv("EMGIS_WORKERS", "2")
    mappage._ROAD_CACHE._items.clear()
    good = jobs.run_all(open_plan(tiny), tmp_path / "good", sites=SITES, time_limit=30)
    assert not good.failures
    parent = os.getpid()
    real = mappage.road_layer

    def broken(*args: Any, **kw: Any) -> Any:
        if os.getpid() != parent:  # in the worker only
            if how == "lost":
                os._exit(9)
            raise ValueError("no roads (test)")
        return real(*args, **kw)

    monkeypatch.setattr(jobs, "road_layer", broken)
    mappage._ROAD_CACHE._items.clear()
    res = jobs.run_all(open_plan(tiny), tmp_path / "bad", sites=SITES, time_limit=30)
    assert not res.failures
    got, want = _pages(tmp_path / "bad"), _pages(tmp_path / "good")
    assert set(got) == set(want) and len(want) >= 3
    for name in want:  # the same maps (the run's clock is not in them)
        assert got[name] == want[name], name
    assert b'"roads"' in want["coverage.html"]
