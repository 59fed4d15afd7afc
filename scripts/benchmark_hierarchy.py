"""Time the what-if page's searches by Dijkstra and by the contraction hierarchy.

For one kind of a district (default the stockpiles, whose 60-minute target reaches most of a
county from every source), takes the page's sources (the kind's existing units and its
candidate sites) and graphs (the baseline and each scenario's), and answers the pairs within
the target on every graph twice, in turn and on one thread each: by a bounded Dijkstra search
per source and graph (:func:`emgis.roads.routing.pairs_within`) and by one customizable
contraction hierarchy for all the graphs (:func:`emgis.roads.hierarchy.pairs_within_cch`),
with the time of each of its parts. Checks that both give the same pairs and minutes within
1e-9, and prints the figures (CPU seconds: one thread each).

Usage::

    python scripts/benchmark_hierarchy.py /tmp/emgis-county-100000-1500-300
    python scripts/benchmark_hierarchy.py DISTRICT --kind stockpile --candidates 0
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("district")
    ap.add_argument("--kind", default="stockpile")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--candidates", type=int, default=200,
                    help="candidate sites taken, evenly spaced (a county's stockpile page "
                         "holds 168 of 1,770; 0: all)")
    args = ap.parse_args(argv)

    import emgis
    import emgis.roads.hierarchy as hier
    from emgis.analysis.siting import candidate_sites
    from emgis.inputs.kinds import mode_of, target_of, towards_unit, units_of
    from emgis.roads.routing import pairs_within

    plan = emgis.open(args.district)
    s = plan.district.settings
    kind = args.kind
    eng = plan.engine
    mode = mode_of(kind, s)
    back = towards_unit(kind)
    graphs = [eng.graph(mode, reverse=back)] + [sc.engine.graph(mode, reverse=back)
                                                for sc in plan.siting_scenarios()]
    units = units_of(plan.district)
    sel = np.flatnonzero((units["kind"] == kind).to_numpy())
    cand, _ = candidate_sites(plan.district, kind)
    if 0 < args.candidates < len(cand):
        pick = np.unique(np.linspace(0, len(cand) - 1, args.candidates).astype(int))
        cand = cand.iloc[pick].reset_index(drop=True)
    src = np.concatenate([eng.unit_loc[sel], cand["loc"].to_numpy(dtype=np.int64)])
    turnout = 0.0 if back else (float(s.turnout[kind].value) if kind in s.turnout else 0.0)
    off = np.concatenate([units["turnout_min"].to_numpy(dtype=float)[sel],
                          np.full(len(cand), turnout)])
    target = target_of(kind, s)
    xy = eng.node_xy(np.arange(graphs[0].n_nodes), mode)
    print(f"{args.district}: {graphs[0].n_nodes:,} nodes, {len(graphs)} graphs, "
          f"{len(src)} sources ({len(sel)} units, {len(cand)} candidates), "
          f"{len(eng.village_loc):,} villages, kind {kind}, target {target:g} min")

    parts: dict[str, float] = {}
    for name in ("nd_order_xy", "contract", "downward", "select", "customize", "cch_pairs"):
        real: Callable[..., Any] = getattr(hier, name)

        def timed(*a: Any, _real: Callable[..., Any] = real, _name: str = name) -> Any:
            t = time.perf_counter()
            out = _real(*a)
            parts[_name] = parts.get(_name, 0.0) + time.perf_counter() - t
            return out

        setattr(hier, name, timed)

    def dijkstra() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return [pairs_within(g, src, limits=target, offsets=off, targets=eng.village_loc,
                             workers=1) for g in graphs]

    def cch() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return hier.pairs_within_cch(graphs, src, limits=target, offsets=off,
                                     targets=eng.village_loc, xy=xy, workers=1)

    cch()  # compiles or loads the kernels
    dijkstra()
    times: dict[str, list[float]] = {"dijkstra": [], "hierarchy": []}
    got = want = None
    for _ in range(args.repeat):
        parts.clear()
        t = time.perf_counter()
        want = dijkstra()
        times["dijkstra"].append(time.perf_counter() - t)
        t = time.perf_counter()
        got = cch()
        times["hierarchy"].append(time.perf_counter() - t)
    assert got is not None and want is not None
    n_pairs = 0
    for (gs, gt, gc), (ws, wt, wc) in zip(got, want, strict=True):
        if not (np.array_equal(gs, ws) and np.array_equal(gt, wt)
                and np.allclose(gc, wc, rtol=0, atol=1e-9)):
            print("the hierarchy's pairs differ from the searches'", file=sys.stderr)
            return 1
        n_pairs += len(gs)
    print(f"the same {n_pairs:,} pairs on the {len(graphs)} graphs (minutes within 1e-9)")
    for name, ts in times.items():
        print(f"{name:10s} min {min(ts):.3f} / median {statistics.median(ts):.3f} s "
              f"({args.repeat} runs, one thread)")
    print("hierarchy's parts in the last run: "
          + ", ".join(f"{k} {v:.3f} s" for k, v in parts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
