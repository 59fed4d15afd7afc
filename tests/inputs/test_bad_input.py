"""Bad input, one fault at a time: every case ends in a clear error naming the culprit, a
documented status, a warning, or a correct result. Never a traceback, never a silent pass.

Each case edits a copy of the tiny district (tests/data/tiny) once and runs one command of the
CLI in-process. Expectations:

- ``Problem(file, words, field, row, rid)``: exit 2 and a problem line naming the file, the
  row, the id and the field, with the words of what was expected;
- ``Fails(words)``: exit 2 and ``error: ...`` with the words (a district, network or output
  problem that is not a record's);
- ``Warns(words)``: exit 0 and the warning printed;
- ``Accepts(check)``: exit 0 and ``check(district_folder, out_folder)`` passes (a correct
  result, verified);
- ``Status(kind, village, status)``: exit 0 and coverage.csv gives the village that status.

In every case the command must not end in an internal error (exit 1, "internal error").
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from emgis.cli import main
from tests.conftest import english_words, replace_in

#: What a case does to the district (what it returns is not used).
Edit = Callable[[Path], object]
#: A check of a run's district and output folder (what it returns is not used).
Check = Callable[[Path, Path], object]


@dataclass(frozen=True)
class Problem:
    file: str
    words: str
    field: str | None = None
    row: int | None = None
    rid: str | None = None


@dataclass(frozen=True)
class Fails:
    words: str


@dataclass(frozen=True)
class Warns:
    words: str


@dataclass(frozen=True)
class Accepts:
    check: Check


@dataclass(frozen=True)
class Status:
    kind: str
    village: str
    status: str


@dataclass(frozen=True)
class Case:
    cls: str
    id: str
    edit: Edit
    expect: Problem | Fails | Warns | Accepts | Status
    cmd: tuple[str, ...] = ("validate", "{d}")
    extra: dict[str, Any] = field(default_factory=dict)


# --- edits ---------------------------------------------------------------------------------

def sub(file: str, old: str, new: str) -> Edit:
    return lambda d: replace_in(d / file, old, new)


def toml(text: str) -> Edit:
    """Append tables to district.toml."""
    def edit(d: Path) -> None:
        with (d / "district.toml").open("a", encoding="utf-8") as fh:
            fh.write("\n" + text + "\n")
    return edit


def toml_sub(old: str, new: str) -> Edit:
    return sub("district.toml", old, new)


def write(file: str, content: str | bytes) -> Edit:
    def edit(d: Path) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (d / file).write_bytes(data)
    return edit


def reencode(file: str, encoding: str) -> Edit:
    def edit(d: Path) -> None:
        (d / file).write_bytes((d / file).read_text("utf-8").encode(encoding))
    return edit


def both(*edits: Edit) -> Edit:
    def edit(d: Path) -> None:
        for e in edits:
            e(d)
    return edit


def drop_layer(name: str) -> Edit:
    def edit(d: Path) -> None:
        text = (d / "district.toml").read_text("utf-8")
        start = text.index(f"[layers.{name}]")
        end = text.index("\n\n", start) + 2
        (d / "district.toml").write_text(text[:start] + text[end:], "utf-8")
    return edit


def village_row(new: str) -> Edit:
    """Replace V5's row of villages.csv."""
    return sub("villages.csv", "V5,南村,东镇,village,500,1.5105,42.4952", new)


def geojson_feature(file: str, old_props: str, new_props: str) -> Edit:
    return sub(file, old_props, new_props)


def shapefile_villages(encoding: str, cpg: str | None) -> Edit:
    def edit(d: Path) -> None:
        from emgis import load_district
        from emgis.inputs.layers import WGS84

        v = load_district(d).villages[["id", "name", "township", "kind", "population",
                                       "geometry"]].to_crs(WGS84)
        v["population"] = v["population"].astype(int)
        v.to_file(d / "villages.shp", encoding=encoding)
        cpg_path = d / "villages.cpg"
        if cpg is None:
            cpg_path.unlink(missing_ok=True)
        else:
            cpg_path.write_text(cpg, "ascii")
        replace_in(d / "district.toml", 'path = "villages.csv"', 'path = "villages.shp"')
    return edit


def osm(content: str) -> Edit:
    return write("roads.osm", content)


OSM_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="t">\n'


def graphml_nodes_only(d: Path) -> None:
    """A GraphML saved by osmnx with one node and no edge."""
    import networkx as nx
    import osmnx as ox

    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=1.5, y=42.5)
    ox.save_graphml(G, d / "roads.graphml")
    replace_in(d / "district.toml", 'path = "roads.osm"', 'path = "roads.graphml"')


def graphml(content: str) -> Edit:
    return both(write("roads.graphml", content),
                toml_sub('path = "roads.osm"', 'path = "roads.graphml"'))


def road_lines(props: str, crs: bool = True) -> Edit:
    crs_member = ('"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},'
                  if crs else "")
    gj = ('{"type":"FeatureCollection",' + crs_member + '"features":[{"type":"Feature",'
          '"properties":' + props + ',"geometry":{"type":"LineString","coordinates":'
          '[[1.50,42.50],[1.52,42.50]]}}]}')
    return both(write("roads.geojson", gj),
                toml_sub('path = "roads.osm"', 'path = "roads.geojson"'))


def add_column(file: str, name: str, value: str) -> Edit:
    def edit(d: Path) -> None:
        lines = (d / file).read_text("utf-8").splitlines()
        out = [lines[0] + f",{name}"] + [ln + f",{value}" for ln in lines[1:]]
        (d / file).write_text("\n".join(out) + "\n", "utf-8")
    return edit


def lines_shapefile(*, prj: bool) -> Edit:
    def edit(d: Path) -> None:
        import geopandas as gpd
        import shapely

        g = gpd.GeoDataFrame({"highway": ["primary", "residential"]}, geometry=[
            shapely.LineString([(1.50, 42.50), (1.51, 42.50)]),
            shapely.LineString([(1.51, 42.50), (1.51, 42.51)])], crs=4326)
        g.to_file(d / "lines.shp")
        if not prj:
            (d / "lines.prj").unlink()
        replace_in(d / "district.toml", 'path = "roads.osm"', 'path = "lines.shp"')
    return edit


# --- checks of correct results --------------------------------------------------------------

