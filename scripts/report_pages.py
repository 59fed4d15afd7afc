"""Print a report to PDF in headless Chromium and count its pages: the whole report and its
summary (the part before the district's tables).

    python scripts/report_pages.py OUT_FOLDER [OUT_FOLDER ...]

OUT_FOLDER is the --out folder of an ``emgis run``; the paper is the report's own ([report]
paper, A4 by default). Prints one line per folder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def pdf_pages(html: Path, tmp: Path) -> int:
    """Pages of ``html`` printed by Chromium."""
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        raise SystemExit("no Chromium: run python scripts/ensure_chromium.py")
    pdf = tmp / (html.stem + ".pdf")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-pdf-header-footer", "--host-resolver-rules=MAP * ~NOTFOUND",
                    f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=5000",
                    f"--print-to-pdf={pdf}", html.as_uri()],
                   capture_output=True, timeout=300, check=True)
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))


def main(folders: list[str]) -> int:
    for folder in map(Path, folders):
        page = (folder / "report.html").read_text("utf-8")
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            whole = pdf_pages(folder / "report.html", tmp)
            cut = page.find('<section class="rest">')
            summary = tmp / "summary.html"
            summary.write_text(page[:cut] + "</body></html>" if cut > 0 else page, "utf-8")
            first = pdf_pages(summary, tmp)
        towns = page.count('<div class="township"')
        print(f"{folder}: {whole} pages, summary {first} pages, {towns} townships")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
