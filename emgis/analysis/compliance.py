"""Compliance with the organisational minimums of the standards profile.

:func:`check_compliance` evaluates every rule the district's layers allow, township by township,
village by village and unit by unit. Each finding names the place, the rule, the required and
the actual value, the rule's source, and a status:

``meets``
    the value reaches the minimum (or the rule does not apply, e.g. no brigade is required);
``below``
    a value is recorded and it is under the minimum;
``missing``
    the thing the rule asks for does not exist (no rescue team, no store, no micro fire station);
``not_recorded``
    the layers do not hold the value: the rule cannot be evaluated, and that is never a pass;
``overdue``
    the last drill is longer ago than the drill interval at the report date (``as_of``).

Every finding says where its value was read (``evidence``: the layer and field, e.g.
``townships.office``), so a planner knows what to fill in.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from emgis.inputs.district import District
from emgis.inputs.kinds import DRILLING_KINDS
from emgis.inputs.standards import Standard

COLUMNS = ["scope", "township", "place_id", "place_name", "rule", "required", "actual",
           "unit", "status", "evidence", "source", "proposal"]

STATUSES = ("meets", "below", "missing", "not_recorded", "overdue")

#: The "eight haves" of a standardised township station (泉州 2025), in the text's order:
#: the rule key and the township fields (or layers) it is read from.
EIGHT_HAVES: tuple[tuple[str, str], ...] = (
    ("station_office", "townships.office"),
    ("station_command_platform", "townships.satellite_phones, video_conference, "
     "broadcast_system"),
    ("station_duty_system", "townships.duty_system"),
    ("station_enforcement_team", "townships.enforcement_team"),
    ("station_rescue_team", "teams (township_rescue_team of the township)"),
    ("station_emergency_plan", "townships.emergency_plan"),
    ("station_materials_warehouse", "townships.materials_warehouse, else stockpiles (level "
     "township)"),
    ("station_warning_site", "townships.warning_education_site"),
)



@dataclass(frozen=True)
class Rule:
    """A rule: the key of its minimum in the standards profile, and what it is about."""

    key: str
    scope: str
    text: str
    text_zh: str = ""


#: Every rule evaluated, in report order.
RULES: tuple[Rule, ...] = (
    Rule("township_office_fulltime_staff", "township",
         "township emergency office full-time staff",
         "乡镇应急办专职人员"),
    Rule("township_station_posts", "township",
         "standardised township station posts",
         "乡镇应急站规范化岗位"),
    Rule("township_station_fulltime_posts", "township",
         "full-time posts of the station",
         "应急站专职岗位"),
    Rule("township_rescue_team_headcount", "township",
         "township rescue team headcount",
         "乡镇应急救援队人数"),
    Rule("township_supply_stores", "township",
         "township supply store",
         "乡镇物资储备库"),
    Rule("township_fire_brigade", "township",
         "township full-time fire brigade where population or built-up area requires one",
         "乡镇专职消防队（人口或建成区达到要求时）"),
    Rule("fixed_capacity_share", "township",
         "fixed-shelter capacity against population",
         "固定避难场所容量占人口比例"),
    Rule("micro_fire_stations_per_community", "village",
         "micro fire station in the community",
         "社区微型消防站"),
    Rule("village_team_headcount", "village",
         "village/community part-time rescue team",
         "村（社区）兼职应急队人数"),
    Rule("village_centre_staff", "village",
         "village service centre staff (A/B posts)",
         "村（社区）应急服务站人员（AB岗）"),
    Rule("village_drills_per_year", "village",
         "village drills per year",
         "村级年度演练次数"),
    Rule("micro_fire_station_headcount", "unit",
         "micro fire station headcount",
         "微型消防站人数"),
    Rule("forest_fire_team_headcount", "unit",
         "forest-fire team headcount",
         "森林消防队人数"),
    Rule("rescue_team_drills_per_year", "unit",
         "rescue team drills per year",
         "救援队年度演练次数"),
    Rule("station_office", "township", "station: office", "应急站：办公场所"),
    Rule("station_command_platform", "township", "station: 24-hour command platform",
         "应急站：24小时指挥通信平台"),
    Rule("station_duty_system", "township", "station: duty system", "应急站：工作机制"),
    Rule("station_enforcement_team", "township", "station: enforcement team",
         "应急站：执法队伍"),
    Rule("station_rescue_team", "township", "station: rescue team", "应急站：综合救援队伍"),
    Rule("station_emergency_plan", "township", "station: plans", "应急站：预案和响应体系"),
    Rule("station_materials_warehouse", "township", "station: materials warehouse",
         "应急站：综合物资仓库"),
    Rule("station_warning_site", "township", "station: warning and education site",
         "应急站：安全警示教育场所"),
    Rule("grid_members_per_village", "village", "grid members per village",
         "每村网格员人数"),
    Rule("households_per_grid_member", "village", "grid members for the village's households",
         "按户数配备网格员"),
    Rule("drill_interval_months", "unit", "months since the last drill",
         "距上次演练月数"),
)

#: Staff of a grade-2 township full-time brigade (GB/T 35547-2017 as implemented locally).
BRIGADE_MIN_STAFF = 10
#: Built-up area above which a township needs a full-time brigade, km2.
BRIGADE_BUILTUP_KM2 = 5.0


def _row(scope: str, township: object, pid: object, name: object, rule: str, std: Standard,
         required: float, actual: float | None, status: str,
         unit: str | None = None, evidence: str = "") -> dict[str, object]:
    return {"scope": scope, "township": township, "place_id": pid, "place_name": name,
            "rule": rule, "required": required,
            "actual": np.nan if actual is None else float(actual), "unit": unit or std.unit,
            "status": status, "evidence": evidence or _EVIDENCE.get(rule, ""),
            "source": std.source, "proposal": std.proposal}


#: Where each older rule reads its value.
_EVIDENCE = {
    "township_office_fulltime_staff": "townships.office_fulltime_staff",
    "township_station_posts": "townships.station_posts",
    "township_station_fulltime_posts": "townships.station_fulltime_posts",
    "township_rescue_team_headcount": "teams.headcount (township_rescue_team)",
    "township_supply_stores": "stockpiles (level township)",
    "township_fire_brigade": "teams (township_fire_brigade), villages.population, "
                             "townships.builtup_km2",
    "fixed_capacity_share": "shelters.capacity (fixed)",
    "micro_fire_stations_per_community": "teams (micro_fire_station, village)",
    "village_team_headcount": "teams.headcount (village_team, village)",
    "village_centre_staff": "villages.service_centre_staff",
    "village_drills_per_year": "villages.drills_per_year",
    "micro_fire_station_headcount": "teams.headcount",
    "forest_fire_team_headcount": "teams.headcount",
    "rescue_team_drills_per_year": "teams.drills_per_year",
    "grid_members_per_village": "villages.grid_members",
    "households_per_grid_member": "villages.grid_members, villages.households",
    "drill_interval_months": "last_drill",
    **dict(EIGHT_HAVES),
}


def _flag(df: pd.DataFrame, col: str, i: int | None) -> bool | None:
    """A yes/no field of a row: True, False, or None where not recorded."""
    if i is None or col not in df or pd.isna(df[col].iloc[i]):
        return None
    return bool(df[col].iloc[i])


def _have(value: bool | None) -> tuple[float | None, str]:
    """A yes/no as (actual, status)."""
    if value is None:
        return None, "not_recorded"
    return (1.0, "meets") if value else (0.0, "missing")


def _months_since(when: dt.date | None, as_of: dt.date) -> float | None:
    if when is None or pd.isna(when):
        return None
    days = (pd.Timestamp(as_of) - pd.Timestamp(when)).days  # type: ignore[arg-type]
    return round(days / (365.25 / 12), 1)


def _grade(actual: float | None, required: float) -> str:
    if actual is None or pd.isna(actual):
        return "not_recorded"
    return "meets" if actual >= required else "below"


def _value(df: pd.DataFrame, col: str, i: int) -> float | None:
    if col not in df or pd.isna(df[col].iloc[i]):
        return None
    return float(df[col].iloc[i])


def _team_village(d: District) -> pd.Series:
    """The village each team belongs to: its ``village`` field, else the nearest village of
    its township within 1 km (teams of a township stay unassigned)."""

    teams = d.teams
    out = teams["village"].astype("string") if "village" in teams else pd.Series(
        pd.NA, index=teams.index, dtype="string")
    known = set(d.villages["id"])
    need = np.array([pd.isna(x) or x not in known for x in out], dtype=bool)
    v_town = d.villages["township"].astype("string").to_numpy(dtype=object)
    t_town = teams["township"].astype("string").to_numpy(dtype=object)
    for town in dict.fromkeys(t_town[need]):
        sel_t = np.flatnonzero(need & (t_town == town))
        sel_v = np.flatnonzero(v_town == town)
        if not len(sel_v):
            continue
        tree = shapely.STRtree(d.villages.geometry.values[sel_v])
        (ti, vi), dist = tree.query_nearest(teams.geometry.values[sel_t], return_distance=True,
                                            all_matches=False)
        ok = dist <= 1000
        out.iloc[sel_t[ti[ok]]] = d.villages["id"].to_numpy()[sel_v[vi[ok]]]
    return out


def check_compliance(district: District, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """Evaluate every rule of the standards profile the layers allow.

    Parameters
    ----------
    district
        The loaded district.
    as_of
        The report date drills are dated against (default today).

    Returns
    -------
    pandas.DataFrame
        One finding per place and rule (:data:`COLUMNS`): townships in layer order, then
        villages in input order, then units.
    """
    d = district
    mins = d.settings.minimums
    share = d.settings.shelter["fixed_capacity_share"]
    rows: list[dict[str, object]] = []
    towns = d.townships
    teams = d.teams
    pop_by_town = d.villages.groupby("township")["population"].sum()

    for name in d.township_names():
        ti = towns.index[towns["name"] == name] if len(towns) else []
        t_row = int(np.flatnonzero(towns["name"] == name)[0]) if len(ti) else None
        for key, field in (("township_office_fulltime_staff", "office_fulltime_staff"),
                           ("township_station_posts", "station_posts"),
                           ("township_station_fulltime_posts", "station_fulltime_posts")):
            std = mins[key]
            actual = _value(towns, field, t_row) if t_row is not None else None
            rows.append(_row("township", name, name, name, key, std, std.value, actual,
                             _grade(actual, std.value)))
        # rescue team: the township's teams together
        std = mins["township_rescue_team_headcount"]
        rt = teams[(teams["kind"] == "township_rescue_team") & (teams["township"] == name)]
        if len(rt) == 0:
            rows.append(_row("township", name, name, name, "township_rescue_team_headcount",
                             std, std.value, 0, "missing"))
        else:
            hc = rt["headcount"]
            actual = None if hc.isna().any() else float(hc.sum())
            rows.append(_row("township", name, name, name, "township_rescue_team_headcount",
                             std, std.value, actual, _grade(actual, std.value)))
        # supply store
        std = mins["township_supply_stores"]
        st = d.stockpiles
        n = int(((st["level"] == "township") & (st["township"] == name)).sum()) if len(st) else 0
        rows.append(_row("township", name, name, name, "township_supply_stores", std, std.value,
                         n, "meets" if n >= std.value else "missing"))
        # full-time fire brigade where required
        std = mins["township_fire_brigade_population"]
        pop = float(pop_by_town.get(name, 0))
        builtup = _value(towns, "builtup_km2", t_row) if t_row is not None else None
        required = pop >= std.value or (builtup is not None and builtup > BRIGADE_BUILTUP_KM2)
        fb = teams[(teams["kind"] == "township_fire_brigade") & (teams["township"] == name)]
        if required:
            if len(fb) == 0:
                status, actual = "missing", 0.0
            else:
                hc = fb["headcount"]
                actual = None if hc.isna().any() else float(hc.sum())
                status = _grade(actual, BRIGADE_MIN_STAFF)
            rows.append(_row("township", name, name, name, "township_fire_brigade", std,
                             BRIGADE_MIN_STAFF, actual, status, unit="persons"))
        else:
            status = "meets" if builtup is not None else "not_recorded"
            rows.append(_row("township", name, name, name, "township_fire_brigade", std,
                             BRIGADE_MIN_STAFF, None if not len(fb) else float(
                                 fb["headcount"].sum()), status, unit="persons"))
        # fixed shelter capacity >= share of the population
        sh = d.shelters
        fixed = sh[(sh["kind"] == "fixed") & _in_township(sh, towns, name)] if len(sh) else sh
        need = share.value * pop
        cap = fixed["capacity"] if len(fixed) else pd.Series(dtype=float)
        if len(fixed) == 0:
            status, actual = "missing", 0.0
        elif cap.isna().any():
            status, actual = "not_recorded", None
        else:
            actual = float(cap.sum())
            status = "meets" if actual >= need else "below"
        rows.append(_row("township", name, name, name, "fixed_capacity_share", share,
                         round(need, 1), actual, status, unit="persons"))
        rows += _eight_haves(d, name, t_row, len(rt) > 0)

    tv = _team_village(d)
    kinds = teams["kind"].astype("string")
    micro = kinds[kinds == "micro_fire_station"].groupby(tv[kinds == "micro_fire_station"]
                                                         ).size().to_dict()
    vt = teams[kinds == "village_team"]
    vt_village = tv[kinds == "village_team"]
    vt_sum = vt["headcount"].groupby(vt_village).sum().to_dict()
    vt_na = vt["headcount"].isna().groupby(vt_village).any().to_dict()
    vt_n = vt_village.value_counts().to_dict()
    v = d.villages
    staff = v["service_centre_staff"] if "service_centre_staff" in v else \
        pd.Series(pd.NA, index=v.index)
    drills = v["drills_per_year"] if "drills_per_year" in v else pd.Series(pd.NA, index=v.index)
    # the columns as lists: iterating Series is slow (a province's 20,000 villages)
    for vid, vname, town, kind, st_, dr in zip(*(c.tolist() for c in (
            v["id"], v["name"], v["township"], v["kind"], staff, drills)), strict=True):
        if kind == "community":
            std = mins["micro_fire_stations_per_community"]
            n = int(micro.get(vid, 0))
            rows.append(_row("village", town, vid, vname, "micro_fire_stations_per_community",
                             std, std.value, n, "meets" if n >= std.value else "missing"))
        std = mins["village_team_headcount"]
        if not vt_n.get(vid, 0):
            rows.append(_row("village", town, vid, vname, "village_team_headcount", std,
                             std.value, 0, "missing"))
        else:
            actual = None if vt_na.get(vid, False) else float(vt_sum[vid])
            rows.append(_row("village", town, vid, vname, "village_team_headcount", std,
                             std.value, actual, _grade(actual, std.value)))
        for key, value in (("village_centre_staff", st_), ("village_drills_per_year", dr)):
            std = mins[key]
            actual = None if pd.isna(value) else float(value)
            rows.append(_row("village", town, vid, vname, key, std, std.value, actual,
                             _grade(actual, std.value)))
    rows += _grid_members(d)
    when = as_of or dt.date.today()
    if "last_drill" in v:
        rows += _drills(v["id"], v["name"], v["township"], v["last_drill"], "village",
                        mins["drill_interval_months"], when, "villages.last_drill")

    for key, kinds, field in (
        ("micro_fire_station_headcount", ("micro_fire_station",), "headcount"),
        ("forest_fire_team_headcount", ("forest_fire_team",), "headcount"),
        ("rescue_team_drills_per_year", ("township_rescue_team", "village_team"),
         "drills_per_year"),
    ):
        std = mins[key]
        sel = teams[teams["kind"].isin(kinds)]
        for j in range(len(sel)):
            actual = _value(sel, field, j)
            rows.append(_row("unit", sel["township"].iloc[j], sel["id"].iloc[j],
                             sel["name"].iloc[j], key, std, std.value, actual,
                             _grade(actual, std.value)))
    if "last_drill" in teams:
        sel = teams[teams["kind"].isin(DRILLING_KINDS)]
        rows += _drills(sel["id"], sel["name"], sel["township"], sel["last_drill"], "unit",
                        mins["drill_interval_months"], when, "teams.last_drill")
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out


def _eight_haves(d: District, name: str, t_row: int | None, has_rescue_team: bool
                 ) -> list[dict[str, object]]:
    """The eight haves of the township's station, each with its evidence."""
    mins = d.settings.minimums
    towns = d.townships
    rows = []
    for key, evidence in EIGHT_HAVES:
        std = mins[key]
        if key == "station_command_platform":
            phones = _value(towns, "satellite_phones", t_row) if t_row is not None else None
            video = _flag(towns, "video_conference", t_row)
            bcast = _flag(towns, "broadcast_system", t_row)
            parts = [None if phones is None else phones >= mins["station_satellite_phones"].value,
                     video, bcast]
            if any(p is False for p in parts):
                actual, status = 0.0, "missing"
            elif all(p is True for p in parts):
                actual, status = 1.0, "meets"
            else:
                actual, status = None, "not_recorded"
        elif key == "station_rescue_team":
            actual, status = (1.0, "meets") if has_rescue_team else (0.0, "missing")
        elif key == "station_materials_warehouse":
            flag = _flag(towns, "materials_warehouse", t_row)
            st = d.stockpiles
            store = bool(len(st) and ((st["level"] == "township") & (st["township"] == name)
                                      ).any())
            if store or flag is not None:
                actual, status = _have(True if store else flag)
            else:  # a stockpiles layer without the township's store says it has none
                actual, status = (0.0, "missing") if len(st) else (None, "not_recorded")
        else:
            field = evidence.split(".", 1)[1]
            actual, status = _have(_flag(towns, field, t_row))
        rows.append(_row("township", name, name, name, key, std, 1.0, actual, status,
                         evidence=evidence))
    return rows


