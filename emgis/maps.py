"""Interactive maps: one self-contained HTML file each, usable offline.

folium is imported only inside the functions that draw. Leaflet's JavaScript and CSS are inlined
from a copy shipped with emgis (``emgis/_static``, Leaflet 1.9.4, BSD-2-Clause), so a map opens
with no internet: background tiles then stay blank, every layer still shows. Every string that
comes from input files is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from emgis.coverage import STATUSES, CoverageResult, target_of
from emgis.district import District

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
        "title": "Coverage",
        "illustrative": "", "headcount": "headcount", "turnout": "turnout",
        "shown": "shown on opening (switch kinds with the layer button)",
        "note": f"Map data {CREDIT}. Estimated figures in the demo are illustrative.",
    },
    "zh": {
        "covered": "目标时间内", "over_target": "超出目标（2倍以内）",
        "far_over": "超出目标2倍以上",
        "cut_off": "路网不通", "no_road_access": "无道路可达", "no_unit": "无此类队伍",
        "legend": "响应时间", "villages": "村（社区）", "units": "应急力量", "areas": "服务范围",
        "townships": "乡镇边界", "gaps": "覆盖缺口村", "population": "人口", "nearest": "最近",
        "backup": "备份", "target": "目标", "min": "分钟", "status": "状态",
        "person_min": "人·分钟（节省）", "township": "乡镇", "kind": "类型", "title": "应急覆盖",
        "illustrative": "",
        "headcount": "人数", "turnout": "出动时间", "shown": "默认显示（右上角按钮切换类型）",
        "note": f"地图数据 {CREDIT}。示例区的估算数据仅作示意。",
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


_ID = re.compile(r"([a-z_]+?)_([0-9a-f]{32})(?![0-9a-f])")


def stable_ids(page: str) -> str:
    """Replace folium's random element ids by numbers in order of appearance (same input, same
    file)."""
    seen: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        key = m.group(2)
        if key not in seen:
            seen[key] = f"{len(seen) + 1:04d}"
        return f"{m.group(1)}_{seen[key]}"

    return _ID.sub(repl, page)


def map_geometry(geom: Any, *, tolerance_m: float = 15.0) -> Any:
    """A polygon simplified for display (metres, before reprojection)."""
    import shapely

    from emgis.coverage import polygonal

    return polygonal(shapely.simplify(geom, tolerance_m, preserve_topology=True))


def _round(geojson: dict[str, Any], ndigits: int = 5) -> dict[str, Any]:
    def r(c: Any) -> Any:
        if isinstance(c, (list, tuple)):
            return [r(x) for x in c]
        return round(c, ndigits) if isinstance(c, float) else c

    for f in geojson.get("features", []):
        if f.get("geometry"):
            f["geometry"]["coordinates"] = r(f["geometry"]["coordinates"])
    return geojson


#: Beyond html.escape: braces (folium renders GeoJSON data and tooltips through Jinja, so
#: ``{{ ... }}`` from an input file would be evaluated) and ``$``/backtick (folium puts tooltips
#: in JavaScript template literals, where ``${...}`` would run). All display the same as HTML.
_MORE = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;"})


def _esc(text: object) -> str:
    """Text from input files made safe for every place it reaches in a folium page."""
    return html.escape(str(text)).translate(_MORE)


def _raw(m: Any, where: str, content: str) -> None:
    """Put ``content`` into the page's header or body *after* folium renders it.

    folium renders an Element's text as a Jinja template: text holding ``{{ ... }}`` from an
    input file would be evaluated. Elements get a plain placeholder instead, replaced by
    :func:`_fill` in the rendered page.
    """
    import folium

    slots: dict[str, str] = m.__dict__.setdefault("_emgis_slots", {})
    token = f"<!--emgis-slot-{len(slots)}-->"
    slots[token] = content
    getattr(m.get_root(), where).add_child(folium.Element(token))


def _fill(m: Any, page: str) -> str:
    for token, content in m.__dict__.get("_emgis_slots", {}).items():
        page = page.replace(token, content, 1)
    return page


def _new_map(bounds: tuple[float, float, float, float], *, title: str, tiles: bool) -> Any:
    import folium

    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    m.default_js = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js")]
    m.default_css = [("leaflet_css",
                      "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css")]
    if tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=CREDIT,
                         control=True).add_to(m)
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    _raw(m, "header", f"<title>{_esc(title)}</title><meta charset=\"utf-8\">")
    return m


def _legend(m: Any, rows: list[tuple[str, str, str]], *, title: str, note: str) -> None:
    """A fixed legend: (shape, colour, label) rows; shape 'dot' or a glyph."""
    items = []
    for shape, colour, label in rows:
        if shape == "dot":
            sw = (f'<span style="display:inline-block;width:12px;height:12px;border-radius:6px;'
                  f'background:{colour};border:1px solid #333;margin-right:6px"></span>')
        elif shape == "area":
            sw = (f'<span style="display:inline-block;width:14px;height:10px;background:{colour};'
                  f'opacity:.5;border:1px solid {colour};margin-right:6px"></span>')
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
    _raw(m, "html", box)


def _title(m: Any, title: str, subtitle: str) -> None:
    _raw(m, "html",
         '<div id="emgis-title" style="position:fixed;top:10px;left:60px;z-index:1000;'
         'background:rgba(255,255,255,.93);padding:4px 10px;border:1px solid #888;'
         'border-radius:4px;font:13px sans-serif"><b>' + _esc(title) + "</b><br>"
         + _esc(subtitle) + "</div>")


def _glyph_html(glyph: str, colour: str, *, size: int = 22) -> str:
    return (f'<div style="width:{size}px;height:{size}px;line-height:{size}px;'
            f'background:{colour};color:#fff;border:2px solid #fff;border-radius:4px;'
            f'box-shadow:0 0 2px #000;text-align:center;font:bold {int(size * 0.6)}px '
            f'sans-serif">{_esc(glyph)}</div>')


def _pin(glyph: str, colour: str, *, size: int = 22) -> dict[str, Any]:
    """A glyph box standing on a pointer whose tip is the location, so the village circle
    at the same place stays visible below it. Keyword arguments of ``folium.DivIcon``."""
    box = size + 4  # with the 2 px white border
    tip = (f'<div style="width:0;height:0;margin:0 auto;border-left:6px solid transparent;'
           f'border-right:6px solid transparent;border-top:8px solid {colour}"></div>')
    return {"html": _glyph_html(glyph, colour, size=size) + tip, "icon_size": (box, box + 8),
            "icon_anchor": (box // 2, box + 8)}


def _fmt(v: float) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.1f}"


def response_class(nearest_min: float, target: float, status: str) -> str:
    """Colour class of a village: covered, over_target (up to 2x), far_over, or its status."""
    if status in ("covered", "cut_off", "no_road_access", "no_unit"):
        return status
    return "over_target" if nearest_min <= 2 * target else "far_over"


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
    import folium

    t = TEXT[lang]
    table = result.table
    units = result.units.to_crs(4326)
    villages = result.villages.to_crs(4326)
    if kinds is None:
        kinds = tuple(k for k in result.kinds if (units["kind"] == k).any())
    m = _new_map(tuple(villages.total_bounds), title=f"{district.name} – {t['title']}",
                 tiles=tiles)

    towns = district.townships
    if len(towns):
        tw = towns[["name", "geometry"]].to_crs(4326).copy()
        tw["name"] = tw["name"].astype(str).map(_esc)
        folium.GeoJson(
            _round(json.loads(tw.to_json())), name=t["townships"],
            style_function=lambda f: {"color": "#444", "weight": 2, "fill": False,
                                      "dashArray": "6 4"},
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(m)

    # popups once per village, shared by every kind's layer
    popups = _popups(table, villages, t, lang)
    data = json.dumps(popups, ensure_ascii=False, sort_keys=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    _raw(m, "header", f"<script>var emgisPopups = {data};</script>")
    bind = folium.JsCode(
        "function(feature, layer) {"
        " layer.bindPopup(emgisPopups[feature.properties.id], {maxWidth: 420}); }")
    kind_areas = areas[areas["scope"] == "kind"].copy() if len(areas) else areas
    if len(kind_areas):
        kind_areas["geometry"] = [map_geometry(g) for g in kind_areas.geometry]
        kind_areas = kind_areas.to_crs(4326)
    for i, kind in enumerate(kinds):
        label = KIND_LABELS.get(kind, {}).get(lang, kind)
        target = target_of(kind, district.settings)
        ka = kind_areas[kind_areas["kind"] == kind] if len(kind_areas) else kind_areas
        for b in sorted(ka["break_min"].unique(), reverse=True) if len(ka) else []:
            geom = ka[ka["break_min"] == b].geometry.iloc[0]
            if geom.is_empty:
                continue
            strong = b == target
            folium.GeoJson(
                _round(json.loads(gpd.GeoSeries([geom], crs=4326).to_json())),
                name=f"{t['areas']} {label} ≤ {b:g} {t['min']}",
                show=(i == 0 and strong),
                style_function=(lambda f, s=strong: {
                    "color": "#2c7fb8", "weight": 1, "fillColor": "#41b6c4",
                    "fillOpacity": 0.25 if s else 0.1}),
            ).add_to(m)
        rows = table[table["kind"] == kind]
        feats = []
        for (vid, nearest, status), geom in zip(
            rows[["village_id", "nearest_min", "status"]].itertuples(index=False, name=None),
            villages.geometry, strict=True,
        ):
            cls = response_class(nearest, target, status)
            feats.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(geom.x, 6),
                                                              round(geom.y, 6)]},
                "properties": {"id": str(vid), "color": CLASS_COLOURS[cls],
                               "gap": status != "covered"},
            })
        fg = folium.FeatureGroup(name=f"{t['villages']}: {label}", show=(i == 0))
        folium.GeoJson(
            {"type": "FeatureCollection", "features": feats},
            marker=folium.CircleMarker(radius=7, weight=1, fill=True, fill_opacity=0.9),
            style_function=lambda f: {
                "color": "#000" if not f["properties"]["gap"] else "#b2182b",
                "weight": 1 if not f["properties"]["gap"] else 3,
                "fillColor": f["properties"]["color"]},
            on_each_feature=bind,
        ).add_to(fg)
        fg.add_to(m)

    for kind in kinds:
        glyph, colour = icon_of(kind, lang)
        label = KIND_LABELS.get(kind, {}).get(lang, kind)
        feats = []
        for u in units[units["kind"] == kind].itertuples():
            tip = _esc(f"{label}: {u.name} ({u.id})")
            feats.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(u.geometry.x, 6),
                                                              round(u.geometry.y, 6)]},
                "properties": {"tip": tip, "popup": f"{tip}<br>{t['turnout']}: "
                                                    f"{u.turnout_min:g} {t['min']}"},
            })
        fg = folium.FeatureGroup(name=f"{t['units']}: {label}", show=(kind == kinds[0]))
        folium.GeoJson(
            {"type": "FeatureCollection", "features": feats},
            marker=folium.Marker(icon=folium.DivIcon(
                **_pin(glyph, colour),
                class_name="emgis-unit")),
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        ).add_to(fg)
        fg.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    first = KIND_LABELS.get(kinds[0], {}).get(lang, kinds[0]) if kinds else ""
    _title(m, f"{district.name} · {t['title']}", f"{t['shown']}: {first} "
              f"(≤ {target_of(kinds[0], district.settings):g} {t['min']})" if kinds else "")
    legend = [("dot", CLASS_COLOURS[c], t[c]) for c in CLASS_COLOURS]
    legend += [("area", "#41b6c4", t["areas"])]
    legend += [(*icon_of(k, lang), KIND_LABELS.get(k, {}).get(lang, k)) for k in kinds]
    _legend(m, legend, title=t["legend"], note=t["note"])
    return _fill(m, stable_ids(inline_assets(m.get_root().render())))


def _popups(table: pd.DataFrame, villages: gpd.GeoDataFrame, t: dict[str, str],
            lang: str) -> dict[str, str]:
    """Per village: an HTML table of its times to every kind (escaped), built column-wise."""
    if len(table) == 0:
        return {}
    esc = np.vectorize(_esc, otypes=[object])
    labels = {k: _esc(KIND_LABELS.get(k, {}).get(lang, k)) for k in table["kind"].unique()}
    near = table["nearest_min"].to_numpy(dtype=float)
    second = table["second_min"].to_numpy(dtype=float)
    target = table["target_min"].to_numpy(dtype=float)
    status = table["status"].to_numpy(dtype=object)
    far = (status == "over_target") & (near > 2 * target)
    cls = np.where(far, "far_over", status)
    fmt = np.vectorize(_fmt, otypes=[object])
    tfmt = np.vectorize(lambda v: f"{v:g}", otypes=[object])
    colour = pd.Series(cls).map(CLASS_COLOURS).to_numpy(dtype=object)
    text = pd.Series(cls).map({c: _esc(t.get(c, c)) for c in CLASS_COLOURS}
                              ).to_numpy(dtype=object)
    rows = ("<tr><td>" + table["kind"].map(labels).to_numpy(dtype=object) + "</td><td>"
            + fmt(near) + "</td><td>" + fmt(second) + "</td><td>" + tfmt(target)
            + '</td><td style="color:' + colour + '">' + text + "</td></tr>")
    body = pd.Series(rows).groupby(table["village_id"].to_numpy(), sort=False).agg("".join)
    first = table.drop_duplicates("village_id").set_index("village_id")
    head = (
        "<b>" + esc(first["village_name"].astype(str).to_numpy()) + "</b> ("
        + esc(first.index.astype(str).to_numpy()) + ")<br>" + t["township"] + ": "
        + esc(first["township"].astype(str).to_numpy()) + " · " + t["population"] + ": "
        + np.array([f"{int(p):,}" for p in first["population"]], dtype=object)
        + '<table style="font-size:11px;border-collapse:collapse"><tr><th>' + t["kind"]
        + "</th><th>" + t["nearest"] + "</th><th>" + t["backup"] + "</th><th>" + t["target"]
        + "</th><th>" + t["status"] + "</th></tr>"
    )
    html_by_id = head + body.reindex(first.index).to_numpy(dtype=object) + "</table>"
    return dict(zip(first.index.astype(str), html_by_id, strict=True))


def save(page: str, path: str | Path) -> Path:
    """Write an HTML page (UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


assert set(STATUSES) <= set(CLASS_COLOURS)


def _point(g: Any, **properties: object) -> dict[str, Any]:
    """A GeoJSON point feature (WGS-84 coordinates rounded to 6 decimals)."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
        round(g.x, 6), round(g.y, 6)]}, "properties": properties}


def _flagged_points(m: Any, feats: list[dict[str, Any]], name: str) -> None:
    """Circles filled with each feature's ``c``, outlined thick blue where ``hi``, with a
    tooltip ``tip`` (already escaped)."""
    import folium

    folium.GeoJson({"type": "FeatureCollection", "features": feats}, name=name,
                   marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.9),
                   style_function=lambda f: {"fillColor": f["properties"]["c"],
                                             "color": "#2166ac" if f["properties"]["hi"]
                                             else "#000",
                                             "weight": 3 if f["properties"]["hi"] else 1},
                   tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False)).add_to(m)


SCENARIO_TEXT: dict[str, dict[str, str]] = {
    "en": {"zone": "Hazard zone", "closed": "closed road", "slowed": "slowed road",
           "island": "cut off entirely", "lost": "loses cover", "kept": "keeps its cover",
           "evac": "Evacuation", "shelters": "Shelters", "load": "load", "unusable":
           "unusable (in the zone)", "full": "full", "half": "over half full",
           "room": "room left", "persons": "persons", "villages": "Villages",
           "roads": "Affected roads", "title": "Scenario", "evacuate": "must leave",
           "unsheltered": "without a place"},
    "zh": {"zone": "灾害范围", "closed": "道路中断", "slowed": "道路通行减慢", "island": "完全孤立",
           "lost": "失去覆盖", "kept": "覆盖不变", "evac": "疏散路线", "shelters": "避难场所",
           "load": "安置", "unusable": "不可用（位于灾害范围内）", "full": "已满", "half": "过半",
           "room": "尚有余量", "persons": "人", "villages": "村（社区）", "roads": "受影响道路",
           "title": "灾害情景", "evacuate": "需转移", "unsheltered": "无处安置"},
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
    import folium

    t = {**TEXT[lang], **SCENARIO_TEXT[lang]}
    v = villages.to_crs(4326)
    m = _new_map(tuple(v.total_bounds), title=f"{district.name} – {t['title']} "
                 f"{result.scenario.name}", tiles=tiles)
    if len(zones):
        z = zones[["name", "effect", "geometry"]].copy()
        z["geometry"] = [map_geometry(g, tolerance_m=10) for g in z.geometry]
        z = z.to_crs(4326)
        z["name"] = z["name"].astype(str).map(_esc)
        folium.GeoJson(_round(json.loads(z.to_json())), name=t["zone"],
                       style_function=lambda f: {
                           "color": "#b2182b" if f["properties"]["effect"] == "closed"
                           else "#ef8a62", "weight": 1, "fillOpacity": 0.3},
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(m)
    if len(roads):
        r = roads[["effect", "geometry"]].to_crs(4326)
        folium.GeoJson(_round(json.loads(r.to_json())), name=t["roads"],
                       style_function=lambda f: {
                           "color": "#67001f" if f["properties"]["effect"] == "closed"
                           else "#f46d43", "weight": 4}).add_to(m)
    flows = result.evacuation
    if len(flows):
        vv = district.villages.set_index("id").to_crs(4326).geometry
        ss = district.shelters.set_index("id").to_crs(4326).geometry
        feats = []
        for row in flows.itertuples(index=False):
            a, b = vv[row.village_id], ss[row.shelter_id]
            feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [
                [round(a.x, 6), round(a.y, 6)], [round(b.x, 6), round(b.y, 6)]]},
                "properties": {"w": float(min(10, 2 + row.persons / 200)), "tip": _esc(
                    f"{row.village_name} → {row.shelter_name}: {row.persons:,} {t['persons']}, "
                    f"{row.minutes:.0f} {t['min']}")}})
        folium.GeoJson({"type": "FeatureCollection", "features": feats}, name=t["evac"],
                       style_function=lambda f: {"color": "#2166ac",
                                                 "weight": f["properties"]["w"],
                                                 "opacity": 0.8, "dashArray": "6 4"},
                       tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False)).add_to(m)
    colour = {"island": "#542788", "lost": "#d73027", "kept": "#1a9850"}
    feats = []
    for row, g in zip(v.itertuples(index=False), v.geometry, strict=True):
        state = "island" if row.island else ("lost" if row.kinds_losing_cover else "kept")
        tip = f"{row.village_name} ({row.village_id}): {t[state]}"
        if row.evacuate:
            tip += f"; {t['evacuate']} {row.population:,}, {t['unsheltered']} {row.unsheltered:,}"
        if row.kinds_losing_cover:
            kinds = ", ".join(KIND_LABELS.get(k, {}).get(lang, k)
                              for k in str(row.kinds_losing_cover).split(","))
            tip += f"; {t['lost']}: {kinds}"
        feats.append(_point(g, c=colour[state], hi=bool(row.evacuate), tip=_esc(tip)))
    _flagged_points(m, feats, t["villages"])
    sh = result.shelters.merge(district.shelters[["id", "geometry"]], left_on="shelter_id",
                               right_on="id", how="left")
    sh = gpd.GeoDataFrame(sh, geometry="geometry", crs=district.crs).to_crs(4326)
    feats = []
    for row in sh.itertuples(index=False):
        if not row.usable:
            c, state = "#969696", t["unusable"]
        elif row.load_share >= 0.999:
            c, state = "#d73027", t["full"]
        elif row.load_share > 0.5:
            c, state = "#fdae61", t["half"]
        else:
            c, state = "#4393c3", t["room"]
        tip = _esc(f"{row.shelter_name} ({row.shelter_id}): {t['load']} {row.load:,} / "
                          f"{row.capacity:,.0f} – {state}")
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            round(row.geometry.x, 6), round(row.geometry.y, 6)]},
            "properties": {"c": c, "tip": tip}})
    folium.GeoJson({"type": "FeatureCollection", "features": feats}, name=t["shelters"],
                   marker=folium.CircleMarker(radius=10, fill=True, fill_opacity=0.95),
                   style_function=lambda f: {"fillColor": f["properties"]["c"],
                                             "color": "#000", "weight": 3},
                   tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False)).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    s = result.summary.iloc[0]
    _title(m, f"{district.name} · {t['title']}: {result.scenario.name}",
           f"{t['lost']}: {s['population_losing_cover']:,} · {t['island']}: "
           f"{s['population_cut_off']:,} · {t['evacuate']}: {s['population_to_evacuate']:,} · "
           f"{t['unsheltered']}: {s['population_unsheltered']:,}")
    legend = [("area", "#b2182b", f"{t['zone']} ({t['closed']})"),
              ("area", "#ef8a62", f"{t['zone']} ({t['slowed']})"),
              ("dot", colour["island"], t["island"]), ("dot", colour["lost"], t["lost"]),
              ("dot", colour["kept"], t["kept"]), ("area", "#2166ac", t["evac"]),
              ("dot", "#4393c3", f"{t['shelters']}: {t['room']}"),
              ("dot", "#fdae61", f"{t['shelters']}: {t['half']}"),
              ("dot", "#d73027", f"{t['shelters']}: {t['full']}"),
              ("dot", "#969696", f"{t['shelters']}: {t['unusable']}")]
    _legend(m, legend, title=t["title"], note=t["note"])
    return _fill(m, stable_ids(inline_assets(m.get_root().render())))


def siting_map(result: Any, district: District, *, lang: str = "en", tiles: bool = True) -> str:
    """Existing units, proposed sites numbered by rank, villages before/after, newly covered
    villages highlighted. Returns the HTML page."""
    import folium

    t = TEXT[lang]
    label = KIND_LABELS.get(result.kind, {}).get(lang, result.kind)
    words = {"en": ("proposed", "covered before", "newly covered", "still outside target",
                    "existing"),
             "zh": ("建议新增", "原已覆盖", "新增覆盖", "仍超出目标", "现有")}[lang]
    v = result.villages.to_crs(4326)
    m = _new_map(tuple(v.total_bounds), title=f"{district.name} – {label}", tiles=tiles)
    colours = {"before": "#1a9850", "new": "#2166ac", "out": "#d73027"}
    feats = []
    for row, g in zip(v.itertuples(index=False), v.geometry, strict=True):
        state = "new" if row.newly_covered else ("before" if row.covered_before else "out")
        name = words[2] if state == "new" else words[1] if state == "before" else words[3]
        tip = _esc(f"{row.village_name} ({row.village_id}) · {row.population:,}: {name}; "
                          f"{_fmt(row.before_min)} → {_fmt(row.after_min)} {t['min']}")
        feats.append(_point(g, c=colours[state], hi=state == "new", tip=tip))
    _flagged_points(m, feats, t["villages"])
    from emgis.coverage import units_of

    units = units_of(district)
    ex = units[units["kind"] == result.kind].to_crs(4326)
    glyph, colour = icon_of(result.kind, lang)
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [
        round(g.x, 6), round(g.y, 6)]}, "properties": {"tip": _esc(
            f"{words[4]}: {n} ({i})")}} for i, n, g in zip(ex["id"], ex["name"], ex.geometry,
                                                             strict=True)]
    folium.GeoJson({"type": "FeatureCollection", "features": feats},
                   name=f"{t['units']}: {label}",
                   marker=folium.Marker(icon=folium.DivIcon(
                       **_pin(glyph, colour), class_name="emgis-unit")),
                   tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False)).add_to(m)
    p = result.proposals.to_crs(4326)
    for row, g in zip(p.itertuples(index=False), p.geometry, strict=True):
        tip = _esc(f"#{row.rank} {words[0]}: {row.name} ({row.site_id}) · "
                          f"+{row.newly_covered_population:,}")
        folium.Marker([g.y, g.x], icon=folium.DivIcon(
            **_pin(str(row.rank), "#6a3d9a", size=24), class_name="emgis-proposal"),
            tooltip=tip).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    s = result.solution
    newly = int(result.proposals["newly_covered_population"].sum())
    saved = (f" · {s.gains[-1]:,.0f} {t['person_min']}" if s.model == "p_median" and s.gains
             else "")
    _title(m, f"{district.name} · {label}", f"{s.model} ({s.method}, {s.status}): "
           f"{len(s.sites)} {words[0]}, +{newly:,} · ≤ {result.target_min:g} {t['min']}{saved}")
    _legend(m, [("dot", colours["before"], words[1]), ("dot", colours["new"], words[2]),
                ("dot", colours["out"], words[3]), (glyph, colour, f"{words[4]} {label}"),
                ("1", "#6a3d9a", f"{words[0]} {label}")], title=label, note=t["note"])
    return _fill(m, stable_ids(inline_assets(m.get_root().render())))
