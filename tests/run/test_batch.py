"""emgis batch: three generated districts sharing one road file, run on a Dask LocalCluster of
two workers, give byte for byte the files each district gives run alone (in this process, its
network built from the road file by itself) with the same cross-border units; a district with
a broken input fails alone and is named in the roll-up; a rerun skips what did not change."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from emgis._errors import DistrictError
from emgis.inputs.kinds import CROSS_BORDER_KINDS
from emgis.run.batch import (
    district_tasks,
    read_province,
    run_batch,
    run_district,
)
from tests.conftest import REPO

AS_OF = dt.date(2026, 11, 23)
#: Village names of one district: a formula, template syntax and markup.
HOSTILE = "=cmd|' /C calc'!A0 {{7*7}}<b>x</b>"


def _digests(folder: Path) -> dict[str, str]:
    """Every file of an output folder but the manifest (it records times and paths)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())
            if p.is_file() and p.name != "run.json" and not p.name.startswith(".")}


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import synthetic_district as synd
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp("province")
    synd.write_province(root, nodes=5000, districts=3, villages=30, units=10, townships=2)
    hostile = pd.read_csv(root / "d02" / "villages.csv", dtype=str)
    hostile["name"] = HOSTILE + hostile["name"]
    hostile.to_csv(root / "d02" / "villages.csv", index=False)
    broken = root / "d99"
    shutil.copytree(root / "d00", broken)
    v = pd.read_csv(broken / "villages.csv", dtype=str)
    v.loc[3, "population"] = "many"
    v.to_csv(broken / "villages.csv", index=False)
    return root


