"""The subcommands of ``emgis``: each a thin shell over the Python API, printing what it did
(:mod:`emgis.cli` parses the options and calls them)."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emgis import _gc
from emgis._errors import SitingError, ValidationError
from emgis.inputs.standards import SITING_KIND_ALIASES
from emgis.texts import Msg, say

if TYPE_CHECKING:
    import pandas as pd

    from emgis.analysis.force_siting import ForceSitingResult
    from emgis.analysis.quality import DataQuality
    from emgis.analysis.siting import BudgetResult, SitingResult
    from emgis.inputs.district import District, ValidationReport
    from emgis.outputs.folder import OutputDir
    from emgis.plan import Plan
    from emgis.run.jobs import CoverageOutputs, ScenarioOutputs
from emgis._console import LIST_LIMIT, Console

log = logging.getLogger("emgis")

def _print_problems(report: ValidationReport, con: Console, *, limit: int | None = None
                    ) -> None:
    errors = [p for p in report.problems if p.level == "error"]
    warnings = [p for p in report.problems if p.level != "error"]
    for group, show in ((errors, con.warn), (warnings, con.say)):
        for p in group[:limit]:
            show("  " + p.say(con.t))
        if limit is not None and len(group) > limit:
            what = con.t["cli.errors_word" if group is errors else "cli.warnings_word"]
            show(con.fmt("cli.more_problems", n=f"{len(group) - limit:,}", what=what))


def _print_summary(district: District, con: Console) -> None:
    from emgis.inputs.district import summary  # deferred: the command starts without geopandas
    t = con.t
    s = summary(district)
    con.say(con.fmt("cli.district", name=s["name"]))
    con.say(con.fmt("cli.crs", crs=s["crs"], name=s["crs_name"]))
    e = s["extent_wgs84"]
    con.say(con.fmt("cli.extent", x0=e[0], x1=e[2], y0=e[1], y1=e[3]))
    con.say(con.fmt("cli.population_line", population=f"{s['population']:,}",
                    villages=len(district.villages)))
    for layer, kinds in s["layers"].items():
        total = sum(kinds.values())
        sep = "，" if t.lang == "zh" else ", "
        detail = sep.join(f"{_kind_word(t, k)} {v}" for k, v in kinds.items() if k != "all")
        con.say(f"  {_pad(t.get('layer', layer), 15)} {total:>5}"
                + (f"  ({detail})" if detail else ""))
    if district.roads is not None:
        con.say(con.fmt("cli.roads", file=district.roads.path.name,
                        format=t.get("road_format", district.roads.format)))


def _kind_word(t: Any, kind: str) -> str:
    """A kind of any layer in words (unit kinds, village kinds, hazard kinds)."""
    for section in ("kind", "village_kind", "hazard_kind", "layer_kind", "warning_kind"):
        word = t.get(section, kind, "")
        if word:
            return str(word)
    return kind


def _pad(text: str, width: int) -> str:
    """Text padded to a display width (a Chinese character takes two columns)."""
    cols = sum(2 if ord(c) > 0x2E80 else 1 for c in text)
    return text + " " * max(0, width - cols)


def _rpad(text: str, width: int) -> str:
    cols = sum(2 if ord(c) > 0x2E80 else 1 for c in text)
    return " " * max(0, width - cols) + text


def _validate(path: str, con: Console, *, limit: int | None = LIST_LIMIT) -> District:
    from emgis.inputs.district import (
        validate_district,  # deferred: the command starts without geopandas
    )
    report = validate_district(path)
    if report.problems:
        n_err = len(report.errors)
        line = con.fmt("cli.problems", errors=n_err, warnings=len(report.problems) - n_err)
        (con.warn if n_err else con.say)(line)
        _print_problems(report, con, limit=limit)
    if report.district is None:
        exc = ValidationError(list(report.problems))
        exc.shown = True  # type: ignore[attr-defined]
        raise exc
    return report.district


def _open(args: argparse.Namespace, con: Console, *, engine: bool = False) -> Plan:
    """The district of the command, validated, with its road network (``engine``: and the
    engine built, :meth:`emgis.plan.Plan.ready`)."""
    from emgis.inputs.planfile import with_plan  # deferred: the command starts without geopandas
    from emgis.plan import Plan  # deferred: loads networkx, numba, scipy.optimize
    from emgis.roads.cache import (
        cache_path,  # deferred: the command starts without geopandas
        clip_area,
    )
    from emgis.roads.network import load_network_arrays  # deferred: loads numba

    # the modules' objects, alive until the command ends, out of the garbage collections
    # (a county run's start-up spent 0.2 s in collections walking them)
    _gc.freeze()
    district = _validate(args.district, con)
    if getattr(args, "candidates", None):  # --candidates overrides [siting] candidates
        import dataclasses

        s = district.settings
        district = dataclasses.replace(district, settings=dataclasses.replace(
            s, siting=dataclasses.replace(s.siting, candidates=args.candidates)))
    if getattr(args, "plan", None):

        district = with_plan(district, args.plan)
    t0 = time.perf_counter()
    if district.roads is not None and district.roads.path.exists() and (args.no_cache or not (
            cache_path(district.roads, settings=district.settings, crs=district.crs,
                       clip=clip_area(district)).exists())):
        con.say(con.fmt("cli.building", file=district.roads.path.name)
                + ("" if args.no_cache else con.t["cli.cached_next"]) + " ...")
    network, cache = load_network_arrays(district, use_cache=not args.no_cache,
                                         on_wait=con.warn)
    log.info("road network loaded in %.1f s (%s)", time.perf_counter() - t0, cache)
    return Plan.ready(district, network, cache) if engine else Plan(district, network, cache)


def _out(args: argparse.Namespace, command: str, con: Console,
         inputs: Sequence[Path] = ()) -> OutputDir:
    """The --out folder of a command, refusing to write over any of the command's inputs."""
    from emgis.outputs.folder import OutputDir

    plan_file = [Path(args.plan)] if getattr(args, "plan", None) else []
    return OutputDir(args.out, command=command, on_wait=con.warn,
                     inputs=[*inputs, *plan_file])


