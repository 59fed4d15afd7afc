"""Minutes a bureau can defend: the run's calibration, uncertainty, effective force and
availability, computed from a :class:`~emgis.plan.Plan` and written under the output folder.

Files (``emgis run``; ``emgis calibrate`` writes the calibration's alone):

- ``calibration.toml``, ``calibration.csv`` (every dispatch record: model, recorded, residual,
  flags), ``calibration_speeds.csv`` (per speed group: nominal and fitted),
  ``calibration_turnout.csv`` (per kind and unit), ``calibration_errors.csv`` (bias and spread
  before and after: district, road class, township, unit): only where the district has
  ``[layers.calls]``;
- ``uncertainty.csv`` (per kind: persons within target at nominal speeds and expected over the
  samples, fragile villages) and ``fragile.csv`` (the fragile villages); ``p_within`` is a
  column of ``coverage.csv`` and of the ``coverage`` layer of ``coverage.gpkg``;
- ``force.csv`` (every village and force rule: persons within the rule's time, the units making
  them up, persons within each break) and ``force.gpkg`` (the same as points, a layer per rule);
- ``availability.csv`` (per period and kind: persons within target of a unit, expected with busy
  units, covered with the reliability) and ``availability_villages.csv``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from emgis._errors import EmgisError
from emgis.outputs.qgis import Rule, Style
from emgis.outputs.style import SITING_COLOURS, WARNING_COLOURS
from emgis.outputs.tables import write_csv, write_gpkg
from emgis.texts import Texts, say, texts

if TYPE_CHECKING:
    from emgis.analysis.availability import AvailabilityResult
    from emgis.analysis.calibration import CalibrationResult
    from emgis.analysis.force import ForceResult
    from emgis.analysis.uncertainty import UncertaintyResult
    from emgis.outputs.folder import OutputDir
    from emgis.outputs.qgis import Style
    from emgis.plan import Plan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Minutes:
    """The run's calibration (None without records), uncertainty, force and availability (None
    where a step failed: named in ``failures``)."""

    calibration: CalibrationResult | None
    uncertainty: UncertaintyResult | None
    force: ForceResult | None
    availability: AvailabilityResult | None
    failures: tuple[tuple[str, str], ...] = ()


def compute_minutes(plan: Plan, *, lang: str = "en") -> Minutes:
    """Every analysis of this module from the plan; a step that fails is named, the others
    go on."""
    t = texts(lang)
    failures: list[tuple[str, str]] = []
    results: dict[str, object] = {}
    for key, fn in (("calibration", plan.calibrate), ("uncertainty", plan.uncertainty),
                    ("force", plan.force), ("availability", plan.availability)):
        try:
            results[key] = fn()
        except (EmgisError, ValueError, RuntimeError) as exc:
            log.debug("%s failed", key, exc_info=True)
            failures.append((t[f"progress.{key}"], say(exc, t)))
            results[key] = None
    return Minutes(results["calibration"], results["uncertainty"],  # type: ignore[arg-type]
                   results["force"], results["availability"], tuple(failures))  # type: ignore[arg-type]


def with_p_within(plan: Plan, table: pd.DataFrame) -> pd.DataFrame:
    """The coverage table with ``p_within`` (the chance of being within target over the
    samples) where the plan's uncertainty has been computed; the table as it is otherwise."""
    u = plan.uncertainty_if_done()
    if u is None or len(u.table) != len(table):
        return table
    return table.assign(p_within=u.table["p_within"].to_numpy())


def _flags(codes: object, t: Texts) -> str:
    if not isinstance(codes, str) or not codes:
        return ""
    return t["msg.list_sep"].join(t.get("calib_flag", c) for c in codes.split(";"))


def calibration_tables(cal: CalibrationResult, lang: str = "en"
                       ) -> dict[str, pd.DataFrame]:
    """The calibration's tables as written (flags, places, groups in words in Chinese)."""
    t = texts(lang)
    rec = cal.records.rename(columns={"unit": "unit_given"}).copy()
    rec["flags"] = [_flags(c, t) for c in rec["flags"]] if lang != "en" else rec["flags"]
    if lang != "en":
        rec["place"] = [t.get("calib_place", str(p)) if isinstance(p, str) else p
                        for p in rec["place"]]
        rec["road_class"] = [_group(str(g), t) if isinstance(g, str) else g
                             for g in rec["road_class"]]
    groups = cal.groups.copy()
    errors = cal.errors.copy()
    if lang != "en":
        groups["group"] = [_group(str(g), t) for g in groups["group"]]
        errors["name"] = [_group(str(n), t) if s == "road_class" else n
                          for s, n in zip(errors["scope"], errors["name"], strict=True)]
    return {"calibration.csv": rec, "calibration_speeds.csv": groups,
            "calibration_turnout.csv": cal.turnout, "calibration_errors.csv": errors}


