"""Data quality at a glance: can the roads behind the minutes be trusted, township by township?

OpenStreetMap is thin in rural China (OSMChina's completeness index for 烈山区 is 41/100) and a
bureau's own road data has gaps; where roads are missing, villages snap to a far road and their
minutes measure the missing road, not the distance. Per township this finds:

- how far its villages are from the nearest road: the access distance the snapping already
  computed (the engine's snapped locations, :mod:`emgis.roads.snapping`; the same ``access_m``
  as ``coverage.csv``), its median and largest value;
- the villages farther than ``[quality] far_m`` (default 500 m) from any road, their share and
  the persons living in them;
- the km of road inside the township's boundary (clipped to it, a two-way road counted once)
  and km of road per km² of the boundary's area (in the district's metric CRS); a township
  without a boundary in the townships layer says so;
- a verdict: ``thinly_mapped`` when the share of far villages exceeds
  ``[quality] thin_far_share`` (default 0.5) or the road density is below
  ``[quality] min_road_km_per_km2`` (default 0.5 km/km²), with the reason in words
  (:class:`~emgis.texts.Msg`, e.g. "某某镇 thinly mapped: 9 of 14 villages more than 500 m from
  any road"); else ``ok``.

The thresholds are planning assumptions of the standards profile
(:data:`emgis.inputs.standards.QUALITY`, with their rationale), overridable in ``district.toml``
``[quality]``. The same figures for the whole district close the table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

import numpy as np
import pandas as pd
import shapely

from emgis.roads.cache import fingerprint, keep_beside, network_digest, read_beside
from emgis.roads.edges import EdgeArrays
from emgis.roads.snapping import snap_points
from emgis.texts import Msg, Texts, texts

if TYPE_CHECKING:
    from emgis.inputs.district import District
    from emgis.roads.engine import Engine

#: Columns of the per-township table (and of the district row).
COLUMNS = ["township", "villages", "population", "villages_far", "far_share",
           "population_far", "access_median_m", "access_max_m", "area_km2", "road_km",
           "road_km_per_km2", "verdict", "note"]

#: Columns of the per-village table.
VILLAGE_COLUMNS = ["village_id", "village_name", "township", "population", "access_m",
                   "snap_status", "far"]

#: Decimals of the written table (:meth:`DataQuality.table`).
_DIGITS = {"far_share": 4, "access_median_m": 1, "access_max_m": 1, "area_km2": 3,
           "road_km": 3, "road_km_per_km2": 3}


@dataclass(frozen=True)
class DataQuality:
    """What :func:`data_quality` found.

    Attributes
    ----------
    townships
        One row per township (the townships layer's order, then townships only the villages
        name): ``township``, ``villages``, ``population``, ``villages_far``, ``far_share``
        (NaN without villages), ``population_far``, ``access_median_m``, ``access_max_m``,
        ``area_km2``, ``road_km`` and ``road_km_per_km2`` (NaN without a boundary),
        ``verdict`` (``thinly_mapped`` or ``ok``) and ``note`` (the reasons, a
        :class:`~emgis.texts.Msg`, or ``""``).
    district
        The same figures for the whole district (``township`` empty; area and road km within
        the district's area: the union of the townships, else ``[district] bbox``).
    villages
        One row per village: ``village_id``, ``village_name``, ``township``, ``population``,
        ``access_m`` (metres to its road, NaN where no road at all), ``snap_status`` and
        ``far``.
    warnings
        What the planner must see: each thinly mapped township with its reasons, each township
        without a boundary.
    far_m, thin_far_share, min_road_km_per_km2
        The thresholds used.
    """

    townships: pd.DataFrame
    district: pd.Series
    villages: pd.DataFrame
    warnings: tuple[Msg, ...]
    far_m: float
    thin_far_share: float
    min_road_km_per_km2: float

    @property
    def thin(self) -> list[str]:
        """The thinly mapped townships, in table order."""
        rows = self.townships[self.townships["verdict"] == "thinly_mapped"]
        return [str(n) for n in rows["township"]]

    def table(self, lang: str | Texts = "en") -> pd.DataFrame:
        """The townships and the district row in one table (``scope`` first: ``township`` or
        ``district``), notes said in ``lang``, figures rounded for reading (as
        ``quality.csv`` and the workbook's sheet hold it)."""
        t = lang if isinstance(lang, Texts) else texts(lang)
        whole = pd.DataFrame([self.district.to_dict()], columns=COLUMNS)
        both = pd.concat([self.townships.astype(object), whole.astype(object)],
                         ignore_index=True) if len(self.townships) else whole
        both.insert(0, "scope", ["township"] * len(self.townships) + ["district"])
        both.loc[len(both) - 1, "township"] = t["quality.district_row"]
        both["note"] = [n.say(t) if isinstance(n, Msg) else str(n or "") for n in both["note"]]
        for col in ("villages", "population", "villages_far", "population_far"):
            both[col] = both[col].astype(np.int64)
        for col in ("far_share", "access_median_m", "access_max_m", "area_km2", "road_km",
                    "road_km_per_km2"):
            both[col] = both[col].astype(float).round(_DIGITS[col])
        return both


def data_quality(district: District, network: EdgeArrays, *, engine: Engine | None = None,
                 cache: Path | None = None) -> DataQuality:
    """The data quality of a district's roads, per township and for the whole district.

    Parameters
    ----------
    district
        The validated district (villages, townships with their boundaries, ``[quality]``).
    network
        Its road network (metres, the district's CRS).
    engine
        The district's engine (:class:`~emgis.roads.engine.Engine`): its villages' snapped
        locations are reused; without one the villages are snapped here
        (:func:`emgis.roads.snapping.snap_points`, the same rule).
    cache
        The network cache the network was read from: each area's kilometres of road are kept
        beside it (:func:`road_kms`) and read from there by the next run on the same roads and
        areas.

    Returns
    -------
    DataQuality
    """
    q = district.settings.quality
    far_m = float(q["far_m"].value)
    share_max = float(q["thin_far_share"].value)
    dens_min = float(q["min_road_km_per_km2"].value)
    v = district.villages
    if engine is not None and engine.n_villages == len(v):
        snaps = engine.snaps.iloc[:engine.n_villages]
    else:
        snaps = snap_points(network, v.geometry, settings=district.settings)
    access = snaps["access_m"].to_numpy(dtype=float, na_value=np.nan)
    far = ~(access <= far_m)  # no road at all (NaN) is far too
    villages = pd.DataFrame({
        "village_id": v["id"].to_numpy(), "village_name": v["name"].to_numpy(),
        "township": v["township"].to_numpy(dtype=object),
        "population": v["population"].fillna(0).to_numpy(dtype=float).astype(np.int64),
        "access_m": access, "snap_status": snaps["status"].to_numpy(dtype=object), "far": far,
    }, columns=VILLAGE_COLUMNS)

    bounds = _boundaries(district)
    names = list(dict.fromkeys([*district.township_names(),
                                *sorted({str(t) for t in v["township"].dropna()})]))
    town_of = np.array(["" if pd.isna(t) else str(t) for t in v["township"]], dtype=object)
    rows: list[dict[str, object]] = []
    warnings: list[Msg] = []
    kms = road_kms(network, [*(bounds.get(name) for name in names), district.area], cache=cache)
    for i, name in enumerate(names):
        sel = town_of == name
        area = bounds.get(name)
        row = _row(name, villages[sel], area, kms[i], far_m, share_max, dens_min)
        rows.append(row)
        if row["verdict"] == "thinly_mapped":
            warnings.append(Msg("quality_thin", township=name, reasons=row.pop("_reasons")))
        if area is None:
            warnings.append(Msg("quality_no_boundary", township=name))
        row.pop("_reasons", None)
    table = pd.DataFrame(rows, columns=COLUMNS)
    whole = _row("", villages, district.area, kms[-1], far_m, share_max, dens_min)
    if whole["verdict"] == "thinly_mapped" and not any(
            r["verdict"] == "thinly_mapped" for r in rows):
        warnings.append(Msg("quality_thin", township=district.name, reasons=whole["_reasons"]))
    whole.pop("_reasons", None)
    return DataQuality(table, pd.Series(whole, index=COLUMNS, dtype=object), villages,
                       tuple(warnings), far_m, share_max, dens_min)


def _boundaries(district: District) -> dict[str, shapely.Geometry]:
    """Each township's boundary (polygons of the same name merged); townships whose record
    has no area (a point, an empty geometry) are left out."""
    towns = district.townships
    out: dict[str, list[shapely.Geometry]] = {}
    if not len(towns):
        return {}
    for name, g in zip(towns["name"], towns.geometry.values, strict=True):
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon") \
                or not g.area > 0:
            continue
        out.setdefault(str(name), []).append(g)
    return {k: (gs[0] if len(gs) == 1 else shapely.union_all(gs)) for k, gs in out.items()}


def road_km_within(network: EdgeArrays, area: shapely.Geometry) -> float:
    """Kilometres of road inside ``area`` (the parts of edges within it; a two-way road
    counted once)."""
    if network.n_edges == 0 or area is None or area.is_empty:
        return 0.0
    # the edges whose boxes meet the area, then the area prepared once for both tests (the
    # tree's own test of each edge took as long as both)
    hit = network.tree.query(area)
    hit = hit[(network.twin[hit] < 0) | (hit < network.twin[hit])]
    if not len(hit):
        return 0.0
    lines = network.geometry[hit]
    shapely.prepare(area)
    inside = shapely.covers(area, lines)
    metres = float(network.length[hit[inside]].sum())
    rest = np.flatnonzero(~inside)
    rest = rest[shapely.intersects(area, lines[rest])]
    if len(rest):
        metres += float(shapely.length(shapely.intersection(lines[rest], area)).sum())
    return metres / 1000.0


#: Version of the kilometres of road kept beside the network cache (:func:`road_kms`): bump it
#: when :func:`road_km_within` measures differently.
ROAD_KM_FORMAT = 1


def _has_area(area: shapely.Geometry | None) -> TypeGuard[shapely.Geometry]:
    """Whether there is an area to measure: a geometry, not empty, of some area."""
    return area is not None and not area.is_empty and area.area > 0


def road_kms(network: EdgeArrays, areas: Sequence[shapely.Geometry | None], *,
             cache: Path | None = None) -> list[float]:
    """:func:`road_km_within` of each area (NaN for one of no area).

    With ``cache`` (the network cache file), the figures are kept beside it under the digest
    of the roads and of every area, and read back by the next run on the same roads and
    areas (a province's 101 areas took 1.4 CPU-s at every run)."""
    has = [_has_area(a) for a in areas]
    name = None
    if cache is not None:
        shapes = [np.frombuffer(shapely.to_wkb(a), dtype=np.uint8) if ok
                  else np.zeros(0, dtype=np.uint8) for a, ok in zip(areas, has, strict=True)]
        name = "roadkm-" + fingerprint(*shapes, extra=repr((
            ROAD_KM_FORMAT, network_digest(network), has))) + ".json"
        kept = _kms_of(read_beside(cache, name), has)
        if kept is not None:
            return kept
    out = [road_km_within(network, a) if ok else float("nan")
           for a, ok in zip(areas, has, strict=True)]
    if name is not None:
        keep_beside(cache, name, json.dumps([v if ok else None
                                             for v, ok in zip(out, has, strict=True)]))
    return out


def _kms_of(text: str | None, has: Sequence[bool]) -> list[float] | None:
    """The figures of a kept text: a number for each area that has one, null for the others
    (else None: made again)."""
    if text is None:
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if not isinstance(values, list) or len(values) != len(has):
        return None
    out: list[float] = []
    for v, ok in zip(values, has, strict=True):
        if ok and isinstance(v, float) and math.isfinite(v) and v >= 0:
            out.append(v)
        elif not ok and v is None:
            out.append(float("nan"))
        else:
            return None
    return out


def _row(name: str, villages: pd.DataFrame, area: shapely.Geometry | None,
         road_km: float, far_m: float, share_max: float, dens_min: float
         ) -> dict[str, object]:
    """One row of the table (with its reasons under ``_reasons``)."""
    n = len(villages)
    far = villages["far"].to_numpy(dtype=bool)
    access = villages["access_m"].to_numpy(dtype=float)
    known = access[np.isfinite(access)]
    n_far = int(far.sum())
    share = n_far / n if n else np.nan
    if _has_area(area):
        area_km2 = float(area.area) / 1e6
        density = road_km / area_km2
    else:
        area_km2 = road_km = density = np.nan
    reasons: list[Msg] = []
    if n and share > share_max:
        reasons.append(Msg("quality_far", far=n_far, villages=n, m=f"{far_m:g}"))
    if np.isfinite(density) and density < dens_min:
        reasons.append(Msg("quality_sparse", density=f"{density:.3g}", min=f"{dens_min:g}"))
    note: object = Msg("quality_note", reasons=tuple(reasons)) if reasons else ""
    if not np.isfinite(area_km2) and name:
        note = Msg("quality_note", reasons=(*reasons, Msg("quality_density_unknown")))
    return {
        "township": name, "villages": n,
        "population": int(villages["population"].sum()), "villages_far": n_far,
        "far_share": share, "population_far": int(villages["population"].to_numpy()[far].sum()),
        "access_median_m": float(np.median(known)) if len(known) else np.nan,
        "access_max_m": float(known.max()) if len(known) else np.nan,
        "area_km2": area_km2, "road_km": road_km, "road_km_per_km2": density,
        "verdict": "thinly_mapped" if reasons else "ok", "note": note,
        "_reasons": tuple(reasons),
    }


def quality_lines(dq: DataQuality, t: Texts) -> list[str]:
    """The per-township quality lines the console prints (title, head, one line a township,
    the district last); the warnings are printed apart."""
    head = t.words("quality.cli_head")
    out = [t.fmt("quality.cli_title", far=f"{dq.far_m:g}"),
           "  " + _pad(head[0], 20) + " " + " ".join(_rpad(h, w) for h, w in
                                                     zip(head[1:], _WIDTHS, strict=True))]
    table = dq.table(t)
    for r in table.to_dict("records"):
        share = "–" if pd.isna(r["far_share"]) else f"{float(r['far_share']):.0%}"
        med = "–" if pd.isna(r["access_median_m"]) else f"{float(r['access_median_m']):,.0f}"
        mx = "–" if pd.isna(r["access_max_m"]) else f"{float(r['access_max_m']):,.0f}"
        dens = "–" if pd.isna(r["road_km_per_km2"]) else f"{float(r['road_km_per_km2']):.2f}"
        cells = [str(r["villages"]), str(r["villages_far"]), share, med, mx, dens,
                 t.get("verdict", str(r["verdict"]))]
        out.append("  " + _pad(str(r["township"]), 20) + " " + " ".join(
            _rpad(c, w) for c, w in zip(cells, _WIDTHS, strict=True)))
    return out


#: Widths of the console columns after the township's.
_WIDTHS: Sequence[int] = (8, 6, 6, 12, 10, 8, 14)


def _cols(text: str) -> int:
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _cols(text))


def _rpad(text: str, width: int) -> str:
    return " " * max(0, width - _cols(text)) + text
