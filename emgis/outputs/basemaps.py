"""Background tiles of a map (OpenStreetMap, Tianditu, AMap or none) and the GCJ-02 shift an
AMap background needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from emgis.inputs.coords import wgs84_to_gcj02
from emgis.inputs.schema import tianditu_key
from emgis.outputs.style import CREDIT
from emgis.texts import Texts


@dataclass(frozen=True)
class Tiles:
    """One tile layer of a basemap: URL template, subdomains, attribution, zoom range."""

    url: str
    subdomains: str
    attribution: str
    max_zoom: int = 18


#: Basemaps: tile layers (drawn in order) and whether they are in GCJ-02.
_TDT = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        "&TILECOL={x}&tk={tk}")
_AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style={style}" \
    "&x={x}&y={y}&z={z}"
_AMAP_SAT = "https://webst0{s}.is.autonavi.com/appmaptile?style={style}&x={x}&y={y}&z={z}"
BASEMAPS: dict[str, tuple[tuple[tuple[str, str, str], ...], bool]] = {
    "osm": ((("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "", "osm"),), False),
    "tianditu-vec": (((_TDT.replace("{layer}", "vec"), "01234567", "tianditu"),
                      (_TDT.replace("{layer}", "cva"), "01234567", "tianditu")), False),
    "tianditu-img": (((_TDT.replace("{layer}", "img"), "01234567", "tianditu"),
                      (_TDT.replace("{layer}", "cia"), "01234567", "tianditu")), False),
    "amap": (((_AMAP.replace("{style}", "8"), "1234", "amap"),), True),
    "amap-satellite": (((_AMAP_SAT.replace("{style}", "6"), "1234", "amap"),
                        (_AMAP_SAT.replace("{style}", "8"), "1234", "amap")), True),
    "none": ((), False),
}

def basemap_tiles(basemap: str, t: Texts, *, key: str = "") -> list[dict[str, Any]]:
    """The tile layers of a basemap as the map script reads them (URL templates, subdomains,
    attribution, and the Tianditu key for ``{tk}``)."""
    layers, _ = BASEMAPS[basemap]
    out = []
    for url, sub, who in layers:
        attr = CREDIT if who == "osm" else t[f"basemap.attr_{who}"]
        spec: dict[str, Any] = {"url": url, "sub": sub, "attr": attr, "max": 18}
        if who == "tianditu":
            spec["tk"] = tianditu_key(key)
        out.append(spec)
    return out


def is_gcj02(basemap: str) -> bool:
    """Whether a basemap's tiles are in GCJ-02 (every overlay must be shifted)."""
    return BASEMAPS[basemap][1]


def display_frame(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, gcj02: bool = False
                  ) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Geometries in the map's coordinates: WGS-84 longitude/latitude, shifted to GCJ-02 for
    GCJ-02 basemaps (points outside China are not shifted)."""

    out = gdf.to_crs(4326)
    if not gcj02 or not len(out):
        return out

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    geoms = shapely.transform(np.asarray(out.geometry.values, dtype=object), shift)
    if isinstance(out, gpd.GeoSeries):
        return gpd.GeoSeries(geoms, index=out.index, crs=4326)
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=4326))
