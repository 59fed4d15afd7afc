"""The schema of ``district.toml``: every table and key, its type and range, checked up front.

:func:`check_config` walks the parsed file once and collects every problem (an unknown table or
key, with a "did you mean" hint; a value of the wrong type; a number out of range; a CRS pyproj
does not know) as :class:`~emgis.inputs.problems.Problem` records naming ``district.toml`` and the
key's dotted path, so that a planner sees all of them in one run, as for the layers' problems.
Nothing reads a value of ``district.toml`` that this schema has not checked.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError

from emgis._errors import BasemapError
from emgis.inputs import standards
from emgis.inputs.coords import OFFSET_SYSTEMS
from emgis.inputs.headers import SYNONYMS
from emgis.inputs.kinds import TEAM_KINDS
from emgis.inputs.problems import ProblemLog
from emgis.texts import Msg

#: A check returns None for a good value, else the words "expected ..." for the message.
Check = Callable[[Any], "str | None"]

#: Layers whose header synonyms ``[synonyms.LAYER]`` may extend.
SYNONYM_LAYERS = ("villages", "townships", "teams", "stockpiles", "shelters", "hazards",
                  "warning_points", "buildings", "candidates", "calls")

#: Layer tables a district may have, in reading order.
LAYER_NAMES = ("villages", "townships", "teams", "stockpiles", "shelters", "hazards",
               "candidates", "warning_points", "buildings", "calls")

#: OSM ``highway`` classes the speeds table may name (``*_link`` take their class's speed),
#: plus the two speeds emgis itself uses.
KNOWN_ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
                      "residential", "living_street", "service", "track", "road", "busway",
                      "offroad", "walk")

#: Plausible speeds, km/h.
MAX_SPEED_KPH = 200.0

#: Where siting candidates come from (``[siting] sources``): the village and community
#: centres, the public buildings of three layers, and the planner's ``[layers.candidates]``.
CANDIDATE_SOURCES = ("villages", "shelters", "stockpiles", "teams", "listed")

#: Largest plausible cost of one site, yuan (ten billion: a typing error beyond).
MAX_YUAN = 10_000_000_000


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _num(v: float) -> str:
    """A bound in words: 1,000,000 rather than 1e+06."""
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:g}"


def number(*, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
           integer: bool = False, unit: str = "") -> Check:
    """A number (int or float, not a boolean or text) within a range."""
    rng = []
    if lo is not None:
        rng.append(f"> {_num(lo)}" if lo_open else f">= {_num(lo)}")
    if hi is not None:
        rng.append(f"<= {_num(hi)}")
    expected = Msg("cfg_number" + ("_whole" if integer else "") + ("_unit" if unit else ""),
                   unit=Msg("unit_" + unit.replace("/", "_")) if unit else "",
                   range=Msg("cfg_range", lo=rng[0], hi=rng[1]) if len(rng) == 2 else
                   (rng[0] if rng else ""))

    def check(v: Any) -> str | None:
        if not _is_number(v) or (integer and float(v) != int(v)):
            return expected
        if lo is not None and (v <= lo if lo_open else v < lo):
            return expected
        if hi is not None and v > hi:
            return expected
        return None

    return check


def text(*, nonempty: bool = True) -> Check:
    """A text value (in quotes in TOML)."""

    def check(v: Any) -> str | None:
        if not isinstance(v, str) or (nonempty and not v.strip()):
            return Msg("cfg_text")
        return None

    return check


def boolean() -> Check:
    """true or false."""
    return lambda v: None if isinstance(v, bool) else Msg("cfg_bool")


def choice(*options: str) -> Check:
    """One of the given texts."""
    words = Msg("cfg_choice", options=", ".join(f'"{o}"' for o in options))
    return lambda v: None if isinstance(v, str) and v in options else words


def text_list(*, nonempty: bool = False) -> Check:
    """A list of texts."""

    def check(v: Any) -> str | None:
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v) or (
                nonempty and not v):
            return Msg("cfg_text_list_nonempty" if nonempty else "cfg_text_list")
        return None

    return check


def number_list(*, lo: float = 0.0, lo_open: bool = True, unit: str = "",
                length: int | None = None) -> Check:
    """A list of numbers in a range (of a given length)."""
    one = number(lo=lo, lo_open=lo_open)
    rel = ">" if lo_open else ">="
    expected = Msg("cfg_number_list" + ("_n" if length else "") + ("_unit" if unit else ""),
                   n=length or 0, unit=Msg("unit_" + unit) if unit else "",
                   range=f"{rel} {lo:g}")

    def check(v: Any) -> str | None:
        if not isinstance(v, list) or not v or any(one(x) for x in v) or (
                length is not None and len(v) != length):
            return expected
        return None

    return check


def crs_text() -> Check:
    """A CRS as pyproj understands it, or one of China's web-offset systems."""


    def check(v: Any) -> str | None:
        if not isinstance(v, str) or not v.strip():
            return Msg("cfg_crs_number", v=v) if _is_number(v) else Msg("cfg_crs")
        if v.strip().upper() in OFFSET_SYSTEMS:
            return None
        try:
            CRS.from_user_input(v)
        except CRSError:
            return Msg("cfg_crs_unknown")
        return None

    return check


