"""Reading the district's input layers and checking them record by record.

A layer is read once, where it enters emgis: the file is decoded (UTF-8, UTF-8 with BOM, GBK/
GB18030, detected line by line so that a file mixing encodings is caught), its coordinates are
converted to WGS-84 (including the GCJ-02 and BD-09 web offsets), the planner's field names are
mapped to emgis's, and every record is checked. Problems are collected in a
:class:`~emgis.inputs.problems.ProblemLog` rather than raised one at a time, so that a planner sees
all of them in one run.

Numbers are bounded to a plausible range (:data:`LIMITS`): a population of 1e30 is a typing
error, not a village, and totals must not overflow.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import logging
import math
import re
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

from emgis.inputs.coords import OFFSET_SYSTEMS, offset_to_wgs84
from emgis.inputs.problems import ProblemLog
from emgis.inputs.standards import KIND_ALIASES
from emgis.texts import Msg

log = logging.getLogger(__name__)

WGS84 = CRS.from_epsg(4326)

#: Column names taken as longitude / latitude in a CSV (compared case-insensitively).
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")

#: Largest plausible value of each kind of number, documented in the README. A village or
#: community of more than 2 million persons, a team of more than 100,000, a shelter for more
#: than 10 million are typing errors; they would also make totals meaningless.
LIMITS: Mapping[str, float] = {
    "population": 2_000_000,
    "headcount": 100_000,
    "persons": 10_000_000,
    "staff": 100_000,
    "drills": 366,
    "minutes": 240,
    "area_m2": 1e9,
    "km2": 100_000,
    "engines": 10_000,
    "households": 1_000_000,
    "radius_m": 10_000,
    "phones": 1_000,
}

#: Longest id and text values, characters.
MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 1000


@dataclass(frozen=True)
class FieldSpec:
    """A field emgis understands in a layer.

    Attributes
    ----------
    name
        emgis's name for the field.
    kind
        ``"text"``, ``"count"`` (a whole number >= 0), ``"number"`` (a number >= 0),
        ``"factor"`` (a number in (0, 1]), ``"share"`` (a number in [0, 1]), ``"flag"`` (yes
        or no: 1/0, true/false, yes/no, y/n, 是/否, 有/无), ``"date"`` (2025-06-30,
        2025/6/30, 2025年6月30日) or ``"kind"`` (one of the layer's kinds).
    required
        Whether the field must be present in the file.
    max
        Largest plausible value of a number (see :data:`LIMITS`); larger is an error.
    """

    name: str
    kind: str = "text"
    required: bool = False
    max: float | None = None


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
            FieldSpec("population", "count", required=True, max=LIMITS["population"]),
            FieldSpec("service_centre_staff", "count", max=LIMITS["staff"]),
            FieldSpec("drills_per_year", "count", max=LIMITS["drills"]),
            FieldSpec("grid_members", "count", max=LIMITS["staff"]),
            FieldSpec("households", "count", max=LIMITS["households"]),
            FieldSpec("last_drill", "date"),
        ),
        ("Point", "Polygon", "MultiPolygon"),
    ),
    "townships": LayerSchema(
        "townships",
        (
            FieldSpec("name", required=True),
            FieldSpec("office_fulltime_staff", "count", max=LIMITS["staff"]),
            FieldSpec("station_posts", "count", max=LIMITS["staff"]),
            FieldSpec("station_fulltime_posts", "count", max=LIMITS["staff"]),
            FieldSpec("builtup_km2", "number", max=LIMITS["km2"]),
            # the "eight haves" of a standardised township station (泉州 2025)
            FieldSpec("office", "flag"),
            FieldSpec("satellite_phones", "count", max=LIMITS["phones"]),
            FieldSpec("video_conference", "flag"),
            FieldSpec("broadcast_system", "flag"),
            FieldSpec("duty_system", "flag"),
            FieldSpec("enforcement_team", "flag"),
            FieldSpec("emergency_plan", "flag"),
            FieldSpec("materials_warehouse", "flag"),
            FieldSpec("warning_education_site", "flag"),
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
            FieldSpec("headcount", "count", required=True, max=LIMITS["headcount"]),
            FieldSpec("township", required=True),
            FieldSpec("village"),
            FieldSpec("turnout_min", "number", max=LIMITS["minutes"]),
            FieldSpec("full_time", "count", max=LIMITS["headcount"]),
            FieldSpec("drills_per_year", "count", max=LIMITS["drills"]),
            FieldSpec("engines", "count", max=LIMITS["engines"]),
            FieldSpec("last_drill", "date"),
            FieldSpec("availability", "share"),
            FieldSpec("mobilisation_min", "number", max=LIMITS["minutes"]),
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
            FieldSpec("capacity", "count", max=LIMITS["persons"]),
            FieldSpec("area_m2", "number", max=LIMITS["area_m2"]),
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
    "warning_points": LayerSchema(
        "warning_points",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("radius_m", "number", max=LIMITS["radius_m"]),
            FieldSpec("township"),
        ),
        ("Point",),
    ),
    "buildings": LayerSchema(
        "buildings",
        (FieldSpec("floors", "count", max=200),),
        ("Polygon", "MultiPolygon", "Point"),
        kind_field=None,
        has_id=False,
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
POINT_LAYERS = ("villages", "teams", "stockpiles", "shelters", "candidates", "warning_points")

#: Chinese column names taken for emgis's fields when ``fields`` does not map them (the
#: names of the policy texts and of typical county registers).
FIELD_ALIASES: Mapping[str, Mapping[str, str]] = {
    "townships": {"应急办公场所": "office", "办公场所": "office", "卫星电话": "satellite_phones",
                  "视频会议系统": "video_conference", "视频会商系统": "video_conference",
                  "应急广播": "broadcast_system", "应急广播系统": "broadcast_system",
                  "四位一体值班": "duty_system", "值班制度": "duty_system",
                  "工作机制": "duty_system", "执法队伍": "enforcement_team",
                  "应急预案": "emergency_plan", "预案体系": "emergency_plan",
                  "物资仓库": "materials_warehouse", "综合物资仓库": "materials_warehouse",
                  "安全警示教育基地": "warning_education_site",
                  "警示教育场所": "warning_education_site", "岗位数": "station_posts",
                  "专职岗位数": "station_fulltime_posts", "专职人员": "office_fulltime_staff",
                  "建成区面积": "builtup_km2"},
    "villages": {"网格员": "grid_members", "网格员人数": "grid_members", "户数": "households",
                 "最近演练": "last_drill", "最近演练日期": "last_drill"},
    "teams": {"最近演练": "last_drill", "最近演练日期": "last_drill", "可用率": "availability",
              "动员时间": "mobilisation_min", "集结时间": "mobilisation_min"},
    "warning_points": {"半径": "radius_m", "覆盖半径": "radius_m"},
    "buildings": {"层数": "floors"},
}


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
        Declared text encoding; detected when absent (and checked when given).
    fields
        emgis field name -> the column that holds it in the file.
    """

    name: str
    path: Path
    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


# --- encodings --------------------------------------------------------------------------------

_UTF8 = ("utf-8", "utf8", "utf_8", "u8", "utf-8-sig", "utf_8_sig")


def _is_utf8(name: str) -> bool:
    try:
        return codecs.lookup(name).name in ("utf-8", "utf-8-sig")
    except LookupError:
        return False


def _decodes(chunk: bytes, enc: str) -> bool:
    try:
        chunk.decode(enc)
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class _Sniff:
    """What a line-by-line look at some bytes found: the encoding to use, or why none fits."""

    encoding: str | None
    first_bad: int | None = None  # 1-based record of the first chunk not in that encoding
    mixed_with: int | None = None  # a record in the other encoding (mixed file)


def _sniff(chunks: list[bytes]) -> _Sniff:
    """UTF-8 if every chunk is; GB18030 if no non-ASCII chunk is UTF-8 and all are GB18030;
    otherwise the file mixes encodings (or is neither)."""
    utf8_rows: list[int] = []
    other_rows: list[int] = []
    for i, c in enumerate(chunks):
        if c.isascii():
            continue
        (utf8_rows if _decodes(c, "utf-8") else other_rows).append(i)
    if not other_rows:
        return _Sniff("utf-8")
    bad = [i for i in other_rows if not _decodes(chunks[i], "gb18030")]
    if bad:
        return _Sniff(None, first_bad=bad[0])
    if utf8_rows:
        return _Sniff(None, first_bad=other_rows[0], mixed_with=utf8_rows[0])
    return _Sniff("gb18030")


def _choose_encoding(chunks: list[bytes], declared: str | None, fname: str, plog: ProblemLog,
                     *, unit: str = "line") -> str | None:
    """The encoding to read with: auto-detected, or the declared one where it fits.

    A declared encoding that does not fit the bytes (decode errors, or a file that is UTF-8
    although declared GBK: its decode would be mojibake) gives way to auto-detection with a
    warning; a file mixing encodings is an error naming the first line in each.
    """
    auto = _sniff(chunks)
    where = Msg(f"enc_{unit}", n=auto.first_bad) if auto.first_bad is not None else ""
    if auto.encoding is None and auto.mixed_with is not None:
        plog.error(fname, Msg("enc_mixed", other=Msg(f"enc_{unit}", n=auto.mixed_with),
                              where=where), row=auto.first_bad)
        return None
    if declared is None:
        if auto.encoding is None:
            plog.error(fname, Msg("enc_neither", where=where), row=auto.first_bad)
        return auto.encoding
    fits = all(_decodes(c, declared) for c in chunks)
    if fits and (_is_utf8(declared) or auto.encoding != "utf-8"
                 or all(c.isascii() for c in chunks)):
        return declared
    if auto.encoding is not None:
        why = (Msg("enc_why_utf8", declared=declared) if fits
               else Msg("enc_why_not", declared=declared))
        plog.warning(fname, Msg("enc_declared_misfit", declared=declared, why=why,
                                auto=auto.encoding.upper()))
        return auto.encoding
    bad = next(i for i, c in enumerate(chunks) if not _decodes(c, declared))
    plog.error(fname, Msg("enc_not_declared", where=Msg(f"enc_{unit}", n=bad),
                          declared=declared), row=bad)
    return None


def _decode_csv(path: Path, encoding: str | None, plog: ProblemLog) -> str | None:
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        plog.error(path.name, Msg("enc_utf16"))
        return None
    if b"\0" in raw:
        plog.error(path.name, Msg("enc_nul"))
        return None
    body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    enc = _choose_encoding(body.split(b"\n"), encoding, path.name, plog)
    if enc is None:
        return None
    text = body.decode(enc)
    return text


def _dbf_records(path: Path) -> list[bytes] | None:
    """The records of a shapefile's .dbf (bytes each), or None if there is no .dbf."""
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()),
               None)
    if dbf is None:
        return None
    data = dbf.read_bytes()
    if len(data) < 12:
        return []
    header_len = int.from_bytes(data[8:10], "little")
    rec_len = int.from_bytes(data[10:12], "little") or 1
    body = data[header_len:]
    return [body[i:i + rec_len] for i in range(0, len(body) - rec_len + 1, rec_len)]


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


