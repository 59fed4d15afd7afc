"""The travel-time engine against a brute-force networkx Dijkstra, and its invariants."""

from __future__ import annotations

import dataclasses
import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from emgis.roads.routing import (
    Search,
    build_routing_graph,
    nearest_min_many,
    nearest_two,
    nearest_two_many,
    times_from,
)


@st.composite
def road_graphs(draw: st.DrawFn) -> nx.MultiDiGraph:
    """Random directed road graphs: some two-way roads, some one-way, travel times in s."""
    n = draw(st.integers(3, 14))
    G = nx.MultiDiGraph(crs="EPSG:32631")
    for i in range(n):
        G.add_node(i, x=float(i), y=0.0)
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                          min_size=n, max_size=3 * n))
    pairs = [(0, 1), *pairs]  # at least one road
    for u, v in pairs:
        if u == v:
            continue
        secs = draw(st.integers(1, 600))
        G.add_edge(u, v, travel_time=float(secs), length=float(secs) * 10)
        if draw(st.booleans()):  # two-way road: the twin has the same length
            G.add_edge(v, u, travel_time=float(draw(st.integers(1, 600))),
                       length=float(secs) * 10)
    return G


def at_nodes(G: nx.MultiDiGraph, nodes: list[int]) -> pd.DataFrame:
    """Snaps placing each location exactly on a node (on one of its edges, at that end)."""
    rows = []
    for n in nodes:
        out = sorted((u, v, k) for u, v, k in G.out_edges(n, keys=True))
        inn = sorted((u, v, k) for u, v, k in G.in_edges(n, keys=True))
        if out:
            (u, v, k), frac = out[0], 0.0
        elif inn:
            (u, v, k), frac = inn[0], 1.0
        else:
            rows.append((-1, -1, -1, np.nan, np.nan, np.nan, "no_road_access"))
            continue
        rows.append((u, v, k, frac, 0.0, 0.0, "ok"))
    return pd.DataFrame(rows, columns=["u", "v", "key", "frac", "access_m", "access_min",
                                       "status"])


def brute(G: nx.MultiDiGraph, units: list[int], turnout: list[float],
          villages: list[int]) -> list[list[float]]:
    """Minutes from every unit to every village by networkx Dijkstra (the oracle)."""
    out = []
    for u, t in zip(units, turnout, strict=True):
        d = nx.single_source_dijkstra_path_length(G, u, weight="travel_time")
        out.append([t + d[v] / 60.0 if v in d else np.inf for v in villages])
    return out


@settings(max_examples=150, deadline=None)
@given(G=road_graphs(), data=st.data())
def test_nearest_two_equals_brute_force(G: nx.MultiDiGraph, data: st.DataObject) -> None:
    nodes = sorted(n for n in G if G.degree(n) > 0)  # an isolated node is off the network
    units = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=5))
    turnout = data.draw(st.lists(st.integers(0, 5), min_size=len(units),
                                 max_size=len(units)))
    villages = nodes
    snaps = at_nodes(G, units + villages)
    rg = build_routing_graph(G, snaps)
    res = nearest_two(rg, np.arange(len(units)), offsets=np.array(turnout, dtype=float),
                      targets=np.arange(len(units), len(units) + len(villages)))
    times = np.array(brute(G, units, [float(t) for t in turnout], villages))
    for j in range(len(villages)):
        col = sorted(times[:, j])
        assert res.first_min[j] == pytest.approx(col[0])
        want2 = col[1] if len(col) > 1 else np.inf
        assert res.second_min[j] == pytest.approx(want2)
        if np.isfinite(res.first_min[j]):
            assert times[res.first[j], j] == pytest.approx(res.first_min[j])
        if np.isfinite(res.second_min[j]):
            assert res.second[j] != res.first[j]  # a distinct unit
            assert times[res.second[j], j] == pytest.approx(res.second_min[j])


@settings(max_examples=80, deadline=None)
@given(G=road_graphs(), data=st.data())
def test_adding_a_unit_never_increases_a_time(G: nx.MultiDiGraph, data: st.DataObject) -> None:
    nodes = sorted(n for n in G if G.degree(n) > 0)  # an isolated node is off the network
    units = data.draw(st.lists(st.sampled_from(nodes), min_size=2, max_size=6))
    snaps = at_nodes(G, units + nodes)
    rg = build_routing_graph(G, snaps)
    targets = np.arange(len(units), len(units) + len(nodes))
    fewer = nearest_two(rg, np.arange(len(units) - 1), targets=targets)
    more = nearest_two(rg, np.arange(len(units)), targets=targets)
    assert (more.first_min <= fewer.first_min + 1e-9).all()
    assert (more.second_min <= fewer.second_min + 1e-9).all()


