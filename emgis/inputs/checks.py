"""Record checks of a layer: every value of every field against its schema (ids, texts, numbers,
yes/no flags, dates, geometry), each problem naming the file, row, id and field."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from emgis.inputs.fields import MAX_ID_CHARS, MAX_TEXT_CHARS, FieldSpec, LayerSchema, LayerSpec
from emgis.inputs.problems import ProblemLog, ShownRows
from emgis.inputs.standards import EFFECT_ALIASES, KIND_ALIASES
from emgis.texts import Msg

log = logging.getLogger(__name__)

def _is_blank(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip() == ""


#: Characters that make a text something other than data: C0 and C1 controls, DEL (an ESC
#: or CSI sequence sets a terminal's title or colours) and the bidirectional overrides
#: and isolates (a name that reads as another).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _shown(plog: ProblemLog, row: int) -> int:
    """A record's row as its file shows it (see :class:`~emgis.inputs.problems.ShownRows`)."""
    return plog.shown(row) if isinstance(plog, ShownRows) else row


def _check(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, spec: LayerSpec, plog: ProblemLog, *,
    label: str | None = None,
) -> gpd.GeoDataFrame:
    fname = label or spec.path.name
    rows = tuple(int(r) for r in gdf["row"]) if "row" in gdf.columns else ()
    if rows and rows != tuple(range(1, len(rows) + 1)):
        plog = ShownRows(problems=plog.problems, rows=rows)
    if len(gdf) == 0:
        if schema.name == "villages":
            plog.error(fname, Msg("layer_empty_villages"))
        else:
            plog.warning(fname, Msg("layer_empty", layer=Msg(f"layer.{schema.name}")))
    for f in schema.fields:
        if f.required and f.name not in gdf.columns and len(gdf):
            src = spec.fields.get(f.name, f.name)
            plog.error(fname, Msg("field_required", src=src, field=f.name, layer=schema.name,
                                  columns=", ".join(str(c) for c in gdf.columns
                                                    if c not in ("geometry", "row"))),
                       field=f.name)
    ids: list[str | None] = [None] * len(gdf)
    if schema.has_id and "id" in gdf.columns:
        ids = [None if _is_blank(v) else _text(v) for v in gdf["id"]]
        gdf["id"] = ids
        seen: dict[str, int] = {}
        for i, v in enumerate(ids):
            row = i + 1
            if v is None:
                plog.error(fname, Msg("id_missing"), row=row, field="id")
            elif len(v) > MAX_ID_CHARS or _CONTROL.search(v):
                plog.error(fname, Msg("id_unusable", v=f"{v[:40]!r}{'...' if len(v) > 40 else ''}",
                                      n=MAX_ID_CHARS), row=row, field="id")
                ids[i] = None
            elif v in seen:
                plog.error(fname, Msg("id_duplicate", v=v, first=_shown(plog, seen[v])),
                           row=row, id=v, field="id")
            else:
                seen[v] = row
    if not schema.has_id and "name" in gdf.columns:
        names = [None if _is_blank(v) else _text(v) for v in gdf["name"]]
        gdf["name"] = names
        seen_n: dict[str, int] = {}
        for i, v in enumerate(names):
            if v is not None and v in seen_n:
                plog.error(fname, Msg("name_duplicate", v=v, first=_shown(plog, seen_n[v])),
                           row=i + 1, id=v, field="name")
            elif v is not None:
                seen_n[v] = i + 1
    aliases = KIND_ALIASES.get(schema.name, {})
    for f in schema.fields:
        if f.name not in gdf.columns or f.name == "id":
            continue
        values = gdf[f.name].to_numpy(dtype=object)
        if f.kind in ("count", "number", "factor", "share"):
            gdf[f.name] = _check_numbers(values, f, fname, ids, plog)
        elif f.kind == "flag":
            gdf[f.name] = _check_flags(values, f, fname, ids, plog)
        elif f.kind == "date":
            gdf[f.name] = _check_dates(values, f, fname, ids, plog)
        else:
            gdf[f.name] = pd.array(_check_texts(values, f, aliases, fname, ids, plog),
                                   dtype="string")
    if schema.name == "shelters":
        cap = gdf["capacity"] if "capacity" in gdf else pd.Series(pd.NA, index=gdf.index)
        area = gdf["area_m2"] if "area_m2" in gdf else pd.Series(pd.NA, index=gdf.index)
        for k in np.flatnonzero((cap.isna() & area.isna()).to_numpy()):
            i = int(k)
            if gdf.geometry.iloc[i] is not None and gdf.geometry.iloc[i].geom_type != "Point":
                continue  # a polygon's area gives the capacity
            plog.error(fname, Msg("shelter_no_capacity"), row=i + 1, id=ids[i],
                       field="capacity")
    if schema.name == "hazards" and "effect" in gdf.columns:
        gdf["effect"] = [e if pd.isna(e) else EFFECT_ALIASES.get(
            _text(e), EFFECT_ALIASES.get(_text(e).lower(), _text(e))) for e in gdf["effect"]]
        for i, eff in enumerate(gdf["effect"]):
            where = {"row": i + 1, "id": ids[i]}
            if pd.isna(eff):
                continue
            if eff not in ("closed", "slowed"):
                plog.error(fname, Msg("hazard_effect", v=eff), field="effect", **where)
            elif eff == "slowed" and ("speed_factor" not in gdf or
                                      pd.isna(gdf["speed_factor"].iloc[i])):
                plog.error(fname, Msg("hazard_slowed_factor"), field="speed_factor", **where)
    return _check_geometry(gdf, schema, fname, ids, plog)


