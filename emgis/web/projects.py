"""A project's folder as the workbench changes it: uploaded files, the settings form written
into ``district.toml`` (checked by the same schema as the command's), hazards drawn on the
map, plans saved from the what-if page, and what changed between two runs.

A project is a district folder ``DATA/<slug>/``: the input files and ``district.toml`` at its
top, ``runs/<timestamp>/`` (each run's output folder), ``plans/`` (plan files) and
``compare/`` (comparisons). Nothing a browser sends becomes a path without
:func:`emgis.web.security.upload_name` (which uses :func:`emgis.outputs.folder.safe_stem`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emgis._files import sha256_file
from emgis.inputs import standards
from emgis.inputs.init import toml_string
from emgis.inputs.problems import ProblemLog
from emgis.inputs.schema import CANDIDATE_SOURCES, KNOWN_ROAD_CLASSES, check_config
from emgis.outputs.folder import safe_stem
from emgis.texts import Texts, say

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOML = "district.toml"
#: The file of hazards drawn or uploaded in the workbench (a file of the hazards layer).
HAZARDS_FILE = "workbench_hazards.geojson"
#: Folders of a project that are not input.
OWN_FOLDERS = ("runs", "plans", "compare")


class EditError(ValueError):
    """``district.toml`` cannot be edited by the form (a table written in another way)."""


# --- names ----------------------------------------------------------------------------------

def new_slug(title: str, taken: Sequence[str]) -> str:
    """A folder name for a new project: a safe stem of its title, unique (case-insensitive)."""
    base = safe_stem(title, max_bytes=60)
    if base.lower() in {*OWN_FOLDERS, "workbench", "static"} or base.startswith("_"):
        base = f"p_{base}"
    low = {t.lower() for t in taken}
    slug, n = base, 2
    while slug.lower() in low:
        slug, n = f"{base}-{n}", n + 1
    return slug


def run_folder(taken: Sequence[str]) -> str:
    """``YYYYmmdd-HHMMSS`` (UTC), unique among ``taken``."""
    base = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


# --- TOML -----------------------------------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    return key if _BARE.match(key) else toml_string(key)


def toml_value(v: Any) -> str:
    """A value as TOML (texts, numbers, booleans, lists, inline tables)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise EditError("not a finite number")
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise EditError(f"cannot write {type(v).__name__}")


def _header(line: str) -> str | None:
    m = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
    return m.group(1).replace(" ", "") if m else None


def set_tables(text: str, tables: Mapping[str, Mapping[str, Any] | None]) -> str:
    """``text`` with each named table replaced by ``values`` (removed when None or empty);
    the comments of other tables kept. The result is parsed back and checked.

    Raises
    ------
    EditError
        A table is written in a way this cannot replace (dotted keys, inline), so the result
        would not read back as asked.
    """
    lines = text.splitlines()
    for name, values in tables.items():
        start = next((i for i, ln in enumerate(lines) if _header(ln) == name), None)
        if start is not None:
            end = next((j for j in range(start + 1, len(lines)) if _header(lines[j])),
                       len(lines))
            k = end
            while k > start + 1 and (not lines[k - 1].strip() or
                                     lines[k - 1].lstrip().startswith("#")) and end < len(lines):
                k -= 1
            del lines[start:k]
        if values:
            while lines and not lines[-1].strip():
                lines.pop()
            lines += ["", f"[{name}]"]
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in values.items()]
    out = "\n".join(lines) + "\n"
    try:
        doc = tomllib.loads(out)
    except tomllib.TOMLDecodeError as exc:
        raise EditError(str(exc)) from exc
    for name, values in tables.items():
        got: Any = doc
        for part in name.split("."):
            got = got.get(part, {}) if isinstance(got, dict) else {}
        if dict(got) != dict(values or {}):
            raise EditError(name)
    return out


def read_config(folder: Path) -> tuple[str, dict[str, Any]]:
    """The text of ``district.toml`` and its parsed tables (empty when missing or broken)."""
    path = folder / TOML
    try:
        text = path.read_text("utf-8")
    except OSError:
        return "", {}
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return text, {}


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


# --- the settings form ----------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One input of the settings form: ``key`` is the dotted key of district.toml."""

    key: str
    label: str
    unit: str
    default: str
    value: str
    kind: str = "number"  # number, text, choice, checks
    options: tuple[tuple[str, str], ...] = ()
    chosen: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    title: str
    fields: tuple[Field, ...]


def _shown(v: Any) -> str:
    if isinstance(v, dict):
        v = v.get("value", "")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


