"""Faults: a damaged network cache, a run killed part way, two runs at once, a read-only
output folder. A run never leaves a file that looks complete but is not, and a rerun gives
exactly the files of a clean run."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emgis import load_district
from emgis._errors import OutputError
from emgis._files import FAULT_ENV, sha256_file
from emgis.cli import main
from emgis.outputs.folder import MANIFEST, read_manifest
from emgis.roads.cache import cache_path, clip_area, load_edge_arrays
from tests.conftest import REPO


def _emgis(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emgis.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=REPO,
                          env={**os.environ, **(env or {})})


def _files(out: Path) -> dict[str, str]:
    """sha256 of every file the run wrote (not the manifest, not hidden files)."""
    return {p.name: sha256_file(p) for p in sorted(out.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.name != MANIFEST}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The tiny district and the files of a clean run of it (network cached)."""
    base = tmp_path_factory.mktemp("faults")
    d = base / "tiny"
    shutil.copytree(REPO / "tests" / "data" / "tiny", d,
                    ignore=shutil.ignore_patterns(".emgis-cache"))
    out = base / "clean"
    r = _emgis("-q", "run", str(d), "--out", str(out))
    assert r.returncode == 0, r.stderr
    return d, _files(out)


# --- the network cache --------------------------------------------------------------------------

def _cache(d: Path) -> Path:
    dist = load_district(d)
    assert dist.roads is not None
    return cache_path(dist.roads, settings=dist.settings, crs=dist.crs, clip=clip_area(dist))


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _random(p: Path) -> None:
    p.write_bytes(random.Random(0).randbytes(4096))


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _edges_removed(p: Path) -> None:
    """A valid npz whose arrays lost their last three edges (checksum left as it was)."""
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files}
    m = len(arrays["u"]) - 3
    for k in ("u", "v", "length", "travel_time", "twin"):
        arrays[k] = arrays[k][:m]
    arrays["vptr"] = arrays["vptr"][: m + 1]
    with p.open("wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("damage", [_truncate, _random, _empty, _edges_removed],
                         ids=["truncated", "random-bytes", "empty", "edges-removed"])
def test_damaged_cache_is_rebuilt_with_one_warning(
        damage: object, tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "network", str(tiny)]) == 0
    path = _cache(tiny)
    good = load_edge_arrays(path)
    damage(path)  # type: ignore[operator]
    capsys.readouterr()
    assert main(["network", str(tiny)]) == 0
    cap = capsys.readouterr()
    said = (cap.out + cap.err).splitlines()
    warnings = [ln for ln in said if "rebuilding it" in ln]
    assert len(warnings) == 1, said
    assert path.name in warnings[0]
    again = load_edge_arrays(path)  # the rebuilt cache is whole again
    assert np.array_equal(again.travel_time, good.travel_time)
    assert main(["network", str(tiny)]) == 0  # and the next run says nothing of it
    cap = capsys.readouterr()
    assert "rebuilding" not in cap.out + cap.err


def test_no_cache_leaves_the_cache_alone(tiny: Path) -> None:
    assert main(["-q", "network", str(tiny)]) == 0
    path = _cache(tiny)
    _empty(path)
    for cmd in (["network", str(tiny)], ["coverage", str(tiny), "--out", str(tiny / "o")]):
        assert main(["-q", *cmd, "--no-cache"]) == 0
        assert path.stat().st_size == 0  # not read, not written


# --- killed runs --------------------------------------------------------------------------------

KILL_POINTS = ["kill-before:coverage.csv",     # at the start of the outputs
               "kill-during:coverage.gpkg",    # a GeoPackage written, not yet in place
               "kill-during:report.html"]      # at the very end


