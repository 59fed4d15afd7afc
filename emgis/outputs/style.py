"""What every output draws with: palettes, icons, the labels of kinds and response classes,
and the map-data credit (one place, so maps, the report, the workbook and QGIS styles agree)."""

from __future__ import annotations

from emgis.inputs.district import District
from emgis.texts import Texts, texts

CREDIT = "© OpenStreetMap contributors"

#: Colour of each kind's unit marker (its glyph is the catalogue's ``glyph`` section).
KIND_COLOURS: dict[str, str] = {
    "micro_fire_station": "#d7301f", "fire_station": "#990000",
    "township_fire_brigade": "#b30000", "township_rescue_team": "#0868ac",
    "village_team": "#43a2ca", "forest_fire_team": "#238b45", "medical": "#c51b8a",
    "enterprise_brigade": "#7a0177", "stockpile": "#8c510a", "shelter_emergency": "#35978f",
    "shelter_fixed": "#01665e", "social_rescue_team": "#4d4d4d",
}


def icon_of(kind: str, lang: str) -> tuple[str, str]:
    """Glyph and colour of a kind's marker in a language."""
    return texts(lang).get("glyph", kind, "?"), KIND_COLOURS.get(kind, "#555")


def label_of(kind: str, lang: str) -> str:
    """A kind's name in a language."""
    return texts(lang).kind(kind)


#: Response-time classes of a village for a kind, with their colours.
CLASS_COLOURS: dict[str, str] = {
    "covered": "#1a9850",
    "over_target": "#fdae61",
    "far_over": "#d73027",
    "cut_off": "#542788",
    "no_road_access": "#737373",
    "no_unit": "#bdbdbd",
}

#: Road classes drawn on every map (interactive and the report's overview), in order of
#: importance: (classes, colour, width in pixels). One muted olive hue, darker and wider for
#: the major roads, so the width carries the class and no road colour is near any village
#: class of any map (green, orange, red, purple, blue and the greys of "no road access" and
#: "no unit": CIELAB distance above 20, drawn at :data:`ROAD_OPACITY` too; a test checks it).
ROAD_CLASSES: tuple[tuple[tuple[str, ...], str, float], ...] = (
    (("motorway", "motorway_link", "trunk", "trunk_link"), "#6f6d2f", 3.5),
    (("primary", "primary_link"), "#7f7d38", 3.0),
    (("secondary", "secondary_link", "tertiary", "tertiary_link"), "#8e8c48", 2.2),
    (("unclassified", "residential", "living_street", "road", "busway"), "#a09e5e", 1.4),
    (("service", "track"), "#b3b07a", 1.0),
)
#: Opacity of the road lines on the interactive maps.
ROAD_OPACITY = 0.85

#: Township boundaries and names (dark slate, dashed; names larger than village names).
TOWNSHIP_COLOUR = "#37474f"

#: Scenario map colours: villages (circles) and shelters (square pins), no colour shared.
SCENARIO_COLOURS: dict[str, str] = {
    "island": "#542788", "lost": "#d73027", "kept": "#1a9850",
    "zone_closed": "#b2182b", "zone_slowed": "#ef8a62", "road_closed": "#67001f",
    "road_slowed": "#f46d43", "evac": "#2166ac",
    "shelter_room": "#4393c3", "shelter_half": "#35978f", "shelter_full": "#1b1b1b",
    "shelter_unusable": "#969696",
    "unit_out": "#252525", "unit_cut": "#542788", "badge_out": "#d73027",
    "badge_cut": "#fdae61",
}

#: Colours of neighbouring units' zones (a qualitative palette, cycled).
ZONE_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
                "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99")

#: Siting map colours.
SITING_COLOURS: dict[str, str] = {"before": "#1a9850", "new": "#2166ac", "out": "#d73027",
                                  "proposal": "#6a3d9a"}


def response_class(nearest_min: float, target: float, status: str) -> str:
    """Colour class of a village: covered, over_target (up to 2x), far_over, or its status."""
    if status in ("covered", "cut_off", "no_road_access", "no_unit"):
        return status
    return "over_target" if nearest_min <= 2 * target else "far_over"


def credit_of(district: District) -> str:
    """The map-data credit: ``[district] credit``, else the OSM credit when the roads are
    OpenStreetMap data, else none."""
    if district.credit:
        return district.credit
    if district.roads is not None and district.roads.format == "osm":
        return CREDIT
    return ""


#: Fill of an existing unit on the what-if page (unlike any village class).
WHATIF_UNIT = "#08306b"


#: Warning map colours: villages by the share of their people within reach.
WARNING_COLOURS: dict[str, str] = {"meets": "#1a9850", "half": "#fdae61", "low": "#d73027",
                                   "point": "#225ea8", "proposal": "#6a3d9a"}


def scenario_label(name: str, t: Texts) -> str:
    """A scenario's name: the catalogue's words for the default names, else as given."""
    return t.get("scenario", name)
