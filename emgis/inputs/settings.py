"""District settings: the standards profile with the overrides of a ``district.toml``.

The defaults come from :mod:`emgis.inputs.standards`; a ``district.toml`` may override any value in
its
``[targets]``, ``[turnout]``, ``[speeds]``, ``[minimums]``, ``[shelter]`` and ``[network]`` tables.
An override is either a number or a table ``{ value = ..., source = "..." }``; a number keeps a
note of the default it replaced so that reports can cite both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from emgis._errors import SettingsError
from emgis.inputs import standards
from emgis.inputs.problems import Problem, ProblemLog
from emgis.inputs.schema import CANDIDATE_SOURCES, check_config
from emgis.inputs.standards import Standard
from emgis.texts import Msg, texts

#: OSM highway values that are not part of the drivable network: osmnx's "drive" filter, but
#: ``track`` and ``service`` stay in, since they stand for the village roads (村道) that reach
#: many Chinese villages (driveways, parking aisles and private service roads stay out).
DEFAULT_EXCLUDE_HIGHWAY: tuple[str, ...] = (
    "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway",
    "elevator", "escalator", "footway", "no", "path", "pedestrian", "planned", "platform",
    "proposed", "raceway", "razed", "rest_area", "services", "steps", "via_ferrata",
)

#: OSM highway values that villagers walk on besides the roads (osmnx's "walk" filter, without
#: the indoor ways): footways, paths, pedestrian streets, steps and bridleways. The walking
#: network is these and every way of a class the drivable network keeps but motorways (roads
#: closed to cars and driveways included); ways tagged ``foot=no``, ``access=private`` or
#: ``service=private`` stay out.
DEFAULT_WALK_HIGHWAY: tuple[str, ...] = ("bridleway", "footway", "path", "pedestrian", "steps")


@dataclass(frozen=True)
class NetworkSettings:
    """How the road network is built and how points are attached to it.

    Attributes
    ----------
    max_access_m
        Longest access leg, metres, from a point to the nearest road edge; a point farther away
        is flagged "no road access".
    exclude_highway
        OSM ``highway`` values left out of the drivable network.
    walk_highway
        OSM ``highway`` values villagers walk on besides the roads (the walking network, OSM
        roads only): :data:`DEFAULT_WALK_HIGHWAY`.
    maxspeed_min_kph, maxspeed_max_kph
        An OSM ``maxspeed`` tag inside this range, km/h, is plausible; outside it is ignored.
    maxspeed_rule
        What a plausible ``maxspeed`` does: ``"derate"`` (default) times it by
        ``maxspeed_factor``, as the class speeds are design speeds times ~0.7 (JTG B01-2014);
        ``"raw"`` drives at the posted limit; ``"ignore"`` keeps the class speed.
    maxspeed_factor
        Derating of a posted limit for emergency driving (0-1).
    default_class
        Road class whose speed is used for a class the speeds table does not know.
    clip
        Clip the roads to the district's area grown by ``clip_buffer_m`` (one provincial file
        can then feed any county).
    clip_buffer_m
        Metres around the district's area whose roads are kept (units just across the border
        are reached over them).
    """

    max_access_m: float = 1000.0
    exclude_highway: tuple[str, ...] = DEFAULT_EXCLUDE_HIGHWAY
    walk_highway: tuple[str, ...] = DEFAULT_WALK_HIGHWAY
    maxspeed_min_kph: float = 5.0
    maxspeed_max_kph: float = 130.0
    maxspeed_rule: str = "derate"
    maxspeed_factor: float = 0.7
    default_class: str = "unclassified"
    clip: bool = True
    clip_buffer_m: float = 5000.0


@dataclass(frozen=True)
class CoverageSettings:
    """How coverage and service areas are computed.

    Attributes
    ----------
    breaks_min
        Service-area breaks, minutes (the kind's target is always added).
    service_area_buffer_m
        Half-width, metres, of the band around reached roads that makes a service area.
    shelter_emergency_mode, shelter_fixed_mode
        ``"walk"`` or ``"drive"``: how villagers reach each kind of shelter. GB 50413-2007 gives
        both targets as walking times.
    """

    breaks_min: tuple[float, ...] = (5.0, 10.0, 15.0, 30.0)
    service_area_buffer_m: float = 100.0
    shelter_emergency_mode: Literal["walk", "drive"] = "walk"
    shelter_fixed_mode: Literal["walk", "drive"] = "walk"
    social_as_cover: bool = False


@dataclass(frozen=True)
class ReportSettings:
    """How the report is laid out.

    Attributes
    ----------
    paper
        ``"A4"`` (default) or ``"A3"``.
    summary_rows
        Villages outside target listed on the summary pages (the rest: the workbook).
    township_rows
        Rows of each table in a township's section of the appendix.
    """

    paper: str = "A4"
    summary_rows: float = 15.0
    township_rows: float = 10.0


@dataclass(frozen=True)
class MapSettings:
    """How the interactive maps are drawn.

    Attributes
    ----------
    basemap
        Background tiles: ``"osm"``, ``"tianditu-vec"``, ``"tianditu-img"`` (need a key),
        ``"amap"``, ``"amap-satellite"`` (GCJ-02: every layer is shifted to match) or
        ``"none"``. Roads and boundaries are drawn by emgis in every case.
    tianditu_key
        The Tianditu browser key (else the ``TIANDITU_KEY`` environment variable).
    label_zoom
        Zoom level from which village names are shown.
    cluster_above
        More villages than this are drawn as clusters at low zoom.
    """

    basemap: str = "osm"
    tianditu_key: str = ""
    label_zoom: float = 13.0
    cluster_above: float = 500.0


@dataclass(frozen=True)
class SitingSettings:
    """Which candidate sites siting considers.

    Attributes
    ----------
    candidates
        ``"all"`` (default): the sources of ``sources``; ``"listed"``: only the planner's
        ``[layers.candidates]`` (the others are listed as excluded, "not a listed candidate").
    sources
        The candidate sources used (:data:`CANDIDATE_SOURCES`); the others' candidates are
        listed as excluded with the reason.
    """

    candidates: Literal["all", "listed"] = "all"
    sources: tuple[str, ...] = CANDIDATE_SOURCES


@dataclass(frozen=True)
class Settings:
    """All settings of a district; build with :func:`load_settings` or :func:`default_settings`.

    Attributes
    ----------
    targets
        Response-time target per unit kind, minutes.
    turnout
        Default turnout per unit kind, minutes (a unit's own ``turnout_min`` wins).
    speeds
        Driving speed per OSM highway class, km/h, plus ``offroad`` and ``walk``.
    minimums
        Organisational minimums (persons, posts, stores ...).
    shelter
        Shelter space norms, m2 per person, and capacity shares.
    warning
        Warning reach: audible radius per kind of warning point, the share of a village to
        reach, how a village's people are placed.
    social
        How much social and enterprise forces are counted on.
    quality
        When a township's road data is too thin to trust (villages far from every road, road
        density): :mod:`emgis.analysis.quality`.
    costs
        What new sites cost, yuan: per kind the build cost (``KIND``), a yearly running cost
        where one is given (``KIND_yearly``), and ``reuse_factor`` for a candidate that reuses
        an existing public building (利旧).
    uncertainty
        How sure the minutes are: the ranges speeds and turnout are drawn from, the samples,
        when a village is fragile (:mod:`emgis.analysis.uncertainty`).
    availability
        Team availability per kind and period (``KIND_day``, ``KIND_night``, ``KIND_flood``),
        the busy share of a unit and the reliability of cover
        (:mod:`emgis.analysis.availability`).
    siting
        Which candidate sites siting considers (``[siting]``).
    network
        How the road network is built.
    coverage, report, maps
        How coverage is computed, the report laid out and the maps drawn.
    """

    targets: Mapping[str, Standard]
    turnout: Mapping[str, Standard]
    speeds: Mapping[str, Standard]
    minimums: Mapping[str, Standard]
    shelter: Mapping[str, Standard]
    warning: Mapping[str, Standard] = field(default_factory=lambda: standards.WARNING)
    social: Mapping[str, Standard] = field(default_factory=lambda: standards.SOCIAL)
    quality: Mapping[str, Standard] = field(default_factory=lambda: standards.QUALITY)
    costs: Mapping[str, Standard] = field(default_factory=lambda: standards.COSTS)
    uncertainty: Mapping[str, Standard] = field(default_factory=lambda: standards.UNCERTAINTY)
    availability: Mapping[str, Standard] = field(
        default_factory=lambda: standards.AVAILABILITY)
    siting: SitingSettings = field(default_factory=SitingSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    coverage: CoverageSettings = field(default_factory=CoverageSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    maps: MapSettings = field(default_factory=MapSettings)

    def speed_kph(self, highway: str) -> float:
        """Speed of an OSM highway class in km/h (``*_link`` roads take their class's speed)."""
        cls = highway.removesuffix("_link")
        std = self.speeds.get(cls) or self.speeds[self.network.default_class]
        return float(std.value)

    def network_key(self) -> str:
        """Short hash of every setting that changes the built road network (for the cache)."""
        payload = {
            "speeds": {k: v.value for k, v in sorted(self.speeds.items())},
            "network": asdict(self.network),
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Scenario:
    """A named set of hazard zones and how they act.

    Attributes
    ----------
    name
        Used in tables; file names are made from it by :func:`emgis.outputs.folder.safe_stem`.
    hazards
        Ids of records of the district's ``hazards`` layer.
    buffer_m
        Metres the zones are grown by.
    units_out_of_action
        Units inside a zone cannot respond.
    evacuate_within_m
        Villages inside a zone, or within this many metres of it, must leave.
    max_evacuation_min
        Shelters farther than this (minutes of driving) are not assigned.
    speed_factor
        The scenario's intensity for ``slowed`` zones: overrides their ``speed_factor`` (0-1,
        smaller is slower).
    evacuate_before_closure
        Evacuation routes use the roads as they are before the hazard closes or slows them
        (pre-emptive evacuation, as plans are made); False routes on the affected roads, where
        a village on a closed road cannot leave by car.
    """

    name: str
    hazards: tuple[str, ...]
    buffer_m: float = 0.0
    units_out_of_action: bool = True
    evacuate_within_m: float = 0.0
    max_evacuation_min: float = 60.0
    speed_factor: float | None = None
    evacuate_before_closure: bool = True


_TABLES = ("targets", "turnout", "speeds", "minimums", "shelter", "warning", "social",
           "quality", "costs", "uncertainty", "availability")


def default_settings() -> Settings:
    """Return the settings of the default standards profile."""
    return Settings(
        targets=standards.TARGETS,
        turnout=standards.TURNOUT,
        speeds=standards.SPEEDS,
        minimums=standards.MINIMUMS,
        shelter=standards.SHELTER,
    )


def _override(table: str, defaults: Mapping[str, Standard], given: Mapping[str, Any]
              ) -> Mapping[str, Standard]:
    """The defaults with the checked overrides of one ``[table]``."""
    merged = dict(defaults)
    for key, raw in given.items():
        default = defaults.get(key)
        value, text = (raw.get("value"), raw.get("source")) if isinstance(raw, dict) else (
            raw, None)
        unit = default.unit if default else ("km/h" if table == "speeds" else (
            ("yuan/year" if key.endswith("_yearly") else "yuan") if table == "costs" else ""))
        text_zh = ""
        if text is None:
            text, text_zh = (_override_source(lang, default) for lang in ("en", "zh"))
        merged[key] = Standard(float(value), unit, str(text),  # type: ignore[arg-type]
                               proposal=False, source_zh=text_zh)
    return MappingProxyType(merged)


def _override_source(lang: str, default: Standard | None) -> str:
    """Where an override without its own source comes from, in a language: the district's
    file, and the default it replaced with that default's source."""
    t = texts(lang)
    if default is None:
        return t["std.override"]
    return t.fmt("std.override_of", value=f"{default.value:g}", source=default.cite(lang))


_T = TypeVar("_T", NetworkSettings, CoverageSettings, ReportSettings, MapSettings,
             SitingSettings)


def _options(base: _T, given: Mapping[str, Any]) -> _T:
    """Override the fields of a small settings dataclass from a checked TOML table."""
    changes: dict[str, Any] = {}
    for key, value in given.items():
        current = getattr(base, key)
        if isinstance(current, tuple) and current and isinstance(current[0], float):
            changes[key] = tuple(sorted(float(v) for v in value))
        elif isinstance(current, tuple):
            changes[key] = tuple(value)
        elif isinstance(current, bool):
            changes[key] = bool(value)
        elif isinstance(current, float):
            changes[key] = float(value)
        else:
            changes[key] = value
    return replace(base, **changes)


def load_settings(config: Mapping[str, Any], *, source: Path) -> Settings:
    """Build settings from the parsed ``district.toml``.

    Parameters
    ----------
    config
        The parsed TOML document; tables other than the settings tables are ignored.
    source
        Path of the TOML file, used in error messages.

    Returns
    -------
    Settings
        Defaults of the standards profile with the file's overrides.

    Raises
    ------
    SettingsError
        Keys are unknown or values of the wrong type or range; ``.problems`` lists all of
        them.
    """

    plog = ProblemLog()
    tables = {k: v for k, v in config.items()
              if k in (*_TABLES, "network", "coverage", "report", "maps", "siting")}
    check_config(tables, file=source.name, plog=plog,
                 open_speed_classes=_lines_roads(config))
    if plog.errors:
        raise SettingsError(plog.errors)
    base = default_settings()
    kwargs: dict[str, Any] = {}
    for table in _TABLES:
        if table in config:
            kwargs[table] = _override(table, getattr(base, table), config[table])
    if "network" in config:
        kwargs["network"] = _options(NetworkSettings(), config["network"])
    if "coverage" in config:
        kwargs["coverage"] = _options(CoverageSettings(), config["coverage"])
    if "report" in config:
        kwargs["report"] = _options(ReportSettings(), config["report"])
    if "maps" in config:
        kwargs["maps"] = _options(MapSettings(), config["maps"])
    if "siting" in config:
        kwargs["siting"] = _options(SitingSettings(), config["siting"])
    settings = replace(base, **kwargs)
    if settings.network.default_class not in settings.speeds:

        raise SettingsError([Problem(
            "error", source.name, Msg("default_class_speed", v=settings.network.default_class),
            field="network.default_class")])
    return settings


def _lines_roads(config: Mapping[str, Any]) -> bool:
    """Whether the roads are lines of one's own (their classes may have any name)."""
    roads = config.get("roads")
    if isinstance(roads, dict):
        fmt = roads.get("format")
        path = str(roads.get("path", ""))
    else:
        fmt, path = None, str(roads or "")
    if fmt is not None:
        return bool(fmt == "lines")
    return not path.lower().endswith((".pbf", ".osm", ".osm.bz2", ".osm.gz", ".graphml"))
