"""Budgeted covering (emgis.locate.budget): exact against brute force, the heuristic against
the optimum and its bound, equal costs against max covering, weights and costs as a planner
expects, bad input refused."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from emgis.locate.budget import BudgetKind, BudgetSolution, budget_covering
from emgis.locate.covering import max_covering
from emgis.locate.pairs import Pairs
from emgis.texts import Msg, texts
from tests.conftest import catalogue_fields, english_words

ZH = texts("zh")

TOL = 1e-6


def _kind(name: str, times: Any, weights: Any, base: Any, target: float, costs: Any,
          weight: float = 1.0) -> BudgetKind:
    return BudgetKind(name, np.asarray(times, dtype=float) if not isinstance(times, Pairs)
                      else times, np.asarray(weights, dtype=float),
                      np.asarray(base, dtype=float), target, np.asarray(costs, dtype=float),
                      weight)


def _random_kind(rng: np.random.Generator, name: str, n_c: int, n_v: int) -> BudgetKind:
    t = rng.uniform(0, 30, (n_c, n_v))
    t[rng.random((n_c, n_v)) < 0.2] = np.inf
    base = rng.uniform(5, 40, n_v)
    base[rng.random(n_v) < 0.3] = np.inf
    w = rng.integers(0, 500, n_v).astype(float)
    w[rng.random(n_v) < 0.1] = 0.0
    costs = np.round(rng.uniform(1, 10, n_c) * 2) / 2  # some equal
    costs[rng.random(n_c) < 0.1] = 0.0  # a building already owned
    weight = float(rng.choice([1.0, 0.5, 2.0, 3.0]))
    return _kind(name, t, w, base, 15.0, costs, weight)


def _value(kinds: list[BudgetKind], plan: dict[str, list[int]]) -> tuple[float, float]:
    """Weighted persons newly covered and cost of a plan, from the dense minutes."""
    obj = cost = 0.0
    for k in kinds:
        sites = plan.get(k.name, [])
        t = Pairs.of(k.times).dense()
        reach = (t[sites] <= k.target).any(axis=0) if sites else np.zeros(len(k.weights), bool)
        new = np.asarray(reach) & ~(k.base <= k.target)
        obj += k.weight * float(k.weights[new].sum())
        cost += float(np.asarray(k.costs)[sites].sum())
    return obj, cost


def _brute(kinds: list[BudgetKind], budget: float) -> float:
    """The optimum by enumerating every affordable subset of all candidates."""
    cands = [(k.name, j) for k in kinds for j in range(len(k.costs))]
    best = 0.0
    for r in range(len(cands) + 1):
        for sub in itertools.combinations(cands, r):
            plan: dict[str, list[int]] = {}
            for name, j in sub:
                plan.setdefault(name, []).append(j)
            obj, cost = _value(kinds, plan)
            if cost <= budget + 1e-9 * max(1.0, budget):
                best = max(best, obj)
    return best


def _plan(sol: BudgetSolution) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for s in sol.chosen:
        out.setdefault(s.kind, []).append(s.candidate)
    return out


def _consistent(kinds: list[BudgetKind], sol: BudgetSolution, budget: float) -> None:
    """What a solution says about itself holds."""
    obj, cost = _value(kinds, _plan(sol))
    assert sol.objective == pytest.approx(obj, abs=TOL)
    assert sol.cost == pytest.approx(cost, abs=TOL)
    assert sol.cost <= budget + 1e-9 * max(1.0, budget)
    assert sum(s.weighted for s in sol.chosen) == pytest.approx(obj, abs=TOL)
    weight = {k.name: k.weight for k in kinds}
    assert sum(weight[n] * p for n, p in sol.persons.items()) == pytest.approx(obj, abs=TOL)
    gains = [s.weighted for s in sol.chosen]
    assert all(g > 0 for g in gains)
    assert gains == sorted(gains, reverse=True)  # marginal-gain order
    assert sol.bound >= sol.objective - TOL
    assert 0.0 <= sol.gap <= 1.0


def _instances(n: int, seed: int = 7) -> list[tuple[list[BudgetKind], float]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        n_kinds = 1 + i % 2
        kinds = [_random_kind(rng, f"k{m}", int(rng.integers(1, 9 if n_kinds == 1 else 5)), 12)
                 for m in range(n_kinds)]
        total = float(sum(k.costs.sum() for k in kinds))
        budget = float(np.round(rng.uniform(0, total), 1)) if total > 0 else 0.0
        out.append((kinds, budget))
    return out


SMALL = _instances(120)


def test_milp_equals_brute_force_and_heuristic_within_optimum_and_bound() -> None:
    for kinds, budget in SMALL:
        opt = _brute(kinds, budget)
        exact = budget_covering(kinds, budget, method="milp")
        _consistent(kinds, exact, budget)
        assert exact.objective == pytest.approx(opt, rel=1e-4, abs=TOL), (kinds, budget)
        assert exact.method == "milp" and exact.status == "optimal"
        assert exact.bound >= opt - TOL
        heur = budget_covering(kinds, budget, method="heuristic")
        _consistent(kinds, heur, budget)
        assert heur.method == "heuristic"
        assert heur.objective <= opt + TOL <= heur.bound + 2 * TOL
        assert heur.status in ("optimal", "feasible")
        if heur.status == "optimal":
            assert heur.objective == pytest.approx(opt, abs=TOL)


def test_auto_takes_the_milp_when_small_and_pairs_equal_dense() -> None:
    kinds, budget = SMALL[3]
    sol = budget_covering(kinds, budget)
    assert sol.method == "milp"
    sparse = [BudgetKind(k.name, Pairs.of(k.times), k.weights, k.base, k.target, k.costs,
                         k.weight) for k in kinds]
    again = budget_covering(sparse, budget)
    assert again.objective == pytest.approx(sol.objective)
    assert _plan(again) == _plan(sol)


def test_auto_takes_the_heuristic_beyond_auto_milp_pairs(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    import emgis.locate.pairs

    kinds, budget = SMALL[5]
    monkeypatch.setattr(emgis.locate.pairs, "AUTO_MILP_PAIRS", 3)  # read by _auto
    sol = budget_covering(kinds, budget)
    assert sol.method == "heuristic"
    assert sol.objective <= _brute(kinds, budget) + TOL <= sol.bound + 2 * TOL


def _medium(seed: int, n_c: int, n_v: int, kinds: int = 1) -> list[BudgetKind]:
    """Candidates and villages scattered over 60 x 60 km, 20 km/h, 15 minutes target: each
    candidate reaches some 2 % of the villages."""
    rng = np.random.default_rng(seed)
    out = []
    for m in range(kinds):
        cxy = rng.uniform(0, 60, (n_c, 2))
        vxy = rng.uniform(0, 60, (n_v, 2))
        t = np.hypot(*(cxy[:, None, :] - vxy[None, :, :]).transpose(2, 0, 1)) * 3.0
        t[t > 20] = np.inf  # beyond the search cutoff
        base = np.full(n_v, np.inf)
        base[rng.random(n_v) < 0.25] = 10.0
        costs = rng.choice([300_000.0, 150_000.0, 50_000.0, 0.0], n_c, p=[.5, .3, .18, .02])
        out.append(_kind(f"kind{m}", Pairs.of(t), rng.integers(50, 3000, n_v), base, 15.0,
                         costs, 1.0 + m))
    return out


@pytest.mark.parametrize(("seed", "kinds"), [(1, 1), (2, 2)])
def test_heuristic_within_optimum_and_bound_on_a_medium_instance(seed: int,
                                                                  kinds: int) -> None:
    ks = _medium(seed, 300 // kinds, 2000, kinds)
    budget = 1_500_000.0  # binding: five new stations' worth, or more reused buildings
    exact = budget_covering(ks, budget, method="milp", time_limit=60)
    assert exact.status == "optimal" and len(exact.chosen) > 10
    _consistent(ks, exact, budget)
    heur = budget_covering(ks, budget, method="heuristic")
    _consistent(ks, heur, budget)
    opt_hi = exact.bound  # the optimum is at most HiGHS's dual bound, at least its plan
    assert heur.objective <= opt_hi + TOL
    assert exact.objective <= heur.bound + TOL
    assert heur.gap < 0.02  # the swaps get close
    assert heur.objective >= 0.98 * exact.objective
    assert budget_covering(ks, budget).method == "milp"  # auto: under AUTO_MILP_PAIRS


def test_time_limited_milp_keeps_a_plan_and_a_proven_bound() -> None:
    ks = _medium(3, 300, 2000)
    budget = 2_000_000.0
    ref = budget_covering(ks, budget, method="milp", time_limit=60)
    quick = budget_covering(ks, budget, method="milp", time_limit=0.05)
    _consistent(ks, quick, budget)
    assert quick.status in ("optimal", "time limit")
    assert quick.objective <= ref.bound + TOL
    assert quick.bound >= ref.objective - TOL


def _mclp_instance(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_c, n_v = int(rng.integers(3, 9)), 12
    t = rng.uniform(0, 30, (n_c, n_v))
    t[rng.random((n_c, n_v)) < 0.3] = np.inf
    base = rng.uniform(5, 40, n_v)
    w = rng.integers(1, 1000, n_v).astype(float)  # distinct sums almost surely
    return t, w, base


def _optimal_site_sets(t: np.ndarray, w: np.ndarray, base: np.ndarray, target: float,
                       k: int) -> tuple[float, set[frozenset[int]]]:
    """The best persons covered by at most k sites, and every smallest set of sites achieving
    it without a site that adds nothing."""
    need = ~(base <= target)
    cov = (t <= target) & need
    best, sets = 0.0, set[frozenset[int]]()
    for r in range(0, k + 1):
        for sub in itertools.combinations(range(len(t)), r):
            v = float(w[cov[list(sub)].any(axis=0)].sum()) if sub else 0.0
            if v > best + 1e-9:
                best, sets = v, set()
            if abs(v - best) <= 1e-9:
                useless = any(float(w[cov[[x for x in sub if x != s]].any(axis=0)].sum()
                                    if r > 1 else 0.0) >= v - 1e-9 for s in sub)
                if not useless:
                    sets.add(frozenset(sub))
    return best, sets


def test_equal_costs_match_max_covering() -> None:
    rng = np.random.default_rng(11)
    unique = 0
    for _ in range(60):
        t, w, base = _mclp_instance(rng)
        k = int(rng.integers(1, 4))
        c = 300_000.0
        kind = _kind("micro_fire_station", t, w, base, 15.0, np.full(len(t), c))
        mc = max_covering(t, w, base, 15.0, k, method="milp")
        for method in ("milp", "heuristic"):
            sol = budget_covering([kind], k * c, method=method)
            assert len(sol.chosen) <= k
            if method == "milp":
                assert sol.objective == pytest.approx(mc.objective)
            else:
                assert sol.objective <= mc.objective + TOL <= sol.bound + 2 * TOL
        best, sets = _optimal_site_sets(t, w, base, 15.0, k)
        assert best == pytest.approx(mc.objective)
        if len(sets) == 1:
            unique += 1
            useful = {s for s, g in zip(mc.sites, mc.gains, strict=True) if g > 0}
            exact = budget_covering([kind], k * c, method="milp")
            assert set(exact.sites("micro_fire_station")) == useful == set(next(iter(sets)))
    assert unique >= 20  # the comparison of sites was made often


def _two_kinds(stock_weight: float, budget: float) -> tuple[list[BudgetKind], float]:
    # fire station candidates: 0 covers village 0 (100 persons), 1 covers village 1 (30)
    fire = _kind("micro_fire_station", [[5, np.inf, np.inf], [np.inf, 5, np.inf]],
                 [100, 30, 0], [np.inf] * 3, 15.0, [100_000, 100_000])
    # stockpile candidate 0 covers villages 1 and 2 (80 persons), village 0 already covered
    stock = _kind("stockpile", [[10, 20, 25]], [500, 30, 50], [5, np.inf, np.inf], 30.0,
                  [100_000], stock_weight)
    return [fire, stock], budget


@pytest.mark.parametrize("method", ["milp", "heuristic"])
@pytest.mark.parametrize(("stock_weight", "budget", "fire", "stock", "objective"), [
    (1.0, 100_000, (0,), (), 100.0),  # 100 fire persons beat 80 stockpile persons
    (2.0, 100_000, (), (0,), 160.0),  # weighted twice, the stockpile's 80 make 160
    (1.0, 200_000, (0,), (0,), 180.0),  # money for two: the two best of different kinds
    (0.0, 300_000, (0, 1), (), 130.0),  # stockpiles not counted: both fire stations
])
def test_weights_of_kinds_change_the_choice(method: str, stock_weight: float, budget: float,
                                            fire: tuple[int, ...], stock: tuple[int, ...],
                                            objective: float) -> None:
    kinds, b = _two_kinds(stock_weight, budget)
    sol = budget_covering(kinds, b, method=method)
    assert sol.sites("micro_fire_station") == fire
    assert sol.sites("stockpile") == stock
    assert sol.objective == pytest.approx(objective)
    assert sol.persons["micro_fire_station"] == pytest.approx(sum((100, 30)[j] for j in fire))
    assert sol.persons["stockpile"] == pytest.approx(80.0 * len(stock))
    assert sol.status == "optimal"


@pytest.mark.parametrize("method", ["milp", "heuristic"])
@pytest.mark.parametrize("reuse_cost", [0.0, 60_000.0])
def test_a_reused_building_is_preferred_when_it_covers_the_same(method: str,
                                                                reuse_cost: float) -> None:
    # 0: new building, 1: reused building covering the same villages, 2: elsewhere
    t = [[5, 5, np.inf], [6, 8, np.inf], [np.inf, np.inf, 5]]
    kind = _kind("township_station", t, [400, 300, 200], [np.inf] * 3, 15.0,
                 [300_000, reuse_cost, 240_000])
    sol = budget_covering([kind], 300_000, method=method)
    assert sorted(sol.sites("township_station")) == [1, 2]  # the reuse leaves room for 2
    assert sol.cost == pytest.approx(reuse_cost + 240_000)
    assert sol.objective == pytest.approx(900.0)
    alone = budget_covering([kind], 250_000, method=method)  # not both 1 and 2 if it costs
    assert alone.sites("township_station")[0] == 1
    assert alone.cost == pytest.approx(reuse_cost + (240_000 if reuse_cost == 0 else 0))


def test_free_candidates_are_taken_with_no_budget_and_nothing_is_said_when_unaffordable(
) -> None:
    t = [[5, np.inf], [np.inf, 5]]
    kind = _kind("stockpile", t, [100, 50], [np.inf, np.inf], 15.0, [0.0, 80_000])
    sol = budget_covering([kind], 0.0)
    assert sol.sites("stockpile") == (0,)
    assert sol.cost == 0.0 and sol.objective == 100.0 and sol.note == ""
    poor = _kind("stockpile", t, [100, 50], [np.inf, np.inf], 15.0, [300_000, 80_000])
    empty = budget_covering([poor], 50_000)
    assert empty.chosen == () and empty.objective == 0.0 and empty.cost == 0.0
    assert empty.note == Msg("budget_below_cost", budget=50_000.0, cheapest=80_000.0)
    assert empty.note == ("the budget (50,000 yuan) is below every candidate's cost (the "
                          "cheapest costs 80,000 yuan): nothing can be built")
    assert empty.note.say(ZH) == ("预算（50,000 元）低于每个候选点的费用（最便宜的需 80,000 元）："  # type: ignore[attr-defined]
                                  "无法建设任何站点")
    assert empty.status == "optimal" and empty.gap == 0.0
    covered = _kind("stockpile", t, [100, 50], [1.0, 1.0], 15.0, [10.0, 10.0])
    nothing = budget_covering([covered], 1e6)
    assert nothing.chosen == () and nothing.note == Msg("budget_covers_none")
    assert "covers anyone" in nothing.note
    unlimited = budget_covering([poor], float("inf"))
    assert unlimited.objective == 150.0


def _ok(**change: Any) -> tuple[list[BudgetKind], float, str]:
    args: dict[str, Any] = {"name": "micro_fire_station", "times": np.array([[5.0, 9.0]] * 3),
                            "weights": np.array([10.0, 20.0]), "base": np.full(2, np.inf),
                            "target": 15.0, "costs": np.array([1.0, 2.0, 3.0]), "weight": 1.0}
    budget = change.pop("budget", 5.0)
    method = change.pop("method", "auto")
    kinds = change.pop("kinds", None)
    args.update(change)
    return (kinds if kinds is not None else [BudgetKind(**args)]), budget, method


BAD_INPUT: list[tuple[dict[str, Any], str, str]] = [
    ({"costs": np.array([1.0, 2.0, np.nan])}, "kind 'micro_fire_station': candidate 2 costs nan",
     "budget_cost"),
    ({"costs": np.array([1.0, -5.0, -1.0])}, "candidate 1 costs -5.0 (and 1 more)",
     "budget_costs"),
    ({"costs": np.array([np.inf, 2.0, 3.0])}, "'micro_fire_station': candidate 0 costs inf",
     "budget_cost"),
    ({"costs": np.array([1.0, 2.0])}, "3 candidates x 2 villages, but there are 2 costs",
     "budget_sizes"),
    ({"weights": np.array([10.0, -1.0])}, "village 1 has -1.0 persons", "budget_persons"),
    ({"weight": float("nan")}, "weight nan", "budget_weight"),
    ({"target": float("nan")}, "target nan", "budget_target"),
    ({"budget": -1.0}, "budget -1.0", "budget_amount"),
    ({"budget": np.float64(-1.0)}, "budget -1.0: expected yuan >= 0", "budget_amount"),
    ({"budget": float("nan")}, "budget nan", "budget_amount"),
    ({"method": "exact"}, "method 'exact'", "site_method"),
    ({"kinds": []}, "at least one kind", "budget_no_kind"),
]


@pytest.mark.parametrize(("change", "message", "key"), BAD_INPUT)
def test_bad_input_is_refused(change: dict[str, Any], message: str, key: str) -> None:
    kinds, budget, method = _ok(**change)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        budget_covering(kinds, budget, method=method)
    said = info.value.args[0]
    assert isinstance(said, Msg) and said.key == key and str(info.value) == said


def test_a_kind_given_twice_is_refused() -> None:
    kinds, budget, _ = _ok()
    with pytest.raises(ValueError, match="given more than once") as info:
        budget_covering(kinds * 2, budget)
    assert info.value.args[0] == Msg("budget_kind_twice", kind="micro_fire_station")
    assert str(info.value) == ("kind 'micro_fire_station' given more than once: one entry per "
                               "kind")


def test_time_limit_is_refused() -> None:
    kinds, budget, _ = _ok()
    with pytest.raises(ValueError) as info:
        budget_covering(kinds, budget, time_limit=0.0)
    assert info.value.args[0] == Msg("budget_time_limit", v=0.0)
    assert str(info.value) == "time limit 0.0: expected seconds > 0"


# --- the messages in the catalogues -------------------------------------------------------------

#: ASCII words a Chinese budget message may hold: the methods as written (method "auto" ...);
#: the kinds' ids are quoted.
ALLOWED = {"auto", "milp", "heuristic"}






def test_messages_have_the_same_fields_in_both_languages() -> None:
    en, zh = texts("en").section("msg"), ZH.section("msg")
    keys = [k for k in en if k.startswith("budget_")]
    assert len(keys) >= 15
    for key in keys:
        assert catalogue_fields(en[key]) == catalogue_fields(zh[key]), key
        said = ZH.fmt(f"msg.{key}", **{f: 7 for f in catalogue_fields(zh[key])})
        assert english_words(said, ALLOWED) == set(), (key, said)


def test_errors_and_notes_in_chinese() -> None:
    """Every refusal of bad input with a finite value, and every note, said in Chinese: no
    English word but the kinds' ids (quoted). (A NaN or inf is shown as Python writes it.)"""
    said: list[str] = []
    for change, _, _ in BAD_INPUT:
        if any(isinstance(v, float) and not np.isfinite(v) for v in change.values()) or any(
                isinstance(v, np.ndarray) and not np.isfinite(v).all() for v in change.values()):
            continue
        kinds, budget, method = _ok(**change)
        with pytest.raises(ValueError) as info:
            budget_covering(kinds, budget, method=method)
        said.append(info.value.args[0].say(ZH))
    kinds, budget, _ = _ok()
    call: Callable[[], object]
    for call in (lambda: budget_covering(kinds * 2, budget),
                 lambda: budget_covering(kinds, budget, time_limit=-1.0)):
        with pytest.raises(ValueError) as info:
            call()
        said.append(info.value.args[0].say(ZH))
    assert len(said) == 9
    t = [[5, np.inf], [np.inf, 5]]
    poor = _kind("stockpile", t, [100, 50], [np.inf, np.inf], 15.0, [300_000, 80_000])
    covered = _kind("stockpile", t, [100, 50], [1.0, 1.0], 15.0, [10.0, 10.0])
    none = _kind("stockpile", np.zeros((0, 2)), [100, 50], [np.inf, np.inf], 15.0, [])
    notes = [budget_covering([poor], 50_000).note, budget_covering([covered], 1e6).note,
             budget_covering([none], 1e6).note]
    assert [n.key for n in notes] == [  # type: ignore[attr-defined]
        "budget_below_cost", "budget_covers_none", "budget_no_candidates"]
    said += [n.say(ZH) for n in notes]  # type: ignore[attr-defined]
    said += [Msg("budget_over_tolerance").say(ZH), Msg("budget_stopped", message="x").say(ZH)]
    for text in said:
        assert english_words(text, ALLOWED) == set(), text
