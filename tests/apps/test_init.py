"""``emgis init``: a district.toml written from a folder of ledgers (emgis.inputs.init)."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from emgis.cli import main
from emgis.inputs.headers import SYNONYMS
from emgis.inputs.init import comment_text, init_district, toml_string

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
LEDGERS = REPO / "data" / "demo-ledgers"
DEMO = REPO / "data" / "demo"


def _copy(dst: Path) -> Path:
    shutil.copytree(LEDGERS, dst, ignore=shutil.ignore_patterns(".emgis-cache",
                                                                "district.toml"))
    return dst


@pytest.fixture
def ledgers(tmp_path: Path) -> Path:
    return _copy(tmp_path / "demo-ledgers")


def test_init_recognises_every_layer(ledgers: Path) -> None:
    res = init_district(ledgers)
    data = tomllib.loads((ledgers / "district.toml").read_text("utf-8"))
    assert data["district"] == {"name": "demo-ledgers", "crs": "EPSG:4326"}
    assert data["layers"] == {
        "villages": {"path": "村庄台账.xlsx", "sheet": "村庄"},
        "townships": {"path": "乡镇边界.geojson"},
        "teams": {"path": "救援队伍台账.xlsx"},
        "stockpiles": {"path": "物资储备点.xls"},
        "shelters": {"path": "避难场所.geojson"},
        "warning_points": {"path": "预警设施.xlsx"},
        "hazards": {"path": ["山火风险区.geojson", "洪水淹没范围.geojson"]},
    }
    assert data["roads"] == {"path": "路网.osm.pbf"}
    # the register is offered as the alternative, in a comment
    assert '# path = "农村公路.gpkg"' in res.text
    assert res.roads is not None and res.roads.others[0][1] == "register"
    v = res.layers["villages"]
    assert dict(v.mapping[0]) == {
        "id": "村(社区)编码", "name": "村(社区)名称", "township": "所属乡镇(街道)", "kind": "类型",
        "population": "常住人口", "households": "户数", "grid_members": "网格员",
        "service_centre_staff": "服务站人员", "drills_per_year": "年演练次数",
        "last_drill": "最近演练日期", "lon": "经度", "lat": "纬度"}
    assert v.coordinates == (("dms", "经度", "纬度"),)
    assert res.layers["stockpiles"].coordinates == (("pair", "经纬度", "经纬度"),)
    assert res.layers["teams"].coordinates == (("decimal", "经度", "纬度"),)
    assert res.layers["teams"].mapping[0]["kind"] == "队伍类型"
    assert res.layers["hazards"].mapping[0]["effect"] == "影响"
    assert all(not c.missing and not c.fixes for c in res.layers.values())
    assert res.missing == ()
    # the notes sheet of the villages ledger is left out, with why
    assert [name for name, _ in res.left_out] == ["村庄台账.xlsx / 填表说明"]
    assert "村庄台账.xlsx / 填表说明" in res.text
    assert "population ← 常住人口" in res.text
    assert res.ok, [str(p) for p in res.report.errors] if res.report else res.check_error


def test_cli_never_overwrites_without_force(ledgers: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(ledgers), "-q"]) == 0
    toml = ledgers / "district.toml"
    toml.write_text("# mine\n", encoding="utf-8")
    assert main(["init", str(ledgers)]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err
    assert toml.read_text("utf-8") == "# mine\n"
    assert main(["init", str(ledgers), "--lang", "zh"]) == 2
    assert "已存在" in capsys.readouterr().err
    assert main(["init", str(ledgers), "--force", "-q"]) == 0
    assert "[layers.villages]" in toml.read_text("utf-8")


def test_cli_prints_what_it_recognised(ledgers: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(ledgers), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "已识别" in out and "村庄台账.xlsx / 村庄" in out and "路网.osm.pbf" in out
    assert "emgis run" in out


#: Words a Chinese comment may hold: keys, layer and field names, commands, formats, CRSs.
_ALLOWED = (
    {f for fields in SYNONYMS.values() for f in fields} | set(SYNONYMS)
    | {"district", "toml", "path", "sheet", "layer", "layers", "fields", "synonyms", "crs",
       "name", "roads", "targets", "speeds", "network", "scenarios", "hazards", "emgis",
       "init", "validate", "run", "standards", "force", "xlsx", "xls", "csv", "shp", "geojson",
       "gpkg", "osm", "pbf", "graphml", "CSV", "EPSG", "GCJ", "BD", "WGS", "OSM", "warning_points"})


def test_zh_comments_have_no_english_words(ledgers: Path) -> None:
    res = init_district(ledgers, lang="zh")
    files = {p.name for p in ledgers.iterdir()}
    comments = [ln for ln in res.text.splitlines() if ln.lstrip().startswith("#")]
    assert len(comments) > 40
    for line in comments:
        text = line.lstrip("# ")
        if text.startswith("path = "):  # a commented alternative path
            continue
        for name in sorted(files, key=len, reverse=True):
            text = text.replace(name, "")
        text = re.sub(r"「[^」]*」|“[^”]*”|\"[^\"]*\"|`[^`]*`", "", text)
        words = set(re.findall(r"[A-Za-z][A-Za-z0-9_]+", text)) - _ALLOWED
        assert not words, (words, line)
    assert "未采用的文件" in res.text and "坐标：经纬度 一格内" in res.text


def test_hostile_file_names_stay_inside_their_strings(tmp_path: Path) -> None:
    folder = tmp_path / 'a "quoted" \\ folder'
    folder.mkdir()
    csv = ("村编码,村名,乡镇,类型,人口,经度,纬度\n"
           "V1,东村,东镇,村,100,116.8,33.9\n")
    hostile = ['村庄"台账\\.csv', '村庄\n[roads]\npath = "evil".csv', "村庄\t\x7f.csv"]
    for name in hostile:
        (folder / name).write_text(csv, encoding="utf-8")
    os.close(os.open(os.path.join(os.fsencode(folder), b"\xff\xfe.xlsx"),
                     os.O_CREAT | os.O_WRONLY))
    res = init_district(folder)
    data = tomllib.loads(res.text)  # parses: no name ended its string or comment
    assert data["district"]["name"] == folder.name
    assert "roads" not in data
    assert data["layers"]["villages"]["path"] in hostile
    assert "evil" not in "".join(ln for ln in res.text.splitlines()
                                  if not ln.startswith("#") and "path" in ln
                                  and ln != f"path = {toml_string(hostile[1])}")
    assert all(len(ln) == len(ln.rstrip("\r")) for ln in res.text.splitlines())
    left = dict(res.left_out)
    assert any("\ufffd" in n for n in left)  # the undecodable name, left out
    # the district as written was checked, and read the file its path names
    assert res.report is not None and res.report.district is not None
    assert len(res.report.district.villages) == 1


def test_toml_string_and_comment_escape_everything() -> None:
    for text in ['a"b', "a\\b", "a\nb", "a\x00b\x1f\x7f", "路网\u2028.pbf", "'''"]:
        assert tomllib.loads(f"x = {toml_string(text)}")["x"] == text
        assert "\n" not in comment_text(text) and "\r" not in comment_text(text)
    with pytest.raises(ValueError):
        toml_string("bad\udcff")


# --- end to end: init, then run, gives the demo's coverage -----------------------------------

@pytest.fixture(scope="module")
def coverages(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = tmp_path_factory.mktemp("e2e")
    demo = base / "demo"
    shutil.copytree(DEMO, demo, ignore=shutil.ignore_patterns(".emgis-cache"))
    ledgers = _copy(base / "demo-ledgers")
    assert main(["init", str(ledgers), "-q"]) == 0
    assert main(["run", str(demo), "--out", str(base / "out-demo"), "-q"]) == 0
    assert main(["run", str(ledgers), "--out", str(base / "out-ledgers"), "-q"]) == 0
    read: dict[str, Any] = {"keep_default_na": False, "dtype": str}
    return (pd.read_csv(base / "out-demo" / "coverage.csv", **read),
            pd.read_csv(base / "out-ledgers" / "coverage.csv", **read))


def test_init_then_run_gives_the_demo_coverage(
        coverages: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    demo, led = coverages
    key = ["village_id", "kind"]
    assert len(demo) == len(led) > 0
    assert list(demo[key].itertuples(index=False)) == list(led[key].itertuples(index=False))
    for col in ("village_name", "township", "population", "nearest_id", "second_id", "status",
                "cause", "social_id"):
        assert list(demo[col]) == list(led[col]), col
    for col in ("nearest_min", "second_min", "social_min"):
        a = pd.to_numeric(demo[col], errors="coerce")
        b = pd.to_numeric(led[col], errors="coerce")
        assert (a.isna() == b.isna()).all(), col
        assert ((a - b).abs().fillna(0) <= 0.01).all(), col