@settings(max_examples=80, deadline=None)
@given(G=road_graphs(), data=st.data())
def test_closing_a_road_never_decreases_a_time(G: nx.MultiDiGraph, data: st.DataObject) -> None:
    nodes = sorted(n for n in G if G.degree(n) > 0)  # an isolated node is off the network
    units = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=4))
    edges = sorted(G.edges(keys=True))
    closed = data.draw(st.sampled_from(edges))
    H = G.copy()
    H.remove_edge(*closed)
    # keep the locations where they are: snap both graphs to edges that survive
    snaps = at_nodes(H, units + nodes)
    targets = np.arange(len(units), len(units) + len(nodes))
    before = nearest_two(build_routing_graph(G, snaps), np.arange(len(units)), targets=targets)
    after = nearest_two(build_routing_graph(H, snaps), np.arange(len(units)), targets=targets)
    assert (after.first_min >= before.first_min - 1e-9).all()
    assert (after.second_min >= before.second_min - 1e-9).all()


def test_mid_edge_locations_by_hand() -> None:
    # 0 --(600 s, two-way)-- 1 --(300 s, one-way 1->2)--> 2
    G = nx.MultiDiGraph(crs="EPSG:32631")
    for i in range(3):
        G.add_node(i, x=float(i), y=0.0)
    G.add_edge(0, 1, travel_time=600.0, length=1000.0)
    G.add_edge(1, 0, travel_time=600.0, length=1000.0)
    G.add_edge(1, 2, travel_time=300.0, length=500.0)
    snaps = pd.DataFrame(
        [(0, 1, 0, 0.25, 20.0, 1.0, "ok"),    # unit A: a quarter along 0-1, 1 min access
         (1, 2, 0, 0.5, 0.0, 0.0, "ok"),      # unit B: halfway along the one-way 1->2
         (1, 0, 0, 0.5, 0.0, 0.0, "ok"),      # village X: halfway along 0-1 (given as 1->0)
         (1, 2, 0, 0.9, 0.0, 0.0, "ok")],     # village Y: near the end of 1->2
        columns=["u", "v", "key", "frac", "access_m", "access_min", "status"])
    rg = build_routing_graph(G, snaps)
    res = nearest_two(rg, [0, 1], offsets=[2.0, 0.0], targets=[2, 3])
    # A -> X: turnout 2 + access 1 + a quarter of 600 s (2.5 min) = 5.5; B cannot reach X
    assert res.first_min[0] == pytest.approx(5.5) and res.first[0] == 0
    assert res.second_min[0] == np.inf and res.second[0] == -1
    # Y: B drives 0.4 of 300 s = 2 min; A: 3 + 0.75 * 10 + 0.9 * 5 = 15
    assert res.first_min[1] == pytest.approx(2.0) and res.first[1] == 1
    assert res.second_min[1] == pytest.approx(15.0) and res.second[1] == 0
    # trips towards the units use the reversed graph: X -> A is a quarter of 0-1 back + access
    back = nearest_two(rg.reversed(), [0], targets=[2])
    assert back.first_min[0] == pytest.approx(2.5 + 1.0)
    # scipy times from A agree with the compiled kernel
    t = times_from(rg, [0], offsets=[2.0])
    assert t[0, rg.loc_node[2]] == pytest.approx(5.5)


def test_walk_mode_ignores_oneway() -> None:
    G = nx.MultiDiGraph(crs="EPSG:32631")
    G.add_node(0, x=0.0, y=0.0)
    G.add_node(1, x=1.0, y=0.0)
    G.add_edge(0, 1, travel_time=60.0, length=400.0)  # one-way for cars
    snaps = at_nodes(G, [1, 0])
    drive = nearest_two(build_routing_graph(G, snaps), [0], targets=[1])
    walk = nearest_two(build_routing_graph(G, snaps, mode="walk", walk_kph=4.0), [0],
                       targets=[1])
    assert drive.first_min[0] == np.inf
    assert walk.first_min[0] == pytest.approx(0.4 / 4 * 60)  # 400 m at 4 km/h = 6 min


