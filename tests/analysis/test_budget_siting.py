"""Siting within a budget (emgis.analysis.siting.site_budget, Plan.site_budget,
``emgis site --budget``): what each candidate costs ([costs] of the standards, 利旧 reuse,
a candidate's own cost), the demo's budget against ``--add``, several kinds weighted, the
costs and totals in the files and on the console, the errors, and the Chinese words.
The model on arrays: tests/locate/test_budget.py."""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pytest

from emgis.plan import Plan
from tests.conftest import ZH_ALLOWED, ascii_words

ROAD = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"highway":"primary"},"geometry":{"type":"LineString","coordinates":'
        '[[0.99,42.5],[1.1,42.5],[1.21,42.5]]}}]}')


def hand_district(folder: Path, *, siting: str = "", shelters: bool = False) -> Path:
    """Two villages 16 km apart on one primary road (60 km/h): A (1,000 persons) and B (600).
    A village team stands in A; the planner lists a hall beside each village (100,000 yuan
    each). Every candidate reaches only its own village within a micro fire station's 3
    minutes or a village team's 10. With ``shelters`` a school beside B (a shelter: reused,
    利旧) covers B as the hall there does."""
    folder.mkdir(parents=True, exist_ok=True)
    layers = {
        "villages.csv": "id,name,township,kind,population,lon,lat\n"
                        "A,Aville,T,village,1000,1.0,42.5\nB,Bville,T,village,600,1.2,42.5\n",
        "teams.csv": "id,name,kind,headcount,township,lon,lat\n"
                     "VA,Ateam,village_team,15,T,1.0,42.5\n",
        "candidates.csv": "id,name,cost,lon,lat\ncA,Ahall,100000,1.0005,42.5\n"
                          "cB,Bhall,100000,1.2005,42.5\n",
        "roads.geojson": ROAD,
    }
    toml = ('[district]\nname = "hand"\ncrs = "EPSG:4326"\n[layers.villages]\n'
            'path = "villages.csv"\n[layers.teams]\npath = "teams.csv"\n'
            '[layers.candidates]\npath = "candidates.csv"\n'
            '[roads]\npath = "roads.geojson"\nclass_field = "highway"\n')
    if shelters:
        layers["shelters.csv"] = ("id,name,kind,capacity,township,lon,lat\n"
                                  "SB,Bschool,emergency,300,T,1.2010,42.5\n")
        toml += '[layers.shelters]\npath = "shelters.csv"\n'
    for name, text in layers.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "district.toml").write_text(toml + siting, encoding="utf-8")
    return folder


def _open(folder: Path) -> Plan:
    import emgis

    return emgis.open(folder, use_cache=False)


def _reuse_at_full_cost(plan: Plan) -> Plan:
    """The plan with [costs] reuse_factor = 1: every candidate costs the kind's cost."""
    from emgis.inputs.standards import Standard

    s = plan.district.settings
    costs = {**s.costs, "reuse_factor": Standard(1.0, "share", "test")}
    district = dataclasses.replace(plan.district,
                                   settings=dataclasses.replace(s, costs=costs))
    return Plan(district, plan.network, plan.cache)


def test_demo_budget_for_exactly_two_stations_is_add_2(demo_plan: Plan) -> None:
    """Every candidate at 100,000 yuan: 200,000 yuan buys two micro fire stations, and the
    budgeted plan is the maximal covering plan of --add 2 (the same sites, persons)."""
    plan = _reuse_at_full_cost(demo_plan)
    cost = float(plan.district.settings.costs["micro_fire_station"].value)
    res = plan.site_budget("micro_fire_station", budget=2 * cost)
    add2 = plan.site("micro_fire_station", add=2)
    r = res.sites[0]
    assert list(r.proposals["site_id"]) == list(add2.proposals["site_id"])
    assert list(r.proposals["newly_covered_population"]) == list(
        add2.proposals["newly_covered_population"])
    assert res.cost == 2 * cost and set(r.proposals["cost_yuan"]) == {cost}
    assert res.solution.status == "optimal" and res.solution.gap == 0.0
    summary = res.summary().set_index("kind")
    assert summary.loc["all", "cost_yuan"] == 2 * cost
    assert summary.loc["all", "unspent_yuan"] == 0.0
    assert summary.loc["all", "newly_covered_population"] == int(
        add2.proposals["newly_covered_population"].sum())


