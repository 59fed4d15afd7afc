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

import difflib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, SupportsIndex

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from emgis._errors import DistrictError, SettingsError, ValidationError
from emgis.inputs.calls import read_calls
from emgis.inputs.coords import OFFSET_SYSTEMS, choose_metric_crs
from emgis.inputs.encodings import settings_text
from emgis.inputs.fields import POINT_LAYERS, SCHEMAS, LayerSpec
from emgis.inputs.layers import _UNUSABLE, WGS84, read_layer
from emgis.inputs.problems import Problem, ProblemLog
from emgis.inputs.schema import LAYER_NAMES, check_config
from emgis.inputs.settings import Scenario, Settings, _lines_roads, load_settings
from emgis.texts import Msg

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


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
    warning_points
        Broadcast loudspeakers, sirens and warning points (optional layer: id, name, kind,
        radius_m).
    buildings
        Building footprints (optional layer): a village's people are spread over its
        buildings for the warning reach.
    calls
        Dispatch records (optional layer, :mod:`emgis.inputs.calls`): unit, village or
        incident point, dispatch and arrival times as text, for the calibration.
    roads
        The road network source, if the district has one.
    warnings
        Problems that did not stop loading.
    scenarios
        The hazard scenarios of ``[scenarios]`` (or one per hazard kind and one with all).
    credit
        The map-data credit of ``[district] credit``, if given.
    area
        The district's area in its CRS: the union of the townships, else ``[district] bbox``;
        None when it has neither.
    sources
        Every input file (``district.toml``, the layers with their side files, the roads),
        for the run manifest.
    datums
        Layer -> the datum its coordinates were declared in (``"WGS-84"``, ``"GCJ-02"``,
        ``"BD-09"``), for the check against the roads.
    datum_check
        ``[district] datum_check``: ``"error"`` (default), ``"warn"`` or ``"off"``.
    layer_files
        Layer -> the file (or files) it was read from, for messages.
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
    warning_points: gpd.GeoDataFrame = field(default_factory=lambda: gpd.GeoDataFrame(
        {"id": [], "name": [], "kind": [], "radius_m": []}, geometry=[]))
    buildings: gpd.GeoDataFrame = field(default_factory=lambda: gpd.GeoDataFrame(
        {"floors": []}, geometry=[]))
    calls: gpd.GeoDataFrame = field(default_factory=lambda: gpd.GeoDataFrame(
        {"unit": [], "dispatch_time": [], "arrival_time": []}, geometry=[]))
    warnings: tuple[Problem, ...] = field(default=())
    scenarios: tuple[Scenario, ...] = field(default=())
    datums: Mapping[str, str] = field(default_factory=dict)
    datum_check: str = "error"
    layer_files: Mapping[str, str] = field(default_factory=dict)
    credit: str | None = None
    sources: tuple[Path, ...] = field(default=())
    area: shapely.Geometry | None = None

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
        raise DistrictError(Msg("district_not_found", path=str(path)))
    try:
        return path, tomllib.loads(settings_text(path.read_bytes(), path.name))
    except tomllib.TOMLDecodeError as exc:
        raise DistrictError(Msg("toml_invalid", path=str(path), detail=str(exc))) from exc
    except UnicodeDecodeError as exc:
        raise DistrictError(Msg("toml_not_utf8", path=str(path))) from exc
    except OSError as exc:
        raise DistrictError(Msg("toml_unreadable", path=str(path), detail=exc.strerror)) from exc


def _layer_specs(toml_path: Path, config: Mapping[str, Any]) -> dict[str, LayerSpec]:
    """The layer tables (already checked by :func:`emgis.inputs.schema.check_config`)."""
    layers = config.get("layers", {})
    specs: dict[str, LayerSpec] = {}
    if not isinstance(layers, dict):
        return specs
    for name, table in layers.items():
        if name not in SCHEMAS:
            continue
        if isinstance(table, (str, list)):
            table = {"path": table}
        if not isinstance(table, dict):
            continue
        paths = _layer_paths(toml_path.parent, table.get("path"), folders=name in SEVERAL_FILES)
        if not paths:
            continue
        fields = table.get("fields", {})
        synonyms = config.get("synonyms", {}).get(name, {}) if isinstance(
            config.get("synonyms"), dict) else {}
        specs[name] = LayerSpec(
            name=name,
            path=paths[0],
            layer=table.get("layer"),
            crs=table.get("crs"),
            encoding=table.get("encoding"),
            fields=dict(fields) if isinstance(fields, dict) else {},
            sheet=table.get("sheet"),
            more_paths=tuple(paths[1:]),
            synonyms={k: tuple(v) for k, v in synonyms.items()}
            if isinstance(synonyms, dict) else {},
        )
    return specs