def test_every_pair_on_a_grid_matches_networkx() -> None:
    rng = np.random.default_rng(7)
    G = nx.MultiDiGraph(nx.grid_2d_graph(6, 6).to_directed())
    G = nx.convert_node_labels_to_integers(G)
    for u, v, k in G.edges(keys=True):
        G.edges[u, v, k]["travel_time"] = float(rng.integers(10, 200))
        G.edges[u, v, k]["length"] = 100.0
    for n in G:
        G.nodes[n]["x"] = G.nodes[n]["y"] = 0.0
    nodes = sorted(G)
    units = [0, 17, 35]
    snaps = at_nodes(G, units + nodes)
    rg = build_routing_graph(G, snaps)
    res = nearest_two(rg, [0, 1, 2], targets=np.arange(3, 3 + len(nodes)))
    times = np.array(brute(G, units, [0.0, 0.0, 0.0], nodes))
    for j, _ in enumerate(nodes):
        a, b = sorted(times[:, j])[:2]
        assert res.first_min[j] == pytest.approx(a) and res.second_min[j] == pytest.approx(b)
    assert list(itertools.islice(res.first, 3)) == [0, 0, 0] or res.first_min[0] == 0


@pytest.mark.parametrize("village_first", [True, False])
def test_locations_at_one_point_of_a_one_way_road_reach_each_other(village_first: bool) -> None:
    """A unit and a village at the same point of a one-way street: only the access legs and
    the turnout apart, whichever of them comes first in the layers (it used to be a loop
    round the block, or unreachable, when the village came first)."""
    G = nx.MultiDiGraph(crs="EPSG:32631")
    for i in range(3):
        G.add_node(i, x=float(i), y=0.0)
    G.add_edge(0, 1, travel_time=600.0, length=1000.0)  # one-way 0 -> 1, a dead end
    G.add_edge(2, 0, travel_time=60.0, length=100.0)
    unit = (0, 1, 0, 0.5, 50.0, 0.6, "ok")
    village = (0, 1, 0, 0.5, 30.0, 0.4, "ok")
    rows = [village, unit] if village_first else [unit, village]
    snaps = pd.DataFrame(rows, columns=["u", "v", "key", "frac", "access_m", "access_min",
                                        "status"])
    rg = build_routing_graph(G, snaps)
    u, v = (1, 0) if village_first else (0, 1)
    res = nearest_two(rg, [u], offsets=[1.0], targets=[v])
    assert res.first_min[0] == pytest.approx(1.0 + 0.6 + 0.4)
    # times at the network node of the village: turnout and the unit's access leg
    assert times_from(rg, [u], offsets=[1.0])[0, rg.loc_node[v]] == pytest.approx(1.6)


@pytest.mark.parametrize("how", ["searches", "hierarchy", "repaired", "dense"])
def test_a_pair_at_exactly_its_limit_is_kept(how: str) -> None:
    """A village reached at exactly the unit's limit is within it: 1 minute of turnout and a
    9-second road (0.15 min) against a limit of 1.15 min, where 1.15 - 1.0 rounds to just
    under 0.15 (hypothesis found the pair dropped)."""
    from emgis.roads.hierarchy import pairs_within_cch
    from emgis.roads.routing import pairs_within, pairs_within_each

    assert 1.15 - 1.0 < 9.0 / 60.0 and 1.0 + 9.0 / 60.0 == 1.15  # the rounding at stake
    G = nx.MultiDiGraph(crs="EPSG:32631")
    G.add_node(0, x=0.0, y=0.0)
    G.add_node(1, x=90.0, y=0.0)
    G.add_edge(0, 1, travel_time=9.0, length=90.0)
    rg = build_routing_graph(G, at_nodes(G, [0, 1]))
    if how == "searches":
        s, t, c = pairs_within(rg, [0], limits=[1.15], offsets=[1.0], targets=[1], workers=1)
    elif how == "repaired":  # the baseline and a scenario that changes nothing
        ((s, t, c), again) = pairs_within_each([rg, rg], [0], limits=[[1.15], [1.15]],
                                               offsets=[1.0], targets=[1], workers=1)
        assert [a.tolist() for a in again] == [s.tolist(), t.tolist(), c.tolist()]
    elif how == "dense":
        m = times_from(rg, [0], offsets=[1.0], targets=[1], limit=1.15)
        s, t, c = np.array([0]), np.array([0]), m[0][np.isfinite(m[0])]
    else:
        xy = np.column_stack([np.r_[0.0, 90.0, np.full(rg.n_nodes - 2, np.nan)],
                              np.r_[0.0, 0.0, np.full(rg.n_nodes - 2, np.nan)]])
        ((s, t, c),) = pairs_within_cch([rg], [0], limits=[[1.15]], offsets=[1.0],
                                        targets=[1], xy=xy, workers=1)
    assert s.tolist() == [0] and t.tolist() == [0]
    assert c.tolist() == [1.15]


