"""Dispatch records (出警记录): the optional ``calls`` layer that calibrates the minutes.

A fire brigade's or a bureau's dispatch records name, per call, the unit sent (出警单位: a team
id, or a team's name), the place (事发地: a village id or name, or the incident's coordinates
事发地经度/纬度), the dispatch time (出警时间) and the arrival time (到场时间); the headers of
:data:`emgis.inputs.headers.SYNONYMS` ``calls`` are recognised as in the other ledgers. The
layer is declared like any other::

    [layers.calls]
    path = "出警记录.xlsx"        # .xlsx/.xls ledger, CSV, or a vector file of points
    crs = "GCJ-02"                # of the incident coordinates, if any (default [district] crs)

A file-level problem (no such file, a required column missing) is an error as for every layer.
A *record* that makes no sense (times unreadable or arrival before dispatch, an unknown unit or
village, a duplicate, an impossible speed) is never an error of the district: the calibration
(:mod:`emgis.analysis.calibration`) lists it, with its row, as a record it did not use.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from emgis.inputs.encodings import _decode_csv
from emgis.inputs.fields import LayerSpec
from emgis.inputs.headers import CALLS_REQUIRED, SYNONYMS, recognise
from emgis.inputs.layers import EXCEL_SUFFIXES, _read_vector, _said, _set_crs
from emgis.inputs.ledgers import LedgerError, read_ledger
from emgis.inputs.problems import ProblemLog
from emgis.texts import Msg

#: The fields of a record, as the calibration reads them.
CALL_FIELDS = ("id", "unit", "village", "kind", "call_time", "dispatch_time", "arrival_time")

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_CN = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?\s*"
                 r"(?:(\d{1,2})\s*(?:时|点|:)\s*(?:(\d{1,2})\s*(?:分|:)?\s*)?"
                 r"(?:(\d{1,2})\s*秒?)?)?\s*$")
_ISO = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})"
                  r"(?::(\d{1,2})(?:\.\d+)?)?)?\s*$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*(\d{2})(\d{2})(\d{2})?\s*$")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_time(value: Any) -> dt.datetime | None:
    """A dispatch or arrival time as a record holds it, or None when it cannot be read.

    Read: a ``datetime`` (an Excel date cell), ``2024-05-01 08:03:10``, ``2024/5/1 8:03``,
    ``2024-05-01T08:03``, ``2024年5月1日 8时3分5秒`` (also ``8点3分``, ``08:03``),
    ``20240501 080310``, and an Excel serial number (``45413.336``, a date cell read as a
    number). A time of day alone (``08:03``) is read on 1900-01-01: the records' minutes then
    hold only when dispatch and arrival fall on the same day.
    """
    if value is None or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        return _EXCEL_EPOCH + dt.timedelta(days=v) if 20_000 < v < 80_000 else None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text or text.lower() in ("nan", "nat", "none", "null"):
        return None
    for pattern in (_ISO, _CN, _COMPACT):
        m = pattern.match(text)
        if m:
            y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
            try:
                return dt.datetime(y, mo, d, h, mi, s)
            except ValueError:
                return None
    m = _TIME.match(text)
    if m:
        h, mi, s = (int(x) if x else 0 for x in m.groups())
        try:
            return dt.datetime(1900, 1, 1, h, mi, s)
        except ValueError:
            return None
    try:
        v = float(text)
    except ValueError:
        return None
    return _EXCEL_EPOCH + dt.timedelta(days=v) if 20_000 < v < 80_000 else None


def _frame(spec: LayerSpec, default_crs: str | None, plog: ProblemLog
           ) -> tuple[pd.DataFrame, np.ndarray, str] | None:
    """The file's records as text, their rows as the file shows them, and its label."""

    suffix = spec.path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        try:
            ledger = read_ledger(spec.path, sheet=spec.sheet)
        except LedgerError as exc:
            plog.error(spec.path.name, _said(exc),
                       field="sheet" if spec.sheet is not None else None)
            return None
        for note in ledger.warnings:
            plog.warning(spec.path.name, note)
        return (ledger.frame.copy(), np.asarray(ledger.excel_rows, dtype=np.int64),
                f"{spec.path.name} [{ledger.sheet}]")
    if suffix in (".csv", ".txt"):

        text = _decode_csv(spec.path, spec.encoding, plog)
        if text is None:
            return None
        try:
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                             skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            plog.error(spec.path.name, Msg("csv_unreadable", detail=str(exc).strip()))
            return None
        df.columns = [str(c).strip() for c in df.columns]
        return df, np.arange(2, len(df) + 2), spec.path.name
    gdf = _read_vector(spec, plog)
    if gdf is None:
        return None
    xy = gdf.geometry
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    ok = xy.notna() & ~xy.is_empty
    df["lon"] = np.where(ok, xy.x.where(ok), np.nan)
    df["lat"] = np.where(ok, xy.y.where(ok), np.nan)
    return df, np.arange(1, len(df) + 1), spec.path.name