def cmd_validate(args: argparse.Namespace, con: Console) -> int:
    """Check a district folder and print its summary (and the data quality of its roads when
    the road network is cached)."""
    district = _validate(args.district, con, limit=None)
    _print_summary(district, con)
    _quality_from_cache(district, con)
    con.say(con.t["cli.ok"])
    return 0


def _quality_from_cache(district: District, con: Console) -> None:
    """The data quality of the roads, when the network of this road file and these settings
    is cached (``emgis network``, ``coverage`` or ``run`` built it): validate never builds
    the network (minutes at county size), it says how to get the lines instead."""
    from emgis._errors import CacheError
    from emgis.roads.cache import cache_path, clip_area, load_edge_arrays

    if district.roads is None or not district.roads.path.exists():
        return
    path = cache_path(district.roads, settings=district.settings, crs=district.crs,
                      clip=clip_area(district))
    try:
        network = load_edge_arrays(path) if path.exists() else None
    except CacheError:
        network = None
    if network is None:
        con.say(con.t["quality.cli_no_network"])
        return
    from emgis.analysis.quality import data_quality  # deferred: loads networkx, scipy

    _print_quality(data_quality(district, network, cache=path), con)


def _print_calibration(cal: Any, con: Console, *, district: str = "",
                       limit: int = LIST_LIMIT) -> None:
    """The calibration's headline, cross-validated error, fitted speeds and turnout, and the
    records not used, one by one (up to ``limit``)."""
    from emgis.run.minutes import _flags, _group

    t = con.t
    bad = cal.records[~cal.records["used"]]
    con.say(con.fmt("calib.console_head", n=len(cal.records), used=cal.used, bad=len(bad)))
    cv = cal.cv
    con.say("  " + con.fmt("calib.console_cv", folds=int(cv["folds"]),
                           before=f"{cv['mae_before']:.2f}", after=f"{cv['mae_after']:.2f}"))
    for g in cal.groups.to_dict("records"):
        if g["fitted"]:
            con.say(con.fmt("calib.console_group", group=_group(str(g["group"]), t),
                            factor=f"{float(g['factor']):.3f}", records=int(g["records"])))
    for r in cal.turnout[cal.turnout["scope"] == "kind"].to_dict("records"):
        if r["fitted"]:
            con.say(con.fmt("calib.console_turnout", kind=t.kind(str(r["kind"])),
                            fitted=f"{float(r['fitted_min']):.2f}",
                            nominal=f"{float(r['nominal_min']):g}"))
    errors = cal.errors
    con.say(t["calib.console_error_head"])
    for scope in ("district", "road_class", "township", "unit"):
        rows = errors[errors["scope"] == scope]
        for r in rows.head(limit).to_dict("records"):
            name = _group(str(r["name"]), t) if scope == "road_class" else (
                district if scope == "district" else str(r["name"]))
            con.say(con.fmt("calib.console_error", scope=t.get("scope", scope),
                            name=name, n=int(r["records"]),
                            b0=f"{r['bias_before']:+.2f}", b1=f"{r['bias_after']:+.2f}",
                            s0=f"{r['spread_before']:.2f}", s1=f"{r['spread_after']:.2f}"))
    for r in bad.head(limit).to_dict("records"):
        con.say(con.fmt("calib.console_bad", row=r["row"], flags=_flags(r["flags"], t)))
    if len(bad) > limit:
        con.say(con.fmt("calib.console_more", n=len(bad) - limit))


