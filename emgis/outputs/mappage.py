"""The page every interactive map is built on: Leaflet inlined, roads and townships drawn by
emgis, the layer panel, print styles, and data that reaches the page only as escaped JSON."""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
import secrets
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import orjson
import shapely
from pyproj import CRS, Transformer

from emgis._held import Held
from emgis.analysis.coverage import polygonal
from emgis.inputs.coords import wgs84_to_gcj02
from emgis.inputs.district import District
from emgis.inputs.settings import MapSettings
from emgis.outputs.basemaps import basemap_tiles, display_frame, is_gcj02
from emgis.outputs.style import ROAD_CLASSES, ROAD_OPACITY, TOWNSHIP_COLOUR, credit_of
from emgis.roads.cache import fingerprint, keep_beside, network_digest, read_beside
from emgis.roads.edges import EdgeArrays
from emgis.texts import Texts, shown_minutes, texts

if TYPE_CHECKING:
    import folium
    from branca.element import Element

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


def script_json(data: object) -> str:
    """JSON safe inside an HTML ``<script>`` element: ``<``, ``>``, ``&`` and the line
    separators U+2028/2029 are written as ``\\u`` escapes, so no text in the data can close
    the element or be read as markup.

    Encoded by orjson (keys sorted, compact, numpy numbers and arrays as numbers; a
    non-finite number, which JSON cannot hold, as ``null``): the text of the standard
    library's ``json.dumps(..., ensure_ascii=False, sort_keys=True, separators=(",", ":"))``
    but for how some numbers are written (orjson 3.13: ``0.00006103515625`` for
    ``6.103515625e-05``; the same number), in a quarter of the time (the maps' road and
    village layers are megabytes)."""
    text = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
                        | orjson.OPT_SERIALIZE_NUMPY)
    return (text.replace(b"<", b"\\u003c").replace(b">", b"\\u003e")
            .replace(b"&", b"\\u0026").replace("\u2028".encode(), b"\\u2028")
            .replace("\u2029".encode(), b"\\u2029").decode())


def _esc(text: object) -> str:
    """Text from input made safe for HTML inserted into a page after rendering."""
    return html.escape(str(text))


def map_geometry(geom: shapely.Geometry, *, tolerance_m: float = 15.0) -> shapely.Geometry:
    """A polygon simplified for display (metres, before reprojection)."""

    return polygonal(shapely.simplify(geom, tolerance_m, preserve_topology=True))


def _fmt(v: float | None, target: float | None = None) -> str:
    """Minutes to one decimal; against a target, never printed on the wrong side of it."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if target is None:
        return f"{v:.1f}"
    return f"{shown_minutes(float(v), float(target), digits=1):.1f}"


def _xy(geoms: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(geoms, dtype=object)
    if not len(g):
        return np.zeros(0), np.zeros(0)
    return np.round(shapely.get_x(g), 6), np.round(shapely.get_y(g), 6)


def _geojson_geom(g: shapely.Geometry, ndigits: int = 5) -> dict[str, Any]:
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


#: Road classes drawn on every map, in order of importance, and their line style (one
#: palette with the report's overview: :data:`emgis.outputs.style.ROAD_CLASSES`).
ROAD_STYLE = ROAD_CLASSES

#: Districts with at most this many villages show every village name from the zoom the map
#: opens at (decluttered: a name that would overlap a larger village's is left out), unless
#: ``[maps] label_zoom`` is set to another zoom than its default; larger districts show the
#: names from ``[maps] label_zoom`` on, decluttered the same way. A ``[maps] label_all_up_to``
#: setting, where the settings define one, takes its place.
LABEL_ALL_UP_TO = 300
#: Most vertices of the road layer of one map (larger networks draw their major roads only).
MAX_ROAD_VERTICES = 250_000

#: Part of the stand-ins of :meth:`_Page.encoded` (random per process: never in input).
_PART_NONCE = secrets.token_hex(16)

#: The last road layer made, by the network's vertex array and the datum: its features as
#: the page's JSON (:func:`script_json`), encoded once for every map of a run (2 MB of
#: coordinates on a county: 0.06 s per map).
_ROAD_CACHE: Held[str] = Held(1)


def _road_features(network: EdgeArrays, crs: CRS, gcj02: bool) -> str:
    """The roads as one simplified multiline per class group, major roads first, within
    :data:`MAX_ROAD_VERTICES`, as the page's JSON text of the features list (cached per road
    geometry: a scenario's network shares it)."""
    return _ROAD_CACHE.get(network.vx, gcj02,
                           lambda: script_json(_make_road_features(network, crs, gcj02)))


