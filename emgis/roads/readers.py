"""Reading roads into ways: OpenStreetMap (.osm.pbf/.osm with pyosmium) and road lines
(GeoPackage, GeoJSON, Shapefile with a class or speed column), each way timed at its own speed."""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from emgis._errors import NetworkError
from emgis._files import gdal_path
from emgis._types import FloatArray, IntArray
from emgis.inputs.settings import Settings
from emgis.roads.register import is_register, register_speeds
from emgis.texts import Msg

if TYPE_CHECKING:

    from emgis.inputs.district import RoadSource

log = logging.getLogger(__name__)

#: Longitude and latitude, as OSM and GeoJSON give them.
WGS84 = CRS.from_epsg(4326)

_MPH = 1.609344


# --- the drive filter and speeds -----------------------------------------------------------

#: ``service=*`` values that are not roads a fire engine uses to reach a village.
PRIVATE_SERVICE = ("alley", "driveway", "emergency_access", "parking", "parking_aisle",
                   "private", "drive-through")


def highway_ok(tags: Any, exclude: frozenset[str]) -> bool:
    """osmnx's "drive" filter (village roads included by default), applied to one way's tags."""
    hwy = tags.get("highway")
    if hwy is None or hwy in exclude:
        return False
    if tags.get("area") == "yes" or tags.get("access") == "private":
        return False
    if tags.get("motor_vehicle") == "no" or tags.get("motorcar") == "no":
        return False
    return tags.get("service") not in PRIVATE_SERVICE


#: Classes walkers may not use, whatever ``[network] walk_highway`` says (osmnx's "walk" filter).
NO_WALK = ("motorway", "motorway_link")


def walk_ok(tags: Any, exclude: frozenset[str], walk: frozenset[str]) -> bool:
    """osmnx's "walk"-like filter, applied to one way's tags: a way of a class in ``walk``
    (footways, paths ...) or of a class the drivable network keeps (not in ``exclude``), but no
    motorway, and nothing tagged ``area=yes``, ``access=private``, ``foot=no`` or
    ``service=private``."""
    hwy = tags.get("highway")
    if hwy is None or hwy in NO_WALK or (hwy in exclude and hwy not in walk):
        return False
    if tags.get("area") == "yes" or tags.get("access") == "private":
        return False
    return bool(tags.get("foot") != "no" and tags.get("service") != "private")


def parse_maxspeed(value: Any) -> float | None:
    """Read an OSM ``maxspeed`` value as km/h: ``"50"``, ``"30 mph"``, ``"50;70"`` (mean).

    Returns None for values without a number (``"signals"``, ``"none"``, ``"RU:urban"``).
    """
    values = value if isinstance(value, list) else [value]
    speeds: list[float] = []
    for v in values:
        for part in str(v).split(";"):
            m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?\s*$", part)
            if m:
                speeds.append(float(m.group(1)) * (_MPH if m.group(2) else 1.0))
    return float(np.mean(speeds)) if speeds else None


def way_speed(highway: str, maxspeed: Any, settings: Settings) -> float:
    """Emergency driving speed of a way, km/h.

    The class speed of ``settings.speeds`` (JTG design speeds x ~0.7); where the way has a
    ``maxspeed`` in the plausible range, ``[network] maxspeed_rule`` decides: ``"derate"``
    (default) takes ``maxspeed x maxspeed_factor``, the same derating as the class speeds;
    ``"raw"`` takes the posted limit as it is; ``"ignore"`` keeps the class speed.
    """
    net = settings.network
    if maxspeed is not None and net.maxspeed_rule != "ignore":
        ms = parse_maxspeed(maxspeed)
        if ms is not None and net.maxspeed_min_kph <= ms <= net.maxspeed_max_kph:
            return ms * net.maxspeed_factor if net.maxspeed_rule == "derate" else ms
    return settings.speed_kph(highway)


# --- raw ways -> segments -> merged edges ----------------------------------------------------

@dataclass
class _Ways:
    """Ways as flat vertex arrays: way ``w`` has vertices ``ptr[w]:ptr[w + 1]``."""

    ptr: IntArray
    node: IntArray  # node id of each vertex (OSM id, or a made-up id for road lines)
    lon: FloatArray
    lat: FloatArray
    cls: list[str]  # road class per way
    speed: FloatArray  # km/h per way
    oneway: npt.NDArray[np.int8]  # 0 two-way, 1 forward, -1 backward
    projected: bool = False  # lon/lat already hold metres
    #: Per way, whether it is drivable / walkable (OSM); None: every way is drivable, and the
    #: walkers use the same ways.
    drive: npt.NDArray[np.bool_] | None = None
    walk: npt.NDArray[np.bool_] | None = None

    def subset(self, keep: npt.NDArray[np.bool_], *, two_way: bool = False) -> _Ways:
        """The ways of ``keep`` (in the same order); ``two_way``: every way both ways."""
        counts = np.diff(self.ptr)
        vkeep = np.repeat(keep, counts)
        ptr = np.concatenate([[0], np.cumsum(counts[keep])]).astype(np.int64)
        oneway = np.zeros(int(keep.sum()), dtype=np.int8) if two_way else self.oneway[keep]
        return _Ways(ptr, self.node[vkeep], self.lon[vkeep], self.lat[vkeep],
                     [c for c, k in zip(self.cls, keep.tolist(), strict=True) if k],
                     self.speed[keep], oneway, self.projected)

    def driven(self) -> _Ways:
        """The drivable ways (as the reader kept them before walkers had ways of their own)."""
        return self if self.drive is None else self.subset(self.drive)

    def walked(self) -> _Ways | None:
        """The walkable ways, every one both ways; None where walkers use the drivable ways."""
        return None if self.walk is None else self.subset(self.walk, two_way=True)


