"""Time ``emgis batch`` over a province: 12 county-size districts cut from one road file.

Writes the province with ``synthetic_district.py`` (default 1,200,000 road nodes in one
provincial .osm.pbf, 12 districts side by side, each 1,500 villages in 10 townships and 300
units with stockpiles, shelters and 3 hazards), then runs the whole batch with 1 and with 2
Dask workers (a LocalCluster on this machine), each from a cold start: the districts' network
caches deleted, so the provincial file is read once and every district's network clipped from
it. Prints per run: wall seconds, districts done, and the peak resident memory of each worker
process (the largest ``ru_maxrss`` its district tasks reported), and the per-district seconds.

Usage::

    python scripts/benchmark_batch.py
    python scripts/benchmark_batch.py --districts 4 --nodes 200000 --villages 500 --units 100
    python scripts/benchmark_batch.py --province /tmp/prov12 --workers 2   # reuse a province
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--province", type=Path, help="an existing province folder (default: "
                    "generate one in a temporary folder)")
    ap.add_argument("--districts", type=int, default=12)
    ap.add_argument("--nodes", type=int, default=1_200_000, help="road nodes of the province")
    ap.add_argument("--villages", type=int, default=1_500, help="per district")
    ap.add_argument("--units", type=int, default=300, help="per district")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()

    from emgis.run.batch import read_province, run_batch

    tmp = Path(tempfile.mkdtemp(prefix="emgis-batch-"))
    try:
        root = a.province
        if root is None:
            import synthetic_district as synd

            root = tmp / "province"
            t0 = time.perf_counter()
            synd.write_province(root, nodes=a.nodes, districts=a.districts,
                                villages=a.villages, units=a.units, townships=10)
            print(f"wrote the province in {time.perf_counter() - t0:.0f} s: {a.districts} "
                  f"districts, {a.nodes:,} road nodes in one .pbf "
                  f"({(root / 'province.osm.pbf').stat().st_size / 1e6:.0f} MB)")
        province = read_province(root)
        for n in a.workers:
            shutil.rmtree(root / ".emgis-cache", ignore_errors=True)
            out = tmp / f"out{n}"
            t0 = time.perf_counter()
            res = run_batch(province, out, workers=n, as_of=dt.date(2026, 11, 23))
            wall = time.perf_counter() - t0
            peak: dict[str, float] = defaultdict(float)
            for o in res.outcomes:
                peak[o.worker] = max(peak[o.worker], o.peak_mb)
            done = [o for o in res.outcomes if o.status == "done"]
            for o in res.outcomes:
                if o.status == "failed":
                    print(f"  {o.name} failed: {o.error}")
            secs = [o.seconds for o in done] or [0.0]
            print(f"{n} worker(s): wall {wall:.0f} s for {len(done)}/{len(res.outcomes)} "
                  f"districts; per district median {statistics.median(secs):.0f} s, "
                  f"max {max(secs):.0f} s; peak memory per worker process: "
                  + ", ".join(f"{v / 1024:.2f} GB" for _, v in sorted(peak.items())))
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
