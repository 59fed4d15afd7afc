"""Reading a county bureau's ledgers (台账): Excel/WPS workbooks as the bureau keeps them.

A ledger is a sheet with title rows above its header (``某某镇应急救援队伍统计表``,
``填报单位：… 填报日期：…``), headers merged over two rows, a 合计 row at the bottom,
numbers typed as text (``"1,200"``, ``"１２００"``) and empty rows. :func:`read_ledger` finds
the header, reads the records below it as text and keeps the Excel row number of each, so that
every problem the layer reader finds can name the row the planner sees in Excel.

Reader
------
Workbooks are read with python-calamine (Rust ``calamine``), for ``.xlsx``/``.xlsm`` and the old
binary ``.xls`` alike; it gives the merged cell ranges of both formats (``merged_cell_ranges``;
tested with python-calamine 0.9.1) and the cells as Python values. Measured with
``scripts/benchmark_ledgers.py`` on a sheet of 100,000 rows x 8 columns (2 shared cores):

=========================  ==========================  ========================
reader                     .xlsx, 100,000 rows (s)     .xls, 60,000 rows (s)
=========================  ==========================  ========================
python-calamine 0.9.1       1.02                        0.20
openpyxl 3.1.5 read_only   11.04                        --
xlrd 2.0.2                  --                          0.98
=========================  ==========================  ========================

(.xls holds at most 65,536 rows.) Recognising the header, the totals and the numbers of the
100,000 rows (:func:`read_ledger` on top of the reader) took 1.53 s more. openpyxl cannot read
``.xls`` and xlrd reads nothing else, so calamine is also the one reader for both.

Header rule
-----------
Among the first 10 rows, a row is a header candidate when it has at least two distinct
non-empty cells (a merged range counted once), at least 60 % of them distinct short texts
(<= 40 characters, not numbers) and at most half of them ``label：value`` pairs (填报单位：…).
A title, in one cell or merged across the sheet, is no candidate. The row below a candidate
belongs to the header when each of its non-empty cells is a short text under a cell merged
vertically over both rows (the same text) or under a parent merged across several columns;
where a file carries no merge information, a parent's text (which Excel shows only in its first
column) is carried right across empty header cells that have children below. (A parent over a
single column is not told from a data row, so it is not combined.) The candidate whose (one-
or two-row) header has the most columns with a known header
(:func:`emgis.inputs.headers.is_known_header`) in its parent, its child or its name wins; ties,
and sheets with no known header at all, go to the earliest row. Headers of three rows or more
are not combined (the upper two are).

A column's name is its header text, NFKC-normalised with every space and line break removed.
Under a merged parent the child's text is the name when it alone says what the column is: it
is a known header and no other column has the same name; otherwise the parent and the child are
joined (``坐标`` over ``经度`` gives ``经度``; ``户籍`` under ``人口`` gives ``人口户籍``; two
``人数`` under ``专职队员`` and ``兼职队员`` give ``专职队员人数`` and ``兼职队员人数``).
A column with data but no header is named by its Excel letter (``列F``), duplicates get
``#2``, ``#3``; both with a warning.

Rows
----
A cell merged down over several records (所属乡镇 written once for a township's villages)
holds its value in every row it covers, as Excel shows it.
A row whose first non-empty text cell is 合计/总计/小计/共计 (spaces ignored, ``东镇小计`` and
``合计：`` too) is a total, skipped with a warning naming its Excel row; a footnote row (one or
two cells, 注：/备注：/填表人/审核人/制表人 ...) likewise. Empty rows are skipped silently
(listed in ``skipped``). Every cell becomes text: ``""`` for empty; numbers typed as text lose
thousands separators and full-width digits (``"１,２００"`` -> ``"1200"``; other text is kept as
typed, ids and names included); numeric cells are written in the shortest text that reads back
exactly (``1200.0`` -> ``"1200"``, ``0.1`` -> ``"0.1"``); dates as ``2025-06-30`` (with
`` 14:05:00`` when they carry a time); booleans as ``TRUE``/``FALSE``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emgis._errors import EmgisError
from emgis.inputs.headers import is_known_header
from emgis.texts import Msg

#: How many rows from the top are searched for the header.
HEADER_SCAN_ROWS = 10
#: Longest text taken as a header cell, characters.
MAX_HEADER_CHARS = 40

_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")


class LedgerError(ValueError, EmgisError):
    """A ledger cannot be read: no such file or sheet, no header, not a workbook.

    Attributes
    ----------
    msg
        The message (:class:`emgis.texts.Msg`, a ``ledger_*`` entry of the catalogues);
        ``str(error)`` is its English text, ``error.msg.say(texts("zh"))`` the Chinese.
    """

    def __init__(self, msg: Msg) -> None:
        self.msg = msg
        super().__init__(msg)


@dataclass(frozen=True, eq=False)
class Ledger:
    """The records of a ledger sheet, as text, with where each came from.

    Attributes
    ----------
    frame
        One row per record, every cell a ``str`` (``""`` for empty); columns are the header
        texts, normalised (module docstring: NFKC, no spaces, a merged parent joined to its
        child only where the child alone is ambiguous).
    excel_rows
        The Excel row number (1-based, title rows counted) of each frame row.
    sheet
        The sheet's name (the file's stem for a CSV).
    header_row
        Excel row of the header (the upper one of a two-row header).
    skipped
        ``(excel_row, reason)`` of each row below the header that is no record: totals,
        footnotes, empty rows; the reason a :class:`emgis.texts.Msg` (``ledger_reason_*``).
    warnings
        What the planner should check (:class:`emgis.texts.Msg`: English as ``str``,
        ``.say(texts("zh"))`` in Chinese); each names the file, sheet and Excel row or column.
    header_rows
        Excel rows of the header (one or two).
    letters
        Excel column letter of each frame column.
    path
        The file read.
    """

    frame: pd.DataFrame
    excel_rows: tuple[int, ...]
    sheet: str
    header_row: int
    skipped: tuple[tuple[int, Msg], ...]
    warnings: tuple[Msg, ...]
    header_rows: tuple[int, ...] = ()
    letters: tuple[str, ...] = ()
    path: Path | None = None

    def column_letter(self, column: str) -> str:
        """The Excel letter of a frame column (``"C"``)."""
        return self.letters[list(self.frame.columns).index(column)]


def column_letter(index: int) -> str:
    """Excel's letter of a 0-based column index: 0 -> ``A``, 26 -> ``AA``."""
    out = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


