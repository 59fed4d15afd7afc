"""The run's results as one Excel workbook, ``results.xlsx``.

One sheet per table a planner files or filters: a summary, coverage (every village and kind),
gaps, compliance, scenarios, the villages losing cover in a scenario, the sites to build, the
fields (the English field name behind every header) and the standards used. With ``--lang zh``
sheet names, headers and emgis's codes are Chinese. Every table sheet has its header row frozen,
an autofilter, column widths from its contents and number formats by column (persons with
thousands separators, minutes to 0.1, shares as per cent, coordinates to 6 decimals).

Text from the input is written as text cells only, neutralised like the CSV files (a leading
``= + - @`` gets an apostrophe), so no cell is ever a formula. The file is deterministic: the
document properties and the zip entries' timestamps are pinned.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from emgis.outputs.folder import OutputDir
from emgis.outputs.profile import sources_table
from emgis.outputs.style import credit_of
from emgis.outputs.tables import (
    FIXED_DATE,
    cells_of,
    headers,
    neutralise,
    neutralise_frame,
    present,
)
from emgis.texts import Texts, texts

if TYPE_CHECKING:  # openpyxl has no type stubs: these read as Any to mypy
    from openpyxl import Workbook
    from openpyxl.styles.cell_style import StyleArray
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    from emgis.inputs.district import District

#: Rows an Excel sheet holds (the header row included).
EXCEL_ROWS = 1_048_576

_FIXED = datetime(2000, 1, 1)


class _Share(float):
    """A share (0-1) the summary sheet shows as a percentage."""


@dataclass(frozen=True)
class Sheet:
    """One table sheet: its catalogue key (``sheet.<key>``) and its table."""

    key: str
    table: pd.DataFrame


def _number_format(col: str) -> str | None:
    """The Excel number format of a column, by its field name."""
    if col in ("lon", "lat", "lon_gcj02", "lat_gcj02"):
        return "0.000000"
    if col.startswith("share") or col.endswith("_share") or col == "gap_to_bound":
        return "0.0%"
    if col.endswith("_min") or col in ("minutes", "x", "y"):
        return "0.0"
    if col.endswith("_m") or col == "gain":
        return "#,##0"
    if (col in ("population", "persons", "capacity", "load", "moved", "unsheltered")
            or col.startswith(("population_", "villages")) or col.endswith("_population")):
        return "#,##0"
    return None


#: Characters a column's width counts double (CJK and after).
_WIDE = re.compile("[\u2e81-\U0010ffff]")


def _text_width(text: str) -> int:
    """A text's width in characters, a character from U+2E81 on (CJK) counting two."""
    return len(text) if text.isascii() else len(text) + len(_WIDE.findall(text))


def _width(values: Iterable[object], header: str) -> float:
    """A column width (characters) that shows the header and most cells; CJK counts double."""
    # the first rows decide; a county's 15k rows need not all be measured
    first = cells_of(values.iloc[:2000]) if isinstance(values, pd.Series) \
        else itertools.islice(values, 2000)
    shown = [f"{v:,.1f}" if isinstance(v, float) else str(v) for v in first
             if v is not None and not (isinstance(v, float) and v != v)]  # v != v: NaN
    longest = max(map(_text_width, set(shown)), default=0)
    return float(min(max(max(_text_width(header), longest) + 2, 6), 60))


def _cell_value(v: object) -> object:
    """A value openpyxl writes: numpy scalars to Python, missing values to empty cells."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if np.isnan(v) else float(v)
    return v


#: Characters XML 1.0 does not allow in text (openpyxl refuses them too).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Characters a text needs escaped or replaced.
_SPECIAL_XML = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f]")


def _style_id(ws: WriteOnlyWorksheet, style: StyleArray) -> int:
    """The workbook's index of a cell style (as openpyxl writes it in ``s=``)."""
    from openpyxl.cell import WriteOnlyCell  # deferred: loads openpyxl

    probe = WriteOnlyCell(ws)
    probe._style = style
    return int(probe.style_id)


def _text_xml(ref: str, text: str) -> str:
    """An inline-string cell, as openpyxl writes it (escaped; illegal characters replaced)."""
    return f'<c r="{ref}"{_text_tail(text)}'


