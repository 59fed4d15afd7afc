"""``emgis init``: a commented ``district.toml`` written from the files a bureau holds.

:func:`init_district` looks at every file of a folder (ledgers ``.xlsx``/``.xls``, ``.csv``,
``.shp``, ``.geojson``, ``.gpkg``, ``.osm.pbf``/``.osm``, ``.graphml``), reads each one cheaply
(the sheets and headers of a ledger with :func:`emgis.inputs.ledgers.read_ledger`, the first rows
of a CSV, the fields and geometry type of a vector file with ``pyogrio.read_info``), tells which
layer each one is (:func:`emgis.inputs.headers.guess_layer`; roads: OSM and GraphML files, and
lines that are a rural-road register (:func:`emgis.roads.register.is_register`) or carry a road
class or speed column), keeps the best file of each layer (every hazard file), and writes a
``district.toml`` whose comments say, layer by layer, which file, sheet and columns were taken
and why, what was left out and why, and what the planner must still decide. Then it checks the
district as written with :func:`emgis.inputs.district.validate_district`.

Choice rules
------------
* A file (a sheet of a workbook, a layer of a GeoPackage) goes to the layer that
  :func:`~emgis.inputs.headers.guess_layer` scores highest, if that score is at least
  :data:`MIN_SCORE`; ``candidates`` and ``buildings`` only when the name says so (their
  required fields are few and found in many tables); dispatch records (``calls``) are left
  out with a note saying how to declare them (``[layers.calls]``, for ``emgis calibrate``), as
  are lines that cannot be timed.
* Per layer the highest score wins (ties: the file name in sorted order); the other files are
  left out, each with the file that was preferred. Every hazard file is kept (``path`` a list).
* Roads: an OSM extract before a GraphML file, before register lines, before other road
  lines with a class or speed column (OSM carries junctions, one-way streets and speed limits;
  the others are named in a comment, ready to replace it where OSM is thin).
* ``[district] crs`` is ``EPSG:4326``, with a comment naming ``GCJ-02`` (AMap, Tencent),
  ``BD-09`` (Baidu) and ``EPSG:4490`` (CGCS2000); vector files carry their own CRS.

Safety
------
File names come from the folder listing and go into the TOML only through :func:`toml_string`
(every ``"``, ``\\`` and control character escaped) and into comments only through
:func:`comment_text` (control characters shown as ``\\uXXXX``), so no name can end a string or
a comment early; a name that is not valid Unicode (undecodable bytes) is left out. The text
written is parsed back before it is written, and its paths must read back as the names found.

Every word of the comments and messages comes from the ``[init]`` section of the catalogues
(``emgis/_texts``), so ``lang="zh"`` writes the comments in Chinese.
"""

from __future__ import annotations

import math
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyogrio

from emgis._errors import DistrictError
from emgis._files import gdal_path
from emgis.inputs.coordtext import CoordinateTextError, parse_degrees, parse_pair
from emgis.inputs.district import ValidationReport, validate_district
from emgis.inputs.fields import POINT_LAYERS
from emgis.inputs.headers import NAME_KEYWORDS, guess_layer, normalise_header, recognise
from emgis.inputs.ledgers import LedgerError, read_ledger
from emgis.roads.register import find_columns, is_register
from emgis.texts import Msg, Texts, say, texts

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Lowest score of :func:`guess_layer` that makes a file a layer.
MIN_SCORE = 0.3
#: Rows of a CSV read to recognise it.
CSV_HEAD_LINES = 200
#: Values sampled to tell how a table holds its coordinates.
SAMPLE = 20

TABLE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
VECTOR_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg")
OSM_SUFFIXES = (".pbf", ".osm")
GRAPHML_SUFFIXES = (".graphml",)
#: Files that belong to a shapefile (read with it) or are no data (passed over silently).
SIDECARS = (".dbf", ".shx", ".prj", ".cpg", ".qpj", ".sbn", ".sbx", ".qix", ".fix", ".xml",
            ".qmd")