def _text(value: Any) -> str:
    return str(value).strip()


def _check_texts(values: np.ndarray, f: FieldSpec, aliases: Mapping[str, str], fname: str,
                 ids: list[str | None], plog: ProblemLog) -> list[Any]:
    out: list[Any] = []
    for i, value in enumerate(values):
        where = {"row": i + 1, "id": ids[i], "field": f.name}
        if _is_blank(value):
            if f.required:
                plog.error(fname, Msg("value_missing", expected=_expected(f, aliases)),
                           **where)
            out.append(pd.NA)
            continue
        t = _text(value)
        if f.kind == "kind":
            kind = aliases.get(t) or aliases.get(t.lower())
            if kind is None:
                plog.error(fname, Msg("kind_unknown", v=t, expected=_expected(f, aliases)),
                           **where)
            out.append(kind if kind is not None else pd.NA)
            continue
        if len(t) > MAX_TEXT_CHARS:
            plog.error(fname, Msg("text_too_long", n=len(t), limit=MAX_TEXT_CHARS), **where)
            t = t[:MAX_TEXT_CHARS]
        if _CONTROL.search(t):
            plog.warning(fname, Msg("text_control", v=ascii(t)[1:-1][:60]), **where)
        out.append(t)
    return out


_NUMBER = re.compile(r"^[+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][+-]?\d+)?$|^[+]?\.\d+$")


def _check_numbers(values: np.ndarray, f: FieldSpec, fname: str, ids: list[str | None],
                   plog: ProblemLog) -> pd.arrays.FloatingArray:
    """Numbers of a field, checked: blank -> NA; not a number, negative, not whole (counts),
    outside (0, 1] (factors) or above the plausible maximum -> an error and NA."""
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if _is_blank(value):
            if f.required:
                plog.error(fname, Msg("value_missing", expected=_expected(f, {})), row=i + 1,
                           id=ids[i], field=f.name)
            continue
        number: float | None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, (int, float, np.integer, np.floating)):
            number = float(value)
        else:
            t = str(value).strip()
            number = float(t.replace(",", "")) if _NUMBER.match(t) else None
        ok = number is not None and math.isfinite(number) and number >= 0
        if ok and f.kind == "count":
            ok = number == int(number)  # type: ignore[arg-type]
        if f.kind == "factor":
            ok = number is not None and math.isfinite(number) and 0 < number <= 1
        if f.kind == "share":
            ok = number is not None and math.isfinite(number) and 0 <= number <= 1
        if ok and f.max is not None and number > f.max:  # type: ignore[operator]
            plog.error(fname, Msg("value_implausible", v=value, expected=_expected(f, {}),
                                  max=f.max, field=f.name), row=i + 1, id=ids[i],
                       field=f.name)
            continue
        if not ok:
            plog.error(fname, Msg("value_bad", v=value, expected=_expected(f, {})), row=i + 1,
                       id=ids[i], field=f.name)
            continue
        out[i] = number  # type: ignore[assignment]
    numbers: list[float | None] = [None if np.isnan(x) else float(x) for x in out]
    return pd.array(numbers, dtype="Float64")


def _expected(f: FieldSpec, aliases: Mapping[str, str]) -> Msg:
    if f.kind == "kind":
        return Msg("expect_kind", kinds=tuple(_kind_word(k, aliases)
                                              for k in sorted(set(aliases.values()))))
    if f.kind in ("count", "number") and f.max is not None:
        return Msg(f"expect_{f.kind}_max", max=f.max)
    return Msg(f"expect_{f.kind}")


def _kind_word(kind: str, aliases: Mapping[str, str]) -> Msg:
    """A kind code in words: the code itself in English, its first Chinese alias (a word the
    file may hold) in Chinese."""
    zh = next((a for a, k in aliases.items() if k == kind and not a.isascii()), kind)
    return Msg("kind_code", code=kind, word=zh)


_YES = {"1", "1.0", "true", "yes", "y", "是", "有", "√", "✓", "t"}
_NO = {"0", "0.0", "false", "no", "n", "否", "无", "没有", "×", "f"}