# --- cells as text ----------------------------------------------------------------------------

_NUM_START = frozenset("0123456789+-.０１２３４５６７８９＋－．")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[+-]?\.\d+$")


def number_text(value: float) -> str:
    """The shortest text that reads back as ``value`` exactly: ``1200.0`` -> ``"1200"``,
    ``0.1`` -> ``"0.1"``, ``1e20`` -> ``"100000000000000000000"``; NaN -> ``""``."""
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(np.format_float_positional(value, unique=True, trim="-"))


def text_number(text: str) -> str:
    """Text as a ledger holds it, with a number typed as text made plain ASCII: spaces around
    it stripped, full-width digits and signs made ASCII, thousands separators removed
    (``"１,２００"`` -> ``"1200"``, ``" 1,200.5 "`` -> ``"1200.5"``). Anything that is not such a
    number is returned stripped, as typed (``"01"`` stays ``"01"``, ``"Ｖ１"`` stays)."""
    t = text.strip()
    if not t or t[0] not in _NUM_START:
        return t
    n = unicodedata.normalize("NFKC", t).replace(" ", "")
    if _NUMBER.match(n):
        return n.replace(",", "")
    return t


def cell_text(value: Any) -> str:
    """A cell as text (module docstring, "Rows")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return text_number(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value).strip()


def _header_text(value: Any) -> str:
    """A header cell as a column name: NFKC, no spaces or line breaks."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        value = number_text(value)
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value)))


# --- reading the grid -------------------------------------------------------------------------

Merge = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class _Grid:
    sheet: str
    rows: list[list[Any]]
    merges: list[Merge]


