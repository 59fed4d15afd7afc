"""report.docx: the HTML report's summary and tables as a Word/WPS document (公文 layout)."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from emgis.outputs.docx import BODY_FONTS, HEADING_FONTS, MARGINS_MM, clean, report_docx
from emgis.outputs.folder import OutputDir, read_manifest
from emgis.texts import texts
from tests.conftest import REPO, TINY, open_plan, replace_in

docx = pytest.importorskip("docx")

AS_OF = dt.date(2025, 7, 1)
HOSTILE = ("<script>alert(1)</script>", "{{7*7}}", "=cmd|' /C calc'!A0")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``emgis run`` on the demo district, in English and in Chinese."""
    from emgis.run.jobs import run_all

    plan = open_plan(REPO / "data" / "demo", use_cache=True)
    base = tmp_path_factory.mktemp("docx")
    out = {}
    for lang in ("en", "zh"):
        res = run_all(plan, base / lang, lang=lang, as_of=AS_OF, time_limit=30)
        assert res.failures == ()
        assert base / lang / "report.docx" in res.files
        out[lang] = base / lang
    return out


# -- reading both reports ----------------------------------------------------------------------
def _norm(text: str) -> str:
    """A text to compare, blind to spaces and to full- or half-width colons and brackets
    (the document sets Chinese punctuation where the page has ASCII)."""
    return re.sub(r"\s+", "", text).translate(str.maketrans(":()", "：（）"))


def _html_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment)).strip()


def _grid(table: str) -> list[list[str]]:
    """An HTML table's cells' texts, a cell spanning rows repeated in each (as python-docx
    reads a merged cell)."""
    grid: list[list[str]] = []
    carry: dict[int, tuple[int, str]] = {}  # column -> (rows left, text)
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S):
        cells = re.findall(r"<t[dh]([^>]*)>(.*?)</t[dh]>", row, flags=re.S)
        out: list[str] = []
        it = iter(cells)
        col = 0
        while True:
            if col in carry:
                left, text = carry[col]
                out.append(text)
                carry = {**carry, col: (left - 1, text)} if left > 1 else \
                    {k: v for k, v in carry.items() if k != col}
                col += 1
                continue
            nxt = next(it, None)
            if nxt is None:
                break
            attrs, body = nxt
            text = _norm(_html_text(body))
            span = re.search(r'rowspan="(\d+)"', attrs)
            if span and int(span.group(1)) > 1:
                carry[col] = (int(span.group(1)) - 1, text)
            out.append(text)
            col += 1
        grid.append(out)
    return grid


def _html_table(page: str, cls: str) -> list[list[str]]:
    m = re.search(rf'<table class="{cls}">(.*?)</table>', page, flags=re.S)
    assert m, cls
    return _grid(m.group(1))


