"""Fixtures and helpers every folder of tests shares: the hand-made tiny district
(tests/data/tiny) copied to a temporary folder, the demo opened once per session, rendering
in headless Chromium, and the word checks of the Chinese outputs.

The tests mirror the package: ``tests/inputs``, ``tests/roads``, ``tests/locate``,
``tests/analysis``, ``tests/outputs``, ``tests/run`` and ``tests/apps`` (the command line),
each with the fixtures of its own topic in its ``conftest.py``; ``tests/test_api.py`` checks
the package's surface. Test file names are unique across the folders (pytest's default import
mode; the folders have no ``__init__.py``).
"""

from __future__ import annotations

import hashlib
import pickle
import re
import shutil
import string
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import networkx as nx

    from emgis.inputs.district import District
    from emgis.plan import Plan

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A writable copy of the tiny district; tests may edit its files."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst, ignore=shutil.ignore_patterns(".emgis-cache"))
    return dst


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A writable copy of the demo district (data/demo), for a test that changes it."""
    dst = tmp_path / "demo"
    shutil.copytree(DEMO, dst, ignore=shutil.ignore_patterns(".emgis-cache"))
    return dst


def _digest(value: Any) -> str:
    """A digest of a value's content (frames by their text, arrays by their bytes, dataclasses
    field by field, so that what is computed and kept on first use does not count)."""
    import dataclasses

    import numpy as np
    import pandas as pd

    h = hashlib.sha256()
    if isinstance(value, pd.DataFrame | pd.Series):
        h.update(value.to_csv().encode())
    elif isinstance(value, np.ndarray):
        h.update(f"{value.dtype}{value.shape}".encode() + value.tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            h.update(f.name.encode() + _digest(getattr(value, f.name)).encode())
    elif isinstance(value, Mapping):
        for k, v in value.items():
            h.update(repr(k).encode() + _digest(v).encode())
    elif isinstance(value, list | tuple):
        for v in value:
            h.update(_digest(v).encode())
    else:
        h.update(pickle.dumps(value))
    return h.hexdigest()


def _fingerprint(plan: Plan) -> dict[str, str]:
    """Digests of what a test could change by mistake in a shared plan: the district's layers
    and settings, the network's arrays and the coverage table."""
    d = plan.district
    parts: dict[str, Any] = {name: getattr(d, name) for name in (
        "villages", "townships", "teams", "stockpiles", "shelters", "hazards", "candidates",
        "warning_points", "buildings", "settings", "scenarios")}
    parts["network"] = plan.network
    parts["coverage"] = plan.coverage().table
    return {k: _digest(v) for k, v in parts.items()}


@pytest.fixture(scope="session")
def demo_plan() -> Iterator[Plan]:
    """The demo district (data/demo) opened once per session with its network cache, coverage
    computed: shared by every test that asks for it, so READ IT, NEVER CHANGE IT. Analyses
    it computes on first use are kept in it (that is what a Plan does); a test that changes
    the district works on ``demo_copy`` (its own folder) or on a new ``Plan`` built from a
    copied district. At the end of the session the plan is checked unchanged."""
    import emgis

    plan = emgis.open(DEMO, use_cache=True)
    plan.coverage()
    before = _fingerprint(plan)
    yield plan
    after = _fingerprint(plan)
    changed = sorted(k for k in before if before[k] != after[k])
    assert not changed, f"a test changed the shared demo plan ({', '.join(changed)}): copy it"


@pytest.fixture
def tiny_net(tiny: Path) -> tuple[District, nx.MultiDiGraph]:
    """The tiny district and its road network as a networkx graph (built without cache)."""
    from emgis import load_district
    from emgis.roads.network import load_network

    d = load_district(tiny)
    G, _ = load_network(d, use_cache=False)
    return d, G


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


def kept_beside(plan: Any, pattern: str) -> list[Path]:
    """The files kept beside ``plan``'s network cache whose names, after the cache's own,
    match ``pattern`` (e.g. ``roads-*.json``), sorted."""
    return sorted(plan.cache.parent.glob(f"{plan.cache.stem}.{pattern}"))


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


#: ASCII words a Chinese reader may meet in the outputs: data credits, coordinate systems,
#: units, file and program names.
ZH_ALLOWED = {"OpenStreetMap", "contributors", "WGS", "GCJ", "EPSG", "UTM", "zone", "N", "S",
              "OSM", "CSV", "csv", "xlsx", "results", "gaps", "html", "json", "run", "emgis",
              "HiGHS", "km", "h", "AB", "Leaflet", "A", "B", "P", "GraphML", "tmp", "pytest",
              "zh", "en", "toml", "district", "validate", "X", "Y", "GeoJSON", "GB", "JTG",
              "NFPA", "GA", "XF"}


def ascii_words(text: str) -> set[str]:
    """The words in Latin letters of ``text`` (not a catalogue text's fields, paths, file
    names)."""
    text = re.sub(r"\{[a-z_]+\}", " ", text)  # a catalogue text's fields
    text = re.sub(r"(?:/[^\s/（）()]+)+/?"
                  r"|\S+\.(?:csv|gpkg|html|xlsx|docx|toml|json|npz|osm|pbf)\b", " ",
                  text)  # paths and file names
    return set(re.findall(r"[A-Za-z]+(?:['’\-][A-Za-z]+)*", text))


def input_words(district: Path) -> set[str]:
    """The words in Latin letters of a district's own files (its ids and names)."""
    words: set[str] = set()
    for f in district.iterdir():
        if f.suffix in (".csv", ".geojson", ".toml"):
            words |= ascii_words(f.read_text("utf-8"))
    return words


def catalogue_fields(text: str) -> set[str]:
    """The fields of a catalogue text (``{name}``): the same in every language."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def english_words(text: str, allowed: set[str]) -> set[str]:
    text = re.sub(r"「[^」]*」|'[^']*'|\"[^\"]*\"|`[^`]*`", " ", text)  # values, quoted
    text = re.sub(r"\S*[\\/]\S*|\S+\.(?:csv|geojson|gpkg|shp|toml|osm|pbf|graphml|json|"
                  r"html|xlsx|npz|txt|dbf|prj|cpg)\b", " ", text)  # paths and file names
    # options, [tables], keys like speed_factor
    text = re.sub(r"(?<!\w)--?[a-z][a-z-]*|\[[^\]]*\]|\b\w+[_.]\w+(?:[_.]\w+)*", " ", text)
    return set(re.findall(r"[A-Za-z]+", text)) - allowed
