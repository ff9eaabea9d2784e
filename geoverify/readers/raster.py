"""Read a land-cover GeoTIFF in any CRS onto a metric grid (nearest-neighbour reprojection)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import rasterio
import rasterio.warp
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling

from geoverify.coverage import Grid
from geoverify.errors import CRSError, InputError, TooLargeError
from geoverify.geo import metric_crs
from geoverify.landcover import ClassGrid, LandCover
from geoverify.readers.safety import parser_errors

__all__ = ["WORLDCOVER_CLASSES", "read_landcover"]

#: Most cells of a land-cover raster read into memory (one byte or more each).
MAX_RASTER_CELLS = 400_000_000

#: ESA WorldCover 10 m class codes mapped to our classes (a real land cover one can download).
WORLDCOVER_CLASSES: dict[int, int] = {
    10: LandCover.FOREST,  # tree cover
    20: LandCover.OTHER,  # shrubland
    30: LandCover.OTHER,  # grassland
    40: LandCover.FARMLAND,  # cropland
    50: LandCover.RESIDENTIAL,  # built-up
    60: LandCover.OTHER,  # bare / sparse vegetation
    70: LandCover.OTHER,  # snow and ice
    80: LandCover.WATER,  # permanent water bodies
    90: LandCover.WATER,  # herbaceous wetland
    95: LandCover.FOREST,  # mangroves
    100: LandCover.OTHER,  # moss and lichen
}


def read_landcover(
    path: str | PathLike[str],
    *,
    grid: Grid | None = None,
    cell_m: float | None = None,
    classes: Mapping[int, int] | None = None,
) -> ClassGrid:
    """Read band 1 of a land-cover raster and reproject it (nearest) onto a metric grid.

    Parameters
    ----------
    path
        GeoTIFF (or any raster GDAL reads) with a CRS, in any CRS.
    grid
        Target grid, e.g. ``coverage.coverage_grid(villages, cell_m=...)``; when None, a grid
        in ``geo.metric_crs`` of the raster's centre with cells of ``cell_m`` (default: the
        source resolution in metres) covering the raster.
    classes
        Mapping of the file's values to :class:`~geoverify.landcover.LandCover` codes (for
        example :data:`WORLDCOVER_CLASSES`); None when the file already uses codes 0–5.
        Values not in the mapping become nodata (0).

    Returns
    -------
    ClassGrid

    Raises
    ------
    InputError
        The file is missing or unreadable, or holds values that are not land-cover classes.
    CRSError
        The raster has no CRS.
    """
    p = Path(path)
    if not p.exists():
        msg = f"{p}: 文件不存在 (file not found)"
        raise InputError(msg)
    with parser_errors(str(p), "GeoTIFF"):
        return _read_landcover(p, grid=grid, cell_m=cell_m, classes=classes)


def _read_landcover(
    p: Path, *, grid: Grid | None, cell_m: float | None, classes: Mapping[int, int] | None
) -> ClassGrid:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            src = rasterio.open(p)
    except rasterio.errors.RasterioIOError as e:
        msg = f"{p}: 无法读取栅格文件 (cannot read raster): {e}"
        raise InputError(msg) from e
    with src:
        if src.crs is None or src.transform.is_identity:
            msg = f"{p}: 栅格没有坐标系或地理参考 (raster has no CRS or georeferencing)"
            raise CRSError(msg)
        src_crs = CRS.from_user_input(src.crs.to_wkt())
        if src.width * src.height > MAX_RASTER_CELLS:
            msg = (
                f"{p}: 栅格过大（{src.width} × {src.height} 像元，上限 {MAX_RASTER_CELLS}），"
                f"请裁剪到本镇范围 (the raster has {src.width} x {src.height} cells, more than "
                f"{MAX_RASTER_CELLS}; clip it to the town)"
            )
            raise TooLargeError(msg)
        data = src.read(1)
        nodata = src.nodata
        src_transform = src.transform
        bounds = src.bounds
        if nodata is not None:
            data = np.where(data == nodata, 0, data)
        mapped = _map_classes(data, classes, p)
        if grid is None:
            grid = _default_grid(bounds, src_crs, src_transform, cell_m)
        out = np.zeros(grid.shape, dtype=np.uint8)
        rasterio.warp.reproject(
            source=mapped,
            destination=out,
            src_transform=src_transform,
            src_crs=src.crs,
            src_nodata=0,
            dst_transform=grid.transform,
            dst_crs=rasterio.crs.CRS.from_wkt(grid.crs.to_wkt()),
            dst_nodata=0,
            resampling=Resampling.nearest,
        )
    return ClassGrid(out, grid.transform, grid.crs)


def _map_classes(data: np.ndarray, classes: Mapping[int, int] | None, path: Path) -> np.ndarray:
    if classes is None:
        values = np.unique(data)
        bad = [int(v) for v in values if not (0 <= v <= max(LandCover))]
        if bad:
            msg = (
                f"{path}: 栅格值 {bad[:10]} 不是土地覆盖类别 0–5，请提供类别对照 "
                f"(raster values {bad[:10]} are not land-cover classes 0-5; pass a class mapping)"
            )
            raise InputError(msg)
        return data.astype(np.uint8)
    out = np.zeros(data.shape, dtype=np.uint8)
    for value, code in classes.items():
        out[data == value] = int(code)
    return out


def _default_grid(
    bounds: rasterio.coords.BoundingBox, src_crs: CRS, src_transform: Affine, cell_m: float | None
) -> Grid:
    x0, y0, x1, y1 = rasterio.warp.transform_bounds(src_crs, "EPSG:4326", *bounds)
    dst_crs = metric_crs((x0 + x1) / 2)
    left, bottom, right, top = rasterio.warp.transform_bounds(src_crs, dst_crs, *bounds)
    if cell_m is None:
        if src_crs.is_projected:
            cell_m = abs(src_transform.a) * src_crs.axis_info[0].unit_conversion_factor
        else:
            cell_m = abs(src_transform.a) * 111_320.0 * math.cos(math.radians((y0 + y1) / 2))
    if not (cell_m > 0 and math.isfinite(cell_m)):
        msg = f"cell_m must be a positive number, got {cell_m!r}"
        raise ValueError(msg)
    left = math.floor(left / cell_m) * cell_m
    top = math.ceil(top / cell_m) * cell_m
    width = max(1, math.ceil((right - left) / cell_m))
    height = max(1, math.ceil((top - bottom) / cell_m))
    return Grid(Affine(cell_m, 0.0, left, 0.0, -cell_m, top), width, height, dst_crs)
