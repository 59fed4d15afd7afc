"""Datum detection: points copied from AMap/Baidu but declared WGS-84, and the reverse, found by
how well they fit a road grid."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from emgis.inputs.coords import choose_metric_crs, wgs84_to_bd09, wgs84_to_gcj02
from emgis.inputs.datum import DatumError, DatumFit, datum_fit
from emgis.texts import Msg, texts
from tests.conftest import catalogue_fields, english_words

ZH = texts("zh")

CENTRE = (116.8, 33.9)  # Bozhou, Anhui
BLOCK_M = 1_000.0  # road spacing
BLOCKS = 10  # a 10 km x 10 km grid
# The shift found must equal the shift applied (the ellipsoidal distance moved, WGS-84 to
# GCJ-02 or BD-09) within 1 m: both are exact transforms of the same points, and the metric
# CRS's scale error 0.2° from its central meridian is a few parts per million.
SHIFT_TOLERANCE_M = 1.0

FloatArray = Any


@pytest.fixture(scope="module")
def grid() -> dict[str, Any]:
    """A road grid in WGS-84 near CENTRE (lines every 1 km and five diagonals) and 200 points
    placed 0-30 m from its roads (seeded)."""
    metric = choose_metric_crs(*CENTRE)
    fwd = Transformer.from_crs(4326, metric, always_xy=True)
    inv = Transformer.from_crs(metric, 4326, always_xy=True)
    cx, cy = fwd.transform(*CENTRE)
    half = BLOCKS * BLOCK_M / 2
    lines = []
    for i in range(BLOCKS + 1):
        d = i * BLOCK_M - half
        lines.append(shapely.LineString([(cx + d, cy - half), (cx + d, cy + half)]))
        lines.append(shapely.LineString([(cx - half, cy + d), (cx + half, cy + d)]))
    for k in range(0, BLOCKS, 2):
        x0 = cx - half + k * BLOCK_M
        lines.append(shapely.LineString([(x0, cy - half), (x0 + 3 * BLOCK_M,
                                                           cy - half + 3 * BLOCK_M)]))
    rng = np.random.default_rng(20240611)
    pts = []
    for i in rng.integers(len(lines), size=200):
        p = lines[i].interpolate(rng.uniform(0.05, 0.95) * lines[i].length)
        angle, r = rng.uniform(0, 2 * np.pi), rng.uniform(0, 30)
        pts.append((p.x + r * np.cos(angle), p.y + r * np.sin(angle)))
    xy = np.array(pts)
    lon, lat = inv.transform(xy[:, 0], xy[:, 1])

    def to_wgs(g: Any) -> Any:
        return shapely.transform(g, lambda a: np.column_stack(inv.transform(a[:, 0], a[:, 1])))

    return {"roads": [to_wgs(g) for g in lines], "lon": np.asarray(lon),
            "lat": np.asarray(lat), "metric": metric}


def applied_shift(lon: FloatArray, lat: FloatArray, lon2: FloatArray, lat2: FloatArray) -> float:
    """Mean ellipsoidal distance (m) the points were moved."""
    _, _, dist = Geod(ellps="WGS84").inv(lon, lat, lon2, lat2)
    return float(np.mean(dist))


def test_gcj02_declared_wgs84(grid: dict[str, Any]) -> None:
    # (a) copied from AMap (GCJ-02), declared WGS-84
    glon, glat = wgs84_to_gcj02(grid["lon"], grid["lat"])
    fit = datum_fit(glon, glat, grid["roads"], declared="WGS-84")
    assert fit.better == 'crs = "GCJ-02"'
    assert fit.best == "GCJ-02" and fit.declared == "WGS-84" and fit.n_points == 200
    assert list(fit.readings) == ["WGS-84", "GCJ-02", "BD-09"]
    assert fit.readings["GCJ-02"].median_m < 30 and fit.readings["GCJ-02"].within_50m == 1.0
    assert fit.readings["WGS-84"].median_m > 100 and fit.readings["WGS-84"].within_50m < 0.5
    applied = applied_shift(grid["lon"], grid["lat"], glon, glat)
    assert 300 < applied < 700  # the GCJ-02 offset here: some hundreds of metres
    assert abs(fit.shift_m - applied) < SHIFT_TOLERANCE_M
    assert fit.reason.key == "datum_better"
    assert fit.reason == Msg("datum_better", **fit.reason.values)
    assert fit.reason.values["better"] == 'crs = "GCJ-02"'
    assert fit.reason.values["best"] == "GCJ-02" and fit.reason.values["declared"] == "WGS-84"
    assert 'expected crs = "GCJ-02"' in fit.reason and 'crs = "GCJ-02"' in fit.reason.say(ZH)
    assert f"{applied:,.0f} m" in fit.reason or f"{fit.shift_m:,.0f} m" in fit.reason


def test_wgs84_declared_wgs84(grid: dict[str, Any]) -> None:
    # (b) correctly declared: no verdict
    fit = datum_fit(grid["lon"], grid["lat"], grid["roads"])
    assert fit.better is None and fit.best == "WGS-84"
    assert fit.shift_m == 0.0 and fit.reason.key == "datum_as_declared"
    assert fit.readings["WGS-84"].median_m < 30


def test_wgs84_declared_gcj02(grid: dict[str, Any]) -> None:
    # (c) declared GCJ-02, really WGS-84 (e.g. from a GPS): the reverse mistake
    fit = datum_fit(grid["lon"], grid["lat"], grid["roads"], declared="GCJ-02")
    assert fit.better == 'crs = "EPSG:4326"' and fit.best == "WGS-84"
    assert list(fit.readings) == ["GCJ-02", "WGS-84", "BD-09"]
    # the declared reading moved the points by the GCJ-02 offset; so does the correction
    glon, glat = wgs84_to_gcj02(grid["lon"], grid["lat"])
    applied = applied_shift(grid["lon"], grid["lat"], glon, glat)
    # within the same 1 m: GCJ-02's offset at the points' images differs by centimetres
    assert abs(fit.shift_m - applied) < SHIFT_TOLERANCE_M


@pytest.mark.parametrize("declared", ["WGS-84", "GCJ-02"])
def test_bd09_declared_otherwise(grid: dict[str, Any], declared: str) -> None:
    # (d) copied from Baidu (BD-09), declared WGS-84 or GCJ-02
    blon, blat = wgs84_to_bd09(grid["lon"], grid["lat"])
    fit = datum_fit(blon, blat, grid["roads"], declared=declared)
    assert fit.better == 'crs = "BD-09"' and fit.best == "BD-09"
    assert fit.readings["BD-09"].median_m < 30
    if declared == "WGS-84":
        applied = applied_shift(grid["lon"], grid["lat"], blon, blat)
        assert 600 < applied < 1_500
        assert abs(fit.shift_m - applied) < SHIFT_TOLERANCE_M


def test_gcj02_declared_gcj02(grid: dict[str, Any]) -> None:
    glon, glat = wgs84_to_gcj02(grid["lon"], grid["lat"])
    fit = datum_fit(glon, glat, grid["roads"], declared="GCJ02")
    assert fit.better is None and fit.best == "GCJ-02" and fit.declared == "GCJ-02"


def test_points_outside_china(grid: dict[str, Any]) -> None:
    # (e) the same layout moved to 16.8E (the Mediterranean): no web offset applies there
    fit = datum_fit(grid["lon"] - 100.0, grid["lat"], grid["roads"])
    assert fit.better is None and fit.best is None and not fit.readings
    assert fit.reason == Msg("datum_outside_china", outside=200, total=200, min=5)
    assert fit.n_points == 0
    assert fit.reason == ("200 of 200 points lie outside China, where maps use no web offset "
                          "(GCJ-02, BD-09): expected at least 5 points inside China, so the "
                          "datum is not checked")
    assert fit.reason.say(ZH) == ("200 个点中有 200 个在中国境外，那里的地图不加偏移（GCJ-02、"
                                  "BD-09）：中国境内至少需要 5 个点，因此不检查坐标系")


def test_too_few_points(grid: dict[str, Any]) -> None:
    # (f) four points (and NaN rows) are too few for the default of five
    glon, glat = wgs84_to_gcj02(grid["lon"][:4], grid["lat"][:4])
    lon = np.append(glon, [np.nan, np.nan])
    lat = np.append(glat, [np.nan, 33.9])
    fit = datum_fit(lon, lat, grid["roads"])
    assert fit.better is None and fit.best is None and np.isnan(fit.shift_m)
    assert fit.reason == Msg("datum_too_few", n=4, min=5) and fit.n_points == 4
    assert fit.reason.startswith("only 4 point(s) with coordinates inside China: expected at "
                                 "least 5")
    # with a lower minimum the same four points are judged
    fit = datum_fit(lon, lat, grid["roads"], min_points=3)
    assert fit.better == 'crs = "GCJ-02"' and fit.n_points == 4


def test_points_away_from_roads_give_no_verdict(grid: dict[str, Any]) -> None:
    # points anywhere in the blocks (village centres, not on roads): no reading is clearly
    # better, so a correct declaration is kept
    rng = np.random.default_rng(7)
    lon = CENTRE[0] + rng.uniform(-0.045, 0.045, 200)
    lat = CENTRE[1] + rng.uniform(-0.04, 0.04, 200)
    for declared in ("WGS-84", "GCJ-02", "BD-09"):
        fit = datum_fit(lon, lat, grid["roads"], declared=declared)
        assert fit.better is None, (declared, fit.reason)
        assert fit.reason.key in ("datum_as_declared", "datum_undecided")


def test_roads_as_a_geoseries_in_another_crs(grid: dict[str, Any]) -> None:
    glon, glat = wgs84_to_gcj02(grid["lon"], grid["lat"])
    roads = gpd.GeoSeries(grid["roads"], crs=4326).to_crs(grid["metric"])
    fit = datum_fit(glon, glat, roads)
    ref = datum_fit(glon, glat, grid["roads"])
    assert fit.better == ref.better == 'crs = "GCJ-02"'
    assert fit.readings["GCJ-02"].median_m == pytest.approx(ref.readings["GCJ-02"].median_m,
                                                            abs=0.01)


def test_no_roads(grid: dict[str, Any]) -> None:
    fit = datum_fit(grid["lon"], grid["lat"], [])
    assert fit.better is None and fit.reason == Msg("datum_no_roads")


def test_unknown_declared_system(grid: dict[str, Any]) -> None:
    with pytest.raises(DatumError) as info:
        datum_fit(grid["lon"], grid["lat"], grid["roads"], declared="EPSG:3857")
    assert isinstance(info.value, ValueError)
    assert info.value.msg == Msg("datum_unknown", declared="EPSG:3857") == str(info.value)
    assert str(info.value).startswith('declared system "EPSG:3857" is not one datum_fit can '
                                      "check: expected WGS-84")


# --- the messages in the catalogues -----------------------------------------------------------

#: ASCII words a Chinese datum message may hold: the systems' names and codes as written
#: (WGS-84, GCJ-02, BD-09, EPSG, CGCS2000) and the crs key of district.toml.
ALLOWED = {"WGS", "GCJ", "BD", "EPSG", "CGCS", "crs"}






def test_messages_have_the_same_fields_in_both_languages() -> None:
    en, zh = texts("en").section("msg"), ZH.section("msg")
    keys = [k for k in en if k.startswith("datum_")]
    assert len(keys) >= 7
    for key in keys:
        assert catalogue_fields(en[key]) == catalogue_fields(zh[key]), key
        said = ZH.fmt(f"msg.{key}", **{f: 7 for f in catalogue_fields(zh[key])})
        assert english_words(said, ALLOWED) == set(), (key, said)


def test_reasons_in_chinese(grid: dict[str, Any]) -> None:
    """Every verdict and every reason for none, said in Chinese: no English word but the
    systems' names and the crs line to write."""
    glon, glat = wgs84_to_gcj02(grid["lon"], grid["lat"])
    rng = np.random.default_rng(7)
    lon = CENTRE[0] + rng.uniform(-0.045, 0.045, 200)
    lat = CENTRE[1] + rng.uniform(-0.04, 0.04, 200)
    fits: list[DatumFit] = [
        datum_fit(glon, glat, grid["roads"]),  # better
        datum_fit(grid["lon"], grid["lat"], grid["roads"]),  # as declared
        datum_fit(grid["lon"] - 100.0, grid["lat"], grid["roads"]),  # outside China
        datum_fit(glon[:4], glat[:4], grid["roads"]),  # too few
        datum_fit(grid["lon"], grid["lat"], []),  # no roads
        *(datum_fit(lon, lat, grid["roads"], declared=d) for d in ("WGS-84", "GCJ-02", "BD-09")),
    ]
    keys = {f.reason.key for f in fits}
    assert keys >= {"datum_better", "datum_as_declared", "datum_outside_china",
                    "datum_too_few", "datum_no_roads"}
    said = [f.reason.say(ZH) for f in fits]
    with pytest.raises(DatumError) as info:
        datum_fit(grid["lon"], grid["lat"], grid["roads"], declared="EPSG:3857")
    said.append(info.value.msg.say(ZH))
    for text in said:
        assert english_words(text, ALLOWED) == set(), text
    assert 'crs = "GCJ-02"' in said[0]
