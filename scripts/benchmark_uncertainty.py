"""Time the uncertainty analysis at county size: N samples of speeds and turnout, each a
routing graph with scaled weights searched for every driving kind (emgis.analysis.uncertainty).

Writes a synthetic county (scripts/synthetic_district.py: 100,000 road nodes, 1,500 villages,
300 units by default) unless ``--district`` names one, opens it (network cached), computes
coverage, then times ``plan.uncertainty(samples=N)`` and prints the seconds, the per-sample
time and each kind's persons within target at nominal speeds and expected over the samples.

Usage::

    python scripts/benchmark_uncertainty.py [--samples 100] [--nodes 100000] [--villages 1500]
        [--units 300] [--district DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--villages", type=int, default=1_500)
    ap.add_argument("--units", type=int, default=300)
    ap.add_argument("--district", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import emgis
    from emgis.analysis.uncertainty import uncertainty
    from emgis.roads.classtime import class_times

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.district
        if folder is None:
            from synthetic_district import write_district

            t0 = time.perf_counter()
            folder = write_district(Path(tmp) / "county", nodes=args.nodes,
                                    villages=args.villages, units=args.units)
            print(f"synthetic county written in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        plan = emgis.open(folder)
        cov = plan.coverage().table
        print(f"opened, coverage in {time.perf_counter() - t0:.1f} s: "
              f"{plan.network.n_nodes:,} road nodes, {len(plan.district.villages):,} villages, "
              f"{len(plan.units):,} units")
        t0 = time.perf_counter()
        ct = class_times(plan.engine.graph("drive"), plan.network, plan.district.settings)
        print(f"graph split by speed group ({len(ct.groups)} groups) in "
              f"{time.perf_counter() - t0:.2f} s")
        times = []
        res = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = uncertainty(plan.district, plan.engine, cov, samples=args.samples, ct=ct)
            times.append(time.perf_counter() - t0)
        assert res is not None
        med = statistics.median(times)
        print(f"N={args.samples}: {', '.join(f'{t:.1f}' for t in times)} s "
              f"(median {med:.1f} s, {1000 * med / args.samples:.0f} ms a sample, "
              f"{len(res.kinds)} driving kinds)")
        print(res.summary.to_string(index=False))


if __name__ == "__main__":
    main()
