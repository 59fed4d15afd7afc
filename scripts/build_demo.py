"""Build the demo district data/demo/ from the Andorra OpenStreetMap extract.

Usage::

    python scripts/build_demo.py [--osm ../shared/data/osm/andorra-2021-06-22.osm.pbf] \
        [--out data/demo]

Real from OSM (© OpenStreetMap contributors, ODbL 1.0): the roads, the 66 named settlements
(villages; place=town are communities), the 7 parishes (townships), the 4 fire stations, the town
halls, hospitals, schools and large public buildings, forests and rivers.

Estimated, and marked ``illustrative`` in every file (see data/demo/README.md for the method):
population per settlement, headcounts, staff, micro fire stations, village teams, forest-fire
teams, stockpiles, shelter usable areas, and the hazard zones' effects. The rules are
deterministic: running the script again writes identical files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import shapely
import shapely.wkb
from pyproj import CRS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OSM = ROOT.parent / "shared" / "data" / "osm" / "andorra-2021-06-22.osm.pbf"
CRS_M = CRS.from_epsg(32631)  # UTM 31N, metres
CREDIT = "© OpenStreetMap contributors (ODbL 1.0)"

#: Control total for the dasymetric population estimate: Andorra's population, about 77,000
#: in 2021 (national statistics, rounded). Illustrative.
POPULATION_TOTAL = 77_000
#: Floor persons for a settlement with no residential building mapped nearby.
MIN_POPULATION = {"town": 200, "village": 30, "hamlet": 10, "isolated_dwelling": 3}
#: Buildings farther than this from every settlement of their parish house nobody we count.
ASSIGN_RADIUS_M = 3000.0
#: building=* values that are not homes.
NON_RESIDENTIAL = {
    "barn", "cabin", "carport", "cathedral", "chapel", "church", "civic", "commercial",
    "construction", "farm_auxiliary", "garage", "garages", "government", "greenhouse",
    "hospital", "hotel", "hut", "industrial", "kiosk", "office", "parking", "public",
    "religious", "retail", "roof", "ruins", "school", "service", "shed", "sports_hall",
    "stable", "supermarket", "train_station", "transportation", "university", "warehouse",
}
DEFAULT_LEVELS = {"apartments": 5, "residential": 3, "house": 2, "detached": 2, "yes": 3}

#: Villages (not communities) at least this populous have a part-time village team.
VILLAGE_TEAM_MIN_POPULATION = 500

#: The flood zone: a band this wide on each side of these rivers (the main Valira).
FLOOD_RIVERS = {"Valira", "riu Valira", "Riu Valira"}
FLOOD_BAND_M = 40.0

PLACES = ("town", "village", "hamlet", "isolated_dwelling")
DRIVABLE_OR_NOT = "highway"


@dataclass
class Feature:
    osm_id: str
    tags: dict[str, str]
    geom: shapely.Geometry


def read_osm(path: Path) -> dict[str, list[Feature]]:
    """One pass over the extract, keeping the features the demo needs (WGS-84 geometries)."""
    fab = osmium.geom.WKBFactory()
    out: dict[str, list[Feature]] = {k: [] for k in (
        "places", "parishes", "buildings", "amenities", "forests", "rivers")}
    amenity_kinds = {"fire_station", "townhall", "school", "hospital", "public_building",
                     "university", "college"}
    for o in osmium.FileProcessor(str(path)).with_areas().with_locations():
        t = dict(o.tags)
        if isinstance(o, osmium.osm.Node):
            if t.get("place") in PLACES and "name" in t:
                out["places"].append(Feature(f"n{o.id}", t, shapely.Point(o.lon, o.lat)))
            elif t.get("amenity") in amenity_kinds:
                out["amenities"].append(Feature(f"n{o.id}", t, shapely.Point(o.lon, o.lat)))
        elif isinstance(o, osmium.osm.Way):
            if t.get("waterway") == "river":
                geom = shapely.wkb.loads(fab.create_linestring(o), hex=True)
                out["rivers"].append(Feature(f"w{o.id}", t, geom))
        elif isinstance(o, osmium.osm.Area):
            oid = f"{'w' if o.from_way() else 'r'}{o.orig_id()}"
            try:
                geom = shapely.wkb.loads(fab.create_multipolygon(o), hex=True)
            except RuntimeError:
                continue
            if t.get("boundary") == "administrative" and t.get("admin_level") == "7":
                out["parishes"].append(Feature(oid, t, geom))
            if "building" in t:
                out["buildings"].append(Feature(oid, t, geom))
            if t.get("amenity") in amenity_kinds:
                out["amenities"].append(Feature(oid, t, geom))
            if t.get("landuse") == "forest" or t.get("natural") == "wood":
                out["forests"].append(Feature(oid, t, geom))
    for feats in out.values():
        feats.sort(key=lambda f: (f.osm_id[0], int(f.osm_id[1:])))
    return out


def write_roads(src: Path, dst: Path) -> int:
    """Copy every highway=* way and its nodes to ``dst`` (emgis applies the drive filter)."""
    way_ids: set[int] = set()
    node_ids: set[int] = set()
    for w in osmium.FileProcessor(str(src), osmium.osm.WAY):
        if isinstance(w, osmium.osm.Way) and "highway" in w.tags:
            way_ids.add(w.id)
            node_ids.update(n.ref for n in w.nodes)
    if dst.exists():
        dst.unlink()
    writer = osmium.SimpleWriter(str(dst))
    for o in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
        if isinstance(o, osmium.osm.Node) and o.id in node_ids:
            writer.add_node(o.replace(tags={}) if not len(o.tags) else o)
        elif isinstance(o, osmium.osm.Way) and o.id in way_ids:
            writer.add_way(o)
    writer.close()
    return len(way_ids)


def to_m(geoms: list[shapely.Geometry]) -> np.ndarray:
    return np.asarray(gpd.GeoSeries(geoms, crs=4326).to_crs(CRS_M).values)


def levels(tags: dict[str, str]) -> float:
    raw = tags.get("building:levels", "")
    try:
        v = float(raw.split(";")[0])
        if 1 <= v <= 25:
            return v
    except ValueError:
        pass
    return float(DEFAULT_LEVELS.get(tags.get("building", "yes"), 2))


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``weights`` summing to ``total`` (ties by position)."""
    exact = weights / weights.sum() * total
    base: np.ndarray = np.floor(exact).astype(int)
    order = np.lexsort((np.arange(len(exact)), -(exact - base)))
    base[order[: total - base.sum()]] += 1
    return base


