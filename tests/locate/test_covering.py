"""Siting models against brute-force enumeration of every set of sites."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from emgis.locate.covering import max_covering, set_covering
from emgis.locate.median import p_center, p_median
from emgis.locate.pairs import served_times


def instance(seed: int, n_c: int = 7, n_v: int = 12) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
    rng = np.random.default_rng(seed)
    times = rng.uniform(0.5, 12, (n_c, n_v))
    times[rng.random((n_c, n_v)) < 0.2] = np.inf
    weights = rng.integers(10, 500, n_v).astype(float)
    base = rng.uniform(2, 20, n_v)
    base[rng.random(n_v) < 0.2] = np.inf  # villages no existing unit reaches
    return times, weights, base


def nested_instance(seed: int, n_v: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates whose covers lie within others' (and duplicates): dominance at work."""
    rng = np.random.default_rng(seed)
    rows = [rng.random(n_v) < 0.35 for _ in range(4)]
    for _ in range(5):  # a part of an existing cover, or the same cover again
        r = rows[rng.integers(len(rows))]
        rows.append(r & (rng.random(n_v) < (1.0 if rng.random() < 0.3 else 0.6)))
    cover = np.array(rows)[rng.permutation(len(rows))]
    times = np.where(cover, rng.uniform(0.5, 5.0, cover.shape), np.inf)
    return times, rng.integers(10, 500, n_v).astype(float), np.full(n_v, np.inf)


def covered(times: np.ndarray, weights: np.ndarray, base: np.ndarray, target: float,
            sites: tuple[int, ...]) -> float:
    t = served_times(times, base, sites)
    new = (t <= target) & ~(base <= target)
    return float(weights[new].sum())


@pytest.mark.parametrize("make", [instance, nested_instance])
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_max_covering_equals_brute_force(make, seed: int, p: int) -> None:  # type: ignore[no-untyped-def]
    times, w, base = make(seed)
    best = max(covered(times, w, base, 5.0, s)
               for s in itertools.combinations(range(times.shape[0]), p))
    exact = max_covering(times, w, base, 5.0, p)
    assert exact.status == "optimal" and exact.objective == pytest.approx(best)
    assert covered(times, w, base, 5.0, exact.sites) == pytest.approx(best)
    heur = max_covering(times, w, base, 5.0, p, method="heuristic")
    assert heur.objective <= best + 1e-9
    assert heur.bound is not None and heur.bound >= best - 1e-6
    # ranked by marginal gain: gains add up to the objective and never increase
    assert sum(exact.gains) == pytest.approx(exact.objective)
    assert list(exact.gains) == sorted(exact.gains, reverse=True)


@pytest.mark.parametrize("seed", range(8))
def test_adding_sites_never_lowers_coverage(seed: int) -> None:
    times, w, base = instance(seed)
    values = [max_covering(times, w, base, 5.0, p).objective for p in range(0, 5)]
    assert values == sorted(values)


@pytest.mark.parametrize("make", [instance, nested_instance])
@pytest.mark.parametrize("seed", range(8))
def test_set_covering_equals_brute_force(make, seed: int) -> None:  # type: ignore[no-untyped-def]
    times, w, base = make(seed)
    sol, unreachable = set_covering(times, w, base, 5.0)
    need = ~(base <= 5.0)
    cover = (times <= 5.0) & need[None, :]
    target_villages = need & cover.any(axis=0)
    assert (unreachable == (need & ~cover.any(axis=0))).all()
    best = None
    for k in range(0, times.shape[0] + 1):
        for s in itertools.combinations(range(times.shape[0]), k):
            if not target_villages.any() or cover[list(s)].any(axis=0)[target_villages].all():
                best = k
                break
        if best is not None:
            break
    assert sol.objective == best
    if sol.sites:
        assert cover[list(sol.sites)].any(axis=0)[target_villages].all()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2])
