"""The road network: directed drivable edges with travel times, as arrays, in metres.

The network is read straight into arrays (:class:`EdgeArrays`), the form the travel-time
engine works on, from:

- an OSM ``.osm.pbf`` or ``.osm`` file: pyosmium reads the drivable ways (osmnx's "drive"
  filter with the village roads, settable) with their node locations; no temporary file, no
  networkx graph on the way;
- road lines with an OSM-style class or a speed column (lines meet where their ends meet);
- a GraphML file (for example one saved by osmnx), through networkx: a graph carrying
  ``travel_time`` on every edge is used as timed, else it is timed by the class speeds.

Every OSM segment is timed at its own speed (the class speed of its way, or the way's plausible
``maxspeed`` derated like the class speeds, see :class:`~emgis.inputs.settings.NetworkSettings`), and
chains of segments between junctions are merged into one edge that keeps the distance and the
time *at every vertex*: a location part way along an edge, or a hazard zone over part of it,
gets the exact time of the segments it covers. ``oneway`` (including ``-1`` and roundabouts) is
respected. The roads are clipped to the district (townships or bbox) grown by
``[network] clip_buffer_m``, so one provincial file can feed any county.

The built arrays are cached in ``.emgis-cache/`` beside the road file (or the user's cache
folder when that is read-only) as one ``.npz`` with a format version and a checksum, keyed by
the road file's content, the network settings, the CRS and the clip area; a damaged cache is
rebuilt with one warning. networkx stays available for API users (:func:`to_networkx`,
:func:`load_network`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely
from numba import njit
from pyproj import CRS, Transformer

from emgis._errors import CacheError, NetworkError
from emgis._types import FloatArray, IntArray
from emgis.inputs.settings import Settings
from emgis.texts import Msg, msg_from_json, msg_to_json

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

    from emgis.inputs.district import District, RoadSource

log = logging.getLogger(__name__)

#: Bump when the cached arrays change meaning or shape: older caches are then rebuilt.
CACHE_FORMAT = 4
CACHE_DIR = ".emgis-cache"
WGS84 = CRS.from_epsg(4326)
_MPH = 1.609344



# --- the arrays -----------------------------------------------------------------------------

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

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.u)

    @cached_property
    def geometry(self) -> npt.NDArray[np.object_]:
        """A LineString per edge, from ``u`` to ``v``."""
        counts = np.diff(self.vptr)
        index = np.repeat(np.arange(self.n_edges), counts)
        lines = shapely.linestrings(np.column_stack([self.vx, self.vy]), indices=index)
        return np.asarray(lines, dtype=object)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """An STR-tree of the edges' lines (built once, for snapping)."""
        return shapely.STRtree(self.geometry)

    @cached_property
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
    if len(e) == 0:
        return np.zeros(0)
    # make xs increase across edges: shift each edge's values by a per-edge offset
    span = xs[ptr[1:] - 1] - xs[ptr[:-1]]
    offset = np.concatenate([[0.0], np.cumsum(span + 1.0)[:-1]])
    edge_of = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    gx = xs + offset[edge_of]
    gq = q + offset[e]
    k = np.searchsorted(gx, gq, side="right") - 1
    k = np.clip(k, ptr[e], ptr[e + 1] - 2)
    x0, x1 = xs[k], xs[k + 1]
    w = np.divide(q - x0, x1 - x0, out=np.zeros(len(q)), where=x1 > x0)
    out: FloatArray = ys[k] + np.clip(w, 0.0, 1.0) * (ys[k + 1] - ys[k])
    return out


def derive(edges: EdgeArrays, **changes: Any) -> EdgeArrays:
    """The same network with some fields changed (``penalty``, ``hazards``), sharing the
    geometry, STR-tree and keys already built for it (rebuilding them costs seconds and
    gigabytes on a provincial network)."""
    out = replace(edges, **changes)
    for name in ("geometry", "tree", "keys"):
        if name in edges.__dict__:
            out.__dict__[name] = edges.__dict__[name]
    return out


def with_penalty(edges: EdgeArrays, penalty: FloatArray | None) -> EdgeArrays:
    """The same network with a time multiplier per whole edge (``inf`` closes it)."""
    return derive(edges, penalty=penalty)


# --- the drive filter and speeds -----------------------------------------------------------

#: ``service=*`` values that are not roads a fire engine uses to reach a village.
PRIVATE_SERVICE = ("alley", "driveway", "emergency_access", "parking", "parking_aisle",
                   "private", "drive-through")


def highway_ok(tags: Any, exclude: frozenset[str]) -> bool:
    """osmnx's "drive" filter (village roads included by default), applied to one way's tags."""
    hwy = tags.get("highway")
    if hwy is None or hwy in exclude:
        return False
    if tags.get("area") == "yes" or tags.get("access") == "private":
        return False
    if tags.get("motor_vehicle") == "no" or tags.get("motorcar") == "no":
        return False
    return tags.get("service") not in PRIVATE_SERVICE


def parse_maxspeed(value: Any) -> float | None:
    """Read an OSM ``maxspeed`` value as km/h: ``"50"``, ``"30 mph"``, ``"50;70"`` (mean).

    Returns None for values without a number (``"signals"``, ``"none"``, ``"RU:urban"``).
    """
    values = value if isinstance(value, list) else [value]
    speeds: list[float] = []
    for v in values:
        for part in str(v).split(";"):
            m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?\s*$", part)
            if m:
                speeds.append(float(m.group(1)) * (_MPH if m.group(2) else 1.0))
    return float(np.mean(speeds)) if speeds else None


