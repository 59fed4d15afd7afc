"""Time ``emgis run`` end to end on a county-size (or larger) synthetic district.

Writes the district with ``synthetic_district.py`` (default: 100,000 road nodes as an OSM
.pbf, 1,500 villages in 20 townships, 300 units of every kind with stockpiles and shelters,
3 hazards giving 3 scenarios), then runs the whole job as a planner would, each run a fresh
process timed by ``/usr/bin/time`` (wall seconds, peak resident memory of the process):

- cold: the network cache deleted first, so the run reads the .pbf and builds the network;
- warm: the cache in place.

Each is repeated ``--repeat`` times; minimum, median and maximum are printed. With ``--steps``
a warm run's step table follows (the wall time from each of the run's progress lines to the
next), and with ``--before CHECKOUT`` the same table of another checkout's emgis beside it (a
git worktree of an earlier commit). Targets (issue "Answers while the planner waits"): county
warm under 10 s, cold under 20 s, peak under 1 GB; the province (1,000,000 nodes, 20,000
villages, 2,000 units) warm under 120 s and 6 GB.

Usage::

    python scripts/benchmark_county.py
    git worktree add /tmp/before COMMIT
    python scripts/benchmark_county.py --repeat 1 --steps --before /tmp/before
    python scripts/benchmark_county.py --nodes 1000000 --villages 20000 --units 2000 \\
        --townships 100 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_district as synd


def run_once(folder: Path, out: Path, *, cold: bool) -> tuple[float, float]:
    """One ``emgis run``; returns (wall seconds, peak MB)."""
    if cold:
        shutil.rmtree(folder / ".emgis-cache", ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["/usr/bin/time", "-f", "%e %M", sys.executable, "-m", "emgis.cli", "-q", "run",
           str(folder), "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"emgis run failed ({r.returncode}):\n{r.stderr[-2000:]}")
    wall, kb = r.stderr.strip().splitlines()[-1].split()
    return float(wall), float(kb) / 1024


def steps_once(folder: Path, out: Path, *, emgis_path: Path | None = None
               ) -> list[tuple[str, float]]:
    """One warm ``emgis -v run``: the wall seconds from each step's line to the next (the
    run's own progress lines, stamped as they arrive; the last step ends with the process).
    ``emgis_path``: run the emgis of another checkout (a before/after table)."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if emgis_path is not None:
        env["PYTHONPATH"] = str(emgis_path)
    cmd = [sys.executable, "-m", "emgis.cli", "-v", "run", str(folder), "--out", str(out)]
    t0 = time.perf_counter()
    marks: list[tuple[str, float]] = [("start-up, reading the district and its network", 0.0)]
    # run from the district's parent folder: ``python -m`` puts the working folder first
    # on the path, which would shadow ``emgis_path``
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env, cwd=folder.parent) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            text = line.strip()
            if text.endswith("...") and line.startswith("  "):
                marks.append((text.removesuffix("...").strip(), time.perf_counter() - t0))
            elif text.startswith("Coverage:") and marks[-1][0] != "(console summary)":
                marks.append(("(console summary)", time.perf_counter() - t0))
    end = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"emgis run failed ({proc.returncode})")
    return [(name, (marks[i + 1][1] if i + 1 < len(marks) else end) - at)
            for i, (name, at) in enumerate(marks)]


def print_steps(tables: dict[str, list[tuple[str, float]]]) -> None:
    """Steps side by side (seconds of wall time from each step's start to the next's)."""
    names = list(dict.fromkeys(n for rows in tables.values() for n, _ in rows))
    heads = list(tables)
    print(f"{'step (wall s from its start to the next step)':<62}" +
          "".join(f"{h:>12}" for h in heads))
    for n in names:
        cells = []
        for h in heads:
            got = [s for m, s in tables[h] if m == n]
            cells.append(f"{sum(got):>12.2f}" if got else f"{'-':>12}")
        print(f"{n[:61]:<62}" + "".join(cells))
    print(f"{'total':<62}" + "".join(f"{sum(s for _, s in tables[h]):>12.2f}" for h in heads))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    synd.county_options(ap)
    ap.add_argument("--steps", action="store_true",
                    help="also a warm run's step table (the run's progress lines, timed)")
    ap.add_argument("--before", type=Path, metavar="CHECKOUT",
                    help="with --steps: the step table of another checkout's emgis beside "
                    "this one's (e.g. a git worktree of an earlier commit)")
    args = ap.parse_args()
    if not Path("/usr/bin/time").exists():
        raise SystemExit("needs /usr/bin/time (Debian package: time)")
    folder = synd.county_from(args)
    out = folder.parent / (folder.name + "-out")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; district {folder}: "
          f"{args.nodes:,} road nodes, {args.villages:,} villages, {args.units:,} units, "
          f"{args.townships} townships, 3 hazards")
    for label, cold in (("cold (network built from the .pbf)", True),
                        ("warm (network from its cache)", False)):
        if not cold:
            run_once(folder, out, cold=False)  # a warm-up run builds the cache
        runs = [run_once(folder, out, cold=cold) for _ in range(args.repeat)]
        walls = [w for w, _ in runs]
        peaks = [p for _, p in runs]
        print(f"emgis run, {label}: wall min {min(walls):.1f} / median "
              f"{statistics.median(walls):.1f} / max {max(walls):.1f} s; peak memory max "
              f"{max(peaks):,.0f} MB ({args.repeat} runs)")
    if args.steps:
        tables: dict[str, list[tuple[str, float]]] = {}
        if args.before is not None:
            tables["before"] = steps_once(folder, out, emgis_path=args.before)
        tables["now"] = steps_once(folder, out)
        print_steps(tables)
    files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    size = sum((out / f).stat().st_size for f in files) / 1e6
    print(f"it writes {len(files)} files, {size:.0f} MB, to {out}")


if __name__ == "__main__":
    main()