def test_p_median_and_p_center_equal_brute_force(seed: int, p: int) -> None:
    times, w, base = instance(seed)
    reach = np.isfinite(base) | np.isfinite(times).any(axis=0)

    def total(s: tuple[int, ...]) -> float:
        t = served_times(times, base, s)
        return float((w[np.isfinite(t)] * t[np.isfinite(t)]).sum()) + \
            1e9 * int((~np.isfinite(t) & reach).sum())

    def worst(s: tuple[int, ...]) -> float:
        return float(served_times(times, base, s)[reach].max())

    combos = list(itertools.combinations(range(times.shape[0]), p))
    med = p_median(times, w, base, p)
    assert med.objective == pytest.approx(min(total(s) for s in combos))
    cen = p_center(times, w, base, p)
    assert cen.objective == pytest.approx(min(worst(s) for s in combos))


# spopt drives PuLP 3 APIs that PuLP announces will change in 4.0: not ours to fix
@pytest.mark.filterwarnings("ignore:.*PuLP 4.0.*:DeprecationWarning")
def test_medium_instance_equals_spopt() -> None:
    """Hundreds of villages and candidates: MCLP and LSCP optima equal spopt's (CBC)."""
    import pulp
    from spopt.locate import LSCP, MCLP

    rng = np.random.default_rng(3)
    n_c, n_v = 120, 300
    cand = rng.uniform(0, 30, (n_c, 2))
    vil = rng.uniform(0, 30, (n_v, 2))
    times = np.hypot(*(cand[:, None, :] - vil[None, :, :]).transpose(2, 0, 1)) * 1.3
    w = rng.integers(10, 900, n_v).astype(float)
    none = np.full(n_v, np.inf)  # no existing units: spopt's models have none either
    solver = pulp.PULP_CBC_CMD(msg=False)
    ours = max_covering(times, w, none, 4.0, 8)
    theirs = MCLP.from_cost_matrix(times.T, w, service_radius=4.0, p_facilities=8).solve(solver)
    assert ours.objective == pytest.approx(pulp.value(theirs.problem.objective))
    reach = (times <= 4.0).any(axis=0)
    sol, _ = set_covering(times[:, reach], w[reach], none[reach], 4.0)
    lscp = LSCP.from_cost_matrix(times[:, reach].T, service_radius=4.0).solve(solver)
    assert sol.objective == pytest.approx(pulp.value(lscp.problem.objective))


def test_site_units_on_the_tiny_district(tiny: Path) -> None:
    from emgis import load_district
    from emgis.analysis.siting import ON_TOP_M, site_units
    from emgis.roads.network import load_network_arrays

    d = load_district(tiny)
    edges, _ = load_network_arrays(d)
    r = site_units(d, edges, "micro_fire_station", add=2)
    existing = d.teams[d.teams["kind"] == "micro_fire_station"]
    # a site is never proposed on top of an existing unit
    for g in r.proposals.geometry:
        assert existing.distance(g).min() > ON_TOP_M
    # newly covered villages are exactly those covered after and not before
    v = r.villages
    assert (v["newly_covered"] == (v["covered_after"] & ~v["covered_before"])).all()
    assert r.proposals["newly_covered_population"].sum() == v.loc[v["newly_covered"],
                                                                  "population"].sum()
    # candidates without road access are excluded with the reason
    assert "no road access" in set(r.excluded["reason"])
    # cover-all: villages no candidate can reach are listed, the rest covered
    allr = site_units(d, edges, "micro_fire_station", cover_all=True)
    assert set(allr.unreachable["village_id"]) >= {"V4"}  # 2 km from any road
    reach = ~v["village_id"].isin(allr.unreachable["village_id"])
    assert allr.villages.loc[reach.to_numpy(), "covered_after"].all()


@pytest.mark.parametrize("seed", range(6))
def test_capacitated_covering_equals_brute_force(seed: int) -> None:
    from scipy.optimize import linprog

    from emgis.locate.covering import capacitated_covering

    times, w, base = instance(seed, n_c=6, n_v=10)
    cap, target, p = 600.0, 6.0, 2
    need = ~(base <= target)

    def served(s: tuple[int, ...]) -> float:
        # for a fixed set of sites, the most persons served is a transportation LP
        pairs = [(j, i) for j in s for i in range(len(w)) if times[j, i] <= target and need[i]]
        if not pairs:
            return 0.0
        a = np.zeros((len(w) + len(s), len(pairs)))
        for k, (j, i) in enumerate(pairs):
            a[i, k] = 1
            a[len(w) + s.index(j), k] = 1
        res = linprog(-np.ones(len(pairs)), A_ub=a, b_ub=np.r_[w, np.full(len(s), cap)],
                      bounds=(0, None), method="highs")
        return float(-res.fun)

    best = max(served(s) for s in itertools.combinations(range(times.shape[0]), p))
    sol = capacitated_covering(times, w, base, target, p, cap)
    assert sol.objective == pytest.approx(best)
    assert all(g <= cap + 1e-6 for g in sol.gains)