def field_is(layer: str, rid: str, column: str, value: object) -> Check:
    def check(d: Path, out: Path) -> None:
        from emgis import load_district

        t = getattr(load_district(d), layer).set_index("id")
        assert t.at[rid, column] == value
    return check


def kept_column(name: str) -> Check:
    def check(d: Path, out: Path) -> None:
        from emgis import load_district

        assert list(load_district(d).villages[name]) == ["x"] * 5
    return check


def stockpile_at(lon: float, lat: float) -> Check:
    def check(d: Path, out: Path) -> None:
        from emgis import load_district

        p = load_district(d).stockpiles.to_crs(4326).geometry.iloc[0]
        assert abs(p.x - lon) < 1e-9 and abs(p.y - lat) < 1e-9
    return check

def names_are(*expected: str) -> Check:
    def check(d: Path, out: Path) -> None:
        from emgis import load_district

        assert list(load_district(d).villages["name"]) == list(expected)
    return check


def population_of(vid: str, value: int) -> Check:
    def check(d: Path, out: Path) -> None:
        from emgis import load_district

        v = load_district(d).villages.set_index("id")
        assert int(v.at[vid, "population"]) == value
    return check


def coverage_has(vid: str) -> Check:
    """Every kind has a row for the village in coverage.csv (nothing dropped)."""
    def check(d: Path, out: Path) -> None:
        t = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig", keep_default_na=False)
        assert (t["village_id"] == vid).sum() == t["kind"].nunique()
    return check


def ran_fully(d: Path, out: Path) -> None:
    manifest = json.loads((out / "run.json").read_text("utf-8"))
    assert manifest["complete"] is True and not manifest.get("failures")
    assert (out / "report.html").exists()


