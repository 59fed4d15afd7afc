"""Time the workbook readers emgis could use for ledgers, and the recognition on top.

Writes a ledger of ``--rows`` rows x 8 columns (title row, header, text numbers, a 合计 row) as
.xlsx (openpyxl) and, limited to 60,000 rows by the format, as .xls (xlwt), then prints the
seconds each reader takes to get every cell (python-calamine for both formats, openpyxl
read_only for .xlsx, xlrd for .xls) and the seconds :func:`emgis.inputs.ledgers.read_ledger`
adds to recognise the header, totals and numbers. Run:
``python scripts/benchmark_ledgers.py [--rows 100000] [--dir /tmp]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

HEADER = ["序号", "村名", "所属乡镇", "类型", "常住人口（人）", "户数", "经度", "纬度"]


def _rows(n: int) -> list[list[object]]:
    out: list[list[object]] = []
    for i in range(n):
        pop: object = f"{1000 + i % 5000:,}" if i % 3 == 0 else 1000 + i % 5000
        out.append([i + 1, f"村{i}", f"镇{i % 20}", "村" if i % 4 else "社区", pop,
                    str(300 + i % 700), 117.0 + i * 1e-6, 31.0 + i * 1e-6])
    return out


def write_xlsx(path: Path, n: int) -> None:
    """A ledger of ``n`` rows as .xlsx."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("村庄")
    ws.append(["某某县村庄台账"])
    ws.append(HEADER)
    for r in _rows(n):
        ws.append(r)
    ws.append(["合计"])
    wb.save(path)


def write_xls(path: Path, n: int) -> None:
    """A ledger of ``n`` rows (at most 65,533) as .xls."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("村庄")
    ws.write(0, 0, "某某县村庄台账")
    for c, h in enumerate(HEADER):
        ws.write(1, c, h)
    for i, r in enumerate(_rows(n)):
        for c, v in enumerate(r):
            ws.write(i + 2, c, v)
    ws.write(n + 2, 0, "合计")
    wb.save(str(path))


def _calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as wb:
        return len(wb.get_sheet_by_index(0).to_python(skip_empty_area=False))


def _openpyxl(path: Path) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return n


def _xlrd(path: Path) -> int:
    import xlrd

    book = xlrd.open_workbook(str(path))
    sh = book.sheet_by_index(0)
    return len([sh.row_values(i) for i in range(sh.nrows)])


def _time(fn: object, path: Path) -> tuple[float, int]:
    t = time.perf_counter()
    n = fn(path)  # type: ignore[operator]
    return time.perf_counter() - t, n


def main() -> None:
    """Write the ledgers, time the readers, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    from emgis.inputs import ledgers

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        xlsx, xls = Path(tmp) / "村庄台账.xlsx", Path(tmp) / "村庄台账.xls"
        n_xls = min(args.rows, 60_000)
        write_xlsx(xlsx, args.rows)
        write_xls(xls, n_xls)
        print(f"rows: .xlsx {args.rows:,}, .xls {n_xls:,}; 8 columns")
        for name, fn, path in (("python-calamine .xlsx", _calamine, xlsx),
                               ("openpyxl read_only .xlsx", _openpyxl, xlsx),
                               ("python-calamine .xls", _calamine, xls),
                               ("xlrd .xls", _xlrd, xls)):
            s, n = _time(fn, path)
            print(f"{name:<26} {s:7.2f} s  ({n:,} rows)")
        t = time.perf_counter()
        grid = ledgers._read_workbook(xlsx, None)
        read = time.perf_counter() - t
        t = time.perf_counter()
        led = ledgers._ledger(grid, xlsx)
        rec = time.perf_counter() - t
        print(f"read_ledger .xlsx: read {read:.2f} s + recognise {rec:.2f} s "
              f"({len(led.frame):,} records, {len(led.skipped)} skipped)")


if __name__ == "__main__":
    main()
