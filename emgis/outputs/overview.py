"""The report's static overview map: a picture drawn offline with matplotlib."""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pandas as pd

from emgis.inputs.district import District
from emgis.outputs.style import CLASS_COLOURS, response_class
from emgis.roads.edges import EdgeArrays

#: Colours of the overview image (the report's static map).
OVERVIEW_ROADS = ((("motorway", "motorway_link", "trunk", "trunk_link", "primary",
                    "primary_link"), "#e67e22", 1.4),
                  (("secondary", "secondary_link", "tertiary", "tertiary_link"), "#d4ac0d", 0.9),
                  (("unclassified", "residential", "living_street", "road", "busway", "service",
                    "track"), "#b3b6b7", 0.4))


#: Road segments above which the overview draws each road piece as its chord (a province's
#: million segments are sub-pixel at report size and took 16 s to draw).
OVERVIEW_MAX_SEGMENTS = 400_000


def overview_png(network: EdgeArrays, district: District, table: pd.DataFrame, kind: str,
                 proposals: gpd.GeoDataFrame | None = None, *, width_mm: float = 180,
                 height_mm: float = 120) -> bytes:
    """A static overview of the district for the report, drawn offline (matplotlib): roads by
    class, township boundaries, villages coloured by their time from the nearest unit of
    ``kind`` (green within target, orange up to twice it, red beyond, grey without a time),
    proposed sites numbered. The legend is the report's caption (no text in the image, so
    any language reads it). Returns PNG bytes (the same inputs give the same bytes)."""

    import matplotlib  # deferred: loads matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: loads matplotlib
    from matplotlib.collections import LineCollection  # deferred: loads matplotlib

    fig = plt.figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=150)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_aspect("equal")
    once = (network.twin < 0) | (np.arange(network.n_edges) < network.twin)
    cls = np.array(network.classes, dtype=object)[network.vclass[network.vptr[:-1]]] \
        if network.classes else np.array([], dtype=object)
    for classes, colour, lw in reversed(OVERVIEW_ROADS):
        sel = np.flatnonzero(once & np.isin(cls, classes))
        if not len(sel):
            continue
        starts, ends = network.vptr[sel], network.vptr[sel + 1] - 1
        counts = ends - starts
        if counts.sum() > OVERVIEW_MAX_SEGMENTS:  # a province: each road piece as its chord
            first, counts = starts, np.ones_like(counts)
            second = ends
        else:  # every segment of every piece, built at once
            offsets = np.repeat(np.cumsum(counts) - counts, counts)
            first = np.repeat(starts, counts) + (np.arange(counts.sum()) - offsets)
            second = first + 1
        segs = np.stack([np.column_stack([network.vx[first], network.vy[first]]),
                         np.column_stack([network.vx[second], network.vy[second]])], axis=1)
        ax.add_collection(LineCollection(list(segs), colors=colour, linewidths=lw, zorder=1,
                                         capstyle="round"))
    for g in district.townships.geometry:
        for poly in getattr(g, "geoms", [g]):
            x, y = poly.exterior.xy
            ax.plot(x, y, color="#444", lw=0.8, ls=(0, (4, 3)), zorder=2)
    rows = table[table["kind"] == kind]
    v = district.villages
    colours = []
    for nearest, target, status in zip(rows["nearest_min"], rows["target_min"], rows["status"],
                                       strict=True):
        cls_ = response_class(nearest, target, status)
        colours.append(CLASS_COLOURS[cls_])
    sizes = np.clip(np.sqrt(v["population"].fillna(0).to_numpy(dtype=float)) / 3, 6, 60)
    ax.scatter(v.geometry.x, v.geometry.y, s=sizes, c=colours, edgecolors="#222",
               linewidths=0.4, zorder=3)
    if proposals is not None and len(proposals):
        for rank, g in zip(proposals["rank"], proposals.geometry, strict=True):
            ax.scatter([g.x], [g.y], s=150, marker="s", c="#6a3d9a", edgecolors="white",
                       linewidths=1.0, zorder=4)
            ax.annotate(str(rank), (g.x, g.y), color="white", ha="center", va="center",
                        fontsize=7, fontweight="bold", zorder=5)
    x0, y0, x1, y1 = (district.area.bounds if district.area is not None
                      else v.total_bounds)
    pad = 0.03 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
