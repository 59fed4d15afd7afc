"""One engine per run: every location snapped once, every routing graph built once.

An :class:`Engine` holds the road network's arrays, the district's locations (villages, units,
sites of the ``candidates`` layer) attached to the roads once (:mod:`emgis.roads.snapping`), and the
routing graphs per travel mode and direction, built on first use and kept
(:mod:`emgis.roads.routing`). Coverage, scenarios, siting and evacuation all work on it; a
hazard scenario derives an engine with the same locations on the affected roads
(:meth:`Engine.with_network`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from emgis._types import IntArray
from emgis.inputs.kinds import units_of
from emgis.inputs.settings import Settings
from emgis.roads.edges import EdgeArrays
from emgis.roads.routing import Mode, RoutingGraph, build_routing_graph
from emgis.roads.snapping import snap_points

if TYPE_CHECKING:
    from emgis.inputs.district import District



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
    """

    network: EdgeArrays
    settings: Settings
    snaps: pd.DataFrame
    n_villages: int
    n_units: int
    n_extra: int = 0
    _graphs: dict[tuple[str, bool], RoutingGraph] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, network: EdgeArrays, *, villages: gpd.GeoSeries, units: gpd.GeoSeries,
              extra: gpd.GeoSeries | None = None, settings: Settings) -> Engine:
        """Snap the villages, the units and the extra sites (in this order) to the network."""
        parts = [villages.reset_index(drop=True), units.reset_index(drop=True)]
        if extra is not None:
            parts.append(extra.reset_index(drop=True))
        crs = villages.crs or units.crs
        points = gpd.GeoSeries(pd.concat(parts, ignore_index=True), crs=crs)
        snaps = snap_points(network, points, settings=settings).reset_index(drop=True)
        return cls(network, settings, snaps, len(villages), len(units),
                   0 if extra is None else len(extra))

    @classmethod
    def for_district(cls, district: District, network: EdgeArrays, *,
                     units: gpd.GeoDataFrame | None = None) -> Engine:
        """The engine of a district: its villages, its units (or ``units``) and the sites of
        its ``candidates`` layer."""

        u = units_of(district) if units is None else units
        return cls.build(network, villages=district.villages.geometry, units=u.geometry,
                         extra=district.candidates.geometry, settings=district.settings)

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
                    self.network, self.snaps, mode=mode,
                    walk_kph=self.settings.speed_kph("walk"))
        return self._graphs[key]

    def with_network(self, network: EdgeArrays) -> Engine:
        """The same locations on another network of the same roads (e.g. with a scenario's
        hazards); its routing graphs are built anew."""
        return Engine(network, self.settings, self.snaps, self.n_villages, self.n_units,
                      self.n_extra)

    def status(self, loc: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """Snap status (``ok``, ``no_road_access``, ``cut_off``) of locations."""
        return self.snaps["status"].to_numpy(dtype=object)[np.asarray(loc, dtype=np.int64)]

    def access_m(self, loc: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Metres from locations to their road."""
        return self.snaps["access_m"].to_numpy(dtype=float, na_value=np.nan)[
            np.asarray(loc, dtype=np.int64)]
