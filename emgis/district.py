"""The district folder: ``district.toml``, its layers and settings, read and validated once.

A district is a folder with a ``district.toml`` such as::

    [district]
    name = "Example county"
    crs = "EPSG:4326"          # for CSV layers that declare none ("GCJ-02", "BD-09" also work)

    [layers.villages]
    path = "villages.csv"
    fields = { id = "村编码", name = "村名", population = "人口" }

    [layers.teams]
    path = "teams.gpkg"
    layer = "teams"

    [roads]
    path = "roads.osm.pbf"

    [targets]
    micro_fire_station = 3

:func:`load_district` reads everything, checks it, converts coordinates to WGS-84 and then to
a metric CRS chosen for the district, and returns a :class:`District`; errors are collected and
raised together as :class:`~emgis._errors.ValidationError`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from emgis._errors import DistrictError, SettingsError, ValidationError
from emgis.coords import choose_metric_crs
from emgis.layers import POINT_LAYERS, SCHEMAS, WGS84, LayerSpec, read_layer
from emgis.settings import Settings, load_settings
from emgis.validation import Problem, ProblemLog

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LAYER_NAMES = ("villages", "townships", "teams", "stockpiles", "shelters", "hazards",
               "candidates")


@dataclass(frozen=True)
class RoadSource:
    """Where the road network comes from (``[roads]`` in ``district.toml``).

    Attributes
    ----------
    path
        An OSM ``.osm.pbf``/``.osm`` file, a GraphML file or a file of road lines.
    format
        ``"osm"``, ``"graphml"`` or ``"lines"`` (from the file's suffix unless given).
    class_field, speed_field, oneway_field
        For road lines: the column with the OSM-style road class, the column with a speed in
        km/h, and the column saying the line is one-way (yes/1/true; -1 for reversed).
    crs
        CRS of road lines or GraphML that declare none.
    """

    path: Path
    format: str
    class_field: str = "highway"
    speed_field: str | None = None
    oneway_field: str | None = "oneway"
    crs: str | None = None


@dataclass(frozen=True)
class District:
    """A validated district, every layer in the district's metric CRS.

    Attributes
    ----------
    root
        The district folder.
    name
        The district's name.
    crs
        The projected CRS (metres) chosen for the district.
    settings
        Targets, speeds and minimums: the standards profile with the district's overrides.
    villages
        One point per village: id, name, township, kind (village | community), population.
    townships, teams, stockpiles, shelters, hazards
        The other layers; empty GeoDataFrames where the district has none.
    candidates
        Sites the planner proposes for new units (optional layer: id, name, point).
    roads
        The road network source, if the district has one.
    warnings
        Problems that did not stop loading.
    """

    root: Path
    name: str
    crs: CRS
    settings: Settings
    villages: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    teams: gpd.GeoDataFrame
    stockpiles: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    hazards: gpd.GeoDataFrame
    roads: RoadSource | None
    candidates: gpd.GeoDataFrame = field(default_factory=lambda: gpd.GeoDataFrame(
        {"id": [], "name": []}, geometry=[]))
    warnings: tuple[Problem, ...] = field(default=())
    scenarios: tuple[Any, ...] = field(default=())

    def township_names(self) -> list[str]:
        """The townships in layer order, or those the villages name when there is no layer."""
        if len(self.townships):
            return [str(n) for n in self.townships["name"]]
        return sorted({str(t) for t in self.villages["township"].dropna()})

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """Return a copy of the layer called ``name``."""
        if name not in LAYER_NAMES:
            raise KeyError(f"no layer {name!r}; expected one of {', '.join(LAYER_NAMES)}")
        gdf: gpd.GeoDataFrame = getattr(self, name)
        return gdf.copy()


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_district` found: every problem, and the district if it loaded."""

    problems: tuple[Problem, ...]
    district: District | None

    @property
    def errors(self) -> list[Problem]:
        """Problems that stop a run."""
        return [p for p in self.problems if p.level == "error"]

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors


def _read_toml(root: Path) -> tuple[Path, dict[str, Any]]:
    root = Path(root)
    path = root / "district.toml" if root.is_dir() else root
    if not path.exists():
        raise DistrictError(
            f"{path}: not found; a district is a folder with a district.toml that names its "
            "layers (see README.md, 'Prepare your own district')"
        )
    try:
        with path.open("rb") as fh:
            return path, tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise DistrictError(f"{path}: not valid TOML ({exc}); fix the line it names") from exc
    except UnicodeDecodeError as exc:
        raise DistrictError(f"{path}: not UTF-8 text; save it as UTF-8") from exc


def _layer_specs(toml_path: Path, config: Mapping[str, Any]) -> dict[str, LayerSpec]:
    layers = config.get("layers", {})
    if not isinstance(layers, dict):
        raise DistrictError(f"{toml_path}: [layers] must be a table of [layers.NAME] tables")
    specs: dict[str, LayerSpec] = {}
    for name, table in layers.items():
        if name not in SCHEMAS:
            raise DistrictError(
                f"{toml_path}: unknown layer [layers.{name}]; expected one of "
                f"{', '.join(LAYER_NAMES)}"
            )
        if isinstance(table, str):
            table = {"path": table}
        if not isinstance(table, dict) or not isinstance(table.get("path"), str):
            raise DistrictError(f"{toml_path}: [layers.{name}] needs path = \"FILE\"")
        unknown = set(table) - {"path", "layer", "crs", "encoding", "fields"}
        if unknown:
            raise DistrictError(
                f"{toml_path}: [layers.{name}] has unknown key(s) {', '.join(sorted(unknown))}; "
                "expected path, layer, crs, encoding, fields"
            )
        fields = table.get("fields", {})
        if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            raise DistrictError(
                f"{toml_path}: [layers.{name}] fields must map emgis names to column names, "
                "e.g. fields = { id = \"编码\" }"
            )
        specs[name] = LayerSpec(
            name=name,
            path=(toml_path.parent / table["path"]).resolve(),
            layer=table.get("layer"),
            crs=table.get("crs"),
            encoding=table.get("encoding"),
            fields=dict(fields),
        )
    if "villages" not in specs:
        raise DistrictError(
            f"{toml_path}: no [layers.villages]; the villages layer is required "
            "(id, name, township, kind, population)"
        )
    return specs


def _road_source(toml_path: Path, config: Mapping[str, Any]) -> RoadSource | None:
    table = config.get("roads")
    if table is None:
        return None
    if isinstance(table, str):
        table = {"path": table}
    if not isinstance(table, dict) or not isinstance(table.get("path"), str):
        raise DistrictError(f"{toml_path}: [roads] needs path = \"FILE\"")
    path = (toml_path.parent / table["path"]).resolve()
    name = path.name.lower()
    default = (
        "osm" if name.endswith((".pbf", ".osm", ".osm.bz2", ".osm.gz"))
        else "graphml" if name.endswith(".graphml") else "lines"
    )
    fmt = table.get("format", default)
    if fmt not in ("osm", "graphml", "lines"):
        raise DistrictError(f"{toml_path}: [roads] format = {fmt!r}; expected osm, graphml "
                            "or lines")
    return RoadSource(
        path=path,
        format=fmt,
        class_field=table.get("class_field", "highway"),
        speed_field=table.get("speed_field"),
        oneway_field=table.get("oneway_field", "oneway"),
        crs=table.get("crs"),
    )


def _check_extent(
    layers: dict[str, gpd.GeoDataFrame],
    extent: shapely.Geometry | None,
    crs: CRS,
    plog: ProblemLog,
    files: Mapping[str, str],
) -> None:
    """Flag points with impossible, swapped or outside-the-district coordinates."""
    for name in POINT_LAYERS:
        gdf = layers.get(name)
        if gdf is None or len(gdf) == 0:
            continue
        for i, g in enumerate(gdf.geometry.values):
            if g is None or g.is_empty:
                continue
            p = g if g.geom_type == "Point" else g.representative_point()
            x, y = p.x, p.y
            where = {"row": int(gdf["row"].iloc[i]),
                     "id": gdf["id"].iloc[i] if "id" in gdf else None, "field": "geometry"}
            valid = np.isfinite(x) and np.isfinite(y) and abs(x) <= 180 and abs(y) <= 90
            swapped_ok = np.isfinite(x) and np.isfinite(y) and abs(y) <= 180 and abs(x) <= 90
            if not valid:
                if swapped_ok:
                    plog.error(files[name], f"coordinates lon={x:g}, lat={y:g} are impossible; "
                               "apparently swapped lon/lat: put longitude in lon", **where)
                else:
                    plog.error(files[name], f"coordinates ({x:g}, {y:g}) are not longitude/"
                               "latitude; declare the layer's crs in district.toml", **where)
                continue
            if extent is None:
                continue
            pm = gpd.GeoSeries([shapely.Point(x, y), shapely.Point(y, x)], crs=WGS84)
            pm = pm.to_crs(crs)
            if extent.contains(pm.iloc[0]):
                continue
            level = plog.error if name == "villages" else plog.warning
            if swapped_ok and extent.contains(pm.iloc[1]):
                plog.error(files[name], f"coordinates lon={x:.5f}, lat={y:.5f} lie outside the "
                           "district; apparently swapped lon/lat", **where)
            else:
                level(files[name], f"coordinates lon={x:.5f}, lat={y:.5f} lie outside the "
                      "district (townships layer or [district] bbox); check them or the "
                      "layer's crs", **where)


def validate_district(path: str | Path) -> ValidationReport:
    """Read and check a district folder, collecting every problem.

    Parameters
    ----------
    path
        The district folder (or its ``district.toml``).

    Returns
    -------
    ValidationReport
        Every problem found, and the :class:`District` when there were no errors.

    Raises
    ------
    DistrictError
        ``district.toml`` is missing, not TOML, or names no villages layer.
    SettingsError
        A setting is unknown or out of range.
    """
    toml_path, config = _read_toml(Path(path))
    root = toml_path.parent.resolve()
    meta = config.get("district", {})
    if not isinstance(meta, dict):
        raise DistrictError(f"{toml_path}: [district] must be a table")
    settings = load_settings(config, source=toml_path)
    specs = _layer_specs(toml_path, config)
    roads = _road_source(toml_path, config)
    plog = ProblemLog()
    default_crs = meta.get("crs")
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in LAYER_NAMES:
        if name in specs:
            gdf = read_layer(specs[name], default_crs=default_crs, plog=plog)
            if gdf is not None:
                layers[name] = gdf
    if roads is not None and not roads.path.exists():
        plog.error(roads.path.name, f"road network file not found: {roads.path}; check path "
                   "in [roads] of district.toml")
    files = {n: s.path.name for n, s in specs.items()}
    crs = _district_crs(layers)
    extent = _extent(layers.get("townships"), meta, crs, toml_path)
    if crs is not None:
        _check_extent(layers, extent, crs, plog, files)
    _check_townships(layers, files, plog)
    if plog.errors or crs is None:
        if crs is None and not plog.errors:
            plog.error(files["villages"], "no village has usable coordinates")
        return ValidationReport(tuple(plog.problems), None)
    district = District(
        root=root,
        name=str(meta.get("name", root.name)),
        crs=crs,
        settings=settings,
        villages=_finish(layers.get("villages"), "villages", crs, settings),
        townships=_finish(layers.get("townships"), "townships", crs, settings),
        teams=_finish(layers.get("teams"), "teams", crs, settings),
        stockpiles=_finish(layers.get("stockpiles"), "stockpiles", crs, settings),
        shelters=_finish(layers.get("shelters"), "shelters", crs, settings),
        hazards=_finish(layers.get("hazards"), "hazards", crs, settings),
        candidates=_finish(layers.get("candidates"), "candidates", crs, settings),
        roads=roads,
        scenarios=_scenarios(toml_path, config, layers.get("hazards")),
        warnings=tuple(plog.warnings),
    )
    return ValidationReport(tuple(plog.problems), district)


def _scenarios(toml_path: Path, config: Mapping[str, Any],
               hazards: gpd.GeoDataFrame | None) -> tuple[Any, ...]:
    """``[scenarios.NAME]`` tables; without any, one per hazard kind and one with all."""
    from emgis.scenario import Scenario

    ids = [] if hazards is None or "id" not in hazards else [str(i) for i in hazards["id"]]
    table = config.get("scenarios")
    if table is None:
        if hazards is None or not ids:
            return ()
        out = []
        for kind in dict.fromkeys(hazards["kind"].astype(str)):
            members = hazards.loc[hazards["kind"].astype(str) == kind, "id"].astype(str)
            out.append(Scenario(kind, tuple(members)))
        if len(out) > 1:
            out.append(Scenario("all_hazards", tuple(ids)))
        return tuple(out)
    if not isinstance(table, dict):
        raise DistrictError(f"{toml_path}: [scenarios] must hold [scenarios.NAME] tables")
    out = []
    known = {"hazards", "buffer_m", "units_out_of_action", "evacuate_within_m",
             "max_evacuation_min", "evacuate_before_closure", "speed_factor"}
    for name, spec in table.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("hazards"), list):
            raise DistrictError(f"{toml_path}: [scenarios.{name}] needs hazards = [\"ID\", ...]")
        bad = set(spec) - known
        if bad:
            raise DistrictError(f"{toml_path}: [scenarios.{name}] has unknown key(s) "
                                f"{', '.join(sorted(bad))}; expected {', '.join(sorted(known))}")
        unknown = [h for h in spec["hazards"] if str(h) not in ids]
        if unknown:
            raise DistrictError(f"{toml_path}: [scenarios.{name}] hazards {unknown} are not ids "
                                f"of the hazards layer ({', '.join(ids) or 'none'})")
        kwargs = {k: spec[k] for k in known - {"hazards"} if k in spec}
        out.append(Scenario(str(name), tuple(str(h) for h in spec["hazards"]), **kwargs))
    return tuple(out)


