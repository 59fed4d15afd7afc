"""Writing result tables: CSV that Excel opens with Chinese intact, and GeoPackage layers.

Both are deterministic (the same results give byte-identical files; the GeoPackage's timestamps
are pinned) and written atomically through an :class:`~emgis.outputs.folder.OutputDir`.

Text cells are neutralised against spreadsheet formula injection (the OWASP rule): a text that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading
apostrophe, so Excel and LibreOffice show it as text instead of running it as a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from emgis.inputs.kinds import UNIT_KINDS
from emgis.outputs.folder import OutputDir
from emgis.outputs.qgis import add_styles
from emgis.texts import shown_minutes, texts

if TYPE_CHECKING:
    from emgis.outputs.qgis import Style
    from emgis.texts import Texts

#: Timestamp written into GeoPackage metadata, so that files do not change between runs.
FIXED_DATE = "2000-01-01T00:00:00Z"

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell made inert for spreadsheets: ``'`` before a leading ``= + - @``, tab or CR.

    Non-text values are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell passed through :func:`neutralise`."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            values = s.to_numpy(dtype=object)
            mask = _formula_cells(values)
            if mask.any():
                values = values.copy()
                values[mask] = ["'" + v for v in values[mask]]
                out[col] = pd.Series(values, index=out.index, dtype=s.dtype)
    return out


#: A NUL followed by a character of :data:`FORMULA_START`.
_AFTER_NUL = re.compile("\0[" + re.escape("".join(FORMULA_START)) + "]")


def _formula_cells(values: np.ndarray) -> np.ndarray:
    """Which cells of a column are texts that start like a formula (:data:`FORMULA_START`)."""
    cells = values.tolist()
    # every text follows a NUL in one string: when no NUL is followed by a formula's first
    # character, no text starts with one (found at C speed; a NUL inside a text can only
    # send the column to the check cell by cell below)
    try:
        joined = "\0" + "\0".join(cells)
    except TypeError:  # not only texts: missing values, numbers
        joined = "\0" + "\0".join([v for v in cells if isinstance(v, str)])
    if not _AFTER_NUL.search(joined):
        return np.zeros(len(cells), dtype=bool)
    return np.fromiter((isinstance(v, str) and v.startswith(FORMULA_START) for v in cells),
                       dtype=bool, count=len(cells))


#: Columns whose values are emgis's codes, and the catalogue sections that put them in words.
CODE_COLUMNS: dict[str, tuple[str, ...]] = {
    "kind": ("kind", "hazard_kind", "warning_kind"), "placed_on": ("placed_on",),
    "status": ("status", "compliance_status", "unit_status", "solver_status"),
    "baseline_status": ("status",), "scenario_status": ("status",), "effect": ("effect",),
    "gain_unit": ("unit_words",), "model": ("model",), "method": ("method",),
    "source": ("source_kind",), "rule": ("rule",), "scope": ("scope",),
    "reason": ("reason",), "unit": ("std_unit",), "scenario": ("scenario",),
    "run_status": ("batch_status",), "verdict": ("verdict",), "cost_basis": ("cost_basis",),
}


def present(df: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """A table as a planner reads it: the ``cause`` codes in words; in Chinese also emgis's
    codes (kinds, statuses, rules ...) and yes/no."""

    t = texts(lang)
    out = df.copy()
    for col in [c for c in out.columns if str(c).endswith("_min") and c != "target_min"
                and pd.api.types.is_float_dtype(out[c])]:
        own = f"{str(col)[:-len('_min')]}_target"
        target = own if own in out else "target_min" if "target_min" in out else None
        if target is not None and _numeric(out[col], "f") and _numeric(out[target], "fiu"):
            out[col] = _shown_minutes(out[col].to_numpy(dtype=float),
                                      out[target].to_numpy(dtype=float))
        elif target is not None:
            out[col] = [shown_minutes(float(m), float(tg)) if pd.notna(m) and pd.notna(tg)
                        else (round(float(m), 2) if pd.notna(m) else m)
                        for m, tg in zip(out[col], out[target], strict=True)]
        elif _numeric(out[col], "f"):  # Python's round: exact for any float (numpy's
            out[col] = [round(m, 2) for m in out[col].tolist()]  # overflows near the largest)
        else:
            out[col] = [round(float(m), 2) if pd.notna(m) else m for m in out[col]]
    if "cause" in out and {"kind", "nearest_min", "target_min", "access_m"} <= set(out):
        if all(_numeric(out[c], "fiu") for c in ("nearest_min", "target_min", "access_m")):
            # numbers: float(n) is n as pd.notna(n) would pass it, a missing one NaN; no
            # cause (a covered village) is no words
            out["cause"] = [t.cause(str(c), kind=str(k), nearest_min=n, target_min=tg,
                                    access_m=a) if isinstance(c, str) and c else ""
                            for c, k, n, tg, a in zip(
                                cells_of(out["cause"]), cells_of(out["kind"]),
                                out["nearest_min"].to_numpy(dtype=float).tolist(),
                                out["target_min"].to_numpy(dtype=float).tolist(),
                                out["access_m"].to_numpy(dtype=float).tolist(), strict=True)]
        else:
            out["cause"] = [t.cause(str(c) if isinstance(c, str) else "", kind=str(k),
                                    nearest_min=float(n) if pd.notna(n) else np.nan,
                                    target_min=float(tg), access_m=float(a) if pd.notna(a)
                                    else np.nan)
                            for c, k, n, tg, a in zip(out["cause"], out["kind"],
                                                      out["nearest_min"], out["target_min"],
                                                      out["access_m"], strict=True)]
    if lang == "en":
        return out
    for col in out.columns:
        if col in CODE_COLUMNS or str(col).startswith(("station_", "township_station_")) \
                or str(col).endswith("_status"):
            sections = CODE_COLUMNS.get(col, ("status",) if str(col).endswith("_status")
                                        and not str(col).startswith(("station_",
                                                                     "township_station_"))
                                        else ("compliance_status",))
            values = cells_of(out[col])
            # each text put in words once (a column repeats a few codes)
            words = {v: _word(t, sections, v) for v in {v for v in values if v.__class__ is str}}
            out[col] = pd.Series([words[v] if v.__class__ is str else _word(t, sections, v)
                                  for v in values], index=out.index, dtype=object)
        elif out[col].dtype == bool:
            out[col] = np.where(out[col].to_numpy(dtype=bool), t["word.yes"], t["word.no"])
    return out


def _numeric(s: pd.Series, kinds: str) -> bool:
    """Whether a column is a numpy array of one of the ``kinds`` (``f`` float, ``i``/``u``
    integer): its cells are numbers, none missing but as NaN."""
    return isinstance(s.dtype, np.dtype) and s.dtype.kind in kinds


def cells_of(s: pd.Series) -> list[object]:
    """A column's cells as iterating it gives them (Python scalars for numpy columns, the
    texts and missing values of a text column), without iterating it cell by cell."""
    if (isinstance(s.dtype, np.dtype) and s.dtype.kind in "fiubO") or (
            isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "python"):
        cells: list[object] = s.tolist()
        return cells
    return list(s)


def _shown_minutes(minutes: np.ndarray, targets: np.ndarray) -> list[float]:
    """:func:`~emgis.texts.shown_minutes` of every (minutes, target) pair, a missing
    minute kept, a missing target leaving the minutes rounded: Python's round for each (exact
    for any float), the rule's corrections only where the rounding crossed the target."""
    shown = [round(m, 2) for m in minutes.tolist()]
    rounded = np.array(shown, dtype=float)
    with np.errstate(invalid="ignore"):
        limit, edge = targets + 1e-9, targets + 1e-12
        cross = ~np.isnan(minutes) & ~np.isnan(targets) & (
            ((minutes > limit) & (rounded <= edge)) | ((minutes <= limit) & (rounded > edge)))
    for i in np.flatnonzero(cross).tolist():
        shown[i] = shown_minutes(float(minutes[i]), float(targets[i]))
    return shown


