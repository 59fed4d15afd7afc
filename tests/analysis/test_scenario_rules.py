"""Which zones put what out of action, and which shelters receive evacuees (issue 29, items 2
and 3), on the hand-made district of tests/roads/test_reattach.py (metres, two parallel roads
A (y = 0) and B (y = 25) from x = 0 to 2000, joined at both ends).

The oracles are networkx shortest paths on graphs drawn from the coordinates by hand."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely

from emgis import load_district
from emgis.analysis.scenario import Scenario, evacuate, run_scenario, zones
from emgis.inputs.kinds import units_of
from emgis.roads.engine import Engine
from emgis.roads.network import load_network_arrays
from tests.roads.test_reattach import X0, Y0, _district

BOX = (800.0, -50.0, 1200.0, 50.0)  # a zone over both roads between x = 800 and 1200


def _rules_district(root: Path, effect: str) -> Path:
    # a rescue team, a store and a shelter inside the zone; villages east of it
    return _district(root, units=[("U1", "township_rescue_team", 1000, 10)],
                     villages=[("V1", 1900, -10), ("V2", 300, 35)],
                     shelters=[("S1", "emergency", 1000, 15, 500)],
                     stockpiles=[("K1", 1100, 10)],
                     hazards=[("Z1", effect, BOX)])


def test_a_slowed_zone_puts_nothing_out_of_action(tmp_path: Path) -> None:
    d = load_district(_rules_district(tmp_path / "d", "slowed"))
    edges, _ = load_network_arrays(d, use_cache=False)
    r = run_scenario(d, edges, Scenario("smoke", ("Z1",)))
    st = r.units.set_index("unit_id")
    assert set(st.loc[["U1", "K1", "S1"], "status"]) == {"in_action"}
    assert set(st.loc[["U1", "K1", "S1"], "reason"]) == {""}
    assert bool(r.shelters.set_index("shelter_id").at["S1", "usable"])
    assert r.summary["units_out_of_action"].tolist() == [0]
    # the store stays within reach, and the team keeps covering: at the slowed times
    s = d.settings
    drive = s.speed_kph("tertiary") * 1000 / 60
    off = s.speed_kph("offroad") * 1000 / 60
    rows = r.villages.set_index(["village_id", "kind"])
    for uid, x, y, kind in (("U1", 1000.0, 10.0, "township_rescue_team"),
                            ("K1", 1100.0, 10.0, "stockpile")):
        # unit -> road A at its x (10 m) -> east, 1200 - x inside the zone at half speed ->
        # 700 m to V1's point -> V1 (10 m)
        turnout = float(units_of(d).set_index("id").at[uid, "turnout_min"])
        want = turnout + (y + 10.0) / off + 2 * (1200.0 - x) / drive + 700.0 / drive
        assert rows.at[("V1", kind), "scenario_min"] == pytest.approx(want, abs=1e-6), kind
        assert rows.at[("V1", kind), "scenario_status"] != "cut_off"
        assert float(rows.loc[("V1", kind), "scenario_min"]) > float(  # type: ignore[arg-type]
            rows.loc[("V1", kind), "baseline_min"])  # type: ignore[arg-type]


def test_the_same_zone_closed_puts_them_out_of_action(tmp_path: Path) -> None:
    d = load_district(_rules_district(tmp_path / "d", "closed"))
    edges, _ = load_network_arrays(d, use_cache=False)
    r = run_scenario(d, edges, Scenario("flood", ("Z1",)))
    st = r.units.set_index("unit_id")
    assert set(st.loc[["U1", "K1", "S1"], "status"]) == {"out_of_action"}
    assert st.at["U1", "reason"] == "inside the hazard zone"
    assert st.at["K1", "reason"] == "inside the hazard zone: cannot be reached"
    assert st.at["S1", "reason"] == "inside the hazard zone: not usable"
    assert not bool(r.shelters.set_index("shelter_id").at["S1", "usable"])
    # inside the closed zone nothing is attached anew
    assert st.loc[["U1", "K1", "S1"], "reattached_m"].isna().all()
    rows = r.villages.set_index(["village_id", "kind"])
    assert rows.at[("V1", "stockpile"), "scenario_status"] == "cut_off"
    # with units_out_of_action = false the team stays (its roads are closed: cut off), the
    # store and the shelter stay out of action
    r2 = run_scenario(d, edges, Scenario("flood", ("Z1",), units_out_of_action=False))
    st2 = r2.units.set_index("unit_id")
    assert st2.at["U1", "status"] == "cut_off"
    assert st2.at["K1", "status"] == "out_of_action" and st2.at["S1", "status"] == "out_of_action"


def test_siting_sees_only_closed_zones_as_out_of_action(tmp_path: Path) -> None:
    from emgis.plan import open as open_plan

    for effect, out in (("slowed", False), ("closed", True)):
        root = _rules_district(tmp_path / effect, effect)
        text = (root / "district.toml").read_text("utf-8")
        (root / "district.toml").write_text(
            text + '\n[scenarios.z]\nhazards = ["Z1"]\n', "utf-8")
        plan = open_plan(root, use_cache=False)
        spec = plan.siting_scenarios()[0]
        inside = spec.out_area is not None and not shapely.is_empty(spec.out_area) and \
            shapely.Point(X0 + 1000, Y0 + 10).within(spec.out_area)
        assert inside == out, effect
        assert bool(spec.active.all()) == (not out)


# --- 3. a shelter cut off receives nobody ----------------------------------------------------

def _cut_district(root: Path) -> Path:
    """Road B split at x = 1500, where a stub runs north to (1500, 600); a closed band 15 m
    wide over the stub from y = 60 to 540. Shelter SC stands 7 m east of the band, 12 m from
    the stub, which it attaches to inside the band: its road is closed on every side, and with
    max_access_m = 200 no open road is within reach (it is not attached anew). SI stands inside
    the band, SW near road B's west end. Village VE (74 m from the band) must leave."""
    roads: list[list[tuple[float, float]]] = [
        [(0, 0), (2000, 0)], [(0, 25), (1500, 25)], [(1500, 25), (2000, 25)],
        [(0, 0), (0, 25)], [(2000, 0), (2000, 25)], [(1500, 25), (1500, 600)]]
    return _district(root, units=[("U1", "township_rescue_team", 100, -10)],
                     villages=[("VE", 1420, 35), ("VF", 400, -20)],
                     shelters=[("SC", "emergency", 1512, 300, 1000),
                               ("SW", "emergency", 60, 40, 1000),
                               ("SI", "emergency", 1500, 450, 1000)],
                     roads=roads, hazards=[("Z1", "closed", (1490, 60, 1505, 540))],
                     extra_toml="[network]\nmax_access_m = 200\n")


