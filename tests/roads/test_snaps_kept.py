"""The snaps of a cached network are kept beside its cache (issue 27), and a scenario finds the
roads its zones and moved locations meet without a line and a tree of every road.

The next opening on the same roads and points reads the snaps instead of snapping (the same
table to the last bit, on the roads and on the walking network); a moved point, another
access limit or a kept text that does not fit is snapped again. ``EdgeArrays.near`` and
``lines`` give what the STR-tree of every line and the lines give."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from emgis.roads import snapping
from emgis.roads.cache import beside_path
from tests.conftest import kept_beside, open_plan


def _kept(plan: Any) -> list[Path]:
    return kept_beside(plan, "snaps-*")


def _no_snapping(monkeypatch: pytest.MonkeyPatch) -> None:
    def made(*args: Any, **kw: Any) -> Any:
        raise AssertionError("snapped again")

    monkeypatch.setattr(snapping, "snap_points", made)


def test_the_next_opening_reads_the_kept_snaps(demo_copy: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    plan = open_plan(demo_copy, use_cache=True)
    first = plan.engine
    kept = _kept(plan)
    labels = {p.name.split(".snaps-")[1].split("-")[0] for p in kept}
    assert labels == ({"drive", "walk"} if first.walk_snaps is not None else {"drive"})
    # the oracle: snapping with no file involved
    points = pd.concat([plan.district.villages.geometry, plan.units.geometry,
                        plan.district.candidates.geometry], ignore_index=True)
    want = snapping.snap_points(plan.network, points, settings=plan.district.settings)
    pd.testing.assert_frame_equal(first.snaps, want.reset_index(drop=True))
    with monkeypatch.context() as m:
        _no_snapping(m)
        again = open_plan(demo_copy, use_cache=True).engine
    pd.testing.assert_frame_equal(again.snaps, first.snaps, check_exact=True)
    assert (again.snaps.dtypes == first.snaps.dtypes).all()
    if first.walk_snaps is not None:
        assert again.walk_snaps is not None
        pd.testing.assert_frame_equal(again.walk_snaps, first.walk_snaps, check_exact=True)
    assert _kept(plan) == kept


def test_a_moved_point_or_another_limit_snaps_again(demo_copy: Path) -> None:
    plan = open_plan(demo_copy, use_cache=True)
    walk = plan.engine.walk_snaps is not None
    n = len(_kept(plan))
    table = pd.read_csv(demo_copy / "villages.csv", dtype=str, keep_default_na=False)
    lon = table["lon"].to_numpy(dtype=object)
    lon[0] = repr(float(str(lon[0])) + 0.001)
    table["lon"] = lon
    table.to_csv(demo_copy / "villages.csv", index=False, encoding="utf-8")
    moved = open_plan(demo_copy, use_cache=True)
    assert moved.cache == plan.cache  # the same roads: the points are not in its name
    assert len(moved.engine.snaps) == len(plan.engine.snaps)
    assert len(_kept(plan)) == n + (2 if walk else 1)
    with (demo_copy / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[network]\nmax_access_m = 777.0\n")
    other = open_plan(demo_copy, use_cache=True)
    assert other.district.settings.network.max_access_m == 777.0
    points = pd.concat([other.district.villages.geometry, other.units.geometry,
                        other.district.candidates.geometry], ignore_index=True)
    want = snapping.snap_points(other.network, points, settings=other.district.settings)
    pd.testing.assert_frame_equal(other.engine.snaps, want.reset_index(drop=True))
    assert not want.reset_index(drop=True).equals(moved.engine.snaps)  # the limit matters


@pytest.mark.parametrize("change", ["count", "edge", "status", "json", "base64"])
def test_a_kept_text_that_does_not_fit_is_snapped_again(demo_copy: Path, change: str,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """Texts changed by hand, their checksums made to match: each is snapped again (and the
    right snaps kept anew), never read."""
    import base64
    import json

    plan = open_plan(demo_copy, use_cache=True)
    want = plan.engine.snaps
    path = next(p for p in _kept(plan) if ".snaps-drive-" in p.name)
    d = json.loads(path.read_bytes().partition(b"\n")[2])
    if change == "count":
        d["n"] += 1
    elif change == "edge":
        e = np.frombuffer(base64.b64decode(d["edge"]), dtype="<i8").copy()
        e[0] = 10**9
        d["edge"] = base64.b64encode(e.tobytes()).decode()
    elif change == "status":
        c = np.frombuffer(base64.b64decode(d["status"]), dtype="<i1").copy()
        c[0] = 7
        d["status"] = base64.b64encode(c.tobytes()).decode()
    elif change == "base64":
        d["numbers"] = "not base64!"
    body = ("{not json" if change == "json" else json.dumps(d)).encode()
    path.write_bytes(f"emgis-beside-1 {hashlib.sha256(body).hexdigest()}\n".encode() + body)
    calls: list[int] = []
    real = snapping.snap_points

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(snapping, "snap_points", counted)
    got = open_plan(demo_copy, use_cache=True).engine.snaps
    assert calls  # snapped again
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    name = path.name.removeprefix(plan.cache.stem + ".")
    assert beside_path(plan.cache, name).read_bytes() != \
        f"emgis-beside-1 {hashlib.sha256(body).hexdigest()}\n".encode() + body


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_near_and_lines_are_the_trees_and_the_lines(demo_plan: Any, data: st.DataObject
                                                    ) -> None:
    """Zones (polygons) and points within a distance meet the edges the STR-tree of every
    line finds, and the lines of some edges are every line's, coordinate for coordinate;
    with the tree made, ``near`` asks it and gives the same."""
    from emgis.roads.edges import EdgeArrays

    full = demo_plan.network
    fresh = EdgeArrays(**{f: getattr(full, f) for f in full.__dataclass_fields__})
    x0, y0, x1, y1 = full.bounds[:, 0].min(), full.bounds[:, 1].min(), \
        full.bounds[:, 2].max(), full.bounds[:, 3].max()
    share = st.floats(0.0, 1.0)
    pts = [shapely.Point(x0 + data.draw(share) * (x1 - x0), y0 + data.draw(share) * (y1 - y0))
           for _ in range(data.draw(st.integers(1, 4)))]
    radius = data.draw(st.sampled_from([0.0, 50.0, 400.0, 1500.0]))
    geoms = [p.buffer(radius + 100.0) for p in pts] if data.draw(st.booleans()) else pts
    tree = shapely.STRtree(full.geometry)
    pred: dict[str, Any] = {"predicate": "intersects"} if radius == 0 else \
        {"predicate": "dwithin", "distance": radius}
    src, hit = tree.query(np.asarray(geoms, dtype=object), **pred)
    want = sorted(zip(src.tolist(), hit.tolist(), strict=True))
    got = fresh.near(geoms, distance=radius)
    assert "tree" not in fresh.__dict__ and "geometry" not in fresh.__dict__
    assert list(zip(got[0].tolist(), got[1].tolist(), strict=True)) == want
    with_tree = EdgeArrays(**{f: getattr(full, f) for f in full.__dataclass_fields__})
    with_tree.__dict__["tree"] = tree
    both = with_tree.near(geoms, distance=radius)
    assert np.array_equal(both[0], got[0]) and np.array_equal(both[1], got[1])
    some = np.unique(np.asarray(hit, dtype=np.int64))[:50]
    lines = fresh.lines(some)
    assert len(lines) == len(some)
    for a, b in zip(lines, full.geometry[some], strict=True):
        assert np.array_equal(shapely.get_coordinates(a), shapely.get_coordinates(b))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_few_points_snap_alike_without_every_roads_tree(demo_plan: Any,
                                                          data: st.DataObject) -> None:
    """A few points snapped without the tree of every road (the roads within reach get one
    of their own) attach as with it: the same table, points far from any road and near
    pieces cut off from the main network among them."""
    from emgis.roads.edges import EdgeArrays

    full = demo_plan.network
    s = demo_plan.district.settings
    b = full.bounds
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    share = st.floats(-0.1, 1.1)
    n = data.draw(st.integers(1, 12))
    pts = [shapely.Point(x0 + data.draw(share) * (x1 - x0), y0 + data.draw(share) * (y1 - y0))
           for _ in range(n)]
    off = np.flatnonzero(full.component[full.u] != full.main)
    if len(off) and data.draw(st.booleans()):  # beside a road off the main network
        e = int(off[data.draw(st.integers(0, len(off) - 1))])
        c = shapely.get_coordinates(full.lines([e])[0])[0]
        pts.append(shapely.Point(c[0] + 3.0, c[1] + 3.0))
    points = gpd.GeoSeries(pts, crs=demo_plan.district.crs)
    want = snapping.snap_points(full, points, settings=s)  # the tree of every road
    fresh = EdgeArrays(**{f: getattr(full, f) for f in full.__dataclass_fields__})
    fresh.__dict__["key_rank"] = full.key_rank
    got = snapping.snap_points(fresh, points, settings=s)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    if (want["access_m"] <= s.network.max_access_m).all():
        assert "tree" not in fresh.__dict__  # none was needed


def test_a_unit_added_or_removed_keeps_the_other_points_snaps(demo_copy: Path) -> None:
    """``Plan.add_unit``/``remove_unit`` build their engine from the plan's: the points not
    moved keep their snaps and the new one is attached with the roads within reach only,
    the same table as snapping every point; opened from kept snaps, no tree of every road
    is made."""
    from emgis.roads.engine import Engine

    assert len(open_plan(demo_copy, use_cache=True).engine.snaps)  # snaps kept
    plan = open_plan(demo_copy, use_cache=True)
    plan.coverage()
    v = plan.district.villages.geometry.iloc[3]
    plan.add_unit("micro_fire_station", shapely.Point(v.x + 120.0, v.y + 80.0), unit_id="N1")
    assert "tree" not in plan.network.__dict__
    scratch = Engine.for_district(plan.district, plan.network)  # every point snapped
    pd.testing.assert_frame_equal(plan.engine.snaps, scratch.snaps, check_exact=True)
    if scratch.walk_snaps is not None:
        assert plan.engine.walk_snaps is not None
        pd.testing.assert_frame_equal(plan.engine.walk_snaps, scratch.walk_snaps,
                                      check_exact=True)
    first = str(plan.units["id"].iloc[0])
    plan.remove_unit(first)
    scratch = Engine.for_district(plan.district, plan.network)
    pd.testing.assert_frame_equal(plan.engine.snaps, scratch.snaps, check_exact=True)


def test_edge_boxes_are_the_lines_bounds(demo_plan: Any) -> None:
    """Each edge's box from its vertices is shapely's box of its line."""
    net = demo_plan.network
    from emgis.roads.edges import EdgeArrays

    fresh = EdgeArrays(**{f.name: getattr(net, f.name) for f in dataclasses.fields(net)})
    np.testing.assert_array_equal(fresh.bounds, shapely.bounds(net.geometry))