@settings(max_examples=80, deadline=None)
@given(G=road_graphs(), data=st.data())
def test_pairs_within_equals_dense_searches(G: nx.MultiDiGraph, data: st.DataObject) -> None:
    """Bounded sparse searches find exactly the pairs within each source's limit, at the
    times scipy's dense Dijkstra gives."""
    from emgis.roads.routing import pairs_within

    nodes = sorted(n for n in G if G.degree(n) > 0)
    sources = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=5))
    offsets = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(sources),
                                          max_size=len(sources))), dtype=float)
    limits = np.array(data.draw(st.lists(st.floats(0, 30), min_size=len(sources),
                                         max_size=len(sources))))
    snaps = at_nodes(G, sources + nodes)
    rg = build_routing_graph(G, snaps)
    src = np.arange(len(sources))
    tgt = np.arange(len(sources), len(sources) + len(nodes))
    dense = times_from(rg, src, offsets=offsets, targets=tgt)
    s, t, c = pairs_within(rg, src, limits=limits, offsets=offsets, targets=tgt, workers=2)
    # scipy drops explicit zeros, so its graph carries 1e-12 for zero-cost links
    want = {(i, j): dense[i, j] for i in range(len(sources)) for j in range(len(nodes))
            if dense[i, j] <= limits[i] + 1e-9}
    got = {(int(a), int(b)): float(m) for a, b, m in zip(s, t, c, strict=True)}
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-9)
    assert list(zip(s, t, strict=True)) == sorted(zip(s, t, strict=True))


@settings(max_examples=80, deadline=None)
@given(G=road_graphs(), data=st.data())
def test_pairs_within_a_few_targets_stops_early_yet_finds_them_all(
        G: nx.MultiDiGraph, data: st.DataObject) -> None:
    """A search for a few targets ends once it has settled them all (emgis.roads._bounded):
    the pairs and times are still those of scipy's dense Dijkstra, limits or none."""
    from emgis.roads.routing import pairs_within

    nodes = sorted(n for n in G if G.degree(n) > 0)
    sources = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=5))
    targets = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3))
    limits = np.array(data.draw(st.lists(st.one_of(st.floats(0, 30), st.just(np.inf)),
                                         min_size=len(sources), max_size=len(sources))))
    snaps = at_nodes(G, sources + targets)
    rg = build_routing_graph(G, snaps)
    src = np.arange(len(sources))
    tgt = np.arange(len(sources), len(sources) + len(targets))
    dense = times_from(rg, src, targets=tgt)
    s, t, c = pairs_within(rg, src, limits=limits, targets=tgt, workers=1)
    want = {(i, j): dense[i, j] for i in range(len(sources)) for j in range(len(targets))
            if np.isfinite(dense[i, j]) and dense[i, j] <= limits[i] + 1e-9}
    got = {(int(a), int(b)): float(m) for a, b, m in zip(s, t, c, strict=True)}
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(G=road_graphs(), data=st.data())
def test_nearest_min_equals_brute_force(G: nx.MultiDiGraph, data: st.DataObject) -> None:
    """One label per node (emgis.roads._first) gives each village its nearest unit's minutes as
    networkx Dijkstra from every unit does, within a limit; and the first of nearest_two."""
    nodes = sorted(n for n in G if G.degree(n) > 0)
    units = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=5))
    turnout = data.draw(st.lists(st.integers(0, 5), min_size=len(units),
                                 max_size=len(units)))
    limit = data.draw(st.sampled_from([np.inf, 3.0, 8.0]))
    snaps = at_nodes(G, units + nodes)
    rg = build_routing_graph(G, snaps)
    search = Search(np.arange(len(units)), np.array(turnout, dtype=float),
                    np.arange(len(units), len(units) + len(nodes)), limit)
    got = nearest_min_many(rg, [search, search])
    times = np.array(brute(G, units, [float(t) for t in turnout], nodes)).min(axis=0)
    want = np.where(times <= limit, times, np.inf)
    for g in got:
        np.testing.assert_allclose(g, want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got[0], nearest_two_many(rg, [search])[0].first_min, rtol=0,
                               atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(G=road_graphs())
def test_each_arc_is_the_fastest_of_its_parallel_roads(G: nx.MultiDiGraph) -> None:
    """The graph holds one arc per (tail, head): the least minutes of the roads between them,
    found here edge by edge from the networkx graph (a road drawn twice or more is common in
    the random graphs)."""
    fastest: dict[tuple[int, int], float] = {}
    for u, v, d in G.edges(data=True):
        fastest[(u, v)] = min(fastest.get((u, v), np.inf), d["travel_time"] / 60.0)
    none = at_nodes(G, [])
    rg = build_routing_graph(G, none, mode="drive")
    nodes = rg.node_ids
    got = {}
    for a in range(rg.n_nodes):
        for j in range(rg.indptr[a], rg.indptr[a + 1]):
            key = (int(nodes[a]), int(nodes[rg.indices[j]]))
            assert key not in got  # one arc per pair, sorted by head
            got[key] = float(rg.weights[j])
        assert list(rg.indices[rg.indptr[a]:rg.indptr[a + 1]]) == sorted(
            rg.indices[rg.indptr[a]:rg.indptr[a + 1]])
    assert got == fastest


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fastest_piece_of_each_pair_as_a_lexsort_keeps_it(data: st.DataObject) -> None:
    """route_lines' piece per node pair: the first of each key after a lexsort by (key,
    minutes), the oracle, on keys and minutes with many repeats and ties (inf included)."""
    from emgis.roads.routing import _fastest_of_each

    n = data.draw(st.integers(0, 40))
    keys = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)),
                    dtype=np.int64)
    w = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, np.inf]),
                                    min_size=n, max_size=n)), dtype=float)
    piece = np.arange(n, dtype=np.int64)
    back = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    order = np.lexsort((w, keys))
    ks = keys[order]
    first = np.r_[True, ks[1:] != ks[:-1]] if n else np.zeros(0, dtype=bool)
    k, take = _fastest_of_each(keys, w)
    p, b = piece[take], back[take]
    assert k.tolist() == ks[first].tolist()
    assert p.tolist() == piece[order][first].tolist()
    assert b.tolist() == back[order][first].tolist()
    # a step between two keys finds the same piece either way (side="left")
    for q in range(-1, 8):
        i_old, i_new = np.searchsorted(ks, q), np.searchsorted(k, q)
        if i_old < n:
            assert piece[order][i_old] == p[i_new]


