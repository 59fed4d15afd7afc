"""Interactive maps: one self-contained HTML file each, usable offline, and the report's static
overview.

folium is imported only inside the functions that draw. Leaflet's JavaScript and CSS are inlined
from a copy shipped with emgis (``emgis/_static``, Leaflet 1.9.4, BSD-2-Clause), so a map opens
with no internet; the roads (by class) and township boundaries are drawn as vector layers, so it
reads with no background tiles at all.

Background tiles follow ``[maps] basemap``: OpenStreetMap, Tianditu (vector or imagery, with a
key), AMap (map or imagery) or none. AMap tiles are in GCJ-02, so with an AMap basemap every
layer is shifted from WGS-84 to GCJ-02 before it is drawn (:func:`display_frame`); Tianditu and
OpenStreetMap are WGS-84 and nothing is shifted.

Input text never becomes part of a template. folium renders each element's output again as a
Jinja template, so any text it is given would be evaluated; emgis therefore gives folium only
the page's skeleton (the map and its bounds) and puts every feature, name and id, the layer
panel and the tile definitions in one JSON data block inserted *after* rendering, escaped for
its ``<script type="application/json">`` context. The shipped script ``emgis-map.js`` draws
from it (layers in panes, a grouped layer panel, village clusters at low zoom and names from
``[maps] label_zoom``) and escapes every text it shows. Titles and legends are inserted after
rendering too, HTML-escaped. Every word is the language's catalogue's (:mod:`emgis.texts`).
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from emgis.analysis.coverage import STATUSES, CoverageResult, target_of
from emgis.inputs.district import District
from emgis.inputs.schema import tianditu_key
from emgis.roads.network import EdgeArrays
from emgis.texts import Texts, texts

CREDIT = "© OpenStreetMap contributors"

#: Colour of each kind's unit marker (its glyph is the catalogue's ``glyph`` section).
KIND_COLOURS: dict[str, str] = {
    "micro_fire_station": "#d7301f", "fire_station": "#990000",
    "township_fire_brigade": "#b30000", "township_rescue_team": "#0868ac",
    "village_team": "#43a2ca", "forest_fire_team": "#238b45", "medical": "#c51b8a",
    "enterprise_brigade": "#7a0177", "stockpile": "#8c510a", "shelter_emergency": "#35978f",
    "shelter_fixed": "#01665e", "social_rescue_team": "#4d4d4d",
}


def icon_of(kind: str, lang: str) -> tuple[str, str]:
    """Glyph and colour of a kind's marker in a language."""
    return texts(lang).get("glyph", kind, "?"), KIND_COLOURS.get(kind, "#555")


def label_of(kind: str, lang: str) -> str:
    """A kind's name in a language."""
    return texts(lang).kind(kind)


#: Response-time classes of a village for a kind, with their colours.
CLASS_COLOURS: dict[str, str] = {
    "covered": "#1a9850",
    "over_target": "#fdae61",
    "far_over": "#d73027",
    "cut_off": "#542788",
    "no_road_access": "#737373",
    "no_unit": "#bdbdbd",
}

#: Scenario map colours: villages (circles) and shelters (square pins), no colour shared.
SCENARIO_COLOURS: dict[str, str] = {
    "island": "#542788", "lost": "#d73027", "kept": "#1a9850",
    "zone_closed": "#b2182b", "zone_slowed": "#ef8a62", "road_closed": "#67001f",
    "road_slowed": "#f46d43", "evac": "#2166ac",
    "shelter_room": "#4393c3", "shelter_half": "#35978f", "shelter_full": "#1b1b1b",
    "shelter_unusable": "#969696",
}

#: Colours of neighbouring units' zones (a qualitative palette, cycled).
ZONE_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
                "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99")

#: Siting map colours.
SITING_COLOURS: dict[str, str] = {"before": "#1a9850", "new": "#2166ac", "out": "#d73027",
                                  "proposal": "#6a3d9a"}


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


def display_frame(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, gcj02: bool = False) -> Any:
    """Geometries in the map's coordinates: WGS-84 longitude/latitude, shifted to GCJ-02 for
    GCJ-02 basemaps (points outside China are not shifted)."""
    from emgis.inputs.coords import wgs84_to_gcj02

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


_CDN = re.compile(r'<script src="(https?://[^"]+)"></script>|'
                  r'<link rel="stylesheet" href="(https?://[^"]+)"\s*/?>')


def _static(name: str) -> bytes:
    return resources.files("emgis").joinpath("_static", name).read_bytes()


def inline_assets(page: str) -> str:
    """Replace the Leaflet CDN links of a folium page by the shipped copies, inline.

    Raises
    ------
    RuntimeError
        The page links another remote script or stylesheet (the map would not work offline).
    """
    js = _static("leaflet.js").decode("utf-8")
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    css = _static("leaflet.css").decode("utf-8")
    layers = base64.b64encode(_static("layers.png")).decode("ascii")
    css = css.replace("url(images/layers.png)", f"url(data:image/png;base64,{layers})")

    def repl(m: re.Match[str]) -> str:
        url = m.group(1) or m.group(2)
        if url.endswith("leaflet.js"):
            return "<script>" + js.replace("</script", "<\\/script") + "</script>"
        if url.endswith("leaflet.css"):
            return "<style>" + css + "</style>"
        raise RuntimeError(f"map links a remote asset {url}; it would not work offline")

    return _CDN.sub(repl, page)


