"""Outlines of labelled grid cells as polygons, traced in one pass over the grid.

Service areas and zones are sets of grid cells (:mod:`emgis.analysis.coverage`,
:mod:`emgis.analysis.zones`). Merging each cell run as a box (``coverage_union_all``) leaves
invalid rings where cells touch only at a corner, which ``buffer(0)`` then mended: two GEOS
passes over every box, most of an area's cost. Here the boundary between cells of different
labels is walked directly, keeping each label's cells on the left of the walk, so that outer
rings come out anticlockwise and holes clockwise, in the grid's own corner coordinates:

- at a corner where a label's cells touch only diagonally the walk turns around the cell it
  follows, so diagonal cells are not joined (rings meet at a point, as a valid polygon may);
- a vertex is kept wherever the walk turns *or* the label on its other side changes, so the
  outlines of neighbouring labels share every vertex of their common edges (a coverage, as
  ``shapely.coverage_simplify`` needs);
- a ring that passes one corner twice (cells closing a loop diagonally) is cut there into
  rings that meet at that point, each an outer ring or a hole by its turning.

The point set is exactly the union of the cells (tested against ``shapely.union_all`` of one
box per cell).

Editing the kernel: numba caches it by this file (``__pycache__``).
"""

from __future__ import annotations

import itertools

import numpy as np
import shapely
from numba import njit

from emgis._types import IntArray


@njit(cache=True, nogil=True, inline="always")
def _side(lab, r, c):  # type: ignore[no-untyped-def]
    """The label of cell (row ``r``, column ``c``); -1 beyond the grid."""
    if r < 0 or c < 0 or r >= lab.shape[0] or c >= lab.shape[1]:
        return -1
    return lab[r, c]


@njit(cache=True, nogil=True, inline="always")
def _sides(lab, r, c, d):  # type: ignore[no-untyped-def]
    """Labels on the left and on the right of the cell edge leaving corner (``c``, ``r``) in
    direction ``d`` (0 east, 1 north, 2 west, 3 south; rows grow northwards)."""
    if d == 0:
        return _side(lab, r, c), _side(lab, r - 1, c)
    if d == 1:
        return _side(lab, r, c - 1), _side(lab, r, c)
    if d == 2:
        return _side(lab, r - 1, c - 1), _side(lab, r, c - 1)
    return _side(lab, r - 1, c), _side(lab, r - 1, c - 1)


@njit(cache=True, nogil=True, inline="always")
def _put(vc, vr, cap, n, c, r):  # type: ignore[no-untyped-def]
    """Vertex ``n`` set to (``c``, ``r``), the arrays grown when full."""
    if n >= cap:
        cap *= 2
        nc = np.empty(cap, dtype=np.int64)
        nr = np.empty(cap, dtype=np.int64)
        nc[:n] = vc[:n]
        nr[:n] = vr[:n]
        vc, vr = nc, nr
    vc[n] = c
    vr[n] = r
    return vc, vr, cap


@njit(cache=True, nogil=True, inline="always")
def _emit(vc, vr, cap, n, sc, sr, lo, top, mark, w, keep_first):  # type: ignore[no-untyped-def]
    """Write out the ring ``sc, sr[lo:top]`` after vertex ``n``, clearing the corners' marks
    (but the first's with ``keep_first``: it stays on the ring being cut); returns the
    arrays, the new vertex count and twice the ring's signed area."""
    twice = 0
    for q in range(lo, top):
        vc, vr, cap = _put(vc, vr, cap, n, sc[q], sr[q])
        n += 1
        q2 = q + 1 if q + 1 < top else lo
        twice += sc[q] * sr[q2] - sc[q2] * sr[q]
        if q > lo or not keep_first:
            mark[sr[q] * (w + 1) + sc[q]] = 0
    return vc, vr, cap, n, twice


