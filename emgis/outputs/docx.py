"""The report as a Word/WPS document, ``report.docx``, beside ``report.html``.

Bureaus pass documents on as Word or WPS files (公文), so the report's summary and tables are
also written as a ``.docx`` laid out like a government report: A4 with the margins of
GB/T 9704 (top 37 mm, bottom 35 mm, left 28 mm, right 26 mm), the title and headings in 黑体,
the body in 仿宋 (East Asian fonts set through ``w:eastAsia`` so that Word and WPS pick them;
Latin text in Times New Roman and Arial), page numbers "— N —" in the footer, the district's
name and the run's date under the title.

It renders the same model as the HTML page (:func:`emgis.outputs.report.report_model`): every
number is the one the HTML report shows, and every word comes from the language's catalogue.
Tables break across pages with their header row repeated (``w:tblHeader``) and rows that never
split (``w:cantSplit``); long tables are cut at the same row limits as the HTML page and say
where the rest is. Text from the input is data: escaped (by python-docx, and in the tables'
rows, which are written as XML text for speed, by :func:`_xml_text`), and the control
characters XML 1.0 forbids are dropped. The file is deterministic: the document's dates are
the run's date and the zip entries' timestamps are pinned (the same inputs give the same
bytes).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import zipfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from emgis.texts import Texts, texts

if TYPE_CHECKING:
    from pathlib import Path

    from emgis.outputs.folder import OutputDir

#: Fonts: (East Asian, Latin) for headings and for the body, as a 公文 sets them.
HEADING_FONTS = ("黑体", "Arial")
BODY_FONTS = ("仿宋", "Times New Roman")
#: Page margins in mm (GB/T 9704-2012: 天头 37 mm, 订口 28 mm; bottom and right fill A4).
MARGINS_MM = {"top": 37.0, "bottom": 35.0, "left": 28.0, "right": 26.0}
#: Point sizes: 二号 title, 三号 headings and body, 五号 tables, 小四 notes.
TITLE_PT, BODY_PT, TABLE_PT, NOTE_PT = 22.0, 16.0, 10.5, 12.0
#: Fixed line pitch of the body (a 公文 sets 22 lines on a page: 28-29 pt).
LINE_PT = 28.0
#: Width of the text block in mm (A4 210 mm less the margins).
TEXT_MM = 210.0 - MARGINS_MM["left"] - MARGINS_MM["right"]

#: Characters XML 1.0 does not allow in a document (and python-docx refuses).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: A cell that reads as a number (right aligned).
_NUMBER = re.compile(r"^[+\-−–]?[\d,.]*\d[\d,.]*%?$|^[–?✓✗]$|^\d+/\d+$")


def clean(text: object) -> str:
    """Text as a document can hold it: the characters XML 1.0 forbids dropped."""
    return _ILLEGAL_XML.sub("", "" if text is None else str(text))


def report_docx(model: Mapping[str, Any], *, date: dt.date) -> bytes:
    """The Word document of a :func:`emgis.outputs.report.report_model`, dated ``date`` (the
    run's date; also the document's created and modified dates). Returns the .docx bytes."""
    import docx  # deferred: loads docx

    t = texts(str(model["lang"]))
    doc = docx.Document()
    w = _Writer(doc, t)
    w.setup(model, date)
    w.body(model, date)
    buf = io.BytesIO()
    doc.save(buf)
    return _pinned(buf.getvalue())


def write_report_docx(out: OutputDir, model: Mapping[str, Any], *, date: dt.date,
                      name: str = "report.docx") -> Path:
    """Write :func:`report_docx` as ``name`` in the output folder (atomic, in the manifest)."""
    return out.write_bytes(name, report_docx(model, date=date))


def _pinned(data: bytes) -> bytes:
    """The package re-zipped with fixed entry timestamps, in python-docx's order."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def _set_fonts(rpr_parent: Any, fonts: tuple[str, str], *, lang: str | None = None) -> None:
    """Set a style's or run's fonts: East Asian through ``w:eastAsia``, Latin through
    ``w:ascii``/``w:hAnsi``; theme fonts removed (they would win over the names)."""
    from docx.oxml.ns import qn  # deferred: loads docx

    rpr = rpr_parent.get_or_add_rPr()
    fonts_el = rpr.get_or_add_rFonts()
    east, latin = fonts
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts_el.attrib.pop(qn(f"w:{attr}"), None)
    fonts_el.set(qn("w:ascii"), latin)
    fonts_el.set(qn("w:hAnsi"), latin)
    fonts_el.set(qn("w:eastAsia"), east)
    fonts_el.set(qn("w:cs"), latin)
    if lang:
        from docx.oxml import OxmlElement  # deferred: loads docx

        el = rpr.find(qn("w:lang"))
        if el is None:
            el = OxmlElement("w:lang")
            rpr.append(el)
        # Latin names stay Latin words (broken between words only); CJK text is Chinese
        el.set(qn("w:val"), "en-GB")
        el.set(qn("w:eastAsia"), "zh-CN")


