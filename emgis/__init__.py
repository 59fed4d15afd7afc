"""emgis: a GIS planner for grassroots emergency response coverage.

Data flows in stages, one package each: :mod:`emgis.inputs` (the standards profile,
``district.toml``, the layers), :mod:`emgis.roads` (the network, snapping, routing, the
engine), :mod:`emgis.locate` (location models on arrays), :mod:`emgis.analysis` (coverage,
scenarios, siting ...), :mod:`emgis.outputs` (tables, maps, report, workbook) and
:mod:`emgis.run` (whole jobs and a province's batch), with :class:`emgis.Plan` and the
``emgis`` command on top.

``import emgis`` is light: the errors are imported at once, everything else when first used
(``emgis.open``, ``emgis.Plan`` ...), so the command starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emgis import _moved
from emgis._errors import (
    CacheError,
    DistrictError,
    EmgisError,
    NetworkError,
    NoCrsError,
    OutputError,
    SettingsError,
    SitingError,
    ValidationError,
)
from emgis._version import __version__ as __version__

if TYPE_CHECKING:
    from emgis.inputs.district import (
        District,
        RoadSource,
        load_district,
        summary,
        validate_district,
    )
    from emgis.inputs.settings import Settings, default_settings, load_settings
    from emgis.plan import Plan, open

#: Public names imported when first used, and the module each comes from.
_LAZY = {
    "District": "emgis.inputs.district",
    "RoadSource": "emgis.inputs.district",
    "load_district": "emgis.inputs.district",
    "summary": "emgis.inputs.district",
    "validate_district": "emgis.inputs.district",
    "Settings": "emgis.inputs.settings",
    "default_settings": "emgis.inputs.settings",
    "load_settings": "emgis.inputs.settings",
    "Plan": "emgis.plan",
    "open": "emgis.plan",
}

_moved.install()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'emgis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "CacheError",
    "District",
    "DistrictError",
    "EmgisError",
    "NetworkError",
    "NoCrsError",
    "OutputError",
    "Plan",
    "RoadSource",
    "Settings",
    "SettingsError",
    "SitingError",
    "ValidationError",
    "default_settings",
    "load_district",
    "load_settings",
    "open",
    "summary",
    "validate_district",
]
