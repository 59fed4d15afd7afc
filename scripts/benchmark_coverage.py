"""Benchmark the coverage engine, stage by stage, and its shortest-path stage side by side.

1. emgis's stages on a district (the demo, and a synthetic one written by
   ``synthetic_district.py``: by default 1,000,000 road nodes, 20,000 villages, 2,000 units):
   opening (validation, network from its cache), snapping every location, the routing graphs,
   the shortest paths for every unit kind (nearest and second-nearest distinct unit of every
   village), the service areas per kind and the map, each with the process's peak memory.
2. The shortest-path stage on the same graph and the same answers, every location at its
   nearest road node (so every tool sees the same problem): emgis's kernel; pandana's
   ``nearest_pois(num_pois=2)`` (contraction hierarchies built first, that time shown apart);
   networkx's multi-source Dijkstra per kind (nearest only, as networkx gives). The answers
   are checked equal and the ratios printed.

pandana is not a dependency of emgis: ``pip install pandana`` to include it.

Usage::

    python scripts/benchmark_coverage.py                       # demo + 1,000,000 nodes
    python scripts/benchmark_coverage.py --nodes 100000 --villages 1500 --units 300
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import synthetic_district as synd  # noqa: E402

import emgis  # noqa: E402
from emgis.inputs.kinds import mode_of, towards_unit  # noqa: E402
from emgis.roads.routing import Search, build_routing_graph, nearest_two_many  # noqa: E402

#: The interpreter with osrm-bindings (``--osrm-python``); None: OSRM left out.
OSRM_PYTHON: str | None = None


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    print(f"  {label:<44} {dt:>8.2f} s   peak {peak_mb():>7,.0f} MB", flush=True)
    return out, dt


def stages(path: Path) -> Any:
    """emgis's own stages on a district (network from its cache)."""
    from emgis.analysis.coverage import compute_coverage, service_areas
    from emgis.outputs.maps import coverage_map

    emgis.open(path)  # builds the cache if missing
    plan, _ = timed("open (validate, network from its cache)", lambda: emgis.open(path))
    d = plan.district
    print(f"  [{plan.network.n_nodes:,} nodes, {plan.network.n_edges:,} edges, "
          f"{len(d.villages):,} villages, {len(plan.units):,} units]")
    eng, _ = timed("snap every location", lambda: plan.engine)
    timed("routing graphs (drive, walk, reversed)",
          lambda: [eng.graph("drive"), eng.graph("walk"), eng.graph("walk", reverse=True)])
    result, _ = timed("shortest paths, every kind (nearest + backup)",
                      lambda: compute_coverage(d, eng))
    areas, _ = timed("service areas per kind",
                     lambda: service_areas(result, settings=d.settings))
    timed("map (HTML)", lambda: coverage_map(result, areas, d))
    return plan


def node_level(plan: Any) -> tuple[dict[str, Any], dict[str, np.ndarray], Any]:
    """Every village and unit at its nearest road node: the same problem for every tool."""
    from scipy.spatial import cKDTree

    ea = plan.network
    tree = cKDTree(np.column_stack([ea.node_x, ea.node_y]))
    v = plan.district.villages
    u = plan.units
    vnode = tree.query(np.column_stack([v.geometry.x, v.geometry.y]))[1]
    unode = tree.query(np.column_stack([u.geometry.x, u.geometry.y]))[1]
    s = plan.district.settings
    kinds = {}
    for kind in dict.fromkeys(u["kind"]):
        if kind not in s.targets or mode_of(kind, s) != "drive" or towards_unit(kind):
            continue  # driving kinds (units drive to villages), as the tools compare
        sel = np.flatnonzero((u["kind"] == kind).to_numpy())
        turnout = float(s.turnout[kind].value) if kind in s.turnout else 0.0
        kinds[kind] = {"units": unode[sel], "turnout": turnout}
    return kinds, {"villages": vnode}, ea


def ours_at_nodes(kinds: dict[str, Any], vnode: np.ndarray, ea: Any
                  ) -> tuple[dict[str, Any], float]:
    import pandas as pd

    n = ea.n_nodes
    # locations at nodes: each on an edge leaving (or entering) its node, at that end
    out_e = np.full(n, -1, dtype=np.int64)
    out_e[ea.u[::-1]] = np.arange(ea.n_edges)[::-1]
    in_e = np.full(n, -1, dtype=np.int64)
    in_e[ea.v[::-1]] = np.arange(ea.n_edges)[::-1]
    nodes = np.concatenate([vnode, *[k["units"] for k in kinds.values()]])
    edge = np.where(out_e[nodes] >= 0, out_e[nodes], in_e[nodes])
    frac = np.where(out_e[nodes] >= 0, 0.0, 1.0)
    snaps = pd.DataFrame({"edge": edge, "frac": frac, "access_m": 0.0, "access_min": 0.0,
                          "status": np.where(edge >= 0, "ok", "no_road_access")})
    rg, _ = timed("emgis routing graph, locations at nodes",
                  lambda: build_routing_graph(ea, snaps))
    searches, start = [], len(vnode)
    for k in kinds.values():
        m = len(k["units"])
        searches.append(Search(np.arange(start, start + m), np.full(m, k["turnout"]),
                               np.arange(len(vnode))))
        start += m
    res, dt = timed(f"emgis nearest + 2nd distinct, {len(kinds)} kinds",
                    lambda: nearest_two_many(rg, searches))
    return dict(zip(kinds, res, strict=True)), dt


