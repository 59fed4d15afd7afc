"""This year against last: what changed between two finished output folders (``emgis compare``).

:func:`compare_runs` reads two folders that ``emgis coverage`` or ``emgis run`` wrote (in
either language: a Chinese CSV has two header rows, the Chinese headers then the English field
names, and emgis's codes in words; both are read back to codes) after checking each against its
manifest (:func:`emgis.outputs.folder.read_manifest`: a run that did not finish, or a file
changed since, is an error naming the folder). It computes, as plain tables in a
:class:`Comparison`:

- per village and kind, what changed: the villages that left and that entered the kind's gap
  list (a village is on it when its status is not ``covered``), other changes of status, of
  the nearest minutes and of the nearest unit, and the villages only one run has (``added``,
  ``removed``), matched by village id;
- per kind and per township and kind, the persons within target before and after, and the
  change;
- the plans side by side (the ``siting_KIND.csv`` proposals of each run, and the robust plans'
  ``siting_KIND_robust.csv`` where present);
- the settings (key by key), the input files (by sha256) and the options (``--plan``,
  ``--as-of`` ...) that changed, from the two manifests.

Nothing is drawn here: :func:`write_comparison` hands the tables to
:mod:`emgis.outputs.compare` (the report page and the map of the changes) and to the CSV writer,
through an :class:`~emgis.outputs.folder.OutputDir` (atomic writes, the manifest last).

Every string read from the folders (ids, names, townships, settings values) is data: it is
escaped wherever it is shown, and no file name is ever made from it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from emgis._errors import EmgisError
from emgis.inputs.kinds import UNIT_KINDS
from emgis.outputs.compare import compare_map, compare_report
from emgis.outputs.folder import MANIFEST, OutputDir, read_manifest
from emgis.outputs.tables import CODE_COLUMNS, FORMULA_START, write_csv
from emgis.texts import Msg, Texts, texts

log = logging.getLogger(__name__)

#: Fields of ``coverage.csv`` a comparison reads.
COVERAGE_FIELDS = ("village_id", "village_name", "township", "population", "kind", "nearest_id",
                   "nearest_name", "nearest_min", "target_min", "status")
#: Fields of ``siting_KIND.csv`` and ``siting_KIND_robust.csv`` a comparison reads.
PLAN_FIELDS = ("rank", "site_id", "name", "newly_covered_population", "gain", "gain_unit",
               "model")
ROBUST_FIELDS = ("scenario", "covered_existing", "covered_baseline_plan", "covered_robust_plan")

#: What happened to a village for a kind, in the order the tables list them.
CHANGES = ("left_gap", "entered_gap", "status", "minutes", "nearest", "added", "removed")
#: Classes of the map of the changes.
MAP_CLASSES = ("newly_covered", "newly_outside", "covered", "outside", "added", "removed")

#: Minutes closer than this count as the same (the CSV files hold hundredths).
MINUTES_EPS = 0.001

_NUMERIC = ("population", "nearest_min", "target_min", "rank", "newly_covered_population",
            "gain", "covered_existing", "covered_baseline_plan", "covered_robust_plan")


class CompareError(ValueError, EmgisError):
    """The folders cannot be compared; ``errors`` names every problem (a :class:`Msg` each:
    the folder, and what is wrong with it)."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True, eq=False)
class RunInfo:
    """One of the two folders compared.

    Attributes
    ----------
    path
        The folder (resolved).
    manifest
        Its manifest ``run.json``, checked.
    lang
        The language its tables were written in (``"en"`` or ``"zh"``: detected from the
        header rows of ``coverage.csv``).
    """

    path: Path
    manifest: Mapping[str, Any]
    lang: str

    @property
    def district(self) -> str:
        """The district's name as the manifest records it."""
        return str(self.manifest.get("district") or "")

    @property
    def finished(self) -> str:
        """When the run finished (ISO time of the manifest)."""
        return str(self.manifest.get("finished") or "")

    @property
    def command(self) -> str:
        """The command that wrote the folder (``run``, ``coverage``)."""
        return str(self.manifest.get("command") or "")


