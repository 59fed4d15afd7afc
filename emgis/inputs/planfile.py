"""A plan a planner exported from the what-if page, read back onto the district.

The file (CSV with lon/lat, or GeoJSON points) lists ``id``, ``name``, ``kind`` and
``action``: ``add`` makes a new unit of the kind at the point (a team, or a township store for
``stockpile``), ``remove`` takes the existing unit with that id out. The district returned is
the district with the plan built, so every analysis (coverage, scenarios, the report) runs on
it: ``emgis run DISTRICT --plan plan.csv``.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from emgis._errors import ValidationError
from emgis._files import gdal_path
from emgis.inputs.checks import _kind_word
from emgis.inputs.district import District
from emgis.inputs.encodings import _decode_csv
from emgis.inputs.problems import ProblemLog
from emgis.inputs.standards import KIND_ALIASES
from emgis.texts import Msg

#: Kinds a plan may add or remove.
PLAN_KINDS = (*sorted(set(KIND_ALIASES["teams"].values())), "stockpile")


def read_plan(path: str | Path) -> gpd.GeoDataFrame:
    """Read and check a plan file; every problem is listed together.

    Raises
    ------
    ValidationError
        The file cannot be read, or rows lack a field or hold a wrong value (each problem
        names the file, the row, the field and what was expected).
    """
    path = Path(path)
    plog = ProblemLog()
    name = path.name
    try:
        if path.suffix.lower() == ".csv":
            text = _decode_csv(path, None, plog)  # UTF-8, with BOM or GBK, detected
            if text is None:
                raise ValidationError(plog.errors)
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            for col in ("lon", "lat"):
                if col not in df:
                    plog.error(name, Msg("plan_missing_lonlat", col=col), field=col)
            if plog.errors:
                raise ValidationError(plog.errors)
            lon = pd.to_numeric(df["lon"], errors="coerce")
            lat = pd.to_numeric(df["lat"], errors="coerce")
            gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]),
                                   geometry=shapely.points(lon, lat), crs=4326)
        else:
            gdf = gpd.read_file(gdal_path(path))
            gdf = gdf.set_crs(4326) if gdf.crs is None else gdf.to_crs(4326)
    except ValidationError:
        raise
    except Exception as exc:  # unreadable: say which file and why
        plog.error(name, Msg("plan_unreadable", detail=str(exc)))
        raise ValidationError(plog.errors) from exc
    if not len(gdf):  # a plan that builds nothing: an export gone wrong
        plog.error(name, Msg("plan_no_rows"))
        raise ValidationError(plog.errors)
    for col in ("id", "name", "kind", "action"):
        if col not in gdf:
            plog.error(name, Msg("plan_missing_field", col=col), field=col)
    if plog.errors:
        raise ValidationError(plog.errors)
    aliases = {**KIND_ALIASES["teams"], "stockpile": "stockpile", "物资储备点": "stockpile"}
    kinds = []
    seen: dict[str, int] = {}
    for i, r in enumerate(gdf.itertuples(index=False), start=1):
        pid = str(r.id).strip()
        if not pid:
            plog.error(name, Msg("plan_missing_id"), row=i, field="id")
        elif pid in seen:
            plog.error(name, Msg("id_duplicate", v=pid, first=seen[pid]), row=i, id=pid,
                       field="id")
        else:
            seen[pid] = i
        kind = aliases.get(str(r.kind).strip())
        if kind is None:
            plog.error(name, Msg("kind_unknown", v=r.kind, expected=Msg(
                "expect_kind", kinds=tuple(_kind_word(k, aliases) for k in PLAN_KINDS))),
                       row=i, id=pid, field="kind")
        kinds.append(kind)
        if str(r.action).strip() not in ("add", "remove"):
            plog.error(name, Msg("plan_action", v=r.action), row=i, id=pid, field="action")
        g = r.geometry
        if g is None or g.is_empty or g.geom_type != "Point" or not (
                -180 <= g.x <= 180 and -90 <= g.y <= 90):
            plog.error(name, Msg("plan_point"), row=i, id=pid, field="lon")
    if plog.errors:
        raise ValidationError(plog.errors)
    out = gdf.assign(id=gdf["id"].astype(str).str.strip(), kind=kinds,
                     action=gdf["action"].astype(str).str.strip())
    return gpd.GeoDataFrame(out[["id", "name", "kind", "action", "geometry"]],
                            geometry="geometry", crs=4326)


def with_plan(district: District, path: str | Path) -> District:
    """The district with a plan built: units added and removed (a copy; the input stays).

    Raises
    ------
    ValidationError
        As :func:`read_plan`, or a ``remove`` names a unit the district does not have, or an
        ``add`` reuses the id of an existing unit of the layer.
    """
    plan = read_plan(path).to_crs(district.crs)
    name = Path(path).name
    plog = ProblemLog()
    teams, stock = district.teams.copy(), district.stockpiles.copy()
    towns = district.townships
    v = district.villages

    def township(p: shapely.Geometry) -> object:
        if len(towns):
            hit = towns[towns.geometry.contains(p)]
            if len(hit):
                return hit["name"].iloc[0]
        return v["township"].iloc[int(np.argmin(v.geometry.distance(p).to_numpy()))]

    # a unit added farther than the roads reach (the district's area grown by the clip
    # buffer) can serve nobody: a plan of another district, or coordinates typed wrong
    area = district.area if district.area is not None else (
        shapely.convex_hull(shapely.multipoints(list(v.geometry))) if len(v) else None)
    reach = shapely.buffer(area, district.settings.network.clip_buffer_m) \
        if area is not None else None
    adds_t, adds_s = [], []
    for i, r in enumerate(plan.itertuples(index=False), start=1):
        layer = stock if r.kind == "stockpile" else teams
        if r.action == "remove":
            hit = layer["id"].astype(str) == r.id
            if not hit.any():
                plog.error(name, Msg("plan_remove_unknown_stockpile" if r.kind == "stockpile"
                                     else "plan_remove_unknown_team", v=r.id),
                           row=i, id=r.id, field="id")
            elif r.kind == "stockpile":
                stock = stock[~hit.to_numpy()]
            else:
                teams = teams[~hit.to_numpy()]
            continue
        if (layer["id"].astype(str) == r.id).any():
            plog.error(name, Msg("plan_add_existing", v=r.id), row=i, id=r.id, field="id")
            continue
        if reach is not None and not reach.contains(r.geometry):
            km = float(reach.boundary.distance(r.geometry)) / 1000 + district.settings.network \
                .clip_buffer_m / 1000
            plog.error(name, Msg("plan_outside", km=f"{km:,.1f}"), row=i, id=r.id, field="lon")
            continue
        rec = {"id": r.id, "name": str(r.name), "township": township(r.geometry),
               "geometry": r.geometry}
        if r.kind == "stockpile":
            adds_s.append({**rec, "level": "township"})
        else:
            adds_t.append({**rec, "kind": r.kind})
    if plog.errors:
        raise ValidationError(plog.errors)

    return dataclasses.replace(district,
                               teams=extend_layer(teams.reset_index(drop=True), adds_t),
                               stockpiles=extend_layer(stock.reset_index(drop=True), adds_s),
                               sources=(*district.sources, Path(path).resolve()))


def extend_layer(base: gpd.GeoDataFrame, rows: Sequence[Mapping[str, object]]
                 ) -> gpd.GeoDataFrame:
    """``base`` with ``rows`` (dicts of some of its fields and a point in its CRS) appended;
    the layer's column types are kept where the new rows fill them (a copy)."""
    if not rows:
        return base.copy()
    new = gpd.GeoDataFrame(rows, geometry="geometry", crs=base.crs)
    both = pd.concat([base, new.reindex(columns=base.columns)], ignore_index=True)
    for col in base.columns:
        if col != base.geometry.name and both[col].dtype != base[col].dtype and \
                (both[col].notna().all() or base[col].dtype.kind not in "iub"):
            both[col] = both[col].astype(base[col].dtype)
    return gpd.GeoDataFrame(both, geometry=base.geometry.name, crs=base.crs)
