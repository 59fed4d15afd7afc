"""The package's surface (as geopandas' test_api): ``import emgis`` stays light, the public
names are reachable, every module name of emgis 0.2 still imports (with a DeprecationWarning)
and forwards what it had, and the internal imports form no circle."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import emgis
from emgis._moved import MOVED
from tests.conftest import REPO

#: Libraries ``import emgis`` must not load: maps, plots, the cluster, OSM downloads, numba,
#: the workbook writer (each costs from a tenth of a second to seconds at start-up).
HEAVY = ("folium", "matplotlib", "dask", "distributed", "osmnx", "sklearn", "numba",
         "openpyxl")

#: Names of emgis 0.2 that code outside emgis imports (README, notebooks): old module, names,
#: and the module each lives in now.
SPOT_CHECKS = [
    ("network", ("to_networkx",), "emgis.roads.nxio"),
    ("siting", ("max_covering",), "emgis.locate.covering"),
    ("siting", ("site_units",), "emgis.analysis.siting"),
    ("coverage", ("units_of",), "emgis.inputs.kinds"),
    ("coverage", ("compute_coverage",), "emgis.analysis.coverage"),
    ("maps", ("coverage_map",), "emgis.outputs.maps"),
    ("maps", ("CLASS_COLOURS",), "emgis.outputs.style"),
]


def _python(code: str, stdin: str = "") -> str:
    """Run ``code`` in a fresh interpreter (in the project root) and return its stdout."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_emgis_is_light() -> None:
    loaded = json.loads(_python("""
        import json, sys
        import emgis
        print(json.dumps(sorted(sys.modules)))
    """))
    assert "emgis" in loaded and "emgis._errors" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_the_command_starts_without_the_stages() -> None:
    """`emgis --version` (and parsing any command line) loads none of numpy, pandas,
    geopandas, numba, scipy: each subcommand imports its stages when it runs."""
    loaded = json.loads(_python("""
        import json, sys
        from emgis.cli import build_parser, main
        build_parser().parse_args(["run", "data/demo", "--out", "x"])
        try:
            main(["--version"])
        except SystemExit:
            pass
        print(json.dumps(sorted(sys.modules)))
    """).splitlines()[-1])
    heavy = sorted(m for m in loaded if m.split(".")[0] in {
        "numpy", "pandas", "geopandas", "numba", "scipy", "shapely", "pyproj"})
    assert heavy == []


def test_validate_reads_the_roads_quality_without_the_graph_libraries(tiny: Path) -> None:
    """`emgis validate` with the roads cached prints their data quality (the villages
    attached to the road arrays) without loading networkx or numba (0.3 s of its start-up)."""
    from emgis.inputs.district import load_district
    from emgis.roads.network import load_network_arrays

    load_network_arrays(load_district(tiny), use_cache=True)  # the cache validate reads
    out = _python(f"""
        import json, sys
        from emgis.cli import main
        code = main(["validate", {str(tiny)!r}, "--lang", "en"])
        print(json.dumps([code, sorted(sys.modules)]))
    """)
    code, loaded = json.loads(out.splitlines()[-1])
    assert code == 0
    assert "Data quality of the roads" in out  # the quality lines, from the cache
    assert "networkx" not in loaded and "numba" not in loaded


def test_the_run_loads_no_networkx() -> None:
    """The run's stages route on arrays: importing them leaves networkx (0.07 s) unloaded;
    it comes with the API functions that take or give a networkx graph."""
    loaded = json.loads(_python("""
        import json, sys
        import emgis.run.jobs, emgis.commands
        print(json.dumps(sorted(sys.modules)))
    """))
    assert "emgis.analysis.coverage" in loaded and "networkx" not in loaded


def test_public_names_are_reachable() -> None:
    from emgis.inputs.district import load_district
    from emgis.plan import Plan, open

    assert emgis.open is open and callable(emgis.open)
    assert emgis.Plan is Plan
    assert emgis.load_district is load_district
    for name in emgis.__all__:
        assert getattr(emgis, name) is not None, name
        assert name in dir(emgis), name
    errors = ("CacheError", "DistrictError", "EmgisError", "NetworkError", "NoCrsError",
              "OutputError", "SettingsError", "SitingError", "ValidationError")
    for name in errors:
        error = getattr(emgis, name)
        assert issubclass(error, emgis.EmgisError) and issubclass(error, Exception), name
        assert name in emgis.__all__, name
    version = re.search(r'^\[project\]\n(?:[^\[].*\n)*?version = "([^"]+)"',
                        (REPO / "pyproject.toml").read_text("utf-8"), flags=re.M)
    assert version is not None and emgis.__version__ == version.group(1)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        emgis.nothing_here  # noqa: B018


