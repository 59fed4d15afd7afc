"""Shared fixtures: the hand-made tiny district (tests/data/tiny) copied to a temporary folder."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A writable copy of the tiny district; tests may edit its files."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst, ignore=shutil.ignore_patterns(".emgis-cache"))
    return dst


def replace_in(path: Path, old: str, new: str) -> None:
    """Replace text in a UTF-8 file, failing if ``old`` is not there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str:
    """The headless browser the rendering tests use (README: scripts/ensure_chromium.py)."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("no Chromium: run `python scripts/ensure_chromium.py` (README, Quick start)")


def render_dom(page: Path, tmp: Path, *, fragment: str = "") -> str:
    """The DOM after the page's scripts ran, in a browser that cannot reach any network
    (``fragment``: the part of the address after ``#``, which a page may read)."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp / 'profile'}",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=5000",
           "--dump-dom", page.as_uri() + (f"#{fragment}" if fragment else "")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def open_plan(path: Path, *, use_cache: bool = False) -> Any:
    """The district at ``path`` opened for analysis (emgis.open)."""
    import emgis

    return emgis.open(path, use_cache=use_cache)


def write_with(job: Callable[..., Any], plan: Any, out: Path, *args: Any,
               command: str | None = None, **kwargs: Any) -> Any:
    """Run a job of emgis.run.jobs writing into the folder ``out`` (an OutputDir named after the
    job, manifest last), and return what it returns."""
    from emgis.outputs.folder import OutputDir

    with OutputDir(out, command=command or job.__name__) as od:
        res = job(plan, od, *args, **kwargs)
        od.finish()
    return res
