"""The minutes hazard parts add to the pieces of a scenario's routing graph (issue 27): the
pieces and hazard rows of the same edge are now paired without a pandas merge; the sums are
those of the merge it replaced (kept here as the oracle), added in the same order, on the
demo's roads with several rows per edge, overlapping parts, closed parts and pieces no
hazard touches."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emgis.plan import Plan
from emgis.roads.edges import EdgeArrays
from emgis.roads.routing import _hazard_extra


def _merged(ea: EdgeArrays, e: np.ndarray, fa: np.ndarray, fb: np.ndarray, *, walk: bool
            ) -> np.ndarray:
    extra = np.zeros(len(e))
    hz = ea.hazards
    if hz is None or len(hz) == 0 or len(e) == 0:
        return extra
    pieces = pd.DataFrame({"edge": e, "fa": fa, "fb": fb, "i": np.arange(len(e))})
    rows = pd.DataFrame({"edge": hz[:, 0].astype(np.int64), "h0": hz[:, 1], "h1": hz[:, 2],
                         "mult": hz[:, 3]})
    j = pieces.merge(rows, on="edge")
    lo = np.maximum(j["fa"].to_numpy(), j["h0"].to_numpy())
    hi = np.minimum(j["fb"].to_numpy(), j["h1"].to_numpy())
    over = hi - lo > 1e-12
    j = j[over]
    lo, hi = lo[over], hi[over]
    if len(j) == 0:
        return extra
    ed = j["edge"].to_numpy()
    cost = (hi - lo) * ea.length[ed] if walk else ea.time_at(ed, hi) - ea.time_at(ed, lo)
    mult = j["mult"].to_numpy()
    add = np.where(np.isinf(mult), np.inf, cost * (mult - 1.0))
    np.add.at(extra, j["i"].to_numpy(), add)
    return extra


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(0, 40),
       n_pieces=st.integers(0, 300), walk=st.booleans())
def test_the_sums_of_the_merge(demo_plan: Plan, seed: int, n_rows: int, n_pieces: int,
                               walk: bool) -> None:
    ea = demo_plan.network
    rng = np.random.default_rng(seed)
    edges = rng.choice(ea.n_edges, size=8, replace=False)  # few edges: shared by many rows
    h_edge = rng.choice(edges, size=n_rows)
    a, b = rng.random(n_rows), rng.random(n_rows)
    mult = np.where(rng.random(n_rows) < 0.2, np.inf, rng.uniform(1.0, 5.0, n_rows))
    hz = np.column_stack([h_edge.astype(float), np.minimum(a, b), np.maximum(a, b), mult])
    net = dataclasses.replace(ea, hazards=hz if n_rows else np.zeros((0, 4)))
    e = np.where(rng.random(n_pieces) < 0.7, rng.choice(edges, size=n_pieces),
                 rng.integers(0, ea.n_edges, n_pieces))
    c, d = rng.random(n_pieces), rng.random(n_pieces)
    fa, fb = np.minimum(c, d), np.maximum(c, d)
    whole = rng.random(n_pieces) < 0.3
    fa[whole], fb[whole] = 0.0, 1.0
    got = _hazard_extra(net, e, fa, fb, walk=walk)
    want = _merged(net, e, fa, fb, walk=walk)
    assert np.array_equal(got, want)  # bit for bit, inf where a closed part overlaps


def test_no_hazards_add_nothing(demo_plan: Plan) -> None:
    ea = demo_plan.network
    e = np.arange(min(50, ea.n_edges))
    got = _hazard_extra(ea, e, np.zeros(len(e)), np.ones(len(e)), walk=False)
    assert np.array_equal(got, np.zeros(len(e)))


def test_a_hand_made_part(demo_plan: Plan) -> None:
    """Edge 0 slowed 3 times over 0.2-0.9 of its length, closed over 0.95-1: a walker's
    piece over 0-0.5 takes 0.3 of the length twice more, one over 0.4-0.96 is closed."""
    ea = demo_plan.network
    hz = np.array([[0.0, 0.2, 0.9, 3.0], [0.0, 0.95, 1.0, np.inf]])
    net = dataclasses.replace(ea, hazards=hz)
    got = _hazard_extra(net, np.array([0, 0, 1]), np.array([0.0, 0.4, 0.0]),
                        np.array([0.5, 0.96, 1.0]), walk=True)
    assert got[0] == pytest.approx(0.3 * ea.length[0] * 2.0)
    assert got[1] == np.inf and got[2] == 0.0
