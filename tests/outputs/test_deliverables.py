"""What a bureau files: the workbook, styled GeoPackages, and Chinese throughout with --lang zh."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emgis.cli import main
from emgis.outputs.tables import headers
from emgis.texts import texts
from tests.conftest import ZH_ALLOWED, ascii_words, input_words, open_plan, replace_in

INJECT = "=HYPERLINK(\"http://x\",\"y\")"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """The tiny district (one village named like a formula) run in English and in Chinese
    through the command line; the console output kept."""
    import shutil

    from tests.conftest import TINY

    out: dict[str, tuple[Path, str]] = {}
    base = tmp_path_factory.mktemp("deliver")
    district = base / "tiny"
    shutil.copytree(TINY, district, ignore=shutil.ignore_patterns(".emgis-cache"))
    quoted = '"' + INJECT.replace('"', '""') + '"'
    replace_in(district / "villages.csv", "V4,山村", "V4," + quoted)
    # a loudspeaker, so the warning-reach outputs are checked too
    (district / "warning_points.csv").write_text(
        "id,name,kind,lon,lat\nW1,南村大喇叭,大喇叭,1.5105,42.4952\n", "utf-8")
    with open(district / "district.toml", "a", encoding="utf-8") as f:
        f.write('\n[layers.warning_points]\npath = "warning_points.csv"\n')
    for lang in ("en", "zh"):
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            code = main(["run", str(district), "--out", str(base / lang), "--lang", lang])
        assert code == 0, buf.getvalue()
        out[lang] = (base / lang, buf.getvalue())
    out["district"] = (district, "")
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbook_sheets_headers_and_every_village(runs: dict[str, tuple[Path, str]],
                                                   lang: str) -> None:
    import openpyxl

    folder, _ = runs[lang]
    t = texts(lang)
    wb = openpyxl.load_workbook(folder / "results.xlsx")
    want = [t[f"sheet.{k}"] for k in ("summary", "coverage", "gaps", "compliance",
                                       "checklist", "scenarios", "scenario_villages", "siting",
                                       "zones", "zone_balance", "warning", "loudspeakers",
                                       "quality")]
    names = wb.sheetnames
    assert names[:len(want)] == want
    assert names[-2:] == [t["sheet.sources"], t["sheet.fields"]]
    # between them the sheets of the minutes (calibration only where there are records)
    extra = names[len(want):-2]
    optional = [t[f"sheet.{k}"] for k in ("calibration", "calibration_records", "uncertainty",
                                          "force", "availability")]
    assert {t["sheet.uncertainty"], t["sheet.force"], t["sheet.availability"]} <= set(extra)
    assert extra == [n for n in optional if n in extra]
    cov_csv = pd.read_csv(folder / "coverage.csv", encoding="utf-8-sig",
                          header=1 if lang == "zh" else 0, dtype={"village_id": str})
    ws = wb[t["sheet.coverage"]]
    head = [c.value for c in ws[1]]
    assert head == headers(list(cov_csv.columns), lang)
    from openpyxl.utils import get_column_letter

    last = get_column_letter(len(cov_csv.columns))
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:{last}{len(cov_csv) + 1}"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    col = {name: i for i, name in enumerate(cov_csv.columns)}
    sheet_pairs = {(str(r[col["village_id"]]), r[col["kind"]]) for r in rows}
    csv_pairs = set(zip(cov_csv["village_id"].astype(str), cov_csv["kind"], strict=True))
    assert sheet_pairs == csv_pairs and len(rows) == len(cov_csv)
    d = open_plan(runs["district"][0]).district
    assert {v for v, _ in sheet_pairs} == set(d.villages["id"].astype(str))
    # number formats by column; the formula-like name is a text cell, neutralised
    pop = ws.cell(row=2, column=col["population"] + 1)
    assert pop.number_format == "#,##0" and isinstance(pop.value, int)
    minutes = ws.cell(row=2, column=col["nearest_min"] + 1)
    assert minutes.number_format == "0.0"
    names = [ws.cell(row=i, column=col["village_name"] + 1) for i in range(2, ws.max_row + 1)]
    bad = [c for c in names if INJECT in str(c.value)]
    assert bad and all(c.data_type == "s" and str(c.value) == "'" + INJECT for c in bad)
    # the field sheet names every header of every sheet with its English field
    fields = wb[t["sheet.fields"]]
    pairs = {(r[0], r[1], r[2]) for r in fields.iter_rows(min_row=2, values_only=True)}
    for h, f in zip(head, cov_csv.columns, strict=True):
        assert (t["sheet.coverage"], h, f) in pairs
    gaps = wb[t["sheet.gaps"]]
    gaps_csv = pd.read_csv(folder / "gaps.csv", encoding="utf-8-sig",
                           header=1 if lang == "zh" else 0)
    assert gaps.max_row - 1 == len(gaps_csv)


_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
_TEXT = st.text(st.characters(blacklist_categories=_SURROGATES), max_size=12)


@settings(max_examples=40, deadline=None)
@given(texts_=st.lists(st.one_of(_TEXT, st.none(), st.sampled_from(
    ["", " lead", "trail ", "=1+1", "-3", "@x", "a&b<c>", "村\x07", "\t tab"])),
    min_size=3, max_size=3), numbers=st.lists(st.one_of(
        st.floats(allow_nan=True, allow_infinity=False, width=64), st.integers(-10**12, 10**12)),
        min_size=3, max_size=3))
def test_workbook_cells_equal_openpyxls_own(texts_: list[str | None],
                                            numbers: list[float]) -> None:
    """The workbook's data rows (made as XML, not cell by cell) read back exactly as the same
    table written cell by cell by openpyxl: text neutralised and escaped, numbers, empty cells,
    booleans, number formats."""
    import io

    import numpy as np
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from emgis.outputs.tables import neutralise, present
    from emgis.outputs.workbook import _number_format, table_workbook

    table = pd.DataFrame({"village_name": texts_, "population": numbers,
                          "nearest_min": [float(x) for x in numbers],
                          "flag": [True, False, None], "count": np.array([1, 2, 3]),
                          "mixed": [texts_[0], numbers[1], None]})
    # made a block of rows at a time, the same XML as all at once
    from emgis.outputs.workbook import _Rows, _rows_xml

    ids = (None, 3, 4, None, 3, 4)
    assert b"".join(_Rows(table, ids).blocks(size=2)) == _rows_xml(table, ids)
    got = openpyxl.load_workbook(io.BytesIO(table_workbook([("coverage", table)])))
    ws = got[texts("en")["sheet.coverage"]]
    oracle = openpyxl.Workbook()
    ows = oracle.active
    ows.append(headers(list(table.columns), "en"))
    # the workbook prints the table as a planner reads it (minutes rounded for print)
    for r in present(table, "en").itertuples(index=False):
        ows.append([None if v is None or (isinstance(v, float) and np.isnan(v))
                    else ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(v)) if isinstance(v, str)
                    else v.item() if isinstance(v, np.generic) else v for v in r])
    obuf = io.BytesIO()
    oracle.save(obuf)
    ows = openpyxl.load_workbook(obuf).active
    assert ws.max_row == ows.max_row == 4
    for row, orow in zip(ws.iter_rows(), ows.iter_rows(), strict=True):
        for cell, ocell in zip(row, orow, strict=True):
            assert cell.value == ocell.value, (cell.coordinate, cell.value, ocell.value)
            assert cell.data_type == ocell.data_type
            if cell.row > 1 and isinstance(cell.value, (int, float)) \
                    and not isinstance(cell.value, bool):
                col = str(table.columns[cell.column - 1])
                assert cell.number_format == (_number_format(col) or "General")


def test_workbook_is_deterministic(runs: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    assert main(["run", str(runs["district"][0]), "--out", str(tmp_path), "--lang", "zh",
                 "-q"]) == 0
    a = (runs["zh"][0] / "results.xlsx").read_bytes()
    b = (tmp_path / "results.xlsx").read_bytes()
    assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest()


def test_geopackages_carry_qgis_styles(runs: dict[str, tuple[Path, str]]) -> None:
    """Every GeoPackage holds a layer_styles table naming every layer, each a default QML
    style with a renderer; category names in the run's language."""
    import pyogrio

    for lang in ("en", "zh"):
        folder, _ = runs[lang]
        gpkgs = sorted(folder.glob("*.gpkg"))
        assert len(gpkgs) >= 4
        for g in gpkgs:
            listed = {name for name, _ in pyogrio.list_layers(g)}
            assert "layer_styles" in listed, g.name
            styles = pyogrio.read_dataframe(g, layer="layer_styles")
            assert set(styles["f_table_name"]) == listed - {"layer_styles"}, g.name
            assert styles["useAsDefault"].all()
            for q in styles["styleQML"]:
                root = ET.fromstring(q.split("\n", 1)[1])
                assert root.tag == "qgis" and root.find("renderer-v2") is not None
        cov = pyogrio.read_dataframe(folder / "coverage.gpkg", layer="layer_styles")
        qml = cov.loc[cov["f_table_name"] == "coverage", "styleQML"].iloc[0]
        assert texts(lang).status("covered") in qml
        assert 'fieldName="village_name"' in qml  # villages labelled by name