def _word(t: object, sections: tuple[str, ...], value: object) -> object:
    if not isinstance(value, str):
        return value
    for sec in sections:
        word = t.get(sec, value, "")  # type: ignore[attr-defined]
        if word:
            return word
    return value


def headers(columns: list[str], lang: str) -> list[str]:
    """Column headers in a language (a column the catalogue does not name keeps its name)."""

    t = texts(lang)
    return [_header(t, str(c)) for c in columns]


def _header(t: Texts, col: str) -> str:
    if col in t.section("column"):
        return str(t["column." + col])
    for section in ("have", "rule"):
        if col in t.section(section):
            return str(t[f"{section}.{col}"])
    for prefix, key in (("villages_", "villages_of"), ("population_", "population_of")):
        status = col[len(prefix):]
        if col.startswith(prefix) and status in t.section("status"):
            return str(t.fmt(f"column_pattern.{key}", status=t.status(status)))
    kind, _, part = col.rpartition("_")
    if kind in UNIT_KINDS and part in ("status", "min", "target", "nearest"):
        return str(t.fmt(f"column_pattern.kind_{part}", kind=t.kind(kind)))
    if col.startswith("kinds_losing_cover_"):
        name = col[len("kinds_losing_cover_"):]
        return str(t.fmt("column_pattern.kinds_losing_cover_in", scenario=t.get("scenario", name)))
    if col.startswith("persons_") and col.endswith("min"):  # effective force within T min
        return str(t.fmt("column_pattern.persons_within", n=col[len("persons_"):-len("min")]))
    return col


