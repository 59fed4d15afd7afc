"""One engine per run: every location snapped once, every routing graph built once.

An :class:`Engine` holds the road network's arrays, the district's locations (villages, units,
sites of the ``candidates`` layer) attached to the roads once (:mod:`emgis.roads.snapping`), and the
routing graphs per travel mode and direction, built on first use and kept
(:mod:`emgis.roads.routing`). Coverage, scenarios, siting and evacuation all work on it; a
hazard scenario derives an engine with the same locations on the affected roads
(:meth:`Engine.with_network`); a location whose road the scenario closes is attached anew to the
nearest open road within reach (:func:`emgis.roads.snapping.reattach`).

Where the network carries a separate walking network (``network.walk``: OSM footways, paths,
pedestrian streets and steps beside the roads, see :mod:`emgis.roads.readers`), every location
is attached to it too, and the ``walk`` mode routes on it; units still drive on the roads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from emgis._types import IntArray
from emgis.inputs.kinds import units_of
from emgis.inputs.settings import Settings
from emgis.roads.edges import EdgeArrays
from emgis.roads.routing import Mode, RoutingGraph, arc_changes, build_routing_graph
from emgis.roads.snapping import (
    location_points,
    reattach,
    snap_points,
    snap_points_kept,
    snap_settings,
)

if TYPE_CHECKING:
    from pathlib import Path

    from emgis.inputs.district import District

T = TypeVar("T")



@dataclass
class Engine:
    """The network, the snapped locations and the routing graphs of one district.

    Attributes
    ----------
    network
        The road network's arrays (a scenario's carry its hazards).
    settings
        Speeds (walking, off-road) and the access distance.
    snaps
        One row per location (:func:`emgis.roads.snapping.snap_points`): the villages, then the
        units, then the extra sites.
    n_villages, n_units, n_extra
        How many locations of each group.
    points
        The point each location is attached from (metres), to attach it anew on a scenario's
        roads.
    walk_snaps
        The locations attached to the walking network (``network.walk``), None without one.
    """

    network: EdgeArrays
    settings: Settings
    snaps: pd.DataFrame
    n_villages: int
    n_units: int
    n_extra: int = 0
    points: npt.NDArray[np.object_] | None = field(default=None, repr=False)
    walk_snaps: pd.DataFrame | None = field(default=None, repr=False)
    _graphs: dict[tuple[str, bool], RoutingGraph] = field(default_factory=dict, repr=False)
    # per scenario engine, mode and direction: it, where its graph differs, and their tree
    _changed: dict[tuple[int, str, bool], tuple[Engine, npt.NDArray[np.float64] | None,
                                                 Any]] = field(
        default_factory=dict, repr=False, init=False)
    # what the analyses derive from this engine's networks alone, by the key they give,
    # kept while a :meth:`keeping` block is open (:meth:`kept`), and how many are open
    _kept: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, init=False)
    _keeping: int = field(default=0, repr=False, init=False)

    @classmethod
    def build(cls, network: EdgeArrays, *, villages: gpd.GeoSeries, units: gpd.GeoSeries,
              extra: gpd.GeoSeries | None = None, settings: Settings,
              cache: Path | None = None, known: Engine | None = None) -> Engine:
        """Snap the villages, the units and the extra sites (in this order) to the network
        (with ``cache``, the network cache file the network was read from, the snaps are
        read from beside it where a run on the same roads and points kept them:
        :func:`emgis.roads.snapping.snap_points_kept`; with ``known``, an engine on the same
        network and snapping settings, each point at the same coordinates as one of its own
        takes that point's snaps, and only the others are snapped: a unit added or
        removed)."""
        parts = [villages.reset_index(drop=True), units.reset_index(drop=True)]
        if extra is not None:
            parts.append(extra.reset_index(drop=True))
        crs = villages.crs or units.crs
        points = gpd.GeoSeries(pd.concat(parts, ignore_index=True), crs=crs)
        pts = location_points(points)
        # the snaps ``known`` made of its points, per network (by identity), where they hold
        prior: dict[int, tuple[pd.DataFrame, npt.NDArray[np.object_]]] = {}
        if known is not None and known.network is network and known.points is not None \
                and snap_settings(known.settings) == snap_settings(settings):
            prior[id(network)] = (known.snaps, known.points)
            if network.walk is not None and known.walk_snaps is not None:
                prior[id(network.walk)] = (known.walk_snaps, known.points)

        def snap(net: EdgeArrays) -> pd.DataFrame:
            if id(net) in prior:
                old, old_pts = prior[id(net)]
                return _snaps_from(old, old_pts, pts, net, points, settings)
            return snap_points_kept(net, points, settings=settings, cache=cache, roads=network,
                                    label="drive" if net is network else "walk")

        walk = network.walk
        if walk is not None and (os.cpu_count() or 1) > 1:
            # the walking network's lines, index and snaps in a thread beside the roads' (shapely
            # releases the GIL): a county's start-up 0.33 -> 0.25 s for both
            with ThreadPoolExecutor(max_workers=1) as pool:
                walking = pool.submit(snap, walk)
                snaps = snap(network)
                walk_snaps: pd.DataFrame | None = walking.result()
        else:
            snaps = snap(network)
            walk_snaps = None if walk is None else snap(walk)
        return cls(network, settings, snaps, len(villages), len(units),
                   0 if extra is None else len(extra), pts, walk_snaps)

    @classmethod
    def for_district(cls, district: District, network: EdgeArrays, *,
                     units: gpd.GeoDataFrame | None = None,
                     cache: Path | None = None, known: Engine | None = None) -> Engine:
        """The engine of a district: its villages, its units (or ``units``) and the sites of
        its ``candidates`` layer (``cache``, ``known``: see :meth:`build`)."""

        u = units_of(district) if units is None else units
        return cls.build(network, villages=district.villages.geometry, units=u.geometry,
                         extra=district.candidates.geometry, settings=district.settings,
                         cache=cache, known=known)

    @property
    def village_loc(self) -> IntArray:
        """Location index of each village."""
        return np.arange(self.n_villages, dtype=np.int64)

    @property
    def unit_loc(self) -> IntArray:
        """Location index of each unit."""
        return np.arange(self.n_villages, self.n_villages + self.n_units, dtype=np.int64)

    @property
    def extra_loc(self) -> IntArray:
        """Location index of each extra site (the ``candidates`` layer)."""
        start = self.n_villages + self.n_units
        return np.arange(start, start + self.n_extra, dtype=np.int64)

    def graph(self, mode: Mode = "drive", *, reverse: bool = False) -> RoutingGraph:
        """The routing graph of a travel mode (``reverse``: every edge reversed, for trips to
        the sources), built on first use."""
        key = (mode, reverse)
        if key not in self._graphs:
            if reverse:
                self._graphs[key] = self.graph(mode).reversed()
            else:
                self._graphs[key] = build_routing_graph(
                    self.network_of(mode), self.snaps_of(mode), mode=mode,
                    walk_kph=self.settings.speed_kph("walk"))
        return self._graphs[key]

    def drop_graphs(self) -> None:
        """Let go of the routing graphs made so far (each is built again on its next use):
        a run's scenarios' once every worker that reads them has forked (hundreds of MB
        each on a province)."""
        self._graphs.clear()

    def kept(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """``make()``: what an analysis derives from the engine's networks alone (the service
        areas' and zones' points along the roads, :mod:`emgis.analysis.coverage`). Inside a
        :meth:`keeping` block it is made on the first call with ``key`` and given again to the
        next; outside, made at each call (nothing is held longer than asked for)."""
        if not self._keeping:
            return make()
        if key not in self._kept:
            self._kept[key] = make()
        return self._kept[key]  # type: ignore[no-any-return]

    @property
    def is_keeping(self) -> bool:
        """Whether a :meth:`keeping` block is open (what :meth:`kept` makes is kept)."""
        return self._keeping > 0

    @contextmanager
    def keeping(self) -> Iterator[None]:
        """A block in which :meth:`kept` keeps what it makes (for several analyses in turn:
        a run's areas and zones); it is let go when the outermost block ends."""
        self._keeping += 1
        try:
            yield
        finally:
            self._keeping -= 1
            if not self._keeping:
                self._kept.clear()

    def network_of(self, mode: Mode = "drive") -> EdgeArrays:
        """The network a travel mode routes on: the walking network for ``walk`` where there is
        one, else the roads."""
        walk = self.network.walk if mode == "walk" else None
        return self.network if walk is None or self.walk_snaps is None else walk

    def snaps_of(self, mode: Mode = "drive") -> pd.DataFrame:
        """The locations attached to the network of a travel mode (:meth:`network_of`)."""
        if mode == "walk" and self.network.walk is not None and self.walk_snaps is not None:
            return self.walk_snaps
        return self.snaps

    def with_network(self, network: EdgeArrays, *, reattach_closed: bool = True,
                     closed_area: shapely.Geometry | None = None) -> Engine:
        """The same locations on another network of the same roads (e.g. with a scenario's
        hazards); its routing graphs are built anew.

        With ``reattach_closed``, a location attached inside a part of a road that ``network``
        closes is attached anew to the nearest open road within ``max_access_m``
        (:func:`emgis.roads.snapping.reattach`; its ``reattached_m`` says how far), on the roads
        and on the walking network alike; a location inside ``closed_area`` (the closed zones)
        stays where it is.
        """
        snaps, walk_snaps = self.snaps, self.walk_snaps
        if network.walk is None:
            walk_snaps = None
        if reattach_closed and self.points is not None:
            skip = None
            if closed_area is not None and not shapely.is_empty(closed_area):
                skip = shapely.within(self.points, closed_area)
            snaps = reattach(network, snaps, self.points, settings=self.settings, skip=skip)
            if walk_snaps is not None and network.walk is not None:
                walk_snaps = reattach(network.walk, walk_snaps, self.points,
                                      settings=self.settings, skip=skip)
        return Engine(network, self.settings, snaps, self.n_villages, self.n_units,
                      self.n_extra, self.points, walk_snaps)

    def status(self, loc: npt.ArrayLike, mode: Mode = "drive") -> npt.NDArray[np.object_]:
        """Snap status (``ok``, ``no_road_access``, ``cut_off``) of locations (on the network
        of ``mode``)."""
        return self.snaps_of(mode)["status"].to_numpy(dtype=object)[
            np.asarray(loc, dtype=np.int64)]

    def access_m(self, loc: npt.ArrayLike, mode: Mode = "drive") -> npt.NDArray[np.float64]:
        """Metres from locations to their road (on the network of ``mode``)."""
        return self.snaps_of(mode)["access_m"].to_numpy(dtype=float, na_value=np.nan)[
            np.asarray(loc, dtype=np.int64)]

    def top_speed(self) -> float:
        """Metres per minute no driving route goes faster than: the fastest road segment or
        access leg (a search within T minutes stays within T times this of its start, as the
        crow flies); found once per engine."""
        known = self.__dict__.get("_top_speed")
        if known is not None:
            return float(known)
        ea = self.network
        seg = np.flatnonzero(np.diff(ea.vtime) > 0)
        road = float((np.diff(ea.vdist)[seg] / np.diff(ea.vtime)[seg]).max()) * 60.0 \
            if len(seg) else 0.0
        if ea.penalty is not None and len(ea.penalty):  # a multiplier below 1 is faster
            least = float(np.min(ea.penalty))
            road /= min(1.0, least) if least > 0 else 1e-9
        a_m = self.snaps["access_m"].to_numpy(dtype=float, na_value=np.nan)
        a_min = self.snaps["access_min"].to_numpy(dtype=float, na_value=np.nan)
        fine = np.isfinite(a_m) & np.isfinite(a_min) & (a_min > 0)
        access = float((a_m[fine] / a_min[fine]).max()) if fine.any() else 0.0
        self.__dict__["_top_speed"] = top = max(road, access, 1e-9)
        return top

    def reattached_m(self, loc: npt.ArrayLike, mode: Mode = "drive"
                     ) -> npt.NDArray[np.float64]:
        """Per location: the access leg in metres where a scenario's closed road made it attach
        anew to an open road (:meth:`with_network`), NaN elsewhere."""
        snaps = self.snaps_of(mode)
        idx = np.asarray(loc, dtype=np.int64)
        if "reattached_m" not in snaps:
            return np.full(len(idx), np.nan)
        out: npt.NDArray[np.float64] = snaps["reattached_m"].to_numpy(
            dtype=float, na_value=np.nan)[idx]
        return out

    def node_xy(self, nodes: npt.ArrayLike, mode: Mode = "drive") -> npt.NDArray[np.float64]:
        """Metres (x, y) of nodes of this engine's routing graphs of ``mode``: a road node's
        own point, a location's point on its road."""
        idx = np.asarray(nodes, dtype=np.int64)
        net = self.network_of(mode)
        snaps = self.snaps_of(mode)
        road = idx < net.n_nodes
        loc = idx[~road] - net.n_nodes
        xy = np.empty((len(idx), 2))
        xy[road, 0] = net.node_x[idx[road]]
        xy[road, 1] = net.node_y[idx[road]]
        xy[~road, 0] = snaps["snap_x"].to_numpy(dtype=float, na_value=np.nan)[loc]
        xy[~road, 1] = snaps["snap_y"].to_numpy(dtype=float, na_value=np.nan)[loc]
        return xy

    def changed_points(self, other: Engine, mode: Mode = "drive", *, reverse: bool = False
                       ) -> npt.NDArray[np.float64] | None:
        """Where ``other`` (a scenario's engine on the same locations) routes differently: the
        points of the tails of every arc its graph of ``mode`` closes, slows, adds or makes
        faster against this engine's (metres, ``(k, 2)``; None where the graphs do not share
        their nodes).

        A search that settles none of these nodes runs on ``other``'s graph exactly as on
        this one's, so one that cannot come within them (as the crow flies at
        :meth:`top_speed`) finds the same minutes in both, to the last bit. Unlike the hazard
        zones themselves, the points include the roads a location was attached anew to.
        """
        return self._changes_of(other, mode, reverse)[0]

    def _changes_of(self, other: Engine, mode: Mode, reverse: bool
                    ) -> tuple[npt.NDArray[np.float64] | None, Any]:
        """:meth:`changed_points` and a k-d tree of them (scipy's: a province's fire zone
        holds some 300,000 points, far lighter there than shapely's), found once per scenario
        engine (the robust siting and each what-if page ask for the same)."""
        from scipy.spatial import cKDTree  # deferred: only scenarios need it

        key = (id(other), mode, reverse)
        known = self._changed.get(key)
        if known is not None and known[0] is other:
            return known[1], known[2]
        a = self.graph(mode, reverse=reverse)
        b = other.graph(mode, reverse=reverse)
        xy: npt.NDArray[np.float64] | None = None
        tree = None
        if a.n_nodes == b.n_nodes and a.n_road == b.n_road:
            slow, _, tails, _, _ = arc_changes(a, b)
            rows = np.searchsorted(a.indptr, slow, side="right").astype(np.int64) - 1
            both = np.concatenate([self.node_xy(np.unique(rows), mode),
                                   other.node_xy(np.unique(tails), mode)])
            xy = both[np.isfinite(both).all(axis=1)]
            xy = np.unique(xy, axis=0)
            tree = cKDTree(xy) if len(xy) else None
        self._changed[key] = (other, xy, tree)
        return xy, tree

    def beyond_changes(self, other: Engine, points: npt.ArrayLike, minutes: float,
                       mode: Mode = "drive", *, reverse: bool = False
                       ) -> npt.NDArray[np.bool_]:
        """Which ``points`` (shapely points, metres) are too far from every change of
        ``other``'s graph (:meth:`changed_points`) for a search of ``minutes`` (turnout and
        access legs included) from them to reach one: such a search finds on ``other`` what it
        finds here, to the last bit."""
        pts = np.asarray(points, dtype=object)
        xy, tree = self._changes_of(other, mode, reverse)
        if xy is None:
            return np.zeros(len(pts), dtype=bool)
        if tree is None or not len(pts):
            return np.ones(len(pts), dtype=bool)
        xy = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
        at = np.isfinite(xy).all(axis=1)  # a source without a point is searched
        out = np.zeros(len(pts), dtype=bool)
        if at.any():
            gap, _ = tree.query(xy[at], k=1)
            out[at] = np.asarray(gap) > minutes * self.top_speed() * 1.001 + 1.0
        return out


def _snaps_from(old: pd.DataFrame, old_pts: npt.NDArray[np.object_],
                pts: npt.NDArray[np.object_], net: EdgeArrays, points: gpd.GeoSeries,
                settings: Settings) -> pd.DataFrame:
    """The snaps of ``pts``: a point at the coordinates of one of ``old_pts`` takes its row of
    ``old`` (a point's snaps depend on its coordinates alone), the others are snapped
    (:func:`~emgis.roads.snapping.snap_points`: a few, with the roads within reach only)."""
    at: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(zip(shapely.get_x(old_pts).tolist(),
                                   shapely.get_y(old_pts).tolist(), strict=True)):
        at.setdefault((x, y), i)
    rows = np.array([at.get((x, y), -1) for x, y in zip(shapely.get_x(pts).tolist(),
                                                         shapely.get_y(pts).tolist(),
                                                         strict=True)], dtype=np.int64)
    new = np.flatnonzero(rows < 0)
    keep = np.flatnonzero(rows >= 0)
    kept = old.iloc[rows[keep]].set_axis(keep)
    if not len(new):
        return kept.reset_index(drop=True)
    made = snap_points(net, points.iloc[new], settings=settings).set_axis(new)
    if not len(keep):
        return made.reset_index(drop=True)
    return pd.concat([kept, made[kept.columns]]).sort_index().reset_index(drop=True)