def _text_tail(text: str) -> str:
    """An inline-string cell after its reference (``<c r="A2"`` + this)."""
    if not text:
        return ' t="inlineStr"/>'
    space = ""
    if text[0].isspace() or text[-1].isspace():
        space = ' xml:space="preserve"' if text.strip() else ""
    if _SPECIAL_XML.search(text):
        text = _ILLEGAL_XML.sub("\ufffd", text).replace("&", "&amp;").replace(
            "<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")  # a bare CR reads as LF
    return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _column_xml(letter: str, column: pd.Series, style_id: int | None, start: int = 2
                ) -> list[str]:
    """Every cell of one column (sheet rows ``start``, ``start + 1`` ...), '' for an empty
    cell. Typed columns are written in one pass each; a column of objects cell by cell."""
    s = "" if style_id is None else f' s="{style_id}"'
    rows = range(start, len(column) + start)
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else "O"
    if kind == "f" and isinstance(column.dtype, np.dtype) and column.dtype.itemsize <= 8:
        # each distinct number (by its bits: 0.0 and -0.0 print apart) formatted once
        values = column.to_numpy(dtype=np.float64)
        distinct, where = np.unique(values.view(np.int64), return_inverse=True)
        numbers = distinct.view(np.float64)
        shown = [f'{s} t="n"><v>{v:.16g}</v></c>' if ok else ""
                 for v, ok in zip(numbers.tolist(), np.isfinite(numbers).tolist(), strict=True)]
        return [f'<c r="{letter}{i}"{tail}' if tail else ""
                for i, tail in zip(rows, [shown[k] for k in where.ravel().tolist()],
                                   strict=True)]
    if kind == "f":
        values = column.to_numpy()
        return [f'<c r="{letter}{i}"{s} t="n"><v>{v:.16g}</v></c>' if ok else ""
                for i, v, ok in zip(rows, values.tolist(), np.isfinite(values).tolist(),
                                    strict=True)]
    if kind in "iu":
        return [f'<c r="{letter}{i}"{s} t="n"><v>{v}</v></c>'
                for i, v in zip(rows, column.to_numpy().tolist(), strict=True)]
    if kind == "b":
        return [f'<c r="{letter}{i}" t="b"><v>{int(v)}</v></c>'
                for i, v in zip(rows, column.to_numpy().tolist(), strict=True)]
    cells = column.to_numpy(dtype=object).tolist()
    # a text's cell after its reference, made once for each text (a column repeats its texts)
    if set(map(type, cells)) <= {str}:  # texts only, as most text columns
        by_text = {v: _text_tail(v) for v in set(cells)}
        return [f'<c r="{letter}{i}"{by_text[v]}' for i, v in zip(rows, cells, strict=True)]
    out: list[str] = []
    append = out.append
    tails: dict[str, str] = {}
    for i, v in zip(rows, cells, strict=True):
        if v.__class__ is str:
            tail = tails.get(v)
            if tail is None:
                tail = tails[v] = _text_tail(v)
            append(f'<c r="{letter}{i}"{tail}')
            continue
        v = _cell_value(v)
        if v is None:
            append("")
        elif isinstance(v, str):
            append(_text_xml(f"{letter}{i}", v))
        elif isinstance(v, bool):
            append(f'<c r="{letter}{i}" t="b"><v>{int(v)}</v></c>')
        elif isinstance(v, (int, float)):
            append(f'<c r="{letter}{i}"{s} t="n"><v>{v:.16g}</v></c>'
                   if np.isfinite(v) else "")
        else:  # dates and other objects: their text
            append(_text_xml(f"{letter}{i}", str(v)))
    return out


def _rows_xml(table: pd.DataFrame, style_ids: Sequence[int | None], start: int = 2) -> bytes:
    """The ``<row>`` elements of a table's rows (the first being sheet row ``start``), as
    openpyxl writes them."""
    from openpyxl.utils import get_column_letter  # deferred: loads openpyxl

    columns = [_column_xml(get_column_letter(j), table[c], sid, start)
               for j, (c, sid) in enumerate(zip(table.columns, style_ids, strict=True),
                                            start=1)]
    parts = [f'<row r="{i}">{"".join(cells)}</row>'
             for i, cells in enumerate(zip(*columns), start=start)]
    return "".join(parts).encode("utf-8")