def cmd_calibrate(args: argparse.Namespace, con: Console) -> int:
    """Fit speeds and turnout to the dispatch records; write calibration.toml and .csv."""
    from emgis._errors import DistrictError
    from emgis.run.jobs import describe
    from emgis.run.minutes import write_calibration

    plan = _open(args, con)
    cal = plan.calibrate()
    if cal is None:
        raise DistrictError(Msg("calib.no_calls"))
    con.say(con.t["cli.calibrate"])
    _print_calibration(cal, con, district=plan.district.name)
    with _out(args, "calibrate", con, plan.district.sources) as out:
        describe(out, plan, command="calibrate", lang=args.lang)
        files = write_calibration(out, cal, lang=args.lang)
        out.finish()
    _wrote(files, con)
    return 0


def _print_quality(dq: DataQuality, con: Console) -> None:
    """The per-township data-quality lines, then its warnings (thinly mapped townships,
    townships without a boundary)."""
    from emgis.analysis.quality import quality_lines

    for line in quality_lines(dq, con.t):
        con.say(line)
    for w in dq.warnings:
        con.warn(con.fmt("cli.warning", text=say(w, con.t)))


def _print_network(plan: Plan, con: Console) -> None:
    from emgis.roads.network import summarize_network  # deferred: loads numba

    s = summarize_network(plan.network)
    con.say(con.fmt("cli.network", nodes=f"{s.nodes:,}", edges=f"{s.edges:,}"))
    con.say(con.fmt("cli.components", weak=s.components, largest=f"{s.largest_component:,}",
                    strong=s.strong_components))
    con.say(con.fmt("cli.km_total", km=f"{sum(s.km_by_class.values()):.1f}"))
    for cls, km in s.km_by_class.items():
        con.say(f"    {_pad(con.t.get('road_class', cls), 24)} {km:>8.1f}")
    con.say(con.fmt("cli.cache", cache=plan.cache if plan.cache else con.t["cli.cache_unused"]))
    for note in plan.network.notes:
        con.warn(con.fmt("cli.warning", text=say(note, con.t)))


def _access(plan: Plan, con: Console) -> None:
    eng = plan.engine
    d = plan.district
    units = plan.units
    groups = [("villages", d.villages, eng.village_loc)]
    for layer in ("teams", "stockpiles", "shelters"):
        sel = (units["layer"] == layer).to_numpy()
        groups.append((layer, units[sel], eng.unit_loc[sel]))
    for name, gdf, loc in groups:
        if len(gdf) == 0:
            continue
        status = eng.status(loc)
        access = eng.access_m(loc)
        con.say(con.fmt("cli.access", layer=con.t.get("layer", name),
                        ok=int((status == "ok").sum()),
                        no_road=int((status == "no_road_access").sum()),
                        cut=int((status == "cut_off").sum())))
        for uid, uname, st, acc in zip(gdf["id"], gdf["name"], status, access, strict=True):
            if st != "ok":
                where = con.fmt("cli.access_far", m=f"{acc:.0f}") if acc == acc else \
                    con.t["cli.access_none"]
                con.say(f"    {uid} {uname}: {con.t.status(str(st))} ({where})")


def cmd_network(args: argparse.Namespace, con: Console) -> int:
    """Build (or load from cache) the district's road network and print its summary."""
    plan = _open(args, con)
    _print_network(plan, con)
    _access(plan, con)
    _print_quality(plan.quality(), con)
    return 0


def _print_coverage(res: CoverageOutputs, district: District, con: Console) -> None:
    s = res.summary
    t = con.t
    h = t.words("cli.coverage_head")
    widths = (6, 8, 5, 7, 7, 12)
    con.say("  " + _pad(h[0], 22) + " " + " ".join(_rpad(w, n) for w, n in
                                                   zip(h[1:], widths, strict=True)))
    for r in s.to_dict("records"):
        kind = str(r["kind"])
        if r["villages_no_unit"] == r["villages"]:
            con.say(f"  {_pad(t.kind(kind), 22)} {'':>6} {t['cli.no_unit']}")
            continue
        target = district.settings.targets[kind].value
        con.say(f"  {_pad(t.kind(kind), 22)} {target:>6g} {r['villages_covered']:>8} "
                f"{r['villages_over_target']:>5} {r['villages_cut_off']:>7} "
                f"{r['villages_no_road_access']:>7} {r['share_covered']:>11.1%}")


def cmd_coverage(args: argparse.Namespace, con: Console) -> int:
    """Response times, coverage and gaps for every unit kind; tables and a map under --out."""
    # deferred: loads networkx, numba, scipy.optimize
    from emgis.run.jobs import coverage_job, describe

    plan = _open(args, con)
    with _out(args, "coverage", con, plan.district.sources) as out:
        describe(out, plan, command="coverage", lang=args.lang)
        con.say(con.t["cli.coverage"])
        res = coverage_job(plan, out, lang=args.lang, per_unit_areas=args.per_unit_areas,
                           progress=con.progress())
        _print_coverage(res, plan.district, con)
        out.finish()
    _wrote(res.files, con)
    return 0


