"""The pages of ``emgis compare``: the report page (``compare.html``) and the map of the changes
(``compare_map.html``), drawn from a :class:`~emgis.run.compare.Comparison`.

The report is rendered from ``emgis/_templates/compare.html.j2`` by jinja2 with autoescape
(every id, name, township and settings value from the folders is escaped); every word comes
from the language's catalogue (:mod:`emgis.texts`, its ``compare`` section and the shared
column names). The map is built on the page every emgis map is built on
(:class:`emgis.outputs.mappage._Page`): the villages, their classes and their tips reach it only
as escaped JSON read by ``emgis-map.js``; titles and the legend are HTML-escaped.

An output folder holds no road network or township boundaries, so the map shows the villages
(by the class of their change for the kind chosen in the layer panel) with their names, over
the background tiles of the default ``[maps]`` settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from emgis.inputs.settings import Settings, default_settings
from emgis.outputs.mappage import _class_layer, _Page
from emgis.outputs.style import CREDIT
from emgis.texts import Texts, texts

if TYPE_CHECKING:
    import jinja2

    from emgis.inputs.district import District
    from emgis.run.compare import Comparison

#: Colours of the map of the changes (one per class of :data:`emgis.run.compare.MAP_CLASSES`).
COMPARE_COLOURS: dict[str, str] = {
    "newly_covered": "#2166ac", "newly_outside": "#d73027", "covered": "#a6d96a",
    "outside": "#fdae61", "added": "#762a83", "removed": "#bdbdbd",
}

#: Rows of each list of villages on the page (the CSV file holds them all).
PAGE_ROWS = 40
#: Rows of the township table on the page.
TOWNSHIP_ROWS = 60


@cache
def _template() -> jinja2.Template:
    import jinja2  # deferred: loads jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    src = resources.files("emgis").joinpath("_templates", "compare.html.j2").read_text("utf-8")
    return env.from_string(src)


def _num(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else f"{int(v):,}"


def _signed(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else f"{int(v):+,}"


def _min(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):.1f}"


def _target(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):g}"


def _share(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):.1%}"


def _text(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _status(t: Texts, s: object) -> str:
    return t.status(s) if isinstance(s, str) else "–"


def _date(iso: str) -> str:
    return iso[:10] if iso else "–"


def _value(t: Texts, v: str) -> str:
    return {"true": t["word.yes"], "false": t["word.no"]}.get(v, v)


def key_label(t: Texts, scope: str, key: str) -> str:
    """A changed setting, input or option in the catalogue's words (empty where the
    catalogue has none: the key itself then says it)."""
    if scope == "setting":
        section, _, item = key.partition(".")
        head = t.get("compare", f"key_{section}", "")
        word = {"targets": t.get("kind", item, ""), "turnout": t.get("kind", item, ""),
                "speeds": t.get("road_class", item, ""),
                "minimums": t.get("minimum", item, "")}.get(section, "")
        return t.fmt("compare.key_item", section=head, item=word) if head and word else head
    if scope == "input":
        return t["compare.scope_input"]
    return t.get("compare", f"{scope}_{key}", "")


def _village_rows(df: pd.DataFrame, t: Texts) -> list[dict[str, Any]]:
    return [{"kind": t.kind(str(r["kind"])), "village": _text(r["village_name"]),
             "village_id": _text(r["village_id"]), "township": _text(r["township"]),
             "population": _num(r["population"]),
             "status_old": _status(t, r["status_old"]), "status_new": _status(t, r["status_new"]),
             "min_old": _min(r["nearest_min_old"]), "min_new": _min(r["nearest_min_new"]),
             "nearest_old": _text(r["nearest_name_old"]) or "–",
             "nearest_new": _text(r["nearest_name_new"]) or "–"}
            for r in df.to_dict("records")]


def _most_people(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["population", "village_id"], ascending=[False, True], kind="stable")


def compare_report(cmp: Comparison, *, lang: str = "en") -> str:
    """The report page of a comparison (HTML): headline numbers per kind, the villages that
    left and entered the gap lists most people first, the township table, the settings,
    inputs and options that changed and the plans side by side."""
    t = texts(lang)
    k = cmp.kinds
    kinds = [{
        "kind": t.kind(str(r["kind"])),
        "target": _target(r["target_min_old"]) if r["target_min_old"] == r["target_min_new"]
        else f"{_target(r['target_min_old'])} → {_target(r['target_min_new'])}",
        "within_old": _num(r["within_target_old"]), "within_new": _num(r["within_target_new"]),
        "change": _signed(r["within_target_change"]),
        "share_old": _share(r["share_covered_old"]), "share_new": _share(r["share_covered_new"]),
        "gaps_old": _num(r["gaps_old"]), "gaps_new": _num(r["gaps_new"]),
        "left": _num(r["left_gap"]), "left_persons": _num(r["left_gap_population"]),
        "entered": _num(r["entered_gap"]), "entered_persons": _num(r["entered_gap_population"]),
        "moved": bool(r["within_target_change"] or r["left_gap"] or r["entered_gap"]),
    } for r in k.to_dict("records")]
    headlines = [t.fmt("compare.headline", kind=r["kind"], before=r["within_old"],
                       after=r["within_new"], change=r["change"], left=r["left"],
                       left_persons=r["left_persons"], entered=r["entered"],
                       entered_persons=r["entered_persons"]) for r in kinds if r["moved"]]
    v = cmp.villages
    left = _most_people(v[v["change"] == "left_gap"])
    entered = _most_people(v[v["change"] == "entered_gap"])
    other = v[~v["change"].isin(["left_gap", "entered_gap"])]
    other_counts = [{"change": t.get("compare", f"change_{c}"), "n": int((other["change"] == c)
                                                                        .sum())}
                    for c in ("status", "minutes", "nearest", "added", "removed")
                    if (other["change"] == c).any()]
    tw = cmp.townships
    tw_changed = tw[(tw["within_target_change"] != 0)
                    | (tw["villages_outside_old"] != tw["villages_outside_new"])]
    townships = [{"township": _text(r["township"]) or "–", "kind": t.kind(str(r["kind"])),
                  "within_old": _num(r["within_target_old"]),
                  "within_new": _num(r["within_target_new"]),
                  "change": _signed(r["within_target_change"]),
                  "out_old": _num(r["villages_outside_old"]),
                  "out_new": _num(r["villages_outside_new"])}
                 for r in tw_changed.head(TOWNSHIP_ROWS).to_dict("records")]
    settings = []
    for r in cmp.settings.to_dict("records"):
        scope, key = str(r["setting_scope"]), str(r["key"])
        old, new = str(r["value_old"]), str(r["value_new"])
        if scope == "input":
            old, new = old[:12], new[:12]
        settings.append({"scope": t.get("compare", f"scope_{scope}"),
                         "label": key_label(t, scope, key), "key": key,
                         "show_key": scope in ("setting", "input") or not key_label(t, scope,
                                                                                     key),
                         "old": _value(t, old) or "–", "new": _value(t, new) or "–",
                         "change": t.get("compare", f"diff_{r['change']}")})
    plans = []
    for kind in dict.fromkeys(cmp.plans["kind"]):
        rows = cmp.plans[cmp.plans["kind"] == kind]
        plans.append({"kind": t.kind(str(kind)), "rows": [{
            "rank": _num(r["rank"]),
            "old": _site(t, r, "old"), "old_gain": _gain(t, r, "old"),
            "new": _site(t, r, "new"), "new_gain": _gain(t, r, "new"),
            "same": t["word.yes"] if r["same_site"] else t["word.no"]}
            for r in rows.to_dict("records")]})
    robust = []
    for kind in dict.fromkeys(cmp.robust["kind"]):
        rows = cmp.robust[cmp.robust["kind"] == kind]
        robust.append({"kind": t.kind(str(kind)), "rows": [{
            "scenario": t["map.whatif_baseline"] if r["scenario"] == "baseline"
            else t.get("scenario", _text(r["scenario"])),
            **{f"{c}_{s}": _num(r[f"covered_{c}_{s}"]) for c in ("existing", "baseline_plan",
                                                                  "robust_plan")
               for s in ("old", "new")}} for r in rows.to_dict("records")]})
    district = cmp.new.district or cmp.old.district
    return _template().render(
        t=t, lang=lang, district=district,
        old_name=cmp.old.path.name, new_name=cmp.new.path.name,
        old_date=_date(cmp.old.finished), new_date=_date(cmp.new.finished),
        kinds=kinds, headlines=headlines,
        left=_village_rows(left.head(PAGE_ROWS), t), left_more=max(0, len(left) - PAGE_ROWS),
        entered=_village_rows(entered.head(PAGE_ROWS), t),
        entered_more=max(0, len(entered) - PAGE_ROWS), other=other_counts,
        townships=townships, townships_more=max(0, len(tw_changed) - TOWNSHIP_ROWS),
        townships_same=len(tw) - len(tw_changed), settings=settings, plans=plans,
        robust=robust)


def _site(t: Texts, r: dict[str, Any], side: str) -> str:
    sid, name = r[f"site_id_{side}"], r[f"name_{side}"]
    if not isinstance(sid, str):
        return "–"
    source, _, own = sid.partition(":")
    if own:  # "village:V27": the candidate's source in words, as the report says it
        source = {"village": "village centre", "candidates": "candidates layer"}.get(source,
                                                                                     source)
        sid = f"{t.get('source_kind', source)} {own}"
    return f"{_text(name)} ({sid})"


def _gain(t: Texts, r: dict[str, Any], side: str) -> str:
    if not isinstance(r[f"site_id_{side}"], str):
        return ""
    if r["gain_unit"] == "person-minutes":
        return f"{float(r[f'gain_{side}']):,.0f} {t['unit.person_minutes']}"
    return f"+{_num(r[f'newly_covered_population_{side}'])} {t['unit.persons']}"


# -- the map -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Place:
    """What the map page reads of a district, from an output folder: its name, default
    ``[maps]`` and ``[report]`` settings, no townships, no roads, the OSM credit when the
    runs read OSM roads."""

    name: str
    credit: str
    settings: Settings = field(default_factory=default_settings)
    crs: Any = "EPSG:4326"
    roads: None = None
    townships: gpd.GeoDataFrame = field(
        default_factory=lambda: gpd.GeoDataFrame({"name": []}, geometry=[], crs=4326))


def _credit(cmp: Comparison) -> str:
    names = [*(cmp.old.manifest.get("inputs") or {}), *(cmp.new.manifest.get("inputs") or {})]
    osm = any(str(n).lower().endswith((".osm", ".osm.pbf")) for n in names)
    return CREDIT if osm else ""


def compare_map(cmp: Comparison, *, lang: str = "en", basemap: str | None = None) -> str:
    """The map of the changes: the villages coloured, for the kind chosen in the layer panel,
    by what happened to them (newly within target, newly outside target, within or outside
    target as before, only in one run), with a tip naming the village, its persons, its
    status and minutes before and after. Returns the HTML page."""
    classes = tuple(COMPARE_COLOURS)  # the classes of Comparison.map_rows, in legend order
    t = texts(lang)
    district = cmp.new.district or cmp.old.district
    title = t["compare.map_title"]
    place = _Place(district, _credit(cmp))
    page = _Page(cast("District", place), lang, f"{district} – {title}", basemap)
    every = cmp.all_villages
    ids = list(dict.fromkeys(every["village_id"]))
    names = every.drop_duplicates("village_id").set_index("village_id")["village_name"]
    pos = cmp.positions
    if pos is not None:
        ids = [i for i in ids if i in pos.index]
        geoms = list(pos.geometry.reindex(ids))
    else:
        ids, geoms = [], []
    villages = gpd.GeoDataFrame({"village_id": ids, "name": [_text(names[i]) for i in ids]},
                                geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
    page.fit(villages)
    page.set_villages(villages)
    page.base_layers(None)
    class_names = {c: t[f"compare.map_{c}"] for c in classes}
    new_ids = set(every.loc[every["status_new"].notna(), "village_id"])
    items = []
    kinds = [k for k in dict.fromkeys(every["kind"])
             if not set(every.loc[every["kind"] == k, "status_old"].dropna()).union(
                 every.loc[every["kind"] == k, "status_new"].dropna()) <= {"no_unit"}]
    moved = set(every.loc[every["map_class"].isin(["newly_covered", "newly_outside"]), "kind"])
    first = next((k for k in kinds if k in moved), kinds[0] if kinds else None)
    for i, kind in enumerate(kinds):
        rows = every[every["kind"] == kind].drop_duplicates("village_id").set_index(
            "village_id").reindex(ids)
        shown: list[str] = []
        tips: list[str] = []
        edges: list[int] = []
        for vid, r in zip(ids, rows.to_dict("records"), strict=True):
            cls = r["map_class"] if isinstance(r["map_class"], str) else (
                "added" if vid in new_ids else "removed")
            shown.append(cls)
            edges.append(1 if cls in ("newly_covered", "newly_outside") else 0)
            tips.append(t.fmt(
                "compare.map_tip", village=f"{_text(names[vid])} ({vid})",
                persons=_num(r["population"]), change=class_names[cls],
                before=f"{_status(t, r['status_old'])}, {_min(r['nearest_min_old'])}",
                after=f"{_status(t, r['status_new'])}, {_min(r['nearest_min_new'])}",
                unit=t["unit.min"]))
        lid = page.add(f"v{i}", _class_layer(shown, COMPARE_COLOURS, class_names,
                                             edges=edges, edge_colours=("#555", "#000"),
                                             tips=tips))
        items.append({"type": "radio", "group": "kind", "label": t.kind(kind), "layers": [lid],
                      "on": kind == first})
    page.section(t["compare.map_kind"], items)
    page.heading(f"{district} · {title}", t.fmt(
        "compare.map_subtitle", old=cmp.old.path.name, old_date=_date(cmp.old.finished),
        new=cmp.new.path.name, new_date=_date(cmp.new.finished),
        kind=t.kind(first) if first else "–"))
    page.legend([*[("dot", COMPARE_COLOURS[c], class_names[c]) for c in classes],
                 ("pie", "", t["map.cluster"])], title=title)
    return page.render()