def pandana_at_nodes(kinds: dict[str, Any], vnode: np.ndarray, ea: Any
                     ) -> tuple[dict[str, np.ndarray], float, float] | None:
    try:
        import pandana
    except ImportError:
        print("  pandana: not installed (pip install pandana) - skipped")
        return None
    import pandas as pd

    nodes = pd.DataFrame({"x": ea.node_x, "y": ea.node_y}, index=np.arange(ea.n_nodes))
    # reversed edges: pandana measures from a node to the POIs; units drive to villages.
    # Seconds: pandana keeps three decimals of each edge's weight (integers in its hierarchy)
    edges = pd.DataFrame({"from": ea.v, "to": ea.u, "weight": ea.travel_time})
    net, build = timed("pandana Network (contraction hierarchies)", lambda: pandana.Network(
        nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["weight"]], twoway=False))
    far = 86_400.0  # a day, in seconds: farther than any trip here
    out: dict[str, np.ndarray] = {}

    def run() -> None:
        for kind, k in kinds.items():
            net.set_pois(kind, far, 2, ea.node_x[k["units"]], ea.node_y[k["units"]])
            d = net.nearest_pois(far, kind, num_pois=2)
            arr = d.to_numpy(dtype=float)[vnode]
            arr[arr >= far] = np.inf
            out[kind] = arr / 60.0 + k["turnout"]

    _, q = timed(f"pandana nearest_pois(num_pois=2), {len(kinds)} kinds", run)
    return out, build, q


