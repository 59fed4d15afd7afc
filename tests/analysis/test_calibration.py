"""Calibration from dispatch records (issue 29): records drawn from hidden speed factors and
turnouts with noise; the fit recovers them, cross-validated error falls, and every record that
makes no sense is caught, one by one.

Tolerances stated here (and in the README): with 1,500 records and 3% noise on the demo, every
speed group carrying at least 3% of the records' minutes is recovered within 5% of its hidden
factor and each kind's turnout with 50 records or more within 0.3 min; on the synthetic county
(30,000 road nodes), every group carrying 3% within 5%.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pytest
import tomllib

import emgis
from emgis.analysis.calibration import FLAGS, CalibrationResult, calibrate, simulate_calls
from emgis.inputs.calls import parse_time
from emgis.roads.classtime import class_times, route_minutes
from emgis.roads.routing import times_from

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"

#: Hidden speed factors (posted: roads at their maxspeed) and turnouts of the demo's records.
HIDDEN = {"posted": 0.8, "primary": 1.2, "secondary": 0.9, "tertiary": 0.75,
          "residential": 1.1, "track": 1.0, "unclassified": 0.85}
TURNOUT = {"micro_fire_station": 1.5, "fire_station": 2.0, "township_rescue_team": 3.0,
           "village_team": 4.0, "medical": 2.5, "forest_fire_team": 4.0,
           "township_fire_brigade": 2.5, "enterprise_brigade": 2.0, "social_rescue_team": 5.0}

#: Records that make no sense, each with the one reason it must be caught for.
NONSENSE = [
    ("arrival_before_dispatch", {"出警单位": "MF1", "事发地": "V01",
                                 "出警时间": "2024-05-01 08:00:00",
                                 "到场时间": "2024-05-01 07:59:00"}),
    ("arrival_before_dispatch", {"出警单位": "MF1", "事发地": "V01",
                                 "出警时间": "2024-05-01 08:00:00",
                                 "到场时间": "2024-05-01 08:00:00"}),
    ("missing_time", {"出警单位": "MF1", "事发地": "V01", "出警时间": "2024年5月1日 8时",
                      "到场时间": ""}),
    ("missing_time", {"出警单位": "MF1", "事发地": "V01", "出警时间": "昨天上午",
                      "到场时间": "2024-05-01 08:10"}),
    ("too_long", {"出警单位": "MF1", "事发地": "V01", "出警时间": "2024-05-01 08:00:00",
                  "到场时间": "2024-05-02 08:00:00"}),
    ("unknown_unit", {"出警单位": "XX9", "事发地": "V01", "出警时间": "2024-05-01 08:00:00",
                      "到场时间": "2024-05-01 08:09:00"}),
    ("unknown_village", {"出警单位": "MF1", "事发地": "V999",
                         "出警时间": "2024-05-01 08:00:00", "到场时间": "2024-05-01 08:09:00"}),
    ("no_place", {"出警单位": "MF1", "事发地": "", "出警时间": "2024-05-01 08:00:00",
                  "到场时间": "2024-05-01 08:09:00"}),
    ("too_fast", {"出警单位": "MF1", "事发地": "V40", "出警时间": "2024-05-01 08:00:00",
                  "到场时间": "2024-05-01 08:00:30"}),
    ("too_slow", {"出警单位": "MF1", "事发地": "V66", "出警时间": "2024-05-01 08:00:00",
                  "到场时间": "2024-05-01 10:00:00"}),
]


def _with_calls(dst: Path, calls: pd.DataFrame) -> Path:
    shutil.copytree(DEMO, dst, ignore=shutil.ignore_patterns(".emgis-cache"))
    calls.to_csv(dst / "calls.csv", index=False, encoding="utf-8-sig")
    with (dst / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[layers.calls]\npath = "calls.csv"\n')
    return dst


@pytest.fixture(scope="module")
def demo_calls(tmp_path_factory: pytest.TempPathFactory) -> tuple[emgis.Plan, pd.DataFrame]:
    """The demo with 1,500 records drawn from the hidden factors (3% noise), then the
    nonsense records and a duplicate of the fourth record."""
    base = emgis.open(DEMO)
    calls = simulate_calls(base.district, base.network, factors=HIDDEN, turnout=TURNOUT,
                           n=1500, noise=0.03, seed=7)
    bad = [{"警情编号": f"BAD{i}", **rec} for i, (_, rec) in enumerate(NONSENSE)]
    dup = {**calls.iloc[3].to_dict(), "警情编号": "DUP"}
    calls = pd.concat([calls, pd.DataFrame(bad), pd.DataFrame([dup])], ignore_index=True)
    d = _with_calls(tmp_path_factory.mktemp("cal") / "demo", calls)
    return emgis.open(d), calls


@pytest.fixture(scope="module")
def demo_result(demo_calls: tuple[emgis.Plan, pd.DataFrame]) -> CalibrationResult:
    res = demo_calls[0].calibrate()
    assert res is not None
    return res


def test_times_read_as_ledgers_write_them() -> None:
    want = dt.datetime(2024, 5, 1, 8, 3, 5)
    for text in ("2024-05-01 08:03:05", "2024/5/1 8:03:05", "2024-05-01T08:03:05",
                 "2024年5月1日 8时3分5秒", "2024年5月1日08:03:05", "20240501 080305",
                 "２０２４-０５-０１ ０８:０３:０５"):
        assert parse_time(text) == want, text
    assert parse_time("2024年5月1日 8点3分") == dt.datetime(2024, 5, 1, 8, 3)
    assert parse_time(45413.25) == dt.datetime(2024, 5, 1, 6, 0)  # an Excel serial
    assert parse_time(dt.datetime(2024, 5, 1, 8, 3, 5)) == want
    for bad in ("", None, "昨天", "2024-13-01 08:00", "nan"):
        assert parse_time(bad) is None


def test_group_minutes_add_up_to_the_model_exactly() -> None:
    """The per-class split of every unit-village route sums to the engine's time (exact: the
    route walked back from the search's predecessors), at nominal and scaled speeds."""
    plan = emgis.open(DEMO)
    eng = plan.engine
    rg = eng.graph("drive")
    ct = class_times(rg, plan.network, plan.district.settings)
    s, t = np.meshgrid(eng.unit_loc, eng.village_loc, indexing="ij")
    ref = times_from(rg, eng.unit_loc, targets=eng.village_loc).ravel()
    _, total, metres = route_minutes(ct, s.ravel(), t.ravel())
    ok = np.isfinite(ref)
    assert np.isnan(total[~ok]).all()
    assert np.abs(total[ok] - ref[ok]).max() < 1e-9
    assert (metres[ok] > 0).all()
    f = np.linspace(0.5, 1.5, ct.n_groups)
    ref2 = times_from(ct.scaled(f), eng.unit_loc, targets=eng.village_loc).ravel()
    _, total2, _ = route_minutes(ct, s.ravel(), t.ravel(), factors=f)
    assert np.abs(total2[ok] - ref2[ok]).max() < 1e-9


