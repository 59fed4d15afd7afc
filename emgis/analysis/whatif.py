"""What-if siting: the times a siting page needs to recompute cover in the browser.

For a kind, the page holds every candidate's and every existing unit's minutes to the villages
it reaches within a cutoff (twice the target, or the target itself where that would make the
page too large), in the baseline and in each scenario (units out of action and candidates in a
closed zone reach nothing there). The planner switches candidates on and off and existing units
off; the page takes each village's nearest active source, so the persons within target, the
ranked sites and the gaps follow at once, offline. :func:`covered_persons` is the same
computation in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from emgis._types import BoolArray, FloatArray, IntArray
from emgis.analysis.siting import candidate_sites
from emgis.inputs.kinds import mode_of, target_of, towards_unit, units_of
from emgis.roads.hierarchy import pairs_within_cch
from emgis.roads.routing import pair_order, pairs_within, pairs_within_each

if TYPE_CHECKING:
    from emgis.analysis.siting import ScenarioSpec
    from emgis.inputs.district import District
    from emgis.roads.engine import Engine

#: Most source-village pairs over all scenarios the page holds (about 5.3 bytes each in the
#: page): beyond it the cutoff drops from twice the target to the target, and beyond that
#: the page holds the most promising candidates only (kinds whose target reaches most of the
#: district, such as stockpiles at 60 minutes).
MAX_PAIRS = 1_000_000

#: Candidates whose searches estimate the pairs before the real searches.
SAMPLE = 24

#: Road graphs of at least this many nodes have each scenario's searches repaired from the
#: baseline's (:func:`emgis.roads.routing.pairs_within_each`, the same pairs). Measured on
#: the stockpile page (198-240 sources, 3 scenarios, 2 cores): a province of 842,613 nodes
#: 15.3 -> 10.8 s; a county of 83,515 nodes 2.07 -> 2.44 s, where a search from scratch
#: runs in the processor's caches and keeping the baseline's tree costs more than it saves.
REPAIR_FROM = 300_000

#: Smaller graphs have the page's searches answered by a contraction hierarchy
#: (:func:`emgis.roads.hierarchy.pairs_within_cch`) where the sample's searches reach at
#: least this share of the villages: the searches cover most of the graph, and one
#: customization per graph and a sweep per block of sources cost less than them. Measured on
#: the county's stockpile page (83,515 nodes, 4 graphs, 99% of the villages reached, one
#: thread, ``scripts/benchmark_hierarchy.py``): 230 sources 5.4 -> 1.7 s.
CCH_SHARE = 0.5

#: ... and where the sources times that share (the whole graphs the searches would cover)
#: come to at least this: below it the hierarchy's order and customizations (about 40 whole
#: searches' worth per graph on the county) cost more than the searches they save.
CCH_MIN_REACH = 48.0


@dataclass(frozen=True)
class WhatIfTimes:
    """One scenario's minutes from each source (existing units, then candidates) to the
    villages within the cutoff, as CSR arrays over the sources."""

    name: str
    ptr: IntArray
    village: IntArray
    minutes: FloatArray


@dataclass(frozen=True)
class WhatIf:
    """Everything the what-if page needs (plain arrays, metres in the district's CRS).

    Attributes
    ----------
    kind, target_min, cutoff_min
        The kind sited, its target, and how far times are held.
    units, candidates
        The existing units of the kind and the candidate sites (``id``, ``name``, point;
        candidates carry ``proposed``: on when the page opens).
    scenarios
        The baseline first, then each scenario.
    no_road
        Villages with no road access (never covered).
    candidates_all
        Candidate sites of the kind (more than ``candidates`` when only the most promising
        fit in the page).
    """

    kind: str
    target_min: float
    cutoff_min: float
    units: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    scenarios: tuple[WhatIfTimes, ...]
    no_road: BoolArray
    candidates_all: int = 0

    @property
    def n_units(self) -> int:
        """Existing units (the first sources)."""
        return len(self.units)


def _promise(district: District, cand: gpd.GeoDataFrame, coverage: pd.DataFrame | None,
             kind: str, cap: float) -> npt.NDArray[np.float64]:
    """How much a candidate may help: the persons x minutes (capped) of the village it stands
    in or next to, from the current cover."""
    v = district.villages
    pop = v["population"].fillna(0).to_numpy(dtype=float)
    if coverage is None:
        return np.zeros(len(cand))
    rows = coverage[coverage["kind"] == kind]
    t = rows["nearest_min"].to_numpy(dtype=float) if len(rows) == len(v) else np.full(len(v),
                                                                                       cap)
    value = pop * np.minimum(np.nan_to_num(t, nan=cap), cap)
    tree = shapely.STRtree(v.geometry.values)
    near = tree.nearest(cand.geometry.values)
    return np.asarray(value[near], dtype=float)


def whatif_data(district: District, engine: Engine, kind: str, *,
                scenarios: Sequence[ScenarioSpec] = (),
                proposals: gpd.GeoDataFrame | None = None, coverage: pd.DataFrame | None = None,
                max_pairs: int = MAX_PAIRS) -> WhatIf:
    """The times of the what-if page for ``kind``.

    Parameters
    ----------
    district, engine
        The district and its :class:`~emgis.roads.engine.Engine`.
    kind
        The kind being sited.
    scenarios
        :class:`emgis.analysis.siting.ScenarioSpec` of the district's scenarios.
    proposals
        The sites proposed (``site_id``): on when the page opens.
    coverage
        The district's coverage table: which candidates are most promising when not all fit
        (``max_pairs``).
    """

    s = district.settings
    target = target_of(kind, s)
    units_all = units_of(district)
    sel = np.flatnonzero((units_all["kind"] == kind).to_numpy())
    units = units_all.iloc[sel].reset_index(drop=True)
    cand, _ = candidate_sites(district, kind)
    proposed = set(proposals["site_id"]) if proposals is not None and len(proposals) else set()
    cand = cand.assign(proposed=cand["id"].isin(proposed).to_numpy()).reset_index(drop=True)
    n_all = len(cand)
    turnout_c = 0.0 if towards_unit(kind) else (float(s.turnout[kind].value)
                                                  if kind in s.turnout else 0.0)
    mode = mode_of(kind, s)
    specs = [("baseline", engine, None, None),
             *[(sc.name, sc.engine, sc.active, sc.out_area) for sc in scenarios]]

    sampled: dict[float, FloatArray] = {}  # the sample's minutes, by how far searched

    def sample_pairs(cutoff: float) -> float:
        """Pairs per candidate in the baseline within ``cutoff``, from a few evenly spaced
        candidates (searched once as far as asked: a search to twice the target finds the
        pairs within the target too, and exactly those a search to the target finds)."""
        if not len(cand):
            return 0.0
        pick = np.unique(np.linspace(0, len(cand) - 1, min(SAMPLE, len(cand))).astype(int))
        far = max((c for c in sampled if c >= cutoff), default=None)
        if far is None:
            rg = engine.graph(mode, reverse=towards_unit(kind))
            far = cutoff
            sampled[far] = pairs_within(rg, cand["loc"].to_numpy(dtype=np.int64)[pick],
                                        limits=far, offsets=np.full(len(pick), turnout_c),
                                        targets=engine.village_loc)[2]
        return float((sampled[far] <= cutoff + 1e-12).sum()) / len(pick)

    def times(cutoff: float, dense: bool) -> list[WhatIfTimes]:
        # each source's point (one per source: a missing point is searched)
        points = np.concatenate([np.asarray(units.geometry.values, dtype=object),
                                 np.asarray(cand.geometry.values, dtype=object)])
        src = np.concatenate([engine.unit_loc[sel], cand["loc"].to_numpy(dtype=np.int64)])
        off = np.concatenate([units["turnout_min"].to_numpy(dtype=float),
                              np.full(len(cand), turnout_c)])
        graphs = []
        limits = []
        alike = []  # per scenario: the sources that find there what they find in the baseline
        for i, (_, eng, active, area) in enumerate(specs):
            graphs.append(eng.graph(mode, reverse=towards_unit(kind)))
            ok = np.ones(len(src), dtype=bool)
            if active is not None:
                ok[:len(sel)] = np.asarray(active, dtype=bool)[sel]
            if area is not None and not shapely.is_empty(area):
                ok[len(sel):] &= ~cand.geometry.within(area).to_numpy()
            # a source whose search cannot come near the scenario's changes to the roads
            # (the zones, and the roads a location was attached anew to) finds there what it
            # finds in the baseline: only the others are searched again
            same = np.zeros(len(src), dtype=bool)
            if i:
                same = ok & engine.beyond_changes(eng, points, cutoff, mode,
                                                  reverse=towards_unit(kind))
            limits.append(np.where(ok & ~same, cutoff, -1.0))
            alike.append(same)
        if len(graphs) > 1 and graphs[0].n_nodes >= REPAIR_FROM:
            # each scenario's searches repaired from the baseline's (the same pairs)
            found = pairs_within_each(graphs, src, limits=np.stack(limits), offsets=off,
                                      targets=engine.village_loc)
        elif dense:
            # most of the graph from every source: a hierarchy instead of searches
            found = pairs_within_cch(graphs, src, limits=np.stack(limits), offsets=off,
                                     targets=engine.village_loc,
                                     xy=engine.node_xy(np.arange(graphs[0].n_nodes), mode))
        else:
            found = [pairs_within(rg, src, limits=lim, offsets=off, targets=engine.village_loc)
                     for rg, lim in zip(graphs, limits, strict=True)]
        out: list[WhatIfTimes] = []
        for (name, *_), same, (si, vi, t) in zip(specs, alike, found, strict=True):
            if same.any():
                b = out[0]
                rows = np.repeat(np.arange(len(src)), np.diff(b.ptr))
                keep = same[rows]
                si = np.concatenate([si, rows[keep]])
                vi = np.concatenate([vi, b.village[keep]])
                t = np.concatenate([t, b.minutes[keep]])
                order = pair_order(si, vi, len(engine.village_loc))
                si, vi, t = si[order], vi[order], t[order]
            ptr = np.searchsorted(si, np.arange(len(src) + 1)).astype(np.int64)
            out.append(WhatIfTimes(name, ptr, vi.astype(np.int64), np.asarray(t, dtype=float)))
        return out

    n_s = len(specs)
    cutoff = 2.0 * target
    # the sample to the target first: where its pairs overflow the page, so do those to twice
    # the target (more pairs, never fewer), which then need no search (a province's
    # stockpiles: 24 searches to 60 minutes instead of to 120)
    if sample_pairs(target) * len(cand) * n_s > max_pairs or \
            sample_pairs(cutoff) * len(cand) * n_s > max_pairs:
        cutoff = target
        per = sample_pairs(cutoff)
        if per * len(cand) * n_s > max_pairs:  # only the most promising candidates fit
            keep_n = max(int(max_pairs / max(per * n_s, 1.0)), int(cand["proposed"].sum()))
            value = _promise(district, cand, coverage, kind, 2.0 * target)
            order = np.lexsort((np.arange(len(cand)), -value,
                                ~cand["proposed"].to_numpy(dtype=bool)))
            cand = cand.iloc[np.sort(order[:keep_n])].reset_index(drop=True)
    share = sample_pairs(cutoff) / max(len(engine.village_loc), 1)
    dense = share >= CCH_SHARE and share * (len(units) + len(cand)) >= CCH_MIN_REACH
    found = times(cutoff, dense)
    if sum(len(x.village) for x in found) > max_pairs and cutoff > target:
        cutoff = target  # the pairs within the target are among those found: no new search
        found = [_within(x, cutoff) for x in found]
    no_road = engine.status(engine.village_loc) == "no_road_access"
    return WhatIf(kind, target, cutoff, gpd.GeoDataFrame(units, geometry="geometry"),
                  gpd.GeoDataFrame(cand, geometry="geometry"), tuple(found),
                  np.asarray(no_road, dtype=bool), n_all)


def _within(times: WhatIfTimes, cutoff: float) -> WhatIfTimes:
    """The pairs of ``times`` within ``cutoff`` minutes (as a search stopping there finds:
    :func:`emgis.roads.routing.pairs_within` keeps a pair within its limit + 1e-12)."""
    keep = times.minutes <= cutoff + 1e-12
    src = np.repeat(np.arange(len(times.ptr) - 1), np.diff(times.ptr))[keep]
    ptr = np.searchsorted(src, np.arange(len(times.ptr))).astype(np.int64)
    return WhatIfTimes(times.name, ptr, times.village[keep], times.minutes[keep])


def nearest_minutes(data: WhatIf, scenario: int, on: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Each village's minutes from the nearest source switched on (``on``: a mask over the
    sources, units then candidates; ``inf`` beyond the cutoff)."""
    t = data.scenarios[scenario]
    mask = np.asarray(on, dtype=bool)
    n_v = len(data.no_road)
    best = np.full(n_v, np.inf)
    src = np.repeat(np.arange(len(t.ptr) - 1), np.diff(t.ptr))
    keep = mask[src]
    np.minimum.at(best, t.village[keep], t.minutes[keep])
    best[data.no_road] = np.inf
    return best


def page_tenths(minutes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Minutes as the what-if page holds them: tenths of a minute, rounded *up*, so that a time
    within a target (a whole number of tenths) stays within it on the page and a time over it
    stays over (5.003 min is 5.1 on the page, never 5.0): the page and the run's statuses agree."""
    t = np.asarray(minutes, dtype=float)
    return np.ceil(np.round(t * 10, 6))


def covered_persons(data: WhatIf, scenario: int, on: npt.ArrayLike,
                    population: npt.ArrayLike) -> int:
    """Persons within the target with the sources ``on``, in a scenario, as the page counts
    them (times in tenths of a minute rounded up: :func:`page_tenths`)."""
    best = nearest_minutes(data, scenario, on)
    pop = np.asarray(population, dtype=float)
    ok = np.isfinite(best)
    tenths = np.full(len(best), np.inf)
    tenths[ok] = page_tenths(best[ok])
    return int(pop[tenths / 10 <= data.target_min + 1e-9].sum())


def plan_table(data: WhatIf, on: npt.ArrayLike) -> pd.DataFrame:
    """The plan a page exports: candidates switched on (``add``) and existing units switched
    off (``remove``), with WGS-84 coordinates."""
    mask = np.asarray(on, dtype=bool)
    n_u = data.n_units
    off = np.flatnonzero(~mask[:n_u])
    add = np.flatnonzero(mask[n_u:])
    u = data.units.iloc[off]
    c = data.candidates.iloc[add]
    rows = pd.concat([
        pd.DataFrame({"id": c["id"].astype(str).to_numpy(), "name": c["name"].to_numpy(),
                      "kind": data.kind, "action": "add", "geometry": c.geometry.to_numpy()}),
        pd.DataFrame({"id": u["id"].astype(str).to_numpy(), "name": u["name"].to_numpy(),
                      "kind": data.kind, "action": "remove",
                      "geometry": u.geometry.to_numpy()})], ignore_index=True)
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs=data.units.crs or data.candidates.crs)
    wgs = g.to_crs(4326).geometry if len(g) else g.geometry
    return pd.DataFrame({"id": g["id"], "name": g["name"], "kind": g["kind"],
                         "action": g["action"],
                         "lon": np.round(wgs.x.to_numpy(), 6) if len(g) else [],
                         "lat": np.round(wgs.y.to_numpy(), 6) if len(g) else []})
