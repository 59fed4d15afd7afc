"""The output folder: file names that stay inside it, atomic writes, a lock, and the manifest.

Everything emgis writes under ``--out`` goes through an :class:`OutputDir`:

- **Names.** A file name built from input (a scenario name, a hazard id) is made a safe stem
  by :func:`safe_stem` (letters of any script, digits, ``-`` and ``_``; no separators, no
  ``..``, no control characters; bounded length) and every path is checked to lie inside the
  folder before anything is written.
- **Atomic writes.** A file is written to a temporary name in the same folder and moved into
  place with :func:`os.replace`, so a killed run leaves either the old file or the new one,
  never a half-written one.
- **A lock.** Two runs writing to the same folder take turns (the second waits, then goes on);
  after ``lock_timeout`` seconds it stops with a clear message.
- **The manifest** ``run.json`` lists every file with its sha256, size and the command that
  wrote it, the inputs' hashes and the emgis version. It is rewritten after every file with
  ``"complete": false`` and, last of all, with ``"complete": true``; files of an earlier run
  of the same command that this run did not rewrite are removed, so a folder never mixes runs.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from emgis._errors import OutputError
from emgis._files import _TMP_MARK, _fault, _FileLock, atomic_write, sha256_file
from emgis._version import __version__
from emgis.texts import Msg

log = logging.getLogger(__name__)

MANIFEST = "run.json"
LOCK = ".emgis.lock"
#: Bytes of a file name stem built from input (file systems allow 255 bytes per name).
MAX_STEM_BYTES = 96
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                     *(f"lpt{i}" for i in range(10))}


def safe_stem(text: object, *, max_bytes: int = MAX_STEM_BYTES) -> str:
    """A file-name stem made from input text: safe on every file system, never a path.

    Letters of any script (Chinese included) and digits are kept; ``-`` and ``_`` too; every
    other character (separators, dots, spaces, control characters, quotes ...) becomes ``_``,
    runs of ``_`` are merged and stripped from the ends. A stem longer than ``max_bytes``
    (UTF-8) is cut and given a short hash of the whole text, so different long names stay
    different. An empty result or a reserved device name (``CON``, ``NUL`` ...) is prefixed.

    Parameters
    ----------
    text
        The text from input (converted with ``str``).
    max_bytes
        Longest stem in UTF-8 bytes.

    Returns
    -------
    str
        A stem with no path separator, no ``..``, no leading dot.
    """
    raw = unicodedata.normalize("NFC", str(text))
    out = "".join(ch if (ch.isalnum() or ch in "-_") and ch.isprintable() else "_" for ch in raw)
    out = re.sub(r"_+", "_", out).strip("_-")
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    if len(out.encode("utf-8")) > max_bytes:
        cut = out.encode("utf-8")[: max_bytes - 9].decode("utf-8", "ignore").rstrip("_-")
        out = f"{cut}_{digest}"
    if not out:
        out = f"x_{digest}"
    if out.lower() in _WINDOWS_RESERVED:
        out = f"_{out}"
    return out


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class OutputDir:
    """The ``--out`` folder of one command: every file written here is named safely, written
    atomically and listed in the manifest.

    Use as a context manager: the folder is locked on entry; :meth:`finish` writes the final
    manifest (files of an earlier run of the same command that this run did not rewrite are
    removed first). Leaving the block without :meth:`finish` (an error) leaves the manifest
    saying ``"complete": false``.

    Parameters
    ----------
    root
        The folder; created if missing.
    command
        The command writing (``run``, ``coverage``, ``scenario`` ...); ``run`` replaces the
        outputs of every command.
    lock_timeout
        Seconds to wait for another process writing to the same folder.
    on_wait
        Called with a message when the lock is held by another process.
    inputs
        The files this command reads (the district's sources, a province file, a plan):
        a folder holding any of them is refused, and no path written may be one of them, so
        a run never writes over its input.
    """

    def __init__(self, root: str | Path, *, command: str, lock_timeout: float = 600.0,
                 on_wait: Callable[[str], None] | None = None,
                 inputs: Iterable[str | Path] = ()) -> None:
        self.root = Path(root)
        self.inputs = frozenset(Path(p).resolve() for p in inputs)
        self.command = command
        self.lock_timeout = lock_timeout
        self.on_wait = on_wait
        self.run_id = hashlib.sha256(f"{os.getpid()}-{time.time_ns()}".encode()).hexdigest()[:12]
        self.started = _now()
        self.written: dict[str, dict[str, Any]] = {}
        self._stems: dict[str, str] = {}
        self._lock: _FileLock | None = None
        self._old: dict[str, dict[str, Any]] = {}
        self._meta: dict[str, Any] = {}

    # -- the folder and its lock ---------------------------------------------------------------
    def __enter__(self) -> OutputDir:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Create the folder if need be, lock it, and read the earlier manifest."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise OutputError(Msg("out_is_file", root=str(root)))
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(Msg("out_cannot_create", root=str(root),
                                  detail=exc.strerror)) from exc
        self.root = root.resolve()
        holds = sorted(str(p) for p in self.inputs if p.parent == self.root or p == self.root)
        if holds:
            raise OutputError(Msg("out_holds_inputs", root=str(self.root), file=holds[0],
                                  n=len(holds)))
        lock = _FileLock(self.root / LOCK)
        try:
            lock.acquire(timeout=self.lock_timeout, what=Msg("lock_out", root=str(self.root)),
                         on_wait=self.on_wait)
        except OSError as exc:
            if isinstance(exc, OutputError):
                raise
            raise OutputError(Msg("out_cannot_write", root=str(self.root),
                                  detail=exc.strerror)) from exc
        self._lock = lock
        for stray in self.root.glob(f".*{_TMP_MARK}*"):  # left by a killed run
            with contextlib.suppress(OSError):
                stray.unlink()
        self._old = self._read_old()
        self._save(complete=False)

    def close(self) -> None:
        """Release the lock (the manifest stays as it is)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _read_old(self) -> dict[str, dict[str, Any]]:
        path = self.root / MANIFEST
        try:
            data = json.loads(path.read_text("utf-8"))
            files = data.get("files", {})
            if isinstance(files, dict):
                return {str(k): dict(v) for k, v in files.items() if isinstance(v, dict)}
        except (OSError, ValueError, AttributeError):
            pass
        return {}

    # -- names -------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """The path of file ``name`` in the folder, checked to stay inside it.

        Raises
        ------
        OutputError
            ``name`` is not a plain file name or would resolve outside the folder.
        """
        if (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name
                or name.startswith(".")):
            raise OutputError(Msg("out_bad_name", name=name))
        path = (self.root / name).resolve()
        if path.parent != self.root:
            raise OutputError(Msg("out_escapes", name=name, path=str(path),
                                  root=str(self.root)))
        if path in self.inputs:
            raise OutputError(Msg("out_is_input", name=name, path=str(path)))
        return path

    def stem(self, prefix: str, text: object) -> str:
        """``prefix`` + a safe stem of ``text``, unique in this run (``-2``, ``-3`` ... added
        where two texts give the same stem). The same text always gives the same stem."""
        key = f"{prefix}\0{text}"
        if key in self._stems:
            return self._stems[key]
        base = prefix + safe_stem(text)
        taken = set(self._stems.values())
        stem, n = base, 2
        while stem.lower() in {s.lower() for s in taken}:
            stem, n = f"{base}-{n}", n + 1
        self._stems[key] = stem
        return stem

    # -- writing -----------------------------------------------------------------------------
    def write(self, name: str, write: Callable[[Path], None]) -> Path:
        """Write file ``name`` through ``write(tmp_path)``, atomically, and record it."""
        if self._lock is None:
            raise OutputError(Msg("out_not_open"))
        path = self.path(name)
        _fault("kill-before", name)
        try:
            atomic_write(path, write)
        except OSError as exc:
            raise OutputError(Msg("out_write_failed", path=str(path),
                                  detail=str(exc.strerror or exc))) from exc
        self.written[name] = {"sha256": sha256_file(path), "size": path.stat().st_size,
                              "command": self.command, "run_id": self.run_id}
        _fault("kill-after", name)
        self._save(complete=False)
        return path

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write bytes to file ``name`` atomically."""
        def write(p: Path) -> None:
            p.write_bytes(data)

        return self.write(name, write)

    def write_text(self, name: str, text: str) -> Path:
        """Write UTF-8 text to file ``name`` atomically."""
        return self.write_bytes(name, text.encode("utf-8"))

    def describe(self, **meta: object) -> None:
        """Record facts about the run in the manifest (district, inputs, settings ...)."""
        self._meta.update(meta)

    def _domain(self, entry: Mapping[str, Any]) -> bool:
        """Whether an earlier file belongs to what this command replaces."""
        return self.command == "run" or entry.get("command") == self.command

    def finish(self) -> Path:
        """Remove files of an earlier run of this command that this run did not rewrite, then
        write the final manifest. Returns its path."""
        for name, entry in self._old.items():
            if name in self.written or not self._domain(entry):
                continue
            try:
                path = self.path(name)
            except OutputError:
                continue
            if path.exists() and sha256_file(path) == entry.get("sha256"):
                path.unlink()
                log.info("removed %s: written by an earlier run, not by this one", name)
        return self._save(complete=True)

    def _kept(self) -> dict[str, dict[str, Any]]:
        """Files of other commands' earlier runs that are still there, unchanged."""
        out = {}
        for name, entry in self._old.items():
            if name in self.written or self._domain(entry):
                continue
            with contextlib.suppress(OutputError, OSError):
                path = self.path(name)
                if path.exists() and sha256_file(path) == entry.get("sha256"):
                    out[name] = entry
        return out

    def _save(self, *, complete: bool) -> Path:
        files = dict(self._old) if not complete else self._kept()
        files.update(self.written)
        doc = {
            "emgis": _version(),
            "complete": complete,
            "command": self.command,
            "run_id": self.run_id,
            **self._meta,
            "started": self.started,
            "finished": _now() if complete else None,
            "files": {k: files[k] for k in sorted(files)},
        }
        text = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False, default=str)
        path = self.root / MANIFEST
        data = text.encode("utf-8") + b"\n"

        def write(p: Path) -> None:
            p.write_bytes(data)

        atomic_write(path, write)
        return path


def _version() -> str:
    return __version__


def read_manifest(root: str | Path) -> dict[str, Any]:
    """The manifest of an output folder, checked: every file it lists is there with the
    recorded sha256.

    Raises
    ------
    OutputError
        No manifest, an incomplete run, or a listed file missing or changed.
    """
    root = Path(root)
    path = root / MANIFEST
    try:
        doc: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError(Msg("manifest_unreadable", path=str(path))) from exc
    if not doc.get("complete"):
        raise OutputError(Msg("manifest_incomplete", path=str(path)))
    for name, entry in doc.get("files", {}).items():
        f = root / name
        if not f.exists() or sha256_file(f) != entry.get("sha256"):
            raise OutputError(Msg("manifest_changed", path=str(f)))
    return doc
