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
``maxspeed`` derated like the class speeds, see :class:`~emgis.inputs.settings.NetworkSettings`),
and
chains of segments between junctions are merged into one edge that keeps the distance and the
time *at every vertex*: a location part way along an edge, or a hazard zone over part of it,
gets the exact time of the segments it covers. ``oneway`` (including ``-1`` and roundabouts) is
respected. The roads are clipped to the district (townships or bbox) grown by
``[network] clip_buffer_m``, so one provincial file can feed any county. From OSM, the arrays
carry the walkers' network too (``EdgeArrays.walk``: the drivable ways but motorways, and the
footways, paths, pedestrian streets and steps of ``[network] walk_highway``), read in the same
pass and cached in the same file; the drivable network is the same with or without it.

The built arrays are cached in ``.emgis-cache/`` beside the road file (or the user's cache
folder when that is read-only) as one ``.npz`` with a format version and a checksum, keyed by
the road file's content, the network settings, the CRS and the clip area; a damaged cache is
rebuilt with one warning. networkx stays available for API users (:func:`to_networkx`,
:func:`load_network`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emgis._errors import CacheError, NetworkError
from emgis.texts import Msg

if TYPE_CHECKING:
    import networkx as nx

    from emgis.inputs.district import District

from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from emgis._files import locked
from emgis.roads.assemble import build_network
from emgis.roads.cache import (
    cache_path,
    clip_area,
    drop_superseded,
    load_edge_arrays,
    save_edge_arrays,
)
from emgis.roads.edges import EdgeArrays
from emgis.roads.nxio import edge_arrays, to_networkx
from emgis.roads.readers import RoadWays

log = logging.getLogger(__name__)



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
                drop_superseded(path)
                return ea, path
            except CacheError as exc:
                log.warning("%s", Msg("cache_rebuilding", why=exc.args[0] if exc.args else ""))
        ea = build_network(source, settings=district.settings, crs=district.crs, clip=clip,
                           ways=ways)
        save_edge_arrays(ea, path)
        log.info("road network cached at %s", path)
        drop_superseded(path)
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