def way_speed(highway: str, maxspeed: Any, settings: Settings) -> float:
    """Emergency driving speed of a way, km/h.

    The class speed of ``settings.speeds`` (JTG design speeds x ~0.7); where the way has a
    ``maxspeed`` in the plausible range, ``[network] maxspeed_rule`` decides: ``"derate"``
    (default) takes ``maxspeed x maxspeed_factor``, the same derating as the class speeds;
    ``"raw"`` takes the posted limit as it is; ``"ignore"`` keeps the class speed.
    """
    net = settings.network
    if maxspeed is not None and net.maxspeed_rule != "ignore":
        ms = parse_maxspeed(maxspeed)
        if ms is not None and net.maxspeed_min_kph <= ms <= net.maxspeed_max_kph:
            return ms * net.maxspeed_factor if net.maxspeed_rule == "derate" else ms
    return settings.speed_kph(highway)


# --- raw ways -> segments -> merged edges ----------------------------------------------------

@dataclass
class _Ways:
    """Ways as flat vertex arrays: way ``w`` has vertices ``ptr[w]:ptr[w + 1]``."""

    ptr: IntArray
    node: IntArray  # node id of each vertex (OSM id, or a made-up id for road lines)
    lon: FloatArray
    lat: FloatArray
    cls: list[str]  # road class per way
    speed: FloatArray  # km/h per way
    oneway: npt.NDArray[np.int8]  # 0 two-way, 1 forward, -1 backward
    projected: bool = False  # lon/lat already hold metres


def _oneway(tags: Any) -> int:
    ow = str(tags.get("oneway", "no")).strip().lower()
    if ow in ("yes", "true", "1"):
        return 1
    if ow == "-1" or ow == "reverse":
        return -1
    if tags.get("junction") in ("roundabout", "circular") and ow != "no":
        return 1
    hwy = tags.get("highway", "")
    if hwy in ("motorway",) and ow != "no":
        return 1
    return 0


def _read_osm(path: Path, settings: Settings, notes: list[str]) -> _Ways:
    """Drivable ways of an OSM file with their node locations (pyosmium)."""
    import osmium

    exclude = frozenset(settings.network.exclude_highway)
    ptr = [0]
    node: list[int] = []
    lon: list[float] = []
    lat: list[float] = []
    cls: list[str] = []
    speed: list[float] = []
    oneway: list[int] = []
    broken_ways = 0
    missing_nodes = 0
    try:
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations()
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
              .with_filter(osmium.filter.KeyFilter("highway")))
        for way in fp:
            tags = way.tags
            if not highway_ok(tags, exclude):
                continue
            hwy = str(tags.get("highway"))
            spd = way_speed(hwy, tags.get("maxspeed"), settings)
            ow = _oneway(tags)
            refs = [(n.ref, n.location) for n in way.nodes]  # type: ignore[union-attr]
            bad = [not loc.valid() for _, loc in refs]
            if any(bad):
                broken_ways += 1
                missing_nodes += sum(bad)
            # split the way at missing nodes: keep the pieces of two or more known nodes
            piece: list[tuple[int, Any]] = []
            for (ref, loc), b in zip([*refs, (0, None)], [*bad, True], strict=True):
                if not b:
                    piece.append((ref, loc))
                    continue
                if len(piece) >= 2:
                    for r, lc in piece:
                        node.append(r)
                        lon.append(lc.lon)
                        lat.append(lc.lat)
                    ptr.append(len(node))
                    cls.append(hwy)
                    speed.append(spd)
                    oneway.append(ow)
                piece = []
    except RuntimeError as exc:  # pyosmium raises RuntimeError for unreadable files
        raise NetworkError(Msg("osm_unreadable", path=str(path), detail=str(exc))) from exc
    if broken_ways:
        notes.append(Msg("osm_broken_ways", file=path.name, ways=broken_ways,
                         nodes=missing_nodes))
    return _Ways(np.array(ptr, dtype=np.int64), np.array(node, dtype=np.int64),
                 np.array(lon), np.array(lat), cls, np.array(speed, dtype=float),
                 np.array(oneway, dtype=np.int8))