class _Writer:
    """Adds the report's parts to a python-docx document."""

    def __init__(self, doc: Any, t: Texts) -> None:
        self.doc = doc
        self.t = t
        self.h1 = 0
        self.h2 = 0
        self.grid_style: str | None = None

    # -- page, styles, properties --------------------------------------------------------
    def setup(self, model: Mapping[str, Any], date: dt.date) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING  # deferred: loads docx
        from docx.shared import Mm, Pt, RGBColor  # deferred: loads docx

        doc, t = self.doc, self.t
        sec = doc.sections[0]
        sec.page_width, sec.page_height = Mm(210), Mm(297)
        sec.top_margin, sec.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
        sec.left_margin, sec.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
        sec.header_distance, sec.footer_distance = Mm(15), Mm(24)
        styles = doc.styles
        normal = styles["Normal"]
        normal.font.size = Pt(BODY_PT)
        _set_fonts(normal.element, BODY_FONTS, lang=t.lang)
        pf = normal.paragraph_format
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(LINE_PT)
        pf.space_before = pf.space_after = Pt(0)
        pf.widow_control = True
        for name, size, before, after in (("Title", TITLE_PT, 0, 6), ("Heading 1", BODY_PT, 6, 3),
                                          ("Heading 2", BODY_PT, 6, 3)):
            st = styles[name]
            st.font.size = Pt(size)
            st.font.bold = False
            st.font.italic = False
            st.font.color.rgb = RGBColor(0, 0, 0)
            _set_fonts(st.element, HEADING_FONTS, lang=t.lang)
            spf = st.paragraph_format
            spf.space_before, spf.space_after = Pt(before), Pt(after)
            spf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            spf.line_spacing = Pt(size + 12 if name == "Title" else LINE_PT)
            spf.keep_with_next = True
            spf.first_line_indent = Pt(0)
        title = styles["Title"]
        title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        # the default template draws a blue rule under the Title: a 公文 title has none
        ppr = title.element.pPr
        if ppr is not None:
            from docx.oxml.ns import qn  # deferred: loads docx

            for el in ppr.findall(qn("w:pBdr")):
                ppr.remove(el)
        for name in ("Heading 1", "Heading 2"):
            styles[name].paragraph_format.left_indent = Pt(0)
        self._footer(sec)
        cp = doc.core_properties
        when = dt.datetime(date.year, date.month, date.day)
        cp.created = cp.modified = cp.last_printed = when
        cp.author = cp.last_modified_by = "emgis"
        cp.title = clean(self._title(model))
        cp.subject = cp.keywords = cp.comments = cp.category = ""
        cp.revision = 1
        cp.language = "zh-CN" if t.lang == "zh" else "en-GB"

    def _footer(self, sec: Any) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH  # deferred: loads docx
        from docx.oxml import OxmlElement  # deferred: loads docx
        from docx.oxml.ns import qn  # deferred: loads docx
        from docx.shared import Pt  # deferred: loads docx

        p = sec.footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        before, _, after = self.t["docx.page"].partition("{page}")

        def run(text: str) -> Any:
            r = p.add_run(text)
            r.font.size = Pt(14)
            _set_fonts(r._r, ("宋体", "Times New Roman"))
            return r

        if before:
            run(before)
        for kind, text in (("begin", None), (None, " PAGE "), ("separate", None),
                           (None, "1"), ("end", None)):
            r = run("")
            if kind:
                fc = OxmlElement("w:fldChar")
                fc.set(qn("w:fldCharType"), kind)
                r._r.append(fc)
            elif text == " PAGE ":
                it = OxmlElement("w:instrText")
                it.set(qn("xml:space"), "preserve")
                it.text = text
                r._r.append(it)
            else:
                r.text = text or ""
        if after:
            run(after)

    def _title(self, model: Mapping[str, Any]) -> str:
        return self.t.fmt("docx.title", district=model["district"], title=self.t["report.title"])

    # -- building blocks -----------------------------------------------------------------
    def para(self, text: str = "", *, size: float | None = None, bold: bool = False,
             indent: bool = False, align: str | None = None, style: str | None = None,
             keep: bool = False) -> Any:
        from docx.enum.text import WD_ALIGN_PARAGRAPH  # deferred: loads docx
        from docx.shared import Pt  # deferred: loads docx

        p = self.doc.add_paragraph(style=style)
        if text:
            r = p.add_run(clean(text))
            r.bold = bold or None
            if size:
                r.font.size = Pt(size)
        pf = p.paragraph_format
        if size and size < BODY_PT:
            pf.line_spacing = Pt(size * 1.5)
        if indent:
            pf.first_line_indent = Pt(2 * (size or BODY_PT))
        if align == "center":
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if keep:
            pf.keep_with_next = True
        return p

    def note(self, text: str) -> Any:
        return self.para(text, size=NOTE_PT)

    def heading(self, title: str, level: int = 1, *, numbered: bool = True) -> Any:
        t = self.t
        if level == 1:
            if numbered:
                self.h1 += 1
            self.h2 = 0
            text = t.fmt("docx.h1", n=self._numeral(self.h1), title=title) if numbered \
                else title
        else:
            self.h2 += 1
            text = t.fmt("docx.h2", n=self._numeral(self.h2), title=title) if numbered \
                else title
        p = self.doc.add_paragraph(style=f"Heading {level}")
        p.add_run(clean(text))
        return p

    def _numeral(self, n: int) -> str:
        nums = self.t.words("docx.numerals")
        return nums[n - 1] if n <= len(nums) else str(n)

    def subhead(self, text: str) -> Any:
        """A bold run-in head in the body font (a 公文's third level)."""
        return self.para(text, bold=True, keep=True)

    def page_break(self) -> None:
        from docx.enum.text import WD_BREAK  # deferred: loads docx

        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def table(self, head: Sequence[str], rows: Sequence[Sequence[object]], *,
              bold_first: Sequence[bool] = (), groups: Sequence[tuple[int, int]] = (),
              group_cols: Sequence[int] = ()) -> Any:
        """A table: header row repeated on every page, rows that do not split, numbers right
        aligned, columns as wide as their texts need; ``groups`` (first body row, rows) merge
        the cells of ``group_cols`` down each group.

        python-docx makes the table and its properties; the rows are written as XML text and
        parsed once (:func:`_rows_xml`, the elements python-docx's cell-by-cell calls make,
        in the same order: a tenth of the time)."""
        from docx.enum.table import WD_TABLE_ALIGNMENT  # deferred: loads docx
        from docx.oxml import parse_xml  # deferred: loads docx
        from docx.oxml.ns import nsdecls, qn  # deferred: loads docx
        from docx.shared import Mm  # deferred: loads docx

        cells = [[clean(c) for c in head]] + [[clean(c) for c in r] for r in rows]
        ncol = len(head)
        if any(len(r) != ncol for r in cells):
            raise ValueError(f"a table row has not the header's {ncol} cells")
        tab = self.doc.add_table(rows=0, cols=ncol)
        if self.grid_style is None:  # found once (python-docx reads every style to find it)
            tab.style = self.doc.styles["Table Grid"]
            self.grid_style = tab._tbl.tblStyle_val
        else:
            tab._tbl.tblStyle_val = self.grid_style
        tab.alignment = WD_TABLE_ALIGNMENT.CENTER
        tab.autofit = False
        _cell_margins(tab, Mm((_PAD_MM - 0.2) / 2))
        numeric = [bool(rows) and all(_NUMBER.match(str(r[j]).strip() or "–") for r in cells[1:])
                   for j in range(ncol)]
        widths = _widths(cells, TEXT_MM)
        grid = tab._tbl.tblGrid
        for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
            col.set(qn("w:w"), str(int(Mm(width).twips)))
        spans = [(first, n) for first, n in groups if n > 1]
        # disjoint groups going down whose lower cells are empty (as _gap_table makes them):
        # merged in the XML text, as python-docx merges them (the top cell restarts the
        # vertical merge, the cells below continue it, nothing moves)
        disjoint = all(a[0] + a[1] <= b[0] for a, b in itertools.pairwise(spans))
        simple = disjoint and len(set(group_cols)) == len(group_cols) and all(
            0 <= c < ncol and first >= 0 and first + n < len(cells)
            and not any(cells[i][c] for i in range(first + 2, first + n + 1))
            for first, n in spans for c in group_cols)
        merge: dict[tuple[int, int], str] = {}
        if simple:
            for first, n in spans:
                for c in group_cols:
                    merge[first + 1, c] = '<w:vMerge w:val="restart"/>'
                    for i in range(first + 2, first + n + 1):
                        merge[i, c] = "<w:vMerge/>"
        body = parse_xml(f"<w:tbl {nsdecls('w')}>"
                         + _rows_xml(cells, [str(Mm(w).twips) for w in widths], numeric,
                                     bold_first, merge) + "</w:tbl>")
        tab._tbl.extend(list(body))
        if spans and not simple:  # python-docx merges them (moving text up)
            # disjoint groups: the grid's cells found once (tab.cell reads the whole grid on
            # every call); merging one group leaves the cells of the others as they were
            grid_cells = tab._cells if disjoint else None
            for first, n in spans:
                for c in group_cols:
                    if grid_cells is not None:
                        top = grid_cells[(first + 1) * ncol + c]
                        top.merge(grid_cells[(first + n) * ncol + c])
                    else:
                        tab.cell(first + 1, c).merge(tab.cell(first + n, c))
        # a little space after the table (Word runs the next paragraph into it otherwise)
        self.para("", size=6)
        return tab

    # -- the report ----------------------------------------------------------------------
    def body(self, m: Mapping[str, Any], date: dt.date) -> None:
        t = self.t
        self.para(self._title(m), style="Title")
        self.para(t.fmt("docx.date", y=date.year, m=date.month, d=date.day,
                        mm=f"{date.month:02d}", dd=f"{date.day:02d}"), align="center")
        if m["credit"]:
            self.para(t.fmt("report.map_data", credit=m["credit"]), size=NOTE_PT,
                      align="center")
        if m["notes"]:
            self.subhead(t["report.notes"])
            for n in m["notes"]:
                self.para(f"• {n}", size=NOTE_PT)
        self._answer(m)
        self.page_break()
        self._rest(m)
        self.page_break()
        self._appendix(m)

    def _impact(self, rows: Sequence[Mapping[str, Any]], *, full: bool) -> None:
        t = self.t
        head = [t["report.kind"], t["report.impact_today"], t["report.impact_after"],
                t["report.impact_change"]]
        if full:
            head += [t["report.impact_sites"], t["report.impact_cost"]]
        body: list[list[object]] = []
        for r in rows:
            row: list[object] = [r["kind"], f"{r['before']} · {r['persons_before']}",
                                 f"{r['after']} · {r['persons_after']}"]
            if full:
                change = f"{r['change']} ({r['share_change']} {t['report.points']})" \
                    if r["share_change"] else r["change"]
                row += [change, r["sites"], r["cost"]]
            else:
                row.append(r["change"])
            body.append(row)
        self.table(head, body)

    def _answer(self, m: Mapping[str, Any]) -> None:
        t = self.t
        if m.get("impact"):
            self.heading(t["report.impact"])
            self._impact(m["impact"], full=True)
            self.note(t["report.impact_note"])
        self.heading(t["report.build_here"])
        if m["build_here"]:
            head = [t["report.rank"], t["report.kind"], t["report.site"], t["report.township"],
                    t["report.gain"], t["report.impact_cost"], t["report.coordinates"]]
            if m["china"]:
                head.append(t["report.coordinates_gcj"])
            rows = []
            for s in m["build_here"]:
                row = [s["rank"], s["kind_label"], f"{s['name']} ({s['site_id']})",
                       s["township"], s["gain"], s["cost"], f"{s['lon']}, {s['lat']}"]
                if m["china"]:
                    row.append(f"{s['lon_gcj']}, {s['lat_gcj']}")
                rows.append(row)
            self.table(head, rows)
        else:
            self.para(t["report.build_here_none"], indent=True)
        self.heading(t["report.gaps"])
        counts = m.get("gap_counts")
        if counts:
            text = t.fmt("report.gaps_counts", villages=counts["villages"],
                         total=counts["villages_total"], persons=f"{counts['persons']:,}",
                         rows=counts["village_kinds"])
            if m.get("place_gaps"):
                text += " " + t.fmt("report.gaps_places", **m["place_gaps"])
            self.para(text, indent=True)
        if m.get("missing_kinds"):
            self.note(t.fmt("report.missing_kinds", kinds=m["missing_kinds"]))
        if m["gaps"]:
            head, rows, groups, cols = _gap_table(m["gaps"], t, township=True)
            self.table(head, rows, groups=groups, group_cols=cols)
            if m["gaps_more"]:
                self.note(t.fmt("report.gaps_more", n=m["gaps_more"]))
        else:
            self.para(t["report.gaps_none"], indent=True)
        self.heading(t["report.headlines"])
        for line in m["headlines"]:
            self.para(line, indent=True)
        self.note(t["report.workbook"])
        if m["overview_png"]:
            self.heading(t["report.overview"])
            self._picture(m["overview_png"])
            caption = m["overview_caption"]
            if m["credit"]:
                caption = f"{caption} {t.fmt('report.map_data', credit=m['credit'])}"
            self.note(caption)

    def _picture(self, png: bytes) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH  # deferred: loads docx
        from docx.shared import Mm  # deferred: loads docx

        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.line_spacing = 1.0  # an exact line pitch would crop the picture
        p.paragraph_format.keep_with_next = True
        p.add_run().add_picture(io.BytesIO(png), width=Mm(min(140.0, TEXT_MM)))

    def _rest(self, m: Mapping[str, Any]) -> None:
        t = self.t
        self.heading(t["report.summary"])
        self.table([t["report.population"], t["report.villages"], t["report.townships"]],
                   [[m["population"], m["n_villages"], m["n_townships"]]])
        if m["units"]:
            self.subhead(t["report.units"])
            self.table([t["report.kind"], t["report.count"]], [[k, n] for k, n in m["units"]])
        if m["coverage"]:
            self.heading(t["report.coverage"])
            self.table([t["report.kind"], t["report.target"], t["report.covered"],
                        t["report.outside"], t["report.covered_share"]],
                       [[r["label"], r["target"], r["covered"], r["outside"], r["share"]]
                        for r in m["coverage"]])
        q = m["quality"]
        if q:
            self.heading(t["quality.title"])
            sep = t["msg.list_sep"]
            self.para(t.fmt("docx.named", title=t["quality.thin"], name=sep.join(q["thin"])
                            if q["thin"] else t["quality.thin_none"]), indent=True)
            for w in q["warnings"]:
                self.para(f"• {w}", size=NOTE_PT)
            self.table([t["report.township"], t["column.villages"], t["column.villages_far"],
                        t["column.far_share"], t["column.population_far"],
                        t["column.access_median_m"], t["column.access_max_m"],
                        t["column.road_km"], t["column.road_km_per_km2"], t["column.verdict"]],
                       [[r["township"], r["villages"], r["far"], r["share"], r["persons"],
                         r["median"], r["max"], r["km"], r["density"], r["verdict_label"]]
                        for r in q["rows"]],
                       bold_first=[r["scope"] == "district" for r in q["rows"]])
            self.note(q["note"])
        mi = m.get("minutes")
        if mi:  # how sure the minutes are, the force in time (emgis.run.minutes)
            self.heading(t["minutes.title"])
            if mi["calibration"]:
                self.subhead(t["minutes.calibration"])
                self.para(mi["calibration"], indent=True)
                if mi["calibration_errors"]:
                    self.table([t["column.road_class"], t["column.records"],
                                t["minutes.bias_before"], t["minutes.bias_after"]],
                               [[r["name"], r["records"], r["before"], r["after"]]
                                for r in mi["calibration_errors"]])
                if mi["calibration_groups"]:
                    self.table([t["column.group"], t["column.factor"], t["column.records"]],
                               [[r["group"], r["factor"], r["records"]]
                                for r in mi["calibration_groups"]])
            if mi["uncertainty"]:
                self.subhead(t["minutes.uncertainty"])
                self.note(mi["uncertainty_note"])
                self.table([t["report.kind"], t["column.population_covered"],
                            t["column.population_expected"], t["column.villages_fragile"],
                            t["column.population_fragile"]],
                           [[r["kind"], r["covered"], r["expected"], r["fragile"],
                             r["fragile_persons"]] for r in mi["uncertainty"]])
                if mi["fragile"]:
                    self.para(t["minutes.fragile"], indent=True)
                    self.table([t["column.village_name"], t["report.township"],
                                t["report.kind"], t["column.nearest_min"], t["column.p_within"]],
                               [[r["village"], r["township"], r["kind"], r["minutes"], r["p"]]
                                for r in mi["fragile"]])
            if mi["force"]:
                self.subhead(t["minutes.force"])
                self.table([t["column.force_rule"], t["column.required_persons"],
                            t["column.within_min"], t["minutes.force_meets"],
                            t["column.first_only"]],
                           [[r["rule"], r["required"], r["within"],
                             f"{r['meets']} / {r['villages']}", r["first_only"]]
                            for r in mi["force"]])
                if mi["force_first_only"]:
                    self.para(t["minutes.first_only"], indent=True)
                    self.table([t["column.village_name"], t["report.township"],
                                t["column.force_rule"], t["column.persons"],
                                t["column.required_persons"]],
                               [[r["village"], r["township"], r["rule"], r["persons"],
                                 r["required"]] for r in mi["force_first_only"]])
            if mi["availability"]:
                self.subhead(t["minutes.availability"])
                self.note(mi["availability_note"])
                self.table([t["column.period"], t["report.kind"], t["column.population_within"],
                            t["column.population_expected"], t["column.population_reliable"]],
                           [[r["period"], r["kind"], r["within"], r["expected"], r["reliable"]]
                            for r in mi["availability"]])
        for rb in m["robust"]:
            self.heading(t.fmt("docx.named", title=t["report.robust"], name=rb["kind"]))
            self.table([t["report.scenario"], t["report.robust_existing"],
                        t["report.robust_baseline"], t["report.robust_plan"], "±"],
                       [[r["scenario"], r["existing"], r["baseline"], r["robust"],
                         r["difference"]] for r in rb["rows"]])
            self.note(t["report.robust_note"])
        wr = m["warning"]
        if wr:
            self.heading(t["report.warning"])
            if wr["below"]:
                self.subhead(t["report.warning_below"])
                self.table([t["report.village"], t["report.township"], t["report.population"],
                            t["column.reached"], t["column.share"]],
                           [[r["village"], r["township"], r["population"], r["reached"],
                             r["share"]] for r in wr["below"]])
                if wr["more"]:
                    self.note(t.fmt("report.more_rows", n=wr["more"], sheet=t["sheet.warning"]))
            if wr["towns"]:
                self.subhead(t["report.warning_new"])
                self.table([t["report.township"], t["report.count"], t["column.persons_added"]],
                           [[r["township"], r["n"], r["persons"]] for r in wr["towns"]])
            self.note(t["report.warning_note"])
        if m["zone_balance"]:
            self.heading(t["report.zones"])
            self.table([t["report.kind"], t["column.units"], t["column.population_mean"],
                        t["report.zone_spread"], t["report.zone_max"], t["report.zone_longest"]],
                       [[r["kind"], r["units"], r["mean"], r["spread"], r["max"], r["longest"]]
                        for r in m["zone_balance"]])
            self.subhead(t["report.zones_units"])
            self.table([t["report.kind"], t["report.zone_unit"], t["report.zone_villages"],
                        t["report.zone_persons"], t["report.zone_area"],
                        t["report.zone_longest"], t["column.farthest_village"]],
                       [[r["kind"], r["unit"], r["villages"], r["persons"], r["area"],
                         r["longest"], r["far"]] for r in m["zone_units"]])
            if m["zone_more"]:
                self.note(t.fmt("report.more_rows", n=m["zone_more"], sheet=t["sheet.zones"]))
            self.note(t["report.zones_note"])
        if m["compliance"]:
            self.heading(t["report.compliance"])
            self.table(self._status_head(m),
                       [[r["rule"], *(r[s] for s in m["statuses"])] for r in m["compliance"]])
        if m["checklist"]:
            self.heading(t["report.checklist"])
            self.table([t["report.township"], *m["checklist_cols"]],
                       [[r["township"], *(mark for mark, _ in r["cells"])]
                        for r in m["checklist"]])
            self.note(t["report.checklist_note"])
        if m["scenarios"]:
            self.heading(t["report.scen_compare"])
            self.table([t["report.scenario"], *(t.get("column", c) for c in m["scenario_cols"])],
                       [[f"{r['label']} ({r['hazards']})", *(r[c] for c in m["scenario_cols"])]
                        for r in m["scenarios"]])
        for a in m.get("affected", ()):
            self.subhead(t.fmt("report.affected", scenario=a["scenario"]))
            self.table([t["report.unit"], t["report.kind"], t["report.township"],
                        t["report.status"], t["report.reason"]],
                       [[f"{u['unit_name']} ({u['unit_id']})", u["kind"], u["township"],
                         u["status"], u["reason"]] for u in a["rows"]])
            if a["more"]:
                self.note(t.fmt("report.more_rows", n=a["more"], sheet=t["sheet.scenarios"]))
        if m["maps"]:
            self.heading(t["report.maps"])
            self.note(t["docx.maps_note"])
            for title, href in m["maps"]:
                self.para(t.fmt("docx.named", title=title, name=href), size=NOTE_PT)

    def _status_head(self, m: Mapping[str, Any]) -> list[str]:
        return [self.t["report.rule"],
                *(self.t.get("compliance_status", s) for s in m["statuses"])]

    def _appendix(self, m: Mapping[str, Any]) -> None:
        t = self.t
        self.heading(t["report.appendix"], numbered=False)
        for tw in m["townships"]:
            self.heading(t.fmt("docx.named", title=t["report.township"], name=tw["name"]),
                         level=2)
            self.note(" · ".join((t.fmt("docx.named", title=t["report.population"],
                                        name=tw["population"]),
                                  t.fmt("docx.named", title=t["report.villages"],
                                        name=tw["villages"]))))
            if tw.get("impact"):
                self.subhead(t["report.impact"])
                self._impact(tw["impact"], full=False)
            if tw["gaps"] is not None:
                self.subhead(t["report.gaps"])
                if tw["gaps"]:
                    head, rows, groups, cols = _gap_table(tw["gaps"], t, township=False)
                    self.table(head, rows, groups=groups, group_cols=cols)
                    if tw["gaps_more"]:
                        self.note(t.fmt("report.more_rows", n=tw["gaps_more"],
                                        sheet=t["sheet.gaps"]))
                else:
                    self.para(t["report.none"], indent=True)
            if tw["findings"] is not None:
                self.subhead(t["report.findings"])
                if tw["findings"]:
                    self.table(self._status_head(m), [[r["rule"], *(r[s] for s in m["statuses"])]
                                                      for r in tw["findings"]])
                elif not tw["not_recorded"]:
                    self.para(t["report.meets_all"], indent=True)
                if tw["not_recorded"]:
                    self.note(t.fmt("docx.named", title=t["compliance_status.not_recorded"],
                                    name=tw["not_recorded"]))
            if tw["overdue"]:
                self.subhead(t["report.overdue"])
                self.table([t["report.place"], t["report.months_since"]],
                           [[f"{r['name']} ({r['id']})", r["months"]] for r in tw["overdue"]])
                if tw["overdue_more"]:
                    self.note(t.fmt("report.more_rows", n=tw["overdue_more"],
                                    sheet=t["sheet.compliance"]))
            if tw["sites"] is not None:
                self.subhead(t["report.sites"])
                if tw["sites"]:
                    self.table([t["report.kind"], t["report.rank"], t["report.site"],
                                t["report.gain"]],
                               [[s["kind_label"], s["rank"], s["name"], s["gain"]]
                                for s in tw["sites"]])
                else:
                    self.para(t["report.none"], indent=True)
            if tw["losses"] is not None:
                self.subhead(t["report.scenarios"])
                if tw["losses"]:
                    cut = t.fmt("docx.paren", text=t["status.cut_off"])
                    self.table([t["report.scenario"], t["report.village"],
                                t["report.population"], t["report.kinds_lost"]],
                               [[r["scenario"], f"{r['village']} ({r['village_id']})"
                                 + (f" {cut}" if r["island"] else ""), r["population"],
                                 r["kinds"]] for r in tw["losses"]])
                    if tw["losses_more"]:
                        self.note(t.fmt("report.more_rows", n=tw["losses_more"],
                                        sheet=t["sheet.scenario_villages"]))
                else:
                    self.para(t["report.none"], indent=True)
        self.heading(t["report.sources"], numbered=False)
        assumption = t.fmt("docx.paren", text=t["report.assumption"])
        self.table(["", t["report.value"], t["report.source"]],
                   [[s["key"], s["value"], s["source"] + (f" {assumption}" if s["proposal"]
                                                          else "")]
                    for s in m["sources"]])


