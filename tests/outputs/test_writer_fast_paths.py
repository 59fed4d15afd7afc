"""The output writers' fast paths write what the cell-by-cell code wrote (issue 27).

Each fast path is checked against the code it replaced, kept here as the oracle, on hostile
input: text with markup, formula starters, tabs, line breaks, control characters, white space
at either end, CJK and astral characters; numbers with -0.0, NaN, infinities, float32;
missing values of every kind; merged cells in the Word tables.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emgis.outputs import docx as wd
from emgis.outputs import workbook as wb
from emgis.outputs.tables import FORMULA_START, neutralise, neutralise_frame, present
from emgis.texts import shown_minutes, texts

docx = pytest.importorskip("docx")

HOSTILE = ["<b>&amp;</b>", "=SUM(A1)", "+1", "-2", "@x", "\tstarts with tab", "\rcr", "a\tb",
           "line\nbreak", "cr\r\nlf", " lead", "trail ", "  ", "", "\x00nul\x07bell\x1f",
           "\ufffe\uffff", "县镇02 · 𝔘𝔫𝔦", "'quoted' \"double\"", "]]>", "\u3000ideographic\u3000",
           "12,345", "−3.5", "✓", "3/4", "99%", "a\x00=b", "\x85next line"]

text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))


def _float32(values: Sequence[float]) -> np.ndarray:
    """Numbers as float32 (the largest become infinite)."""
    with np.errstate(over="ignore"):
        return np.array(values, dtype=float).astype(np.float32)


# -- Word tables -------------------------------------------------------------------------------
class _OldWriter(wd._Writer):
    """The writer as it was: each table cell by cell through python-docx's API."""

    def table(self, head: Sequence[str], rows: Sequence[Sequence[object]], *,
              bold_first: Sequence[bool] = (), groups: Sequence[tuple[int, int]] = (),
              group_cols: Sequence[int] = ()) -> Any:
        from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
        from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Mm, Pt

        cells = [[wd.clean(c) for c in head]] + [[wd.clean(c) for c in r] for r in rows]
        ncol = len(head)
        tab = self.doc.add_table(rows=len(cells), cols=ncol)
        tab.style = self.doc.styles["Table Grid"]
        tab.alignment = WD_TABLE_ALIGNMENT.CENTER
        tab.autofit = False
        wd._cell_margins(tab, Mm((wd._PAD_MM - 0.2) / 2))
        numeric = [bool(rows) and all(wd._NUMBER.match(str(r[j]).strip() or "–")
                                      for r in cells[1:]) for j in range(ncol)]
        widths = wd._widths(cells, wd.TEXT_MM)
        grid = tab._tbl.tblGrid
        for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
            col.set(qn("w:w"), str(int(Mm(width).twips)))
        for i, (row, values) in enumerate(zip(tab.rows, cells, strict=True)):
            trpr = row._tr.get_or_add_trPr()
            trpr.append(OxmlElement("w:cantSplit"))
            if i == 0:
                trpr.append(OxmlElement("w:tblHeader"))
            for j, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
                cell.width = Mm(widths[j])
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
                p = cell.paragraphs[0]
                pf = p.paragraph_format
                pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
                pf.first_line_indent = Pt(0)
                pf.space_before = pf.space_after = Pt(1.5)
                if i == 0:
                    tcpr = cell._tc.get_or_add_tcPr()
                    shd = OxmlElement("w:shd")
                    shd.set(qn("w:val"), "clear")
                    shd.set(qn("w:color"), "auto")
                    shd.set(qn("w:fill"), "E7E6E6")
                    tcpr.append(shd)
                    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
                elif numeric[j]:
                    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                if not value and i:
                    continue
                run = p.add_run(value)
                run.font.size = Pt(wd.TABLE_PT)
                if i == 0:
                    wd._set_fonts(run._r, wd.HEADING_FONTS)
                elif j == 0 and i - 1 < len(bold_first) and bold_first[i - 1]:
                    run.bold = True
        spans = [(first, n) for first, n in groups if n > 1]
        for first, n in spans:
            for c in group_cols:
                tab.cell(first + 1, c).merge(tab.cell(first + n, c))
        self.para("", size=6)
        return tab


def _document_xml(writer: type[wd._Writer], tables: Iterable[dict[str, Any]]) -> bytes:
    doc = docx.Document()
    w = writer(doc, texts("en"))
    for kw in tables:
        w.table(**kw)
    buf = io.BytesIO()
    doc.save(buf)
    return zipfile.ZipFile(io.BytesIO(buf.getvalue())).read("word/document.xml")