def _read_lines(source: RoadSource, crs: CRS, settings: Settings) -> _Ways:
    """Road lines with a class or speed column; lines meet where their ends meet."""
    import pyogrio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = pyogrio.read_dataframe(source.path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise NetworkError(Msg("lines_unreadable", path=str(source.path),
                               detail=str(exc))) from exc
    if gdf.crs is None:
        if source.crs is None:
            raise NetworkError(Msg("lines_no_crs", path=str(source.path)))
        gdf = gdf.set_crs(source.crs)
    has_class = source.class_field in gdf
    has_speed = source.speed_field is not None and source.speed_field in gdf
    if not has_class and not has_speed:
        raise NetworkError(Msg("lines_no_class", path=str(source.path),
                               field=source.class_field))
    gdf = gdf.to_crs(crs).explode(index_parts=False).reset_index(drop=True)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty
              & (gdf.geom_type == "LineString")].reset_index(drop=True)
    if len(gdf) == 0:
        raise NetworkError(Msg("lines_none", path=str(source.path)))
    coords, index = shapely.get_coordinates(gdf.geometry.values, return_index=True)
    counts = np.bincount(index, minlength=len(gdf))
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # line ends meet where they coincide (to 0.1 m); inner vertices belong to their line
    is_end = np.zeros(len(coords), dtype=bool)
    is_end[ptr[:-1]] = True
    is_end[ptr[1:] - 1] = True
    key = np.round(coords[is_end], 1)
    _, end_id = np.unique(key, axis=0, return_inverse=True)
    node = np.empty(len(coords), dtype=np.int64)
    node[is_end] = end_id.ravel()
    node[~is_end] = int(end_id.max()) + 1 + np.arange(int((~is_end).sum()))
    cls_col = gdf[source.class_field].astype("string") if has_class else None
    classes = [str(c) if cls_col is not None and c is not None and str(c) != "<NA>"
               else settings.network.default_class
               for c in (cls_col if cls_col is not None else [None] * len(gdf))]
    speeds = np.empty(len(gdf))
    for i, c in enumerate(classes):
        given = None
        if has_speed:
            with contextlib.suppress(TypeError, ValueError):
                given = float(gdf[source.speed_field].iloc[i])  # type: ignore[index]
        speeds[i] = given if given is not None and np.isfinite(given) and given > 0 else \
            settings.speed_kph(c)
    ow = np.zeros(len(gdf), dtype=np.int8)
    if source.oneway_field and source.oneway_field in gdf:
        text = gdf[source.oneway_field].astype("string").str.strip().str.lower()
        ow[text.isin(["yes", "1", "true", "t"]).to_numpy(dtype=bool)] = 1
        ow[(text == "-1").to_numpy(dtype=bool)] = -1
    return _Ways(ptr, node, coords[:, 0], coords[:, 1], classes, speeds, ow, projected=True)


@njit(cache=True)
def _chains(n: int, a: Any, b: Any, d: Any) -> Any:  # pragma: no cover - compiled
    """Merge segments into chains between junctions.

    ``a``, ``b``: node indices of each segment; ``d``: 0 two-way, 1 one-way a -> b. A node is
    a junction unless exactly two segments meet there with the same directionality (both
    two-way, or one-way in and one-way out). Returns, per chain, the segments in walking order
    with whether each is walked a -> b, the chain's offsets and its first node.
    """
    m = a.shape[0]
    deg = np.zeros(n, dtype=np.int64)
    for k in range(m):
        deg[a[k]] += 1
        deg[b[k]] += 1
    ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        ptr[i + 1] = ptr[i] + deg[i]
    fill = ptr[:-1].copy()
    inc = np.empty(2 * m, dtype=np.int64)
    for k in range(m):
        inc[fill[a[k]]] = k
        fill[a[k]] += 1
        inc[fill[b[k]]] = k
        fill[b[k]] += 1
    junction = np.ones(n, dtype=np.bool_)
    for x in range(n):
        if deg[x] != 2:
            continue
        s1 = inc[ptr[x]]
        s2 = inc[ptr[x] + 1]
        if s1 == s2:
            continue
        t1 = 0 if d[s1] == 0 else (1 if a[s1] == x else -1)  # 1 leaves x, -1 enters x
        t2 = 0 if d[s2] == 0 else (1 if a[s2] == x else -1)
        if (t1 == 0 and t2 == 0) or (t1 * t2 == -1):
            junction[x] = False
    used = np.zeros(m, dtype=np.bool_)
    seq = np.empty(m, dtype=np.int64)
    fwd = np.empty(m, dtype=np.bool_)
    cptr = np.zeros(m + 1, dtype=np.int64)
    cstart = np.empty(m, dtype=np.int64)
    nseq = 0
    nc = 0
    for phase in range(2):
        for s0 in range(m):
            if used[s0]:
                continue
            if phase == 0:
                # start at a junction end of the segment
                if junction[a[s0]]:
                    x = a[s0]
                elif junction[b[s0]]:
                    x = b[s0]
                else:
                    continue
            else:
                x = a[s0]  # a pure cycle: start anywhere
            start = x
            cstart[nc] = start
            s = s0
            cur = x
            while True:
                used[s] = True
                f = a[s] == cur
                seq[nseq] = s
                fwd[nseq] = f
                nseq += 1
                nxt = b[s] if f else a[s]
                if junction[nxt] or nxt == start:
                    break
                o = inc[ptr[nxt]]
                if o == s:
                    o = inc[ptr[nxt] + 1]
                if used[o]:
                    break
                s = o
                cur = nxt
            nc += 1
            cptr[nc] = nseq
    return seq[:nseq], fwd[:nseq], cptr[: nc + 1], cstart[:nc]


