"""Targets the assignment put outside the town (镇外): how far, the nearest village, and
whether the file's coordinates look swapped. Pure: arrays and geometries in, dataclasses out.

A target a few hundred metres outside the town is a rough boundary; tens or hundreds of
kilometres away it is almost surely a typo or swapped coordinates. Both are imported (as 镇外);
the far ones are flagged so the office looks at them before the import.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

__all__ = [
    "FAR_OUTSIDE_KM",
    "OUTSIDE_LISTED",
    "OutsideTarget",
    "OutsideTown",
    "outside_town_of",
]


#: Kilometres from the town beyond which a target outside it (镇外) is flagged as far: a few
#: hundred metres out is a rough boundary, tens or hundreds of kilometres a typo or swapped
#: coordinates. Far targets are still imported (as 镇外), with a warning before the import.
FAR_OUTSIDE_KM = 10.0
#: Targets outside the town a result lists (far ones first, then by row); every one is counted.
OUTSIDE_LISTED = 200


@dataclass(frozen=True)
class OutsideTarget:
    """A target the assignment put outside the town (镇外), with what helps to check it."""

    #: The file's row, as the user sees it.
    row: int
    target_id: str
    lon: float
    lat: float
    #: Kilometres to the nearest village (the assignment's distance); None when unknown.
    distance_km: float | None
    nearest_village: str | None
    nearest_village_code: str | None
    #: Farther than :data:`FAR_OUTSIDE_KM` from the town.
    far: bool
    #: The file's two coordinates the other way round would lie in the town.
    swapped: bool

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> OutsideTarget:
        return cls(**{f.name: doc[f.name] for f in dataclasses.fields(cls)})


@dataclass
class OutsideTown:
    """A batch's new targets outside the town: all counted, the first :data:`OUTSIDE_LISTED`
    listed (the far ones first, then by row)."""

    count: int = 0
    far: int = 0
    swapped: int = 0
    listed: list[OutsideTarget] = field(default_factory=list)
    far_km: float = FAR_OUTSIDE_KM

    @property
    def unlisted(self) -> int:
        """Targets outside the town counted but not in :attr:`listed`."""
        return self.count - len(self.listed)

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "far": self.far,
            "swapped": self.swapped,
            "far_km": self.far_km,
            "targets": [t.to_json() for t in self.listed],
            "unlisted": self.unlisted,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> OutsideTown:
        """The result :meth:`to_json` gave (as an import keeps it)."""
        return cls(
            count=int(doc["count"]),
            far=int(doc["far"]),
            swapped=int(doc["swapped"]),
            listed=[OutsideTarget.from_json(t) for t in doc["targets"]],
            far_km=float(doc["far_km"]),
        )


def outside_town_of(
    villages: gpd.GeoDataFrame,
    town: Any,
    metric: CRS,
    *,
    rows: Any,
    target_ids: list[Any],
    lon: Any,
    lat: Any,
    distance_m: Any,
    source_crs: str | None,
) -> OutsideTown:
    """The targets outside the town (their file ``rows``, ids, coordinates in the villages'
    CRS and the assignment's ``distance_m``, as arrays), which are far, and which would lie
    in the ``town`` (the villages' union) with the file's two coordinates (in ``source_crs``)
    the other way round. Column-wise; the nearest village only of the listed ones."""
    n = len(target_ids)
    if n == 0:
        return OutsideTown()
    rows = np.asarray(rows, dtype=np.int64)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if isinstance(distance_m, np.ndarray) and distance_m.dtype == np.float64:
        dist = distance_m
    else:  # from the store: numbers or None
        dist = pd.to_numeric(pd.Series(distance_m, dtype=object), errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        far = dist > FAR_OUTSIDE_KM * 1000.0  # NaN (no distance): not flagged
    swapped = _swapped_into(town, villages.crs, lon, lat, source_crs)
    order = np.lexsort((rows, ~far))[:OUTSIDE_LISTED].tolist()
    nearest = _nearest_village(villages, metric, lon[order], lat[order])
    codes = villages["code"].to_numpy(dtype=object).tolist()
    names = villages["name"].to_numpy(dtype=object).tolist()
    listed = [
        OutsideTarget(
            row=int(rows[i]),
            target_id=str(target_ids[i]),
            lon=float(lon[i]),
            lat=float(lat[i]),
            distance_km=round(float(dist[i]) / 1000.0, 3) if np.isfinite(dist[i]) else None,
            nearest_village=None if v < 0 else str(names[v]),
            nearest_village_code=None if v < 0 else str(codes[v]),
            far=bool(far[i]),
            swapped=bool(swapped[i]),
        )
        for i, v in zip(order, nearest.tolist(), strict=True)
    ]
    return OutsideTown(count=n, far=int(far.sum()), swapped=int(swapped.sum()), listed=listed)


def _swapped_into(town: Any, crs: Any, lon: Any, lat: Any, source_crs: str | None) -> Any:
    """Whether each point (``lon``, ``lat`` in ``crs``) lies in ``town`` once its coordinates,
    as the file gave them (in ``source_crs``), are swapped: X for Y, longitude for latitude."""
    try:
        src = CRS.from_user_input(source_crs) if source_crs else CRS.from_user_input(crs)
    except CRSError:  # a label pyproj no longer reads: swap in the villages' CRS
        src = CRS.from_user_input(crs)
    with np.errstate(all="ignore"):
        x, y = Transformer.from_crs(crs, src, always_xy=True).transform(lon, lat)
        sx, sy = Transformer.from_crs(src, crs, always_xy=True).transform(y, x)
        shapely.prepare(town)
        inside: Any = shapely.intersects_xy(town, np.asarray(sx), np.asarray(sy))
    return np.asarray(inside, dtype=bool)


def _nearest_village(villages: gpd.GeoDataFrame, metric: CRS, lon: Any, lat: Any) -> Any:
    """The position in ``villages`` of the village nearest each point (in metres); -1 none."""
    out = np.full(len(lon), -1, dtype=np.intp)
    if not len(lon) or villages.empty:
        return out
    points = gpd.GeoSeries(shapely.points(lon, lat), crs=villages.crs).to_crs(metric)
    areas = np.asarray(villages.geometry.to_crs(metric).array, dtype=object)
    tree = shapely.STRtree(areas)
    with np.errstate(all="ignore"):
        qi, vi = tree.query_nearest(np.asarray(points.array, dtype=object), all_matches=False)
    out[qi] = vi
    return out
