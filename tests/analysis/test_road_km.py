"""Kilometres of road within an area (the data quality's density, issue 27): the edges whose
boxes meet the area, then the area prepared once for both tests, instead of the tree testing
each edge itself and the area testing the hits again. The old way is the oracle: the same
sums, bit for bit, on the demo's townships, the district and areas cut across its roads."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

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
