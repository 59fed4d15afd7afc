"""The report's static overview map: a picture drawn offline with matplotlib, with its legend,
township names and the names of the largest villages in the run's language."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from emgis._arrays import ranges
from emgis.inputs.district import District
from emgis.inputs.kinds import units_of
from emgis.outputs.mappage import township_boundaries
from emgis.outputs.style import (
    CLASS_COLOURS,
    KIND_COLOURS,
    ROAD_CLASSES,
    SITING_COLOURS,
    TOWNSHIP_COLOUR,
    label_of,
    response_class,
)
from emgis.roads.edges import EdgeArrays
from emgis.texts import texts

#: Road classes of the overview image: the maps' palette (:data:`ROAD_CLASSES`), widths in
#: points (thinner than on screen: the report's map is small).
OVERVIEW_ROADS = tuple((classes, colour, round(0.4 * width, 2))
                       for classes, colour, width in ROAD_CLASSES)

#: Road segments above which the overview draws each road piece as its chord (a province's
#: million segments are sub-pixel at report size and took 16 s to draw).
OVERVIEW_MAX_SEGMENTS = 400_000

#: Villages named on the overview: all of them up to this many, else the most populous this
#: many (names that would overlap a township's, a larger village's or the legend are left out).
OVERVIEW_VILLAGE_NAMES = 30

#: Font sizes (points) of the overview's names and legend.
TOWNSHIP_FONT_PT = 8.5
VILLAGE_FONT_PT = 6.0
LEGEND_FONT_PT = 6.5

#: Resolution of the overview image.
OVERVIEW_DPI = 150

#: Fonts tried for Chinese text, by family name and by file name (Noto Sans CJK first).
_CJK_NAMES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK", "Source Han Sans",
              "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei",
              "PingFang SC")
_CJK_FILES = re.compile(r"(NotoSansCJK|NotoSansSC|SourceHanSans|wqy-|msyh|simhei|PingFang)",
                        re.I)
_CJK_CHAR = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


@lru_cache(maxsize=1)
def cjk_font() -> tuple[str, str] | None:
    """A font with Chinese glyphs known to matplotlib: (family name, file path), found at
    run time among the system's fonts (Noto Sans CJK from fonts-noto-cjk first; nothing is
    downloaded), or None."""
    from matplotlib import font_manager as fm  # deferred: loads matplotlib

    def known() -> tuple[str, str] | None:
        for want in _CJK_NAMES:
            for f in fm.fontManager.ttflist:
                if f.name == want or (f.name.startswith(want) and "Mono" not in f.name):
                    return f.name, f.fname
        return None

    found = known()
    if found is not None:
        return found
    # fonts installed after matplotlib's font cache was built: register their files
    for path in sorted(p for p in fm.findSystemFonts() if _CJK_FILES.search(p)
                       and "Serif" not in p):
        try:
            fm.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):  # an unreadable font file
            continue
    return known()


def _families() -> list[str]:
    """The font families of the overview's text: DejaVu Sans for Latin letters, the CJK
    font for Chinese (matplotlib falls back glyph by glyph)."""
    cjk = cjk_font()
    return ["DejaVu Sans", *([cjk[0]] if cjk else [])]


def has_cjk(text: str) -> bool:
    """Whether a text holds Chinese (or other CJK) characters."""
    return bool(_CJK_CHAR.search(text))


@dataclass(frozen=True)
class MapLabel:
    """A name placed on the overview: its text, the point it names (the district's CRS),
    ``township`` or ``village``, its box in image pixels (x0, y0, x1, y1, y up), and how it
    sits by the point (alignment, offset in pixels)."""

    text: str
    x: float
    y: float
    role: str
    box: tuple[float, float, float, float]
    ha: str = "center"
    va: str = "center"
    dx: float = 0.0
    dy: float = 0.0


def overview_extent(district: District) -> tuple[float, float, float, float]:
    """The overview's data bounds (the district's area, else its villages, padded 3%)."""
    v = district.villages
    x0, y0, x1, y1 = (float(b) for b in (district.area.bounds if district.area is not None
                                         else v.total_bounds))
    pad = 0.03 * max(x1 - x0, y1 - y0, 1.0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _to_pixels(extent: tuple[float, float, float, float], width_px: float, height_px: float
               ) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Data to image pixels as matplotlib draws an equal-aspect axes filling the figure (the
    box shrunk to the data's aspect, centred)."""
    x0, y0, x1, y1 = extent
    scale = min(width_px / max(x1 - x0, 1e-9), height_px / max(y1 - y0, 1e-9))
    ox = (width_px - (x1 - x0) * scale) / 2
    oy = (height_px - (y1 - y0) * scale) / 2

    def f(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ox + (np.asarray(x) - x0) * scale, oy + (np.asarray(y) - y0) * scale

    return f


def _text_size_px(text: str, size_pt: float, *, bold: bool = False,
                  dpi: float = OVERVIEW_DPI) -> tuple[float, float]:
    """Width and height of a text in pixels, measured with matplotlib's fonts (an estimate
    by character where that fails)."""
    try:
        from matplotlib.font_manager import FontProperties  # deferred: loads matplotlib
        from matplotlib.textpath import text_to_path  # deferred: loads matplotlib

        prop = FontProperties(family=_families(), size=size_pt,
                              weight="bold" if bold else "normal")
        w, h, d = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
        w_pt, h_pt = float(w), max(float(h + d), size_pt * 1.15)
    except Exception:  # a font that cannot be measured: estimate
        w_pt = sum(size_pt * (1.0 if has_cjk(ch) else 0.6) for ch in text)
        h_pt = size_pt * 1.2
    return w_pt * dpi / 72.0, h_pt * dpi / 72.0


def overview_labels(district: District, *, width_mm: float = 180, height_mm: float = 120,
                    max_villages: int = OVERVIEW_VILLAGE_NAMES,
                    avoid: Sequence[tuple[float, float, float, float]] = (),
                    markers: Sequence[tuple[float, float, float, float]] = (),
                    dpi: float = OVERVIEW_DPI) -> list[MapLabel]:
    """The names the overview draws, decluttered in image space: every township's name at a
    point inside it (its representative point), then the villages' names, most populous
    first (all of them up to ``max_villages`` villages, else the ``max_villages`` most
    populous), right of its village, else left, above or below it. A name that would overlap
    one placed before it or a box of ``avoid`` (image pixels, y up: the legend) is left out;
    a village's name also where it would overlap a village's circle or a box of ``markers``
    (units, proposed sites), while a township's name moves above or below its point to keep
    clear of them, or stays at its point if it cannot. Names in Chinese are left out where no
    Chinese font is installed."""
    width_px, height_px = width_mm / 25.4 * dpi, height_mm / 25.4 * dpi
    to_px = _to_pixels(overview_extent(district), width_px, height_px)
    cjk = cjk_font() is not None
    placed: list[tuple[float, float, float, float]] = [
        (float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in avoid]
    out: list[MapLabel] = []

    def free(b: tuple[float, float, float, float]) -> bool:
        if b[0] < 0 or b[1] < 0 or b[2] > width_px or b[3] > height_px:
            return False
        return not any(b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]
                       for o in placed)

    def hits(b: tuple[float, float, float, float],
             boxes: Sequence[tuple[float, float, float, float]]) -> bool:
        return any(b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3] for o in boxes)

    towns = district.townships
    for name, geom in zip(towns["name"], towns.geometry, strict=True):
        if geom is None or geom.is_empty or not isinstance(name, str) or not name.strip():
            continue
        if has_cjk(name) and not cjk:
            continue
        p = geom.representative_point()
        px, py = to_px(np.array([p.x]), np.array([p.y]))
        w, h = _text_size_px(name, TOWNSHIP_FONT_PT, bold=True, dpi=dpi)
        boxes = [(dy, (float(px[0] - w / 2 - 2), float(py[0] + dy - h / 2 - 1),
                       float(px[0] + w / 2 + 2), float(py[0] + dy + h / 2 + 1)))
                 for dy in (0.0, h, -h, 2 * h, -2 * h)]
        fits = [(dy, b) for dy, b in boxes if free(b)]
        clear = [(dy, b) for dy, b in fits if not hits(b, markers)]
        if fits:
            dy, b = (clear or fits)[0]
            placed.append(b)
            out.append(MapLabel(name, float(p.x), float(p.y), "township", b, dy=dy))
    v = district.villages
    if not len(v):
        return out
    pop = v["population"].fillna(0).to_numpy(dtype=float) if "population" in v else \
        np.zeros(len(v))
    order = np.lexsort((np.arange(len(v)), -pop))[:max_villages]
    vx, vy = to_px(v.geometry.x.to_numpy(), v.geometry.y.to_numpy())
    # the circles of the villages named keep clear of the names
    r = np.clip(np.sqrt(np.clip(pop, 0, None)) / 3, 6, 60) ** 0.5 / 2 * dpi / 72
    circles = [(float(vx[i] - r[i]), float(vy[i] - r[i]), float(vx[i] + r[i]),
                float(vy[i] + r[i])) for i in order]
    names = v["name"].astype(str).to_numpy()
    gap = 6.0
    for k, i in enumerate(order):
        name = names[i]
        if not name.strip() or (has_cjk(name) and not cjk):
            continue
        w, h = _text_size_px(name, VILLAGE_FONT_PT, dpi=dpi)
        x, y = float(vx[i]), float(vy[i])
        others = [*markers, *(c for j, c in enumerate(circles) if j != k)]
        for ha, va, dx, dy in (("left", "center", gap, 0.0), ("right", "center", -gap, 0.0),
                               ("center", "bottom", 0.0, gap - 2), ("center", "top", 0.0,
                                                                    -(gap - 2))):
            x0 = x + dx if ha == "left" else (x + dx - w if ha == "right" else x - w / 2)
            y0 = y + dy if va == "bottom" else (y + dy - h if va == "top" else y - h / 2)
            b = (x0 - 1, y0 - 1, x0 + w + 1, y0 + h + 1)
            if free(b) and not hits(b, others):
                placed.append(b)
                out.append(MapLabel(name, float(v.geometry.x.iloc[i]),
                                    float(v.geometry.y.iloc[i]), "village", b, ha, va, dx, dy))
                break
    return out


