"""What runs in a worker process (a spawned process, or a Dask worker with ``--scheduler``):
one run of a project, written under ``PROJECT/runs/<folder>/`` through the same jobs the
command runs (:mod:`emgis.run.jobs`), its progress in a small JSON file the web process
reads.

The worker checks for a cancel file at every step of the job and stops there (a spawned
process is also terminated at once by the web process; a Dask task can only stop itself).
The output folder's manifest says ``"complete": true`` only for a run that ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from emgis._errors import ValidationError
from emgis._progress import Progress
from emgis.inputs.district import validate_district
from emgis.inputs.planfile import with_plan
from emgis.outputs.folder import OutputDir
from emgis.plan import Plan
from emgis.roads.network import load_network_arrays
from emgis.run import jobs
from emgis.texts import texts

#: Steps each kind of run says, for the progress bar (a bar inside a step moves within it).
EXPECTED_STEPS = {"full": 13, "coverage": 6, "scenario": 3, "siting": 3}


class Cancelled(Exception):  # noqa: N818 - the planner cancelled, not an error
    """The planner cancelled the run."""


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write a small JSON file atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


class FileProgress(Progress):
    """Steps and bars of a job, said into the progress file; a step checks the cancel
    file."""

    def __init__(self, path: Path, cancel: Path, expected: int) -> None:
        super().__init__(None)
        self.path = path
        self.cancel = cancel
        self.expected = max(expected, 1)
        self.steps = 0
        self.sub = 0.0
        self.text = ""
        self._last = 0.0

    def fraction(self) -> float:
        return min(0.99, (max(self.steps - 1, 0) + self.sub) / self.expected)

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last > 0.25:
            self._last = now
            write_json(self.path, {"state": "running", "progress": self.fraction(),
                                   "step": self.text, "pid": os.getpid()})

    def check(self) -> None:
        if self.cancel.exists():
            raise Cancelled()

    def step(self, text: str) -> None:
        self.check()
        self.steps += 1
        self.sub = 0.0
        self.text = str(text)
        self._write(force=True)

    @contextlib.contextmanager
    def bar(self, label: str, total: int, unit: str = "") -> Iterator[Callable[[int], None]]:
        self.step(label)
        done = 0

        def advance(n: int = 1) -> None:
            nonlocal done
            self.check()
            done += n
            self.sub = min(1.0, done / max(total, 1))
            self._write()

        yield advance


def run_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one job of a project and return its outcome (also written to the progress file).

    ``spec``: ``project`` (the district folder), ``out`` (the run's output folder), ``kind``
    (``full``, ``coverage``, ``scenario``, ``siting``), ``options`` (``plan``: a plan file
    in the project's ``plans/``; ``scenarios``: names of the district's scenarios;
    ``hazards``: hazard ids; ``site_kind`` and ``add``), ``lang``, ``progress`` and ``cancel``
    (file paths).
    """
    if spec.get("own_group") and hasattr(os, "setpgid"):
        os.setpgid(0, 0)  # a group of its own: cancelling ends the processes it forks too
    progress_path = Path(spec["progress"])
    cancel = Path(spec["cancel"])
    kind = str(spec["kind"])
    progress = FileProgress(progress_path, cancel, EXPECTED_STEPS.get(kind, 5))
    lang = str(spec.get("lang", "en"))
    try:
        failures = _run(spec, progress, lang)
        outcome = {"state": "done", "progress": 1.0, "step": "", "failures": failures}
    except Cancelled:
        outcome = {"state": "cancelled", "progress": progress.fraction(), "step": ""}
    except Exception as exc:
        from emgis.texts import say

        outcome = {"state": "failed", "progress": progress.fraction(), "step": "",
                   "error": say(exc, lang) or type(exc).__name__,
                   "trace": traceback.format_exc(limit=6)}
    write_json(progress_path, outcome)
    return outcome


def _run(spec: dict[str, Any], progress: FileProgress, lang: str) -> list[list[str]]:

    t = texts(lang)
    project = Path(spec["project"])
    out = Path(spec["out"])
    options = dict(spec.get("options") or {})
    progress.step(t["web.step_open"])
    report = validate_district(project)
    if not report.ok or report.district is None:
        raise ValidationError(report.errors)
    district = report.district
    inputs = list(district.sources)
    if options.get("plan"):
        plan_file = project / "plans" / str(options["plan"])
        district = with_plan(district, plan_file)
        inputs.append(plan_file)
    progress.step(t["web.step_network"])
    network, cache = load_network_arrays(district, use_cache=True)
    plan = Plan(district, network, cache)
    kind = spec["kind"]
    opts = {"workbench": True,
            **{k: v for k, v in options.items() if k not in ("plan", "hazard_names")},
            "plan_file": options.get("plan")}
    if kind == "full":
        res = jobs.run_all(plan, out, lang=lang, progress=progress, options=opts,
                           time_limit=float(options.get("time_limit", 60.0)))
        return [[s, m] for s, m in res.failures]
    command = {"coverage": "coverage", "scenario": "scenario", "siting": "site"}[kind]
    with OutputDir(out, command=command, inputs=inputs) as od:
        jobs.describe(od, plan, command=command, lang=lang, **opts)
        if kind == "coverage":
            jobs.coverage_job(plan, od, lang=lang, progress=progress)
        elif kind == "scenario":
            chosen = plan.scenario_specs(options.get("scenarios") or None,
                                         options.get("hazards") or None)
            jobs.scenarios_job(plan, od, chosen, lang=lang, progress=progress)
        else:
            site_kind = str(options["site_kind"])
            progress.step(t.fmt("progress.siting", n=int(options.get("add", 1)),
                                kind=t.kind(site_kind), model=t.get("model", "max_covering")))
            jobs.siting_job(plan, od, site_kind, add=int(options.get("add", 1)), lang=lang,
                            time_limit=float(options.get("time_limit", 60.0)))
        progress.check()
        od.finish()
    return []