@pytest.mark.parametrize("seed", range(10))
def test_dominated_candidates_are_within_a_kept_one(seed: int) -> None:
    from emgis.locate.pairs import _dominated

    times, _, _ = nested_instance(seed)
    cover = times <= 5.0
    dom = _dominated(cover)
    kept = np.flatnonzero(~dom)
    for j in np.flatnonzero(dom):  # each dropped one's cover lies within a kept one's
        assert any((cover[j] <= cover[k]).all() for k in kept)
    for j, k in itertools.permutations(kept, 2):  # no kept one lies within another
        assert not (cover[j] <= cover[k]).all()
    assert dom.any()  # the instance does have dominated candidates


def test_milp_stopped_keeps_the_better_solution_and_a_bound() -> None:
    """A MILP stopped by its time limit returns no worse than the heuristic, with a bound."""
    rng = np.random.default_rng(3)
    times = rng.uniform(0, 20, (300, 1500))  # random, non-metric: hard for branch and bound
    w = rng.integers(10, 500, 1500).astype(float)
    none = np.full(1500, np.inf)
    heur = max_covering(times, w, none, 3.0, 12, method="heuristic")
    stopped = max_covering(times, w, none, 3.0, 12, time_limit=0.0)
    assert stopped.status == "time limit"
    assert stopped.objective >= heur.objective
    assert stopped.method == ("heuristic" if stopped.objective == heur.objective else "milp")
    assert len(stopped.sites) == 12
    assert covered(times, w, none, 3.0, stopped.sites) == pytest.approx(stopped.objective)
    assert stopped.bound is not None and stopped.bound >= stopped.objective
    assert stopped.gap is not None and 0 <= stopped.gap < 1


def test_cli_site_with_a_time_limit(tiny: Path, tmp_path: Path) -> None:
    """--time-limit 0 stops HiGHS at once; the kept solution still equals the optimum here."""
    import pandas as pd

    from emgis import load_district
    from emgis.analysis.siting import site_units
    from emgis.cli import main
    from emgis.roads.network import load_network_arrays

    assert main(["-q", "site", str(tiny), "--kind", "micro_fire_station", "--add", "2",
                 "--method", "milp", "--time-limit", "0", "--out", str(tmp_path)]) == 0
    t = pd.read_csv(tmp_path / "siting_micro_fire_station.csv")
    d = load_district(tiny)
    exact = site_units(d, load_network_arrays(d)[0], "micro_fire_station", add=2)
    assert t["newly_covered_population"].sum() == exact.solution.objective
    # the heuristic's cover reaches the LP bound, which proves it optimal
    assert set(t["status"]) == {"optimal"} and set(t["gap_to_bound"]) == {0.0}
    assert set(t["method"]) == {"heuristic"}


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_p_median_heuristic_and_its_bound_against_brute_force(seed: int, p: int) -> None:
    """Heuristic total >= the optimum >= its Lagrangian bound (brute force over all sets)."""
    times, w, base = instance(seed, n_c=8, n_v=14)
    reach = np.isfinite(base) | np.isfinite(times).any(axis=0)

    def total(s: tuple[int, ...]) -> float:  # person-minutes; inf if a reachable one is not
        t = served_times(times, base, s)
        return float(w[reach] @ t[reach])

    best = min(total(s) for s in itertools.combinations(range(times.shape[0]), p))
    he = p_median(times, w, base, p, method="heuristic")
    assert len(he.sites) <= p and he.method == "heuristic"
    assert he.bound is not None
    assert he.bound - 1e-6 <= best <= he.objective + 1e-6
    assert he.gap is not None and he.gap < 0.1