def marker_boxes(district: District, points: gpd.GeoSeries, size_pt: float, *,
                 width_mm: float = 180, height_mm: float = 120, dpi: float = OVERVIEW_DPI
                 ) -> list[tuple[float, float, float, float]]:
    """The image boxes (pixels, y up) of square markers of ``size_pt`` points at ``points``
    (the district's CRS): names keep clear of them."""
    if not len(points):
        return []
    to_px = _to_pixels(overview_extent(district), width_mm / 25.4 * dpi, height_mm / 25.4 * dpi)
    px, py = to_px(points.x.to_numpy(), points.y.to_numpy())
    half = size_pt / 2 * dpi / 72 + 1
    return [(float(x - half), float(y - half), float(x + half), float(y + half))
            for x, y in zip(px, py, strict=True)]


def overview_legend(table: pd.DataFrame, kind: str, *, lang: str = "en", has_units: bool = True,
                    has_proposals: bool = False, has_roads: bool = True,
                    has_townships: bool = True) -> tuple[str, list[tuple[str, str, str]]]:
    """The overview's legend: its title and (shape, colour, label) rows: the response classes
    of ``kind`` (those the villages have, within target to beyond twice it always), the units
    of the kind, the proposed sites, the roads (major and minor) and township boundaries.
    Shapes: ``dot``, ``square``, ``road``, ``minor_road``, ``boundary``."""
    t = texts(lang if lang == "en" or cjk_font() is not None else "en")
    rows = table[table["kind"] == kind]
    present = {response_class(n, tg, s) for n, tg, s in zip(
        rows["nearest_min"], rows["target_min"], rows["status"], strict=True)}
    target = float(rows["target_min"].iloc[0]) if len(rows) else float("nan")
    label = label_of(kind, t.lang)
    items: list[tuple[str, str, str]] = [
        ("dot", CLASS_COLOURS[c], t.status(c)) for c in CLASS_COLOURS
        if c in present or c in ("covered", "over_target", "far_over")]
    if has_units:
        items.append(("square", KIND_COLOURS.get(kind, "#555"), label))
    if has_proposals:
        items.append(("square", SITING_COLOURS["proposal"],
                      ("" if t.lang == "zh" else " ").join([t["map.proposed"], label])))
    if has_roads:
        items.append(("road", ROAD_CLASSES[1][1], t["map.roads"]))
    if has_townships:
        items.append(("boundary", TOWNSHIP_COLOUR, t["map.townships"]))
    head = f"{t['map.legend']}: {label}"
    if np.isfinite(target):
        head += f" (≤ {target:g} {t['unit.min']})"
    return head, items