def estimate_population(osm: dict[str, list[Feature]], parish_of: list[str]) -> np.ndarray:
    """Dasymetric estimate: residential floor area of nearby buildings, scaled to the total."""
    places = osm["places"]
    p_m = to_m([p.geom for p in places])
    parish_polys = {f.tags["name"]: g for f, g in zip(osm["parishes"],
                                                      to_m([f.geom for f in osm["parishes"]]))}
    floor = np.zeros(len(places))
    b_geoms = to_m([b.geom for b in osm["buildings"]])
    for b, g in zip(osm["buildings"], b_geoms):
        if b.tags.get("building") in NON_RESIDENTIAL:
            continue
        c = g.centroid
        parish = next((n for n, poly in parish_polys.items() if poly.contains(c)), None)
        best, best_d = -1, ASSIGN_RADIUS_M
        for i, p in enumerate(p_m):
            if parish_of[i] != parish:
                continue
            d = c.distance(p)
            if d < best_d:
                best, best_d = i, d
        if best >= 0:
            floor[best] += g.area * levels(b.tags)
    minimum = np.array([MIN_POPULATION[p.tags["place"]] for p in places])
    rest = POPULATION_TOTAL - int(minimum.sum())
    population: np.ndarray = minimum + largest_remainder(floor + 1e-9, rest)
    return population


def parish_for(points_wgs: list[shapely.Geometry], osm: dict[str, list[Feature]]) -> list[str]:
    polys = [(f.tags["name"], f.geom) for f in osm["parishes"]]
    out = []
    for p in points_wgs:
        inside = [n for n, g in polys if g.contains(p)]
        if inside:
            out.append(inside[0])
        else:  # on the border: the nearest parish
            out.append(min(polys, key=lambda ng: ng[1].distance(p))[0])
    return out


def point_of(f: Feature) -> shapely.Point:
    return f.geom if f.geom.geom_type == "Point" else f.geom.representative_point()


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else (f"{v:.6f}" if isinstance(v, float) else v) for v in r])
    path.write_text(buf.getvalue(), encoding="utf-8")


def write_geojson(
    path: Path, records: list[dict[str, object]], geoms: list[shapely.Geometry]
) -> None:
    feats = []
    for rec, g in zip(records, geoms):
        g = shapely.set_precision(g, 1e-6)
        feats.append({"type": "Feature", "properties": rec,
                      "geometry": json.loads(shapely.to_geojson(g))})
    doc = {"type": "FeatureCollection", "name": path.stem,
           "attribution": CREDIT, "features": feats}
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n",
                    encoding="utf-8")


