"""Coordinates as Chinese registers write them: degrees in text, pairs in one cell, Gauss-Krüger.

A bureau's register (a spreadsheet of shelters, villages, stockpiles) rarely holds plain decimal
degrees in two clean columns. This module reads what is found there:

* :func:`parse_degrees` — one coordinate in text: decimal degrees with or without a hemisphere
  mark (``116.80``, ``E116.80``, ``116.80°E``, ``东经116.80``), degrees-minutes-seconds in
  Chinese and ASCII forms (``116°48′30.5″``, ``116°48'30.5"``, ``116度48分30.5秒``,
  ``116 48 30.5``, ``116°48.5′``), full-width digits and punctuation, stray spaces;
* :func:`parse_pair` — a longitude and a latitude in one cell (``116.80,33.90``,
  ``116.80，33.90``, ``N33°54′ E116°48′``), in either order;
* :func:`swapped_columns` — a whole layer whose longitude column holds the latitudes;
* :func:`gauss_kruger_crs` and :func:`gauss_kruger_to_lonlat` — CGCS2000 Gauss-Krüger
  X (northing) / Y (easting) in metres, with or without the zone number in front of Y.

Errors are :class:`CoordinateTextError` carrying the text read and what was expected; the caller
adds the file, sheet, row and field. Every message is a ``coord_*`` entry of the catalogues
(:class:`emgis.texts.Msg`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Literal

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer

from emgis._errors import EmgisError
from emgis._types import FloatArray
from emgis.texts import Msg

Axis = Literal["lon", "lat"]

class CoordinateTextError(ValueError, EmgisError):
    """A coordinate written in a way that cannot be read, or that contradicts itself.

    ``str(error)`` is the English message; ``error.msg.say(texts("zh"))`` (or
    ``emgis.texts.say(error, "zh")``) gives it in Chinese. The caller adds where the text was
    (file, sheet, row, field).

    Attributes
    ----------
    msg
        The message (:class:`emgis.texts.Msg`, a ``coord_*`` entry of the catalogues): what
        was found and what was expected. ``msg.key`` names the fault, ``msg.values`` holds
        what was found (``text`` included).
    text
        The text (or, for Gauss-Krüger, the values) that could not be read, as given.
    """

    def __init__(self, key: str, text: str = "", **values: object) -> None:
        self.text = text
        self.msg = Msg(key, text=text, **values)
        super().__init__(self.msg)

    def __reduce__(self) -> tuple[object, ...]:  # pickled by key and values (Dask workers)
        values = dict(self.msg.values)
        text = values.pop("text", "")
        return (partial(type(self), self.msg.key, text, **values), ())


# --- one coordinate in text ----------------------------------------------------------------

#: Hemisphere marks and what they mean: (axis, sign).
_MARKS: dict[str, tuple[Axis, int]] = {
    "N": ("lat", 1), "S": ("lat", -1), "E": ("lon", 1), "W": ("lon", -1),
    "北纬": ("lat", 1), "南纬": ("lat", -1), "东经": ("lon", 1), "西经": ("lon", -1),
    "北": ("lat", 1), "南": ("lat", -1), "东": ("lon", 1), "西": ("lon", -1),
}
_MARK = "北纬|南纬|东经|西经|[北南东西NSEW]"
_PREFIX = re.compile(rf"^({_MARK})\s*:?\s*", re.IGNORECASE)
_SUFFIX = re.compile(rf"\s*({_MARK})$", re.IGNORECASE)
# A number and its unit: ° 度 degrees, ′ 分 minutes, ″ 秒 seconds (after _normalise).
_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)(?:\s*([°度′分″秒]))?")
_UNIT = {"°": 0, "度": 0, "′": 1, "分": 1, "″": 2, "秒": 2}
# Characters written for the degree, minute and second signs and the minus sign.
_BEFORE_NFKC = str.maketrans({"º": "°", "˚": "°"})  # NFKC would make these "o" and " ̊"
_AFTER_NFKC = str.maketrans({"’": "′", "‘": "′", "'": "′", "´": "′", "`": "′",
                             "”": "″", "“": "″", '"': "″", "〃": "″",
                             "−": "-", "–": "-", "—": "-"})

#: China's longitude and latitude ranges (degrees); they never overlap, which orders a pair.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


def _normalise(text: str) -> str:
    """NFKC (full-width digits and punctuation), one form per sign, stripped."""
    s = unicodedata.normalize("NFKC", text.translate(_BEFORE_NFKC)).translate(_AFTER_NFKC)
    return s.replace("′′", "″").strip()


@dataclass(frozen=True)
class _Reading:
    value: float
    axis: Axis | None  # from a hemisphere mark
    mark: str | None  # the mark as written (normalised)


def _read(text: str, axis: Axis | None) -> _Reading:
    """One coordinate: its value in degrees and the axis its hemisphere mark names."""
    shown = text.strip()
    s = _normalise(text)
    if not s:
        raise CoordinateTextError("coord_empty", shown)
    marks: list[str] = []
    m = _PREFIX.match(s)
    if m:
        marks.append(m.group(1).upper())
        s = s[m.end():]
    m = _SUFFIX.search(s)
    if m:
        marks.append(m.group(1).upper())
        s = s[: m.start()]
    if len(marks) == 2:
        raise CoordinateTextError("coord_two_marks", shown, first=marks[0], second=marks[1])
    sign = 1
    if s and s[0] in "+-":
        if marks and s[0] == "-":
            raise CoordinateTextError("coord_mark_and_sign", shown)
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    mark_axis: Axis | None = None
    if marks:
        mark_axis, sign = _MARKS[marks[0]]
        if axis == "lon" and mark_axis == "lat":
            raise CoordinateTextError("coord_lat_mark_on_lon", shown, mark=marks[0])
        if axis == "lat" and mark_axis == "lon":
            raise CoordinateTextError("coord_lon_mark_on_lat", shown, mark=marks[0])
    value = sign * _dms(s, shown)
    the_axis = axis or mark_axis
    limit = 90.0 if the_axis == "lat" else 180.0
    if not -limit <= value <= limit:
        key = "coord_lat_range" if the_axis == "lat" else "coord_lon_range"
        raise CoordinateTextError(key, shown, value=f"{value:g}")
    return _Reading(value, mark_axis, marks[0] if marks else None)


def _dms(s: str, shown: str) -> float:
    """Degrees (unsigned) from decimal degrees or degrees, minutes and seconds."""
    parts: list[tuple[str, int]] = []  # (number, position: 0 degrees, 1 minutes, 2 seconds)
    pos = 0
    end = len(s.rstrip())
    while pos < end:
        m = _PART.match(s, pos)
        if m is None or m.end() == pos:
            raise CoordinateTextError("coord_unreadable", shown)
        number, unit = m.group(1), m.group(2)
        if unit is None and m.end() < end and not s[m.end()].isspace():
            raise CoordinateTextError("coord_unreadable", shown)
        place = _UNIT[unit] if unit else (parts[-1][1] + 1 if parts else 0)
        if place != (parts[-1][1] + 1 if parts else 0):
            raise CoordinateTextError("coord_unit_order", shown)
        parts.append((number, place))
        pos = m.end()
    if not parts:
        raise CoordinateTextError("coord_unreadable", shown)
    if len(parts) > 3:
        raise CoordinateTextError("coord_unit_order", shown)
    for number, _ in parts[:-1]:
        if "." in number:
            raise CoordinateTextError("coord_fraction", shown, number=number)
    values = [float(n) for n, _ in parts]
    if len(values) > 1 and values[1] >= 60.0:
        raise CoordinateTextError("coord_minutes", shown, value=parts[1][0])
    if len(values) > 2 and values[2] >= 60.0:
        raise CoordinateTextError("coord_seconds", shown, value=parts[2][0])
    return sum(v / 60.0**i for i, v in enumerate(values))


def parse_degrees(text: str, *, axis: Axis | None = None) -> float:
    """Read one coordinate written in degrees.

    Parameters
    ----------
    text
        The coordinate as written: decimal degrees (``"116.80"``, ``"116.80°"``,
        ``"E116.80"``, ``"116.80E"``, ``"东经116.80"``, ``"北纬33.9"``) or degrees, minutes
        and seconds (``"116°48′30.5″"``, ``"116°48'30.5\\""``, ``"116度48分30.5秒"``,
        ``"116 48 30.5"``, ``"116°48.5′"``), with a hemisphere mark N/S/E/W, 北纬/南纬/
        东经/西经 (or 北/南/东/西) before or after, or a leading minus sign. Full-width digits
        and signs (``１１６．８``, ``＇``) and stray spaces are accepted; only the last of
        degrees, minutes and seconds may have decimals; numbers without signs are degrees,
        minutes, seconds in that order.
    axis
        ``"lon"`` or ``"lat"`` when the field is known to be one: the value must then lie in
        -180..180° or -90..90° and a hemisphere mark of the other axis is an error. ``None``
        allows -180..180° (or -90..90° when the mark is N/S).

    Returns
    -------
    float
        Degrees; S and W (南纬, 西经) are negative.

    Raises
    ------
    CoordinateTextError
        The text cannot be read, minutes or seconds are 60 or more, the value is outside the
        axis's range, there are two hemisphere marks or a mark and a minus sign, or the mark
        contradicts ``axis``.
    """
    return _read(text, axis).value


# --- a pair in one cell ----------------------------------------------------------------------

_SEPARATORS = re.compile(r"[,;、|]")
_BRACKETS = "()[]{}<>"


def _in(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def parse_pair(text: str) -> tuple[float, float]:
    """Read a longitude and a latitude written in one cell.

    Parameters
    ----------
    text
        Two coordinates, each in a form :func:`parse_degrees` reads, separated by a comma
        (ASCII or full-width ``，``), semicolon, ``、``, ``|`` or spaces: ``"116.80,33.90"``,
        ``"116.80，33.90"``, ``"116.80 33.90"``, ``"116.80;33.90"``,
        ``"N33°54′ E116°48′30″"``; optionally in brackets. Where spaces separate the two and
        also the parts of a DMS coordinate (``"116 48 30 33 54 00"``), the split that reads as
        two coordinates is taken; more than one such split is an error.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in degrees.

    Notes
    -----
    The order is decided by the hemisphere marks when there are any (one mark is enough).
    Otherwise by range: inside China longitudes are 73-136° and latitudes 3-54°, which never
    overlap, so a pair with one value in each range is ordered by them; failing that, a pair
    with exactly one value beyond ±90° has it as the longitude. Any other pair (both values in
    the same range, e.g. ``"10.5,50.2"``) cannot be ordered and is an error: no order is
    assumed, since registers write both ``lon,lat`` and ``lat,lon``.

    Raises
    ------
    CoordinateTextError
        The text does not hold two readable coordinates, can be split in more than one way,
        both are marked as the same axis, the order cannot be decided, or a value is outside
        its axis's range.
    """
    shown = text.strip()
    s = _normalise(text).strip(_BRACKETS).strip()
    cuts = [(m.start(), m.end()) for m in _SEPARATORS.finditer(s)]
    if not cuts:
        cuts = [(m.start(), m.end()) for m in re.finditer(r"\s+", s)]
    found: list[tuple[_Reading, _Reading]] = []
    last_error: CoordinateTextError | None = None
    for start, stop in cuts:
        try:
            found.append((_read(s[:start], None), _read(s[stop:], None)))
        except CoordinateTextError as e:
            last_error = e
    if not found:
        if len(cuts) == 1 and last_error is not None and last_error.text:
            raise last_error
        raise CoordinateTextError("coord_pair_unreadable", shown)
    if len(found) > 1:
        raise CoordinateTextError("coord_pair_ambiguous", shown)
    a, b = found[0]
    if a.axis is not None and a.axis == b.axis:
        raise CoordinateTextError("coord_pair_same_axis", shown, first=a.mark, second=b.mark)
    if a.axis == "lon" or b.axis == "lat":
        lon, lat = a.value, b.value
    elif a.axis == "lat" or b.axis == "lon":
        lon, lat = b.value, a.value
    elif _in(a.value, CHINA_LON) and _in(b.value, CHINA_LAT):
        lon, lat = a.value, b.value
    elif _in(a.value, CHINA_LAT) and _in(b.value, CHINA_LON):
        lon, lat = b.value, a.value
    elif (abs(a.value) > 90.0) != (abs(b.value) > 90.0):
        lon, lat = (a.value, b.value) if abs(a.value) > 90.0 else (b.value, a.value)
    else:
        raise CoordinateTextError("coord_pair_order", shown)
    if abs(lat) > 90.0:
        raise CoordinateTextError("coord_lat_range", shown, value=f"{lat:g}")
    return lon, lat


# --- swapped columns -------------------------------------------------------------------------


def swapped_columns(lon: npt.ArrayLike, lat: npt.ArrayLike) -> bool:
    """Whether a layer's longitude column holds the latitudes and its latitude column the
    longitudes.

    Parameters
    ----------
    lon, lat
        The two columns as declared, in degrees (NaN for values not read).

    Returns
    -------
    bool
        True when more than half of the rows with both values finite read only as swapped: the
        "latitude" is beyond ±90° while the "longitude" is within ±90°, or the "longitude" is in
        China's latitude range (3-54°) and the "latitude" in its longitude range (73-136°).
        Rows that read either way (both within ±90° outside those ranges) count against the
        swap, so a layer is only swapped when that is unambiguous. False for no finite rows.
    """
    x = np.asarray(lon, dtype=float).ravel()
    y = np.asarray(lat, dtype=float).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if not len(x):
        return False
    beyond = (np.abs(y) > 90.0) & (np.abs(x) <= 90.0)
    china = ((x >= CHINA_LAT[0]) & (x <= CHINA_LAT[1])
             & (y >= CHINA_LON[0]) & (y <= CHINA_LON[1]))
    return bool(np.count_nonzero(beyond | china) * 2 > len(x))


# --- Gauss-Krüger ----------------------------------------------------------------------------

# CGCS2000 Gauss-Krüger EPSG codes (checked against pyproj in the tests): 3-degree zones 25-45
# with the zone number in the easting 4513-4533, without it by central meridian 75E-135E
# 4534-4554; 6-degree zones 13-23 with it 4491-4501, without it 4502-4512.
_GK3_PREFIX, _GK3_CM, _GK6_PREFIX, _GK6_CM = 4513, 4534, 4491, 4502
_ZONES3 = range(25, 46)
_ZONES6 = range(13, 24)
_NORTHING = (1_000_000.0, 6_200_000.0)  # 7-digit northings: about 9°N to 56°N
_EASTING = (10_000.0, 990_000.0)  # eastings within a zone (500 km at the central meridian)


@dataclass(frozen=True)
class _Zone:
    width: Literal[3, 6]
    zone: int
    prefix: bool  # the CRS's eastings carry the zone number

    @property
    def cm(self) -> int:
        return 3 * self.zone if self.width == 3 else 6 * self.zone - 3

    @property
    def epsg(self) -> int:
        if self.width == 3:
            return (_GK3_PREFIX + self.zone - 25) if self.prefix else _GK3_CM + self.zone - 25
        return (_GK6_PREFIX + self.zone - 13) if self.prefix else _GK6_CM + self.zone - 13


def _zone_by_number(zone: int, width: int | None) -> _Zone | None:
    if zone in _ZONES3 and width in (3, None):
        return _Zone(3, zone, True)
    if zone in _ZONES6 and width in (6, None):
        return _Zone(6, zone, True)
    return None


def _zone_by_cm(cm: float, width: int | None) -> _Zone | None:
    if cm != int(cm) or not 75 <= cm <= 135:
        return None
    c = int(cm)
    if width in (3, None) and c % 3 == 0:
        return _Zone(3, c // 3, False)
    if width == 6 and (c - 75) % 6 == 0:
        return _Zone(6, (c + 3) // 6, False)
    return None


def _zone_of_epsg(code: int) -> _Zone | None:
    for first, width, zones, prefix in ((_GK3_PREFIX, 3, _ZONES3, True),
                                        (_GK3_CM, 3, _ZONES3, False),
                                        (_GK6_PREFIX, 6, _ZONES6, True),
                                        (_GK6_CM, 6, _ZONES6, False)):
        if first <= code < first + len(zones):
            return _Zone(3 if width == 3 else 6, zones[code - first], prefix)
    return None


_EPSG = re.compile(r"(?:EPSG\s*:\s*)?(\d{4,5})", re.IGNORECASE)
_WIDTH = re.compile(r"([36])\s*-?\s*(?:DEGREE|DEG|度|°)|(三|六)度", re.IGNORECASE)
_ZONE_NO = re.compile(r"ZONE\s*[=:]?\s*(\d+)|第?\s*(\d+)\s*带", re.IGNORECASE)
_GAUSS = re.compile(r"GAUSS|高斯", re.IGNORECASE)
_CM = re.compile(r"(?:\bCM|CENTRAL[ _]?MERIDIAN|LON_0|中央经线|中央子午线)\s*[=:]?\s*"
                 r"(\d+(?:\.\d+)?)", re.IGNORECASE)


def _declared_zone(crs: str) -> _Zone:
    """The CGCS2000 Gauss-Krüger zone a layer's ``crs`` declares."""
    s = unicodedata.normalize("NFKC", crs).strip()
    m = _EPSG.fullmatch(s)
    if m:
        zone = _zone_of_epsg(int(m.group(1)))
        if zone is None:
            raise CoordinateTextError("coord_gk_crs_unreadable", crs=crs)
        return zone
    w = _WIDTH.search(s)
    width = None if w is None else (int(w.group(1)) if w.group(1) else
                                     (3 if w.group(2) == "三" else 6))
    z, c = _ZONE_NO.search(s), _CM.search(s)
    by_zone = by_cm = None
    if z is not None:
        by_zone = _zone_by_number(int(z.group(1) or z.group(2)), width)
        if by_zone is None:
            raise CoordinateTextError("coord_gk_crs_unreadable", crs=crs)
    if c is not None:
        # EPSG names a 6-degree system "Gauss-Kruger" without "6-degree": so is a CM given so
        unmarked_6 = width is None and _GAUSS.search(s) is not None
        by_cm = _zone_by_cm(float(c.group(1)), 6 if unmarked_6 else width)
        if by_cm is None or (by_zone is not None and by_zone.cm != by_cm.cm):
            raise CoordinateTextError("coord_gk_crs_unreadable", crs=crs)
    if by_zone is not None:
        return by_zone
    if by_cm is not None:
        return by_cm
    try:  # a name PROJ knows, e.g. "CGCS2000 / 3-degree Gauss-Kruger zone 39"
        code = CRS.from_user_input(s).to_epsg()
    except Exception:  # any unreadable text is the same error
        code = None
    zone = None if code is None else _zone_of_epsg(code)
    if zone is None:
        raise CoordinateTextError("coord_gk_crs_unreadable", crs=crs)
    return zone


