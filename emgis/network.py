"""The road network: a directed drivable graph with travel times, in the district's metric CRS.

The graph follows osmnx's conventions (a ``networkx.MultiDiGraph`` with node ``x``/``y``, edge
``length`` in metres, ``highway``, ``oneway``, ``geometry``, ``speed_kph`` and ``travel_time``
in seconds, and a ``crs`` graph attribute). It is built from:

- an OSM ``.osm.pbf`` or ``.osm`` file: pyosmium keeps the drivable ways (osmnx's "drive"
  filter, settable) and their nodes, and osmnx builds and simplifies the graph, respecting
  ``oneway`` (including ``oneway=-1``);
- a GraphML file (for example one saved by osmnx);
- road lines with an OSM-style class or a speed column (lines meet where their ends meet).

Each edge's speed is the speed of its road class in the settings; a plausible OSM ``maxspeed``
wins. The built graph is cached beside the input, keyed by the input file's content, the
network settings and the CRS, so that a second run does not parse OSM again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from emgis._errors import NetworkError
from emgis.district import District, RoadSource
from emgis.settings import Settings

log = logging.getLogger(__name__)

#: Bump when the built graph changes shape, so that old caches are not reused.
CACHE_VERSION = 2
CACHE_DIR = ".emgis-cache"

_MPH = 1.609344


def _highway_ok(tags: Any, exclude: frozenset[str]) -> bool:
    """osmnx's "drive" filter, applied to one way's tags."""
    hwy = tags.get("highway")
    if hwy is None or hwy in exclude:
        return False
    if tags.get("area") == "yes" or tags.get("access") == "private":
        return False
    if tags.get("motor_vehicle") == "no" or tags.get("motorcar") == "no":
        return False
    return tags.get("service") not in (
        "alley", "driveway", "emergency_access", "parking", "parking_aisle", "private"
    )


def _filter_osm(src: Path, dst: Path, settings: Settings) -> int:
    """Write the drivable ways of ``src`` and their nodes to the OSM XML file ``dst``."""
    import osmium

    exclude = frozenset(settings.network.exclude_highway)
    way_ids: set[int] = set()
    node_ids: set[int] = set()
    for way in osmium.FileProcessor(str(src), osmium.osm.WAY):
        if isinstance(way, osmium.osm.Way) and _highway_ok(way.tags, exclude):
            way_ids.add(way.id)
            node_ids.update(n.ref for n in way.nodes)
    if not way_ids:
        raise NetworkError(
            f"{src}: no drivable road (highway=* not in [network] exclude_highway); check that "
            "the file is the district's OSM extract"
        )
    writer = osmium.SimpleWriter(str(dst))
    try:
        for obj in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
            if isinstance(obj, osmium.osm.Node) and obj.id in node_ids:
                writer.add_node(obj)
            elif isinstance(obj, osmium.osm.Way) and obj.id in way_ids:
                writer.add_way(obj)
    finally:
        writer.close()
    return len(way_ids)


def _graph_from_osm(path: Path, settings: Settings) -> nx.MultiDiGraph:
    try:
        with tempfile.TemporaryDirectory() as tmp:
            xml = Path(tmp) / "drivable.osm"
            n = _filter_osm(path, xml, settings)
            log.info("%s: %d drivable ways", path.name, n)
            G = ox.graph_from_xml(xml, simplify=False, retain_all=True)
    except RuntimeError as exc:  # pyosmium raises RuntimeError for unreadable files
        raise NetworkError(f"{path}: cannot be read as OSM data ({exc})") from exc
    G.graph["crs"] = "epsg:4326"
    # Time each OSM segment at its own speed, then merge chains of segments between junctions
    # and class changes, summing length and travel time.
    G = add_travel_times(G, settings=settings)
    G = ox.simplify_graph(G, edge_attrs_differ=["highway"],
                          edge_attr_aggs={"length": sum, "travel_time": sum})
    for _, _, data in G.edges(data=True):
        data["speed_kph"] = round(float(data["length"]) / float(data["travel_time"]) * 3.6, 3)
        for key, value in data.items():
            if isinstance(value, list):  # osmnx merges values through a set: fix the order
                data[key] = sorted(value, key=str)
    return G


def _graph_from_lines(source: RoadSource, crs: CRS) -> nx.MultiDiGraph:
    try:
        gdf = pyogrio.read_dataframe(source.path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise NetworkError(f"{source.path}: cannot be read as road lines ({exc})") from exc
    if gdf.crs is None:
        if source.crs is None:
            raise NetworkError(f"{source.path}: road lines have no CRS; add crs = \"EPSG:...\" "
                               "to [roads] in district.toml")
        gdf = gdf.set_crs(source.crs)
    if source.class_field not in gdf and (source.speed_field is None
                                          or source.speed_field not in gdf):
        raise NetworkError(
            f"{source.path}: no road class column {source.class_field!r} and no speed column; "
            "set class_field or speed_field in [roads]"
        )
    gdf = gdf.to_crs(crs).explode(index_parts=False).reset_index(drop=True)
    G = nx.MultiDiGraph(crs=crs.to_string())
    keys: dict[tuple[float, float], int] = {}

    def node(xy: tuple[float, float]) -> int:
        k = (round(xy[0], 1), round(xy[1], 1))
        if k not in keys:
            keys[k] = len(keys)
            G.add_node(keys[k], x=k[0], y=k[1])
        return keys[k]

    for i, row in gdf.iterrows():
        line = row.geometry
        if line is None or line.is_empty or line.geom_type != "LineString":
            continue
        coords = list(line.coords)
        u, v = node(coords[0]), node(coords[-1])
        attrs: dict[str, Any] = {"osmid": int(i), "length": float(line.length)}
        if source.class_field in gdf and pd.notna(row[source.class_field]):
            attrs["highway"] = str(row[source.class_field])
        if source.speed_field and source.speed_field in gdf and pd.notna(row[source.speed_field]):
            attrs["maxspeed"] = str(row[source.speed_field])
        oneway = str(row[source.oneway_field]).strip().lower() if (
            source.oneway_field and source.oneway_field in gdf) else "no"
        fwd = shapely.LineString(coords)
        rev = shapely.LineString(coords[::-1])
        if oneway == "-1":
            G.add_edge(v, u, **attrs, oneway=True, reversed=False, geometry=rev)
        else:
            is_oneway = oneway in ("yes", "1", "true", "t")
            G.add_edge(u, v, **attrs, oneway=is_oneway, reversed=False, geometry=fwd)
            if not is_oneway:
                G.add_edge(v, u, **attrs, oneway=False, reversed=True, geometry=rev)
    return G


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


def add_travel_times(G: nx.MultiDiGraph, *, settings: Settings) -> nx.MultiDiGraph:
    """Return a copy of ``G`` with ``speed_kph`` and ``travel_time`` (seconds) on every edge.

    The speed is that of the edge's road class in ``settings.speeds`` (the mean where a
    simplified edge has several classes); a ``maxspeed`` within the plausible range of
    ``settings.network`` wins. ``travel_time = length / speed``.
    """
    H = G.copy()
    net = settings.network
    for u, v, k, data in H.edges(keys=True, data=True):
        speed = None
        if "maxspeed" in data:
            ms = parse_maxspeed(data["maxspeed"])
            if ms is not None and net.maxspeed_min_kph <= ms <= net.maxspeed_max_kph:
                speed = ms
        if speed is None:
            hwy = data.get("highway", net.default_class)
            classes = hwy if isinstance(hwy, list) else [hwy]
            speed = float(np.mean([settings.speed_kph(str(c)) for c in classes]))
        if "length" not in data:
            raise NetworkError(f"edge {u}->{v} key {k} has no length")
        data["speed_kph"] = round(speed, 3)
        data["travel_time"] = float(data["length"]) / (speed / 3.6)
    return H


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def cache_path(source: RoadSource, *, settings: Settings, crs: CRS) -> Path:
    """Where the network built from ``source`` with these settings and CRS is cached."""
    epsg = crs.to_epsg() or hashlib.sha256(crs.to_wkt().encode()).hexdigest()[:8]
    name = (f"{source.path.name}-{_file_digest(source.path)}-{settings.network_key()}"
            f"-{epsg}-v{CACHE_VERSION}.graphml")
    return source.path.parent / CACHE_DIR / name


def build_network(source: RoadSource, *, settings: Settings, crs: CRS) -> nx.MultiDiGraph:
    """Build the drivable road graph from ``source``, projected to ``crs``, with travel times.

    Parameters
    ----------
    source
        The road file and how to read it.
    settings
        Speeds per road class and the network options.
    crs
        The metric CRS of the district.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes with ``x``, ``y`` in metres; edges with ``length`` (m), ``speed_kph`` and
        ``travel_time`` (s).

    Raises
    ------
    NetworkError
        The file is missing, unreadable or has no drivable road.
    """
    if not source.path.exists():
        raise NetworkError(f"{source.path}: road network file not found; check [roads] path")
    if source.format == "osm":
        G = _graph_from_osm(source.path, settings)
    elif source.format == "graphml":
        G = ox.load_graphml(source.path)
        if "crs" not in G.graph:
            G.graph["crs"] = source.crs or "epsg:4326"
    else:
        G = _graph_from_lines(source, crs)
    if source.format != "osm":
        G = add_travel_times(G, settings=settings)
    if len(G) == 0:
        raise NetworkError(f"{source.path}: the road network is empty")
    if CRS.from_user_input(G.graph["crs"]) != crs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            G = ox.project_graph(G, to_crs=crs)
    G.graph["crs"] = crs.to_string()
    G.graph["source"] = source.path.name
    return G


def load_network(
    district: District, *, use_cache: bool = True
) -> tuple[nx.MultiDiGraph, Path | None]:
    """Return the district's road network, from the cache when it is there.

    Parameters
    ----------
    district
        A loaded district with a ``[roads]`` source.
    use_cache
        Read and write the cache beside the road file.

    Returns
    -------
    (networkx.MultiDiGraph, pathlib.Path or None)
        The graph and the cache file used or written (None without cache).
    """
    if district.roads is None:
        raise NetworkError(f"{district.root / 'district.toml'}: no [roads]; add "
                           "[roads] path = \"roads.osm.pbf\" (or GraphML, or road lines)")
    source = district.roads
    if not use_cache:
        return build_network(source, settings=district.settings, crs=district.crs), None
    path = cache_path(source, settings=district.settings, crs=district.crs)
    if path.exists():
        log.info("road network from cache %s", path)
        G = ox.load_graphml(path)
        return G, path
    G = build_network(source, settings=district.settings, crs=district.crs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    ox.save_graphml(G, tmp)
    tmp.replace(path)
    log.info("road network cached at %s", path)
    return G, path


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


def summarize_network(G: nx.MultiDiGraph) -> NetworkSummary:
    """Count nodes, edges, road length per class and components of ``G``."""
    km: dict[str, float] = {}
    seen: set[tuple[int, int, int]] = set()
    for u, v, k, data in G.edges(keys=True, data=True):
        twin = (v, u, k)
        if twin in seen and not data.get("oneway", False):
            continue
        seen.add((u, v, k))
        hwy = data.get("highway", "unknown")
        cls = str(hwy[0] if isinstance(hwy, list) else hwy)
        km[cls] = km.get(cls, 0.0) + float(data.get("length", 0.0)) / 1000.0
    comps = [len(c) for c in nx.weakly_connected_components(G)]
    return NetworkSummary(
        nodes=G.number_of_nodes(),
        edges=G.number_of_edges(),
        km_by_class={k: round(v, 1) for k, v in sorted(km.items(), key=lambda kv: -kv[1])},
        components=len(comps),
        largest_component=max(comps) if comps else 0,
        strong_components=nx.number_strongly_connected_components(G),
    )


@dataclass(frozen=True)
class EdgeArrays:
    """The graph's nodes and edges as arrays, extracted once for the fast paths.

    Attributes
    ----------
    node_ids
        Graph node id of each node index.
    keys
        ``(u, v, key)`` of each edge (graph node ids), shape (edges, 3), in the graph's order.
    u, v
        Node indices of each edge's ends.
    length, travel_time
        Metres and seconds per edge.
    geometry
        A LineString per edge, from ``u`` to ``v`` (straight where the graph has none).
    component
        Weakly connected component label of each node; ``main`` is the largest.
    penalty
        Optional multiplier of each edge's time (``inf`` = closed), set by hazard scenarios.
    """

    node_ids: np.ndarray
    keys: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    travel_time: np.ndarray
    geometry: np.ndarray
    component: np.ndarray
    main: int
    penalty: np.ndarray | None = None


def save_edge_arrays(ea: EdgeArrays, path: str | Path) -> Path:
    """Write edge arrays to an ``.npz`` file (geometry as coordinates and offsets)."""
    path = Path(path)
    coords, index = shapely.get_coordinates(ea.geometry, return_index=True)
    with path.open("wb") as fh:
        np.savez(fh, node_ids=ea.node_ids, keys=ea.keys, u=ea.u, v=ea.v, length=ea.length,
                 travel_time=ea.travel_time, coords=coords, index=index,
                 component=ea.component, main=np.array([ea.main]))
    return path


def load_edge_arrays(path: str | Path) -> EdgeArrays:
    """Read edge arrays written by :func:`save_edge_arrays`."""
    with np.load(Path(path)) as z:
        geoms = shapely.linestrings(z["coords"], indices=z["index"])
        return EdgeArrays(z["node_ids"], z["keys"], z["u"], z["v"], z["length"], z["travel_time"],
                          np.asarray(geoms, dtype=object), z["component"], int(z["main"][0]))


def load_network_arrays(district: District) -> tuple[EdgeArrays, Path]:
    """The district's road network as :class:`EdgeArrays`, cached beside the graph's cache.

    Large networks load several times faster this way, and without the memory of a networkx
    graph; :func:`emgis.coverage.compute_coverage` accepts either.
    """
    if district.roads is None:
        raise NetworkError(f"{district.root / 'district.toml'}: no [roads]")
    graph_path = cache_path(district.roads, settings=district.settings, crs=district.crs)
    path = graph_path.with_suffix(".edges.npz")
    if path.exists():
        return load_edge_arrays(path), path
    G, _ = load_network(district)
    ea = edge_arrays(G)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_edge_arrays(ea, tmp)
    tmp.replace(path)
    return ea, path


def edge_arrays(G: nx.MultiDiGraph) -> EdgeArrays:
    """Extract nodes, edges, geometries and components of ``G`` in one pass."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
    pos = {int(n): i for i, n in enumerate(node_ids)}
    xs = np.array([G.nodes[n]["x"] for n in node_ids], dtype=float)
    ys = np.array([G.nodes[n]["y"] for n in node_ids], dtype=float)
    m = G.number_of_edges()
    keys = np.empty((m, 3), dtype=np.int64)
    u = np.empty(m, dtype=np.int64)
    v = np.empty(m, dtype=np.int64)
    length = np.empty(m)
    tt = np.empty(m)
    geom = np.empty(m, dtype=object)
    i = 0
    for a, nbrs in G._adj.items():  # the graph's own storage: 3x faster than the edge view
        pa = pos[a]
        for b, kd in nbrs.items():
            pb = pos[b]
            for k, data in kd.items():
                keys[i] = (a, b, k)
                u[i] = pa
                v[i] = pb
                length[i] = data["length"]
                tt[i] = data.get("travel_time", np.nan)
                geom[i] = data.get("geometry")
                i += 1
    missing = np.flatnonzero(np.array([g is None for g in geom], dtype=bool))
    if len(missing):
        coords = np.empty((2 * len(missing), 2))
        coords[0::2, 0], coords[0::2, 1] = xs[u[missing]], ys[u[missing]]
        coords[1::2, 0], coords[1::2, 1] = xs[v[missing]], ys[v[missing]]
        geom[missing] = shapely.linestrings(coords, indices=np.repeat(np.arange(len(missing)), 2))
    n = len(node_ids)
    adj = coo_matrix((np.ones(m), (u, v)), shape=(n, n)).tocsr()
    _, labels = connected_components(adj, directed=True, connection="weak")
    sizes = np.bincount(labels)
    # the largest component; among equals the one holding the smallest node id
    best = np.flatnonzero(sizes == sizes.max())
    main = int(min(best, key=lambda c: int(node_ids[labels == c].min())))
    return EdgeArrays(node_ids, keys, u, v, length, tt, geom, labels, main)


def edges_frame(G: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """The graph's edges as a GeoDataFrame indexed by (u, v, key), straight lines filled in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        edges = ox.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True)
    return edges
