"""The ``emgis`` command: a thin shell over the Python API.

Subcommands: ``validate DISTRICT``, ``network DISTRICT``, ``run DISTRICT --out DIR``.
Exit codes: 0 success, 2 the input has errors (all of them are printed), 1 anything else.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from emgis._errors import DistrictError, EmgisError, ValidationError
from emgis.district import District, ValidationReport, summary, validate_district
from emgis.network import EdgeArrays
from emgis.siting import METHODS, MODELS

if TYPE_CHECKING:
    import pandas as pd

    from emgis.jobs import CoverageOutputs, ScenarioOutputs
    from emgis.siting import SitingResult

log = logging.getLogger("emgis")


def _print_problems(report: ValidationReport) -> None:
    for p in report.problems:
        print(f"  {p}", file=sys.stderr if p.level == "error" else sys.stdout)


def _print_summary(district: District) -> None:
    s = summary(district)
    print(f"District: {s['name']}")
    print(f"  CRS: {s['crs']} ({s['crs_name']})")
    e = s["extent_wgs84"]
    print(f"  Extent (WGS-84): lon {e[0]} to {e[2]}, lat {e[1]} to {e[3]}")
    print(f"  Population: {s['population']:,} persons in {len(district.villages)} villages")
    for layer, kinds in s["layers"].items():
        total = sum(kinds.values())
        detail = ", ".join(f"{k} {v}" for k, v in kinds.items() if k != "all")
        print(f"  {layer:<11} {total:>5}" + (f"  ({detail})" if detail else ""))
    if district.roads is not None:
        print(f"  roads: {district.roads.path.name} ({district.roads.format})")


def _validate(path: str) -> District:
    report = validate_district(path)
    if report.problems:
        print(f"{len(report.errors)} error(s), {len(report.problems) - len(report.errors)} "
              "warning(s):")
        _print_problems(report)
    if report.district is None:
        raise ValidationError(list(report.problems))
    return report.district


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a district folder and print its summary."""
    district = _validate(args.district)
    _print_summary(district)
    print("OK: no errors")
    return 0


def _network(district: District, *, use_cache: bool) -> nx.MultiDiGraph:
    from emgis.network import load_network, summarize_network

    t0 = time.perf_counter()
    G, cache = load_network(district, use_cache=use_cache)
    s = summarize_network(G)
    print(f"Road network: {s.nodes:,} nodes, {s.edges:,} directed edges "
          f"({time.perf_counter() - t0:.1f} s)")
    print(f"  components: {s.components} weakly connected (largest {s.largest_component:,} "
          f"nodes), {s.strong_components} strongly connected")
    print(f"  km of road per class: {sum(s.km_by_class.values()):.1f} km in all")
    for cls, km in s.km_by_class.items():
        print(f"    {cls:<16} {km:>8.1f}")
    print(f"  cache: {cache if cache else 'not used'}")
    _access(district, G)
    return G


def _access(district: District, G: nx.MultiDiGraph) -> None:
    from emgis.snapping import snap_points

    for name in ("villages", "teams", "stockpiles", "shelters"):
        gdf = getattr(district, name)
        if len(gdf) == 0:
            continue
        snaps = snap_points(G, gdf.geometry, settings=district.settings)
        counts = snaps["status"].value_counts()
        print(f"  {name}: {counts.get('ok', 0)} attached to roads, "
              f"{counts.get('no_road_access', 0)} no road access, "
              f"{counts.get('cut_off', 0)} cut off")
        for uid, uname, status, access in zip(gdf["id"], gdf["name"], snaps["status"],
                                              snaps["access_m"], strict=True):
            if status != "ok":
                print(f"    {uid} {uname}: {status} ({float(access):.0f} m from a road)")


def cmd_network(args: argparse.Namespace) -> int:
    """Build (or load from cache) the district's road network and print its summary."""
    district = _validate(args.district)
    _network(district, use_cache=not args.no_cache)
    return 0


def _coverage(district: District, network: nx.MultiDiGraph | EdgeArrays, out: Path,
              lang: str) -> CoverageOutputs:
    from emgis.jobs import coverage_job

    print("Coverage:")
    res = coverage_job(district, network, out, lang=lang, progress=True)
    s = res.summary
    print(f"  {'kind':<22} {'target':>6} {'covered':>8} {'over':>5} {'cut off':>7} "
          f"{'no road':>7} {'pop. covered':>12}")
    for r in s.to_dict("records"):
        kind = str(r["kind"])
        if r["villages_no_unit"] == r["villages"]:
            print(f"  {kind:<22} {'':>6} no unit of this kind")
            continue
        target = district.settings.targets[kind].value
        print(f"  {kind:<22} {target:>6g} {r['villages_covered']:>8} "
              f"{r['villages_over_target']:>5} {r['villages_cut_off']:>7} "
              f"{r['villages_no_road_access']:>7} {r['share_covered']:>11.1%}")
    for f in res.files:
        print(f"  wrote {f}")
    return res