def _project(ways: _Ways, crs: CRS) -> tuple[FloatArray, FloatArray]:
    if ways.projected:
        return ways.lon, ways.lat
    tr = Transformer.from_crs(WGS84, crs, always_xy=True)
    x, y = tr.transform(ways.lon, ways.lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _assemble(ways: _Ways, crs: CRS, clip: shapely.Geometry | None, notes: list[str],
              name: str) -> EdgeArrays:
    """Segments of the ways (clipped), merged into directed edges between junctions."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    x, y = _project(ways, crs)
    nv = len(ways.node)
    way_of = np.repeat(np.arange(len(ways.ptr) - 1), np.diff(ways.ptr))
    last = np.zeros(nv, dtype=bool)
    if nv:
        last[ways.ptr[1:] - 1] = True
    s0 = np.flatnonzero(~last)  # vertex index of each segment's start
    s1 = s0 + 1
    keep = ways.node[s0] != ways.node[s1]
    if clip is not None and len(s0):
        inside = shapely.contains_xy(clip, x, y)
        keep &= inside[s0] | inside[s1]
    s0, s1 = s0[keep], s1[keep]
    if len(s0) == 0:
        raise NetworkError(Msg("no_road_clip" if clip is not None else "no_road", file=name))
    w = way_of[s0]
    seg_len = np.hypot(x[s1] - x[s0], y[s1] - y[s0])
    seg_time = seg_len / (ways.speed[w] / 3.6)
    ow = ways.oneway[w]
    a_id = np.where(ow == -1, ways.node[s1], ways.node[s0])
    b_id = np.where(ow == -1, ways.node[s0], ways.node[s1])
    ax = np.where(ow == -1, s1, s0)  # vertex index of a (for coordinates)
    bx = np.where(ow == -1, s0, s1)
    d = (ow != 0).astype(np.int8)
    # nodes: every segment end, ordered by id
    ids, inv = np.unique(np.concatenate([a_id, b_id]), return_inverse=True)
    k = len(a_id)
    a, b = inv[:k].astype(np.int64), inv[k:].astype(np.int64)
    node_x = np.empty(len(ids))
    node_y = np.empty(len(ids))
    node_x[a], node_y[a] = x[ax], y[ax]
    node_x[b], node_y[b] = x[bx], y[bx]
    class_names = sorted(set(ways.cls))
    code = {c: i for i, c in enumerate(class_names)}
    way_cls = np.array([code[c] for c in ways.cls], dtype=np.int16)
    seg_cls = way_cls[w]
    seq, fwd, cptr, cstart = _chains(len(ids), a, b, d)
    nch = len(cstart)
    clen = np.diff(cptr)
    nxt = np.where(fwd, b[seq], a[seq])
    # vertices of each chain in walking order: its start node, then each segment's far end
    vptr = np.concatenate([[0], np.cumsum(clen + 1)]).astype(np.int64)
    vnode = np.empty(vptr[-1], dtype=np.int64)
    vnode[vptr[:-1]] = cstart
    rest = np.ones(vptr[-1], dtype=bool)
    rest[vptr[:-1]] = False
    vnode[rest] = nxt
    sl = seg_len[seq]
    st = seg_time[seq]
    csum_l = np.concatenate([[0.0], np.cumsum(sl)])
    csum_t = np.concatenate([[0.0], np.cumsum(st)])
    # cumulative at each vertex, restarting at each chain
    vidx_seg = np.empty(vptr[-1], dtype=np.int64)  # segments done before each vertex (global)
    vidx_seg[vptr[:-1]] = cptr[:-1]
    vidx_seg[rest] = np.arange(len(seq)) + 1
    base = np.repeat(cptr[:-1], clen + 1)
    vdist = csum_l[vidx_seg] - csum_l[base]
    vtime = csum_t[vidx_seg] - csum_t[base]
    # class of the segment starting at each vertex (the last vertex repeats the one before)
    pos_in = np.arange(vptr[-1]) - np.repeat(vptr[:-1], clen + 1)
    seg_at = np.repeat(cptr[:-1], clen + 1) + np.minimum(pos_in, np.repeat(clen - 1, clen + 1))
    vclass = seg_cls[seq[seg_at]]
    # directions: a chain is two-way (all d == 0) or one-way, flowing with or against the walk
    first = seq[cptr[:-1]]
    oneway_chain = d[first] == 1
    along = fwd[cptr[:-1]]  # the chain's first segment is walked a -> b
    make_fwd = ~oneway_chain | along
    make_rev = ~oneway_chain | ~along
    L = vdist[vptr[1:] - 1]
    T = vtime[vptr[1:] - 1]
    fw = np.flatnonzero(make_fwd)
    rv = np.flatnonzero(make_rev)
    e_chain = np.concatenate([fw, rv])
    e_rev = np.concatenate([np.zeros(len(fw), bool), np.ones(len(rv), bool)])
    n_e = len(e_chain)
    counts = clen[e_chain] + 1
    out_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # source vertex index for each output vertex
    pos = np.arange(out_ptr[-1]) - np.repeat(out_ptr[:-1], counts)
    src_start = np.repeat(vptr[e_chain], counts)
    src_end = np.repeat(vptr[e_chain + 1] - 1, counts)
    rev_rep = np.repeat(e_rev, counts)
    src = np.where(rev_rep, src_end - pos, src_start + pos)
    o_node = vnode[src]
    o_dist = np.where(rev_rep, np.repeat(L[e_chain], counts) - vdist[src], vdist[src])
    o_time = np.where(rev_rep, np.repeat(T[e_chain], counts) - vtime[src], vtime[src])
    # class of the segment starting at each vertex: reversed, it is the class of the segment
    # ending at the source vertex
    src_prev = np.maximum(src - 1, src_start)
    o_cls = np.where(rev_rep, vclass[src_prev], vclass[src])
    eu = o_node[out_ptr[:-1]]
    ev = o_node[out_ptr[1:] - 1]
    twin = np.full(n_e, -1, dtype=np.int64)
    two = ~oneway_chain
    fi = np.full(nch, -1, dtype=np.int64)
    fi[fw] = np.arange(len(fw))
    ri = np.full(nch, -1, dtype=np.int64)
    ri[rv] = len(fw) + np.arange(len(rv))
    pair = np.flatnonzero(two)
    twin[fi[pair]] = ri[pair]
    twin[ri[pair]] = fi[pair]
    # a deterministic edge order: by (u id, v id, length, first inner vertex)
    inner = o_node[np.minimum(out_ptr[:-1] + 1, out_ptr[1:] - 1)]
    order = np.lexsort((inner, np.round(o_dist[out_ptr[1:] - 1], 3), ids[ev], ids[eu]))
    remap = np.empty(n_e, dtype=np.int64)
    remap[order] = np.arange(n_e)
    counts_o = counts[order]
    new_ptr = np.concatenate([[0], np.cumsum(counts_o)]).astype(np.int64)
    take = (np.repeat(out_ptr[:-1][order] - new_ptr[:-1], counts_o)
            + np.arange(new_ptr[-1])).astype(np.int64)
    twin_o = twin[order]
    twin_o = np.where(twin_o >= 0, remap[np.maximum(twin_o, 0)], -1)
    u_o, v_o = eu[order], ev[order]
    length = o_dist[take][new_ptr[1:] - 1]
    ttime = o_time[take][new_ptr[1:] - 1]
    # graph nodes are the edges' ends; interior vertices live only in the vertex arrays
    used = np.unique(np.concatenate([u_o, v_o]))
    new_index = np.full(len(ids), -1, dtype=np.int64)
    new_index[used] = np.arange(len(used))
    u_o, v_o = new_index[u_o], new_index[v_o]
    n = len(used)
    adj = coo_matrix((np.ones(n_e), (u_o, v_o)), shape=(n, n)).tocsr()
    _, labels = connected_components(adj, directed=True, connection="weak")
    sizes = np.bincount(labels)
    best = np.flatnonzero(sizes == sizes.max())
    node_ids = ids[used].astype(np.int64)
    main = int(min(best, key=lambda c: int(node_ids[labels == c].min())))
    return EdgeArrays(
        node_ids=node_ids, node_x=node_x[used], node_y=node_y[used],
        u=u_o.astype(np.int64), v=v_o.astype(np.int64), length=length, travel_time=ttime,
        twin=twin_o.astype(np.int64), vptr=new_ptr, vx=node_x[o_node[take]],
        vy=node_y[o_node[take]], vdist=o_dist[take], vtime=o_time[take],
        vclass=o_cls[take].astype(np.int16), classes=tuple(class_names),
        component=labels.astype(np.int64), main=main, notes=tuple(notes))


# --- networkx in and out -----------------------------------------------------------------------

def add_travel_times(G: nx.MultiDiGraph, *, settings: Settings) -> nx.MultiDiGraph:
    """Return a copy of ``G`` with ``speed_kph`` and ``travel_time`` (seconds) on every edge.

    The speed is that of the edge's road class in ``settings.speeds`` (the mean where a
    simplified edge has several classes), or its ``maxspeed`` by the rule of
    :func:`way_speed`; ``travel_time = length / speed``.
    """
    H = G.copy()
    for u, v, k, data in H.edges(keys=True, data=True):
        hwy = data.get("highway", settings.network.default_class)
        classes = hwy if isinstance(hwy, list) else [hwy]
        speed = float(np.mean([way_speed(str(c), data.get("maxspeed"), settings)
                               for c in classes]))
        if "length" not in data:
            raise NetworkError(Msg("edge_no_length", u=u, v=v, k=k))
        data["speed_kph"] = round(speed, 3)
        data["travel_time"] = float(data["length"]) / (speed / 3.6)
    return H


def edge_arrays(G: nx.MultiDiGraph) -> EdgeArrays:
    """The arrays of a networkx road graph (osmnx conventions: node ``x``/``y``; edge
    ``length`` m, ``travel_time`` s, optional ``geometry`` and ``highway``).

    A graph edge's time is spread along its geometry in proportion to length (a graph holds
    one time per edge). Two-way roads are recognised as an edge and its reverse of the same
    length.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
    order = np.argsort(node_ids, kind="stable")
    node_ids = node_ids[order]
    pos = {int(n): i for i, n in enumerate(node_ids)}
    xs = np.array([G.nodes[n]["x"] for n in node_ids], dtype=float)
    ys = np.array([G.nodes[n]["y"] for n in node_ids], dtype=float)
    rows = []
    for a, b, _, data in sorted(G.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2])):
        geom = data.get("geometry")
        coords = np.asarray(geom.coords) if geom is not None else np.array(
            [[xs[pos[a]], ys[pos[a]]], [xs[pos[b]], ys[pos[b]]]])
        hwy = data.get("highway", "unknown")
        rows.append((pos[a], pos[b], float(data["length"]),
                     float(data.get("travel_time", np.nan)), coords,
                     str(hwy[0] if isinstance(hwy, list) else hwy)))
    m = len(rows)
    u = np.array([r[0] for r in rows], dtype=np.int64)
    v = np.array([r[1] for r in rows], dtype=np.int64)
    length = np.array([r[2] for r in rows])
    tt = np.array([r[3] for r in rows])
    counts = np.array([len(r[4]) for r in rows], dtype=np.int64)
    vptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    coords = np.concatenate([r[4] for r in rows]) if rows else np.zeros((0, 2))
    seg = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    seg = np.concatenate([[0.0], seg])
    seg[vptr[:-1]] = 0.0
    cum = np.cumsum(seg)
    vdist = cum - np.repeat(cum[vptr[:-1]], counts)
    geom_len = np.repeat(vdist[vptr[1:] - 1], counts)
    scale = np.divide(np.repeat(length, counts), geom_len, out=np.ones(len(vdist)),
                      where=geom_len > 0)
    vdist = vdist * scale
    frac = np.divide(vdist, np.repeat(length, counts), out=np.zeros(len(vdist)),
                     where=np.repeat(length, counts) > 0)
    vtime = frac * np.repeat(tt, counts)
    class_names = sorted({r[5] for r in rows})
    code = {c: i for i, c in enumerate(class_names)}
    vclass = np.repeat(np.array([code[r[5]] for r in rows], dtype=np.int16), counts)
    twin = np.full(m, -1, dtype=np.int64)
    by_pair: dict[tuple[int, int], list[int]] = {}
    for i in range(m):
        by_pair.setdefault((int(u[i]), int(v[i])), []).append(i)
    for i in range(m):
        if twin[i] >= 0:
            continue
        for j in by_pair.get((int(v[i]), int(u[i])), []):
            if j != i and twin[j] < 0 and abs(length[j] - length[i]) <= 0.5:
                twin[i], twin[j] = j, i
                break
    n = len(node_ids)
    adj = coo_matrix((np.ones(m), (u, v)), shape=(n, n)).tocsr()
    _, labels = connected_components(adj, directed=True, connection="weak")
    sizes = np.bincount(labels) if n else np.zeros(1, int)
    best = np.flatnonzero(sizes == sizes.max())
    main = int(min(best, key=lambda c: int(node_ids[labels == c].min()))) if n else 0
    return EdgeArrays(node_ids, xs, ys, u, v, length, tt, twin, vptr, coords[:, 0].copy(),
                      coords[:, 1].copy(), vdist, vtime, vclass, tuple(class_names),
                      labels.astype(np.int64), main)


