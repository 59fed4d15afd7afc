"""The kinds of unit, in one table that every other collection of kinds derives from.

A kind says which layer its units come from, whether it is public cover or a social force
(and which public kinds it backs up), whether villagers travel to it (shelters) or it to them,
whether it crosses district borders by default and whether its drills are dated. The kinds'
targets, turnout and minimums are values of the standards profile
(:mod:`emgis.inputs.standards`); :func:`target_of` is the one accessor the analyses and
outputs read a kind's target through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd

    from emgis.inputs.district import District
    from emgis.inputs.settings import Settings
    from emgis.roads.routing import Mode


@dataclass(frozen=True)
class Kind:
    """One kind of unit.

    Attributes
    ----------
    name
        The kind's key (``micro_fire_station`` ...), as the layers and ``district.toml`` say it.
    layer
        The layer its units come from: ``teams``, ``stockpiles`` or ``shelters``.
    public
        Counted in the public cover and in a district's "persons outside target".
    social
        A social or enterprise force (地企联动): a backup, never the public cover unless
        ``[coverage] social_as_cover`` says so.
    backs_up
        For a social force, the public kinds it backs up.
    cross_border
        Dispatched across district borders by default (``emgis batch``).
    drills
        Its drills are dated (``last_drill``) and checked against the drill interval.
    """

    name: str
    layer: str
    public: bool = True
    social: bool = False
    backs_up: tuple[str, ...] = ()
    cross_border: bool = False
    drills: bool = False


_FIRE = ("micro_fire_station", "fire_station", "township_fire_brigade")
_RESCUE = ("township_rescue_team", "village_team", "forest_fire_team")

#: Every unit kind, in report order.
KINDS: Mapping[str, Kind] = MappingProxyType({k.name: k for k in (
    Kind("micro_fire_station", "teams", drills=True),
    Kind("fire_station", "teams", cross_border=True),
    Kind("township_fire_brigade", "teams", cross_border=True, drills=True),
    Kind("township_rescue_team", "teams", drills=True),
    Kind("village_team", "teams", drills=True),
    Kind("forest_fire_team", "teams", drills=True),
    Kind("medical", "teams", cross_border=True),
    Kind("enterprise_brigade", "teams", public=False, social=True, backs_up=_FIRE),
    Kind("social_rescue_team", "teams", public=False, social=True, backs_up=_RESCUE,
         drills=True),
    Kind("stockpile", "stockpiles", public=False),
    Kind("shelter_emergency", "shelters", public=False),
    Kind("shelter_fixed", "shelters", public=False),
)})

#: Every unit kind, in report order.
UNIT_KINDS: tuple[str, ...] = tuple(KINDS)
#: Kinds a team may have (``teams`` layer ``kind`` field).
TEAM_KINDS: tuple[str, ...] = tuple(k for k, v in KINDS.items() if v.layer == "teams")
#: Social and enterprise forces.
SOCIAL_KINDS: tuple[str, ...] = tuple(k for k, v in KINDS.items() if v.social)
#: The public forces: counted in "persons outside target" (social forces are a backup,
#: shelters and stores are measured apart).
PUBLIC_KINDS: tuple[str, ...] = tuple(
    k for k, v in KINDS.items() if v.public and v.layer == "teams")
#: Which public kinds each social force backs up.
SOCIAL_BACKUP: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {k: v.backs_up for k, v in KINDS.items() if v.social})
#: Kinds dispatched across district borders by default.
CROSS_BORDER_KINDS: tuple[str, ...] = tuple(k for k, v in KINDS.items() if v.cross_border)
#: Team kinds whose drills are dated and checked against the interval.
DRILLING_KINDS: tuple[str, ...] = tuple(k for k, v in KINDS.items() if v.drills)


def target_of(kind: str, settings: Settings) -> float:
    """Target minutes of a kind (the profile's, or the district's override)."""
    return float(settings.targets[kind].value)


def mode_of(kind: str, settings: Settings) -> Mode:
    """``"walk"`` or ``"drive"``: how the trip of this kind is made."""
    if kind == "shelter_emergency":
        return settings.coverage.shelter_emergency_mode
    if kind == "shelter_fixed":
        return settings.coverage.shelter_fixed_mode
    return "drive"


def towards_unit(kind: str) -> bool:
    """True where villagers travel to the unit (shelters) rather than the unit to them."""
    return kind.startswith("shelter_")

def units_of(district: District) -> gpd.GeoDataFrame:
    """All units of the district in one table: teams, stockpiles and shelters.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id``, ``name``, ``kind`` (a coverage kind of :data:`UNIT_KINDS`), ``township``,
        ``turnout_min`` (the unit's own, else the standards default; a social force's also
        holds its mobilisation, its own ``mobilisation_min`` else ``[social]``'s),
        ``availability`` (1 for public units; a social force's own, else ``[social]``'s),
        ``layer`` and the point.
    """
    # deferred: loads geopandas (the kinds table stays pure data, and cheap to import)
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    s = district.settings
    parts = []
    t = district.teams
    if len(t):
        default = t["kind"].map(lambda k: float(s.turnout[k].value) if k in s.turnout else 0.0)
        social = t["kind"].isin(SOCIAL_KINDS).to_numpy(dtype=bool)
        mob = t["mobilisation_min"].astype("Float64").fillna(
            float(s.social["mobilisation_min"].value)).astype(float).to_numpy()
        avail = t["availability"].astype("Float64").fillna(
            float(s.social["availability"].value)).astype(float).to_numpy()
        turnout = t["turnout_min"].astype("Float64").fillna(default).astype(float).to_numpy()
        parts.append(pd.DataFrame({
            "id": t["id"], "name": t["name"], "kind": t["kind"], "township": t["township"],
            "turnout_min": turnout + np.where(social, mob, 0.0),
            "availability": np.where(social, avail, 1.0),
            "layer": "teams", "geometry": t.geometry}))
    st = district.stockpiles
    if len(st):
        parts.append(pd.DataFrame({
            "id": st["id"], "name": st["name"], "kind": "stockpile", "township": st["township"],
            "turnout_min": float(s.turnout["stockpile"].value), "availability": 1.0,
            "layer": "stockpiles", "geometry": st.geometry}))
    sh = district.shelters
    if len(sh):
        parts.append(pd.DataFrame({
            "id": sh["id"], "name": sh["name"], "kind": "shelter_" + sh["kind"].astype(str),
            "township": sh["township"], "turnout_min": 0.0, "availability": 1.0,
            "layer": "shelters", "geometry": sh.geometry}))
    if not parts:
        empty = {c: pd.Series([], dtype=object) for c in ["id", "name", "kind", "township",
                                                          "layer"]}
        return gpd.GeoDataFrame({**empty, "turnout_min": pd.Series([], dtype=float),
                                 "availability": pd.Series([], dtype=float)},
                                geometry=[], crs=district.crs)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                           crs=district.crs)
    out["kind"] = out["kind"].astype(str)
    return out