# --- reading -------------------------------------------------------------------------------

#: ``default_crs`` when ``[district] crs`` is given but wrong (reported once, in district.toml).
_UNUSABLE = "<unusable>"

def _read_csv(
    spec: LayerSpec, default_crs: str | None, plog: ProblemLog
) -> gpd.GeoDataFrame | None:
    text = _decode_csv(spec.path, spec.encoding, plog)
    if text is None:
        return None
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        plog.error(spec.path.name, Msg("csv_unreadable", detail=str(exc).strip()))
        return None

    header = [c.strip() for c in next(csv.reader(io.StringIO(text)), [])]
    dup = [c for c in dict.fromkeys(header) if header.count(c) > 1]
    df.columns = [str(c).strip() for c in df.columns]
    if dup:
        plog.error(spec.path.name, Msg("csv_dup_columns", columns=", ".join(map(repr, dup))))
        return None
    lon_col = spec.fields.get("lon") or _find_column(list(df.columns), LON_NAMES)
    lat_col = spec.fields.get("lat") or _find_column(list(df.columns), LAT_NAMES)
    if lon_col not in df.columns or lat_col not in df.columns:
        plog.error(spec.path.name, Msg("csv_no_lonlat"), field="lon/lat")
        return None
    crs = spec.crs or default_crs
    if crs == _UNUSABLE:
        plog.error(spec.path.name, Msg("csv_crs_unusable"), field="crs")
        return None
    if crs is None:
        plog.error(spec.path.name, Msg("csv_no_crs"), field="crs")
        return None
    x = pd.to_numeric(df[lon_col].str.strip(), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(df[lat_col].str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x) | ~np.isfinite(y)
    for i in np.flatnonzero(bad):
        col = lon_col if not np.isfinite(x[i]) else lat_col
        plog.error(
            spec.path.name,
            Msg("csv_coord_not_number", v=df[col].iloc[i]),
            row=int(i) + 1,
            id=_row_id(df, spec, int(i)),
            field=col,
        )
    geoms = shapely.points(np.where(bad, np.nan, x), np.where(bad, np.nan, y))
    geoms = np.where(bad, None, geoms)
    gdf = gpd.GeoDataFrame(df.drop(columns=[lon_col, lat_col]), geometry=list(geoms))
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
    if crs.strip().upper() in OFFSET_SYSTEMS:
        gdf = gdf.set_crs(WGS84, allow_override=True)
        return _unoffset(gdf, crs.strip().upper())
    try:
        parsed = CRS.from_user_input(crs)
    except CRSError:
        plog.error(spec.path.name, Msg("crs_unknown", crs=crs), field="crs")
        return None
    gdf = gdf.set_crs(parsed, allow_override=True)
    return _to_wgs84(gdf, spec, plog)


def _to_wgs84(gdf: gpd.GeoDataFrame, spec: LayerSpec, plog: ProblemLog
              ) -> gpd.GeoDataFrame | None:
    """Convert to WGS-84; a geographic CRS holding coordinates that cannot be degrees is an
    error naming the CRS to declare (GeoJSON without a crs member is read as WGS-84)."""
    if gdf.crs is not None and gdf.crs.is_geographic and len(gdf):
        xy = shapely.get_coordinates(gdf.geometry.values)
        ok = np.isfinite(xy).all(axis=1)
        xy = xy[ok]
        if len(xy) and (np.abs(xy[:, 0]).max() > 360 or np.abs(xy[:, 1]).max() > 180):
            x, y = xy[np.argmax(np.abs(xy).max(axis=1))]
            if spec.name in POINT_LAYERS and spec.path.suffix.lower() in (".csv", ".txt"):
                return gdf  # each row is named by the extent check
            plog.error(spec.path.name, Msg("crs_not_degrees", x=x, y=y, crs=gdf.crs.name),
                       field="crs")
            return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = gdf.to_crs(WGS84)
    return out


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
    if suffix == ".shp":
        records = _dbf_records(spec.path)
        cpg = spec.path.with_suffix(".cpg")
        declared = encoding
        if declared is None and cpg.exists():
            name = cpg.read_text("ascii", "replace").strip()
            declared = name if name and _known_encoding(name) else None
        if records is not None:
            encoding = _choose_encoding(records, declared, spec.path.with_suffix(".dbf").name,
                                        plog, unit="record")
            if encoding is None:
                return None
    elif encoding is not None and suffix in (".geojson", ".json", ".gpkg"):
        plog.warning(spec.path.name, Msg("enc_ignored", encoding=encoding, format={
            ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage"}[suffix]))
        encoding = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = pyogrio.read_dataframe(spec.path, layer=spec.layer, encoding=encoding)
    except UnicodeDecodeError:
        plog.error(spec.path.name, Msg("enc_not", encoding=encoding or "UTF-8"))
        return None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as exc:
        extra: str | Msg = ""
        if spec.layer is not None and spec.path.exists():
            try:
                names = [str(n) for n in pyogrio.list_layers(spec.path)[:, 0]]
                extra = Msg("vector_its_layers", layers=", ".join(names))
            except Exception:
                extra = ""
        plog.error(spec.path.name, Msg("vector_unreadable", detail=str(exc).strip(),
                                       extra=extra))
        return None
    gdf.columns = [str(c).strip() if c != gdf.geometry.name else c for c in gdf.columns]
    if _garbled(gdf, spec, plog):
        return None
    if spec.crs is not None:
        return _set_crs(gdf, spec.crs, spec, plog)
    if gdf.crs is None:
        plog.error(spec.path.name, Msg("vector_no_crs"), field="crs")
        return None
    return _to_wgs84(gdf, spec, plog)


def _known_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


_GARBLE = re.compile("[\ufffd\x80-\x9f]")


def _garbled(gdf: gpd.GeoDataFrame, spec: LayerSpec, plog: ProblemLog) -> bool:
    """Text with replacement characters or C1 controls was decoded wrongly: an error."""
    for col in gdf.columns:
        if col == gdf.geometry.name or not (gdf[col].dtype == object or
                                            pd.api.types.is_string_dtype(gdf[col].dtype)):
            continue
        for i, v in enumerate(gdf[col]):
            if isinstance(v, str) and _GARBLE.search(v):
                plog.error(spec.path.name, Msg("enc_garbled", v=v), row=i + 1,
                           field=str(col))
                return True
    return False


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
        plog.error(spec.path.name, Msg("layer_not_found", path=str(spec.path),
                                       layer=spec.name))
        return None
    if spec.path.is_dir():
        plog.error(spec.path.name, Msg("layer_is_folder", path=str(spec.path),
                                       layer=spec.name))
        return None
    if spec.path.suffix.lower() in (".csv", ".txt"):
        gdf = _read_csv(spec, default_crs, plog)
    else:
        gdf = _read_vector(spec, plog)
    if gdf is None:
        return None
    gdf = gdf.reset_index(drop=True)
    gdf = _map_fields(gdf, schema, spec, plog)
    if gdf is None:
        return None
    gdf["row"] = np.arange(1, len(gdf) + 1)
    return _check(gdf, schema, spec, plog)


def _map_fields(gdf: gpd.GeoDataFrame, schema: LayerSchema, spec: LayerSpec,
                plog: ProblemLog) -> gpd.GeoDataFrame | None:
    """Rename the planner's columns to emgis's field names, as ``fields`` says."""

    known = [f.name for f in schema.fields] + ["lon", "lat"]
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    ok = True
    for dst, src in spec.fields.items():
        if dst not in known:
            close = difflib.get_close_matches(dst, known, n=1)
            options = ", ".join(known)
            hint = Msg("cfg_hint_close", close=close[0], options=options) if close else Msg(
                "cfg_hint", options=options)
            plog.error(spec.path.name, Msg("fields_unknown", dst=dst, layer=schema.name,
                                           hint=hint), field=f"fields.{dst}")
            ok = False
        elif dst not in ("lon", "lat") and src not in columns:
            plog.error(spec.path.name, Msg("fields_no_column", dst=dst, src=src,
                                           columns=", ".join(map(str, columns))), field=dst)
            ok = False
    if not ok:
        return None
    rename = {src: dst for dst, src in spec.fields.items()
              if src in columns and dst != src and dst not in ("lon", "lat")}
    for src, dst in FIELD_ALIASES.get(schema.name, {}).items():
        if src in columns and src not in rename and dst not in spec.fields \
                and dst not in columns and dst not in rename.values():
            rename[src] = dst
    clash = {dst: f"{dst}_file" for dst in rename.values() if dst in columns
             and dst not in rename}
    for dst, moved in clash.items():
        plog.warning(spec.path.name, Msg("fields_clash", dst=dst, moved=moved), field=dst)
    return gdf.rename(columns={**clash, **rename})


def _is_blank(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip() == ""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, spec: LayerSpec, plog: ProblemLog
) -> gpd.GeoDataFrame:
    fname = spec.path.name
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
                plog.error(fname, Msg("id_duplicate", v=v, first=seen[v]), row=row, id=v,
                           field="id")
            else:
                seen[v] = row
    if not schema.has_id and "name" in gdf.columns:
        names = [None if _is_blank(v) else _text(v) for v in gdf["name"]]
        gdf["name"] = names
        seen_n: dict[str, int] = {}
        for i, v in enumerate(names):
            if v is not None and v in seen_n:
                plog.error(fname, Msg("name_duplicate", v=v, first=seen_n[v]), row=i + 1, id=v,
                           field="name")
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
