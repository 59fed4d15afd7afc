"""Searches on threads, from one pool kept per process.

The compiled kernels let go of the GIL, so several searches run on several cores from
threads. A pool made and shut down per call starts and joins its threads every time: the
uncertainty analysis's hundred samples started 200 threads, and on a loaded machine (a run's
workers beside each other on two cores) each start waited for the new thread to be
scheduled, 0.5 s of a county's minutes worker spent waiting. One pool per process is kept
instead (shut down before the run forks a worker, :func:`release`, and made again after; a
forked child makes its own), and used from the main thread only: a call from another thread
(the workbench's, or a search nested in a pooled one) gets a pool of its own, as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_POOL: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, threads, pool)


def cores() -> int:
    """Cores of this machine (at least 1)."""
    return os.cpu_count() or 1


def _shared(n: int) -> ThreadPoolExecutor:
    """The process's pool of ``n`` threads (a new one after a fork; one of another size is
    shut down first)."""
    global _POOL
    pid = os.getpid()
    if _POOL is None or _POOL[0] != pid or _POOL[1] != n:
        release()
        _POOL = (pid, n, ThreadPoolExecutor(max_workers=n, thread_name_prefix="emgis-search"))
    return _POOL[2]


def release() -> None:
    """Shut the process's pool down (its idle threads joined). A process about to fork calls
    it: a fork leaves the child without the parent's threads, and forking while threads run
    can leave a lock held in the child (Python 3.12 warns of it); the next search makes the
    pool again."""
    global _POOL
    if _POOL is not None:
        pid, _, pool = _POOL
        _POOL = None
        if pid == os.getpid():
            pool.shutdown(wait=True)


def on_threads(fn: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """``[fn(x) for x in items]``, on up to ``threads`` threads (in order; the first error
    is raised once every call has ended, so nothing runs on after it). The shared pool
    serves ``threads`` equal to :func:`cores`; other counts get a pool of their own."""
    n = min(threads, len(items))
    if n <= 1:
        return [fn(x) for x in items]
    if threads != cores() or threading.current_thread() is not threading.main_thread():
        with ThreadPoolExecutor(max_workers=n) as own:
            return list(own.map(fn, items))
    pool = _shared(threads)
    futures: list[Future[R]] = [pool.submit(fn, x) for x in items]
    wait(futures)
    return [f.result() for f in futures]