def _grid_members(d: District) -> list[dict[str, object]]:
    """At least N grid members per village, and one per M households."""

    mins = d.settings.minimums
    v = d.villages
    per_village, per_members = mins["grid_members_per_village"], \
        mins["households_per_grid_member"]
    grid = v["grid_members"] if "grid_members" in v else pd.Series(pd.NA, index=v.index)
    homes = v["households"] if "households" in v else pd.Series(pd.NA, index=v.index)
    rows = []
    for vid, vname, town, g, h in zip(*(c.tolist() for c in (
            v["id"], v["name"], v["township"], grid, homes)), strict=True):
        actual = None if pd.isna(g) else float(g)
        status = _grade(actual, per_village.value)
        if actual == 0:
            status = "missing"
        rows.append(_row("village", town, vid, vname, "grid_members_per_village", per_village,
                         per_village.value, actual, status))
        need = None if pd.isna(h) else float(math.ceil(float(h) / per_members.value))
        if need is None or actual is None:
            status = "not_recorded"
        else:
            status = "meets" if actual >= need else ("missing" if actual == 0 else "below")
        rows.append(_row("village", town, vid, vname, "households_per_grid_member", per_members,
                         np.nan if need is None else need, actual, status, unit="persons"))
    return rows


def _drills(ids: pd.Series, names: pd.Series, towns: pd.Series, last: pd.Series, scope: str,
            std: Standard, as_of: dt.date, evidence: str) -> list[dict[str, object]]:
    """Months since each place's last drill against the interval: overdue beyond it."""
    rows = []
    for pid, pname, town, when in zip(ids, names, towns, last, strict=True):
        months = _months_since(when, as_of)
        # a drill dated after the report date (2052 typed for 2025) proves nothing
        status = "not_recorded" if months is None or months < 0 else (
            "meets" if months <= std.value else "overdue")
        rows.append(_row(scope, town, pid, pname, "drill_interval_months", std, std.value,
                         months, status, evidence=evidence))
    return rows


