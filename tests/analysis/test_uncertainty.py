"""Uncertainty of the minutes (issue 29): samples of speeds and turnout on scaled routing
graphs, the chance of every village being within target, fragile villages, expected-cover
siting."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emgis
from emgis.analysis.uncertainty import uncertainty
from emgis.roads.classtime import class_times
from emgis.roads.routing import times_from

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny"


def test_zero_spread_gives_todays_statuses(demo_plan: emgis.Plan) -> None:
    cov = demo_plan.coverage().table
    r = uncertainty(demo_plan.district, demo_plan.engine, cov, samples=4, speed_sd=0.0,
                    turnout_share=0.0)
    p = r.table["p_within"].to_numpy()
    assert set(np.unique(p)) <= {0.0, 1.0}
    assert ((p == 1.0) == (cov["status"] == "covered").to_numpy()).all()
    assert not r.table["fragile"].any()
    assert (r.summary["population_expected"] == r.summary["population_covered"]).all()


def test_probabilities_converge(demo_plan: emgis.Plan, capsys: pytest.CaptureFixture[str]
                                ) -> None:
    """The largest change of any village's probability against 1,600 samples shrinks as the
    samples grow (Monte Carlo error ~ 1/sqrt(N))."""
    cov = demo_plan.coverage().table
    ref = uncertainty(demo_plan.district, demo_plan.engine, cov, samples=1600, seed=99)
    rows = []
    for n in (25, 100, 400):
        r = uncertainty(demo_plan.district, demo_plan.engine, cov, samples=n, seed=1)
        d = np.abs(r.table["p_within"].to_numpy() - ref.table["p_within"].to_numpy())
        exp = r.summary["population_expected"].sum()
        rows.append((n, float(d.max()), float(d.mean()), int(exp)))
    with capsys.disabled():
        total = ref.summary["population_expected"].sum()
        print(f"\nreference 1600 samples: expected persons {total} ({ref.seconds:.2f} s)")
        for n, mx, mean, exp in rows:
            print(f"N={n:4d}: max |p - p_ref| {mx:.3f}, mean {mean:.4f}, expected persons {exp}")
    assert rows[0][2] > rows[1][2] > rows[2][2]
    assert rows[-1][1] < 0.15
    assert rows[-1][2] < 0.01


def test_fragile_is_covered_but_unlikely(demo_plan: emgis.Plan) -> None:
    r = demo_plan.uncertainty(samples=50)
    t = r.table
    frag = (t["status"] == "covered") & (t["p_within"] < 0.8)
    assert (t["fragile"] == frag).all()
    assert t["fragile"].any()  # the demo's fire stations have villages near their target
    f = r.fragile()
    assert list(f["population"]) == sorted(f["population"], reverse=True)


def test_a_sample_is_the_network_at_those_speeds(tmp_path: Path) -> None:
    """A scaled graph gives the times of the network rebuilt with [speeds] x factor and
    [network] maxspeed_factor x the posted factor."""
    d = tmp_path / "tiny"
    shutil.copytree(TINY, d, ignore=shutil.ignore_patterns(".emgis-cache"))
    base = emgis.open(d, use_cache=False)
    s = base.district.settings
    ct = class_times(base.engine.graph("drive"), base.network, s)
    factors = {"primary": 1.3, "secondary": 0.7, "tertiary": 0.8, "residential": 1.25,
               "unclassified": 0.6, "posted": 0.9, "offroad": 1.1}
    lines = ["\n[speeds]"]
    for g, f in factors.items():
        if g != "posted":
            lines.append(f"{g} = {s.speed_kph(g) * f!r}")
    lines += ["\n[network]", f"maxspeed_factor = {s.network.maxspeed_factor * factors['posted']!r}"]
    with (d / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    rebuilt = emgis.open(d, use_cache=False)
    e0, e1 = base.engine, rebuilt.engine
    want = times_from(e1.graph("drive"), e1.unit_loc, targets=e1.village_loc)
    got = times_from(ct.scaled(ct.factors(factors)), e0.unit_loc, targets=e0.village_loc)
    assert np.allclose(got, want, atol=1e-6)


def test_expected_cover_siting(demo_plan: emgis.Plan) -> None:
    rr = demo_plan.site_expected("fire_station", add=2, samples=8)
    assert rr.objective == "expected"
    assert len(rr.comparison) == 8
    assert rr.value_robust_plan >= rr.value_baseline_plan - 1e-6
    assert len(rr.robust.proposals) <= 2


def test_calibration_sets_the_ranges(tmp_path: Path) -> None:
    """With dispatch records the samples centre on the fitted speeds and take the residual
    spread."""
    from emgis.analysis.calibration import simulate_calls

    d = tmp_path / "demo"
    shutil.copytree(REPO / "data" / "demo", d, ignore=shutil.ignore_patterns(".emgis-cache"))
    base = emgis.open(d)
    calls = simulate_calls(base.district, base.network, factors={"posted": 0.8},
                           turnout={}, n=300, noise=0.1, seed=2)
    calls.to_csv(d / "calls.csv", index=False, encoding="utf-8-sig")
    with (d / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[layers.calls]\npath = "calls.csv"\n')
    plan = emgis.open(d)
    r = plan.uncertainty(samples=10)
    assert r.ranges.basis == "calibration"
    posted = list(r.groups).index("posted")
    assert r.ranges.centre[posted] == pytest.approx(0.8, rel=0.05)
    assert 0.03 < r.ranges.speed_sd < 0.2  # the 10% noise, seen through the fit


def test_bounds_decide_as_the_searches_would(demo_plan: emgis.Plan,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Villages decided without a search (the nominal route at the sample's speeds within
    target; a lower bound over it) get what a search gives them."""
    from emgis.analysis import uncertainty as mod

    cov = demo_plan.coverage().table
    fast = uncertainty(demo_plan.district, demo_plan.engine, cov, samples=60, seed=5)
    assert fast.searched < 60 * len(fast.kinds)
    monkeypatch.setattr(mod._Bounds, "decide",
                        lambda self, inv, fmax, mult, target: (
                            np.zeros(len(self.first), dtype=bool),
                            np.ones(len(self.first), dtype=bool)))
    slow = uncertainty(demo_plan.district, demo_plan.engine, cov, samples=60, seed=5)
    assert slow.searched == 60 * len(slow.kinds)
    assert (fast.table["p_within"] == slow.table["p_within"]).all()


