"""The version of emgis (one place; the manifest and `emgis --version` read it)."""

__version__ = "0.2.0"