#: Layers whose ``path`` may be a folder: every layer file in it is read.
SEVERAL_FILES = ("hazards", "buildings")

#: Files a folder given as a layer's ``path`` may hold, read in name order.
LAYER_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".csv", ".xlsx", ".xlsm", ".xls")


def _layer_paths(root: Path, value: object, *, folders: bool) -> list[Path]:
    """A layer's files: one path, a list of paths, or (where ``folders``) a folder of layer
    files."""
    items = value if isinstance(value, list) else [value]
    out: list[Path] = []
    for item in items:
        if not isinstance(item, str):
            continue
        path = (root / item).resolve()
        found = sorted(p.resolve() for p in path.iterdir() if p.is_file()
                       and p.suffix.lower() in LAYER_SUFFIXES) if folders and path.is_dir() else []
        out.extend(found or [path])
    return out


def _road_source(toml_path: Path, config: Mapping[str, Any]) -> RoadSource | None:
    """The ``[roads]`` table (already checked)."""
    table = config.get("roads")
    if table is None:
        return None
    if isinstance(table, str):
        table = {"path": table}
    if not isinstance(table, dict) or not isinstance(table.get("path"), str):
        return None
    path = (toml_path.parent / table["path"]).resolve()
    name = path.name.lower()
    default = (
        "osm" if name.endswith((".pbf", ".osm", ".osm.bz2", ".osm.gz"))
        else "graphml" if name.endswith(".graphml") else "lines"
    )
    return RoadSource(
        path=path,
        format=table.get("format", default),
        class_field=table.get("class_field", "highway"),
        speed_field=table.get("speed_field"),
        oneway_field=table.get("oneway_field", "oneway"),
        crs=table.get("crs"),
    )


