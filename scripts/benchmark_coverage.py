"""Benchmark the coverage pipeline, stage by stage, against the networkx approach.

For the demo district and a synthetic district (scripts/synthetic_network.py: by default
1,000,000 road nodes, 20,000 villages, 2,000 units) it prints the wall time of each stage (load,
network build, snapping, shortest paths, service areas, map) and the process's peak memory after
it. In the same run it times what a user would otherwise write: the osmnx graph, nearest nodes,
and one networkx Dijkstra per unit (``nx.single_source_dijkstra_path_length``); on the big
case that is timed on a sample of units and scaled to all of them (said so in the output).

Usage::

    python scripts/benchmark_coverage.py                  # demo + 1,000,000 nodes
    python scripts/benchmark_coverage.py --nodes 200000   # a smaller synthetic case
    python scripts/benchmark_coverage.py --skip-demo --baseline-sample 10
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import synthetic_network as syn  # noqa: E402

from emgis import District, default_settings, load_district  # noqa: E402
from emgis.coverage import compute_coverage, service_areas, units_of  # noqa: E402
from emgis.maps import coverage_map  # noqa: E402
from emgis.network import (  # noqa: E402
    EdgeArrays,
    build_network,
    edge_arrays,
    load_edge_arrays,
    load_network,
    load_network_arrays,
    save_edge_arrays,
)
from emgis.snapping import snap_points  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn: Callable[[], Any], rows: list[tuple[str, float, float]]) -> Any:
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    rows.append((label, dt, peak_mb()))
    print(f"  {label:<34} {dt:>9.2f} s   peak {peak_mb():>8,.0f} MB", flush=True)
    return out


def baseline(G: nx.MultiDiGraph, villages: gpd.GeoDataFrame, units: gpd.GeoDataFrame,
             sample: int | None) -> tuple[float, int, np.ndarray]:
    """osmnx nearest nodes + one networkx Dijkstra per unit; seconds for all units, and the
    nearest micro-fire-station time per village (minutes, turnout included) when all units
    were run."""
    import osmnx as ox

    t = time.perf_counter()
    vnodes = ox.distance.nearest_nodes(G, villages.geometry.x, villages.geometry.y)
    unodes = ox.distance.nearest_nodes(G, units.geometry.x, units.geometry.y)
    snap_s = time.perf_counter() - t
    n = len(units) if sample is None else min(sample, len(units))
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(units), n, replace=False)) if n < len(units) else \
        np.arange(len(units))
    best = np.full(len(villages), np.inf)
    micro = (units["kind"] == "micro_fire_station").to_numpy()
    turnout = units["turnout_min"].to_numpy(dtype=float)
    t = time.perf_counter()
    for i in pick:
        d = nx.single_source_dijkstra_path_length(G, unodes[i], weight="travel_time")
        times = np.array([d.get(v, np.inf) for v in vnodes]) / 60.0
        if micro[i]:
            best = np.minimum(best, times + turnout[i])
    per_unit = (time.perf_counter() - t) / n
    return snap_s + per_unit * len(units), n, best


def ours(name: str, district: District, load_network_s: float, units: gpd.GeoDataFrame,
         edges: EdgeArrays, *, per_unit_areas: bool) -> tuple[float, Any]:
    """Time emgis's stages; returns the seconds of snapping + shortest paths and the result."""
    rows: list[tuple[str, float, float]] = [("load (network cached)", load_network_s,
                                             peak_mb())]
    print(f"\n== {name}: {len(edges.node_ids):,} nodes, {len(edges.keys):,} edges, "
          f"{len(district.villages):,} villages, {len(units):,} units")
    print(f"  {'load (network cached)':<34} {load_network_s:>9.2f} s   peak {peak_mb():>8,.0f} MB")
    pts = pd.concat([district.villages.geometry, units.geometry], ignore_index=True)
    timed("snapping", lambda: snap_points(edges, gpd.GeoSeries(pts, crs=district.crs),
                                          settings=district.settings), rows)
    snap_s = rows[-1][1]
    result = timed("snapping + shortest paths (all kinds)",
                   lambda: compute_coverage(district, edges, units=units), rows)
    both = rows[-1][1]
    print(f"  {'  of which shortest paths':<34} {both - snap_s:>9.2f} s")
    rows[-2] = ("snapping (counted in the next line)", 0.0, rows[-2][2])
    areas = timed(f"service areas ({'per unit and ' if per_unit_areas else ''}per kind)",
                  lambda: service_areas(result, settings=district.settings,
                                        per_unit=per_unit_areas), rows)
    timed("map (HTML)", lambda: coverage_map(result, areas, district), rows)
    total = sum(r[1] for r in rows)
    print(f"  {'end to end (network cached)':<34} {total:>9.2f} s   peak {peak_mb():>8,.0f} MB")
    return both, result


