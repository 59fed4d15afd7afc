"""Reading the district's input layers and checking them record by record.

A layer is read once, where it enters emgis: the file is decoded (UTF-8, UTF-8 with BOM, GBK/
GB18030), its coordinates are converted to WGS-84 (including the GCJ-02 and BD-09 web offsets),
the planner's field names are mapped to emgis's, and every record is checked. Problems are
collected in a :class:`~emgis.validation.ProblemLog` rather than raised one at a time, so that a
planner sees all of them in one run.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from emgis.coords import OFFSET_SYSTEMS, offset_to_wgs84
from emgis.standards import KIND_ALIASES
from emgis.validation import ProblemLog

log = logging.getLogger(__name__)

WGS84 = CRS.from_epsg(4326)

#: Column names taken as longitude / latitude in a CSV (compared case-insensitively).
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")

_ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class FieldSpec:
    """A field emgis understands in a layer.

    Attributes
    ----------
    name
        emgis's name for the field.
    kind
        ``"text"``, ``"count"`` (a whole number >= 0), ``"number"`` (a number >= 0),
        ``"factor"`` (a number in (0, 1]) or ``"kind"`` (one of the layer's kinds).
    required
        Whether the field must be present in the file.
    """

    name: str
    kind: str = "text"
    required: bool = False


@dataclass(frozen=True)
class LayerSchema:
    """The fields and geometry a layer must have."""

    name: str
    fields: tuple[FieldSpec, ...]
    geometry: tuple[str, ...]
    kind_field: str | None = "kind"
    has_id: bool = True


SCHEMAS: Mapping[str, LayerSchema] = {
    "villages": LayerSchema(
        "villages",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("township", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("population", "count", required=True),
            FieldSpec("service_centre_staff", "count"),
            FieldSpec("drills_per_year", "count"),
        ),
        ("Point", "Polygon", "MultiPolygon"),
    ),
    "townships": LayerSchema(
        "townships",
        (
            FieldSpec("name", required=True),
            FieldSpec("office_fulltime_staff", "count"),
            FieldSpec("station_posts", "count"),
            FieldSpec("station_fulltime_posts", "count"),
            FieldSpec("builtup_km2", "number"),
        ),
        ("Polygon", "MultiPolygon"),
        kind_field=None,
        has_id=False,
    ),
    "teams": LayerSchema(
        "teams",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("headcount", "count", required=True),
            FieldSpec("township", required=True),
            FieldSpec("village"),
            FieldSpec("turnout_min", "number"),
            FieldSpec("full_time", "count"),
            FieldSpec("drills_per_year", "count"),
            FieldSpec("engines", "count"),
        ),
        ("Point",),
    ),
    "stockpiles": LayerSchema(
        "stockpiles",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("level", "kind", required=True),
            FieldSpec("township", required=True),
            FieldSpec("items"),
        ),
        ("Point",),
        kind_field="level",
    ),
    "shelters": LayerSchema(
        "shelters",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("capacity", "count"),
            FieldSpec("area_m2", "number"),
            FieldSpec("township"),
        ),
        ("Point", "Polygon", "MultiPolygon"),
    ),
    "candidates": LayerSchema(
        "candidates",
        (FieldSpec("id", required=True), FieldSpec("name", required=True)),
        ("Point", "Polygon", "MultiPolygon"),
        kind_field=None,
    ),
    "hazards": LayerSchema(
        "hazards",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("effect", required=True),
            FieldSpec("speed_factor", "factor"),
        ),
        ("Polygon", "MultiPolygon"),
    ),
}

#: Layers whose point stands for the record (polygons become a point inside them).
POINT_LAYERS = ("villages", "teams", "stockpiles", "shelters", "candidates")


@dataclass(frozen=True)
class LayerSpec:
    """Where a layer comes from, as ``[layers.NAME]`` in ``district.toml`` says.

    Attributes
    ----------
    name
        The layer (``villages``, ``teams`` ...).
    path
        The file, absolute.
    layer
        Layer name inside a GeoPackage.
    crs
        Declared CRS: anything pyproj understands (``"EPSG:4490"``), or ``"GCJ-02"``/``"BD-09"``.
    encoding
        Declared text encoding; detected when absent.
    fields
        emgis field name -> the column that holds it in the file.
    """

    name: str
    path: Path
    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


def _decode_csv(path: Path, encoding: str | None, plog: ProblemLog) -> str | None:
    raw = path.read_bytes()
    tried = (encoding,) if encoding else _ENCODINGS
    for enc in tried:
        try:
            return raw.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    plog.error(
        path.name,
        f"unreadable encoding: the file is not {' or '.join(tried)}; save it as UTF-8 "
        "(Excel: 'CSV UTF-8') or set encoding = \"...\" in its [layers.*] table",
    )
    return None


def _sniff_dbf_encoding(path: Path) -> str | None:
    """Guess the encoding of a shapefile's .dbf that has no .cpg: UTF-8, else GB18030."""
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        dbf = path.with_suffix(".DBF")
    if not dbf.exists():
        return None
    data = dbf.read_bytes()
    if len(data) < 12:
        return None
    header_len = int.from_bytes(data[8:10], "little")
    records = data[header_len:]
    for enc in ("utf-8", "gb18030"):
        try:
            records.decode(enc)
        except UnicodeDecodeError:
            continue
        return "UTF-8" if enc == "utf-8" else "GB18030"
    return None


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _read_csv(
    spec: LayerSpec, default_crs: str | None, plog: ProblemLog
) -> gpd.GeoDataFrame | None:
    import io

    text = _decode_csv(spec.path, spec.encoding, plog)
    if text is None:
        return None
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        plog.error(spec.path.name, f"cannot be read as CSV ({exc}); expected a header row and "
                   "comma-separated values")
        return None
    df.columns = [str(c).strip() for c in df.columns]
    lon_col = spec.fields.get("lon") or _find_column(list(df.columns), LON_NAMES)
    lat_col = spec.fields.get("lat") or _find_column(list(df.columns), LAT_NAMES)
    if lon_col not in df.columns or lat_col not in df.columns:
        plog.error(
            spec.path.name,
            "missing coordinate columns; expected lon and lat (or lng/longitude/经度 and "
            "latitude/纬度), or name them with fields = { lon = \"...\", lat = \"...\" }",
            field="lon/lat",
        )
        return None
    crs = spec.crs or default_crs
    if crs is None:
        plog.error(
            spec.path.name,
            "missing CRS: a CSV carries none; add crs = \"EPSG:4326\" (or \"GCJ-02\", \"BD-09\", "
            "\"EPSG:4490\" ...) to its [layers.*] table or to [district] in district.toml",
            field="crs",
        )
        return None
    x = pd.to_numeric(df[lon_col], errors="coerce")
    y = pd.to_numeric(df[lat_col], errors="coerce")
    bad = x.isna() | y.isna()
    for i in np.flatnonzero(bad.to_numpy()):
        col = lon_col if pd.isna(x.iloc[i]) else lat_col
        plog.error(
            spec.path.name,
            f"found {df[col].iloc[i]!r}; expected a number (decimal degrees or metres)",
            row=int(i) + 1,
            id=_row_id(df, spec, int(i)),
            field=col,
        )
    geoms = [None if b else shapely.Point(float(a), float(c)) for a, c, b in zip(x, y, bad)]
    gdf = gpd.GeoDataFrame(df.drop(columns=[lon_col, lat_col]), geometry=geoms)
    return _set_crs(gdf, crs, spec, plog)


def _row_id(df: pd.DataFrame, spec: LayerSpec, i: int) -> str | None:
    col = spec.fields.get("id", "id")
    if col in df.columns:
        value = df[col].iloc[i]
        if value is not None and str(value).strip() not in ("", "nan", "None"):
            return str(value).strip()
    return None


def _set_crs(
    gdf: gpd.GeoDataFrame, crs: str, spec: LayerSpec, plog: ProblemLog
) -> gpd.GeoDataFrame | None:
    """Attach the declared CRS and convert to WGS-84 (web offsets included)."""
    if crs.upper() in OFFSET_SYSTEMS:
        gdf = gdf.set_crs(WGS84, allow_override=True)
        return _unoffset(gdf, crs)
    try:
        parsed = CRS.from_user_input(crs)
    except CRSError:
        plog.error(spec.path.name, f"crs = {crs!r} is not a CRS pyproj knows; expected e.g. "
                   "\"EPSG:4326\", \"EPSG:4490\", \"GCJ-02\" or \"BD-09\"", field="crs")
        return None
    gdf = gdf.set_crs(parsed, allow_override=True)
    return gdf.to_crs(WGS84)


def _unoffset(gdf: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    """Convert every vertex from a web-offset system (GCJ-02/BD-09) to WGS-84."""

    def fn(coords: np.ndarray) -> np.ndarray:
        lon, lat = offset_to_wgs84(system, coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    out = gdf.copy()
    out.geometry = shapely.transform(out.geometry.values, fn)
    return out


def _read_vector(spec: LayerSpec, plog: ProblemLog) -> gpd.GeoDataFrame | None:
    encoding = spec.encoding
    suffix = spec.path.suffix.lower()
    if encoding is None and suffix == ".shp" and not spec.path.with_suffix(".cpg").exists():
        encoding = _sniff_dbf_encoding(spec.path)
        if encoding is None and spec.path.with_suffix(".dbf").exists():
            plog.error(spec.path.name, "unreadable encoding: the .dbf is neither UTF-8 nor "
                       "GBK/GB18030; add a .cpg file or set encoding = \"...\" in district.toml")
            return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = pyogrio.read_dataframe(spec.path, layer=spec.layer, encoding=encoding)
    except UnicodeDecodeError:
        plog.error(spec.path.name, f"unreadable encoding: not {encoding or 'UTF-8'}; set "
                   "encoding = \"...\" in its [layers.*] table")
        return None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        plog.error(spec.path.name, f"cannot be read ({exc}); expected a GeoPackage, GeoJSON, "
                   "Shapefile or CSV with lon/lat columns")
        return None
    gdf.columns = [str(c).strip() if c != gdf.geometry.name else c for c in gdf.columns]
    if spec.crs is not None:
        return _set_crs(gdf, spec.crs, spec, plog)
    if gdf.crs is None:
        plog.error(
            spec.path.name,
            "missing CRS: the file declares none (a shapefile without .prj?); add "
            "crs = \"EPSG:...\" (or \"GCJ-02\", \"BD-09\") to its [layers.*] table",
            field="crs",
        )
        return None
    return gdf.to_crs(WGS84)


def read_layer(
    spec: LayerSpec, *, default_crs: str | None, plog: ProblemLog
) -> gpd.GeoDataFrame | None:
    """Read one layer, map its fields and check every record.

    Parameters
    ----------
    spec
        Where the layer comes from.
    default_crs
        CRS for CSV layers that declare none (``[district] crs``).
    plog
        Collects the problems found.

    Returns
    -------
    geopandas.GeoDataFrame or None
        The layer in WGS-84 with emgis's field names and a ``row`` column (1-based row in the
        file); None if the file cannot be read at all. Records with errors are kept, so that the
        caller decides; ``plog`` says which they are.
    """
    schema = SCHEMAS[spec.name]
    if not spec.path.exists():
        plog.error(spec.path.name, f"file not found: {spec.path}; check path in [layers."
                   f"{spec.name}] of district.toml")
        return None
    if spec.path.suffix.lower() in (".csv", ".txt"):
        gdf = _read_csv(spec, default_crs, plog)
    else:
        gdf = _read_vector(spec, plog)
    if gdf is None:
        return None
    gdf = gdf.reset_index(drop=True)
    gdf["row"] = np.arange(1, len(gdf) + 1)
    rename = {src: dst for dst, src in spec.fields.items() if src in gdf.columns and dst != src}
    gdf = gdf.rename(columns=rename)
    return _check(gdf, schema, spec, plog)


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip() == ""


def _check(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, spec: LayerSpec, plog: ProblemLog
) -> gpd.GeoDataFrame:
    fname = spec.path.name
    if len(gdf) == 0:
        if schema.name == "villages":
            plog.error(fname, "empty layer: no records; the villages layer needs at least one")
        else:
            plog.warning(fname, f"empty layer: no {schema.name}")
        return gdf
    for f in schema.fields:
        if f.required and f.name not in gdf.columns:
            src = spec.fields.get(f.name, f.name)
            plog.error(
                fname,
                f"missing required field {src!r}; columns found: "
                f"{', '.join(c for c in gdf.columns if c not in ('geometry', 'row'))}; add it or "
                f"map it with fields = {{ {f.name} = \"...\" }} in [layers.{schema.name}]",
                field=f.name,
            )
    ids: list[str | None] = [None] * len(gdf)
    if schema.has_id and "id" in gdf.columns:
        ids = [None if _is_blank(v) else str(v).strip() for v in gdf["id"]]
        gdf["id"] = ids
        seen: dict[str, int] = {}
        for i, v in enumerate(ids):
            row = i + 1
            if v is None:
                plog.error(fname, "missing id; expected a unique id in every record", row=row,
                           field="id")
            elif v in seen:
                plog.error(fname, f"duplicate id {v!r}, first used in row {seen[v]}; expected "
                           "unique ids", row=row, id=v, field="id")
            else:
                seen[v] = row
    if not schema.has_id and "name" in gdf.columns:
        names = [None if _is_blank(v) else str(v).strip() for v in gdf["name"]]
        gdf["name"] = names
        seen_n: dict[str, int] = {}
        for i, v in enumerate(names):
            if v is not None and v in seen_n:
                plog.error(fname, f"duplicate name {v!r}, first used in row {seen_n[v]}; "
                           "expected unique names", row=i + 1, id=v, field="name")
            elif v is not None:
                seen_n[v] = i + 1
    aliases = KIND_ALIASES.get(schema.name, {})
    for f in schema.fields:
        if f.name not in gdf.columns:
            continue
        values = list(gdf[f.name])
        out: list[Any] = []
        for i, value in enumerate(values):
            where = {"row": i + 1, "id": ids[i], "field": f.name}
            out.append(_check_value(value, f, aliases, fname, where, plog))
        if f.kind in ("count", "number", "factor"):
            gdf[f.name] = pd.array(out, dtype="Float64")
        else:
            gdf[f.name] = pd.array(out, dtype="string")
    if schema.name == "shelters":
        for i in range(len(gdf)):
            cap = gdf["capacity"].iloc[i] if "capacity" in gdf else pd.NA
            area = gdf["area_m2"].iloc[i] if "area_m2" in gdf else pd.NA
            if pd.isna(cap) and pd.isna(area):
                plog.error(fname, "no capacity: expected capacity (persons) or area_m2 (usable "
                           "area in m2)", row=i + 1, id=ids[i], field="capacity")
    if schema.name == "hazards" and "effect" in gdf.columns:
        for i, eff in enumerate(gdf["effect"]):
            where = {"row": i + 1, "id": ids[i]}
            if pd.isna(eff):
                continue
            if eff not in ("closed", "slowed"):
                plog.error(fname, f"found {eff!r}; expected closed or slowed", field="effect",
                           **where)
            elif eff == "slowed" and ("speed_factor" not in gdf or
                                      pd.isna(gdf["speed_factor"].iloc[i])):
                plog.error(fname, "effect slowed needs a speed_factor in (0, 1]",
                           field="speed_factor", **where)
    return _check_geometry(gdf, schema, fname, ids, plog)


def _check_value(
    value: Any,
    f: FieldSpec,
    aliases: Mapping[str, str],
    fname: str,
    where: dict[str, Any],
    plog: ProblemLog,
) -> Any:
    if _is_blank(value):
        if f.required:
            plog.error(fname, "missing value; expected " + _expected(f, aliases), **where)
        return pd.NA
    if f.kind == "text":
        return str(value).strip()
    if f.kind == "kind":
        key = str(value).strip()
        kind = aliases.get(key) or aliases.get(key.lower())
        if kind is None:
            plog.error(fname, f"unknown kind {key!r}; expected {_expected(f, aliases)}", **where)
            return pd.NA
        return kind
    try:
        number = float(str(value).strip().replace(",", ""))
    except ValueError:
        plog.error(fname, f"found {value!r}; expected {_expected(f, aliases)}", **where)
        return pd.NA
    ok = math.isfinite(number) and number >= 0
    if f.kind == "count":
        ok = ok and number == int(number)
    if f.kind == "factor":
        ok = math.isfinite(number) and 0 < number <= 1
    if not ok:
        plog.error(fname, f"found {value!r}; expected {_expected(f, aliases)}", **where)
        return pd.NA
    return number


def _expected(f: FieldSpec, aliases: Mapping[str, str]) -> str:
    if f.kind == "kind":
        return "one of " + ", ".join(sorted(set(aliases.values())))
    return {
        "text": "a text value",
        "count": "a whole number >= 0",
        "number": "a number >= 0",
        "factor": "a number in (0, 1]",
    }[f.kind]


def _check_geometry(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, fname: str, ids: list[str | None],
    plog: ProblemLog,
) -> gpd.GeoDataFrame:
    geoms = list(gdf.geometry.values)
    for i, g in enumerate(geoms):
        where = {"row": i + 1, "id": ids[i], "field": "geometry"}
        if g is None or g.is_empty:
            plog.error(fname, "missing geometry; expected a "
                       + " or ".join(schema.geometry).lower(), **where)
            continue
        if g.geom_type not in schema.geometry:
            plog.error(fname, f"found a {g.geom_type}; expected a "
                       + " or ".join(schema.geometry).lower(), **where)
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            fixed = shapely.make_valid(g)
            if fixed.geom_type == "GeometryCollection":
                polys = [p for p in fixed.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
                fixed = shapely.union_all(polys) if polys else fixed
            if fixed.is_empty or fixed.geom_type not in schema.geometry:
                plog.error(fname, f"invalid geometry ({reason}) that cannot be repaired; "
                           "fix it in GIS (QGIS: Fix geometries)", **where)
            else:
                plog.warning(fname, f"invalid geometry ({reason}) repaired with make_valid",
                             **where)
                geoms[i] = fixed
    out = gdf.copy()
    out.geometry = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out