@pytest.fixture(scope="module")
def batch(province: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    out = tmp_path_factory.mktemp("batch") / "out"
    res = run_batch(read_province(province), out, workers=2, lang="en", as_of=AS_OF)
    return res, out


def test_each_district_as_alone(province: Path, batch: tuple[Any, Path],
                                tmp_path: Path) -> None:
    res, out = batch
    status = {o.name: o.status for o in res.outcomes}
    assert status == {"d00": "done", "d01": "done", "d02": "done", "d99": "failed"}
    # alone: each district in this process, its network built from the road file by itself
    shutil.rmtree(province / ".emgis-cache")
    tasks, failed, _ = district_tasks(read_province(province), tmp_path, lang="en",
                                      as_of=AS_OF)
    assert [o.name for o in failed] == ["d99"]
    for task in tasks:
        alone = run_district(task)
        assert alone.status == "done", alone.error
        a, b = _digests(task.out), _digests(out / task.out.name)
        assert len(a) > 30
        assert a == b, task.name


def test_cross_border_units_serve_and_are_flagged(province: Path,
                                                  batch: tuple[Any, Path]) -> None:
    """Fire and medical units of the neighbours within reach appear (ID@DISTRICT, marked) in
    coverage; micro fire stations, a village-level kind, never cross."""
    _, out = batch
    seen = set()
    for d in ("d00", "d01", "d02"):
        cov = pd.read_csv(out / d / "coverage.csv", dtype=str)
        ids = cov["nearest_id"].dropna()
        cross = cov[ids.reindex(cov.index).fillna("").str.contains("@")]
        assert set(cross["kind"]) <= set(CROSS_BORDER_KINDS)
        assert all(n.endswith("]") and "cross-border" in n for n in cross["nearest_name"])
        assert all(i.split("@")[1] != d for i in cross["nearest_id"])
        seen |= set(cross["kind"])
    assert seen, "no village served across the border in three adjacent districts"


def test_broken_district_fails_alone_and_is_named(batch: tuple[Any, Path]) -> None:
    from openpyxl import load_workbook

    res, out = batch
    bad = next(o for o in res.outcomes if o.name == "d99")
    assert "villages.csv" in bad.error and "population" in bad.error
    wb = load_workbook(out / "province.xlsx", read_only=True)
    rows = list(wb["districts"].iter_rows(values_only=True))
    head = list(rows[0])
    by = {r[head.index("district")]: r for r in rows[1:]}
    assert by["d99"][head.index("run")] == "failed"
    assert "villages.csv" in by["d99"][head.index("error")]
    done = [r for r in rows[1:] if r[head.index("run")] == "done"]
    outside = [r[head.index("persons outside target (all public kinds)")] for r in done]
    assert outside == sorted(outside, reverse=True) and len(done) == 3
    page = (out / "province_report.html").read_text("utf-8")
    assert "d99" in page and "villages.csv" in page


def _sheet(path: Path, name: str) -> pd.DataFrame:
    """A sheet of a workbook as a table (its first row the header)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    rows = list(wb[name].iter_rows(values_only=True))
    assert rows, f"sheet {name!r} has no header row"
    return pd.DataFrame(rows[1:], columns=[str(h) for h in rows[0]])


def test_rollup_adds_up_the_districts(batch: tuple[Any, Path]) -> None:
    """The roll-up's figures are the districts' own: per district and public kind, the persons
    within and outside target and the villages outside target summed here from each district's
    coverage.csv, and per district the persons outside target over all public kinds; no row
    missing, none added (the failed district has none), and the figures not all zero."""
    from emgis.inputs.kinds import PUBLIC_KINDS

    res, out = batch
    done = sorted(o.name for o in res.outcomes if o.status == "done")
    assert done == ["d00", "d01", "d02"]
    want: dict[tuple[str, str], dict[str, int]] = {}
    for d in done:
        cov = pd.read_csv(out / d / "coverage.csv")
        assert len(cov), d
        for kind, k in cov.groupby("kind", sort=False):
            if kind not in PUBLIC_KINDS:
                continue
            pop = k["population"].fillna(0)
            inside = k["status"] == "covered"
            want[(d, str(kind))] = {"population": int(pop.sum()),
                                    "persons within target": int(pop[inside].sum()),
                                    "persons outside target": int(pop[~inside].sum()),
                                    "villages outside target": int((~inside).sum())}
    assert len(want) >= 3 * 4  # three districts, every public kind the generator places
    assert sum(w["persons outside target"] for w in want.values()) > 0
    assert sum(w["persons within target"] for w in want.values()) > 0

    kinds = _sheet(out / "province.xlsx", "district kinds")
    assert len(kinds) == len(want), "rows of the sheet != (district, public kind) pairs"
    got = {(str(r["district"]), str(r["kind"])): {c: int(r[c]) for c in want[next(iter(want))]}
           for r in kinds.to_dict("records")}
    assert got.keys() == want.keys()
    assert got == want

    districts = _sheet(out / "province.xlsx", "districts").set_index("district")
    outside = districts["persons outside target (all public kinds)"]
    for d in done:
        assert int(outside[d]) == sum(
            w["persons outside target"] for (dd, _), w in want.items() if dd == d), d
    assert pd.isna(outside["d99"])


def test_rerun_skips_unchanged_districts(province: Path, batch: tuple[Any, Path]) -> None:
    _, out = batch
    before = {d: _digests(out / d) for d in ("d00", "d01", "d02")}
    res = run_batch(read_province(province), out, workers=1, lang="en", as_of=AS_OF)
    assert {o.name: o.status for o in res.outcomes} == {
        "d00": "unchanged", "d01": "unchanged", "d02": "unchanged", "d99": "failed"}
    assert {d: _digests(out / d) for d in before} == before


@pytest.mark.parametrize(("toml", "expected"), [
    ('[province]\nroads = "nowhere.osm.pbf"\n', "[province] roads"),
    ('[province]\ncross_border = ["castle"]\n', "unknown kind 'castle'"),
    ('[province]\ndistricts = ["d00", "missing"]\n', "'missing' has no district.toml"),
    ("[province\n", "cannot be read"),
])
def test_bad_province_toml(province: Path, tmp_path: Path, toml: str, expected: str) -> None:
    root = tmp_path / "p"
    root.mkdir()
    shutil.copytree(province / "d00", root / "d00")
    (root / "province.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(DistrictError) as info:
        read_province(root)
    assert expected in str(info.value) and "province.toml" in str(info.value)


def test_zh_rollup_and_console(province: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """`emgis batch --lang zh`: the roll-up report, the workbook's sheets and headers and the
    console hold no English word but the input's ids and names (and credits, file names)."""
    import html
    import re

    from openpyxl import load_workbook

    from emgis.cli import main
    from emgis.texts import texts
    from tests.conftest import ZH_ALLOWED, ascii_words, input_words

    root = tmp_path / "p"
    root.mkdir()
    shutil.copy(province / "province.osm.pbf", root)
    for d in ("d00", "d01", "d02"):
        shutil.copytree(province / d, root / d)
    out = tmp_path / "o"
    assert main(["batch", str(root), "--out", str(out), "--workers", "1", "--lang", "zh",
                 "--as-of", "2026-11-23"]) == 0
    console = capsys.readouterr().out
    allowed = ZH_ALLOWED | {"province", "report", "p", "d"}
    for d in ("d00", "d01", "d02"):
        allowed |= input_words(root / d) | {d}
    page = (out / "province_report.html").read_text("utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ",
                                                       page, flags=re.S)))
    wb = load_workbook(out / "province.xlsx", read_only=True)
    heads = list(wb.sheetnames)
    for ws in wb.worksheets:
        if ws.title != texts("zh")["sheet.fields"]:
            heads += [str(v) for v in next(ws.iter_rows(max_row=1, values_only=True), ())
                      if v is not None]
    problems = {name: sorted(ascii_words(s) - allowed) for name, s in
                {"report": text, "console": console, "xlsx": "\n".join(heads)}.items()}
    assert {k: v for k, v in problems.items() if v} == {}
    assert "跨界" in (out / "d00" / "coverage.csv").read_text("utf-8-sig")