def form_groups(config: Mapping[str, Any], t: Texts,
                posted: Mapping[str, Any] | None = None) -> list[Group]:
    """The form's groups: district name, targets, turnout, speeds, siting options; values
    from ``posted`` (a form sent back with errors) else from the config."""

    def val(key: str) -> str:
        if posted is not None:
            return str(posted.get(key, ""))
        table, _, name = key.partition(".")
        sec = config.get(table)
        return _shown(sec.get(name)) if isinstance(sec, dict) else ""

    district = config.get("district") if isinstance(config.get("district"), dict) else {}
    assert isinstance(district, dict)
    groups = [Group(t["web.group_district"], (
        Field("district.name", t["web.district_name"], "", "", val("district.name"), "text"),
        Field("district.crs", t["web.district_crs"], "", "EPSG:4326", val("district.crs"),
              "text"),
    ))]
    minutes = t["web.unit_min"]
    groups.append(Group(t["web.group_targets"], tuple(
        Field(f"targets.{k}", t.kind(k), minutes, _shown(s.value), val(f"targets.{k}"))
        for k, s in standards.TARGETS.items())))
    groups.append(Group(t["web.group_turnout"], tuple(
        Field(f"turnout.{k}", t.kind(k), minutes, _shown(s.value), val(f"turnout.{k}"))
        for k, s in standards.TURNOUT.items())))
    groups.append(Group(t["web.group_speeds"], tuple(
        Field(f"speeds.{k}", t.get("road_class", k), "km/h", _shown(s.value),
              val(f"speeds.{k}"))
        for k, s in standards.SPEEDS.items() if k in KNOWN_ROAD_CLASSES)))
    siting = config.get("siting") if isinstance(config.get("siting"), dict) else {}
    assert isinstance(siting, dict)
    if posted is not None:
        chosen = tuple(str(x) for x in posted.get("siting.sources", []))
    else:
        src = siting.get("sources", list(CANDIDATE_SOURCES))
        chosen = tuple(str(x) for x in src) if isinstance(src, list) else ()
    groups.append(Group(t["web.group_siting"], (
        Field("siting.candidates", t["web.siting_candidates"], "", "all",
              val("siting.candidates") or "all", "choice",
              (("all", t["web.candidates_all"]), ("listed", t["web.candidates_listed"]))),
        Field("siting.sources", t["web.siting_sources"], "", "", "", "checks",
              tuple((s, t.get("web", f"source_{s}")) for s in CANDIDATE_SOURCES), chosen),
    )))
    return groups


def _number(text: str) -> Any:
    s = text.strip().replace(",", "").replace("，", "")
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
        return v if math.isfinite(v) else text
    except ValueError:
        return text  # the schema says what was expected


def apply_form(config: Mapping[str, Any], form: Mapping[str, Any]
               ) -> dict[str, dict[str, Any] | None]:
    """The tables the form sets (to write with :func:`set_tables`): each number kept with its
    ``source`` when it had one, an empty input back to the standards' default."""
    out: dict[str, dict[str, Any] | None] = {}
    for table, names in (("targets", standards.TARGETS), ("turnout", standards.TURNOUT),
                         ("speeds", [k for k in standards.SPEEDS if k in KNOWN_ROAD_CLASSES])):
        old = config.get(table) if isinstance(config.get(table), dict) else {}
        assert isinstance(old, dict)
        new: dict[str, Any] = {k: v for k, v in old.items()
                               if k not in names or f"{table}.{k}" not in form}
        for k in names:
            if f"{table}.{k}" not in form:  # not sent: kept as it is
                continue
            raw = str(form.get(f"{table}.{k}", "")).strip()
            if not raw:
                continue
            value = _number(raw)
            before = old.get(k)
            if isinstance(before, dict) and "source" in before:
                new[k] = {"value": value, "source": before["source"]}
            else:
                new[k] = value
        out[table] = new or None
    district = dict(config.get("district") or {})
    for k in ("name", "crs"):
        if f"district.{k}" not in form:
            continue
        raw = str(form.get(f"district.{k}", "")).strip()
        if raw:
            district[k] = raw
        else:
            district.pop(k, None)
    out["district"] = district or None
    siting = dict(config.get("siting") or {})
    if "siting.candidates" not in form:
        out["siting"] = siting or None
        return out
    cand = str(form.get("siting.candidates", "all"))
    siting["candidates"] = cand
    sources = [str(s) for s in form.get("siting.sources", [])]
    siting["sources"] = sources
    if cand == "all" and sources == list(CANDIDATE_SOURCES):
        siting.pop("candidates")
        siting.pop("sources")
    out["siting"] = siting or None
    return out


def check_tables(config: Mapping[str, Any], tables: Mapping[str, Mapping[str, Any] | None],
                 lang: str) -> dict[str, list[str]]:
    """The schema's problems of ``config`` with ``tables`` set, by dotted key."""
    new = {k: v for k, v in config.items() if k not in tables}
    new.update({k: dict(v) for k, v in tables.items() if v})
    plog = ProblemLog()
    check_config(new, file=TOML, plog=plog)
    out: dict[str, list[str]] = {}
    for p in plog.errors:
        out.setdefault(p.field or "", []).append(say(p.message, lang))
    return out