def test_demo_default_costs_reuse_buildings(demo_plan: Plan) -> None:
    """With the standards' costs a team base or a shelter costs the build cost x reuse_factor
    (利旧); where a village centre and a reused building stand at one point the cheaper
    building is the candidate, so --add 2 covers as many persons at 30% of the cost."""
    from emgis.analysis.siting import candidate_sites

    s = demo_plan.district.settings
    build = float(s.costs["micro_fire_station"].value)
    reuse = float(s.costs["reuse_factor"].value)
    cand, _ = candidate_sites(demo_plan.district, "micro_fire_station")
    by_basis = cand.groupby("cost_basis")["cost"].unique()
    assert list(by_basis["kind's cost"]) == [build]
    assert list(by_basis["reused building"]) == [pytest.approx(build * reuse)]
    assert (cand.loc[cand["cost_basis"] == "reused building", "source"]
            .isin(["shelters", "stockpiles", "teams"]).all())
    r = demo_plan.site("micro_fire_station", add=2)
    assert list(r.proposals["cost_basis"]) == ["reused building"] * 2
    assert r.proposals["cost_yuan"].sum() == pytest.approx(2 * build * reuse)
    full = _reuse_at_full_cost(demo_plan).site("micro_fire_station", add=2)
    assert list(r.proposals["newly_covered_population"]) == list(
        full.proposals["newly_covered_population"])


def test_weights_of_kinds_change_the_choice(tmp_path: Path) -> None:
    """Money for one hall. Micro fire stations: the hall at A covers A's 1,000 persons. Village
    teams: A is covered already (its team), the hall at B covers B's 600. Equal weights buy a
    micro fire station at A; a village team person weighing 2 buys the team at B (1,200)."""
    plan = _open(hand_district(tmp_path / "hand", siting='[siting]\ncandidates = "listed"\n'))
    kinds = ["micro_fire_station", "village_team"]
    equal = plan.site_budget(kinds, budget=100_000)
    assert [list(r.proposals["site_id"]) for r in equal.sites] == [["candidate:cA"], []]
    assert equal.solution.objective == 1000 and equal.cost == 100_000
    assert equal.sites[1].note  # none of this kind: said
    teams = plan.site_budget(kinds, budget=100_000, weights={"village_team": 2})
    assert [list(r.proposals["site_id"]) for r in teams.sites] == [[], ["candidate:cB"]]
    assert teams.solution.objective == 1200 and teams.solution.persons == {
        "micro_fire_station": 0.0, "village_team": 600.0}
    both = plan.site_budget(kinds, budget=200_000, weights={"village_team": 2})
    assert both.solution.objective == 2200 and both.cost == 200_000
    s = both.summary().set_index("kind")
    assert list(s.index) == [*kinds, "all"]
    assert s.loc["village_team", "weighted_persons"] == 1200.0
    assert s.loc["all", "weighted_persons"] == 2200.0 and s.loc["all", "sites"] == 2


def test_a_reused_building_is_preferred_when_it_covers_the_same(tmp_path: Path) -> None:
    """B's village centre, the planner's hall beside it (100,000 yuan each) and the school
    beside it (a shelter: 100,000 x 0.3) cover B alike; A's village centre, its hall and its
    team's base (reused too) cover A alike: the budget buys the two reused buildings."""
    plan = _open(hand_district(tmp_path / "hand", shelters=True))
    res = plan.site_budget("micro_fire_station", budget=1_000_000)
    p = res.sites[0].proposals.set_index("site_id")
    assert set(p.index) == {"shelters:SB", "teams:VA"}
    assert set(p["cost_basis"]) == {"reused building"}
    assert p.loc["shelters:SB", "cost_yuan"] == pytest.approx(30_000)
    assert res.solution.objective == 1600
    assert res.cost == pytest.approx(60_000)
    # the same with the reused buildings at full cost: as many persons, for more money
    full = _reuse_at_full_cost(plan).site_budget("micro_fire_station", budget=1_000_000)
    assert full.solution.objective == 1600 and full.cost == pytest.approx(200_000)