def _check(district: District, out: Path) -> pd.DataFrame:
    from emgis.compliance import summary_table
    from emgis.jobs import compliance_job

    print("Compliance with the standards' minimums:")
    findings, path = compliance_job(district, out)
    s = summary_table(findings)
    print(f"  {'rule':<36} {'meets':>6} {'below':>6} {'missing':>8} {'not recorded':>13}")
    for r in s.to_dict("records"):
        print(f"  {r['rule']:<36} {r['meets']:>6} {r['below']:>6} {r['missing']:>8} "
              f"{r['not_recorded']:>13}")
    print(f"  wrote {path}")
    return findings


def _scenarios(district: District, edges: EdgeArrays, out: Path, lang: str,
               names: Sequence[str] | None, hazards: Sequence[str] | None,
               baseline: pd.DataFrame | None = None) -> ScenarioOutputs | None:
    from emgis.jobs import scenarios_job
    from emgis.scenario import Scenario

    chosen = list(district.scenarios)
    if hazards:  # ids or names of the hazards layer
        hz = district.hazards
        by_name = dict(zip(hz["name"].astype(str), hz["id"].astype(str), strict=True))
        ids = [by_name.get(h, h) for h in hazards]
        chosen = [Scenario("_".join(ids), tuple(ids))]
    elif names:
        known = {s.name: s for s in chosen}
        missing = [n for n in names if n not in known]
        if missing:
            raise DistrictError(f"no scenario {', '.join(missing)} in district.toml; expected "
                                f"one of {', '.join(known) or 'none'} (or use --hazard ID)")
        chosen = [known[n] for n in names]
    if not chosen:
        print("Scenarios: none (no hazards layer and no [scenarios] in district.toml)")
        return None
    print("Scenarios:")
    res = scenarios_job(district, edges, out, tuple(chosen), baseline=baseline, lang=lang,
                        progress=True)
    print(f"  {'scenario':<16} {'losing cover':>12} {'cut off':>8} {'to evacuate':>12} "
          f"{'evacuated':>10} {'no place':>9}  (persons)")
    for r in res.comparison.to_dict("records"):
        print(f"  {r['scenario']:<16} {r['population_losing_cover']:>12,} "
              f"{r['population_cut_off']:>8,} {r['population_to_evacuate']:>12,} "
              f"{r['population_evacuated']:>10,} {r['population_unsheltered']:>9,}")
    for f in res.files:
        print(f"  wrote {f}")
    return res


def cmd_scenario(args: argparse.Namespace) -> int:
    """Hazard scenarios: roads closed or slowed, coverage lost, evacuation to shelters."""
    from emgis.network import load_network_arrays

    district = _validate(args.district)
    edges, _ = load_network_arrays(district)
    _scenarios(district, edges, Path(args.out), args.lang, args.name, args.hazard)
    return 0


def _site(district: District, edges: EdgeArrays, out: Path, kind: str, *, add: int | None,
          cover_all: bool, model: str, method: str, lang: str,
          capacity: float | None = None, time_limit: float = 300.0) -> SitingResult:
    from emgis.jobs import siting_job

    what = "cover every reachable village" if cover_all else f"add {add} ({model})"
    print(f"Siting {kind}: {what} ...", flush=True)
    r, files = siting_job(district, edges, out, kind, add=add, cover_all=cover_all,
                          model=model, method=method, lang=lang, capacity=capacity,
                          time_limit=time_limit)
    s = r.solution
    gap = f", within {s.gap:.2%} of the proven bound" if s.gap is not None else ""
    print(f"  {s.model} by {s.method}: {s.status} in {s.seconds:.2f} s{gap}")
    for p in r.proposals.itertuples(index=False):
        before = "#1" if p.rank == 2 else f"#1-#{p.rank - 1}"
        together = "saves" if p.rank == 1 else f"with {before} saves"
        saved = (f"; {together} {p.gain:,.0f} person-minutes" if s.model == "p_median" else "")
        print(f"  #{p.rank} {p.site_id} {p.name}: +{p.newly_covered_population:,} persons "
              f"within {r.target_min:g} min{saved}")
    if len(r.unreachable):
        print(f"  {len(r.unreachable)} villages no candidate reaches within "
              f"{r.target_min:g} min (listed with their best time)")
    for f in files:
        print(f"  wrote {f}")
    return r