#: Layers written to ``district.toml``, in this order.
LAYER_ORDER = ("villages", "townships", "teams", "stockpiles", "shelters", "warning_points",
               "hazards", "candidates", "buildings")
#: Layers taken only when the file or sheet name points to them.
NAME_ONLY = ("candidates", "buildings")
#: Road-class and speed columns of road lines that are no register (compared normalised).
CLASS_COLUMNS = ("highway", "fclass", "class", "road_class", "roadclass", "道路等级", "等级")
SPEED_COLUMNS = ("maxspeed", "speed", "speed_kph", "kph", "速度", "限速", "设计速度", "车速")
#: Header words of a column holding a lon/lat pair.
PAIR_WORDS = ("经纬度", "坐标", "位置", "lonlat", "lnglat", "coordinates", "coords")


@dataclass(frozen=True)
class Source:
    """One file, or one sheet / layer of a file, as :func:`init_district` saw it.

    Attributes
    ----------
    name
        The file's name in the folder.
    sheet
        The workbook sheet or GeoPackage layer (None for a single-layer file).
    kind
        ``"table"`` (ledger, CSV), ``"vector"``, ``"osm"`` or ``"graphml"``.
    columns
        The headers found (a ledger's normalised headers).
    geometry
        A vector file's geometry type, else None.
    rows
        Records (a ledger's, or the features of a vector file; None when unknown).
    header_rows
        Excel rows of a ledger's header.
    crs
        A vector file's CRS as ``AUTHORITY:CODE`` or text (None when it has none).
    sample
        A few records, column -> first values (tables only), to tell the coordinates apart.
    notes
        What the reader said (totals skipped, columns renamed ...), as messages.
    n_sheets
        Sheets with data in the workbook (or layers of the GeoPackage).
    """

    name: str
    sheet: str | None
    kind: str
    columns: tuple[str, ...] = ()
    geometry: str | None = None
    rows: int | None = None
    header_rows: tuple[int, ...] = ()
    crs: str | None = None
    sample: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    n_sheets: int = 1

    @property
    def label(self) -> str:
        """``file`` or ``file / sheet``."""
        return self.name if self.sheet is None else f"{self.name} / {self.sheet}"


