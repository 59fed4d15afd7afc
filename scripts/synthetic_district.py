"""Write a synthetic district folder: an OSM .pbf road network and every layer, for benchmarks.

The roads are the jittered grid of ``synthetic_network.road_arrays`` (about N junctions,
120 m apart, a road hierarchy, 30% of the local streets missing, 3% one-way), written as OSM
ways with one shape node in the middle of each, some with a ``maxspeed`` tag; WGS-84
coordinates come from a UTM zone in China (EPSG:32650, around 117.4 E). The layers: villages
in townships (a grid of township polygons), units of every team kind, stockpiles, shelters and
three hazards (two flood bands that close roads, a forest fire that slows them). Deterministic
(seeded). Several districts can share one road file (``--districts``): the province case.

Usage::

    python scripts/synthetic_district.py OUT --nodes 100000 --villages 1500 --units 300
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_network as syn

TEAM_MIX = {"micro_fire_station": 0.30, "village_team": 0.25, "township_rescue_team": 0.08,
            "fire_station": 0.04, "forest_fire_team": 0.05, "medical": 0.08,
            "township_fire_brigade": 0.02}
TO_WGS84 = Transformer.from_crs(syn.CRS, "EPSG:4326", always_xy=True)
#: Offset (metres) added to the grid so that it lies in the UTM zone's valid area in China.
ORIGIN = (350_000.0, 3_300_000.0)


def write_pbf(path: Path, a: dict[str, np.ndarray], seed: int = 3) -> tuple[int, int]:
    """Write the grid as OSM ways (one shape node in each), return (nodes, ways) written."""
    import osmium

    rng = np.random.default_rng(seed)
    x, y = a["x"] + ORIGIN[0], a["y"] + ORIGIN[1]
    lon, lat = TO_WGS84.transform(x, y)
    # one way per road segment between junctions: keep one direction of each two-way pair
    u, v, hwy, oneway = a["u"], a["v"], a["highway"], a["oneway"]
    first = np.ones(len(u), dtype=bool)
    two = ~oneway
    pair = np.column_stack([np.minimum(u, v), np.maximum(u, v)])
    _, idx = np.unique(pair[two], axis=0, return_index=True)
    keep_two = np.zeros(int(two.sum()), dtype=bool)
    keep_two[idx] = True
    first[two] = keep_two
    sel = np.flatnonzero(first)
    mx = (x[u[sel]] + x[v[sel]]) / 2 + rng.uniform(-8, 8, len(sel))
    my = (y[u[sel]] + y[v[sel]]) / 2 + rng.uniform(-8, 8, len(sel))
    mlon, mlat = TO_WGS84.transform(mx, my)
    n = len(x)
    maxspeed = rng.random(len(sel)) < 0.15
    with osmium.SimpleWriter(str(path), overwrite=True) as w:
        for i in range(n):
            w.add_node(osmium.osm.mutable.Node(id=i + 1, location=(float(lon[i]),
                                                                   float(lat[i]))))
        for k in range(len(sel)):
            w.add_node(osmium.osm.mutable.Node(id=n + k + 1, location=(float(mlon[k]),
                                                                       float(mlat[k]))))
        for k, e in enumerate(sel):
            tags = {"highway": str(hwy[e])}
            if oneway[e]:
                tags["oneway"] = "yes"
            if maxspeed[k] and hwy[e] in ("primary", "secondary"):
                tags["maxspeed"] = "60" if hwy[e] == "primary" else "40"
            w.add_way(osmium.osm.mutable.Way(id=k + 1, nodes=[int(u[e]) + 1, n + k + 1,
                                                             int(v[e]) + 1], tags=tags))
    return n + len(sel), len(sel)


def _lonlat(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = TO_WGS84.transform(xy[:, 0] + ORIGIN[0], xy[:, 1] + ORIGIN[1])
    return np.asarray(lon), np.asarray(lat)


def _ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """A rectangle of grid metres as a WGS-84 ring."""
    ox, oy = ORIGIN
    xs, ys = TO_WGS84.transform([x0 + ox, x1 + ox, x1 + ox, x0 + ox, x0 + ox],
                                [y0 + oy, y0 + oy, y1 + oy, y1 + oy, y0 + oy])
    return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(xs, ys, strict=True)]


def write_layers(folder: Path, a: dict[str, np.ndarray], *, villages: int, units: int,
                 townships: int, box: tuple[float, float, float, float], seed: int,
                 roads: str, name: str) -> None:
    """Every layer and district.toml of a district covering ``box`` (grid metres)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    x0, y0, x1, y1 = box
    inside = np.flatnonzero((a["x"] >= x0) & (a["x"] < x1) & (a["y"] >= y0) & (a["y"] < y1))

    def pts(k: int) -> np.ndarray:
        at = rng.choice(inside, k, replace=len(inside) < k)
        return np.column_stack([a["x"][at] + rng.uniform(-150, 150, k),
                                a["y"][at] + rng.uniform(-150, 150, k)])

    cols = max(1, int(math.sqrt(townships)))
    rows = math.ceil(townships / cols)
    tw, th = (x1 - x0) / cols, (y1 - y0) / rows
    feats = []
    for t in range(townships):
        cx, cy = t % cols, t // cols
        feats.append({"type": "Feature", "properties": {
            "name": f"{name}镇{t:02d}", "office_fulltime_staff": int(rng.integers(1, 6)),
            "station_posts": int(rng.integers(3, 9)),
            "station_fulltime_posts": int(rng.integers(0, 4)),
            "builtup_km2": round(float(rng.uniform(0.5, 8)), 2)},
            "geometry": {"type": "Polygon", "coordinates": [_ring(
                x0 + cx * tw, y0 + cy * th,
                # the last township takes the rest of its row (its villages lie there too)
                x1 if t == townships - 1 else x0 + (cx + 1) * tw,
                min(y1, y0 + (cy + 1) * th))]}})
    (folder / "townships.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": feats}, ensure_ascii=False), "utf-8")

    def town_of(xy: np.ndarray) -> np.ndarray:
        cx = np.clip(((xy[:, 0] - x0) // tw).astype(int), 0, cols - 1)
        cy = np.clip(((xy[:, 1] - y0) // th).astype(int), 0, rows - 1)
        t = np.minimum(cy * cols + cx, townships - 1)
        return np.array([f"{name}镇{i:02d}" for i in t])

    vp = pts(villages)
    lon, lat = _lonlat(vp)
    town = town_of(vp)
    kind = np.where(rng.random(villages) < 0.1, "社区", "村")
    pop = rng.lognormal(6.5, 0.8, villages).round().astype(int)
    lines = ["id,name,township,kind,population,service_centre_staff,drills_per_year,lon,lat"]
    lines += [f"{name}V{i:05d},{name}村{i},{town[i]},{kind[i]},{pop[i]},"
              f"{rng.integers(0, 3)},{rng.integers(0, 4)},{lon[i]:.7f},{lat[i]:.7f}"
              for i in range(villages)]
    (folder / "villages.csv").write_text("\n".join(lines) + "\n", "utf-8")
    n_stock = max(1, round(units * 0.10))
    n_shelter = max(2, round(units * 0.10))
    n_team = max(1, units - n_stock - n_shelter)
    kinds = list(TEAM_MIX)
    counts = [max(1, round(TEAM_MIX[k] / sum(TEAM_MIX.values()) * n_team)) for k in kinds]
    tk = np.repeat(kinds, counts)
    up = pts(len(tk))
    lon, lat = _lonlat(up)
    town = town_of(up)
    head = rng.integers(4, 40, len(tk))
    lines = ["id,name,kind,headcount,township,drills_per_year,lon,lat"]
    lines += [f"{name}T{i:04d},{name}队{i},{tk[i]},{head[i]},{town[i]},{rng.integers(0, 4)},"
              f"{lon[i]:.7f},{lat[i]:.7f}" for i in range(len(tk))]
    (folder / "teams.csv").write_text("\n".join(lines) + "\n", "utf-8")
    sp = pts(n_stock)
    lon, lat = _lonlat(sp)
    town = town_of(sp)
    lines = ["id,name,level,township,lon,lat"]
    lines += [f"{name}S{i:03d},{name}储备点{i},township,{town[i]},{lon[i]:.7f},{lat[i]:.7f}"
              for i in range(n_stock)]
    (folder / "stockpiles.csv").write_text("\n".join(lines) + "\n", "utf-8")
    shp = pts(n_shelter)
    lon, lat = _lonlat(shp)
    town = town_of(shp)
    feats = [{"type": "Feature", "properties": {
        "id": f"{name}H{i:03d}", "name": f"{name}避难场所{i}",
        "kind": "emergency" if i % 3 else "fixed", "capacity": int(rng.integers(200, 3000)),
        "township": str(town[i])},
        "geometry": {"type": "Point", "coordinates": [round(float(lon[i]), 7),
                                                      round(float(lat[i]), 7)]}}
        for i in range(n_shelter)]
    (folder / "shelters.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": feats}, ensure_ascii=False), "utf-8")
    w, h = x1 - x0, y1 - y0
    hazards = [
        ("F1", "河道洪水一", "flood", "closed", (x0, y0 + 0.30 * h, x1, y0 + 0.30 * h + 250)),
        ("F2", "河道洪水二", "flood", "closed", (x0 + 0.60 * w, y0, x0 + 0.60 * w + 250, y1)),
        ("W1", "山林火灾", "forest_fire", "slowed",
         (x0 + 0.10 * w, y0 + 0.55 * h, x0 + 0.45 * w, y0 + 0.90 * h)),
    ]
    feats = [{"type": "Feature", "properties": {
        "id": f"{name}{hid}", "name": hn, "kind": kind_, "effect": eff,
        **({"speed_factor": 0.4} if eff == "slowed" else {})},
        "geometry": {"type": "Polygon", "coordinates": [_ring(*b)]}}
        for hid, hn, kind_, eff, b in hazards]
    (folder / "hazards.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": feats}, ensure_ascii=False), "utf-8")
    (folder / "district.toml").write_text(f"""# synthetic district (scripts/synthetic_district.py)
[district]
name = "{name}"
crs = "EPSG:4326"
credit = "synthetic roads (illustrative)"

[layers.villages]
path = "villages.csv"

[layers.townships]
path = "townships.geojson"

[layers.teams]
path = "teams.csv"

[layers.stockpiles]
path = "stockpiles.csv"

[layers.shelters]
path = "shelters.geojson"

[layers.hazards]
path = "hazards.geojson"

[roads]
path = "{roads}"

[network]
clip_buffer_m = 3000
""", "utf-8")


