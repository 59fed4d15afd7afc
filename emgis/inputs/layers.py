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

import csv
import difflib
import io
import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from emgis.inputs.checks import _check
from emgis.inputs.coords import OFFSET_SYSTEMS, offset_to_wgs84
from emgis.inputs.encodings import (
    _choose_encoding,
    _dbf_records,
    _decode_csv,
    _garbled,
    _known_encoding,
)
from emgis.inputs.fields import (
    FIELD_ALIASES,
    LAT_NAMES,
    LON_NAMES,
    POINT_LAYERS,
    SCHEMAS,
    LayerSchema,
    LayerSpec,
)
from emgis.inputs.problems import ProblemLog
from emgis.texts import Msg

log = logging.getLogger(__name__)

WGS84 = CRS.from_epsg(4326)


# --- encodings --------------------------------------------------------------------------------

_UTF8 = ("utf-8", "utf8", "utf_8", "u8", "utf-8-sig", "utf_8_sig")


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