@pytest.mark.parametrize("fault", KILL_POINTS)
def test_killed_run_leaves_nothing_that_looks_complete(
        fault: str, reference: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    d, clean = reference
    out = tmp_path / "out"
    # an earlier complete run in the same folder, then a killed one
    assert _emgis("-q", "run", str(d), "--out", str(out)).returncode == 0
    r = _emgis("-q", "run", str(d), "--out", str(out), env={FAULT_ENV: fault})
    assert r.returncode == -9, (r.returncode, r.stderr)
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    assert manifest["complete"] is False  # the folder says it is not a finished run
    with pytest.raises(OutputError, match="did not finish"):
        read_manifest(out)
    # every visible file is whole: the one being written is only a hidden temporary
    name = fault.split(":", 1)[1]
    for p in out.iterdir():
        if p.name.startswith(".") or p.name == MANIFEST:
            continue
        assert p.name in manifest["files"], p.name
        assert sha256_file(p) == manifest["files"][p.name]["sha256"], p.name
    if fault.startswith("kill-during"):
        stem, suffix = name.rsplit(".", 1)
        assert list(out.glob(f".{stem}.*.emgis-tmp.{suffix}")), "the temporary file"
    # a rerun gives exactly the clean run's files, and cleans up
    r = _emgis("-q", "run", str(d), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert _files(out) == clean
    assert not [p for p in out.iterdir() if ".emgis-tmp" in p.name]
    doc = read_manifest(out)
    assert doc["complete"] is True and set(doc["files"]) == set(clean)


def test_files_of_an_earlier_run_are_removed(tmp_path: Path) -> None:
    """A scenario dropped from district.toml: its files of the earlier run go; files of
    another command (a siting run) stay, listed as such."""
    d = tmp_path / "d"
    shutil.copytree(REPO / "tests" / "data" / "tiny", d,
                    ignore=shutil.ignore_patterns(".emgis-cache"))
    with (d / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[scenarios.extra]\nhazards = ["H1"]\n')
    out = tmp_path / "out"
    assert main(["-q", "run", str(d), "--out", str(out)]) == 0
    assert (out / "scenario_extra.html").exists()
    assert main(["-q", "site", str(d), "--kind", "village_team", "--add", "1",
                 "--out", str(out)]) == 0
    text = (d / "district.toml").read_text("utf-8").replace(
        '[scenarios.extra]\nhazards = ["H1"]\n', '[scenarios.flood]\nhazards = ["H1"]\n')
    (d / "district.toml").write_text(text, "utf-8")
    assert main(["-q", "coverage", str(d), "--out", str(out)]) == 0
    assert main(["-q", "run", str(d), "--out", str(out)]) == 0
    assert not (out / "scenario_extra.html").exists()  # an earlier run's, not rewritten
    assert (out / "scenario_flood.html").exists()
    doc = read_manifest(out)
    assert "scenario_extra.csv" not in doc["files"]
    # `run` replaces every command's outputs
    assert not (out / "siting_village_team.csv").exists()


def test_two_runs_at_once(reference: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """Two runs on the same district (no network cache yet) and the same --out: one waits
    for the other; both finish, and the folder holds exactly a clean run's files."""
    _, clean = reference
    d = tmp_path / "tiny"
    shutil.copytree(REPO / "tests" / "data" / "tiny", d,
                    ignore=shutil.ignore_patterns(".emgis-cache"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "emgis.cli", "run", str(d), "--out", str(out)]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert any("waiting for another emgis process" in err for _, err in results)
    assert _files(out) == clean
    assert read_manifest(out)["complete"] is True


def test_read_only_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "tiny"
    shutil.copytree(REPO / "tests" / "data" / "tiny", d,
                    ignore=shutil.ignore_patterns(".emgis-cache"))
    out = tmp_path / "ro"
    out.mkdir()
    if os.geteuid() == 0:  # root writes through file modes: make the folder immutable
        subprocess.run(["chattr", "+i", str(out)], check=True)
    else:
        out.chmod(0o555)
    try:
        assert main(["coverage", str(d), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"--out {out.resolve()}: cannot write in this folder" in err
        assert "choose a folder you can write to" in err
        assert list(out.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(out)], check=True)
        else:
            out.chmod(0o755)
