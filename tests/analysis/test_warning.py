"""Warning reach: a hand-placed loudspeaker over buildings and over the disc, the fewest new
loudspeakers against brute force, and the proposals bringing every village to the share."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from emgis import load_district
from emgis.analysis.warning import _disc, warning_reach
from emgis.locate.covering import share_covering
from emgis.locate.pairs import Pairs
from tests.conftest import open_plan, render_dom, write_with

V1 = (1.5150, 42.5005)  # the tiny district's 东村, 1,200 persons
M_PER_DEG_LON = 111_320 * np.cos(np.radians(42.5))
M_PER_DEG_LAT = 111_132.0


def _square(dx_m: float, side_m: float) -> list[list[float]]:
    """A square building ``side_m`` wide whose centre lies ``dx_m`` east of V1."""
    x0 = V1[0] + (dx_m - side_m / 2) / M_PER_DEG_LON
    x1 = V1[0] + (dx_m + side_m / 2) / M_PER_DEG_LON
    y0 = V1[1] - side_m / 2 / M_PER_DEG_LAT
    y1 = V1[1] + side_m / 2 / M_PER_DEG_LAT
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def _add_layers(tiny: Path, points: list[tuple[str, str, float, float, str]],  # id name x y r
                buildings: list[tuple[float, float, int]] | None = None,
                extra: str = "") -> None:
    lines = ["id,name,kind,radius_m,lon,lat"] + [f"{i},{n},大喇叭,{r},{x},{y}"
                                               for i, n, x, y, r in points]
    (tiny / "warning_points.csv").write_text("\n".join(lines) + "\n", "utf-8")
    toml = "\n[layers.warning_points]\npath = \"warning_points.csv\"\n"
    if buildings is not None:
        feats = [{"type": "Feature", "properties": {"层数": floors},
                  "geometry": {"type": "Polygon", "coordinates": [_square(dx, side)]}}
                 for dx, side, floors in buildings]
        (tiny / "buildings.geojson").write_text(json.dumps(
            {"type": "FeatureCollection", "features": feats}), "utf-8")
        toml += "\n[layers.buildings]\npath = \"buildings.geojson\"\n"
    with open(tiny / "district.toml", "a", encoding="utf-8") as f:
        f.write(toml + extra)


def test_loudspeaker_over_buildings_by_hand(tiny: Path) -> None:
    """東村's 1,200 persons live in four buildings east of its point, by floor area:
    0 m (100 m², 1 floor), 100 m (100 m², 2 floors), 400 m (200 m², 1 floor), 1 km
    (100 m², 1 floor): 200, 400, 400 and 200 persons. A loudspeaker on the village point
    heard to 300 m reaches the first two: 600 persons, half."""
    _add_layers(tiny, [("W1", "东村大喇叭", *V1, "")],
                buildings=[(0, 10, 1), (100, 10, 2), (400, 14.142, 1), (1000, 10, 1)])
    r = warning_reach(load_district(tiny), propose=False)
    v1 = r.villages.set_index("village_id").loc["V1"]
    assert v1["placed_on"] == "buildings"
    assert v1["reached"] == pytest.approx(600, abs=2)
    assert v1["share"] == pytest.approx(0.5, abs=0.002) and v1["status"] == "below"
    people = r.people[r.people["village_id"] == "V1"].sort_values("persons")
    assert people["persons"].to_numpy() == pytest.approx([200, 200, 400, 400], abs=1)
    assert r.points["persons_reached"].iloc[0] == pytest.approx(600, abs=2)
    # the other villages have no building near them: their people are on the disc
    assert set(r.villages.set_index("village_id").loc[["V2", "V3"], "placed_on"]) == {"disc"}


def test_loudspeaker_over_the_disc_by_hand(tiny: Path) -> None:
    """Without buildings a village's people are 91 points of a hexagonal grid over a disc of
    300 m. A loudspeaker on the point heard to 150 m (half the disc) reaches the centre and
    the first two rings, 1 + 6 + 12 = 19 points (the third ring's nearest points lie at
    0.6 x sqrt(7/9) = 0.53 of the radius); heard to 300 m, all 91."""
    assert len(_disc(5)) == 91
    _add_layers(tiny, [("W1", "东村大喇叭", *V1, "150"), ("W2", "西村大喇叭", 1.4975, 42.4975,
                                                          "")])
    r = warning_reach(load_district(tiny), propose=False).villages.set_index("village_id")
    assert r.at["V1", "share"] == pytest.approx(19 / 91, abs=1e-4)
    assert r.at["V2", "share"] == 1.0  # the default radius of a loudspeaker is the disc's


def _brute_force(cover: list[set[int]], w: np.ndarray, groups: np.ndarray,
                 need: np.ndarray) -> int:
    for k in range(len(cover) + 1):
        for combo in itertools.combinations(range(len(cover)), k):
            got = np.zeros(len(need))
            pts = set().union(*(cover[j] for j in combo)) if combo else set()
            for i in pts:
                got[groups[i]] += w[i]
            if (got >= need - 1e-9).all():
                return k
    raise AssertionError("no subset reaches every need")


@pytest.mark.parametrize("seed", range(6))
def test_fewest_loudspeakers_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_c, n_p, n_g = 8, 14, 3
    groups = rng.integers(0, n_g, n_p)
    w = rng.integers(1, 20, n_p).astype(float)
    cover = [set(rng.choice(n_p, size=rng.integers(1, 5), replace=False).tolist())
             for _ in range(n_c)]
    reachable = np.zeros(n_g)
    for i in set().union(*cover):
        reachable[groups[i]] += w[i]
    need = np.floor(reachable * rng.uniform(0.3, 1.0, n_g))
    rows = [(j, i) for j, pts in enumerate(cover) for i in sorted(pts)]
    pairs = Pairs((n_c, n_p), np.array([r for r, _ in rows]), np.array([c for _, c in rows]),
                  np.zeros(len(rows)))
    sol = share_covering(pairs, w, groups, need)
    assert sol.objective == _brute_force(cover, w, groups, need)
    got = np.zeros(n_g)
    for i in set().union(*(cover[j] for j in sol.sites)) if sol.sites else set():
        got[groups[i]] += w[i]
    assert (got >= need - 1e-9).all()
    assert list(sol.gains) == sorted(sol.gains, reverse=True) or len(sol.gains) <= 1


def test_proposals_bring_every_village_to_the_share(tiny: Path, tmp_path: Path) -> None:
    """No warning point yet: the loudspeakers proposed, added to the layer, bring every
    village to [warning] min_share."""
    _add_layers(tiny, [("W1", "南村大喇叭", 1.5105, 42.4952, "")])
    plan = open_plan(tiny)
    from emgis.run.jobs import warning_job

    reach, files = write_with(warning_job, plan, tmp_path / "o", lang="zh")
    assert {f.name for f in files} == {"warnings.csv", "warning_points.csv",
                                       "warning_proposals.csv", "warnings.gpkg",
                                       "warnings.html"}
    below = reach.villages[reach.villages["status"] == "below"]
    assert len(below) >= 3 and len(reach.proposals) >= 1
    assert set(reach.proposals["village_id"]) <= set(below["village_id"])
    gpd_pts = reach.proposals.to_crs(4326)
    lines = (tiny / "warning_points.csv").read_text("utf-8")
    lines += "".join(f"N{r.rank},new,loudspeaker,,{g.x},{g.y}\n"
                     for r, g in zip(reach.proposals.itertuples(), gpd_pts.geometry,
                                     strict=True))
    (tiny / "warning_points.csv").write_text(lines, "utf-8")
    again = warning_reach(load_district(tiny), propose=False)
    assert (again.villages["status"] == "meets").all()
    dom = render_dom(tmp_path / "o" / "warnings.html", tmp_path)
    assert "leaflet-container" in dom and "emgis-proposal" in dom
