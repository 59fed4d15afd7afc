"""Siting that counts the force (emgis.analysis.force_siting, issue 29) on the tiny district:
the plan equals a brute force over every set of candidates, each candidate's force recomputed
by effective_force with a new team there; defaults from the standards; bad arguments and CLI
options refused; the CLI path writes the plan."""

from __future__ import annotations

import csv
import dataclasses
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import emgis
from emgis._errors import SitingError
from emgis.analysis.force import effective_force
from emgis.analysis.force_siting import default_headcount, force_rule_of, site_force
from emgis.analysis.reanswer import with_unit
from emgis.analysis.siting import candidate_sites
from emgis.inputs.district import District
from emgis.roads.engine import Engine


def _weak(tiny: Path) -> emgis.Plan:
    """The tiny district with teams of 6, 5 and 3 persons: 14 persons within 30 min in V1, V2
    and V5, short of both rules."""
    path = tiny / "teams.csv"
    text = path.read_text("utf-8")
    path.write_text(text.replace("township_rescue_team,30,", "township_rescue_team,5,")
                    .replace("village_team,12,", "village_team,3,"), "utf-8")
    return emgis.open(tiny, use_cache=False)


def _with_teams(plan: emgis.Plan, kind: str, points: list[Any], headcount: float
                ) -> pd.DataFrame:
    """effective_force's table with new teams of ``kind`` and ``headcount`` at ``points``."""
    d: District = plan.district
    for n, pt in enumerate(points):
        d = with_unit(d, kind, pt, unit_id=f"NEW{n}")
    teams = d.teams.copy()
    new = teams["id"].astype(str).str.startswith("NEW")
    teams.loc[new, "headcount"] = headcount
    d = dataclasses.replace(d, teams=teams)
    return effective_force(d, Engine.for_district(d, plan.network)).table


@pytest.mark.parametrize(("kind", "rule", "add", "headcount"), [
    ("township_rescue_team", "township", 1, None),   # 30 persons: one site is enough
    ("township_rescue_team", "township", 2, 10.0),   # 16 short: two sites of 10 needed
    ("village_team", "village", 2, 1.0),             # 1 short within 10 min
    ("micro_fire_station", "township", 2, None),     # 6 persons: 2 sites do nothing
    ("micro_fire_station", "township", 3, None),     # 16 short: 3 sites of 6
])
def test_equals_brute_force_with_effective_force(tiny: Path, kind: str, rule: str, add: int,
                                                 headcount: float | None) -> None:
    plan = _weak(tiny)
    r = site_force(plan.district, plan.engine, kind, add=add, rule=rule, headcount=headcount)
    h = headcount if headcount is not None else default_headcount(plan.district, kind)
    assert h is not None and r.headcount == h
    v = plan.district.villages
    w = v["population"].to_numpy(dtype=float)
    base = effective_force(plan.district, plan.engine).table.query("rule == @rule")
    before = base.set_index("village_id").loc[v["id"], "persons"].to_numpy(dtype=float)
    need = float(base["required_persons"].iloc[0])
    # each candidate's own force, by effective_force with a new team there (forces add up)
    cand, _ = candidate_sites(plan.district, kind)
    delta = []
    for pt in cand.geometry:
        t = _with_teams(plan, kind, [pt], h).query("rule == @rule")
        delta.append(t.set_index("village_id").loc[v["id"], "persons"].to_numpy(dtype=float)
                     - before)
    best = max(float(w[before + sum((delta[j] for j in c), np.zeros(len(v)))
                       >= need - 1e-9].sum())
               for c in itertools.combinations(range(len(cand)), add))
    assert r.siting.solution.objective == pytest.approx(best)
    vil = r.siting.villages
    assert int(vil.loc[vil["sufficient_after"], "population"].sum()) == pytest.approx(best)
    assert r.newly_sufficient == pytest.approx(best - w[before >= need - 1e-9].sum())
    # the plan itself, all its teams added at once: effective_force agrees village by village
    ids = list(r.siting.proposals["site_id"])
    pts = [cand.geometry[list(cand["id"]).index(i)] for i in ids]
    after = _with_teams(plan, kind, pts, h).query("rule == @rule").set_index("village_id")
    assert vil["persons_after"].to_numpy() == pytest.approx(
        after.loc[v["id"], "persons"].to_numpy(dtype=float))
    assert (vil["sufficient_after"].to_numpy() == after.loc[v["id"], "meets"].to_numpy()).all()
    assert int(r.siting.proposals["newly_sufficient_population"].sum()) == r.newly_sufficient
    assert r.within_min == (30.0 if rule == "township" else 10.0)


