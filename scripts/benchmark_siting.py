"""Benchmark siting: the greedy+swap heuristic against the exact MILP (HiGHS).

Prints, for the demo district and a synthetic case (scripts/synthetic_network.py: 100,000 road
nodes, 20,000 villages, 5,000 candidate sites at random road points, no existing units), the
persons covered by each method, the heuristic's share of the exact optimum, its gap to the LP
bound, and the solve times. The synthetic cases are TARGET:P pairs: the micro fire station's
3-minute target with 10 to 200 new sites, and a 5-minute target where covers overlap far more.
Where the MILP stops at its time limit, the heuristic is compared with the MILP's proven bound.

Usage::

    python scripts/benchmark_siting.py [--cases 3:10,3:50,5:50] [--time-limit 300] [--skip-demo]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import synthetic_network as syn  # noqa: E402

from emgis import default_settings, load_district  # noqa: E402
from emgis.analysis.siting import site_units  # noqa: E402
from emgis.locate.covering import max_covering  # noqa: E402
from emgis.locate.median import p_median  # noqa: E402
from emgis.roads.network import load_network_arrays  # noqa: E402
from emgis.roads.nxio import edge_arrays  # noqa: E402
from emgis.roads.routing import build_routing_graph  # noqa: E402
from emgis.roads.snapping import snap_points  # noqa: E402


def compare(label: str, times: np.ndarray, w: np.ndarray, base: np.ndarray, target: float,
            p: int, time_limit: float = 300.0) -> None:
    he = max_covering(times, w, base, target, p, method="heuristic")
    ex = max_covering(times, w, base, target, p, time_limit=time_limit)
    print(f"  {label}, target {target:g} min, p={p}: heuristic {he.objective:,.0f} persons "
          f"in {he.seconds:.1f} s (LP bound {he.bound or 0:,.0f}, gap {he.gap or 0:.2%})",
          flush=True)
    if ex.status == "optimal":
        share = he.objective / ex.objective if ex.objective else 1.0
        print(f"    exact MILP: {ex.objective:,.0f} persons, optimal in {ex.seconds:.1f} s: "
              f"the heuristic reaches {share:.2%} of the optimum", flush=True)
    else:
        print(f"    exact MILP: not proven in {ex.seconds:.0f} s ({ex.status}); best "
              f"{ex.objective:,.0f} persons, proven bound {ex.bound or 0:,.0f}: the heuristic "
              f"reaches at least {he.objective / (ex.bound or he.objective):.2%} of the "
              "optimum", flush=True)


def demo() -> None:
    d = load_district(ROOT / "data" / "demo")
    edges, _ = load_network_arrays(d)
    print("demo (Andorra), micro fire stations, target 3 min, existing stations fixed:")
    for p in (1, 3, 6, 10):
        t = time.perf_counter()
        ex = site_units(d, edges, "micro_fire_station", add=p)
        he = site_units(d, edges, "micro_fire_station", add=p, method="heuristic")
        share = he.solution.objective / ex.solution.objective if ex.solution.objective else 1
        print(f"  p={p:>2}: exact {ex.solution.objective:,.0f} persons, heuristic "
              f"{he.solution.objective:,.0f} ({share:.2%}; gap to LP bound "
              f"{he.solution.gap or 0:.2%}); {time.perf_counter() - t:.1f} s for both")
    print("demo, stockpiles, p-median (least person-minutes), existing stockpiles fixed:")
    for p in (1, 3, 6):
        ex = site_units(d, edges, "stockpile", add=p, model="p_median")
        he = site_units(d, edges, "stockpile", add=p, model="p_median", method="heuristic")
        print(f"  p={p}: exact {ex.solution.objective:,.0f} person-minutes, heuristic "
              f"{he.solution.objective:,.0f} (Lagrangian bound {he.solution.bound or 0:,.0f})")


def synthetic_times(nodes: int, villages: int, candidates: int, limit: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Candidate x village minutes (float32, inf beyond ``limit``) and village populations."""
    t0 = time.perf_counter()
    a = syn.road_arrays(nodes)
    G = syn.to_graph(a)
    v, _ = syn.layers(a, villages, 1)
    cand = syn.points(a, candidates, seed=11)
    edges = edge_arrays(G)
    del G
    pts = pd.concat([v.geometry, gpd.GeoSeries(gpd.points_from_xy(cand[:, 0], cand[:, 1]),
                                               crs=v.crs)], ignore_index=True)
    snaps = snap_points(edges, gpd.GeoSeries(pts, crs=v.crs), settings=default_settings())
    rg = build_routing_graph(edges, snaps)
    csr = rg.csr()
    vn = rg.loc_node[:villages]
    va = rg.loc_access[:villages]
    times = np.full((candidates, villages), np.inf, dtype=np.float32)
    for s in range(0, candidates, 250):
        idx = np.arange(villages + s, villages + min(candidates, s + 250))
        d = dijkstra(csr, indices=rg.loc_node[idx], limit=limit)
        times[s:s + len(idx)] = d[:, vn] + va[None, :] + rg.loc_access[idx][:, None]
    w = v["population"].to_numpy(dtype=float)
    print(f"synthetic: {nodes:,} road nodes, {villages:,} villages ({w.sum():,.0f} persons), "
          f"{candidates:,} candidates; matrix (to {limit:g} min) built in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    return times, w


def synthetic(nodes: int, villages: int, candidates: int, cases: list[tuple[float, int]],
              time_limit: float) -> None:
    times, w = synthetic_times(nodes, villages, candidates, max(t for t, _ in cases))
    t64 = times.astype(float)
    del times
    for target, p in cases:
        pairs = int((t64 <= target).sum())
        compare(f"max covering ({pairs:,} pairs within target)", t64, w,
                np.full(villages, np.inf), target, p, time_limit)


def synthetic_p_median(nodes: int, villages: int, candidates: int, p: int, exact: bool,
                       time_limit: float) -> None:
    """p-median (least person-minutes, all times to 60 min): heuristic, bound and MILP."""
    times, w = synthetic_times(nodes, villages, candidates, 60.0)
    t64 = times.astype(float)
    del times
    none = np.full(villages, np.inf)
    he = p_median(t64, w, none, p, method="heuristic")
    print(f"  p-median, p={p}: heuristic {he.objective:,.0f} person-minutes in "
          f"{he.seconds:.1f} s; Lagrangian bound {he.bound or 0:,.0f} (gap "
          f"{he.gap or 0:.2%})", flush=True)
    if exact:
        ex = p_median(t64, w, none, p, time_limit=time_limit)
        print(f"    exact MILP: {ex.objective:,.0f} person-minutes ({ex.status}, "
              f"{ex.seconds:.1f} s): the heuristic is {he.objective / ex.objective - 1:.2%} "
              "above it", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--villages", type=int, default=20_000)
    ap.add_argument("--candidates", type=int, default=5_000)
    ap.add_argument("--cases", default="3:10,3:25,3:50,3:100,3:200,5:50",
                    help="TARGET:P pairs: target minutes and new sites")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds for the MILP")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--p-median", default="2000:500:10:exact,20000:5000:50",
                    help="VILLAGES:CANDIDATES:P[:exact] p-median cases ('' for none)")
    args = ap.parse_args()
    if not args.skip_demo:
        demo()
    cases = [(float(c.split(":")[0]), int(c.split(":")[1]))
             for c in filter(None, args.cases.split(","))]
    if cases:
        synthetic(args.nodes, args.villages, args.candidates, cases, args.time_limit)
    for case in filter(None, args.p_median.split(",")):
        nv, nc, p, *ex = case.split(":")
        synthetic_p_median(args.nodes, int(nv), int(nc), int(p), ex == ["exact"],
                           args.time_limit)


if __name__ == "__main__":
    main()
