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
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from emgis.analysis.coverage import STATUSES, CoverageResult
from emgis.analysis.scenario import zones as scenario_zones  # deferred: analysis
from emgis.analysis.whatif import page_tenths
from emgis.inputs.district import District
from emgis.inputs.kinds import target_of, units_of
from emgis.outputs.mappage import (
    _class_layer,
    _fmt,
    _Page,
    _words,
    _xy,
    map_geometry,
)
from emgis.outputs.mappage import _geojson_geom as _geojson_any
from emgis.outputs.style import (
    CLASS_COLOURS,
    SCENARIO_COLOURS,
    SITING_COLOURS,
    WARNING_COLOURS,
    WHATIF_UNIT,
    ZONE_COLOURS,
    icon_of,
    label_of,
    response_class,
    scenario_label,
)
from emgis.roads.edges import EdgeArrays
from emgis.texts import Texts, texts

if TYPE_CHECKING:
    from emgis.analysis.scenario import ScenarioResult
    from emgis.analysis.siting import SitingResult
    from emgis.analysis.warning import WarningReach
    from emgis.analysis.whatif import WhatIf


def _geojson_geom(g: shapely.Geometry, ndigits: int = 5) -> dict[str, Any]:
    """A geometry (map coordinates) as GeoJSON with its coordinates rounded (1 m at 5
    digits): :func:`emgis.outputs.mappage._geojson_geom`, with (multi)polygons' rings taken
    straight from their coordinates (the same numbers, without writing and parsing JSON:
    the areas and zones of a county are hundreds of polygons), each ring a view of one
    array (:func:`~emgis.outputs.mappage.script_json` writes it as the list it stands for)."""
    kind = int(shapely.get_type_id(g))
    if kind not in (3, 6) or g.is_empty or shapely.has_z(g):
        return _geojson_any(g, ndigits)
    polys = [g] if kind == 3 else list(shapely.get_parts(g))
    rings, of_poly = shapely.get_rings(polys, return_index=True)
    # each ring a view of one array (the JSON encoder writes it as the list it stands for)
    xy = np.round(shapely.get_coordinates(rings), ndigits)
    ends = np.cumsum(shapely.get_num_coordinates(rings)).tolist()
    coords: list[list[np.ndarray]] = [[] for _ in polys]
    start = 0
    for p, end in zip(of_poly.tolist(), ends, strict=True):
        coords[p].append(xy[start:end])
        start = end
    return {"type": "Polygon", "coordinates": coords[0]} if kind == 3 else {
        "type": "MultiPolygon", "coordinates": coords}


def _geojson_geoms(geoms: Any, ndigits: int = 5) -> list[dict[str, Any]]:
    """:func:`_geojson_geom` of each geometry (the same JSON: a line's coordinates are a
    view of one array, which :func:`~emgis.outputs.mappage.script_json` writes as the lists
    it stands for): lines, most of a scenario map's features (thousands of road parts and
    routes), from one pass over all their coordinates instead of one per line."""
    g = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    kinds = shapely.get_type_id(g)
    lines = (kinds == 1) & ~shapely.has_z(g)
    out: list[dict[str, Any]] = [{} for _ in range(len(g))]
    if lines.any():
        xy, of = shapely.get_coordinates(g[lines], return_index=True)
        flat = np.round(xy, ndigits)
        ends = np.searchsorted(of, np.arange(int(lines.sum()) + 1)).tolist()
        for k, i in enumerate(np.flatnonzero(lines).tolist()):
            out[i] = {"type": "LineString", "coordinates": flat[ends[k]:ends[k + 1]]}
    for i in np.flatnonzero(~lines).tolist():
        out[i] = _geojson_geom(g[i], ndigits)
    return out


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
        status = rows["status"].tolist()  # a list: iterating a Series is slow
        classes = [response_class(n, target, s) for n, s in
                   zip(rows["nearest_min"].tolist(), status, strict=True)]
        gaps = [0 if s == "covered" else 1 for s in status]
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
                    {"g": _geojson_geom(geom),
                     "tip": f"{label}: {t.fmt('map.area_break', b=f'{b:g}')}"}]})
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
        # plain lists: iterating Series is slow (a province's 20,000 villages a kind)
        cols = [c.tolist() for c in (rows["nearest_name"], rows["nearest_min"],
                                     rows["second_name"], rows["second_min"],
                                     rows["target_min"], rows["status"], social, social_min)]
        for k, r in enumerate(zip(*cols, strict=True)):
            nname, nmin, sname, smin, target, status, soc, socmin = r
            cls = response_class(nmin, target, status)
            near = f"{nname} {_fmt(nmin, target)}" if isinstance(nname, str) else "–"
            back = f"{sname} {_fmt(smin, target)}" if isinstance(sname, str) else "–"
            extra = f"{soc} {_fmt(socmin, target)}" if isinstance(soc, str) else "–"
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