@dataclass(frozen=True, eq=False)
class Comparison:
    """Two runs compared (:func:`compare_runs`). Plain tables; codes, never words.

    Attributes
    ----------
    old, new
        The earlier and the later folder.
    villages
        One row per village and kind that changed: ``village_id``, ``village_name``,
        ``township``, ``population`` (the later run's, the earlier's for a removed village),
        ``population_old``, ``kind``, ``change`` (one of :data:`CHANGES`), ``status_old``,
        ``status_new``, ``nearest_min_old``, ``nearest_min_new``, ``minutes_change``,
        ``nearest_name_old``, ``nearest_name_new``, ``target_min_old``, ``target_min_new``;
        most people first within each change.
    kinds
        One row per kind: targets, villages and population, ``within_target_old`` /
        ``_new`` / ``_change`` (persons), the share within target, the villages on the gap
        list before and after, ``left_gap`` and ``entered_gap`` (villages) with their
        persons, ``added`` and ``removed`` villages.
    townships
        One row per township and kind: population and persons within target before and
        after, the change, and the villages outside target before and after.
    settings
        What changed in the manifests: ``setting_scope`` (``setting``, ``input``, ``option``
        or ``run``), ``key`` (``targets.fire_station``, a file name, ``as_of`` ...),
        ``value_old``, ``value_new`` (text; an input file by its sha256) and ``change``
        (``changed``, ``added``, ``removed``).
    plans
        The proposals side by side, one row per kind and rank: ``site_id_old``,
        ``name_old``, ``gain_old``, ``newly_covered_population_old`` and the same ``_new``,
        ``gain_unit``, ``model_old`` / ``_new``, ``same_site``.
    robust
        The robust plans side by side, one row per kind and scenario: persons covered with
        the existing units, the baseline-only plan and the robust plan, before and after.
    positions
        Village points (WGS-84) by ``village_id`` from the folders' ``coverage.gpkg`` (the
        later run's first), for the map; None when neither folder has one.
    all_villages
        Every village and kind with its class on the map (one of :data:`MAP_CLASSES`) and
        the fields of ``villages``.
    """

    old: RunInfo
    new: RunInfo
    villages: pd.DataFrame
    kinds: pd.DataFrame
    townships: pd.DataFrame
    settings: pd.DataFrame
    plans: pd.DataFrame
    robust: pd.DataFrame
    positions: Any
    all_villages: pd.DataFrame

    def left_gap(self, kind: str) -> pd.DataFrame:
        """The villages that left ``kind``'s gap list, most people first."""
        v = self.villages
        return v[(v["kind"] == kind) & (v["change"] == "left_gap")]

    def entered_gap(self, kind: str) -> pd.DataFrame:
        """The villages that entered ``kind``'s gap list, most people first."""
        v = self.villages
        return v[(v["kind"] == kind) & (v["change"] == "entered_gap")]

    def write(self, out: str | Path, *, lang: str = "en",
              on_wait: Callable[[str], None] | None = None) -> list[Path]:
        """Write the comparison's files under ``out`` (:func:`write_comparison`)."""
        return write_comparison(self, out, lang=lang, on_wait=on_wait)


# -- reading a folder ----------------------------------------------------------------------------
def _problems(old: str | Path, new: str | Path, out: str | Path | None) -> list[str]:
    """Every reason the two folders (and the output folder) cannot be used, each naming its
    folder."""
    errors: list[str] = []
    for folder in (old, new):
        p = Path(folder)
        if not p.is_dir():
            errors.append(Msg("compare.folder_missing", path=str(p)))
            continue
        try:
            doc = read_manifest(p)
        except EmgisError as exc:
            errors.append(exc.args[0] if exc.args and isinstance(exc.args[0], Msg)
                          else Msg("compare.folder_bad", path=str(p), detail=str(exc)))
            continue
        if "coverage.csv" not in doc.get("files", {}):
            errors.append(Msg("compare.no_coverage", path=str(p)))
    if out is not None:
        o = Path(out).resolve()
        for folder in (old, new):
            if Path(folder).resolve() == o:
                errors.append(Msg("compare.out_is_input", path=str(out)))
                break
    return errors


