"""Assembling ways into the network: projected to metres, clipped to the district, chains of
segments between junctions joined into edges that keep the time at every vertex."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numba import njit
from pyproj import CRS, Transformer

from emgis._errors import NetworkError
from emgis._types import FloatArray
from emgis.inputs.settings import Settings
from emgis.texts import Msg

if TYPE_CHECKING:

    from emgis.inputs.district import RoadSource

from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from emgis.roads.edges import EdgeArrays
from emgis.roads.nxio import _read_graphml
from emgis.roads.readers import WGS84, RoadWays, _read_lines, _read_osm, _Ways

log = logging.getLogger(__name__)

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


def build_network(source: RoadSource, *, settings: Settings, crs: CRS,
                  clip: shapely.Geometry | None = None,
                  ways: RoadWays | None = None) -> EdgeArrays:
    """Build the drivable road network of ``source`` as arrays, projected to ``crs``; from
    OSM, with the walking network (:data:`~emgis.inputs.settings.DEFAULT_WALK_HIGHWAY`) as its
    ``walk``.

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
    if source.format == "osm":
        if ways is not None and ways.path == source.path.resolve() \
                and ways.network_key == settings.network_key():
            notes.extend(ways.notes)
            read = ways.ways
        else:
            read = _read_osm(source.path, settings, notes)
        ea = _assemble(read.driven(), crs, clip, notes, source.path.name)
        walked = read.walked()
        if walked is not None:  # the walkers' network: arrays of its own
            try:
                walk = _assemble(walked, crs, clip, [], source.path.name)
            except NetworkError:  # no walkable way inside the area: walkers use the roads
                walk = None
            ea = replace(ea, walk=walk)
    elif source.format == "lines":
        lines = _read_lines(source, crs, settings, notes)
        ea = _assemble(lines, crs, clip, notes, source.path.name)
    else:
        ea = _read_graphml(source, settings, crs)
    for note in notes:
        log.warning("%s", note)
    return ea
