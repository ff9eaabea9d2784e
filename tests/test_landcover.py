"""Tests of land-cover classes, priority weights and the land-cover raster reader."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from geoverify.coverage import coverage_grid
from geoverify.errors import CRSError, InputError
from geoverify.landcover import LandCover, PriorityWeights, priority_grid
from geoverify.readers.raster import WORLDCOVER_CLASSES, read_landcover

F, W, R, H2O, OTH = (
    LandCover.FARMLAND,
    LandCover.FOREST,
    LandCover.RESIDENTIAL,
    LandCover.WATER,
    LandCover.OTHER,
)


def test_priority_areas_follow_the_plan():
    classes = np.full((30, 30), F, dtype=np.uint8)
    classes[:, 20:] = W  # forest on the east
    classes[0, 0] = R  # a house in the north-west corner
    classes[29, 0] = H2O
    weights = PriorityWeights(
        farmland_edge=3, around_houses=4, forest=2, other=1, edge_m=20, houses_m=50
    )
    pri = priority_grid(classes, cell_m=10, weights=weights)
    assert pri.dtype == np.float32
    assert pri[15, 25] == 2  # 林区
    assert pri[15, 18] == 3  # 农村地头: farmland 20 m from the forest edge
    assert pri[15, 10] == 1  # interior farmland
    assert pri[3, 3] == 4  # 房前屋后: within 50 m of the house
    assert pri[0, 0] == 4  # the house itself
    assert pri[29, 0] == 0  # water
    assert pri[28, 0] == 3  # farmland next to water is a field edge


def test_nodata_border_is_not_a_field_edge():
    classes = np.full((10, 10), F, dtype=np.uint8)
    classes[:, 0] = LandCover.NODATA
    pri = priority_grid(classes, cell_m=10)
    assert pri[5, 1] == PriorityWeights().other
    assert pri[5, 0] == 0


def test_weights_are_configurable_and_checked():
    classes = np.full((5, 5), W, dtype=np.uint8)
    assert priority_grid(classes, cell_m=10, weights=PriorityWeights(forest=7))[2, 2] == 7
    with pytest.raises(ValueError, match="forest"):
        PriorityWeights(forest=-1)


def _write_tif(path: Path, data: np.ndarray, crs: str, transform: Affine, nodata=0) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(data, 1)


def _villages():
    return gpd.GeoDataFrame(
        {"code": ["1"], "name": ["甲村"]}, geometry=[box(106.02, 29.69, 106.04, 29.71)], crs=4490
    )


def test_geographic_raster_reprojected_onto_coverage_grid(tmp_path):
    # West half farmland, east half forest, in plain lon/lat (EPSG:4326), 0.0001° cells.
    data = np.full((300, 300), F, dtype=np.uint8)
    data[:, 150:] = W
    path = tmp_path / "lc_4326.tif"
    _write_tif(path, data, "EPSG:4326", Affine(0.0001, 0, 106.015, 0, -0.0001, 29.715))
    grid = coverage_grid(_villages(), cell_m=6.0)
    lc = read_landcover(path, grid=grid)
    assert lc.classes.shape == grid.shape
    assert lc.crs == grid.crs and lc.crs.to_epsg() == 4544
    assert set(np.unique(lc.classes)) == {F, W}
    # the class boundary at 106.03 E lands in the middle of the grid's columns
    row = lc.classes[grid.height // 2]
    switch = int(np.argmax(row == W))
    assert abs(switch - grid.width / 2) < 3


def test_default_grid_is_metric(tmp_path):
    data = np.full((50, 40), OTH, dtype=np.uint8)
    path = tmp_path / "lc.tif"
    _write_tif(path, data, "EPSG:32648", Affine(10, 0, 600_000, 0, -10, 3_290_000))
    lc = read_landcover(path)
    assert lc.crs.to_epsg() == 4544
    assert lc.cell_m == pytest.approx(10)
    assert (lc.classes == OTH).sum() > 0.8 * data.size


def test_worldcover_mapping(tmp_path):
    data = np.array([[10, 40], [50, 80]], dtype=np.uint8)
    path = tmp_path / "wc.tif"
    _write_tif(path, data, "EPSG:4544", Affine(10, 0, 600_000, 0, -10, 3_290_000), nodata=None)
    with pytest.raises(InputError, match="0-5"):
        read_landcover(path)
    lc = read_landcover(path, classes=WORLDCOVER_CLASSES)
    assert lc.classes.tolist() == [[W, F], [R, H2O]]


def test_bad_rasters(tmp_path):
    with pytest.raises(InputError, match=r"missing\.tif"):
        read_landcover(tmp_path / "missing.tif")
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"not a tiff at all")
    with pytest.raises(InputError, match=r"junk\.tif"):
        read_landcover(junk)
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(
        nocrs,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="uint8",
        transform=Affine(10, 0, 600_000, 0, -10, 3_290_000),
    ) as dst:
        dst.write(np.ones((2, 2), np.uint8), 1)
    with pytest.raises(CRSError):
        read_landcover(nocrs)


SAMPLE_TIF = Path(__file__).resolve().parents[1] / "data" / "samples" / "landcover_sample.tif"


@pytest.mark.skipif(not SAMPLE_TIF.exists(), reason="sample land cover not generated yet")
def test_sample_landcover_reads():
    lc = read_landcover(SAMPLE_TIF)
    assert lc.crs.to_epsg() == 4544
    present = set(np.unique(lc.classes).tolist())
    assert {1, 2, 3} <= present
    pri = priority_grid(lc.classes, cell_m=lc.cell_m)
    assert pri.max() == 3.0
