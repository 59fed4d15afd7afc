"""The faster ways of the service areas, zones, summaries and maps give what the plain ways
gave: the disc dilation as scipy's, the counted summaries as the per-group ones, the
polygons' GeoJSON as written and parsed, the overview's roads as one line per class."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import ndimage

from emgis.analysis.coverage import STATUSES, dilate_disc, service_areas, summarize
from emgis.outputs.mappage import _geojson_geom as geojson_written
from emgis.outputs.mappage import script_json
from emgis.outputs.maps import _geojson_geom, _geojson_geoms
from emgis.plan import Plan


@pytest.mark.parametrize("r", [0, 1, 2, 3, 5])
def test_dilate_disc_is_scipys(r: int) -> None:
    rng = np.random.default_rng(r)
    yy, xx = np.ogrid[-r:r + 1, -r:r + 1]
    disc = (xx * xx + yy * yy) <= r * r + r
    for shape in [(1, 1), (1, 9), (9, 1), (4, 4), (40, 57)]:
        for p in (0.0, 0.01, 0.2, 0.8):
            grid = rng.random(shape) < p
            want = ndimage.binary_dilation(grid, structure=disc)
            got = dilate_disc(grid, r)
            assert got.dtype == bool and np.array_equal(got, want), (shape, p)


def _summarize_per_group(table: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """The summary group by group (as it was computed before it was counted at once)."""
    rows = []
    for key, grp in table.groupby(list(by), sort=False):
        key_t = key if isinstance(key, tuple) else (key,)
        row: dict[str, object] = dict(zip(by, key_t, strict=True))
        row["villages"] = len(grp)
        row["population"] = int(grp["population"].sum())
        for st in STATUSES:
            g = grp[grp["status"] == st]
            row[f"villages_{st}"] = len(g)
            row[f"population_{st}"] = int(g["population"].sum())
        pop = row["population"]
        row["share_covered"] = round(row["population_covered"] / pop, 4) if pop else 0.0  # type: ignore[operator]
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n", [0, 1, 40, 2000])
@pytest.mark.parametrize("dtype", [object, "string", pd.StringDtype("python", na_value=np.nan)])
def test_summaries_counted_at_once(n: int, dtype: object) -> None:
    rng = np.random.default_rng(n)
    table = pd.DataFrame({
        "township": rng.choice(np.array(["A", "B", None, "C"], dtype=object), n),
        "kind": rng.choice(["k1", "k2"], n),
        "population": rng.integers(0, 5000, n),
        "status": rng.choice(np.array([*STATUSES, None], dtype=object), n)})
    for c in ("township", "kind", "status"):
        table[c] = table[c].astype(dtype)  # type: ignore[call-overload]
    for by in (("kind",), ("township", "kind")):
        want, got = _summarize_per_group(table, by), summarize(table, by=by)
        assert got.equals(want) and got.to_csv() == want.to_csv()


def test_summaries_of_the_demo(demo_plan: Plan) -> None:
    table = demo_plan.coverage().table
    for by in (("kind",), ("township", "kind")):
        want, got = _summarize_per_group(table, by), summarize(table, by=by)
        assert got.equals(want) and got.to_csv() == want.to_csv()


def test_polygon_geojson_as_written(demo_plan: Plan) -> None:
    areas = service_areas(demo_plan.coverage(), settings=demo_plan.district.settings)
    geoms = [g for g in areas.to_crs(4326).geometry if g is not None]
    geoms += [shapely.Polygon(), shapely.MultiPolygon(), shapely.Point(1.123456789, 2),
              shapely.LineString([(0, 0), (1.000004, 2.000006)]),
              shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)],
                              [[(0.1, 0.1), (0.2, 0.1), (0.2, 0.2), (0.1, 0.1)]]),
              shapely.MultiPolygon([shapely.box(0, 0, 1, 1),
                                    shapely.box(2, 2, 3.0000049, 3.0000051)])]
    assert len(geoms) > 6
    for g in geoms:
        want, got = geojson_written(g), _geojson_geom(g)
        assert script_json(got) == script_json(want)



def test_many_lines_geojson_as_each_alone(demo_plan: Plan) -> None:
    """:func:`_geojson_geoms` (a scenario map's road parts and routes from one pass over
    their coordinates) gives each geometry's :func:`_geojson_geom`, in order, whatever
    the mix."""
    net = demo_plan.network
    lines = list(net.geometry[:300])
    mixed = [shapely.LineString(), shapely.Point(1.123456789, 2),
             shapely.LineString([(0, 0, 1), (1, 1, 2)]), shapely.box(0, 0, 1.0000049, 1),
             shapely.LineString([(0, 0), (1.000004, 2.000006)])]
    for geoms in (lines, mixed + lines + mixed, mixed, [], lines[:1]):
        want = [_geojson_geom(g) for g in geoms]
        assert script_json(_geojson_geoms(geoms)) == script_json(want)
        series = gpd.GeoSeries(geoms, crs=3857)
        assert script_json(_geojson_geoms(series)) == script_json(want)


def test_break_areas_drawn_once_are_the_same(demo_plan: Plan) -> None:
    """Breaks reaching the same points share one polygon, equal to the one drawn alone."""
    from emgis.analysis.coverage import _Grid

    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 5000, 400), rng.uniform(0, 5000, 400)
    t = np.where(rng.random(400) < 0.5, rng.uniform(0, 10, 400), 3.0)
    grid = _Grid(x, y, 100.0)
    from emgis.analysis.coverage import _break_areas

    breaks = [1.0, 2.0, 3.0, 9.0, 10.0, 30.0]
    got = _break_areas(grid, t, breaks)
    for b, g in zip(breaks, got, strict=True):
        assert shapely.to_wkb(g) == shapely.to_wkb(grid.area(t <= b))
    assert got[-1] is got[-2]  # nothing new after 10 min: drawn once
