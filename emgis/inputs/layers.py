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
import re
import warnings
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from emgis._files import gdal_path
from emgis.inputs.checks import _check
from emgis.inputs.coords import OFFSET_SYSTEMS, offset_to_wgs84
from emgis.inputs.coordtext import (
    CoordinateTextError,
    gauss_kruger_crs,
    gauss_kruger_to_lonlat,
    parse_degrees,
    parse_pair,
    swapped_columns,
)
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
from emgis.inputs.headers import SYNONYMS, fields_line, normalise_header, recognise
from emgis.inputs.ledgers import LedgerError, read_ledger
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
    return _table_points(df, np.arange(1, len(df) + 1), spec, default_crs, plog)


#: Spreadsheets, read as ledgers (title rows, merged headers, total rows skipped).
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")

#: Headers of one column holding both coordinates ("116.80,33.90").
PAIR_NAMES = ("坐标", "经纬度", "经纬度坐标", "位置坐标", "坐标位置", "gps坐标", "coordinates",
              "coordinate", "lonlat", "lnglat", "location")

#: The row of each record as its file shows it, carried through reading.
_ROW = "_emgis_row"


def _said(exc: Exception) -> str:
    """The message an input reader's exception carries (a catalogue message where it has one)."""
    for attr in ("msg", "note"):
        value = getattr(exc, attr, None)
        if isinstance(value, str) and value:
            return value
    return str(exc)


def _read_excel(spec: LayerSpec, default_crs: str | None, plog: ProblemLog
                ) -> gpd.GeoDataFrame | None:
    """A spreadsheet ledger (.xlsx, .xls): see :func:`emgis.inputs.ledgers.read_ledger`."""
    try:
        ledger = read_ledger(spec.path, sheet=spec.sheet)
    except LedgerError as exc:
        plog.error(spec.path.name, _said(exc), field="sheet" if spec.sheet is not None else None)
        return None
    for note in ledger.warnings:
        plog.warning(spec.path.name, note)
    df = ledger.frame.copy()
    gdf = _table_points(df, np.asarray(ledger.excel_rows, dtype=np.int64), spec, default_crs,
                        plog, label=f"{spec.path.name} [{ledger.sheet}]")
    if gdf is not None:
        gdf.attrs["sheet"] = ledger.sheet
    return gdf


def _pair_column(columns: list[str]) -> str | None:
    """A column holding both coordinates in one cell."""
    for c in columns:
        n = normalise_header(c).lower()
        if n in PAIR_NAMES or n.removesuffix("（经度,纬度）").removesuffix("(经度,纬度)") in (
                "坐标", "经纬度"):
            return c
    return None


def _parse_axis(values: pd.Series, axis: str, col: str, rows: np.ndarray, spec: LayerSpec,
                df: pd.DataFrame, plog: ProblemLog, fname: str, named: set[int]
                ) -> np.ndarray:
    """Degrees of one coordinate column: numbers as they are; other texts (DMS, hemisphere
    words, full-width digits) through :func:`~emgis.inputs.coordtext.parse_degrees`."""
    text = values.astype(str).str.strip()
    out = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, copy=True)
    for i in np.flatnonzero(~np.isfinite(out)):
        cell = text.iloc[i]
        if not cell or cell.lower() in ("nan", "none", "null"):
            continue  # a blank cell: named with the other unusable rows below
        try:
            out[i] = parse_degrees(cell, axis=axis)  # type: ignore[arg-type]
        except CoordinateTextError as exc:
            plog.error(fname, _said(exc), row=int(rows[i]), id=_row_id(df, spec, int(i)),
                       field=col)
            named.add(int(i))
    return out


def _parse_pairs(values: pd.Series, col: str, rows: np.ndarray, spec: LayerSpec,
                 df: pd.DataFrame, plog: ProblemLog, fname: str, named: set[int]
                 ) -> tuple[np.ndarray, np.ndarray]:
    x = np.full(len(values), np.nan)
    y = np.full(len(values), np.nan)
    for i, cell in enumerate(values.astype(str).str.strip()):
        try:
            x[i], y[i] = parse_pair(cell)
        except CoordinateTextError as exc:
            plog.error(fname, _said(exc), row=int(rows[i]), id=_row_id(df, spec, i), field=col)
            named.add(i)
    return x, y


