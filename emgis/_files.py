"""Writing files safely: atomic replacement, a lock between processes, file digests, and the
fault hook the tests use to kill a write half way (shared by the output folder and the
network cache)."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from emgis._errors import OutputError
from emgis.texts import Msg

log = logging.getLogger(__name__)

_TMP_MARK = ".emgis-tmp"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _FileLock:
    """An exclusive advisory lock on a file (fcntl on POSIX, msvcrt on Windows)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO | None = None

    def _try(self) -> bool:
        assert self._fh is not None  # opened by acquire
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            import msvcrt

            try:
                lock = getattr(msvcrt, "locking")  # noqa: B009 - Windows only
                lock(self._fh.fileno(), getattr(msvcrt, "LK_NBLCK"), 1)  # noqa: B009
            except OSError:
                return False
            return True
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def acquire(self, *, timeout: float, what: str,
                on_wait: Callable[[str], None] | None = None) -> None:
        """Take the lock, waiting up to ``timeout`` seconds for another process to let go."""
        self._fh = self.path.open("a+")
        deadline = time.monotonic() + timeout
        told = False
        while not (self._try() and self._still_there()):
            holder = self._holder()
            if time.monotonic() >= deadline:
                self._fh.close()
                self._fh = None
                raise OutputError(Msg("lock_timeout", what=what, holder=holder,
                                      timeout=timeout))
            if not told:
                msg = Msg("lock_waiting", what=what, holder=holder)
                (on_wait or log.warning)(msg)
                told = True
            time.sleep(0.2)
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(str(os.getpid()))
        self._fh.flush()

    def _holder(self) -> str | Msg:
        try:
            pid = self.path.read_text().strip()
        except OSError:
            return ""
        return Msg("lock_pid", pid=pid) if pid.isdigit() else ""

    def _still_there(self) -> bool:
        """Whether the file locked is still the one at the path: the holder before us removes
        the lock file when it lets go, so a lock taken on the removed file is dropped and the
        path opened again (the usual pattern for lock files that do not stay behind)."""
        assert self._fh is not None
        try:
            same = os.path.samestat(os.fstat(self._fh.fileno()), os.stat(self.path))
        except FileNotFoundError:
            same = False
        if not same:
            self._fh.close()
            self._fh = self.path.open("a+")
        return same

    def release(self) -> None:
        """Let go of the lock, removing the lock file (no ``.emgis.lock`` stays behind)."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()  # removed while still held: a waiter then opens it anew
            self._fh.close()  # closing the descriptor releases the lock
            self._fh = None


@contextlib.contextmanager
def locked(path: Path, *, what: str, timeout: float = 600.0,
           on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if need be) while the block runs."""
    lock = _FileLock(path)
    lock.acquire(timeout=timeout, what=what, on_wait=on_wait)
    try:
        yield
    finally:
        lock.release()


#: Fault injection for the tests of killed runs: ``EMGIS_FAULT=kill-before:NAME`` (or
#: ``kill-during:NAME``: the temporary file written, not yet moved into place; or
#: ``kill-after:NAME``) ends the process with SIGKILL at that point of writing file NAME.
FAULT_ENV = "EMGIS_FAULT"


#: In a forked worker of a run, the run's own process: a fault kills the whole run, as a
#: power cut or the operating system would.
RUN_PARENT: int | None = None


def _fault(when: str, name: str) -> None:
    if os.environ.get(FAULT_ENV) == f"{when}:{name}":  # pragma: no cover - ends the process
        if RUN_PARENT is not None:
            os.kill(RUN_PARENT, signal.SIGKILL)

        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file through ``write(tmp)`` to a temporary name beside it, then move it into
    place, so the file is either the old one or the whole new one."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}{_TMP_MARK}{path.suffix}")
    try:
        write(tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        _fault("kill-during", path.name)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


_PLAIN_DIRS: dict[Path, Path] = {}


def gdal_path(path: str | Path) -> str:
    """A path GDAL reads as a plain file: GDAL (and pyogrio) take a ``!`` in a path as the
    separator of a file inside an archive (``data.zip!roads.shp``), so a district under a folder
    named ``防汛!2025`` would not be found. Such a file is read through a link to its folder
    from a temporary folder (one per folder and process, removed at exit), which keeps a
    shapefile's side files beside it."""
    path = Path(path)
    if "!" not in str(path):
        return str(path)
    folder = path.resolve().parent
    link = _PLAIN_DIRS.get(folder)
    if link is None:
        tmp = Path(tempfile.mkdtemp(prefix="emgis-path-"))
        link = tmp / "d"
        os.symlink(folder, link, target_is_directory=True)
        _PLAIN_DIRS[folder] = link
        atexit.register(shutil.rmtree, tmp, True)
    return str(link / path.name)
