"""District settings: the standards profile with the overrides of a ``district.toml``.

The defaults come from :mod:`emgis.standards`; a ``district.toml`` may override any value in its
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
from typing import Any, TypeVar

from emgis import standards
from emgis._errors import SettingsError
from emgis.standards import Standard

#: OSM highway values that are not part of the drivable network (after osmnx's "drive" filter).
DEFAULT_EXCLUDE_HIGHWAY: tuple[str, ...] = (
    "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway",
    "elevator", "escalator", "footway", "no", "path", "pedestrian", "planned", "platform",
    "proposed", "raceway", "razed", "rest_area", "service", "services", "steps", "track",
    "via_ferrata",
)


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
    maxspeed_min_kph, maxspeed_max_kph
        An OSM ``maxspeed`` tag inside this range, km/h, is plausible and wins over the class
        speed; outside it is ignored.
    default_class
        Road class whose speed is used for a class the speeds table does not know.
    """

    max_access_m: float = 1000.0
    exclude_highway: tuple[str, ...] = DEFAULT_EXCLUDE_HIGHWAY
    maxspeed_min_kph: float = 5.0
    maxspeed_max_kph: float = 130.0
    default_class: str = "unclassified"


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
    shelter_emergency_mode: str = "walk"
    shelter_fixed_mode: str = "walk"


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
    network
        How the road network is built.
    """

    targets: Mapping[str, Standard]
    turnout: Mapping[str, Standard]
    speeds: Mapping[str, Standard]
    minimums: Mapping[str, Standard]
    shelter: Mapping[str, Standard]
    network: NetworkSettings = field(default_factory=NetworkSettings)
    coverage: CoverageSettings = field(default_factory=CoverageSettings)

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


_TABLES = ("targets", "turnout", "speeds", "minimums", "shelter")


def default_settings() -> Settings:
    """Return the settings of the default standards profile."""
    return Settings(
        targets=standards.TARGETS,
        turnout=standards.TURNOUT,
        speeds=standards.SPEEDS,
        minimums=standards.MINIMUMS,
        shelter=standards.SHELTER,
    )


def _override(
    table: str, defaults: Mapping[str, Standard], given: Any, *, source: Path, open_keys: bool
) -> Mapping[str, Standard]:
    if not isinstance(given, dict):
        raise SettingsError(f"{source}: [{table}] must be a table of name = value entries")
    merged = dict(defaults)
    for key, raw in given.items():
        default = defaults.get(key)
        if default is None and not open_keys:
            raise SettingsError(
                f"{source}: [{table}] has unknown key {key!r}; expected one of "
                f"{', '.join(sorted(defaults))}"
            )
        text = None
        value = raw
        if isinstance(raw, dict):
            value = raw.get("value")
            text = raw.get("source")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SettingsError(
                f"{source}: [{table}] {key} = {raw!r}; expected a number >= 0 "
                f"or {{ value = <number>, source = \"...\" }}"
            )
        unit = default.unit if default else ("km/h" if table == "speeds" else "")
        if text is None:
            was = f" (default {default.value:g}: {default.source})" if default else ""
            text = f"district.toml override{was}"
        merged[key] = Standard(float(value), unit, str(text), proposal=False)
    return MappingProxyType(merged)


_T = TypeVar("_T", NetworkSettings, CoverageSettings)


def _options(table: str, base: _T, given: Any, *, source: Path) -> _T:
    """Override the fields of a small settings dataclass from a TOML table."""
    if not isinstance(given, dict):
        raise SettingsError(f"{source}: [{table}] must be a table")
    known = set(asdict(base))
    changes: dict[str, Any] = {}
    for key, value in given.items():
        if key not in known:
            raise SettingsError(
                f"{source}: [{table}] has unknown key {key!r}; expected one of "
                f"{', '.join(sorted(known))}"
            )
        current = getattr(base, key)
        if isinstance(current, tuple) and current and isinstance(current[0], float):
            if not isinstance(value, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value
            ):
                raise SettingsError(f"{source}: [{table}] {key} must be a list of numbers > 0")
            changes[key] = tuple(sorted(float(v) for v in value))
        elif isinstance(current, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingsError(f"{source}: [{table}] {key} must be a list of strings")
            changes[key] = tuple(value)
        elif isinstance(current, str):
            if not isinstance(value, str):
                raise SettingsError(f"{source}: [{table}] {key} must be a string")
            if key.endswith("_mode") and value not in ("walk", "drive"):
                raise SettingsError(f"{source}: [{table}] {key} = {value!r}; expected "
                                    "\"walk\" or \"drive\"")
            changes[key] = value
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise SettingsError(
                    f"{source}: [{table}] {key} = {value!r}; expected a number > 0"
                )
            changes[key] = float(value)
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
        A key is unknown or a value is not a number in range.
    """
    base = default_settings()
    kwargs: dict[str, Any] = {}
    for table in _TABLES:
        if table in config:
            kwargs[table] = _override(
                table,
                getattr(base, table),
                config[table],
                source=source,
                open_keys=table == "speeds",
            )
    if "network" in config:
        kwargs["network"] = _options("network", NetworkSettings(), config["network"],
                                     source=source)
    if "coverage" in config:
        kwargs["coverage"] = _options("coverage", CoverageSettings(), config["coverage"],
                                      source=source)
    settings = replace(base, **kwargs)
    if settings.network.default_class not in settings.speeds:
        raise SettingsError(
            f"{source}: [network] default_class = {settings.network.default_class!r} has no "
            f"speed; add it to [speeds]"
        )
    return settings
