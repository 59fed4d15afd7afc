"""read_ledger on the traps of county ledgers: title rows, merged headers, totals, numbers as
text, empty rows, sheets, .xls beside .xlsx, CSV. Every file is written by the test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwt

from emgis.inputs.headers import recognise
from emgis.inputs.ledgers import LedgerError, cell_text, number_text, read_ledger, text_number
from emgis.texts import Msg, texts
from tests.conftest import catalogue_fields, english_words

ZH = texts("zh")

TITLE = "某某镇应急救援队伍统计表"
FILLER = "填报单位：某某镇应急办    填报日期：2025-06-30"
HEADER = ["序号", "队伍名称", "队伍类型", "人数", "所属乡镇", "经度", "纬度"]
ROW1 = [1, "东村微型消防站", "微型消防站", 6, "东镇", 117.1, 31.2]
ROW2 = [2, "东镇应急救援队", "乡镇应急救援队", 30, "东镇", 117.2, 31.3]


def xlsx(path: Path, rows: Sequence[Sequence[Any]], *, merges: Sequence[str] = (),
         sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]] = ()) -> Path:
    """A workbook whose first sheet ``台账`` holds ``rows``; ``sheets`` are added after it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    for r in rows:
        ws.append(list(r))
    for m in merges:
        ws.merge_cells(m)
    for name, more in sheets:
        extra = wb.create_sheet(name)
        for r in more:
            extra.append(list(r))
    wb.save(path)
    return path


def xls(path: Path, rows: Sequence[Sequence[Any]], *,
        merges: Sequence[tuple[int, int, int, int]] = ()) -> Path:
    """The same as an old binary .xls (xlwt): merges as (r0, r1, c0, c1), 0-based."""
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("台账")
    merged = {(r0, c0) for r0, _, c0, _ in merges}
    covered = {(r, c) for r0, r1, c0, c1 in merges for r in range(r0, r1 + 1)
               for c in range(c0, c1 + 1)} - merged
    for r0, r1, c0, c1 in merges:
        ws.write_merge(r0, r1, c0, c1, rows[r0][c0])
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v is None or (i, j) in merged or (i, j) in covered:
                continue
            ws.write(i, j, v)
    wb.save(str(path))
    return path


# --- title rows and headers ---------------------------------------------------------------------

def test_title_rows_header_found_and_excel_rows(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "救援队伍台账.xlsx",
                [[TITLE], [FILLER], HEADER, ROW1, ROW2], merges=["A1:G1", "A2:G2"])
    led = read_ledger(path)
    assert led.sheet == "台账"
    assert led.header_row == 3
    assert led.header_rows == (3,)
    assert list(led.frame.columns) == HEADER
    assert led.excel_rows == (4, 5)
    assert led.frame.iloc[0].tolist() == ["1", "东村微型消防站", "微型消防站", "6", "东镇",
                                          "117.1", "31.2"]
    assert led.skipped == () and led.warnings == ()


def test_unmerged_title_and_label_rows(tmp_path: Path) -> None:
    """A title in one cell and a row of two label：value cells are not the header."""
    label_row = ["填报单位：某某镇", None, None, "填报日期：2025-06"]
    path = xlsx(tmp_path / "t.xlsx", [[TITLE], label_row, [], HEADER, ROW1])
    led = read_ledger(path)
    assert led.header_row == 4
    assert led.excel_rows == (5,)


def test_merged_parent_over_children(tmp_path: Path) -> None:
    """坐标 merged over 经度 纬度; the other headers merged vertically over both rows."""
    head1 = ["序号", "队伍名称", "坐标", None, "人数"]
    head2 = [None, None, "经度", "纬度", None]
    path = xlsx(tmp_path / "m.xlsx", [[TITLE], head1, head2, [1, "队1", 117.1, 31.2, 6]],
                merges=["A1:E1", "C2:D2", "A2:A3", "B2:B3", "E2:E3"])
    led = read_ledger(path)
    assert led.header_row == 2
    assert led.header_rows == (2, 3)
    assert list(led.frame.columns) == ["序号", "队伍名称", "经度", "纬度", "人数"]
    assert led.excel_rows == (4,)
    assert led.letters == ("A", "B", "C", "D", "E")
    assert led.column_letter("纬度") == "D"


