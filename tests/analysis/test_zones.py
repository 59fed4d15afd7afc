"""Each unit's zone: every reachable village in exactly one, zone figures from its villages,
zone areas that never overlap, drawn on the coverage map."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import shapely

from emgis.analysis.zones import Zones, unit_zones
from emgis.inputs.kinds import mode_of
from emgis.plan import Plan
from emgis.run.jobs import coverage_job
from tests.conftest import open_plan, render_dom, write_with


@pytest.fixture(scope="module")
def demo(demo_plan: Plan) -> tuple[Plan, Zones]:
    """The session's demo plan and its zones."""
    return demo_plan, demo_plan.zones()


def test_every_reachable_village_in_exactly_one_zone(demo: tuple[Plan, Zones]) -> None:
    plan, z = demo
    table = plan.coverage().table
    zones = z.zones
    for kind, k in table.groupby("kind"):
        if kind not in set(zones["kind"]):
            continue
        zk = zones[zones["kind"] == kind]
        reachable = k[k["nearest_id"].notna()]
        # the zones' villages add up to the reachable villages, each counted once
        assert zk["villages"].sum() == len(reachable), kind
        by_unit = reachable.groupby("nearest_id")
        for r in zk.itertuples(index=False):
            mine = by_unit.get_group(r.unit_id) if r.unit_id in by_unit.groups else \
                reachable.iloc[:0]
            assert r.villages == len(mine)
            assert r.population == int(mine["population"].sum())  # persons = its villages'
            if len(mine):
                assert r.longest_min == pytest.approx(float(mine["nearest_min"].max()))
                assert r.villages_over_target == int((mine["status"] != "covered").sum())
        share = zk["population"].sum() / k["population"].sum()
        assert zk["population_share"].sum() == pytest.approx(share, abs=1e-3)


def test_zone_areas_never_overlap(demo: tuple[Plan, Zones]) -> None:
    _, z = demo
    zones = z.zones
    for kind, zk in zones.groupby("kind"):
        geoms = [g for g in zk.geometry if not g.is_empty]
        assert all(g.is_valid for g in geoms)
        for a, b in itertools.combinations(geoms, 2):
            assert a.intersection(b).area < 1.0, kind  # m², edges only
        assert sum(g.area for g in geoms) == pytest.approx(
            shapely.union_all(geoms).area, rel=1e-9)
        assert zk["area_km2"].to_numpy() == pytest.approx(
            np.array([g.area / 1e6 for g in zk.geometry]), abs=1e-3)


def test_a_unit_owns_the_roads_at_its_own_door(demo: tuple[Plan, Zones]) -> None:
    """Each micro fire station's own point lies in its zone or nearer to it than to any
    other station's zone (the roads at its door are reached first by itself)."""
    plan, z = demo
    zones = z.zones[z.zones["kind"] == "micro_fire_station"]
    units = plan.units.set_index("id")
    for r in zones.itertuples(index=False):
        p = units.geometry[r.unit_id]
        own = r.geometry.distance(p)
        others = [g.distance(p) for u, g in zip(zones["unit_id"], zones.geometry,
                                                strict=True) if u != r.unit_id]
        assert own <= min(others) + 1e-6, r.unit_id


def test_balance(demo: tuple[Plan, Zones]) -> None:
    _, z = demo
    for b in z.balance.itertuples(index=False):
        zk = z.zones[z.zones["kind"] == b.kind]
        p = zk["population"].to_numpy(dtype=float)
        assert b.units == len(zk) and b.population_max == int(p.max())
        assert b.population_cv == pytest.approx(p.std() / p.mean(), abs=1e-3)


def test_zones_on_the_map_and_in_the_gpkg(tiny: Path, tmp_path: Path) -> None:
    import pyogrio

    plan = open_plan(tiny)
    write_with(coverage_job, plan, tmp_path / "o")
    page = (tmp_path / "o" / "coverage.html").read_text("utf-8")
    assert "each unit's zone" in page and '"z0"' in page
    layers = {n for n, _ in pyogrio.list_layers(tmp_path / "o" / "coverage.gpkg")}
    assert "zones" in layers
    got = pyogrio.read_dataframe(tmp_path / "o" / "coverage.gpkg", layer="zones")
    assert set(got["unit_id"]) == set(unit_zones(plan.coverage(), settings=plan.district
                                                 .settings).zones["unit_id"])
    # shown on request: switch the zone layer on and it is drawn as polygons
    on = page.replace('"label":"each unit\'s zone","layers":["z0"],"on":false',
                      '"label":"each unit\'s zone","layers":["z0"],"on":true', 1)
    assert on != page
    (tmp_path / "o" / "zones_on.html").write_text(on, "utf-8")
    dom = render_dom(tmp_path / "o" / "zones_on.html", tmp_path)
    assert "#1b9e77" in dom  # the first zone's colour