def _disagree(declared: _Zone, found: _Zone) -> bool:
    """Whether a declared zone contradicts the zone number in the eastings: a prefixed CRS
    must be the same zone, one without a prefix must have the same central meridian."""
    if declared.prefix:
        return (declared.width, declared.zone) != (found.width, found.zone)
    return declared.cm != found.cm


@dataclass(frozen=True)
class GaussKruger:
    """The CGCS2000 Gauss-Krüger CRS of a layer's X/Y values, as found by
    :func:`gauss_kruger_crs`.

    Attributes
    ----------
    epsg
        EPSG code of the CRS the values are in (with the zone number in the easting when they
        carry it): 4513-4533, 4534-4554, 4491-4501 or 4502-4512.
    zone
        Zone number (3-degree: 25-45, central meridian ``3 * zone``; 6-degree: 13-23,
        central meridian ``6 * zone - 3``).
    zone_width
        3 or 6 degrees.
    central_meridian
        Central meridian, degrees east.
    zone_prefix
        Whether the Y eastings carry the zone number in front (Y = 39 500 000 m).
    swapped
        Whether the X column holds the eastings and the Y column the northings (the Chinese
        convention is X northing, Y easting).
    reason
        How the CRS was found (:class:`emgis.texts.Msg`: the English text as a ``str``,
        ``reason.say(texts("zh"))`` in Chinese), the swap included.
    """

    epsg: int
    zone: int
    zone_width: Literal[3, 6]
    central_meridian: int
    zone_prefix: bool
    swapped: bool
    reason: Msg