def _html_rows(page: str, pattern: str) -> list[list[str]]:
    """Rows (cells' texts) of the HTML table whose data rows match ``pattern``."""
    return [[_norm(_html_text(c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(rf"<tr {pattern}[^>]*>(.*?)</tr>", page, flags=re.S)]


def _h2(page: str) -> list[str]:
    return [_norm(_html_text(h)) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, flags=re.S)]


def _blocks(document: Any) -> list[tuple[str, Any]]:
    """The body in order: ("heading", text), ("para", text) and ("table", rows of texts)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[tuple[str, Any]] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            assert item.style is not None
            kind = "heading" if item.style.name.startswith("Heading") else "para"
            out.append((kind, item.text))
        elif isinstance(item, Table):
            out.append(("table", [[_norm(c.text) for c in r.cells] for r in item.rows]))
    return out


def _unnumbered(heading: str, lang: str) -> str:
    if lang == "zh":
        return _norm(re.sub(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", "",
                            heading))
    return _norm(re.sub(r"^\d+\.\s*", "", heading))


def _tables_under(document: Any, heading: str, lang: str) -> list[list[list[str]]]:
    """The tables between the heading ``heading`` and the next top heading."""
    out, inside = [], False
    for kind, value in _blocks(document):
        if kind == "heading":
            inside = _unnumbered(value, lang) == _norm(heading)
        elif kind == "table" and inside:
            out.append(value)
    return out


def _all_text(document: Any) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [c.text for r in table.rows for c in r.cells]
    for sec in document.sections:
        parts += [p.text for p in sec.footer.paragraphs]
    return "\n".join(parts)


# -- the tests ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_headings_and_tables_equal_the_html_report(demo: dict[str, Path], lang: str) -> None:
    folder = demo[lang]
    t = texts(lang)
    page = (folder / "report.html").read_text("utf-8")
    d = docx.Document(str(folder / "report.docx"))
    blocks = _blocks(d)
    # the title, the date, then the same sections in the same order
    m = re.search(r"<h1>(.*?)</h1>", page, flags=re.S)
    assert m is not None
    h1 = _html_text(m.group(1))
    district = h1.rsplit(" · ", 1)[0]
    assert d.paragraphs[0].style.name == "Title"
    assert d.paragraphs[0].text == t.fmt("docx.title", district=district,
                                         title=t["report.title"])
    assert d.paragraphs[1].text == ("2025年7月1日" if lang == "zh" else "2025-07-01")
    top = [_unnumbered(p.text, lang) for p in d.paragraphs if p.style.name == "Heading 1"]
    assert top == _h2(page)
    towns = [_unnumbered(p.text, lang) for p in d.paragraphs if p.style.name == "Heading 2"]
    names = re.findall(r'<div class="township" id="township-\d+" data-name="([^"]+)">', page)
    assert towns == [_norm(t.fmt("docx.named", title=t["report.township"],
                                 name=html.unescape(n))) for n in names]
    assert len(names) == 7
    # the build-here list and the villages outside target: every row, every cell
    build = _html_table(page, "build-here")
    assert len(build) == 5  # 3 micro fire stations and a stockpile
    assert _tables_under(d, t["report.build_here"], lang) == [build]
    gaps = _html_table(page, "summary-gaps")
    assert len({tuple(r[:3]) for r in gaps[1:]}) == 15  # [report] summary_rows villages
    assert _tables_under(d, t["report.gaps"], lang) == [gaps]
    n_more = re.search(r"<p class=\"small\">([^<]*results\.xlsx[^<]*)</p>", page)
    assert n_more and any(k == "para" and v == html.unescape(n_more.group(1)) for k, v in blocks)
    # coverage by kind, compliance counts, scenarios compared: the HTML's rows and numbers
    (cov,) = _tables_under(d, t["report.coverage"], lang)
    assert cov[1:] == _html_rows(page, 'data-kind="[a-z_]+"')[-len(cov) + 1:]
    assert len(cov) - 1 >= 8
    (comp,) = _tables_under(d, t["report.compliance"], lang)
    html_comp = re.search(rf"<h2>{re.escape(html.escape(t['report.compliance']))}</h2>\s*"
                          r"<table>(.*?)</table>", page, flags=re.S)
    assert html_comp
    assert comp == [[_norm(_html_text(c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r,
                                                              flags=re.S)]
                    for r in re.findall(r"<tr>(.*?)</tr>", html_comp.group(1), flags=re.S)]
    scen, *affected = _tables_under(d, t["report.scen_compare"], lang)
    # then the units each scenario puts out of action or cuts off, as the HTML lists them
    html_affected = re.findall(r'<table class="affected">(.*?)</table>', page, flags=re.S)
    assert len(affected) == len(html_affected) >= 1
    for got, want in zip(affected, html_affected, strict=True):
        assert got == [[_norm(_html_text(c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>",
                                                                 r, flags=re.S)]
                       for r in re.findall(r"<tr>(.*?)</tr>", want, flags=re.S)]
    assert scen[1:] == _html_rows(page, 'data-scenario="[^"]+"')
    assert len(scen) == 4
    # the township appendix (row limits as the HTML) and the standards with their sources
    html_gap_tables = [_html_table(b, "gaps") for b in re.findall(
        r'<div class="township"[^>]*>(.*?)</div>', page, flags=re.S) if 'class="gaps"' in b]
    assert len(html_gap_tables) >= 5
    docx_gap_tables = [tb for k, tb in blocks if k == "table" and tb[0] == html_gap_tables[0][0]]
    assert docx_gap_tables == html_gap_tables
    if 'class="impact"' in page:  # before and after, on page 1
        assert _tables_under(d, t["report.impact"], lang) == [_html_table(page, "impact")]
    assert _tables_under(d, t["report.sources"], lang) == [_html_table(page, "sources")]
    # the data credit and the overview picture
    text = _all_text(d)
    assert "© OpenStreetMap contributors" in text
    assert len(d.inline_shapes) == 1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tables_repeat_their_header_and_rows_do_not_split(demo: dict[str, Path],
                                                          lang: str) -> None:
    from docx.oxml.ns import qn

    d = docx.Document(str(demo[lang] / "report.docx"))
    assert len(d.tables) >= 20
    for table in d.tables:
        rows = table._tbl.tr_lst
        head = rows[0].trPr
        assert head is not None and head.find(qn("w:tblHeader")) is not None
        for tr in rows:
            assert tr.trPr is not None and tr.trPr.find(qn("w:cantSplit")) is not None
        for tr in rows[1:]:
            assert tr.trPr.find(qn("w:tblHeader")) is None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_fonts_margins_page_numbers(demo: dict[str, Path], lang: str) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Mm

    d = docx.Document(str(demo[lang] / "report.docx"))
    sec = d.sections[0]
    assert abs(sec.page_width - Mm(210)) < Mm(0.1) and abs(sec.page_height - Mm(297)) < Mm(0.1)
    for side, mm in MARGINS_MM.items():
        assert abs(getattr(sec, f"{side}_margin") - Mm(mm)) < Mm(0.1), side
    assert MARGINS_MM == {"top": 37.0, "bottom": 35.0, "left": 28.0, "right": 26.0}

    def fonts(style: str) -> tuple[str | None, str | None]:
        rf = d.styles[style].element.rPr.rFonts
        assert rf.get(qn("w:asciiTheme")) is None and rf.get(qn("w:eastAsiaTheme")) is None
        assert rf.get(qn("w:hAnsi")) == rf.get(qn("w:ascii"))
        return rf.get(qn("w:eastAsia")), rf.get(qn("w:ascii"))

    assert fonts("Normal") == BODY_FONTS == ("仿宋", "Times New Roman")
    for style in ("Title", "Heading 1", "Heading 2"):
        assert fonts(style) == HEADING_FONTS == ("黑体", "Arial")
    assert d.styles["Normal"].font.size.pt == 16  # 三号
    assert d.styles["Title"].font.size.pt == 22  # 二号
    # table headers in 黑体, table text 五号
    cell = d.tables[0].rows[0].cells[0].paragraphs[0].runs[0]
    assert cell._r.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert cell.font.size.pt == 10.5
    # "— N —" with a PAGE field in the footer
    foot = sec.footer.paragraphs[0]
    assert " PAGE " in "".join(foot._p.itertext())
    assert foot.text.startswith("—") and foot.text.endswith("—")
    # the document is dated by the run
    cp = d.core_properties
    assert cp.created == cp.modified == dt.datetime(2025, 7, 1, tzinfo=dt.timezone.utc)


# words a Chinese document may hold that are no English: credits, codes, units, file names
ALLOWED = {"OpenStreetMap", "contributors", "WGS", "GCJ", "EPSG", "CSV", "csv", "xlsx",
           "results", "gaps", "html", "HTML", "km", "h", "GB", "JTG", "NFPA", "GA", "XF", "OSM",
           "T", "ODbL", "AB", "N", "B"}  # AB岗, 不少于N名, JTG B01


def _words(text: str) -> set[str]:
    text = re.sub(r"\S+\.(?:csv|gpkg|html|xlsx|json)\b", " ", text)  # file names
    return set(re.findall(r"[A-Za-z]+(?:['’\-][A-Za-z]+)*", text))


def test_zh_has_no_english_but_input(demo: dict[str, Path]) -> None:
    d = docx.Document(str(demo["zh"] / "report.docx"))
    allowed = set(ALLOWED)
    for f in (REPO / "data" / "demo").iterdir():
        if f.suffix in (".csv", ".geojson", ".toml"):
            allowed |= _words(f.read_text("utf-8"))
    text = _all_text(d)
    assert sorted(_words(text) - allowed) == []
    # and no phrase of the English catalogue
    en = texts("en")
    for section in ("report", "docx", "column"):
        for value in en.data[section].values():
            for part in re.split(r"\{[^}]*\}", str(value)):
                part = part.strip(" .,:;()·–-")
                if len(part) >= 6 and " " in part and not _words(part) <= allowed:
                    assert part not in text


def test_hostile_names_are_typed_text(tmp_path: Path) -> None:
    """Names that look like markup, a template, a formula, or hold control characters are
    written as the text they are (the ones XML forbids dropped)."""
    from emgis.run.jobs import run_all

    district = tmp_path / "tiny"
    shutil.copytree(TINY, district, ignore=shutil.ignore_patterns(".emgis-cache"))
    replace_in(district / "villages.csv", "V1,东村", f"V1,{HOSTILE[0]}")
    replace_in(district / "villages.csv", "V2,西村", f"V2,{HOSTILE[1]}")
    replace_in(district / "villages.csv", "V3,北村", 'V3,"' + HOSTILE[2].replace('"', '""') + '"')
    # a NUL and an ESC: in the district's name (a CSV with NUL is refused on reading, and the
    # overview picture draws village names)
    replace_in(district / "district.toml", 'name = "测试区"',
               'name = "测试\\u0000区\\u001b<w:t>{{7*7}}"')
    out = tmp_path / "out"
    run_all(open_plan(district), out, lang="zh", as_of=AS_OF, time_limit=30)
    assert "report.docx" in read_manifest(out)["files"]
    d = docx.Document(str(out / "report.docx"))
    text = _all_text(d)
    page = html.unescape((out / "report.html").read_text("utf-8"))
    for name in HOSTILE:
        assert name in page
        assert name in text, name
    assert "山村" in text and "\x00" not in text and "\x1b" not in text
    assert d.paragraphs[0].text == "测试区<w:t>{{7*7}}应急覆盖评估报告"
    assert "49" not in d.paragraphs[0].text


def test_same_inputs_same_bytes(demo: dict[str, Path], tmp_path: Path) -> None:
    from emgis.outputs.docx import write_report_docx

    model = {"lang": "zh", "district": "测\x00试区", "credit": "© OpenStreetMap contributors",
             "notes": ["a\x1bb"], "build_here": [], "gaps": [], "gaps_more": 0,
             "headlines": ["一"], "overview_png": None, "population": "1", "n_villages": "1",
             "n_townships": 1, "units": [], "coverage": [], "quality": None, "robust": [],
             "warning": None, "zone_balance": [], "compliance": [], "checklist": [],
             "scenarios": [], "maps": [], "townships": [], "sources": [], "china": False,
             "statuses": ()}
    one, two = report_docx(model, date=AS_OF), report_docx(model, date=AS_OF)
    assert one == two
    assert report_docx(model, date=dt.date(2025, 7, 2)) != one
    # through the output folder, twice: the same bytes, in the manifest
    paths = []
    for k in (1, 2):
        with OutputDir(tmp_path / str(k), command="run") as od:
            paths.append(write_report_docx(od, model, date=AS_OF))
            od.finish()
    assert paths[0].read_bytes() == paths[1].read_bytes() == one
    # and the demo's document, written again from its run, is the same file
    assert (demo["zh"] / "report.docx").read_bytes()[:4] == b"PK\x03\x04"
    assert clean("a\x00b\x1bc\ttab") == "abc\ttab"


def test_demo_run_writes_the_same_docx_twice(demo: dict[str, Path], tmp_path: Path) -> None:
    """A second run of the same inputs on the same date gives the same report.docx bytes."""
    from emgis.run.jobs import run_all

    plan = open_plan(REPO / "data" / "demo", use_cache=True)
    run_all(plan, tmp_path, lang="zh", as_of=AS_OF, time_limit=30)
    assert (tmp_path / "report.docx").read_bytes() == (demo["zh"] / "report.docx").read_bytes()
    manifest = read_manifest(tmp_path)
    assert "report.docx" in manifest["files"]
