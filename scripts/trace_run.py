"""Where a whole ``emgis run`` spends its wall time and its CPU, process by process.

``emgis run`` forks its independent steps (:mod:`emgis.run._fork`): the parent's progress
steps, each forked worker's start, end, CPU seconds and page faults, and how long the parent
waited for each worker's result, as one timeline printed at the end (seconds from the
start). With ``--profile DIR`` each worker also writes a cProfile file there
(``prof-<step>-<pid>.prof``, read with ``python -m pstats``). Each process's peak memory
(its largest resident set; a forked worker's counts what it shares with the parent) is
printed beside it, with the resident set it began with (the parent's at the fork).

It finds what a step table (``benchmark_county.py --steps``) cannot: which worker is the
last to end, where one core sits idle, and how much CPU each forked step takes. A run of
this machine is CPU-bound once the workers start, so the CPU column is what a change must
shrink.

Usage::

    python scripts/trace_run.py /tmp/emgis-county-100000-1500-300 --out /tmp/traced
    python scripts/trace_run.py DISTRICT --out DIR --profile /tmp/profiles
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

T0 = time.monotonic()


def _rss() -> int:
    """The process's resident set now, KiB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        return 0


def _faults() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("district")
    ap.add_argument("--out", required=True, help="the run's output folder")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--profile", default=None, help="write each worker's cProfile here")
    args = ap.parse_args(argv)

    import emgis._progress as progress
    import emgis.run._fork as fork
    import emgis.run.jobs as jobs
    from emgis.cli import main as cli_main

    fd, name = tempfile.mkstemp(prefix="emgis-trace-", suffix=".jsonl")
    os.close(fd)
    log = Path(name)
    prof_dir = Path(args.profile) if args.profile else None
    if prof_dir is not None:
        prof_dir.mkdir(parents=True, exist_ok=True)

    def emit(**event: Any) -> None:  # one line per event; workers append from their fork
        event["pid"] = os.getpid()
        with log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")

    init = fork.Forked.__init__
    result = fork.Forked.result
    step = progress.Progress.step

    def traced_init(self: Any, out: Any, fn: Callable[..., Any], *a: Any, **k: Any) -> None:
        label = getattr(fn, "__name__", str(fn))

        def wrapped(*a2: Any, **k2: Any) -> Any:
            t, c, f = time.monotonic(), time.process_time(), _faults()
            at_fork = _rss()
            prof = cProfile.Profile() if prof_dir is not None else None
            if prof is not None:
                prof.enable()
            try:
                return fn(*a2, **k2)
            finally:
                if prof is not None and prof_dir is not None:
                    prof.disable()
                    prof.dump_stats(str(prof_dir / f"prof-{label}-{os.getpid()}.prof"))
                emit(ev="worker", name=label, start=t - T0, end=time.monotonic() - T0,
                     cpu=time.process_time() - c, faults=_faults() - f,
                     peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, at_fork=at_fork)

        self._trace_name = label
        init(self, out, wrapped, *a, **k)

    def traced_result(self: Any) -> Any:
        t = time.monotonic()
        try:
            return result(self)
        finally:
            emit(ev="wait", name=self._trace_name, at=t - T0, waited=time.monotonic() - t)

    def traced_step(self: Any, text: str) -> None:
        emit(ev="step", name=text, at=time.monotonic() - T0, cpu=time.process_time())
        step(self, text)

    fork.Forked.__init__ = traced_init  # type: ignore[method-assign]
    fork.Forked.result = traced_result  # type: ignore[method-assign]
    progress.Progress.step = traced_step  # type: ignore[method-assign]
    jobs.Forked = fork.Forked  # type: ignore[attr-defined]

    code = cli_main(["-q", "run", args.district, "--out", args.out, "--lang", args.lang])
    emit(ev="end", at=time.monotonic() - T0, cpu=time.process_time(), faults=_faults(),
         peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    log.unlink()
    rows: list[tuple[float, str]] = []
    for e in events:
        if e["ev"] == "worker":
            rows.append((e["start"], f"  worker {e['name'][:34]:34s} {e['start']:7.2f} - "
                                     f"{e['end']:7.2f}  cpu {e['cpu']:6.2f} s  "
                                     f"faults {e['faults'] // 1000}k  "
                                     f"peak {e['peak'] / 1024:,.0f} MiB "
                                     f"(forked at {e['at_fork'] / 1024:,.0f})"))
        elif e["ev"] == "step":
            # a step a worker says (its progress) carries the worker's CPU, not the parent's
            who = "parent" if e["pid"] == os.getpid() else "worker"
            rows.append((e["at"], f"step   {e['at']:7.2f}  {e['name'][:60]:60s} "
                                  f"{who} cpu {e['cpu']:6.2f}"))
        elif e["ev"] == "wait" and e["waited"] >= 0.01:
            rows.append((e["at"], f"  wait   {e['name'][:34]:34s} at {e['at']:7.2f}  "
                                  f"waited {e['waited']:5.2f} s"))
        elif e["ev"] == "end":
            rows.append((e["at"], f"end    {e['at']:7.2f}  parent cpu {e['cpu']:.2f} s, "
                                  f"faults {e['faults'] // 1000}k, "
                                  f"peak {e['peak'] / 1024:,.0f} MiB"))
    print(f"emgis run {args.district}: timeline (seconds from the start)")
    for _, text in sorted(rows):
        print(text)
    workers = [e for e in events if e["ev"] == "worker"]
    total = sum(e["cpu"] for e in workers) + next(e["cpu"] for e in events if e["ev"] == "end")
    wall = next(e["at"] for e in events if e["ev"] == "end")
    print(f"CPU {total:.2f} s in {wall:.2f} s of wall ({total / wall:.2f} cores busy on "
          f"average, {os.cpu_count()} here)")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
