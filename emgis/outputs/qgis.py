"""QGIS styles inside the GeoPackages, so every layer opens styled and labelled in QGIS.

QGIS reads a layer's default style from the GeoPackage's ``layer_styles`` table (the table QGIS
itself writes with "Save style > In database"): one row per layer with the style as QML and
``useAsDefault`` set. emgis writes that table after the layers, registered in
``gpkg_contents`` as an attribute table, with the same colours as the maps and the category
names in the run's language. The QML is built here from small :class:`Style` descriptions
(points, lines or polygons; rules by a field's value; a label field); input text never enters
it except as XML-escaped rule values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from emgis.outputs.style import (
    CLASS_COLOURS,
    KIND_COLOURS,
    SCENARIO_COLOURS,
    SITING_COLOURS,
    WARNING_COLOURS,
)
from emgis.texts import Texts, texts

#: The fixed update time written (the same results give the same file).
_UPDATE_TIME = "2000-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class Rule:
    """Features whose ``field`` equals ``value`` (or matching ``expression``) drawn in
    ``colour`` and listed as ``label`` in the QGIS legend."""

    label: str
    colour: str
    value: str | None = None
    expression: str | None = None


@dataclass(frozen=True)
class Style:
    """How one layer is drawn in QGIS.

    Attributes
    ----------
    geometry
        ``"point"``, ``"line"`` or ``"polygon"``.
    colour
        Colour of features no rule matches (or of all without rules).
    field
        The field the rules compare (None: one symbol for all).
    rules
        The categories.
    group
        An outer filter per group: (label, expression, shown on opening); each group holds
        every rule (e.g. one group per unit kind, one kind shown).
    label_field
        The field written beside each feature (None: no labels).
    label_scale
        Largest scale denominator at which labels are shown.
    size
        Point size or line width, millimetres.
    fill_opacity
        Polygon fill opacity (0-1).
    dashed
        Draw lines (and polygon outlines) dashed.
    """

    geometry: str
    colour: str = "#555555"
    field: str | None = None
    rules: tuple[Rule, ...] = ()
    groups: tuple[tuple[str, str, bool], ...] = ()
    label_field: str | None = None
    label_scale: float = 50_000
    size: float = 2.6
    fill_opacity: float = 0.3
    dashed: bool = False
    description: str = ""


def _rgba(hex_colour: str, alpha: float = 1.0) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _props(props: Mapping[str, str]) -> str:
    opts = "".join(f'<Option name={quoteattr(k)} value={quoteattr(v)} type="QString"/>'
                   for k, v in props.items())
    legacy = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return f'<Option type="Map">{opts}</Option>{legacy}'


def _symbol(style: Style, colour: str, name: str) -> str:
    if style.geometry == "point":
        kind, cls = "marker", "SimpleMarker"
        props = {"name": "circle", "color": _rgba(colour), "outline_color": "35,35,35,255",
                 "outline_width": "0.2", "size": f"{style.size:g}", "size_unit": "MM"}
    elif style.geometry == "line":
        kind, cls = "line", "SimpleLine"
        props = {"line_color": _rgba(colour), "line_width": f"{style.size:g}",
                 "line_width_unit": "MM", "line_style": "dash" if style.dashed else "solid",
                 "capstyle": "round", "joinstyle": "round"}
    else:
        kind, cls = "fill", "SimpleFill"
        props = {"color": _rgba(colour, style.fill_opacity), "style": "solid",
                 "outline_color": _rgba(colour), "outline_width": "0.4",
                 "outline_width_unit": "MM",
                 "outline_style": "dash" if style.dashed else "solid"}
    return (f'<symbol type="{kind}" name={quoteattr(name)} alpha="1" clip_to_extent="1" '
            f'force_rhr="0"><layer class="{cls}" enabled="1" pass="0" locked="0">'
            f"{_props(props)}</layer></symbol>")


def _quote_value(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def qml(style: Style) -> str:
    """The QML document of a style (QGIS 3)."""
    symbols: list[str] = []
    body: str
    if not style.rules and not style.groups:
        symbols.append(_symbol(style, style.colour, "0"))
        body = ('<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" '
                f'enableorderby="0"><symbols>{"".join(symbols)}</symbols></renderer-v2>')
    else:
        def rule_xml(r: Rule, key: str) -> str:
            expr = r.expression if r.expression is not None else \
                f'"{style.field}" = {_quote_value(str(r.value))}'
            symbols.append(_symbol(style, r.colour, str(len(symbols))))
            return (f"<rule key={quoteattr(key)} filter={quoteattr(expr)} "
                    f"symbol={quoteattr(str(len(symbols) - 1))} label={quoteattr(r.label)}/>")

        inner = []
        groups = style.groups or (("", "", True),)
        for gi, (glabel, gexpr, shown) in enumerate(groups):
            rules = "".join(rule_xml(r, f"r{gi}_{ri}") for ri, r in enumerate(style.rules))
            if not glabel:
                inner.append(rules)
            else:
                inner.append(f"<rule key={quoteattr(f'g{gi}')} filter={quoteattr(gexpr)} "
                             f"label={quoteattr(glabel)} checkstate={quoteattr(str(int(shown)))}"
                             f">{rules}</rule>")
        body = ('<renderer-v2 type="RuleRenderer" symbollevels="0" forceraster="0" '
                f'enableorderby="0"><rules key="root">{"".join(inner)}</rules>'
                f'<symbols>{"".join(symbols)}</symbols></renderer-v2>')
    labels = ""
    flags = 'placementFlags="10" ' if style.geometry == "line" else ""
    if style.label_field:
        labels = (
            '<labeling type="simple"><settings calloutType="simple">'
            f"<text-style fieldName={quoteattr(style.label_field)} isExpression=\"0\" "
            'fontSize="9" fontSizeUnit="Point" textColor="20,20,20,255" '
            'fontFamily="Noto Sans CJK SC" textOpacity="1">'
            '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" '
            'bufferColor="255,255,255,255" bufferOpacity="1"/></text-style>'
            '<placement placement="1" dist="1.5" distUnits="MM" '
            f"{flags}/>"
            f'<rendering scaleVisibility="1" scaleMin="1" scaleMax="{style.label_scale:g}" '
            'obstacle="1"/></settings></labeling>')
    enabled = "1" if style.label_field else "0"
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="3.22.0" styleCategories="Symbology|Labeling" '
            f'labelsEnabled="{enabled}">{body}{labels}</qgis>\n')


def add_styles(path: str | Path, styles: Mapping[str, Style], *,
               geometry_column: str = "geometry") -> None:
    """Write the ``layer_styles`` table of a GeoPackage: a default style for each layer."""
    con = sqlite3.connect(str(path))
    try:
        with con:
            con.execute('DROP TABLE IF EXISTS "layer_styles"')
            con.execute("DELETE FROM gpkg_contents WHERE table_name = 'layer_styles'")
            con.execute(
                'CREATE TABLE "layer_styles" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
                '"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), '
                '"f_table_name" TEXT(256), "f_geometry_column" TEXT(256), '
                '"styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, '
                '"useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), '
                '"ui" TEXT(30), "update_time" DATETIME)')
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                "last_change, srs_id) VALUES ('layer_styles', 'attributes', 'layer_styles', "
                f"'', '{_UPDATE_TIME}', 0)")
            geom_cols = dict(con.execute(
                "SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
            for layer, style in styles.items():
                con.execute(
                    'INSERT INTO "layer_styles" ("f_table_catalog", "f_table_schema", '
                    '"f_table_name", "f_geometry_column", "styleName", "styleQML", '
                    '"styleSLD", "useAsDefault", "description", "owner", "ui", '
                    '"update_time") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                    ("", "", layer, geom_cols.get(layer, geometry_column), f"emgis {layer}",
                     qml(style), "", 1, style.description or f"emgis {layer}", "", None,
                     _UPDATE_TIME))
    finally:
        con.close()


# -- the styles of emgis's layers ---------------------------------------------------------


def _status_rules(t: Texts) -> tuple[Rule, ...]:

    return tuple(Rule(t.status(s), CLASS_COLOURS[s], value=s)
                 for s in ("covered", "over_target", "cut_off", "no_road_access", "no_unit"))


def _kind_groups(kinds: Sequence[str], t: Texts) -> tuple[tuple[str, str, bool], ...]:
    return tuple((t.kind(k), f'"kind" = {_quote_value(k)}', i == 0)
                 for i, k in enumerate(kinds))


def coverage_styles(kinds: Sequence[str], lang: str = "en", *,
                    breaks: Sequence[float] = ()) -> dict[str, Style]:
    """Styles of ``coverage.gpkg``: villages by status (a group per kind, the first shown),
    units by kind, service areas by break (a group per kind, the first shown), uncovered
    areas."""

    t = texts(lang)
    shades = ("#0c2c84", "#225ea8", "#1d91c0", "#41b6c4", "#7fcdbb", "#c7e9b4")
    area_rules = tuple(Rule(t.fmt("map.area_break", b=f"{b:g}"), shades[min(i, 5)],
                            expression=f'"scope" = \'kind\' AND "break_min" = {b:g}')
                       for i, b in enumerate(sorted(breaks)))
    return {
        "coverage": Style("point", field="status", rules=_status_rules(t),
                          groups=_kind_groups(kinds, t), label_field="village_name"),
        "units": Style("point", field="kind", size=3.4, label_field="name", rules=tuple(
            Rule(t.kind(k), KIND_COLOURS.get(k, "#555555"), value=k) for k in kinds)),
        "service_areas": Style("polygon", colour="#41b6c4", fill_opacity=0.15,
                               rules=area_rules, groups=_kind_groups(kinds, t))
        if area_rules else Style("polygon", colour="#41b6c4", fill_opacity=0.15),
        "uncovered": Style("polygon", colour="#d73027", fill_opacity=0.25, dashed=True),
        "zones": Style("polygon", colour="#6a3d9a", fill_opacity=0.08, label_field="unit_name",
                       rules=(Rule(t["map.zones_layer"], "#6a3d9a", expression="TRUE"),),
                       groups=_kind_groups(kinds, t)),
    }


def scenario_styles(lang: str = "en") -> dict[str, Style]:
    """Styles of a scenario's GeoPackage, in the scenario map's colours."""
    C = SCENARIO_COLOURS

    t = texts(lang)
    return {
        "villages": Style("point", label_field="village_name", rules=(
            Rule(t["map.island"], C["island"], expression='"island"'),
            Rule(t["map.lost"], C["lost"], expression="NOT \"island\" AND "
                 "\"kinds_losing_cover\" <> ''"),
            Rule(t["map.kept"], C["kept"], expression="NOT \"island\" AND "
                 "(\"kinds_losing_cover\" = '' OR \"kinds_losing_cover\" IS NULL)"))),
        "units": Style("point", field="status", size=3.2, label_field="unit_name", rules=(
            Rule(t.get("unit_status", "in_action"), "#1a9850", value="in_action"),
            Rule(t.get("unit_status", "out_of_action"), "#d73027", value="out_of_action"),
            Rule(t.get("unit_status", "cut_off"), "#542788", value="cut_off"))),
        "evacuation": Style("line", colour=C["evac"], size=0.8, dashed=True),
        "shelters": Style("point", size=3.6, label_field="shelter_name", rules=(
            Rule(t["map.unusable"], C["shelter_unusable"], expression='NOT "usable"'),
            Rule(t["map.full"], C["shelter_full"], expression='"usable" AND '
                 '"load_share" >= 0.999'),
            Rule(t["map.half"], C["shelter_half"], expression='"usable" AND '
                 '"load_share" > 0.5 AND "load_share" < 0.999'),
            Rule(t["map.room"], C["shelter_room"], expression='"usable" AND '
                 '"load_share" <= 0.5'))),
        "hazard_zones": Style("polygon", field="effect", fill_opacity=0.3, label_field="name",
                              rules=(Rule(t.get("effect", "closed"), C["zone_closed"],
                                          value="closed"),
                                     Rule(t.get("effect", "slowed"), C["zone_slowed"],
                                          value="slowed"))),
        "affected_roads": Style("line", field="effect", size=1.2, rules=(
            Rule(t.get("effect", "closed"), C["road_closed"], value="closed"),
            Rule(t.get("effect", "slowed"), C["road_slowed"], value="slowed"))),
    }


def siting_styles(lang: str = "en") -> dict[str, Style]:
    """Styles of a siting GeoPackage: proposals numbered, villages before/after."""
    C = SITING_COLOURS

    t = texts(lang)
    return {
        "proposals": Style("point", colour=C["proposal"], size=4.2, label_field="rank"),
        "villages": Style("point", label_field="village_name", rules=(
            Rule(t["map.newly_covered"], C["new"], expression='"newly_covered"'),
            Rule(t["map.covered_before"], C["before"], expression='"covered_before"'),
            Rule(t["map.still_outside"], C["out"],
                 expression='NOT "newly_covered" AND NOT "covered_before"'))),
    }


def warning_styles(lang: str = "en") -> dict[str, Style]:
    """Styles of ``warnings.gpkg``: villages by status, points, reach circles, proposals."""
    C = WARNING_COLOURS

    t = texts(lang)
    return {
        "villages": Style("point", field="status", label_field="village_name", rules=(
            Rule(t.get("compliance_status", "meets"), C["meets"], value="meets"),
            Rule(t.get("compliance_status", "below"), C["low"], value="below"))),
        "warning_points": Style("point", colour=C["point"], size=3.0, label_field="name"),
        "reach": Style("polygon", colour=C["point"], fill_opacity=0.12),
        "proposals": Style("point", colour=C["proposal"], size=4.0, label_field="rank"),
    }
