"""Maximal force covering (emgis.locate.force, issue 29): a hand-made case whose optimum can be
seen, the MILP against brute force over every p-subset, the heuristic against the optimum and
its bound, and bad arguments refused with messages naming them, in both languages."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from emgis._errors import SitingError
from emgis.locate.force import (
    check_force_options,
    force_after,
    force_model,
    force_value,
    max_force_covering,
)
from emgis.locate.pairs import Pairs
from emgis.texts import Msg, texts
from tests.conftest import catalogue_fields, english_words

INF = np.inf

# Villages A, B, C (100, 300 and 50 persons); 20, 0 and 30 persons already within 20 min;
# 30 required; new teams of 15: A needs 1 new site, B 2, C none (meets already).
TIMES = np.array([[5.0, INF, 8.0],     # 0: reaches A (and C within the 10-min target)
                  [INF, 18.0, INF],    # 1: reaches B only
                  [12.0, 15.0, INF]])  # 2: reaches A and B
W = np.array([100.0, 300.0, 50.0])
E = np.array([20.0, 0.0, 30.0])
R = np.array([30.0, 30.0, 30.0])
BASE = np.array([5.0, INF, INF])  # first arrival: A within the 10-min target already


def _solve(p: int, **kw: Any) -> Any:
    opts: dict[str, Any] = {"within": 20.0, "headcount": 15.0, "base": BASE, "target": 10.0}
    opts.update(kw)
    return max_force_covering(TIMES, W, E, R, p, **opts)


def test_hand_made_optimum() -> None:
    """Two sites: 1 and 2 together bring B to 30 persons (2 x 15) and 2 brings A: 300 + 100,
    plus C's 50 that meet already. No single site does anything for B."""
    s = _solve(2, method="milp")
    assert sorted(s.sites) == [1, 2]
    assert s.objective == pytest.approx(450.0)
    assert s.sites == (2, 1)  # 2 adds A alone; 1 then completes B
    assert s.gains == pytest.approx((100.0, 300.0))
    assert s.model == "max_force_covering" and s.status == "optimal"
    one = _solve(1)
    assert one.objective == pytest.approx(150.0) and one.sites in ((0,), (2,))


def test_first_weight_counts_first_arrival() -> None:
    """Site 0 newly brings C within the 10-min target: worth 50 x first_weight. At weight 10
    it beats completing B; at 0.5 it does not."""
    s = _solve(2, first_weight=10.0)
    assert 0 in s.sites
    assert s.objective == pytest.approx(50 + 100 + 10 * 50)
    s = _solve(2, first_weight=0.5)
    assert sorted(s.sites) == [1, 2] and s.objective == pytest.approx(450.0)
    m = force_model(TIMES, W, E, R, within=20.0, headcount=15.0, first_weight=0.5, base=BASE,
                    target=10.0)
    assert force_value(m, [0, 1]) == pytest.approx(50 + 100 + 0.5 * 50)


def test_need_and_impossible() -> None:
    m = force_model(TIMES, W, E, [30.0, 61.0, 0.0], within=20.0, headcount=15.0)
    assert m.need.tolist() == [1, 5, 0]
    assert m.impossible.tolist() == [False, True, False]  # B: 5 sites, 2 candidates reach it
    assert m.constant == 50.0
    # exactly at the minimum: 20 + 10 = 30 meets with a team of 10 (k = 1, not 2)
    assert force_model(TIMES, W, E, R, within=20.0, headcount=10.0).need.tolist() == [1, 3, 0]


def test_force_after() -> None:
    assert force_after(TIMES, E, [1, 2], within=20.0, headcount=15.0).tolist() == [35, 30, 30]
    assert force_after(TIMES, E, [], within=20.0, headcount=15.0).tolist() == [20, 0, 30]
    assert force_after(TIMES, E, [2], within=12.0, headcount=15.0).tolist() == [35, 0, 30]


def test_time_limit_zero_keeps_the_better_plan() -> None:
    """HiGHS stopped at once: the heuristic's plan is kept if better, with a proven bound."""
    s = _solve(2, method="milp", time_limit=0.0)
    assert s.objective == pytest.approx(450.0)
    assert s.bound is None or s.bound >= 450.0 - 1e-6


def test_nothing_to_gain() -> None:
    s = _solve(2, within=1.0)  # no candidate within a minute
    assert s.sites == () and s.objective == pytest.approx(50.0)


def _instance(rng: np.random.Generator) -> tuple[Any, ...]:
    n_c, n_v = int(rng.integers(2, 8)), int(rng.integers(2, 9))
    t = rng.uniform(0, 40, (n_c, n_v))
    t[rng.random((n_c, n_v)) < 0.25] = INF
    w = rng.integers(0, 600, n_v).astype(float)
    e = rng.choice([0.0, 5.0, 12.0, 20.0, 30.0, 45.0], n_v)
    r = np.full(n_v, 30.0)
    h = float(rng.choice([6.0, 10.0, 15.0, 30.0]))
    base = rng.uniform(3, 40, n_v)
    base[rng.random(n_v) < 0.3] = INF
    fw = float(rng.choice([0.0, 0.0, 0.3, 1.0, 4.0]))
    p = int(rng.integers(1, n_c + 1))
    return t, w, e, r, h, base, fw, p