def osrm_at_nodes(kinds: dict[str, Any], vnode: np.ndarray, ea: Any, crs: Any,
                  python: str | None) -> tuple[dict[str, np.ndarray], float, float] | None:
    """OSRM (contraction hierarchies) on the same graph: one way per directed edge with
    emgis's seconds (``scripts/osrm_table.py`` holds the profile), a table per kind."""
    import json
    import subprocess
    from xml.sax.saxutils import quoteattr

    from pyproj import Transformer

    if not python:
        print("  OSRM: skipped (give --osrm-python, an interpreter >= 3.12 with "
              "pip install osrm-bindings)")
        return None
    work = Path(tempfile.mkdtemp(prefix="emgis-osrm-"))
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(ea.node_x, ea.node_y)
    with open(work / "net.osm", "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
            f.write(f'<node id="{i + 1}" lat="{y:.9f}" lon="{x:.9f}" version="1"/>\n')
        for j, (a, b, s) in enumerate(zip(ea.u.tolist(), ea.v.tolist(),
                                          ea.travel_time.tolist(), strict=True)):
            if a == b:
                continue
            f.write(f'<way id="{j + 1}" version="1"><nd ref="{a + 1}"/><nd ref="{b + 1}"/>'
                    f'<tag k="highway" v="road"/><tag k="emgis_s" v={quoteattr(repr(s))}/>'
                    '</way>\n')
        f.write("</osm>\n")
    ll = np.column_stack([lon, lat])
    np.savez(work / "problem.npz", villages=ll[vnode],
             **{k: ll[v["units"]] for k, v in kinds.items()})
    t = time.perf_counter()
    r = subprocess.run([python, str(ROOT / "scripts" / "osrm_table.py"), str(work)],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        print(f"  OSRM: failed ({r.returncode}): {r.stderr.strip()[-500:]}")
        return None
    times = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"  {'OSRM extract + contract (CH)':<44} {times['prepare']:>8.2f} s")
    print(f"  {f'OSRM table per kind, {len(kinds)} kinds':<44} {times['query']:>8.2f} s   "
          f"(whole subprocess {time.perf_counter() - t:.1f} s)")
    got = np.load(work / "osrm.npz")
    out: dict[str, np.ndarray] = {}
    for kind, k in kinds.items():
        d = np.sort(got[kind], axis=0) / 60.0 + k["turnout"]  # units x villages, minutes
        first = d[0] if len(d) else np.full(len(vnode), np.inf)
        second = d[1] if len(d) > 1 else np.full(len(vnode), np.inf)
        out[kind] = np.column_stack([first, second])
    return out, float(times["prepare"]), float(times["query"])


def networkx_at_nodes(kinds: dict[str, Any], vnode: np.ndarray, ea: Any
                      ) -> tuple[dict[str, np.ndarray], float, float]:
    import networkx as nx

    def build() -> nx.DiGraph:
        G = nx.DiGraph()
        w = ea.travel_time / 60.0
        # parallel edges: keep the fastest
        best: dict[tuple[int, int], float] = {}
        for a, b, t in zip(ea.u.tolist(), ea.v.tolist(), w.tolist(), strict=True):
            if t < best.get((a, b), np.inf):
                best[(a, b)] = t
        G.add_weighted_edges_from((a, b, t) for (a, b), t in best.items())
        return G

    G, b = timed("networkx graph", build)
    out: dict[str, np.ndarray] = {}

    def run() -> None:
        for kind, k in kinds.items():
            d = nx.multi_source_dijkstra_path_length(G, set(k["units"].tolist()))
            out[kind] = np.array([d.get(int(x), np.inf) for x in vnode]) + k["turnout"]

    _, q = timed(f"networkx multi-source Dijkstra, {len(kinds)} kinds (nearest only)", run)
    return out, b, q


def compare(path: Path) -> None:
    print("\n-- the shortest-path stage, every location at its nearest node --")
    plan = emgis.open(path)
    kinds, v, ea = node_level(plan)
    vnode = v["villages"]
    ours, ours_s = ours_at_nodes(kinds, vnode, ea)
    pd_res = pandana_at_nodes(kinds, vnode, ea)
    os_res = osrm_at_nodes(kinds, vnode, ea, plan.district.crs, OSRM_PYTHON)
    nx_res, nx_build, nx_s = networkx_at_nodes(kinds, vnode, ea)
    worst = 0.0
    for kind in kinds:
        a = ours[kind]
        if pd_res is not None:
            p = pd_res[0][kind]
            for col, mine in ((0, a.first_min), (1, a.second_min)):
                ok = np.isfinite(mine) | np.isfinite(p[:, col])
                # pandana keeps 3 decimals of each edge's seconds: long paths drift a little
                assert np.allclose(mine[ok], p[ok, col], rtol=1e-4, atol=1e-3), kind
                fin = np.isfinite(mine) & np.isfinite(p[:, col])
                if fin.any():
                    worst = max(worst, float(np.abs(mine[fin] - p[fin, col]).max() * 60))
        n = nx_res[kind]
        ok = np.isfinite(a.first_min) | np.isfinite(n)
        assert np.allclose(a.first_min[ok], n[ok], rtol=1e-9, atol=1e-9), kind
    print(f"  answers equal: nearest and 2nd-nearest distinct unit of {len(vnode):,} villages "
          f"x {len(kinds)} kinds (pandana: within 0.01%, at most {worst:.2f} s apart), "
          "nearest (networkx: exactly)")
    if pd_res is not None:
        print(f"  pandana / emgis: {pd_res[2] / ours_s:.1f}x the query time, plus "
              f"{pd_res[1]:.1f} s of contraction hierarchies")
    if os_res is not None:
        diffs = []
        same = total = 0
        for kind in kinds:
            a, o = ours[kind], os_res[0][kind]
            for col, mine in ((0, a.first_min), (1, a.second_min)):
                fin = np.isfinite(mine) & np.isfinite(o[:, col])
                # OSRM keeps each way's time to 0.1 s: long paths drift a little
                diffs.append(np.abs(mine[fin] - o[fin, col]))
                same += int((np.isfinite(mine) == np.isfinite(o[:, col])).sum())
                total += len(mine)
        dd = np.concatenate(diffs) if diffs else np.zeros(0)
        print(f"  OSRM vs emgis, nearest and 2nd of every village and kind: median "
              f"{np.median(dd):.4f} min, max {dd.max():.3f} min apart; reached alike "
              f"{same}/{total}")
        print(f"  OSRM / emgis: {os_res[2] / ours_s:.1f}x the query time, plus "
              f"{os_res[1]:.1f} s of extraction and contraction")
    print(f"  networkx / emgis: {nx_s / ours_s:.1f}x the query time (nearest only), plus "
          f"{nx_build:.1f} s to build its graph")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--villages", type=int, default=20_000)
    ap.add_argument("--units", type=int, default=2_000)
    ap.add_argument("--dir", type=Path, help="where the synthetic district is written (kept "
                    "between runs; default: the temporary folder)")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--osrm-python", help="an interpreter (CPython >= 3.12) with osrm-bindings "
                    "installed: adds OSRM to the comparison")
    args = ap.parse_args()
    global OSRM_PYTHON
    OSRM_PYTHON = args.osrm_python
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, emgis {emgis.__version__}")
    if not args.skip_demo:
        print("\n== demo (Andorra)")
        stages(ROOT / "data" / "demo")
        if not args.skip_compare:
            compare(ROOT / "data" / "demo")
    if args.skip_synthetic:
        return
    folder = synd.kept_district(args.dir, nodes=args.nodes, villages=args.villages,
                                units=args.units, prefix="emgis-synthetic",
                                townships=100 if args.nodes >= 500_000 else 20)
    print(f"\n== synthetic district, {args.nodes:,} nodes")
    stages(folder)
    if not args.skip_compare:
        compare(folder)


if __name__ == "__main__":
    main()
