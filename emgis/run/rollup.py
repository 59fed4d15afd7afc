"""The province's roll-up: every district's results added up (``emgis batch``).

Each district's run writes ``summary.json`` (:func:`district_summary`: plain figures, no
drawing); :func:`province_tables` puts them side by side, districts ranked by the persons
outside target; :func:`write_rollup` writes ``province.xlsx`` and ``province_report.html``
with a map of the districts coloured by the share of people within target.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from emgis.inputs.kinds import PUBLIC_KINDS
from emgis.outputs.style import scenario_label
from emgis.outputs.tables import headers, present
from emgis.outputs.workbook import table_workbook
from emgis.texts import texts

if TYPE_CHECKING:
    from emgis.analysis.siting import SitingResult
    from emgis.outputs.folder import OutputDir
    from emgis.plan import Plan
    from emgis.run.batch import Outcome, Province
    from emgis.run.jobs import CoverageOutputs, ScenarioOutputs

#: The file each district's run adds for the roll-up.
SUMMARY = "summary.json"



def district_summary(plan: Plan, *, name: str, cross_border_ids: set[str],
                     coverage: CoverageOutputs, compliance: pd.DataFrame | None,
                     scenarios: ScenarioOutputs | None, sites: Sequence[SitingResult],
                     failures: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """One district's figures for the roll-up (JSON-ready, deterministic).

    Parameters
    ----------
    plan
        The district's :class:`~emgis.plan.Plan`.
    name
        The district's name in the province.
    cross_border_ids
        Ids of the neighbours' units taken in.
    coverage, compliance, scenarios, sites, failures
        What :func:`emgis.run.jobs.run_all` computed.
    """

    from emgis.run.jobs import proposals_table  # deferred: loads networkx, numba, scipy.optimize

    d = plan.district
    tab = coverage.result.table
    kinds = []
    towns = []
    for kind in dict.fromkeys(tab["kind"]):
        if kind not in PUBLIC_KINDS:
            continue
        rows = tab[tab["kind"] == kind]
        pop = rows["population"].fillna(0).to_numpy(dtype=float)
        cov = (rows["status"] == "covered").to_numpy()
        cross = rows["nearest_id"].astype(str).isin(cross_border_ids).to_numpy() & cov
        kinds.append({"kind": kind, "population": int(pop.sum()),
                      "covered": int(pop[cov].sum()), "outside": int(pop[~cov].sum()),
                      "villages_outside": int((~cov).sum()),
                      "cross_border_covered": int(pop[cross].sum())})
        for town, g in rows.assign(_out=np.where(cov, 0.0, pop)).groupby("township",
                                                                          sort=True):
            towns.append({"township": str(town), "kind": kind,
                          "population": int(g["population"].fillna(0).sum()),
                          "outside": int(g["_out"].sum())})
    comp = []
    if compliance is not None and len(compliance):
        c = compliance.assign(township=compliance["township"].fillna("").astype(str))
        for (town, status), g in c.groupby(["township", "status"], sort=True):
            comp.append({"township": town, "status": str(status), "findings": len(g)})
    build = proposals_table(d, sites)
    build_rows = [{"kind": str(r["kind"]), "rank": int(r["rank"]),
                   "site_id": str(r["site_id"]), "name": str(r["name"]),
                   "township": str(r["township"]),
                   "newly_covered_population": int(r["newly_covered_population"]),
                   "gain": round(float(r["gain"]), 1), "gain_unit": str(r["gain_unit"]),
                   "lon": float(r["lon"]), "lat": float(r["lat"])}
                  for r in build.to_dict("records")]
    scen = []
    if scenarios is not None:
        for r in scenarios.results:
            row = r.summary.iloc[0]
            scen.append({"scenario": str(r.scenario.name),
                         **{k: int(row[k]) for k in (
                             "population_losing_cover", "population_cut_off",
                             "units_out_of_action", "units_cut_off")}})
    boundary = None
    area = d.area
    if area is not None and not shapely.is_empty(area):

        g = gpd.GeoSeries([area.simplify(50.0)], crs=d.crs).to_crs(4326).iloc[0]
        # coordinates rounded one by one (rounding on a grid can fail on a valid outline:
        # GEOS "side location conflict"), then made valid
        boundary = json.loads(shapely.to_geojson(shapely.make_valid(
            shapely.set_precision(g, 1e-6, mode="pointwise"))))
    total = sum(k["population"] for k in kinds)
    teams = d.teams
    taken = teams[teams["id"].astype(str).isin(cross_border_ids)] if len(teams) else teams
    return {
        "district": name, "name": d.name, "villages": len(d.villages),
        "population": int(d.villages["population"].fillna(0).sum()),
        "share_covered": round(sum(k["covered"] for k in kinds) / total, 4) if total else None,
        "persons_outside": int(sum(k["outside"] for k in kinds)),
        "kinds": kinds, "townships": towns, "compliance": comp, "build_here": build_rows,
        "scenarios": scen, "boundary": boundary,
        "cross_border_units": {str(k): int(v) for k, v in
                               taken["kind"].value_counts().sort_index().items()},
        "failures": [{"step": s, "error": m} for s, m in failures],
    }


def read_summaries(stems: Mapping[str, Path], outcomes: Sequence[Outcome]
                   ) -> dict[str, dict[str, Any]]:
    """The ``summary.json`` of every district that ran (or was unchanged)."""

    out = {}
    for o in outcomes:
        if o.status in ("done", "unchanged") and o.name in stems:
            f = stems[o.name] / SUMMARY
            if f.exists():
                out[o.name] = json.loads(f.read_text("utf-8"))
    return out


def province_tables(summaries: Mapping[str, Mapping[str, Any]], outcomes: Sequence[Outcome],
                    stems: Mapping[str, Path] | None = None) -> dict[str, pd.DataFrame]:
    """The roll-up's tables: ``districts`` (ranked by persons outside target; failed ones
    last, with their error), ``district_kinds``, ``townships`` (per kind, most persons
    outside first), ``build_here``, ``compliance`` (findings per status) and ``scenarios``."""
    rows, kinds, towns, build, comp, scen = [], [], [], [], [], []
    for o in outcomes:
        s = summaries.get(o.name)
        if s is None:
            rows.append({"district": o.name, "run_status": "failed" if o.status != "done"
                         else o.status, "villages": np.nan, "population": np.nan,
                         "persons_outside": np.nan, "share_covered": np.nan,
                         "proposals": np.nan, "error": o.error or "no summary"})
            continue
        steps = "; ".join(f"{f['step']}: {f['error']}" for f in s["failures"])
        rows.append({"district": o.name, "run_status": o.status, "villages": s["villages"],
                     "population": s["population"], "persons_outside": s["persons_outside"],
                     "share_covered": s["share_covered"], "proposals": len(s["build_here"]),
                     "error": steps})
        kinds += [{"district": o.name, **k} for k in s["kinds"]]
        towns += [{"district": o.name, **t} for t in s["townships"]]
        build += [{"district": o.name, **b} for b in s["build_here"]]
        comp += [{"district": o.name, **c} for c in s["compliance"]]
        scen += [{"district": o.name, **x} for x in s["scenarios"]]
    d = pd.DataFrame(rows)
    stems = stems or {}
    d["report"] = [f"{stems[n].name}/report.html" if n in stems and n in summaries else ""
                   for n in d["district"]]
    ok = d["persons_outside"].notna()
    d = pd.concat([d[ok].sort_values(["persons_outside", "district"],
                                     ascending=[False, True], kind="stable"), d[~ok]],
                  ignore_index=True)
    d.insert(0, "rank", np.where(d["persons_outside"].notna(),
                                 np.arange(1, len(d) + 1), np.nan))
    tw = pd.DataFrame(towns, columns=["district", "township", "kind", "population", "outside"])
    tw = tw.sort_values(["outside", "district", "township", "kind"],
                        ascending=[False, True, True, True], kind="stable").reset_index(drop=True)
    return {
        "districts": d,
        "district_kinds": pd.DataFrame(kinds, columns=[
            "district", "kind", "population", "covered", "outside", "villages_outside",
            "cross_border_covered"]),
        "townships": tw,
        "build_here": pd.DataFrame(build, columns=[
            "district", "kind", "rank", "site_id", "name", "township",
            "newly_covered_population", "gain", "gain_unit", "lon", "lat"]),
        "compliance": pd.DataFrame(comp, columns=["district", "township", "status",
                                                  "findings"]),
        "scenarios": pd.DataFrame(scen, columns=[
            "district", "scenario", "population_losing_cover", "population_cut_off",
            "units_out_of_action", "units_cut_off"]),
    }


def map_png(summaries: Mapping[str, Mapping[str, Any]], ranks: Mapping[str, int], *,
            width_mm: float = 180, height_mm: float = 130) -> bytes | None:
    """The districts' boundaries filled by the share of people within target (red 0% to
    green 100%, grey without figures), each labelled with its rank; no other text, so any
    language reads it. PNG bytes, or None when no district has a boundary."""
    import matplotlib  # deferred: loads matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: loads matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # deferred: loads matplotlib
    from matplotlib.figure import Figure  # deferred: loads matplotlib

    shapes = [(n, shapely.from_geojson(json.dumps(s["boundary"])), s["share_covered"])
              for n, s in sorted(summaries.items()) if s.get("boundary")]
    if not shapes:
        return None
    cmap = plt.get_cmap("RdYlGn")
    fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=150)  # not pyplot's:
    # no figure stays open in a global registry when drawing fails half way
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_aspect(1 / np.cos(np.radians(np.mean([g.centroid.y for _, g, _ in shapes]))))
    for name, geom, share in shapes:
        colour = "#bdbdbd" if share is None else cmap(float(share))
        for poly in getattr(geom, "geoms", [geom]):
            if poly.geom_type != "Polygon":
                continue
            x, y = poly.exterior.xy
            ax.fill(x, y, color=colour, ec="#333", lw=0.8)
        if name in ranks:
            p = geom.representative_point()
            ax.annotate(str(ranks[name]), (p.x, p.y), ha="center", va="center", fontsize=8,
                        fontweight="bold", color="#111")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _html(province: Province, tables: Mapping[str, pd.DataFrame],
          summaries: Mapping[str, Mapping[str, Any]], png: bytes | None, lang: str) -> str:
    import jinja2  # deferred: loads jinja2


    t = texts(lang)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    src = resources.files("emgis").joinpath("_templates", "province.html.j2").read_text("utf-8")


    def kind_word(v: str) -> str:
        return t.kind(v)

    def status_word(v: str) -> str:
        return t.get("batch_status", v)

    def unit_word(v: str) -> str:
        return t.get("unit_words", v)

    def scenario_word(v: str) -> str:
        return scenario_label(v, t)

    words: dict[str, Callable[[str], str]] = {"kind": kind_word, "run_status": status_word,
                                              "gain_unit": unit_word,
                                              "scenario": scenario_word}

    def records(df: pd.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
        shown = (df.head(limit) if limit else df).copy()
        for col, word in words.items():
            if col in shown:
                shown[col] = [word(v) if isinstance(v, str) else v for v in shown[col]]
        shown = present(shown, lang)
        return [{str(k): ("" if (isinstance(v, float) and np.isnan(v)) else
                     f"{v:,.0f}" if isinstance(v, (int, float, np.integer, np.floating))
                     and k not in ("share_covered", "lon", "lat", "gain") else
                     f"{100 * v:.1f}%" if k == "share_covered" else
                     f"{v:.6f}" if k in ("lon", "lat") else
                     f"{v:,.0f}" if k == "gain" else str(v))
                 for k, v in r.items()} for r in shown.to_dict("records")]

    d = tables["districts"]
    done = d["persons_outside"].notna()
    return env.from_string(src).render(
        t=t, lang=lang, province=province.name,
        n=len(d), n_ok=int(done.sum()), n_failed=int((~done).sum()),
        population=f"{d.loc[done, 'population'].sum():,.0f}",
        outside=f"{d.loc[done, 'persons_outside'].sum():,.0f}",
        map=base64.b64encode(png).decode("ascii") if png else "",
        districts=records(d), failed=records(d[~done]),
        townships=records(tables["townships"][tables["townships"]["outside"] > 0], 30),
        n_townships=int((tables["townships"]["outside"] > 0).sum()),
        build=records(tables["build_here"].sort_values(
            ["newly_covered_population", "district"], ascending=[False, True],
            kind="stable"), 30),
        n_build=len(tables["build_here"]),
        scenarios=records(tables["scenarios"].sort_values(
            ["population_losing_cover", "district"], ascending=[False, True], kind="stable"),
            30),
        heads={k: dict(zip(list(v.columns), _heads(list(v.columns), lang), strict=True))
               for k, v in tables.items()})


def _heads(cols: list[str], lang: str) -> list[str]:

    return headers(cols, lang)


def write_rollup(od: OutputDir, province: Province, outcomes: Sequence[Outcome],
                 stems: Mapping[str, Path], *, lang: str = "en") -> list[Path]:
    """Write ``province.xlsx`` and ``province_report.html`` under the batch's output folder."""

    summaries = read_summaries(stems, outcomes)
    tables = province_tables(summaries, outcomes, stems)
    d = tables["districts"]
    ranks = {str(n): int(r) for n, r in zip(d["district"], d["rank"], strict=True)
             if r == r}
    png = map_png(summaries, ranks)
    files = [od.write_bytes("province.xlsx", table_workbook(
        [(f"province_{k}", v) for k, v in tables.items()], lang=lang,
        title=f"{province.name}")),
        od.write_text("province_report.html", _html(province, tables, summaries, png, lang))]
    return files
