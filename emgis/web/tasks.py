"""Short tasks the workbench hands to a helper process (a *spawn* process pool), so that the
web process never reads a district's layers itself: making a project from its files
(``emgis init``), checking it, the map context of the hazard page, reading an uploaded hazard
polygon, and comparing two runs. Every function takes and returns plain data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

import emgis.inputs.district
import emgis.run.compare  # noqa: F401
from emgis._errors import DistrictError, ValidationError
from emgis.inputs.district import summary, validate_district
from emgis.inputs.init import init_district
from emgis.inputs.planfile import read_plan
from emgis.run.compare import CompareError, compare_runs
from emgis.texts import say, texts


def _problems(problems: Any, lang: str) -> list[dict[str, Any]]:

    t = texts(lang)
    return [{"level": p.level, "file": p.file, "row": p.row, "id": p.id, "field": p.field,
             "message": say(p.message, t), "level_word": t["msg.level_" + p.level]}
            for p in problems]


def _summary(district: Any, lang: str) -> dict[str, Any]:

    s = summary(district)
    return {"name": s["name"], "crs": s["crs"], "population": int(s["population"]),
            "villages": len(district.villages),
            "layers": {k: int(sum(v.values())) for k, v in s["layers"].items()},
            "roads": district.roads.path.name if district.roads is not None else None,
            "scenarios": [sc.name for sc in district.scenarios],
            "hazards": [{"id": str(i), "name": str(n)} for i, n in
                        zip(district.hazards["id"], district.hazards["name"], strict=True)]
            if len(district.hazards) else []}


def check(folder: str, lang: str) -> dict[str, Any]:
    """Validate a project: every problem (file, row, id, field, message) and its summary."""

    try:
        report = validate_district(folder)
    except DistrictError as exc:
        return {"ok": False, "problems": [{"level": "error", "file": "district.toml",
                                           "row": None, "id": None, "field": None,
                                           "message": say(exc, lang), "level_word": ""}],
                "summary": None}
    out = {"ok": report.ok, "problems": _problems(report.problems, lang), "summary": None}
    if report.district is not None:
        out["summary"] = _summary(report.district, lang)
    return out


def init(folder: str, lang: str) -> dict[str, Any]:
    """``emgis init`` on a project's folder (replacing its district.toml), then the check."""

    res = init_district(folder, lang=lang, force=True)
    out = check(folder, lang)
    out["left_out"] = [[n, w] for n, w in res.left_out]
    out["missing"] = list(res.missing)
    out["layers"] = {k: [s.label for s in v.sources] for k, v in res.layers.items()}
    out["roads"] = res.roads.source.label if res.roads is not None else None
    return out


def map_context(folder: str) -> dict[str, Any]:
    """The project's townships, villages and hazards in WGS-84 (GeoJSON), for drawing."""


    report = validate_district(folder)
    d = report.district
    if d is None:
        return {"ok": False}

    def fc(gdf: Any, props: list[str], tolerance: float = 0.0) -> dict[str, Any]:
        if gdf is None or not len(gdf):
            return {"type": "FeatureCollection", "features": []}
        g = gdf.to_crs(4326)
        feats = []
        for i in range(len(g)):
            geom = g.geometry.iloc[i]
            if geom is None or geom.is_empty:
                continue
            if tolerance:
                geom = shapely.simplify(geom, tolerance)
            feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)),
                          "properties": {p: _plain(g[p].iloc[i]) for p in props if p in g}})
        return {"type": "FeatureCollection", "features": feats}

    return {"ok": True,
            "townships": fc(d.townships, ["name"], 0.0005),
            "villages": fc(d.villages, ["id", "name", "population"]),
            "hazards": fc(d.hazards, ["id", "name", "kind", "effect", "speed_factor"], 0.0002)}


def _plain(v: Any) -> Any:
    if v is None:
        return None
    try:
        import math

        if isinstance(v, float) and math.isnan(v):
            return None
    except TypeError:
        pass
    if hasattr(v, "item"):
        v = v.item()
    return v if isinstance(v, (int, float, str, bool)) else str(v)


def read_polygon(path: str) -> dict[str, Any]:
    """The polygon(s) of an uploaded hazard file (GeoJSON, GeoPackage or a zipped shapefile)
    as one WGS-84 GeoJSON geometry; ``{"error": ...}`` when it holds none."""

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # unreadable: said to the planner
        return {"error": f"{type(exc).__name__}"}
    gdf = gdf.set_crs(4326) if gdf.crs is None else gdf.to_crs(4326)
    polys = [g for g in gdf.geometry if g is not None and not g.is_empty
             and g.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        return {"error": "no_polygon"}
    geom = shapely.make_valid(shapely.union_all(polys))
    return {"geometry": json.loads(shapely.to_geojson(geom))}


def compare(old: str, new: str, out: str, lang: str) -> dict[str, Any]:
    """``emgis compare OLD NEW --out OUT``: the files written, or the problems."""

    try:
        cmp = compare_runs(old, new, out=out)
        files = cmp.write(out, lang=lang)
    except CompareError as exc:
        return {"ok": False, "errors": [say(e, lang) for e in exc.errors]}
    return {"ok": True, "files": [Path(f).name for f in files]}


def warm() -> bool:
    """Load the libraries once, so the first real task does not wait for them."""

    return True


def check_plan(path: str, lang: str) -> list[str]:
    """The problems of a plan file (empty: it reads as a plan)."""

    try:
        read_plan(path)
    except ValidationError as exc:
        return [p.say(lang) for p in exc.problems]
    return []
