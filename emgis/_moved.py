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

#: Old module (under ``emgis.``) -> its new home.
MOVED: dict[str, str] = {
    "batch": "emgis.run.batch",
    "compliance": "emgis.analysis.compliance",
    "config": "emgis.inputs.schema",
    "coords": "emgis.inputs.coords",
    "coverage": "emgis.analysis.coverage",
    "district": "emgis.inputs.district",
    "engine": "emgis.roads.engine",
    "export": "emgis.outputs.tables",
    "jobs": "emgis.run.jobs",
    "layers": "emgis.inputs.layers",
    "maps": "emgis.outputs.maps",
    "network": "emgis.roads.network",
    "output": "emgis.outputs.folder",
    "planfile": "emgis.inputs.planfile",
    "qgis": "emgis.outputs.qgis",
    "report": "emgis.outputs.report",
    "rollup": "emgis.run.rollup",
    "scenario": "emgis.analysis.scenario",
    "settings": "emgis.inputs.settings",
    "siting": "emgis.analysis.siting",
    "snapping": "emgis.roads.snapping",
    "standards": "emgis.inputs.standards",
    "traveltime": "emgis.roads.routing",
    "validation": "emgis.inputs.problems",
    "warning": "emgis.analysis.warning",
    "whatif": "emgis.analysis.whatif",
    "workbook": "emgis.outputs.workbook",
    "zones": "emgis.analysis.zones",
}


class _Alias(types.ModuleType):
    """A module that forwards every attribute to the module that replaced it."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, f"Moved to {target}; this name goes in the next release.")
        self._target = target

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return getattr(importlib.import_module(self._target), attr)

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self._target))


class _Loader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        warnings.warn(f"{spec.name} moved to {self.target}; import it from there (the old name "
                      "goes in the next release)", DeprecationWarning, stacklevel=4)
        importlib.import_module(self.target)
        return _Alias(spec.name, self.target)

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