def _is_easting(v: float) -> bool:
    """An easting of a Gauss-Krüger zone: 10-990 km from the false origin, with or without a
    zone number 13-60 in front (never a 7-digit number, which is a northing)."""
    zone, rest = divmod(v, 1_000_000.0)
    return (zone == 0 or 13 <= zone <= 60) and _EASTING[0] <= rest <= _EASTING[1]


def gauss_kruger_crs(x: npt.ArrayLike, y: npt.ArrayLike, *, crs: str | None = None
                     ) -> GaussKruger:
    """Find the CGCS2000 Gauss-Krüger CRS of a layer's X/Y columns.

    Parameters
    ----------
    x, y
        The X and Y columns in metres. Chinese convention: X is the northing, Y the easting,
        which may carry the zone number in front (Y = 39 512 345.6 m: zone 39, 12 345.6 m east
        of the false easting's origin). Columns the other way round (X holding the eastings,
        Y 7-digit northings of 1,000,000-6,200,000 m) are detected and reported as swapped.
    crs
        The layer's declared CRS, needed when the eastings carry no zone number: an EPSG code
        ``"EPSG:4548"`` (CGCS2000 Gauss-Krüger, EPSG:4491-4554); a zone ``"zone=39"``,
        ``"39带"`` (3-degree zones 25-45, 6-degree zones 13-23 — the number decides the width;
        ``"6-degree zone 20"`` to be explicit); a central meridian ``"cm=117"``, ``"CM 117E"``,
        ``"中央经线117"`` (degrees east); or a PROJ name ``"CGCS2000 / 3-degree Gauss-Kruger
        zone 39"``. A declared zone with a prefix is used for values without one by its central
        meridian. When the values do carry a prefix, a declared CRS must agree with it.

    Returns
    -------
    GaussKruger
        The CRS of the values as they are (a prefixed EPSG code when they carry the zone
        number) and how it was found.

    Raises
    ------
    CoordinateTextError
        No finite values; values that are not Gauss-Krüger metres over China; eastings with
        different zone numbers, or one that is not a zone over China; no zone number and no
        ``crs``; an unreadable ``crs``, or one that contradicts the zone number.

    Notes
    -----
    Northings below 1,000,000 m (south of about 9°N) cannot be told from eastings, so columns
    are only found swapped when the northings have 7 digits.
    """
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    ok = np.isfinite(xa) & np.isfinite(ya)
    if not ok.any():
        raise CoordinateTextError("coord_gk_no_points")
    xm, ym = float(np.median(xa[ok])), float(np.median(ya[ok]))
    swapped = _NORTHING[0] <= ym <= _NORTHING[1] and _is_easting(xm)
    east = xa[ok] if swapped else ya[ok]
    nm, em = (ym, xm) if swapped else (xm, ym)
    if not (_EASTING[0] <= nm <= _NORTHING[1] and _is_easting(em)):
        raise CoordinateTextError("coord_gk_not_gk", x=f"{nm:,.0f}", y=f"{em:,.0f}")
    prefixes = np.floor(east / 1_000_000.0).astype(np.int64)
    zones, counts = np.unique(prefixes, return_counts=True)
    if len(zones) > 1:
        listed = tuple(f"{z if z else '-'}: {n}" for z, n in zip(zones, counts))
        raise CoordinateTextError("coord_gk_mixed_zones", zones=listed)
    prefix = int(zones[0])
    declared = None if crs is None else _declared_zone(crs)
    if prefix:
        found = _zone_by_number(prefix, None)
        if found is None:
            raise CoordinateTextError("coord_gk_zone_not_china", zone=prefix)
        if declared is not None and _disagree(declared, found):
            raise CoordinateTextError("coord_gk_crs_conflict", crs=crs, declared=declared.cm,
                                      zone=prefix, width=found.width, cm=found.cm)
        key = "coord_gk_reason_prefix"
    else:
        if declared is None:
            raise CoordinateTextError("coord_gk_no_zone", y=f"{em:,.0f}")
        found = _Zone(declared.width, declared.zone, False)
        key = "coord_gk_reason_declared"
    reason = Msg(key, zone=found.zone, width=found.width, cm=found.cm, epsg=found.epsg, crs=crs)
    return GaussKruger(epsg=found.epsg, zone=found.zone, zone_width=found.width,
                       central_meridian=found.cm, zone_prefix=found.prefix, swapped=swapped,
                       reason=Msg("coord_gk_reason_swapped", reason=reason) if swapped else reason)