def csv_cell(file: str, column: str, value: str) -> Check:
    def check(d: Path, out: Path) -> None:
        t = pd.read_csv(out / file, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        assert value in set(t[column]), (value, set(t[column]))
    return check


def nothing_outside(d: Path, out: Path) -> None:
    """No file was written outside --out (the district folder's parent holds only it)."""
    parent = out.parent
    assert sorted(p.name for p in parent.iterdir()) == sorted(["out", "tiny"]), \
        sorted(p.name for p in parent.iterdir())
    assert all(p.resolve().parent == out.resolve() for p in out.iterdir())


def siting_ok(kind: str, n: int) -> Check:
    def check(d: Path, out: Path) -> None:
        t = pd.read_csv(out / f"siting_{kind}.csv", encoding="utf-8-sig")
        assert len(t) == n
        assert (t["gain"] >= 0).all()
    return check


def gains_not_negative(d: Path, out: Path) -> None:
    t = pd.read_csv(out / "siting_stockpile.csv", encoding="utf-8-sig")
    assert (t["gain"] >= 0).all() and (t["newly_covered_population"] >= 0).all()


def statuses_are(file: str, kind: str, column: str, want: dict[str, str]) -> Check:
    """Every village of a kind has the status given (all 5 present)."""
    def check(d: Path, out: Path) -> None:
        t = pd.read_csv(out / file, encoding="utf-8-sig", keep_default_na=False)
        sel = t[t["kind"] == kind].set_index("village_id")[column]
        assert sel.to_dict() == want
    return check


def network_ok(d: Path, out: Path) -> None:
    """The network loads and the villages attach to it."""
    import emgis

    plan = emgis.open(d, use_cache=False)
    assert plan.network.n_edges > 0


TEAMS_HEADER = "id,name,kind,headcount,township,turnout_min,full_time,lon,lat\n"
RUN = ("run", "{d}", "--out", "{out}")
COVERAGE = ("coverage", "{d}", "--out", "{out}")
NETWORK = ("network", "{d}")
WHOLE = '[[1.40,42.40],[1.70,42.40],[1.70,42.60],[1.40,42.60],[1.40,42.40]]'

CASES: list[Case] = [
    # --- configuration: types, ranges and unknown keys ----------------------------------------
    Case("config", "crs-int", toml_sub('crs = "EPSG:4326"', "crs = 4326"),
         Problem("district.toml", 'write crs = "EPSG:4326"', "district.crs")),
    Case("config", "crs-unknown", toml_sub('crs = "EPSG:4326"', 'crs = "EPSG:99999"'),
         Problem("district.toml", "that pyproj knows", "district.crs")),
    Case("config", "name-number", toml_sub('name = "测试区"', "name = 5"),
         Problem("district.toml", "expected a text", "district.name")),
    Case("config", "bbox-short",
         toml_sub('crs = "EPSG:4326"', 'crs = "EPSG:4326"\nbbox = [1, 2, 3]'),
         Problem("district.toml", "list of 4 numbers", "district.bbox")),
    Case("config", "bbox-inverted",
         toml_sub('crs = "EPSG:4326"', 'crs = "EPSG:4326"\nbbox = [1.6, 42.4, 1.4, 42.6]'),
         Problem("district.toml", "min < max", "district.bbox")),
    Case("config", "tolerance-negative",
         toml_sub('crs = "EPSG:4326"', 'crs = "EPSG:4326"\nextent_tolerance_m = -5'),
         Problem("district.toml", "expected a number of metres >= 0",
                 "district.extent_tolerance_m")),
    Case("config", "district-key-typo",
         toml_sub('crs = "EPSG:4326"', 'crs = "EPSG:4326"\nextent_tolerence_m = 10'),
         Problem("district.toml", "did you mean 'extent_tolerance_m'",
                 "district.extent_tolerence_m")),
    Case("config", "table-typo", toml("[targts]\nmicro_fire_station = 1"),
         Problem("district.toml", "did you mean 'targets'", "targts")),
    Case("config", "target-zero", toml("[targets]\nmicro_fire_station = 0"),
         Problem("district.toml", "expected a number of minutes > 0",
                 "targets.micro_fire_station")),
    Case("config", "target-text", toml('[targets]\nmicro_fire_station = "3"'),
         Problem("district.toml", "expected a number", "targets.micro_fire_station")),
    Case("config", "target-key-typo", toml("[targets]\nmicro_fire_stn = 3"),
         Problem("district.toml", "did you mean 'micro_fire_station'",
                 "targets.micro_fire_stn")),
    Case("config", "override-table-key",
         toml('[targets]\nmicro_fire_station = { value = 3, sorce = "x" }'),
         Problem("district.toml", 'value = <number>, source = "..."',
                 "targets.micro_fire_station")),
    Case("config", "turnout-negative", toml("[turnout]\nvillage_team = -1"),
         Problem("district.toml", ">= 0", "turnout.village_team")),
    Case("config", "speed-zero", toml("[speeds]\nresidential = 0"),
         Problem("district.toml", "expected a number of km/h > 0", "speeds.residential")),
    Case("config", "speed-negative", toml("[speeds]\nresidential = -20"),
         Problem("district.toml", "> 0", "speeds.residential")),
    Case("config", "speed-implausible", toml("[speeds]\nprimary = 1000"),
         Problem("district.toml", "<= 200", "speeds.primary")),
    Case("config", "speed-key-typo", toml("[speeds]\nresidental = 20"),
         Problem("district.toml", "did you mean 'residential'", "speeds.residental")),
    Case("config", "network-text", toml('[network]\nmax_access_m = "far"'),
         Problem("district.toml", "expected a number of metres", "network.max_access_m")),
    Case("config", "network-key-typo", toml("[network]\nmax_acces_m = 100"),
         Problem("district.toml", "did you mean 'max_access_m'", "network.max_acces_m")),
    Case("config", "network-list", toml('[network]\nexclude_highway = "track"'),
         Problem("district.toml", "expected a list of texts", "network.exclude_highway")),
    Case("config", "network-choice", toml('[network]\nmaxspeed_rule = "fast"'),
         Problem("district.toml", '"derate", "raw", "ignore"', "network.maxspeed_rule")),
    Case("config", "network-range-order",
         toml("[network]\nmaxspeed_min_kph = 100\nmaxspeed_max_kph = 50"),
         Problem("district.toml", "is not below", "network.maxspeed_min_kph")),
    Case("config", "default-class-no-speed", toml('[network]\ndefault_class = "nowhere"'),
         Problem("district.toml", "has no speed", "network.default_class")),
    Case("config", "breaks-negative", toml("[coverage]\nbreaks_min = [5, -1]"),
         Problem("district.toml", "numbers of minutes > 0", "coverage.breaks_min")),
    Case("config", "mode-choice", toml('[coverage]\nshelter_fixed_mode = "fly"'),
         Problem("district.toml", '"walk", "drive"', "coverage.shelter_fixed_mode")),
    Case("config", "scenario-buffer-text",
         toml('[scenarios.flood]\nhazards = ["H1"]\nbuffer_m = "wide"'),
         Problem("district.toml", "expected a number of metres", "scenarios.flood.buffer_m")),
    Case("config", "scenario-factor-range",
         toml('[scenarios.flood]\nhazards = ["H1"]\nspeed_factor = 5'),
         Problem("district.toml", "<= 1", "scenarios.flood.speed_factor")),
    Case("config", "scenario-no-hazards", toml("[scenarios.flood]\nhazards = []"),
         Problem("district.toml", "with at least one", "scenarios.flood.hazards")),
    Case("config", "scenario-unknown-hazard", toml('[scenarios.flood]\nhazards = ["NOPE"]'),
         Problem("district.toml", "['NOPE']", "scenarios.flood.hazards")),
    Case("config", "scenario-key-typo",
         toml('[scenarios.flood]\nhazards = ["H1"]\nevacuate_within = 100'),
         Problem("district.toml", "did you mean 'evacuate_within_m'",
                 "scenarios.flood.evacuate_within")),
    Case("config", "scenario-bool-text",
         toml('[scenarios.flood]\nhazards = ["H1"]\nunits_out_of_action = "yes"'),
         Problem("district.toml", "expected true or false",
                 "scenarios.flood.units_out_of_action")),
    Case("config", "layer-key-typo",
         toml_sub('[layers.villages]\npath = "villages.csv"',
                  '[layers.villages]\npth = "villages.csv"'),
         Problem("district.toml", "did you mean 'path'", "layers.villages.pth")),
    Case("config", "layer-name-typo",
         toml_sub("[layers.villages]", "[layers.village]"),
         Problem("district.toml", "did you mean 'villages'", "layers.village")),
    Case("config", "layer-encoding-unknown",
         toml_sub('path = "villages.csv"', 'path = "villages.csv"\nencoding = "klingon"'),
         Problem("district.toml", "an encoding Python knows", "layers.villages.encoding")),
    Case("config", "fields-not-text",
         toml_sub('path = "teams.csv"', 'path = "teams.csv"\nfields = { headcount = 5 }'),
         Problem("district.toml", "mapping emgis field names", "layers.teams.fields")),
    Case("config", "roads-format",
         toml_sub('path = "roads.osm"', 'path = "roads.osm"\nformat = "shp"'),
         Problem("district.toml", '"osm", "graphml", "lines"', "roads.format")),
    Case("config", "roads-no-path", toml_sub('path = "roads.osm"', 'class_field = "highway"'),
         Problem("district.toml", "has no path", "roads.path")),
    Case("config", "toml-not-utf8",
         lambda d: (d / "district.toml").write_bytes(
             (d / "district.toml").read_text("utf-8").encode("gbk")),
         Fails("is saved in GBK")),
    Case("config", "toml-syntax", toml("[targets\nmicro_fire_station = 3"),
         Fails("not valid TOML")),
    Case("config", "no-villages-layer", drop_layer("villages"),
         Problem("district.toml", "no [layers.villages]", "layers.villages")),
    Case("config", "roads-file-missing", toml_sub('path = "roads.osm"', 'path = "nowhere.osm"'),
         Problem("nowhere.osm", "road network file not found")),
    Case("config", "several-problems-at-once",
         toml("[targets]\nmicro_fire_station = 0\n[speeds]\nresidential = -1\n[targts]\nx = 1"),
         Problem("district.toml", "did you mean 'targets'", "targts")),
    # --- missing and empty layers ---------------------------------------------------------------
    Case("layers", "no-shelters-layer", drop_layer("shelters"), Accepts(ran_fully), RUN),
    Case("layers", "no-stockpiles-layer", drop_layer("stockpiles"), Accepts(ran_fully), RUN),
    Case("layers", "no-hazards-layer-but-scenario",
         both(drop_layer("hazards"), toml('[scenarios.flood]\nhazards = ["H1"]')),
         Problem("district.toml", "the district has none", "scenarios.flood.hazards")),
    Case("layers", "teams-header-only", write("teams.csv", TEAMS_HEADER),
         Accepts(ran_fully), RUN),
    Case("layers", "site-where-no-unit-exists", write("teams.csv", TEAMS_HEADER),
         Accepts(siting_ok("micro_fire_station", 2)),
         ("site", "{d}", "--kind", "micro_fire_station", "--add", "2", "--out", "{out}")),
    Case("layers", "villages-header-only",
         write("villages.csv", "id,name,township,kind,population,lon,lat\n"),
         Problem("villages.csv", "empty layer")),
    Case("layers", "layer-is-a-folder",
         both(lambda d: (d / "folder.csv").mkdir(),
              toml_sub('path = "teams.csv"', 'path = "folder.csv"')),
         Problem("folder.csv", "is a folder")),
    Case("layers", "empty-file", write("villages.csv", b""),
         Problem("villages.csv", "cannot be read as CSV")),
    Case("layers", "townships-no-features",
         write("townships.geojson", '{"type":"FeatureCollection","features":[]}'),
         Warns("empty layer: no townships")),
    Case("layers", "no-roads", toml_sub('[roads]\npath = "roads.osm"', ""),
         Fails("no [roads]"), RUN),
    Case("layers", "stockpiles-missing-file",
         toml_sub('path = "stockpiles.csv"', 'path = "gone.csv"'),
         Problem("gone.csv", "file not found")),
    # --- encodings ---------------------------------------------------------------------------
    Case("encoding", "utf16", reencode("villages.csv", "utf-16"),
         Problem("villages.csv", "UTF-16")),
    Case("encoding", "declared-gbk-on-utf8",
         toml_sub('path = "villages.csv"', 'path = "villages.csv"\nencoding = "GBK"'),
         Accepts(names_are("东村", "西村", "北村", "山村", "南村"))),
    Case("encoding", "declared-gbk-on-utf8-warns",
         toml_sub('path = "villages.csv"', 'path = "villages.csv"\nencoding = "GBK"'),
         Warns("the file is UTF-8")),
    Case("encoding", "declared-utf8-on-gbk",
         both(reencode("villages.csv", "gbk"),
              toml_sub('path = "villages.csv"', 'path = "villages.csv"\nencoding = "UTF-8"')),
         Warns("read as GB18030")),
    Case("encoding", "mixed-utf8-and-gbk",
         lambda d: (d / "villages.csv").write_bytes(
             b"".join(line.encode("gbk") if "V4" in line else line.encode("utf-8")
                      for line in (d / "villages.csv").read_text("utf-8")
                      .splitlines(keepends=True))),
         Problem("villages.csv", "mixed encodings", row=4)),
    Case("encoding", "neither-encoding",
         lambda d: (d / "villages.csv").write_bytes(
             (d / "villages.csv").read_bytes().replace("北村".encode(), b"\xff\xfe\xfa")),
         Problem("villages.csv", "neither UTF-8 nor GBK", row=3)),
    Case("encoding", "nul-bytes", write("villages.csv", b"id,name\x00\x00\n"),
         Problem("villages.csv", "NUL bytes")),
    Case("encoding", "utf8-bom-excel",
         lambda d: (d / "villages.csv").write_bytes(
             codecs.BOM_UTF8 + (d / "villages.csv").read_bytes()),
         Accepts(names_are("东村", "西村", "北村", "山村", "南村"))),
    Case("encoding", "shapefile-gbk-without-cpg", shapefile_villages("GBK", None),
         Accepts(names_are("东村", "西村", "北村", "山村", "南村"))),
    Case("encoding", "shapefile-cpg-lies", shapefile_villages("GBK", "UTF-8"),
         Warns("declared encoding = \"UTF-8\" does not fit")),
    Case("encoding", "geojson-encoding-ignored",
         toml_sub('path = "shelters.geojson"', 'path = "shelters.geojson"\nencoding = "GBK"'),
         Warns("is ignored")),
    Case("encoding", "geojson-garbled",
         sub("shelters.geojson", "东村小学", "\\u00e4\\u00b8\\u009c"),
         Problem("shelters.geojson", "garbled text", "name", row=1)),
    # --- ids ------------------------------------------------------------------------------------
    Case("ids", "duplicate-id", sub("villages.csv", "V2,西村", "V1,西村"),
         Problem("villages.csv", "duplicate id 'V1'", "id", row=2, rid="V1")),
    Case("ids", "missing-id", sub("villages.csv", "V2,西村", ",西村"),
         Problem("villages.csv", "missing id", "id", row=2)),
    Case("ids", "blank-id", sub("villages.csv", "V2,西村", "   ,西村"),
         Problem("villages.csv", "missing id", "id", row=2)),
    Case("ids", "id-with-line-break", sub("villages.csv", "V2,西村", '"V\n2",西村'),
         Problem("villages.csv", "control characters", "id", row=2)),
    Case("ids", "id-too-long", sub("villages.csv", "V2,西村", "V" * 300 + ",西村"),
         Problem("villages.csv", "at most 200 characters", "id", row=2)),
    Case("ids", "duplicate-township",
         sub("townships.geojson", "]}}\n]}",
             ']}},\n{"type":"Feature","properties":{"name":"东镇"},"geometry":{"type":'
             '"Polygon","coordinates":[[[1.6,42.6],[1.61,42.6],[1.61,42.61],[1.6,42.6]]]}}\n]}'),
         Problem("townships.geojson", "duplicate name '东镇'", "name", row=2)),
    Case("ids", "team-village-unknown",
         both(sub("teams.csv", "turnout_min,full_time,lon,lat",
                  "turnout_min,full_time,village,lon,lat"),
              sub("teams.csv", "6,东镇,1,,", "6,东镇,1,,V99,"),
              sub("teams.csv", "30,东镇,,10,", "30,东镇,,10,,"),
              sub("teams.csv", "12,东镇,5,,", "12,东镇,5,,,")),
         Problem("teams.csv", "village 'V99' is not an id", "village", row=1, rid="T1")),
    Case("ids", "team-duplicate-id", sub("teams.csv", "T2,", "T1,"),
         Problem("teams.csv", "duplicate id 'T1'", "id", row=2, rid="T1")),
    Case("ids", "formula-id-neutralised", sub("villages.csv", "V2,西村", "=cmd|' /C calc'!A0,西村"),
         Accepts(csv_cell("coverage.csv", "village_id", "'=cmd|' /C calc'!A0")), COVERAGE),
    Case("ids", "formula-name-neutralised", sub("villages.csv", "V2,西村", "V2,+SUM(A1:A9)"),
         Accepts(csv_cell("coverage.csv", "village_name", "'+SUM(A1:A9)")), COVERAGE),
    Case("ids", "formula-at-neutralised", sub("teams.csv", "T1,东村微型消防站", "T1,@evil"),
         Accepts(csv_cell("siting_micro_fire_station_excluded.csv", "name", "'@evil")),
         ("site", "{d}", "--kind", "micro_fire_station", "--add", "1", "--out", "{out}")),
    # --- fields --------------------------------------------------------------------------------
    Case("fields", "missing-required-column",
         sub("villages.csv", "id,name,township,kind,population,", "id,name,township,kind,pop,"),
         Problem("villages.csv", "missing required field 'population'", "population")),
    Case("fields", "mapping-to-missing-column",
         toml_sub('path = "villages.csv"',
                  'path = "villages.csv"\nfields = { population = "人口" }'),
         Problem("villages.csv", "column '人口', which is not in the file", "population")),
    Case("fields", "mapping-key-typo",
         toml_sub('path = "villages.csv"',
                  'path = "villages.csv"\nfields = { populaton = "population" }'),
         Problem("villages.csv", "did you mean 'population'", "fields.populaton")),
    Case("fields", "mapping-clashes-with-own-column",
         both(sub("villages.csv", "id,name,township,kind,population,",
                  "id,name,township,kind,population,人口,"),
              sub("villages.csv", "community,1200,", "community,1200,1201,"),
              sub("villages.csv", "village,300,", "village,300,301,"),
              sub("villages.csv", "village,80,", "village,80,81,"),
              sub("villages.csv", "village,40,", "village,40,41,"),
              sub("villages.csv", "village,500,", "village,500,501,"),
              toml_sub('path = "villages.csv"',
                       'path = "villages.csv"\nfields = { population = "人口" }')),
         Warns("kept as 'population_file'")),
    Case("fields", "duplicate-header",
         sub("villages.csv", "id,name,township,kind,population,", "id,name,name,kind,population,"),
         Problem("villages.csv", "more than once")),
    Case("fields", "missing-lon", sub("villages.csv", ",lon,lat", ",x_coord,lat"),
         Problem("villages.csv", "missing coordinate columns", "lon/lat")),
    Case("fields", "unknown-kind", sub("teams.csv", "township_rescue_team", "rescue_squad"),
         Problem("teams.csv", "unknown kind 'rescue_squad'", "kind", row=2, rid="T2")),
    Case("fields", "chinese-kind",
         sub("villages.csv", "V1,东村,东镇,community", "V1,东村,东镇,社区"),
         Accepts(field_is("villages", "V1", "kind", "community"))),
    Case("fields", "blank-kind", sub("villages.csv", "V2,西村,东镇,village", "V2,西村,东镇,"),
         Problem("villages.csv", "missing value", "kind", row=2, rid="V2")),
    Case("fields", "unknown-effect",
         sub("hazards.geojson", '"effect":"closed"', '"effect":"flooded"'),
         Problem("hazards.geojson", "expected closed or slowed", "effect", row=1, rid="H1")),
    Case("fields", "slowed-without-factor",
         sub("hazards.geojson", '"effect":"closed"', '"effect":"slowed"'),
         Problem("hazards.geojson", "needs a speed_factor", "speed_factor", row=1, rid="H1")),
    Case("fields", "shelter-without-capacity", sub("shelters.geojson", ',"area_m2":1000', ""),
         Problem("shelters.geojson", "no capacity", "capacity", row=2, rid="SH2")),
    Case("fields", "extra-columns-kept", add_column("villages.csv", "备注", "x"),
         Accepts(kept_column("备注"))),
    # --- numbers --------------------------------------------------------------------------------
    Case("numbers", "population-1e30", village_row("V5,南村,东镇,village,1e30,1.5105,42.4952"),
         Problem("villages.csv", "not plausible", "population", row=5, rid="V5")),
    Case("numbers", "population-2-pow-63",
         village_row("V5,南村,东镇,village,9223372036854775808,1.5105,42.4952"),
         Problem("villages.csv", "not plausible", "population", row=5, rid="V5")),
    Case("numbers", "population-negative", village_row("V5,南村,东镇,village,-5,1.5105,42.4952"),
         Problem("villages.csv", "whole number >= 0", "population", row=5, rid="V5")),
    Case("numbers", "population-fraction", village_row("V5,南村,东镇,village,12.5,1.5105,42.4952"),
         Problem("villages.csv", "whole number >= 0", "population", row=5, rid="V5")),
    Case("numbers", "population-text", village_row("V5,南村,东镇,village,abc,1.5105,42.4952"),
         Problem("villages.csv", "found 'abc'", "population", row=5, rid="V5")),
    Case("numbers", "population-nan", village_row("V5,南村,东镇,village,nan,1.5105,42.4952"),
         Problem("villages.csv", "found 'nan'", "population", row=5, rid="V5")),
    Case("numbers", "population-inf", village_row("V5,南村,东镇,village,inf,1.5105,42.4952"),
         Problem("villages.csv", "found 'inf'", "population", row=5, rid="V5")),
    Case("numbers", "population-thousands",
         village_row('V5,南村,东镇,village,"1,200",1.5105,42.4952'),
         Accepts(population_of("V5", 1200))),
    Case("numbers", "population-blank", village_row("V5,南村,东镇,village,,1.5105,42.4952"),
         Problem("villages.csv", "missing value", "population", row=5, rid="V5")),
    Case("numbers", "population-zero", village_row("V5,南村,东镇,village,0,1.5105,42.4952"),
         Accepts(coverage_has("V5")), COVERAGE),
    Case("numbers", "totals-never-overflow",
         village_row("V5,南村,东镇,village,2000000,1.5105,42.4952"),
         Accepts(lambda d, o: None if pd.read_csv(
             o / "coverage_summary.csv", encoding="utf-8-sig")["population"].min()
             == 2_001_620 else pytest.fail("population total")), COVERAGE),
    Case("numbers", "headcount-million", sub("teams.csv", "micro_fire_station,6,",
                                             "micro_fire_station,1000000,"),
         Problem("teams.csv", "not plausible", "headcount", row=1, rid="T1")),
    Case("numbers", "capacity-text", sub("shelters.geojson", '"capacity":200', '"capacity":"lots"'),
         Problem("shelters.geojson", "found 'lots'", "capacity", row=1, rid="SH1")),
    Case("numbers", "capacity-negative",
         sub("shelters.geojson", '"capacity":200', '"capacity":-200'),
         Problem("shelters.geojson", "found -200", "capacity", row=1, rid="SH1")),
    Case("numbers", "turnout-implausible", sub("teams.csv", "6,东镇,1,,", "6,东镇,500,,"),
         Problem("teams.csv", "not plausible", "turnout_min", row=1, rid="T1")),
    Case("numbers", "speed-factor-zero",
         sub("hazards.geojson", '"effect":"closed"', '"effect":"slowed","speed_factor":0'),
         Problem("hazards.geojson", "a number in (0, 1]", "speed_factor", row=1, rid="H1")),
    Case("numbers", "speed-factor-above-one",
         sub("hazards.geojson", '"effect":"closed"', '"effect":"slowed","speed_factor":1.5'),
         Problem("hazards.geojson", "a number in (0, 1]", "speed_factor", row=1, rid="H1")),
    Case("numbers", "builtup-negative",
         sub("townships.geojson", '"office_fulltime_staff":3', '"builtup_km2":-1'),
         Problem("townships.geojson", "a number >= 0", "builtup_km2", row=1)),
    Case("numbers", "drills-implausible",
         both(sub("villages.csv", "population,lon,lat", "population,drills_per_year,lon,lat"),
              sub("villages.csv", "community,1200,", "community,1200,1000,"),
              sub("villages.csv", "village,300,", "village,300,,"),
              sub("villages.csv", "village,80,", "village,80,,"),
              sub("villages.csv", "village,40,", "village,40,,"),
              sub("villages.csv", "village,500,", "village,500,,")),
         Problem("villages.csv", "not plausible", "drills_per_year", row=1, rid="V1")),
    # --- geometry and coordinates ---------------------------------------------------------------
    Case("geometry", "lat-text", village_row("V5,南村,东镇,village,500,1.5105,abc"),
         Problem("villages.csv", "cannot be read as degrees: expected decimal degrees", "lat",
                 row=5, rid="V5")),
    Case("geometry", "lat-blank", village_row("V5,南村,东镇,village,500,1.5105,"),
         Problem("villages.csv", "expected a number", "lat", row=5, rid="V5")),
    Case("geometry", "swapped-lonlat", village_row("V5,南村,东镇,village,500,42.4952,1.5105"),
         Problem("villages.csv", "swapped lon/lat", "geometry", row=5, rid="V5")),
    Case("geometry", "impossible-latitude", village_row("V5,南村,东镇,village,500,1.5105,95"),
         Problem("villages.csv", "not longitude/latitude", "geometry", row=5, rid="V5")),
    Case("geometry", "village-outside", village_row("V5,南村,东镇,village,500,1.7105,42.4952"),
         Problem("villages.csv", "outside the district", "geometry", row=5, rid="V5")),
    Case("geometry", "unit-outside-warns", sub("teams.csv", "1.5180,42.5003", "1.7180,42.5003"),
         Warns("lie outside the district")),
    Case("geometry", "csv-in-metres", village_row("V5,南村,东镇,village,500,512345,4705123"),
         Problem("villages.csv", "declare the layer's crs", "geometry", row=5, rid="V5")),
    Case("geometry", "geojson-metres-without-crs",
         write("townships.geojson", '{"type":"FeatureCollection","features":[{"type":"Feature",'
               '"properties":{"name":"东镇"},"geometry":{"type":"Polygon","coordinates":'
               '[[[400000,4700000],[410000,4700000],[410000,4710000],[400000,4700000]]]}}]}'),
         Problem("townships.geojson", "cannot be degrees", "crs")),
    Case("geometry", "hazard-point",
         sub("hazards.geojson", '"type":"Polygon","coordinates":[[[1.514,42.498],'
             '[1.516,42.498],[1.516,42.502],[1.514,42.502],[1.514,42.498]]]',
             '"type":"Point","coordinates":[1.515,42.5]'),
         Problem("hazards.geojson", "found a Point; expected a polygon", "geometry", row=1,
                 rid="H1")),
    Case("geometry", "bowtie-repaired",
         sub("hazards.geojson", "[[1.514,42.498],[1.516,42.498],[1.516,42.502],[1.514,42.502]",
             "[[1.514,42.498],[1.516,42.502],[1.516,42.498],[1.514,42.502]"),
         Warns("repaired with make_valid")),
    Case("geometry", "null-geometry",
         sub("shelters.geojson", '"geometry":{"type":"Point","coordinates":[1.511,42.501]}',
             '"geometry":null'),
         Problem("shelters.geojson", "missing geometry", "geometry", row=1, rid="SH1")),
    Case("geometry", "polygon-village",
         both(write("villages.geojson", '{"type":"FeatureCollection","features":[{"type":'
                    '"Feature","properties":{"id":"P1","name":"面村","township":"东镇","kind":'
                    '"village","population":10},"geometry":{"type":"Polygon","coordinates":'
                    '[[[1.505,42.497],[1.507,42.497],[1.507,42.499],[1.505,42.497]]]}}]}'),
              toml_sub('path = "villages.csv"', 'path = "villages.geojson"')),
         Accepts(coverage_has("P1")), COVERAGE),
    Case("geometry", "gcj02-outside-china-unchanged",
         toml_sub('path = "stockpiles.csv"', 'path = "stockpiles.csv"\ncrs = "GCJ-02"'),
         Accepts(stockpile_at(1.5102, 42.4999))),
    Case("geometry", "same-point-twice", sub("villages.csv", "1.5625,42.5405", "1.5150,42.5005"),
         Accepts(coverage_has("V3")), COVERAGE),
    # --- CRS --------------------------------------------------------------------------------
    Case("crs", "csv-without-crs", toml_sub('crs = "EPSG:4326"\n', ""),
         Problem("villages.csv", "missing CRS", "crs")),
    Case("crs", "layer-crs-unknown",
         toml_sub('path = "stockpiles.csv"', 'path = "stockpiles.csv"\ncrs = "EPSG:0"'),
         Problem("district.toml", "that pyproj knows", "layers.stockpiles.crs")),
    Case("crs", "shapefile-without-prj",
         both(shapefile_villages("UTF-8", "UTF-8"), lambda d: (d / "villages.prj").unlink()),
         Problem("villages.shp", "missing CRS", "crs")),
    Case("crs", "gcj02-spelling",
         toml_sub('path = "teams.csv"', 'path = "teams.csv"\ncrs = "GCJ02"'),
         Accepts(field_is("teams", "T2", "kind", "township_rescue_team"))),
    # --- road files ---------------------------------------------------------------------------
    Case("roads", "osm-random-bytes", write("roads.osm", bytes(range(256)) * 4),
         Fails("cannot be read as OSM data"), NETWORK),
    Case("roads", "osm-empty-file", write("roads.osm", b""),
         Fails("roads.osm"), NETWORK),
    Case("roads", "osm-footways-only",
         osm(OSM_HEAD + '<node id="1" lat="42.5" lon="1.5"/><node id="2" lat="42.5" lon="1.51"/>'
             '<way id="9"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way></osm>'),
         Fails("no drivable road"), NETWORK),
    Case("roads", "osm-one-node-way",
         osm(OSM_HEAD + '<node id="1" lat="42.5" lon="1.5"/>'
             '<way id="9"><nd ref="1"/><tag k="highway" v="primary"/></way></osm>'),
         Fails("no drivable road"), NETWORK),
    Case("roads", "osm-clipped-extract",
         lambda d: replace_in(d / "roads.osm", '<node id="7" lat="42.495" lon="1.510"/>', ""),
         Warns("1 ways reference 1 nodes that are not in the file"), NETWORK),
    Case("roads", "osm-clipped-extract-builds",
         lambda d: replace_in(d / "roads.osm", '<node id="9" lat="42.497" lon="1.523"/>', ""),
         Accepts(network_ok), NETWORK),
    Case("roads", "osm-outside-district",
         lambda d: (d / "roads.osm").write_text(
             (d / "roads.osm").read_text("utf-8").replace('lon="1.', 'lon="3.'), "utf-8"),
         Fails("no drivable road inside the district"), NETWORK),
    Case("roads", "graphml-corrupt", graphml("<graphml><node id=")
         , Fails("cannot be read as GraphML"), NETWORK),
    Case("roads", "graphml-edgeless", graphml_nodes_only, Fails("no edges"), NETWORK),
    Case("roads", "lines-without-class", road_lines('{"name":"x"}'),
         Fails("no road class column"), NETWORK),
    Case("roads", "lines-shapefile-without-prj", lines_shapefile(prj=False),
         Fails("road lines have no CRS"), NETWORK),
    Case("roads", "lines-shapefile-with-prj", lines_shapefile(prj=True),
         Accepts(network_ok), NETWORK),
    # --- statuses: every village in every per-village output ----------------------------------
    Case("status", "no-road-access", lambda d: None,
         Status("micro_fire_station", "V4", "no_road_access"), COVERAGE),
    Case("status", "cut-off", lambda d: None,
         Status("township_rescue_team", "V3", "cut_off"), COVERAGE),
    Case("status", "no-unit", lambda d: None, Status("fire_station", "V1", "no_unit"), COVERAGE),
    Case("status", "hazard-covers-everything",
         both(sub("hazards.geojson",
                  "[[1.514,42.498],[1.516,42.498],[1.516,42.502],[1.514,42.502],[1.514,42.498]]",
                  WHOLE)),
         Accepts(statuses_are("scenario_flood.csv", "township_rescue_team", "scenario_status",
                              {"V1": "cut_off", "V2": "cut_off", "V3": "cut_off",
                               "V4": "no_road_access", "V5": "cut_off"})),
         ("scenario", "{d}", "--out", "{out}")),
    Case("status", "hazard-everything-islands",
         sub("hazards.geojson",
             "[[1.514,42.498],[1.516,42.498],[1.516,42.502],[1.514,42.502],[1.514,42.498]]",
             WHOLE),
         Accepts(lambda d, o: None if pd.read_csv(o / "scenarios.csv", encoding="utf-8-sig")
                 ["villages_cut_off"].iloc[0] == 3 else pytest.fail("islands")),
         ("scenario", "{d}", "--out", "{out}")),
    Case("status", "p-median-never-negative", lambda d: None, Accepts(gains_not_negative),
         ("site", "{d}", "--kind", "stockpile", "--model", "p_median", "--add", "2", "--out",
          "{out}")),
    Case("status", "every-village-everywhere", lambda d: None,
         Accepts(lambda d, o: [coverage_has(v)(d, o) for v in ("V1", "V2", "V3", "V4", "V5")]
                 and None), RUN),
    # --- command line ----------------------------------------------------------------------
    Case("cli", "add-zero", lambda d: None, Fails("expected a whole number >= 1"),
         ("site", "{d}", "--kind", "micro_fire_station", "--add", "0")),
    Case("cli", "add-negative", lambda d: None, Fails("expected a whole number >= 1"),
         ("site", "{d}", "--kind", "micro_fire_station", "--add", "-1")),
    Case("cli", "kind-chinese", lambda d: None, Accepts(siting_ok("micro_fire_station", 1)),
         ("site", "{d}", "--kind", "微型消防站", "--add", "1", "--out", "{out}")),
    Case("cli", "kind-unknown", lambda d: None, Fails("not a unit kind"),
         ("site", "{d}", "--kind", "bogus", "--add", "1")),
    Case("cli", "kind-required", lambda d: None, Fails("--kind"), ("site", "{d}")),
    Case("cli", "time-limit-negative", lambda d: None, Fails("expected seconds >= 0"),
         ("site", "{d}", "--kind", "stockpile", "--time-limit", "-5")),
    Case("cli", "out-is-a-file", lambda d: (d.parent / "afile").write_text("x"),
         Fails("is a file, not a folder"), ("coverage", "{d}", "--out", "{parent}/afile")),
    Case("cli", "out-uncreatable", lambda d: None, Fails("cannot create the folder"),
         ("coverage", "{d}", "--out", "/proc/emgis-no-such")),
    Case("cli", "hazard-path-escape", lambda d: None, Fails("not an id or name"),
         ("scenario", "{d}", "--hazard", "a/../../../hz", "--out", "{out}")),
    Case("cli", "scenario-name-path-escape",
         toml('[scenarios."a/../../../escaped"]\nhazards = ["H1"]'), Accepts(nothing_outside),
         ("scenario", "{d}", "--out", "{out}")),
    Case("cli", "scenario-name-300-chars",
         toml(f'[scenarios."{"洪" * 300}"]\nhazards = ["H1"]'), Accepts(nothing_outside),
         ("scenario", "{d}", "--out", "{out}")),
    Case("cli", "unknown-scenario-name", lambda d: None, Fails("no scenario nope"),
         ("scenario", "{d}", "--name", "nope", "--out", "{out}")),
]


def _run(case: Case, d: Path, out: Path, capsys: pytest.CaptureFixture[str]
         ) -> tuple[int, str, str]:
    args = [a.replace("{d}", str(d)).replace("{out}", str(out))
            .replace("{parent}", str(d.parent)) for a in case.cmd]
    try:
        rc = main(args)
    except SystemExit as exc:  # argparse: bad options
        rc = int(exc.code or 0)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("case", CASES, ids=[f"{c.cls}-{c.id}" for c in CASES])
def test_bad_input(case: Case, tiny: Path, tmp_path: Path,
                   capsys: pytest.CaptureFixture[str]) -> None:
    case.edit(tiny)
    out = tmp_path / "out"
    rc, stdout, stderr = _run(case, tiny, out, capsys)
    assert "internal error" not in stderr and "Traceback" not in stderr + stdout, stderr
    e = case.expect
    if isinstance(e, Problem):
        assert rc == 2, (rc, stdout, stderr)
        lines = [ln for ln in stderr.splitlines() if ln.strip().startswith("error:")
                 and e.file in ln and e.words in ln]
        assert lines, f"no error line with {e.file!r} and {e.words!r}:\n{stderr}"
        line = lines[0]
        if e.field is not None:
            assert f"field '{e.field}'" in line, line
        if e.row is not None:
            assert f"row {e.row}" in line, line
        if e.rid is not None:
            assert f"id {e.rid}" in line, line
    elif isinstance(e, Fails):
        assert rc == 2, (rc, stdout, stderr)
        assert e.words in stderr, stderr
    elif isinstance(e, Warns):
        assert rc == 0, (rc, stdout, stderr)
        assert e.words in stdout + stderr, stdout + stderr
    elif isinstance(e, Accepts):
        assert rc == 0, (rc, stdout, stderr)
        e.check(tiny, out)
    else:
        assert rc == 0, (rc, stdout, stderr)
        t = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig", keep_default_na=False)
        row = t[(t["kind"] == e.kind) & (t["village_id"] == e.village)]
        assert list(row["status"]) == [e.status]


def test_the_suite_covers_every_class() -> None:
    """At least 120 single-fault cases, with every class of fault the register can hold."""
    classes = {c.cls for c in CASES}
    assert len(CASES) >= 120
    assert classes >= {"config", "layers", "encoding", "ids", "fields", "numbers", "geometry",
                       "crs", "roads", "status", "cli"}
    assert len({f"{c.cls}-{c.id}" for c in CASES}) == len(CASES)


# --- the same faults told in Chinese ---------------------------------------------------------

#: Names of formats, systems and programs a Chinese message names as they are written.
PROPER = {"UTF", "GBK", "GB", "CSV", "Excel", "NUL", "GeoJSON", "GeoPackage", "Shapefile",
          "GraphML", "TOML", "EPSG", "CGCS", "UTM", "WGS", "GCJ", "BD", "OSM", "QGIS", "GIS",
          "osmnx", "Geofabrik", "emgis", "README", "true", "false", "yes", "no", "https",
          "console", "tianditu", "gov", "cn", "pbf", "osm", "prj", "dbf", "cpg", "NN",
          "add", "remove", "closed", "slowed", "auto", "milp", "heuristic", "ID", "value",
          "source", "zone", "N"}  # and CRS names (WGS 84 / UTM zone 31N)


def _config_words() -> set[str]:
    """Every table, key and field name a planner writes in district.toml or a layer header."""
    from emgis.inputs.fields import SCHEMAS
    from emgis.inputs.schema import schema

    words: set[str] = set()
    for name, table in schema().items():
        words.add(name)
        words |= set(table.keys) | set(table.names or ())
        if hasattr(table.values, "keys"):
            words |= set(table.values.keys)  # type: ignore[union-attr]
    for s in SCHEMAS.values():
        words |= {f.name for f in s.fields} | {s.name}
    return {w for n in words for w in re.findall(r"[A-Za-z]+", n)}




ZH_CASES = [c for c in CASES if isinstance(c.expect, (Problem, Fails, Warns))
            and "--lang" not in c.cmd]


@pytest.mark.parametrize("case", ZH_CASES, ids=[f"{c.cls}-{c.id}" for c in ZH_CASES])
def test_bad_input_in_chinese(case: Case, tiny: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """With --lang zh every fault is told in Chinese: the same exit code, the same culprit
    (file, 第 N 行, 编号, 字段), and no English word but ids, names, values, file names and
    the keys and fields a planner writes."""
    case.edit(tiny)
    out = tmp_path / "out"
    zh = Case(case.cls, case.id, case.edit, case.expect, (*case.cmd, "--lang", "zh"))
    rc, stdout, stderr = _run(zh, tiny, out, capsys)
    text = stdout + stderr
    assert "internal error" not in text and "Traceback" not in text, text
    assert rc == (0 if isinstance(case.expect, Warns) else 2), (rc, text)
    e = case.expect
    if isinstance(e, Problem):
        lines = [ln for ln in stderr.splitlines() if ln.strip().startswith("错误：")
                 and e.file in ln]
        assert lines, stderr
        line = next((ln for ln in lines if (e.field is None or f"字段 '{e.field}'" in ln)
                     and (e.row is None or f"第 {e.row} 行" in ln)
                     and (e.rid is None or f"编号 {e.rid}" in ln)), None)
        assert line is not None, stderr
    allowed = PROPER | _config_words() | _input_words(tiny) | {
        w for a in case.cmd for w in re.findall(r"[A-Za-z]+", a)}  # and the command's words
    assert english_words(text, allowed) == set(), text


def _input_words(district: Path) -> set[str]:
    words: set[str] = set()
    for f in district.rglob("*"):
        if f.is_file() and f.suffix in (".csv", ".geojson", ".toml", ".osm", ".graphml"):
            words |= set(re.findall(r"[A-Za-z]+", f.read_text("utf-8", "replace")))
        words |= set(re.findall(r"[A-Za-z]+", f.name))
    return words