# --- uploads --------------------------------------------------------------------------------

def input_files(folder: Path) -> list[dict[str, Any]]:
    """The input files of a project (name, size), its own folders and hidden files left out."""
    out = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.is_dir() or p.is_symlink():
            continue
        out.append({"name": p.name, "size": p.stat().st_size})
    return out


def snapshot(folder: Path, plan: str | None) -> dict[str, Any]:
    """What a run reads: every input file's sha256, the parsed district.toml, the plan."""
    files = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.is_symlink() and not p.name.startswith("."):
            files[p.name] = sha256_file(p)
    _, config = read_config(folder)
    doc = json.loads(json.dumps(config, default=str))
    return {"files": files, "settings": doc, "plan": plan}


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys of a parsed TOML document (an override ``{ value, source }`` by its value)."""
    if isinstance(d, dict) and not (prefix and "value" in d and set(d) <= {"value", "source"}):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    if isinstance(d, dict):
        d = d["value"]
    return {prefix.rstrip("."): d}


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What changed from one run's snapshot to the next: settings key by key, input files
    added, removed or changed, the plan."""
    if not old:
        return [{"what": "first"}]
    out: list[dict[str, Any]] = []
    a, b = _flat(old.get("settings", {})), _flat(new.get("settings", {}))
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append({"what": "setting", "key": k, "old": a.get(k), "new": b.get(k)})
    fa, fb = old.get("files", {}), new.get("files", {})
    for name in sorted(set(fa) | set(fb)):
        if name == TOML:  # said key by key above
            continue
        if name not in fa:
            out.append({"what": "file", "name": name, "change": "added"})
        elif name not in fb:
            out.append({"what": "file", "name": name, "change": "removed"})
        elif fa[name] != fb[name]:
            out.append({"what": "file", "name": name, "change": "changed"})
    if old.get("plan") != new.get("plan"):
        out.append({"what": "plan", "old": old.get("plan"), "new": new.get("plan")})
    return out


# --- hazards --------------------------------------------------------------------------------

HAZARD_KINDS = ("flood", "forest_fire", "other")


def _valid_ring(coords: Any) -> bool:
    return isinstance(coords, list) and len(coords) >= 4 and all(
        isinstance(c, list) and len(c) >= 2 and all(isinstance(x, (int, float)) and
                                                   not isinstance(x, bool) and math.isfinite(x)
                                                   for x in c[:2])
        and -180 <= c[0] <= 180 and -90 <= c[1] <= 90 for c in coords)


def polygon_ok(geom: Any) -> bool:
    """A GeoJSON Polygon or MultiPolygon in lon/lat, at most 5,000 vertices."""
    if not isinstance(geom, dict):
        return False
    kind, coords = geom.get("type"), geom.get("coordinates")
    polys = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not isinstance(polys, list) or not polys:
        return False
    n = 0
    for poly in polys:
        if not isinstance(poly, list) or not poly or not all(_valid_ring(r) for r in poly):
            return False
        n += sum(len(r) for r in poly)
    return n <= 5000


def add_hazard(folder: Path, *, hid: str, name: str, kind: str, effect: str,
               speed_factor: float | None, geometry: dict[str, Any]) -> None:
    """Add a hazard to the project's workbench hazards file, and that file to the hazards
    layer of district.toml."""
    path = folder / HAZARDS_FILE
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        doc = {"type": "FeatureCollection", "features": []}
    props: dict[str, Any] = {"id": hid, "name": name, "kind": kind, "effect": effect,
                             "speed_factor": speed_factor if effect == "slowed" else None}
    doc["features"].append({"type": "Feature", "properties": props, "geometry": geometry})
    text, config = read_config(folder)
    layers = config.get("layers", {}) if isinstance(config.get("layers"), dict) else {}
    hz = layers.get("hazards")
    if isinstance(hz, str):
        hz = {"path": hz}
    hz = dict(hz or {})
    paths = hz.get("path", [])
    paths = [paths] if isinstance(paths, str) else list(paths)
    new_text = None
    if HAZARDS_FILE not in paths:
        if hz.get("fields"):  # a mapping of another file's columns would not fit ours
            raise EditError("layers.hazards.fields")
        hz["path"] = [*paths, HAZARDS_FILE]
        new_text = set_tables(text, {"layers.hazards": hz})
    write_text(path, json.dumps(doc, ensure_ascii=False, indent=1))
    if new_text is not None:
        write_text(folder / TOML, new_text)


def next_hazard_id(known: Sequence[str]) -> str:
    n = 1
    while f"W{n}" in known:
        n += 1
    return f"W{n}"


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
