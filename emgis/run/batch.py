"""A province: every district run as one task on Dask distributed, then the roll-up.

``emgis batch PROVINCE --out DIR``: PROVINCE is a folder of district folders, or a
``province.toml`` listing them with one provincial road file. Each district runs the main job
(:func:`emgis.run.jobs.run_all`) as one task on a Dask ``LocalCluster`` (one process per worker) or
on an existing cluster (``scheduler="tcp://..."``), writing ``DIR/<district>/``. A district that
fails is reported with its error and the others finish; a rerun skips the districts whose inputs
(hashed in each district's manifest) did not change. With one provincial road file, the file is
read once for the districts that must build their network, and each district's network is
clipped from what was read (its boundary plus ``[network] clip_buffer_m``) and cached per
district. Units of neighbouring districts of the
cross-border kinds within that area take part in each district's coverage, flagged
cross-border by their id (``ID@DISTRICT``) and name. The roll-up (:mod:`emgis.run.rollup`) adds the
districts up in ``province.xlsx`` and ``province_report.html``.

``province.toml``::

    [province]
    name = "某省"
    roads = "province.osm.pbf"      # optional: one road file for every district
    districts = ["county_a", "county_b"]  # optional: default every sub-folder with a district.toml
    cross_border = ["fire_station", "township_fire_brigade", "medical"]  # the default
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import logging
import os
import re
import resource
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import tomllib

from emgis._errors import BatchOptionError, DistrictError, EmgisError, OutputError
from emgis._files import sha256_file
from emgis.inputs.district import RoadSource, load_district
from emgis.inputs.encodings import settings_text
from emgis.inputs.kinds import CROSS_BORDER_KINDS
from emgis.inputs.planfile import extend_layer
from emgis.inputs.standards import KIND_ALIASES
from emgis.outputs.folder import OutputDir, _version, read_manifest, safe_stem
from emgis.roads.cache import cache_path, clip_area
from emgis.roads.readers import read_road_ways
from emgis.run.rollup import SUMMARY, district_summary, write_rollup
from emgis.texts import Msg, say, texts

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

    from emgis.inputs.district import District
    from emgis.inputs.settings import Settings
    from emgis.roads.readers import RoadWays

log = logging.getLogger(__name__)

PROVINCE_TOML = "province.toml"



@dataclass(frozen=True)
class Province:
    """The districts of a province and how they run together.

    Attributes
    ----------
    name
        The province's name (``[province] name``, else the folder's name).
    root
        The folder the districts are read relative to.
    districts
        ``(name, folder)`` of every district, in order.
    roads
        One provincial road file every district's network is clipped from, or None (each
        district's own ``[roads]``).
    cross_border
        Unit kinds that serve across district lines.
    """

    name: str
    root: Path
    districts: tuple[tuple[str, Path], ...]
    roads: Path | None = None
    cross_border: tuple[str, ...] = CROSS_BORDER_KINDS


#: The keys of ``[province]``.
PROVINCE_KEYS = ("name", "roads", "districts", "cross_border")


def _unknown(table: dict[str, Any], known: Sequence[str], file: str, where: str) -> list[Msg]:
    """Keys a table does not know, each with a "did you mean" (a misspelt ``distrcts`` would
    otherwise run every district instead of the ones listed)."""
    out = []
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            out.append(Msg("prov_unknown_key", file=file, key=f"{where}{key}",
                           hint=Msg("cfg_hint_close", close=f"{where}{close[0]}",
                                    options=", ".join(known)) if close else
                           Msg("cfg_hint", options=", ".join(known))))
    return out


def read_province(path: str | Path) -> Province:
    """Read a province: a folder of district folders or a ``province.toml``.

    Raises
    ------
    DistrictError
        No such folder, a ``province.toml`` that cannot be read or holds a wrong value (the
        key and what was expected are named), or no district in it.
    """


    p = Path(path)
    toml = p if p.is_file() else p / PROVINCE_TOML
    root = toml.parent if p.is_file() else p
    if not root.is_dir():
        raise DistrictError(Msg("prov_no_folder", path=str(p), toml=PROVINCE_TOML))
    conf: dict[str, Any] = {}
    problems: list[Msg] = []
    if toml.is_file():
        try:
            doc = tomllib.loads(settings_text(toml.read_bytes(), toml.name))
        except DistrictError:
            raise
        except (OSError, ValueError) as exc:
            raise DistrictError(Msg("prov_unreadable", path=str(toml), detail=str(exc))) from exc
        problems += _unknown(doc, ("province",), toml.name, "")
        conf = doc.get("province", {})
        if not isinstance(conf, dict):
            problems.append(Msg("prov_table", file=toml.name))
            conf = {}
        problems += _unknown(conf, PROVINCE_KEYS, toml.name, "province.")
    name = conf.get("name", root.resolve().name)
    if not isinstance(name, str):
        problems.append(Msg("prov_name", file=toml.name, v=name))
    roads = conf.get("roads")
    road_path = None
    if roads is not None:
        if not isinstance(roads, str):
            problems.append(Msg("prov_roads_type", file=toml.name, v=roads))
        else:
            road_path = (root / roads).resolve()
            if not road_path.is_file():
                problems.append(Msg("prov_roads_missing", file=toml.name, path=str(road_path)))
    kinds_known = set(KIND_ALIASES["teams"].values())
    cb = conf.get("cross_border", list(CROSS_BORDER_KINDS))
    cross: list[str] = []
    if not isinstance(cb, list):
        problems.append(Msg("prov_cross_type", file=toml.name, v=cb))
    else:
        for k in cb:
            kind = KIND_ALIASES["teams"].get(str(k), str(k))
            if kind not in kinds_known:
                problems.append(Msg("prov_cross_kind", file=toml.name, v=k,
                                    kinds=", ".join(sorted(kinds_known))))
            else:
                cross.append(kind)
    listed = conf.get("districts")
    folders: list[Path] = []
    if listed is None:
        folders = sorted(d for d in root.iterdir() if (d / "district.toml").is_file())
    elif not isinstance(listed, list):
        problems.append(Msg("prov_districts_type", file=toml.name, v=listed))
    else:
        for d in listed:
            f = (root / str(d)).resolve()
            if not (f / "district.toml").is_file():
                problems.append(Msg("prov_district_missing", file=toml.name, v=d))
            folders.append(f)
    if problems:
        joined = problems[-1]
        for m in reversed(problems[:-1]):
            joined = Msg("semicolon", a=m, b=joined)
        raise DistrictError(joined)
    if not folders:
        raise DistrictError(Msg("prov_empty", path=str(root), toml=PROVINCE_TOML))
    names = [f.name for f in folders]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DistrictError(Msg("prov_dup", file=toml.name, names=", ".join(dup)))
    return Province(str(name), root.resolve(), tuple(zip(names, folders, strict=True)),
                    road_path, tuple(sorted(set(cross))))


@dataclass(frozen=True)
class DistrictTask:
    """One district's run (what a Dask task receives; plain, picklable data).

    Attributes
    ----------
    name, path, out
        The district's name in the province, its folder and its output folder.
    roads
        The provincial road file, or None (the district's own ``[roads]``).
    neighbours
        Units of neighbouring districts within reach (``id``, ``name``, ``kind``,
        ``district``, ``lon``, ``lat``; WGS-84): added as cross-border units.
    lang, as_of, time_limit
        As for :func:`emgis.run.jobs.run_all`.
    fingerprint
        A hash of every input and option: an unchanged district is not run again.
    """

    name: str
    path: Path
    out: Path
    roads: Path | None
    neighbours: pd.DataFrame
    lang: str
    as_of: dt.date
    time_limit: float
    fingerprint: str
    cross_border: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """How a district's task ended: ``done``, ``unchanged`` (skipped: inputs as before) or
    ``failed`` (with the error; ``input_error`` when the district's input was at fault, not
    the program); seconds and the worker process's peak memory (MB)."""

    name: str
    status: str
    error: str = ""
    seconds: float = 0.0
    peak_mb: float = 0.0
    worker: str = ""
    steps_failed: tuple[str, ...] = ()
    input_error: bool = False


def cross_border_label(district: str, lang: str) -> str:
    """The mark a neighbour's unit carries in every output of the district it serves."""

    return texts(lang).fmt("batch.cross_border_mark", district=district)


def with_cross_border(district: District, neighbours: pd.DataFrame, *, lang: str = "en"
                      ) -> District:
    """The district with its neighbours' units added to its teams (a copy): id
    ``ID@DISTRICT``, the name marked cross-border, township empty (they count in no township's
    compliance), turnout and availability the kind's defaults."""


    if neighbours is None or not len(neighbours):
        return district
    pts = gpd.GeoSeries(gpd.points_from_xy(neighbours["lon"], neighbours["lat"]),
                        crs=4326).to_crs(district.crs)
    rows = [{"id": f"{r.id}@{r.district}",
             "name": f"{r.name} {cross_border_label(str(r.district), lang)}",
             "kind": r.kind, "township": "", "geometry": g}
            for r, g in zip(neighbours.itertuples(index=False), pts, strict=True)]
    return dc_replace(district, teams=extend_layer(district.teams, rows))


def _peak_mb() -> float:

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_district(task: DistrictTask, ways: RoadWays | None = None) -> Outcome:
    # deferred: loads networkx, numba, scipy.optimize
    """Run one district's main job into ``task.out`` (a Dask task; also callable directly:
    # deferred: loads numba
    the same district alone). Never raises: a failure is the outcome, with its error."""
    from emgis.plan import Plan  # deferred: loads networkx, numba, scipy.optimize
    from emgis.roads.network import load_network_arrays  # deferred: loads numba
    from emgis.run.jobs import run_all  # deferred: loads networkx, numba, scipy.optimize

    t0 = time.perf_counter()
    try:
        district = load_district(task.path)
        if task.roads is not None:
            district = replace(district, roads=RoadSource(task.roads, "osm"),
                               sources=(*district.sources, task.roads))
        network, cache = load_network_arrays(district, ways=ways)
        district = with_cross_border(district, task.neighbours, lang=task.lang)
        plan = Plan(district, network, cache)
        ids = {f"{r.id}@{r.district}" for r in task.neighbours.itertuples(index=False)}

        def extra(od: OutputDir, **parts: Any) -> None:
            summary = district_summary(plan, name=task.name, cross_border_ids=ids, **parts)
            od.write_text(SUMMARY, json.dumps(summary, ensure_ascii=False, sort_keys=True,
                                              indent=1))

        res = run_all(plan, task.out, lang=task.lang, as_of=task.as_of,
                      time_limit=task.time_limit, extra=extra,
                      options={"batch": task.fingerprint,
                               "cross_border": list(task.cross_border)})
        return Outcome(task.name, "done", seconds=time.perf_counter() - t0, peak_mb=_peak_mb(),
                       worker=str(os.getpid()), steps_failed=tuple(s for s, _ in res.failures))
    except Exception as exc:  # one district's failure is its outcome; the others go on
        msg = say(exc, task.lang) if isinstance(exc, EmgisError) else \
            f"{type(exc).__name__}: {exc}"
        log.debug("district %s failed", task.name, exc_info=True)
        return Outcome(task.name, "failed", error=msg, seconds=time.perf_counter() - t0,
                       peak_mb=_peak_mb(), worker=str(os.getpid()),
                       input_error=isinstance(exc, EmgisError))


def _read_ways(path: Path, settings: Settings) -> RoadWays:
    """A Dask task: the provincial road file's ways, read once for the districts that build
    their network from it."""

    return read_road_ways(RoadSource(path, "osm"), settings=settings)


@dataclass
class _Loaded:
    name: str
    path: Path
    district: District | None = None
    error: str = ""
    input_error: bool = False  # the error is the input's (an EmgisError), not the program's
    area: shapely.Geometry | None = None  # the clip area in WGS-84
    units: pd.DataFrame = field(default_factory=pd.DataFrame)


def _load_all(province: Province, lang: str) -> list[_Loaded]:
    """Every district read and checked (a district with errors is marked failed here)."""

    out = []
    for name, path in province.districts:
        item = _Loaded(name, path)
        try:
            d = load_district(path)
            if province.roads is not None:
                d = replace(d, roads=RoadSource(province.roads, "osm"),
                            sources=(*d.sources, province.roads))
            item.district = d
            area = clip_area(d)
            if area is not None:
                item.area = gpd.GeoSeries([area], crs=d.crs).to_crs(4326).iloc[0]
            t = d.teams[d.teams["kind"].isin(province.cross_border)] if len(d.teams) else \
                d.teams
            w = t.to_crs(4326) if len(t) else t
            item.units = pd.DataFrame({
                "id": t["id"].astype(str).to_numpy() if len(t) else [],
                "name": t["name"].astype(str).to_numpy() if len(t) else [],
                "kind": t["kind"].astype(str).to_numpy() if len(t) else [],
                "district": name,
                "lon": np.round(w.geometry.x.to_numpy(), 7) if len(t) else [],
                "lat": np.round(w.geometry.y.to_numpy(), 7) if len(t) else []})
        except EmgisError as exc:
            item.error, item.input_error = say(exc, lang), True
        except Exception as exc:  # a district's unexpected failure is its own
            item.error = f"{type(exc).__name__}: {exc}"
        out.append(item)
    return out


def _neighbours(items: Sequence[_Loaded], i: int) -> pd.DataFrame:
    """Units of the other districts within district ``i``'s clip area."""

    me = items[i]
    cols = ["id", "name", "kind", "district", "lon", "lat"]
    if me.area is None:
        return pd.DataFrame(columns=cols)
    parts = []
    for j, other in enumerate(items):
        if j == i or other.district is None or not len(other.units):
            continue
        u = other.units
        inside = shapely.contains_xy(me.area, u["lon"].to_numpy(), u["lat"].to_numpy())
        if inside.any():
            parts.append(u[inside])
    if not parts:
        return pd.DataFrame(columns=cols)
    found: pd.DataFrame = pd.concat(parts, ignore_index=True)[cols]
    return found


def _fingerprint(d: District, neighbours: pd.DataFrame, *, lang: str, as_of: dt.date,
                 cross_border: Sequence[str], digests: dict[Path, str]) -> str:

    files = {}
    for p in d.sources:
        p = Path(p)
        if p.exists():
            if p not in digests:
                digests[p] = sha256_file(p)
            files[str(p.name if p.parent == d.root else p)] = digests[p]
    doc = {"version": _version(), "lang": lang, "as_of": str(as_of), "inputs": files,
           "cross_border": list(cross_border),
           "neighbours": neighbours.to_csv(index=False)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _unchanged(out: Path, fingerprint: str) -> bool:

    try:
        doc = read_manifest(out)
    except EmgisError:
        return False
    return bool(doc.get("options", {}).get("batch") == fingerprint and
                SUMMARY in doc.get("files", {}))


def _refuse_district_folders(province: Province, root: Path) -> None:
    """A batch writes ``OUT/<district>/``: never where that is a district's own folder."""
    for _, folder in province.districts:
        if folder.resolve().parent == root:
            raise OutputError(Msg("out_holds_inputs", root=str(root),
                                  file=str(folder.resolve() / "district.toml"),
                                  n=len(province.districts)))


def district_tasks(province: Province, out: str | Path, *, lang: str = "en",
                   as_of: dt.date | None = None, time_limit: float = 60.0
                   ) -> tuple[list[DistrictTask], list[Outcome], list[_Loaded]]:
    """The task of every district that could be read, the outcome of every one that could not,
    and what was read (for the road file)."""

    as_of = as_of or dt.date.today()
    items = _load_all(province, lang)
    tasks, failed = [], []
    digests: dict[Path, str] = {}
    stems: set[str] = set()
    for i, item in enumerate(items):
        if item.district is None:
            failed.append(Outcome(item.name, "failed", error=item.error,
                                  input_error=item.input_error))
            continue
        stem = safe_stem(item.name)
        while stem in stems:
            stem += "_"
        stems.add(stem)
        nb = _neighbours(items, i)
        fp = _fingerprint(item.district, nb, lang=lang, as_of=as_of,
                          cross_border=province.cross_border, digests=digests)
        tasks.append(DistrictTask(item.name, item.path, Path(out).resolve() / stem,
                                  province.roads, nb, lang, as_of, time_limit, fp,
                                  province.cross_border))
    return tasks, failed, items


@dataclass(frozen=True)
class BatchResult:
    """What ``emgis batch`` did: every district's outcome (in the province's order), the
    roll-up files and the manifest."""

    outcomes: tuple[Outcome, ...]
    files: tuple[Path, ...]
    manifest: Path
    seconds: float


#: Seconds to reach a scheduler given by ``--scheduler``.
CONNECT_TIMEOUT_S = 30.0
#: Seconds to wait for the first worker (a scheduler with none, or workers that cannot start).
WORKER_TIMEOUT_S = 120.0
#: The least memory a worker of a local cluster needs to start and read a district (bytes).
MIN_WORKER_MEMORY = 512 * 2**20


def check_options(*, scheduler: str | None, memory_limit: str, workers: int) -> None:
    """The batch's options, checked before anything runs, each problem named with the option.

    Raises
    ------
    BatchOptionError
        A scheduler address that is not a Dask scheduler's (``tcp://host:8786``; the
        dashboard's ``http://`` address is named as such), a memory limit that is not a size
        or too small for a worker to start, no worker, or a scratch folder Dask cannot write.
    """
    problems: list[Msg] = []
    if scheduler is not None:
        low = scheduler.strip().lower()
        if low.startswith(("http://", "https://")):
            problems.append(Msg("batch_scheduler_http", v=scheduler))
        elif not re.fullmatch(r"(tcp|tls|ucx|inproc)://[^\s/]+(:\d{1,5})?/?", low):
            problems.append(Msg("batch_scheduler_bad", v=scheduler))
    if memory_limit.strip().lower() != "auto":  # deferred: loads dask
        from dask.utils import parse_bytes  # deferred: loads dask

        try:
            size = parse_bytes(memory_limit)
        except (ValueError, TypeError):
            problems.append(Msg("batch_memory_bad", v=memory_limit))
        else:
            if size < MIN_WORKER_MEMORY:
                problems.append(Msg("batch_memory_small", v=memory_limit,
                                    least=f"{MIN_WORKER_MEMORY // 2**20} MiB"))
    if workers < 1:
        problems.append(Msg("batch_workers", v=workers))
    if scheduler is None:  # deferred: loads dask
        import dask  # deferred: loads dask

        # Dask's configured folder, and the one DASK_TEMPORARY_DIRECTORY names: Dask reads
        # the variable when it is first imported, so one set later (a notebook, a server
        # process, a test) reaches only the worker processes that start after it
        folders = dict.fromkeys(str(p) for p in (
            dask.config.get("temporary-directory", None) or tempfile.gettempdir(),
            os.environ.get("DASK_TEMPORARY_DIRECTORY")) if p)
        for folder in folders:
            scratch = Path(folder)
            try:
                with tempfile.NamedTemporaryFile(dir=scratch):
                    pass
            except OSError as exc:
                problems.append(Msg("batch_scratch", path=str(scratch),
                                    detail=exc.strerror or ""))
    if problems:
        raise BatchOptionError(_joined(problems), list(problems))


def _joined(problems: Sequence[Msg]) -> Msg:
    """Several problems as one message (``; `` in English, ``；`` in Chinese)."""
    out = problems[-1]
    for m in reversed(problems[:-1]):
        out = Msg("semicolon", a=m, b=out)
    return out


def _client(workers: int, scheduler: str | None, memory_limit: str
            ) -> tuple[Client, LocalCluster | None]:  # deferred: loads distributed
    from distributed import Client, LocalCluster  # deferred: loads distributed

    if not log.isEnabledFor(logging.DEBUG):  # Dask's own INFO lines only with -vv
        for name in list(logging.root.manager.loggerDict):
            if name == "distributed" or name.startswith("distributed."):
                logging.getLogger(name).setLevel(logging.WARNING)

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise BatchOptionError(Msg("batch_scheduler_unreachable", v=scheduler,
                                       s=f"{CONNECT_TIMEOUT_S:g}", detail=str(exc))) from exc
        _wait_for_workers(client, None, scheduler)
        return client, None
    quiet = logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.ERROR
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           memory_limit=memory_limit, dashboard_address=":0",
                           silence_logs=quiet)  # type: ignore[no-untyped-call]
    client = Client(cluster)  # type: ignore[no-untyped-call]
    log.info("Dask dashboard: %s", client.dashboard_link)
    _wait_for_workers(client, cluster, None)
    return client, cluster


def _wait_for_workers(client: Client, cluster: LocalCluster | None, scheduler: str | None
                      ) -> None:
    """At least one worker within :data:`WORKER_TIMEOUT_S`, else a named failure (a scheduler
    with no workers, or workers that cannot start under the memory limit) instead of a wait
    without end."""
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT_S)  # type: ignore[no-untyped-call]
    except (TimeoutError, OSError) as exc:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
        raise BatchOptionError(Msg("batch_no_workers", v=scheduler or "LocalCluster",
                                   s=f"{WORKER_TIMEOUT_S:g}")) from exc