def test_an_existing_cluster_by_its_address(province: Path, batch: tuple[Any, Path],
                                            tmp_path: Path) -> None:
    """--scheduler: the same run on a cluster started elsewhere (here a LocalCluster of one
    worker, reached by its tcp:// address), the same files."""
    from distributed import LocalCluster

    _, out = batch
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:  # type: ignore[no-untyped-call]
        res = run_batch(read_province(province), tmp_path / "o",
                        scheduler=cluster.scheduler_address, lang="en", as_of=AS_OF)
    assert {o.name: o.status for o in res.outcomes}["d01"] == "done"
    for d in ("d00", "d01", "d02"):
        assert _digests(tmp_path / "o" / d) == _digests(out / d)


def test_hostile_names_stay_text(batch: tuple[Any, Path]) -> None:
    """Village names with a formula, template syntax and markup reach the roll-up (its build
    here list) as escaped text and as neutralised workbook cells."""
    from openpyxl import load_workbook

    _, out = batch
    page = (out / "province_report.html").read_text("utf-8")
    assert "{{7*7}}&lt;b&gt;x&lt;/b&gt;" in page
    assert "<b>x</b>" not in page and "49&lt;b&gt;" not in page
    wb = load_workbook(out / "province.xlsx", read_only=True)
    rows = list(wb["build here"].iter_rows(values_only=True))
    head = list(rows[0])
    names = [r[head.index("name")] for r in rows[1:] if r[head.index("district")] == "d02"]
    assert names and all(str(n).startswith("'=cmd") for n in names if "cmd" in str(n))
    assert any("cmd" in str(n) for n in names)


def test_province_toml_gives_the_road_file(province: Path, batch: tuple[Any, Path],
                                           tmp_path: Path) -> None:
    """A province.toml naming the districts and one road file: the district's [roads] is
    replaced by it (here the same file, so the same results as the batch)."""
    import tomllib

    _, out = batch
    root = tmp_path / "p"
    root.mkdir()
    shutil.copy(province / "province.osm.pbf", root / "roads_of_the_province.osm.pbf")
    shutil.copytree(province / "d01", root / "d01")
    conf = (root / "d01" / "district.toml").read_text("utf-8")
    # the district has no [roads] of its own: the province gives them
    (root / "d01" / "district.toml").write_text(
        conf.replace('[roads]\npath = "../province.osm.pbf"\n', ""), "utf-8")
    assert "[roads]" not in (root / "d01" / "district.toml").read_text("utf-8")
    (root / "province.toml").write_text(
        '[province]\nname = "P"\nroads = "roads_of_the_province.osm.pbf"\n'
        'districts = ["d01"]\ncross_border = []\n', "utf-8")
    p = read_province(root)
    assert p.roads == (root / "roads_of_the_province.osm.pbf").resolve()
    assert p.cross_border == () and [n for n, _ in p.districts] == ["d01"]
    assert tomllib.loads((root / "province.toml").read_text("utf-8"))["province"]["name"] == "P"
    tasks, failed, _ = district_tasks(p, tmp_path / "o", as_of=AS_OF)
    assert not failed and tasks[0].neighbours.empty
    o = run_district(tasks[0])
    assert o.status == "done", o.error
    mine = pd.read_csv(tasks[0].out / "coverage.csv")
    theirs = pd.read_csv(out / "d01" / "coverage.csv")
    # the same roads; without the neighbours' units no village is served across the border
    assert not mine["nearest_id"].astype(str).str.contains("@").any()
    cross = theirs["nearest_id"].astype(str).str.contains("@") | \
        theirs["second_id"].astype(str).str.contains("@")
    kinds = set(theirs.loc[cross, "kind"])
    same = ~mine["kind"].isin(kinds)
    assert same.any()
    assert mine[same].reset_index(drop=True).equals(theirs[same].reset_index(drop=True))