Corner = Literal["lower left", "lower right", "upper left", "upper right"]


def _legend_corner(district: District, extent: tuple[float, float, float, float]) -> Corner:
    """The corner of the image with the fewest villages (the legend goes there)."""
    x0, y0, x1, y1 = extent
    v = district.villages
    x, y = v.geometry.x.to_numpy(), v.geometry.y.to_numpy()
    w, h = (x1 - x0) * 0.35, (y1 - y0) * 0.45
    corners: dict[Corner, np.ndarray] = {"lower left": (x < x0 + w) & (y < y0 + h),
               "lower right": (x > x1 - w) & (y < y0 + h),
               "upper left": (x < x0 + w) & (y > y1 - h),
               "upper right": (x > x1 - w) & (y > y1 - h)}
    return min(corners, key=lambda k: (int(corners[k].sum()), list(corners).index(k)))


def _road_lines(network: EdgeArrays, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The x and y of the road pieces ``sel`` as one line, a NaN after each piece: every
    vertex of each piece, or (more than :data:`OVERVIEW_MAX_SEGMENTS` segments, a province)
    each piece as its chord."""
    starts, ends = network.vptr[sel], network.vptr[sel + 1] - 1
    counts = ends - starts
    if counts.sum() > OVERVIEW_MAX_SEGMENTS:  # a province: each road piece as its chord
        idx = np.column_stack([starts, ends, np.full(len(sel), -1)]).ravel()
    else:  # every vertex of every piece, then a separator, built at once
        n = counts + 2  # the piece's vertices and its separator
        idx = ranges(starts, n)
        idx[np.cumsum(n) - 1] = -1
    sep = idx < 0
    x, y = network.vx[idx], network.vy[idx]
    x[sep] = np.nan
    y[sep] = np.nan
    return x, y


def overview_png(network: EdgeArrays, district: District, table: pd.DataFrame, kind: str,
                 proposals: gpd.GeoDataFrame | None = None, *, width_mm: float = 180,
                 height_mm: float = 120, lang: str = "en") -> bytes:
    """See :func:`_overview_png`; a name holding a character no font draws (a private-use
    code point typed by mistake) is drawn with a box where it stands, never a failure."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from font")
        return _overview_png(network, district, table, kind, proposals, width_mm=width_mm,
                             height_mm=height_mm, lang=lang)


