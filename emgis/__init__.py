"""emgis: a GIS planner for grassroots emergency response coverage.

Data flows from the district's layers (:mod:`emgis.district`) and road network
(:mod:`emgis.network`, :mod:`emgis.snapping`) to the analyses and then to the outputs.
"""

from emgis._errors import (
    DistrictError,
    EmgisError,
    NetworkError,
    NoCrsError,
    SettingsError,
    SitingError,
    ValidationError,
)
from emgis.district import District, RoadSource, load_district, summary, validate_district
from emgis.settings import Settings, default_settings, load_settings

__all__ = [
    "District",
    "DistrictError",
    "EmgisError",
    "NetworkError",
    "NoCrsError",
    "RoadSource",
    "Settings",
    "SettingsError",
    "SitingError",
    "ValidationError",
    "default_settings",
    "load_district",
    "load_settings",
    "summary",
    "validate_district",
]

__version__ = "0.1.0"
