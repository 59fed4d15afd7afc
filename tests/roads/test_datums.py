"""A layer copied from AMap (GCJ-02) but declared WGS-84 is caught once the roads are read.

The district is a small road grid placed in China (near 烈山, 116.8E 33.9N); villages sit on
the roads (WGS-84). Written as AMap shows them (GCJ-02) but declared WGS-84, they lie about
500 m off every road: opening the district stops with the figures and the line to add. Declared
right, or written right, nothing is said.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import emgis
from emgis.inputs.coords import gcj02_to_wgs84, wgs84_to_gcj02

LON0, LAT0 = 116.80, 33.90
STEP = 0.01  # about 1 km between grid lines


def _grid() -> gpd.GeoDataFrame:
    lines = []
    for k in range(6):
        lines.append(shapely.LineString([(LON0, LAT0 + k * STEP), (LON0 + 5 * STEP,
                                                                    LAT0 + k * STEP)]))
        lines.append(shapely.LineString([(LON0 + k * STEP, LAT0), (LON0 + k * STEP,
                                                                    LAT0 + 5 * STEP)]))
    return gpd.GeoDataFrame({"highway": ["tertiary"] * len(lines)}, geometry=lines,
                            crs="EPSG:4326")


def _villages() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 12
    # on horizontal grid lines, at random places along them
    lon = LON0 + rng.uniform(0.2, 4.8, n) * STEP
    lat = LAT0 + rng.integers(0, 6, n) * STEP
    return lon, lat


def _district(root: Path, *, write: str, declare: str | None,
              datum_check: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    _grid().to_file(root / "roads.geojson", driver="GeoJSON")
    lon, lat = _villages()
    if write == "GCJ-02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    rows = ["id,name,township,kind,population,经度,纬度"]
    rows += [f"V{i},村{i},烈山镇,village,100,{x:.7f},{y:.7f}"
             for i, (x, y) in enumerate(zip(lon, lat))]
    (root / "villages.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    crs_line = f'crs = "{declare}"\n' if declare else ""
    check = f'datum_check = "{datum_check}"\n' if datum_check else ""
    (root / "district.toml").write_text(
        '[district]\nname = "烈山测试区"\ncrs = "EPSG:4326"\n' + check
        + '\n[layers.villages]\npath = "villages.csv"\n' + crs_line
        + '\n[roads]\npath = "roads.geojson"\nclass_field = "highway"\n', encoding="utf-8")
    return root


def _applied_shift_m() -> float:
    """The mean distance between the villages as WGS-84 and as AMap writes them (metres)."""
    lon, lat = _villages()
    glon, glat = wgs84_to_gcj02(lon, lat)
    pts = gpd.GeoSeries(shapely.points(lon, lat), crs=4326).to_crs(4547)
    moved = gpd.GeoSeries(shapely.points(glon, glat), crs=4326).to_crs(4547)
    return float(pts.distance(moved).mean())


def test_amap_layer_declared_wgs84_is_an_error_with_the_line_to_add(tmp_path: Path) -> None:
    root = _district(tmp_path / "d", write="GCJ-02", declare=None)
    with pytest.raises(emgis.ValidationError) as info:
        emgis.open(root)
    errors = [p for p in info.value.problems if p.level == "error"]
    assert len(errors) == 1
    p = errors[0]
    assert p.file == "villages.csv" and p.field == "crs"
    assert 'crs = "GCJ-02"' in p.message
    values = p.message.values  # type: ignore[attr-defined]
    assert values["declared"] == "WGS-84" and values["best"] == "GCJ-02"
    # the villages sit on the roads once read right, and hundreds of metres off as declared
    assert values["best_m"] <= 5 and values["declared_m"] >= 100
    # the shift found is the shift applied (within a metre: the GCJ-02 inverse is exact to
    # far better, the rest is rounding of the message's figure)
    applied = _applied_shift_m()
    assert abs(values["shift_m"] - applied) <= 1.0, (values["shift_m"], applied)


def test_right_declaration_is_not_flagged(tmp_path: Path) -> None:
    plan = emgis.open(_district(tmp_path / "d", write="GCJ-02", declare="GCJ-02"))
    assert not [p for p in plan.district.warnings if p.field == "crs"]
    # read back to WGS-84, the villages lie on the grid lines again
    lon, lat = _villages()
    got = plan.district.villages.to_crs(4326)
    assert np.allclose(got.geometry.x, lon, atol=1e-6)
    assert np.allclose(got.geometry.y, lat, atol=1e-6)


def test_wgs84_written_and_declared_is_not_flagged(tmp_path: Path) -> None:
    plan = emgis.open(_district(tmp_path / "d", write="WGS-84", declare=None))
    assert not [p for p in plan.district.warnings if p.field == "crs"]


def test_wgs84_written_but_declared_gcj02_is_caught(tmp_path: Path) -> None:
    with pytest.raises(emgis.ValidationError) as info:
        emgis.open(_district(tmp_path / "d", write="WGS-84", declare="GCJ-02"))
    (p,) = [p for p in info.value.problems if p.level == "error"]
    assert p.message.values["best"] == "WGS-84"  # type: ignore[attr-defined]


def test_datum_check_warn_goes_on_with_a_warning(tmp_path: Path) -> None:
    plan = emgis.open(_district(tmp_path / "d", write="GCJ-02", declare=None,
                                datum_check="warn"))
    (w,) = [p for p in plan.district.warnings if p.field == "crs"]
    assert w.level == "warning" and 'crs = "GCJ-02"' in w.message


def test_datum_check_off_says_nothing(tmp_path: Path) -> None:
    plan = emgis.open(_district(tmp_path / "d", write="GCJ-02", declare=None,
                                datum_check="off"))
    assert not [p for p in plan.district.warnings if p.field == "crs"]


def test_gcj_inverse_used_by_the_check_round_trips() -> None:
    lon, lat = _villages()
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.allclose(back[0], lon, atol=1e-8) and np.allclose(back[1], lat, atol=1e-8)


def _opened(root: Path) -> tuple[object, object]:
    """What ``Plan(...)`` says of a district, and what ``Plan.ready`` says: the problems
    raised, or the warnings kept and the engine's snaps."""
    from emgis.inputs.district import load_district
    from emgis.plan import Plan
    from emgis.roads.network import load_network_arrays

    out: list[tuple[object, ...]] = []
    for make in (Plan, Plan.ready):
        district = load_district(root)
        network, cache = load_network_arrays(district)
        try:
            plan = make(district, network, cache)
        except emgis.ValidationError as exc:
            out.append(("raised", [(p.level, p.file, p.field, str(p.message))
                                   for p in exc.problems]))
            continue
        out.append(("opened", [(p.level, p.file, p.field, str(p.message))
                               for p in plan.district.warnings],
                    plan.engine.snaps.to_csv()))
    return out[0], out[1]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(("write", "declare", "check"), [
    ("GCJ-02", None, None), ("GCJ-02", None, "warn"), ("GCJ-02", "GCJ-02", None),
    ("WGS-84", "GCJ-02", None), ("WGS-84", None, None)])