def _wrote(files: Sequence[Path], con: Console) -> None:
    for f in files:
        con.say(con.fmt("cli.wrote_file", path=f))


def _print_findings(findings: pd.DataFrame, con: Console) -> None:

    from emgis.analysis.compliance import (
        summary_table,  # deferred: the command starts without geopandas
    )
    s = summary_table(findings)
    t = con.t
    h = t.words("cli.compliance_head")
    con.say("  " + _pad(h[0], 44) + " " + " ".join(_rpad(w, n) for w, n in
                                                   zip(h[1:], (6, 6, 8, 13, 8), strict=True)))
    for r in s.to_dict("records"):
        con.say(f"  {_pad(t.get('rule', str(r['rule'])), 44)} {r['meets']:>6} {r['below']:>6} "
                f"{r['missing']:>8} {r['not_recorded']:>13} {r['overdue']:>8}")


def cmd_check(args: argparse.Namespace, con: Console) -> int:
    """Check the organisational minimums; write compliance.csv under --out."""
    from emgis.analysis.compliance import (
        check_compliance,  # deferred: the command starts without geopandas
    )
    from emgis.outputs.tables import write_csv  # deferred: the command starts without pandas

    district = _validate(args.district, con)
    con.say(con.t["cli.compliance"])
    findings = check_compliance(district, as_of=args.as_of)
    _print_findings(findings, con)
    with _out(args, "check", con, district.sources) as out:
        path = write_csv(out, "compliance.csv", findings, lang=args.lang)
        out.finish()
    con.say(con.fmt("cli.wrote_file", path=path))
    return 0


def _print_scenarios(res: ScenarioOutputs, con: Console) -> None:
    t = con.t
    h = t.words("cli.scenarios_head")
    con.say("  " + _pad(h[0], 16) + " " + " ".join(_rpad(w, n) for w, n in
                                                   zip(h[1:], (12, 8, 12, 10, 9), strict=True))
            + "  " + t["cli.persons_note"])
    for row in res.comparison.to_dict("records"):
        name = t.get("scenario", str(row["scenario"]))
        con.say(f"  {_pad(name, 16)} {row['population_losing_cover']:>12,} "
                f"{row['population_cut_off']:>8,} {row['population_to_evacuate']:>12,} "
                f"{row['population_evacuated']:>10,} {row['population_unsheltered']:>9,}")
    for r in res.results:
        n_out = int((r.units["status"] == "out_of_action").sum())
        n_cut = int((r.units["status"] == "cut_off").sum())
        if n_out or n_cut:
            con.say(con.fmt("cli.units_hit", name=t.get("scenario", r.scenario.name),
                            out=n_out, cut=n_cut))


def cmd_scenario(args: argparse.Namespace, con: Console) -> int:
    """Hazard scenarios: roads closed or slowed, coverage lost, evacuation to shelters."""
    # deferred: loads networkx, numba, scipy.optimize
    from emgis.run.jobs import describe, scenarios_job

    plan = _open(args, con)
    chosen = plan.scenario_specs(args.name, args.hazard)
    if not chosen:
        con.say(con.t["cli.scenarios_none"])
        return 0
    with _out(args, "scenario", con, plan.district.sources) as out:
        describe(out, plan, command="scenario", lang=args.lang, names=args.name,
                 hazards=args.hazard)
        con.say(con.t["cli.scenarios"])
        res = scenarios_job(plan, out, chosen, lang=args.lang, progress=con.progress())
        _print_scenarios(res, con)
        out.finish()
    _wrote(res.files, con)
    return 0


