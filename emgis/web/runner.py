"""Runs in worker processes, never in the web process: a queue per project (one run of a
project at a time, the others wait their turn), at most ``parallel`` runs at once.

Each run executes :func:`emgis.web.worker.run_job` in a process of its own, started with
``multiprocessing``'s *spawn* method (a fresh interpreter: nothing of the web process is
shared), or as a task on the Dask cluster given by ``emgis serve --scheduler`` (whose workers
must see the data folder at the same path, as for ``emgis batch``). A thread of the web
process watches them: it reads each run's progress file into the store, starts queued runs
when a slot is free, and records how each run ended (``done`` only when the run's manifest
says complete).

Cancelling: a queued run is dropped; a running one gets a cancel file (the job stops at its
next step) and its process is terminated at once (a Dask task stops at its next step).
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emgis.web import store as st
from emgis.web.worker import read_json, run_job

log = logging.getLogger(__name__)

POLL_SECONDS = 0.3


@dataclass
class _Active:
    run_id: int
    progress: Path
    cancel: Path
    out: Path
    process: Any = None  # multiprocessing.Process
    future: Any = None  # distributed.Future
    started: float = field(default_factory=time.time)


class RunManager:
    """Starts, watches and cancels the runs of every project."""

    def __init__(self, store: st.Store, data: Path, *, lang: str = "en",
                 scheduler: str | None = None, parallel: int = 2) -> None:
        self.store = store
        self.data = Path(data)
        self.lang = lang
        self.scheduler = scheduler
        self.parallel = max(1, parallel)
        self.jobs_dir = self.data / ".workbench" / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._active: dict[int, _Active] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._ctx = multiprocessing.get_context("spawn")

    # -- life ------------------------------------------------------------------------------
    def start(self) -> None:
        """Mark runs left under way by a stopped server as interrupted; start watching."""
        for rid in self.store.interrupt_running("server restarted during the run"):
            with contextlib.suppress(OSError):  # a worker left behind stops at its next step
                (self.jobs_dir / f"{rid}.cancel").touch()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="emgis-runs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop watching; runs still under way are terminated and marked interrupted."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            for a in list(self._active.values()):
                a.cancel.touch()
                if a.process is not None and a.process.is_alive():
                    _terminate(a.process)
                    a.process.join(timeout=5)
                if a.future is not None:
                    with contextlib.suppress(Exception):
                        a.future.cancel()
            self._active.clear()
        self.store.interrupt_running("server stopped during the run")
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    # -- asked by the app ------------------------------------------------------------------
    def out_dir(self, project: st.Project, run: st.Run) -> Path:
        return self.data / project.slug / "runs" / run.folder

    def cancel(self, run: st.Run) -> None:
        """Drop a queued run; stop a running one."""
        with self._lock:
            fresh = self.store.run(run.id)
            if fresh is None or fresh.status not in st.ACTIVE:
                return
            if fresh.status == st.QUEUED:
                self.store.update_run(run.id, status=st.CANCELLED, finished=time.time())
                return
            a = self._active.get(run.id)
            self.store.update_run(run.id, status=st.CANCELLING)
            if a is None:
                return
            a.cancel.touch()
            if a.process is not None and a.process.is_alive():
                _terminate(a.process)
            if a.future is not None:
                with contextlib.suppress(Exception):
                    a.future.cancel()

    def kick(self) -> None:
        """Start queued runs now (the loop does it too)."""
        self._schedule()

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch()
                self._schedule()
            except Exception:  # the loop must go on
                log.exception("workbench run loop")
            self._stop.wait(POLL_SECONDS)

    def _schedule(self) -> None:
        with self._lock:
            queued = self.store.runs(status=(st.QUEUED,))
            busy = {r.project_id for r in self.store.runs(status=(st.RUNNING, st.CANCELLING))}
            for run in queued:
                if len(self._active) >= self.parallel:
                    return
                if run.project_id in busy:
                    continue
                project = next((p for p in self.store.projects() if p.id == run.project_id),
                               None)
                if project is None:
                    continue
                self._launch(project, run)
                busy.add(run.project_id)

    def _launch(self, project: st.Project, run: st.Run) -> None:
        out = self.out_dir(project, run)
        out.parent.mkdir(parents=True, exist_ok=True)
        progress = self.jobs_dir / f"{run.id}.json"
        cancel = self.jobs_dir / f"{run.id}.cancel"
        cancel.unlink(missing_ok=True)
        progress.unlink(missing_ok=True)
        spec: dict[str, object] = {"project": str(self.data / project.slug), "out": str(out),
                                   "kind": run.kind,
                "options": run.options, "lang": self.lang, "progress": str(progress),
                "cancel": str(cancel)}
        a = _Active(run.id, progress, cancel, out)
        if self.scheduler:
            client = self._dask()
            a.future = client.submit(run_job, spec, pure=False,
                                     key=f"emgis-web-{run.id}-{uuid.uuid4().hex[:8]}")
        else:
            spec["own_group"] = True
            p = self._ctx.Process(target=run_job, args=(spec,), daemon=True,
                                  name=f"emgis-run-{run.id}")
            p.start()
            a.process = p
        self._active[run.id] = a
        self.store.update_run(run.id, status=st.RUNNING, started=time.time(), progress=0.0)

    def _dask(self) -> Any:  # deferred: loads distributed
        if self._client is None:
            from distributed import Client  # deferred: only with --scheduler

            self._client = Client(self.scheduler)  # type: ignore[no-untyped-call]
        return self._client

    def _watch(self) -> None:
        with self._lock:
            for rid, a in list(self._active.items()):
                doc = read_json(a.progress) or {}
                ended = self._ended(a)
                state = doc.get("state")
                if state == "running" and not ended:
                    self.store.update_run(rid, progress=float(doc.get("progress", 0.0)),
                                          step=str(doc.get("step", ""))[:500])
                    continue
                if not ended and state not in ("done", "failed", "cancelled"):
                    continue
                if a.process is not None:
                    a.process.join(timeout=5)
                self._finish(rid, a, doc)

    @staticmethod
    def _ended(a: _Active) -> bool:
        if a.process is not None:
            return not a.process.is_alive()
        if a.future is not None:
            return bool(a.future.done())
        return True

    def _finish(self, rid: int, a: _Active, doc: dict[str, Any]) -> None:
        run = self.store.run(rid)
        del self._active[rid]
        if a.future is not None and not doc.get("state"):
            with contextlib.suppress(Exception):
                doc = dict(a.future.result(timeout=1))
        state = doc.get("state")
        cancelled = a.cancel.exists() or (run is not None and run.status == st.CANCELLING)
        now = time.time()
        if state == "done" and _complete(a.out):
            failures = doc.get("failures") or []
            self.store.update_run(rid, status=st.DONE, progress=1.0, step="", finished=now,
                                  error="\n".join(f"{s}: {m}" for s, m in failures))
        elif cancelled:
            self.store.update_run(rid, status=st.CANCELLED, finished=now, step="")
        else:
            error = str(doc.get("error") or "")
            if not error:
                code = getattr(a.process, "exitcode", None)
                error = f"the worker stopped (exit code {code})" if code is not None else \
                    "the worker stopped"
            self.store.update_run(rid, status=st.FAILED, finished=now, step="", error=error)
        a.cancel.unlink(missing_ok=True)
        a.progress.unlink(missing_ok=True)


def _terminate(process: Any) -> None:
    """End a run's worker and the processes it forked (its own process group)."""

    try:
        if hasattr(os, "killpg") and os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signal.SIGTERM)
            return
    except OSError:
        pass
    process.terminate()


def _complete(out: Path) -> bool:
    """Whether an output folder's manifest says the run ended."""
    try:
        return bool(json.loads((out / "run.json").read_text("utf-8")).get("complete"))
    except (OSError, ValueError):
        return False