def test_cli_budget_files_costs_and_totals(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from emgis.cli import main

    folder = hand_district(tmp_path / "hand", shelters=True)
    out = tmp_path / "out"
    assert main(["site", str(folder), "--kind", "micro_fire_station", "--kind",
                 "village_team", "--kind-weight", "village_team=2", "--budget", "13万",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    summary = pd.read_csv(out / "siting_budget.csv").set_index("kind")
    assert summary.loc["all", "budget_yuan"] == 130_000
    assert summary.loc["all", "cost_yuan"] == summary.loc[
        ["micro_fire_station", "village_team"], "cost_yuan"].sum()
    assert summary.loc["all", "unspent_yuan"] == (
        130_000 - cast(float, summary.loc["all", "cost_yuan"]))
    assert summary.loc["all", "gap_to_bound"] == 0.0
    for kind in ("micro_fire_station", "village_team"):
        t = pd.read_csv(out / f"siting_{kind}.csv")
        assert "cost_yuan" in t and "cost_basis" in t
        assert t["cost_yuan"].sum() == summary.loc[kind, "cost_yuan"]
        assert (out / f"siting_{kind}.html").exists()
    total = summary.loc["all", "cost_yuan"]
    assert f"{total:,.0f} of 130,000 yuan" in text
    assert re.search(r"#1 .*: \+[\d,]+ persons within \d+ min; [\d,]+ yuan", text)
    assert "proven bound" in text and "gap 0.00%" in text
    # a plain --add run prints each site's cost and the plan's total
    assert main(["-q", "site", str(folder), "--kind", "micro_fire_station", "--add", "2",
                 "--out", str(tmp_path / "add")]) == 0
    assert main(["site", str(folder), "--kind", "micro_fire_station", "--add", "2",
                 "--out", str(tmp_path / "add2")]) == 0
    text = capsys.readouterr().out
    t = pd.read_csv(tmp_path / "add2" / "siting_micro_fire_station.csv")
    assert f"total: 2 sites, +{int(t['newly_covered_population'].sum()):,} persons within " \
        f"target, {t['cost_yuan'].sum():,.0f} yuan" in text
    assert "; 30,000 yuan" in text


@pytest.mark.parametrize(("argv", "words"), [
    (["--budget", "-5"], ["--budget"]),
    (["--budget", "lots"], ["--budget"]),
    (["--budget", "100000", "--add", "2"], ["--budget", "--add"]),
    (["--budget", "100000", "--cover-all"], ["--budget", "--cover-all"]),
])
def test_budget_errors_name_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       argv: list[str], words: list[str]) -> None:
    from emgis.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["site", str(tmp_path / "nowhere"), "--kind", "micro_fire_station", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err


@pytest.mark.parametrize(("argv", "words"), [
    (["--kind", "stockpile", "--add", "2"], "--kind given 2 times"),
    (["--kind-weight", "stockpile=2", "--add", "1"], "--kind-weight goes with --budget"),
    (["--kind-weight", "fire_station=2", "--budget", "1"], "--kind-weight fire_station=2"),
    (["--kind-weight", "stockpile", "--kind", "stockpile", "--budget", "1"], "KIND=WEIGHT"),
    (["--budget", "1", "--robust", "worst"], "--budget chooses sites by budgeted covering"),
])
def test_budget_option_errors_exit_2(tiny: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str], argv: list[str],
                                     words: str) -> None:
    from emgis.cli import main

    assert main(["site", str(tiny), "--kind", "micro_fire_station", *argv,
                 "--out", str(tmp_path / "o")]) == 2
    assert words in capsys.readouterr().err


def test_a_kind_without_cost_is_named(tiny: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Fire stations have no cost in the standards: a budget asks for [costs] fire_station;
    once the district gives one, the budget runs."""
    from emgis.cli import main

    assert main(["site", str(tiny), "--kind", "fire_station", "--budget", "5000000",
                 "--out", str(tmp_path / "o")]) == 2
    assert "[costs] fire_station" in capsys.readouterr().err
    toml = tiny / "district.toml"
    toml.write_text(toml.read_text("utf-8") + '\n[costs]\nfire_station = { value = 3000000, '
                    'source = "某某县 2025 预算" }\n', encoding="utf-8")
    assert main(["-q", "site", str(tiny), "--kind", "fire_station", "--budget", "5000000",
                 "--out", str(tmp_path / "o2")]) == 0
    t = pd.read_csv(tmp_path / "o2" / "siting_fire_station.csv")
    assert set(t["cost_yuan"]) <= {3_000_000.0, 900_000.0} and len(t) >= 1
    assert t["cost_yuan"].sum() <= 5_000_000


def test_budget_in_chinese_has_chinese_words(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """--lang zh: every header of the new tables (siting_budget.csv, the cost columns of
    siting_KIND.csv), the cost-basis and reason words and every console line are Chinese."""
    from emgis.cli import main

    folder = hand_district(tmp_path / "hand", shelters=True)
    out = tmp_path / "out"
    assert main(["site", str(folder), "--kind", "micro_fire_station", "--kind",
                 "village_team", "--budget", "130000", "--out", str(out),
                 "--lang", "zh"]) == 0
    console = capsys.readouterr().out
    assert main(["site", str(folder), "--kind", "stockpile", "--add", "1",
                 "--out", str(tmp_path / "add"), "--lang", "zh"]) == 0
    console += capsys.readouterr().out
    names: set[str] = set()
    for f in folder.glob("*.csv"):
        names |= ascii_words(f.read_text("utf-8"))
    allowed = ZH_ALLOWED | names | {"roads", "geojson"}  # the road file's name
    console = "\n".join(line for line in console.splitlines()
                        if not line.lstrip().startswith("已写出"))  # paths
    assert ascii_words(console) - allowed == set()
    assert "合计" in console and "元" in console
    for f in [*out.glob("*.csv"), *(tmp_path / "add").glob("*.csv")]:
        with f.open(encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
        assert ascii_words(" ".join(rows[0])) - allowed == set(), (f.name, rows[0])
        fields = rows[1]
        for r in rows[2:]:
            for v, name in zip(r, fields, strict=False):
                if name in ("kind", "cost_basis", "reason", "source", "status"):
                    assert ascii_words(v) - allowed == set(), (f.name, name, v)


def test_costs_in_the_standards_profile(tmp_path: Path) -> None:
    """[costs]: the township station's 300,000 yuan from 泉州 2025, the others planning
    assumptions, each labelled in both languages; overridable as a number or with a source,
    unknown keys named with a hint."""
    from emgis import load_district
    from emgis._errors import ValidationError
    from emgis.inputs.standards import COSTS
    from emgis.outputs.profile import profile_table, sources_table
    from emgis.texts import texts

    assert COSTS["township_rescue_team"].value == 300_000
    assert "泉州" in COSTS["township_rescue_team"].source
    assert not COSTS["township_rescue_team"].proposal
    assert all(std.proposal for k, std in COSTS.items() if k != "township_rescue_team")
    for lang in ("en", "zh"):
        assert set(COSTS) <= set(texts(lang).section("cost_norm"))
        table = profile_table(lang=lang)
        assert "300000" in table and "reuse_factor" in table
    assert "新建站点费用" in profile_table(lang="zh")
    assert "利旧" in COSTS["reuse_factor"].source_zh
    folder = hand_district(tmp_path / "hand")
    toml = folder / "district.toml"
    base = toml.read_text("utf-8")
    toml.write_text(base + '[costs]\nmicro_fire_station = 120000\nstockpile = { value = '
                    '150000, source = "某某县 2025 预算" }\nreuse_factor = 0.5\n', "utf-8")
    d = load_district(folder)
    c = d.settings.costs
    assert c["micro_fire_station"].value == 120_000 and c["stockpile"].source == \
        "某某县 2025 预算"
    assert "100000" in c["micro_fire_station"].source  # cites the default it replaced
    rows = sources_table(d.settings, lang="zh")
    assert (rows["group"] == "costs").sum() == len(c)
    toml.write_text(base + '[costs]\nmicro_fire_statoin = 1\nreuse_factor = 2\n'
                    'stockpile = -1\n', "utf-8")
    with pytest.raises(ValidationError) as exc:
        load_district(folder)
    text = "\n".join(str(p) for p in exc.value.problems)
    assert "micro_fire_statoin" in text and "micro_fire_station" in text  # did you mean
    assert "reuse_factor" in text and "stockpile" in text


def test_candidate_cost_column_is_read_and_checked(tmp_path: Path) -> None:
    """The candidates layer's cost (费用 as a header too) is the candidate's cost; blank
    takes the kind's; a negative cost is an error naming the row."""
    from emgis import load_district
    from emgis._errors import ValidationError
    from emgis.analysis.siting import candidate_sites

    folder = hand_district(tmp_path / "hand")
    (folder / "candidates.csv").write_text(
        "编号,名称,费用,经度,纬度\ncA,Ahall,,1.0005,42.5\ncB,Bhall,42000,1.2005,42.5\n",
        encoding="utf-8")
    d = load_district(folder)
    cand, _ = candidate_sites(d, "micro_fire_station")
    c = cand.set_index("id")
    assert c.loc["candidate:cB", "cost"] == 42_000
    assert c.loc["candidate:cB", "cost_basis"] == "candidate's own cost"
    assert c.loc["candidate:cA", "cost"] == d.settings.costs["micro_fire_station"].value
    assert c.loc["candidate:cA", "cost_basis"] == "kind's cost"
    assert np.isnan(candidate_sites(d, "fire_station")[0]["cost"].to_numpy(float)).sum() > 0
    (folder / "candidates.csv").write_text(
        "id,name,cost,lon,lat\ncA,Ahall,-5,1.0005,42.5\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_district(folder)
    assert any("cost" in str(p) for p in exc.value.problems)
