"""Measure the what-if siting page at county size: its size and the time of each click.

Writes a county-size synthetic district with ``synthetic_district.py`` (default 100,000 road
nodes, 1,500 villages, 300 units of every kind: about 2,000 candidate sites), runs the siting
job for a kind as ``emgis site`` does (the page holds the baseline and every scenario), and
opens the page in headless Chromium with a link that clicks ``--clicks`` candidates and
existing units in turn (``#click=c:ID,u:ID,...``, each a real click on the marker). The page
times each click (recomputing the village colours, the persons covered, the ranked list, the
gap list and the export) and keeps the figures in ``#emgis-wi-ms``, read from the DOM.

Prints: villages, candidates, existing units, scenarios, pairs held, page size (MB), and the
per-click milliseconds (median and maximum over the clicks, and of the whole page load, per
``--repeat`` browser runs). Target (issue "what-if siting"): under 100 ms per click, page
under 10 MB.

Usage::

    python scripts/benchmark_whatif.py                  # generates into a temporary folder
    python scripts/benchmark_whatif.py --district /tmp/county --kind fire_station
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no Chromium: run `python scripts/ensure_chromium.py`")


def dump(page: Path, fragment: str, profile: Path) -> tuple[str, float]:
    cmd = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", f"--user-data-dir={profile}",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=60000",
           "--dump-dom", f"{page.as_uri()}#{fragment}"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True)
    return out.stdout, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--district", type=Path, help="an existing district folder (default: "
                    "generate a county-size one)")
    ap.add_argument("--kind", default="fire_station")
    ap.add_argument("--add", type=int, default=10, help="sites proposed (on when the page "
                    "opens)")
    ap.add_argument("--clicks", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()

    import numpy as np

    import emgis
    from emgis.outputs.folder import OutputDir
    from emgis.run.jobs import siting_job

    tmp = Path(tempfile.mkdtemp(prefix="emgis-whatif-"))
    try:
        folder = a.district
        if folder is None:
            import synthetic_district as synd

            folder = tmp / "county"
            synd.write_district(folder, nodes=100_000, villages=1_500, units=300)
        t0 = time.perf_counter()
        plan = emgis.open(folder)
        out = tmp / "out"
        with OutputDir(out, command="site") as od:
            r, _ = siting_job(plan, od, a.kind, add=a.add)
            od.finish()
        t_site = time.perf_counter() - t0
        data = plan.whatif(a.kind, proposals=r.proposals)
        page = out / f"siting_{a.kind}.html"
        pairs = sum(len(s.village) for s in data.scenarios)
        print(f"district: {folder}")
        print(f"villages {len(plan.district.villages):,}, candidates {len(data.candidates):,}, "
              f"existing {a.kind} {data.n_units:,}, scenarios {len(data.scenarios)} "
              f"(baseline included), pairs held {pairs:,} (cutoff {data.cutoff_min:g} min)")
        print(f"siting job (open, solve, write the page): {t_site:.1f} s")
        print(f"page size: {page.stat().st_size / 1e6:.2f} MB")
        # clicks: candidates in turn (off ones switch on, proposals off), then units off
        rng = np.random.default_rng(0)
        cids = list(data.candidates["id"].astype(str))
        uids = list(data.units["id"].astype(str))
        n_u = min(len(uids), max(1, a.clicks // 5))
        picks = [f"c:{cids[i]}" for i in rng.choice(len(cids), a.clicks - n_u, replace=False)]
        picks += [f"u:{uids[i]}" for i in rng.choice(len(uids), n_u, replace=False)]
        for scenario in [s.name for s in data.scenarios][:2]:
            frag = "click=" + ",".join(picks) + f"&scenario={scenario}"
            maxes, loads, clicks = [], [], 0
            for _ in range(a.repeat):
                dom, secs = dump(page, frag, tmp / "profile")
                m = re.search(r'id="emgis-wi-ms"[^>]*', dom)
                if not m:
                    sys.exit("the page did not report its click times (#emgis-wi-ms)")
                tag = m.group(0)
                clicks = int(re.search(r'data-clicks="(\d+)"', tag).group(1))  # type: ignore[union-attr]
                maxes.append(float(re.search(r'data-max-ms="([\d.]+)"', tag).group(1)))  # type: ignore[union-attr]
                loads.append(secs)
            print(f"{scenario}: {clicks} clicks per run, slowest click per run "
                  f"min {min(maxes):.1f} / median {statistics.median(maxes):.1f} / "
                  f"max {max(maxes):.1f} ms; browser run (load + clicks) median "
                  f"{statistics.median(loads):.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