def _points(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """A point per record (a point inside polygons), None where the geometry is missing."""
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    ok = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if ok.any():
        out[ok] = shapely.point_on_surface(geoms[ok].astype(object))
    return out


def _check_extent(
    layers: dict[str, gpd.GeoDataFrame],
    extent: shapely.Geometry | None,
    crs: CRS,
    plog: ProblemLog,
    files: Mapping[str, str],
) -> None:
    """Flag points with impossible, swapped or outside-the-district coordinates (vectorised:
    one transformation per layer, not per point)."""

    to_metric = Transformer.from_crs(WGS84, crs, always_xy=True)
    for name in (*POINT_LAYERS, "buildings"):
        gdf = layers.get(name)
        if gdf is None or len(gdf) == 0:
            continue
        pts = _points(gdf)
        have = np.array([p is not None for p in pts], dtype=bool)
        x = np.full(len(pts), np.nan)
        y = np.full(len(pts), np.nan)
        if have.any():
            x[have] = shapely.get_x(pts[have].astype(object))
            y[have] = shapely.get_y(pts[have].astype(object))
        fin = np.isfinite(x) & np.isfinite(y)
        valid = fin & (np.abs(x) <= 180) & (np.abs(y) <= 90)
        swapped_ok = fin & (np.abs(y) <= 180) & (np.abs(x) <= 90)
        rows = gdf["row"].to_numpy()
        ids = gdf["id"].to_numpy(dtype=object) if "id" in gdf else np.full(len(gdf), None)

        def where(i: SupportsIndex, rows: np.ndarray = rows, ids: np.ndarray = ids
                  ) -> dict[str, Any]:
            return {"row": int(rows[i]), "id": ids[i], "field": "geometry"}

        swap_in = swapped_ok.copy()
        if extent is not None and swapped_ok.any():
            sx, sy = to_metric.transform(np.where(swapped_ok, y, 0.0), np.where(swapped_ok, x, 0.0))
            swap_in &= shapely.contains_xy(extent, sx, sy)
        for i in np.flatnonzero(have & fin & ~valid):
            if swap_in[i]:
                plog.error(files[name], Msg("coords_swapped_impossible", x=x[i], y=y[i]),
                           **where(i))
            else:
                plog.error(files[name], Msg("coords_not_lonlat", x=x[i], y=y[i]), **where(i))
        if extent is None or not valid.any():
            continue
        px, py = to_metric.transform(x[valid], y[valid])
        inside = np.zeros(len(pts), dtype=bool)
        inside[valid] = shapely.contains_xy(extent, px, py)
        out = np.flatnonzero(valid & ~inside)
        if not len(out):
            continue
        sx, sy = to_metric.transform(np.where(swapped_ok[out], y[out], 0.0),
                                     np.where(swapped_ok[out], x[out], 0.0))
        swapped_in = swapped_ok[out] & shapely.contains_xy(extent, sx, sy)
        if name == "buildings":  # thousands of footprints: said once, with the first row
            plog.warning(files[name], Msg("buildings_outside", n=len(out), total=len(gdf)),
                         **where(out[0]))
            continue
        level = plog.error if name == "villages" else plog.warning
        for k, i in enumerate(out):
            if swapped_in[k]:
                plog.error(files[name], Msg("coords_swapped_outside", x=x[i], y=y[i]),
                           **where(i))
            else:
                level(files[name], Msg("coords_outside", x=x[i], y=y[i]), **where(i))


def validate_district(path: str | Path) -> ValidationReport:
    """Read and check a district folder, collecting every problem.

    ``district.toml`` is checked first, whole (every table and key: types, ranges, unknown
    keys), then every layer record by record, then what ties them together (the townships the
    layers name, a team's village, a scenario's hazards). Every problem is listed, not just the
    first.

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
        ``district.toml`` is missing or not TOML.
    """
    toml_path, config = _read_toml(Path(path))
    root = toml_path.parent.resolve()
    fname = toml_path.name
    plog = ProblemLog()
    check_config(config, file=fname, plog=plog, open_speed_classes=_lines_roads(config))
    settings: Settings | None = None
    if not plog.errors:
        try:
            settings = load_settings(config, source=toml_path)
        except SettingsError as exc:
            plog.problems.extend(exc.problems)
    meta = config.get("district", {}) if isinstance(config.get("district"), dict) else {}
    bad = {p.field.split(".", 1)[1] for p in plog.errors
           if p.field and p.field.startswith("district.")}
    meta = {k: v for k, v in meta.items() if k not in bad}  # a wrong value is not used
    specs = _layer_specs(toml_path, config)
    if "villages" not in specs and not any(p.field and p.field.startswith("layers.villages")
                                           for p in plog.errors):
        plog.error(fname, Msg("no_villages_layer"), field="layers.villages")
    roads = _road_source(toml_path, config)
    default_crs = meta.get("crs") if isinstance(meta.get("crs"), str) else None
    if "crs" in bad:

        default_crs = _UNUSABLE
    layers: dict[str, gpd.GeoDataFrame] = {}
    broken = {p.field.split(".")[1] for p in plog.errors
              if p.field and p.field.startswith("layers.") and p.field.count(".") >= 1}
    for name in LAYER_NAMES:
        if name in specs and name not in broken:  # a layer table with errors is not read
            # dispatch records are read apart: their records are checked by the calibration
            read = read_calls if name == "calls" else read_layer
            gdf = read(specs[name], default_crs=default_crs, plog=plog)
            if gdf is not None:
                layers[name] = gdf
    if roads is not None and not roads.path.exists():
        plog.error(roads.path.name, Msg("roads_not_found", path=str(roads.path)))
    files = {n: s.path.name for n, s in specs.items()}
    crs = _district_crs(layers)
    extent = _extent(layers.get("townships"), meta, crs) if crs is not None else None
    if crs is not None:
        _check_extent(layers, extent, crs, plog, files)
    _check_townships(layers, files, plog)
    _check_team_villages(layers, files, plog)
    scenarios = _scenarios(fname, config, layers.get("hazards"), "hazards" in specs, plog)
    if plog.errors or crs is None or settings is None:
        if crs is None and not plog.errors and "villages" in layers:
            plog.error(files["villages"], Msg("no_village_coords"))
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
        warning_points=_finish(layers.get("warning_points"), "warning_points", crs, settings),
        buildings=_finish(layers.get("buildings"), "buildings", crs, settings),
        calls=_finish(layers.get("calls"), "calls", crs, settings),
        roads=roads,
        scenarios=scenarios,
        warnings=tuple(plog.warnings),
        credit=meta.get("credit"),
        sources=_sources(toml_path, specs, roads),
        area=_extent(layers.get("townships"), {**meta, "extent_tolerance_m": 0}, crs),
        datums={n: _datum_of(s, default_crs) for n, s in specs.items() if n in layers},
        datum_check=str(meta.get("datum_check", "error")),
        layer_files={n: ", ".join(p.name for p in (s.path, *s.more_paths))
                     for n, s in specs.items()},
    )
    return ValidationReport(tuple(plog.problems), district)