def _group(g: str, t: Texts) -> str:
    return t.get("calib_group", g, t.get("road_class", g))


def write_calibration(out: OutputDir, cal: CalibrationResult, *, lang: str = "en"
                      ) -> list[Path]:
    """``calibration.toml`` and the calibration's tables."""
    files = [out.write_text("calibration.toml", cal.toml(lang))]
    for name, table in calibration_tables(cal, lang).items():
        files.append(write_csv(out, name, table, lang=lang))
    return files


def force_tables(force: ForceResult, lang: str = "en") -> pd.DataFrame:
    """The force table as written (the rule in words in Chinese)."""
    t = texts(lang)
    table = force.table.rename(columns={"rule": "force_rule"}).copy()
    if lang != "en" and len(table):
        table["force_rule"] = [t.get("force_rule", str(r)) for r in table["force_rule"]]
    return table


def force_style(lang: str = "en") -> Style:
    """QGIS style of a ``force.gpkg`` layer: villages meeting the force rule, reached first in
    time but short of the force, or neither."""

    t = texts(lang)
    return Style("point", label_field="village_name", rules=(
        Rule(t["column.meets"], WARNING_COLOURS["meets"], expression='"meets"'),
        Rule(t["column.first_only"], SITING_COLOURS["out"], expression='"first_only"'),
        Rule(t.get("compliance_status", "below"), WARNING_COLOURS["low"],
             expression='NOT "meets" AND NOT "first_only"')))


def write_minutes(out: OutputDir, plan: Plan, m: Minutes, *, lang: str = "en"
                  ) -> list[Path]:
    """Every file of this module the run has results for (see the module text)."""
    t = texts(lang)
    files: list[Path] = []
    if m.calibration is not None:
        files += write_calibration(out, m.calibration, lang=lang)
    if m.uncertainty is not None:
        u = m.uncertainty
        files.append(write_csv(out, "uncertainty.csv", u.summary, lang=lang))
        files.append(write_csv(out, "fragile.csv", u.fragile().drop(columns="fragile"),
                               lang=lang))
    if m.force is not None:
        table = force_tables(m.force, lang)
        files.append(write_csv(out, "force.csv", table, lang=lang))
        v = plan.district.villages[["id", "geometry"]].rename(columns={"id": "village_id"})
        layers = {}
        for rule in dict.fromkeys(m.force.table["rule"]):
            rows = m.force.table[m.force.table["rule"] == rule]
            layers[f"force_{rule}"] = gpd.GeoDataFrame(
                rows.merge(v, on="village_id", how="left"), geometry="geometry",
                crs=plan.district.crs)
        if layers:
            files.append(write_gpkg(out, "force.gpkg", layers,
                                    styles={k: force_style(lang) for k in layers}))
    if m.availability is not None:
        a = m.availability
        summary = a.summary.copy()
        table = a.table.copy()
        if lang != "en":
            summary["period"] = [t.get("period", p) for p in summary["period"]]
            table["period"] = [t.get("period", p) for p in table["period"]]
        summary["units_needed"] = [int(x) if np.isfinite(x) else np.nan
                                   for x in summary["units_needed"].astype(float)]
        files.append(write_csv(out, "availability.csv", summary, lang=lang))
        files.append(write_csv(out, "availability_villages.csv", table, lang=lang))
    return files


