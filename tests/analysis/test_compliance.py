"""Compliance rules: for each, a place that meets it, one below it, one where data is missing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from emgis import load_district
from emgis.analysis.compliance import COLUMNS, RULES, STATUSES, check_compliance, summary_table
from emgis.inputs.standards import MINIMUMS
from tests.conftest import replace_in

TOWN = '"name":"东镇","office_fulltime_staff":3'
Edit = tuple[str, str, str]


def town(props: str) -> Edit:
    return ("townships.geojson", TOWN, f'"name":"东镇",{props}')


VILLAGE_STAFF: list[Edit] = [
    ("villages.csv", "id,name,township,kind,population,lon,lat",
     "id,name,township,kind,population,service_centre_staff,drills_per_year,lon,lat"),
    ("villages.csv", "V1,东村,东镇,community,1200,", "V1,东村,东镇,community,1200,2,2,"),
    ("villages.csv", "V2,西村,东镇,village,300,", "V2,西村,东镇,village,300,1,1,"),
    ("villages.csv", "V3,北村,东镇,village,80,", "V3,北村,东镇,village,80,,,"),
    ("villages.csv", "V4,山村,东镇,village,40,", "V4,山村,东镇,village,40,,,"),
    ("villages.csv", "V5,南村,东镇,village,500,", "V5,南村,东镇,village,500,,,"),
]
TEAM_DRILLS: list[Edit] = [
    ("teams.csv", "turnout_min,full_time,lon,lat",
     "turnout_min,full_time,drills_per_year,lon,lat"),
    ("teams.csv", "6,东镇,1,,", "6,东镇,1,,,"),
    ("teams.csv", "30,东镇,,10,", "30,东镇,,10,2,"),
    ("teams.csv", "12,东镇,5,,", "12,东镇,5,,1,"),
]
FOREST = ("teams.csv", "T3,西村应急队",
          "T4,林队,forest_fire_team,{n},东镇,,,1.5106,42.4953\nT3,西村应急队")


def forest(n: int) -> Edit:
    return (FOREST[0], FOREST[1], FOREST[2].format(n=n))


#: Grid members and households: V1 2 for 600 households (meets both), V2 none for 100
#: (missing), V3 blank (not recorded), V4 1 for 500 households (one per village meets; one per
#: 300 households needs 2: below), V5 3 with households blank.
GRID: list[Edit] = [
    ("villages.csv", "id,name,township,kind,population,lon,lat",
     "id,name,township,kind,population,网格员,户数,lon,lat"),  # Chinese headers accepted
    ("villages.csv", "V1,东村,东镇,community,1200,", "V1,东村,东镇,community,1200,2,600,"),
    ("villages.csv", "V2,西村,东镇,village,300,", "V2,西村,东镇,village,300,0,100,"),
    ("villages.csv", "V3,北村,东镇,village,80,", "V3,北村,东镇,village,80,,,"),
    ("villages.csv", "V4,山村,东镇,village,40,", "V4,山村,东镇,village,40,1,500,"),
    ("villages.csv", "V5,南村,东镇,village,500,", "V5,南村,东镇,village,500,3,,"),
]
#: Last drills, the report date 2026-06-30 (interval 6 months): T1 4 months ago, T2 a year
#: ago (overdue), T3 not recorded; villages V1 dated with the Chinese header 最近演练.
AS_OF = dt.date(2026, 6, 30)
DRILLS: list[Edit] = [
    ("teams.csv", "turnout_min,full_time,lon,lat", "turnout_min,full_time,last_drill,lon,lat"),
    ("teams.csv", "6,东镇,1,,", "6,东镇,1,,2026-03-01,"),
    ("teams.csv", "30,东镇,,10,", "30,东镇,,10,2025年6月30日,"),
    ("teams.csv", "12,东镇,5,,", "12,东镇,5,,,"),
    ("villages.csv", "id,name,township,kind,population,lon,lat",
     "id,name,township,kind,population,最近演练,lon,lat"),
    ("villages.csv", "V1,东村,东镇,community,1200,", "V1,东村,东镇,community,1200,2026/1/15,"),
    ("villages.csv", "V2,西村,东镇,village,300,", "V2,西村,东镇,village,300,2025-11-30,"),
    ("villages.csv", "V3,北村,东镇,village,80,", "V3,北村,东镇,village,80,,"),
    ("villages.csv", "V4,山村,东镇,village,40,", "V4,山村,东镇,village,40,,"),
    ("villages.csv", "V5,南村,东镇,village,500,", "V5,南村,东镇,village,500,,"),
]
NO_STORE = ("stockpiles.csv", "S1,东镇物资储备点,township,东镇,帐篷:10,1.5102,42.4999\n", "")
COUNTY_STORE = ("stockpiles.csv", ",township,东镇", ",county,东镇")


CASES = [
    # township office staff: 3 recorded in the tiny district
    ("township_office_fulltime_staff", "东镇", [], "meets"),
    ("township_office_fulltime_staff", "东镇", [town('"office_fulltime_staff":2')], "below"),
    ("township_office_fulltime_staff", "东镇", [town('"x":1')], "not_recorded"),
    ("township_station_posts", "东镇", [town('"station_posts":6')], "meets"),
    ("township_station_posts", "东镇", [town('"station_posts":4')], "below"),
    ("township_station_posts", "东镇", [], "not_recorded"),
    ("township_station_fulltime_posts", "东镇", [town('"station_fulltime_posts":2')], "meets"),
    ("township_station_fulltime_posts", "东镇", [town('"station_fulltime_posts":1')], "below"),
    ("township_station_fulltime_posts", "东镇", [], "not_recorded"),
    ("township_rescue_team_headcount", "东镇", [], "meets"),
    ("township_rescue_team_headcount", "东镇",
     [("teams.csv", "township_rescue_team,30,", "township_rescue_team,20,")], "below"),
    ("township_rescue_team_headcount", "东镇",
     [("teams.csv", "township_rescue_team,30,", "fire_station,30,")], "missing"),
    ("township_supply_stores", "东镇", [], "meets"),
    ("township_supply_stores", "东镇", [("stockpiles.csv", ",township,东镇", ",county,东镇")],
     "missing"),
    # population 2,120: a brigade is required only for a built-up area over 5 km2
    ("township_fire_brigade", "东镇", [town('"builtup_km2":1.2')], "meets"),
    ("township_fire_brigade", "东镇", [town('"builtup_km2":6'), (
        "teams.csv", "township_rescue_team,30,", "township_fire_brigade,8,")], "below"),
    ("township_fire_brigade", "东镇", [town('"builtup_km2":6'), (
        "teams.csv", "township_rescue_team,30,", "township_fire_brigade,12,")], "meets"),
    ("township_fire_brigade", "东镇", [town('"builtup_km2":6')], "missing"),
    ("township_fire_brigade", "东镇", [], "not_recorded"),
    # 15% of 2,120 persons = 318; the fixed shelter holds 1,000 m2 / 2 m2 = 500
    ("fixed_capacity_share", "东镇", [], "meets"),
    ("fixed_capacity_share", "东镇", [("shelters.geojson", '"area_m2":1000', '"area_m2":400')],
     "below"),
    ("fixed_capacity_share", "东镇", [("shelters.geojson", '"kind":"fixed"',
                                      '"kind":"emergency"')], "missing"),
    ("micro_fire_stations_per_community", "V1", [], "meets"),
    ("micro_fire_stations_per_community", "V5",
     [("villages.csv", "V5,南村,东镇,village", "V5,南村,东镇,community")], "missing"),
    ("village_team_headcount", "V2", [("teams.csv", "village_team,12,", "village_team,16,")],
     "meets"),
    ("village_team_headcount", "V2", [], "below"),
    ("village_team_headcount", "V1", [], "missing"),
    ("village_centre_staff", "V1", VILLAGE_STAFF, "meets"),
    ("village_centre_staff", "V2", VILLAGE_STAFF, "below"),
    ("village_centre_staff", "V3", VILLAGE_STAFF, "not_recorded"),
    ("village_drills_per_year", "V1", VILLAGE_STAFF, "meets"),
    ("village_drills_per_year", "V2", VILLAGE_STAFF, "below"),
    ("village_drills_per_year", "V5", VILLAGE_STAFF, "not_recorded"),
    ("micro_fire_station_headcount", "T1", [], "meets"),
    ("micro_fire_station_headcount", "T1",
     [("teams.csv", "micro_fire_station,6,", "micro_fire_station,4,")], "below"),
    ("forest_fire_team_headcount", "T4", [forest(20)], "meets"),
    ("forest_fire_team_headcount", "T4", [forest(12)], "below"),
    ("rescue_team_drills_per_year", "T2", TEAM_DRILLS, "meets"),
    ("rescue_team_drills_per_year", "T3", TEAM_DRILLS, "below"),
    ("rescue_team_drills_per_year", "T2", [], "not_recorded"),
    # the eight haves: yes/no in the township's fields (Chinese names and words accepted)
    ("station_office", "东镇", [town('"office":"是"')], "meets"),
    ("station_office", "东镇", [town('"应急办公场所":"无"')], "missing"),
    ("station_office", "东镇", [], "not_recorded"),
    ("station_command_platform", "东镇",
     [town('"satellite_phones":1,"video_conference":"有","broadcast_system":1')], "meets"),
    ("station_command_platform", "东镇",
     [town('"卫星电话":0,"video_conference":true,"broadcast_system":"yes"')], "missing"),
    ("station_command_platform", "东镇", [town('"satellite_phones":2')], "not_recorded"),
    ("station_duty_system", "东镇", [town('"四位一体值班":"是"')], "meets"),
    ("station_duty_system", "东镇", [town('"duty_system":0')], "missing"),
    ("station_duty_system", "东镇", [], "not_recorded"),
    ("station_enforcement_team", "东镇", [town('"enforcement_team":"Y"')], "meets"),
    ("station_enforcement_team", "东镇", [town('"执法队伍":"无"')], "missing"),
    ("station_enforcement_team", "东镇", [], "not_recorded"),
    ("station_rescue_team", "东镇", [], "meets"),
    ("station_rescue_team", "东镇",
     [("teams.csv", "township_rescue_team,30,", "fire_station,30,")], "missing"),
    ("station_emergency_plan", "东镇", [town('"应急预案":"有"')], "meets"),
    ("station_emergency_plan", "东镇", [town('"emergency_plan":"否"')], "missing"),
    ("station_emergency_plan", "东镇", [], "not_recorded"),
    ("station_materials_warehouse", "东镇", [], "meets"),  # the township store
    ("station_materials_warehouse", "东镇",
     [COUNTY_STORE, town('"materials_warehouse":"是"')], "meets"),
    ("station_materials_warehouse", "东镇", [COUNTY_STORE], "missing"),
    ("station_materials_warehouse", "东镇", [NO_STORE], "not_recorded"),
    ("station_warning_site", "东镇", [town('"安全警示教育基地":"是"')], "meets"),
    ("station_warning_site", "东镇", [town('"warning_education_site":"no"')], "missing"),
    ("station_warning_site", "东镇", [], "not_recorded"),
    ("grid_members_per_village", "V1", GRID, "meets"),
    ("grid_members_per_village", "V2", GRID, "missing"),
    ("grid_members_per_village", "V3", GRID, "not_recorded"),
    ("households_per_grid_member", "V1", GRID, "meets"),
    ("households_per_grid_member", "V4", GRID, "below"),
    ("households_per_grid_member", "V5", GRID, "not_recorded"),
    ("drill_interval_months", "T1", DRILLS, "meets"),
    ("drill_interval_months", "T2", DRILLS, "overdue"),
    ("drill_interval_months", "T3", DRILLS, "not_recorded"),
    ("drill_interval_months", "V1", DRILLS, "meets"),
    ("drill_interval_months", "V2", DRILLS, "overdue"),
]


@pytest.mark.parametrize(("rule", "place", "edits", "status"), CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_rule(tiny: Path, rule: str, place: str, edits: list[Edit], status: str) -> None:
    for file, old, new in edits:
        replace_in(tiny / file, old, new)
    f = check_compliance(load_district(tiny), as_of=AS_OF)
    hit = f[(f["rule"] == rule) & (f["place_id"] == place)]
    assert len(hit) == 1, f[f["rule"] == rule]
    row = hit.iloc[0]
    assert row["status"] == status
    assert row["evidence"]  # every finding says where its value is read
    if status in ("meets", "below") and rule not in ("township_fire_brigade",
                                                      "drill_interval_months"):
        assert (row["actual"] >= row["required"]) == (status == "meets")
    if rule == "drill_interval_months" and status != "not_recorded":
        assert (row["actual"] <= row["required"]) == (status == "meets")
    if rule in MINIMUMS:
        assert row["source"] == MINIMUMS[rule].source


def test_every_rule_is_tested_three_ways() -> None:
    seen: dict[str, set[str]] = {}
    for rule, _, _, status in CASES:
        seen.setdefault(rule, set()).add(status)
    for r in RULES:
        assert r.key in seen, r.key
        assert len(seen[r.key]) >= 2 and (seen[r.key] - {"meets"}), r.key


def test_findings_table_and_summary(tiny: Path) -> None:
    f = check_compliance(load_district(tiny))
    assert list(f.columns) == COLUMNS
    assert f["status"].isin(STATUSES).all()
    s = summary_table(f)
    assert s[list(STATUSES)].to_numpy().sum() == len(f)
    # a rule the data cannot evaluate is never a pass
    nr = f[f["status"] == "not_recorded"]
    assert nr["actual"].isna().all()
