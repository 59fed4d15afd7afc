"""Outlines of labelled grid cells (emgis.analysis._outline, issue 27): the service areas'
and zones' polygons traced along the grid instead of a union of cell boxes mended by
``buffer(0)``. The oracle is GEOS's own union of one box per cell."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from emgis.analysis._outline import outlines

X0, Y0, CELL = 1000.0, -250.0, 25.0


def _cells(lab: np.ndarray, a: int) -> shapely.Geometry:
    rows, cols = np.nonzero(lab == a)
    return shapely.union_all(shapely.box(X0 + cols * CELL, Y0 + rows * CELL,
                                         X0 + (cols + 1) * CELL, Y0 + (rows + 1) * CELL))


def grids(labels: int) -> st.SearchStrategy[np.ndarray]:
    """Grids of 1-9 x 1-9 cells, -1 (no label) or 0 .. labels - 1."""
    return st.tuples(st.integers(1, 9), st.integers(1, 9)).flatmap(
        lambda shape: arrays(np.int64, shape, elements=st.integers(-1, labels - 1)))


@settings(max_examples=300, deadline=None)
@given(lab=st.one_of(grids(1), grids(3)))
def test_each_label_is_its_cells_as_valid_polygons(lab: np.ndarray) -> None:
    got = outlines(lab, x0=X0, y0=Y0, cell=CELL)
    assert sorted(got) == sorted(int(a) for a in np.unique(lab[lab >= 0]))
    for a, geom in got.items():
        assert shapely.is_valid(geom), shapely.is_valid_reason(geom)
        assert geom.geom_type in ("Polygon", "MultiPolygon")
        want = _cells(lab, a)
        assert shapely.symmetric_difference(geom, want).area == pytest.approx(0.0, abs=1e-6)
        assert geom.area == pytest.approx(float((lab == a).sum()) * CELL * CELL)


@settings(max_examples=150, deadline=None)
@given(lab=grids(4))
def test_neighbouring_labels_make_a_coverage(lab: np.ndarray) -> None:
    """Zones of neighbouring units share every vertex of their common edges, as
    ``shapely.coverage_simplify`` needs: GEOS finds the set a valid coverage."""
    got = outlines(lab, x0=X0, y0=Y0, cell=CELL)
    assert bool(shapely.coverage_is_valid(np.array(list(got.values()), dtype=object)))


@pytest.mark.parametrize(("rows", "name"), [
    (["##.", "#.#", ".##"], "cells touching at corners, closing a loop round a hole"),
    (["#.", ".#"], "two cells touching at a corner"),
    (["###", "#.#", "###"], "a ring of cells round one hole"),
    (["#####", "#...#", "#.#.#", "#...#", "#####"], "an island in a lake in an island"),
    (["##.##", "#.#.#", "##.##"], "two loops meeting at corners"),
    (["#######", "#.....#", "#.###.#", "#.#.#.#", "#.###.#", "#.....#", "#######"],
     "a lake in an island in a lake in an island"),
])
def test_hand_made_shapes(rows: list[str], name: str) -> None:
    lab = np.array([[0 if ch == "#" else -1 for ch in row] for row in rows], dtype=np.int64)
    geom = outlines(lab, x0=X0, y0=Y0, cell=CELL)[0]
    assert shapely.is_valid(geom), (name, shapely.is_valid_reason(geom))
    assert shapely.symmetric_difference(geom, _cells(lab, 0)).area == pytest.approx(0.0)
    holes = sum(len(p.interiors) for p in shapely.get_parts(geom))
    if name == "a ring of cells round one hole":
        assert geom.geom_type == "Polygon" and holes == 1
    if name == "an island in a lake in an island":
        assert len(shapely.get_parts(geom)) == 2 and holes == 1
    if name == "a lake in an island in a lake in an island":
        assert len(shapely.get_parts(geom)) == 2 and holes == 2


def test_an_empty_grid_has_no_outline() -> None:
    assert outlines(np.full((3, 4), -1), x0=X0, y0=Y0, cell=CELL) == {}