def csv_bytes(df: pd.DataFrame, lang: str = "en") -> bytes:
    """A table as UTF-8 CSV with a byte-order mark (Excel shows Chinese), text neutralised.

    In Chinese the first row holds the Chinese headers and the second the English field
    names (documented in the README), so a program can still find its columns.
    """
    table = neutralise_frame(present(df, lang))
    buf = io.StringIO()
    if lang != "en":

        csv.writer(buf, lineterminator="\n").writerow(headers(list(table.columns), lang))
    table.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8-sig")


def write_csv(out: OutputDir, name: str, df: pd.DataFrame, *, lang: str = "en") -> Path:
    """Write a table as ``name`` (UTF-8 CSV with BOM) in the output folder."""
    return out.write_bytes(name, csv_bytes(df, lang))


def write_gpkg(out: OutputDir, name: str, layers: Mapping[str, gpd.GeoDataFrame], *,
               styles: Mapping[str, Style] | None = None) -> Path:
    """Write GeoDataFrames as the layers of one GeoPackage ``name`` in the output folder,
    with their QGIS styles (:mod:`emgis.outputs.qgis`) in its ``layer_styles`` table."""

    def write(path: Path) -> None:
        # SQLite's own syncs are left out (a quarter of a scenario's GeoPackage write): the
        # file is a temporary one, synced once whole and then renamed into place by
        # OutputDir.write; the bytes are the same
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE,
                                         "OGR_SQLITE_SYNCHRONOUS": "OFF"})
        try:
            for i, (layer, gdf) in enumerate(layers.items()):
                df = gdf.copy()
                for col in df.columns:
                    if col != df.geometry.name and df[col].dtype == object:
                        df[col] = df[col].astype("string")
                pyogrio.write_dataframe(df, path, layer=layer, driver="GPKG", append=i > 0)
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None,
                                             "OGR_SQLITE_SYNCHRONOUS": None})
        if styles:

            add_styles(path, {k: v for k, v in styles.items() if k in layers})

    return out.write(name, write)