def test_p_median_heuristic_on_a_medium_instance_against_the_milp() -> None:
    rng = np.random.default_rng(5)
    cand = rng.uniform(0, 30, (60, 2))
    vil = rng.uniform(0, 30, (200, 2))
    times = np.hypot(*(cand[:, None, :] - vil[None, :, :]).transpose(2, 0, 1)) * 1.3
    w = rng.integers(10, 900, 200).astype(float)
    base = np.full(200, np.inf)
    base[:50] = rng.uniform(1, 10, 50)
    exact = p_median(times, w, base, 5)
    he = p_median(times, w, base, 5, method="heuristic")
    assert exact.status == "optimal"
    assert he.bound is not None and he.bound <= exact.objective + 1e-6
    assert he.objective >= exact.objective - 1e-6
    assert he.objective <= 1.05 * exact.objective  # local search lands close


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"model": "p_center", "method": "heuristic"}, "p_center has no heuristic"),
    ({"model": "max_covering", "method": "heuristic", "cover_all": True}, "set covering"),
    ({"model": "capacitated_covering"}, "capacity"),
    ({"model": "capacitated_covering", "capacity": 0}, "greater than 0"),
    ({"model": "p_middle"}, "expected one of"),
    ({"model": "max_covering", "method": "greedy"}, "expected auto, milp or heuristic"),
    ({"model": "max_covering", "add": 0}, "add = 0: expected the number of new sites"),
    ({"model": "p_median", "add": -1}, "add = -1: expected the number of new sites"),
    ({"model": "max_covering", "add": 2.5}, "a whole number >= 1"),
])
def test_bad_siting_requests_are_named(kwargs: dict[str, object], words: str) -> None:
    from emgis import SitingError
    from emgis.analysis.siting import check_request

    model = str(kwargs.pop("model"))
    with pytest.raises(SitingError, match=words):
        check_request(model, **kwargs)  # type: ignore[arg-type]


