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
            mask = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_START)
                                for v in values), dtype=bool, count=len(values))
            if mask.any():
                values = values.copy()
                values[mask] = ["'" + v for v in values[mask]]
                out[col] = pd.Series(values, index=out.index, dtype=s.dtype)
    return out


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
        if target is not None:
            out[col] = [shown_minutes(float(m), float(tg)) if pd.notna(m) and pd.notna(tg)
                        else (round(float(m), 2) if pd.notna(m) else m)
                        for m, tg in zip(out[col], out[target], strict=True)]
        else:  # Python's round: exact for any float (numpy's overflows near the largest)
            out[col] = [round(float(m), 2) if pd.notna(m) else m for m in out[col]]
    if "cause" in out and {"kind", "nearest_min", "target_min", "access_m"} <= set(out):
        out["cause"] = [t.cause(str(c) if isinstance(c, str) else "", kind=str(k),
                                nearest_min=float(n) if pd.notna(n) else np.nan,
                                target_min=float(tg), access_m=float(a) if pd.notna(a)
                                else np.nan)
                        for c, k, n, tg, a in zip(out["cause"], out["kind"], out["nearest_min"],
                                                  out["target_min"], out["access_m"],
                                                  strict=True)]
    if lang == "en":
        return out
    for col in out.columns:
        if col in CODE_COLUMNS or str(col).startswith(("station_", "township_station_")) \
                or str(col).endswith("_status"):
            sections = CODE_COLUMNS.get(col, ("status",) if str(col).endswith("_status")
                                        and not str(col).startswith(("station_",
                                                                     "township_station_"))
                                        else ("compliance_status",))
            out[col] = pd.Series([_word(t, sections, v) for v in out[col]], index=out.index,
                                 dtype=object)
        elif out[col].dtype == bool:
            out[col] = np.where(out[col].to_numpy(dtype=bool), t["word.yes"], t["word.no"])
    return out


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
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
        try:
            for i, (layer, gdf) in enumerate(layers.items()):
                df = gdf.copy()
                for col in df.columns:
                    if col != df.geometry.name and df[col].dtype == object:
                        df[col] = df[col].astype("string")
                pyogrio.write_dataframe(df, path, layer=layer, driver="GPKG", append=i > 0)
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        if styles:

            add_styles(path, {k: v for k, v in styles.items() if k in layers})

    return out.write(name, write)