def _print_site(r: SitingResult, con: Console) -> None:
    t = con.t
    s = r.solution
    gap = con.fmt("cli.gap", gap=f"{s.gap:.2%}") if s.gap is not None else ""
    con.say(con.fmt("cli.solved", model=t.get("model", s.model), method=t.get("method", s.method),
                    status=t.get("solver_status", s.status), seconds=f"{s.seconds:.2f}",
                    gap=gap))
    for p in r.proposals.itertuples(index=False):
        gain = con.fmt("cli.saves", n=f"{p.gain:,.0f}") if s.model == "p_median" else ""
        reached = con.fmt("cli.reached", n=f"{p.newly_reached_population:,}") \
            if p.newly_reached_population else ""
        site = f"{t.get('source_kind', str(p.source))} {str(p.site_id).partition(':')[2]}"
        yuan = float(getattr(p, "cost_yuan", float("nan")))
        cost = con.fmt("cli.cost", yuan=f"{yuan:,.0f}") if yuan == yuan else ""
        if p.gain_unit == "person-minutes":
            con.say(con.fmt("cli.proposal_pm", rank=p.rank, site=site, name=p.name,
                            n=f"{p.gain:,.0f}", reached=reached, cost=cost))
            continue
        con.say(con.fmt("cli.proposal", rank=p.rank, site=site, name=p.name,
                        persons=f"{p.newly_covered_population:,}", target=f"{r.target_min:g}",
                        reached=reached, gain=gain, cost=cost))
    _print_total(r, con)
    if r.note:
        from emgis.run.jobs import siting_note  # deferred: loads networkx, numba, scipy.optimize

        con.say(con.fmt("cli.note", text=siting_note(r, t.lang)))
    if len(r.unreachable):
        con.say(con.fmt("cli.unreachable", n=len(r.unreachable), target=f"{r.target_min:g}"))
    if r.comparison is not None:
        h = t.words("cli.robust_head")
        con.say("  " + _pad(h[0], 22) + " " + " ".join(_rpad(w, 14) for w in h[1:]))
        for row in r.comparison.to_dict("records"):
            name = t["map.whatif_baseline"] if row["scenario"] == "baseline" else \
                t.get("scenario", str(row["scenario"]))
            con.say(f"  {_pad(name, 22)} {row['covered_existing']:>14,} "
                    f"{row['covered_baseline_plan']:>14,} {row['covered_robust_plan']:>14,} "
                    f"{row['difference']:>+14,}")


def _check_force_options(args: argparse.Namespace) -> None:
    """Refuse options that do not go with ``--force-rule``, and its own options without it."""
    if args.force_rule is None:
        for option, value in (("--headcount", args.headcount),
                              ("--first-weight", args.first_weight)):
            if value is not None:
                raise SitingError(Msg("force_cli_only", option=option))
        return
    for option, used in (("--budget", args.budget is not None), ("--cover-all", args.cover_all),
                         ("--robust", args.robust is not None),
                         ("--over-samples", args.over_samples),
                         ("--capacity", args.capacity is not None),
                         ("--kind-weight", bool(args.kind_weight)),
                         (f"--model {args.model}", args.model != "max_covering")):
        if used:
            raise SitingError(Msg("force_cli_with", option=option))


def _print_force(fr: ForceSitingResult, con: Console) -> None:
    """A force siting run: the solver, each site with the persons it brings to a sufficient
    force (and newly within target), the force before and after."""
    t = con.t
    r = fr.siting
    s = r.solution
    gap = con.fmt("cli.gap", gap=f"{s.gap:.2%}") if s.gap is not None else ""
    con.say(con.fmt("cli.solved", model=t.get("model", s.model), method=t.get("method", s.method),
                    status=t.get("solver_status", s.status), seconds=f"{s.seconds:.2f}",
                    gap=gap))
    for p in r.proposals.itertuples(index=False):
        site = f"{t.get('source_kind', str(p.source))} {str(p.site_id).partition(':')[2]}"
        yuan = float(p.cost_yuan)
        cost = con.fmt("cli.cost", yuan=f"{yuan:,.0f}") if yuan == yuan else ""
        first = con.fmt("cli.force_first", n=f"{p.newly_covered_population:,}",
                        target=f"{r.target_min:g}") if p.newly_covered_population else ""
        con.say(con.fmt("cli.force_proposal", rank=p.rank, site=site, name=p.name,
                        persons=f"{p.newly_sufficient_population:,}", first=first, cost=cost))
    v = r.villages
    before = int(v.loc[v["sufficient_before"], "population"].sum())
    after = int(v.loc[v["sufficient_after"], "population"].sum())
    con.say(con.fmt("cli.force_total", rule=t.get("force_rule", fr.rule),
                    required=f"{fr.required_persons:g}", within=f"{fr.within_min:g}",
                    before=f"{before:,}", after=f"{after:,}", gain=f"{after - before:,}",
                    headcount=f"{fr.headcount:g}"))
    if r.note:
        from emgis.run.jobs import siting_note  # deferred: loads networkx, numba, scipy.optimize

        con.say(con.fmt("cli.note", text=siting_note(r, t.lang)))
    if len(r.unreachable):
        con.say(con.fmt("cli.force_impossible", n=len(r.unreachable),
                        required=f"{fr.required_persons:g}", within=f"{fr.within_min:g}"))


def _print_total(r: SitingResult, con: Console) -> None:
    """The plan's total: sites, persons newly within target and what they cost."""
    p = r.proposals
    if not len(p):
        return
    costs = [float(c) for c in p["cost_yuan"]] if "cost_yuan" in p else [float("nan")] * len(p)
    known = [c for c in costs if c == c]
    cost = con.fmt("cli.plan_cost", yuan=f"{sum(known):,.0f}") if known else ""
    if len(known) < len(costs):
        cost += con.fmt("cli.plan_cost_unknown", n=len(costs) - len(known), kind=r.kind)
    con.say(con.fmt("cli.plan_total", n=len(p),
                    persons=f"{int(p['newly_covered_population'].sum()):,}", cost=cost))