def _same_tables(*tables: dict[str, Any]) -> None:
    assert _document_xml(wd._Writer, tables) == _document_xml(_OldWriter, tables)


def test_docx_tables_as_python_docx_made_them() -> None:
    head = ["Village", "", "Persons", "<kind> & \"x\"", "Cause"]
    rows: list[list[object]] = [[h, f"T{k}", f"{k * 1000:,}", h[::-1], " "]
                                for k, h in enumerate(HOSTILE)]
    rows.append(["", "", "", "", ""])
    rows.append([None, 3.5, -2, float("nan"), "\t"])
    _same_tables(
        {"head": head, "rows": rows, "bold_first": [k % 3 == 0 for k in range(len(rows))]},
        {"head": ["only header"], "rows": []},
        {"head": ["n", "share"], "rows": [["1", "50%"], ["2", "–"], ["", "3/4"]]},
    )


def test_docx_merged_groups_as_python_docx_merged_them() -> None:
    head = ["Village", "Persons", "Kind", "Minutes"]
    rows: list[list[object]] = [["V1 (a)", "1,000", "fire", "12.0"], ["", "", "police", "9"],
                                ["", "", "ems", "30"], ["V2 (b)", "20", "fire", "1"],
                                ["V3", "5", "fire", "2"], ["", "", "ems", "\t"]]
    # the fast path: disjoint groups whose lower cells are empty
    _same_tables({"head": head, "rows": rows, "groups": [(0, 3), (3, 1), (4, 2)],
                  "group_cols": [0, 1]})
    # text below a group's first row moves up (python-docx merges that table)
    moved = [list(r) for r in rows]
    moved[1][1] = "stray & <text>"
    _same_tables({"head": head, "rows": moved, "groups": [(0, 3), (4, 2)],
                  "group_cols": [0, 1]})
    # overlapping groups
    _same_tables({"head": head, "rows": rows, "groups": [(0, 3), (1, 2)], "group_cols": [0]})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(text, min_size=3, max_size=3), min_size=1, max_size=6),
       st.lists(st.booleans(), max_size=6))
def test_docx_tables_property(rows: list[list[str]], bold: list[bool]) -> None:
    _same_tables({"head": ["a", "b", "c"], "rows": rows, "bold_first": bold,
                  "groups": [(0, len(rows))], "group_cols": [0]})


def test_docx_table_rows_must_match_the_header() -> None:
    w = wd._Writer(docx.Document(), texts("en"))
    with pytest.raises(ValueError):
        w.table(["a", "b"], [["1"]])


# -- formula guard ----------------------------------------------------------------------------
def _neutralise_oracle(df: pd.DataFrame) -> pd.DataFrame:
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


cell = st.one_of(text, st.none(), st.just(float("nan")), st.just(pd.NA), st.integers(-5, 5),
                 st.floats(allow_nan=True), st.builds(np.str_, text))


@settings(max_examples=150, deadline=None)
@given(st.lists(cell, min_size=0, max_size=8), st.lists(text, min_size=8, max_size=8))
def test_neutralise_frame_property(mixed: list[object], texts_: list[str]) -> None:
    n = len(mixed)
    df = pd.DataFrame({"mixed": pd.Series(mixed, dtype=object),
                       "texts": pd.Series(texts_[:n], dtype=object),
                       "string": pd.Series(texts_[:n], dtype="string"),
                       "str": pd.Series(texts_[:n], dtype="str"),
                       "num": np.arange(n, dtype=float) - 2})
    got, want = neutralise_frame(df), _neutralise_oracle(df)
    pd.testing.assert_frame_equal(got, want)
    for v, g in zip(texts_[:n], got["texts"], strict=True):
        assert g == neutralise(v)


def test_neutralise_frame_nul_inside_a_text() -> None:
    df = pd.DataFrame({"a": ["x\x00=y", "=z", "ok"], "b": ["x\x00=y", "ok", None]})
    got = neutralise_frame(df)
    pd.testing.assert_frame_equal(got, _neutralise_oracle(df))
    assert got["a"].tolist() == ["x\x00=y", "'=z", "ok"]
    assert got["b"].tolist()[:2] == ["x\x00=y", "ok"]