# -- Chinese throughout --------------------------------------------------------------------

def _visible_map_texts(page: str) -> str:
    block = re.search(r'<script type="application/json" id="emgis-data">(.*?)</script>', page,
                      flags=re.S)
    assert block is not None
    out: list[str] = []

    def walk(v: Any, key: str = "") -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k not in ("url", "type", "pane", "className", "map", "tk", "sub", "group",
                             "layers", "ptr", "vil", "t", "colours", "key", "kind"):
                    walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str) and key not in ("c", "o", "color", "fillColor", "dashArray",
                                                "colour", "palette", "edges"):
            out.append(v)

    walk(json.loads(block.group(1)))
    for div in ("emgis-legend", "emgis-title"):
        m = re.search(rf'<div id="{div}".*?</div></div>', page, flags=re.S)
        if m:
            out.append(html.unescape(re.sub(r"<[^>]+>", " ", m.group(0))))
    title = re.search(r"<title>(.*?)</title>", page)
    out.append(html.unescape(title.group(1)) if title else "")
    return "\n".join(out)


def test_zh_has_no_english_but_input(runs: dict[str, tuple[Path, str]]) -> None:
    """With --lang zh the report, every map, the console, the CSV header rows and code
    columns and the workbook's sheets and headers hold no English word but the input's ids
    and names (and credits, units, file names); and no text of the English catalogue."""
    import openpyxl

    folder, console = runs["zh"]
    allowed = ZH_ALLOWED | input_words(runs["district"][0])
    report = (folder / "report.html").read_text("utf-8")
    report_text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(
        r"<(style|script)\b.*?</\1>", " ", report, flags=re.S)))
    sources: dict[str, str] = {"report": report_text, "console": console}
    assert (folder / "warnings.html").exists()
    for page in sorted(folder.glob("*.html")):
        if page.name != "report.html":
            sources[page.name] = _visible_map_texts(page.read_text("utf-8"))
    code_cols = ("kind", "status", "cause", "rule", "scope", "effect", "model", "method",
                 "gain_unit", "baseline_status", "scenario_status", "reason", "unit",
                 "placed_on")
    for f in sorted(folder.glob("*.csv")):
        with f.open(encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
        parts = [" ".join(rows[0])]
        fields = rows[1] if len(rows) > 1 else []
        for r in rows[2:]:
            parts += [v for v, name in zip(r, fields, strict=False) if name in code_cols]
        sources[f.name] = "\n".join(parts)
    wb = openpyxl.load_workbook(folder / "results.xlsx")
    sheet_text = list(wb.sheetnames)
    for ws in wb.worksheets:
        if ws.title == texts("zh")["sheet.fields"]:
            continue  # it lists the English field names by design
        first = next(ws.iter_rows(max_row=1, values_only=True), ())
        sheet_text += [str(v) for v in first if v is not None]
    summary = wb.worksheets[0]
    sheet_text += [str(c) for row in summary.iter_rows(values_only=True) for c in row
                   if isinstance(c, str)]
    sources["results.xlsx"] = "\n".join(sheet_text)
    problems = {name: sorted(ascii_words(text) - allowed) for name, text in sources.items()}
    assert {k: v for k, v in problems.items() if v} == {}
    # and no phrase of the English catalogue (other than the input's names)
    en = texts("en")
    phrases = set()
    for section in en.data.values():
        for value in section.values():
            for part in re.split(r"\{[^}]*\}", str(value)):
                part = part.strip(" .,:;()·–-")
                if len(part) >= 6 and " " in part and not (ascii_words(part) <= allowed):
                    phrases.add(part)
    found = {(name, p) for name, text in sources.items() for p in phrases if p in text}
    assert found == set()