def _oneway(tags: Any) -> int:
    ow = str(tags.get("oneway", "no")).strip().lower()
    if ow in ("yes", "true", "1"):
        return 1
    if ow == "-1" or ow == "reverse":
        return -1
    if tags.get("junction") in ("roundabout", "circular") and ow != "no":
        return 1
    hwy = tags.get("highway", "")
    if hwy in ("motorway",) and ow != "no":
        return 1
    return 0


def _read_osm(path: Path, settings: Settings, notes: list[str]) -> _Ways:
    """Drivable and walkable ways of an OSM file with their node locations (pyosmium): the
    ways of either network, each flagged (``drive``, ``walk``); :meth:`_Ways.driven` gives the
    drivable ones."""
    import osmium  # deferred: loads osmium

    exclude = frozenset(settings.network.exclude_highway)
    walkable = frozenset(settings.network.walk_highway)
    drive_of: list[bool] = []
    walk_of: list[bool] = []
    ptr = [0]
    node: list[int] = []
    lon: list[float] = []
    lat: list[float] = []
    cls: list[str] = []
    speed: list[float] = []
    oneway: list[int] = []
    broken_ways = 0
    missing_nodes = 0
    try:
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations()
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
              .with_filter(osmium.filter.KeyFilter("highway")))
        for way in fp:
            tags = way.tags
            drives = highway_ok(tags, exclude)
            walks = walk_ok(tags, exclude, walkable)
            if not drives and not walks:
                continue
            hwy = str(tags.get("highway"))
            spd = way_speed(hwy, tags.get("maxspeed"), settings)
            ow = _oneway(tags)
            refs = [(n.ref, n.location) for n in way.nodes]  # type: ignore[union-attr]
            bad = [not loc.valid() for _, loc in refs]
            if any(bad) and drives:  # said of the drivable ways (the roads the times use)
                broken_ways += 1
                missing_nodes += sum(bad)
            # split the way at missing nodes: keep the pieces of two or more known nodes
            piece: list[tuple[int, Any]] = []
            for (ref, loc), b in zip([*refs, (0, None)], [*bad, True], strict=True):
                if not b:
                    piece.append((ref, loc))
                    continue
                if len(piece) >= 2:
                    for r, lc in piece:
                        node.append(r)
                        lon.append(lc.lon)
                        lat.append(lc.lat)
                    ptr.append(len(node))
                    cls.append(hwy)
                    speed.append(spd)
                    oneway.append(ow)
                    drive_of.append(drives)
                    walk_of.append(walks)
                piece = []
    except RuntimeError as exc:  # pyosmium raises RuntimeError for unreadable files
        raise NetworkError(Msg("osm_unreadable", path=str(path), detail=str(exc))) from exc
    if broken_ways:
        notes.append(Msg("osm_broken_ways", file=path.name, ways=broken_ways,
                         nodes=missing_nodes))
    return _Ways(np.array(ptr, dtype=np.int64), np.array(node, dtype=np.int64),
                 np.array(lon), np.array(lat), cls, np.array(speed, dtype=float),
                 np.array(oneway, dtype=np.int8), drive=np.array(drive_of, dtype=bool),
                 walk=np.array(walk_of, dtype=bool))


#: Geometry types the catalogues name (``geomtype_*``).
_GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "LinearRing",
                   "Polygon", "MultiPolygon", "GeometryCollection")


