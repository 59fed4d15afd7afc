"""A district opened for analysis: the one object an analyst holds.

:func:`open` reads and checks the district, loads (or builds) its road network, and returns a
:class:`Plan`, which snaps every location and builds each routing graph once (its
:class:`~emgis.roads.engine.Engine`) and shares them between the analyses, as osmnx users hold a
graph and pandana users a Network::

    import emgis

    plan = emgis.open("data/demo")
    cov = plan.coverage()                       # every village x unit kind
    flood = plan.scenario("flood")              # closed roads, lost cover, evacuation
    sites = plan.site("micro_fire_station", add=3)
    plan.write("maps", lang="zh")               # what `emgis run` writes

The ``emgis`` command is a thin shell over it.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely

from emgis._errors import DistrictError, ValidationError
from emgis._progress import Progress
from emgis.analysis.availability import availability, team_availability
from emgis.analysis.calibration import calibrate
from emgis.analysis.compliance import check_compliance
from emgis.analysis.coverage import compute_coverage, service_areas
from emgis.analysis.force import effective_force, force_pairs
from emgis.analysis.force_siting import site_force
from emgis.analysis.quality import data_quality
from emgis.analysis.reanswer import (
    hazard_row,
    kinds_touched,
    redo_kinds,
    restatus,
    with_setting,
    with_unit,
    without_unit,
)
from emgis.analysis.scenario import Scenario, closed_area, run_scenario, zones
from emgis.analysis.siting import ScenarioSpec, site_budget, site_robust, site_units
from emgis.analysis.uncertainty import site_expected, uncertainty
from emgis.analysis.warning import warning_reach
from emgis.analysis.whatif import whatif_data
from emgis.analysis.zones import unit_zones
from emgis.inputs.district import District, load_district
from emgis.inputs.kinds import units_of
from emgis.roads.classtime import class_times
from emgis.roads.datums import datum_problems, fits_as_kept
from emgis.roads.edges import EdgeArrays
from emgis.roads.engine import Engine
from emgis.roads.network import load_network_arrays
from emgis.run._fork import Forked
from emgis.run.jobs import run_all
from emgis.texts import Msg

if TYPE_CHECKING:
    from emgis.analysis.availability import AvailabilityResult
    from emgis.analysis.calibration import CalibrationResult
    from emgis.analysis.coverage import CoverageResult
    from emgis.analysis.force import ForceResult
    from emgis.analysis.force_siting import ForceSitingResult
    from emgis.analysis.quality import DataQuality
    from emgis.analysis.scenario import Scenario, ScenarioResult
    from emgis.analysis.siting import BudgetResult, RobustResult, SitingResult
    from emgis.analysis.uncertainty import UncertaintyResult
    from emgis.analysis.warning import WarningReach
    from emgis.analysis.whatif import WhatIf
    from emgis.analysis.zones import Zones
    from emgis.inputs.problems import Problem
    from emgis.run.jobs import RunOutputs

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """A loaded district with its road network and engine; analyses are computed on first use
    and kept.

    Attributes
    ----------
    district
        The validated district.
    network
        The road network's arrays.
    cache
        The network cache file used (None when built without cache).
    """

    district: District
    network: EdgeArrays
    cache: Path | None = None
    _coverage: CoverageResult | None = field(default=None, repr=False)
    _areas: dict[bool, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)
    _scenarios: dict[str, ScenarioResult] = field(default_factory=dict, repr=False)
    _zones: Zones | None = field(default=None, repr=False)
    _warning: WarningReach | None = field(default=None, repr=False)
    _quality: DataQuality | None = field(default=None, repr=False)
    _minutes: dict[object, Any] = field(default_factory=dict, repr=False)
    #: The coverage's node arrays (service areas, zones) predate a unit added or removed.
    _nodes_stale: bool = field(default=False, repr=False)
    #: The datum check's problems when already found (:meth:`ready`); None: checked here.
    datum: InitVar[Sequence[Problem] | None] = None

    def __post_init__(self, datum: Sequence[Problem] | None) -> None:
        problems = list(datum) if datum is not None else datum_problems(
            self.district, self.network, cache=self.cache)
        if any(p.level == "error" for p in problems):
            raise ValidationError([*self.district.warnings, *problems])
        if problems:
            self.district = dataclasses.replace(
                self.district, warnings=(*self.district.warnings, *problems))

    @classmethod
    def ready(cls, district: District, network: EdgeArrays, cache: Path | None = None
              ) -> Plan:
        """``Plan(district, network, cache)`` with its :attr:`engine` built: the same plan,
        sooner where it can fork (:mod:`emgis.run._fork`). The datum check runs in a worker
        beside the snapping, each making its own index of the roads (one core sat idle
        through both: 0.5 s each on a county, seconds on a province), unless an earlier run
        on the same roads and layers kept beside the cache that every layer fits
        (:func:`emgis.roads.datums.fits_as_kept`). Its errors come first, as ``Plan(...)``
        raises them."""
        check = None if fits_as_kept(district, network, cache=cache) else Forked(
            None, datum_problems, district, network, cache=cache)
        try:
            engine = Engine.for_district(district, network, cache=cache)
        except BaseException:
            if check is not None:
                check.result()  # a datum error is the one to report
            raise
        plan = cls(district, network, cache, datum=[] if check is None else check.result())
        plan.__dict__["engine"] = engine  # the cached property's value, as if asked for
        return plan

    @cached_property
    def engine(self) -> Engine:
        """Every location snapped and the routing graphs (built on first use)."""
        return Engine.for_district(self.district, self.network, cache=self.cache)

    @cached_property
    def units(self) -> gpd.GeoDataFrame:
        """Every unit of the district in one table (teams, stockpiles, shelters)."""

        return units_of(self.district)

    def coverage(self) -> CoverageResult:
        """Nearest and backup unit of every kind for every village, with statuses."""

        if self._coverage is None:
            self._coverage = compute_coverage(self.district, self.engine)
        return self._coverage

    def service_areas(self, *, per_unit: bool = False,
                      each: Callable[[int], None] | None = None) -> gpd.GeoDataFrame:
        """Service areas per kind and break (and per unit with ``per_unit``); ``each`` is
        called after each kind (progress)."""

        if per_unit not in self._areas:
            self._areas[per_unit] = service_areas(self._full_coverage(),
                                                  settings=self.district.settings,
                                                  per_unit=per_unit, each=each)
        return self._areas[per_unit]

    def zones(self) -> Zones:
        """Each unit's zone per kind: the villages it reaches first and its area."""

        if self._zones is None:
            self._zones = unit_zones(self._full_coverage(), settings=self.district.settings)
        return self._zones

    def warning_reach(self) -> WarningReach:
        """The share of every village's people the warning points reach, and the fewest new
        loudspeakers that bring every village to ``[warning] min_share``."""

        if self._warning is None:
            self._warning = warning_reach(self.district)
        return self._warning

    def quality(self) -> DataQuality:
        """The data quality of the roads per township (see :mod:`emgis.analysis.quality`):
        villages far from every road, road km per km², and the thinly mapped townships."""

        if self._quality is None:
            self._quality = data_quality(self.district, self.network, engine=self.engine,
                                         cache=self.cache)
        return self._quality

    def calibrate(self) -> CalibrationResult | None:
        """The model's minutes against the dispatch records of ``[layers.calls]``, and the
        speeds and turnout fitted to them (:mod:`emgis.analysis.calibration`); None when the
        district has no records (the model stays as it is)."""

        if "calibration" not in self._minutes:
            self._minutes["calibration"] = calibrate(self.district, self.network)
        out: CalibrationResult | None = self._minutes["calibration"]
        return out

    def uncertainty(self, *, samples: int | None = None, seed: int = 0,
                    speed_sd: float | None = None, turnout_share: float | None = None,
                    calibrated: bool = True) -> UncertaintyResult:
        """The chance of every village being within target when speeds and turnout vary
        (:mod:`emgis.analysis.uncertainty`): ``[uncertainty]`` ranges, or the calibration's
        when the district has dispatch records (``calibrated=False``: the profile's)."""

        key = ("uncertainty", samples, seed, speed_sd, turnout_share, calibrated)
        if key not in self._minutes:
            cal = self.calibrate() if calibrated else None
            self._minutes[key] = uncertainty(
                self.district, self.engine, self.coverage().table, samples=samples, seed=seed,
                calibration=cal, speed_sd=speed_sd, turnout_share=turnout_share,
                ct=self._class_times())
        out: UncertaintyResult = self._minutes[key]
        return out

    def uncertainty_if_done(self) -> UncertaintyResult | None:
        """:meth:`uncertainty` with its defaults if it has been computed, else None."""
        out: UncertaintyResult | None = self._minutes.get(
            ("uncertainty", None, 0, None, None, True))
        return out

    def _class_times(self) -> Any:

        if "class_times" not in self._minutes:
            self._minutes["class_times"] = class_times(self.engine.graph("drive"),
                                                       self.network, self.district.settings)
        return self._minutes["class_times"]

    def site_expected(self, kind: str, *, add: int = 1, samples: int | None = None,
                      method: str = "auto", time_limit: float = 300.0) -> RobustResult:
        """New units of ``kind`` for the most persons within target on average over the
        samples of :meth:`uncertainty` (see :func:`emgis.analysis.uncertainty.site_expected`)."""

        return site_expected(self.district, self.engine, kind, add=add,
                             result=self.uncertainty(), samples=samples, method=method,
                             time_limit=time_limit)

    def site_force(self, kind: str, *, add: int = 1, rule: str | None = None,
                   headcount: float | None = None, first_weight: float = 0.0,
                   method: str = "auto", time_limit: float = 300.0) -> ForceSitingResult:
        """New teams of ``kind`` for the most persons with a sufficient force within a rule's
        time (``rule``: ``township``, 30 persons within 30 min, or ``village``, 15 within 10
        min; default the kind's own), each of ``headcount`` persons (default the standards'
        minimum for the kind); ``first_weight`` > 0 also counts first arrival (see
        :func:`emgis.analysis.force_siting.site_force`)::

            r = plan.site_force("township_rescue_team", add=2)
            r.siting.proposals      # ranked, with newly_sufficient_population
            r.newly_sufficient      # persons brought to a sufficient force
        """

        return site_force(self.district, self.engine, kind, add=add, rule=rule,
                          headcount=headcount, first_weight=first_weight, method=method,
                          time_limit=time_limit)

    def force(self, *, period: str | None = None) -> ForceResult:
        """Effective response force per village: the persons within the rules' times (30
        within 30 min, 15 within 10 min) and within ``[coverage] breaks_min``
        (:mod:`emgis.analysis.force`); ``period`` (``day``, ``night``, ``flood``) counts each
        team's persons at its availability in that period."""

        key = ("force", period)
        if key not in self._minutes:
            avail = None
            if period is not None:
                avail = team_availability(self.district, self.units)[
                    f"availability_{period}"].to_numpy(dtype=float)
            if "force_pairs" not in self._minutes:
                self._minutes["force_pairs"] = force_pairs(self.district, self.engine)
            self._minutes[key] = effective_force(self.district, self.engine,
                                                 availability=avail,
                                                 pairs=self._minutes["force_pairs"])
        out: ForceResult = self._minutes[key]
        return out

    def availability(self) -> AvailabilityResult:
        """Cover per period (day, night, flood season) and the chance that a unit within
        target is free (:mod:`emgis.analysis.availability`, ReVelle & Hogan 1989)."""

        if "availability" not in self._minutes:
            # the force's pairs where found already (the same searches, to a longer time)
            self._minutes["availability"] = availability(
                self.district, self.engine, pairs=self._minutes.get("force_pairs"))
        out: AvailabilityResult = self._minutes["availability"]
        return out

    def scenario_specs(self, names: Sequence[str] | None = None,
                       hazards: Sequence[str] | None = None) -> builtins.list[Scenario]:
        """The scenarios named (default: every scenario of the district), or one made of the
        given hazard ids or names, named after the hazards (their names, else their ids).

        Raises
        ------
        DistrictError
            A name is not a scenario of the district, or a hazard is not in its layer.
        """

        chosen = list(self.district.scenarios)
        if hazards:
            hz = self.district.hazards
            by_name = dict(zip(hz["name"].astype(str), hz["id"].astype(str), strict=True))
            ids = [by_name.get(h, h) for h in hazards]
            known = set(hz["id"].astype(str))
            missing = [h for h in ids if h not in known]
            if missing:
                raise DistrictError(Msg("hazard_unknown", ids=", ".join(missing),
                                        known=", ".join(sorted(known))) if known else Msg(
                    "hazard_unknown_none", ids=", ".join(missing)))
            name_of = dict(zip(hz["id"].astype(str), hz["name"], strict=True))
            words = [str(name_of[i]) if isinstance(name_of[i], str) and name_of[i].strip()
                     else i for i in dict.fromkeys(ids)]
            return [Scenario(" + ".join(words), tuple(ids))]
        if names:
            known_s = {s.name: s for s in chosen}
            missing = [n for n in names if n not in known_s]
            if missing:
                raise DistrictError(Msg("scenario_unknown", names=", ".join(missing),
                                        known=", ".join(known_s)) if known_s else Msg(
                    "scenario_unknown_none", names=", ".join(missing)))
            return [known_s[n] for n in names]
        return chosen

    def scenario(self, scenario: str | Scenario) -> ScenarioResult:
        """One hazard scenario (a name of the district's, or a :class:`Scenario`)."""

        sc = scenario if isinstance(scenario, Scenario) else self.scenario_specs([scenario])[0]
        if sc.name not in self._scenarios or self._scenarios[sc.name].scenario != sc:
            self._scenarios[sc.name] = run_scenario(self.district, self.engine, sc,
                                                    baseline=self.coverage())
        return self._scenarios[sc.name]

    def scenarios_done(self, specs: Sequence[Scenario]) -> builtins.list[ScenarioResult]:
        """The results of those of ``specs`` computed already (in their order)."""
        return [self._scenarios[s.name] for s in specs
                if s.name in self._scenarios and self._scenarios[s.name].scenario == s]

    def scenarios(self, names: Sequence[str] | None = None,
                  hazards: Sequence[str] | None = None) -> builtins.list[ScenarioResult]:
        """Several scenarios (default: all of the district's), their evacuations' searches
        on the roads before the hazards shared."""
        specs = self.scenario_specs(names, hazards)
        with self.engine.keeping():
            return [self.scenario(s) for s in specs]

    def site(self, kind: str, *, add: int | None = None, cover_all: bool = False,
             model: str = "max_covering", method: str = "auto", capacity: float | None = None,
             time_limit: float = 300.0) -> SitingResult:
        """Where new units of ``kind`` do the most good (see
        :func:`emgis.analysis.siting.site_units`).
        """

        return site_units(self.district, self.engine, kind, add=add, cover_all=cover_all,
                          model=model, method=method, capacity=capacity,
                          time_limit=time_limit, coverage=self.coverage().table)

    def site_budget(self, kinds: str | Sequence[str], *, budget: float,
                    weights: Mapping[str, float] | None = None, method: str = "auto",
                    time_limit: float = 300.0) -> BudgetResult:
        """New sites of one or more kinds covering the most persons within ``budget`` yuan,
        each kind's persons weighted by ``weights`` (default 1 each; see
        :func:`emgis.analysis.siting.site_budget`)::

            r = plan.site_budget(["micro_fire_station", "stockpile"], budget=900_000,
                                 weights={"stockpile": 2})
            r.summary()                   # per kind and in all: sites, cost, persons, gap
            r.sites[0].proposals          # the micro fire stations, with cost_yuan
        """

        return site_budget(self.district, self.engine,
                           [kinds] if isinstance(kinds, str) else list(kinds), budget=budget,
                           weights=weights, method=method, time_limit=time_limit)

    def siting_scenarios(self, names: Sequence[str] | None = None
                         ) -> builtins.list[ScenarioSpec]:
        """The district's scenarios (or those named) as siting sees them
        (:class:`emgis.analysis.siting.ScenarioSpec`): the engine on the affected roads, the units
        still responding, and where a new site would be out of action."""


        specs = []
        for sc in self.scenario_specs(names):
            r = self.scenario(sc)
            z = zones(self.district, sc)
            area = shapely.union_all(z.geometry.values) if len(z) else None
            # only a closed zone puts a site out of action (as it does an existing unit)
            out = closed_area(z) if sc.units_out_of_action and len(z) else None
            engine = r.engine if r.engine is not None else self.engine.with_network(r.edges)
            # the scenario's times of every kind, as its run found them on this engine with
            # these units active (siting takes them instead of searching again)
            known = r.villages[["village_id", "kind", "scenario_min"]].rename(
                columns={"scenario_min": "nearest_min"}) if r.engine is engine else None
            specs.append(ScenarioSpec(sc.name, engine,
                                      (r.units["status"] != "out_of_action").to_numpy(), out,
                                      area, coverage=known))
        return specs

    def whatif(self, kind: str, *, proposals: gpd.GeoDataFrame | None = None) -> WhatIf:
        """The times of the what-if siting page for ``kind`` (see :mod:`emgis.analysis.whatif`), in
        the baseline and every scenario of the district."""

        return whatif_data(self.district, self.engine, kind,
                           scenarios=self.siting_scenarios(), proposals=proposals,
                           coverage=self.coverage().table)

    def site_robust(self, kind: str, *, add: int = 1, objective: str = "worst",
                    probs: Sequence[float] | None = None, k: int | None = None,
                    scenarios: Sequence[str] | None = None, method: str = "auto",
                    time_limit: float = 300.0) -> RobustResult:
        """New units of ``kind`` chosen over the baseline and the district's scenarios (or
        those named) together (see :func:`emgis.analysis.siting.site_robust`)."""

        specs = self.siting_scenarios(scenarios)
        return site_robust(self.district, self.engine, kind, add=add, scenarios=specs,
                           objective=objective, probs=probs, k=k, method=method,
                           time_limit=time_limit, coverage=self.coverage().table)

    # -- re-answer, don't rerun (emgis.analysis.reanswer) ------------------------------------
    def _full_coverage(self) -> CoverageResult:
        """The coverage with every kind's node arrays on the current engine (found again,
        once, after a unit was added or removed)."""
        if self._nodes_stale:
            self._coverage = compute_coverage(self.district, self.engine)
            self._nodes_stale = False
        return self.coverage()

    def _adopt(self, district: District, *, engine: Engine | None = None,
               scenarios: bool = True) -> None:
        """Take a changed district; drop the analyses it invalidates."""
        self.district = district
        if engine is not None:
            self.__dict__["engine"] = engine
            self.__dict__.pop("units", None)
        self._areas.clear()
        self._zones = None
        self._minutes.clear()
        if scenarios:
            self._scenarios.clear()

    def set_target(self, kind: str, minutes: float) -> CoverageResult:
        """The coverage with ``kind``'s target set to ``minutes``: statuses, causes and the
        summaries follow from the times already found (no search). Service areas, zones and
        scenarios are found again when next asked."""

        cov = self.coverage()
        settings = with_setting(self.district.settings, "targets", kind, minutes)
        table = restatus(cov, settings, [kind])
        self._adopt(dataclasses.replace(self.district, settings=settings))
        self._coverage = dataclasses.replace(cov, table=table)
        return self._coverage

    def set_turnout(self, kind: str, minutes: float) -> CoverageResult:
        """The coverage with the default turnout of ``kind`` set to ``minutes`` (units with
        their own turnout keep it): that kind's rows (and, for a social force, the kinds it
        backs up) found again by one search of its units; every other row kept."""

        cov = self.coverage()
        settings = with_setting(self.district.settings, "turnout", kind, minutes)
        district = dataclasses.replace(self.district, settings=settings)
        table, part = redo_kinds(district, self.engine, cov.table,
                                 kinds_touched(kind, cov.kinds), cov.kinds)
        self._adopt(district)
        self.__dict__.pop("units", None)
        if part is None:
            self._coverage = dataclasses.replace(cov, table=table)
        else:
            self._coverage = dataclasses.replace(
                cov, table=table, units=part.units,
                node_min={**cov.node_min, **part.node_min},
                node_unit={**cov.node_unit, **part.node_unit},
                searched={**cov.searched, **part.searched})
        return self._coverage

    def add_unit(self, kind: str, point: shapely.Geometry, *, unit_id: str,
                 name: str | None = None, turnout_min: float | None = None,
                 township: str | None = None) -> CoverageResult:
        """The coverage with a new unit of ``kind`` at ``point`` (the district's CRS): the new
        unit alone is attached to the roads, and that kind's nearest and second unit found
        again by one search on the engine (for a social force, the kinds it backs up too);
        every other row kept. Scenarios, service areas and zones are found again when next
        asked."""

        cov = self.coverage()
        district = with_unit(self.district, kind, point, unit_id=unit_id, name=name,
                             turnout_min=turnout_min, township=township)
        return self._units_changed(cov, district, kind)

    def remove_unit(self, unit_id: str) -> CoverageResult:
        """The coverage without the unit ``unit_id``: its kind's nearest and second unit found
        again by one search of the remaining units (the villages it served first or second
        get the next ones, exactly); every other row kept."""

        cov = self.coverage()
        district, kind = without_unit(self.district, unit_id)
        return self._units_changed(cov, district, kind)

    def _units_changed(self, cov: CoverageResult, district: District, kind: str
                       ) -> CoverageResult:

        # the points not moved keep their snaps (no file kept for each set of units)
        engine = Engine.for_district(district, self.network, known=self.engine)
        table, part = redo_kinds(district, engine, cov.table, kinds_touched(kind, cov.kinds),
                                 cov.kinds)
        self._adopt(district, engine=engine)
        units = part.units if part is not None else units_of(district)
        # the searches kept are of the units before (a scenario's are searched anew)
        self._coverage = dataclasses.replace(cov, table=table, units=units, engine=engine,
                                             unit_loc=engine.unit_loc, searched={})
        self._nodes_stale = True
        return self._coverage

    def add_hazard(self, hazard_id: str, geometry: shapely.Geometry, *, kind: str = "flood",
                   effect: str = "closed", name: str | None = None,
                   speed_factor: float | None = None, scenario: str | None = None
                   ) -> ScenarioResult:
        """Add a hazard zone (the district's CRS; ``effect`` ``closed`` or ``slowed`` with
        ``speed_factor``) and run only its own scenario (named ``scenario``, default the
        hazard's id); the other scenarios' results are kept."""

        hazards = hazard_row(self.district, hazard_id, geometry, kind=kind, effect=effect,
                             name=name, speed_factor=speed_factor)
        sc = Scenario(scenario or hazard_id, (hazard_id,))
        if sc.name in {s.name for s in self.district.scenarios}:
            raise ValueError(f"a scenario {sc.name!r} exists already")
        self.district = dataclasses.replace(self.district, hazards=hazards,
                                            scenarios=(*self.district.scenarios, sc))
        return self.scenario(sc)

    def compliance(self, *, as_of: dt.date | None = None) -> pd.DataFrame:
        """Findings of every organisational minimum (see :mod:`emgis.analysis.compliance`), drills
        dated against ``as_of`` (default today)."""

        return check_compliance(self.district, as_of=as_of)

    def write(self, out: str | Path, *, lang: str = "en", per_unit_areas: bool = False,
              progress: Progress | None = None, **run: Any) -> RunOutputs:
        """Run every analysis and write what ``emgis run`` writes under ``out`` (maps, tables,
        the report, the manifest). Returns the :class:`emgis.run.jobs.RunOutputs`."""

        return run_all(self, out, lang=lang, per_unit_areas=per_unit_areas, progress=progress,
                       **run)


def open(path: str | Path, *, use_cache: bool = True,
         on_wait: Callable[[str], None] | None = None) -> Plan:
    """Open a district folder for analysis.

    Parameters
    ----------
    path
        The district folder (or its ``district.toml``).
    use_cache
        Read and write the road network's cache (False rebuilds it from the road file).
    on_wait
        Called with a message if another process is building the same network cache.

    Returns
    -------
    Plan

    Raises
    ------
    ValidationError
        The district's input has errors (``.problems`` lists them all).
    NetworkError
        The road network cannot be read.
    """
    district = load_district(path)
    network, cache = load_network_arrays(district, use_cache=use_cache, on_wait=on_wait)
    return Plan(district, network, cache)
