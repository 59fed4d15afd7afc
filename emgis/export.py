"""Writing result tables: CSV that Excel opens with Chinese intact, and GeoPackage layers.

Both are deterministic: the same results give byte-identical files (the GeoPackage's
modification timestamps are pinned).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

#: Timestamp written into GeoPackage metadata, so that files do not change between runs.
FIXED_DATE = "2000-01-01T00:00:00Z"


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as UTF-8 CSV with a byte-order mark (Excel shows Chinese correctly)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def write_gpkg(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write GeoDataFrames as the layers of one GeoPackage, replacing the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        for name, gdf in layers.items():
            out = gdf.copy()
            for col in out.columns:
                if col != out.geometry.name and out[col].dtype == object:
                    out[col] = out[col].astype("string")
            pyogrio.write_dataframe(out, path, layer=name, driver="GPKG", append=path.exists())
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    return path
