"""emgis: a GIS planner for grassroots emergency response coverage.

Data flows from the district's layers (:mod:`emgis.district`) and road network
(:mod:`emgis.network`, :mod:`emgis.snapping`) to the analyses and then to the outputs.
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
from emgis.district import District, RoadSource, load_district, summary, validate_district
from emgis.plan import Plan, open
from emgis.settings import Settings, default_settings, load_settings

__version__ = "0.2.0"

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
