"""Interactive maps: one self-contained HTML file each, usable offline.

folium is imported only inside the functions that draw. Leaflet's JavaScript and CSS are inlined
from a copy shipped with emgis (``emgis/_static``, Leaflet 1.9.4, BSD-2-Clause), so a map opens
with no internet; the roads and township boundaries are drawn as vector layers, so it reads
with no background tiles at all.

Input text never becomes part of a template. folium renders each element's output again as a
Jinja template, so any text it is given would be evaluated; emgis therefore gives folium only
the page's skeleton (the map, tiles, empty layer groups named by emgis, the layer control) and
puts every feature, name and id in one JSON data block inserted *after* rendering, escaped for
its ``<script type="application/json">`` context. The shipped script ``emgis-map.js`` draws the
features from it and escapes every text it shows. Titles and legends are inserted after
rendering too, HTML-escaped.
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

from emgis.coverage import STATUSES, CoverageResult, target_of
from emgis.district import District
from emgis.network import EdgeArrays

CREDIT = "© OpenStreetMap contributors"

KIND_LABELS: dict[str, dict[str, str]] = {
    "micro_fire_station": {"en": "Micro fire station", "zh": "微型消防站"},
    "fire_station": {"en": "Fire station", "zh": "消防站"},
    "township_fire_brigade": {"en": "Township fire brigade", "zh": "乡镇专职消防队"},
    "township_rescue_team": {"en": "Township rescue team", "zh": "乡镇应急救援队"},
    "village_team": {"en": "Village team", "zh": "村（社区）应急队"},
    "forest_fire_team": {"en": "Forest-fire team", "zh": "森林消防队"},
    "medical": {"en": "Medical point", "zh": "医疗点"},
    "enterprise_brigade": {"en": "Enterprise brigade", "zh": "企业专职消防队"},
    "stockpile": {"en": "Stockpile", "zh": "物资储备点"},
    "shelter_emergency": {"en": "Emergency shelter", "zh": "紧急避难场所"},
    "shelter_fixed": {"en": "Fixed shelter", "zh": "固定避难场所"},
}

#: Glyph (English, Chinese) and colour of each kind's unit marker.
KIND_ICONS: dict[str, tuple[str, str, str]] = {
    "micro_fire_station": ("m", "微", "#d7301f"),
    "fire_station": ("F", "消", "#990000"),
    "township_fire_brigade": ("B", "专", "#b30000"),
    "township_rescue_team": ("R", "救", "#0868ac"),
    "village_team": ("V", "村", "#43a2ca"),
    "forest_fire_team": ("W", "林", "#238b45"),
    "medical": ("+", "医", "#c51b8a"),
    "enterprise_brigade": ("E", "企", "#7a0177"),
    "stockpile": ("S", "储", "#8c510a"),
    "shelter_emergency": ("e", "避", "#35978f"),
    "shelter_fixed": ("f", "固", "#01665e"),
}


def icon_of(kind: str, lang: str) -> tuple[str, str]:
    """Glyph and colour of a kind's marker in a language."""
    en, zh, colour = KIND_ICONS.get(kind, ("?", "?", "#555"))
    return (zh if lang == "zh" else en), colour


def label_of(kind: str, lang: str) -> str:
    """A kind's name in a language."""
    return KIND_LABELS.get(kind, {}).get(lang, kind)


#: Response-time classes of a village for a kind, with their colours.
CLASS_COLOURS: dict[str, str] = {
    "covered": "#1a9850",
    "over_target": "#fdae61",
    "far_over": "#d73027",
    "cut_off": "#542788",
    "no_road_access": "#737373",
    "no_unit": "#bdbdbd",
}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "covered": "within target", "over_target": "over target (up to 2x)",
        "far_over": "over 2x target", "cut_off": "cut off", "no_road_access": "no road access",
        "no_unit": "no unit of this kind", "legend": "Response time", "villages": "Villages",
        "units": "Units", "areas": "Service area", "townships": "Townships",
        "gaps": "Gap villages", "population": "population", "nearest": "nearest",
        "backup": "backup", "target": "target", "min": "min", "status": "status",
        "person_min": "person-minutes saved", "township": "township", "kind": "kind",
        "title": "Coverage", "roads": "Roads", "headcount": "headcount", "turnout": "turnout",
        "shown": "shown on opening (switch kinds with the layer button)",
        "map_data": "Map data",
    },
    "zh": {
        "covered": "目标时间内", "over_target": "超出目标（2倍以内）",
        "far_over": "超出目标2倍以上",
        "cut_off": "路网不通", "no_road_access": "无道路可达", "no_unit": "无此类队伍",
        "legend": "响应时间", "villages": "村（社区）", "units": "应急力量", "areas": "服务范围",
        "townships": "乡镇边界", "gaps": "覆盖缺口村", "population": "人口", "nearest": "最近",
        "backup": "备份", "target": "目标", "min": "分钟", "status": "状态",
        "person_min": "人·分钟（节省）", "township": "乡镇", "kind": "类型", "title": "应急覆盖",
        "roads": "道路", "headcount": "人数", "turnout": "出动时间",
        "shown": "默认显示（右上角按钮切换类型）", "map_data": "地图数据",
    },
}

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
    from emgis.coverage import polygonal

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