@dataclass(frozen=True)
class _Rows:
    """A sheet's data rows, made as XML when the workbook is zipped, a block at a time (a
    province's 240,000 x 20 cells never all in memory as text)."""

    table: pd.DataFrame
    style_ids: tuple[int | None, ...]

    def blocks(self, size: int = 20_000) -> Iterator[bytes]:
        for a in range(0, len(self.table), size):
            yield _rows_xml(self.table.iloc[a:a + size], self.style_ids, start=a + 2)


def _table_sheet(wb: Workbook, title: str, table: pd.DataFrame, lang: str,
                 fields: list[tuple[str, str, str]], rows: dict[str, _Rows]) -> int:
    """Write one table sheet (write-only mode); returns the rows left out by Excel's limit.

    openpyxl writes the sheet with its header row, widths, filter and frozen pane; the data
    rows' XML is made here (:func:`_rows_xml`) and added to ``rows`` under the sheet's file
    name, for :func:`_pinned` to splice in: openpyxl spends about 10 us a cell (55 s for a
    province's 240,000 x 20 coverage cells), this a tenth of it.
    """
    from openpyxl.cell import WriteOnlyCell  # deferred: loads openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill  # deferred: loads openpyxl
    from openpyxl.utils import get_column_letter  # deferred: loads openpyxl

    ws = wb.create_sheet(title)
    shown = neutralise_frame(present(table, lang))
    cols = [str(c) for c in shown.columns]
    heads = headers(cols, lang)
    fields += [(title, h, c) for h, c in zip(heads, cols, strict=True)]
    cut = max(0, len(shown) - (EXCEL_ROWS - 1))
    if cut:
        shown = shown.iloc[:EXCEL_ROWS - 1]
    for j, (h, c) in enumerate(zip(heads, cols, strict=True), start=1):
        ws.column_dimensions[get_column_letter(j)].width = _width(shown[c], h)
    ws.freeze_panes = "A2"
    if cols:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(1, len(shown) + 1)}"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="EEF3F8")
    wrap = Alignment(wrap_text=True, vertical="top")
    head_cells = []
    for h in heads:
        cell = WriteOnlyCell(ws, value=h)
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        head_cells.append(cell)
    ws.append(head_cells)
    # one style per number format, shared by its cells
    styles: dict[str, StyleArray] = {}
    for fmt in {f for f in map(_number_format, cols) if f}:
        probe = WriteOnlyCell(ws, value=0)
        probe.number_format = fmt
        styles[fmt] = probe._style
    style_ids = [None if styles.get(_number_format(c) or "") is None
                 else _style_id(ws, styles[_number_format(c) or ""]) for c in cols]
    if len(shown) and len(cols):
        rows[f"xl/worksheets/sheet{len(wb.worksheets)}.xml"] = _Rows(shown, tuple(style_ids))
    return cut


def _summary_sheet(wb: Workbook, t: Texts, lines: Sequence[Sequence[object]]) -> None:
    from openpyxl.cell import WriteOnlyCell  # deferred: loads openpyxl
    from openpyxl.styles import Font  # deferred: loads openpyxl

    ws = wb.create_sheet(t["sheet.summary"])
    ws.column_dimensions["A"].width = 44
    for c in "BCDEF":
        ws.column_dimensions[c].width = 18
    for k, line in enumerate(lines):
        row: list[object] = []
        for v in line:
            v = v if isinstance(v, _Share) else _cell_value(v)
            if isinstance(v, str):
                # characters XML 1.0 forbids (a NUL in a name) replaced, as in the table sheets
                cell = WriteOnlyCell(ws, value=_ILLEGAL_XML.sub("\ufffd", str(neutralise(v))))
                cell.data_type = "s"
                if k == 0:
                    cell.font = Font(bold=True, size=14)
                row.append(cell)
            elif isinstance(v, _Share):
                cell = WriteOnlyCell(ws, value=float(v))
                cell.number_format = "0.0%"
                row.append(cell)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = "#,##0"
                row.append(cell)
            else:
                row.append(v)
        ws.append(row)


