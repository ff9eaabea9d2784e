"""The analyst's one-process import: ``read_csv`` + ``sjoin`` + sqlite3 ``executemany``.

What a GIS analyst would write instead of ``geoverify batch import``: read the district's
CSV, join each point to the village it lies in, write one row per target. No validation, no
neighbours or groups, no events: the speed to beat by half (issue 10, goal 2).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely


def import_csv(csv: Path, villages: gpd.GeoDataFrame, database: Path) -> int:
    """Import ``csv`` (靶标编号, 经度, 纬度) into a new SQLite file; returns the rows written."""
    frame = pd.read_csv(csv)
    points = gpd.GeoDataFrame(
        {"target_id": frame["靶标编号"].astype(str)},
        geometry=gpd.points_from_xy(frame["经度"], frame["纬度"]),
        crs=villages.crs,
    )
    joined = gpd.sjoin(points, villages[["code", "geometry"]], predicate="within", how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    wkb = shapely.to_wkb(joined.geometry.to_numpy())
    codes = joined["code"].astype(object).where(joined["code"].notna(), None)
    with sqlite3.connect(database) as conn:
        conn.execute(
            "CREATE TABLE targets (id INTEGER PRIMARY KEY, target_id TEXT UNIQUE NOT NULL, "
            "lon REAL, lat REAL, village_code TEXT, geometry BLOB)"
        )
        conn.executemany(
            "INSERT INTO targets (target_id, lon, lat, village_code, geometry) VALUES (?,?,?,?,?)",
            zip(
                joined["target_id"].tolist(),
                frame["经度"].tolist(),
                frame["纬度"].tolist(),
                codes.tolist(),
                wkb.tolist(),
                strict=True,
            ),
        )
    return len(joined)
