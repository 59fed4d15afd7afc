"""The module names of emgis 0.2, kept for one release: each warns and forwards to its new home.

emgis 0.3 laid the package out in stages (``emgis.inputs``, ``emgis.roads``,
``emgis.locate``, ``emgis.analysis``, ``emgis.outputs``, ``emgis.run``). Code that imports an
old name (``from emgis.network import to_networkx``) keeps working, with a
:class:`DeprecationWarning` naming the new one; the old names go in the next release.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Sequence
from typing import Any

#: Old module (under ``emgis.``) -> its new home (a module that was split: every part, the
#: first holding what was not moved elsewhere).
MOVED: dict[str, tuple[str, ...]] = {
    "batch": ("emgis.run.batch", "emgis.run.rollup"),
    "compliance": ("emgis.analysis.compliance",),
    "config": ("emgis.inputs.schema",),
    "coords": ("emgis.inputs.coords",),
    "coverage": ("emgis.analysis.coverage", "emgis.inputs.kinds"),
    "district": ("emgis.inputs.district",),
    "engine": ("emgis.roads.engine",),
    "export": ("emgis.outputs.tables",),
    "jobs": ("emgis.run.jobs",),
    "layers": (
        "emgis.inputs.layers",
        "emgis.inputs.fields",
        "emgis.inputs.checks",
        "emgis.inputs.encodings",
    ),
    "maps": (
        "emgis.outputs.maps",
        "emgis.outputs.style",
        "emgis.outputs.basemaps",
        "emgis.outputs.mappage",
        "emgis.outputs.overview",
    ),
    "network": (
        "emgis.roads.network",
        "emgis.roads.edges",
        "emgis.roads.readers",
        "emgis.roads.assemble",
        "emgis.roads.nxio",
        "emgis.roads.cache",
    ),
    "output": ("emgis.outputs.folder", "emgis._files"),
    "planfile": ("emgis.inputs.planfile",),
    "qgis": ("emgis.outputs.qgis",),
    "report": ("emgis.outputs.report", "emgis.outputs.style"),
    "rollup": ("emgis.run.rollup",),
    "scenario": ("emgis.analysis.scenario",),
    "settings": ("emgis.inputs.settings", "emgis.inputs.schema"),
    "siting": (
        "emgis.analysis.siting",
        "emgis.locate.pairs",
        "emgis.locate.covering",
        "emgis.locate.median",
        "emgis.locate.robust",
    ),
    "snapping": ("emgis.roads.snapping",),
    "standards": ("emgis.inputs.standards", "emgis.outputs.profile", "emgis.inputs.kinds"),
    "traveltime": ("emgis.roads.routing",),
    "validation": ("emgis.inputs.problems",),
    "warning": ("emgis.analysis.warning",),
    "whatif": ("emgis.analysis.whatif",),
    "workbook": ("emgis.outputs.workbook",),
    "zones": ("emgis.analysis.zones",),
}


class _Alias(types.ModuleType):
    """A module that forwards every attribute to the module that replaced it."""

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        super().__init__(name, f"Moved to {', '.join(targets)}; this name goes in the next "
                               "release.")
        self._targets = targets

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        for target in self._targets:
            module = importlib.import_module(target)
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"{self.__name__} has no attribute {attr!r} (moved to "
                             f"{', '.join(self._targets)})")

    def __dir__(self) -> list[str]:
        return sorted({n for t in self._targets for n in dir(importlib.import_module(t))})


class _Loader(importlib.abc.Loader):
    def __init__(self, targets: tuple[str, ...]) -> None:
        self.targets = targets

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        warnings.warn(f"{spec.name} moved: import its names from {', '.join(self.targets)} "
                      "(the old name goes in the next release)", DeprecationWarning,
                      stacklevel=4)
        for target in self.targets:
            importlib.import_module(target)
        return _Alias(spec.name, self.targets)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        head, _, tail = fullname.partition(".")
        if head != "emgis" or tail not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader(MOVED[tail]))


def install() -> None:
    """Let the old module names be imported (once per process)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
