"""The road network as arrays: directed drivable edges with lengths (metres) and travel times
(minutes), their geometry kept vertex by vertex, and the changes a scenario makes to them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely

from emgis._arrays import ranges
from emgis._cached import unlocked_cached_property
from emgis._types import FloatArray, Int32Array, IntArray

if TYPE_CHECKING:

    pass

log = logging.getLogger(__name__)

# --- the arrays -----------------------------------------------------------------------------

#: The key, in a network's ``__dict__``, of what it shares with the networks derived from it
#: (:func:`derive`) and made from their common vertices (:attr:`EdgeArrays.bounds`).
_SAME_VERTICES = "_same_vertices"

#: The fields a derived network's vertices are made of: changing one shares nothing.
_VERTEX_FIELDS = frozenset({"vptr", "vx", "vy", "u", "v"})

@dataclass(frozen=True)
class EdgeArrays:
    """A directed road network as arrays (metres, seconds).

    Attributes
    ----------
    node_ids
        Id of each node (the OSM node id where the roads are OSM), shape (n,).
    node_x, node_y
        Node coordinates in the district's metric CRS.
    u, v
        Node index of each edge's start and end, shape (m,).
    length, travel_time
        Metres and seconds of each edge.
    twin
        The edge running the other way along the same road (-1 for a one-way road).
    vptr
        Vertex offsets: edge ``e``'s vertices are ``vptr[e]:vptr[e + 1]``, from ``u`` to ``v``.
    vx, vy
        Vertex coordinates (metres).
    vdist, vtime
        Metres and seconds from the edge's start to each vertex: each segment keeps its own
        speed.
    vclass
        Road class (index into ``classes``) of the segment starting at each vertex (the last
        vertex of an edge repeats the one before).
    classes
        Names of the road classes (OSM ``highway`` values).
    component
        Weakly connected component of each node; ``main`` is the largest.
    notes
        What building the network found worth saying (dropped broken ways ...).
    penalty
        Optional time multiplier per edge (``inf`` = closed), set by
        :func:`with_penalty`; hazards acting on parts of edges use ``hazards`` instead.
    hazards
        Optional ``(edge, start, end, multiplier)`` rows: the part of an edge between two
        fractions of its length takes ``multiplier`` times as long (``inf`` = closed), as set
        by hazard scenarios.
    walk
        The walking network of the same roads (OSM: the drivable ways and the footways, paths,
        pedestrian streets and steps of ``[network] walk_highway``), as arrays of its own; None
        where walkers use these roads (road lines, GraphML).
    """

    node_ids: IntArray
    node_x: FloatArray
    node_y: FloatArray
    u: IntArray
    v: IntArray
    length: FloatArray
    travel_time: FloatArray
    twin: IntArray
    vptr: IntArray
    vx: FloatArray
    vy: FloatArray
    vdist: FloatArray
    vtime: FloatArray
    vclass: npt.NDArray[np.int16]
    classes: tuple[str, ...]
    component: IntArray
    main: int
    notes: tuple[str, ...] = ()
    penalty: FloatArray | None = None
    hazards: FloatArray | None = field(default=None)
    walk: EdgeArrays | None = field(default=None, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.u)

    @unlocked_cached_property
    def geometry(self) -> npt.NDArray[np.object_]:
        """A LineString per edge, from ``u`` to ``v``."""
        if not self.n_edges:
            return np.zeros(0, dtype=object)
        xy = np.empty((len(self.vx), 2))
        xy[:, 0], xy[:, 1] = self.vx, self.vy
        # straight from the vertex offsets (a province's 2.7 million lines: 1.2 s instead of
        # 1.6 s through an index per vertex)
        lines = shapely.from_ragged_array(shapely.GeometryType.LINESTRING, xy,
                                          (np.asarray(self.vptr, dtype=np.int64),))
        return np.asarray(lines, dtype=object)

    @unlocked_cached_property
    def tree(self) -> shapely.STRtree:
        """An STR-tree of the edges' lines (built once, for snapping)."""
        return shapely.STRtree(self.geometry)

    def lines(self, edges: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """The LineStrings of some edges (:attr:`geometry`'s, the same coordinates), made
        for them alone unless every edge's line is made already."""
        e = np.asarray(edges, dtype=np.int64)
        if "geometry" in self.__dict__:
            known: npt.NDArray[np.object_] = self.geometry[e]
            return known
        if not len(e):
            return np.zeros(0, dtype=object)
        ptr = np.asarray(self.vptr, dtype=np.int64)
        count = ptr[e + 1] - ptr[e]
        at = ranges(ptr[e], count)
        xy = np.empty((len(at), 2))
        xy[:, 0], xy[:, 1] = self.vx[at], self.vy[at]
        offsets = np.zeros(len(e) + 1, dtype=np.int64)
        np.cumsum(count, out=offsets[1:])
        return np.asarray(shapely.from_ragged_array(shapely.GeometryType.LINESTRING, xy,
                                                    (offsets,)), dtype=object)

    @unlocked_cached_property
    def bounds(self) -> FloatArray:
        """Each edge's box ``(xmin, ymin, xmax, ymax)`` from its vertices (edges x 4); made
        once for a network and the networks derived from it (:func:`derive`: a scenario's,
        the same vertices), whichever asks first."""
        shared: dict[str, Any] = self.__dict__.setdefault(_SAME_VERTICES, {})
        if "bounds" in shared:
            known: FloatArray = shared["bounds"]
            return known
        if not self.n_edges:
            return np.zeros((0, 4))
        start = np.asarray(self.vptr, dtype=np.int64)[:-1]
        out = np.column_stack([np.minimum.reduceat(self.vx, start),
                               np.minimum.reduceat(self.vy, start),
                               np.maximum.reduceat(self.vx, start),
                               np.maximum.reduceat(self.vy, start)])
        shared["bounds"] = out
        return out

    def near(self, geoms: npt.ArrayLike, *, distance: float = 0.0
             ) -> tuple[IntArray, IntArray]:
        """The edges whose line meets each geometry (``distance`` 0) or comes within
        ``distance`` metres of it: (geometry position, edge) pairs, sorted by both, as
        :attr:`tree`'s ``query`` with the predicate ``intersects`` or ``dwithin`` finds them.

        Without the lines and tree of every edge made already, only the edges whose boxes
        come within ``distance`` of the geometries' joint box get a line and a tree of
        their own: a scenario's zones and the locations it moves meet a small part of a
        province's roads (every line and the whole tree: 4-11 s and hundreds of MB)."""
        g = np.atleast_1d(np.asarray(geoms, dtype=object))
        d = float(distance)
        pred = "intersects" if d == 0 else "dwithin"
        kw = {} if d == 0 else {"distance": d}
        if not len(g) or not self.n_edges:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if "tree" in self.__dict__:
            src, hit = self.tree.query(g, predicate=pred, **kw)
        else:
            gb = shapely.bounds(g)
            x0, y0 = np.nanmin(gb[:, 0]) - d, np.nanmin(gb[:, 1]) - d
            x1, y1 = np.nanmax(gb[:, 2]) + d, np.nanmax(gb[:, 3]) + d
            b = self.bounds
            cand = np.flatnonzero((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1)
                                  & (b[:, 3] >= y0))
            src, j = shapely.STRtree(self.lines(cand)).query(g, predicate=pred, **kw)
            hit = cand[j]
        src, hit = np.asarray(src, dtype=np.int64), np.asarray(hit, dtype=np.int64)
        order = np.lexsort((hit, src))
        return src[order], hit[order]

    @unlocked_cached_property
    def keys(self) -> IntArray:
        """``(u id, v id, key)`` of each edge, as in a networkx MultiDiGraph."""
        uid, vid = self.node_ids[self.u], self.node_ids[self.v]
        order = np.lexsort((np.arange(self.n_edges), vid, uid))
        k = np.zeros(self.n_edges, dtype=np.int64)
        su, sv = uid[order], vid[order]
        same = np.r_[False, (su[1:] == su[:-1]) & (sv[1:] == sv[:-1])]
        run = np.cumsum(~same) - 1
        first = np.flatnonzero(~same)
        k[order] = np.arange(self.n_edges) - first[run]
        return np.column_stack([uid, vid, k])

    def keys_of(self, edges: npt.ArrayLike) -> IntArray:
        """:attr:`keys` of some edges (rows in their order), found from :attr:`key_rank`
        without making the whole table: an edge's key is its place in the run of edges
        with its ``(u id, v id)`` in that order (a province's 22,000 snapped points: 4.0 s
        for the table of its 2.7 million edges)."""
        e = np.asarray(edges, dtype=np.int64)
        if "keys" in self.__dict__:
            known: IntArray = self.keys[e]
            return known
        uid, vid = self.node_ids[self.u[e]], self.node_ids[self.v[e]]
        rank = np.asarray(self.key_rank, dtype=np.int64)
        edge_at = np.empty(self.n_edges, dtype=np.int64)
        edge_at[rank] = np.arange(self.n_edges)
        start = rank[e]
        live = np.flatnonzero(start > 0)
        while len(live):  # step back while the edge before has the same (u id, v id)
            before = edge_at[start[live] - 1]
            same = (self.node_ids[self.u[before]] == uid[live]) & \
                (self.node_ids[self.v[before]] == vid[live])
            live = live[same]
            start[live] -= 1
            live = live[start[live] > 0]
        return np.column_stack([uid, vid, rank[e] - start])

    @unlocked_cached_property
    def key_rank(self) -> Int32Array:
        """Each edge's place among the edges sorted by :attr:`keys` (u id, v id, key), the
        order snapping breaks ties in (made once per network: a scenario's, derived, shares
        it; 32-bit, a province's 3 million edges keep 12 MB)."""
        karr = self.keys
        out: Int32Array = np.lexsort((karr[:, 2], karr[:, 1], karr[:, 0])).argsort().astype(
            np.int32)
        return out

    def time_at(self, edges: npt.ArrayLike, fracs: npt.ArrayLike) -> FloatArray:
        """Seconds from the start of each edge to the point at a fraction of its length.

        Exact for edges merged from segments of different speeds: the time is interpolated
        within the segment the point lies on.
        """
        e = np.asarray(edges, dtype=np.int64)
        f = np.clip(np.asarray(fracs, dtype=float), 0.0, 1.0)
        return _interp(self.vptr, self.vdist, self.vtime, e, f * self.length[e])

    def dist_of_time(self, edges: npt.ArrayLike, seconds: npt.ArrayLike) -> FloatArray:
        """Metres from each edge's start at which ``seconds`` have been spent on it."""
        e = np.asarray(edges, dtype=np.int64)
        t = np.clip(np.asarray(seconds, dtype=float), 0.0, self.travel_time[e])
        return _interp(self.vptr, self.vtime, self.vdist, e, t)

    def km_by_class(self) -> dict[str, float]:
        """Kilometres of road per class, a two-way road counted once."""
        once = (self.twin < 0) | (np.arange(self.n_edges) < self.twin)
        seg_len = np.diff(self.vdist)
        edge_of = np.repeat(np.arange(self.n_edges), np.diff(self.vptr))
        last = np.zeros(len(self.vdist), dtype=bool)
        last[self.vptr[1:] - 1] = True
        keep = ~last[:-1] & once[edge_of[:-1]]
        km = np.bincount(self.vclass[:-1][keep], weights=seg_len[keep],
                         minlength=len(self.classes)) / 1000.0
        out = {c: round(float(k), 1) for c, k in zip(self.classes, km, strict=True) if k > 0}
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _interp(ptr: IntArray, xs: FloatArray, ys: FloatArray, e: IntArray, q: FloatArray
            ) -> FloatArray:
    """Piecewise-linear interpolation of ``ys`` against ``xs`` within each edge's slice."""
    from emgis.roads._interp import interp_edges  # deferred: numba

    if len(e) == 0:
        return np.zeros(0)
    out: FloatArray = interp_edges(ptr, xs, ys, np.asarray(e, dtype=np.int64),
                                   np.asarray(q, dtype=float))
    return out


def derive(edges: EdgeArrays, **changes: Any) -> EdgeArrays:
    """The same network with some fields changed (``penalty``, ``hazards``), sharing the
    geometry, STR-tree and keys already built for it (rebuilding them costs seconds and
    gigabytes on a provincial network)."""
    out = replace(edges, **changes)
    for name in ("geometry", "tree", "keys", "key_rank"):
        if name in edges.__dict__:
            out.__dict__[name] = edges.__dict__[name]
    if not _VERTEX_FIELDS.intersection(changes):
        # what is made from the vertices later is made once for both (each scenario's
        # network asked for its edges' boxes anew: 5 x 50 ms on a county)
        out.__dict__[_SAME_VERTICES] = edges.__dict__.setdefault(_SAME_VERTICES, {})
    return out


def with_penalty(edges: EdgeArrays, penalty: FloatArray | None) -> EdgeArrays:
    """The same network with a time multiplier per whole edge (``inf`` closes it)."""
    return derive(edges, penalty=penalty)