def _make_road_features(network: EdgeArrays, crs: CRS, gcj02: bool
                        ) -> list[dict[str, Any]]:
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
        # every part's coordinates a view of one array (the JSON encoder writes numpy's
        # numbers as it writes floats: no list of lists is made)
        flat = np.column_stack([np.round(lon, 5), np.round(lat, 5)])
        ends = np.r_[0, np.flatnonzero(np.diff(idx)) + 1, len(idx)].tolist()
        feats.append({"g": {"type": "MultiLineString",
                            "coordinates": [flat[a:b] for a, b in itertools.pairwise(ends)
                                            if b - a >= 2]},
                      "c": colour, "w": weight})
    return feats


#: Version of the road layer's text kept beside the network cache: bump it when
#: :func:`_make_road_features` or :func:`script_json` change what they write (older texts are
#: then not read).
ROAD_LAYER_FORMAT = 1


def _road_layer_name(network: EdgeArrays, crs: CRS, gcj02: bool) -> str:
    """The name the road layer is kept under beside the network cache: the digest of every
    input of :func:`_make_road_features` (the roads' arrays, by their checksum, and their
    classes, the CRS, the datum of the map, the styles and the format)."""
    return "roads-" + fingerprint(extra=repr((
        ROAD_LAYER_FORMAT, ROAD_STYLE, MAX_ROAD_VERTICES, tuple(network.classes),
        network_digest(network), CRS.from_user_input(crs).to_wkt(), bool(gcj02)))) + ".json"


#: The characters of a road layer's text (numbers, the keys, the style's colours): a kept
#: text with any other (``<``, a quote other than ``"``, a bracket of a call, a backslash, a
#: space) was not written by :func:`script_json` for the roads and is not read.
_ROAD_TEXT = b'0123456789.-+eE,:[]{}"#' + bytes(range(ord("a"), ord("z") + 1)) + \
    bytes(range(ord("A"), ord("Z") + 1))


def _road_text(text: str) -> bool:
    """Whether a kept text holds only what a road layer's JSON does (:data:`_ROAD_TEXT`):
    no text changed by hand can then close the page's ``<script>`` or run as code there."""
    return text.isascii() and not text.encode("ascii").translate(None, _ROAD_TEXT)


def _kept_layer(cache: Path, name: str) -> str | None:
    """The road layer kept beside ``cache`` under ``name``, if whole and a road layer's
    text."""
    text = read_beside(cache, name)
    return text if text is not None and _road_text(text) else None


def kept_road_layer(network: EdgeArrays, district: District, *,
                    cache: Path | None) -> str | None:
    """The road layer :func:`road_layer` kept beside the network cache ``cache`` for this
    network and map datum, or None (no cache, not kept yet, or not whole)."""
    if not network.n_edges or cache is None:
        return None
    gcj = is_gcj02(district.settings.maps.basemap)
    return _kept_layer(cache, _road_layer_name(network, district.crs, gcj))


def road_layer(network: EdgeArrays, district: District, *, cache: Path | None = None) -> str:
    """The maps' road layer of the district (what every map draws; see
    :func:`prepare_maps`): its features as the pages' JSON text.

    With ``cache`` (the network cache file the network was read from), the text is read from
    beside it when a run on the same roads kept it there, and kept there when made: it depends
    on the roads and the map's datum alone (a county's took 0.5 s of CPU at every run)."""
    if not network.n_edges:
        return "[]"
    gcj = is_gcj02(district.settings.maps.basemap)
    if cache is None:
        return _road_features(network, district.crs, gcj)

    def make() -> str:
        name = _road_layer_name(network, district.crs, gcj)
        kept = _kept_layer(cache, name)
        if kept is not None:
            return kept
        text = script_json(_make_road_features(network, district.crs, gcj))
        keep_beside(cache, name, text)
        return text

    return _ROAD_CACHE.get(network.vx, gcj, make)


def prepare_maps(network: EdgeArrays, district: District, *,
                 roads: str | None = None) -> None:
    """Make the maps' road layer and load the map library once, before the run's
    map-writing workers fork (each then finds them made instead of simplifying and
    projecting every road and importing folium, 0.23 s, itself). ``roads``: the layer as
    :func:`road_layer` made it elsewhere (a run makes it in a worker while it opens the
    engine), kept instead of made again."""
    import folium  # noqa: F401  # deferred: loads folium, for the workers to share

    if roads is not None and network.n_edges:
        _ROAD_CACHE.get(network.vx, is_gcj02(district.settings.maps.basemap), lambda: roads)
    road_layer(network, district)


#: Fonts of the names on the maps: a Latin font first (a CJK font draws Latin punctuation
#: such as ’ full width), then Chinese fonts.
LABEL_FONTS = ('Arial,"Liberation Sans","DejaVu Sans","Noto Sans CJK SC","Microsoft YaHei",'
               '"PingFang SC",sans-serif')