def cmd_site(args: argparse.Namespace) -> int:
    """Propose sites for new units of a kind (existing ones stay)."""
    from emgis.network import load_network_arrays
    from emgis.siting import check_request

    check_request(args.model, method=args.method, cover_all=args.cover_all,
                  capacity=args.capacity)
    district = _validate(args.district)
    if args.kind not in district.settings.targets:
        raise DistrictError(f"--kind {args.kind}: no target for it; expected one of "
                            f"{', '.join(district.settings.targets)}")
    edges, _ = load_network_arrays(district)
    _site(district, edges, Path(args.out), args.kind, add=args.add, cover_all=args.cover_all,
          model=args.model, method=args.method, lang=args.lang, capacity=args.capacity,
          time_limit=args.time_limit)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check the organisational minimums; write compliance.csv under --out."""
    district = _validate(args.district)
    _check(district, Path(args.out))
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    """Response times, coverage and gaps for every unit kind; tables and a map under --out."""
    from emgis.network import load_network, load_network_arrays

    district = _validate(args.district)
    network = (load_network_arrays(district)[0] if not args.no_cache
               else load_network(district, use_cache=False)[0])
    _coverage(district, network, Path(args.out), args.lang)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the whole job: validate, build the network, and write the outputs under --out."""
    from emgis.jobs import report_job

    district = _validate(args.district)
    _print_summary(district)
    print("Road network:", flush=True)
    G = _network(district, use_cache=not args.no_cache)
    from emgis.network import edge_arrays

    out = Path(args.out)
    cov = _coverage(district, G, out, args.lang)
    findings = _check(district, out)
    edges = cov.result.edges if cov else edge_arrays(G)
    sc = _scenarios(district, edges, out, args.lang, None, None, baseline=cov.result.table)
    sites = [_site(district, edges, out, "micro_fire_station", add=3, cover_all=False,
                   model="max_covering", method="milp", lang=args.lang),
             _site(district, edges, out, "stockpile", add=1, cover_all=False,
                   model="p_median", method="milp", lang=args.lang)]
    print("Report:")
    path = report_job(district, out, coverage=cov, compliance=findings, scenarios=sc,
                      sites=sites, lang=args.lang)
    print(f"  wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``emgis`` command."""
    parser = argparse.ArgumentParser(
        prog="emgis",
        description="Grassroots emergency response coverage planner.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check a district folder and print a summary")
    p.add_argument("district", help="district folder with district.toml")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("network", help="build the road network and print its summary")
    p.add_argument("district")
    p.add_argument("--no-cache", action="store_true", help="rebuild, ignoring the cache")
    p.set_defaults(func=cmd_network)
    p = sub.add_parser("scenario", help="hazard scenarios: closed roads, lost cover, evacuation")
    p.add_argument("district")
    p.add_argument("--out", default="maps", help="output folder (default: maps)")
    p.add_argument("--name", action="append", help="a scenario of district.toml (repeatable; "
                   "default: all of them)")
    p.add_argument("--hazard", action="append", help="hazard id: one scenario of these hazards "
                   "(repeatable)")
    p.add_argument("--lang", choices=("en", "zh"), default="en")
    p.set_defaults(func=cmd_scenario)
    p = sub.add_parser("site", help="where new units of a kind do the most good")
    p.add_argument("district")
    p.add_argument("--kind", default="micro_fire_station")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--add", type=int, default=3, help="number of new sites (default 3)")
    g.add_argument("--cover-all", action="store_true",
                   help="the fewest sites covering every reachable village")
    p.add_argument("--model", choices=MODELS, default="max_covering")
    p.add_argument("--capacity", type=float, help="persons a new site can serve "
                   "(capacitated_covering)")
    p.add_argument("--method", choices=METHODS, default="milp")
    p.add_argument("--time-limit", type=float, default=300.0, metavar="SECONDS",
                   help="for the exact solver; when reached, the better of its best solution "
                   "and the heuristic's is kept, with the proven bound (default 300)")
    p.add_argument("--out", default="maps", help="output folder (default: maps)")
    p.add_argument("--lang", choices=("en", "zh"), default="en")
    p.set_defaults(func=cmd_site)
    p = sub.add_parser("check", help="check the organisational minimums, township by township")
    p.add_argument("district")
    p.add_argument("--out", default="maps", help="output folder (default: maps)")
    p.set_defaults(func=cmd_check)
    for name, func, text in (
        ("coverage", cmd_coverage, "response times, coverage and gaps, with a map"),
        ("run", cmd_run, "run the whole job and write maps, tables and the report"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("district")
        p.add_argument("--out", default="maps", help="output folder (default: maps)")
        p.add_argument("--lang", choices=("en", "zh"), default="en",
                       help="language of maps and reports (default: en)")
        p.add_argument("--no-cache", action="store_true", help="rebuild the network")
        p.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``emgis`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.quiet else (logging.DEBUG if args.verbose > 1
                                                else logging.INFO if args.verbose else
                                                logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ValidationError:
        print("Stopped: fix the errors above and run again.", file=sys.stderr)
        return 2
    except EmgisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1


if __name__ == "__main__":
    sys.exit(main())