def write_district(out: Path, *, nodes: int, villages: int, units: int, townships: int = 20,
                   seed: int = 42) -> Path:
    """One district on its own road file ``roads.osm.pbf``."""
    out.mkdir(parents=True, exist_ok=True)
    a = syn.road_arrays(nodes, seed=seed)
    write_pbf(out / "roads.osm.pbf", a)
    box = (float(a["x"].min()), float(a["y"].min()), float(a["x"].max()),
           float(a["y"].max()))
    write_layers(out, a, villages=villages, units=units, townships=townships, box=box,
                 seed=seed + 1, roads="roads.osm.pbf", name="县")
    return out


def kept_district(folder: Path | None, *, nodes: int, villages: int, units: int,
                  townships: int = 20, prefix: str = "emgis-county") -> Path:
    """The benchmarks' district: ``folder`` (default ``<temp>/<prefix>-<nodes>-<villages>-
    <units>``), written by :func:`write_district` unless its ``district.toml`` is there (kept
    between runs, with its network cache)."""
    import tempfile

    folder = folder or Path(tempfile.gettempdir()) / f"{prefix}-{nodes}-{villages}-{units}"
    if not (folder / "district.toml").exists():
        t = time.perf_counter()
        write_district(folder, nodes=nodes, villages=villages, units=units, townships=townships)
        print(f"wrote the synthetic district {folder} in {time.perf_counter() - t:.0f} s")
    return folder


