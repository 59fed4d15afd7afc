"""GCJ-02 / BD-09 conversion against published reference pairs, and the metric CRS choice."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emgis.inputs import coords
from emgis.inputs.coords import (
    bd09_to_wgs84,
    choose_metric_crs,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# (wgs lat, wgs lon, gcj lat, gcj lon): the reference pairs published with eviltransform
# (googollee/eviltransform, its test suite), Shanghai, Shenzhen and Beijing.
GCJ_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]
# The reference values of wandergis/coordtransform's test suite (lon, lat in; lon, lat out).
FORMULA_PAIRS = [
    ("bd09_to_gcj02", (116.404, 39.915), (116.39762729119315, 39.90865673957631)),
    ("gcj02_to_bd09", (116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    ("wgs84_to_gcj02", (116.404, 39.915), (116.41024449916938, 39.91640428150164)),
]
# (bd lat, bd lon, wgs lat, wgs lon): eviltransform's BD-09 pairs, read off Baidu's service.
BD_PAIRS = [
    (29.199786, 120.019809, 29.196131605295484, 120.00877901149691),
    (29.210504, 120.036455, 29.206795749156136, 120.0253853970846),
]


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in metres."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), GCJ_PAIRS)
def test_wgs84_to_gcj02_matches_reference(wlat: float, wlon: float, glat: float,
                                          glon: float) -> None:
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert metres(float(lat), float(lon), glat, glon) < 0.05


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), GCJ_PAIRS)
def test_gcj02_to_wgs84_matches_reference(wlat: float, wlon: float, glat: float,
                                          glon: float) -> None:
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert metres(float(lat), float(lon), wlat, wlon) < 0.05


@pytest.mark.parametrize(("name", "given", "expected"), FORMULA_PAIRS)
def test_formula_matches_published_values(
    name: str, given: tuple[float, float], expected: tuple[float, float]
) -> None:
    lon, lat = getattr(coords, name)(*given)
    assert abs(float(lon) - expected[0]) < 1e-9 and abs(float(lat) - expected[1]) < 1e-9


@pytest.mark.parametrize(("blat", "blon", "wlat", "wlon"), BD_PAIRS)
def test_bd09_to_wgs84_within_baidu_reference(blat: float, blon: float, wlat: float,
                                              wlon: float) -> None:
    # The public BD-09 formula agrees with Baidu's own service to tens of metres (Baidu's
    # service is not the formula); 50 m is a tenth of the 400-1,000 m offset it removes.
    lon, lat = bd09_to_wgs84(blon, blat)
    assert metres(float(lat), float(lon), wlat, wlon) < 50
    assert metres(blat, blon, wlat, wlon) > 400


@settings(max_examples=200, deadline=None)
@given(st.floats(74.0, 134.0), st.floats(18.5, 53.0))
def test_offsets_round_trip(lon: float, lat: float) -> None:
    glon, glat = wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert metres(lat, lon, float(back_lat), float(back_lon)) < 1e-3
    # the published BD-09 inverse is itself approximate, to decimetres
    blon, blat = wgs84_to_bd09(lon, lat)
    back_lon, back_lat = bd09_to_wgs84(blon, blat)
    assert metres(lat, lon, float(back_lat), float(back_lon)) < 0.5


def test_gcj02_leaves_points_outside_china_alone() -> None:
    lon, lat = wgs84_to_gcj02(np.array([1.5, -74.0]), np.array([42.5, 40.7]))
    assert np.allclose(lon, [1.5, -74.0]) and np.allclose(lat, [42.5, 40.7])


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (1.55, 42.5, 32631),  # Andorra: UTM 31N
        (116.4, 39.9, 4548),  # Beijing: CGCS2000 3-degree GK CM 117E
        (106.7, 26.6, 4545),  # Guiyang: the nearest central meridian is 108E
        (-70.0, -33.4, 32719),
    ],
)
def test_choose_metric_crs(lon: float, lat: float, epsg: int) -> None:
    crs = choose_metric_crs(lon, lat)
    assert crs.to_epsg() == epsg
    assert crs.axis_info[0].unit_name == "metre"
    if 4534 <= epsg <= 4554:
        op = crs.coordinate_operation
        assert op is not None
        cm = float(next(p.value for p in op.params if p.name == "Longitude of natural origin"))
        assert abs(cm - lon) <= 1.5
