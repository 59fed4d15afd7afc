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
import pickle
import resource
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
from emgis.network import build_network, edge_arrays, load_network  # noqa: E402
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


def run_case(name: str, district: District, G: nx.MultiDiGraph, units: gpd.GeoDataFrame,
             load_s: float, build_s: float, baseline_sample: int | None,
             per_unit_areas: bool, map_: bool) -> None:
    rows: list[tuple[str, float, float]] = [("load (network cached)", load_s, peak_mb()),
                                            ("network build (not cached)", build_s, peak_mb())]
    print(f"\n== {name}: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges, "
          f"{len(district.villages):,} villages, {len(units):,} units")
    print(f"  {'load (network cached)':<34} {load_s:>9.2f} s")
    print(f"  {'network build (not cached)':<34} {build_s:>9.2f} s")
    pts = pd.concat([district.villages.geometry, units.geometry], ignore_index=True)
    edges = timed("edge arrays + snapping", lambda: (
        e := edge_arrays(G),
        snap_points(G, gpd.GeoSeries(pts, crs=district.crs), settings=district.settings,
                    edges=e))[0], rows)
    del edges
    result = timed("snapping + shortest paths (all kinds)",
                   lambda: compute_coverage(district, G, units=units), rows)
    ours_sp = rows[-1][1]
    areas = timed(f"service areas ({'per unit and ' if per_unit_areas else ''}per kind)",
                  lambda: service_areas(result, G, settings=district.settings,
                                        per_unit=per_unit_areas), rows)
    if map_:
        timed("map (HTML)", lambda: coverage_map(result, areas, district), rows)
    total = sum(r[1] for r in rows if r[0] != "network build (not cached)")
    print(f"  {'end to end (network cached)':<34} {total:>9.2f} s   peak {peak_mb():>8,.0f} MB")
    t = time.perf_counter()
    base_s, n, best = baseline(G, district.villages, units, baseline_sample)
    took = time.perf_counter() - t
    how = "all units" if n == len(units) else f"{n} units timed ({took:.0f} s), scaled to " \
        f"{len(units):,}"
    print(f"  networkx approach (nearest nodes + Dijkstra per unit): {base_s:,.1f} s [{how}]")
    print(f"  speed-up of emgis's snapping + shortest paths: {base_s / ours_sp:,.0f}x")
    if n == len(units):
        t = result.table
        ours = t[t["kind"] == "micro_fire_station"]["nearest_min"].to_numpy(dtype=float)
        ok = np.isfinite(ours) & np.isfinite(best)
        diff = np.abs(ours[ok] - best[ok])
        print(f"  agreement with the networkx approach (nearest micro fire station): median "
              f"|difference| {np.median(diff):.2f} min over {ok.sum()} villages (it snaps to "
              "the nearest node, emgis to the nearest edge with an access leg)")


def demo(baseline_sample: int | None) -> None:
    t = time.perf_counter()
    d = load_district(ROOT / "data" / "demo")
    G, _ = load_network(d)
    load_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory():
        t = time.perf_counter()
        build_network(d.roads, settings=d.settings, crs=d.crs)  # type: ignore[arg-type]
        build_s = time.perf_counter() - t
    run_case("demo (Andorra)", d, G, units_of(d), load_s, build_s, baseline_sample,
             per_unit_areas=True, map_=True)


def synthetic(nodes: int, villages: int, units: int, baseline_sample: int | None,
              cache: Path) -> None:
    t = time.perf_counter()
    a = syn.road_arrays(nodes)
    G = syn.to_graph(a)
    build_s = time.perf_counter() - t
    v, u = syn.layers(a, villages, units)
    del a
    if not cache.exists():
        with cache.open("wb") as fh:
            pickle.dump(G, fh, protocol=5)
    del G
    t = time.perf_counter()
    with cache.open("rb") as fh:
        G = pickle.load(fh)
    load_s = time.perf_counter() - t
    empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs=syn.CRS)
    district = District(root=cache.parent, name="synthetic", crs=v.crs,
                        settings=default_settings(), villages=v, townships=empty,
                        teams=empty, stockpiles=empty, shelters=empty, hazards=empty,
                        roads=None)
    run_case(f"synthetic ({nodes:,} nodes)", district, G, u, load_s, build_s, baseline_sample,
             per_unit_areas=False, map_=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--villages", type=int, default=20_000)
    ap.add_argument("--units", type=int, default=2_000)
    ap.add_argument("--baseline-sample", type=int, default=20,
                    help="units timed for the networkx approach on the synthetic case")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {__import__('os').cpu_count()} cores")
    if not args.skip_demo:
        demo(None)
    if not args.skip_synthetic:
        cache = Path(tempfile.gettempdir()) / f"emgis-synthetic-{args.nodes}.pickle"
        synthetic(args.nodes, args.villages, args.units, args.baseline_sample, cache)


if __name__ == "__main__":
    main()