def _gap_table(gaps: Sequence[Mapping[str, Any]], t: Texts, *, township: bool
               ) -> tuple[list[str], list[list[object]], list[tuple[int, int]], list[int]]:
    """The villages outside target as the HTML page lays them out: a row per failing kind,
    the village (its township) and its people once for all of them (merged cells)."""
    head = [t["report.village"]] + ([t["report.township"]] if township else [])
    head += [t["report.population"], t["report.kind"], t["report.nearest"], t["report.time"],
             t["report.target"], t["report.cause"]]
    lead = 3 if township else 2
    rows: list[list[object]] = []
    groups = []
    for g in gaps:
        items = g.get("items") or [g]
        groups.append((len(rows), len(items)))
        first: list[object] = [f"{g['village']} ({g['village_id']})"]
        first += [g["township"]] if township else []
        first.append(g["population"])
        for k, it in enumerate(items):
            rows.append((first if k == 0 else [""] * lead)
                        + [it["kind"], it["nearest"], it["time"], it["target"], it["cause"]])
    return head, rows, groups, list(range(lead))


#: Characters python-docx writes as elements of a run: a tab, and a line break for CR or LF.
_RUN_BREAK = re.compile(r"([\t\r\n])")


def _xml_text(text: str) -> str:
    """Text escaped for XML element content or a double-quoted attribute."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;")


def _run_text_xml(text: str) -> str:
    """A run's content as python-docx's ``run.text`` writes it: ``w:t`` pieces (with
    ``xml:space="preserve"`` when they start or end with white space), ``w:tab`` for a tab
    and ``w:br`` for each CR or LF."""
    out = []
    for piece in _RUN_BREAK.split(text) if _RUN_BREAK.search(text) else (text,):
        if piece == "\t":
            out.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            out.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            out.append(f"<w:t{space}>{_xml_text(piece)}</w:t>")
    return "".join(out)


def _rows_xml(cells: Sequence[Sequence[str]], widths: Sequence[str], numeric: Sequence[bool],
              bold_first: Sequence[bool], merge: Mapping[tuple[int, int], str]) -> str:
    """The ``w:tr`` elements of a table (header row first) as :meth:`_Writer.table` once made
    them cell by cell with python-docx: rows that do not split (the header repeated), cells
    of the given widths (twips) centred vertically, the header shaded and centred in the
    heading fonts, numeric columns right aligned, empty body cells holding an empty paragraph,
    ``merge``: the ``w:vMerge`` of a (row, column)."""
    from docx.oxml.simpletypes import (  # deferred: loads docx
        ST_HpsMeasure,
        ST_SignedTwipsMeasure,
        ST_TwipsMeasure,
    )
    from docx.shared import Pt  # deferred: loads docx

    pad = ST_TwipsMeasure.convert_to_xml(Pt(1.5))
    spacing = (f'<w:spacing w:line="240" w:lineRule="auto" w:before="{pad}" w:after="{pad}"/>'
               f'<w:ind w:firstLine="{ST_SignedTwipsMeasure.convert_to_xml(Pt(0))}"/>')
    size = f'<w:sz w:val="{ST_HpsMeasure.convert_to_xml(Pt(TABLE_PT))}"/>'
    east, latin = (_xml_text(f) for f in HEADING_FONTS)
    head_rpr = (f'<w:rPr><w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{east}" '
                f'w:cs="{latin}"/>{size}</w:rPr>')
    body_rpr, bold_rpr = f"<w:rPr>{size}</w:rPr>", f"<w:rPr><w:b/>{size}</w:rPr>"
    tcw = [f'<w:tcPr><w:tcW w:type="dxa" w:w="{w}"/>' for w in widths]
    valign = '<w:vAlign w:val="center"/>'
    head_tail = f'{valign}<w:shd w:val="clear" w:color="auto" w:fill="E7E6E6"/></w:tcPr>'
    head_ppr = f'<w:p><w:pPr>{spacing}<w:jc w:val="center"/></w:pPr>'
    body_ppr = [f'<w:p><w:pPr>{spacing}<w:jc w:val="right"/></w:pPr>' if num
                else f"<w:p><w:pPr>{spacing}</w:pPr>" for num in numeric]
    out: list[str] = []
    append = out.append
    for i, values in enumerate(cells):
        append("<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>" if i == 0
               else "<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        bold = 0 < i <= len(bold_first) and bool(bold_first[i - 1])
        for j, value in enumerate(values):
            if i == 0:
                append(f"<w:tc>{tcw[j]}{head_tail}{head_ppr}<w:r>{head_rpr}"
                       f"{_run_text_xml(value)}</w:r></w:p></w:tc>")
                continue
            append(f"<w:tc>{tcw[j]}{merge.get((i, j), '')}{valign}</w:tcPr>{body_ppr[j]}")
            if value:  # an empty cell holds an empty paragraph only (merges cleanly)
                rpr = bold_rpr if j == 0 and bold else body_rpr
                append(f"<w:r>{rpr}{_run_text_xml(value)}</w:r>")
            append("</w:p></w:tc>")
        append("</w:tr>")
    return "".join(out)


def _cell_margins(tab: Any, side: Any) -> None:
    """Narrow left and right cell margins for the whole table (Word's default is 1.9 mm)."""
    from docx.oxml import OxmlElement  # deferred: loads docx
    from docx.oxml.ns import qn  # deferred: loads docx

    mar = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(int(side.twips)))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    tab._tbl.tblPr.append(mar)