def _datum_of(spec: LayerSpec, default_crs: str | None) -> str:
    """The datum a layer's coordinates were declared in: ``"GCJ-02"``, ``"BD-09"`` or
    ``"WGS-84"`` (WGS-84, CGCS2000 and the projected systems on them)."""
    declared = spec.crs or (default_crs if spec.path.suffix.lower() in (
        ".csv", ".txt", ".xlsx", ".xlsm", ".xls") else None) or "WGS-84"
    system = OFFSET_SYSTEMS.get(declared.strip().upper())
    return {"gcj02": "GCJ-02", "bd09": "BD-09"}.get(system or "", "WGS-84")


def _sources(toml_path: Path, specs: Mapping[str, LayerSpec], roads: RoadSource | None
             ) -> tuple[Path, ...]:
    """Every input file: district.toml, each layer (shapefiles with their side files), roads."""
    out = [toml_path.resolve()]
    for spec in specs.values():
        for path in (spec.path, *spec.more_paths):
            out.append(path)
            if path.suffix.lower() == ".shp":
                out += [p for p in (path.with_suffix(s) for s in (".shx", ".dbf", ".prj",
                                                                  ".cpg")) if p.exists()]
    if roads is not None:
        out.append(roads.path)
    return tuple(dict.fromkeys(out))


def _check_team_villages(layers: Mapping[str, gpd.GeoDataFrame], files: Mapping[str, str],
                         plog: ProblemLog) -> None:
    """A team's ``village`` must be an id of the villages layer."""
    teams, villages = layers.get("teams"), layers.get("villages")
    if teams is None or "village" not in teams or villages is None or "id" not in villages:
        return
    known = {v for v in villages["id"] if v is not None}
    for i, v in enumerate(teams["village"]):
        if pd.notna(v) and str(v) not in known:
            plog.error(files["teams"], Msg("team_village_unknown", v=v),
                       row=int(teams["row"].iloc[i]), id=teams["id"].iloc[i] if "id" in teams
                       else None, field="village")


def _scenarios(fname: str, config: Mapping[str, Any], hazards: gpd.GeoDataFrame | None,
               declared: bool, plog: ProblemLog) -> tuple[Scenario, ...]:
    """``[scenarios.NAME]`` tables (checked); without any, one per hazard kind and one with
    all. Hazard ids that are not in the hazards layer are problems of district.toml."""
    ids = [] if hazards is None or "id" not in hazards else [str(i) for i in hazards["id"]
                                                              if i is not None]
    table = config.get("scenarios")
    if table is None:
        if hazards is None or not ids or "kind" not in hazards:
            return ()
        out = []
        for kind in dict.fromkeys(hazards["kind"].dropna().astype(str)):
            members = hazards.loc[hazards["kind"].astype(str) == kind, "id"].astype(str)
            out.append(Scenario(kind, tuple(members)))
        if len(out) > 1:
            out.append(Scenario("all_hazards", tuple(ids)))
        return tuple(out)
    if not isinstance(table, dict):
        return ()
    out = []
    for name, spec in table.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("hazards"), list):
            continue
        unknown = [str(h) for h in spec["hazards"] if str(h) not in ids]
        if unknown and ((declared and hazards is not None) or not declared):
            where = (Msg("hazards_layer_ids", ids=", ".join(ids)) if ids and declared else
                     Msg("hazards_layer_empty") if declared else Msg("hazards_layer_none"))
            plog.error(fname, Msg("scenario_hazards_unknown", unknown=str(unknown), name=name,
                                  where=where), field=f"scenarios.{name}.hazards")
            continue
        known = set(Scenario.__dataclass_fields__) - {"name", "hazards"}
        kwargs = {k: v for k, v in spec.items() if k in known}  # others are reported
        out.append(Scenario(str(name), tuple(str(h) for h in spec["hazards"]), **kwargs))
    return tuple(out)


