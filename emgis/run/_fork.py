"""Independent steps of a run in forked worker processes, on every core.

A forked child starts with the parent's memory as it is (the plan, its engine's arrays and
routing graphs, every analysis already computed) shared copy-on-write: nothing is copied or
rebuilt. It runs one function and sends its result back pickled through a pipe; the files it
writes into the run's :class:`~emgis.outputs.folder.OutputDir` are recorded in the parent's
manifest when the result is taken (the child never writes the manifest itself).

Where ``os.fork`` is missing (Windows), or with ``EMGIS_WORKERS=1``, the function runs in the
parent at once: the same files, the same results, one core.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from emgis import _files, _gc
from emgis._errors import WorkerError
from emgis.roads import _threads
from emgis.texts import Msg

if TYPE_CHECKING:
    from emgis.outputs.folder import OutputDir

T = TypeVar("T")


def workers() -> int:
    """How many processes a run may use at once (``EMGIS_WORKERS``, default every core)."""
    text = os.environ.get("EMGIS_WORKERS", "").strip()
    try:
        n = int(text) if text else (os.cpu_count() or 1)
    except ValueError:
        n = os.cpu_count() or 1
    return max(1, n)


def can_fork() -> bool:
    """Whether steps may run in forked children here."""
    return hasattr(os, "fork") and workers() > 1 and sys.platform != "win32"


class Forked(Generic[T]):
    """``fn(*args, **kwargs)`` running in a forked child (or at once, see the module); take
    its value with :meth:`result`, which re-raises the child's exception in the parent."""

    def __init__(self, out: OutputDir | None, fn: Callable[..., T], *args: Any,
                 **kwargs: Any) -> None:
        self._out = out
        self._pid = 0
        self._fd = -1
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        before = set(out.written) if out is not None else set()
        if not can_fork():
            try:
                self._value = fn(*args, **kwargs)
            except BaseException as exc:  # re-raised by result(), as the child's would be
                self._error = exc
            self._done = True
            return
        sys.stdout.flush()
        sys.stderr.flush()
        _threads.release()  # no thread of the searches' pool alive across the fork
        r, w = os.pipe()
        # the objects alive now out of the child's garbage collections (one would walk, and
        # so copy page by page, the whole inherited heap), and the parent's in a run
        # (:func:`emgis._gc.frozen_heap`)
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the child: run, send (value or error, files written), leave
            os.close(r)
            _files.RUN_PARENT = os.getppid()  # a fault test kills the whole run, not a worker
            code = 0
            try:
                if out is not None:  # the parent alone writes the manifest
                    out._save = lambda **_: out.root  # type: ignore[method-assign]
                try:
                    payload: tuple[str, Any, Any] = ("ok", fn(*args, **kwargs), None)
                except BaseException as exc:
                    payload = ("err", exc, None)
                written = {k: v for k, v in out.written.items() if k not in before} \
                    if out is not None else {}
                payload = (payload[0], payload[1], written)
                try:
                    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as exc:  # an unpicklable error: its words survive
                    data = pickle.dumps(("err", RuntimeError(str(payload[1]) or repr(exc)),
                                         written))
                with os.fdopen(w, "wb") as f:
                    f.write(data)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        if not _gc.holding():
            gc.unfreeze()
        self._pid, self._fd = pid, r

    def result(self) -> T:
        """The function's value (waits for the child); its exception is raised here."""
        if not self._done:
            with os.fdopen(self._fd, "rb") as f:
                data = f.read()
            _, status = os.waitpid(self._pid, 0)
            self._done = True
            if not data:
                self._error = _lost(status)
            else:
                kind, value, written = pickle.loads(data)
                if self._out is not None and written:
                    self._out.written.update(written)
                    self._out._save(complete=False)
                if kind == "ok":
                    self._value = value
                else:
                    self._error = value
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[no-any-return]


def _lost(status: int) -> WorkerError:
    """The error of a child that ended without its result (``status`` as ``os.waitpid``
    gives it): stopped by a signal (the system's out-of-memory killer sends SIGKILL) or
    ended with an exit status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = f" {signal.Signals(sig).name}"
        except ValueError:
            name = ""
        return WorkerError(Msg("worker_killed", sig=sig, name=name))
    return WorkerError(Msg("worker_lost", code=os.WEXITSTATUS(status)
                           if os.WIFEXITED(status) else status))