def test_ready_plan_is_the_plan_with_its_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                workers: str, write: str,
                                                declare: str | None, check: str | None
                                                ) -> None:
    """``Plan.ready`` (the datum check forked beside the snapping, issue 27) raises what
    ``Plan(...)`` raises and keeps the same warnings, its engine the same as one built after
    (in one process too: ``EMGIS_WORKERS=1``)."""
    monkeypatch.setenv("EMGIS_WORKERS", workers)
    plain, ready = _opened(_district(tmp_path / "d", write=write, declare=declare,
                                     datum_check=check))
    assert plain == ready


def _marks(root: Path) -> list[Path]:
    return sorted((root / ".emgis-cache").glob("*.datums-*.fit"))


def test_a_fit_is_kept_beside_the_cache_and_not_checked_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers that fit as declared are marked beside the network cache; the next opening of
    the same layers on the same roads does not check again, and one of other layers does."""
    from emgis.roads import datums

    root = _district(tmp_path / "d", write="WGS-84", declare=None)
    emgis.open(root)
    assert len(_marks(root)) == 1

    def never(*args: object, **kw: object) -> object:
        raise AssertionError("checked again")

    with monkeypatch.context() as m:
        m.setattr(datums, "datum_fit", never)
        plan = emgis.open(root)  # the same layers and roads: as kept
        assert not [p for p in plan.district.warnings if p.field == "crs"]
    # the villages written as AMap shows them, declared WGS-84: other points, checked again
    _district(root, write="GCJ-02", declare=None)
    for _ in range(2):  # a finding is never kept: said at every opening
        with pytest.raises(emgis.ValidationError) as info:
            emgis.open(root)
        assert [p.field for p in info.value.problems if p.level == "error"] == ["crs"]
    assert len(_marks(root)) == 1


def test_the_mark_names_everything_the_check_reads(tmp_path: Path) -> None:
    import dataclasses

    from emgis.inputs.district import load_district
    from emgis.roads.datums import _fits_name
    from emgis.roads.network import load_network_arrays

    district = load_district(_district(tmp_path / "d", write="WGS-84", declare=None))
    network, _ = load_network_arrays(district)
    base = _fits_name(district, network)
    assert base == _fits_name(load_district(tmp_path / "d"), network)  # read again: the same
    v = district.villages.copy()
    v.loc[v.index[3], "geometry"] = shapely.Point(v.geometry.iloc[3].x + 1.0,
                                                  v.geometry.iloc[3].y)
    vx = network.vx.copy()
    vx[5] += 1.0
    others = [
        _fits_name(dataclasses.replace(district, villages=v), network),  # a village moved
        _fits_name(dataclasses.replace(district, datums={"villages": "GCJ-02"}), network),
        _fits_name(dataclasses.replace(district, datum_check="warn"), network),
        _fits_name(district, dataclasses.replace(network, vx=vx)),  # a road moved
    ]
    assert len({base, *others}) == 5