def _print_budget(res: BudgetResult, con: Console) -> None:
    """A budgeted plan: each site in plan order with its cost, each kind's total, the total
    against the budget, the proven bound and the gap."""
    t = con.t
    sol = res.solution
    gap = con.fmt("cli.gap", gap=f"{sol.gap:.2%}")
    con.say(con.fmt("cli.solved", model=t.get("model", "budget_covering"),
                    method=t.get("method", sol.method),
                    status=say(t.get("solver_status", sol.status), t), seconds=f"{sol.seconds:.2f}",
                    gap=gap))
    by_kind = {r.kind: r for r in res.sites}
    seen: dict[str, int] = {}
    for rank, c in enumerate(sol.chosen, start=1):
        r = by_kind[c.kind]
        k = seen.get(c.kind, 0)
        seen[c.kind] = k + 1
        p = r.proposals.iloc[k]
        site = f"{t.get('source_kind', str(p['source']))} {str(p['site_id']).partition(':')[2]}"
        con.say(con.fmt("cli.budget_site", rank=rank, kind=t.kind(c.kind), site=site,
                        name=p["name"], persons=f"{int(c.persons):,}",
                        target=f"{r.target_min:g}", yuan=f"{c.cost:,.0f}"))
    for row in res.summary().to_dict("records"):
        if row["kind"] == "all":
            continue
        yearly = con.fmt("cli.yearly", yuan=f"{row['yearly_yuan']:,.0f}") \
            if row["sites"] and row["yearly_yuan"] == row["yearly_yuan"] else ""
        con.say(con.fmt("cli.budget_kind", kind=t.kind(row["kind"]), n=row["sites"],
                        yuan=f"{row['cost_yuan']:,.0f}", yearly=yearly,
                        persons=f"{row['newly_covered_population']:,}", w=f"{row['weight']:g}"))
    con.say(con.fmt("cli.budget_total", n=len(sol.chosen), cost=f"{sol.cost:,.0f}",
                    budget=f"{res.budget:,.0f}", left=f"{res.budget - sol.cost:,.0f}",
                    persons=f"{int(sum(sol.persons.values())):,}"))
    con.say(con.fmt("cli.budget_bound", objective=f"{sol.objective:,.0f}",
                    bound=f"{sol.bound:,.0f}", gap=f"{sol.gap:.2%}"))
    for r in res.sites:
        if r.note:
            con.say(con.fmt("cli.note", text=con.fmt("cli.kind_note", kind=t.kind(r.kind),
                                                     text=say(r.note, t))))


def _site_budget(args: argparse.Namespace, con: Console, kinds: list[str]) -> int:
    """``emgis site --budget``: the kinds asked for within one budget (budgeted covering)."""
    from emgis.run.jobs import budget_job, describe  # deferred: loads scipy.optimize

    if args.robust or args.capacity is not None or args.model != "max_covering":
        raise SitingError(Msg("cli_budget_model", model=args.model))
    weights: dict[str, float] = {}
    for item in args.kind_weight:
        name, eq, value = item.partition("=")
        try:
            kind, w = _kind(name), float(value)
        except (SitingError, ValueError):
            raise SitingError(Msg("cli_kind_weight", v=item)) from None
        if not eq or kind not in kinds or not (w >= 0 and w < float("inf")):
            raise SitingError(Msg("cli_kind_weight", v=item))
        weights[kind] = w
    plan = _open(args, con)
    for kind in kinds:
        if kind not in plan.district.settings.targets:
            raise SitingError(Msg("cli_kind_no_target", kind=kind,
                                  kinds=", ".join(plan.district.settings.targets)))
    with _out(args, "site", con, plan.district.sources) as out:
        describe(out, plan, command="site", kinds=kinds, budget=args.budget, weights=weights,
                 method=args.method, lang=args.lang, candidates=args.candidates)
        con.say(con.fmt("cli.budget_siting", budget=f"{args.budget:,.0f}",
                        kinds=con.t["msg.list_sep"].join(con.t.kind(k) for k in kinds)))
        res, files = budget_job(plan, out, kinds, budget=args.budget, weights=weights,
                                method=args.method, lang=args.lang,
                                time_limit=args.time_limit)
        _print_budget(res, con)
        out.finish()
    _wrote(files, con)
    return 0


