"""The maps' road layer is kept beside the network cache (issue 27): the next run on the same
roads reads it instead of making it (no worker, the same maps), a map datum or network of its
own gets a layer of its own, and a kept text changed by hand is made again, never drawn."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from emgis.outputs import mappage
from emgis.roads.cache import beside_path
from emgis.run import jobs
from tests.conftest import kept_beside, open_plan

SITES = (("micro_fire_station", 1, "max_covering"),)


def _pages(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.html"))}


def _kept(plan: Any) -> list[Path]:
    return kept_beside(plan, "roads-*.json")


def _no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    def made(*args: Any, **kw: Any) -> Any:
        raise AssertionError("the road layer was made again")

    monkeypatch.setattr(jobs, "road_layer", made)
    monkeypatch.setattr(mappage, "_make_road_features", made)


def test_the_next_run_reads_the_kept_layer(tiny: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    mappage._ROAD_CACHE._items.clear()
    plan = open_plan(tiny, use_cache=True)
    assert plan.cache is not None and not _kept(plan)
    first = jobs.run_all(plan, tmp_path / "first", sites=SITES, time_limit=30)
    assert not first.failures
    kept = _kept(plan)
    assert len(kept) == 1
    # what is kept is what is made without a cache (the oracle: no file involved)
    mappage._ROAD_CACHE._items.clear()
    made = mappage.road_layer(plan.network, plan.district)
    name = kept[0].name.removeprefix(plan.cache.stem + ".")
    assert kept[0].read_bytes().partition(b"\n")[2].decode() == made
    assert mappage.kept_road_layer(plan.network, plan.district, cache=plan.cache) == made
    assert beside_path(plan.cache, name) == kept[0]

    # a new process's run: nothing held in memory, nothing made, the same maps
    mappage._ROAD_CACHE._items.clear()
    _no_worker(monkeypatch)
    again = jobs.run_all(open_plan(tiny, use_cache=True), tmp_path / "again", sites=SITES,
                         time_limit=30)
    assert not again.failures
    got, want = _pages(tmp_path / "again"), _pages(tmp_path / "first")
    assert set(got) == set(want) and len(want) >= 3
    for page in want:
        assert got[page] == want[page], page
    assert b'"roads"' in want["coverage.html"]


def test_another_map_datum_keeps_a_layer_of_its_own(tiny: Path) -> None:
    mappage._ROAD_CACHE._items.clear()
    plan = open_plan(tiny, use_cache=True)
    wgs = mappage.road_layer(plan.network, plan.district, cache=plan.cache)
    with open(tiny / "district.toml", "a", encoding="utf-8") as f:
        f.write('\n[maps]\nbasemap = "amap"\n')  # GCJ-02 tiles: the roads drawn shifted
    gcj_plan = open_plan(tiny, use_cache=True)
    assert gcj_plan.cache == plan.cache  # the same network cache: the map's datum is not in it
    assert mappage.kept_road_layer(gcj_plan.network, gcj_plan.district,
                                   cache=gcj_plan.cache) is None
    mappage._ROAD_CACHE._items.clear()
    gcj = mappage.road_layer(gcj_plan.network, gcj_plan.district, cache=gcj_plan.cache)
    assert len(_kept(plan)) == 2  # (the tiny district lies outside China: drawn alike)
    assert wgs.startswith("[") and gcj.startswith("[")
    mappage._ROAD_CACHE._items.clear()
    assert gcj == mappage.road_layer(gcj_plan.network, gcj_plan.district)  # as made


def test_a_network_of_its_own_is_not_given_the_kept_layer(tiny: Path) -> None:
    import dataclasses

    mappage._ROAD_CACHE._items.clear()
    plan = open_plan(tiny, use_cache=True)
    mappage.road_layer(plan.network, plan.district, cache=plan.cache)
    vx = plan.network.vx.copy()
    vx[0] += 50.0  # one vertex moved: the roads are not the cached network's
    moved = dataclasses.replace(plan.network, vx=vx)
    assert mappage.kept_road_layer(moved, plan.district, cache=plan.cache) is None


@pytest.mark.parametrize("text", ['[{"c":"#aa0000"}]</script><script>alert(1)//',
                                  "[alert(document.cookie)]", "[1,2]\n[3]",
                                  '["\\u003c"]', "[{'c':1}]"])
def test_a_kept_text_changed_by_hand_is_made_again(tiny: Path, text: str) -> None:
    mappage._ROAD_CACHE._items.clear()
    plan = open_plan(tiny, use_cache=True)
    made = mappage.road_layer(plan.network, plan.district, cache=plan.cache)
    (kept,) = _kept(plan)
    body = text.encode()  # with a checksum that fits: changed on purpose, not damaged
    kept.write_bytes(b"emgis-beside-1 " + hashlib.sha256(body).hexdigest().encode() + b"\n"
                     + body)
    assert mappage.kept_road_layer(plan.network, plan.district, cache=plan.cache) is None
    mappage._ROAD_CACHE._items.clear()
    assert mappage.road_layer(plan.network, plan.district, cache=plan.cache) == made
    assert mappage.kept_road_layer(plan.network, plan.district, cache=plan.cache) == made