def test_defaults_from_the_standards(tiny: Path) -> None:
    plan = _weak(tiny)
    d = plan.district
    assert force_rule_of("township_rescue_team") == "township"
    assert force_rule_of("village_team") == "village"
    assert force_rule_of("fire_station") is None
    assert default_headcount(d, "township_rescue_team") == 30
    assert default_headcount(d, "village_team") == 15
    r = plan.site_force("village_team")
    assert (r.rule, r.within_min, r.required_persons, r.headcount) == ("village", 10.0, 15.0,
                                                                       15.0)
    # 14 + 15 >= 15 in V1, V2 and V5: 2,000 persons newly with a village force
    assert r.newly_sufficient == 2000
    assert r.siting.proposals["gain_unit"].tolist() == ["persons"]
    assert r.siting.villages.query("newly_sufficient")["village_id"].tolist() == [
        "V1", "V2", "V5"]
    assert set(r.siting.unreachable["village_id"]) == {"V4"}  # no candidate reaches it in time


def test_first_weight_takes_first_arrival_too(tiny: Path) -> None:
    """Micro fire stations of 6 cannot bring anyone to 30 within 30 min with one site; with a
    first-arrival weight the site goes where it newly covers the most within 5 minutes."""
    plan = _weak(tiny)
    only = plan.site_force("micro_fire_station", rule="township")
    assert len(only.siting.proposals) == 0 and only.siting.note
    both = plan.site_force("micro_fire_station", rule="township", first_weight=1.0)
    first = plan.site("micro_fire_station", add=1)
    assert both.siting.solution.objective == pytest.approx(
        first.solution.objective + only.siting.solution.objective)
    assert both.siting.proposals["newly_covered_population"].sum() == \
        first.proposals["newly_covered_population"].sum()


@pytest.mark.parametrize(("kind", "kw", "words"), [
    ("stockpile", {}, ["kind 'stockpile' brings no force", "township_rescue_team"]),
    ("fire_station", {}, ["kind 'fire_station' has no force rule", "give rule",
                          "township, village"]),
    ("township_rescue_team", {"rule": "county"}, ["rule = 'county'", "township, village"]),
    ("enterprise_brigade", {"rule": "township"}, ["'enterprise_brigade'", "give headcount"]),
    ("village_team", {"add": 0}, ["add = 0"]),
    ("village_team", {"headcount": -5.0}, ["headcount = -5.0", "> 0"]),
    ("village_team", {"first_weight": -1.0}, ["first_weight = -1.0", ">= 0"]),
    ("village_team", {"method": "greedy"}, ["method 'greedy'"]),
    ("village_team", {"time_limit": -1}, ["time_limit = -1", ">= 0"]),
])
def test_bad_arguments_name_the_argument(tiny: Path, kind: str, kw: dict[str, Any],
                                         words: list[str]) -> None:
    plan = emgis.open(tiny, use_cache=False)
    with pytest.raises(SitingError) as info:
        plan.site_force(kind, **kw)
    for word in words:
        assert word in str(info.value)


def test_cli_writes_the_force_plan(tiny: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from emgis.cli import main

    _weak(tiny)
    out = tmp_path / "o"
    assert main(["site", str(tiny), "--kind", "township_rescue_team", "--add", "2",
                 "--force-rule", "township", "--headcount", "10", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "maximal force covering" in text
    assert "persons with it 0 -> 2,000 (+2,000), new teams of 10 persons" in text
    with (out / "siting_township_rescue_team.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2
    assert sum(int(r["newly_sufficient_population"]) for r in rows) == 2000
    assert {r["model"] for r in rows} == {"max_force_covering"}


@pytest.mark.parametrize(("argv", "words"), [
    (["--force-rule", "township", "--cover-all"], "--force-rule does not go with --cover-all"),
    (["--force-rule", "village", "--model", "p_median"],
     "--force-rule does not go with --model p_median"),
    (["--force-rule", "village", "--robust", "worst"], "--force-rule does not go with --robust"),
    (["--headcount", "10"], "--headcount goes with --force-rule only"),
    (["--first-weight", "1"], "--first-weight goes with --force-rule only"),
])
def test_cli_option_errors_exit_2(tiny: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str], argv: list[str],
                                  words: str) -> None:
    from emgis.cli import main

    assert main(["site", str(tiny), "--kind", "village_team", *argv,
                 "--out", str(tmp_path / "o")]) == 2
    assert words in capsys.readouterr().err