def _check_flags(values: np.ndarray, f: FieldSpec, fname: str, ids: list[str | None],
                 plog: ProblemLog) -> pd.arrays.BooleanArray:
    """Yes/no values: blank -> NA; anything else that is not yes or no -> an error and NA."""
    out: list[bool | None] = []
    for i, value in enumerate(values):
        if _is_blank(value):
            out.append(None)
            continue
        t = str(value).strip().lower()
        if isinstance(value, bool) or t in _YES or t in _NO:
            out.append(bool(value) if isinstance(value, bool) else t in _YES)
        else:
            plog.error(fname, Msg("value_bad", v=value, expected=_expected(f, {})), row=i + 1,
                       id=ids[i], field=f.name)
            out.append(None)
    return pd.array(out, dtype="boolean")


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$")


def _check_dates(values: np.ndarray, f: FieldSpec, fname: str, ids: list[str | None],
                 plog: ProblemLog) -> np.ndarray:
    """Dates: blank -> NaT; not a date -> an error and NaT."""

    out: list[Any] = []
    for i, value in enumerate(values):
        if _is_blank(value):
            out.append(pd.NaT)
            continue
        if isinstance(value, (dt.date, pd.Timestamp)):
            out.append(pd.Timestamp(value))
            continue
        m = _DATE.match(str(value).strip())
        try:
            if m is None:
                raise ValueError
            out.append(pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            plog.error(fname, Msg("value_bad", v=value, expected=_expected(f, {})), row=i + 1,
                       id=ids[i], field=f.name)
            out.append(pd.NaT)
    today = pd.Timestamp(dt.date.today())
    for i, when in enumerate(out):
        if isinstance(when, pd.Timestamp) and when > today:
            plog.warning(fname, Msg("date_future", v=when.date().isoformat()), row=i + 1,
                         id=ids[i], field=f.name)
    return pd.to_datetime(pd.Series(out, dtype=object)).to_numpy(dtype="datetime64[ns]")


_GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "LinearRing", "Polygon",
               "MultiPolygon", "GeometryCollection")


def _geom_word(geom_type: str) -> Msg | str:
    return Msg("geomtype_" + geom_type) if geom_type in _GEOMETRIES else geom_type


def _check_geometry(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, fname: str, ids: list[str | None],
    plog: ProblemLog,
) -> gpd.GeoDataFrame:
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    missing = np.array([g is None for g in geoms], dtype=bool)
    present = ~missing
    if present.any():
        missing[present] = shapely.is_empty(geoms[present].astype(object))
    types = np.array([None if m else g.geom_type for g, m in zip(geoms, missing, strict=True)],
                     dtype=object)
    want: Msg = Msg("geom_" + schema.geometry[-1])
    for g in reversed(schema.geometry[:-1]):
        want = Msg("geom_either", a=Msg("geom_" + g), b=want)
    for i in np.flatnonzero(missing):
        plog.error(fname, Msg("geom_missing", want=want), row=int(i) + 1, id=ids[i],
                   field="geometry")
    wrong = ~missing & ~np.isin(types, list(schema.geometry))
    for i in np.flatnonzero(wrong):
        plog.error(fname, Msg("geom_wrong", found=_geom_word(str(types[i])), want=want),
                   row=int(i) + 1, id=ids[i], field="geometry")
    check = np.flatnonzero(~missing & ~wrong)
    finite = np.ones(len(geoms), dtype=bool)
    if len(check):
        xy, idx = shapely.get_coordinates(geoms[check].astype(object), return_index=True)
        bad_xy = ~np.isfinite(xy).all(axis=1)
        for i in check[np.unique(idx[bad_xy])]:
            finite[i] = False
            plog.error(fname, Msg("geom_not_finite"), row=int(i) + 1, id=ids[i],
                       field="geometry")
    check = check[finite[check]]
    invalid = check[~shapely.is_valid(geoms[check].astype(object))] if len(check) else check
    for i in invalid:
        g = geoms[i]
        where = {"row": int(i) + 1, "id": ids[i], "field": "geometry"}
        reason = shapely.is_valid_reason(g)
        fixed = shapely.make_valid(g)
        if fixed.geom_type == "GeometryCollection":
            polys = [p for p in fixed.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
            fixed = shapely.union_all(polys) if polys else fixed
        if fixed.is_empty or fixed.geom_type not in schema.geometry:
            plog.error(fname, Msg("geom_invalid", reason=reason), **where)
        else:
            plog.warning(fname, Msg("geom_repaired", reason=reason), **where)
            geoms[i] = fixed
    out = gdf.copy()
    out.geometry = gpd.GeoSeries(list(geoms), index=gdf.index, crs=gdf.crs)
    return out
