"""Effective response force (issue 29): the persons of every unit arriving within a time,
against the 30 (township) and 15 (village) minimums."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from typing import cast

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import emgis
from emgis.analysis.force import effective_force, persons_within

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny"


def test_hand_computed() -> None:
    """Units of 10, 12 and 15 persons at 4, 7 and 9 minutes: 22 persons within 8 minutes."""
    assert persons_within([4, 7, 9], [10, 12, 15], 8) == 22
    assert persons_within([4, 7, 9], [10, 12, 15], 9) == 37
    assert persons_within([4, 7, 9], [10, 12, 15], 3.99) == 0
    assert persons_within([], [], 8) == 0


def _oracle_minutes(plan: emgis.Plan) -> dict[tuple[str, str], float]:
    """Minutes from every team to every village: networkx Dijkstra between road nodes, each
    location entering and leaving its edge at the exact time of the segments it covers (and
    along the edge itself when unit and village share it), access legs and turnout added."""
    ea = plan.network
    eng = plan.engine
    G = nx.DiGraph()
    for e in range(ea.n_edges):
        u, v, w = int(ea.u[e]), int(ea.v[e]), float(ea.travel_time[e]) / 60.0
        if not G.has_edge(u, v) or G[u][v]["t"] > w:
            G.add_edge(u, v, t=w)
    snaps = eng.snaps
    units = plan.units

    def leave(loc: int) -> dict[int, float]:  # node -> minutes from the location
        e, f = int(cast(int, snaps["edge"].iat[loc])), float(cast(float, snaps["frac"].iat[loc]))
        out = {int(ea.v[e]): float(ea.travel_time[e] - ea.time_at([e], [f])[0]) / 60.0}
        tw = int(ea.twin[e])
        if tw >= 0:
            out[int(ea.v[tw])] = float(ea.travel_time[tw] - ea.time_at([tw], [1 - f])[0]) / 60
        return out

    def enter(loc: int) -> dict[int, float]:  # node -> minutes to the location
        e, f = int(cast(int, snaps["edge"].iat[loc])), float(cast(float, snaps["frac"].iat[loc]))
        out = {int(ea.u[e]): float(ea.time_at([e], [f])[0]) / 60.0}
        tw = int(ea.twin[e])
        if tw >= 0:
            out[int(ea.u[tw])] = float(ea.time_at([tw], [1 - f])[0]) / 60.0
        return out

    res = {}
    for i, uid in enumerate(units["id"]):
        if units["layer"].iat[i] != "teams":
            continue
        uloc = int(eng.unit_loc[i])
        if snaps["status"].iat[uloc] == "no_road_access":
            continue
        start = (float(units["turnout_min"].iat[i])
                 + float(cast(float, snaps["access_min"].iat[uloc])))
        out = leave(uloc)
        dist: dict[int, float] = {}
        for node, m in out.items():
            for n2, d in nx.single_source_dijkstra_path_length(G, node, weight="t").items():
                dist[n2] = min(dist.get(n2, np.inf), m + d)
        for j, vid in enumerate(plan.district.villages["id"]):
            vloc = int(eng.village_loc[j])
            if snaps["status"].iat[vloc] == "no_road_access":
                continue
            best = min((dist.get(n, np.inf) + m for n, m in enter(vloc).items()),
                       default=np.inf)
            ue, uf = (int(cast(int, snaps["edge"].iat[uloc])),
                      float(cast(float, snaps["frac"].iat[uloc])))
            ve, vf = (int(cast(int, snaps["edge"].iat[vloc])),
                      float(cast(float, snaps["frac"].iat[vloc])))
            for e, a, b in ((ue, uf, vf if ve == ue else None),
                            (int(ea.twin[ue]), 1 - uf,
                             1 - vf if ve == ue else (vf if ve == int(ea.twin[ue]) else None))):
                if e >= 0 and b is not None and b >= a:
                    best = min(best, float(ea.time_at([e], [b])[0] - ea.time_at([e], [a])[0])
                               / 60.0)
            res[(str(uid), str(vid))] = (start + best
                                         + float(cast(float, snaps["access_min"].iat[vloc])))
    return res


def test_equals_brute_force_on_tiny(tmp_path: Path) -> None:
    d = tmp_path / "tiny"
    shutil.copytree(TINY, d, ignore=shutil.ignore_patterns(".emgis-cache"))
    plan = emgis.open(d, use_cache=False)
    got = effective_force(plan.district, plan.engine, times=(3, 5, 10, 20, 30))
    minutes = _oracle_minutes(plan)
    heads = dict(zip(plan.district.teams["id"], plan.district.teams["headcount"].astype(float),
                     strict=True))
    table = got.table.set_index(["village_id", "rule"])
    checked = 0
    for vid in plan.district.villages["id"]:
        for rule, within in (("township", 30.0), ("village", 10.0)):
            want = sum(heads[u] for (u, v), m in minutes.items() if v == vid
                       and m <= within + 1e-9)
            assert table.loc[(vid, rule), "persons"] == pytest.approx(want), (vid, rule)
            need = 30 if rule == "township" else 15
            assert table.loc[(vid, rule), "meets"] == (want >= need)
            checked += 1
        for t in (3, 5, 10, 20, 30):
            want = sum(heads[u] for (u, v), m in minutes.items() if v == vid and m <= t + 1e-9)
            assert table.loc[(vid, "township"), f"persons_{t}min"] == pytest.approx(want)
    assert checked == 10
    # the pairs agree with the oracle's minutes, each village's by minutes
    for r in got.pairs.to_dict("records"):
        assert r["minutes"] == pytest.approx(minutes[(r["unit_id"], r["village_id"])], abs=0.01)
    assert set(zip(got.pairs["unit_id"], got.pairs["village_id"], strict=True)) == {
        k for k, m in minutes.items() if m <= 30 + 1e-9}
    # as a run's worker sends it back (pickled before its pairs were read): the same pairs
    sent = pickle.loads(pickle.dumps(effective_force(plan.district, plan.engine,
                                                     times=(3, 5, 10, 20, 30))))
    assert "pairs" not in vars(sent)
    pd.testing.assert_frame_equal(sent.pairs, got.pairs)
    pd.testing.assert_frame_equal(sent.table, got.table)


def test_first_unit_only_is_listed(tmp_path: Path) -> None:
    """With teams of 6, 5 and 3 persons every village the units reach has a first unit within
    10 minutes but 14 persons, one short of a village force: each is listed as first_only;
    with 60 persons in the micro fire station none is."""
    d = tmp_path / "tiny"
    shutil.copytree(TINY, d, ignore=shutil.ignore_patterns(".emgis-cache"))
    path = d / "teams.csv"
    text = path.read_text("utf-8")
    text = text.replace("township_rescue_team,30,", "township_rescue_team,5,").replace(
        "village_team,12,", "village_team,3,")
    path.write_text(text, "utf-8")
    f = emgis.open(d, use_cache=False).force()
    vil = f.table[f.table["rule"] == "village"].set_index("village_id")
    assert sorted(vil.index[vil["first_only"]]) == ["V1", "V2", "V5"]
    assert (vil.loc[["V1", "V2", "V5"], "persons"] == 14).all()
    fo = f.first_only()
    assert fo["village_id"].iloc[0] == "V1"  # most people first
    assert (fo["first_min"] <= fo["within_min"]).all()
    path.write_text(text.replace("micro_fire_station,6,", "micro_fire_station,60,"), "utf-8")
    f2 = emgis.open(d, use_cache=False).force()
    assert not f2.table["first_only"].any()


def test_force_units_listed_in_arrival_order(demo_plan: emgis.Plan) -> None:
    f = demo_plan.force()
    row = f.table.query("rule == 'township'").iloc[0]
    mins = [float(p.rsplit(", ", 1)[1].rstrip(")")) for p in row["force_units"].split("; ")]
    assert mins == sorted(mins)
    assert len(mins) == row["units_within"]


def test_force_pairs_by_the_hierarchy_are_the_searches(demo_plan: emgis.Plan,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The force's pairs answered by a contraction hierarchy (a county-sized graph whose
    searches reach far) are the pairs the searches find, with their minutes; the effective
    force from them is the same table."""
    from emgis.analysis import unitpairs
    from emgis.analysis.force import force_pairs

    plan = demo_plan
    searched = force_pairs(plan.district, plan.engine)
    from emgis.roads.hierarchy import pairs_within_cch as real

    calls: list[int] = []

    def counted(*args: object, **kw: object) -> object:
        calls.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(unitpairs, "pairs_within_cch", counted)
    monkeypatch.setattr(unitpairs, "HIERARCHY_FROM", 0)
    monkeypatch.setattr(unitpairs, "HIERARCHY_REACH", 1.0)
    by_cch = force_pairs(plan.district, plan.engine)
    assert calls == [1]
    assert np.array_equal(by_cch.units, searched.units)
    assert np.array_equal(by_cch.unit, searched.unit)
    assert np.array_equal(by_cch.village, searched.village)
    np.testing.assert_allclose(by_cch.minutes, searched.minutes, rtol=0, atol=1e-9)
    a = effective_force(plan.district, plan.engine, pairs=searched).table
    b = effective_force(plan.district, plan.engine, pairs=by_cch).table
    assert a.equals(b)
    # a reach too small for the hierarchy: the searches answer
    monkeypatch.setattr(unitpairs, "HIERARCHY_REACH", float(len(searched.units) + 1))
    force_pairs(plan.district, plan.engine)
    assert calls == [1]


@pytest.mark.parametrize("n_nodes, wanted", [(19_999, False), (20_000, True),
                                             (299_999, True), (300_000, False)])
def test_hierarchy_only_for_county_sized_graphs(demo_plan: emgis.Plan, n_nodes: int,
                                                wanted: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The hierarchy is considered for graphs of 20,000 to 299,999 nodes only (a province's
    graph is searched: its hierarchy would take gigabytes)."""
    import dataclasses

    from emgis.analysis import unitpairs

    rg = demo_plan.engine.graph("drive")
    monkeypatch.setattr(unitpairs, "HIERARCHY_REACH", 1.0)
    sized = dataclasses.replace(rg)
    monkeypatch.setattr(type(sized), "n_nodes", property(lambda self: n_nodes))
    loc = demo_plan.engine.unit_loc[:5]
    got = unitpairs._by_hierarchy(sized, loc, demo_plan.engine.village_loc, 60.0,
                                  np.zeros(len(loc)))
    assert got is wanted
