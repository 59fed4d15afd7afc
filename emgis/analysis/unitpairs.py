"""Every (unit, village) pair within a time, searched once for the analyses that count units
within a time: the effective force (:mod:`emgis.analysis.force`, every team within its
longest time) and the availability (:mod:`emgis.analysis.availability`, each team kind within
its target) ask for the same searches from the same units on the same roads, the force to the
farthest. The availability takes its kinds' pairs from the force's where they hold them: the
pairs within a shorter time are among those found, with the same minutes (a search's minutes
to a node do not depend on how far it goes on; where a county's force is answered by a
contraction hierarchy, :func:`unit_pairs`, the same pairs, the minutes perhaps differing in
their last bits from a search's). On the county (one thread) the availability
took 0.23 s searching and takes 0.17 s (a 60-minute kind, and a 30-minute kind the force does
not count, still searched); on a province its searches took 10 s of a loaded worker. A
:class:`~emgis.plan.Plan` keeps the force's pairs until its district changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emgis._types import FloatArray, IntArray
from emgis.roads.hierarchy import pairs_within_cch
from emgis.roads.routing import RoutingGraph, pairs_within

#: Graphs of at least this many nodes (and fewer than :data:`HIERARCHY_UPTO`) may answer the
#: pairs by a contraction hierarchy (:func:`emgis.roads.hierarchy.pairs_within_cch`) ...
HIERARCHY_FROM = 20_000
#: ... but not a province's graph: its hierarchy's order and customization take longer, and
#: gigabytes (the what-if pages stop at the same size, ``emgis.analysis.whatif.REPAIR_FROM``).
HIERARCHY_UPTO = 300_000
#: ... where the searches would cover at least this many whole graphs (sources times the
#: share of the villages a sample of them reaches): below it the hierarchy's order,
#: contraction and customization (about 45 whole searches' worth on a county) cost more
#: than the searches. Measured on the county (83,515 nodes, 217 teams within 30 minutes, a
#: share of 0.49, one thread): Dijkstra 0.95 s, the hierarchy 0.60 s, the same 158,490 pairs.
HIERARCHY_REACH = 64.0
#: Sources whose searches estimate the share (evenly spaced).
HIERARCHY_SAMPLE = 8


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
               units: npt.ArrayLike, *, limit: float, turnout: FloatArray,
               xy: Callable[[], npt.ArrayLike] | None = None) -> UnitPairs:
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
    xy
        What gives the metres (x, y) of each node of ``rg``
        (:meth:`emgis.roads.engine.Engine.node_xy`), called only where they are wanted:
        given, a county-sized graph whose searches would cover many whole graphs is answered
        by a contraction hierarchy instead (see :data:`HIERARCHY_REACH`; the same pairs, the
        minutes summed in another grouping: they may differ from a search's in the last bits).
    """
    sel = np.asarray(units, dtype=np.int64)
    if len(sel) and xy is not None and _by_hierarchy(rg, unit_loc[sel], village_loc,
                                                     limit, turnout[sel]):
        (si, vi, mins), = pairs_within_cch([rg], unit_loc[sel],
                                            limits=np.full((1, len(sel)), float(limit)),
                                            offsets=turnout[sel], targets=village_loc,
                                            xy=xy())
    elif len(sel):
        si, vi, mins = pairs_within(rg, unit_loc[sel], limits=limit, offsets=turnout[sel],
                                    targets=village_loc)
    else:
        si = vi = np.zeros(0, dtype=np.int64)
        mins = np.zeros(0)
    return UnitPairs(sel, float(limit), si, vi, mins)


def _by_hierarchy(rg: RoutingGraph, sources: IntArray, targets: IntArray, limit: float,
                  offsets: FloatArray) -> bool:
    """Whether the pairs of ``sources`` on ``rg`` cost less by a contraction hierarchy than by
    searches: a county-sized graph, and a sample of the sources' searches reaching enough
    of the targets (:data:`HIERARCHY_REACH`)."""
    if not HIERARCHY_FROM <= rg.n_nodes < HIERARCHY_UPTO or not len(targets) \
            or len(sources) < HIERARCHY_REACH:
        return False
    pick = np.unique(np.linspace(0, len(sources) - 1,
                                 min(HIERARCHY_SAMPLE, len(sources))).astype(np.int64))
    s, _, _ = pairs_within(rg, sources[pick], limits=limit, offsets=offsets[pick],
                           targets=targets)
    share = len(s) / (len(pick) * len(targets))
    return share * len(sources) >= HIERARCHY_REACH
