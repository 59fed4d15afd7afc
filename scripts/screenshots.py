"""Screenshots of what a planner sees, offline, for notes and the README.

    python scripts/screenshots.py OUT_DIR

Runs the demo district in English and in Chinese (and once more with the AMap basemap),
then renders with headless Chromium (no network: tiles cannot load, so the maps show what
emgis draws itself): the report's first two pages (printed to PDF, then to PNG with
``pdftoppm`` from poppler-utils), coverage.html in both languages, the combined scenario map
and the AMap coverage map.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser() -> str:
    path = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if path is None:
        raise SystemExit("no Chromium: run python scripts/ensure_chromium.py")
    return path


def _chromium(args: list[str], tmp: Path) -> None:
    subprocess.run([_browser(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
                    f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=6000",
                    *args], capture_output=True, timeout=300, check=True)


def _run(district: Path, out: Path, lang: str) -> None:
    subprocess.run([sys.executable, "-m", "emgis.cli", "run", str(district), "--out", str(out),
                    "--lang", lang, "-q"], check=True)


def _zones_shown(page: str) -> str:
    """The coverage map with the first kind's zones shown and its service area hidden."""
    import re

    page = re.sub(r'("layers":\["z0"\],"on":)false', r"\1true", page, count=1)
    return re.sub(r'("layers":\["a0_[0-9.]+"\],"on":)true', r"\1false", page, count=1)


def _section_pages(pdf: Path, lang: str, out: Path) -> None:
    """The report pages holding the checklist, the zones and the warning reach, as PNG."""
    from emgis.texts import texts

    t = texts(lang)
    if not shutil.which("pdftotext"):
        return
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout.split("\f")
    for key in ("checklist", "zones", "warning"):
        title = t[f"report.{key}"][:12]
        hit = next((i + 1 for i, page in enumerate(text) if title in page), None)
        if hit:
            subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", "-f", str(hit), "-l",
                            str(hit), str(pdf), str(out / f"report_{lang}_{key}")], check=True)


def main(dest: str) -> int:
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for lang in ("en", "zh"):
            _run(REPO / "data" / "demo", tmp / lang, lang)
            page = tmp / lang / "coverage.html"
            _chromium(["--window-size=1400,900", f"--screenshot={out / f'coverage_{lang}.png'}",
                       page.as_uri()], tmp)
            pdf = tmp / f"report_{lang}.pdf"
            _chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                       (tmp / lang / "report.html").as_uri()], tmp)
            if shutil.which("pdftoppm"):
                subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "2", str(pdf),
                                str(out / f"report_{lang}")], check=True)
                _section_pages(pdf, lang, out)
            _chromium(["--window-size=1400,900", f"--screenshot={out / f'warnings_{lang}.png'}",
                       (tmp / lang / "warnings.html").as_uri()], tmp)
            zones_on = tmp / lang / "zones_on.html"
            zones_on.write_text(_zones_shown((tmp / lang / "coverage.html").read_text("utf-8")),
                                "utf-8")
            _chromium(["--window-size=1400,900", f"--screenshot={out / f'zones_{lang}.png'}",
                       zones_on.as_uri()], tmp)
        _chromium(["--window-size=1400,900", f"--screenshot={out / 'scenario_combined_zh.png'}",
                   (tmp / "zh" / "scenario_combined.html").as_uri()], tmp)
        amap = tmp / "demo_amap"
        shutil.copytree(REPO / "data" / "demo", amap,
                        ignore=shutil.ignore_patterns(".emgis-cache"))
        with open(amap / "district.toml", "a", encoding="utf-8") as f:
            f.write('\n[maps]\nbasemap = "amap"\n')
        _run(amap, tmp / "amap", "zh")
        _chromium(["--window-size=1400,900", f"--screenshot={out / 'coverage_amap_zh.png'}",
                   (tmp / "amap" / "coverage.html").as_uri()], tmp)
    for p in sorted(out.glob("*.png")):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