def test_vertically_merged_header_only(tmp_path: Path) -> None:
    """Every header merged over two rows: one header of two Excel rows, data from row 4."""
    path = xlsx(tmp_path / "v.xlsx", [[TITLE], ["村名", "人口"], [None, None], ["东村", 1200]],
                merges=["A1:B1", "A2:A3", "B2:B3"])
    led = read_ledger(path)
    assert led.header_rows == (2, 3)
    assert list(led.frame.columns) == ["村名", "人口"]
    assert led.excel_rows == (4,)
    assert led.skipped == ()


def test_parent_joined_where_child_alone_is_ambiguous(tmp_path: Path) -> None:
    """户籍/常住 alone are no known header, 人数 twice is not unique: parent + child."""
    head1 = ["村名", "人口", None, "专职队员", None, "兼职队员", None]
    head2 = [None, "户籍", "常住", "人数", "车辆", "人数", "车辆"]
    path = xlsx(tmp_path / "j.xlsx", [head1, head2, ["东村", 1300, 1200, 3, 1, 5, 0]],
                merges=["A1:A2", "B1:C1", "D1:E1", "F1:G1"])
    led = read_ledger(path)
    assert list(led.frame.columns) == ["村名", "人口户籍", "人口常住", "专职队员人数",
                                       "专职队员车辆", "兼职队员人数", "兼职队员车辆"]
    assert led.frame.iloc[0].tolist() == ["东村", "1300", "1200", "3", "1", "5", "0"]


def test_parent_carried_right_without_merge_information(tmp_path: Path) -> None:
    """A CSV shows a merged parent in its first column only: carried over its children."""
    path = tmp_path / "teams.csv"
    path.write_text(f"{TITLE},,,\n队伍名称,坐标,,人数\n,经度,纬度,\n队1,117.1,31.2,6\n",
                    encoding="utf-8")
    led = read_ledger(path)
    assert led.header_rows == (2, 3)
    assert list(led.frame.columns) == ["队伍名称", "经度", "纬度", "人数"]
    assert led.excel_rows == (4,)


# --- rows -------------------------------------------------------------------------------------

@pytest.mark.parametrize("total", ["合计", "总计", "小计", "合 计", "合计：", "东镇小计",
                                   "共计", "总 计（3支）"])
def test_total_row_skipped_with_warning(tmp_path: Path, total: str) -> None:
    path = xlsx(tmp_path / "队伍.xlsx", [[TITLE], HEADER, ROW1, ROW2, [None, total, None, 36]])
    led = read_ledger(path)
    assert led.excel_rows == (3, 4)
    assert [r for r, _ in led.skipped] == [5]
    assert led.skipped[0][1] == Msg("ledger_reason_total", text=total) == f'total row "{total}"'
    assert list(led.warnings) == [
        Msg("ledger_total_row", file="队伍.xlsx", sheet="台账", row=5, text=total)]
    assert list(led.warnings) == [
        f'队伍.xlsx, sheet 台账, row 5: "{total}" is a total row, not a record; skipped']
    assert led.warnings[0].say(ZH) == (
        f"队伍.xlsx，工作表 台账，第 5 行：「{total}」是合计行，不是记录；已跳过")


def test_total_in_first_column_after_a_number(tmp_path: Path) -> None:
    """A 序号 before 合计 does not hide it: the first *text* cell decides."""
    path = xlsx(tmp_path / "t.xlsx", [HEADER, ROW1, [2, "合计", None, 6]])
    led = read_ledger(path)
    assert led.excel_rows == (2,)
    assert led.skipped[0][0] == 3


