"""Exception types raised by emgis.

Every error emgis raises derives from :class:`EmgisError`, and most also from the built-in
exception a caller would expect (``ValueError`` for bad input), so ``except ValueError`` keeps
working. Messages name the file, the row or id, the field, and what to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emgis.inputs.problems import Problem


class EmgisError(Exception):
    """Base class of all emgis errors."""


class DistrictError(ValueError, EmgisError):
    """The district folder or its ``district.toml`` cannot be used as it is."""


class NoCrsError(ValueError, EmgisError):
    """A layer has no coordinate reference system and none is declared for it."""


class NetworkError(ValueError, EmgisError):
    """The road network cannot be read or built."""


class ValidationError(ValueError, EmgisError):
    """The district's input (``district.toml`` or its layers) has errors; ``problems`` lists
    every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.level == "error"]
        lines = [f"{len(errors)} error(s) in the district's input:"]
        lines += [f"  - {p}" for p in errors]
        super().__init__("\n".join(lines))


class SettingsError(ValidationError):
    """Settings in ``district.toml`` are unknown or have values of the wrong type or range;
    ``problems`` lists every one of them."""


class BasemapError(ValueError, EmgisError):
    """A basemap was chosen without what it needs (a Tianditu key)."""


class SitingError(ValueError, EmgisError):
    """A siting run was asked for with a model, method or option that do not go together."""


class OutputError(OSError, EmgisError):
    """The output folder cannot be used: not creatable or writable, a file, locked by another
    run, or a file name that would leave it."""


class CacheError(OSError, EmgisError):
    """A cache file is damaged or of another format version (it is rebuilt)."""


class SettingsEncodingError(DistrictError):
    """A settings file (``district.toml``, ``province.toml``) is not UTF-8 text."""


class WorkerError(RuntimeError, EmgisError):
    """A worker process of a run ended without sending its result (stopped by the system,
    most often for want of memory)."""


class BatchOptionError(ValueError, EmgisError):
    """An option of ``emgis batch`` (``--scheduler``, ``--memory-limit``, ``--workers``) or the
    Dask cluster it names cannot work; ``messages`` lists every one."""

    def __init__(self, message: str, messages: list[str] | None = None) -> None:
        self.messages = messages or [message]
        super().__init__(message)