def _overview_png(network: EdgeArrays, district: District, table: pd.DataFrame, kind: str,
                  proposals: gpd.GeoDataFrame | None = None, *, width_mm: float = 180,
                  height_mm: float = 120, lang: str = "en") -> bytes:
    """A static overview of the district for the report, drawn offline (matplotlib): roads by
    class, township boundaries and names, villages coloured by their time from the nearest
    unit of ``kind`` (green within target, orange up to twice it, red beyond, grey without a
    time), the kind's units, proposed sites numbered, the names of the largest villages
    (:func:`overview_labels`), and a legend box (:func:`overview_legend`) in the corner with
    the fewest villages, in ``lang`` (Chinese with the system's Noto Sans CJK,
    :func:`cjk_font`). Returns PNG bytes (the same inputs give the same bytes)."""

    import matplotlib  # deferred: loads matplotlib

    matplotlib.use("Agg")
    import matplotlib.patheffects as pe  # deferred: loads matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # deferred: loads matplotlib
    from matplotlib.figure import Figure  # deferred: loads matplotlib
    from matplotlib.lines import Line2D  # deferred: loads matplotlib

    families = _families()
    fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=OVERVIEW_DPI)  # not pyplot's:
    # no figure stays open in a global registry when drawing fails half way
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_aspect("equal")
    once = (network.twin < 0) | (np.arange(network.n_edges) < network.twin)
    cls = np.array(network.classes, dtype=object)[network.vclass[network.vptr[:-1]]] \
        if network.classes else np.array([], dtype=object)
    has_roads = False
    for classes, colour, lw in reversed(OVERVIEW_ROADS):
        sel = np.flatnonzero(once & np.isin(cls, classes))
        if not len(sel):
            continue
        has_roads = True
        x, y = _road_lines(network, sel)
        # the class as one line, its pieces parted by NaN (one path to draw, not a path per
        # segment: a county's 300,000 segments took seconds as a collection); round caps and
        # joins draw the same band as round-capped segments would
        ax.add_line(Line2D(x, y, color=colour, linewidth=lw, zorder=1,
                           solid_capstyle="round", solid_joinstyle="round"))
    if len(district.townships):
        bounds = township_boundaries(district.townships)
        for line in getattr(bounds, "geoms", [bounds]):
            if line.is_empty:
                continue
            x, y = line.xy
            ax.plot(x, y, color=TOWNSHIP_COLOUR, lw=0.8, ls=(0, (4, 3)), zorder=2)
    rows = table[table["kind"] == kind]
    v = district.villages
    colours = []
    for nearest, target, status in zip(rows["nearest_min"].tolist(),
                                       rows["target_min"].tolist(), rows["status"].tolist(),
                                       strict=True):
        cls_ = response_class(nearest, target, status)
        colours.append(CLASS_COLOURS[cls_])
    sizes = np.clip(np.sqrt(v["population"].fillna(0).to_numpy(dtype=float)) / 3, 6, 60)
    ax.scatter(v.geometry.x, v.geometry.y, s=sizes, c=colours, edgecolors="#222",
               linewidths=0.4, zorder=3)
    units = units_of(district)
    units = units[units["kind"] == kind]
    if len(units):
        ax.scatter(units.geometry.x, units.geometry.y, s=22, marker="s",
                   c=KIND_COLOURS.get(kind, "#555"), edgecolors="white", linewidths=0.7,
                   zorder=4)
    has_props = proposals is not None and len(proposals) > 0
    if proposals is not None and has_props:
        for rank, g in zip(proposals["rank"], proposals.geometry, strict=True):
            ax.scatter([g.x], [g.y], s=150, marker="s", c=SITING_COLOURS["proposal"],
                       edgecolors="white", linewidths=1.0, zorder=5)
            ax.annotate(str(rank), (g.x, g.y), color="white", ha="center", va="center",
                        fontsize=7, fontweight="bold", zorder=6, family=families)
    extent = overview_extent(district)
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])

    head, items = overview_legend(table, kind, lang=lang, has_units=len(units) > 0,
                                  has_proposals=has_props, has_roads=has_roads,
                                  has_townships=len(district.townships) > 0)
    handles = []
    for shape, colour, label in items:
        if shape == "dot":
            h = Line2D([], [], marker="o", ls="", markersize=5, markerfacecolor=colour,
                       markeredgecolor="#222", markeredgewidth=0.4, label=label)
        elif shape == "square":
            h = Line2D([], [], marker="s", ls="", markersize=5, markerfacecolor=colour,
                       markeredgecolor="white", markeredgewidth=0.5, label=label)
        elif shape == "boundary":
            h = Line2D([], [], color=colour, lw=0.8, ls=(0, (4, 3)), label=label)
        else:
            h = Line2D([], [], color=colour, lw=1.4, label=label)
        handles.append(h)
    legend = ax.legend(handles=handles, title=head, loc=_legend_corner(district, extent),
                       prop={"family": families, "size": LEGEND_FONT_PT},
                       title_fontproperties={"family": families, "size": LEGEND_FONT_PT,
                                             "weight": "bold"},
                       frameon=True, facecolor=(1.0, 1.0, 1.0, 0.92), edgecolor="#888888",
                       fancybox=False, borderpad=0.6, handlelength=1.6, alignment="left")
    legend.set_zorder(10)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    lb = legend.get_window_extent(renderer)
    halo = [pe.withStroke(linewidth=2.2, foreground="white")]
    markers = marker_boxes(district, units.geometry, 22 ** 0.5, width_mm=width_mm,
                           height_mm=height_mm)
    if proposals is not None and has_props:
        markers += marker_boxes(district, proposals.geometry, 150 ** 0.5, width_mm=width_mm,
                                height_mm=height_mm)
    for lab in overview_labels(district, width_mm=width_mm, height_mm=height_mm,
                               avoid=[(lb.x0 - 3, lb.y0 - 3, lb.x1 + 3, lb.y1 + 3)],
                               markers=markers):
        if lab.role == "township":
            ax.annotate(lab.text, (lab.x, lab.y), xytext=(0, lab.dy * 72 / OVERVIEW_DPI),
                        textcoords="offset points", ha="center", va="center", zorder=7,
                    fontsize=TOWNSHIP_FONT_PT, fontweight="bold", color=TOWNSHIP_COLOUR,
                    family=families, path_effects=halo)
        else:
            ax.annotate(lab.text, (lab.x, lab.y),
                        xytext=(lab.dx * 72 / OVERVIEW_DPI, lab.dy * 72 / OVERVIEW_DPI),
                        textcoords="offset points", ha=lab.ha, va=lab.va, zorder=7,
                        fontsize=VILLAGE_FONT_PT, color="#111", family=families,
                        path_effects=halo)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