# -- present ----------------------------------------------------------------------------------
def _present_oracle(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    from emgis.outputs.tables import CODE_COLUMNS, _word

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
        else:
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


minutes = st.one_of(st.floats(0, 90), st.sampled_from(
    [5.0, 5.004, 5.005, 5.0050000001, 4.995, 4.9949999, 10.0 + 1e-10, 9.999999999, -0.0, 0.0,
     float("nan"), float("inf"), -float("inf"), 1e308, 14.999]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(minutes, minutes, st.sampled_from([5.0, 10.0, 15, float("nan")]),
                          st.sampled_from(["", "over_target", "no_road_access", "cut_off",
                                           "no_unit", None]),
                          st.sampled_from(["fire_station", "ems", "police"]),
                          st.one_of(st.floats(0, 5000), st.just(float("nan")))),
                min_size=0, max_size=12),
       st.sampled_from(["en", "zh"]))
def test_present_property(rows: list[tuple[Any, ...]], lang: str) -> None:
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    df = pd.DataFrame({
        "kind": pd.Series(cols[4], dtype="str"),
        "nearest_min": pd.Series(cols[0], dtype=float),
        "second_min": pd.Series(_float32(cols[1])),
        "ems_min": pd.Series(cols[1], dtype=float),
        "ems_target": pd.Series([int(x) if x == x else 7 for x in cols[2]], dtype=np.int64),
        "other_min": pd.Series(cols[0], dtype=float),
        "target_min": pd.Series(cols[2], dtype=float),
        "status": pd.Series(["covered", "over_target", None, "cut_off"] * n, dtype=object)[:n],
        "cause": pd.Series(cols[3], dtype=object),
        "access_m": pd.Series(cols[5], dtype=float),
        "flag": pd.Series([k % 2 == 0 for k in range(n)], dtype=bool),
    })
    pd.testing.assert_frame_equal(present(df, lang), _present_oracle(df, lang), check_exact=True)
    alone = df[["nearest_min", "ems_min"]].rename(columns={"nearest_min": "a_min"})
    pd.testing.assert_frame_equal(present(alone, lang), _present_oracle(alone, lang),
                                  check_exact=True)


# -- workbook cells ---------------------------------------------------------------------------
def _width_oracle(values: Iterable[object], header: str) -> float:
    def w(text: str) -> int:
        return sum(2 if ord(c) > 0x2E80 else 1 for c in text)

    longest = w(header)
    for i, v in enumerate(values):
        if i >= 2000:
            break
        if v is not None and not (isinstance(v, float) and np.isnan(v)):
            longest = max(longest, w(f"{v:,.1f}" if isinstance(v, float) else str(v)))
    return float(min(max(longest + 2, 6), 60))


def _column_oracle(letter: str, column: pd.Series, style_id: int | None, start: int = 2
                   ) -> list[str]:
    s = "" if style_id is None else f' s="{style_id}"'
    rows = range(start, len(column) + start)
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else "O"
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
    out: list[str] = []
    for i, v in zip(rows, column.to_numpy(dtype=object).tolist(), strict=True):
        v = wb._cell_value(v)
        if v is None:
            out.append("")
        elif isinstance(v, str):
            out.append(wb._text_xml(f"{letter}{i}", v))
        elif isinstance(v, bool):
            out.append(f'<c r="{letter}{i}" t="b"><v>{int(v)}</v></c>')
        elif isinstance(v, (int, float)):
            out.append(f'<c r="{letter}{i}"{s} t="n"><v>{v:.16g}</v></c>'
                       if np.isfinite(v) else "")
        else:
            out.append(wb._text_xml(f"{letter}{i}", str(v)))
    return out


number = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, 0.1 + 0.2, 1e16, 123456.75, -1.5e-7]))


@settings(max_examples=150, deadline=None)
@given(st.lists(number, max_size=10), st.lists(text, max_size=10), st.lists(cell, max_size=10))
def test_workbook_columns_property(floats: list[float], texts_: list[str],
                                   mixed: list[object]) -> None:
    columns = [pd.Series(floats, dtype=float), pd.Series(_float32(floats)),
               pd.Series(texts_, dtype=object), pd.Series(texts_, dtype="str"),
               pd.Series([*texts_, None], dtype="string"), pd.Series(mixed, dtype=object),
               pd.Series([*texts_, np.str_("=x")], dtype=object)]
    for col in columns:
        for sid in (None, 3):
            assert wb._column_xml("B", col, sid, 5) == _column_oracle("B", col, sid, 5)
        assert wb._width(col, "header 标题") == _width_oracle(col, "header 标题")
        assert wb._width(iter(col), "h") == _width_oracle(iter(col), "h")