def test_a_cut_off_shelter_receives_no_evacuees(tmp_path: Path) -> None:
    d = load_district(_cut_district(tmp_path / "d"))
    edges, _ = load_network_arrays(d, use_cache=False)
    sc = Scenario("flood", ("Z1",), evacuate_within_m=100)
    assert sc.evacuate_before_closure  # evacuation on the roads before they close
    r = run_scenario(d, edges, sc)
    st = r.units.set_index("unit_id")
    assert st.at["SC", "status"] == "cut_off"
    assert st.at["SC", "reason"] == "every road from it is closed"
    assert st.at["SI", "status"] == "out_of_action"  # inside the zone
    sh = r.shelters.set_index("shelter_id")
    assert sh.loc[["SC", "SI"], "usable"].tolist() == [False, False]
    assert sh.loc[["SC", "SI"], "load"].tolist() == [0, 0]
    assert set(r.evacuation["shelter_id"]) == {"SW"}
    assert r.evacuation["persons"].sum() == 100  # VE, everyone
    # the minutes: networkx on the roads before the flood (villagers drive), VE -> SW
    s = d.settings
    drive = s.speed_kph("tertiary") * 1000 / 60
    off = s.speed_kph("offroad") * 1000 / 60
    G = nx.Graph()
    G.add_edge("VE", (1420.0, 25.0), weight=10.0 / off)
    G.add_edge((1420.0, 25.0), (60.0, 25.0), weight=1360.0 / drive)
    G.add_edge((60.0, 25.0), "SW", weight=15.0 / off)
    want = nx.shortest_path_length(G, "VE", "SW", weight="weight")
    assert float(r.evacuation["minutes"].iloc[0]) == pytest.approx(want, abs=0.006)
    # the test means something: offered SC, the LP sends VE there (it is nearer before the
    # flood), as it did before cut-off shelters were left out
    eng = Engine.for_district(d, edges)
    units = units_of(d)
    union = shapely.union_all(zones(d, sc).geometry.values)
    everyone = np.ones(len(units), dtype=bool)
    evac, _, _ = evacuate(d, eng, union, sc, usable=everyone, units=units)
    assert set(evac["shelter_id"]) == {"SC"}


def test_an_out_of_action_shelter_receives_no_evacuees_either(tmp_path: Path) -> None:
    # SI stands inside the zone, beside VE: the nearest, and out of action
    d = load_district(_cut_district(tmp_path / "d"))
    edges, _ = load_network_arrays(d, use_cache=False)
    sc = Scenario("flood", ("Z1",), evacuate_within_m=100, evacuate_before_closure=False)
    r = run_scenario(d, edges, sc)
    assert "SI" not in set(r.evacuation["shelter_id"])
    assert "SC" not in set(r.evacuation["shelter_id"])
    assert set(r.evacuation["shelter_id"]) <= {"SW"}
