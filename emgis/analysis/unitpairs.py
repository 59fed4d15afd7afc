"""Every (unit, village) pair within a time, searched once for the analyses that count units
within a time: the effective force (:mod:`emgis.analysis.force`, every team within its
longest time) and the availability (:mod:`emgis.analysis.availability`, each team kind within
its target) ask for the same searches from the same units on the same roads, the force to the
farthest. The availability takes its kinds' pairs from the force's where they hold them: the
pairs within a shorter time are among those found, with the same minutes (a search's minutes
to a node do not depend on how far it goes on). On the county (one thread) the availability
took 0.23 s searching and takes 0.17 s (a 60-minute kind, and a 30-minute kind the force does
not count, still searched); on a province its searches took 10 s of a loaded worker. A
:class:`~emgis.plan.Plan` keeps the force's pairs until its district changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emgis._types import FloatArray, IntArray
from emgis.roads.routing import RoutingGraph, pairs_within


@dataclass(frozen=True)
class UnitPairs:
    """The pairs within ``limit`` minutes from units ``units`` (indices into
    :func:`emgis.inputs.kinds.units_of`, ascending) to the villages, on one routing graph.

    Attributes
    ----------
    units
        The units searched from, ascending.
    limit
        Minutes (turnout, access legs and travel) the pairs are within.
    unit, village, minutes
        Each pair's place in ``units``, village index and minutes, sorted by unit then
        village, as :func:`emgis.roads.routing.pairs_within` returns them.
    """

    units: IntArray
    limit: float
    unit: IntArray
    village: IntArray
    minutes: FloatArray

    def within(self, units: npt.ArrayLike, limit: float
               ) -> tuple[IntArray, IntArray, FloatArray] | None:
        """The pairs of ``units`` (ascending, each among :attr:`units`) within ``limit``
        minutes, as :func:`emgis.roads.routing.pairs_within` from them gives them (source
        position in ``units``, village, minutes); None where these pairs do not hold them (a
        unit not searched, or a limit beyond theirs)."""
        sel = np.asarray(units, dtype=np.int64)
        if not limit <= self.limit:
            return None
        at = np.searchsorted(self.units, sel)
        if len(sel) and (at.max() >= len(self.units)
                         or not np.array_equal(self.units[at], sel)):
            return None
        place = np.full(len(self.units), -1, dtype=np.int64)
        place[at] = np.arange(len(sel))
        k = place[self.unit]
        keep = (k >= 0) & (self.minutes <= limit + 1e-12)
        return k[keep], self.village[keep], self.minutes[keep]


def unit_pairs(rg: RoutingGraph, unit_loc: IntArray, village_loc: IntArray,
               units: npt.ArrayLike, *, limit: float, turnout: FloatArray) -> UnitPairs:
    """The :class:`UnitPairs` of ``units`` within ``limit`` minutes on ``rg``.

    Parameters
    ----------
    rg
        The routing graph (driving, from the units).
    unit_loc, village_loc
        Every unit's and village's location (:attr:`emgis.roads.engine.Engine.unit_loc`).
    units
        Units to search from (indices, ascending).
    limit
        Minutes.
    turnout
        Every unit's turnout minutes (added to its times).
    """
    sel = np.asarray(units, dtype=np.int64)
    if len(sel):
        si, vi, mins = pairs_within(rg, unit_loc[sel], limits=limit, offsets=turnout[sel],
                                    targets=village_loc)
    else:
        si = vi = np.zeros(0, dtype=np.int64)
        mins = np.zeros(0)
    return UnitPairs(sel, float(limit), si, vi, mins)
