"""What every input layer holds: its fields, their types and bounds, the kinds and aliases
they accept (the layer schemas, pure data)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

#: Column names taken as longitude / latitude in a CSV (compared case-insensitively).
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")

#: Largest plausible value of each kind of number, documented in the README. A village or
#: community of more than 2 million persons, a team of more than 100,000, a shelter for more
#: than 10 million are typing errors; they would also make totals meaningless.
LIMITS: Mapping[str, float] = {
    "population": 2_000_000,
    "headcount": 100_000,
    "persons": 10_000_000,
    "staff": 100_000,
    "drills": 366,
    "minutes": 240,
    "area_m2": 1e9,
    "km2": 100_000,
    "engines": 10_000,
    "households": 1_000_000,
    "radius_m": 10_000,
    "phones": 1_000,
    "yuan": 10_000_000_000,
}

#: Longest id and text values, characters.
MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 1000


@dataclass(frozen=True)
class FieldSpec:
    """A field emgis understands in a layer.

    Attributes
    ----------
    name
        emgis's name for the field.
    kind
        ``"text"``, ``"count"`` (a whole number >= 0), ``"number"`` (a number >= 0),
        ``"factor"`` (a number in (0, 1]), ``"share"`` (a number in [0, 1]), ``"flag"`` (yes
        or no: 1/0, true/false, yes/no, y/n, 是/否, 有/无), ``"date"`` (2025-06-30,
        2025/6/30, 2025年6月30日) or ``"kind"`` (one of the layer's kinds).
    required
        Whether the field must be present in the file.
    max
        Largest plausible value of a number (see :data:`LIMITS`); larger is an error.
    """

    name: str
    kind: str = "text"
    required: bool = False
    max: float | None = None


@dataclass(frozen=True)
class LayerSchema:
    """The fields and geometry a layer must have."""

    name: str
    fields: tuple[FieldSpec, ...]
    geometry: tuple[str, ...]
    kind_field: str | None = "kind"
    has_id: bool = True


SCHEMAS: Mapping[str, LayerSchema] = {
    "villages": LayerSchema(
        "villages",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("township", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("population", "count", required=True, max=LIMITS["population"]),
            FieldSpec("service_centre_staff", "count", max=LIMITS["staff"]),
            FieldSpec("drills_per_year", "count", max=LIMITS["drills"]),
            FieldSpec("grid_members", "count", max=LIMITS["staff"]),
            FieldSpec("households", "count", max=LIMITS["households"]),
            FieldSpec("last_drill", "date"),
        ),
        ("Point", "Polygon", "MultiPolygon"),
    ),
    "townships": LayerSchema(
        "townships",
        (
            FieldSpec("name", required=True),
            FieldSpec("office_fulltime_staff", "count", max=LIMITS["staff"]),
            FieldSpec("station_posts", "count", max=LIMITS["staff"]),
            FieldSpec("station_fulltime_posts", "count", max=LIMITS["staff"]),
            FieldSpec("builtup_km2", "number", max=LIMITS["km2"]),
            # the "eight haves" of a standardised township station (泉州 2025)
            FieldSpec("office", "flag"),
            FieldSpec("satellite_phones", "count", max=LIMITS["phones"]),
            FieldSpec("video_conference", "flag"),
            FieldSpec("broadcast_system", "flag"),
            FieldSpec("duty_system", "flag"),
            FieldSpec("enforcement_team", "flag"),
            FieldSpec("emergency_plan", "flag"),
            FieldSpec("materials_warehouse", "flag"),
            FieldSpec("warning_education_site", "flag"),
        ),
        ("Polygon", "MultiPolygon"),
        kind_field=None,
        has_id=False,
    ),
    "teams": LayerSchema(
        "teams",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("headcount", "count", required=True, max=LIMITS["headcount"]),
            FieldSpec("township", required=True),
            FieldSpec("village"),
            FieldSpec("turnout_min", "number", max=LIMITS["minutes"]),
            FieldSpec("full_time", "count", max=LIMITS["headcount"]),
            FieldSpec("drills_per_year", "count", max=LIMITS["drills"]),
            FieldSpec("engines", "count", max=LIMITS["engines"]),
            FieldSpec("last_drill", "date"),
            FieldSpec("availability", "share"),
            FieldSpec("mobilisation_min", "number", max=LIMITS["minutes"]),
            # availability by period (emgis.analysis.availability): share of the time it answers
            FieldSpec("availability_day", "share"),
            FieldSpec("availability_night", "share"),
            FieldSpec("availability_flood", "share"),
        ),
        ("Point",),
    ),
    "stockpiles": LayerSchema(
        "stockpiles",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("level", "kind", required=True),
            FieldSpec("township", required=True),
            FieldSpec("items"),
        ),
        ("Point",),
        kind_field="level",
    ),
    "shelters": LayerSchema(
        "shelters",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("capacity", "count", max=LIMITS["persons"]),
            FieldSpec("area_m2", "number", max=LIMITS["area_m2"]),
            FieldSpec("township"),
        ),
        ("Point", "Polygon", "MultiPolygon"),
    ),
    "candidates": LayerSchema(
        "candidates",
        (FieldSpec("id", required=True), FieldSpec("name", required=True),
         # what building there costs, yuan (blank: the kind's cost of [costs])
         FieldSpec("cost", "number", max=LIMITS["yuan"])),
        ("Point", "Polygon", "MultiPolygon"),
        kind_field=None,
    ),
    "warning_points": LayerSchema(
        "warning_points",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("radius_m", "number", max=LIMITS["radius_m"]),
            FieldSpec("township"),
        ),
        ("Point",),
    ),
    "buildings": LayerSchema(
        "buildings",
        (FieldSpec("floors", "count", max=200),),
        ("Polygon", "MultiPolygon", "Point"),
        kind_field=None,
        has_id=False,
    ),
    # dispatch records (出警记录): read by emgis.inputs.calls, checked record by record by the
    # calibration (a record that makes no sense is listed there, never an error of the district)
    "calls": LayerSchema(
        "calls",
        (
            FieldSpec("id"),
            FieldSpec("unit", required=True),
            FieldSpec("village"),
            FieldSpec("kind"),
            FieldSpec("call_time"),
            FieldSpec("dispatch_time", required=True),
            FieldSpec("arrival_time", required=True),
        ),
        ("Point",),
        kind_field=None,
        has_id=False,
    ),
    "hazards": LayerSchema(
        "hazards",
        (
            FieldSpec("id", required=True),
            FieldSpec("name", required=True),
            FieldSpec("kind", "kind", required=True),
            FieldSpec("effect", required=True),
            FieldSpec("speed_factor", "factor"),
        ),
        ("Polygon", "MultiPolygon"),
    ),
}

#: Layers whose point stands for the record (polygons become a point inside them).
POINT_LAYERS = ("villages", "teams", "stockpiles", "shelters", "candidates", "warning_points")

#: Chinese column names taken for emgis's fields when ``fields`` does not map them (the
#: names of the policy texts and of typical county registers).
FIELD_ALIASES: Mapping[str, Mapping[str, str]] = {
    "townships": {"应急办公场所": "office", "办公场所": "office", "卫星电话": "satellite_phones",
                  "视频会议系统": "video_conference", "视频会商系统": "video_conference",
                  "应急广播": "broadcast_system", "应急广播系统": "broadcast_system",
                  "四位一体值班": "duty_system", "值班制度": "duty_system",
                  "工作机制": "duty_system", "执法队伍": "enforcement_team",
                  "应急预案": "emergency_plan", "预案体系": "emergency_plan",
                  "物资仓库": "materials_warehouse", "综合物资仓库": "materials_warehouse",
                  "安全警示教育基地": "warning_education_site",
                  "警示教育场所": "warning_education_site", "岗位数": "station_posts",
                  "专职岗位数": "station_fulltime_posts", "专职人员": "office_fulltime_staff",
                  "建成区面积": "builtup_km2"},
    "villages": {"网格员": "grid_members", "网格员人数": "grid_members", "户数": "households",
                 "最近演练": "last_drill", "最近演练日期": "last_drill"},
    "teams": {"最近演练": "last_drill", "最近演练日期": "last_drill", "可用率": "availability",
              "动员时间": "mobilisation_min", "集结时间": "mobilisation_min"},
    "warning_points": {"半径": "radius_m", "覆盖半径": "radius_m"},
    "buildings": {"层数": "floors"},
}


@dataclass(frozen=True)
class LayerSpec:
    """Where a layer comes from, as ``[layers.NAME]`` in ``district.toml`` says.

    Attributes
    ----------
    name
        The layer (``villages``, ``teams`` ...).
    path
        The file, absolute.
    layer
        Layer name inside a GeoPackage.
    crs
        Declared CRS: anything pyproj understands (``"EPSG:4490"``), or ``"GCJ-02"``/``"BD-09"``.
    encoding
        Declared text encoding; detected when absent (and checked when given).
    fields
        emgis field name -> the column that holds it in the file.
    sheet
        The sheet of a spreadsheet (name, or 0-based index); the first with data when None.
    more_paths
        Further files of the same layer (``path`` given as a list or a folder: a hazards
        layer drawn by several bureaus), read like the first and joined.
    synonyms
        More header synonyms per field (``[synonyms.LAYER]`` of ``district.toml``).
    """

    name: str
    path: Path
    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    sheet: str | int | None = None
    more_paths: tuple[Path, ...] = ()
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
