"""Coordinates as registers write them: degrees in text, pairs, swapped columns, Gauss-Krüger."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer

from emgis.inputs.coordtext import (
    Axis,
    CoordinateTextError,
    gauss_kruger_crs,
    gauss_kruger_to_lonlat,
    parse_degrees,
    parse_pair,
    swapped_columns,
)
from emgis.texts import Msg, texts
from tests.conftest import catalogue_fields, english_words

ZH = texts("zh")

# 116°48′30.5″ = 116 + 48/60 + 30.5/3600 = 116 + 0.8 + 0.00847222... degrees
DMS_116 = 116.80847222222222
# 116°48.5′ = 116 + 48.5/60 = 116.808333... degrees
DM_116 = 116.80833333333334

DEGREES = [
    # decimal degrees
    ("116.80", None, 116.8),
    ("116.80°", "lon", 116.8),
    ("116.80度", "lon", 116.8),
    ("E116.80", "lon", 116.8),
    ("116.80E", "lon", 116.8),
    ("e116.80", None, 116.8),
    ("E 116.80", "lon", 116.8),
    ("116.80 E", "lon", 116.8),
    ("116.80°E", "lon", 116.8),
    ("东经116.80", "lon", 116.8),
    ("东经：116.80", "lon", 116.8),
    ("北纬33.9", "lat", 33.9),
    ("33.9北纬", "lat", 33.9),
    ("北纬33.9", None, 33.9),
    ("南纬33.9", None, -33.9),
    ("西经77.5", "lon", -77.5),
    ("-33.9", "lat", -33.9),
    ("+116.8", "lon", 116.8),
    ("W77.5", None, -77.5),
    ("33.9S", "lat", -33.9),
    # degrees, minutes, seconds: Chinese and ASCII forms
    ("116°48′30.5″", "lon", DMS_116),
    ("116°48'30.5\"", "lon", DMS_116),
    ("116°48'30.5''", "lon", DMS_116),  # two apostrophes are the seconds sign
    ("116度48分30.5秒", "lon", DMS_116),
    ("116 48 30.5", "lon", DMS_116),
    ("116°48.5′", "lon", DM_116),
    ("116°48.5'", "lon", DM_116),
    ("116 48.5", "lon", DM_116),
    ("116°48′30.5″E", "lon", DMS_116),
    ("E116°48′30.5″", "lon", DMS_116),
    ("东经116度48分30.5秒", "lon", DMS_116),
    ("116度48分30.5秒东经", "lon", DMS_116),
    ("N33°54′", "lat", 33.9),
    ("33°54′N", "lat", 33.9),
    ("S33°54′", "lat", -33.9),
    ("33°54′S", None, -33.9),
    ("W77°30′", "lon", -77.5),
    ("-77°30′", "lon", -77.5),
    ("33º54′", "lat", 33.9),  # masculine ordinal for the degree sign
    ("33˚54′", "lat", 33.9),  # ring above for the degree sign
    ("116°48’30.5”", "lon", DMS_116),  # curly quotes
    ("116°48′30.5", "lon", DMS_116),  # last sign left out
    ("116° 48 30.5", "lon", DMS_116),
    # full width and stray spaces
    ("１１６．８０", "lon", 116.8),
    ("Ｅ１１６．８０", "lon", 116.8),
    ("１１６°４８＇３０．５＂", "lon", DMS_116),
    ("１１６度４８分３０．５秒", "lon", DMS_116),
    ("  116 ° 48 ′ 30.5 ″  ", "lon", DMS_116),
    ("\t116.80\u3000", "lon", 116.8),  # tab and ideographic space
    ("−33.9", "lat", -33.9),  # U+2212 minus sign
    ("－33.9", "lat", -33.9),  # full-width hyphen-minus
]


@pytest.mark.parametrize(("text", "axis", "expected"), DEGREES)
def test_parse_degrees(text: str, axis: Axis | None, expected: float) -> None:
    assert parse_degrees(text, axis=axis) == pytest.approx(expected, abs=1e-12)


DEGREE_ERRORS = [
    ("116°60′", "lon", "coord_minutes", {"value": "60"}),
    ("116°48′60″", "lon", "coord_seconds", {"value": "60"}),
    ("116°48′75.5″", "lon", "coord_seconds", {"value": "75.5"}),
    ("116 60", "lon", "coord_minutes", {"value": "60"}),
    ("abc", None, "coord_unreadable", {}),
    ("", None, "coord_empty", {}),
    ("   ", "lat", "coord_empty", {}),
    ("N116.8", "lon", "coord_lat_mark_on_lon", {"mark": "N"}),
    ("北纬116.8", "lon", "coord_lat_mark_on_lon", {"mark": "北纬"}),
    ("33.9E", "lat", "coord_lon_mark_on_lat", {"mark": "E"}),
    ("95", "lat", "coord_lat_range", {"value": "95"}),
    ("N95", None, "coord_lat_range", {"value": "95"}),
    ("181", "lon", "coord_lon_range", {"value": "181"}),
    ("200", None, "coord_lon_range", {"value": "200"}),
    ("116.5°30′", "lon", "coord_fraction", {"number": "116.5"}),
    ("116°30.5′20″", "lon", "coord_fraction", {"number": "30.5"}),
    ("116°30″", "lon", "coord_unit_order", {}),
    ("48′116°", "lon", "coord_unit_order", {}),
    ("116°48′30″15", "lon", "coord_unit_order", {}),
    ("E116.8N", None, "coord_two_marks", {"first": "E", "second": "N"}),
    ("S-33.9", None, "coord_mark_and_sign", {}),
    ("116.8.5", None, "coord_unreadable", {}),
    ("116,8", None, "coord_unreadable", {}),
    ("1.168e2", None, "coord_unreadable", {}),
    ("E", "lon", "coord_unreadable", {}),
]


@pytest.mark.parametrize(("text", "axis", "key", "values"), DEGREE_ERRORS)
def test_parse_degrees_errors(text: str, axis: Axis | None, key: str,
                              values: dict[str, str]) -> None:
    with pytest.raises(CoordinateTextError) as info:
        parse_degrees(text, axis=axis)
    e = info.value
    assert e.msg.key == key
    assert e.text == text.strip()
    assert e.msg.values == {"text": text.strip(), **values}
    assert isinstance(e, ValueError)
    # the message says what was found and what was expected, in both languages
    assert str(e) == e.msg == Msg(key, text=text.strip(), **values)
    assert "expected" in str(e)
    assert e.msg.say(ZH) == ZH.fmt(f"msg.{key}", text=text.strip(), **values)
    if text.strip():
        assert text.strip() in str(e) and text.strip() in e.msg.say(ZH)
    again = pickle.loads(pickle.dumps(e))  # as a Dask worker sends it back
    assert (type(again), again.msg, again.msg.key, again.text) == (type(e), e.msg, key, e.text)


PAIRS = [
    ("116.80,33.90", (116.8, 33.9)),
    ("116.80，33.90", (116.8, 33.9)),
    ("116.80 33.90", (116.8, 33.9)),
    ("116.80;33.90", (116.8, 33.9)),
    ("116.80；33.90", (116.8, 33.9)),
    ("116.80、33.90", (116.8, 33.9)),
    ("116.80, 33.90", (116.8, 33.9)),
    ("(116.80, 33.90)", (116.8, 33.9)),
    ("33.90,116.80", (116.8, 33.9)),  # latitude first: ordered by China's ranges
    ("33.90 116.80", (116.8, 33.9)),
    ("N33.90,E116.80", (116.8, 33.9)),
    ("E116.80 N33.90", (116.8, 33.9)),
    ("33.9N 116.8E", (116.8, 33.9)),
    ("北纬33.9，东经116.8", (116.8, 33.9)),
    ("N10.5, 50.2", (50.2, 10.5)),  # one mark is enough: ordered by it, not by range
    ("116°48′30.5″,33°54′", (DMS_116, 33.9)),
    ("116°48′30.5″ 33°54′", (DMS_116, 33.9)),
    ("116° 48′ 30.5″ 33° 54′", (DMS_116, 33.9)),
    ("116 48 30.5 33 54 0", (DMS_116, 33.9)),  # the only split into two readable parts
    ("116度48分30.5秒,33度54分", (DMS_116, 33.9)),
    ("１１６．８０，３３．９０", (116.8, 33.9)),
    ("-120.5,35.2", (-120.5, 35.2)),  # outside China: the one value beyond ±90° is the lon
    ("35.2,-120.5", (-120.5, 35.2)),
]


@pytest.mark.parametrize(("text", "expected"), PAIRS)
def test_parse_pair(text: str, expected: tuple[float, float]) -> None:
    lon, lat = parse_pair(text)
    assert lon == pytest.approx(expected[0], abs=1e-12)
    assert lat == pytest.approx(expected[1], abs=1e-12)


PAIR_ERRORS = [
    ("10.5,50.2", "coord_pair_order", "10.5,50.2"),  # both could be either: undecidable
    ("116.8,120.1", "coord_pair_order", "116.8,120.1"),  # both longitudes by range
    ("116 48 33 54", "coord_pair_ambiguous", "116 48 33 54"),
    ("N33.9,S20", "coord_pair_same_axis", "N33.9,S20"),
    ("E116.8 W20", "coord_pair_same_axis", "E116.8 W20"),
    ("116.8", "coord_pair_unreadable", "116.8"),
    ("116.8,", "coord_pair_unreadable", "116.8,"),
    ("116.8,33°60′", "coord_minutes", "33°60′"),  # one separator: the part's own error
    ("116.8,abc", "coord_unreadable", "abc"),
    ("E116.8,95", "coord_lat_range", "E116.8,95"),
]


@pytest.mark.parametrize(("text", "key", "shown"), PAIR_ERRORS)
def test_parse_pair_errors(text: str, key: str, shown: str) -> None:
    with pytest.raises(CoordinateTextError) as info:
        parse_pair(text)
    assert info.value.msg.key == key
    assert info.value.text == shown
    assert shown in str(info.value) and shown in info.value.msg.say(ZH)


NAN = float("nan")
SWAPPED = [
    ([33.9, 34.1, 33.5], [116.8, 117.0, 116.2], True),  # China's ranges, swapped
    ([116.8, 117.0, 116.2], [33.9, 34.1, 33.5], False),  # as declared
    ([40.0, 45.0], [-120.0, -121.5], True),  # "latitudes" beyond ±90°
    ([-120.0, -121.5], [40.0, 45.0], False),
    ([10.0, 20.0], [50.0, 60.0], False),  # could be either: not decided
    ([33.9, 34.1, 33.5, 116.8], [116.8, 117.0, 116.2, 33.9], True),  # 3 of 4 swapped
    ([33.9, 34.1, 116.8, 117.0], [116.8, 117.0, 33.9, 34.1], False),  # 2 of 4: no majority
    ([33.9, 34.1, 20.0, 25.0], [116.8, 117.0, 50.0, 60.0], False),  # 2 of 4, 2 undecided
    ([NAN, 33.9, 34.1, 5.0], [116.8, 116.8, 117.0, NAN], True),  # NaN rows left out
    ([NAN], [NAN], False),
    ([], [], False),
]


@pytest.mark.parametrize(("lon", "lat", "expected"), SWAPPED)
def test_swapped_columns(lon: list[float], lat: list[float], expected: bool) -> None:
    assert swapped_columns(lon, lat) is expected
    assert swapped_columns(np.array(lon, dtype=float), np.array(lat, dtype=float)) is expected


# --- Gauss-Krüger ------------------------------------------------------------------------------

def _param(crs: CRS, name: str) -> float:
    op = crs.coordinate_operation
    assert op is not None
    return float(next(p.value for p in op.params if p.name == name))


@pytest.mark.parametrize("zone", range(25, 46))
def test_gk_3_degree_codes_match_pyproj(zone: int) -> None:
    cm = 3 * zone
    with_prefix = gauss_kruger_crs([3_754_000.0], [zone * 1_000_000 + 512_345.6])
    crs = CRS.from_epsg(with_prefix.epsg)
    assert crs.name == f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}"
    assert _param(crs, "Longitude of natural origin") == cm
    assert _param(crs, "False easting") == zone * 1_000_000 + 500_000
    assert (with_prefix.zone, with_prefix.zone_width, with_prefix.central_meridian) == (zone, 3, cm)
    assert with_prefix.zone_prefix and not with_prefix.swapped
    without = gauss_kruger_crs([3_754_000.0], [512_345.6], crs=f"cm={cm}")
    crs = CRS.from_epsg(without.epsg)
    assert crs.name == f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"
    assert _param(crs, "Longitude of natural origin") == cm
    assert _param(crs, "False easting") == 500_000
    assert (without.zone, without.zone_width, without.zone_prefix) == (zone, 3, False)
    assert gauss_kruger_crs([3_754_000.0], [512_345.6], crs=f"zone={zone}").epsg == without.epsg


@pytest.mark.parametrize("zone", range(13, 24))
def test_gk_6_degree_codes_match_pyproj(zone: int) -> None:
    cm = 6 * zone - 3
    with_prefix = gauss_kruger_crs([3_754_000.0], [zone * 1_000_000 + 512_345.6])
    crs = CRS.from_epsg(with_prefix.epsg)
    assert crs.name == f"CGCS2000 / Gauss-Kruger zone {zone}"
    assert _param(crs, "Longitude of natural origin") == cm
    assert _param(crs, "False easting") == zone * 1_000_000 + 500_000
    assert (with_prefix.zone, with_prefix.zone_width, with_prefix.central_meridian) == (zone, 6, cm)
    without = gauss_kruger_crs([3_754_000.0], [512_345.6], crs=f"6-degree zone {zone}")
    crs = CRS.from_epsg(without.epsg)
    assert crs.name == f"CGCS2000 / Gauss-Kruger CM {cm}E"
    assert _param(crs, "Longitude of natural origin") == cm
    assert (without.zone, without.zone_width, without.zone_prefix) == (zone, 6, False)


GK_HINTS = [
    ("EPSG:4548", 4548),
    ("epsg:4548", 4548),
    ("4548", 4548),
    ("EPSG:4527", 4548),  # declared with the zone number, values without: same meridian
    ("zone=39", 4548),
    ("zone 39", 4548),
    ("39带", 4548),
    ("3度带 第39带", 4548),
    ("CGCS2000 3-degree zone 39", 4548),
    ("CGCS2000 / 3-degree Gauss-Kruger zone 39", 4548),
    ("CGCS2000 / 3-degree Gauss-Kruger CM 117E", 4548),
    ("cm=117", 4548),
    ("CM 117E", 4548),
    ("中央经线117", 4548),
    ("central_meridian=117", 4548),
    ("zone=20", 4509),  # 13-23: a 6-degree zone (central meridian 117E)
    ("6-degree cm=117", 4509),
    ("CGCS2000 / Gauss-Kruger zone 20", 4509),
    ("CGCS2000 / Gauss-Kruger CM 117E", 4509),  # a name PROJ knows
    ("EPSG:4509", 4509),
]


@pytest.mark.parametrize(("crs", "epsg"), GK_HINTS)
def test_gk_zone_from_declared_crs(crs: str, epsg: int) -> None:
    gk = gauss_kruger_crs([3_754_000.0, 3_755_000.0], [512_345.6, 513_000.0], crs=crs)
    assert gk.epsg == epsg and not gk.zone_prefix and not gk.swapped
    assert gk.central_meridian == 117
    assert gk.reason == Msg("coord_gk_reason_declared", zone=39 if epsg == 4548 else 20,
                            width=3 if epsg == 4548 else 6, cm=117, epsg=epsg, crs=crs)
    assert crs in gk.reason and f"EPSG:{epsg}" in gk.reason and crs in gk.reason.say(ZH)


@pytest.mark.parametrize("crs", [None, "EPSG:4527", "EPSG:4548", "cm=117", "zone=39"])
def test_gk_prefix_agreeing_with_declared_crs(crs: str | None) -> None:
    gk = gauss_kruger_crs([3_754_000.0], [39_512_345.6], crs=crs)
    assert (gk.epsg, gk.zone, gk.zone_width, gk.zone_prefix) == (4527, 39, 3, True)
    assert gk.reason == ("Y eastings start with zone number 39: CGCS2000 3-degree Gauss-Krüger "
                         "zone 39, central meridian 117°E (EPSG:4527)")
    assert gk.reason.key == "coord_gk_reason_prefix"
    assert gk.reason.say(ZH) == ("Y 东坐标以带号 39 开头：CGCS2000 3 度带高斯-克吕格第 39 带，"
                                 "中央经线东经 117°（EPSG:4527）")


def test_gk_on_the_central_meridian() -> None:
    # an easting of 500,000 m lies on the central meridian: longitude exactly 117°E
    gk = gauss_kruger_crs([3_754_000.0], [39_500_000.0])
    lon, lat = gauss_kruger_to_lonlat([3_754_000.0], [39_500_000.0], gk)
    assert lon[0] == pytest.approx(117.0, abs=1e-12)
    assert 33.8 < lat[0] < 34.0
    # the same point without the zone number, declared, and with the columns swapped
    gk2 = gauss_kruger_crs([500_000.0], [3_754_000.0], crs="cm=117")
    assert gk2.swapped and gk2.epsg == 4548
    assert gk2.reason == Msg("coord_gk_reason_swapped", reason=Msg(
        "coord_gk_reason_declared", zone=39, width=3, cm=117, epsg=4548, crs="cm=117"))
    assert gk2.reason.endswith("the X and Y columns are swapped (X holds the eastings, "
                               "Y the northings)")
    assert gk2.reason.say(ZH).endswith("；X、Y 两列互换了（X 列为东坐标，Y 列为北坐标）")
    lon2, lat2 = gauss_kruger_to_lonlat([500_000.0], [3_754_000.0], gk2)
    assert lon2[0] == pytest.approx(117.0, abs=1e-12)
    assert lat2[0] == pytest.approx(lat[0], abs=1e-12)


def test_gk_swapped_with_prefix_and_nan_rows() -> None:
    x = [39_512_345.6, np.nan, 39_520_000.0]
    y = [3_754_000.5, 3_760_000.0, np.nan]
    gk = gauss_kruger_crs(x, y)
    assert gk.swapped and gk.epsg == 4527
    lon, lat = gauss_kruger_to_lonlat(x, y, gk)
    ref_lon, ref_lat = gauss_kruger_to_lonlat([3_754_000.5], [39_512_345.6],
                                              gauss_kruger_crs([3_754_000.5], [39_512_345.6]))
    assert lon[0] == ref_lon[0] and lat[0] == ref_lat[0]
    assert np.isnan(lon[1:]).all() and np.isnan(lat[1:]).all()
    # a value PROJ cannot project back is NaN too, not inf
    plain = gauss_kruger_crs([3_754_000.5], [39_512_345.6])
    far = gauss_kruger_to_lonlat([3_754_000.5], [9e9], plain)
    assert np.isnan(far[0]).all() and np.isnan(far[1]).all()


GK_ERRORS = [
    ([3_754_000.0], [512_345.6], None, "coord_gk_no_zone", "512,346"),
    ([3_754_000.0, 3_754_000.0], [39_512_345.6, 40_512_345.6], None, "coord_gk_mixed_zones",
     "39: 1, 40: 1"),
    ([3_754_000.0, 3_754_000.0], [39_512_345.6, 512_345.6], "zone=39", "coord_gk_mixed_zones",
     "-: 1, 39: 1"),
    ([3_754_000.0], [24_512_345.6], None, "coord_gk_zone_not_china", "24"),
    ([3_754_000.0], [46_512_345.6], None, "coord_gk_zone_not_china", "46"),
    ([33.9], [116.8], None, "coord_gk_not_gk", "around 117 m"),  # degrees, not metres
    ([3_754_000.0], [1_512_345.6], None, "coord_gk_not_gk", "1,512,346"),
    ([np.nan], [np.nan], None, "coord_gk_no_points", ""),
    ([3_754_000.0], [39_512_345.6], "EPSG:4528", "coord_gk_crs_conflict", "EPSG:4528"),
    ([3_754_000.0], [39_512_345.6], "cm=120", "coord_gk_crs_conflict", "cm=120"),
    ([3_754_000.0], [39_512_345.6], "zone=20", "coord_gk_crs_conflict", "zone=20"),
    ([3_754_000.0], [512_345.6], "EPSG:4326", "coord_gk_crs_unreadable", "EPSG:4326"),
    ([3_754_000.0], [512_345.6], "zone=24", "coord_gk_crs_unreadable", "zone=24"),
    ([3_754_000.0], [512_345.6], "cm=118", "coord_gk_crs_unreadable", "cm=118"),
    ([3_754_000.0], [512_345.6], "zone=39 cm=120", "coord_gk_crs_unreadable", "zone=39 cm=120"),
    ([3_754_000.0], [512_345.6], "somewhere", "coord_gk_crs_unreadable", "somewhere"),
]


@pytest.mark.parametrize(("x", "y", "crs", "key", "found"), GK_ERRORS)
def test_gk_errors(x: list[float], y: list[float], crs: str | None, key: str,
                   found: str) -> None:
    with pytest.raises(CoordinateTextError) as info:
        gauss_kruger_crs(x, y, crs=crs)
    e = info.value
    assert e.msg.key == key and str(e) == e.msg
    assert found in str(e)
    # the zones are a list: said with the Chinese list separator
    assert found.removeprefix("around ").removesuffix(" m").replace(", ", "、") in e.msg.say(ZH)
    assert "expected" in str(e)


def test_gk_no_zone_says_what_to_declare() -> None:
    with pytest.raises(CoordinateTextError) as info:
        gauss_kruger_crs([3_754_000.0], [512_345.6])
    assert 'crs = "EPSG:4548"' in str(info.value) and 'crs = "zone=39"' in str(info.value)


# --- the messages in the catalogues -----------------------------------------------------------

#: ASCII words a Chinese coordinate message may hold: hemisphere marks and codes written as
#: they are (EPSG, CGCS2000, X/Y columns), and the crs key of district.toml.
ALLOWED = {"N", "S", "E", "W", "X", "Y", "EPSG", "CGCS", "crs"}






def test_messages_have_the_same_fields_in_both_languages() -> None:
    en, zh = texts("en").section("msg"), ZH.section("msg")
    keys = [k for k in en if k.startswith("coord_")]
    assert len(keys) >= 26
    for key in keys:
        assert en[key] and zh[key], key
        assert catalogue_fields(en[key]) == catalogue_fields(zh[key]), key
        # every message says itself in Chinese, its values aside
        said = ZH.fmt(f"msg.{key}", **{f: 7 for f in catalogue_fields(zh[key])})
        assert english_words(said, ALLOWED) == set(), (key, said)


def test_errors_and_reasons_in_chinese() -> None:
    """A representative set of what the module says, in Chinese: no English word but the
    marks and codes written as they are."""
    said: list[str] = []
    for text, axis in [("116°60′", "lon"), ("abc", None), ("", None), ("N116.8", "lon"),
                       ("33.9E", "lat"), ("95", "lat"), ("116.5°30′", "lon"),
                       ("116°30″", "lon"), ("E116.8N", None), ("S-33.9", None)]:
        with pytest.raises(CoordinateTextError) as info:
            parse_degrees(text, axis=axis)  # type: ignore[arg-type]
        said.append(info.value.msg.say(ZH))
    for text in ("10.5,50.2", "116 48 33 54", "N33.9,S20", "116.8"):
        with pytest.raises(CoordinateTextError) as info:
            parse_pair(text)
        said.append(info.value.msg.say(ZH))
    for x, y, crs, _, _ in GK_ERRORS:
        with pytest.raises(CoordinateTextError) as info:
            gauss_kruger_crs(x, y, crs=crs)
        said.append(info.value.msg.say(ZH))
    said.append(gauss_kruger_crs([3_754_000.0], [39_512_345.6]).reason.say(ZH))
    said.append(gauss_kruger_crs([500_000.0], [3_754_000.0], crs="cm=117").reason.say(ZH))
    for text in said:
        assert english_words(text, ALLOWED) == set(), text
        assert re.search(r"[\u4e00-\u9fff]", text), text


# --- round trip: a point in China written in each format and read back ----------------------

def _dms(value: float, places: int = 4) -> tuple[int, int, str]:
    """Degrees, minutes and seconds (text with ``places`` decimals) of ``abs(value)``;
    1e-4″ is 2.8e-8°, so 4 places keep the round trip within 1e-7°."""
    unit = 10**places
    ticks = round(abs(value) * 3600 * unit)
    deg, rest = divmod(ticks, 3600 * unit)
    minutes, sec = divmod(rest, 60 * unit)
    return deg, minutes, f"{sec // unit}.{sec % unit:0{places}d}"


def _ascii(value: float, pos: str) -> str:
    d, m, s = _dms(value)
    return f"{d}°{m}'{s}\"{pos}"


def _chinese(value: float, prefix: str) -> str:
    d, m, s = _dms(value)
    return f"{prefix}{d}度{m}分{s}秒"


_TO_GK: dict[int, Transformer] = {}


def _gk(lon: float, lat: float, epsg: int) -> tuple[float, float]:
    if epsg not in _TO_GK:
        _TO_GK[epsg] = Transformer.from_crs(4490, epsg, always_xy=True)
    east, north = _TO_GK[epsg].transform(lon, lat)
    return float(north), float(east)


def _read_gk(x: float, y: float, crs: str | None) -> tuple[float, float]:
    # written with 4 decimals (0.1 mm) and read back as a register's numbers would be
    xs, ys = [float(f"{x:.4f}")], [float(f"{y:.4f}")]
    lon, lat = gauss_kruger_to_lonlat(xs, ys, gauss_kruger_crs(xs, ys, crs=crs))
    return float(lon[0]), float(lat[0])


def _round_trip(fmt: str, lon: float, lat: float, first: bool) -> tuple[float, float]:
    if fmt == "decimal":
        return (parse_degrees(f"{lon:.10f}", axis="lon"),
                parse_degrees(f"{lat:.10f}", axis="lat"))
    if fmt == "dms_ascii":
        return parse_degrees(_ascii(lon, "E"), axis="lon"), parse_degrees(_ascii(lat, "N"))
    if fmt == "dms_chinese":
        return (parse_degrees(_chinese(lon, "东经"), axis="lon"),
                parse_degrees(_chinese(lat, "北纬"), axis="lat"))
    if fmt == "pair":
        a, b = f"{lon:.10f}", _chinese(lat, "")
        return parse_pair(f"{a}，{b}" if first else f"{b} {a}")
    if fmt == "gk3_prefix":
        zone = min(max(round(lon / 3), 25), 45)
        return _read_gk(*_gk(lon, lat, 4513 + zone - 25), None)
    if fmt == "gk6_prefix":
        zone = int(lon // 6) + 1
        return _read_gk(*_gk(lon, lat, 4491 + zone - 13), None)
    assert fmt == "gk3_declared"
    cm = min(max(3 * round(lon / 3), 75), 135)
    epsg = 4534 + (cm - 75) // 3
    return _read_gk(*_gk(lon, lat, epsg), f"EPSG:{epsg}")


# mainland China and Hainan: 3-degree zones 25-45, 6-degree zones 13-23, 7-digit northings
@pytest.mark.parametrize("fmt", ["decimal", "dms_ascii", "dms_chinese", "pair", "gk3_prefix",
                                 "gk6_prefix", "gk3_declared"])
@settings(max_examples=60, deadline=None)
@given(lon=st.floats(73.5, 134.9), lat=st.floats(18.0, 53.5), first=st.booleans())
def test_round_trip_every_format(fmt: str, lon: float, lat: float, first: bool) -> None:
    got_lon, got_lat = _round_trip(fmt, lon, lat, first)
    assert abs(got_lon - lon) < 1e-7 and abs(got_lat - lat) < 1e-7