def _read_lines(source: RoadSource, crs: CRS, settings: Settings,
                notes: list[str] | None = None) -> _Ways:
    """Road lines with a class or speed column, or a rural road register (timed by its grades,
    :mod:`emgis.roads.register`); lines meet where their ends meet."""
    notes = [] if notes is None else notes

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = pyogrio.read_dataframe(gdal_path(source.path))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise NetworkError(Msg("lines_unreadable", path=str(source.path),
                               detail=str(exc))) from exc
    if gdf.crs is None:
        if source.crs is None:
            raise NetworkError(Msg("lines_no_crs", path=str(source.path)))
        gdf = gdf.set_crs(source.crs)
    has_class = source.class_field in gdf
    has_speed = source.speed_field is not None and source.speed_field in gdf
    register = not has_class and not has_speed and is_register(gdf.columns)
    if register:
        net = settings.network
        timing = register_speeds(
            pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), derate=net.maxspeed_factor,
            speeds={k: float(v.value) for k, v in settings.speeds.items()},
            maxspeed_rule=net.maxspeed_rule,
            plausible_kph=(net.maxspeed_min_kph, net.maxspeed_max_kph),
            default_class=net.default_class, file=source.path.name)
        gdf = gdf.assign(_register_class=list(timing.classes),
                         _register_speed=np.asarray(timing.speed_kph, dtype=float))
        notes.extend(p.message for p in timing.problems)  # Msg: said in --lang
    elif not has_class and not has_speed:
        raise NetworkError(Msg("lines_no_class", path=str(source.path),
                               field=source.class_field))
    gdf = gdf.to_crs(crs)
    # features without a geometry are counted here: explode would drop them unsaid
    blank = (gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy(dtype=bool)
    gdf = gdf[~blank].explode(index_parts=False).reset_index(drop=True)
    keep = (gdf.geom_type == "LineString").to_numpy(dtype=bool)
    if blank.any() or not keep.all():
        what: list[Msg | str] = [Msg("geomtype_" + g) if g in _GEOMETRY_TYPES else str(g)
                                 for g in sorted(set(gdf.geom_type[~keep]))]
        if blank.any():
            what.append(Msg("lines_what_empty"))
        notes.append(Msg("lines_dropped", path=source.path.name,
                         n=int(blank.sum() + (~keep).sum()), what=tuple(what)))
    gdf = gdf[keep].reset_index(drop=True)
    if len(gdf) == 0:
        raise NetworkError(Msg("lines_none", path=str(source.path)))
    coords, index = shapely.get_coordinates(gdf.geometry.values, return_index=True)
    counts = np.bincount(index, minlength=len(gdf))
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # line ends meet where they coincide (to 0.1 m); inner vertices belong to their line
    is_end = np.zeros(len(coords), dtype=bool)
    is_end[ptr[:-1]] = True
    is_end[ptr[1:] - 1] = True
    key = np.round(coords[is_end], 1)
    _, end_id = np.unique(key, axis=0, return_inverse=True)
    node = np.empty(len(coords), dtype=np.int64)
    node[is_end] = end_id.ravel()
    node[~is_end] = int(end_id.max()) + 1 + np.arange(int((~is_end).sum()))
    if register:
        ways_ow = np.zeros(len(gdf), dtype=np.int8)
        return _Ways(ptr, node, coords[:, 0], coords[:, 1],
                     [str(c) for c in gdf["_register_class"]],
                     gdf["_register_speed"].to_numpy(dtype=float), ways_ow, projected=True)
    cls_col = gdf[source.class_field].astype("string") if has_class else None
    classes = [str(c) if cls_col is not None and c is not None and str(c) != "<NA>"
               else settings.network.default_class
               for c in (cls_col if cls_col is not None else [None] * len(gdf))]
    speeds = np.empty(len(gdf))
    for i, c in enumerate(classes):
        given = None
        if has_speed:
            with contextlib.suppress(TypeError, ValueError):
                given = float(gdf[source.speed_field].iloc[i])  # type: ignore[index]
        speeds[i] = given if given is not None and np.isfinite(given) and given > 0 else \
            settings.speed_kph(c)
    ow = np.zeros(len(gdf), dtype=np.int8)
    if source.oneway_field and source.oneway_field in gdf:
        text = gdf[source.oneway_field].astype("string").str.strip().str.lower()
        ow[text.isin(["yes", "1", "true", "t"]).to_numpy(dtype=bool)] = 1
        ow[(text == "-1").to_numpy(dtype=bool)] = -1
    return _Ways(ptr, node, coords[:, 0], coords[:, 1], classes, speeds, ow, projected=True)


def _finite(value: Any) -> bool:
    try:
        return bool(np.isfinite(float(value)) and float(value) >= 0)
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class RoadWays:
    """An OSM file's drivable (and walkable) ways, read once so that several districts can
    each build their network from it (a provincial road file in ``emgis batch``): pass it to
    :func:`build_network` as ``ways``."""

    path: Path
    network_key: str
    ways: _Ways
    notes: tuple[str, ...]


def read_road_ways(source: RoadSource, *, settings: Settings) -> RoadWays:
    """Read the drivable ways of an OSM road file (see :class:`RoadWays`).

    Raises
    ------
    NetworkError
        The file is missing, not OSM, or unreadable.
    """
    if not source.path.exists():
        raise NetworkError(Msg("roads_file_not_found", path=str(source.path)))
    if source.format != "osm":
        raise NetworkError(Msg("roads_shared_osm_only", path=str(source.path)))
    notes: list[str] = []
    ways = _read_osm(source.path, settings, notes)
    return RoadWays(source.path.resolve(), settings.network_key(), ways, tuple(notes))