@pytest.mark.parametrize("seed", range(40))
def test_milp_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t, w, e, r, h, base, fw, p = _instance(rng)
    kw: dict[str, Any] = {"within": 20.0, "headcount": h, "first_weight": fw, "base": base,
                          "target": 12.0}
    m = force_model(t, w, e, r, **kw)
    best = max(force_value(m, list(c)) for c in itertools.combinations(range(len(t)), p))
    s = max_force_covering(t, w, e, r, p, method="milp", **kw)
    assert s.objective == pytest.approx(best)
    assert force_value(m, list(s.sites)) == pytest.approx(s.objective)
    assert len(s.sites) <= p
    assert m.constant + sum(s.gains) == pytest.approx(s.objective)
    # sparse pairs give the same optimum
    assert max_force_covering(Pairs.of(t), w, e, r, p, method="milp", **kw).objective == \
        pytest.approx(best)
    # the heuristic never beats the optimum, its bound never falls below it
    hs = max_force_covering(t, w, e, r, p, method="heuristic", **kw)
    assert hs.objective <= best + 1e-6
    if hs.bound is None:  # nothing a site can gain: proven at once
        assert hs.status == "optimal" and hs.objective == pytest.approx(best)
    else:
        assert hs.bound >= best - 1e-6
    assert force_value(m, list(hs.sites)) == pytest.approx(hs.objective)


def test_every_site_listed_is_needed() -> None:
    """A site is listed only if the plan loses something without it."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        t, w, e, r, h, base, fw, p = _instance(rng)
        kw: dict[str, Any] = {"within": 20.0, "headcount": h, "first_weight": fw,
                              "base": base, "target": 12.0}
        m = force_model(t, w, e, r, **kw)
        s = max_force_covering(t, w, e, r, p, **kw)
        for j in s.sites:
            assert force_value(m, [k for k in s.sites if k != j]) < s.objective - 1e-9


# --- bad arguments ------------------------------------------------------------------------------

BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"p": 0}, "force_add", "add = 0"),
    ({"p": 1.5}, "force_add", "add = 1.5"),
    ({"p": True}, "force_add", "add = True"),
    ({"headcount": 0.0}, "force_positive", "headcount = 0.0: expected a number > 0"),
    ({"headcount": -3.0}, "force_positive", "headcount = -3.0"),
    ({"headcount": float("nan")}, "force_positive", "headcount = nan"),
    ({"first_weight": -1.0}, "force_nonnegative", "first_weight = -1.0: expected a number >= 0"),
    ({"within": -5.0}, "force_nonnegative", "within = -5.0"),
    ({"target": float("inf")}, "force_nonnegative", "target = inf"),
    ({"method": "exact"}, "site_method", "method 'exact': expected auto, milp or heuristic"),
    ({"time_limit": -1.0}, "force_nonnegative", "time_limit = -1.0: expected a number >= 0"),
    ({"weights": [1.0, 2.0]}, "force_size",
     "weights has 2 values: expected one per village (3)"),
    ({"existing": [1.0, -2.0, 0.0]}, "force_value", "existing[1] = -2.0: expected a number >= 0"),
    ({"required": [1.0, 2.0, float("nan")]}, "force_value", "required[2] = nan"),
    ({"base": [1.0, -1.0, 0.0]}, "force_value", "base[1] = -1.0"),
]


def _call(change: dict[str, Any]) -> Any:
    kw: dict[str, Any] = {"times": TIMES, "weights": W, "existing": E, "required": R, "p": 1,
                          "within": 20.0, "headcount": 15.0}
    kw.update(change)
    return max_force_covering(kw.pop("times"), kw.pop("weights"), kw.pop("existing"),
                              kw.pop("required"), kw.pop("p"), **kw)


@pytest.mark.parametrize(("change", "key", "text"), BAD)
def test_bad_arguments_are_refused(change: dict[str, Any], key: str, text: str) -> None:
    with pytest.raises(SitingError) as info:
        _call(change)
    assert isinstance(info.value, ValueError)
    assert info.value.args[0].key == key
    assert text in str(info.value)
    name = next(iter(change))
    assert (name if name != "p" else "add") in str(info.value)  # the argument is named


def test_check_force_options_alone() -> None:
    check_force_options(2, headcount=30.0)
    with pytest.raises(SitingError, match="headcount"):
        check_force_options(2, headcount="30")


ZH = texts("zh")


def test_messages_in_both_languages() -> None:
    """Every force message has the same fields in both catalogues; in Chinese no English word
    but the arguments' names, quoted (values shown as Python writes them, the methods as
    written)."""
    en, zh = texts("en").section("msg"), ZH.section("msg")
    keys = [k for k in en if k.startswith("force_")]
    assert len(keys) >= 11
    for key in keys:
        assert key in zh, key
        assert catalogue_fields(en[key]) == catalogue_fields(zh[key]), key
        said = ZH.fmt(f"msg.{key}", **{f: 7 for f in catalogue_fields(zh[key])})
        assert english_words(said, set()) == set(), (key, said)
    for change, _, _ in BAD:
        with pytest.raises(SitingError) as info:
            _call(change)
        msg = info.value.args[0]
        assert isinstance(msg, Msg)
        said = msg.say(ZH)
        allowed = {"nan", "inf", "True", "auto", "milp", "heuristic"}
        assert english_words(said, allowed) == set(), said
    for section in ("column", "cli", "model"):
        for key in texts("en").section(section):
            if "force" in key or "sufficient" in key or key == "persons_possible":
                assert key in ZH.section(section), (section, key)