def test_a_village_named_like_a_total_is_kept(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "v.xlsx", [["村名", "人口"], ["合计村", 100], ["小计庄", 50]])
    assert read_ledger(path).frame["村名"].tolist() == ["合计村", "小计庄"]


def test_footnote_row_skipped(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "f.xlsx", [HEADER, ROW1, ["注：人数含兼职队员"], [None, "填表人：张三"]])
    led = read_ledger(path)
    assert led.excel_rows == (2,)
    assert [r for r, _ in led.skipped] == [3, 4]
    assert list(led.warnings) == [
        Msg("ledger_footer_row", file="f.xlsx", sheet="台账", row=3, text="注：人数含兼职队员"),
        Msg("ledger_footer_row", file="f.xlsx", sheet="台账", row=4, text="填表人：张三")]
    assert "row 3" in led.warnings[0] and "note below the table" in led.warnings[0]


@pytest.mark.parametrize(("cell", "text"), [
    ("1200", "1200"),
    ("1,200", "1200"),
    ("1,200.50", "1200.50"),
    ("１２００", "1200"),
    ("１,２００", "1200"),
    ("１，２００", "1200"),
    (" 1200 ", "1200"),
    ("-1,200", "-1200"),
    ("01", "01"),
    ("1,2", "1,2"),
    ("12,00", "12,00"),
    ("Ｖ１", "Ｖ１"),
    (1200.0, "1200"),
    (1200, "1200"),
    (0.1, "0.1"),
    (117.123456789, "117.123456789"),
    (1e20, "100000000000000000000"),
    (1.5e-7, "0.00000015"),
    (True, "TRUE"),
    (dt.datetime(2025, 6, 30), "2025-06-30"),
    (dt.datetime(2025, 6, 30, 14, 5), "2025-06-30 14:05:00"),
    (None, ""),
])
def test_cell_text(cell: Any, text: str) -> None:
    assert cell_text(cell) == text


def test_numbers_in_a_sheet(tmp_path: Path) -> None:
    """Text numbers, thousands separators, full-width digits, real numbers: one text each."""
    path = xlsx(tmp_path / "n.xlsx", [["村名", "人口", "户数", "面积"],
                                     ["东村", "1,200", "１２００", 1200.0],
                                     ["西村", "１,２００", " 300 ", 0.5]])
    frame = read_ledger(path).frame
    assert frame.to_dict("list") == {"村名": ["东村", "西村"], "人口": ["1200", "1200"],
                                     "户数": ["1200", "300"], "面积": ["1200", "0.5"]}


def test_number_helpers() -> None:
    assert number_text(float("nan")) == ""
    assert text_number("　１２００　") == "1200"


def test_empty_rows_skipped_with_excel_rows(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "e.xlsx", [[TITLE], HEADER, ROW1, [], [None, ""], ROW2, [], []])
    led = read_ledger(path)
    assert led.excel_rows == (3, 6)
    assert led.skipped == ((4, "empty row"), (5, "empty row"))
    assert led.skipped[0][1] == Msg("ledger_reason_empty") and led.skipped[0][1].say(ZH) == "空行"
    assert led.warnings == ()
    assert led.frame["队伍名称"].tolist() == ["东村微型消防站", "东镇应急救援队"]


def test_duplicate_and_missing_headers(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "d.xlsx", [["村名", "备注", "备注", None], ["东村", "a", "b", "c"]])
    led = read_ledger(path)
    assert list(led.frame.columns) == ["村名", "备注", "备注#2", "列D"]
    assert list(led.warnings) == [
        'd.xlsx, sheet 台账, column D: data below an empty header (row 1); the column is named '
        '"列D"',
        'd.xlsx, sheet 台账: columns B, C have the same header "备注"; they are named "备注", '
        '"备注#2"']
    assert [w.say(ZH) for w in led.warnings] == [
        "d.xlsx，工作表 台账，第 D 列：表头（第 1 行）为空但有数据；该列命名为「列D」",
        "d.xlsx，工作表 台账：第 B、C 列的表头相同，均为「备注」；"
        "已分别命名为「备注」、「备注#2」"]