def cmd_site(args: argparse.Namespace, con: Console) -> int:
    """Propose sites for new units of a kind (existing ones stay)."""
    # deferred: loads networkx, numba, scipy.optimize
    from emgis.analysis.siting import check_request

    # deferred: loads networkx, numba, scipy.optimize
    from emgis.run.jobs import describe, siting_job

    kinds = [_kind(k) for k in args.kind]
    _check_force_options(args)
    if args.budget is not None:
        return _site_budget(args, con, kinds)
    if len(kinds) > 1:
        raise SitingError(Msg("cli_one_kind", n=len(kinds)))
    if args.kind_weight:
        raise SitingError(Msg("cli_budget_only", option="--kind-weight"))
    kind = kinds[0]
    if args.add is None:
        args.add = 3
    check_request(args.model, method=args.method, cover_all=args.cover_all,
                  capacity=args.capacity, add=args.add if not args.cover_all else 1)
    if (args.robust or args.over_samples) and (args.cover_all or args.model != "max_covering"):
        raise SitingError(Msg("cli_robust_model"))
    probs = None
    if args.scenario_weights:
        try:
            probs = [float(x) for x in args.scenario_weights.split(",")]
        except ValueError:
            raise SitingError(Msg("cli_weights", v=args.scenario_weights)) from None
    plan = _open(args, con)
    if args.robust and not plan.district.scenarios:
        raise SitingError(Msg("cli_robust_no_scenarios"))
    if kind not in plan.district.settings.targets:
        raise SitingError(Msg("cli_kind_no_target", kind=args.kind[0],
                              kinds=", ".join(plan.district.settings.targets)))
    model = f"robust_{args.robust}" if args.robust else args.model
    if args.force_rule:
        model = "max_force_covering"
    what = con.t["cli.cover_all"] if args.cover_all else \
        con.fmt("cli.add_n", n=args.add, model=con.t.get("model", model))
    with _out(args, "site", con, plan.district.sources) as out:
        describe(out, plan, command="site", kind=kind, add=args.add, cover_all=args.cover_all,
                 model=model, method=args.method, lang=args.lang, force_rule=args.force_rule,
                 headcount=args.headcount, first_weight=args.first_weight)
        con.say(con.fmt("cli.siting", kind=con.t.kind(kind), what=what))
        fr: ForceSitingResult | None = None
        if args.force_rule:  # the force as well as first arrival
            from emgis.run.jobs import write_siting

            fr = plan.site_force(kind, add=args.add, rule=args.force_rule,
                                 headcount=args.headcount,
                                 first_weight=args.first_weight or 0.0, method=args.method,
                                 time_limit=args.time_limit)
            r = fr.siting
            files = write_siting(plan, out, r, lang=args.lang)
        elif args.over_samples:  # expected cover over samples of speeds and turnout
            import dataclasses

            from emgis.run.jobs import write_siting

            rr = plan.site_expected(kind, add=args.add, method=args.method,
                                    time_limit=args.time_limit)
            r = dataclasses.replace(rr.robust, comparison=rr.comparison, robust="expected")
            files = write_siting(plan, out, r, lang=args.lang)
        else:
            r, files = siting_job(plan, out, kind, add=args.add, cover_all=args.cover_all,
                                  model=args.model, method=args.method, lang=args.lang,
                                  capacity=args.capacity, time_limit=args.time_limit,
                                  robust=args.robust, k=args.k, probs=probs)
        if fr is not None:
            _print_force(fr, con)
        else:
            _print_site(r, con)
        out.finish()
    _wrote(files, con)
    return 0


def cmd_run(args: argparse.Namespace, con: Console) -> int:
    """Run the whole job and write maps, tables and the report under --out."""
    from emgis.run.jobs import run_all  # deferred: loads networkx, numba, scipy.optimize

    plan = _open(args, con, engine=True)
    _print_summary(plan.district, con)
    _print_network(plan, con)
    con.say(con.t["cli.running"])
    res = run_all(plan, args.out, lang=args.lang, per_unit_areas=args.per_unit_areas,
                  progress=con.progress(), time_limit=args.time_limit,
                  options={"no_cache": args.no_cache}, as_of=args.as_of)
    _gc.freeze()  # the command ends: no collection walks the run's heap again (0.15 s)
    if res.coverage is not None:
        con.say(con.t["cli.coverage"])
        _print_coverage(res.coverage, plan.district, con)
    if res.compliance is not None:
        con.say(con.t["cli.compliance"])
        _print_findings(res.compliance, con)
    if res.quality is not None:
        _print_quality(res.quality, con)
    if res.minutes is not None and res.minutes.calibration is not None:
        con.say(con.t["cli.calibrate"])
        _print_calibration(res.minutes.calibration, con, district=plan.district.name)
    if res.scenarios is not None:
        con.say(con.t["cli.scenarios"])
        _print_scenarios(res.scenarios, con)
    for r in res.sites:
        con.say(con.fmt("cli.siting_done", kind=con.t.kind(r.kind)))
        _print_site(r, con)
    con.say(con.fmt("cli.wrote", n=len(res.files), out=Path(args.out).resolve(),
                    manifest=res.manifest.name))
    con.say("  " + ", ".join(f.name for f in res.files))
    con.say(con.fmt("cli.open_first", path=res.report))
    for step, msg in res.failures:
        con.warn(con.fmt("cli.step_error", step=step, message=msg))
    return 1 if res.failures else 0


