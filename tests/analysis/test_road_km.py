"""Kilometres of road within an area (the data quality's density, issue 27): the edges whose
boxes meet the area, then the area prepared once for both tests, instead of the tree testing
each edge itself and the area testing the hits again. The old way is the oracle: the same
sums, bit for bit, on the demo's townships, the district and areas cut across its roads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
import shapely.affinity

from emgis.analysis.quality import _boundaries, road_km_within
from emgis.plan import Plan
from emgis.roads.edges import EdgeArrays


def _old(network: EdgeArrays, area: shapely.Geometry) -> float:
    if network.n_edges == 0 or area is None or area.is_empty:
        return 0.0
    hit = network.tree.query(area, predicate="intersects")
    hit = hit[(network.twin[hit] < 0) | (hit < network.twin[hit])]
    if not len(hit):
        return 0.0
    lines = network.geometry[hit]
    shapely.prepare(area)
    inside = shapely.covers(area, lines)
    metres = float(network.length[hit[inside]].sum())
    if (~inside).any():
        metres += float(shapely.length(shapely.intersection(lines[~inside], area)).sum())
    return metres / 1000.0


def test_the_old_sums(demo_plan: Plan) -> None:
    ea = demo_plan.network
    district = demo_plan.district
    areas = [*_boundaries(district).values(), district.area]
    x0, y0, x1, y1 = shapely.total_bounds(ea.geometry)
    rng = np.random.default_rng(0)
    for _ in range(20):  # boxes and discs across the roads, some beyond them
        cx, cy = rng.uniform(x0 - 2000, x1 + 2000), rng.uniform(y0 - 2000, y1 + 2000)
        r = rng.uniform(50, 4000)
        areas.append(shapely.Point(cx, cy).buffer(r) if rng.random() < 0.5
                     else shapely.box(cx - r, cy - r / 2, cx + r, cy + r / 2))
    areas.append(shapely.box(x1 + 10, y1 + 10, x1 + 20, y1 + 20))  # no road
    got = [road_km_within(ea, a) for a in areas]
    want = [_old(ea, a) for a in areas]
    assert got == want
    assert sum(g > 0 for g in got) > 10 and got[-1] == 0.0


@pytest.mark.parametrize("area", [None, shapely.Polygon()])
def test_no_area_no_road(demo_plan: Plan, area: shapely.Geometry | None) -> None:
    assert road_km_within(demo_plan.network, area) == 0.0


def _kept_cache(tmp_path: Any) -> Any:
    cache = tmp_path / ".emgis-cache" / "roads.osm.pbf-x-y-32631-all-v6.npz"
    cache.parent.mkdir()
    cache.write_bytes(b"")
    return cache


def test_kept_figures_are_the_measured_ones(demo_plan: Plan, tmp_path: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept beside the network cache, each area's kilometres are read back as measured (the
    oracle: :func:`road_km_within` itself), and measured again for other areas."""
    from emgis.analysis import quality

    ea = demo_plan.network
    areas = [*_boundaries(demo_plan.district).values(), None, demo_plan.district.area]
    cache = _kept_cache(tmp_path)
    first = quality.road_kms(ea, areas, cache=cache)
    want = [road_km_within(ea, a) if a is not None else np.nan for a in areas]
    np.testing.assert_array_equal(first, want)  # to the last bit, NaN for no area
    measured: list[object] = []
    real = quality.road_km_within

    def counting(network: EdgeArrays, area: shapely.Geometry) -> float:
        measured.append(area)
        return real(network, area)

    monkeypatch.setattr(quality, "road_km_within", counting)
    np.testing.assert_array_equal(quality.road_kms(ea, areas, cache=cache), want)
    assert measured == []  # read back: nothing measured
    moved = [shapely.affinity.translate(areas[0], 300.0, 0.0), *areas[1:]]
    got = quality.road_kms(ea, moved, cache=cache)
    assert len(measured) == len(areas) - 1  # one area moved: every area measured again
    np.testing.assert_array_equal(got, [real(ea, a) if a is not None else np.nan
                                        for a in moved])
    assert got[0] != first[0]


@pytest.mark.parametrize("text", ["[1.0]", "{}", "[-1.0, 2.0]", "not json", "[1, 2]"])
def test_kept_figures_that_do_not_fit_are_measured_again(demo_plan: Plan, tmp_path: Any,
                                                         text: str) -> None:
    import hashlib

    from emgis.analysis import quality
    from emgis.roads.cache import beside_path

    ea = demo_plan.network
    areas = [*_boundaries(demo_plan.district).values()][:2]
    cache = _kept_cache(tmp_path)
    want = quality.road_kms(ea, areas, cache=cache)
    (kept,) = cache.parent.glob("*.roadkm-*.json")
    body = text.encode()  # changed on purpose, with a checksum that fits
    kept.write_bytes(b"emgis-beside-1 " + hashlib.sha256(body).hexdigest().encode() + b"\n"
                     + body)
    assert quality.road_kms(ea, areas, cache=cache) == want
    name = kept.name.removeprefix(cache.stem + ".")
    assert beside_path(cache, name).read_bytes().endswith(
        ("[" + ", ".join(repr(v) for v in want) + "]").encode())  # kept anew


def test_quality_with_its_kilometres_kept(demo_plan: Plan, tmp_path: Any) -> None:
    from emgis.analysis.quality import data_quality

    cache = _kept_cache(tmp_path)
    plain = data_quality(demo_plan.district, demo_plan.network, engine=demo_plan.engine)
    for _ in range(2):  # measured and kept, then read back
        kept = data_quality(demo_plan.district, demo_plan.network, engine=demo_plan.engine,
                            cache=cache)
        assert kept.table("en").equals(plain.table("en"))