def build(osm_path: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    osm = read_osm(osm_path)
    n_roads = write_roads(osm_path, out / "roads.osm.pbf")

    # Townships: the 7 parishes.
    parishes = sorted(osm["parishes"], key=lambda f: f.tags["name"])
    p_names = [f.tags["name"] for f in parishes]

    # Villages: the named settlements.
    places = osm["places"]
    v_parish = parish_for([p.geom for p in places], osm)
    population = estimate_population(osm, v_parish)
    villages = []
    for i, (p, par, pop) in enumerate(zip(places, v_parish, population), start=1):
        kind = "community" if p.tags["place"] == "town" else "village"
        villages.append({"id": f"V{i:02d}", "name": p.tags["name"], "township": par,
                         "kind": kind, "population": int(pop), "place": p.tags["place"],
                         "osm_id": p.osm_id, "geom": p.geom})

    # Amenities.
    def amen(kind: str) -> list[Feature]:
        return [f for f in osm["amenities"] if f.tags.get("amenity") == kind]

    townhalls = amen("townhall")
    th_parish = parish_for([point_of(f) for f in townhalls], osm)
    # one town hall per parish (the first by OSM id); parishes without one get no rescue team
    hall: dict[str, Feature] = {}
    for f, par in zip(townhalls, th_parish):
        hall.setdefault(par, f)

    forest_m = to_m([f.geom for f in osm["forests"]])
    parish_m = to_m([f.geom for f in parishes])
    forest_union = shapely.union_all(forest_m)
    forest_km2 = {n: g.intersection(forest_union).area / 1e6 for n, g in zip(p_names, parish_m)}
    pop_by_parish = {n: int(sum(v["population"] for v in villages if v["township"] == n))
                     for n in p_names}

    teams: list[list[object]] = []

    def team(tid: str, name: str, kind: str, headcount: int, township: str,
             geom: shapely.Point, full_time: int | None, drills: int | None, osm_id: str,
             village: str | None = None, availability: float | None = None,
             mobilisation: float | None = None) -> None:
        n = len(teams)
        # last drill: a date in 2026, every fifth team not recorded (illustrative)
        last = "" if n % 5 == 4 else f"2026-{1 + (3 * n) % 11:02d}-{10 + n % 15:02d}"
        teams.append([tid, name, kind, headcount, township, village, full_time, drills, last,
                      availability, mobilisation, osm_id,
                      "headcount,full_time,drills_per_year,last_drill"
                      + (",availability,mobilisation_min" if availability is not None else ""),
                      round(geom.x, 6), round(geom.y, 6)])

    for i, f in enumerate(amen("fire_station"), start=1):
        par = parish_for([point_of(f)], osm)[0]
        team(f"FS{i}", f.tags.get("name", f"Bombers {par}"), "fire_station", 24, par,
             point_of(f), 24, 4, f.osm_id)
    for i, par in enumerate(sorted(hall)):
        f = hall[par]
        team(f"TR{i + 1}", f"Equip de rescat {par}", "township_rescue_team",
             18 + 6 * (i % 4), par, point_of(f), 6 + (i % 3), (i % 3), f.osm_id)
    # township forest-fire teams in the three most forested parishes that have a town hall
    forest_parishes = sorted(sorted(hall, key=lambda n: -forest_km2[n])[:3])
    for i, par in enumerate(forest_parishes):
        team(f"FF{i + 1}", f"Equip forestal {par}", "forest_fire_team", 16 + 4 * (i % 3),
             par, point_of(hall[par]), None, 1 + (i % 2), hall[par].osm_id)
    hosp = amen("hospital")
    for i, f in enumerate(hosp, start=1):
        par = parish_for([point_of(f)], osm)[0]
        team(f"MD{i}", f.tags.get("name", f"Centre de salut {i}"), "medical", 8, par,
             point_of(f), 8, None, f.osm_id)
    mfs = 0
    for j, v in enumerate(sorted(villages, key=lambda v: v["id"])):
        big = v["kind"] == "community" or v["population"] >= 1000
        if big and j % 3 != 2:
            mfs += 1
            team(f"MF{mfs}", f"Micro fire station {v['name']}", "micro_fire_station",
                 4 if mfs % 4 == 0 else 6, v["township"], v["geom"], None, 2, v["osm_id"],
                 v["id"])
    vt = 0
    for v in villages:
        if v["kind"] == "village" and v["population"] >= VILLAGE_TEAM_MIN_POPULATION:
            vt += 1
            team(f"VT{vt}", f"Village team {v['name']}", "village_team",
                 int(min(30, max(6, round(v["population"] / 40)))), v["township"], v["geom"],
                 None, vt % 3, v["osm_id"], v["id"])

    # Social forces (地企联动): a social rescue team at the capital's town hall and an
    # enterprise brigade at the busiest fire station's parish hall (illustrative).
    capital_hall = max(hall, key=lambda n: pop_by_parish[n])
    team("SR1", f"Social rescue team {capital_hall}", "social_rescue_team", 12, capital_hall,
         point_of(hall[capital_hall]), None, 1, hall[capital_hall].osm_id,
         availability=0.7, mobilisation=20)
    second = sorted(hall, key=lambda n: -pop_by_parish[n])[1]
    team("EB1", f"Enterprise fire brigade {second}", "enterprise_brigade", 10, second,
         point_of(hall[second]), 10, 2, hall[second].osm_id, availability=0.9, mobilisation=5)

    # Warning points (村村响): a loudspeaker at two of every three settlements, on the
    # settlement point or (every other one) some 200 m east of it, and a siren at the
    # capital's town hall (illustrative).
    warn: list[list[object]] = []
    for j, v in enumerate(sorted(villages, key=lambda v: v["id"])):
        if j % 3 != 1:
            east = 0.0025 if j % 3 == 2 else 0.0
            warn.append([f"W{j + 1:02d}", f"Loudspeaker {v['name']}", "loudspeaker",
                         v["township"], "", "location,kind", round(v["geom"].x + east, 6),
                         round(v["geom"].y, 6)])
    g = point_of(hall[capital_hall])
    warn.append(["WS1", f"Siren {capital_hall}", "siren", capital_hall, 1000, "location,kind",
                 round(g.x, 6), round(g.y, 6)])

    # Stockpiles: a county store in the capital parish, a township store at each town hall
    # except the least populated parish that has one (a gap to find).
    capital = max(pop_by_parish, key=lambda n: pop_by_parish[n])
    skip = min(hall, key=lambda n: pop_by_parish[n])
    stock: list[list[object]] = []
    g = point_of(hall[capital])
    stock.append(["SC1", f"Magatzem comarcal {capital}", "county", capital,
                  "tents:200;blankets:2000;water_l:20000", "items", round(g.x + 0.0005, 6),
                  round(g.y, 6)])
    for i, par in enumerate(sorted(hall), start=1):
        if par == skip:
            continue
        g = point_of(hall[par])
        stock.append([f"ST{i}", f"Magatzem {par}", "township", par,
                      "tents:20;blankets:300;water_l:3000", "items", round(g.x, 6), round(g.y, 6)])

    # Shelters: schools and large public buildings; usable area from the building footprint.
    bld = [(b, g) for b, g in zip(osm["buildings"], to_m([b.geom for b in osm["buildings"]]))]
    shelters_rec, shelters_geom = [], []
    cands = [f for f in osm["amenities"] if f.tags.get("amenity") in
             ("school", "public_building", "university", "college")]
    for i, f in enumerate(cands, start=1):
        pm = to_m([point_of(f)])[0]
        if f.geom.geom_type != "Point":
            footprint = to_m([f.geom])[0].area
        else:
            near = [(g.distance(pm), g.area) for _, g in bld if g.distance(pm) < 60]
            footprint = min(near)[1] if near else 400.0
        usable = round(0.5 * footprint, 1)
        kind = "fixed" if footprint >= 1500 else "emergency"
        par = parish_for([point_of(f)], osm)[0]
        shelters_rec.append({"id": f"SH{i:02d}", "name": f.tags.get("name", f"Shelter {i}"),
                             "kind": kind, "area_m2": usable, "township": par,
                             "osm_id": f.osm_id, "illustrative": "area_m2,kind"})
        shelters_geom.append(point_of(f))

    # Hazards: a flood band along the main Valira (the lower valley through Andorra la Vella
    # and Sant Julià), and forest-fire zones east and west.
    valira = [r for r in osm["rivers"] if r.tags.get("name") in FLOOD_RIVERS]
    rivers = shapely.union_all(to_m([r.geom for r in valira])).buffer(FLOOD_BAND_M)
    east_m = [g for g, f in zip(forest_m, osm["forests"]) if point_of(f).x >= 1.58]
    west_m = [g for g, f in zip(forest_m, osm["forests"]) if point_of(f).x < 1.58]
    hz = gpd.GeoSeries([rivers, shapely.union_all(east_m), shapely.union_all(west_m)],
                       crs=CRS_M)
    hz = hz.simplify(10).to_crs(4326)
    hazards_rec: list[dict[str, object]] = [
        {"id": "H1", "name": f"Valira river flood band ({FLOOD_BAND_M:g} m)", "kind": "flood",
         "effect": "closed", "speed_factor": None, "illustrative": "extent,effect"},
        {"id": "H2", "name": "Eastern hills forest fire", "kind": "forest_fire",
         "effect": "closed", "speed_factor": None, "illustrative": "extent,effect"},
        {"id": "H3", "name": "Western forests fire smoke", "kind": "forest_fire",
         "effect": "slowed", "speed_factor": 0.5, "illustrative": "extent,effect"},
    ]

    # Files.
    write_csv(out / "villages.csv",
              ["id", "name", "township", "kind", "population", "service_centre_staff",
               "drills_per_year", "households", "grid_members", "last_drill", "place", "osm_id",
               "illustrative", "lon", "lat"],
              [[v["id"], v["name"], v["township"], v["kind"], v["population"], 1 + (i % 3),
                i % 4, *_grid(v["population"], i), v["place"], v["osm_id"],
                "population,service_centre_staff,drills_per_year,households,grid_members,"
                "last_drill", round(v["geom"].x, 6), round(v["geom"].y, 6)]
               for i, v in enumerate(villages)])
    write_csv(out / "teams.csv",
              ["id", "name", "kind", "headcount", "township", "village", "full_time",
               "drills_per_year", "last_drill", "availability", "mobilisation_min", "osm_id",
               "illustrative", "lon", "lat"], teams)
    write_csv(out / "warning_points.csv",
              ["id", "name", "kind", "township", "radius_m", "illustrative", "lon", "lat"], warn)
    write_csv(out / "stockpiles.csv",
              ["id", "name", "level", "township", "items", "illustrative", "lon", "lat"], stock)
    # built-up area: building footprints grown by 25 m and merged, per parish (illustrative)
    built = shapely.union_all([g.buffer(25, quad_segs=2) for _, g in bld])
    builtup = {n: round(g.intersection(built).area / 1e6, 2) for n, g in zip(p_names, parish_m)}
    t_recs = []
    for i, (f, n) in enumerate(zip(parishes, p_names)):
        t_recs.append({"name": n, "office_fulltime_staff": 2 + (i % 3),
                       "station_posts": 4 + (i % 4), "station_fulltime_posts": 1 + (i % 2),
                       "population_estimate": pop_by_parish[n], "builtup_km2": builtup[n],
                       "forest_km2": round(forest_km2[n], 2), **_eight_haves(i),
                       "osm_id": f.osm_id,
                       "illustrative": "office_fulltime_staff,station_posts,"
                                       "station_fulltime_posts,population_estimate,"
                                       "builtup_km2," + ",".join(_eight_haves(i))})
    write_geojson(out / "townships.geojson", t_recs,
                  list(gpd.GeoSeries(parish_m, crs=CRS_M).simplify(20).to_crs(4326).values))
    write_geojson(out / "shelters.geojson", shelters_rec, shelters_geom)
    write_geojson(out / "hazards.geojson", hazards_rec, list(hz.values))
    print(f"roads: {n_roads} highway ways; villages: {len(villages)} "
          f"(population {int(population.sum()):,}); townships: {len(parishes)}; "
          f"teams: {len(teams)}; stockpiles: {len(stock)}; shelters: {len(shelters_rec)}; "
          f"hazards: {len(hazards_rec)}")


def _grid(population: int, i: int) -> list[object]:
    """Households (2.6 persons each), grid members (one per 350 households, at least one;
    every seventh village none) and the last village drill (every sixth not recorded)."""
    households = max(1, round(population / 2.6))
    members = 0 if i % 7 == 6 else max(1, round(households / 350))
    last = "" if i % 6 == 5 else f"2026-{1 + (5 * i) % 11:02d}-{5 + i % 20:02d}"
    return [households, members, last]


def _eight_haves(i: int) -> dict[str, object]:
    """The eight haves of parish ``i``'s station, varied so that each is met somewhere and
    missing or not recorded elsewhere (illustrative; blank = not recorded)."""
    def yes(cond: bool) -> str:
        return "是" if cond else "否"

    return {"office": yes(i != 3), "satellite_phones": i % 3,
            "video_conference": yes(i % 2 == 0), "broadcast_system": yes(i % 4 != 3),
            "duty_system": "" if i == 5 else yes(i % 3 != 2),
            "enforcement_team": yes(i % 2 == 1), "emergency_plan": yes(True),
            "warning_education_site": "" if i == 6 else yes(i % 3 == 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--osm", type=Path, default=DEFAULT_OSM)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "demo")
    args = ap.parse_args()
    build(args.osm, args.out)


if __name__ == "__main__":
    main()
