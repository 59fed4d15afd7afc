"""Time the validation of a district with many villages (issue: 100,000 took 75 s).

Writes a district folder with N villages (CSV, WGS-84), a townships polygon, a few teams and
no roads, then times :func:`emgis.validate_district` (reading, decoding, every record's
checks, the extent check) in this process, best of ``--repeat``.

Usage::

    python scripts/benchmark_validation.py --villages 100000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def write_district(root: Path, n: int, seed: int = 1) -> Path:
    """A district of ``n`` villages in a 1 x 1 degree box around (113.5, 30.5)."""
    rng = np.random.default_rng(seed)
    lon = 113.0 + rng.random(n)
    lat = 30.0 + rng.random(n)
    pop = rng.integers(50, 5000, n)
    kind = np.where(rng.random(n) < 0.1, "社区", "村")
    towns = [f"镇{i:02d}" for i in range(20)]
    town = np.array(towns)[np.minimum(((lon - 113.0) * 20).astype(int), 19)]
    lines = ["id,name,township,kind,population,lon,lat"]
    lines += [f"V{i},村{i},{town[i]},{kind[i]},{pop[i]},{lon[i]:.6f},{lat[i]:.6f}"
              for i in range(n)]
    (root / "villages.csv").write_text("\n".join(lines) + "\n", "utf-8")
    feats = []
    for i, t in enumerate(towns):
        x0 = 113.0 + i * 0.05
        ring = [[x0, 30.0], [x0 + 0.05, 30.0], [x0 + 0.05, 31.0], [x0, 31.0], [x0, 30.0]]
        feats.append({"type": "Feature", "properties": {"name": t},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    (root / "townships.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": feats}, ensure_ascii=False), "utf-8")
    (root / "district.toml").write_text(
        '[district]\nname = "benchmark"\ncrs = "EPSG:4326"\n\n[layers.villages]\n'
        'path = "villages.csv"\n\n[layers.townships]\npath = "townships.geojson"\n', "utf-8")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from emgis import validate_district

    with tempfile.TemporaryDirectory() as tmp:
        root = write_district(Path(tmp), args.villages)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = validate_district(root)
            times.append(time.perf_counter() - t0)
        assert report.ok, report.errors[:3]
        print(f"validate_district: {args.villages:,} villages, {len(report.problems)} "
              f"problems; best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
              f"of {args.repeat}")


if __name__ == "__main__":
    main()