@njit(cache=True, nogil=True)
def trace_rings(lab):  # type: ignore[no-untyped-def]
    """Every ring of the outlines of the labels (>= 0) of grid ``lab``.

    Returns
    -------
    ring_label, ring_ptr, col, row, twice_area
        Per ring its label, its vertices ``col[ring_ptr[k]:ring_ptr[k + 1]]`` (grid corners,
        not repeated at the end) and twice its signed area (> 0 for an outer ring).
    """
    h, w = lab.shape
    used = np.zeros((h + 1, w + 1, 4), dtype=np.bool_)
    mark = np.zeros((h + 1) * (w + 1), dtype=np.int64)  # a corner's place in the ring + 1
    sc = np.empty(1024, dtype=np.int64)  # the ring being cut
    sr = np.empty(1024, dtype=np.int64)
    cap = 1024
    vc = np.empty(cap, dtype=np.int64)
    vr = np.empty(cap, dtype=np.int64)
    n_v = 0
    ring_label = []
    ring_ptr = [0]
    areas = []
    # eastward edges with a label above them and another below: each ring has some (found
    # first, in a tight loop)
    starts = []
    for r0 in range(h):
        for c0 in range(w):
            a = lab[r0, c0]
            if a >= 0 and not (r0 > 0 and lab[r0 - 1, c0] == a):
                starts.append(r0 * w + c0)
    for s0 in starts:
        r0, c0 = s0 // w, s0 % w
        if not used[r0, c0, 0]:
            a = lab[r0, c0]
            r, c, d = r0, c0, 0
            right = _side(lab, r0 - 1, c0)
            start = n_v
            vc, vr, cap = _put(vc, vr, cap, n_v, c, r)
            n_v += 1
            while True:
                used[r, c, d] = True
                if d == 0:
                    c += 1
                elif d == 1:
                    r += 1
                elif d == 2:
                    c -= 1
                else:
                    r -= 1
                # the next edge: turning left first (around the cell followed), then
                # straight on, then right
                nd = (d + 1) % 4
                lft, rgt = _sides(lab, r, c, nd)
                if not (lft == a and rgt != a):
                    nd = d
                    lft, rgt = _sides(lab, r, c, nd)
                    if not (lft == a and rgt != a):
                        nd = (d + 3) % 4
                        lft, rgt = _sides(lab, r, c, nd)
                if used[r, c, nd]:  # back at the first edge
                    break
                if nd != d or rgt != right:
                    vc, vr, cap = _put(vc, vr, cap, n_v, c, r)
                    n_v += 1
                right = rgt
                d = nd
            # a ring through one corner twice (cells closing a loop diagonally) is cut there
            # into rings that meet at that point: each valid, outer or hole by its turning
            m = n_v - start
            if m > sc.shape[0]:
                sc = np.empty(2 * m, dtype=np.int64)
                sr = np.empty(2 * m, dtype=np.int64)
            rc = vc[start:n_v].copy()
            rr = vr[start:n_v].copy()
            n_v = start
            top = 0
            for k in range(m):
                key = rr[k] * (w + 1) + rc[k]
                at = mark[key] - 1
                if at >= 0:  # seen: the loop since then is a ring of its own
                    vc, vr, cap, n_v, twice = _emit(vc, vr, cap, n_v, sc, sr, at, top, mark,
                                                    w, True)
                    ring_label.append(a)
                    ring_ptr.append(n_v)
                    areas.append(twice)
                    top = at + 1
                else:
                    sc[top] = rc[k]
                    sr[top] = rr[k]
                    top += 1
                    mark[key] = top
            vc, vr, cap, n_v, twice = _emit(vc, vr, cap, n_v, sc, sr, 0, top, mark, w, False)
            ring_label.append(a)
            ring_ptr.append(n_v)
            areas.append(twice)
    out_l = np.empty(len(ring_label), dtype=np.int64)
    out_p = np.empty(len(ring_ptr), dtype=np.int64)
    out_a = np.empty(len(areas), dtype=np.int64)
    for k in range(len(ring_label)):
        out_l[k] = ring_label[k]
        out_a[k] = areas[k]
    for k in range(len(ring_ptr)):
        out_p[k] = ring_ptr[k]
    return out_l, out_p, vc[:n_v].copy(), vr[:n_v].copy(), out_a


def outlines(lab: IntArray, *, x0: float, y0: float, cell: float
             ) -> dict[int, shapely.Geometry]:
    """The cells of each label (>= 0) of grid ``lab`` as one (multi)polygon per label.

    Parameters
    ----------
    lab
        Labels per cell, rows from south to north (-1: no label).
    x0, y0
        Metres of the grid's south-west corner.
    cell
        Metres a cell is wide.

    Returns
    -------
    dict
        Label -> its cells' outline (metres); a polygon may hold rings that meet at a
        point (see the module).
    """
    grid = np.ascontiguousarray(lab, dtype=np.int64)
    ring_l, ptr, col, row, twice = trace_rings(grid)
    if not len(ring_l):
        return {}
    n_r = len(ring_l)
    ring_of_v = np.repeat(np.arange(n_r), np.diff(ptr))
    rings = shapely.linearrings(x0 + col * cell, y0 + row * cell, indices=ring_of_v)
    shell = twice > 0
    owner = np.arange(n_r)  # each ring's outer ring
    holes = np.flatnonzero(~shell)
    if len(holes):
        shells = np.flatnonzero(shell)
        # a point in the cell each hole's first edge has on its left: that label's cell,
        # inside the smallest outer ring of the label around it
        first = ptr[holes]
        dx = np.sign(col[first + 1] - col[first])
        dy = np.sign(row[first + 1] - row[first])
        px = x0 + (col[first] + 0.5 * (dx - dy)) * cell
        py = y0 + (row[first] + 0.5 * (dy + dx)) * cell
        tree = shapely.STRtree(shapely.polygons(rings[shells]))
        hi, si = tree.query(shapely.points(px, py), predicate="within")
        cand = shells[si]
        ok = ring_l[cand] == ring_l[holes[hi]]
        hi, cand = hi[ok], cand[ok]
        order = np.lexsort((twice[cand], hi))  # per hole, the smallest outer ring first
        hi, cand = hi[order], cand[order]
        pick = np.r_[True, hi[1:] != hi[:-1]] if len(hi) else np.zeros(0, dtype=bool)
        owner[holes[hi[pick]]] = cand[pick]
    # each polygon's outer ring first, then its holes; polygons in label order
    key = np.lexsort((~shell, owner, ring_l[owner]))
    own = owner[key]
    new = np.r_[True, own[1:] != own[:-1]]
    polys = shapely.polygons(rings[key], indices=np.cumsum(new) - 1)
    poly_owner = own[new]
    poly_label = ring_l[poly_owner]
    out: dict[int, shapely.Geometry] = {}
    bounds = np.flatnonzero(np.r_[True, poly_label[1:] != poly_label[:-1], True])
    for a, b in itertools.pairwise(bounds):
        parts = polys[a:b]
        out[int(poly_label[a])] = parts[0] if len(parts) == 1 else shapely.multipolygons(parts)
    return out