#: Width in mm of one en (half a CJK character) at the table's size, and a cell's padding.
_EN_MM = TABLE_PT * 0.3528 * 0.5
_PAD_MM = 2.6
#: Pieces of a cell kept on one line: a number, a Latin word, two CJK characters.
_TOKEN = re.compile(r"[+\-−]?\d[\d,.:%]*|[^\s\u2e80-\uffff]+|[\u2e80-\uffff]{1,2}|\S")


def _text_width(text: str) -> float:
    """A text's width in en widths (a CJK character counts two)."""
    return sum(2.0 if ord(c) > 0x2E80 else 1.0 for c in text)


def _min_width(text: str, *, head: bool) -> float:
    """The widest piece of a text that must not break (in ens): a whole number; a Latin word
    up to 12 ens; two CJK characters; in a header a word up to 6 ens (before a bracket)."""
    if head:
        parts = [p for p in re.split(r"[\s（(/]", text) if p]
        return max((min(_text_width(p), 6.0) for p in parts), default=2.0)
    widths = [_text_width(m.group(0)) if m.group(0)[0] in "+-−0123456789"
              else min(_text_width(m.group(0)), 12.0) for m in _TOKEN.finditer(text)]
    return max(widths, default=0.0)


def _widths(cells: Sequence[Sequence[str]], total: float) -> list[float]:
    """Column widths in mm filling ``total``: every column at least as wide as its widest
    unbreakable piece (numbers never wrap), the rest shared by how much more each needs for
    its longest text on one line (long texts capped, so that they wrap)."""
    ncol = len(cells[0])
    low, want = [], []
    for j in range(ncol):
        lo = max([_min_width(cells[0][j], head=True)]
                 + [_min_width(r[j], head=False) for r in cells[1:]])
        hi = max([_min_width(cells[0][j], head=True)]  # a header wraps at its brackets
                 + [min(_text_width(r[j]), 60.0) for r in cells[1:]])
        low.append(lo * _EN_MM + _PAD_MM)
        want.append(max(hi, lo) * _EN_MM + _PAD_MM)
    if sum(low) >= total:
        return [round(w * total / sum(low), 1) for w in low]
    # short texts first (up to 5, then 10 CJK characters) on one line, then the long ones
    floor = low
    for cap in (10.0, 20.0):
        short = [max(lo, min(w, cap * _EN_MM + _PAD_MM)) for lo, w in zip(low, want, strict=True)]
        if sum(short) > total:
            return _share(floor, short, total)
        floor = short
    if sum(want) <= total:
        return [round(w * total / sum(want), 1) for w in want]
    return _share(floor, want, total)


def _share(low: Sequence[float], high: Sequence[float], total: float) -> list[float]:
    """Widths from ``low`` up towards ``high``, the room shared by what each lacks."""
    room, extra = total - sum(low), [h - lo for h, lo in zip(high, low, strict=True)]
    return [round(lo + room * e / (sum(extra) or 1.0), 1)
            for lo, e in zip(low, extra, strict=True)]