def to_networkx(ea: EdgeArrays, *, crs: CRS | str | None = None) -> nx.MultiDiGraph:
    """The network as a networkx MultiDiGraph with osmnx's conventions (for API users and
    for saving as GraphML): node ``x``/``y``; edge ``length`` (m), ``travel_time`` (s),
    ``speed_kph``, ``highway``, ``oneway`` and ``geometry``."""
    import networkx as nx

    G = nx.MultiDiGraph(crs=str(crs) if crs is not None else None)
    for i, nid in enumerate(ea.node_ids):
        G.add_node(int(nid), x=float(ea.node_x[i]), y=float(ea.node_y[i]))
    keys = ea.keys
    geoms = ea.geometry
    for e in range(ea.n_edges):
        cls = ea.classes[int(ea.vclass[ea.vptr[e]])]
        t = float(ea.travel_time[e])
        G.add_edge(int(keys[e, 0]), int(keys[e, 1]), key=int(keys[e, 2]),
                   length=float(ea.length[e]), travel_time=t,
                   speed_kph=round(float(ea.length[e]) / t * 3.6, 3) if t > 0 else 0.0,
                   highway=cls, oneway=bool(ea.twin[e] < 0), geometry=geoms[e])
    return G


def _read_graphml(source: RoadSource, settings: Settings, crs: CRS) -> EdgeArrays:
    import osmnx as ox

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            G = ox.load_graphml(source.path)
    except Exception as exc:
        raise NetworkError(Msg("graphml_unreadable", path=str(source.path),
                               detail=f"{type(exc).__name__}: {str(exc)[:200]}")) from exc
    if G.number_of_edges() == 0:
        raise NetworkError(Msg("graphml_no_edges", path=str(source.path)))
    missing = [k for k in ("x", "y") if any(k not in d for _, d in G.nodes(data=True))]
    if missing or any("length" not in d for _, _, d in G.edges(data=True)):
        raise NetworkError(Msg("graphml_fields", path=str(source.path)))
    if "crs" not in G.graph:
        G.graph["crs"] = source.crs or "epsg:4326"
    timed = all(_finite(d.get("travel_time")) for _, _, d in G.edges(data=True))
    if not timed:  # a graph that carries travel times on every edge is used as timed
        G = add_travel_times(G, settings=settings)
    if CRS.from_user_input(G.graph["crs"]) != crs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            G = ox.project_graph(G, to_crs=crs)
    return edge_arrays(G)