def test_cli_site_refuses_a_heuristic_it_has_not(tiny: Path, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:
    from emgis.cli import main

    assert main(["site", str(tiny), "--kind", "微型消防站", "--model", "p_center",
                 "--method", "heuristic"]) == 2
    assert "p_center has no heuristic" in capsys.readouterr().err


def test_siting_map_shows_ranked_proposals_and_villages(tiny: Path, tmp_path: Path) -> None:
    """siting_<kind>.html in Chromium (no network): one numbered marker per proposal, the
    existing units and candidates as what-if markers, a circle per village, coloured covered
    where the proposals cover it (the clicks: tests/test_whatif.py).
    (Input text in this map: tests/test_maps.py::test_input_text_is_inert_in_every_map.)"""
    import re

    from emgis.run.jobs import siting_job
    from tests.conftest import open_plan, render_dom, write_with

    plan = open_plan(tiny)
    d = plan.district
    r, files = write_with(siting_job, plan, tmp_path, "micro_fire_station", add=2)
    page = tmp_path / "siting_micro_fire_station.html"
    assert page in files
    dom = render_dom(page, tmp_path)
    marks = re.findall(r'class="[^"]*emgis-proposal[^"]*"[^>]*>(.*?)</div>', dom, flags=re.S)
    assert len(marks) == len(r.proposals) >= 1
    ranks = [re.sub(r"<[^>]+>", "", m).strip() for m in marks]
    assert sorted(ranks) == [str(k) for k in range(1, len(r.proposals) + 1)]
    existing = d.teams[d.teams["kind"] == "micro_fire_station"]
    # the what-if layer: a marker per existing unit and per candidate, a circle per village
    assert len(re.findall(r'class="[^"]*emgis-unit-wi ', dom)) == len(existing)
    assert len(re.findall(r'class="[^"]*emgis-cand ', dom)) >= len(r.proposals)
    circles = re.findall(r'<path[^>]*class="[^"]*emgis-wi-village[^"]*"[^>]*>', dom)
    assert len(circles) == len(d.villages)
    new = int(r.villages["newly_covered"].sum())
    assert new >= 1
    covered = int((r.villages["newly_covered"] | r.villages["covered_before"]).sum())
    assert sum('fill="#1a9850"' in c for c in circles) == covered  # covered with proposals
    assert "© OpenStreetMap contributors" in dom


def test_siting_files_are_the_same_on_every_run(tmp_path: Path) -> None:
    """On the demo (solves take milliseconds that differ from run to run, as they did in the
    CSV once), every file of two siting runs is byte-identical."""
    import hashlib

    from emgis.run.jobs import siting_job
    from tests.conftest import REPO, open_plan, write_with

    digests = []
    for run in ("a", "b"):
        plan = open_plan(REPO / "data" / "demo", use_cache=True)
        _, files = write_with(siting_job, plan, tmp_path / run, "stockpile", add=2,
                              model="p_median")
        digests.append({f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files})
    assert digests[0] == digests[1] and len(digests[0]) == 5


@pytest.mark.parametrize("seed", range(8))
def test_one_site_by_enumeration_is_the_brute_force_optimum(seed: int) -> None:
    times, w, base = instance(seed, n_c=9, n_v=15)
    mc = max_covering(times, w, base, 4.0, 1, method="auto")
    best = max(covered(times, w, base, 4.0, (j,)) for j in range(times.shape[0]))
    assert mc.method == "enumeration" and mc.status == "optimal"
    assert mc.objective == pytest.approx(best)
    reach = np.isfinite(base) | np.isfinite(times).any(axis=0)
    pm = p_median(times, w, base, 1, method="auto")
    milp = p_median(times, w, base, 1, method="milp")
    assert pm.method == "enumeration" and pm.status == "optimal"
    t_pm = served_times(times, base, pm.sites)[reach]
    t_milp = served_times(times, base, milp.sites)[reach]
    big = 1e6  # unreached villages weigh most, as in the model
    assert float(w[reach] @ np.where(np.isfinite(t_pm), t_pm, big)) == pytest.approx(
        float(w[reach] @ np.where(np.isfinite(t_milp), t_milp, big)))


@pytest.mark.parametrize(("kind", "model", "add"), [
    ("micro_fire_station", "max_covering", 3), ("stockpile", "p_median", 2),
    ("fire_station", "p_center", 1), ("shelter_emergency", "max_covering", 2)])
def test_sparse_candidate_times_give_the_dense_answer(kind: str, model: str, add: int) -> None:
    """On the demo: the candidate x village pairs of the bounded searches lead to the same
    proposals as the full dense matrix (scipy, every pair)."""
    from emgis import load_district
    from emgis.analysis.coverage import compute_coverage
    from emgis.analysis.siting import candidate_sites, candidate_times, site_units
    from emgis.inputs.kinds import mode_of, target_of, towards_unit
    from emgis.locate.pairs import Pairs
    from emgis.roads.engine import Engine
    from emgis.roads.network import load_network_arrays
    from emgis.roads.routing import times_from
    from tests.conftest import REPO

    d = load_district(REPO / "data" / "demo")
    eng = Engine.for_district(d, load_network_arrays(d)[0])
    target = target_of(kind, d.settings)
    turnout = 0.0 if towards_unit(kind) else float(d.settings.turnout[kind].value)
    cand, _ = candidate_sites(d, kind)
    cloc = cand["loc"].to_numpy()
    base = compute_coverage(d, eng, kinds=(kind,)).table["nearest_min"].to_numpy(dtype=float)
    base = np.where(np.isnan(base), np.inf, base)
    rg = eng.graph(mode_of(kind, d.settings), reverse=towards_unit(kind))
    dense = times_from(rg, cloc, offsets=np.full(len(cloc), turnout), targets=eng.village_loc)
    covering = model.endswith("covering")
    sparse = candidate_times(eng, kind, cloc, base, target=target, turnout=turnout,
                             covering=covering)
    full = Pairs.of(dense)
    keep = full.t <= target + 1e-9 if covering else full.t < base[full.col] - 1e-12
    want = {(int(a), int(b)): float(t) for a, b, t in zip(full.row[keep], full.col[keep],
                                                          full.t[keep], strict=True)}
    got = {(int(a), int(b)): float(t) for a, b, t in zip(sparse.row, sparse.col, sparse.t,
                                                         strict=True)}
    assert set(got) == set(want) and len(got) > 0
    assert all(abs(got[k] - want[k]) < 1e-9 for k in got)
    r = site_units(d, eng, kind, add=add, model=model)
    assert len(r.proposals) >= 1