def test_searches_from_the_units_in_reach_as_from_all(demo_plan: emgis.Plan,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A sample's search starts only from the units that can reach an undecided village in
    the target (Engine.top_speed as the crow flies): the chances are those of searches from
    every unit of the kind, and units were left out."""
    from emgis.analysis import uncertainty as mod
    from emgis.roads.engine import Engine
    from emgis.roads.routing import Search

    sizes: list[int] = []
    real = Search

    def spy(sources: np.ndarray, *args: object) -> object:
        sizes.append(len(sources))
        return real(sources, *args)  # type: ignore[arg-type]  # the search's own fields

    cov = demo_plan.coverage().table
    with monkeypatch.context() as m:
        m.setattr(mod, "Search", spy)
        pruned = uncertainty(demo_plan.district, demo_plan.engine, cov, samples=40, seed=3,
                             speed_sd=0.4, turnout_share=0.5)
        kept = sum(sizes)
        sizes.clear()
        m.setattr(Engine, "top_speed", lambda self: np.inf)
        every = uncertainty(demo_plan.district, demo_plan.engine, cov, samples=40, seed=3,
                            speed_sd=0.4, turnout_share=0.5)
    assert pruned.searched == every.searched > 0
    assert kept < sum(sizes)  # searches left units out
    assert (pruned.table["p_within"] == every.table["p_within"]).all()
    assert ((pruned.table["p_within"] > 0) & (pruned.table["p_within"] < 1)).any()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.3, 3.0), min_size=16, max_size=16), st.integers(0, 15))
def test_scaled_minutes_are_numpys_to_the_bit(demo_plan: emgis.Plan, fs: list[float],
                                              odd: int) -> None:
    """The compiled scaling (:mod:`emgis.roads._scale`) gives the pieces' and the arcs'
    minutes of the sparse product and ``minimum.reduceat`` it replaced, to the last bit (and
    a closed piece, inf, stays inf)."""
    ct = class_times(demo_plan.engine.graph("drive"), demo_plan.network,
                     demo_plan.district.settings)
    f = np.asarray(fs[:ct.n_groups])
    f[odd % ct.n_groups] = 1.0  # a factor of one exactly among the others
    inv = 1.0 / f
    pw = np.asarray(ct.piece @ inv, dtype=float).ravel()
    has = (ct.arc_hi > ct.arc_lo) & ~ct.link
    want = np.zeros(len(ct.arc_lo))
    want[has] = np.minimum.reduceat(pw[ct.order], ct.arc_lo[has])
    g = ct.scaled(f)
    assert np.array_equal(g.weights, want)
    assert g.piece_w is not None and ct.graph.piece_w is not None
    assert np.array_equal(g.piece_w, np.where(np.isfinite(ct.graph.piece_w), pw, np.inf))
    assert (np.diff(ct.arc_lo[has]) > 0).all()  # each arc's pieces run to the next arc's


def test_searches_toward_the_asked_villages_as_everywhere(demo_plan: emgis.Plan,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Each search leaves out the nodes from which no village its kind asks about is within
    the target (the nominal minutes on to them over the sample's largest factor): the
    chances are those of searches over every node, and fewer nodes were labelled."""
    from collections import defaultdict

    from emgis.analysis import uncertainty as mod
    from emgis.roads import routing

    labelled: list[int] = []
    real = routing.first_dijkstra  # type: ignore[attr-defined]  # the module's own import

    def spy(*args: object) -> np.ndarray:
        d = real(*args)
        labelled.append(int(np.isfinite(d).sum()))
        return d  # type: ignore[no-any-return]

    cov = demo_plan.coverage().table
    with monkeypatch.context() as m:
        m.setattr(routing, "first_dijkstra", spy)
        toward = uncertainty(demo_plan.district, demo_plan.engine, cov, samples=40, seed=4,
                             speed_sd=0.3)
        pruned = sum(labelled)
        labelled.clear()
        m.setattr(mod, "_rest", lambda *a: defaultdict(lambda: None))
        every = uncertainty(demo_plan.district, demo_plan.engine, cov, samples=40, seed=4,
                            speed_sd=0.3)
    assert toward.searched == every.searched > 0
    assert pruned < sum(labelled)
    assert (toward.table["p_within"] == every.table["p_within"]).all()
    assert ((toward.table["p_within"] > 0) & (toward.table["p_within"] < 1)).any()