def test_engine_keeps_only_inside_a_keeping_block(demo_plan: Plan) -> None:
    engine = demo_plan.engine
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    assert engine.kept(("k",), make) is not engine.kept(("k",), make)  # made at each call
    with engine.keeping():
        first = engine.kept(("k",), make)
        with engine.keeping():  # nested: the same
            assert engine.kept(("k",), make) is first
        assert engine.kept(("k",), make) is first  # still the outer block's
    assert engine._kept == {}
    assert len(made) == 3


@pytest.mark.parametrize(("cells", "shared"), [(1.0, True), (1.2, True), (2.0, False)])
def test_zones_and_areas_share_the_points_where_the_cells_are_alike(
        demo_plan: Plan, monkeypatch: pytest.MonkeyPatch, cells: float, shared: bool) -> None:
    """Within a keeping block the zones draw on the service areas' points where their cells
    are at most 1.25 times as wide (the same areas and zones either way); else on their own
    points, a cell apart."""
    from emgis.analysis import coverage as cov
    from emgis.analysis import zones as zmod

    made: list[float] = []
    real = cov._Sampler

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, ea: object, step: float) -> None:
            made.append(step)
            super().__init__(ea, step)

    result = demo_plan.coverage()
    settings = demo_plan.district.settings
    ea = result.edges
    buf = settings.coverage.service_area_buffer_m
    step = cov._grid_cell(ea.vx, ea.vy, buf)
    monkeypatch.setattr(zmod, "_grid_cell", lambda *a, **k: step * cells)
    apart = zmod.unit_zones(result, settings=settings), cov.service_areas(result,
                                                                        settings=settings)
    monkeypatch.setattr(cov, "_Sampler", Counted)
    with result.engine.keeping():
        z = zmod.unit_zones(result, settings=settings)
        a = cov.service_areas(result, settings=settings)
    nets = {id(result.engine.network_of(mode_of(k, settings))) for k in result.kinds}
    assert len(made) == (len(nets) if shared else 2 * len(nets))
    assert all(s == step for s in made) == shared  # else the zones' own, a cell apart
    assert a.geometry.geom_equals(apart[1].geometry).all()
    assert z.zones.drop(columns="geometry").equals(apart[0].zones.drop(columns="geometry"))


@pytest.mark.parametrize("seed", range(6))
def test_per_unit_figures_as_a_frame_per_unit_gives_them(seed: int) -> None:
    """Each unit's villages, persons, villages over target and farthest village from one pass
    over the rows are what a frame of each unit's rows gives (the oracle: the rows picked
    per unit, the first of the most minutes), with ties, unknown minutes and persons, rows
    of no unit and units of no row."""
    import pandas as pd

    from emgis.analysis.zones import _per_unit

    rng = np.random.default_rng(seed)
    n = 60
    uids = np.array([f"U{i}" for i in range(7)], dtype=object)
    nearest = rng.choice(np.r_[uids[:5], ["other", None]], size=n)  # U5, U6: no village
    minutes = rng.choice([3.0, 7.5, 7.5, 12.0, np.nan], size=n)
    people = rng.choice([0.0, 10.0, 250.0, np.nan], size=n)
    k = pd.DataFrame({"village_id": [f"V{i}" for i in range(n)],
                      "village_name": [f"村{i}" for i in range(n)],
                      "nearest_id": nearest, "nearest_min": minutes, "population": people,
                      "status": rng.choice(np.array(["covered", "over_target", None],
                                                    dtype=object), size=n)},
                     index=rng.permutation(n) + 100)  # labels not positions
    got = _per_unit(k, uids)
    for uid, (count, persons, over, far) in zip(uids, got, strict=True):
        mine = k[k["nearest_id"] == uid]
        assert count == len(mine)
        assert persons == int(mine["population"].sum())
        assert over == int((mine["status"] != "covered").sum())
        known = mine[mine["nearest_min"].notna()]
        if not len(known):
            assert far is None
            continue
        first = known[known["nearest_min"] == known["nearest_min"].max()].iloc[0]
        assert far == (float(first["nearest_min"]), first["village_id"], first["village_name"])