@settings(max_examples=60, deadline=None)
@given(G=road_graphs())
def test_key_rank_is_each_edges_place_by_u_v_key_and_derived_networks_share_it(
        G: nx.MultiDiGraph) -> None:
    """Snapping breaks ties by each edge's place among the edges sorted by (u, v, key), as a
    networkx graph keys them; made once per network, and a scenario's network (derived with a
    penalty) shares it instead of sorting again."""
    from emgis.roads.edges import with_penalty
    from emgis.roads.nxio import edge_arrays

    ea = edge_arrays(G)
    keys = [tuple(int(x) for x in row) for row in ea.keys]
    assert sorted(keys) == sorted((u, v, k) for u, v, k in G.edges(keys=True))
    by_key = sorted(range(len(keys)), key=lambda i: keys[i])
    want = [by_key.index(i) for i in range(len(keys))]
    assert ea.key_rank.tolist() == want
    scenario = with_penalty(ea, np.ones(ea.n_edges))
    assert scenario.key_rank is ea.key_rank


@settings(max_examples=40, deadline=None)
@given(G=road_graphs(), first=st.sampled_from(["origin", "derived"]))
def test_edge_boxes_are_each_edges_vertices_and_derived_networks_share_them(
        G: nx.MultiDiGraph, first: str) -> None:
    """Each edge's box is the least and greatest x and y of its line's vertices (shapely's
    bounds of the edge's LineString); made once for a network and the scenarios' networks
    derived from it, whichever asks first, and not shared by a network with other vertices."""
    import shapely

    from emgis.roads.edges import derive, with_penalty
    from emgis.roads.nxio import edge_arrays

    ea = edge_arrays(G)
    a, b = with_penalty(ea, np.ones(ea.n_edges)), derive(ea, hazards=np.zeros((0, 4)))
    asked = [a, ea, b] if first == "derived" else [ea, a, b]
    boxes = [n.bounds for n in asked]
    assert boxes[1] is boxes[0] and boxes[2] is boxes[0]
    want = shapely.bounds(ea.geometry) if ea.n_edges else np.zeros((0, 4))
    assert np.array_equal(boxes[0], want.reshape(-1, 4))
    moved = derive(ea, vx=ea.vx + 1000.0)
    if ea.n_edges:
        assert moved.bounds is not ea.bounds
        assert np.array_equal(moved.bounds[:, [0, 2]], ea.bounds[:, [0, 2]] + 1000.0)
        assert np.array_equal(moved.bounds[:, [1, 3]], ea.bounds[:, [1, 3]])
    assert dataclasses.replace(ea).__dict__.get("bounds") is None


