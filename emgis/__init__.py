"""emgis: a GIS planner for grassroots emergency response coverage.

Data flows from the district's layers (:mod:`emgis.inputs.district`) and road network
(:mod:`emgis.roads.network`, :mod:`emgis.roads.snapping`) to the analyses and then to the outputs.
"""

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
from emgis.inputs.district import District, RoadSource, load_district, summary, validate_district
from emgis.inputs.settings import Settings, default_settings, load_settings
from emgis.plan import Plan, open

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