def test_recovers_hidden_factors_on_the_demo(demo_result: CalibrationResult,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    res = demo_result
    g = res.groups.assign(hidden=[HIDDEN.get(x, 1.0) for x in res.groups["group"]])
    g["share"] = g["minutes"] / g["minutes"].sum()
    with capsys.disabled():
        print("\n" + g[["group", "factor", "hidden", "share", "records", "fitted"]].to_string())
    checked = g[g["fitted"] & (g["share"] >= 0.03)]
    assert {"posted", "secondary", "primary"} <= set(checked["group"])
    err = (checked["factor"] - checked["hidden"]).abs() / checked["hidden"]
    assert (err <= 0.05).all(), checked.assign(err=err)
    kinds = res.turnout[(res.turnout["scope"] == "kind") & (res.turnout["records"] >= 50)]
    assert len(kinds) >= 3
    for r in kinds.to_dict("records"):
        assert abs(r["fitted_min"] - TURNOUT[r["kind"]]) <= 0.3, r


def test_cross_validated_error_falls(demo_result: CalibrationResult,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    cv = demo_result.cv
    with capsys.disabled():
        print(f"\nCV ({int(cv['folds'])} folds, {int(cv['records'])} records): MAE "
              f"{cv['mae_before']:.2f} -> {cv['mae_after']:.2f} min, RMSE "
              f"{cv['rmse_before']:.2f} -> {cv['rmse_after']:.2f} min")
    assert cv["mae_after"] < 0.4 * cv["mae_before"]
    assert cv["rmse_after"] < cv["rmse_before"]
    overall = demo_result.errors.query("scope == 'district'").iloc[0]
    assert abs(overall["bias_after"]) < abs(overall["bias_before"])
    assert set(demo_result.errors["scope"]) == {"district", "road_class", "township", "unit"}


@pytest.mark.parametrize("i", range(len(NONSENSE)), ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(NONSENSE)])
def test_nonsense_records_caught_one_by_one(demo_result: CalibrationResult, i: int) -> None:
    want = NONSENSE[i][0]
    rec = demo_result.records.set_index("call_id").loc[f"BAD{i}"]
    assert not rec["used"]
    assert rec["flags"].split(";") == [want]
    assert want in FLAGS


def test_duplicate_names_the_first_row(demo_result: CalibrationResult) -> None:
    r = demo_result.records.set_index("call_id")
    assert r.loc["DUP", "flags"] == "duplicate"
    assert r.loc["DUP", "note"] == str(int(cast(int, r.loc["J00004", "row"])))
    assert r.loc["J00004", "used"]
    assert demo_result.used == 1500


def test_calibration_toml_is_district_toml(demo_result: CalibrationResult, tmp_path: Path) -> None:
    """The snippet's keys are district.toml's own: pasted into the district it validates, and
    the model's minutes move towards the records (the per-unit turnout is not in it)."""
    snippet = demo_result.toml()
    data = tomllib.loads(snippet)
    assert set(data) <= {"speeds", "network", "turnout"}
    assert data["speeds"]["primary"]["value"] == pytest.approx(60 * 1.2, rel=0.05)
    d = tmp_path / "demo"
    shutil.copytree(DEMO, d, ignore=shutil.ignore_patterns(".emgis-cache"))
    with (d / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n" + snippet)
    plan = emgis.open(d, use_cache=False)
    assert plan.district.settings.speeds["primary"].value == data["speeds"]["primary"]["value"]
    def values(d: dict[str, dict[str, object]]) -> dict[str, object]:
        return {f"{t}.{k}": v["value"] if isinstance(v, dict) else v
                for t, kv in d.items() for k, v in kv.items()}

    assert values(tomllib.loads(demo_result.toml("zh"))) == values(data)


def test_no_records_keeps_the_model(demo_plan: emgis.Plan) -> None:
    assert demo_plan.calibrate() is None
    u = demo_plan.uncertainty(samples=5)
    assert u.ranges.basis == "defaults"


def test_excel_ledger_with_chinese_headers(demo_calls: tuple[emgis.Plan, pd.DataFrame],
                                           tmp_path: Path) -> None:
    """An .xlsx 出警记录 with a title row, date cells and 出警单位 given by name."""
    import openpyxl

    plan, calls = demo_calls
    teams = plan.district.teams.set_index("id")["name"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某某县消防救援大队出警记录"])
    ws.append(["警情编号", "出警单位", "事发地", "出警时间", "到场时间"])
    for r in calls.head(40).to_dict("records"):
        ws.append([r["警情编号"], teams[r["出警单位"]], r["事发地"],
                   dt.datetime.fromisoformat(r["出警时间"]),
                   dt.datetime.fromisoformat(r["到场时间"])])
    d = tmp_path / "demo"
    shutil.copytree(DEMO, d, ignore=shutil.ignore_patterns(".emgis-cache"))
    wb.save(d / "出警记录.xlsx")
    with (d / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[layers.calls]\npath = "出警记录.xlsx"\n')
    p2 = emgis.open(d)
    res = calibrate(p2.district, p2.network)
    assert res is not None and len(res.records) == 40
    assert res.records["used"].all(), res.records[~res.records["used"]]
    assert (res.records["unit_id"] == calls.head(40)["出警单位"].to_numpy()).all()


def test_incident_points_instead_of_villages(demo_calls: tuple[emgis.Plan, pd.DataFrame],
                                             tmp_path: Path) -> None:
    """Records with 事发地经度/纬度 and no village are routed to the point itself."""
    plan, calls = demo_calls
    v = plan.district.villages.to_crs(4326).set_index("id")
    head = calls.head(30).copy()
    head["事发地经度"] = [v.loc[x].geometry.x for x in head["事发地"]]
    head["事发地纬度"] = [v.loc[x].geometry.y for x in head["事发地"]]
    head["事发地"] = ""
    d = _with_calls(tmp_path / "demo", head)
    res = emgis.open(d).calibrate()
    assert res is not None
    assert (res.records["place"] == "point").all()
    assert res.records["used"].all()
    # the same minutes as to the village (the point is the village's point)
    base = cast(CalibrationResult, demo_calls[0].calibrate()).records.set_index("call_id")
    got = res.records.set_index("call_id")
    assert np.allclose(got["model_min"], base.loc[got.index, "model_min"], atol=1e-6)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic county of 30,000 road nodes, 400 villages and 80 units
    (scripts/synthetic_district.py)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from synthetic_district import write_district

    return cast(Path, write_district(tmp_path_factory.mktemp("county") / "county", nodes=30_000,
                          villages=400, units=80, townships=8))


def test_recovers_hidden_factors_on_a_synthetic_county(county: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    base = emgis.open(county)
    hidden = {"primary": 1.15, "secondary": 0.85, "tertiary": 0.9, "residential": 0.7,
              "posted": 1.1}
    turn = {"micro_fire_station": 1.5, "village_team": 4.0, "township_rescue_team": 3.0,
            "fire_station": 1.5, "forest_fire_team": 4.0, "medical": 2.5,
            "township_fire_brigade": 2.0}
    calls = simulate_calls(base.district, base.network, factors=hidden, turnout=turn, n=1500,
                           noise=0.03, seed=3, max_min=40)
    calls.to_csv(county / "calls.csv", index=False, encoding="utf-8-sig")
    with (county / "district.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[layers.calls]\npath = "calls.csv"\n')
    res = emgis.open(county).calibrate()
    assert res is not None
    g = res.groups.assign(hidden=[hidden.get(x, 1.0) for x in res.groups["group"]])
    g["share"] = g["minutes"] / g["minutes"].sum()
    cv = res.cv
    with capsys.disabled():
        print("\n" + g[["group", "factor", "hidden", "share", "records", "fitted"]].to_string())
        print(f"CV MAE {cv['mae_before']:.2f} -> {cv['mae_after']:.2f} min")
    checked = g[g["fitted"] & (g["share"] >= 0.03)]
    assert {"primary", "secondary", "residential"} <= set(checked["group"])
    err = (checked["factor"] - checked["hidden"]).abs() / checked["hidden"]
    assert (err <= 0.05).all(), checked.assign(err=err)
    assert cv["mae_after"] < 0.4 * cv["mae_before"]


def test_emgis_calibrate_command(demo_calls: tuple[emgis.Plan, pd.DataFrame], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`emgis calibrate DISTRICT --out DIR` prints the report with every record not used, by
    row, and writes calibration.toml and the tables; a district without records is told how to
    declare them (exit 2)."""
    from emgis.cli import main

    root = demo_calls[0].district.root
    out = tmp_path / "out"
    assert main(["calibrate", str(root), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    rows = cast(CalibrationResult, demo_calls[0].calibrate()).records
    for r in rows[~rows["used"]].to_dict("records"):
        assert f"row {r['row']}:" in said
    assert "bias" in said and "spread" in said
    for name in ("calibration.toml", "calibration.csv", "calibration_speeds.csv",
                 "calibration_turnout.csv", "calibration_errors.csv", "run.json"):
        assert (out / name).exists(), name
    back = pd.read_csv(out / "calibration.csv", encoding="utf-8-sig")
    assert len(back) == len(rows) and back["flags"].fillna("").ne("").sum() == len(NONSENSE) + 1
    assert main(["calibrate", str(DEMO), "--out", str(tmp_path / "none"), "--lang", "zh"]) == 2
    assert "[layers.calls]" in capsys.readouterr().err


def test_run_writes_the_minutes(demo_calls: tuple[emgis.Plan, pd.DataFrame],
                                tmp_path: Path) -> None:
    """`emgis run` on a district with records: the calibration's files, p_within in
    coverage.csv, the uncertainty, force and availability files, a report section and the
    workbook's sheets."""
    import openpyxl

    from emgis.texts import texts

    plan = emgis.open(demo_calls[0].district.root)
    out = tmp_path / "run"
    res = plan.write(out, lang="zh")
    assert not [f for f in res.failures if "calib" in f[0] or "force" in f[0]], res.failures
    for name in ("calibration.toml", "calibration.csv", "calibration_errors.csv",
                 "uncertainty.csv", "fragile.csv", "force.csv", "force.gpkg",
                 "availability.csv", "availability_villages.csv"):
        assert (out / name).exists(), name
    cov = pd.read_csv(out / "coverage.csv", header=1, encoding="utf-8-sig")
    assert cov["p_within"].between(0, 1).all()
    page = (out / "report.html").read_text("utf-8")
    t = texts("zh")
    for key in ("minutes.title", "minutes.calibration", "minutes.uncertainty", "minutes.force",
                "minutes.availability"):
        assert t[key] in page, key
    sheets = openpyxl.load_workbook(out / "results.xlsx", read_only=True).sheetnames
    for key in ("calibration", "calibration_records", "uncertainty", "force", "availability"):
        assert t[f"sheet.{key}"] in sheets, key


def test_calls_file_without_a_required_column_is_an_error(tmp_path: Path) -> None:
    """A file-level problem of the calls layer is an error like any layer's (a record's is
    not: the calibration lists it)."""
    calls = pd.DataFrame({"出警单位": ["MF1"], "事发地": ["V01"],
                          "出警时间": ["2024-05-01 08:00"]})
    d = _with_calls(tmp_path / "demo", calls)
    with pytest.raises(emgis.ValidationError) as err:
        emgis.open(d)
    assert any(p.field == "arrival_time" and p.level == "error" for p in err.value.problems)