def load_district(path: str | Path) -> District:
    """Load a district folder, raising if its layers have errors.

    Parameters
    ----------
    path
        The district folder (or its ``district.toml``).

    Returns
    -------
    District
        Every layer checked, in the district's metric CRS.

    Raises
    ------
    ValidationError
        The layers have errors; ``.problems`` lists every one, each naming the file, row, id
        and field.
    """
    report = validate_district(path)
    if report.district is None:
        raise ValidationError(list(report.problems))
    return report.district


def _district_crs(layers: Mapping[str, gpd.GeoDataFrame]) -> CRS | None:
    for name in ("villages", "townships"):
        gdf = layers.get(name)
        if gdf is None or len(gdf) == 0:
            continue
        pts = [g if g.geom_type == "Point" else g.representative_point()
               for g in gdf.geometry.values if g is not None and not g.is_empty]
        xs = np.array([p.x for p in pts])
        ys = np.array([p.y for p in pts])
        ok = np.isfinite(xs) & np.isfinite(ys) & (np.abs(xs) <= 180) & (np.abs(ys) <= 90)
        if ok.any():
            return choose_metric_crs(float(np.median(xs[ok])), float(np.median(ys[ok])))
    return None


def _extent(
    townships: gpd.GeoDataFrame | None, meta: Mapping[str, Any], crs: CRS | None,
    toml_path: Path,
) -> shapely.Geometry | None:
    if crs is None:
        return None
    tol = meta.get("extent_tolerance_m", 2000.0)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or tol < 0:
        raise SettingsError(f"{toml_path}: [district] extent_tolerance_m = {tol!r}; expected "
                            "a number of metres >= 0")
    bbox = meta.get("bbox")
    if bbox is not None:
        if not (isinstance(bbox, list) and len(bbox) == 4
                and all(isinstance(v, (int, float)) for v in bbox)):
            raise SettingsError(f"{toml_path}: [district] bbox = {bbox!r}; expected "
                                "[min_lon, min_lat, max_lon, max_lat]")
        box = gpd.GeoSeries([shapely.box(*bbox)], crs=WGS84).to_crs(crs)
        return box.iloc[0].buffer(float(tol))
    if townships is None or len(townships) == 0:
        return None
    geoms = [g for g in townships.geometry.values
             if g is not None and not g.is_empty and g.is_valid]
    if not geoms:
        return None
    union = gpd.GeoSeries(geoms, crs=WGS84).to_crs(crs).union_all()
    return union.buffer(float(tol))