def _to_wgs84(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> Any:
    return gdf.to_crs(4326)


def _xy(geoms: Any) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(geoms, dtype=object)
    if not len(g):
        return np.zeros(0), np.zeros(0)
    return np.round(shapely.get_x(g), 6), np.round(shapely.get_y(g), 6)


def _geojson_geom(g: Any, ndigits: int = 5) -> dict[str, Any]:
    """A geometry (WGS-84) as GeoJSON with its coordinates rounded (1 m at 5 digits)."""
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

_ROAD_CACHE: dict[int, list[dict[str, Any]]] = {}


def _road_features(network: EdgeArrays, crs: Any) -> list[dict[str, Any]]:
    """The roads as one simplified multiline per class group, major roads first, within
    :data:`MAX_ROAD_VERTICES` (cached per road geometry: a scenario's network shares it)."""
    from pyproj import Transformer

    key = id(network.vx)
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
        cuts = np.flatnonzero(np.diff(idx)) + 1
        parts = np.split(np.column_stack([np.round(lon, 5), np.round(lat, 5)]), cuts)
        feats.append({"g": {"type": "MultiLineString",
                            "coordinates": [p.tolist() for p in parts if len(p) >= 2]},
                      "c": colour, "w": weight})
    _ROAD_CACHE.clear()
    _ROAD_CACHE[key] = feats
    return feats


@dataclass
class _Page:
    """A folium map whose data layers are filled from one JSON block after rendering."""

    district: District
    lang: str
    title: str
    tiles: bool = True
    layers: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)
    m: Any = None

    def __post_init__(self) -> None:
        import folium

        self.m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
        self.m.default_js = [
            ("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js")]
        self.m.default_css = [
            ("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css")]
        if self.tiles:
            folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=CREDIT,
                             control=True).add_to(self.m)
        self._raw("header", f"<title>{_esc(self.title)}</title><meta charset=\"utf-8\">")

    def _raw(self, where: str, content: str) -> None:
        """Put ``content`` into the page's header or body after rendering (see module doc)."""
        import folium

        token = f"<!--emgis-slot-{len(self.slots)}-->"
        self.slots[token] = content
        getattr(self.m.get_root(), where).add_child(folium.Element(token))

    def fit(self, bounds: tuple[float, float, float, float]) -> None:
        """Open on these WGS-84 bounds (min lon, min lat, max lon, max lat)."""
        x0, y0, x1, y1 = bounds
        if not np.isfinite([x0, y0, x1, y1]).all():
            x0, y0, x1, y1 = -1.0, -1.0, 1.0, 1.0
        self.m.fit_bounds([[y0, x0], [y1, x1]])

    def group(self, name: str, *, show: bool = True) -> Any:
        """An empty layer group in the layer control (name from emgis's own texts)."""
        import folium

        fg = folium.FeatureGroup(name=name, show=show)
        fg.add_to(self.m)
        return fg

    def add(self, group: Any, spec: dict[str, Any]) -> None:
        """Features for a group: ``spec`` holds ``type`` (points, pins, lines, areas) and
        ``features``; texts in it are data."""
        self.layers.append({**spec, "target": group})

    def base_layers(self, network: EdgeArrays | None, t: dict[str, str]) -> None:
        """Roads (by class) and township boundaries: the map reads with no tiles at all."""
        if network is not None and network.n_edges:
            g = self.group(t["roads"], show=True)
            self.add(g, {"type": "lines", "opacity": 0.8, "features":
                         _road_features(network, self.district.crs)})
        towns = self.district.townships
        if len(towns):
            tw = _to_wgs84(towns[["name", "geometry"]])
            g = self.group(t["townships"], show=True)
            feats = [{"g": _geojson_geom(map_geometry(geom, tolerance_m=0)), "tip": str(name)}
                     for name, geom in zip(tw["name"], tw.geometry, strict=True)
                     if geom is not None and not geom.is_empty]
            self.add(g, {"type": "areas", "color": "#444", "weight": 2, "fill": False,
                         "dashArray": "6 4", "features": feats})

    def legend(self, rows: list[tuple[str, str, str]], *, title: str, note: str) -> None:
        """A fixed legend: (shape, colour, label) rows; shape 'dot', 'area' or a glyph."""
        items = []
        for shape, colour, label in rows:
            if shape == "dot":
                sw = (f'<span style="display:inline-block;width:12px;height:12px;'
                      f'border-radius:6px;background:{colour};border:1px solid #333;'
                      f'margin-right:6px"></span>')
            elif shape == "area":
                sw = (f'<span style="display:inline-block;width:14px;height:10px;'
                      f'background:{colour};opacity:.5;border:1px solid {colour};'
                      f'margin-right:6px"></span>')
            else:
                sw = _glyph_html(shape, colour, size=16) + '<span style="margin-right:6px"></span>'
            items.append(f'<div style="display:flex;align-items:center;margin:2px 0">{sw}'
                         f"{_esc(label)}</div>")
        box = (
            '<div id="emgis-legend" style="position:fixed;bottom:28px;right:10px;z-index:1000;'
            'background:rgba(255,255,255,.93);padding:6px 8px;border:1px solid #888;'
            'border-radius:4px;font:11px sans-serif;max-height:45vh;overflow:auto">'
            f"<b>{_esc(title)}</b>{''.join(items)}"
            f'<div style="margin-top:6px;color:#555">{_esc(note)}</div></div>'
        )
        self._raw("html", box)

    def heading(self, title: str, subtitle: str) -> None:
        """The title box at the top left."""
        self._raw("html",
                  '<div id="emgis-title" style="position:fixed;top:10px;left:60px;z-index:1000;'
                  'background:rgba(255,255,255,.93);padding:4px 10px;border:1px solid #888;'
                  'border-radius:4px;font:13px sans-serif"><b>' + _esc(title) + "</b><br>"
                  + _esc(subtitle) + "</div>")

    def note(self, t: dict[str, str]) -> str:
        """The legend's footnote: the map-data credit."""
        credit = credit_of(self.district)
        return f"{t['map_data']} {credit}" if credit else ""

    def render(self) -> str:
        """The page: skeleton rendered by folium, then the data block and texts put in."""
        import folium

        folium.LayerControl(collapsed=True).add_to(self.m)
        self._raw("header", "")
        token = list(self.slots)[-1]
        _stable_ids(self.m)  # before the groups' names go into the data
        data = {"layers": [{**spec, "target": spec["target"].get_name()}
                           for spec in self.layers]}
        js = _static("emgis-map.js").decode("utf-8")
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
            f'sans-serif">{_esc(glyph)}</div>')