def test_dates_and_header_line_breaks(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "d.xlsx", [["队伍名称", "最近演练\n日期", "常住人口\n（人）"],
                                     ["队1", dt.datetime(2025, 5, 1), 1200]])
    led = read_ledger(path)
    assert list(led.frame.columns) == ["队伍名称", "最近演练日期", "常住人口(人)"]
    assert led.frame.iloc[0].tolist() == ["队1", "2025-05-01", "1200"]


# --- sheets -----------------------------------------------------------------------------------

def _two_sheets(tmp_path: Path) -> Path:
    return xlsx(tmp_path / "村庄台账.xlsx", [],
                sheets=[("东镇", [["村名", "人口"], ["东村", 1200]]),
                        ("西镇", [[TITLE], ["村名", "人口"], ["西村", 300]])])


def test_default_sheet_is_the_first_with_data(tmp_path: Path) -> None:
    led = read_ledger(_two_sheets(tmp_path))
    assert led.sheet == "东镇"
    assert led.frame["村名"].tolist() == ["东村"]


@pytest.mark.parametrize(("sheet", "name", "village", "row"), [
    ("西镇", "西镇", "西村", 3), (2, "西镇", "西村", 3), (1, "东镇", "东村", 2),
    (" 西镇 ", "西镇", "西村", 3)])
def test_sheet_by_name_or_index(tmp_path: Path, sheet: str | int, name: str, village: str,
                                row: int) -> None:
    led = read_ledger(_two_sheets(tmp_path), sheet=sheet)
    assert led.sheet == name
    assert led.frame["村名"].tolist() == [village]
    assert led.excel_rows == (row,)


@pytest.mark.parametrize(("sheet", "message"), [
    ("北镇", '村庄台账.xlsx: there is no sheet "北镇"; its sheets are 0: 台账, 1: 东镇, 2: 西镇'),
    (3, "村庄台账.xlsx: there is no sheet 3 (0-based); its sheets are 0: 台账, 1: 东镇, 2: 西镇"),
    (-1, "村庄台账.xlsx: there is no sheet -1 (0-based); its sheets are 0: 台账, 1: 东镇, 2: 西镇"),
])
def test_missing_sheet_error(tmp_path: Path, sheet: str | int, message: str) -> None:
    with pytest.raises(LedgerError) as err:
        read_ledger(_two_sheets(tmp_path), sheet=sheet)
    assert str(err.value) == message == err.value.msg
    assert isinstance(err.value, ValueError) and err.value.msg.key == "ledger_sheet_missing"
    assert "现有工作表为 0: 台账、1: 东镇、2: 西镇" in err.value.msg.say(ZH)


def _no_header(tmp_path: Path) -> Path:
    return xlsx(tmp_path / "n.xlsx", [[TITLE]] + [[i, i * 2.5] for i in range(12)])


def _empty_book(tmp_path: Path) -> Path:
    return xlsx(tmp_path / "e.xlsx", [])


def _html_xls(tmp_path: Path) -> Path:
    path = tmp_path / "h.xls"
    path.write_text("<html><table><tr><td>村名</td></tr></table></html>", encoding="utf-8")
    return path


def _bad_csv(tmp_path: Path) -> Path:
    path = tmp_path / "b.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\xff")
    return path


def _text_file(tmp_path: Path) -> Path:
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    return path