def script_json(data: Any) -> str:
    """JSON safe inside an HTML ``<script>`` element: ``<``, ``>``, ``&`` and the line
    separators U+2028/2029 are written as ``\\u`` escapes, so no text in the data can close
    the element or be read as markup."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _esc(text: object) -> str:
    """Text from input made safe for HTML inserted into a page after rendering."""
    return html.escape(str(text))


def map_geometry(geom: Any, *, tolerance_m: float = 15.0) -> Any:
    """A polygon simplified for display (metres, before reprojection)."""
    from emgis.analysis.coverage import polygonal

    return polygonal(shapely.simplify(geom, tolerance_m, preserve_topology=True))


def _fmt(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.1f}"


def response_class(nearest_min: float, target: float, status: str) -> str:
    """Colour class of a village: covered, over_target (up to 2x), far_over, or its status."""
    if status in ("covered", "cut_off", "no_road_access", "no_unit"):
        return status
    return "over_target" if nearest_min <= 2 * target else "far_over"


def credit_of(district: District) -> str:
    """The map-data credit: ``[district] credit``, else the OSM credit when the roads are
    OpenStreetMap data, else none."""
    if district.credit:
        return district.credit
    if district.roads is not None and district.roads.format == "osm":
        return CREDIT
    return ""


def _xy(geoms: Any) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(geoms, dtype=object)
    if not len(g):
        return np.zeros(0), np.zeros(0)
    return np.round(shapely.get_x(g), 6), np.round(shapely.get_y(g), 6)


def _geojson_geom(g: Any, ndigits: int = 5) -> dict[str, Any]:
    """A geometry (map coordinates) as GeoJSON with its coordinates rounded (1 m at 5
    digits)."""
    kind = int(shapely.get_type_id(g))
    if kind in (0, 1):  # a point or a line (most features): straight from its coordinates
        xy = np.round(shapely.get_coordinates(g), ndigits).tolist()
        if kind == 1:
            return {"type": "LineString", "coordinates": xy}
        return {"type": "Point", "coordinates": xy[0] if xy else []}
    rounded = shapely.transform(g, lambda xy: np.round(xy, ndigits))
    gj: dict[str, Any] = json.loads(shapely.to_geojson(rounded))
    return {"type": gj["type"], "coordinates": gj["coordinates"]}


#: Road classes drawn on every map, in order of importance, and their line style.
ROAD_STYLE: tuple[tuple[tuple[str, ...], str, float], ...] = (
    (("motorway", "motorway_link", "trunk", "trunk_link"), "#c0392b", 3.0),
    (("primary", "primary_link"), "#e67e22", 2.5),
    (("secondary", "secondary_link", "tertiary", "tertiary_link"), "#d4ac0d", 2.0),
    (("unclassified", "residential", "living_street", "road", "busway"), "#7f8c8d", 1.2),
    (("service", "track"), "#a6acaf", 1.0),
)
#: Most vertices of the road layer of one map (larger networks draw their major roads only).
MAX_ROAD_VERTICES = 250_000

_ROAD_CACHE: dict[tuple[int, bool], list[dict[str, Any]]] = {}


def _road_features(network: EdgeArrays, crs: Any, gcj02: bool) -> list[dict[str, Any]]:
    """The roads as one simplified multiline per class group, major roads first, within
    :data:`MAX_ROAD_VERTICES` (cached per road geometry: a scenario's network shares it)."""
    from pyproj import Transformer

    from emgis.inputs.coords import wgs84_to_gcj02

    key = (id(network.vx), gcj02)
    if key in _ROAD_CACHE:
        return _ROAD_CACHE[key]
    once = (network.twin < 0) | (np.arange(network.n_edges) < network.twin)
    first_class = np.array(network.classes, dtype=object)[network.vclass[network.vptr[:-1]]] \
        if network.classes else np.array([], dtype=object)
    x0, x1 = (float(network.vx.min()), float(network.vx.max())) if len(network.vx) else (0, 1)
    y0, y1 = (float(network.vy.min()), float(network.vy.max())) if len(network.vy) else (0, 1)
    tol = max(5.0, max(x1 - x0, y1 - y0) / 4000.0)
    to_wgs = Transformer.from_crs(crs, 4326, always_xy=True)
    feats: list[dict[str, Any]] = []
    budget = MAX_ROAD_VERTICES
    for classes, colour, weight in ROAD_STYLE:
        sel = np.flatnonzero(once & np.isin(first_class, classes))
        if not len(sel):
            continue
        simple = shapely.simplify(network.geometry[sel], tol)  # each edge on its own
        xy, idx = shapely.get_coordinates(simple, return_index=True)
        if len(xy) > budget:
            break
        budget -= len(xy)
        lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
        if gcj02:
            lon, lat = wgs84_to_gcj02(lon, lat)
        cuts = np.flatnonzero(np.diff(idx)) + 1
        parts = np.split(np.column_stack([np.round(lon, 5), np.round(lat, 5)]), cuts)
        feats.append({"g": {"type": "MultiLineString",
                            "coordinates": [p.tolist() for p in parts if len(p) >= 2]},
                      "c": colour, "w": weight})
    _ROAD_CACHE.clear()
    _ROAD_CACHE[key] = feats
    return feats


_PRINT_CSS = """
.emgis-label{font:11px/1.1 "Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#111;
 white-space:nowrap;text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff;pointer-events:none}
.emgis-cluster{border-radius:50%;border:2px solid #fff;box-shadow:0 0 3px #000;
 text-align:center;font:bold 11px sans-serif;color:#fff;text-shadow:0 0 2px #000}
#emgis-panel{background:rgba(255,255,255,.95);border:1px solid #888;border-radius:4px;
 font:12px sans-serif;max-height:calc(100vh - 90px);overflow:auto;min-width:190px;max-width:300px}
#emgis-panel .head{padding:4px 8px;cursor:pointer;font-weight:bold;user-select:none}
#emgis-panel .body{padding:0 8px 6px}
#emgis-panel .sec{margin-top:6px;font-weight:bold;color:#333}
#emgis-panel label{display:block;margin:1px 0;white-space:nowrap;cursor:pointer}
#emgis-panel .sub{margin-left:18px}
@media print{
 @page{size:PAPER landscape;margin:8mm}
 html,body{width:100%;height:100%;margin:0}
 .folium-map{position:absolute!important;left:0!important;top:0!important;bottom:0!important;
  right:64mm!important;width:auto!important;height:auto!important}
 #emgis-legend{position:absolute!important;top:0!important;right:0!important;left:auto!important;
  bottom:auto!important;width:60mm;max-height:none!important;overflow:visible!important;
  border:none!important;box-shadow:none!important}
 #emgis-title{position:absolute!important;left:8px!important;top:8px!important}
 #emgis-panel,.leaflet-control-zoom{display:none!important}
 #emgis-print-note{display:block!important}
}
"""


@dataclass
class _Page:
    """A folium map skeleton whose layers, panel and tiles come from one JSON block."""

    district: District
    lang: str
    title: str
    basemap: str | None = None
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    panel: list[dict[str, Any]] = field(default_factory=list)
    villages: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    scripts: list[str] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)
    m: Any = None

    def __post_init__(self) -> None:
        import folium

        ms = self.district.settings.maps
        self.basemap = ms.basemap if self.basemap is None else self.basemap
        self.t = texts(self.lang)
        self.gcj02 = is_gcj02(self.basemap)
        self.tiles = basemap_tiles(self.basemap, self.t, key=ms.tianditu_key)
        self.m = folium.Map(tiles=None, control_scale=False, prefer_canvas=False)
        self.m.default_js = [
            ("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js")]
        self.m.default_css = [
            ("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css")]
        self._raw("header", f"<title>{_esc(self.title)}</title><meta charset=\"utf-8\">"
                  f"<style>{_PRINT_CSS.replace('PAPER', self.district.settings.report.paper)}"
                  "</style>")
        self.base: list[dict[str, Any]] = []

    def display(self, gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> Any:
        """Geometries in this map's coordinates (WGS-84, or GCJ-02 for AMap)."""
        return display_frame(gdf, gcj02=self.gcj02)

    def _raw(self, where: str, content: str) -> None:
        """Put ``content`` into the page's header or body after rendering (see module doc)."""
        import folium

        token = f"<!--emgis-slot-{len(self.slots)}-->"
        self.slots[token] = content
        getattr(self.m.get_root(), where).add_child(folium.Element(token))

    def fit(self, gdf: gpd.GeoDataFrame) -> None:
        """Open on the bounds of these geometries."""
        b = self.display(gdf).total_bounds if len(gdf) else np.full(4, np.nan)
        x0, y0, x1, y1 = (float(v) for v in b)
        if not np.isfinite([x0, y0, x1, y1]).all():
            x0, y0, x1, y1 = -1.0, -1.0, 1.0, 1.0
        self.m.fit_bounds([[y0, x0], [y1, x1]])

    def add(self, layer_id: str, spec: dict[str, Any]) -> str:
        """A layer (drawn when the panel shows it): ``spec`` holds ``type`` (points, pins,
        lines, areas, villages), its ``pane`` and ``features``; texts in it are data."""
        self.layers[layer_id] = spec
        return layer_id

    def section(self, title: str, items: list[dict[str, Any]]) -> None:
        """A section of the layer panel: items are ``check`` or ``radio`` (with ``group``),
        with a ``label``, the ``layers`` they show, ``on``, and optional ``sub`` items shown
        under a selected radio."""
        self.panel.append({"title": title, "items": items})

    def set_villages(self, villages: gpd.GeoDataFrame, *, pops: list[Any] | None = None
                     ) -> None:
        """The villages every village layer colours (positions, names for labels and
        clusters, popups)."""
        v = self.display(villages)
        vx, vy = _xy(v.geometry.values)
        ms = self.district.settings.maps
        self.villages = {"x": vx.tolist(), "y": vy.tolist(),
                         "label": [str(n) for n in villages[
                             "name" if "name" in villages else "village_name"]],
                         "pop": pops, "labelZoom": float(ms.label_zoom),
                         "clusterAbove": int(ms.cluster_above)}

    def base_layers(self, network: EdgeArrays | None) -> None:
        """Roads (by class), township boundaries and village names: the map reads with no
        tiles at all."""
        t = self.t
        items = []
        if network is not None and network.n_edges:
            self.add("roads", {"type": "lines", "pane": "emgisRoads", "opacity": 0.8,
                               "features": _road_features(network, self.district.crs,
                                                          self.gcj02)})
            items.append({"type": "check", "label": t["map.roads"], "layers": ["roads"],
                          "on": True})
        towns = self.district.townships
        if len(towns):
            tw = towns[["name", "geometry"]].copy()
            tw["geometry"] = [map_geometry(g, tolerance_m=0) if g is not None else g
                              for g in tw.geometry]
            tw = self.display(tw)
            feats = [{"g": _geojson_geom(geom), "tip": str(name)}
                     for name, geom in zip(tw["name"], tw.geometry, strict=True)
                     if geom is not None and not geom.is_empty]
            self.add("townships", {"type": "areas", "pane": "emgisAreas", "color": "#444",
                                   "weight": 2, "fill": False, "dashArray": "6 4",
                                   "features": feats})
            items.append({"type": "check", "label": t["map.townships"],
                          "layers": ["townships"], "on": True})
        if self.villages is not None:
            self.add("labels", {"type": "labels"})
            items.append({"type": "check", "label": t.fmt(
                "map.labels", z=f"{self.villages['labelZoom']:g}"), "layers": ["labels"],
                "on": True})
        self.base = items

    def legend(self, rows: list[tuple[str, str, str]], *, title: str) -> None:
        """The legend: (shape, colour, label) rows; shape 'dot', 'area', 'line', 'pie' or a
        glyph; the map-data credit below."""
        items = []
        for shape, colour, label in rows:
            if shape == "dot":
                sw = (f'<span style="display:inline-block;width:12px;height:12px;'
                      f'border-radius:6px;background:{colour};border:1px solid #333;'
                      f'margin-right:6px;flex:none"></span>')
            elif shape == "area":
                sw = (f'<span style="display:inline-block;width:14px;height:10px;'
                      f'background:{colour};opacity:.5;border:1px solid {colour};'
                      f'margin-right:6px;flex:none"></span>')
            elif shape == "line":
                sw = (f'<span style="display:inline-block;width:16px;height:0;'
                      f'border-top:3px dashed {colour};margin-right:6px;flex:none"></span>')
            elif shape == "pie":
                sw = ('<span style="display:inline-block;width:16px;height:16px;'
                      'border-radius:8px;background:conic-gradient(#1a9850 0 50%,#fdae61 50% '
                      '75%,#d73027 75% 100%);margin-right:6px;flex:none"></span>')
            else:
                sw = _glyph_html(shape, colour, size=16) + '<span style="margin-right:6px">' \
                    "</span>"
            items.append(f'<div style="display:flex;align-items:center;margin:2px 0">{sw}'
                         f"{_esc(label)}</div>")
        credit = credit_of(self.district)
        tiles = sorted({sp["attr"] for sp in self.tiles} - {credit})
        note = " · ".join([*([f"{self.t['map.map_data']}: {credit}"] if credit else []),
                           *tiles])
        box = (
            '<div id="emgis-legend" style="position:fixed;bottom:56px;left:10px;z-index:1000;'
            'background:rgba(255,255,255,.93);padding:6px 8px;border:1px solid #888;'
            'border-radius:4px;font:11px sans-serif;max-height:45vh;overflow:auto;'
            'max-width:260px">'
            f"<b>{_esc(title)}</b>{''.join(items)}"
            f'<div style="margin-top:6px;color:#555">{_esc(note)}</div>'
            f'<div id="emgis-print-note" style="display:none;margin-top:6px;color:#555">'
            f'{_esc(self.t["map.print_note"])}</div></div>'
        )
        self._raw("html", box)

    def heading(self, title: str, subtitle: str) -> None:
        """The title box at the top left."""
        self._raw("html",
                  '<div id="emgis-title" style="position:fixed;top:10px;left:60px;z-index:1000;'
                  'background:rgba(255,255,255,.93);padding:4px 10px;border:1px solid #888;'
                  'border-radius:4px;font:13px sans-serif;max-width:calc(100vw - 420px)"><b>'
                  + _esc(title) + "</b><br>" + _esc(subtitle) + "</div>")

    def render(self) -> str:
        """The page: skeleton rendered by folium, then the data block and texts put in."""
        t = self.t
        self._raw("header", "")
        token = list(self.slots)[-1]
        _stable_ids(self.m)
        tile_items = []
        if self.tiles:
            tile_items.append({"type": "radio", "group": "tiles",
                               "label": t[f"basemap.{self.basemap}"], "tiles": True,
                               "on": True})
        tile_items.append({"type": "radio", "group": "tiles", "label": t["map.no_basemap"],
                           "on": not self.tiles, "layers": []})
        panel = [{"title": t["map.basemap"], "items": tile_items}]
        if self.base:
            panel.append({"title": t["map.base_layers"], "items": self.base})
        data = {"map": self.m.get_name(), "tiles": self.tiles, "layers": self.layers,
                "panel": panel + self.panel, "villages": self.villages,
                "texts": {"layers": t["map.layers"], "cluster": t["map.cluster_tip"],
                          "names": {}}, **self.extra}
        js = "</script><script>".join(_static(name).decode("utf-8")
                                      for name in ["emgis-map.js", *self.scripts])
        self.slots[token] = ('<script type="application/json" id="emgis-data">'
                             + script_json(data) + "</script><script>" + js + "</script>")
        page = inline_assets(self.m.get_root().render())
        for token, content in self.slots.items():
            page = page.replace(token, content, 1)
        return page


def _stable_ids(m: Any) -> None:
    """Number folium's elements in tree order instead of its random ids (same input, same
    file)."""
    counter = [0]

    def walk(el: Any) -> None:
        counter[0] += 1
        el._id = f"{counter[0]:04d}"
        for child in el._children.values():
            walk(child)

    walk(m.get_root())


def _glyph_html(glyph: str, colour: str, *, size: int = 22) -> str:
    return (f'<div style="width:{size}px;height:{size}px;line-height:{size}px;'
            f'background:{colour};color:#fff;border:2px solid #fff;border-radius:4px;'
            f'box-shadow:0 0 2px #000;text-align:center;font:bold {int(size * 0.6)}px '
            f'sans-serif;flex:none">{_esc(glyph)}</div>')


def _words(t: Texts, *parts: str) -> str:
    """Words joined as the language joins them (no spaces in Chinese)."""
    return ("" if t.lang == "zh" else " ").join(parts)


def _class_layer(classes: list[str], palette: dict[str, str], names: dict[str, str], *,
                 edges: list[int] | None = None, edge_colours: tuple[str, ...] = ("#000",),
                 tips: list[str] | None = None) -> dict[str, Any]:
    """A village layer: each village's class (an index into the palette)."""
    keys = list(palette)
    pos = {k: i for i, k in enumerate(keys)}
    spec: dict[str, Any] = {"type": "villages", "pane": "emgisVillages", "radius": 7,
                            "c": [pos[c] for c in classes],
                            "palette": [palette[k] for k in keys],
                            "names": [names[k] for k in keys]}
    if edges is not None:
        spec["o"] = edges
        spec["edges"] = list(edge_colours)
    if tips is not None:
        spec["tips"] = tips
    return spec


def coverage_map(
    result: CoverageResult,
    areas: gpd.GeoDataFrame,
    district: District,
    *,
    lang: str = "en",
    kinds: tuple[str, ...] | None = None,
    basemap: str | None = None,
    zones: gpd.GeoDataFrame | None = None,
) -> str:
    """Draw the coverage map and return the page as HTML.

    Parameters
    ----------
    result
        Coverage of every village (:func:`emgis.analysis.coverage.compute_coverage`).
    areas
        Service areas (:func:`emgis.analysis.coverage.service_areas`); kind-level areas are drawn.
    district
        The district, for townships, names and ``[maps]`` settings.
    lang
        ``"en"`` or ``"zh"``.
    kinds
        Kinds to draw (default: those with at least one unit); the first is shown on opening.
    basemap
        Background tiles (default ``[maps] basemap``); ``"none"`` for none.
    zones
        Each unit's zone (:func:`emgis.analysis.zones.unit_zones`), drawn per kind on request.

    Returns
    -------
    str
        A self-contained HTML page: a grouped layer panel (a section per kind, its service
        area breaks as radio buttons), villages coloured by the response time of the kind
        chosen (clustered at low zoom above ``[maps] cluster_above`` villages, named from
        ``[maps] label_zoom``), popups naming the nearest and backup unit with their times.
    """
    t = texts(lang)
    table = result.table
    units = result.units
    if kinds is None:
        kinds = tuple(k for k in result.kinds if (units["kind"] == k).any())
    page = _Page(district, lang, f"{district.name} – {t['map.title']}", basemap)
    page.fit(result.villages)
    page.set_villages(result.villages, pops=_popups(table, result.villages, units, t))
    page.base_layers(result.edges)
    kind_areas = areas[areas["scope"] == "kind"].copy() if len(areas) else areas
    if len(kind_areas):
        kind_areas["geometry"] = [map_geometry(g) for g in kind_areas.geometry]
        kind_areas = page.display(kind_areas)
    udisp = page.display(units)
    names = {c: t.status(c) for c in CLASS_COLOURS}
    items = []
    for i, kind in enumerate(kinds):
        label = label_of(kind, lang)
        target = target_of(kind, district.settings)
        rows = table[table["kind"] == kind]
        classes = [response_class(n, target, s) for n, s in
                   zip(rows["nearest_min"], rows["status"], strict=True)]
        gaps = [0 if s == "covered" else 1 for s in rows["status"]]
        vid = page.add(f"v{i}", _class_layer(classes, CLASS_COLOURS, names, edges=gaps,
                                              edge_colours=("#000", "#b2182b")))
        glyph, colour = icon_of(kind, lang)
        u = udisp[udisp["kind"] == kind]
        ux, uy = _xy(u.geometry.values)
        uid_ = page.add(f"u{i}", {"type": "pins", "className": "emgis-unit", "features": [
            {"x": ux[j], "y": uy[j], "glyph": glyph, "c": colour,
             "tip": t.fmt("map.unit_tip", kind=label, name=f"{name} ({uid})"),
             "pop": {"title": f"{label}: {name} ({uid})",
                     "lines": [f"{t['map.turnout']}: {turn:g} {t['unit.min']}"]}}
            for j, (uid, name, turn) in enumerate(zip(u["id"], u["name"], u["turnout_min"],
                                                      strict=True))]})
        sub = [{"type": "check", "label": t["map.unit_layer"], "layers": [uid_], "on": True}]
        if zones is not None and len(zones):
            zk = zones[(zones["kind"] == kind) & ~zones.geometry.is_empty]
            if len(zk):
                zd = page.display(zk)
                zid = page.add(f"z{i}", {
                    "type": "areas", "pane": "emgisAreas", "weight": 1.5, "fillOpacity": 0.28,
                    "features": [{"g": _geojson_geom(g), "c": ZONE_COLOURS[j % len(ZONE_COLOURS)],
                                  "tip": t.fmt("map.zone_tip", unit=f"{r.unit_name} ({r.unit_id})",
                                               villages=r.villages, persons=f"{r.population:,}",
                                               longest=_fmt(r.longest_min))}
                                 for j, (g, r) in enumerate(zip(zd.geometry, zk.itertuples(
                                     index=False), strict=True))]})
                sub.append({"type": "check", "label": t["map.zones_layer"], "layers": [zid],
                            "on": False})
        ka = kind_areas[kind_areas["kind"] == kind] if len(kind_areas) else kind_areas
        breaks = sorted(ka["break_min"].unique()) if len(ka) else []
        area_items = [{"type": "radio", "group": f"areas{i}", "label": t["map.no_area"],
                       "layers": [], "on": bool(target not in breaks)}]
        for b in breaks:
            geom = ka[ka["break_min"] == b].geometry.iloc[0]
            if geom is None or geom.is_empty:
                continue
            aid = page.add(f"a{i}_{b:g}", {
                "type": "areas", "pane": "emgisAreas", "color": "#2c7fb8", "weight": 1,
                "fillColor": "#41b6c4", "fillOpacity": 0.25, "features": [
                    {"g": _geojson_geom(geom)}]})
            area_items.append({"type": "radio", "group": f"areas{i}",
                               "label": t.fmt("map.area_break", b=f"{b:g}"),
                               "layers": [aid], "on": bool(b == target)})
        items.append({"type": "radio", "group": "kind", "label": label, "layers": [vid],
                      "on": i == 0, "sub": sub + area_items})
    page.section(t["map.colour_by"], items)
    first = label_of(kinds[0], lang) if kinds else ""
    page.heading(f"{district.name} · {t['map.title']}",
                 f"{t['map.shown']}: {first} (≤ {target_of(kinds[0], district.settings):g} "
                 f"{t['unit.min']})" if kinds else "")
    legend = [("dot", CLASS_COLOURS[c], names[c]) for c in CLASS_COLOURS]
    legend += [("pie", "", t["map.cluster"]), ("area", "#41b6c4", t["map.areas"])]
    legend += [(*icon_of(k, lang), label_of(k, lang)) for k in kinds]
    page.legend(legend, title=t["map.legend"])
    return page.render()


def _popups(table: pd.DataFrame, villages: gpd.GeoDataFrame, units: gpd.GeoDataFrame,
            t: Texts) -> list[dict[str, Any]]:
    """Per village (input order): its times to every kind, nearest and backup unit named."""
    if len(table) == 0:
        return [{"title": f"{n} ({i})"} for n, i in zip(villages["name"], villages["id"],
                                                        strict=True)]
    n_v = len(villages)
    kinds = list(dict.fromkeys(table["kind"]))
    rows_by_v: list[list[dict[str, Any]]] = [[] for _ in range(n_v)]
    for kind in kinds:
        rows = table[table["kind"] == kind]
        label = t.kind(kind)
        social = rows["social_name"] if "social_name" in rows else pd.Series(None, rows.index)
        social_min = rows["social_min"] if "social_min" in rows else pd.Series(np.nan,
                                                                             rows.index)
        for k, r in enumerate(zip(rows["nearest_name"], rows["nearest_min"],
                                  rows["second_name"], rows["second_min"], rows["target_min"],
                                  rows["status"], social, social_min, strict=True)):
            nname, nmin, sname, smin, target, status, soc, socmin = r
            cls = response_class(nmin, target, status)
            near = f"{nname} {_fmt(nmin)}" if isinstance(nname, str) else "–"
            back = f"{sname} {_fmt(smin)}" if isinstance(sname, str) else "–"
            extra = f"{soc} {_fmt(socmin)}" if isinstance(soc, str) else "–"
            rows_by_v[k].append({"cells": [label, near, back, extra, f"{target:g}",
                                           t.status(cls)], "colour": CLASS_COLOURS[cls]})
    first = table[table["kind"] == kinds[0]]
    out = []
    for k, (vid, vname, town, pop) in enumerate(first[["village_id", "village_name", "township",
                                                       "population"]].itertuples(
                                                           index=False, name=None)):
        out.append({"title": f"{vname} ({vid})",
                    "lines": [f"{t['map.township']}: {town if pd.notna(town) else '–'} · "
                              f"{t['map.population']}: {int(pop):,}"],
                    "head": [t["map.kind"], f"{t['map.nearest']} ({t['unit.min']})",
                             f"{t['map.backup']} ({t['unit.min']})",
                             f"{t['map.social']} ({t['unit.min']})", t["map.target"],
                             t["map.status"]],
                    "rows": rows_by_v[k]})
    return out


def save(page: str, path: str | Path) -> Path:
    """Write an HTML page (UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


assert set(STATUSES) <= set(CLASS_COLOURS)


def scenario_map(
    result: Any,
    villages: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    district: District,
    *,
    lang: str = "en",
    basemap: str | None = None,
) -> str:
    """Draw a scenario: zones, closed and slowed roads, villages losing cover or cut off,
    evacuation routes along the roads from village to shelter, and shelters (square pins)
    coloured by their load. Returns the HTML page."""
    from emgis.outputs.report import scenario_label

    t = texts(lang)
    c = SCENARIO_COLOURS
    name = scenario_label(result.scenario.name, t)
    page = _Page(district, lang, f"{district.name} – {t['map.scenario']}: {name}", basemap)
    page.fit(villages)
    page.set_villages(villages)
    page.base_layers(result.edges)
    items = []
    if len(zones):
        z = zones[["name", "effect", "geometry"]].copy()
        z["geometry"] = [map_geometry(g, tolerance_m=10) for g in z.geometry]
        z = page.display(z)
        lid = page.add("zones", {"type": "areas", "pane": "emgisAreas", "weight": 1,
                                 "fillOpacity": 0.3, "features": [
            {"g": _geojson_geom(geom), "c": c["zone_closed"] if eff == "closed"
             else c["zone_slowed"], "tip": f"{zname} ({t.get('effect', str(eff))})"}
            for zname, eff, geom in zip(z["name"], z["effect"], z.geometry, strict=True)
            if geom is not None and not geom.is_empty]})
        items.append({"type": "check", "label": t["map.zone"], "layers": [lid], "on": True})
    if len(roads):
        r = page.display(roads.set_crs(district.crs, allow_override=True))
        lid = page.add("affected", {"type": "lines", "pane": "emgisLines", "weight": 4,
                                    "features": [
            {"g": _geojson_geom(geom), "c": c["road_closed"] if eff == "closed"
             else c["road_slowed"]}
            for eff, geom in zip(r["effect"], r.geometry, strict=True)
            if geom is not None and not geom.is_empty]})
        items.append({"type": "check", "label": t["map.affected"], "layers": [lid],
                      "on": True})
    flows = result.evacuation
    if len(flows):
        routes = getattr(result, "routes", None)
        if routes is None or len(routes) != len(flows):
            routes = gpd.GeoSeries([None] * len(flows), crs=district.crs)
        vv = district.villages.set_index("id").geometry
        ss = district.shelters.set_index("id").geometry
        lines = [g if g is not None else shapely.LineString([vv[a], ss[b]])
                 for g, a, b in zip(routes, flows["village_id"], flows["shelter_id"],
                                    strict=True)]
        disp = page.display(gpd.GeoSeries([shapely.simplify(g, 5.0) for g in lines],
                                          crs=district.crs))
        feats = [{"g": _geojson_geom(g),
                  "w": float(min(8, 2 + row.persons / 300)),
                  "tip": t.fmt("map.evac_tip", village=f"{row.village_name} ({row.village_id})",
                               shelter=f"{row.shelter_name} ({row.shelter_id})",
                               persons=f"{row.persons:,}", minutes=f"{row.minutes:.0f}")}
                 for g, row in zip(disp, flows.itertuples(index=False), strict=True)]
        lid = page.add("evac", {"type": "lines", "pane": "emgisLines", "color": c["evac"],
                                "opacity": 0.85, "dashArray": "8 5", "features": feats})
        items.append({"type": "check", "label": t["map.evac"], "layers": [lid], "on": True})
    states, tips, edges = [], [], []
    for row in villages.itertuples(index=False):
        state = "island" if row.island else ("lost" if row.kinds_losing_cover else "kept")
        tip = f"{row.village_name} ({row.village_id}): {t[f'map.{state}']}"
        if row.evacuate:
            tip += (f"; {t['map.evacuate']} {row.population:,}, {t['map.unsheltered']} "
                    f"{row.unsheltered:,}")
        if row.kinds_losing_cover:
            sep = "、" if lang == "zh" else ", "
            kinds = sep.join(label_of(k2, lang) for k2 in str(row.kinds_losing_cover).split(","))
            tip += f"; {t['map.lost']}: {kinds}"
        states.append(state)
        tips.append(tip)
        edges.append(1 if row.evacuate else 0)
    palette = {k: c[k] for k in ("island", "lost", "kept")}
    lid = page.add("villages", _class_layer(states, palette, {k: t[f"map.{k}"] for k in palette},
                                            edges=edges, edge_colours=("#000", c["evac"]),
                                            tips=tips))
    items.append({"type": "check", "label": t["map.villages"], "layers": [lid], "on": True})
    sh = result.shelters.merge(district.shelters[["id", "geometry"]], left_on="shelter_id",
                               right_on="id", how="left")
    sh = page.display(gpd.GeoDataFrame(sh, geometry="geometry", crs=district.crs))
    sx, sy = _xy(sh.geometry.values)
    feats = []
    for k, row in enumerate(sh.itertuples(index=False)):
        if not row.usable:
            key = "unusable"
        elif row.load_share >= 0.999:
            key = "full"
        elif row.load_share > 0.5:
            key = "half"
        else:
            key = "room"
        feats.append({"x": sx[k], "y": sy[k], "glyph": t.get("glyph", str(row.kind), "S"),
                      "c": c[f"shelter_{key}"], "size": 18,
                      "tip": t.fmt("map.shelter_tip", name=f"{row.shelter_name} "
                                   f"({row.shelter_id})", load=f"{row.load:,}",
                                   capacity=f"{row.capacity:,.0f}", state=t[f"map.{key}"])})
    lid = page.add("shelters", {"type": "pins", "className": "emgis-shelter", "features": feats})
    items.append({"type": "check", "label": t["map.shelters"], "layers": [lid], "on": True})
    page.section(t["map.scenario_layers"], items)
    s = result.summary.iloc[0]
    page.heading(f"{district.name} · {t['map.scenario']}: {name}",
                 t.fmt("map.scenario_subtitle", lost=f"{s['population_losing_cover']:,}",
                       cut=f"{s['population_cut_off']:,}",
                       evacuate=f"{s['population_to_evacuate']:,}",
                       unsheltered=f"{s['population_unsheltered']:,}"))
    glyph = t.get("glyph", "shelter_emergency")
    legend = [("area", c["zone_closed"], f"{t['map.zone']} ({t['map.closed']})"),
              ("area", c["zone_slowed"], f"{t['map.zone']} ({t['map.slowed']})"),
              ("dot", c["island"], t["map.island"]), ("dot", c["lost"], t["map.lost"]),
              ("dot", c["kept"], t["map.kept"]), ("line", c["evac"], t["map.evac"]),
              ("pie", "", t["map.cluster"]),
              (glyph, c["shelter_room"], f"{t['map.shelters']}: {t['map.room']}"),
              (glyph, c["shelter_half"], f"{t['map.shelters']}: {t['map.half']}"),
              (glyph, c["shelter_full"], f"{t['map.shelters']}: {t['map.full']}"),
              (glyph, c["shelter_unusable"], f"{t['map.shelters']}: {t['map.unusable']}")]
    page.legend(legend, title=f"{t['map.scenario']}: {name}")
    return page.render()


def siting_map(result: Any, district: District, *, network: EdgeArrays | None = None,
               lang: str = "en", basemap: str | None = None, whatif: Any = None) -> str:
    """Where to build: existing units, proposed sites numbered by rank, villages covered
    before, newly covered and still outside target. With ``whatif``
    (:func:`emgis.analysis.whatif.whatif_data`) the page is interactive: candidates and existing units
    switched on and off, cover recomputed in the page per scenario. Returns the HTML page."""
    if whatif is not None:
        return _whatif_page(result, district, network=network, lang=lang, basemap=basemap,
                            data=whatif)
    from emgis.analysis.coverage import units_of

    t = texts(lang)
    c = SITING_COLOURS
    label = label_of(result.kind, lang)
    title = t.fmt("map.siting_title", kind=label)
    page = _Page(district, lang, f"{district.name} – {title}", basemap)
    page.fit(result.villages)
    page.set_villages(result.villages)
    page.base_layers(network)
    states, tips, edges = [], [], []
    for row in result.villages.itertuples(index=False):
        state = "new" if row.newly_covered else ("before" if row.covered_before else "out")
        word = {"new": t["map.newly_covered"], "before": t["map.covered_before"],
                "out": t["map.still_outside"]}[state]
        states.append(state)
        edges.append(1 if state == "new" else 0)
        tips.append(f"{row.village_name} ({row.village_id}) · {row.population:,} "
                    f"{t['map.persons']}: {word}; {_fmt(row.before_min)} → "
                    f"{_fmt(row.after_min)} {t['unit.min']}")
    palette = {k: c[k] for k in ("before", "new", "out")}
    names = {"before": t["map.covered_before"], "new": t["map.newly_covered"],
             "out": t["map.still_outside"]}
    items = [{"type": "check", "label": t["map.villages"], "on": True,
              "layers": [page.add("villages", _class_layer(
                  states, palette, names, edges=edges, edge_colours=("#000", c["new"]),
                  tips=tips))]}]
    units = page.display(units_of(district))
    ex = units[units["kind"] == result.kind]
    glyph, colour = icon_of(result.kind, lang)
    ux, uy = _xy(ex.geometry.values)
    lid = page.add("existing", {"type": "pins", "className": "emgis-unit", "features": [
        {"x": ux[j], "y": uy[j], "glyph": glyph, "c": colour,
         "tip": t.fmt("map.existing_tip", name=f"{n} ({i})")}
        for j, (i, n) in enumerate(zip(ex["id"], ex["name"], strict=True))]})
    items.append({"type": "check", "label": _words(t, t['map.existing'], label), "layers": [lid],
                  "on": True})
    p = page.display(result.proposals) if len(result.proposals) else result.proposals
    px, py = _xy(p.geometry.values) if len(p) else (np.zeros(0), np.zeros(0))
    feats = []
    for j, row in enumerate(p.itertuples(index=False)):
        tip = t.fmt("map.proposal_tip", rank=row.rank, name=f"{row.name} ({row.site_id})")
        if row.gain_unit == "person-minutes":
            tip += f" · {float(row.gain):,.0f} {t['map.person_min']}"
        else:
            tip += f" · +{row.newly_covered_population:,} {t['unit.persons']}"
        feats.append({"x": px[j], "y": py[j], "glyph": str(row.rank), "c": c["proposal"],
                      "size": 24, "tip": tip})
    lid = page.add("proposals", {"type": "pins", "className": "emgis-proposal",
                                 "features": feats})
    items.append({"type": "check", "label": _words(t, t['map.proposed'], label), "layers": [lid],
                  "on": True})
    page.section(t["map.siting_layers"], items)
    s = result.solution
    newly = int(result.proposals["newly_covered_population"].sum()) if len(p) else 0
    model, method = t.get("model", s.model), t.get("method", s.method)
    if s.model == "p_median" and len(p):
        sub = t.fmt("map.siting_subtitle_pm", model=model, method=method, n=len(p),
                    saved=f"{float(result.proposals['gain'].sum()):,.0f}")
    else:
        sub = t.fmt("map.siting_subtitle", model=model, method=method, n=len(p),
                    persons=f"{newly:,}", target=f"{result.target_min:g}")
    page.heading(f"{district.name} · {title}", sub)
    page.legend([("dot", c["before"], names["before"]), ("dot", c["new"], names["new"]),
                 ("dot", c["out"], names["out"]), ("pie", "", t["map.cluster"]),
                 (glyph, colour, _words(t, t['map.existing'], label)),
                 ("1", c["proposal"], _words(t, t['map.proposed'], label))], title=title)
    return page.render()


#: Fill of an existing unit on the what-if page (unlike any village class).
WHATIF_UNIT = "#08306b"


def _whatif_page(result: Any, district: District, *, network: EdgeArrays | None, lang: str,
                 basemap: str | None, data: Any) -> str:
    """The siting page as a what-if tool (see :mod:`emgis.analysis.whatif`)."""
    from emgis.outputs.report import scenario_label

    t = texts(lang)
    label = label_of(result.kind, lang)
    title = t.fmt("map.siting_title", kind=label)
    page = _Page(district, lang, f"{district.name} – {title}", basemap)
    page.fit(result.villages)
    page.set_villages(district.villages)
    page.base_layers(network)
    n_v = len(district.villages)
    wide = n_v > 65535

    def pack(a: np.ndarray, dtype: Any) -> str:
        return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")

    u = page.display(data.units) if len(data.units) else data.units
    c = page.display(data.candidates) if len(data.candidates) else data.candidates
    uw = data.units.to_crs(4326) if len(data.units) else data.units
    cw = data.candidates.to_crs(4326) if len(data.candidates) else data.candidates
    ux, uy = _xy(u.geometry.values) if len(u) else (np.zeros(0), np.zeros(0))
    cx, cy = _xy(c.geometry.values) if len(c) else (np.zeros(0), np.zeros(0))
    scen = []
    for s in data.scenarios:
        tenths = np.minimum(np.round(s.minutes * 10), 65535)
        scen.append({"key": s.name, "label": t["map.whatif_baseline"] if s.name == "baseline"
                     else scenario_label(s.name, t), "ptr": pack(s.ptr, "<u4"),
                     "vil": pack(s.village, "<u4" if wide else "<u2"),
                     "t": pack(tenths, "<u2")})
    page.extra["whatif"] = {
        "kind": data.kind, "target": float(data.target_min), "cutoff": float(data.cutoff_min),
        "wide": wide, "scenarios": scen,
        "pop": district.villages["population"].fillna(0).astype(np.int64).tolist(),
        "noroad": data.no_road.astype(int).tolist(),
        "units": {"x": ux.tolist(), "y": uy.tolist(), "id": [str(i) for i in data.units["id"]],
                  "name": [str(n) for n in data.units["name"]],
                  "lon": np.round(uw.geometry.x.to_numpy(), 6).tolist() if len(uw) else [],
                  "lat": np.round(uw.geometry.y.to_numpy(), 6).tolist() if len(uw) else []},
        "cands": {"x": cx.tolist(), "y": cy.tolist(),
                  "id": [str(i) for i in data.candidates["id"]],
                  "name": [str(n) for n in data.candidates["name"]],
                  "on": [bool(b) for b in data.candidates["proposed"]],
                  "lon": np.round(cw.geometry.x.to_numpy(), 6).tolist() if len(cw) else [],
                  "lat": np.round(cw.geometry.y.to_numpy(), 6).tolist() if len(cw) else []},
        "colours": {**CLASS_COLOURS, "chosen": SITING_COLOURS["proposal"],
                    "unit": WHATIF_UNIT},
        "texts": {k: t[f"map.whatif_{k}"] for k in (
            "title", "hint", "covered", "change", "ranked", "gaps", "reset", "export_csv",
            "export_geojson", "candidate", "existing", "more")} | {"min": t["unit.min"]},
    }
    page.scripts.append("emgis-whatif.js")
    # the run's answer stays visible as numbered pins while the planner tries others
    p = page.display(result.proposals) if len(result.proposals) else result.proposals
    px, py = _xy(p.geometry.values) if len(p) else (np.zeros(0), np.zeros(0))
    feats = [{"x": px[j], "y": py[j], "glyph": str(row.rank), "c": SITING_COLOURS["proposal"],
              "size": 22, "tip": t.fmt("map.proposal_tip", rank=row.rank,
                                       name=f"{row.name} ({row.site_id})")}
             for j, row in enumerate(p.itertuples(index=False))]
    lid = page.add("proposals", {"type": "pins", "className": "emgis-proposal",
                                 "features": feats})
    page.section(t["map.siting_layers"], [
        {"type": "check", "label": _words(t, t["map.proposed"], label), "layers": [lid],
         "on": True}])
    s0 = result.solution
    model, method = t.get("model", s0.model), t.get("method", s0.method)
    some = t.fmt("map.whatif_some", n=len(data.candidates), total=data.candidates_all) \
        if data.candidates_all > len(data.candidates) else ""
    page.heading(f"{district.name} · {title}", f"{model}; {method} · " + t.fmt(
        "map.whatif_subtitle", target=f"{data.target_min:g}") + some)
    names = {k: t.status(k) for k in ("covered", "over_target", "far_over", "no_road_access")}
    page.legend([*[("dot", CLASS_COLOURS[k], v) for k, v in names.items()],
                 ("dot", SITING_COLOURS["proposal"], t["map.whatif_chosen"]),
                 ("dot", "#ffffff", t["map.whatif_candidate_off"]),
                 ("dot", WHATIF_UNIT, t["map.whatif_existing_on"]),
                 ("dot", "#bdbdbd", t["map.whatif_existing_off"])], title=title)
    return page.render()


#: Warning map colours: villages by the share of their people within reach.
WARNING_COLOURS: dict[str, str] = {"meets": "#1a9850", "half": "#fdae61", "low": "#d73027",
                                   "point": "#225ea8", "proposal": "#6a3d9a"}


def warning_map(reach: Any, district: District, *, network: EdgeArrays | None = None,
                lang: str = "en", basemap: str | None = None) -> str:
    """Warning reach: each warning point and the circle it is heard in, villages coloured by
    the share of their people within reach, the new loudspeakers proposed (numbered, with
    their circles). Returns the HTML page."""
    t = texts(lang)
    c = WARNING_COLOURS
    title = t["map.warning_title"]
    page = _Page(district, lang, f"{district.name} – {title}", basemap)
    page.fit(district.villages)
    page.set_villages(district.villages)
    page.base_layers(network)
    vt = reach.villages
    need = float(district.settings.warning["min_share"].value)
    states = ["meets" if s_ >= need - 1e-9 else ("half" if s_ >= 0.5 else "low")
              for s_ in vt["share"]]
    tips = [t.fmt("map.warning_tip", village=f"{r.village_name} ({r.village_id})",
                  share=f"{r.share:.0%}", reached=f"{r.reached:,}", persons=f"{r.population:,}")
            for r in vt.itertuples(index=False)]
    names = {"meets": t.fmt("map.warning_meets", share=f"{need:.0%}"),
             "half": t["map.warning_half"], "low": t["map.warning_low"]}
    items = [{"type": "check", "label": t["map.villages"], "on": True, "layers": [page.add(
        "villages", _class_layer(states, {k: c[k] for k in ("meets", "half", "low")}, names,
                                 tips=tips))]}]
    wp = reach.points
    if len(wp):
        circles = page.display(gpd.GeoSeries(wp.geometry.buffer(wp["radius_m"].to_numpy(),
                                                                 quad_segs=12),
                                             crs=district.crs))
        items.append({"type": "check", "label": t["map.warning_reach"], "on": True,
                      "layers": [page.add("reach", {
                          "type": "areas", "pane": "emgisAreas", "color": c["point"],
                          "weight": 1, "fillOpacity": 0.15, "features": [
                              {"g": _geojson_geom(g)} for g in circles]})]})
        pts = page.display(wp)
        px, py = _xy(pts.geometry.values)
        items.append({"type": "check", "label": t["map.warning_points"], "on": True,
                      "layers": [page.add("points", {
                          "type": "pins", "className": "emgis-unit", "features": [
                              {"x": px[j], "y": py[j], "glyph": t.get("warning_glyph", str(k)),
                               "c": c["point"], "size": 18,
                               "tip": t.fmt("map.warning_point_tip", name=f"{n} ({i})",
                                            kind=t.get("warning_kind", str(k)),
                                            radius=f"{rad:,.0f}", persons=f"{got:,}")}
                              for j, (i, n, k, rad, got) in enumerate(zip(
                                  wp["id"], wp["name"], wp["kind"], wp["radius_m"],
                                  wp["persons_reached"], strict=True))]})]})
    prop = reach.proposals
    if len(prop):
        pc = page.display(gpd.GeoSeries(prop.geometry.buffer(prop["radius_m"].to_numpy(),
                                                             quad_segs=12), crs=district.crs))
        pp = page.display(prop)
        qx, qy = _xy(pp.geometry.values)
        items.append({"type": "check", "label": t["map.warning_new"], "on": True,
                      "layers": [page.add("new_reach", {
                          "type": "areas", "pane": "emgisAreas", "color": c["proposal"],
                          "weight": 1.5, "dashArray": "5 4", "fillOpacity": 0.1,
                          "features": [{"g": _geojson_geom(g)} for g in pc]}),
                          page.add("new", {"type": "pins", "className": "emgis-proposal",
                                           "features": [
                              {"x": qx[j], "y": qy[j], "glyph": str(r.rank),
                               "c": c["proposal"], "size": 22,
                               "tip": t.fmt("map.warning_new_tip", rank=r.rank,
                                            village=f"{r.village_name} ({r.village_id})",
                                            persons=f"{r.persons_added:,}")}
                              for j, r in enumerate(prop.itertuples(index=False))]})]})
    page.section(t["map.warning_layers"], items)
    n_below = int((vt["share"] < need - 1e-9).sum())
    page.heading(f"{district.name} · {title}",
                 t.fmt("map.warning_subtitle", below=n_below, villages=len(vt),
                       share=f"{need:.0%}", new=len(prop)))
    glyph = t.get("warning_glyph", "loudspeaker")
    page.legend([("dot", c["meets"], names["meets"]), ("dot", c["half"], names["half"]),
                 ("dot", c["low"], names["low"]), ("pie", "", t["map.cluster"]),
                 ("area", c["point"], t["map.warning_reach"]),
                 (glyph, c["point"], t["map.warning_points"]),
                 ("1", c["proposal"], t["map.warning_new"])], title=title)
    return page.render()


#: Colours of the overview image (the report's static map).
OVERVIEW_ROADS = ((("motorway", "motorway_link", "trunk", "trunk_link", "primary",
                    "primary_link"), "#e67e22", 1.4),
                  (("secondary", "secondary_link", "tertiary", "tertiary_link"), "#d4ac0d", 0.9),
                  (("unclassified", "residential", "living_street", "road", "busway", "service",
                    "track"), "#b3b6b7", 0.4))


#: Road segments above which the overview draws each road piece as its chord (a province's
#: million segments are sub-pixel at report size and took 16 s to draw).
OVERVIEW_MAX_SEGMENTS = 400_000


def overview_png(network: EdgeArrays, district: District, table: pd.DataFrame, kind: str,
                 proposals: gpd.GeoDataFrame | None = None, *, width_mm: float = 180,
                 height_mm: float = 120) -> bytes:
    """A static overview of the district for the report, drawn offline (matplotlib): roads by
    class, township boundaries, villages coloured by their time from the nearest unit of
    ``kind`` (green within target, orange up to twice it, red beyond, grey without a time),
    proposed sites numbered. The legend is the report's caption (no text in the image, so
    any language reads it). Returns PNG bytes (the same inputs give the same bytes)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    fig = plt.figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=150)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_aspect("equal")
    once = (network.twin < 0) | (np.arange(network.n_edges) < network.twin)
    cls = np.array(network.classes, dtype=object)[network.vclass[network.vptr[:-1]]] \
        if network.classes else np.array([], dtype=object)
    for classes, colour, lw in reversed(OVERVIEW_ROADS):
        sel = np.flatnonzero(once & np.isin(cls, classes))
        if not len(sel):
            continue
        starts, ends = network.vptr[sel], network.vptr[sel + 1] - 1
        counts = ends - starts
        if counts.sum() > OVERVIEW_MAX_SEGMENTS:  # a province: each road piece as its chord
            first, counts = starts, np.ones_like(counts)
            second = ends
        else:  # every segment of every piece, built at once
            offsets = np.repeat(np.cumsum(counts) - counts, counts)
            first = np.repeat(starts, counts) + (np.arange(counts.sum()) - offsets)
            second = first + 1
        segs = np.stack([np.column_stack([network.vx[first], network.vy[first]]),
                         np.column_stack([network.vx[second], network.vy[second]])], axis=1)
        ax.add_collection(LineCollection(list(segs), colors=colour, linewidths=lw, zorder=1,
                                         capstyle="round"))
    for g in district.townships.geometry:
        for poly in getattr(g, "geoms", [g]):
            x, y = poly.exterior.xy
            ax.plot(x, y, color="#444", lw=0.8, ls=(0, (4, 3)), zorder=2)
    rows = table[table["kind"] == kind]
    v = district.villages
    colours = []
    for nearest, target, status in zip(rows["nearest_min"], rows["target_min"], rows["status"],
                                       strict=True):
        cls_ = response_class(nearest, target, status)
        colours.append(CLASS_COLOURS[cls_])
    sizes = np.clip(np.sqrt(v["population"].fillna(0).to_numpy(dtype=float)) / 3, 6, 60)
    ax.scatter(v.geometry.x, v.geometry.y, s=sizes, c=colours, edgecolors="#222",
               linewidths=0.4, zorder=3)
    if proposals is not None and len(proposals):
        for rank, g in zip(proposals["rank"], proposals.geometry, strict=True):
            ax.scatter([g.x], [g.y], s=150, marker="s", c="#6a3d9a", edgecolors="white",
                       linewidths=1.0, zorder=4)
            ax.annotate(str(rank), (g.x, g.y), color="white", ha="center", va="center",
                        fontsize=7, fontweight="bold", zorder=5)
    x0, y0, x1, y1 = (district.area.bounds if district.area is not None
                      else v.total_bounds)
    pad = 0.03 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