def build_workbook(
    district: District,
    *,
    coverage: pd.DataFrame | None = None,
    coverage_summary: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
    compliance: pd.DataFrame | None = None,
    scenarios: pd.DataFrame | None = None,
    scenario_villages: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    zones: pd.DataFrame | None = None,
    zone_balance: pd.DataFrame | None = None,
    checklist: pd.DataFrame | None = None,
    warning: pd.DataFrame | None = None,
    loudspeakers: pd.DataFrame | None = None,
    quality: pd.DataFrame | None = None,
    lang: str = "en",
    notes: Sequence[str] = (),
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> bytes:
    """The workbook's bytes.

    Parameters
    ----------
    district
        The district (name, credit, villages for the summary, settings for the standards).
    coverage, coverage_summary, gaps
        The per-village coverage table (:func:`emgis.analysis.coverage.compute_coverage`), its
        summary
        per kind and the villages outside target (:func:`emgis.analysis.coverage.gaps`), or None.
    compliance
        The compliance findings, or None.
    scenarios, scenario_villages
        One row per scenario, and the village rows losing cover in a scenario (with a
        ``scenario`` column), or None.
    sites
        Every proposal of the run (:func:`emgis.run.jobs.proposals_table`), or None.
    zones, zone_balance
        Each unit's zone and each kind's balance (:func:`emgis.analysis.zones.unit_zones`), or None.
    checklist
        The eight haves per township (:func:`emgis.analysis.compliance.station_checklist`), or None.
    warning, loudspeakers
        Every village's warning reach and the new loudspeakers proposed
        (:func:`emgis.analysis.warning.warning_reach`), or None.
    quality
        The data quality of the roads per township and for the district
        (:meth:`emgis.analysis.quality.DataQuality.table`), or None.
    extra_sheets
        More sheets, sheet key (``sheet.<key>`` of the catalogue) -> table: the calibration,
        uncertainty, force and availability (:func:`emgis.run.minutes.workbook_sheets`).
    lang
        ``"en"`` or ``"zh"``: sheet names, headers and codes.
    notes
        Lines the summary sheet ends with (steps that failed, rows cut by Excel's limit).
    """
    from openpyxl import Workbook  # deferred: loads openpyxl


    t = texts(lang)
    wb = Workbook(write_only=True)
    wb.properties.creator = "emgis"
    wb.properties.created = _FIXED
    wb.properties.modified = _FIXED
    v = district.villages
    lines: list[list[object]] = [[f"{district.name} · {t['report.title']}"]]
    credit = credit_of(district)
    if credit:
        lines.append([t.fmt("report.map_data", credit=credit)])
    lines += [[], [t["report.population"], int(v["population"].fillna(0).sum())],
              [t["report.villages"], len(v)], [t["report.townships"],
                                               len(district.township_names())]]
    if coverage_summary is not None:
        present_kinds = coverage_summary[coverage_summary["villages_no_unit"]
                                         < coverage_summary["villages"]]
        lines += [[], [t["report.kind"], t["report.target"], t["report.covered"],
                       t["report.outside"], t["report.covered_share"]]]
        for r in present_kinds.to_dict("records"):
            kind = str(r["kind"])
            lines.append([t.kind(kind), float(district.settings.targets[kind].value),
                          int(r["villages_covered"]), int(r["villages"] - r["villages_covered"]),
                          _Share(r["share_covered"])])
    if scenarios is not None and len(scenarios):
        lines += [[], [t["report.scenario"], *headers(
            ["population_losing_cover", "population_cut_off", "population_to_evacuate",
             "population_unsheltered"], lang)]]
        for r in scenarios.to_dict("records"):
            lines.append([t.get("scenario", str(r["scenario"])),
                          *(int(r[c]) for c in ("population_losing_cover",
                                                "population_cut_off", "population_to_evacuate",
                                                "population_unsheltered"))])
    sheets: list[Sheet] = []
    if coverage is not None:
        sheets.append(Sheet("coverage", coverage))
    if gaps is not None:
        sheets.append(Sheet("gaps", gaps))
    if compliance is not None:
        sheets.append(Sheet("compliance", compliance))
    if checklist is not None:
        sheets.append(Sheet("checklist", checklist))
    if scenarios is not None:
        sheets.append(Sheet("scenarios", scenarios))
    if scenario_villages is not None:
        sheets.append(Sheet("scenario_villages", scenario_villages))
    if sites is not None:
        sheets.append(Sheet("siting", sites))
    if zones is not None:
        sheets.append(Sheet("zones", zones))
    if zone_balance is not None:
        sheets.append(Sheet("zone_balance", zone_balance))
    if warning is not None:
        sheets.append(Sheet("warning", warning))
    if loudspeakers is not None:
        sheets.append(Sheet("loudspeakers", loudspeakers))
    if quality is not None:
        sheets.append(Sheet("quality", quality))
    for key, table in (extra_sheets or {}).items():  # calibration, uncertainty, force ...
        sheets.append(Sheet(key, table))
    src = sources_table(district.settings, lang=lang)
    sheets.append(Sheet("sources", src[["label", "value", "unit", "source", "proposal",
                                        "group", "key"]]))
    fields: list[tuple[str, str, str]] = []
    rows: dict[str, _Rows] = {}
    cut_notes: list[str] = []
    # the summary comes first; write-only sheets are written in creation order
    _summary_sheet(wb, t, [*lines, *([[], [t["report.notes"]], *([n] for n in notes)]
                                     if notes else [])])
    for sh in sheets:
        cut = _table_sheet(wb, t[f"sheet.{sh.key}"], sh.table, lang, fields, rows)
        if cut:
            cut_notes.append(t.fmt("report.sheet_cut", sheet=t[f"sheet.{sh.key}"], n=f"{cut:,}"))
    field_table = pd.DataFrame(fields, columns=["sheet", "header", "field"])
    _table_sheet(wb, t["sheet.fields"], field_table, lang, [], rows)
    if cut_notes:  # rare (a province's coverage > 1M rows): said on a last sheet, not hidden
        _summary_sheet(wb, t, [[n] for n in cut_notes])
    buf = io.BytesIO()
    wb.save(buf)
    return _pinned(buf.getvalue(), rows)


def _pinned(data: bytes, rows: Mapping[str, _Rows]) -> bytes:
    """The xlsx with each sheet's data ``rows`` spliced in after its header row, and fixed zip
    timestamps and document dates (the same results, same bytes)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                              rb"\g<1>" + FIXED_DATE.encode() + rb"\g<2>", body)
            elif info.filename in rows:
                head, sep, tail = body.rpartition(b"</sheetData>")
                if not sep:
                    raise RuntimeError(f"no sheetData in {info.filename}: openpyxl changed?")
                zi._compresslevel = 1  # type: ignore[attr-defined]  # as writestr's below
                big = len(rows[info.filename].table) > 200_000  # may pass zip's 2 GiB
                with dst.open(zi, "w", force_zip64=big) as f:
                    f.write(head)
                    for block in rows[info.filename].blocks():
                        f.write(block)
                    f.write(sep + tail)
                continue
            dst.writestr(zi, body, compresslevel=1)  # fast: 5M cells re-zipped in 2 s, not 7
    return out.getvalue()


def write_workbook(out: OutputDir, name: str = "results.xlsx", **tables: Any) -> Path:
    """Write :func:`build_workbook`'s workbook as ``name`` in the output folder."""
    data = build_workbook(**tables)
    return out.write_bytes(name, data)


def sheet_names(lang: str = "en") -> Mapping[str, str]:
    """The workbook's sheet names in a language, by key."""
    return dict(texts(lang).section("sheet"))


def table_workbook(sheets: Sequence[tuple[str, pd.DataFrame]], *, lang: str = "en",
                   title: str = "") -> bytes:
    """A workbook of table sheets (``sheet.<key>`` names from the catalogue), each with a
    frozen header, filters, widths and number formats, a title sheet first and the field
    sheet last (``province.xlsx``). Returns the bytes (the same tables, the same bytes)."""
    from openpyxl import Workbook  # deferred: loads openpyxl

    t = texts(lang)
    wb = Workbook(write_only=True)
    wb.properties.creator = "emgis"
    wb.properties.created = _FIXED
    wb.properties.modified = _FIXED
    _summary_sheet(wb, t, [[title]] if title else [[""]])
    fields: list[tuple[str, str, str]] = []
    rows: dict[str, _Rows] = {}
    for key, table in sheets:
        _table_sheet(wb, t[f"sheet.{key}"], table, lang, fields, rows)
    _table_sheet(wb, t["sheet.fields"], pd.DataFrame(fields, columns=["sheet", "header",
                                                                      "field"]), lang, [], rows)
    buf = io.BytesIO()
    wb.save(buf)
    return _pinned(buf.getvalue(), rows)
