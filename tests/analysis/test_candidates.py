"""Which candidate sites siting considers ([siting] candidates and sources, ``--candidates
listed``): the planner's list only, sources chosen, the others excluded with the reason; the
[siting] table checked like the others; the what-if page's cost of the chosen sites."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.analysis.test_budget_siting import hand_district


def test_listed_only_sites_only_listed_candidates(tmp_path: Path) -> None:
    import emgis

    plan = emgis.open(hand_district(tmp_path / "hand", shelters=True,
                                    siting='[siting]\ncandidates = "listed"\n'),
                      use_cache=False)
    r = plan.site("micro_fire_station", add=2)
    assert set(r.proposals["site_id"]) == {"candidate:cA", "candidate:cB"}
    assert set(r.proposals["source"]) == {"candidates layer"}
    ex = r.excluded.set_index("id")["reason"]
    for other in ("village:A", "village:B", "teams:VA", "shelters:SB"):
        assert ex[other] == "not a listed candidate"
    b = plan.site_budget("micro_fire_station", budget=1_000_000)
    assert set(b.sites[0].proposals["site_id"]) == {"candidate:cA", "candidate:cB"}


def test_sources_choose_the_automatic_candidates(tmp_path: Path) -> None:
    import emgis
    from emgis.analysis.siting import candidate_sites

    plan = emgis.open(hand_district(tmp_path / "hand", shelters=True,
                                    siting='[siting]\nsources = ["shelters", "listed"]\n'),
                      use_cache=False)
    cand, ex = candidate_sites(plan.district, "micro_fire_station")
    assert set(cand["source"]) == {"shelters", "candidates layer"}
    reasons = ex.set_index("id")["reason"]
    assert reasons["village:A"] == "source not used" and reasons["teams:VA"] == \
        "source not used"


def test_cli_candidates_listed_overrides_the_setting(tmp_path: Path) -> None:
    from emgis.cli import main

    folder = hand_district(tmp_path / "hand", shelters=True)
    out = tmp_path / "out"
    assert main(["-q", "site", str(folder), "--kind", "micro_fire_station", "--add", "2",
                 "--candidates", "listed", "--out", str(out)]) == 0
    t = pd.read_csv(out / "siting_micro_fire_station.csv")
    assert set(t["site_id"]) == {"candidate:cA", "candidate:cB"}
    ex = pd.read_csv(out / "siting_micro_fire_station_excluded.csv")
    assert set(ex.loc[ex["id"].isin(["village:A", "shelters:SB"]), "reason"]) == {
        "not a listed candidate"}
    zh = tmp_path / "zh"
    assert main(["-q", "site", str(folder), "--kind", "micro_fire_station", "--add", "2",
                 "--candidates", "listed", "--out", str(zh), "--lang", "zh"]) == 0
    text = (zh / "siting_micro_fire_station_excluded.csv").read_text("utf-8-sig")
    assert "不是规划候选点" in text and "not a listed" not in text
    # without the option every source is a candidate again
    assert main(["-q", "site", str(folder), "--kind", "micro_fire_station", "--add", "2",
                 "--out", str(tmp_path / "all")]) == 0
    t = pd.read_csv(tmp_path / "all" / "siting_micro_fire_station.csv")
    assert not set(t["site_id"]) <= {"candidate:cA", "candidate:cB"}


@pytest.mark.parametrize(("table", "words"), [
    ('[siting]\ncandidate = "listed"\n', ["candidate", "did you mean", "candidates"]),
    ('[siting]\ncandidates = "mine"\n', ["candidates", '"all", "listed"']),
    ('[siting]\nsources = ["villages", "schools"]\n', ["sources", '"villages"']),
    ('[siting]\nsources = []\n', ["sources"]),
    ('[siting]\nsources = ["teams", "teams"]\n', ["sources"]),
])
def test_siting_table_is_checked(tmp_path: Path, table: str, words: list[str]) -> None:
    from emgis import load_district
    from emgis._errors import ValidationError

    folder = hand_district(tmp_path / "hand", siting=table)
    with pytest.raises(ValidationError) as exc:
        load_district(folder)
    text = "\n".join(str(p) for p in exc.value.problems)
    for w in words:
        assert w in text, text


def test_whatif_page_adds_up_the_chosen_costs(tmp_path: Path) -> None:
    """The page carries each candidate's cost and shows the chosen ones' sum beside the
    persons (and the yearly running cost where the kind has one)."""
    import json

    from emgis.cli import main
    from tests.conftest import render_dom

    folder = hand_district(tmp_path / "hand", shelters=True)
    out = tmp_path / "out"
    assert main(["-q", "site", str(folder), "--kind", "micro_fire_station", "--add", "2",
                 "--out", str(out)]) == 0
    page = out / "siting_micro_fire_station.html"
    m = re.search(r'<script[^>]*id="emgis-data"[^>]*>(.*?)</script>', page.read_text("utf-8"),
                  re.S)
    assert m is not None
    data = json.loads(m.group(1))
    cands = data["whatif"]["cands"]
    cost = dict(zip(cands["id"], cands["cost"], strict=True))
    assert cost["candidate:cB"] == 100_000 and cost["shelters:SB"] == 30_000
    chosen = sum(c for c, on in zip(cands["cost"], cands["on"], strict=True) if on)
    dom = render_dom(page, tmp_path)
    el = re.search(r'<span id="emgis-wi-cost" data-yuan="([\d.]+)"[^>]*>([^<]*)</span>', dom)
    assert el is not None and float(el.group(1)) == chosen
    assert f"{chosen:,.0f} yuan" in el.group(2) and "a year" in el.group(2)
    # a click adds the hall's cost
    off = next(i for i, on in zip(cands["id"], cands["on"], strict=True) if not on)
    dom = render_dom(page, tmp_path, fragment=f"click=c:{off}")
    el = re.search(r'<span id="emgis-wi-cost" data-yuan="([\d.]+)"', dom)
    assert el is not None and float(el.group(1)) == chosen + cost[off]