def encoding_name() -> Check:
    """A text encoding Python knows."""

    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return Msg("cfg_encoding")
        try:
            codecs.lookup(v)
        except LookupError:
            return Msg("cfg_encoding_unknown")
        return None

    return check


def override(check: Check) -> Check:
    """A standards value: a number, or ``{ value = <number>, source = "..." }``."""

    def inner(v: Any) -> str | None:
        if isinstance(v, dict):
            bad = set(v) - {"value", "source"}
            if bad or "value" not in v:
                return Msg("cfg_or_sourced", expected=check(None) or "")
            if "source" in v and not isinstance(v["source"], str):
                return Msg("cfg_source")
            v = v["value"]
        msg = check(v)
        return None if msg is None else Msg("cfg_or_sourced", expected=msg)

    return inner


@dataclass(frozen=True)
class Table:
    """A TOML table: known keys with their checks (``keys``), or any key whose value passes
    ``values`` (``open``; ``names`` limits the keys to a known list)."""

    keys: Mapping[str, Check] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    values: Check | Table | None = None
    names: tuple[str, ...] | None = None
    shorthand: Check | None = None  # a plain value allowed instead of the table
    doc: str = ""


def _text_or_texts() -> Check:
    """A text, or a non-empty list of texts (several files of one layer)."""
    one, many = text(), text_list(nonempty=True)

    def check(v: Any) -> str | None:
        if isinstance(v, list):
            return many(v) or next((Msg("cfg_text") for x in v if not x.strip()), None)
        return one(v)

    return check


def _sheet() -> Check:
    """A sheet: its name, or its 0-based index."""

    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not ((isinstance(v, str) and v.strip())
                                       or (isinstance(v, int) and 0 <= v < 10_000)):
            return Msg("cfg_sheet")
        return None

    return check


def _layer_table() -> Table:
    return Table(
        keys={"path": _text_or_texts(), "layer": text(), "crs": crs_text(),
              "encoding": encoding_name(), "fields": _fields_check(), "sheet": _sheet()},
        required=("path",), shorthand=_text_or_texts(),
        doc="a layer: path, layer, sheet, crs, encoding, fields")


def _synonyms_table() -> Table:
    """``[synonyms.LAYER]``: field -> more header texts that name it."""
    return Table(values=Table(values=text_list(nonempty=True)), names=SYNONYM_LAYERS)


def _fields_check() -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, dict) or not all(isinstance(x, str) and x.strip()
                                              for x in v.values()):
            return Msg("cfg_fields")
        return None

    return check


def _scenario_table() -> Table:
    return Table(keys={
        "hazards": text_list(nonempty=True),
        "buffer_m": number(lo=0, hi=100_000, unit="metres"),
        "units_out_of_action": boolean(),
        "evacuate_within_m": number(lo=0, hi=100_000, unit="metres"),
        "max_evacuation_min": number(lo=0, lo_open=True, hi=24 * 60, unit="minutes"),
        "evacuate_before_closure": boolean(),
        "speed_factor": number(lo=0, lo_open=True, hi=1),
    }, required=("hazards",), doc="a scenario")