def read_calls(spec: LayerSpec, *, default_crs: str | None, plog: ProblemLog
               ) -> gpd.GeoDataFrame | None:
    """Read the dispatch records of ``[layers.calls]``.

    Returns
    -------
    geopandas.GeoDataFrame or None
        One row per record, in WGS-84: the fields of :data:`CALL_FIELDS` as text (NA where the
        file has no such column or the cell is blank), ``row`` (the row the file shows) and
        the incident point where the record has coordinates (None elsewhere). None when the
        file cannot be read or lacks a required column (an error each).
    """
    if not spec.path.exists():
        plog.error(spec.path.name, Msg("layer_not_found", path=str(spec.path), layer="calls"))
        return None
    got = _frame(spec, default_crs, plog)
    if got is None:
        return None
    df, rows, label = got
    cols = [str(c) for c in df.columns]
    explicit = {f: c for f, c in spec.fields.items() if c in cols}
    explicit.update({f: f for f in SYNONYMS["calls"] if f in cols and f not in explicit})
    rec = recognise(cols, "calls", explicit=explicit, extra=spec.synonyms, coordinates=False)
    for note in rec.errors:
        plog.error(label, note, field="fields")
    for note in rec.warnings:
        plog.warning(label, note)
    mapping = {**rec.mapping, **explicit}
    for f, c in spec.fields.items():
        if c not in cols:
            plog.error(label, Msg("fields_no_column", dst=f, src=c, columns=", ".join(cols)),
                       field=f)
            return None
    missing = [f for f in CALLS_REQUIRED if f not in mapping]
    if missing:
        for f in missing:
            plog.error(label, Msg("field_required", src=f, field=f, layer="calls",
                                  columns=", ".join(cols)), field=f)
        return None
    out = pd.DataFrame({f: _texts(df[mapping[f]]) if f in mapping else
                        pd.array([pd.NA] * len(df), dtype="string") for f in CALL_FIELDS})
    out["row"] = rows
    geoms: list[object] = [None] * len(df)
    lon_c, lat_c = mapping.get("lon"), mapping.get("lat")
    if lon_c is not None and lat_c is not None and len(df):
        lon = pd.to_numeric(df[lon_c], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(df[lat_c], errors="coerce").to_numpy(dtype=float)
        have = np.isfinite(lon) & np.isfinite(lat)
        if have.any():
            sub = df.loc[have, [lon_c, lat_c]].rename(columns={lon_c: "lon", lat_c: "lat"})
            sub = sub.reset_index(drop=True)
            pts = _points(sub, spec, default_crs, plog, label)
            if pts is not None:
                for i, g in zip(np.flatnonzero(have), pts, strict=True):
                    geoms[int(i)] = g
    return gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")


def _texts(col: pd.Series) -> Any:
    vals = [None if v is None or (isinstance(v, float) and np.isnan(v)) or
            str(v).strip() in ("", "nan", "None") else str(v).strip() for v in col]
    return pd.array(vals, dtype="string")


def _points(df: pd.DataFrame, spec: LayerSpec, default_crs: str | None, plog: ProblemLog,
            label: str) -> list[object] | None:
    """The incident points of the records that have coordinates, in WGS-84."""

    crs = spec.crs or default_crs
    if crs is None:
        plog.error(label, Msg("csv_no_crs"), field="crs")
        return None
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]))
    gdf = _set_crs(gdf, crs, replace(spec, name="calls"), plog)
    if gdf is None:
        return None
    return list(gdf.geometry.values)


def empty_calls() -> gpd.GeoDataFrame:
    """A district's calls when it has no ``[layers.calls]``."""
    data: dict[str, Any] = {f: pd.array([], dtype="string") for f in CALL_FIELDS}
    data["row"] = pd.array([], dtype="Int64")
    return gpd.GeoDataFrame(data, geometry=[], crs="EPSG:4326")
