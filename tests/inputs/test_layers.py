"""Reading layers: encodings (UTF-8, BOM, GBK/GB18030, shapefile .dbf) and declared CRSs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from emgis import load_district
from emgis.inputs.layers import WGS84
from tests.conftest import replace_in
from tests.inputs.test_coords import GCJ_PAIRS, metres

NAMES = ["东村", "西村", "北村", "山村", "南村"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_keep_chinese_names(tiny: Path, encoding: str) -> None:
    path = tiny / "villages.csv"
    path.write_bytes(path.read_text("utf-8").encode(encoding))
    d = load_district(tiny)
    assert list(d.villages["name"]) == NAMES


def test_declared_encoding_wins(tiny: Path) -> None:
    path = tiny / "villages.csv"
    path.write_bytes(path.read_text("utf-8").encode("gbk"))
    replace_in(tiny / "district.toml", 'path = "villages.csv"',
               'path = "villages.csv"\nencoding = "gb18030"')
    assert list(load_district(tiny).villages["name"]) == NAMES


def _villages_shapefile(tiny: Path, encoding: str, *, cpg: bool) -> None:
    d = load_district(tiny)
    gdf = d.villages[["id", "name", "township", "kind", "population", "geometry"]].to_crs(WGS84)
    gdf["population"] = gdf["population"].astype(int)
    shp = tiny / "villages.shp"
    gdf.to_file(shp, encoding=encoding)
    if not cpg:
        shp.with_suffix(".cpg").unlink(missing_ok=True)
    replace_in(tiny / "district.toml", 'path = "villages.csv"', 'path = "villages.shp"')


@pytest.mark.parametrize("cpg", [True, False], ids=["with-cpg", "without-cpg"])
@pytest.mark.parametrize("encoding", ["UTF-8", "GBK"])
def test_shapefile_encodings(tiny: Path, encoding: str, cpg: bool) -> None:
    _villages_shapefile(tiny, encoding, cpg=cpg)
    d = load_district(tiny)
    assert list(d.villages["name"]) == NAMES
    assert list(d.villages["population"]) == [1200, 300, 80, 40, 500]


def test_shapefile_without_prj_needs_a_crs(tiny: Path) -> None:
    _villages_shapefile(tiny, "UTF-8", cpg=True)
    (tiny / "villages.prj").unlink()
    with pytest.raises(ValueError, match=r"villages\.shp.*missing CRS"):
        load_district(tiny)
    replace_in(tiny / "district.toml", 'path = "villages.shp"',
               'path = "villages.shp"\ncrs = "EPSG:4326"')
    assert len(load_district(tiny).villages) == 5


def test_field_mapping_for_chinese_headers(tiny: Path) -> None:
    (tiny / "villages.csv").write_text(
        "村编码,村名,所属乡镇,类型,人口,经度,纬度\n"
        "V1,东村,东镇,社区,1200,1.5150,42.5005\n"
        "V2,西村,东镇,村,300,1.4975,42.4975\n", encoding="utf-8-sig")
    replace_in(tiny / "district.toml", 'path = "villages.csv"',
               'path = "villages.csv"\nfields = { id = "村编码", name = "村名", '
               'township = "所属乡镇", kind = "类型", population = "人口" }')
    v = load_district(tiny).villages
    assert list(v["kind"]) == ["community", "village"]
    assert list(v["population"]) == [1200, 300]


def test_geopackage_layer_and_polygon_villages(tiny: Path) -> None:
    d = load_district(tiny)
    gdf = d.villages.drop(columns=["row"])
    gdf["geometry"] = gdf.geometry.buffer(200)  # villages as polygons
    gdf.to_crs(WGS84).to_file(tiny / "layers.gpkg", layer="村", driver="GPKG")
    replace_in(tiny / "district.toml", 'path = "villages.csv"',
               'path = "layers.gpkg"\nlayer = "村"')
    v = load_district(tiny).villages
    assert (v.geom_type == "Point").all()
    # the point that stands for each polygon lies inside it
    assert all(p.within(g) for p, g in zip(v.geometry, gdf.geometry, strict=True))


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_web_offset_coordinates_are_converted_on_load(tmp_path: Path, system: str) -> None:
    from emgis.inputs.coords import wgs84_to_bd09

    rows = ["id,name,township,kind,population,lon,lat"]
    for i, (wlat, wlon, glat, glon) in enumerate(GCJ_PAIRS, start=1):
        lon, lat = (glon, glat) if system == "GCJ-02" else wgs84_to_bd09(wlon, wlat)
        rows.append(f"V{i},村{i},镇,village,10,{float(lon)!r},{float(lat)!r}")
    (tmp_path / "villages.csv").write_text("\n".join(rows) + "\n", "utf-8")
    (tmp_path / "district.toml").write_text(
        f'[layers.villages]\npath = "villages.csv"\ncrs = "{system}"\n', "utf-8")
    d = load_district(tmp_path)
    got = d.villages.to_crs(WGS84).geometry
    for p, (wlat, wlon, _, _) in zip(got, GCJ_PAIRS, strict=True):
        assert metres(p.y, p.x, wlat, wlon) < 0.5


def test_projected_cgcs2000_input(tmp_path: Path) -> None:
    # a point given in CGCS2000 / 3-degree GK CM 117E (EPSG:4548) comes back to its lon/lat
    src = gpd.GeoSeries([shapely.Point(116.4, 39.9)], crs=4490).to_crs(4548).iloc[0]
    (tmp_path / "villages.csv").write_text(
        f"id,name,township,kind,population,x,y\nV1,村,镇,village,10,{src.x!r},{src.y!r}\n", "utf-8")
    (tmp_path / "district.toml").write_text(
        '[layers.villages]\npath = "villages.csv"\ncrs = "EPSG:4548"\n', "utf-8")
    d = load_district(tmp_path)
    assert d.crs.to_epsg() == 4548
    p = d.villages.to_crs(WGS84).geometry.iloc[0]
    assert metres(p.y, p.x, 39.9, 116.4) < 0.01