def test_old_module_names_warn_and_forward() -> None:
    """Each old module name imports with one DeprecationWarning naming its new home, and
    ``from emgis.<old> import <name>`` gives the very object of the new module."""
    report = json.loads(_python("""
        import importlib, json, sys, warnings
        from emgis._moved import MOVED

        spot = json.loads(sys.stdin.read())
        out = {"warned": {}, "same": []}
        for old in sorted(MOVED):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                importlib.import_module(f"emgis.{old}")
            out["warned"][old] = [(w.category.__name__, str(w.message)) for w in caught]
        for old, names, new in spot:
            scope = {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                exec(f"from emgis.{old} import {', '.join(names)}", scope)
            module = importlib.import_module(new)
            out["same"] += [[old, n, scope[n] is getattr(module, n)] for n in names]
        print(json.dumps(out))
    """, stdin=json.dumps(SPOT_CHECKS)))
    assert sorted(report["warned"]) == sorted(MOVED)
    for old, caught in report["warned"].items():
        assert [c for c, _ in caught] == ["DeprecationWarning"], (old, caught)
        message = caught[0][1]
        assert f"emgis.{old} moved" in message and MOVED[old][0] in message, message
    assert report["same"] == [[old, n, True] for old, names, _ in SPOT_CHECKS for n in names]


def _names_in_release(rev: str, old: str) -> list[str] | None:
    """The public names module ``emgis/<old>.py`` defined at ``rev`` (None: no such file)."""
    shown = subprocess.run(["git", "show", f"{rev}:emgis/{old}.py"], cwd=REPO,
                           capture_output=True, text=True)
    if shown.returncode:
        return None
    names: set[str] = set()
    for node in ast.parse(shown.stdout).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return sorted(n for n in names if not n.startswith("_"))


def _last_flat_release() -> str | None:
    """The last commit with the flat layout of emgis 0.2 (the parent of the one that moved
    emgis/network.py into a stage package), from the git history; None without history."""
    found = subprocess.run(["git", "log", "--diff-filter=D", "--format=%H", "-1", "--",
                            "emgis/network.py"], cwd=REPO, capture_output=True, text=True)
    if found.returncode or not found.stdout.strip():
        return None
    return f"{found.stdout.strip()}^"


def test_old_modules_forward_every_name_they_had() -> None:
    """Every public name each old module defined in emgis 0.2 (read from the git history) is
    reachable under the old module name."""
    rev = _last_flat_release() if shutil.which("git") else None
    if rev is None:
        pytest.skip("no git history with the flat layout of emgis 0.2 (a shallow clone?)")
    had = {old: _names_in_release(rev, old) for old in MOVED}
    assert all(names for names in had.values()), [o for o, n in had.items() if not n]
    missing = json.loads(_python("""
        import importlib, json, sys, warnings

        had = json.loads(sys.stdin.read())
        out = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for old, names in had.items():
                module = importlib.import_module(f"emgis.{old}")
                gone = [n for n in names if not hasattr(module, n)]
                if gone:
                    out[old] = gone
        print(json.dumps(out))
    """, stdin=json.dumps(had)))
    assert missing == {}


def test_no_import_circles() -> None:
    """scripts/import_graph.py (reading the source with ast) finds no circle among emgis's
    modules, counting the imports inside functions."""
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "import_graph.py")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = re.search(r"^circles: (\d+)$", done.stdout, flags=re.M)
    assert found is not None, done.stdout
    listed = done.stdout[found.end():].split("imports inside functions")[0].strip()
    assert (int(found.group(1)), listed) == (0, "")
    modules = re.search(r"^modules: (\d+)", done.stdout, flags=re.M)
    assert modules is not None and int(modules.group(1)) > 50  # it did read the package
