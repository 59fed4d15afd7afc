"""emgis compare: this year against last.

The demo runs twice (``emgis run``, so that the plans are compared too: about 12 s each on the
demo): once as it is, in English, and once with the fire-station target changed to 8 minutes
(``[targets] fire_station = 8`` appended to a copy's district.toml), in Chinese, so the
comparison reads both languages. Every figure is checked against the two coverage.csv files
read independently here.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from markupsafe import escape

from emgis.cli import main
from emgis.outputs.folder import OutputDir
from emgis.outputs.tables import write_csv
from emgis.run.compare import CompareError, Comparison, compare_runs
from emgis.texts import texts

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"

#: ASCII words a Chinese reader may meet: credits, units, file and program names, codes.
ALLOWED = {"OpenStreetMap", "contributors", "WGS", "GCJ", "km", "h", "emgis", "csv", "html",
           "en", "zh", "toml", "district", "run", "A", "B", "N", "S", "Leaflet", "OSM"}


def _ascii_words(text: str) -> set[str]:
    text = re.sub(r"\{[a-z_]+\}", " ", text)  # a catalogue text's fields
    text = re.sub(r"\b[0-9a-f]{8,}\b", " ", text)  # sha256 of the inputs (shortened)
    text = re.sub(r"(?:/[^\s/（）()]+)+/?|\S+\.(?:csv|gpkg|html|xlsx|json|osm|pbf|toml)\b", " ",
                  text)  # paths and file names
    return set(re.findall(r"[A-Za-z]+(?:['’\-][A-Za-z]+)*", text))


def _input_words(district: Path) -> set[str]:
    words: set[str] = set()
    for f in district.iterdir():
        if f.suffix in (".csv", ".geojson", ".toml"):
            words |= _ascii_words(f.read_text("utf-8"))
    return words


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """run2024: the demo as it is (English); run2025: fire stations at 8 min (Chinese)."""
    root = tmp_path_factory.mktemp("compare")
    demo8 = root / "demo8"
    shutil.copytree(DEMO, demo8, ignore=shutil.ignore_patterns(".emgis-cache"))
    with (demo8 / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[targets]\nfire_station = 8\n")
    old, new = root / "run2024", root / "run2025"
    assert main(["run", str(DEMO), "--out", str(old), "-q"]) == 0
    assert main(["run", str(demo8), "--out", str(new), "--lang", "zh", "-q"]) == 0
    en, zh = root / "cmp_en", root / "cmp_zh"
    assert main(["compare", str(old), str(new), "--out", str(en), "-q"]) == 0
    assert main(["compare", str(old), str(new), "--out", str(zh), "--lang", "zh", "-q"]) == 0
    return {"root": root, "old": old, "new": new, "en": en, "zh": zh}


def _coverage(folder: Path, lang: str) -> pd.DataFrame:
    """coverage.csv read here, with the statuses and kinds as codes (Chinese words mapped
    back through the catalogue)."""
    df = pd.read_csv(folder / "coverage.csv", header=1 if lang == "zh" else 0,
                     dtype={"village_id": str}, encoding="utf-8-sig")
    if lang == "zh":
        t = texts("zh")
        df["status"] = df["status"].map({w: c for c, w in t.section("status").items()})
        df["kind"] = df["kind"].map({w: c for c, w in t.section("kind").items()})
    return df


def test_left_gap_is_the_diff_of_the_coverage_files(runs: dict[str, Path]) -> None:
    old, new = _coverage(runs["old"], "en"), _coverage(runs["new"], "zh")
    fs_old = old[old["kind"] == "fire_station"].set_index("village_id")["status"]
    fs_new = new[new["kind"] == "fire_station"].set_index("village_id")["status"]
    gaps_old, gaps_new = set(fs_old[fs_old != "covered"].index), set(fs_new[fs_new != "covered"]
                                                                       .index)
    villages = pd.read_csv(runs["en"] / "compare_villages.csv", dtype={"village_id": str},
                           encoding="utf-8-sig")
    fs = villages[villages["kind"] == "fire_station"]
    left = set(fs.loc[fs["change"] == "left_gap", "village_id"])
    assert left == gaps_old - gaps_new
    assert len(left) == 16
    assert set(fs.loc[fs["change"] == "entered_gap", "village_id"]) == gaps_new - gaps_old == set()
    # most people first within the list
    pops = fs.loc[fs["change"] == "left_gap", "population"].tolist()
    assert pops == sorted(pops, reverse=True)
    # no other kind changed: the fire-station target is all that differs
    assert set(villages["kind"]) == {"fire_station"}
    # the same list through the Python API and in the Chinese table
    cmp = compare_runs(runs["old"], runs["new"])
    assert isinstance(cmp, Comparison) and cmp.new.lang == "zh" and cmp.old.lang == "en"
    assert set(cmp.left_gap("fire_station")["village_id"]) == left
    zh = pd.read_csv(runs["zh"] / "compare_villages.csv", header=1, dtype={"village_id": str},
                     encoding="utf-8-sig")
    word = texts("zh")["compare.change_left_gap"]
    assert set(zh.loc[zh["change"] == word, "village_id"]) == left


def test_persons_within_target_are_sums_of_the_csvs(runs: dict[str, Path]) -> None:
    old, new = _coverage(runs["old"], "en"), _coverage(runs["new"], "zh")
    kinds = pd.read_csv(runs["en"] / "compare_kinds.csv", encoding="utf-8-sig").set_index("kind")
    for frame, side in ((old, "old"), (new, "new")):
        within = frame[frame["status"] == "covered"].groupby("kind")["population"].sum()
        for kind in kinds.index:
            assert kinds.loc[kind, f"within_target_{side}"] == int(within.get(kind, 0)), kind
    fs = kinds.loc["fire_station"]
    assert (fs["target_min_old"], fs["target_min_new"]) == (5, 8)
    assert fs["within_target_change"] == fs["within_target_new"] - fs["within_target_old"] > 0
    assert fs["left_gap_population"] == fs["within_target_change"]
    towns = pd.read_csv(runs["en"] / "compare_townships.csv", encoding="utf-8-sig")
    by_kind = towns.groupby("kind")[["within_target_old", "within_target_new"]].sum()
    for kind in kinds.index:
        assert by_kind.loc[kind, "within_target_old"] == kinds.loc[kind, "within_target_old"]
        assert by_kind.loc[kind, "within_target_new"] == kinds.loc[kind, "within_target_new"]
    exp = new[(new["kind"] == "fire_station") & (new["status"] == "covered")].groupby(
        "township")["population"].sum()
    got = towns[towns["kind"] == "fire_station"].set_index("township")["within_target_new"]
    assert {k: int(v) for k, v in got.items() if v} == {k: int(v) for k, v in exp.items()}


def test_settings_diff_names_the_target(runs: dict[str, Path]) -> None:
    s = pd.read_csv(runs["en"] / "compare_settings.csv", dtype=str, keep_default_na=False,
                    encoding="utf-8-sig")
    rows = {(r.setting_scope, r.key): (r.value_old, r.value_new, r.change)
            for r in s.itertuples(index=False)}
    assert rows[("setting", "targets.fire_station")] == ("5", "8", "changed")
    assert rows[("input", "district.toml")][2] == "changed"
    assert rows[("option", "lang")] == ("en", "zh", "changed")
    assert not any(scope == "setting" and key != "targets.fire_station" for scope, key in rows)
    page = (runs["en"] / "compare.html").read_text("utf-8")
    assert "targets.fire_station" in page and "5 → 8" in page


def test_plans_side_by_side(runs: dict[str, Path]) -> None:
    plans = pd.read_csv(runs["en"] / "compare_plans.csv", encoding="utf-8-sig")
    assert set(plans["kind"]) == {"micro_fire_station", "stockpile"}
    own = pd.read_csv(runs["old"] / "siting_micro_fire_station.csv", encoding="utf-8-sig")
    mfs = plans[plans["kind"] == "micro_fire_station"].sort_values("rank")
    assert mfs["site_id_old"].tolist() == own["site_id"].tolist()
    assert mfs["newly_covered_population_old"].tolist() == own["newly_covered_population"].tolist()
    assert (runs["en"] / "compare_robust.csv").exists()


def test_zh_outputs_are_chinese(runs: dict[str, Path]) -> None:
    folder = runs["zh"]
    for f in sorted(folder.glob("compare_*.csv")):
        with f.open(encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
        assert all(re.fullmatch(r"[a-z0-9_]+", c) for c in rows[1]), f.name
        assert not _ascii_words(" ".join(rows[0])), (f.name, rows[0])
        pd.read_csv(f, header=1, encoding="utf-8-sig")
    allowed = ALLOWED | _input_words(DEMO) | {"targets", "fire", "station"}  # the key as
    # written in district.toml, shown beside its words (README: keys stay as written)
    report = (folder / "compare.html").read_text("utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ",
                                                          report, flags=re.S)))
    assert _ascii_words(text) - allowed == set()
    page = (folder / "compare_map.html").read_text("utf-8")
    block = re.search(r'<script type="application/json" id="emgis-data">(.*?)</script>', page,
                      flags=re.S)
    assert block is not None
    shown: list[str] = []

    def walk(v: Any, key: str = "") -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k not in ("url", "type", "pane", "className", "map", "group", "layers",
                             "attr", "sub"):
                    walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str) and key not in ("c", "color", "palette", "edges", "dashArray"):
            shown.append(v)

    walk(json.loads(block.group(1)))
    for div in ("emgis-legend", "emgis-title"):
        m = re.search(rf'<div id="{div}".*?</div></div>', page, flags=re.S)
        assert m is not None
        shown.append(html.unescape(re.sub(r"<[^>]+>", " ", m.group(0))))
    assert _ascii_words("\n".join(shown)) - allowed == set()
    assert texts("zh")["compare.map_newly_covered"] in "\n".join(shown)


def test_incomplete_or_missing_folder_is_refused(runs: dict[str, Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    bad = runs["root"] / "unfinished"
    shutil.copytree(runs["new"], bad)
    doc = json.loads((bad / "run.json").read_text("utf-8"))
    doc["complete"] = False
    (bad / "run.json").write_text(json.dumps(doc), "utf-8")
    out = runs["root"] / "cmp_bad"
    capsys.readouterr()
    assert main(["compare", str(runs["old"]), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "did not finish" in err
    assert not out.exists()
    missing = runs["root"] / "nowhere"
    assert main(["compare", str(missing), str(bad), "--out", str(out), "--lang", "zh"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and str(bad) in err and "文件夹不存在" in err
    with pytest.raises(CompareError) as exc:
        compare_runs(runs["old"], runs["old"], out=runs["old"])
    assert len(exc.value.errors) == 1


HOSTILE = '=HYPERLINK("x")<script>alert(1)</script><img src=x onerror=alert(2)>'


def test_hostile_names_are_escaped(runs: dict[str, Path]) -> None:
    """Folders whose village names and townships are markup: the pages show them as text,
    the CSV files keep them inert, and the comparison reads them back as they were."""
    old = pd.read_csv(runs["old"] / "coverage.csv", dtype=str, keep_default_na=False,
                      encoding="utf-8-sig").drop(columns="cause")
    old.loc[old["village_id"] == "V01", "village_name"] = HOSTILE
    old.loc[old["village_id"] == "V01", "township"] = "</td></tr><b>town</b>"
    new = old.copy()
    sel = (new["village_id"] == "V01") & (new["kind"] == "fire_station")
    assert (old.loc[sel, "status"] == "over_target").all()
    new.loc[sel, "status"] = "covered"
    folders = []
    for name, table in (("hostile_old", old), ("hostile_new", new)):
        folder = runs["root"] / name
        with OutputDir(folder, command="coverage") as od:
            write_csv(od, "coverage.csv", table)
            od.write_bytes("coverage.gpkg", (runs["old"] / "coverage.gpkg").read_bytes())
            od.finish()
        folders.append(folder)
    cmp = compare_runs(*folders)
    assert cmp.left_gap("fire_station")["village_name"].tolist() == [HOSTILE]
    out = runs["root"] / "cmp_hostile"
    cmp.write(out)
    page = (out / "compare.html").read_text("utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>town" not in page
    assert str(escape(HOSTILE)) in page
    mp = (out / "compare_map.html").read_text("utf-8")
    assert "<script>alert" not in mp and "<img src=x" not in mp
    assert "\\u003cscript\\u003ealert(1)" in mp
    with (out / "compare_villages.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["village_name"] for r in rows] == ["'" + HOSTILE]
