"""Land-cover classes and the patrol priority grid (重点区域: 农村地头、房前屋后、林区)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS
from scipy import ndimage

__all__ = [
    "CLASS_LABELS",
    "ClassGrid",
    "LandCover",
    "PriorityWeights",
    "priority_grid",
]


class LandCover(IntEnum):
    """Land-cover class codes of a class grid (0 is nodata)."""

    NODATA = 0
    FARMLAND = 1  # 耕地
    FOREST = 2  # 林地
    RESIDENTIAL = 3  # 居民点
    WATER = 4  # 水域
    OTHER = 5  # 其他


#: Chinese labels of the classes, for legends and reports.
CLASS_LABELS: dict[int, str] = {
    LandCover.NODATA: "无数据",
    LandCover.FARMLAND: "耕地",
    LandCover.FOREST: "林地",
    LandCover.RESIDENTIAL: "居民点",
    LandCover.WATER: "水域",
    LandCover.OTHER: "其他",
}


@dataclass(frozen=True)
class ClassGrid:
    """A land-cover class grid on a metric raster grid.

    Attributes
    ----------
    classes
        2-D ``uint8`` array of :class:`LandCover` codes, row 0 at the top (north).
    transform
        Affine transform of the grid (pixel corner to CRS coordinates).
    crs
        The metric CRS of the grid (``geo.metric_crs``, EPSG:4544 for the sample town).
    """

    classes: NDArray[np.uint8]
    transform: Affine
    crs: CRS

    @property
    def cell_m(self) -> float:
        """Cell size in metres (cells are square)."""
        return float(abs(self.transform.a))


@dataclass(frozen=True)
class PriorityWeights:
    """Weights of the plan's priority areas (重点区域), configurable.

    The plan names field edges (农村地头), the surroundings of houses (房前屋后) and forest (林区)
    as where illegal planting happens. A cell's priority weight is the largest weight among the
    areas it belongs to, or ``other`` when it is in none; water and nodata weigh 0.

    Attributes
    ----------
    farmland_edge
        Weight of farmland cells within ``edge_m`` of a non-farmland cell (农村地头).
    around_houses
        Weight of non-residential, non-water cells within ``houses_m`` of a residential cell
        (房前屋后), and of residential cells themselves.
    forest
        Weight of forest cells (林区).
    other
        Weight of every other land cell (interior farmland, other land).
    edge_m
        Width of the field-edge band in metres.
    houses_m
        Distance around houses in metres.
    """

    farmland_edge: float = 3.0
    around_houses: float = 3.0
    forest: float = 2.0
    other: float = 1.0
    edge_m: float = 20.0
    houses_m: float = 50.0

    def __post_init__(self) -> None:
        for name in ("farmland_edge", "around_houses", "forest", "other", "edge_m", "houses_m"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                msg = f"权重 {name} 必须为非负数 (weight {name} must be >= 0), got {value!r}"
                raise ValueError(msg)


def _within(mask: NDArray[np.bool_], distance_m: float, cell_m: float) -> NDArray[np.bool_]:
    """Cells whose centre lies within ``distance_m`` of a cell centre of ``mask``."""
    if not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    dist = ndimage.distance_transform_edt(~mask, sampling=cell_m)
    return np.asarray(dist <= distance_m)


def priority_grid(
    classes: NDArray[np.integer], *, cell_m: float, weights: PriorityWeights | None = None
) -> NDArray[np.float32]:
    """Priority weight of every cell of a land-cover class grid.

    Parameters
    ----------
    classes
        2-D array of :class:`LandCover` codes.
    cell_m
        Cell size in metres.
    weights
        The weights; :class:`PriorityWeights` defaults when None.

    Returns
    -------
    numpy.ndarray
        ``float32`` array of the same shape: the largest weight of the priority areas each cell
        belongs to (``other`` when none), 0 for water and nodata.
    """
    w = weights or PriorityWeights()
    if classes.ndim != 2:
        msg = f"class grid must be 2-D, got shape {classes.shape}"
        raise ValueError(msg)
    if not cell_m > 0:
        msg = f"cell_m must be > 0, got {cell_m!r}"
        raise ValueError(msg)
    farmland = classes == LandCover.FARMLAND
    forest = classes == LandCover.FOREST
    residential = classes == LandCover.RESIDENTIAL
    land = (classes != LandCover.NODATA) & (classes != LandCover.WATER)

    out = np.where(land, np.float32(w.other), np.float32(0.0)).astype(np.float32)
    # 林区: forest cells.
    out[forest] = np.maximum(out[forest], w.forest)
    # 农村地头: farmland within edge_m of anything that is not farmland (nodata excluded, so the
    # raster's border does not make a fake edge).
    not_farmland = land & ~farmland | (classes == LandCover.WATER)
    edge = farmland & _within(not_farmland, w.edge_m, cell_m)
    out[edge] = np.maximum(out[edge], w.farmland_edge)
    # 房前屋后: land within houses_m of a residential cell.
    houses = land & _within(residential, w.houses_m, cell_m)
    out[houses] = np.maximum(out[houses], w.around_houses)
    return out