@pytest.mark.parametrize(("make", "message"), [
    (_no_header, "n.xlsx, sheet 台账: no header row in rows 1-10: expected a row of column "
                 "names such as 村名, 人口, 经度, 纬度"),
    (_empty_book, "e.xlsx: no sheet holds any data (sheets: 0: 台账)"),
    (_html_xls, "h.xls: this .xls is a web page (HTML) saved under an Excel name, as some "
                "systems export; open it in Excel or WPS and save it as .xlsx"),
    (_bad_csv, "b.csv: the text is neither UTF-8 nor GBK/GB18030; save it as UTF-8"),
    (_text_file, "a.txt: a .txt file is not a ledger; expected .xlsx, .xlsm, .xls or .csv"),
    (lambda p: p / "missing.xlsx", "{tmp}/missing.xlsx: no such file"),
])
def test_unreadable_ledgers(tmp_path: Path, make: Any, message: str) -> None:
    with pytest.raises(LedgerError) as err:
        read_ledger(make(tmp_path))
    assert str(err.value) == message.format(tmp=tmp_path) == err.value.msg
    assert isinstance(err.value.msg, Msg) and err.value.msg.key.startswith("ledger_")


# --- .xls and CSV -----------------------------------------------------------------------------

def test_xls_reads_equal_to_xlsx(tmp_path: Path) -> None:
    """The same ledger (title, merged two-row header, text numbers, empty row, 合计) as .xlsx
    and as .xls gives the same frame, rows, header and skipped rows."""
    rows: list[list[Any]] = [
        [TITLE, None, None, None, None, None],
        ["序号", "队伍名称", "坐标", None, "人数", "最近演练日期"],
        [None, None, "经度", "纬度", None, None],
        [1, "东村微型消防站", 117.1, 31.2, "1,200", "2025-05-01"],
        [None, None, None, None, None, None],
        [2, "东镇应急救援队", "117.25", "31.3", "１２", "2024/12/1"],
        [None, "合计", None, None, 1212, None],
    ]
    merges_xlsx = ["A1:F1", "C2:D2", "A2:A3", "B2:B3", "E2:E3", "F2:F3"]
    merges_xls = [(0, 0, 0, 5), (1, 1, 2, 3), (1, 2, 0, 0), (1, 2, 1, 1), (1, 2, 4, 4),
                  (1, 2, 5, 5)]
    a = read_ledger(xlsx(tmp_path / "物资储备点.xlsx", rows, merges=merges_xlsx))
    b = read_ledger(xls(tmp_path / "物资储备点.xls", rows, merges=merges_xls))
    assert list(b.frame.columns) == ["序号", "队伍名称", "经度", "纬度", "人数", "最近演练日期"]
    assert b.frame.equals(a.frame)
    assert b.frame.iloc[1].tolist() == ["2", "东镇应急救援队", "117.25", "31.3", "12",
                                        "2024/12/1"]
    assert (b.excel_rows, b.header_rows, b.sheet) == (a.excel_rows, a.header_rows, a.sheet)
    assert b.excel_rows == (4, 6)
    assert b.skipped == a.skipped == ((5, "empty row"), (7, 'total row "合计"'))
    assert [w.replace(".xls,", ".xlsx,") for w in b.warnings] == list(a.warnings)