def test_workbook_width_counts_the_first_rows_only() -> None:
    col = pd.Series(["x"] * 2000 + ["y" * 50], dtype="str")
    assert wb._width(col, "h") == _width_oracle(col, "h") == 6.0
    wide = pd.Series(["漢字" * 40, "\U0001d518" * 3, "\u2e80\u2e81"])
    assert wb._width(wide, "") == _width_oracle(wide, "")



# -- the report's checklist: villages meeting both grid rules per township -----------------------
def _old_grid_cells(findings: pd.DataFrame, towns: Sequence[object]) -> list[str]:
    """The cell as it was made: one groupby per township."""
    grid = findings[findings["rule"].isin(("grid_members_per_village",
                                            "households_per_grid_member"))]
    out = []
    for town in towns:
        g = grid[grid["township"] == town]
        ok = g.groupby("place_id")["status"].agg(lambda s: bool((s == "meets").all()))
        n_ok = int(ok.astype(bool).sum()) if len(ok) else 0
        out.append(f"{n_ok}/{len(ok)}")
    return out


TOWNS = ["镇一", "Town B", "=T", "空镇"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["meets", "below", "missing", "not_recorded"]), min_size=4,
                max_size=4),
       st.lists(st.tuples(
           st.sampled_from([*TOWNS[:3], "no such town", None]),
           st.sampled_from(["v1", "v2", "v3", "v4", None]),
           st.sampled_from(["grid_members_per_village", "households_per_grid_member",
                            "township_station_posts"]),
           st.sampled_from(["meets", "below", "missing", "not_recorded"])), max_size=40))
def test_checklist_grid_cell_is_the_per_township_count(
        posts: list[str], rows: list[tuple[object, object, str, str]]) -> None:
    from emgis.analysis.compliance import COLUMNS, station_checklist
    from emgis.outputs.report import _checklist

    town_rows = [{"scope": "township", "township": town, "place_id": town,
                  "rule": "township_station_posts", "status": status}
                 for town, status in zip(TOWNS, posts, strict=True)]
    village_rows = [{"scope": "village", "township": town, "place_id": vid, "rule": rule,
                     "status": status} for town, vid, rule, status in rows]
    findings = pd.DataFrame([*town_rows, *village_rows]).reindex(columns=COLUMNS)
    table = station_checklist(findings)
    assert list(table["township"]) == TOWNS
    got, _ = _checklist(findings, texts("en"))
    assert [r["cells"][-1][0] for r in got] == _old_grid_cells(findings, TOWNS)


def _script_json_by_the_standard_library(data: object) -> str:
    """The maps' script JSON as ``json.dumps`` wrote it before orjson (the oracle)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


finite = st.floats(allow_nan=False, allow_infinity=False)
leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), finite, text,
                 finite.map(np.float64), st.sampled_from(["\u2028", "\u2029", "</script>"]))
tree = st.recursive(leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)), max_leaves=20)


def _numbers_apart(text: str) -> str:
    """The JSON text with every number outside its strings written as ``0`` (what is left:
    the keys, strings, escapes, brackets and separators, character for character)."""
    out: list[str] = []
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|[^"\d-]+|-', text):
        tok = m.group(0)
        out.append("0" if tok[0] in "-0123456789" and tok != "-" else tok)
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(tree)
def test_script_json_is_the_standard_librarys_text(data: object) -> None:
    from emgis.outputs.mappage import script_json

    got = script_json(data)
    want = _script_json_by_the_standard_library(data)
    # the same keys in the same order and the same values (how a number is written differs:
    # orjson 1e16 and, by its version, 1e-5 or 0.00001 where json writes 1e+16 and 1e-05)
    assert json.loads(got, object_pairs_hook=list) == json.loads(want, object_pairs_hook=list)
    assert _numbers_apart(got) == _numbers_apart(want)
    assert "<" not in got and "\u2028" not in got and "\u2029" not in got


def test_script_json_numpy_arrays_and_non_finite_numbers() -> None:
    from emgis.outputs.mappage import script_json

    assert script_json({"b": np.array([1.5, 2.0]), "a": np.int64(3)}) == '{"a":3,"b":[1.5,2.0]}'
    assert script_json([float("nan"), float("inf"), np.float64("-inf")]) == "[null,null,null]"