@lru_cache(maxsize=64)
def _to_cgcs2000(epsg: int) -> Transformer:
    return Transformer.from_crs(CRS.from_epsg(epsg), CRS.from_epsg(4490), always_xy=True)


def gauss_kruger_to_lonlat(x: npt.ArrayLike, y: npt.ArrayLike, gk: GaussKruger
                           ) -> tuple[FloatArray, FloatArray]:
    """Convert Gauss-Krüger X/Y columns to longitude/latitude.

    Parameters
    ----------
    x, y
        The X and Y columns in metres, as given to :func:`gauss_kruger_crs` (swapped columns
        are put right by ``gk.swapped``).
    gk
        Their CRS, from :func:`gauss_kruger_crs`.

    Returns
    -------
    tuple of numpy.ndarray
        Longitude and latitude in degrees, CGCS2000 (EPSG:4490). CGCS2000 and WGS-84 agree
        within a few centimetres (same ellipsoid to 0.1 mm, frames within centimetres at the
        CGCS2000 epoch), far below what a register's coordinates carry, so the result is used
        as WGS-84 (EPSG:4326) as it is. NaN where a value is NaN or cannot be projected
        back (PROJ gives inf); the caller reports those rows.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    north, east = (ya, xa) if gk.swapped else (xa, ya)
    lon, lat = _to_cgcs2000(gk.epsg).transform(east, north)
    lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    bad = ~(np.isfinite(lon_a) & np.isfinite(lat_a))
    return np.where(bad, np.nan, lon_a), np.where(bad, np.nan, lat_a)


__all__ = [
    "CHINA_LAT",
    "CHINA_LON",
    "Axis",
    "CoordinateTextError",
    "GaussKruger",
    "gauss_kruger_crs",
    "gauss_kruger_to_lonlat",
    "parse_degrees",
    "parse_pair",
    "swapped_columns",
]