def _finite(value: Any) -> bool:
    try:
        return bool(np.isfinite(float(value)) and float(value) >= 0)
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class RoadWays:
    """An OSM file's drivable ways, read once so that several districts can each build their
    network from it (a provincial road file in ``emgis batch``): pass it to
    :func:`build_network` as ``ways``."""

    path: Path
    network_key: str
    ways: _Ways
    notes: tuple[str, ...]


def read_road_ways(source: RoadSource, *, settings: Settings) -> RoadWays:
    """Read the drivable ways of an OSM road file (see :class:`RoadWays`).

    Raises
    ------
    NetworkError
        The file is missing, not OSM, or unreadable.
    """
    if not source.path.exists():
        raise NetworkError(Msg("roads_file_not_found", path=str(source.path)))
    if source.format != "osm":
        raise NetworkError(Msg("roads_shared_osm_only", path=str(source.path)))
    notes: list[str] = []
    ways = _read_osm(source.path, settings, notes)
    return RoadWays(source.path.resolve(), settings.network_key(), ways, tuple(notes))


def build_network(source: RoadSource, *, settings: Settings, crs: CRS,
                  clip: shapely.Geometry | None = None,
                  ways: RoadWays | None = None) -> EdgeArrays:
    """Build the drivable road network of ``source`` as arrays, projected to ``crs``.

    Parameters
    ----------
    source
        The road file and how to read it.
    settings
        Speeds per road class and the network options.
    crs
        The metric CRS of the district.
    clip
        Keep only segments with an end inside this area (metres, ``crs``); None keeps all.
    ways
        The file's ways already read (:func:`read_road_ways`); used when they are of this
        file and these network settings, else the file is read.

    Returns
    -------
    EdgeArrays

    Raises
    ------
    NetworkError
        The file is missing, unreadable or has no drivable road (inside the clip area).
    """
    if not source.path.exists():
        raise NetworkError(Msg("roads_file_not_found", path=str(source.path)))
    notes: list[str] = []
    if source.format == "osm" and ways is not None and ways.path == source.path.resolve() \
            and ways.network_key == settings.network_key():
        notes.extend(ways.notes)
        ea = _assemble(ways.ways, crs, clip, notes, source.path.name)
    elif source.format == "osm":
        read = _read_osm(source.path, settings, notes)
        ea = _assemble(read, crs, clip, notes, source.path.name)
    elif source.format == "lines":
        lines = _read_lines(source, crs, settings)
        ea = _assemble(lines, crs, clip, notes, source.path.name)
    else:
        ea = _read_graphml(source, settings, crs)
    for note in notes:
        log.warning("%s", note)
    return ea