def station_checklist(findings: pd.DataFrame) -> pd.DataFrame:
    """The eight haves as a checklist: one row per township, a column per have (and the
    station's posts), each cell a status."""
    keys = [k for k, _ in EIGHT_HAVES] + ["township_station_posts",
                                          "township_station_fulltime_posts"]
    f = findings[(findings["scope"] == "township") & findings["rule"].isin(keys)]
    if not len(f):
        return pd.DataFrame(columns=["township", *keys])
    table = f.pivot_table(index="place_id", columns="rule", values="status", aggfunc="first")
    order = list(dict.fromkeys(f["place_id"]))
    table = table.reindex(index=order, columns=keys)
    table.index.name = "township"
    out: pd.DataFrame = table.reset_index()
    out.columns.name = None
    return out


def _in_township(gdf: gpd.GeoDataFrame, towns: gpd.GeoDataFrame, name: str) -> pd.Series:
    """Rows of ``gdf`` in township ``name``: by their township field, else by location."""
    by_field = gdf["township"] == name if "township" in gdf else pd.Series(False, gdf.index)
    by_field = by_field.fillna(False).astype(bool)
    if len(towns) == 0:
        return by_field
    poly = towns.geometry[towns["name"] == name]
    if len(poly) == 0:
        return by_field
    unknown = gdf["township"].isna() if "township" in gdf else pd.Series(True, gdf.index)
    inside: pd.Series = by_field | (unknown & gdf.geometry.within(poly.iloc[0]))
    return inside


def summary_table(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings counted per rule and status (a row per rule, a column per status)."""
    t = findings.pivot_table(index="rule", columns="status", values="scope", aggfunc="count",
                             fill_value=0)
    t = t.reindex(columns=list(STATUSES), fill_value=0)
    order = [r.key for r in RULES if r.key in t.index]
    return t.loc[order].reset_index()