def report_section(m: Minutes | None, lang: str = "en", *, rows: int = 10
                   ) -> dict[str, object] | None:
    """The report's short section on the minutes: the calibration's headline, each kind's
    expected persons and fragile villages, the force rules, the periods (numbers as text)."""
    if m is None:
        return None
    t = texts(lang)
    out: dict[str, object] = {k: None for k in (
        "calibration", "calibration_groups", "uncertainty_note", "uncertainty", "fragile",
        "force", "force_first_only", "availability_note", "availability",
        "calibration_errors")}
    headlines: list[str] = []
    cal = m.calibration
    if cal is not None:
        cv = cal.cv
        out["calibration"] = t.fmt(
            "calib.report_line", n=cal.used, bad=len(cal.records) - cal.used,
            before=f"{cv['mae_before']:.1f}", after=f"{cv['mae_after']:.1f}",
            folds=int(cv["folds"]))
        out["calibration_groups"] = [
            {"group": _group(str(g["group"]), t), "factor": f"{float(g['factor']):.2f}",
             "records": int(g["records"])}
            for g in cal.groups.to_dict("records") if g["fitted"]]
        err = cal.errors[cal.errors["scope"].isin(["district", "road_class"])]
        out["calibration_errors"] = [
            {"name": t.get("scope", "district") if r["scope"] == "district"
             else _group(str(r["name"]), t), "records": int(r["records"]),
             "before": f"{r['bias_before']:+.1f} / {r['spread_before']:.1f}",
             "after": f"{r['bias_after']:+.1f} / {r['spread_after']:.1f}"}
            for r in err.to_dict("records")]
        headlines.append(str(out["calibration"]))
    u = m.uncertainty
    if u is not None:
        out["uncertainty_note"] = t.fmt("unc.report_note", n=u.samples,
                                        basis=t[f"unc.basis_{u.ranges.basis}"],
                                        sd=f"{u.ranges.speed_sd:.2f}",
                                        share=f"{u.ranges.turnout_share:.0%}")
        out["uncertainty"] = [
            {"kind": t.kind(str(r["kind"])), "covered": f"{int(r['population_covered']):,}",
             "expected": f"{int(r['population_expected']):,}",
             "fragile": int(r["villages_fragile"]),
             "fragile_persons": f"{int(r['population_fragile']):,}"}
            for r in u.summary.to_dict("records")]
        n_frag = int(u.summary["villages_fragile"].sum())
        if n_frag:
            persons = int(u.summary["population_fragile"].sum())
            headlines.append(t.fmt("unc.headline", n=n_frag, persons=f"{persons:,}"))
        fr = u.fragile().head(rows)
        out["fragile"] = [{"village": r["village_name"], "township": r["township"],
                           "kind": t.kind(str(r["kind"])), "p": f"{float(r['p_within']):.0%}",
                           "minutes": f"{float(r['nearest_min']):.1f}"}
                          for r in fr.to_dict("records")]
    f = m.force
    if f is not None and len(f.table):
        rules = []
        for rule in dict.fromkeys(f.table["rule"]):
            g = f.table[f.table["rule"] == rule]
            rules.append({"rule": t.get("force_rule", str(rule)),
                          "required": f"{float(g['required_persons'].iloc[0]):g}",
                          "within": f"{float(g['within_min'].iloc[0]):g}",
                          "meets": int(g["meets"].sum()), "villages": len(g),
                          "first_only": int(g["first_only"].sum())})
        out["force"] = rules
        n_fo = int(f.table.drop_duplicates("village_id")["village_id"].isin(
            f.table.loc[f.table["first_only"], "village_id"]).sum())
        if n_fo:
            headlines.append(t.fmt("force_rule.headline", n=n_fo))
        fo = f.first_only().head(rows)
        out["force_first_only"] = [{"village": r["village_name"], "township": r["township"],
                                    "rule": t.get("force_rule", str(r["rule"])),
                                    "persons": f"{float(r['persons']):g}",
                                    "required": f"{float(r['required_persons']):g}"}
                                   for r in fo.to_dict("records")]
    a = m.availability
    if a is not None and len(a.summary):
        out["availability_note"] = t.fmt("avail.report_note", busy=f"{a.busy_share:.0%}",
                                         alpha=f"{a.alpha:.0%}")
        out["availability"] = [
            {"period": t.get("period", str(r["period"])), "kind": t.kind(str(r["kind"])),
             "within": f"{int(r['population_within']):,}",
             "expected": f"{int(r['population_expected']):,}",
             "reliable": f"{int(r['population_reliable']):,}"}
            for r in a.summary.to_dict("records")]
    out["headlines"] = headlines
    return out if any(v for v in out.values()) else None


def workbook_sheets(m: Minutes | None, lang: str = "en") -> dict[str, pd.DataFrame]:
    """The workbook's sheets of this module: sheet key -> table."""
    if m is None:
        return {}
    t = texts(lang)
    out: dict[str, pd.DataFrame] = {}
    if m.calibration is not None:
        tabs = calibration_tables(m.calibration, lang)
        out["calibration"] = tabs["calibration_errors.csv"]
        out["calibration_records"] = tabs["calibration.csv"]
    if m.uncertainty is not None:
        out["uncertainty"] = m.uncertainty.summary
    if m.force is not None and len(m.force.table):
        out["force"] = force_tables(m.force, lang)
    if m.availability is not None and len(m.availability.summary):
        s = m.availability.summary.copy()
        if lang != "en":
            s["period"] = [t.get("period", p) for p in s["period"]]
        s["units_needed"] = [int(x) if np.isfinite(x) else np.nan
                             for x in s["units_needed"].astype(float)]
        out["availability"] = s
    return out
