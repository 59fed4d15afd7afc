"""Generate a synthetic district: a road network of about N nodes, villages and units.

Deterministic (seeded). The road network is a jittered grid, about 120 m between junctions,
with a road hierarchy: every 24th line a primary road (60 km/h), every 8th a secondary
(50 km/h), every 4th a tertiary (35 km/h), the rest residential/unclassified streets of which
30% are missing (mean junction degree about 3, as in rural road networks) and 3% one-way.

Usage (prints the sizes; ``--out`` writes a pickle of the graph and the point layers)::

    python scripts/synthetic_network.py --nodes 1000000 --villages 20000 --units 2000
"""

from __future__ import annotations

import argparse
import math
import pickle
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

CRS = "EPSG:32650"  # a UTM zone in China (metres)
SPACING_M = 120.0
UNIT_MIX = {  # share of the units of each kind
    "micro_fire_station": 0.30, "village_team": 0.25, "township_rescue_team": 0.08,
    "fire_station": 0.04, "forest_fire_team": 0.05, "medical": 0.08, "stockpile": 0.10,
    "shelter_emergency": 0.06, "shelter_fixed": 0.04,
}


def road_arrays(n_nodes: int, seed: int = 42) -> dict[str, np.ndarray]:
    """Nodes (x, y) and directed edges (u, v, length m, class, speed km/h) of the network."""
    rng = np.random.default_rng(seed)
    side = math.isqrt(n_nodes)
    idx = np.arange(side * side).reshape(side, side)
    x = (np.tile(np.arange(side), side) * SPACING_M
         + rng.uniform(-30, 30, side * side))
    y = (np.repeat(np.arange(side), side) * SPACING_M
         + rng.uniform(-30, 30, side * side))
    # horizontal edges lie on row r, vertical edges on column c
    hu, hv = idx[:, :-1].ravel(), idx[:, 1:].ravel()
    hline = np.repeat(np.arange(side), side - 1)
    vu, vv = idx[:-1, :].ravel(), idx[1:, :].ravel()
    vline = np.tile(np.arange(side), side - 1)
    u = np.concatenate([hu, vu])
    v = np.concatenate([hv, vv])
    line = np.concatenate([hline, vline])
    cls = np.full(len(u), 3, dtype=np.int8)  # 0 primary 1 secondary 2 tertiary 3 local
    cls[line % 4 == 0] = 2
    cls[line % 8 == 0] = 1
    cls[line % 24 == 0] = 0
    keep = (cls < 3) | (rng.random(len(u)) > 0.30)
    u, v, cls = u[keep], v[keep], cls[keep]
    oneway = (cls == 3) & (rng.random(len(u)) < 0.03)
    flip = oneway & (rng.random(len(u)) < 0.5)
    u, v = np.where(flip, v, u), np.where(flip, u, v)
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    names = np.array(["primary", "secondary", "tertiary", "residential"])
    speeds = np.array([60.0, 50.0, 35.0, 20.0])
    two = ~oneway
    return {
        "x": x, "y": y,
        "u": np.concatenate([u, v[two]]), "v": np.concatenate([v, u[two]]),
        "length": np.concatenate([length, length[two]]),
        "highway": names[np.concatenate([cls, cls[two]])],
        "speed": speeds[np.concatenate([cls, cls[two]])],
        "oneway": np.concatenate([oneway, oneway[two]]),
    }


def to_graph(a: dict[str, np.ndarray]) -> nx.MultiDiGraph:
    """The network as an osmnx-style MultiDiGraph (edge travel_time in seconds)."""
    G = nx.MultiDiGraph(crs=CRS)
    G.add_nodes_from((i, {"x": float(xx), "y": float(yy)})
                     for i, (xx, yy) in enumerate(zip(a["x"], a["y"], strict=True)))
    tt = a["length"] / (a["speed"] / 3.6)
    G.add_edges_from(
        (int(u), int(v), 0, {"length": float(ln), "highway": str(h), "oneway": bool(o),
                             "speed_kph": float(s), "travel_time": float(t)})
        for u, v, ln, h, o, s, t in zip(a["u"], a["v"], a["length"], a["highway"],
                                        a["oneway"], a["speed"], tt, strict=True))
    return G


def points(a: dict[str, np.ndarray], n: int, seed: int) -> np.ndarray:
    """``n`` points near random nodes (within 150 m), as (x, y)."""
    rng = np.random.default_rng(seed)
    at = rng.choice(len(a["x"]), n, replace=False)
    return np.column_stack([a["x"][at] + rng.uniform(-150, 150, n),
                            a["y"][at] + rng.uniform(-150, 150, n)])


def layers(a: dict[str, np.ndarray], n_villages: int, n_units: int,
           seed: int = 7) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Villages (id, name, township, kind, population) and units (id, name, kind, ...)."""
    rng = np.random.default_rng(seed)
    vp = points(a, n_villages, seed)
    side = math.isqrt(len(a["x"]))
    town = (vp[:, 0] // (side * SPACING_M / 10)).astype(int) * 10 + \
        (vp[:, 1] // (side * SPACING_M / 10)).astype(int)
    villages = gpd.GeoDataFrame({
        "id": [f"V{i:05d}" for i in range(n_villages)],
        "name": [f"村{i}" for i in range(n_villages)],
        "township": [f"镇{t:03d}" for t in town],
        "kind": np.where(rng.random(n_villages) < 0.1, "community", "village"),
        "population": rng.lognormal(6.5, 0.8, n_villages).round().astype(int),
    }, geometry=shapely.points(vp), crs=CRS)
    up = points(a, n_units, seed + 1)
    kinds = list(UNIT_MIX)
    counts = [round(UNIT_MIX[k] * n_units) for k in kinds]
    counts[0] += n_units - sum(counts)
    kind = np.repeat(kinds, counts)
    units = gpd.GeoDataFrame({
        "id": [f"U{i:05d}" for i in range(n_units)],
        "name": [f"单位{i}" for i in range(n_units)],
        "kind": kind,
        "township": "镇000",
        "turnout_min": np.where(np.char.startswith(kind.astype(str), "shelter"), 0.0, 2.0),
        "layer": "teams",
    }, geometry=shapely.points(up), crs=CRS)
    return villages, units


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--villages", type=int, default=20_000)
    ap.add_argument("--units", type=int, default=2_000)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    t = time.perf_counter()
    a = road_arrays(args.nodes)
    G = to_graph(a)
    v, u = layers(a, args.villages, args.units)
    deg = np.bincount(np.concatenate([a["u"], a["v"]])) / 2
    print(f"{G.number_of_nodes():,} nodes, {G.number_of_edges():,} directed edges, mean "
          f"junction degree {deg.mean():.2f}, {len(v):,} villages, {len(u):,} units "
          f"({time.perf_counter() - t:.1f} s)")
    if args.out:
        with args.out.open("wb") as fh:
            pickle.dump((G, v, u), fh, protocol=5)


if __name__ == "__main__":
    main()