def network_checks() -> dict[str, Check]:
    """The checks of the ``[network]`` keys ."""
    return {
        "max_access_m": number(lo=0, lo_open=True, hi=100_000, unit="metres"),
        "exclude_highway": text_list(),
        "walk_highway": text_list(),
        "maxspeed_min_kph": number(lo=0, lo_open=True, hi=MAX_SPEED_KPH, unit="km/h"),
        "maxspeed_max_kph": number(lo=0, lo_open=True, hi=300, unit="km/h"),
        "maxspeed_rule": choice("derate", "raw", "ignore"),
        "maxspeed_factor": number(lo=0, lo_open=True, hi=1),
        "default_class": text(),
        "clip": boolean(),
        "clip_buffer_m": number(lo=0, hi=200_000, unit="metres"),
    }


def quality_checks() -> dict[str, Check]:
    """The checks of the ``[quality]`` keys (standards values: a number or ``{ value, source
    }``)."""
    return {
        "far_m": override(number(lo=0, lo_open=True, hi=100_000, unit="metres")),
        "thin_far_share": override(number(lo=0, hi=1)),
        "min_road_km_per_km2": override(number(lo=0, hi=1000)),
    }


def cost_checks() -> dict[str, Check]:
    """The checks of the ``[costs]`` keys: a build cost (``KIND``) and a yearly running cost
    (``KIND_yearly``) for every kind that can be sited, yuan, and ``reuse_factor`` (a share);
    each a number or ``{ value, source }``."""
    yuan = override(number(lo=0, hi=MAX_YUAN, unit="yuan"))
    checks = {k: yuan for kind in standards.TARGETS for k in (kind, f"{kind}_yearly")}
    checks["reuse_factor"] = override(number(lo=0, hi=1))
    return checks


def uncertainty_checks() -> dict[str, Check]:
    """The checks of the ``[uncertainty]`` keys (each a number or ``{ value, source }``)."""
    return {
        "speed_sd": override(number(lo=0, hi=2)),
        "turnout_share": override(number(lo=0, hi=1)),
        "samples": override(number(lo=1, hi=100_000, integer=True)),
        "fragile_below": override(number(lo=0, hi=1)),
        "siting_samples": override(number(lo=1, hi=10_000, integer=True)),
    }


def availability_keys() -> tuple[str, ...]:
    """The keys of ``[availability]``: a share per team kind and period, the busy share and
    the reliability."""

    return (*(f"{k}_{p}" for k in TEAM_KINDS for p in standards.PERIODS), "busy_share",
            "reliability")


def siting_checks() -> dict[str, Check]:
    """The checks of the ``[siting]`` keys: which candidate sites siting considers."""
    words = Msg("cfg_sources", options=", ".join(f'"{o}"' for o in CANDIDATE_SOURCES))

    def sources(v: Any) -> str | None:
        if not isinstance(v, list) or not v or not all(
                isinstance(x, str) and x in CANDIDATE_SOURCES for x in v) or len(set(v)) < len(v):
            return words
        return None

    return {"candidates": choice("all", "listed"), "sources": sources}


def coverage_checks() -> dict[str, Check]:
    """The checks of the ``[coverage]`` keys ."""
    return {
        "breaks_min": number_list(unit="minutes"),
        "service_area_buffer_m": number(lo=0, lo_open=True, hi=10_000, unit="metres"),
        "shelter_emergency_mode": choice("walk", "drive"),
        "shelter_fixed_mode": choice("walk", "drive"),
        "social_as_cover": boolean(),
    }


def report_checks() -> dict[str, Check]:
    """The checks of the ``[report]`` keys."""
    return {"paper": choice("A4", "A3"),
            "summary_rows": number(lo=1, hi=1000, integer=True),
            "township_rows": number(lo=1, hi=1000, integer=True)}


_KEY = re.compile(r"^[0-9a-fA-F]{32}$")


def tianditu_key(configured: str = "") -> str:
    """The Tianditu key: ``[maps] tianditu_key``, else the ``TIANDITU_KEY`` environment
    variable.

    Raises
    ------
    BasemapError
        Neither is set, or the key is not 32 hexadecimal characters.
    """
    key = configured or os.environ.get("TIANDITU_KEY", "")
    where = "[maps] tianditu_key" if configured else Msg("tianditu_env")
    if not key:
        raise BasemapError(Msg("tianditu_no_key"))
    if not _KEY.match(key):
        raise BasemapError(Msg("tianditu_bad_key", where=where))
    return key


def map_checks() -> dict[str, Check]:
    """The checks of the ``[maps]`` keys."""
    return {"basemap": choice("osm", "tianditu-vec", "tianditu-img", "amap",
                                "amap-satellite", "none"),
            "tianditu_key": text(),
            "label_zoom": number(lo=1, hi=20),
            "cluster_above": number(lo=0, hi=10_000_000, integer=True)}