_PRINT_CSS = """
.emgis-label{font:11px/1.1 FONTS;color:#111;
 white-space:nowrap;text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff;pointer-events:none}
.emgis-town-label{font:bold 15px/1.1 FONTS;
 color:TOWN;letter-spacing:2px;white-space:nowrap;pointer-events:none;
 text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 4px #fff,0 0 4px #fff}
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
    #: Parts of the data block encoded before (:meth:`encoded`): stand-in -> JSON text.
    parts: dict[str, str] = field(default_factory=dict)
    m: folium.Map | None = None

    def __post_init__(self) -> None:  # deferred: loads folium
        import folium  # deferred: loads folium

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
        css = _PRINT_CSS.replace("PAPER", self.district.settings.report.paper).replace(
            "TOWN", TOWNSHIP_COLOUR).replace("FONTS", LABEL_FONTS)
        self._raw("header", f"<title>{_esc(self.title)}</title><meta charset=\"utf-8\">"
                  f"<style>{css}</style>")
        self.base: list[dict[str, Any]] = []

    def display(self, gdf: gpd.GeoDataFrame | gpd.GeoSeries
                ) -> gpd.GeoDataFrame | gpd.GeoSeries:
        """Geometries in this map's coordinates (WGS-84, or GCJ-02 for AMap)."""
        return display_frame(gdf, gcj02=self.gcj02)

    def _raw(self, where: str, content: str) -> None:
        # deferred: loads folium
        """Put ``content`` into the page's header or body after rendering (see module doc)."""
        import folium  # deferred: loads folium

        token = f"<!--emgis-slot-{len(self.slots)}-->"
        self.slots[token] = content
        assert self.m is not None  # made in __post_init__
        getattr(self.m.get_root(), where).add_child(folium.Element(token))

    def encoded(self, text: str) -> str:
        """A stand-in for a value already encoded by :func:`script_json` (``text``), to put
        in the data block: :meth:`render` writes the text in its place, the same bytes as
        encoding the value there. The stand-in holds a NUL (written ``\\u0000`` in JSON)
        and a random token, so no text from input can be taken for it."""
        token = f"\x00emgis-part-{len(self.parts)}-{_PART_NONCE}\x00"
        self.parts[token] = text
        return token

    def fit(self, gdf: gpd.GeoDataFrame) -> None:
        """Open on the bounds of these geometries."""
        b = self.display(gdf).total_bounds if len(gdf) else np.full(4, np.nan)
        x0, y0, x1, y1 = (float(v) for v in b)
        if not np.isfinite([x0, y0, x1, y1]).all():
            x0, y0, x1, y1 = -1.0, -1.0, 1.0, 1.0
        assert self.m is not None  # made in __post_init__
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

    def set_villages(self, villages: gpd.GeoDataFrame, *,
                     pops: list[dict[str, Any]] | None = None
                     ) -> None:
        """The villages every village layer colours (positions, names for labels and
        clusters, popups)."""
        v = self.display(villages)
        vx, vy = _xy(v.geometry.values)
        ms = self.district.settings.maps
        people = (villages["population"].fillna(0).to_numpy(dtype=float)
                  if "population" in villages else np.zeros(len(villages)))
        # names are placed most populous first (the page's decluttering keeps the first)
        order = np.lexsort((np.arange(len(villages)), -people)).tolist()
        self.villages = {"x": vx.tolist(), "y": vy.tolist(),
                         "label": [str(n) for n in villages[
                             "name" if "name" in villages else "village_name"]],
                         "pop": pops, "labelZoom": float(ms.label_zoom),
                         "labelAll": label_all(len(villages), ms), "order": order,
                         "clusterAbove": int(ms.cluster_above)}

    def base_layers(self, network: EdgeArrays | None) -> None:
        """Roads (by class), township boundaries and village names: the map reads with no
        tiles at all."""
        t = self.t
        items = []
        if network is not None and network.n_edges:
            self.add("roads", {"type": "lines", "pane": "emgisRoads", "opacity": ROAD_OPACITY,
                               "features": self.encoded(_road_features(
                                   network, self.district.crs, self.gcj02))})
            items.append({"type": "check", "label": t["map.roads"], "layers": ["roads"],
                          "on": True})
        towns = self.district.townships
        if len(towns):
            lines = self.display(gpd.GeoSeries([township_boundaries(towns)], crs=towns.crs))
            feats = [{"g": _geojson_geom(geom)} for geom in lines
                     if geom is not None and not geom.is_empty]
            self.add("townships", {"type": "lines", "pane": "emgisAreas",
                                   "color": TOWNSHIP_COLOUR, "weight": 2, "opacity": 0.9,
                                   "dashArray": "6 4", "features": feats})
            self.add("townnames", {"type": "townnames", "features": township_names(
                towns, self.display)})
            items.append({"type": "check", "label": t["map.townships"],
                          "layers": ["townships", "townnames"], "on": True})
        if self.villages is not None:
            self.add("labels", {"type": "labels"})
            items.append({"type": "check", "label": t.fmt(
                "map.labels", z=f"{self.villages['labelZoom']:g}"), "layers": ["labels"],
                "on": True})
        self.base = items

    def legend(self, rows: list[tuple[str, str, str]], *, title: str) -> None:
        """The legend: (shape, colour, label) rows; shape 'dot', 'area', 'line', 'pie', a
        glyph, or ``badge:B:G`` (glyph G with the badge B, colour ``"GLYPH|BADGE"``); then
        the roads and township boundaries where the map draws them; the map-data credit
        below."""
        items = []
        rows = list(rows)
        if "roads" in self.layers:
            rows.append(("road", ROAD_CLASSES[1][1], self.t["map.roads"]))
        if "townships" in self.layers:
            rows.append(("town", TOWNSHIP_COLOUR, self.t["map.townships"]))
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
            elif shape in ("road", "town"):
                line = "3px solid" if shape == "road" else "2px dashed"
                sw = (f'<span style="display:inline-block;width:16px;height:0;'
                      f'border-top:{line} {colour};margin-right:6px;flex:none"></span>')
            elif shape.startswith("badge:"):
                _, badge, glyph = shape.split(":", 2)
                fg, _, bc = colour.partition("|")
                sw = _glyph_html(glyph, fg, size=16, badge=badge, badge_colour=bc or "#d73027") \
                    + '<span style="margin-right:9px"></span>'
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
            'border-radius:4px;font:11px sans-serif;max-height:55vh;overflow:auto;'
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
        assert self.m is not None  # made in __post_init__
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
        block = script_json(data)
        for stand_in, text in self.parts.items():  # each part once, where it stands
            block = block.replace(script_json(stand_in), text, 1)
        self.slots[token] = ('<script type="application/json" id="emgis-data">'
                             + block + "</script><script>" + js + "</script>")
        page = inline_assets(self.m.get_root().render())
        for token, content in self.slots.items():
            page = page.replace(token, content, 1)
        return page