def _gauss_kruger_crs_declared(crs: str) -> bool:
    """Whether a declared CRS is a CGCS2000 Gauss-Krüger zone (EPSG:4491-4554)."""
    m = re.fullmatch(r"\s*EPSG:(\d+)\s*", crs, flags=re.IGNORECASE)
    return bool(m) and 4491 <= int(m.group(1)) <= 4554  # type: ignore[union-attr]


def _looks_projected(x: np.ndarray, y: np.ndarray) -> bool:
    """Values that cannot be degrees but look like metres (most finite rows beyond 360)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return False
    big = (np.abs(x[ok]) > 1000) & (np.abs(y[ok]) > 1000)
    return bool(big.mean() > 0.5)


def _table_points(df: pd.DataFrame, rows: np.ndarray, spec: LayerSpec, default_crs: str | None,
                  plog: ProblemLog, *, label: str | None = None) -> gpd.GeoDataFrame | None:
    """Points of a table (CSV or spreadsheet): coordinates as a register writes them.

    Longitude and latitude columns are found by their names (``fields``, the synonyms of
    :mod:`emgis.inputs.headers`), or one column holding both; each cell may be decimal degrees,
    degrees-minutes-seconds or carry hemisphere words; swapped columns are detected, and X/Y in
    metres under a geographic declaration are read as CGCS2000 Gauss-Krüger (the zone from the
    prefix of Y, or from a Gauss-Krüger ``crs``)."""
    fname = label or spec.path.name
    cols = [str(c) for c in df.columns]
    rec = recognise(cols, spec.name if spec.name in SYNONYMS else "villages",
                    extra=spec.synonyms, coordinates=False)
    id_col = spec.fields.get("id") or rec.mapping.get("id")
    if id_col in cols and id_col != "id":
        spec = replace(spec, fields={**spec.fields, "id": id_col})
    lon_col = spec.fields.get("lon") or _find_column(cols, LON_NAMES) or rec.mapping.get("lon")
    lat_col = spec.fields.get("lat") or _find_column(cols, LAT_NAMES) or rec.mapping.get("lat")
    pair_col = None
    if lon_col not in cols or lat_col not in cols:
        pair_col = _pair_column(cols)
        if pair_col is None:
            plog.error(fname, Msg("csv_no_lonlat"), field="lon/lat")
            return None
    crs = spec.crs or default_crs
    if crs == _UNUSABLE:
        plog.error(fname, Msg("csv_crs_unusable"), field="crs")
        return None
    if crs is None:
        plog.error(fname, Msg("csv_no_crs"), field="crs")
        return None
    named: set[int] = set()
    if pair_col is not None:
        x, y = _parse_pairs(df[pair_col], pair_col, rows, spec, df, plog, fname, named)
        used = [pair_col]
    else:
        assert lon_col is not None and lat_col is not None
        x = _parse_axis(df[lon_col], "lon", lon_col, rows, spec, df, plog, fname, named)
        y = _parse_axis(df[lat_col], "lat", lat_col, rows, spec, df, plog, fname, named)
        used = [lon_col, lat_col]
    geographic = crs.strip().upper() in OFFSET_SYSTEMS or _is_geographic(crs)
    if _gauss_kruger_crs_declared(crs) or (geographic and _looks_projected(x, y)):
        ok = np.isfinite(x) & np.isfinite(y)
        try:
            gk = gauss_kruger_crs(x[ok], y[ok], crs=crs if not geographic else None)
        except CoordinateTextError as exc:
            plog.error(fname, Msg("coord_gk", why=_said(exc)), field="crs")
            return None
        lon, lat = gauss_kruger_to_lonlat(x, y, gk)
        plog.warning(fname, Msg("coord_gk_read", epsg=gk.epsg, why=gk.reason), field="crs")
        x, y, crs = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), "EPSG:4490"
    elif geographic and swapped_columns(x, y):
        plog.warning(fname, Msg("coord_swapped", lon=used[0], lat=used[-1]), field="lon/lat")
        x, y = y, x
    bad = ~np.isfinite(x) | ~np.isfinite(y)
    for i in np.flatnonzero(bad):
        if int(i) not in named:
            col = used[0] if not np.isfinite(x[i]) else used[-1]
            value = df[col].iloc[i]
            plog.error(fname, Msg("csv_coord_not_number", v=value), row=int(rows[i]),
                       id=_row_id(df, spec, int(i)), field=col)
    geoms = shapely.points(np.where(bad, np.nan, x), np.where(bad, np.nan, y))
    geoms = np.where(bad, None, geoms)
    gdf = gpd.GeoDataFrame(df.drop(columns=used), geometry=list(geoms))
    gdf[_ROW] = rows
    return _set_crs(gdf, crs, spec, plog)


def _is_geographic(crs: str) -> bool:
    try:
        return bool(CRS.from_user_input(crs).is_geographic)
    except CRSError:
        return False


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
            gdf = pyogrio.read_dataframe(gdal_path(spec.path), layer=spec.layer,
                                            encoding=encoding)
    except UnicodeDecodeError:
        plog.error(spec.path.name, Msg("enc_not", encoding=encoding or "UTF-8"))
        return None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as exc:
        extra: str | Msg = ""
        if spec.layer is not None and spec.path.exists():
            try:
                names = [str(n) for n in pyogrio.list_layers(gdal_path(spec.path))[:, 0]]
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
    if spec.more_paths:
        return _read_several(spec, default_crs=default_crs, plog=plog)
    if not spec.path.exists():
        plog.error(spec.path.name, Msg("layer_not_found", path=str(spec.path),
                                       layer=spec.name))
        return None
    if spec.path.is_dir():
        plog.error(spec.path.name, Msg("layer_is_folder", path=str(spec.path),
                                       layer=spec.name))
        return None
    suffix = spec.path.suffix.lower()
    if suffix in (*EXCEL_SUFFIXES, ".csv", ".txt") and "Point" not in schema.geometry:
        # a table's records are points (lon/lat): a layer of areas cannot come from one
        plog.error(spec.path.name, Msg("table_no_areas", layer=Msg(f"layer.{spec.name}")),
                   field="geometry")
        return None
    if spec.sheet is not None and suffix not in EXCEL_SUFFIXES:
        plog.warning(spec.path.name, Msg("sheet_ignored", sheet=spec.sheet), field="sheet")
    if suffix in EXCEL_SUFFIXES:
        gdf = _read_excel(spec, default_crs, plog)
    elif suffix in (".csv", ".txt"):
        gdf = _read_csv(spec, default_crs, plog)
    else:
        gdf = _read_vector(spec, plog)
    if gdf is None:
        return None
    sheet = gdf.attrs.get("sheet")
    gdf = gdf.reset_index(drop=True)
    rows = gdf.pop(_ROW).to_numpy() if _ROW in gdf.columns else np.arange(1, len(gdf) + 1)
    gdf = _map_fields(gdf, schema, spec, plog)
    if gdf is None:
        return None
    if schema.name == "hazards":
        gdf = _hazard_defaults(gdf, spec, rows, plog)
    gdf["row"] = rows
    return _check(gdf, schema, spec, plog,
                  label=f"{spec.path.name} [{sheet}]" if sheet is not None else None)


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
    if schema.name in SYNONYMS:
        rename.update(_recognised(columns, schema, spec, rename, plog))
    for src, dst in FIELD_ALIASES.get(schema.name, {}).items():
        if src in columns and src not in rename and dst not in spec.fields \
                and dst not in columns and dst not in rename.values():
            rename[src] = dst
    clash = {dst: f"{dst}_file" for dst in rename.values() if dst in columns
             and dst not in rename}
    for dst, moved in clash.items():
        plog.warning(spec.path.name, Msg("fields_clash", dst=dst, moved=moved), field=dst)
    return gdf.rename(columns={**clash, **rename})


def _recognised(columns: list[str], schema: LayerSchema, spec: LayerSpec,
                rename: dict[str, str], plog: ProblemLog) -> dict[str, str]:
    """Columns named as a register names them (村名, 常住人口, 所属乡镇（街道） ...): column ->
    field, by the synonyms of :mod:`emgis.inputs.headers` and ``[synonyms]``.

    A column already named as the field, or mapped by ``fields``, keeps its place; two columns
    that could hold one field are the planner's decision (an error listing both and the line to
    write), except for the documented preferences (常住人口 over 户籍人口), said as a warning."""
    known = set(SYNONYMS[schema.name])
    explicit = {f: f for f in known if f in columns}
    explicit.update({dst: src for dst, src in spec.fields.items()
                     if dst in known and src in columns})
    rec = recognise(columns, schema.name, explicit=explicit, extra=spec.synonyms,
                    coordinates=False)
    for note in rec.errors:
        plog.error(spec.path.name, note, field="fields")
    for note in rec.warnings:
        plog.warning(spec.path.name, note)
    # a column named as the field beside another that a register names it by (office and
    # 应急办公场所) may say different things: which one holds the truth is the planner's call
    chosen = set(spec.fields.values())
    for f in sorted(known - {"lon", "lat", "id"}):
        if f not in columns or f in spec.fields:
            continue
        names = {normalise_header(n) for n in SYNONYMS[schema.name][f].names} | {
            normalise_header(n) for n in spec.synonyms.get(f, ())}
        other = [c for c in columns if c != f and c not in chosen
                 and normalise_header(c) in names and normalise_header(c) != normalise_header(f)]
        if other:
            plog.error(spec.path.name, Msg("fields_conflict", field=f, other=other[0],
                                           line=fields_line(schema.name, f, other[0])),
                       field=f)
    out: dict[str, str] = {}
    for col, f in rec.rename().items():
        if col != f and col not in rename and f not in columns and f not in rename.values() \
                and f not in ("lon", "lat"):
            out[col] = f
    return out


def _read_several(spec: LayerSpec, *, default_crs: str | None, plog: ProblemLog
                  ) -> gpd.GeoDataFrame | None:
    """A layer given as several files (``path`` a list or a folder): each read and checked as
    a layer of its own, then joined; ids must stay unique across the files."""
    parts: list[gpd.GeoDataFrame] = []
    first: dict[str, str] = {}
    for path in (spec.path, *spec.more_paths):
        gdf = read_layer(replace(spec, path=path, more_paths=()), default_crs=default_crs,
                         plog=plog)
        if gdf is None:
            continue
        if "id" in gdf.columns:
            for row, v in zip(gdf["row"], gdf["id"]):
                if isinstance(v, str) and v in first:
                    plog.error(path.name, Msg("id_duplicate_files", v=v, other=first[v]),
                               row=int(row), id=v, field="id")
                elif isinstance(v, str):
                    first[v] = path.name
        gdf["source_file"] = path.name
        parts.append(gdf)
    if not parts:
        return None
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                            crs=parts[0].crs)


#: Words in a hazard file's name that say which hazard it draws (a file from the water bureau,
#: another from forestry), for files without a kind column.
HAZARD_FILE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("flood", ("洪水", "洪涝", "淹没", "内涝", "山洪", "flood")),
    ("forest_fire", ("山火", "森林火", "林火", "火险", "fire")),
)


def _hazard_defaults(gdf: gpd.GeoDataFrame, spec: LayerSpec, rows: np.ndarray,
                     plog: ProblemLog) -> gpd.GeoDataFrame:
    """What a hazard file drawn by another bureau often lacks: ids (made from the file name and
    row), names (the file name) and the hazard's kind (from the file name), each said."""
    stem = spec.path.stem
    out = gdf
    if "id" not in out.columns and len(out):
        out = out.assign(id=[f"{stem}-{int(r)}" for r in rows])
        plog.warning(spec.path.name, Msg("hazard_ids_made", example=f"{stem}-{int(rows[0])}"),
                     field="id")
    if "name" not in out.columns and len(out):
        names = [stem if len(out) == 1 else f"{stem} {int(r)}" for r in rows]
        out = out.assign(name=names)
    if "kind" not in out.columns and len(out):
        low = stem.lower()
        kind = next((k for k, words in HAZARD_FILE_WORDS if any(w in low for w in words)), None)
        if kind is not None:
            out = out.assign(kind=kind)
            plog.warning(spec.path.name, Msg("hazard_kind_from_name",
                                             kind=Msg(f"hazard_kind.{kind}")), field="kind")
    return out
