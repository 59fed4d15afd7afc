"""Location models on candidate x village minutes (no geometry, as spopt's locate).

The solver core works on plain arrays, as spopt's does: ``times[j, i]`` is the response time
from candidate ``j`` to village ``i`` (minutes, turnout included, ``inf`` where unreachable or
beyond the search cutoff), ``weights[i]`` the village's population, and ``base[i]`` the time from
the nearest *existing* unit, which stays (as "required" facilities in ArcGIS
Location-Allocation). ``times`` may be a dense array or sparse :class:`~emgis.locate.pairs.Pairs`
(only the pairs
within a cutoff: what a county or a province needs). Models:

- :func:`~emgis.locate.covering.max_covering` (MCLP): add ``p`` sites to cover the most people not
yet covered;
- :func:`~emgis.locate.covering.set_covering` (LSCP): the fewest sites that cover every village a
candidate can reach;
- :func:`~emgis.locate.median.p_median`: add ``p`` sites for the least population-weighted time;
- :func:`~emgis.locate.median.p_center`: add ``p`` sites for the least worst time;
- :func:`~emgis.locate.covering.capacitated_covering`: maximal covering with a capacity per site;
- :func:`~emgis.locate.force.max_force_covering`: add ``p`` teams for the most people with a
  sufficient force (persons, not only a first unit) within a time, optionally weighing first
  arrival too (``emgis site --force-rule``; not one of :data:`MODELS`).

Exact models are mixed-integer programmes solved by HiGHS (``scipy.optimize.milp``) on the pairs
that can matter (a candidate slower than the existing unit never serves a village); the
heuristics (greedy, then one-for-one swaps while they help; max covering and p-median) are for
sizes beyond them and report their gap to a proven bound (LP relaxation, Lagrangian). Method
``auto`` takes the MILP while the model is small and the heuristic above that.
"""

from __future__ import annotations

#: The location models of ``emgis site --model``.
MODELS = ("max_covering", "capacitated_covering", "p_median", "p_center")
#: How a model is solved: ``auto`` (exact while small, else the heuristic), ``milp``, ``heuristic``.
METHODS = ("auto", "milp", "heuristic")
#: Models with a heuristic (``method="heuristic"``); the others are solved exactly only.
HEURISTIC_MODELS = ("max_covering", "p_median")
#: Objectives of scenario-robust siting.
OBJECTIVES = ("expected", "worst", "k_of_n")