def _read_workbook(path: Path, sheet: str | int | None) -> _Grid:
    from python_calamine import CalamineWorkbook  # deferred: loads python_calamine

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types, and OSError/ValueError
        head = path.read_bytes()[:512].lstrip().lower()
        if head.startswith((b"<", b"\xef\xbb\xbf<")):
            raise LedgerError(Msg("ledger_html_xls", file=path.name)) from exc
        raise LedgerError(Msg("ledger_unreadable", file=path.name,
                              detail=f"{type(exc).__name__}: {exc}")) from exc
    with wb:
        names = list(wb.sheet_names)
        listed = tuple(f"{i}: {n}" for i, n in enumerate(names))
        if sheet is None:
            for name in names:
                ws = wb.get_sheet_by_name(name)
                rows = ws.to_python(skip_empty_area=False)
                if any(c != "" for r in rows for c in r):
                    return _Grid(name, rows, list(ws.merged_cell_ranges or []))
            raise LedgerError(Msg("ledger_no_data", file=path.name, sheets=listed))
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise LedgerError(Msg("ledger_sheet_missing", file=path.name,
                                      sheet=Msg("ledger_sheet_index", index=sheet),
                                      sheets=listed))
            name = names[sheet]
        else:
            match = [n for n in names if n == sheet] or [
                n for n in names if _header_text(n) == _header_text(sheet)]
            if not match:
                raise LedgerError(Msg("ledger_sheet_missing", file=path.name,
                                      sheet=Msg("ledger_quoted", name=sheet), sheets=listed))
            name = match[0]
        ws = wb.get_sheet_by_name(name)
        return _Grid(name, ws.to_python(skip_empty_area=False),
                     list(ws.merged_cell_ranges or []))


def _read_csv(path: Path) -> _Grid:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LedgerError(Msg("ledger_csv_encoding", file=path.name))
    rows: list[list[Any]] = [list(r) for r in csv.reader(io.StringIO(text, newline=""))]
    return _Grid(path.stem, rows, [])


# --- the header -------------------------------------------------------------------------------

_LABEL_VALUE = re.compile(r"^[^:]{1,12}:.+")