def cmd_batch(args: argparse.Namespace, con: Console) -> int:
    """Run every district of a province on Dask and write the roll-up under --out."""
    from emgis.run.batch import (  # deferred: the command starts without geopandas
        read_province,
        run_batch,
    )

    province = read_province(args.province)

    def done(k: int, n: int, o: Any) -> None:
        status = con.t.get("batch_status", o.status)
        if o.status == "done":
            status += f" ({con.fmt('batch.seconds', n=f'{o.seconds:.0f}')})"
        if o.error:
            con.warn(con.fmt("batch.cli_district", k=k, n=n, district=o.name,
                             status=con.fmt("msg.log_line", level=status, message=o.error)))
        else:
            con.say(con.fmt("batch.cli_district", k=k, n=n, district=o.name, status=status))

    res = run_batch(province, args.out, workers=args.workers, scheduler=args.scheduler,
                    memory_limit=args.memory_limit, lang=args.lang, as_of=args.as_of,
                    time_limit=args.time_limit, on_done=done)
    for f in res.files:
        con.say(con.fmt("batch.cli_wrote", path=f))
    failed = [o for o in res.outcomes if o.status == "failed"]
    # 2: districts whose input has errors (each named above, the others done); 1: a failure
    # of the program's own
    return 0 if not failed else 2 if all(o.input_error for o in failed) else 1


def cmd_serve(args: argparse.Namespace, con: Console) -> int:
    """The workbench (or, with ``adduser``, a user of it)."""
    from emgis.web.cli import serve  # deferred: the web stack only for this command

    return serve(args, con.say, con.warn)


def cmd_standards(args: argparse.Namespace, con: Console) -> int:
    """Print the standards profile: every default emgis uses, with its source."""
    from emgis.outputs.profile import profile_table  # deferred: the command starts without pandas

    text = profile_table(lang=args.lang, markdown=args.markdown)
    print(text)
    return 0


def cmd_init(args: argparse.Namespace, con: Console) -> int:
    """Write FOLDER/district.toml from the ledgers and files in it, then check it."""
    from emgis.inputs.init import init_district  # deferred: reads workbooks only when asked

    t = con.t
    res = init_district(args.folder, lang=args.lang, force=args.force)
    con.say(t["init.found_head"])
    for layer, choice in res.layers.items():
        files = t["init.list_sep"].join(s.label for s in choice.sources)
        con.say(con.fmt("init.found_layer", word=t.get("layer", layer), files=files))
    if res.roads is not None:
        con.say(con.fmt("init.found_roads", word=t["init.roads_word"],
                        file=res.roads.source.label))
    if res.missing:
        con.warn(t["init.missing_head"] + " " + t["init.list_sep"].join(
            t["init.roads_word"] if m == "roads" else t.get("layer", m) for m in res.missing))
    if res.left_out:
        con.say(t["init.left_out_head"])
        for name, why in res.left_out:
            con.say("  " + con.fmt("init.left_item", file=name, why=why))
    con.say(con.fmt("init.wrote", path=res.toml_path))
    con.say(t["init.checking"])
    if res.report is None:
        con.warn(con.fmt("init.check_failed", message=res.check_error))
        con.warn(con.fmt("init.fix_these", path=res.toml_path, folder=args.folder))
        return 2
    report = res.report
    if report.problems:
        n_err = len(report.errors)
        line = con.fmt("cli.problems", errors=n_err, warnings=len(report.problems) - n_err)
        (con.warn if n_err else con.say)(line)
        _print_problems(report, con)
    if not report.ok or report.district is None:
        con.warn(con.fmt("init.fix_these", path=res.toml_path, folder=args.folder))
        return 2
    _print_summary(report.district, con)
    con.say(con.fmt("init.valid", folder=args.folder))
    return 0


def cmd_compare(args: argparse.Namespace, con: Console) -> int:
    """This year against last: what changed between two finished output folders."""
    from emgis.run.compare import CompareError, compare_runs, summary_lines

    try:
        cmp = compare_runs(args.old, args.new, out=args.out)
        for line in summary_lines(cmp, con.t.lang):
            con.say(line)
        files = cmp.write(args.out, lang=args.lang, on_wait=con.warn)
    except CompareError as exc:
        for problem in exc.errors:
            con.warn(con.fmt("cli.error", message=say(problem, con.t)))
        return 2
    _wrote(files, con)
    return 0


def _kind(text: str) -> str:
    """A unit kind from its name or a Chinese name the input files accept."""

    key = text.strip()
    kind = SITING_KIND_ALIASES.get(key) or SITING_KIND_ALIASES.get(key.lower())
    if kind is None:
        names = sorted(set(SITING_KIND_ALIASES.values()))
        raise SitingError(Msg("cli_kind_unknown", kind=text, kinds=", ".join(names)))
    return kind