def _check_townships(
    layers: Mapping[str, gpd.GeoDataFrame], files: Mapping[str, str], plog: ProblemLog
) -> None:
    towns = layers.get("townships")
    if towns is None or "name" not in towns:
        return
    known = {str(n) for n in towns["name"].dropna()}
    for name in ("villages", "teams", "stockpiles", "shelters"):
        gdf = layers.get(name)
        if gdf is None or "township" not in gdf:
            continue
        for i, t in enumerate(gdf["township"]):
            if pd.notna(t) and str(t) not in known:
                plog.warning(files[name], f"township {t!r} is not in the townships layer; "
                             "its results will not appear in a township section",
                             row=int(gdf["row"].iloc[i]),
                             id=gdf["id"].iloc[i] if "id" in gdf else None, field="township")


def _finish(
    gdf: gpd.GeoDataFrame | None, name: str, crs: CRS, settings: Settings
) -> gpd.GeoDataFrame:
    """Project a checked layer to the district CRS; point layers get one point per record."""
    schema = SCHEMAS[name]
    if gdf is None:
        cols = [f.name for f in schema.fields] + ["row"]
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)
    out = gdf.to_crs(crs)
    if name == "shelters":
        area = out.geometry.area.where(out.geom_type != "Point")
        if "area_m2" not in out:
            out["area_m2"] = pd.array([pd.NA] * len(out), dtype="Float64")
        out["area_m2"] = out["area_m2"].fillna(pd.Series(area, index=out.index).round(1))
        per = out["kind"].map(
            {"emergency": settings.shelter["emergency_m2_per_person"].value,
             "fixed": settings.shelter["fixed_m2_per_person"].value}
        ).astype("Float64")
        if "capacity" not in out:
            out["capacity"] = pd.array([pd.NA] * len(out), dtype="Float64")
        out["capacity"] = out["capacity"].fillna(np.floor(out["area_m2"] / per))
    if name in POINT_LAYERS:
        out.geometry = out.geometry.representative_point()
    for f in schema.fields:
        if f.name not in out:
            out[f.name] = pd.array([pd.NA] * len(out),
                                   dtype="string" if f.kind in ("text", "kind") else "Float64")
    return out


def summary(district: District) -> dict[str, Any]:
    """Counts per layer and kind, the CRS, the extent and the total population.

    Returns
    -------
    dict
        ``name``, ``crs``, ``extent_wgs84`` (min lon, min lat, max lon, max lat),
        ``population`` (persons), ``layers`` (layer -> {kind -> count}) and ``warnings``.
    """
    layers: dict[str, dict[str, int]] = {}
    for name in LAYER_NAMES:
        gdf = getattr(district, name)
        kind_field = SCHEMAS[name].kind_field
        if kind_field and kind_field in gdf and len(gdf):
            counts = gdf[kind_field].fillna("?").value_counts().sort_index()
            layers[name] = {str(k): int(v) for k, v in counts.items()}
        else:
            layers[name] = {"all": len(gdf)}
    bounds = district.villages.to_crs(WGS84).total_bounds
    return {
        "name": district.name,
        "crs": district.crs.to_string(),
        "crs_name": district.crs.name,
        "extent_wgs84": tuple(round(float(b), 5) for b in bounds),
        "population": int(district.villages["population"].fillna(0).sum()),
        "layers": layers,
        "warnings": len(district.warnings),
    }
