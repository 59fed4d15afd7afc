"""Validation: every kind of bad input gives an error naming the file, row/id and field."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from emgis import DistrictError, ValidationError, load_district, validate_district
from emgis.cli import main
from emgis.inputs.problems import Problem
from tests.conftest import replace_in

Edit = Callable[[Path], None]


def _edit(file: str, old: str, new: str) -> Edit:
    return lambda d: replace_in(d / file, old, new)


def _no_crs(d: Path) -> None:
    replace_in(d / "district.toml", 'crs = "EPSG:4326"\n', "")


def _empty_villages(d: Path) -> None:
    (d / "villages.csv").write_text("id,name,township,kind,population,lon,lat\n", "utf-8")


def _utf16(d: Path) -> None:
    text = (d / "villages.csv").read_text("utf-8")
    (d / "villages.csv").write_bytes(text.encode("utf-16"))


# (edit, file, row, id, field, words in the message)
CASES = [
    pytest.param(_edit("villages.csv", "id,name,township,kind,population,",
                       "id,name,township,kind,pop,"),
                 "villages.csv", None, None, "population", "missing required field",
                 id="missing-field"),
    pytest.param(_edit("villages.csv", "V2,西村", "V1,西村"),
                 "villages.csv", 2, "V1", "id", "duplicate id", id="duplicate-id"),
    pytest.param(_edit("villages.csv", "village,300,", "village,-300,"),
                 "villages.csv", 2, "V2", "population", "expected a whole number >= 0",
                 id="negative-population"),
    pytest.param(_edit("villages.csv", "village,300,", "village,many,"),
                 "villages.csv", 2, "V2", "population", "'many'", id="non-numeric-population"),
    pytest.param(_edit("villages.csv", "V5,南村,东镇,village,500,", "V5,南村,东镇,village,,"),
                 "villages.csv", 5, "V5", "population", "missing value", id="blank-population"),
    pytest.param(_edit("teams.csv", "micro_fire_station,6,", "micro_fire_station,-6,"),
                 "teams.csv", 1, "T1", "headcount", "expected a whole number >= 0",
                 id="negative-headcount"),
    pytest.param(_edit("shelters.geojson", '"capacity":200', '"capacity":"lots"'),
                 "shelters.geojson", 1, "SH1", "capacity", "'lots'",
                 id="non-numeric-capacity"),
    pytest.param(_edit("shelters.geojson", ',"area_m2":1000', ""),
                 "shelters.geojson", 2, "SH2", "capacity", "no capacity", id="no-capacity"),
    pytest.param(_edit("teams.csv", "township_rescue_team", "rescue_squad"),
                 "teams.csv", 2, "T2", "kind", "unknown kind 'rescue_squad'", id="unknown-kind"),
    pytest.param(_edit("villages.csv", "V5,南村,东镇,village", "V5,南村,东镇,hamlet"),
                 "villages.csv", 5, "V5", "kind", "unknown kind 'hamlet'",
                 id="unknown-village-kind"),
    pytest.param(_no_crs, "villages.csv", None, None, "crs", "missing CRS", id="missing-crs"),
    pytest.param(_edit("villages.csv", "1.5105,42.4952", "1.7105,42.4952"),
                 "villages.csv", 5, "V5", "geometry", "outside the district",
                 id="outside-district"),
    pytest.param(_edit("villages.csv", "1.5105,42.4952", "42.4952,1.5105"),
                 "villages.csv", 5, "V5", "geometry", "swapped lon/lat", id="swapped-lonlat"),
    pytest.param(_edit("villages.csv", "1.5105,42.4952", "1.5105,abc"),
                 "villages.csv", 5, "V5", "lat", "cannot be read as degrees", id="bad-coordinate"),
    pytest.param(_empty_villages, "villages.csv", None, None, None, "empty layer",
                 id="empty-layer"),
    pytest.param(_utf16, "villages.csv", None, None, None, "unreadable encoding",
                 id="unreadable-encoding"),
    pytest.param(_edit("hazards.geojson", '"effect":"closed"', '"effect":"slowed"'),
                 "hazards.geojson", 1, "H1", "speed_factor", "needs a speed_factor",
                 id="slowed-without-factor"),
    pytest.param(_edit("hazards.geojson", '"effect":"closed"', '"effect":"flooded"'),
                 "hazards.geojson", 1, "H1", "effect", "expected closed or slowed",
                 id="unknown-effect"),
    pytest.param(_edit("teams.csv", "T3,", "  ,"),
                 "teams.csv", 3, None, "id", "missing id", id="missing-id"),
    pytest.param(_edit("hazards.geojson", '"type":"Polygon"', '"type":"Point"'),
                 "hazards.geojson", 1, "H1", "geometry", "expected a polygon",
                 id="wrong-geometry-type"),
    pytest.param(_edit("district.toml", 'path = "teams.csv"', 'path = "no_such_file.csv"'),
                 "no_such_file.csv", None, None, None, "file not found", id="missing-file"),
]


def _find(problems: list[Problem], file: str, field: str | None, words: str) -> Problem:
    hits = [p for p in problems if p.level == "error" and p.file == file and p.field == field
            and words in p.message]
    assert hits, f"no error in {file}, field {field}, with {words!r}: {problems}"
    return hits[0]


@pytest.mark.parametrize(("edit", "file", "row", "rid", "field", "words"), CASES)
def test_bad_input_is_reported_with_file_row_id_and_field(
    tiny: Path, edit: Edit, file: str, row: int | None, rid: str | None,
    field: str | None, words: str,
) -> None:
    edit(tiny)
    report = validate_district(tiny)
    assert not report.ok and report.district is None
    p = _find(list(report.problems), file, field, words)
    assert p.row == row and p.id == rid
    text = str(p)
    assert file in text and words in text
    if rid is not None:
        assert f"id {rid}" in text
    if field is not None:
        assert f"field '{field}'" in text
    with pytest.raises(ValidationError) as info:
        load_district(tiny)
    assert file in str(info.value)


def test_clean_district_has_no_problems(tiny: Path) -> None:
    report = validate_district(tiny)
    assert report.ok, report.problems
    assert report.problems == ()
    d = report.district
    assert d is not None
    assert list(d.villages["id"]) == ["V1", "V2", "V3", "V4", "V5"]
    assert d.crs.to_epsg() == 32631


def test_all_problems_are_reported_together(tiny: Path) -> None:
    replace_in(tiny / "villages.csv", "V2,西村", "V1,西村")
    replace_in(tiny / "villages.csv", "village,500,", "village,-1,")
    replace_in(tiny / "teams.csv", "township_rescue_team", "rescue_squad")
    report = validate_district(tiny)
    fields = sorted((p.file, p.field) for p in report.errors)
    assert fields == [("teams.csv", "kind"), ("villages.csv", "id"),
                      ("villages.csv", "population")]


def test_invalid_polygon_is_repaired_with_a_warning(tiny: Path) -> None:
    # a bow-tie township boundary: self-intersecting but repairable
    replace_in(tiny / "townships.geojson",
               "[[1.49,42.49],[1.58,42.49],[1.58,42.55],[1.49,42.55],[1.49,42.49]]",
               "[[1.49,42.49],[1.58,42.55],[1.58,42.49],[1.49,42.55],[1.49,42.49]]")
    report = validate_district(tiny)
    warn = [p for p in report.problems if p.level == "warning" and p.field == "geometry"]
    assert warn and warn[0].file == "townships.geojson" and warn[0].row == 1
    assert "repaired" in warn[0].message
    assert report.district is not None
    assert report.district.townships.geometry.iloc[0].is_valid


def test_unknown_township_is_a_warning_not_an_error(tiny: Path) -> None:
    replace_in(tiny / "villages.csv", "V2,西村,东镇", "V2,西村,西镇")
    report = validate_district(tiny)
    assert report.ok
    w = [p for p in report.problems if p.field == "township"]
    assert w and w[0].id == "V2" and "西镇" in w[0].message


def test_unit_outside_district_is_a_warning(tiny: Path) -> None:
    # a county unit based outside the district is legitimate, a village is not
    replace_in(tiny / "teams.csv", "1.5180,42.5003", "1.7180,42.5003")
    report = validate_district(tiny)
    assert report.ok
    w = [p for p in report.problems if p.file == "teams.csv" and p.field == "geometry"]
    assert w and w[0].id == "T2" and w[0].level == "warning"


def test_missing_toml_and_bad_settings_raise(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(DistrictError, match=r"district\.toml"):
        validate_district(tmp_path / "nowhere")
    replace_in(tiny / "district.toml", '[roads]', '[targets]\nmicro_fire_stn = 3\n\n[roads]')
    report = validate_district(tiny)
    assert not report.ok
    p = _find(list(report.problems), "district.toml", "targets.micro_fire_stn",
              "did you mean 'micro_fire_station'")
    assert p.row is None
    with pytest.raises(ValidationError, match="micro_fire_stn"):
        load_district(tiny)


def test_settings_override_keeps_the_default_source(tiny: Path) -> None:
    replace_in(tiny / "district.toml", '[roads]',
               '[targets]\nmicro_fire_station = 4\n[speeds]\nprimary = { value = 70, '
               'source = "县 2024 调查" }\n\n[roads]')
    d = load_district(tiny)
    t = d.settings.targets["micro_fire_station"]
    assert t.value == 4 and "公消〔2015〕301号" in t.source
    assert d.settings.speeds["primary"].value == 70
    assert d.settings.speeds["primary"].source == "县 2024 调查"
    assert d.settings.targets["fire_station"].value == 5


def test_shelter_capacity_from_area(tiny: Path) -> None:
    d = load_district(tiny)
    sh = d.shelters.set_index("id")
    assert sh.at["SH1", "capacity"] == 200
    # fixed shelter: 1000 m2 at 2 m2 per person (GB 50413-2007)
    assert sh.at["SH2", "capacity"] == 500


def test_cli_exit_code_2_and_messages(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(tiny / "villages.csv", "village,300,", "village,-300,")
    assert main(["validate", str(tiny)]) == 2
    err = capsys.readouterr().err
    assert "villages.csv" in err and "id V2" in err and "field 'population'" in err


def test_cli_validate_prints_summary(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "Population: 2,120 persons in 5 villages" in out
    assert "EPSG:32631" in out
    assert re.search(r"teams\s+3\s+\(Micro fire station 1, Township rescue team 1, "
                     r"Village team 1\)", out)