def compare(G: nx.MultiDiGraph, district: District, units: gpd.GeoDataFrame,
            ours_s: float, result: Any, sample: int | None) -> None:
    t = time.perf_counter()
    base_s, n, best = baseline(G, district.villages, units, sample)
    took = time.perf_counter() - t
    how = "all units" if n == len(units) else f"{n} units timed ({took:.0f} s), scaled to " \
        f"{len(units):,}"
    print(f"  networkx approach (nearest nodes + Dijkstra per unit): {base_s:,.1f} s [{how}]")
    print(f"  speed-up of emgis's snapping + shortest paths over it: {base_s / ours_s:,.0f}x")
    if result is not None and n == len(units):
        t = result.table
        mine = t[t["kind"] == "micro_fire_station"]["nearest_min"].to_numpy(dtype=float)
        ok = np.isfinite(mine) & np.isfinite(best)
        diff = np.abs(mine[ok] - best[ok])
        print(f"  agreement with the networkx approach (nearest micro fire station): median "
              f"|difference| {np.median(diff):.2f} min over {ok.sum()} villages (it snaps to "
              "the nearest node, emgis to the nearest edge with an access leg)")


def demo() -> None:
    d = load_district(ROOT / "data" / "demo")
    t = time.perf_counter()
    build_network(d.roads, settings=d.settings, crs=d.crs)  # type: ignore[arg-type]
    print(f"demo network build (not cached): {time.perf_counter() - t:.2f} s")
    load_network_arrays(d)  # make sure the cache exists
    t = time.perf_counter()
    edges, _ = load_network_arrays(d)
    load_s = time.perf_counter() - t
    units = units_of(d)
    ours_s, result = ours("demo (Andorra)", d, load_s, units, edges, per_unit_areas=True)
    G, _ = load_network(d)
    compare(G, d, units, ours_s, result, None)


def synthetic_paths(nodes: int, villages: int, units: int) -> tuple[Path, Path, Path]:
    base = Path(tempfile.gettempdir()) / f"emgis-synthetic-{nodes}-{villages}-{units}"
    return base.with_suffix(".edges.npz"), base.with_suffix(".layers.pickle"), \
        base.with_suffix(".graph.pickle")


def synthetic_prepare(nodes: int, villages: int, units: int) -> None:
    npz, layers_p, graph_p = synthetic_paths(nodes, villages, units)
    t = time.perf_counter()
    a = syn.road_arrays(nodes)
    G = syn.to_graph(a)
    build_s = time.perf_counter() - t
    print(f"synthetic network build (arrays -> networkx graph, not cached): {build_s:.2f} s")
    if not npz.exists():
        save_edge_arrays(edge_arrays(G), npz)
        with layers_p.open("wb") as fh:
            pickle.dump(syn.layers(a, villages, units), fh, protocol=5)
        with graph_p.open("wb") as fh:
            pickle.dump(G, fh, protocol=5)


def synthetic_ours(nodes: int, villages: int, units: int) -> None:
    """emgis's pipeline from the cache, in a fresh process (its own peak memory)."""
    npz, layers_p, _ = synthetic_paths(nodes, villages, units)
    t = time.perf_counter()
    edges = load_edge_arrays(npz)
    with layers_p.open("rb") as fh:
        v, u = pickle.load(fh)
    load_s = time.perf_counter() - t
    district = _synthetic_district(v)
    ours(f"synthetic ({nodes:,} nodes)", district, load_s, u, edges, per_unit_areas=False)


def _synthetic_district(v: gpd.GeoDataFrame) -> District:
    empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs=v.crs)
    return District(root=Path(tempfile.gettempdir()), name="synthetic", crs=v.crs,
                    settings=default_settings(), villages=v, townships=empty, teams=empty,
                    stockpiles=empty, shelters=empty, hazards=empty, roads=None)


def synthetic_baseline(nodes: int, villages: int, units: int, sample: int,
                       ours_s: float) -> None:
    _, layers_p, graph_p = synthetic_paths(nodes, villages, units)
    with layers_p.open("rb") as fh:
        v, u = pickle.load(fh)
    t = time.perf_counter()
    with graph_p.open("rb") as fh:
        G = pickle.load(fh)
    print(f"  (networkx graph loaded from a pickle in {time.perf_counter() - t:.1f} s)")
    compare(G, _synthetic_district(v), u, ours_s, None, sample)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--villages", type=int, default=20_000)
    ap.add_argument("--units", type=int, default=2_000)
    ap.add_argument("--baseline-sample", type=int, default=20,
                    help="units timed for the networkx approach on the synthetic case")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--phase", choices=("all", "ours"), default="all", help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = (args.nodes, args.villages, args.units)
    if args.phase == "ours":
        synthetic_ours(*size)
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if not args.skip_demo:
        demo()
    if not args.skip_synthetic:
        synthetic_prepare(*size)
        out = subprocess.run(
            [sys.executable, __file__, "--phase", "ours", "--nodes", str(args.nodes),
             "--villages", str(args.villages), "--units", str(args.units)],
            check=True, capture_output=True, text=True)
        print(out.stdout, end="")
        m = re.search(r"snapping \+ shortest paths \(all kinds\)\s+([0-9.]+) s", out.stdout)
        ours_s = float(m.group(1)) if m else float("nan")
        synthetic_baseline(*size, args.baseline_sample, ours_s)


if __name__ == "__main__":
    main()
