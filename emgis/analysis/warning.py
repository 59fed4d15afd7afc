"""Warning reach (村村响 broadcast, early warning to every household).

A warning point (a village loudspeaker, a siren, a notice point) reaches the people within its
audible radius: its own ``radius_m``, else the default of its kind (``[warning]``, planning
assumptions). A village's people are placed on its buildings (the ``buildings`` layer: each
building belongs to the nearest village point within ``building_village_max_m`` and holds
persons in proportion to its floor area) or, without buildings, spread evenly over a disc of
``village_disc_m`` around the village point (sampled on a hexagonal grid of 91 points). Per
village: the share of its people within reach; villages below ``min_share`` are listed, and the
fewest new loudspeakers that bring every village to the share are proposed (share covering on
the siting core, HiGHS), placed where its people are.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from emgis.inputs.district import District
from emgis.locate.covering import share_covering
from emgis.locate.pairs import Pairs, Solution

#: Rings of the hexagonal disc sample (1 + 6 + 12 + ... = 91 points).
DISC_RINGS = 5

#: Columns of the per-village table.
COLUMNS = ["village_id", "village_name", "township", "population", "placed_on", "reached",
           "share", "min_share", "status", "points_reaching"]


@dataclass(frozen=True)
class WarningReach:
    """What :func:`warning_reach` found.

    Attributes
    ----------
    villages
        One row per village (:data:`COLUMNS`): persons reached, the share, ``status`` (``meets``
        or ``below``), how its people were placed (``buildings`` or ``disc``).
    points
        The warning points with the radius used and the persons each reaches.
    proposals
        New loudspeakers (rank, persons each adds, the village it stands in), points in the
        district's CRS.
    solution
        The share-covering solve (objective: new loudspeakers).
    people
        Where each village's people were placed (points with ``village_id`` and ``persons``),
        for maps.
    """

    villages: pd.DataFrame
    points: gpd.GeoDataFrame
    proposals: gpd.GeoDataFrame
    solution: Solution
    people: gpd.GeoDataFrame


def _disc(n_rings: int) -> np.ndarray:
    """A hexagonal grid inside the unit disc: 1 + 3 n (n + 1) points."""
    pts = [(0.0, 0.0)]
    step = 1.0 / n_rings
    for k in range(1, n_rings + 1):
        for side in range(6):
            a0, a1 = np.pi / 3 * side, np.pi / 3 * (side + 1)
            p0 = np.array([np.cos(a0), np.sin(a0)]) * k * step
            p1 = np.array([np.cos(a1), np.sin(a1)]) * k * step
            for j in range(k):
                pts.append(tuple(p0 + (p1 - p0) * j / k))
    return np.array(pts)


def place_people(district: District) -> gpd.GeoDataFrame:
    """Where each village's people are: on its buildings, else over a disc around its point.

    Returns
    -------
    geopandas.GeoDataFrame
        Points with ``village`` (row of the villages layer), ``village_id`` and ``persons``;
        each village's persons add up to its population.
    """
    v = district.villages
    s = district.settings.warning
    pop = v["population"].fillna(0).to_numpy(dtype=float)
    xs, ys, owner, persons = [], [], [], []
    done = np.zeros(len(v), dtype=bool)
    b = district.buildings
    if len(b):
        centre = b.geometry.representative_point()
        floors = b["floors"].astype("Float64").fillna(1).to_numpy(dtype=float)
        area = np.where(b.geom_type.isin(["Polygon", "MultiPolygon"]), b.geometry.area, 50.0)
        weight = np.maximum(area, 1.0) * np.maximum(floors, 1.0)
        tree = shapely.STRtree(v.geometry.values)
        (bi, vi), _ = tree.query_nearest(centre.values, max_distance=float(
            s["building_village_max_m"].value), return_distance=True, all_matches=False)
        tot = np.bincount(vi, weights=weight[bi], minlength=len(v))
        has = (tot > 0) & (pop > 0)
        keep = has[vi]
        bi, vi = bi[keep], vi[keep]
        xs.append(centre.x.to_numpy()[bi])
        ys.append(centre.y.to_numpy()[bi])
        owner.append(vi)
        persons.append(pop[vi] * weight[bi] / tot[vi])
        done |= has
    rest = np.flatnonzero(~done)
    if len(rest):
        unit = _disc(DISC_RINGS) * float(s["village_disc_m"].value)
        vx, vy = v.geometry.x.to_numpy()[rest], v.geometry.y.to_numpy()[rest]
        xs.append((vx[:, None] + unit[:, 0]).ravel())
        ys.append((vy[:, None] + unit[:, 1]).ravel())
        owner.append(np.repeat(rest, len(unit)))
        persons.append(np.repeat(pop[rest] / len(unit), len(unit)))
    x, y = np.concatenate(xs), np.concatenate(ys)
    o = np.concatenate(owner).astype(np.int64)
    return gpd.GeoDataFrame({"village": o, "village_id": v["id"].to_numpy()[o],
                             "persons": np.concatenate(persons),
                             "on": np.where(done[o], "buildings", "disc")},
                            geometry=shapely.points(x, y), crs=district.crs)


def radii(district: District) -> np.ndarray:
    """Each warning point's audible radius, metres: its own, else its kind's default."""
    w = district.warning_points
    s = district.settings.warning
    default = w["kind"].map(lambda k: float(s[f"{k}_radius_m"].value)
                            if f"{k}_radius_m" in s else float(s["loudspeaker_radius_m"].value))
    out: np.ndarray = w["radius_m"].astype("Float64").fillna(default.astype(float)).to_numpy(
        dtype=float)
    return out


def warning_reach(district: District, *, propose: bool = True,
                  time_limit: float = 60.0) -> WarningReach:
    """The share of every village's people the warning points reach, and the fewest new
    loudspeakers that bring every village to ``[warning] min_share``.

    Parameters
    ----------
    district
        The district (villages, warning points, buildings, ``[warning]`` settings).
    propose
        Propose new loudspeakers (False: only the reach).
    time_limit
        Seconds for the solver.
    """
    v = district.villages
    s = district.settings.warning
    need_share = float(s["min_share"].value)
    people = place_people(district)
    wp = district.warning_points
    r = radii(district)
    reached = np.zeros(len(people), dtype=bool)
    per_point: np.ndarray = np.zeros(len(wp))
    counts: np.ndarray = np.zeros(len(v), dtype=np.int64)
    if len(wp) and len(people):
        tree = shapely.STRtree(people.geometry.values)
        # within the radius, to a centimetre (a point at the edge stays in)
        wi, pi = tree.query(wp.geometry.values, predicate="dwithin", distance=r + 0.01)
        reached[pi] = True
        per_point = np.bincount(wi, weights=people["persons"].to_numpy()[pi],
                                minlength=len(wp))
        pairs = pd.DataFrame({"w": wi, "v": people["village"].to_numpy()[pi]}).drop_duplicates()
        counts = np.bincount(pairs["v"], minlength=len(v)).astype(np.int64)
    persons = people["persons"].to_numpy()
    group = people["village"].to_numpy()
    got = np.bincount(group, weights=persons * reached, minlength=len(v))
    pop = v["population"].fillna(0).to_numpy(dtype=float)
    share = np.where(pop > 0, got / np.where(pop > 0, pop, 1), 1.0)
    share = np.minimum(share, 1.0)
    placed = pd.Series(people["on"].to_numpy()).groupby(group).first().reindex(
        range(len(v))).fillna("disc").to_numpy()
    villages = pd.DataFrame({
        "village_id": v["id"].to_numpy(), "village_name": v["name"].to_numpy(),
        "township": v["township"].to_numpy(), "population": pop.astype(np.int64),
        "placed_on": placed, "reached": np.round(got).astype(np.int64),
        "share": np.round(share, 4), "min_share": need_share,
        "status": np.where(share >= need_share - 1e-9, "meets", "below"),
        "points_reaching": counts})
    points = wp[["id", "name", "kind", "township", "geometry"]].copy()
    points["radius_m"] = r
    points["persons_reached"] = np.round(per_point).astype(np.int64)
    sol = Solution((), 0.0, (), "share_covering", "milp", "optimal", None, 0.0)
    proposals = gpd.GeoDataFrame({"rank": [], "village_id": [], "village_name": [],
                                  "township": [], "persons_added": [], "radius_m": []},
                                 geometry=[], crs=district.crs)
    if propose:
        sol, proposals = _propose(district, people, reached, share, need_share, time_limit)
    return WarningReach(villages, gpd.GeoDataFrame(points, geometry="geometry",
                                                   crs=district.crs), proposals, sol, people)


def _propose(district: District, people: gpd.GeoDataFrame, reached: np.ndarray,
             share: np.ndarray, need_share: float, time_limit: float
             ) -> tuple[Solution, gpd.GeoDataFrame]:
    """New loudspeakers where the people of villages below the share are (one candidate per
    placed point not yet reached, merged on a 10 m grid)."""
    v = district.villages
    radius = float(district.settings.warning["loudspeaker_radius_m"].value)
    pop = v["population"].fillna(0).to_numpy(dtype=float)
    group = people["village"].to_numpy()
    below = share < need_share - 1e-9
    open_ = ~reached & below[group]
    empty = gpd.GeoDataFrame({"rank": [], "village_id": [], "village_name": [],
                              "township": [], "persons_added": [], "radius_m": []},
                             geometry=[], crs=district.crs)
    if not open_.any():
        return Solution((), 0.0, (), "share_covering", "milp", "optimal", None, 0.0), empty
    pts = people[open_]
    key = np.round(np.column_stack([pts.geometry.x, pts.geometry.y]) / 10.0)
    _, first = np.unique(key, axis=0, return_index=True)
    first = np.sort(first)
    cand = pts.iloc[first]
    tree = shapely.STRtree(pts.geometry.values)
    ci, pi = tree.query(cand.geometry.values, predicate="dwithin", distance=radius + 0.01)
    order = np.lexsort((pi, ci))
    ci, pi = ci[order], pi[order]
    cover = Pairs((len(cand), len(pts)), ci.astype(np.int64), pi.astype(np.int64),
                  np.zeros(len(ci)))
    got = share * pop
    need = need_share * pop - got
    sol = share_covering(cover, pts["persons"].to_numpy(dtype=float),
                         pts["village"].to_numpy(dtype=np.int64), need, time_limit=time_limit)
    rows = []
    for rank, (j, gain) in enumerate(zip(sol.sites, sol.gains, strict=True), start=1):
        vi = int(cand["village"].iloc[j])
        rows.append({"rank": rank, "village_id": v["id"].iloc[vi],
                     "village_name": v["name"].iloc[vi], "township": v["township"].iloc[vi],
                     "persons_added": round(gain), "radius_m": radius,
                     "geometry": cand.geometry.iloc[j]})
    return sol, (gpd.GeoDataFrame(rows, geometry="geometry", crs=district.crs) if rows
                 else empty)