assert set(STATUSES) <= set(CLASS_COLOURS)


def scenario_map(
    result: ScenarioResult,
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
        geo = np.asarray(r.geometry.values, dtype=object)
        shown = ~(shapely.is_missing(geo) | shapely.is_empty(geo))
        lid = page.add("affected", {"type": "lines", "pane": "emgisLines", "weight": 4,
                                    "features": [
            {"g": gj, "c": c["road_closed"] if eff == "closed" else c["road_slowed"]}
            for eff, gj in zip(r["effect"].to_numpy()[shown].tolist(),
                               _geojson_geoms(geo[shown]), strict=True)]})
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
        feats = [{"g": g,
                  "w": float(min(8, 2 + cast(float, row.persons) / 300)),
                  "tip": t.fmt("map.evac_tip", village=f"{row.village_name} ({row.village_id})",
                               shelter=f"{row.shelter_name} ({row.shelter_id})",
                               persons=f"{row.persons:,}", minutes=f"{row.minutes:.0f}")}
                 for g, row in zip(_geojson_geoms(disp), flows.itertuples(index=False),
                                   strict=True)]
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
            kinds = t["msg.list_sep"].join(label_of(k2, lang)
                                           for k2 in str(row.kinds_losing_cover).split(","))
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
    out_feats = _affected_unit_pins(result, district, page, t)
    if out_feats:
        lid = page.add("units_out", {"type": "pins", "className": "emgis-unit-out",
                                     "zIndex": 1000, "features": out_feats})
        items.append({"type": "check", "label": _units_out_label(t), "layers": [lid],
                      "on": True})
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
    if out_feats:
        legend += [(f"badge:{UNIT_BADGES['out_of_action']}:{t.get('glyph', 'fire_station')}",
                    f"{c['unit_out']}|{c['badge_out']}",
                    _words(t, t["map.units"], t.get("unit_status", "out_of_action"))),
                   (f"badge:{UNIT_BADGES['cut_off']}:{t.get('glyph', 'fire_station')}",
                    f"{c['unit_cut']}|{c['badge_cut']}",
                    _words(t, t["map.units"], t.get("unit_status", "cut_off")))]
    page.legend(legend, title=f"{t['map.scenario']}: {name}")
    return page.render()


#: Units out of action closer than this (metres) are drawn side by side.
PIN_SPREAD_M = 500.0

#: The badge on a unit's pin on the scenario map, by its status.
UNIT_BADGES = {"out_of_action": "×", "cut_off": "!"}


def _units_out_label(t: Texts) -> str:
    sep = "、" if t.lang == "zh" else " / "
    return _words(t, t["map.units"], t.get("unit_status", "out_of_action") + sep
                  + t.get("unit_status", "cut_off"))


def affected_units(result: ScenarioResult, lang: str = "en") -> pd.DataFrame:
    """The units a scenario puts out of action or cuts off, for the report: one row each
    (``unit_id``, ``unit_name``, ``kind``, ``township``, ``status``, ``reason``; kinds,
    statuses and reasons in the language's words), out of action first, then by kind and
    id. Shelters and stockpiles are included (a shelter out of action is unusable)."""
    t = texts(lang)
    u = result.units
    u = u[u["status"].isin(["out_of_action", "cut_off"])].copy()
    u["_o"] = (u["status"] == "cut_off").astype(int)
    u = u.sort_values(["_o", "kind", "unit_id"], kind="stable").drop(columns="_o")
    return pd.DataFrame({
        "unit_id": u["unit_id"].astype(str).to_numpy(),
        "unit_name": u["unit_name"].to_numpy(),
        "kind": [label_of(str(k), lang) for k in u["kind"]],
        "township": [str(x) if pd.notna(x) else "–" for x in u["township"]],
        "status": [t.get("unit_status", str(s_)) for s_ in u["status"]],
        "reason": [t.get("reason", str(r), str(r)) for r in u["reason"]],
    })


def _affected_unit_pins(result: ScenarioResult, district: District, page: _Page,
                        t: Texts) -> list[dict[str, Any]]:
    """Pins of the units out of action or cut off (shelters have their own layer): the
    kind's glyph on a dark pin with a badge, the reason in the popup."""
    c = SCENARIO_COLOURS
    st = result.units
    hit = st[st["status"].isin(["out_of_action", "cut_off"])
             & ~st["kind"].astype(str).str.startswith("shelter_")]
    if not len(hit):
        return []
    units = units_of(district)[["id", "geometry"]].drop_duplicates("id")
    g = hit.merge(units.rename(columns={"id": "unit_id"}), on="unit_id", how="left")
    g = g[g["geometry"].notna()]
    if not len(g):
        return []
    disp = page.display(gpd.GeoDataFrame(g, geometry="geometry", crs=district.crs))
    ux, uy = _xy(disp.geometry.values)
    # units close together (within PIN_SPREAD_M) stand side by side (pixels), not on top of
    # each other
    xy = shapely.get_coordinates(g.geometry.values)
    group = np.arange(len(g))
    for j in range(1, len(g)):
        near = np.flatnonzero(np.hypot(*(xy[:j] - xy[j]).T) <= PIN_SPREAD_M)
        if len(near):
            group[j] = group[near[0]]
    place = pd.Series(group)
    nth = place.groupby(place).cumcount().to_numpy()
    many = place.map(place.value_counts()).to_numpy()
    feats = []
    for j, r in enumerate(g.itertuples(index=False)):
        status, kind = str(r.status), str(r.kind)
        label = label_of(kind, t.lang)
        word = t.get("unit_status", status)
        reason = t.get("reason", str(r.reason), str(r.reason))
        feats.append({
            "x": ux[j], "y": uy[j], "glyph": t.get("glyph", kind, "?"), "size": 20,
            "dx": float((nth[j] - (many[j] - 1) / 2) * 27),
            "c": c["unit_out" if status == "out_of_action" else "unit_cut"],
            "badge": UNIT_BADGES[status],
            "bc": c["badge_out" if status == "out_of_action" else "badge_cut"],
            "tip": f"{label}: {r.unit_name} ({r.unit_id}) · {word}",
            "pop": {"title": f"{label}: {r.unit_name} ({r.unit_id})",
                    "lines": [f"{t['map.status']}: {word}",
                              f"{t.get('column', 'reason', 'reason')}: {reason}"]}})
    return feats


def siting_map(result: SitingResult, district: District, *, network: EdgeArrays | None = None,
               lang: str = "en", basemap: str | None = None, whatif: WhatIf | None = None
               ) -> str:
    """Where to build: existing units, proposed sites numbered by rank, villages covered
    before, newly covered and still outside target. With ``whatif``
    (:func:`emgis.analysis.whatif.whatif_data`) the page is interactive: candidates and existing
    units
    switched on and off, cover recomputed in the page per scenario. Returns the HTML page."""
    if whatif is not None:
        return _whatif_page(result, district, network=network, lang=lang, basemap=basemap,
                            data=whatif)

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


def _whatif_page(result: SitingResult, district: District, *, network: EdgeArrays | None,
                 lang: str, basemap: str | None, data: WhatIf) -> str:
    """The siting page as a what-if tool (see :mod:`emgis.analysis.whatif`)."""

    t = texts(lang)
    label = label_of(result.kind, lang)
    title = t.fmt("map.siting_title", kind=label)
    page = _Page(district, lang, f"{district.name} – {title}", basemap)
    page.fit(result.villages)
    page.set_villages(district.villages)
    page.base_layers(network)
    n_v = len(district.villages)
    wide = n_v > 65535

    def pack(a: np.ndarray, dtype: str) -> str:
        return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")

    u = page.display(data.units) if len(data.units) else data.units
    c = page.display(data.candidates) if len(data.candidates) else data.candidates
    uw = data.units.to_crs(4326) if len(data.units) else data.units
    cw = data.candidates.to_crs(4326) if len(data.candidates) else data.candidates
    ux, uy = _xy(u.geometry.values) if len(u) else (np.zeros(0), np.zeros(0))
    cx, cy = _xy(c.geometry.values) if len(c) else (np.zeros(0), np.zeros(0))
    scen = []
    for s in data.scenarios:
        tenths = np.minimum(page_tenths(s.minutes), 65535)
        scen.append({"key": s.name, "label": t["map.whatif_baseline"] if s.name == "baseline"
                     else scenario_label(s.name, t), "ptr": pack(s.ptr, "<u4"),
                     "vil": pack(s.village, "<u4" if wide else "<u2"),
                     "t": pack(tenths, "<u2"),
                     "zones": [] if s.name == "baseline" else _scenario_zones(
                         district, s.name, page, t)})
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
                  # what building each costs, yuan (None where unknown): the page adds up the
                  # chosen ones
                  "cost": [None if c != c else round(float(c), 2) for c in (
                      data.candidates["cost"] if "cost" in data.candidates
                      else [float("nan")] * len(data.candidates))],
                  "lon": np.round(cw.geometry.x.to_numpy(), 6).tolist() if len(cw) else [],
                  "lat": np.round(cw.geometry.y.to_numpy(), 6).tolist() if len(cw) else []},
        "colours": {**CLASS_COLOURS, "chosen": SITING_COLOURS["proposal"],
                    "unit": WHATIF_UNIT},
        "texts": {k: t[f"map.whatif_{k}"] for k in (
            "title", "hint", "covered", "change", "ranked", "gaps", "reset", "export_csv",
            "export_geojson", "candidate", "existing", "more", "cost", "yuan", "yearly")}
        | {"min": t["unit.min"]},
        "yearly": float(district.settings.costs[f"{data.kind}_yearly"].value)
        if f"{data.kind}_yearly" in district.settings.costs else None,
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
    zone_rows = [("area", SCENARIO_COLOURS["zone_closed"], f"{t['map.zone']} ({t['map.closed']})"),
                 ("area", SCENARIO_COLOURS["zone_slowed"], f"{t['map.zone']} ({t['map.slowed']})")
                 ] if any(sc["zones"] for sc in scen) else []
    page.legend([*[("dot", CLASS_COLOURS[k], v) for k, v in names.items()], *zone_rows,
                 ("dot", SITING_COLOURS["proposal"], t["map.whatif_chosen"]),
                 ("dot", "#ffffff", t["map.whatif_candidate_off"]),
                 ("dot", WHATIF_UNIT, t["map.whatif_existing_on"]),
                 ("dot", "#bdbdbd", t["map.whatif_existing_off"])], title=title)
    return page.render()


def _scenario_zones(district: District, name: str, page: _Page, t: Texts
                    ) -> list[dict[str, Any]]:
    """A scenario's hazard zones (grown by its buffer) as the what-if page draws them when
    the scenario is chosen: geometry, colour by effect, the zone's name and effect."""

    sc = next((x for x in district.scenarios if x.name == name), None)
    if sc is None:
        return []
    z = scenario_zones(district, sc)
    if not len(z):
        return []
    z = z[["name", "effect", "geometry"]].copy()
    z["geometry"] = [map_geometry(g, tolerance_m=10) for g in z.geometry]
    z = page.display(z)
    c = SCENARIO_COLOURS
    return [{"g": _geojson_geom(g), "c": c["zone_closed"] if eff == "closed" else c["zone_slowed"],
             "tip": f"{zname} ({t.get('effect', str(eff))})"}
            for zname, eff, g in zip(z["name"], z["effect"], z.geometry, strict=True)
            if g is not None and not g.is_empty]


def warning_map(reach: WarningReach, district: District, *, network: EdgeArrays | None = None,
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