# --- the cache ----------------------------------------------------------------------------------

_ARRAYS = ("node_ids", "node_x", "node_y", "u", "v", "length", "travel_time", "twin", "vptr",
           "vx", "vy", "vdist", "vtime", "vclass", "component")


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_edge_arrays(ea: EdgeArrays, path: str | Path) -> Path:
    """Write the arrays to an ``.npz`` file with their format version and a checksum,
    atomically."""
    from emgis.outputs.folder import atomic_write

    path = Path(path)
    arrays = {k: getattr(ea, k) for k in _ARRAYS}
    meta = {"format": CACHE_FORMAT, "classes": list(ea.classes), "main": ea.main,
            "notes": [msg_to_json(n) for n in ea.notes], "checksum": _checksum(arrays)}

    def write(p: Path) -> None:
        with p.open("wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)

    atomic_write(path, write)
    return path


def load_edge_arrays(path: str | Path) -> EdgeArrays:
    """Read arrays written by :func:`save_edge_arrays`.

    Raises
    ------
    CacheError
        The file is damaged (truncated, not an npz, arrays changed) or of another format.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in _ARRAYS}
    except Exception as exc:
        raise CacheError(Msg("cache_damaged", path=str(path), detail=type(exc).__name__)) from exc
    if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
        raise CacheError(Msg("cache_format", path=str(path),
                             format=meta.get("format") if isinstance(meta, dict) else "?"))
    if meta.get("checksum") != _checksum(arrays):
        raise CacheError(Msg("cache_checksum", path=str(path)))
    return EdgeArrays(**{k: arrays[k] for k in _ARRAYS if k != "component"},
                      classes=tuple(meta["classes"]), component=arrays["component"],
                      main=int(meta["main"]),
                      notes=tuple(msg_from_json(n) for n in meta.get("notes", ())))


def clip_area(district: District) -> shapely.Geometry | None:
    """The area the roads are clipped to: the district's area (townships or ``[district]
    bbox``, else the hull of every point) grown by ``[network] clip_buffer_m``; None when
    ``[network] clip = false``."""
    net = district.settings.network
    if not net.clip:
        return None
    area = district.area
    if area is None:
        pts = [g for layer in (district.villages, district.teams, district.stockpiles,
                               district.shelters, district.candidates)
               for g in layer.geometry.values if g is not None and not g.is_empty]
        if not pts:
            return None
        area = shapely.convex_hull(shapely.multipoints(pts))
    return shapely.buffer(area, net.clip_buffer_m)


def _file_digest(path: Path) -> str:
    st = path.stat()
    return _digest_of(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    """A file's digest, read once per content (size and time) in a process: a provincial road
    file is looked up by every district of a batch."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "emgis"