@dataclass(frozen=True)
class LayerChoice:
    """The file(s) taken for a layer, and what was recognised in them.

    Attributes
    ----------
    layer
        The layer.
    sources
        The file (several for hazards).
    scores, reasons
        :func:`guess_layer`'s score and reason for each source.
    mapping
        Field -> column per source (the first source's for the TOML comment).
    coordinates
        How a table holds its points: ``("decimal"|"dms"|"gauss_kruger", lon, lat)``,
        ``("pair", column, column)``, or None (vector files, polygon layers).
    missing
        Required fields no column holds (per source, joined).
    notes, fixes
        Warnings to check, errors to fix (messages).
    others
        Sources that also looked like this layer but scored lower.
    """

    layer: str
    sources: tuple[Source, ...]
    scores: tuple[float, ...]
    reasons: tuple[str, ...]
    mapping: tuple[Mapping[str, str], ...]
    coordinates: tuple[tuple[str, str, str] | None, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...]
    fixes: tuple[str, ...]
    others: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoadChoice:
    """The road file taken: ``how`` is ``osm``, ``graphml``, ``register`` or ``lines``;
    ``detail`` the register or class/speed columns; ``others`` the road files not taken."""

    source: Source
    how: str
    detail: Mapping[str, str]
    others: tuple[tuple[Source, str, Mapping[str, str]], ...] = ()


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_district` found and wrote.

    Attributes
    ----------
    folder
        The district folder.
    toml_path
        The ``district.toml`` written.
    text
        Its text.
    layers
        Layer -> :class:`LayerChoice`, for every layer recognised.
    roads
        The road file taken, or None.
    left_out
        ``(file, why)`` of every file (or sheet) not taken.
    missing
        Layers without a file: required ones (``villages``) and those a run needs (``roads``).
    report
        The check of the district as written (:func:`validate_district`); None when the check
        itself could not run (``check_error`` says why).
    check_error
        Why the check could not run, or empty.
    """

    folder: Path
    toml_path: Path
    text: str
    layers: Mapping[str, LayerChoice]
    roads: RoadChoice | None
    left_out: tuple[tuple[str, str], ...]
    missing: tuple[str, ...]
    report: ValidationReport | None
    check_error: str = ""

    @property
    def ok(self) -> bool:
        """True when the district as written validates without errors."""
        return self.report is not None and self.report.ok


# --- safe text ------------------------------------------------------------------------------

_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quotes, backslashes and control characters escaped.

    Raises
    ------
    ValueError
        ``text`` holds a lone surrogate (an undecodable byte of a file name), which no TOML
        string can hold.
    """
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20 or o == 0x7F:
            out.append(_ESCAPES.get(o, f"\\u{o:04X}"))
        elif 0xD800 <= o <= 0xDFFF:
            raise ValueError(f"not valid Unicode: {text!r}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def comment_text(text: str) -> str:
    """Text safe in a TOML comment: control characters (a line break would end the comment)
    and lone surrogates shown as ``\\uXXXX``."""
    return "".join(f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F
                   or 0xD800 <= ord(c) <= 0xDFFF else c for c in str(text))


def _valid_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown_name(name: str) -> str:
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# --- reading the folder -----------------------------------------------------------------------

def _said(note: Any, lang: str) -> str:
    """A reader's message (a :class:`Msg`, an exception carrying one) in ``lang``."""
    if isinstance(note, BaseException):
        inner = getattr(note, "msg", None) or getattr(note, "note", None)
        return _said(inner, lang) if inner is not None else say(note, lang)
    if isinstance(note, Msg):
        return note.say(texts(lang))
    if hasattr(note, "say"):
        return str(note.say(lang))
    return str(note)


def _ledger_source(name: str, path: Path, sheet: str | int | None, n_sheets: int,
                   lang: str, *, csv: bool = False) -> Source:

    led = read_ledger(path, sheet=sheet)
    frame = led.frame
    sample = {c: tuple(v for v in frame[c].tolist() if v)[:SAMPLE] for c in frame.columns}
    return Source(
        name=name, sheet=None if csv else led.sheet, kind="table",
        columns=tuple(str(c) for c in frame.columns), rows=None if csv else len(frame),
        header_rows=tuple(led.header_rows), sample=sample,
        # deferred: loads python_calamine
        notes=tuple(_said(w, lang) for w in led.warnings), n_sheets=n_sheets)


def _sheet_names(path: Path) -> list[str]:
    from python_calamine import CalamineWorkbook  # deferred: loads the workbook reader

    with CalamineWorkbook.from_path(str(path)) as wb:
        names = list(wb.sheet_names)
        out = []
        for n in names:
            rows = wb.get_sheet_by_name(n).to_python(skip_empty_area=False)
            if any(c not in ("", None) for r in rows[:50] for c in r):
                out.append(n)
        return out


def _read_table(name: str, path: Path, lang: str, t: Texts
                ) -> tuple[list[Source], list[tuple[str, str]]]:

    found: list[Source] = []
    left: list[tuple[str, str]] = []
    if path.suffix.lower() == ".csv":
        with path.open("rb") as fh:
            head = b"".join(fh.readline() for _ in range(CSV_HEAD_LINES))
        with tempfile.TemporaryDirectory(prefix="emgis-init-") as tmp:
            part = Path(tmp) / "head.csv"
            part.write_bytes(head)
            try:
                src = _ledger_source(name, part, None, 1, lang, csv=True)
            except LedgerError as exc:
                left.append((name, _said(exc, lang).replace("head.csv", name)))
                return found, left
        notes = tuple(n.replace("head.csv", name) for n in src.notes)
        return [replace(src, notes=notes)], left
    try:
        sheets = _sheet_names(path)
    except Exception as exc:  # calamine's own errors: the file is not a workbook
        try:
            _ledger_source(name, path, None, 1, lang)
        except LedgerError as err:
            left.append((name, _said(err, lang)))
        else:  # pragma: no cover - calamine failed to list but read
            left.append((name, t.fmt("init.why_unreadable", error=f"{type(exc).__name__}")))
        return found, left
    if not sheets:
        left.append((name, t["init.why_empty"]))
    for sheet in sheets:
        try:
            found.append(_ledger_source(name, path, sheet, len(sheets), lang))
        except LedgerError as exc:
            label = f"{name} / {sheet}" if len(sheets) > 1 else name
            left.append((label, _said(exc, lang)))
    return found, left


def _crs_text(crs: Any) -> str | None:
    if not crs:
        return None
    text = str(crs)
    if text.upper() in ("OGC:CRS84", "EPSG:4326"):
        return "EPSG:4326"
    return text


def _read_vector(name: str, path: Path, t: Texts) -> tuple[list[Source], list[tuple[str, str]]]:

    found: list[Source] = []
    left: list[tuple[str, str]] = []
    try:
        listed = pyogrio.list_layers(gdal_path(path))
    except Exception as exc:
        return found, [(name, t.fmt("init.why_unreadable", error=_error_text(exc)))]
    many = len(listed) > 1
    for layer_name, _geom in listed:
        try:
            info = pyogrio.read_info(gdal_path(path), layer=str(layer_name))
        except Exception as exc:
            left.append((f"{name} / {layer_name}" if many else name,
                         t.fmt("init.why_unreadable", error=_error_text(exc))))
            continue
        geometry = info.get("geometry_type")
        found.append(Source(
            name=name, sheet=str(layer_name) if many or path.suffix.lower() == ".gpkg" else None,
            kind="vector", columns=tuple(str(c) for c in info.get("fields", ())),
            geometry=str(geometry) if geometry else None,
            rows=int(info["features"]) if info.get("features", -1) >= 0 else None,
            crs=_crs_text(info.get("crs")), n_sheets=len(listed)))
    return found, left


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip(": ")


def scan_folder(folder: Path, lang: str = "en"
                ) -> tuple[list[Source], list[tuple[str, str]]]:
    """Every readable file (sheet, layer) of ``folder``, and the files left out with why."""
    t = texts(lang)
    sources: list[Source] = []
    left: list[tuple[str, str]] = []
    names = sorted(p.name for p in folder.iterdir())
    for name in names:
        path = folder / name
        low = name.lower()
        if name.startswith(".") or low == "district.toml" or low.startswith("readme"):
            continue
        if not _valid_name(name):
            left.append((_shown_name(name), t["init.why_bad_name"]))
            continue
        if path.is_dir():
            left.append((name, t["init.why_folder"]))
            continue
        if name.startswith("~$"):
            left.append((name, t["init.why_lock"]))
            continue
        suffix = path.suffix.lower()
        if suffix in TABLE_SUFFIXES:
            found, out = _read_table(name, path, lang, t)
        elif suffix in VECTOR_SUFFIXES:
            found, out = _read_vector(name, path, t)
        elif suffix in OSM_SUFFIXES:
            found, out = [Source(name=name, sheet=None, kind="osm")], []
        elif suffix in GRAPHML_SUFFIXES:
            found, out = [Source(name=name, sheet=None, kind="graphml")], []
        elif suffix in SIDECARS or low.endswith(".shp.xml"):
            continue
        else:
            found, out = [], [(name, t["init.why_format"])]
        sources += found
        left += out
    return sources, left


# --- recognising ------------------------------------------------------------------------------

def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _coordinates(src: Source, mapping: Mapping[str, str]) -> tuple[str, str, str] | None:
    """How a table holds its points (:class:`LayerChoice` ``coordinates``)."""

    lon, lat = mapping.get("lon"), mapping.get("lat")
    if lon and lat and lon != lat and not any(
            normalise_header(w) in normalise_header(c) for c in (lon, lat) for w in PAIR_WORDS):
        values = src.sample.get(lon, ()) + src.sample.get(lat, ())
        if values and all(_is_number(v) for v in values):
            big = any(abs(float(v)) > 360 for v in values)
            return ("gauss_kruger" if big else "decimal", lon, lat)
        try:
            for v in src.sample.get(lon, ()):
                parse_degrees(v, axis="lon")
            for v in src.sample.get(lat, ()):
                parse_degrees(v, axis="lat")
        except (CoordinateTextError, ValueError):
            return None
        return ("dms", lon, lat)
    for col in sorted(src.columns, key=lambda c: (not any(
            normalise_header(w) in normalise_header(c) for w in PAIR_WORDS), c not in (lon, lat))):
        values = src.sample.get(col, ())
        if not values:
            continue
        try:
            for v in values:
                parse_pair(v)
        except (CoordinateTextError, ValueError):
            continue
        return ("pair", col, col)
    return None


def _recognise(layer: str, src: Source, lang: str
               ) -> tuple[dict[str, str], tuple[str, str, str] | None, list[str], list[str],
                          list[str]]:
    """Mapping, coordinates, missing fields, notes and fixes of one source of a layer."""
    table = src.kind == "table"
    points = table and layer in POINT_LAYERS
    rec = recognise(src.columns, layer, coordinates=points)
    mapping = dict(rec.mapping)
    coords = _coordinates(src, mapping) if points else None
    missing = list(rec.missing)
    notes = list(src.notes)
    pair_col = coords[1] if coords and coords[0] == "pair" else None
    if pair_col is not None:
        missing = [f for f in missing if f not in ("lon", "lat")]
        mapping = {f: c for f, c in mapping.items() if c != pair_col}
    for w in rec.warnings:
        if pair_col is not None and getattr(w, "key", "") in ("header_contained", "contained") and \
                getattr(w, "values", {}).get("column") == pair_col:
            continue
        notes.append(_said(w, lang))
    fixes = [_said(e, lang) for e in rec.errors]
    return mapping, coords, missing, notes, fixes


def _name_points_to(layer: str, src: Source) -> bool:
    stem = src.name.split(".", 1)[0]
    name = normalise_header(stem + ("|" + src.sheet if src.sheet else ""))
    return any(normalise_header(k) in name for k in NAME_KEYWORDS.get(layer, ()))


def _road_kind(src: Source) -> tuple[str, dict[str, str]] | None:
    """``("osm"|"graphml"|"register"|"lines", detail)`` for a road file, None otherwise."""

    if src.kind in ("osm", "graphml"):
        return src.kind, {}
    if src.kind != "vector" or not src.geometry or "line" not in src.geometry.lower():
        return None
    if is_register(src.columns):
        return "register", find_columns(src.columns)
    norm = {normalise_header(c): c for c in src.columns}
    cls = next((norm[normalise_header(c)] for c in CLASS_COLUMNS if normalise_header(c) in norm),
               None)
    speed = next((norm[normalise_header(c)] for c in SPEED_COLUMNS
                  if normalise_header(c) in norm), None)
    if cls is None and speed is None:
        return None
    detail = {}
    if cls is not None:
        detail["class_field"] = cls
    if speed is not None:
        detail["speed_field"] = speed
    return "lines", detail


_ROAD_RANK = {"osm": 0, "graphml": 1, "register": 2, "lines": 3}


def _choose(sources: Sequence[Source], lang: str
            ) -> tuple[dict[str, LayerChoice], RoadChoice | None, list[tuple[str, str]]]:
    t = texts(lang)
    left: list[tuple[str, str]] = []
    roads: list[tuple[Source, str, dict[str, str]]] = []
    best: dict[str, list[tuple[float, Source, str]]] = {}
    for src in sources:
        kind = _road_kind(src)
        if kind is not None:
            roads.append((src, *kind))
            continue
        if src.kind == "vector" and src.geometry and "line" in src.geometry.lower():
            left.append((src.label, t["init.why_lines"]))
            continue
        guesses = guess_layer(file_name=src.name, sheet=src.sheet, columns=list(src.columns),
                              geometry=src.geometry if src.kind == "vector" else None)
        ranked = [(layer, score, reason) for layer, score, reason in guesses
                  if layer != "roads" and (layer not in NAME_ONLY
                                           or _name_points_to(layer, src))]
        layer, score, reason = ranked[0] if ranked else ("", 0.0, "")
        if layer == "calls" and score >= MIN_SCORE:
            left.append((src.label, t["init.why_calls"]))
            continue
        if score < MIN_SCORE or layer not in LAYER_ORDER:
            top = guesses[0]
            hint = t.fmt("init.best_guess", layer=t.get("layer", top[0], _road_word(t, top[0])),
                         score=f"{top[1]:.2f}", reason=_said(top[2], lang))
            left.append((src.label, t.fmt("init.why_no_layer", best=hint)))
            continue
        best.setdefault(layer, []).append((score, src, _said(reason, lang)))

    layers: dict[str, LayerChoice] = {}
    for layer in LAYER_ORDER:
        cands = sorted(best.get(layer, []), key=lambda c: (-c[0], c[1].name, c[1].sheet or ""))
        if not cands:
            continue
        taken = sorted(cands, key=lambda c: (c[1].name, c[1].sheet or "")) \
            if layer == "hazards" else cands[:1]
        others = [] if layer == "hazards" else cands[1:]
        for _, src, _ in others:
            left.append((src.label, t.fmt("init.why_lower", layer=t.get("layer", layer),
                                          other=cands[0][1].label)))
        maps, coords, missing, notes, fixes = [], [], [], [], []
        for _, src, _ in taken:
            m, c, miss, n, f = _recognise(layer, src, lang)
            maps.append(m)
            coords.append(c)
            missing += [x for x in miss if x not in missing]
            notes += n
            fixes += f
        layers[layer] = LayerChoice(
            layer=layer, sources=tuple(s for _, s, _ in taken),
            scores=tuple(s for s, _, _ in taken), reasons=tuple(r for _, _, r in taken),
            mapping=tuple(maps), coordinates=tuple(coords), missing=tuple(missing),
            notes=tuple(notes), fixes=tuple(fixes),
            others=tuple(s.label for _, s, _ in others))

    road: RoadChoice | None = None
    if roads:
        roads.sort(key=lambda r: (_ROAD_RANK[r[1]], r[0].name, r[0].sheet or ""))
        src, how, detail = roads[0]
        road = RoadChoice(src, how, detail, tuple(roads[1:]))
    return layers, road, left


def _road_word(t: Texts, layer: str) -> str:
    return t["init.roads_word"] if layer == "roads" else layer


# --- writing ----------------------------------------------------------------------------------

def _c(lines: list[str], text: str, indent: str = "") -> None:
    """Comment lines (one per line of ``text``), made safe."""
    for part in str(text).split("\n"):
        lines.append(f"# {indent}{comment_text(part)}".rstrip())


def _source_words(t: Texts, src: Source) -> str:
    if src.kind == "table":
        rows = "-".join(str(r) for r in (src.header_rows[:1] + src.header_rows[-1:]
                                          if len(src.header_rows) > 1 else src.header_rows))
        where = t.fmt("init.src_sheet", file=src.name, sheet=src.sheet) \
            if src.sheet is not None else src.name
        if src.rows is None:
            return t.fmt("init.src_csv", where=where, rows=rows or "?")
        return t.fmt("init.src_table", where=where, n=src.rows, rows=rows or "?")
    if src.kind == "vector":
        where = t.fmt("init.src_layer", file=src.name, layer=src.sheet) \
            if src.sheet is not None else src.name
        return t.fmt("init.src_vector", where=where, n="?" if src.rows is None else src.rows,
                     geometry=_geometry_word(t, src.geometry), crs=src.crs or t["init.no_crs"])
    return src.name


def _geometry_word(t: Texts, geometry: str | None) -> str:
    key = re.sub(r"[^a-z]", "", (geometry or "").lower())
    return t.get("init", "geom_" + key, t["init.geom_other"])


def _layer_block(lines: list[str], t: Texts, choice: LayerChoice) -> None:
    word = t.get("layer", choice.layer)
    lines.append("")
    _c(lines, t.fmt("init.layer_head", word=word, layer=choice.layer))
    for src, score, reason, mapping, coords in zip(choice.sources, choice.scores,
                                                   choice.reasons, choice.mapping,
                                                   choice.coordinates, strict=True):
        _c(lines, t.fmt("init.from", source=_source_words(t, src)), "  ")
        _c(lines, t.fmt("init.why", reason=reason, score=f"{score:.2f}"), "    ")
        pairs = t["init.list_sep"].join(f"{f} ← {c}" for f, c in mapping.items()
                                        if f not in ("lon", "lat"))
        if pairs:
            _c(lines, t.fmt("init.columns", pairs=pairs), "    ")
        if coords is not None:
            how, lon, lat = coords
            _c(lines, t.fmt(f"init.coords_{how}", lon=lon, lat=lat), "    ")
        unused = [c for c in src.columns if c not in mapping.values()
                  and not (coords and c in coords[1:])]
        if unused:
            _c(lines, t.fmt("init.unused", columns=t["init.list_sep"].join(unused)), "    ")
    if choice.missing:
        _c(lines, t.fmt("init.missing_fields", layer=choice.layer,
                        fields=t["init.list_sep"].join(choice.missing)), "  ")
    for fix in choice.fixes:
        _c(lines, t.fmt("init.fix", text=fix), "  ")
    for note in choice.notes:
        _c(lines, t.fmt("init.note", text=note), "  ")
    if choice.others:
        _c(lines, t.fmt("init.others", files=t["init.list_sep"].join(choice.others)), "  ")
    lines.append(f"[layers.{choice.layer}]")
    names = [s.name for s in choice.sources]
    if len(names) == 1:
        lines.append(f"path = {toml_string(names[0])}")
    else:
        lines.append("path = [" + ", ".join(toml_string(n) for n in names) + "]")
    src = choice.sources[0]
    if len(choice.sources) == 1 and src.sheet is not None and src.n_sheets > 1 \
            and src.kind in ("table", "vector"):
        key = "sheet" if src.kind == "table" else "layer"
        lines.append(f"{key} = {toml_string(src.sheet)}")


def _roads_block(lines: list[str], t: Texts, road: RoadChoice | None) -> None:
    lines.append("")
    if road is None:
        _c(lines, t["init.roads_missing"])
        lines.append("# [roads]")
        lines.append('# path = "roads.osm.pbf"')
        return
    src = road.source
    cols = t["init.list_sep"].join(road.detail.values())
    _c(lines, t.fmt("init.roads_head", word=t["init.roads_word"]))
    _c(lines, t.fmt(f"init.roads_{road.how}", file=src.label, columns=cols), "  ")
    if road.others:
        _c(lines, t["init.roads_order"], "  ")
    lines.append("[roads]")
    lines.append(f"path = {toml_string(src.name)}")
    if road.how == "lines":
        for key, col in road.detail.items():
            lines.append(f"{key} = {toml_string(col)}")
    for other, how, detail in road.others:
        _c(lines, t.fmt(f"init.roads_{how}", file=other.label,
                        columns=t["init.list_sep"].join(detail.values())), "  ")
        _c(lines, t["init.roads_alt"], "    ")
        lines.append(f"# path = {toml_string(other.name)}")


def _district_name(folder: Path) -> str:
    name = folder.resolve().name
    return name if _valid_name(name) else _shown_name(name)


def render(folder: Path, layers: Mapping[str, LayerChoice], road: RoadChoice | None,
           left: Sequence[tuple[str, str]], missing: Sequence[str], lang: str) -> str:
    """The text of ``district.toml``."""
    t = texts(lang)
    lines: list[str] = []
    for part in t.words("init.head"):
        _c(lines, part)
    lines.append("")
    _c(lines, t["init.district_head"])
    lines.append("[district]")
    lines.append(f"name = {toml_string(_district_name(folder))}")
    _c(lines, t["init.name_note"], "  ")
    lines.append('crs = "EPSG:4326"')
    for part in t.words("init.crs_note"):
        _c(lines, part, "  ")
    for layer in LAYER_ORDER:
        if layer in layers:
            _layer_block(lines, t, layers[layer])
    _roads_block(lines, t, road)
    if missing or left:
        lines.append("")
    for layer in missing:
        if layer == "roads":
            continue
        _c(lines, t.fmt("init.layer_missing", word=t.get("layer", layer), layer=layer))
    if left:
        _c(lines, t["init.left_head"])
        for name, why in left:
            _c(lines, t.fmt("init.left_item", file=name, why=why), "  ")
    lines.append("")
    for part in t.words("init.tail"):
        _c(lines, part)
    return "\n".join(lines) + "\n"


def _check_text(text: str, layers: Mapping[str, LayerChoice], road: RoadChoice | None) -> None:
    """The TOML parses and its paths are the names found (no name escaped its string)."""
    data = tomllib.loads(text)
    for layer, choice in layers.items():
        path = data["layers"][layer]["path"]
        names = [s.name for s in choice.sources]
        assert (path if isinstance(path, list) else [path]) == names, (layer, path, names)
    if road is not None:
        assert data["roads"]["path"] == road.source.name


def init_district(folder: str | Path, *, lang: str = "en", force: bool = False) -> InitResult:
    """Write ``FOLDER/district.toml`` from the files in the folder, then check it.

    Parameters
    ----------
    folder
        The district folder (ledgers, vector files, road file).
    lang
        Language of the comments: ``"en"`` or ``"zh"``.
    force
        Replace an existing ``district.toml``.

    Returns
    -------
    InitResult
        What was recognised and left out, the text written and the check of the result.

    Raises
    ------
    DistrictError
        The folder does not exist, or ``district.toml`` exists and ``force`` is False.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DistrictError(Msg("init.no_folder", path=str(root)))
    target = root / "district.toml"
    if target.exists() and not force:
        raise DistrictError(Msg("init.exists", path=str(target)))
    sources, left = scan_folder(root, lang)
    layers, road, left_choice = _choose(sources, lang)
    left = left + left_choice
    missing = tuple(x for x in ("villages", "roads")
                    if (x == "roads" and road is None) or (x != "roads" and x not in layers))
    text = render(root, layers, road, left, missing, lang)
    _check_text(text, layers, road)
    tmp = target.with_name(".district.toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    report: ValidationReport | None = None
    check_error = ""
    try:
        report = validate_district(root)
    except Exception as exc:  # the check of what was written: reported, never fatal
        check_error = say(exc, lang) if isinstance(exc, DistrictError) else _error_text(exc)
    return InitResult(folder=root, toml_path=target, text=text, layers=layers, roads=road,
                      left_out=tuple(left), missing=missing, report=report,
                      check_error=check_error)