def schema() -> dict[str, Table]:
    """The tables of ``district.toml`` and what each key holds."""
    pos = number(lo=0, lo_open=True, hi=24 * 60, unit="minutes")
    return {
        "district": Table(keys={
            "name": text(), "crs": crs_text(),
            "bbox": number_list(lo=-180, lo_open=False, length=4, unit="degrees"),
            "extent_tolerance_m": number(lo=0, hi=1_000_000, unit="metres"),
            "credit": text(),
            "datum_check": choice("error", "warn", "off"),
        }),
        "layers": Table(values=_layer_table(), names=LAYER_NAMES),
        "synonyms": _synonyms_table(),
        "roads": Table(keys={
            "path": text(), "format": choice("osm", "graphml", "lines"),
            "class_field": text(), "speed_field": text(), "oneway_field": text(),
            "crs": crs_text(),
        }, required=("path",), shorthand=text()),
        "targets": Table(values=override(pos), names=tuple(standards.TARGETS)),
        "turnout": Table(values=override(number(lo=0, hi=240, unit="minutes")),
                         names=tuple(standards.TURNOUT)),
        "speeds": Table(values=override(number(lo=0, lo_open=True, hi=MAX_SPEED_KPH,
                                               unit="km/h")),
                        names=KNOWN_ROAD_CLASSES),
        "minimums": Table(values=override(number(lo=0, hi=10_000_000)),
                          names=tuple(standards.MINIMUMS)),
        "shelter": Table(values=override(number(lo=0, lo_open=True, hi=1000)),
                         names=tuple(standards.SHELTER)),
        "warning": Table(values=override(number(lo=0, lo_open=True, hi=100_000)),
                         names=tuple(standards.WARNING)),
        "social": Table(values=override(number(lo=0, hi=240)), names=tuple(standards.SOCIAL)),
        "quality": Table(keys=quality_checks()),
        "costs": Table(keys=cost_checks()),
        "uncertainty": Table(keys=uncertainty_checks()),
        "availability": Table(values=override(number(lo=0, hi=1)), names=availability_keys()),
        "siting": Table(keys=siting_checks()),
        "network": Table(keys=network_checks()),
        "coverage": Table(keys=coverage_checks()),
        "report": Table(keys=report_checks()),
        "maps": Table(keys=map_checks()),
        "scenarios": Table(values=_scenario_table()),
    }