def run_batch(province: Province, out: str | Path, *, workers: int = 2,
              scheduler: str | None = None, memory_limit: str = "auto", lang: str = "en",
              as_of: dt.date | None = None, time_limit: float = 60.0,
              on_done: Callable[[int, int, Outcome], None] | None = None) -> BatchResult:
    """Run every district of ``province`` on Dask and write the roll-up under ``out``.

    Parameters
    ----------
    province
        From :func:`read_province`.
    out
        The output folder: one sub-folder per district, the roll-up files and the manifest.
    workers
        Worker processes of the local cluster (ignored with ``scheduler``).
    scheduler
        The address of a running Dask scheduler (``tcp://host:8786``): the districts run on
        its workers, which must see the same paths.
    memory_limit
        Per worker of the local cluster (Dask's ``"auto"``: the machine's memory shared).
    lang, as_of, time_limit
        As for :func:`emgis.run.jobs.run_all`.
    on_done
        Called as each district ends: ``on_done(k, n, outcome)``.
    """  # deferred: loads distributed
    from distributed import as_completed  # deferred: loads distributed


    check_options(scheduler=scheduler, memory_limit=memory_limit, workers=workers)
    t0 = time.perf_counter()
    as_of = as_of or dt.date.today()
    out = Path(out)
    province_files = [province.root / PROVINCE_TOML] if (province.root / PROVINCE_TOML).exists() \
        else []
    district_files = [folder / "district.toml" for _, folder in province.districts]
    with OutputDir(out, command="batch", inputs=[
            *province_files, *([province.roads] if province.roads else []),
            *district_files]) as od:
        _refuse_district_folders(province, od.root)
        tasks, outcomes, items = district_tasks(province, od.root, lang=lang, as_of=as_of,
                                                time_limit=time_limit)
        n = len(tasks) + len(outcomes)
        k = 0
        for o in outcomes:
            k += 1
            if on_done:
                on_done(k, n, o)
        todo = []
        for task in tasks:
            if _unchanged(task.out, task.fingerprint):
                k += 1
                o = Outcome(task.name, "unchanged")
                outcomes.append(o)
                if on_done:
                    on_done(k, n, o)
            else:
                todo.append(task)
        if todo:
            client, cluster = _client(workers, scheduler, memory_limit)
            try:
                by_name = {it.name: it for it in items}
                # a road file shared by several districts that must build their network is
                # read once (one task); each district clips its own network from what was read
                groups: dict[tuple[str, str], list[DistrictTask]] = {}
                for t in todo:
                    d = by_name[t.name].district
                    assert d is not None  # a task is made for a district that was read
                    if d.roads is None or d.roads.format != "osm" or not d.roads.path.exists():
                        continue
                    if cache_path(d.roads, settings=d.settings, crs=d.crs,
                                  clip=clip_area(d)).exists():
                        continue
                    key = (str(d.roads.path.resolve()), d.settings.network_key())
                    groups.setdefault(key, []).append(t)
                ways_of: dict[str, Future[RoadWays]] = {}
                for (path, _), members in groups.items():
                    if len(members) > 1:
                        d = by_name[members[0].name].district
                        assert d is not None
                        shared = client.submit(_read_ways, Path(path), d.settings,
                                               pure=False)
                        for t in members:
                            ways_of[t.name] = shared
                futures = {}
                run_id = uuid.uuid4().hex[:8]  # keys unique on a shared scheduler
                for i, t in enumerate(todo):
                    ways = ways_of.get(t.name)
                    f = client.submit(run_district, t, ways, pure=False,
                                      key=f"emgis-district-{run_id}-{i}")
                    futures[f] = t
                for f in as_completed(list(futures)):  # type: ignore[no-untyped-call]
                    t = futures[f]
                    try:
                        o = f.result()
                    except Exception as exc:  # the worker died (memory) or was lost
                        o = Outcome(t.name, "failed", error=f"{type(exc).__name__}: {exc}")
                    outcomes.append(o)
                    k += 1
                    if on_done:
                        on_done(k, n, o)
            finally:
                client.close()  # type: ignore[no-untyped-call]
                if cluster is not None:
                    cluster.close()
        order = {name: i for i, (name, _) in enumerate(province.districts)}
        outcomes.sort(key=lambda o: order.get(o.name, len(order)))
        stems = {t.name: t.out for t in tasks}
        files = write_rollup(od, province, outcomes, stems, lang=lang)
        od.describe(province=province.name, lang=lang, as_of=str(as_of),
                    districts=[{"name": o.name, "status": o.status, "error": o.error,
                                "folder": stems[o.name].name if o.name in stems else None}
                               for o in outcomes])
        manifest = od.finish()
    return BatchResult(tuple(outcomes), tuple(files), manifest, time.perf_counter() - t0)