def load_district(path: str | Path) -> District:
    """Load a district folder, raising if its configuration or layers have errors.

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
        The input has errors; ``.problems`` lists every one, each naming the file, row, id
        and field (or the key of ``district.toml``).
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
        pts = [p for p in _points(gdf) if p is not None]
        if not pts:
            continue
        xs = shapely.get_x(np.array(pts, dtype=object))
        ys = shapely.get_y(np.array(pts, dtype=object))
        ok = np.isfinite(xs) & np.isfinite(ys) & (np.abs(xs) <= 180) & (np.abs(ys) <= 90)
        if ok.any():
            return choose_metric_crs(float(np.median(xs[ok])), float(np.median(ys[ok])))
    return None


def _extent(
    townships: gpd.GeoDataFrame | None, meta: Mapping[str, Any], crs: CRS,
) -> shapely.Geometry | None:
    """The district's area (townships, or ``[district] bbox``) grown by the tolerance."""
    tol = float(meta.get("extent_tolerance_m", 2000.0))
    bbox = meta.get("bbox")
    if bbox is not None:
        box = gpd.GeoSeries([shapely.box(*bbox)], crs=WGS84).to_crs(crs)
        return box.iloc[0].buffer(tol)
    if townships is None or len(townships) == 0:
        return None
    geoms = [g for g in townships.geometry.values
             if g is not None and not g.is_empty and g.is_valid
             and np.isfinite(shapely.get_coordinates(g)).all()]
    if not geoms:
        return None
    union = gpd.GeoSeries(geoms, crs=WGS84).to_crs(crs).union_all()
    if not np.isfinite(shapely.get_coordinates(union)).all():
        return None
    return union.buffer(tol)


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
                plog.warning(files[name], Msg("township_unknown", t=t),
                             row=int(gdf["row"].iloc[i]),
                             id=gdf["id"].iloc[i] if "id" in gdf else None, field="township")
    villages = layers.get("villages")
    if villages is None or "township" not in villages:
        return
    named = {str(t) for t in villages["township"].dropna()}
    for i, town in enumerate(towns["name"]):
        if pd.notna(town) and str(town) not in named:
            close = difflib.get_close_matches(str(town), sorted(named), n=1, cutoff=0.5)
            plog.warning(files["townships"], Msg(
                "township_no_village", t=town,
                hint=Msg("township_hint", close=close[0]) if close else ""),
                row=int(towns["row"].iloc[i]), field="name")


def _finish(
    gdf: gpd.GeoDataFrame | None, name: str, crs: CRS, settings: Settings
) -> gpd.GeoDataFrame:
    """Project a checked layer to the district CRS with every schema field present (typed, NA
    where absent); point layers get one point per record."""
    schema = SCHEMAS[name]
    if gdf is None:
        gdf = gpd.GeoDataFrame({"row": pd.array([], dtype="Int64")}, geometry=[], crs=WGS84)
    out = gdf.to_crs(crs)
    for f in schema.fields:
        if f.name not in out:
            if f.kind == "date":
                out[f.name] = np.full(len(out), np.datetime64("NaT"), dtype="datetime64[ns]")
                continue
            dtype = {"text": "string", "kind": "string", "flag": "boolean"}.get(f.kind, "Float64")
            out[f.name] = pd.array([pd.NA] * len(out), dtype=dtype)  # type: ignore[call-overload]
    if name == "shelters":
        area = out.geometry.area.where(out.geom_type != "Point")
        out["area_m2"] = out["area_m2"].fillna(pd.Series(area, index=out.index).round(1))
        per = out["kind"].map(
            {"emergency": settings.shelter["emergency_m2_per_person"].value,
             "fixed": settings.shelter["fixed_m2_per_person"].value}
        ).astype("Float64")
        out["capacity"] = out["capacity"].fillna(np.floor(out["area_m2"] / per))
    if name in POINT_LAYERS and len(out):
        out.geometry = out.geometry.representative_point()
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
