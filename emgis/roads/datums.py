"""Whether each point layer was declared in the datum it was written in.

A layer copied from AMap or Tencent (GCJ-02) or Baidu (BD-09) but left as WGS-84 lies a few
hundred metres off (523 m at 烈山), and every time near it is silently wrong. Once the roads are
read, every point layer inside China is compared with them as declared and under the other
readings (:func:`emgis.inputs.datum.datum_fit`); when another fits clearly better, the layer is
named with the figures and the line to add, as an error unless ``[district] datum_check`` says
``"warn"`` (or ``"off"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from emgis._arrays import ranges
from emgis.inputs.coords import in_china, wgs84_to_bd09, wgs84_to_gcj02
from emgis.inputs.datum import datum_fit
from emgis.inputs.problems import Level, Problem
from emgis.roads.cache import fingerprint, keep_beside, network_digest, read_beside
from emgis.texts import Msg

if TYPE_CHECKING:
    from emgis.inputs.district import District
    from emgis.roads.edges import EdgeArrays

#: Point layers compared with the roads.
POINT_LAYERS = ("villages", "teams", "stockpiles", "shelters", "warning_points", "candidates")


def road_lines(network: EdgeArrays, crs: object) -> gpd.GeoSeries:
    """Every road once (one direction of a two-way road) as lines in the network's CRS."""
    e = np.arange(len(network.u))
    e = e[(network.twin < 0) | (network.twin > e)]
    counts = network.vptr[e + 1] - network.vptr[e]
    idx = np.repeat(np.arange(len(e)), counts)
    pos = ranges(network.vptr[e], counts)
    coords = np.column_stack([network.vx[pos], network.vy[pos]])
    lines = shapely.linestrings(coords, indices=idx) if len(e) else np.array([], dtype=object)
    return gpd.GeoSeries(lines, crs=crs)


#: Version of the check a kept "fits" mark stands for (:func:`fits_as_kept`): bump it when
#: :func:`datum_problems` or :func:`emgis.inputs.datum.datum_fit` decide differently.
CHECK_FORMAT = 1


def _fits_name(district: District, network: EdgeArrays) -> str:
    """The name of the mark kept beside the network cache when these point layers, as
    declared, fit these roads: the digest of everything the check reads (the roads, by their
    arrays' checksum, each layer's geometry types and coordinates, the declared datums, the
    check's level, the CRS and the check's version)."""
    arrays: list[np.ndarray] = []
    for layer in POINT_LAYERS:
        geoms = getattr(district, layer).geometry.to_numpy()
        arrays += [shapely.get_type_id(geoms).astype(np.int64), shapely.get_coordinates(geoms)]
    crs = CRS.from_user_input(district.crs).to_wkt() if district.crs is not None else ""
    extra = repr((CHECK_FORMAT, network_digest(network), POINT_LAYERS,
                  sorted(district.datums.items()), district.datum_check, crs))
    return "datums-" + fingerprint(*arrays, extra=extra) + ".fit"


def fits_as_kept(district: District, network: EdgeArrays, *, cache: Path | None) -> bool:
    """Whether an earlier check of these very layers against these very roads found that
    every layer fits as declared, and kept that beside the network cache ``cache``
    (:func:`datum_problems` with ``cache``): the check need not run again."""
    return cache is not None and _fits(cache, _fits_name(district, network))


def _fits(cache: Path, name: str) -> bool:
    return read_beside(cache, name) == "fit"


def datum_problems(district: District, network: EdgeArrays, *,
                   cache: Path | None = None) -> list[Problem]:
    """A problem for every point layer that fits the roads clearly better in another datum.

    Parameters
    ----------
    district
        The district (its layers in its metric CRS, and the datum each was declared in).
    network
        Its road network.
    cache
        The network cache the network was read from: when every layer fits, that is kept
        beside it (:func:`fits_as_kept`), and a check found kept there is not run again (the
        check took 0.35 s of CPU on a county at every run, seconds on a province). A finding
        is never kept: it is made again, and said, at every run.

    Returns
    -------
    list of Problem
        Errors (or warnings with ``[district] datum_check = "warn"``) naming the layer's file,
        the median distance to the roads as declared and as the better datum, the shift, and the
        ``crs`` line to add; empty outside China or with ``datum_check = "off"``.
    """
    if district.datum_check == "off" or len(network.u) == 0:
        return []
    mark: str | None = None  # the name of the "fits" mark, found once
    if cache is not None:
        mark = _fits_name(district, network)
        if _fits(cache, mark):
            return []
    level: Level = "warning" if district.datum_check == "warn" else "error"
    reuse: dict[object, object] = {}  # the roads in degrees and their index, made once
    out: list[Problem] = []
    for layer in POINT_LAYERS:
        gdf = getattr(district, layer)
        if len(gdf) == 0 or layer not in district.datums:
            continue
        pts = gdf.geometry[gdf.geometry.notna()]
        pts = pts[pts.geom_type == "Point"].to_crs(4326)
        if len(pts) == 0:
            continue
        lon, lat = pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)
        if not in_china(lon, lat).mean() > 0.5:
            continue
        declared = district.datums[layer]
        if declared == "GCJ-02":
            lon, lat = wgs84_to_gcj02(lon, lat)
        elif declared == "BD-09":
            lon, lat = wgs84_to_bd09(lon, lat)
        if not reuse and district.crs is not None:
            # the network's own index where the check measures in the district's CRS (the
            # usual case: both chosen for the same place; snapping uses the same index),
            # instead of the roads taken to degrees and back
            reuse[("tree", CRS.from_user_input(district.crs).to_wkt())] = network.tree
        fit = datum_fit(lon, lat, lambda: road_lines(network, district.crs),
                        declared=declared, reuse=reuse)
        if fit.better is None or fit.best is None:
            continue
        file = _file_of(district, layer)
        out.append(Problem(level, file, Msg(
            "datum_layer", layer=Msg(f"layer.{layer}"), declared=declared, best=fit.best,
            declared_m=round(fit.readings[declared].median_m),
            best_m=round(fit.readings[fit.best].median_m), shift_m=round(fit.shift_m),
            line=fit.better), field="crs"))
    if not out and mark is not None:
        keep_beside(cache, mark, "fit")
    return out


def _file_of(district: District, layer: str) -> str:
    return district.layer_files.get(layer, layer)