def _bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    b = tuple(float(v) for v in _to_wgs84(gdf).total_bounds) if len(gdf) else (
        np.nan, np.nan, np.nan, np.nan)
    return b  # type: ignore[return-value]


def coverage_map(
    result: CoverageResult,
    areas: gpd.GeoDataFrame,
    district: District,
    *,
    lang: str = "en",
    kinds: tuple[str, ...] | None = None,
    tiles: bool = True,
) -> str:
    """Draw the coverage map and return the page as HTML.

    Parameters
    ----------
    result
        Coverage of every village (:func:`emgis.coverage.compute_coverage`).
    areas
        Service areas (:func:`emgis.coverage.service_areas`); kind-level areas are drawn.
    district
        The district, for townships and names.
    lang
        ``"en"`` or ``"zh"``.
    kinds
        Kinds to draw (default: those with at least one unit); the first is shown on opening.
    tiles
        Add the OpenStreetMap background (needs internet to show; the map works without).

    Returns
    -------
    str
        A self-contained HTML page.
    """
    t = TEXT[lang]
    table = result.table
    units = _to_wgs84(result.units)
    villages = _to_wgs84(result.villages)
    if kinds is None:
        kinds = tuple(k for k in result.kinds if (units["kind"] == k).any())
    page = _Page(district, lang, f"{district.name} – {t['title']}", tiles)
    page.fit(_bounds(result.villages))
    page.base_layers(result.edges, t)
    pops = _popups(table, villages, units, t, lang)
    kind_areas = areas[areas["scope"] == "kind"].copy() if len(areas) else areas
    if len(kind_areas):
        kind_areas["geometry"] = [map_geometry(g) for g in kind_areas.geometry]
        kind_areas = _to_wgs84(kind_areas)
    vx, vy = _xy(villages.geometry.values)
    for i, kind in enumerate(kinds):
        label = label_of(kind, lang)
        target = target_of(kind, district.settings)
        ka = kind_areas[kind_areas["kind"] == kind] if len(kind_areas) else kind_areas
        for b in sorted(ka["break_min"].unique(), reverse=True) if len(ka) else []:
            geom = ka[ka["break_min"] == b].geometry.iloc[0]
            if geom.is_empty:
                continue
            strong = b == target
            g = page.group(f"{t['areas']} {label} ≤ {b:g} {t['min']}", show=(i == 0 and strong))
            page.add(g, {"type": "areas", "color": "#2c7fb8", "weight": 1,
                         "fillColor": "#41b6c4", "fillOpacity": 0.25 if strong else 0.1,
                         "features": [{"g": _geojson_geom(geom)}]})
        rows = table[table["kind"] == kind]
        feats = []
        for k, (nearest, status) in enumerate(zip(rows["nearest_min"], rows["status"],
                                                  strict=True)):
            cls = response_class(nearest, target, status)
            gap = status != "covered"
            feats.append({"x": vx[k], "y": vy[k], "c": CLASS_COLOURS[cls],
                          "o": "#b2182b" if gap else "#000", "w": 3 if gap else 1,
                          "pop": pops[k]})
        g = page.group(f"{t['villages']}: {label}", show=(i == 0))
        page.add(g, {"type": "points", "radius": 7, "features": feats})
    for kind in kinds:
        glyph, colour = icon_of(kind, lang)
        label = label_of(kind, lang)
        u = units[units["kind"] == kind]
        ux, uy = _xy(u.geometry.values)
        feats = [{"x": ux[j], "y": uy[j], "glyph": glyph, "c": colour,
                  "tip": f"{label}: {name} ({uid})",
                  "pop": {"title": f"{label}: {name} ({uid})",
                          "lines": [f"{t['turnout']}: {turn:g} {t['min']}"]}}
                 for j, (uid, name, turn) in enumerate(zip(u["id"], u["name"], u["turnout_min"],
                                                           strict=True))]
        g = page.group(f"{t['units']}: {label}", show=(kind == kinds[0]))
        page.add(g, {"type": "pins", "className": "emgis-unit", "features": feats})
    first = label_of(kinds[0], lang) if kinds else ""
    page.heading(f"{district.name} · {t['title']}",
                 f"{t['shown']}: {first} (≤ {target_of(kinds[0], district.settings):g} "
                 f"{t['min']})" if kinds else "")
    legend = [("dot", CLASS_COLOURS[c], t[c]) for c in CLASS_COLOURS]
    legend += [("area", "#41b6c4", t["areas"])]
    legend += [(*icon_of(k, lang), label_of(k, lang)) for k in kinds]
    page.legend(legend, title=t["legend"], note=page.note(t))
    return page.render()