def label_all(n_villages: int, ms: Any) -> bool:
    """Whether every village name shows from the opening zoom (:data:`LABEL_ALL_UP_TO`)."""

    up_to = getattr(ms, "label_all_up_to", LABEL_ALL_UP_TO)
    default_zoom = float(ms.label_zoom) == float(MapSettings().label_zoom)
    return bool(n_villages <= up_to and default_zoom)


def township_boundaries(towns: gpd.GeoDataFrame) -> shapely.Geometry:
    """The townships' boundaries as lines, each drawn once (a boundary two townships share
    would show its dashes twice, out of step, and read as a solid line)."""
    rings = [shapely.boundary(polygonal(g)) for g in towns.geometry
             if g is not None and not g.is_empty]
    if not rings:
        return shapely.MultiLineString()
    return shapely.line_merge(shapely.union_all(rings))


def township_names(towns: gpd.GeoDataFrame, display: Any) -> list[dict[str, Any]]:
    """Each township's name at a point inside it (its representative point), in the map's
    coordinates: ``x``, ``y``, ``label``."""
    ok = [g is not None and not g.is_empty for g in towns.geometry]
    tw = towns[ok]
    if not len(tw):
        return []
    pts = display(gpd.GeoSeries(tw.geometry.representative_point(), crs=towns.crs))
    px, py = _xy(pts.values)
    return [{"x": float(px[j]), "y": float(py[j]), "label": str(n)}
            for j, n in enumerate(tw["name"])]


def _stable_ids(m: folium.Map) -> None:
    """Number folium's elements in tree order instead of its random ids (same input, same
    file)."""
    counter = [0]

    def walk(el: Element) -> None:
        counter[0] += 1
        el._id = f"{counter[0]:04d}"
        for child in el._children.values():
            walk(child)

    walk(m.get_root())


def _glyph_html(glyph: str, colour: str, *, size: int = 22, badge: str = "",
                badge_colour: str = "#d73027") -> str:
    mark = (f'<span style="position:absolute;top:-6px;right:-7px;width:11px;height:11px;'
            f'line-height:11px;border-radius:6px;border:1px solid #fff;background:'
            f'{badge_colour};color:#fff;font:bold 9px sans-serif;text-align:center">'
            f'{_esc(badge)}</span>') if badge else ""
    return (f'<div style="position:relative;width:{size}px;height:{size}px;'
            f'line-height:{size}px;background:{colour};color:#fff;border:2px solid #fff;'
            f'border-radius:4px;box-shadow:0 0 2px #000;text-align:center;'
            f'font:bold {int(size * 0.6)}px sans-serif;flex:none">{_esc(glyph)}{mark}</div>')


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


def save(page: str, path: str | Path) -> Path:
    """Write an HTML page (UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
