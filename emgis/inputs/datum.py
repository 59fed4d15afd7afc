"""Catching a layer whose datum is declared wrongly: GCJ-02 or BD-09 read as WGS-84, and back.

Coordinates copied from AMap (GCJ-02) or Baidu (BD-09) are offset by a few hundred metres from
WGS-84; declared as WGS-84 they put every shelter a block away from where it is, and nothing
else in the input shows it. Most points of a register (shelters, stations, village centres)
lie near a road, so the reading of the coordinates that puts them nearest the road network is
the right one. :func:`datum_fit` measures the points' distance to the roads under the declared
reading and each alternative and says which ``crs`` line to write when another fits clearly
better. Messages are ``datum_*`` entries of the catalogues (:class:`emgis.texts.Msg`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from emgis._errors import EmgisError
from emgis._types import FloatArray
from emgis.inputs.coords import bd09_to_wgs84, choose_metric_crs, gcj02_to_wgs84, in_china
from emgis.texts import Msg


class DatumError(ValueError, EmgisError):
    """:func:`datum_fit` was called with a declared system it cannot check.

    Attributes
    ----------
    msg
        The message (:class:`emgis.texts.Msg`, ``datum_unknown``); ``str(error)`` is its
        English text, ``error.msg.say(texts("zh"))`` the Chinese.
    """

    def __init__(self, msg: Msg) -> None:
        self.msg = msg
        super().__init__(msg)


#: The readings of a layer's coordinates: system name -> conversion of its values to WGS-84.
READINGS: dict[str, Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]] = {
    "WGS-84": lambda lon, lat: (lon, lat),
    "GCJ-02": gcj02_to_wgs84,
    "BD-09": bd09_to_wgs84,
}

#: Names of a declared system, upper case -> its reading. CGCS2000 is WGS-84 within centimetres.
_NAMES = {
    "WGS-84": "WGS-84", "WGS84": "WGS-84", "WGS 84": "WGS-84", "EPSG:4326": "WGS-84",
    "CGCS2000": "WGS-84", "EPSG:4490": "WGS-84",
    "GCJ-02": "GCJ-02", "GCJ02": "GCJ-02", "BD-09": "BD-09", "BD09": "BD-09",
}

#: The ``crs`` line that declares each reading (as ``district.toml`` takes it).
CRS_LINES = {"WGS-84": 'crs = "EPSG:4326"', "GCJ-02": 'crs = "GCJ-02"', "BD-09": 'crs = "BD-09"'}

#: A point this near a road (metres) counts as on it in :attr:`ReadingFit.within_50m`.
NEAR_M = 50.0
#: Verdict thresholds: another reading is suggested when its median distance to the roads is at
#: most ``BETTER_RATIO`` times the declared reading's and at least ``BETTER_GAIN_M`` metres less.
#: Points on the roads read in the right datum lie a few to a few tens of metres from them
#: (digitising, building or gate rather than road centre); read in the wrong one they are moved
#: 300-1,000 m, into the blocks between roads, where the median distance is a good part of half
#: a block (in the tests' 1 km grid with diagonals about 130 m from 15 m). Halving the median
#: rules out readings that are merely different by chance on points that lie far from roads
#: anyway (village centres, sparse rural roads), and 50 m rules out gains within digitising
#: error on dense urban grids; both must hold, so a correct declaration is kept unless another
#: reading is clearly better.
BETTER_RATIO = 0.5
BETTER_GAIN_M = 50.0


@dataclass(frozen=True)
class ReadingFit:
    """How well the points fit the roads under one reading of their coordinates.

    Attributes
    ----------
    system
        The reading: ``"WGS-84"``, ``"GCJ-02"`` or ``"BD-09"``.
    median_m
        Median distance from a point to the nearest road, metres.
    within_50m
        Share of the points within 50 m of a road, 0-1.
    """

    system: str
    median_m: float
    within_50m: float


@dataclass(frozen=True)
class DatumFit:
    """The result of :func:`datum_fit`.

    Attributes
    ----------
    declared
        The declared system, as a reading name (``"WGS-84"``, ``"GCJ-02"``, ``"BD-09"``).
    n_points
        Points compared with the roads: finite coordinates inside China.
    readings
        The fit of each reading, the declared one first; empty when nothing was compared.
    best
        The reading with the smallest median distance (the declared one on a tie); None when
        nothing was compared.
    shift_m
        Mean distance, metres, between the points read as declared and read as ``best``
        (0 when ``best`` is the declared reading, NaN when nothing was compared).
    better
        The ``crs`` line to declare instead (e.g. ``'crs = "GCJ-02"'``) when ``best`` fits
        clearly better (:data:`BETTER_RATIO`, :data:`BETTER_GAIN_M`); None otherwise.
    reason
        Why there is or is not a verdict (:class:`emgis.texts.Msg`: the English text as a
        ``str``, ``reason.say(texts("zh"))`` in Chinese; ``reason.key`` is ``datum_better``,
        ``datum_as_declared``, ``datum_undecided``, ``datum_too_few``,
        ``datum_outside_china`` or ``datum_no_roads``).
    """

    declared: str
    n_points: int
    readings: Mapping[str, ReadingFit]
    best: str | None
    shift_m: float
    better: str | None
    reason: Msg


def _declared_reading(declared: str) -> str:
    name = _NAMES.get(" ".join(declared.split()).upper())
    if name is None:
        raise DatumError(Msg("datum_unknown", declared=declared))
    return name


def _road_lines(roads: Iterable[BaseGeometry]) -> npt.NDArray[np.object_]:
    """The road geometries in EPSG:4326 (a GeoSeries in another CRS is converted), no empties."""
    crs = getattr(roads, "crs", None)
    if crs is not None and CRS.from_user_input(crs).to_epsg() != 4326:
        roads = roads.to_crs(4326)  # type: ignore[attr-defined]
    geoms = np.asarray(list(roads), dtype=object)
    if not len(geoms):
        return geoms
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kept: npt.NDArray[np.object_] = geoms[keep]
    return kept


def _no_verdict(declared: str, n_points: int, key: str, **values: object) -> DatumFit:
    return DatumFit(declared=declared, n_points=n_points, readings={}, best=None,
                    shift_m=float("nan"), better=None, reason=Msg(key, **values))


def _metres(value: float) -> str:
    return f"{value:,.0f}"


def _share(value: float) -> str:
    return f"{value:.0%}"


@functools.lru_cache(maxsize=8)
def _from_degrees(srs: str) -> Transformer:
    """The transformer from EPSG:4326 to a metric CRS, made once per CRS (each layer of a
    district is checked in the same one; making it takes 30 ms)."""
    return Transformer.from_crs(CRS.from_epsg(4326), CRS.from_user_input(srs), always_xy=True)


def datum_fit(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    roads: Iterable[BaseGeometry] | Callable[[], Iterable[BaseGeometry]],
    *,
    declared: str = "WGS-84",
    min_points: int = 5,
    reuse: dict[object, object] | None = None,
) -> DatumFit:
    """Whether a layer's coordinates fit the roads better in another datum than the declared.

    Parameters
    ----------
    lon, lat
        The layer's point coordinates as written in it, degrees (NaN for missing).
    roads
        Road lines in EPSG:4326 (shapely geometries, or a GeoSeries, converted to EPSG:4326
        when it has another CRS), or a function giving them (called only when ``reuse``
        does not hold the roads' index already).
    declared
        The system the layer declares: ``"WGS-84"`` (also ``"EPSG:4326"``, ``"CGCS2000"``,
        ``"EPSG:4490"``: the same within centimetres), ``"GCJ-02"`` or ``"BD-09"``.
    min_points
        Fewest points inside China needed for a verdict.
    reuse
        A dict kept between calls on the same ``roads`` (several layers checked against one
        network): the roads in EPSG:4326 and their index are made once and kept in it.

    Returns
    -------
    DatumFit
        For the points with finite coordinates inside China (:func:`emgis.coords.in_china`):
        their median distance to the nearest road and the share within 50 m, for the values
        read as WGS-84, as GCJ-02 (converted by ``gcj02_to_wgs84``) and as BD-09 (by
        ``bd09_to_wgs84``), the declared reading first; the best reading; the mean shift
        between the declared and best positions; and ``better``, the ``crs`` line to declare
        when the best reading's median is at most :data:`BETTER_RATIO` of the declared one's
        and at least :data:`BETTER_GAIN_M` metres less. Distances are measured in the metric
        CRS :func:`emgis.coords.choose_metric_crs` gives for the points' median position.
        No verdict (and no readings) when fewer than ``min_points`` points lie inside China
        (the reason says whether they lie outside or are too few) or there are no roads.

    Raises
    ------
    DatumError
        ``declared`` is not a system this check knows.
    """
    name = _declared_reading(declared)
    x = np.asarray(lon, dtype=float).ravel()
    y = np.asarray(lat, dtype=float).ravel()
    finite = np.isfinite(x) & np.isfinite(y)
    inside = finite & in_china(np.where(finite, x, 0.0), np.where(finite, y, 0.0))
    n = int(np.count_nonzero(inside))
    total = int(np.count_nonzero(finite))
    if n < min_points:
        if total >= min_points:
            return _no_verdict(name, n, "datum_outside_china", outside=total - n, total=total,
                               min=min_points)
        return _no_verdict(name, n, "datum_too_few", n=n, min=min_points)
    if reuse is None:
        reuse = {}
    x, y = x[inside], y[inside]
    metric = choose_metric_crs(float(np.median(x)), float(np.median(y)))
    to_metric = _from_degrees(metric.srs)

    def project(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        ex, ny = to_metric.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([ex, ny])

    # the index of the roads in that metric CRS (a caller whose roads are in it already may
    # have put it in ``reuse``: then the roads are never taken to degrees and back)
    tree_key = ("tree", metric.to_wkt())
    tree = reuse.get(tree_key)
    if tree is None:
        lines = reuse.get("lines")
        if lines is None:
            lines = reuse["lines"] = _road_lines(roads() if callable(roads) else roads)
        assert isinstance(lines, np.ndarray)
        tree = reuse[tree_key] = shapely.STRtree(shapely.transform(lines, project))
    assert isinstance(tree, shapely.STRtree)
    if not len(tree.geometries):
        return _no_verdict(name, n, "datum_no_roads")
    order = [name, *(r for r in READINGS if r != name)]
    positions: dict[str, tuple[FloatArray, FloatArray]] = {}
    fits: dict[str, ReadingFit] = {}
    for reading in order:
        wx, wy = READINGS[reading](x, y)
        px, py = to_metric.transform(wx, wy)
        positions[reading] = (np.asarray(px, dtype=float), np.asarray(py, dtype=float))
        points = shapely.points(positions[reading][0], positions[reading][1])
        (which, _), dist = tree.query_nearest(points, return_distance=True, all_matches=False)
        d = np.full(n, np.inf)
        d[which] = dist
        fits[reading] = ReadingFit(reading, float(np.median(d)),
                                   float(np.count_nonzero(d <= NEAR_M)) / n)
    best = min(order, key=lambda r: fits[r].median_m)  # first (the declared) on a tie
    dx = positions[best][0] - positions[name][0]
    dy = positions[best][1] - positions[name][1]
    shift = float(np.mean(np.hypot(dx, dy)))
    was, now = fits[name], fits[best]
    figures = {"declared": name, "declared_m": _metres(was.median_m),
               "declared_share": _share(was.within_50m), "best": best,
               "best_m": _metres(now.median_m), "best_share": _share(now.within_50m),
               "shift_m": _metres(shift), "gain": _metres(BETTER_GAIN_M)}
    if best == name:
        key, better = "datum_as_declared", None
    elif (now.median_m <= BETTER_RATIO * was.median_m
          and was.median_m - now.median_m >= BETTER_GAIN_M):
        key, better = "datum_better", CRS_LINES[best]
    else:
        key, better = "datum_undecided", None
    return DatumFit(declared=name, n_points=n, readings=fits, best=best, shift_m=shift,
                    better=better, reason=Msg(key, **figures, better=better or ""))


__all__ = [
    "BETTER_GAIN_M",
    "BETTER_RATIO",
    "CRS_LINES",
    "READINGS",
    "DatumError",
    "DatumFit",
    "ReadingFit",
    "datum_fit",
]