def _reverse_words(t: Texts) -> dict[str, dict[str, str]]:
    """Per code column, the catalogue's words back to emgis's codes."""
    out: dict[str, dict[str, str]] = {}
    for col, sections in CODE_COLUMNS.items():
        back: dict[str, str] = {}
        for sec in reversed(sections):  # the first section wins, as when written
            for code, word in t.data.get(sec, {}).items():
                if isinstance(word, str):
                    back[word] = code
        out[col] = back
    return out


def _unneutralise(value: object) -> object:
    """A text cell as it was before the CSV writer made it inert for spreadsheets."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and \
            value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def read_table(path: Path, fields: Sequence[str]) -> tuple[pd.DataFrame, str]:
    """A CSV table emgis wrote, in either language, with emgis's codes and the text cells as
    they were; and the language it was written in.

    A Chinese table has two header rows (Chinese headers, then the English field names) and
    its codes in words: the second row names the columns and the words are read back to
    codes. Every cell is read as text, then the numeric fields converted.

    Raises
    ------
    CompareError
        The file lacks one of ``fields`` in both header rows.
    """
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        first = next(reader, [])
        second = next(reader, [])
    need = set(fields)
    if need <= set(first):
        header, lang = 0, "en"
    elif need <= set(second):
        header, lang = 1, "zh"
    else:
        missing = sorted(need - set(first))
        raise CompareError([Msg("compare.table_unreadable", path=str(path),
                                fields=", ".join(missing))])
    df = pd.read_csv(path, header=header, dtype=str, keep_default_na=False, na_values=[""],
                     encoding="utf-8-sig")
    for col in df.columns:
        df[col] = df[col].map(_unneutralise)
    if lang != "en":
        back = _reverse_words(texts(lang))
        for col in df.columns:
            if col in back:
                df[col] = df[col].map(lambda v, b=back[col]: b.get(v, v) if isinstance(v, str)
                                      else v)
    for col in _NUMERIC:
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df, lang


def _read_run(folder: str | Path) -> tuple[RunInfo, pd.DataFrame]:
    path = Path(folder).resolve()
    doc = read_manifest(path)
    table, lang = read_table(path / "coverage.csv", COVERAGE_FIELDS)
    table = table.drop_duplicates(["village_id", "kind"], keep="first")
    return RunInfo(path, doc, lang), table


def _plans(run: RunInfo) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """The run's proposals and robust comparisons per kind (kinds from the manifest's file
    names, kept only when they are emgis's kinds)."""
    plans: dict[str, pd.DataFrame] = {}
    robust: dict[str, pd.DataFrame] = {}
    for name in sorted(run.manifest.get("files", {})):
        m = re.fullmatch(r"siting_([a-z_]+?)(_robust)?\.csv", str(name))
        if not m or m.group(1) not in UNIT_KINDS:
            continue
        fields = ROBUST_FIELDS if m.group(2) else PLAN_FIELDS
        table, _ = read_table(run.path / f"siting_{m.group(1)}{m.group(2) or ''}.csv", fields)
        (robust if m.group(2) else plans)[m.group(1)] = table
    return plans, robust


def _positions(runs: Sequence[RunInfo]) -> Any:
    """Village points (WGS-84) from the folders' coverage.gpkg, the first folder first."""

    parts = []
    for run in runs:
        if "coverage.gpkg" not in run.manifest.get("files", {}):
            continue
        try:
            g = pyogrio.read_dataframe(run.path / "coverage.gpkg", layer="coverage",
                                       columns=["village_id"])
        except Exception as exc:  # a layer of another version: the map goes without it
            log.info("no village points in %s: %s", run.path, exc)
            continue
        g["village_id"] = g["village_id"].astype(str).map(_unneutralise)
        parts.append(g.drop_duplicates("village_id").to_crs(4326))
    if not parts:
        return None
    out = pd.concat(parts, ignore_index=True).drop_duplicates("village_id", keep="first")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326).set_index("village_id")


# -- comparing ---------------------------------------------------------------------------------
def _kind_order(kinds: Sequence[str]) -> list[str]:
    order = {k: i for i, k in enumerate(UNIT_KINDS)}
    return sorted(dict.fromkeys(kinds), key=lambda k: (order.get(k, len(order)), k))


