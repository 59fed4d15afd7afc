"""Coordinate systems: China's web offsets (GCJ-02, BD-09) and the choice of a metric CRS.

GCJ-02 ("Mars coordinates", used by Amap and Tencent) and BD-09 (Baidu) are obfuscated
versions of WGS-84 with offsets of a few hundred metres. There is no EPSG code for them; the
forward transforms are the published algorithm, and the inverse of GCJ-02 is found by fixed-point
iteration to better than 1e-9 degrees. Points outside China are not offset by GCJ-02 and pass
through unchanged.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pyproj import CRS

from emgis._types import FloatArray

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 algorithm, metres
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

#: Names accepted for the web-offset systems in ``district.toml``.
OFFSET_SYSTEMS = {"GCJ-02": "gcj02", "GCJ02": "gcj02", "BD-09": "bd09", "BD09": "bd09"}


def _out_of_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = ~_out_of_china(lon, lat)
    return dlon * inside, dlat * inside


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 longitude/latitude (degrees) to GCJ-02."""
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude (degrees) to WGS-84 by fixed-point iteration.

    The forward offset varies slowly, so ``wgs = gcj - delta(wgs)`` converges in a few steps;
    iteration stops when every point moves less than 1e-10 degrees.
    """
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(30):
        dlon, dlat = _delta(w_lon, w_lat)
        n_lon, n_lat = g_lon - dlon, g_lat - dlat
        step = max(float(np.max(np.abs(n_lon - w_lon), initial=0.0)),
                   float(np.max(np.abs(n_lat - w_lat), initial=0.0)))
        w_lon, w_lat = n_lon, n_lat
        if step < 1e-10:
            break
    return w_lon, w_lat


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude (degrees) to Baidu BD-09."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert Baidu BD-09 longitude/latitude (degrees) to GCJ-02."""
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert Baidu BD-09 longitude/latitude (degrees) to WGS-84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 longitude/latitude (degrees) to Baidu BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def offset_to_wgs84(
    system: str, lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Convert from a web-offset system named as in ``district.toml`` to WGS-84."""
    kind = OFFSET_SYSTEMS[system.upper()]
    return gcj02_to_wgs84(lon, lat) if kind == "gcj02" else bd09_to_wgs84(lon, lat)


def choose_metric_crs(lon: float, lat: float) -> CRS:
    """Choose a projected CRS in metres for a district centred at ``lon``, ``lat`` (WGS-84).

    Inside China the CGCS2000 3-degree Gauss-Kruger zone whose central meridian is nearest
    (EPSG:4534-4554, central meridians 75E-135E); elsewhere the WGS-84 UTM zone.
    """
    if 73.5 <= lon <= 135.5 and 17.0 <= lat <= 54.0:
        cm = round(lon / 3.0) * 3
        cm = min(max(cm, 75), 135)
        return CRS.from_epsg(4534 + (cm - 75) // 3)
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def in_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether points lie in the box where Chinese web maps use GCJ-02."""
    out: npt.NDArray[np.bool_] = ~_out_of_china(np.asarray(lon, dtype=float),
                                               np.asarray(lat, dtype=float))
    return out