def _popups(table: pd.DataFrame, villages: gpd.GeoDataFrame, units: gpd.GeoDataFrame,
            t: dict[str, str], lang: str) -> list[dict[str, Any]]:
    """Per village (input order): its times to every kind, nearest and backup unit named."""
    if len(table) == 0:
        return [{"title": ""} for _ in range(len(villages))]
    names = dict(zip(units["id"].astype(str), units["name"].astype(str), strict=True))
    n_v = len(villages)
    kinds = list(dict.fromkeys(table["kind"]))
    rows_by_v: list[list[dict[str, Any]]] = [[] for _ in range(n_v)]
    for kind in kinds:
        rows = table[table["kind"] == kind]
        label = label_of(kind, lang)
        for k, r in enumerate(rows[["nearest_id", "nearest_min", "second_id", "second_min",
                                    "target_min", "status"]].itertuples(index=False, name=None)):
            nid, nmin, sid, smin, target, status = r
            cls = response_class(nmin, target, status)
            near = f"{names.get(str(nid), nid)} {_fmt(nmin)}" if nid is not None else "–"
            back = f"{names.get(str(sid), sid)} {_fmt(smin)}" if sid is not None else "–"
            rows_by_v[k].append({"cells": [label, near, back, f"{target:g}",
                                           t.get(cls, cls)], "colour": CLASS_COLOURS[cls]})
    first = table[table["kind"] == kinds[0]]
    out = []
    for k, (vid, vname, town, pop) in enumerate(first[["village_id", "village_name", "township",
                                                       "population"]].itertuples(
                                                           index=False, name=None)):
        out.append({"title": f"{vname} ({vid})",
                    "lines": [f"{t['township']}: {town if pd.notna(town) else '–'} · "
                              f"{t['population']}: {int(pop):,}"],
                    "head": [t["kind"], f"{t['nearest']} ({t['min']})",
                             f"{t['backup']} ({t['min']})", t["target"], t["status"]],
                    "rows": rows_by_v[k]})
    return out