def cache_path(source: RoadSource, *, settings: Settings, crs: CRS,
               clip: shapely.Geometry | None = None) -> Path:
    """Where the network built from ``source`` with these settings, CRS and clip area is
    cached: ``.emgis-cache/`` beside the road file, or the user's cache folder
    (``$XDG_CACHE_HOME/emgis``) when that cannot be written."""
    epsg = crs.to_epsg() or hashlib.sha256(crs.to_wkt().encode()).hexdigest()[:8]
    area = "all" if clip is None else hashlib.sha256(
        shapely.to_wkb(shapely.set_precision(clip, 1.0))).hexdigest()[:10]
    name = (f"{source.path.name}-{_file_digest(source.path)}-{settings.network_key()}"
            f"-{epsg}-{area}-v{CACHE_FORMAT}.npz")
    folder = source.path.parent / CACHE_DIR
    try:
        folder.mkdir(exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        folder = _user_cache()
    return folder / name


def load_network_arrays(
    district: District, *, use_cache: bool = True,
    on_wait: Callable[[str], None] | None = None, ways: RoadWays | None = None,
) -> tuple[EdgeArrays, Path | None]:
    """The district's road network as :class:`EdgeArrays`, from the cache when it is there.

    Parameters
    ----------
    district
        A loaded district with a ``[roads]`` source.
    use_cache
        Read and write the cache (False: build from the road file, write nothing).
    on_wait
        Called with a message if another process is building the same cache (this one waits
        for it and then reads it).
    ways
        The road file's ways already read (:func:`read_road_ways`), used if the cache must
        be built.

    Returns
    -------
    (EdgeArrays, pathlib.Path or None)
        The arrays and the cache file used or written (None without cache).

    Raises
    ------
    NetworkError
        No ``[roads]``, or the road file cannot be read.
    """
    from emgis.outputs.folder import locked

    if district.roads is None:
        raise NetworkError(Msg("no_roads_table", path=str(district.root / "district.toml")))
    source = district.roads
    clip = clip_area(district)
    if not use_cache:
        return build_network(source, settings=district.settings, crs=district.crs,
                             clip=clip, ways=ways), None
    path = cache_path(source, settings=district.settings, crs=district.crs, clip=clip)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.with_suffix(".lock"), what=Msg("lock_cache", name=path.name),
                on_wait=on_wait):
        if path.exists():
            try:
                ea = load_edge_arrays(path)
                log.info("road network from cache %s", path)
                return ea, path
            except CacheError as exc:
                log.warning("%s", Msg("cache_rebuilding", why=exc.args[0] if exc.args else ""))
        ea = build_network(source, settings=district.settings, crs=district.crs, clip=clip,
                           ways=ways)
        save_edge_arrays(ea, path)
        log.info("road network cached at %s", path)
    return ea, path


def load_network(district: District, *, use_cache: bool = True
                 ) -> tuple[nx.MultiDiGraph, Path | None]:
    """The district's road network as a networkx MultiDiGraph (see :func:`to_networkx`), for
    API users; emgis itself works on :func:`load_network_arrays`."""
    ea, path = load_network_arrays(district, use_cache=use_cache)
    return to_networkx(ea, crs=district.crs), path


@dataclass(frozen=True)
class NetworkSummary:
    """Size of a road network.

    Attributes
    ----------
    nodes, edges
        Counts of the directed graph.
    km_by_class
        Kilometres of road per class; a two-way road counts once.
    components
        Number of weakly connected components.
    largest_component
        Nodes in the largest weakly connected component.
    strong_components
        Number of strongly connected components (one-way traps show up here).
    """

    nodes: int
    edges: int
    km_by_class: dict[str, float]
    components: int
    largest_component: int
    strong_components: int


def summarize_network(network: EdgeArrays | nx.MultiDiGraph) -> NetworkSummary:
    """Count nodes, edges, road length per class and components."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ea = network if isinstance(network, EdgeArrays) else edge_arrays(network)
    n = ea.n_nodes
    adj = coo_matrix((np.ones(ea.n_edges), (ea.u, ea.v)), shape=(n, n)).tocsr()
    n_strong, _ = connected_components(adj, directed=True, connection="strong")
    sizes = np.bincount(ea.component) if n else np.zeros(0, int)
    return NetworkSummary(
        nodes=n, edges=ea.n_edges, km_by_class=ea.km_by_class(),
        components=len(sizes), largest_component=int(sizes.max()) if n else 0,
        strong_components=int(n_strong),
    )


def edges_frame(network: EdgeArrays | nx.MultiDiGraph, *, crs: CRS | str | None = None
                ) -> gpd.GeoDataFrame:
    """The edges as a GeoDataFrame indexed by (u, v, key) (node ids), as osmnx's
    ``graph_to_gdfs``: length (m), travel_time (s), highway (class of the first segment),
    oneway, geometry."""
    import geopandas as gpd
    import pandas as pd

    ea = network if isinstance(network, EdgeArrays) else edge_arrays(network)
    keys = ea.keys
    index = pd.MultiIndex.from_arrays([keys[:, 0], keys[:, 1], keys[:, 2]],
                                      names=["u", "v", "key"])
    return gpd.GeoDataFrame({
        "length": ea.length, "travel_time": ea.travel_time,
        "highway": np.array(ea.classes, dtype=object)[ea.vclass[ea.vptr[:-1]]]
        if ea.classes else np.array([], dtype=object),
        "oneway": ea.twin < 0}, geometry=list(ea.geometry), crs=crs, index=index)