def _is_header_cell(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    t = value.strip()
    return 0 < len(t) <= MAX_HEADER_CHARS and text_number(t) == t and not _NUMBER.match(
        unicodedata.normalize("NFKC", t))


@dataclass
class _Top:
    """The first rows of a sheet as header texts: ``texts`` with merged ranges filled,
    ``own`` whether a cell holds its own text (not a copy of a merge), ``ok`` whether it is a
    header-like text, ``span`` the width of the merge it belongs to, ``vertical`` whether that
    merge covers several rows."""

    texts: list[list[str]]
    own: list[list[bool]]
    ok: list[list[bool]]
    span: list[list[int]]
    vertical: list[list[bool]]


def _top(grid: _Grid, n: int) -> _Top:
    width = max((len(r) for r in grid.rows[:n]), default=0)
    texts = [[_header_text(c) for c in r] + [""] * (width - len(r)) for r in grid.rows[:n]]
    ok = [[_is_header_cell(c) for c in r] + [False] * (width - len(r)) for r in grid.rows[:n]]
    own = [[True] * width for _ in texts]
    span = [[1] * width for _ in texts]
    vertical = [[False] * width for _ in texts]
    for (r0, c0), (r1, c1) in grid.merges:
        if r0 >= len(texts) or c0 >= width:
            continue
        value, good = texts[r0][c0], ok[r0][c0]
        for r in range(r0, min(r1 + 1, len(texts))):
            for c in range(c0, min(c1 + 1, width)):
                texts[r][c], ok[r][c] = value, good
                own[r][c] = (r, c) == (r0, c0)
                span[r][c] = c1 - c0 + 1
                vertical[r][c] = r1 > r0
    return _Top(texts, own, ok, span, vertical)


def _carried(top: _Top, r: int) -> tuple[list[str], list[int]]:
    """Row ``r`` with each parent carried right across the empty cells that have a child in
    row ``r + 1`` (a parent merged without merge information shows in its first column only),
    and the span of each cell's parent."""
    upper, span = list(top.texts[r]), list(top.span[r])
    below, good = top.texts[r + 1], top.ok[r + 1]
    width = len(upper)
    c = 0
    while c < width:
        if upper[c] and below[c] and span[c] == 1 and not top.vertical[r][c]:
            k = c + 1
            while k < width and not upper[k] and below[k] and good[k] and span[k] == 1:
                k += 1
            for j in range(c, k):
                upper[j], span[j] = upper[c], k - c
            c = max(k, c + 1)
        else:
            c += 1
    return upper, span


def _candidate(top: _Top, r: int) -> bool:
    texts, own, ok = top.texts[r], top.own[r], top.ok[r]
    cells = [t for t, o in zip(texts, own) if t and o]
    if len(set(cells)) < 2:
        return False
    good = sum(1 for t, o, g in zip(texts, own, ok) if t and o and g)
    labels = sum(1 for t in cells if _LABEL_VALUE.match(t))
    return good >= 0.6 * len(cells) and labels * 2 <= len(cells) \
        and len(set(cells)) >= 0.6 * len(cells)


def _subheader(top: _Top, r: int) -> list[str] | None:
    """Row ``r``'s texts with parents carried when row ``r + 1`` belongs to its header."""
    if r + 1 >= len(top.texts):
        return None
    upper, span = _carried(top, r)
    lower = top.texts[r + 1]
    cells = [c for c, t in enumerate(lower) if t]
    if not cells:
        return None
    for c in cells:
        if lower[c] == upper[c]:
            continue  # merged over both rows
        if not top.ok[r + 1][c] or span[c] < 2 or not upper[c]:
            return None
    return upper


def _names(upper: list[str], lower: list[str] | None) -> tuple[list[str], int]:
    """The column names of a header row (and the row below it when that is a sub-header), and
    how many columns have a known header in the parent, the child or the name."""
    if lower is None:
        return list(upper), sum(1 for t in upper if t and is_known_header(t))
    plain = [u if (not lo or lo == u) else "" for u, lo in zip(upper, lower)]
    children = [lo if (lo and lo != u and u) else "" for u, lo in zip(upper, lower)]
    counts: dict[str, int] = {}
    for t in (*plain, *children):
        if t:
            counts[t] = counts.get(t, 0) + 1
    out: list[str] = []
    hits = 0
    for u, lo, p, ch in zip(upper, lower, plain, children):
        if p:
            out.append(p)
        elif not u:
            out.append(lo)
        elif counts[ch] == 1 and is_known_header(ch):
            out.append(ch)
        else:
            out.append(u + ch)
        hits += any(t and is_known_header(t) for t in (u, lo, out[-1]))
    return out, hits


def _find_header(grid: _Grid) -> tuple[int, bool, list[str]] | None:
    top = _top(grid, HEADER_SCAN_ROWS + 1)
    best: tuple[int, int, bool, list[str]] | None = None
    for r in range(min(HEADER_SCAN_ROWS, len(top.texts))):
        if not _candidate(top, r):
            continue
        upper = _subheader(top, r)
        if upper is None:
            names, hits = _names(top.texts[r], None)
        else:
            names, hits = _names(upper, top.texts[r + 1])
        if best is None or hits > best[0]:
            best = (hits, r, upper is not None, names)
    return None if best is None else (best[1], best[2], best[3])


# --- rows -------------------------------------------------------------------------------------

_TOTAL = re.compile(r"^.{0,10}?(合计|总计|小计|共计)(\(.*\))?[:：]?$")
_FOOTER = ("注:", "注：", "备注:", "备注：", "说明:", "说明：", "填表人", "填报人", "审核人",
           "制表人", "制表:", "制表：", "审核:", "审核：", "单位负责人", "分管领导", "联系人:",
           "联系人：", "联系电话", "填报日期", "填表日期")


def _row_kind(cells: Sequence[str]) -> tuple[str, str] | None:
    """``("total", text)`` or ``("footer", text)`` for a row that is no record, else None."""
    nonempty = [c for c in cells if c]
    first = next((c for c in nonempty if not _NUMBER.match(c)), None)
    if first is None:
        return None
    squeezed = re.sub(r"\s+", "", unicodedata.normalize("NFKC", first))
    if _TOTAL.match(squeezed):
        return "total", first
    if len(nonempty) <= 2 and squeezed.startswith(tuple(
            unicodedata.normalize("NFKC", f) for f in _FOOTER)):
        return "footer", first
    return None


def read_ledger(path: str | Path, *, sheet: str | int | None = None) -> Ledger:
    """Read the records of a ledger sheet (.xlsx, .xlsm, .xls) or a CSV ledger.

    Parameters
    ----------
    path
        The workbook or CSV (UTF-8, UTF-8 with BOM, GBK/GB18030).
    sheet
        The sheet: its name, or its 0-based index; the first sheet holding data when None.
        Ignored for a CSV.

    Returns
    -------
    Ledger
        The records as text with their Excel row numbers, the header found, the rows skipped
        and the warnings (module docstring for the rules).

    Raises
    ------
    LedgerError
        No such file, not a ledger format, not readable as a workbook, no such sheet (the
        message lists the sheets), no sheet with data, no header row in the first 10 rows.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.is_file():
        raise LedgerError(Msg("ledger_not_found", file=str(p)))
    if suffix not in _SUFFIXES:
        raise LedgerError(Msg("ledger_unsupported", file=p.name,
                              suffix=suffix or Msg("ledger_no_suffix")))
    grid = _read_csv(p) if suffix == ".csv" else _read_workbook(p, sheet)
    return _ledger(grid, p)


def _filled_down(grid: _Grid, start: int) -> list[list[Any]]:
    """The rows, each cell merged down over records (所属乡镇 written once for all the
    township's villages) repeated in every row it covers, as Excel shows it; merges that
    begin above ``start`` (the first record's row) belong to the header and are left."""
    down = [(r0, c0, r1) for (r0, c0), (r1, _c1) in grid.merges if r0 >= start and r1 > r0]
    if not down:
        return grid.rows
    rows = [list(row) for row in grid.rows]
    for r0, c0, r1 in down:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for row in rows[r0 + 1:r1 + 1]:
            if len(row) <= c0:
                row.extend([""] * (c0 + 1 - len(row)))
            if row[c0] is None or row[c0] == "":
                row[c0] = value
    return rows


def _ledger(grid: _Grid, path: Path) -> Ledger:
    file, sheet = path.name, grid.sheet
    found = _find_header(grid)
    if found is None:
        raise LedgerError(Msg("ledger_no_header", file=file, sheet=sheet, rows=HEADER_SCAN_ROWS))
    r, two, names = found
    start = r + (2 if two else 1)
    rows = _filled_down(grid, start)
    width = max(len(names), max((len(x) for x in rows[start:]), default=0))
    names = names + [""] * (width - len(names))
    last = len(rows)
    while last > start and all(c == "" or c is None for c in rows[last - 1]):
        last -= 1
    body: list[list[str]] = []
    excel_rows: list[int] = []
    skipped: list[tuple[int, Msg]] = []
    warnings: list[Msg] = []
    blank = [""] * width
    for i in range(start, last):
        raw = rows[i]
        cells = [cell_text(c) for c in raw]
        if len(cells) < width:
            cells += blank[len(cells):]
        if not any(cells):
            skipped.append((i + 1, Msg("ledger_reason_empty")))
            continue
        kind = _row_kind(cells)
        if kind is not None:
            what, text = kind
            skipped.append((i + 1, Msg(f"ledger_reason_{what}", text=text)))
            warnings.append(Msg(f"ledger_{what}_row", file=file, sheet=sheet, row=i + 1,
                                text=text))
            continue
        body.append(cells)
        excel_rows.append(i + 1)
    has_data = [any(row[c] for row in body) for c in range(width)]
    keep = [c for c in range(width) if names[c] or has_data[c]]
    columns: list[str] = []
    for c in keep:
        name = names[c]
        if not name:
            name = f"列{column_letter(c)}"
            warnings.append(Msg("ledger_no_header_column", file=file, sheet=sheet,
                                letter=column_letter(c), row=r + 1, name=name))
        columns.append(name)
    seen: dict[str, list[int]] = {}
    for j, name in enumerate(columns):
        seen.setdefault(name, []).append(j)
    for name, idx in seen.items():
        if len(idx) > 1:
            renamed = [name] + [f"{name}#{k}" for k in range(2, len(idx) + 1)]
            for j, new in zip(idx, renamed):
                columns[j] = new
            warnings.append(Msg("ledger_duplicate_column", file=file, sheet=sheet,
                                letters=tuple(column_letter(keep[j]) for j in idx), name=name,
                                names=tuple(Msg("ledger_quoted", name=n) for n in renamed)))
    data = {col: [row[c] for row in body] for col, c in zip(columns, keep)}
    frame = pd.DataFrame(data, columns=columns, dtype=object)
    return Ledger(
        frame=frame,
        excel_rows=tuple(excel_rows),
        sheet=sheet,
        header_row=r + 1,
        skipped=tuple(skipped),
        warnings=tuple(warnings),
        header_rows=(r + 1, r + 2) if two else (r + 1,),
        letters=tuple(column_letter(c) for c in keep),
        path=path,
    )
