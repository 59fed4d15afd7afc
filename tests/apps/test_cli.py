"""The command line: -v/-q before or after the subcommand, --version, what `run` ends with."""

from __future__ import annotations

from pathlib import Path

import pytest

from emgis import __version__
from emgis.cli import main


@pytest.mark.parametrize("argv", [["-q", "validate", "{d}"], ["validate", "{d}", "-q"],
                                  ["-q", "coverage", "{d}", "--out", "{out}"],
                                  ["coverage", "{d}", "--out", "{out}", "--quiet"]])
def test_quiet_before_or_after_the_subcommand(argv: list[str], tiny: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.replace("{d}", str(tiny)).replace("{out}", str(tmp_path / "o")) for a in argv]
    assert main(args) == 0
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == ""


def test_verbose_after_the_subcommand_logs(tiny: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    assert main(["network", str(tiny), "-v"]) == 0
    cap = capsys.readouterr()
    assert "INFO" in cap.err and "road network" in cap.err
    assert "Road network:" in cap.out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"emgis {__version__}"


def test_run_ends_with_what_it_wrote_and_what_to_open(tiny: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert main(["run", str(tiny), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert lines[-3].startswith(f"Wrote {len(written) - 1} files to")  # run.json apart
    assert lines[-2].strip().split(", ") == [n for n in written if n != "run.json"]
    assert lines[-1] == f"Open first: {(out / 'report.html').resolve()}"


def test_standards_table_in_both_languages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["standards"]) == 0
    en = capsys.readouterr().out
    assert "micro_fire_station" in en and "公消〔2015〕301号" in en and "maxspeed_rule" in en
    assert main(["standards", "--lang", "zh"]) == 0
    zh = capsys.readouterr().out
    assert "响应时间目标" in zh and "通行速度" in zh


def test_no_bars_when_output_is_not_a_terminal(tiny: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Steps are plain lines in a pipe or a log; bars only on a terminal."""
    assert main(["run", str(tiny), "--out", str(tmp_path / "o"), "--no-cache"]) == 0
    cap = capsys.readouterr()
    assert "%|" not in cap.out + cap.err and "\r" not in cap.out + cap.err
    assert "Building the road network from roads.osm ..." in cap.out
    from emgis.inputs.kinds import UNIT_KINDS
    from emgis.inputs.standards import TARGETS

    n = sum(k in TARGETS for k in UNIT_KINDS)
    assert f"  service areas per kind ({n} kinds) ..." in cap.out


def test_progress_bar_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bar advances to its total, drawn by tqdm at every step on a terminal. tqdm redraws at
    most every 0.1 s of its clock: here the clock is a fake one that moves a second each time
    it is read, so every step is drawn however fast or slow the machine is."""
    import io
    import itertools
    import re
    import sys

    import tqdm.std

    from emgis._progress import Progress

    ticks = itertools.count()
    assert callable(tqdm.std.time)  # the time source tqdm's bars read
    monkeypatch.setattr(tqdm.std, "time", lambda: float(next(ticks)))
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    said: list[str] = []
    p = Progress(said.append, bars=True)
    with p.bar("kinds", 3, "kinds") as advance:
        for _ in range(3):
            advance(1)
    drawn = err.getvalue()
    frames = [f for f in drawn.split("\r") if f.strip()]
    counts = [m.group(1) for f in frames if (m := re.search(r"\| (\d)/3 \[", f))]
    assert counts == ["0", "1", "2", "3"] and len(frames) == 4
    assert all(f.startswith("  kinds: ") for f in frames) and "100%" in frames[-1]
    assert not drawn.split("\r")[-1].strip()  # the bar is cleared when its step ends
    assert said == ["kinds: done"]


def test_readme_standards_table_is_the_generated_one() -> None:
    """The README's table of defaults is exactly what `emgis standards --markdown` prints."""
    from emgis.outputs.profile import profile_table
    from tests.conftest import REPO

    text = (REPO / "README.md").read_text("utf-8")
    start = text.index("<!-- standards:begin -->\n") + len("<!-- standards:begin -->\n")
    end = text.index("\n<!-- standards:end -->")
    assert text[start:end] == profile_table(markdown=True)


def test_standards_in_chinese_is_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    """`emgis standards --lang zh`: every title, value, unit and source in Chinese; only the
    keys a planner writes in district.toml, the header names a register may use (the
    synonym lists), standard numbers (JTG B01-2014, GB 50413 ...) and units stay."""
    import re

    from emgis.inputs.headers import SYNONYMS
    from emgis.inputs.schema import schema
    from emgis.inputs.standards import SPEEDS
    from tests.conftest import ZH_ALLOWED, ascii_words

    assert main(["standards", "--lang", "zh"]) == 0
    # each row's first column is the key one writes in district.toml: it stays as written
    out = "\n".join(re.sub(r"^  \S+", "", line) for line in capsys.readouterr().out.splitlines())
    keys: set[str] = set()
    for name, table in schema().items():
        keys |= {name, *table.keys, *(table.names or ())}
    keys |= {k for fields in SYNONYMS.values() for f, s in fields.items()
             for k in (f, *s.names)}
    keys |= set(SPEEDS) | {"derate", "mph", "x", "expressway", "grade", "substandard",
                           "paved", "simple", "gravel", "unpaved", "earth", "motorway",
                           "trunk", "primary", "secondary", "tertiary", "unclassified",
                           "track", "posted", "offroad", "GB", "T", "JTG", "NFPA", "OSM",
                           "ReVelle", "Hogan", "Transportation", "Science", "osmnx",
                           "bridleway", "footway", "path", "pedestrian", "steps", "service",
                           "G", "S", "X", "Y", "C", "Z"}  # OSM classes, route-code letters
    words = {w for w in ascii_words(out) if not any(w in k.split("_") or w == k
                                                      for k in keys)}
    allowed = ZH_ALLOWED | {w for k in keys for w in re.findall(r"[A-Za-z]+", k)}
    assert words - allowed == set(), sorted(words - allowed)


def test_an_override_cites_its_default_in_the_runs_language() -> None:
    from emgis.inputs.settings import load_settings

    s = load_settings({"targets": {"fire_station": 8}}, source=Path("district.toml"))
    std = s.targets["fire_station"]
    assert std.value == 8.0
    assert std.cite("en").startswith("district.toml override (default 5: GB 51080-2015")
    zh = std.cite("zh")
    assert zh.startswith("district.toml 中的设定（默认值 5：GB 51080-2015")
    assert "override" not in zh and "default" not in zh


_ENTRY = """
import atexit, sys
from pathlib import Path
marks = Path(sys.argv[1])
class Torn:
    def __del__(self):  # runs only if the interpreter tears its objects down
        (marks / "torn").write_text("yes")
KEEP = Torn()
atexit.register(lambda: (marks / "atexit").write_text("ran"))
sys.argv = ["emgis", *sys.argv[2:]]
from emgis.cli import entry
entry()
"""


@pytest.mark.parametrize(("argv", "code", "leaves_at_once"), [
    (["validate", "{d}"], 0, True),
    (["validate", "{missing}"], 2, True),
    (["serve", "--help"], 0, False),  # argparse's own exit, before any command runs
])
def test_the_program_ends_with_its_exit_code_output_and_exit_handlers(
        argv: list[str], code: int, leaves_at_once: bool, tiny: Path, tmp_path: Path) -> None:
    """``emgis`` (:func:`emgis.cli.entry`): after a command of ``LEAVE_AT_ONCE`` the process
    ends without tearing its objects down, but with the command's exit code, all its output
    and the exit handlers run (logging, temporary folders)."""
    import subprocess
    import sys

    args = [a.replace("{d}", str(tiny)).replace("{missing}", str(tmp_path / "none"))
            for a in argv]
    got = subprocess.run([sys.executable, "-c", _ENTRY, str(tmp_path), *args],
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == code, got.stderr
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "torn").exists() is not leaves_at_once
    if argv[0] == "validate" and code == 0:
        expected = subprocess.run([sys.executable, "-c",
                                   "import sys; from emgis.cli import main; "
                                   "sys.exit(main(sys.argv[1:]))", *args],
                                  capture_output=True, text=True, timeout=120)
        assert got.stdout == expected.stdout and got.stdout.strip()
    if code == 2:
        assert str(tmp_path / "none") in got.stderr or "none" in got.stderr


def test_the_program_leaves_as_python_does_under_a_profiler(tiny: Path, tmp_path: Path
                                                           ) -> None:
    """``python -m cProfile -m emgis.cli ...`` still writes its profile."""
    import subprocess
    import sys

    prof = tmp_path / "run.prof"
    got = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m",
                          "emgis.cli", "-q", "validate", str(tiny)],
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    import pstats

    assert any("cmd_validate" in f[2] for f in pstats.Stats(str(prof)).stats)  # type: ignore[attr-defined]


_BLAS = """
import os, sys
sys.argv = ["emgis", "--version"]
import emgis.cli
seen = []
emgis.cli.main = lambda: seen.append(os.environ.get("OPENBLAS_NUM_THREADS")) or 0
try:
    emgis.cli.entry()
except SystemExit:
    pass
print(seen[0])
"""


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("2", "2")])
def test_the_program_runs_one_openblas_thread_unless_told(given: str | None, expected: str
                                                         ) -> None:
    """``emgis`` gives numpy's and scipy's OpenBLAS one thread before they load (its idle
    threads spun beside a run's busy processes); a value in the environment is kept."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    got = subprocess.run([sys.executable, "-c", _BLAS], capture_output=True, text=True,
                         timeout=120, env=env)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == expected