def test_xls_title_and_header_without_merges(tmp_path: Path) -> None:
    path = xls(tmp_path / "物资储备点.xls", [[TITLE], [FILLER], HEADER, ROW1])
    led = read_ledger(path)
    assert led.header_row == 3
    assert led.excel_rows == (4,)
    assert led.frame["人数"].tolist() == ["6"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_ledger(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "村庄台账.csv"
    text = (f"{TITLE},,\n村庄名称,常住人口（人）,所属乡镇\n东村,\"1,200\",东镇\n,,\n"
            "西村,３００,东镇\n合计,1500,\n")
    path.write_bytes(text.encode(encoding))
    led = read_ledger(path)
    assert led.sheet == "村庄台账"
    assert led.header_row == 2
    assert list(led.frame.columns) == ["村庄名称", "常住人口(人)", "所属乡镇"]
    assert led.frame["常住人口(人)"].tolist() == ["1200", "300"]
    assert led.excel_rows == (3, 5)
    assert [r for r, _ in led.skipped] == [4, 6]


def test_ledger_then_recognise(tmp_path: Path) -> None:
    """The frame's columns go to recognise; rows keep their Excel numbers for problems."""
    head1 = ["序号", "村庄名称", "乡镇（街道）", "类型", "人口", None, "坐标", None]
    head2 = [None, None, None, None, "户籍人口", "常住人口", "东经", "北纬"]
    path = xlsx(tmp_path / "村庄台账.xlsx",
                [["某某县村庄台账"], head1, head2,
                 [1, "东村", "东镇", "社区", "1,300", "１２００", 117.1, 31.2],
                 [None, "合计", None, None, 1300, 1200]],
                merges=["A1:H1", "E2:F2", "G2:H2", "A2:A3", "B2:B3", "C2:C3", "D2:D3"])
    led = read_ledger(path)
    rec = recognise(led.frame.columns, "villages")
    assert dict(rec.mapping) == {"name": "村庄名称", "township": "乡镇(街道)", "kind": "类型",
                                 "population": "常住人口", "lon": "东经", "lat": "北纬"}
    assert rec.missing == ("id",)
    assert led.frame[rec.mapping["population"]].tolist() == ["1200"]
    assert led.excel_rows == (4,)


# --- the messages in the catalogues -------------------------------------------------------------

#: ASCII words a Chinese ledger message may hold: programs and formats named as they are, and
#: Excel's column letters (第 D 列).
ALLOWED = {"Excel", "WPS", "HTML", "UTF", "GBK", "GB", "CSV", "xlsx", "xlsm", "xls", "csv",
           "B", "C", "D"}






def test_messages_have_the_same_fields_in_both_languages() -> None:
    en, zh = texts("en").section("msg"), ZH.section("msg")
    keys = [k for k in en if k.startswith("ledger_")]
    assert len(keys) >= 17
    for key in keys:
        assert catalogue_fields(en[key]) == catalogue_fields(zh[key]), key
        said = ZH.fmt(f"msg.{key}", **{f: 7 for f in catalogue_fields(zh[key])})
        assert english_words(said, ALLOWED) == set(), (key, said)


def test_errors_and_warnings_in_chinese(tmp_path: Path) -> None:
    """What reading ledgers says, in Chinese: no English word but the file names, the names of
    programs and formats, and what the file holds (quoted)."""
    said: list[str] = []
    for make in (_no_header, _empty_book, _html_xls, _bad_csv, _text_file,
                 lambda p: p / "missing.xlsx"):
        with pytest.raises(LedgerError) as err:
            read_ledger(make(tmp_path))
        said.append(err.value.msg.say(ZH))
    for sheet in ("北镇", 3):
        with pytest.raises(LedgerError) as err:
            read_ledger(_two_sheets(tmp_path), sheet=sheet)
        said.append(err.value.msg.say(ZH))
    assert said[-1].endswith("没有工作表 3（从 0 起计）；现有工作表为 0: 台账、1: 东镇、2: 西镇")
    bare = tmp_path / "台账"
    bare.write_text("x", encoding="utf-8")
    with pytest.raises(LedgerError) as err:
        read_ledger(bare)
    said.append(err.value.msg.say(ZH))
    assert said[-1] == "台账：（无扩展名） 文件不是台账；应为 .xlsx、.xlsm、.xls 或 .csv 文件"
    led = read_ledger(xlsx(tmp_path / "w.xlsx", [["村名", "备注", "备注", None],
                                                 ["东村", "a", "b", "c"], ["合计", 1],
                                                 ["Total", 2], ["注：Note"]]))
    said += [w.say(ZH) for w in led.warnings] + [r.say(ZH) for _, r in led.skipped]
    assert len(said) == 9 + 4 + 2  # column D, B and C, 合计, 注：; 合计, 注：
    for text in said:
        assert english_words(text, ALLOWED) == set(), text