@settings(max_examples=100, deadline=None)
@given(G=road_graphs(), data=st.data())
def test_keys_of_some_edges_without_the_table(G: nx.MultiDiGraph,
                                              data: st.DataObject) -> None:
    """``keys_of`` finds the (u, v, key) of some edges from the kept ``key_rank`` alone (a
    network read from its cache has no table of keys): the rows networkx's keys give them,
    parallel roads among them."""
    from emgis.roads.edges import EdgeArrays
    from emgis.roads.nxio import edge_arrays

    ea = edge_arrays(G)
    want = {i: (int(u), int(v), int(k)) for i, (u, v, k) in enumerate(ea.keys)}
    assert sorted(want.values()) == sorted((u, v, k) for u, v, k in G.edges(keys=True))
    pick = data.draw(st.lists(st.integers(0, ea.n_edges - 1), max_size=12))
    fresh = EdgeArrays(**{f.name: getattr(ea, f.name) for f in dataclasses.fields(ea)})
    fresh.__dict__["key_rank"] = ea.key_rank  # as the cache gives it, without the keys
    got = fresh.keys_of(pick)
    assert "keys" not in fresh.__dict__
    assert got.shape == (len(pick), 3)
    assert [tuple(int(x) for x in row) for row in got] == [want[i] for i in pick]
    assert ea.keys_of(pick).tolist() == got.tolist()  # and from the table where made


@settings(max_examples=150, deadline=None)
@given(G=road_graphs(), data=st.data())
def test_nearest_min_with_a_bound_on_to_the_targets(G: nx.MultiDiGraph,
                                                    data: st.DataObject) -> None:
    """With ``rest`` (here each node's minutes on to the nearest target by scipy's Dijkstra
    on the reversed arcs, times a drawn share: a consistent lower bound) a search gives the
    targets within the limit the minutes networkx gives them, and labels no more nodes than
    without it."""
    from emgis.roads._first import first_dijkstra

    nodes = sorted(n for n in G if G.degree(n) > 0)
    units = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=4))
    targets = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=4,
                                 unique=True))
    turnout = data.draw(st.lists(st.integers(0, 5), min_size=len(units),
                                 max_size=len(units)))
    limit = data.draw(st.sampled_from([3.0, 8.0, 20.0]))
    share = data.draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    snaps = at_nodes(G, units + targets)
    rg = build_routing_graph(G, snaps)
    ends = rg.loc_node[np.arange(len(units), len(units) + len(targets))]
    back = sp.csr_matrix((rg.weights, rg.indices, rg.indptr),  # zero-minute links kept
                         shape=(rg.n_nodes, rg.n_nodes)).T.tocsr()
    rest = np.asarray(dijkstra(back, directed=True, indices=ends, min_only=True), dtype=float)
    rest[np.isfinite(rest)] *= share
    src = np.arange(len(units))
    search = Search(src, np.array(turnout, dtype=float),
                    np.arange(len(units), len(units) + len(targets)), limit, rest, 1.0)
    got = nearest_min_many(rg, [search])[0]
    times = np.array(brute(G, units, [float(t) for t in turnout], targets)).min(axis=0)
    want = np.where(times <= limit, times, np.inf)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    seeds = rg.loc_node[src]
    cost = np.array(turnout, dtype=float) + rg.loc_access[src]
    args = (rg.indptr, rg.indices, rg.weights, seeds, cost, limit)
    pruned = first_dijkstra(*args, rest, 1.0)
    plain = first_dijkstra(*args, np.zeros(0), 1.0)
    assert np.isfinite(pruned).sum() <= np.isfinite(plain).sum()
    # where a target is within the limit through a node, the node keeps its least minutes
    through = np.isfinite(plain) & (plain + rest <= limit)
    np.testing.assert_array_equal(pruned[through], plain[through])