def county_options(ap: argparse.ArgumentParser) -> None:
    """The county benchmarks' district options (``--nodes --villages --units --townships
    --dir``) and ``--repeat``, with the county's sizes as defaults (:func:`county_from`)."""
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--villages", type=int, default=1_500)
    ap.add_argument("--units", type=int, default=300)
    ap.add_argument("--townships", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, help="the district folder (kept; default: temporary)")


def county_from(args: argparse.Namespace) -> Path:
    """The district of :func:`county_options`' arguments (:func:`kept_district`)."""
    return kept_district(args.dir, nodes=args.nodes, villages=args.villages, units=args.units,
                         townships=args.townships)


def write_province(out: Path, *, nodes: int, districts: int, villages: int, units: int,
                   townships: int = 10, seed: int = 42) -> list[Path]:
    """``districts`` districts side by side, sharing one provincial road file."""
    out.mkdir(parents=True, exist_ok=True)
    a = syn.road_arrays(nodes, seed=seed)
    write_pbf(out / "province.osm.pbf", a)
    cols = max(1, int(math.sqrt(districts)))
    rows = math.ceil(districts / cols)
    X0, Y0, X1, Y1 = a["x"].min(), a["y"].min(), a["x"].max(), a["y"].max()
    dw, dh = (X1 - X0) / cols, (Y1 - Y0) / rows
    folders = []
    for k in range(districts):
        cx, cy = k % cols, k // cols
        box = (float(X0 + cx * dw), float(Y0 + cy * dh), float(X0 + (cx + 1) * dw),
               float(Y0 + (cy + 1) * dh))
        f = out / f"d{k:02d}"
        write_layers(f, a, villages=villages, units=units, townships=townships, box=box,
                     seed=seed + 10 + k, roads="../province.osm.pbf", name=f"D{k:02d}")
        folders.append(f)
    return folders


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--villages", type=int, default=1_500)
    ap.add_argument("--units", type=int, default=300)
    ap.add_argument("--townships", type=int, default=20)
    ap.add_argument("--districts", type=int, default=1,
                    help="several districts sharing one road file (a province)")
    args = ap.parse_args()
    t = time.perf_counter()
    if args.districts > 1:
        write_province(args.out, nodes=args.nodes, districts=args.districts,
                       villages=args.villages, units=args.units, townships=args.townships)
    else:
        write_district(args.out, nodes=args.nodes, villages=args.villages, units=args.units,
                       townships=args.townships)
    print(f"wrote {args.out} in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