def save(page: str, path: str | Path) -> Path:
    """Write an HTML page (UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


assert set(STATUSES) <= set(CLASS_COLOURS)


SCENARIO_TEXT: dict[str, dict[str, str]] = {
    "en": {"zone": "Hazard zone", "closed": "closed road", "slowed": "slowed road",
           "island": "cut off entirely", "lost": "loses cover", "kept": "keeps its cover",
           "evac": "Evacuation", "shelters": "Shelters", "load": "load", "unusable":
           "unusable (in the zone)", "full": "full", "half": "over half full",
           "room": "room left", "persons": "persons", "villages": "Villages",
           "affected": "Affected roads", "title": "Scenario", "evacuate": "must leave",
           "unsheltered": "without a place"},
    "zh": {"zone": "灾害范围", "closed": "道路中断", "slowed": "道路通行减慢", "island": "完全孤立",
           "lost": "失去覆盖", "kept": "覆盖不变", "evac": "疏散路线", "shelters": "避难场所",
           "load": "安置", "unusable": "不可用（位于灾害范围内）", "full": "已满", "half": "过半",
           "room": "尚有余量", "persons": "人", "villages": "村（社区）",
           "affected": "受影响道路", "title": "灾害情景", "evacuate": "需转移",
           "unsheltered": "无处安置"},
}


def scenario_map(
    result: Any,
    villages: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    district: District,
    *,
    lang: str = "en",
    tiles: bool = True,
) -> str:
    """Draw a scenario: zones, closed and slowed roads, villages losing cover, evacuation flows
    from village to shelter, and shelters coloured by load. Returns the HTML page."""
    t = {**TEXT[lang], **SCENARIO_TEXT[lang]}
    v = _to_wgs84(villages)
    page = _Page(district, lang, f"{district.name} – {t['title']} {result.scenario.name}",
                 tiles)
    page.fit(_bounds(villages))
    page.base_layers(result.edges, t)
    if len(zones):
        z = zones[["name", "effect", "geometry"]].copy()
        z["geometry"] = [map_geometry(g, tolerance_m=10) for g in z.geometry]
        z = _to_wgs84(z)
        g = page.group(t["zone"])
        page.add(g, {"type": "areas", "weight": 1, "fillOpacity": 0.3, "features": [
            {"g": _geojson_geom(geom), "c": "#b2182b" if eff == "closed" else "#ef8a62",
             "tip": str(name)}
            for name, eff, geom in zip(z["name"], z["effect"], z.geometry, strict=True)
            if geom is not None and not geom.is_empty]})
    if len(roads):
        r = _to_wgs84(roads.set_crs(district.crs, allow_override=True))
        g = page.group(t["affected"])
        page.add(g, {"type": "lines", "weight": 4, "features": [
            {"g": _geojson_geom(geom), "c": "#67001f" if eff == "closed" else "#f46d43"}
            for eff, geom in zip(r["effect"], r.geometry, strict=True)
            if geom is not None and not geom.is_empty]})
    flows = result.evacuation
    if len(flows):
        vv = _to_wgs84(district.villages.set_index("id")).geometry
        ss = _to_wgs84(district.shelters.set_index("id")).geometry
        feats = []
        for row in flows.itertuples(index=False):
            a, b = vv[row.village_id], ss[row.shelter_id]
            feats.append({"g": {"type": "LineString", "coordinates": [
                [round(a.x, 6), round(a.y, 6)], [round(b.x, 6), round(b.y, 6)]]},
                "w": float(min(10, 2 + row.persons / 200)),
                "tip": f"{row.village_name} → {row.shelter_name}: {row.persons:,} "
                       f"{t['persons']}, {row.minutes:.0f} {t['min']}"})
        g = page.group(t["evac"])
        page.add(g, {"type": "lines", "color": "#2166ac", "opacity": 0.8, "dashArray": "6 4",
                     "features": feats})
    colour = {"island": "#542788", "lost": "#d73027", "kept": "#1a9850"}
    vx, vy = _xy(v.geometry.values)
    feats = []
    for k, row in enumerate(v.itertuples(index=False)):
        state = "island" if row.island else ("lost" if row.kinds_losing_cover else "kept")
        tip = f"{row.village_name} ({row.village_id}): {t[state]}"
        if row.evacuate:
            tip += f"; {t['evacuate']} {row.population:,}, {t['unsheltered']} {row.unsheltered:,}"
        if row.kinds_losing_cover:
            kinds = ", ".join(label_of(k2, lang) for k2 in str(row.kinds_losing_cover).split(","))
            tip += f"; {t['lost']}: {kinds}"
        feats.append({"x": vx[k], "y": vy[k], "c": colour[state],
                      "o": "#2166ac" if row.evacuate else "#000",
                      "w": 3 if row.evacuate else 1, "tip": tip})
    g = page.group(t["villages"])
    page.add(g, {"type": "points", "radius": 7, "features": feats})
    sh = result.shelters.merge(district.shelters[["id", "geometry"]], left_on="shelter_id",
                               right_on="id", how="left")
    sh = _to_wgs84(gpd.GeoDataFrame(sh, geometry="geometry", crs=district.crs))
    sx, sy = _xy(sh.geometry.values)
    feats = []
    for k, row in enumerate(sh.itertuples(index=False)):
        if not row.usable:
            c, state = "#969696", t["unusable"]
        elif row.load_share >= 0.999:
            c, state = "#d73027", t["full"]
        elif row.load_share > 0.5:
            c, state = "#fdae61", t["half"]
        else:
            c, state = "#4393c3", t["room"]
        feats.append({"x": sx[k], "y": sy[k], "c": c, "w": 3, "r": 10,
                      "tip": f"{row.shelter_name} ({row.shelter_id}): {t['load']} "
                             f"{row.load:,} / {row.capacity:,.0f} – {state}"})
    g = page.group(t["shelters"])
    page.add(g, {"type": "points", "features": feats})
    s = result.summary.iloc[0]
    page.heading(f"{district.name} · {t['title']}: {result.scenario.name}",
                 f"{t['lost']}: {s['population_losing_cover']:,} · {t['island']}: "
                 f"{s['population_cut_off']:,} · {t['evacuate']}: "
                 f"{s['population_to_evacuate']:,} · {t['unsheltered']}: "
                 f"{s['population_unsheltered']:,}")
    legend = [("area", "#b2182b", f"{t['zone']} ({t['closed']})"),
              ("area", "#ef8a62", f"{t['zone']} ({t['slowed']})"),
              ("dot", colour["island"], t["island"]), ("dot", colour["lost"], t["lost"]),
              ("dot", colour["kept"], t["kept"]), ("area", "#2166ac", t["evac"]),
              ("dot", "#4393c3", f"{t['shelters']}: {t['room']}"),
              ("dot", "#fdae61", f"{t['shelters']}: {t['half']}"),
              ("dot", "#d73027", f"{t['shelters']}: {t['full']}"),
              ("dot", "#969696", f"{t['shelters']}: {t['unusable']}")]
    page.legend(legend, title=t["title"], note=page.note(t))
    return page.render()


def siting_map(result: Any, district: District, *, network: EdgeArrays | None = None,
               lang: str = "en", tiles: bool = True) -> str:
    """Existing units, proposed sites numbered by rank, villages before/after, newly covered
    villages highlighted. Returns the HTML page."""
    from emgis.coverage import units_of

    t = TEXT[lang]
    label = label_of(result.kind, lang)
    words = {"en": ("proposed", "covered before", "newly covered", "still outside target",
                    "existing"),
             "zh": ("建议新增", "原已覆盖", "新增覆盖", "仍超出目标", "现有")}[lang]
    v = _to_wgs84(result.villages)
    page = _Page(district, lang, f"{district.name} – {label}", tiles)
    page.fit(_bounds(result.villages))
    page.base_layers(network, t)
    colours = {"before": "#1a9850", "new": "#2166ac", "out": "#d73027"}
    vx, vy = _xy(v.geometry.values)
    feats = []
    for k, row in enumerate(v.itertuples(index=False)):
        state = "new" if row.newly_covered else ("before" if row.covered_before else "out")
        name = words[2] if state == "new" else words[1] if state == "before" else words[3]
        feats.append({"x": vx[k], "y": vy[k], "c": colours[state],
                      "o": "#2166ac" if state == "new" else "#000",
                      "w": 3 if state == "new" else 1,
                      "tip": f"{row.village_name} ({row.village_id}) · {row.population:,}: "
                             f"{name}; {_fmt(row.before_min)} → {_fmt(row.after_min)} "
                             f"{t['min']}"})
    g = page.group(t["villages"])
    page.add(g, {"type": "points", "radius": 7, "features": feats})
    units = units_of(district)
    ex = _to_wgs84(units[units["kind"] == result.kind])
    glyph, colour = icon_of(result.kind, lang)
    ux, uy = _xy(ex.geometry.values)
    g = page.group(f"{t['units']}: {label}")
    page.add(g, {"type": "pins", "className": "emgis-unit", "features": [
        {"x": ux[j], "y": uy[j], "glyph": glyph, "c": colour, "tip": f"{words[4]}: {n} ({i})"}
        for j, (i, n) in enumerate(zip(ex["id"], ex["name"], strict=True))]})
    p = _to_wgs84(result.proposals) if len(result.proposals) else result.proposals
    px, py = _xy(p.geometry.values) if len(p) else (np.zeros(0), np.zeros(0))
    g = page.group(f"{words[0]} {label}")
    page.add(g, {"type": "pins", "className": "emgis-proposal", "features": [
        {"x": px[j], "y": py[j], "glyph": str(row.rank), "c": "#6a3d9a", "size": 24,
         "tip": f"#{row.rank} {words[0]}: {row.name} ({row.site_id}) · "
                f"+{row.newly_covered_population:,}"}
        for j, row in enumerate(p.itertuples(index=False))]})
    s = result.solution
    newly = int(result.proposals["newly_covered_population"].sum()) if len(p) else 0
    saved = (f" · {float(result.proposals['gain'].sum()):,.0f} {t['person_min']}"
             if s.model == "p_median" and len(p) else "")
    page.heading(f"{district.name} · {label}", f"{s.model} ({s.method}, {s.status}): "
                 f"{len(p)} {words[0]}, +{newly:,} · ≤ {result.target_min:g} {t['min']}{saved}")
    page.legend([("dot", colours["before"], words[1]), ("dot", colours["new"], words[2]),
                 ("dot", colours["out"], words[3]), (glyph, colour, f"{words[4]} {label}"),
                 ("1", "#6a3d9a", f"{words[0]} {label}")], title=label, note=page.note(t))
    return page.render()


#: Colours of the overview image (the report's static map).
OVERVIEW_ROADS = ((("motorway", "motorway_link", "trunk", "trunk_link", "primary",
                    "primary_link"), "#e67e22", 1.4),
                  (("secondary", "secondary_link", "tertiary", "tertiary_link"), "#d4ac0d", 0.9),
                  (("unclassified", "residential", "living_street", "road", "busway", "service",
                    "track"), "#b3b6b7", 0.4))


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
        segs = [np.column_stack([network.vx[network.vptr[e]:network.vptr[e + 1]],
                                 network.vy[network.vptr[e]:network.vptr[e + 1]]])
                for e in sel]
        ax.add_collection(LineCollection(segs, colors=colour, linewidths=lw, zorder=1))
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