def _hint(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    options = ", ".join(known)
    return Msg("cfg_hint_close", close=close[0], options=options) if close else Msg(
        "cfg_hint", options=options)


def check_config(config: Mapping[str, Any], *, file: str, plog: ProblemLog,
                 open_speed_classes: bool = False) -> None:
    """Check every table and key of a parsed ``district.toml``; record each problem.

    Parameters
    ----------
    config
        The parsed TOML document.
    file
        The file name for the problems (``district.toml``).
    plog
        Collects the problems.
    open_speed_classes
        Road classes of one's own in ``[speeds]`` are allowed (road lines with a class
        column); an unknown class is then a warning, not an error.
    """
    tables = schema()
    for name, value in config.items():
        if name not in tables:
            plog.error(file, Msg("cfg_unknown_table", name=name, hint=_hint(name, list(tables))),
                       field=name)
            continue
        spec = tables[name]
        _check_table(value, spec, name, file, plog,
                     lenient=open_speed_classes and name == "speeds")
    _relations(config, file, plog)


class _Literal(str):
    """A value as TOML writes it, shown without quotes by ``{v!r}``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def _toml(v: Any) -> Any:
    """A value for a message as the planner wrote it in TOML: ``true``/``false`` (not
    Python's ``True``), dates and times as ``2025-06-30`` (not ``datetime.date(...)``)."""
    if isinstance(v, bool):
        return _Literal("true" if v else "false")
    if isinstance(v, (dt.date, dt.time)):  # dt.datetime is a dt.date
        return _Literal(v.isoformat())
    return v


def _check_table(value: Any, spec: Table, where: str, file: str, plog: ProblemLog, *,
                 lenient: bool = False) -> None:
    if not isinstance(value, dict):
        if spec.shorthand is not None:
            msg = spec.shorthand(value)
            if msg:
                plog.error(file, Msg("cfg_value", key=where, v=_toml(value), expected=msg),
                           field=where)
            return
        plog.error(file, Msg("cfg_not_table", key=where, v=_toml(value)), field=where)
        return
    for key in spec.required:
        if key not in value:
            plog.error(file, Msg("cfg_missing_key", table=where, key=key),
                       field=f"{where}.{key}")
    for key, v in value.items():
        path = f"{where}.{key}"
        if spec.values is not None:
            if spec.names is not None and key not in spec.names:
                msg = Msg("cfg_unknown_key", key=key, table=where,
                          hint=_hint(key, list(spec.names)))
                (plog.warning if lenient else plog.error)(file, msg, field=path)
                if not lenient:
                    continue
            if isinstance(spec.values, Table):
                _check_table(v, spec.values, path, file, plog)
            else:
                msg = spec.values(v)
                if msg:
                    plog.error(file, Msg("cfg_value", key=key, v=_toml(v), expected=msg),
                               field=path)
            continue
        check = spec.keys.get(key)
        if check is None:
            plog.error(file, Msg("cfg_unknown_key", key=key, table=where,
                                 hint=_hint(key, list(spec.keys))), field=path)
            continue
        msg = check(v)
        if msg:
            plog.error(file, Msg("cfg_value", key=key, v=_toml(v), expected=msg), field=path)


#: Profile values that are shares or availabilities: a fraction of people or of the time, in
#: [0, 1] (``min_share = 1.5`` or ``availability = 5`` would silently change every result).
SHARES: tuple[tuple[str, str], ...] = (
    ("warning", "min_share"), ("social", "availability"), ("social", "min_availability"),
    ("shelter", "fixed_capacity_share"), ("quality", "thin_far_share"),
    ("costs", "reuse_factor"),
)


def _shares(config: Mapping[str, Any], file: str, plog: ProblemLog) -> None:
    """Shares and availabilities lie in [0, 1]."""
    for table, key in SHARES:
        t = config.get(table)
        value = t.get(key) if isinstance(t, dict) else None
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, (int, float)) and _is_number(value) \
                and not 0.0 <= float(value) <= 1.0:
            plog.error(file, Msg("cfg_share", v=value), field=f"{table}.{key}")


def _synonym_fields(config: Mapping[str, Any], file: str, plog: ProblemLog) -> None:
    """``[synonyms.LAYER]`` names fields of the layer (a misspelt ``populaton`` would add
    header synonyms that no field reads)."""
    syn = config.get("synonyms")
    if not isinstance(syn, dict):
        return
    for layer, table in syn.items():
        if layer not in SYNONYMS or not isinstance(table, dict):
            continue  # an unknown layer or a value that is no table: named already
        known = list(SYNONYMS[layer])
        for key in table:
            if key not in known:
                plog.error(file, Msg("cfg_unknown_key", key=key, table=f"synonyms.{layer}",
                                     hint=_hint(key, known)), field=f"synonyms.{layer}.{key}")


def _relations(config: Mapping[str, Any], file: str, plog: ProblemLog) -> None:
    """Checks between keys, once each key on its own is right."""
    _shares(config, file, plog)
    _synonym_fields(config, file, plog)
    d = config.get("district")
    if isinstance(d, dict):
        bbox = d.get("bbox")
        if isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox):
            x0, y0, x1, y1 = bbox
            if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
                plog.error(file, Msg("cfg_bbox", v=bbox), field="district.bbox")
    maps = config.get("maps")
    if isinstance(maps, dict) and str(maps.get("basemap", "")).startswith("tianditu"):
        key = maps.get("tianditu_key", "")
        try:
            tianditu_key(key if isinstance(key, str) else "")
        except BasemapError as exc:
            plog.error(file, Msg("cfg_basemap", basemap=maps["basemap"],
                                 why=exc.args[0] if exc.args else str(exc)),
                       field="maps.tianditu_key")
    net = config.get("network")
    if isinstance(net, dict):
        lo, hi = net.get("maxspeed_min_kph"), net.get("maxspeed_max_kph")
        if _is_number(lo) and _is_number(hi) and float(lo) >= float(hi):  # type: ignore[arg-type]
            plog.error(file, Msg("cfg_maxspeed_range", lo=lo, hi=hi),
                       field="network.maxspeed_min_kph")