def _village_changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Every village and kind of either run with both runs' values and what changed."""
    key = ["village_id", "kind"]
    cols = ["village_name", "township", "population", "nearest_id", "nearest_name",
            "nearest_min", "target_min", "status"]
    m = old[key + cols].merge(new[key + cols], on=key, how="outer", suffixes=("_old", "_new"),
                              indicator=True)
    only_old = (m["_merge"] == "left_only").to_numpy()
    only_new = (m["_merge"] == "right_only").to_numpy()
    gap_old = (m["status_old"].notna() & (m["status_old"] != "covered")).to_numpy()
    gap_new = (m["status_new"].notna() & (m["status_new"] != "covered")).to_numpy()
    a = m["nearest_min_old"].to_numpy(dtype=float)
    b = m["nearest_min_new"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        minutes = (np.isnan(a) != np.isnan(b)) | (np.abs(a - b) > MINUTES_EPS)
    status = (m["status_old"].fillna("") != m["status_new"].fillna("")).to_numpy()
    nearest = (m["nearest_id_old"].fillna("") != m["nearest_id_new"].fillna("")).to_numpy()
    change = np.select(
        [only_new, only_old, gap_old & ~gap_new, ~gap_old & gap_new, status, minutes, nearest],
        ["added", "removed", "left_gap", "entered_gap", "status", "minutes", "nearest"],
        default="")
    cls = np.select(
        [only_new, only_old, gap_old & ~gap_new, ~gap_old & gap_new, ~gap_new],
        ["added", "removed", "newly_covered", "newly_outside", "covered"], default="outside")
    out = pd.DataFrame({
        "village_id": m["village_id"],
        "village_name": m["village_name_new"].where(~only_old, m["village_name_old"]),
        "township": m["township_new"].where(~only_old, m["township_old"]),
        "population": m["population_new"].where(~only_old, m["population_old"]),
        "population_old": m["population_old"],
        "kind": m["kind"], "change": change, "map_class": cls,
        "status_old": m["status_old"], "status_new": m["status_new"],
        "nearest_min_old": a, "nearest_min_new": b, "minutes_change": np.round(b - a, 2),
        "nearest_name_old": m["nearest_name_old"], "nearest_name_new": m["nearest_name_new"],
        "target_min_old": m["target_min_old"], "target_min_new": m["target_min_new"],
    })
    rank = {c: i for i, c in enumerate(CHANGES)}
    korder = {k: i for i, k in enumerate(_kind_order(list(out["kind"])))}
    out["_c"] = out["change"].map(rank).fillna(len(rank))
    out["_k"] = out["kind"].map(korder)
    out = out.sort_values(["_k", "_c", "population", "village_id"],
                          ascending=[True, True, False, True], kind="stable")
    return out.drop(columns=["_c", "_k"]).reset_index(drop=True)


def _within(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Villages, population, persons within target and villages outside target per group."""
    t = table.assign(_in=np.where(table["status"] == "covered", table["population"], 0),
                     _out=(table["status"] != "covered").astype(int))
    g = t.groupby(by, dropna=False, sort=False)
    return pd.DataFrame({"villages": g.size(), "population": g["population"].sum(),
                         "within_target": g["_in"].sum(), "gaps": g["_out"].sum(),
                         "target_min": g["target_min"].first()}).reset_index()


def _kinds(old: pd.DataFrame, new: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    a, b = _within(old, ["kind"]), _within(new, ["kind"])
    m = a.merge(b, on="kind", how="outer", suffixes=("_old", "_new"))
    rows = []
    for kind in _kind_order(list(m["kind"])):
        r = m[m["kind"] == kind].iloc[0]
        c = changes[changes["kind"] == kind]

        def n(change: str, c: pd.DataFrame = c) -> int:
            return int((c["change"] == change).sum())

        def persons(change: str, c: pd.DataFrame = c) -> int:
            return int(c.loc[c["change"] == change, "population"].fillna(0).sum())

        pop_old, pop_new = _int(r["population_old"]), _int(r["population_new"])
        in_old, in_new = _int(r["within_target_old"]), _int(r["within_target_new"])
        rows.append({
            "kind": kind, "target_min_old": r["target_min_old"],
            "target_min_new": r["target_min_new"],
            "villages_old": _int(r["villages_old"]), "villages_new": _int(r["villages_new"]),
            "population_old": pop_old, "population_new": pop_new,
            "within_target_old": in_old, "within_target_new": in_new,
            "within_target_change": in_new - in_old,
            "share_covered_old": round(in_old / pop_old, 4) if pop_old else np.nan,
            "share_covered_new": round(in_new / pop_new, 4) if pop_new else np.nan,
            "gaps_old": _int(r["gaps_old"]), "gaps_new": _int(r["gaps_new"]),
            "left_gap": n("left_gap"), "left_gap_population": persons("left_gap"),
            "entered_gap": n("entered_gap"), "entered_gap_population": persons("entered_gap"),
            "added": n("added"), "removed": n("removed")})
    return pd.DataFrame(rows)


def _int(v: Any) -> int:
    return 0 if v is None or pd.isna(v) else int(v)


def _townships(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    a = _within(old.assign(township=old["township"].fillna("")), ["township", "kind"])
    b = _within(new.assign(township=new["township"].fillna("")), ["township", "kind"])
    m = a.merge(b, on=["township", "kind"], how="outer", suffixes=("_old", "_new"))
    out = pd.DataFrame({"township": m["township"], "kind": m["kind"]})
    for col in ("population", "within_target", "gaps"):
        for s in ("old", "new"):
            out[f"{col}_{s}"] = m[f"{col}_{s}"].fillna(0).astype(np.int64)
    out["within_target_change"] = out["within_target_new"] - out["within_target_old"]
    out = out.rename(columns={"gaps_old": "villages_outside_old",
                              "gaps_new": "villages_outside_new"})
    korder = {k: i for i, k in enumerate(_kind_order(list(out["kind"])))}
    out["_k"] = out["kind"].map(korder)
    out = out.sort_values(["township", "_k"], kind="stable").drop(columns="_k")
    return out[["township", "kind", "population_old", "population_new", "within_target_old",
                "within_target_new", "within_target_change", "villages_outside_old",
                "villages_outside_new"]].reset_index(drop=True)


def _flat(d: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for k, v in d.items():
        if isinstance(v, Mapping):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def value_text(v: object) -> str:
    """A manifest value as text (numbers as written in district.toml)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def _settings(old: Mapping[str, Any], new: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    parts = (("run", {k: old.get(k) for k in ("emgis", "district", "command")},
              {k: new.get(k) for k in ("emgis", "district", "command")}),
             ("setting", dict(_flat(old.get("settings") or {})),
              dict(_flat(new.get("settings") or {}))),
             ("input", dict(old.get("inputs") or {}), dict(new.get("inputs") or {})),
             ("option", {k: v for k, v in (old.get("options") or {}).items() if k != "command"},
              {k: v for k, v in (new.get("options") or {}).items() if k != "command"}))
    for scope, a, b in parts:
        for key in list(dict.fromkeys([*a, *b])):
            if key in a and key in b:
                if a[key] == b[key]:
                    continue
                change = "changed"
            else:
                change = "added" if key in b else "removed"
            rows.append({"setting_scope": scope, "key": key,
                         "value_old": value_text(a.get(key)) if key in a else "",
                         "value_new": value_text(b.get(key)) if key in b else "",
                         "change": change})
    return pd.DataFrame(rows, columns=["setting_scope", "key", "value_old", "value_new",
                                       "change"])


def _side_by_side(old: Mapping[str, pd.DataFrame], new: Mapping[str, pd.DataFrame]
                  ) -> pd.DataFrame:
    cols = ["site_id", "name", "gain", "newly_covered_population", "gain_unit", "model"]
    rows = []
    for kind in _kind_order([*old, *new]):
        a = old.get(kind, pd.DataFrame(columns=["rank", *cols]))
        b = new.get(kind, pd.DataFrame(columns=["rank", *cols]))
        m = a[["rank", *cols]].merge(b[["rank", *cols]], on="rank", how="outer",
                                     suffixes=("_old", "_new")).sort_values("rank")
        for r in m.to_dict("records"):
            rows.append({
                "kind": kind, "rank": _int(r["rank"]),
                **{f"{c}_{s}": r[f"{c}_{s}"] for c in ("site_id", "name", "gain",
                                                      "newly_covered_population")
                   for s in ("old", "new")},
                "gain_unit": r["gain_unit_new"] if isinstance(r["gain_unit_new"], str)
                else r["gain_unit_old"],
                "model_old": r["model_old"], "model_new": r["model_new"],
                "same_site": bool(isinstance(r["site_id_old"], str)
                                  and r["site_id_old"] == r["site_id_new"])})
    columns = ["kind", "rank", "site_id_old", "name_old", "gain_old",
               "newly_covered_population_old", "site_id_new", "name_new", "gain_new",
               "newly_covered_population_new", "gain_unit", "model_old", "model_new",
               "same_site"]
    out = pd.DataFrame(rows, columns=columns)
    out["same_site"] = out["same_site"].astype(bool)
    return out


def _robust_side_by_side(old: Mapping[str, pd.DataFrame], new: Mapping[str, pd.DataFrame]
                         ) -> pd.DataFrame:
    cols = ["covered_existing", "covered_baseline_plan", "covered_robust_plan"]
    parts = []
    for kind in _kind_order([*old, *new]):
        a = old.get(kind, pd.DataFrame(columns=["scenario", *cols]))
        b = new.get(kind, pd.DataFrame(columns=["scenario", *cols]))
        m = a[["scenario", *cols]].merge(b[["scenario", *cols]], on="scenario", how="outer",
                                         suffixes=("_old", "_new"), sort=False)
        order = {s: i for i, s in enumerate(dict.fromkeys([*b["scenario"], *a["scenario"]]))}
        m = m.sort_values("scenario", key=lambda s: s.map(order), kind="stable")
        m.insert(0, "kind", kind)
        parts.append(m)
    columns = ["kind", "scenario", *(f"{c}_{s}" for c in cols for s in ("old", "new"))]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def compare_runs(old: str | Path, new: str | Path, *, out: str | Path | None = None
                 ) -> Comparison:
    """Compare two finished output folders of ``emgis coverage`` or ``emgis run`` (in either
    language): the earlier ``old`` and the later ``new``.

    Parameters
    ----------
    old, new
        The folders. Each is checked against its manifest first.
    out
        The folder the comparison will be written to, if known: refused when it is one of
        the two compared.

    Returns
    -------
    Comparison
        The tables (see :class:`Comparison`).

    Raises
    ------
    CompareError
        With every problem of both folders named: a missing folder, no or an unreadable
        manifest, a run that did not finish, a file missing or changed since the run, no
        ``coverage.csv``, a table emgis did not write.
    """
    errors = _problems(old, new, out)
    if errors:
        raise CompareError(errors)
    try:
        run_old, cov_old = _read_run(old)
        run_new, cov_new = _read_run(new)
        plans_old, robust_old = _plans(run_old)
        plans_new, robust_new = _plans(run_new)
    except EmgisError as exc:
        if isinstance(exc, CompareError):
            raise
        raise CompareError([exc.args[0] if exc.args else str(exc)]) from exc
    every = _village_changes(cov_old, cov_new)
    changed = every[every["change"] != ""].drop(columns="map_class").reset_index(drop=True)
    return Comparison(
        old=run_old, new=run_new, villages=changed,
        kinds=_kinds(cov_old, cov_new, changed), townships=_townships(cov_old, cov_new),
        settings=_settings(run_old.manifest, run_new.manifest),
        plans=_side_by_side(plans_old, plans_new),
        robust=_robust_side_by_side(robust_old, robust_new),
        positions=_positions([run_new, run_old]), all_villages=every)


# -- writing -----------------------------------------------------------------------------------
def _words(df: pd.DataFrame, t: Texts) -> pd.DataFrame:
    """The comparison's own codes in words (Chinese tables); the CSV writer does the rest."""
    out = df.copy()
    if "change" in out:
        prefix = "diff" if "setting_scope" in out else "change"
        out["change"] = [t.get("compare", f"{prefix}_{c}") if isinstance(c, str) and c else c
                         for c in out["change"]]
    for col in ("value_old", "value_new"):
        if col in out:
            out[col] = [{"true": t["word.yes"], "false": t["word.no"]}.get(v, v)
                        for v in out[col]]
    for col in ("status_old", "status_new"):
        if col in out:
            out[col] = [t.status(s) if isinstance(s, str) else s for s in out[col]]
    if "setting_scope" in out:
        out["setting_scope"] = [t.get("compare", f"scope_{s}") for s in out["setting_scope"]]
    for col in ("model_old", "model_new"):
        if col in out:
            out[col] = [t.get("model", m) if isinstance(m, str) else m for m in out[col]]
    if "gain_unit" in out:
        out["gain_unit"] = [t.get("unit_words", u) if isinstance(u, str) else u
                            for u in out["gain_unit"]]
    return out


def comparison_tables(cmp: Comparison, lang: str = "en") -> dict[str, pd.DataFrame]:
    """The tables as the CSV files hold them (file name -> table)."""
    t = texts(lang)
    tables = {"compare_villages.csv": cmp.villages, "compare_kinds.csv": cmp.kinds,
              "compare_townships.csv": cmp.townships, "compare_settings.csv": cmp.settings,
              "compare_plans.csv": cmp.plans}
    if len(cmp.robust):
        tables["compare_robust.csv"] = cmp.robust
    if lang == "en":
        return dict(tables)
    return {name: _words(df, t) for name, df in tables.items()}


def write_comparison(cmp: Comparison, out: str | Path, *, lang: str = "en",
                     on_wait: Callable[[str], None] | None = None) -> list[Path]:
    """Write the comparison under ``out``: ``compare_villages.csv``, ``compare_kinds.csv``,
    ``compare_townships.csv``, ``compare_settings.csv``, ``compare_plans.csv`` (and
    ``compare_robust.csv`` when a run has robust plans), ``compare.html`` (the report page)
    and ``compare_map.html`` (the map of the changes), atomically, the manifest last.

    Raises
    ------
    CompareError
        ``out`` is one of the two folders compared.
    OutputError
        ``out`` cannot be used.
    """
    target = Path(out).resolve()
    if target in (cmp.old.path, cmp.new.path):
        raise CompareError([Msg("compare.out_is_input", path=str(out))])
    files: list[Path] = []
    with OutputDir(out, command="compare", on_wait=on_wait) as od:
        od.describe(
            district=cmp.new.district or cmp.old.district,
            inputs={f"old/{MANIFEST}": _sha(cmp.old.path / MANIFEST),
                    f"new/{MANIFEST}": _sha(cmp.new.path / MANIFEST)},
            options={"command": "compare", "lang": lang, "old": str(cmp.old.path),
                     "new": str(cmp.new.path)})
        for name, df in comparison_tables(cmp, lang).items():
            files.append(write_csv(od, name, df, lang=lang))
        files.append(od.write_text("compare.html", compare_report(cmp, lang=lang)))
        files.append(od.write_text("compare_map.html", compare_map(cmp, lang=lang)))
        od.finish()
    return files


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def summary_lines(cmp: Comparison, lang: str = "en") -> list[str]:
    """The comparison in a few lines for the console: a line per kind whose figures moved."""
    t = texts(lang)
    lines = [t.fmt("compare.cli_head", old=str(cmp.old.path), new=str(cmp.new.path))]
    moved = cmp.kinds[(cmp.kinds["within_target_change"] != 0) | (cmp.kinds["left_gap"] > 0)
                      | (cmp.kinds["entered_gap"] > 0) | (cmp.kinds["added"] > 0)
                      | (cmp.kinds["removed"] > 0)]
    for r in moved.to_dict("records"):
        lines.append(t.fmt("compare.cli_kind", kind=t.kind(str(r["kind"])),
                           before=f"{r['within_target_old']:,}",
                           after=f"{r['within_target_new']:,}",
                           change=f"{r['within_target_change']:+,}", left=r["left_gap"],
                           entered=r["entered_gap"]))
    if not len(moved):
        lines.append(t["compare.cli_same"])
    n = len(cmp.settings)
    lines.append(t.fmt("compare.cli_settings", n=n))
    return lines
