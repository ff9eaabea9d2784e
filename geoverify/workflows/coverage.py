"""Land cover, patrol coverage of a period and the monthly patrol report, from the store."""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import rasterio
import rasterio.errors
import rasterio.features
from pyproj import CRS

from geoverify.coverage import DEFAULT_RADIUS_M, CoverageResult, coverage, coverage_grid
from geoverify.documents.monthly import write_monthly_tables, write_town_summary
from geoverify.errors import InputError
from geoverify.landcover import CLASS_LABELS, ClassGrid, LandCover, PriorityWeights
from geoverify.patrols import MonthlySummary, coverage_inputs, monthly_summary
from geoverify.readers.raster import WORLDCOVER_CLASSES, read_landcover
from geoverify.store import Store, repo
from geoverify.workflows.common import Actor, file_sha256, make_who, today_local
from geoverify.workflows.patrols import load_patrols, month_range
from geoverify.workflows.villages import village_areas_km2

__all__ = [
    "CLASS_SCHEMES",
    "LandcoverImportResult",
    "MonthlyReportResult",
    "coverage_for_period",
    "import_landcover",
    "landcover_path",
    "village_coverage",
    "write_coverage_outputs",
    "write_monthly_report",
    "write_village_monthly",
]

LANDCOVER_KIND = "landcover"
#: Value schemes of a land-cover file: our codes 0–5, or ESA WorldCover 10 m classes.
CLASS_SCHEMES: dict[str, dict[int, int] | None] = {"codes": None, "worldcover": WORLDCOVER_CLASSES}


def landcover_path(store: Store) -> Path:
    """Where the imported land cover lives: ``<workspace>/landcover/landcover.tif``."""
    return store.workspace / "landcover" / "landcover.tif"


@dataclass
class LandcoverImportResult:
    """What a land-cover import did."""

    source: str
    sha256: str
    status: str  # "imported" | "already_imported"
    path: Path
    cell_m: float = 0.0
    crs: str = ""
    shape: tuple[int, int] = (0, 0)
    classes: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file_sha256": self.sha256,
            "status": self.status,
            "path": str(self.path),
            "cell_m": self.cell_m,
            "crs": self.crs,
            "shape": list(self.shape),
            "class_share_pct": dict(self.classes),
        }


def _source_cell_m(path: Path) -> float:
    """The raster's resolution in metres (read from its header only)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as e:
        msg = f"{path.name}: 无法读取栅格文件 (cannot read raster): {e}"
        raise InputError(msg) from e
    with src:
        if src.crs is None:
            return 10.0  # read_landcover refuses it with a clear message
        crs = CRS.from_user_input(src.crs.to_wkt())
        a = abs(src.transform.a)
        if crs.is_projected:
            return float(a * crs.axis_info[0].unit_conversion_factor)
        lat = (src.bounds.bottom + src.bounds.top) / 2
        return float(a * 111_320.0 * math.cos(math.radians(lat)))


def _write_classgrid(grid: ClassGrid, path: Path) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=grid.classes.shape[1],
        height=grid.classes.shape[0],
        count=1,
        dtype="uint8",
        crs=rasterio.crs.CRS.from_wkt(grid.crs.to_wkt()),
        transform=grid.transform,
        nodata=0,
        compress="deflate",
    ) as dst:
        dst.write(grid.classes, 1)
        dst.update_tags(**{f"CLASS_{int(k)}": v for k, v in CLASS_LABELS.items() if k})


def import_landcover(
    store: Store,
    path: str | os.PathLike[str],
    *,
    scheme: str = "codes",
    cell_m: float | None = None,
    actor: str | Actor | None = None,
) -> LandcoverImportResult:
    """Import a land-cover raster in any CRS: reproject it (nearest) onto the town's metric grid.

    The result is kept at :func:`landcover_path` (a later import replaces it; both are in the
    history) and used by :func:`coverage_for_period` for the priority areas.

    Parameters
    ----------
    scheme
        ``"codes"`` (values 1 耕地 … 5 其他, 0 nodata) or ``"worldcover"`` (ESA WorldCover).
    cell_m
        Cell size of the stored grid; default the file's own resolution in metres.
    """
    if scheme not in CLASS_SCHEMES:
        msg = f"未知的类别方案 {scheme!r} (unknown class scheme; use codes or worldcover)"
        raise InputError(msg)
    p = Path(path)
    sha = file_sha256(p)
    store.require()
    out = landcover_path(store)
    with store.connect() as conn:
        if repo.find_import(conn, kind=LANDCOVER_KIND, sha256=sha):
            return LandcoverImportResult(p.name, sha, "already_imported", out)
        villages = repo.load_villages(conn)
    if villages.empty:
        msg = "还没有村（社区）边界，请先运行 `geoverify init` (no village boundaries yet)"
        raise InputError(msg)
    cell = cell_m or _source_cell_m(p)
    grid = coverage_grid(villages, cell_m=cell)
    classes = read_landcover(p, grid=grid, classes=CLASS_SCHEMES[scheme])
    town = rasterio.features.rasterize(
        [(g, 1) for g in villages.to_crs(grid.crs).geometry if g is not None and not g.is_empty],
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        dtype="uint8",
    )
    inside = classes.classes[town > 0]
    known = inside[inside != LandCover.NODATA]
    if known.size == 0:
        msg = (
            f"{p.name}: 土地覆盖栅格不覆盖本镇任何村（社区）(the land cover does not cover "
            "the town's villages)"
        )
        raise InputError(msg)
    shares = {
        CLASS_LABELS[int(v)]: round(100.0 * float(np.sum(inside == v)) / inside.size, 2)
        for v in LandCover
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    _write_classgrid(classes, tmp)
    who = make_who(actor=actor, source=f"file:{p.name}")
    try:
        with store.begin() as conn:
            repo.record_import(
                conn,
                kind=LANDCOVER_KIND,
                sha256=sha,
                source_name=p.name,
                who=who,
                summary={"cell_m": cell, "crs": grid.crs.to_string(), "scheme": scheme},
            )
            repo.record_events(
                conn,
                [
                    {
                        "kind": "landcover_imported",
                        "payload": {
                            "file": p.name,
                            "sha256": sha,
                            "scheme": scheme,
                            "cell_m": cell,
                            "crs": grid.crs.to_string(),
                            "shape": list(grid.shape),
                            "class_share_pct": shares,
                        },
                    }
                ],
                who=who,
            )
            os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return LandcoverImportResult(
        p.name,
        sha,
        "imported",
        out,
        cell_m=cell,
        crs=grid.crs.to_string(),
        shape=grid.shape,
        classes=shares,
    )


def coverage_for_period(
    store: Store,
    *,
    start: dt.date,
    end: dt.date,
    radius_m: float = DEFAULT_RADIUS_M,
    cell_m: float | None = None,
    weights: PriorityWeights | None = None,
    min_unsurveyed_m2: float = 5000.0,
) -> CoverageResult:
    """Tracked coverage of every village by the patrols dated ``start``–``end`` (inclusive).

    Uses the imported land cover (see :func:`import_landcover`) for the priority areas when
    there is one; otherwise ``priority_covered_pct`` is None and unsurveyed areas are ranked
    by plain area. Records without a track count as reported for their group, never as
    tracked coverage.

    Raises
    ------
    InputError
        Bad radius/cell, ``end`` before ``start``, or no villages.
    """
    if end < start:
        msg = f"结束日期 {end} 早于开始日期 {start} (end before start)"
        raise InputError(msg)
    store.require()
    with store.connect() as conn:
        villages = repo.load_villages(conn)
        groups = repo.load_groups(conn)
        patrols = load_patrols(conn, start=start, end=end)
    if villages.empty:
        msg = "还没有村（社区）边界，请先运行 `geoverify init` (no village boundaries yet)"
        raise InputError(msg)
    tracks, reported = coverage_inputs(patrols)
    cell = cell_m if cell_m is not None else radius_m / 5.0
    try:
        lc = None
        path = landcover_path(store)
        if path.exists():
            lc = read_landcover(path, grid=coverage_grid(villages, cell_m=cell))
        result = coverage(
            villages,
            tracks,
            radius_m=radius_m,
            cell_m=cell,
            landcover=lc,
            weights=weights,
            min_unsurveyed_m2=min_unsurveyed_m2,
            reported_groups=reported,
            groups=groups if not groups.empty else None,
        )
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        msg = f"无法计算覆盖率 (cannot compute coverage): {e}"
        raise InputError(msg) from e
    # The village's area as every output shows it (one computation, one rounding); the
    # grid's ``area_m2`` stays the denominator of the coverage percentage.
    areas = dict(zip(villages["code"].astype(str), village_areas_km2(villages), strict=True))
    result.villages["area_km2"] = [areas.get(str(c)) for c in result.villages["code"]]
    result.totals["area_km2"] = round(sum(areas.values()), 2)
    return result


#: Headers of the per-village coverage CSV, with the key of each column.
COVERAGE_CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("village", "村（社区）"),
    ("code", "代码"),
    ("area_km2", "面积（平方公里）"),
    ("covered_m2", "轨迹覆盖面积(m²)"),
    ("covered_pct", "轨迹覆盖率(%)"),
    ("priority_covered_pct", "重点区域覆盖率(%)"),
    ("patrols", "经过本村的轨迹（条）"),
    ("reported_groups", "仅报送（无轨迹）的组"),
    ("unsurveyed_areas", "未踏查区域（块）"),
)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    if isinstance(value, float | np.floating):
        return "" if not math.isfinite(float(value)) else round(float(value), 2)
    return value


def write_coverage_outputs(
    result: CoverageResult, out_dir: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write the effort GeoTIFF, the unsurveyed areas GeoPackage and the per-village CSV.

    Returns ``{"effort": …, "unsurveyed": …, "villages_csv": …}``. The CSV is UTF-8 with a BOM
    so that Excel shows the Chinese headers.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    effort = out / "effort.tif"
    h, w = result.effort.shape
    with rasterio.open(
        effort,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=1,
        dtype="uint16",
        crs=rasterio.crs.CRS.from_wkt(result.crs.to_wkt()),
        transform=result.transform,
        compress="deflate",
    ) as dst:
        dst.write(result.effort, 1)
        dst.set_band_description(1, "distinct patrols per cell (踏查次数)")
        dst.update_tags(radius_m=str(result.radius_m), cell_m=str(result.cell_m))
    gpkg = out / "unsurveyed.gpkg"
    gpkg.unlink(missing_ok=True)
    pyogrio.write_dataframe(
        result.unsurveyed,
        gpkg,
        layer="unsurveyed",
        driver="GPKG",
        promote_to_multi=True,
        geometry_type="MultiPolygon",
    )
    table = out / "villages_coverage.csv"
    with table.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([h for _, h in COVERAGE_CSV_COLUMNS])
        for rec in result.villages.to_dict("records"):
            writer.writerow([_cell(rec.get(k)) for k, _ in COVERAGE_CSV_COLUMNS])
    return {"effort": effort, "unsurveyed": gpkg, "villages_csv": table}


@dataclass
class MonthlyReportResult:
    """What :func:`write_monthly_report` wrote."""

    year: int
    month: int
    out_dir: Path
    village_files: list[Path]
    summary_file: Path
    summary: MonthlySummary
    landcover: bool

    def to_json(self) -> dict[str, Any]:
        frame = self.summary.villages
        return {
            "month": f"{self.year:04d}-{self.month:02d}",
            "out_dir": str(self.out_dir),
            "deadline": self.summary.deadline.isoformat(),
            "village_files": [str(p) for p in self.village_files],
            "summary_file": str(self.summary_file),
            "not_reported": list(self.summary.not_reported),
            "totals": dict(self.summary.totals),
            "villages": [
                {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in rec.items()
                }
                for rec in frame.to_dict("records")
            ],
        }


def write_monthly_report(
    store: Store,
    *,
    month: str,
    out_dir: str | os.PathLike[str],
    radius_m: float = DEFAULT_RADIUS_M,
    as_of: dt.date | None = None,
) -> MonthlyReportResult:
    """Write the month's patrol table of every village (XLSX + DOCX) and the town summary.

    The summary gives patrols, person-times, findings and tracked coverage % per village and
    the villages that have not reported (deadline: the 25th). A village's table counts as
    received on the earliest known ``received_on`` of its records for the month (given when
    importing, else the day its table was imported); after the deadline it is 逾期报送 (late).
    A village whose records carry no received date (only tracks) is 报送日期未记录, never late.
    """
    start, end = month_range(month)
    store.require()
    with store.connect() as conn:
        villages = repo.load_villages(conn)
        patrols = load_patrols(conn, start=start, end=end)
    cov = coverage_for_period(store, start=start, end=end, radius_m=radius_m)
    received: dict[str, dt.date] = {}
    for x in patrols:
        code = str(x.village_code)
        day = x.extra.get("received_on")
        if isinstance(day, dt.date) and (code not in received or day < received[code]):
            received[code] = day
    summary = monthly_summary(
        patrols,
        villages,
        year=start.year,
        month=start.month,
        coverage=cov.villages,
        received=received,
        as_of=as_of or today_local(),
    )
    # 合计's coverage: the town's tracked coverage of the month (one computation).
    summary.totals["covered_pct"] = cov.totals.get("covered_pct")
    out = Path(out_dir)
    files = write_monthly_tables(out, patrols, villages, year=start.year, month=start.month)
    summary_file = write_town_summary(
        out / f"{start.year}年{start.month}月_全镇踏查情况汇总.xlsx", summary
    )
    return MonthlyReportResult(
        start.year,
        start.month,
        out,
        files,
        summary_file,
        summary,
        landcover=cov.priority is not None,
    )


def write_village_monthly(
    store: Store, *, month: str, out_dir: str | os.PathLike[str], village: str
) -> list[Path]:
    """Write one village's patrol table of the month (XLSX + DOCX), as
    :func:`write_monthly_report` writes it, without the other villages' tables or the town
    summary (what a village user may download). ``village`` is a code or a name."""
    start, end = month_range(month)
    store.require()
    with store.connect() as conn:
        code = str(repo.get_village(conn, village)["code"])
        villages = repo.load_villages(conn)
        patrols = load_patrols(conn, start=start, end=end)
    own = villages[villages["code"].astype(str) == code]
    return write_monthly_tables(Path(out_dir), patrols, own, year=start.year, month=start.month)


def village_coverage(doc: dict[str, Any], code: str) -> dict[str, Any]:
    """A coverage document (:meth:`CoverageResult.as_dict`) cut to one village: its row, and
    totals that are its own figures (a village user sees neither the town's nor another's)."""
    rows = [v for v in doc["villages"] if v.get("code") == code]
    own = rows[0] if rows else {}
    areas = own.get("unsurveyed_areas") or []
    covered = own.get("covered_m2") or 0.0
    totals = {
        "area_m2": own.get("area_m2"),
        "covered_m2": own.get("covered_m2"),
        "covered_pct": own.get("covered_pct"),
        "priority_covered_pct": own.get("priority_covered_pct"),
        "patrols": own.get("patrols", 0),
        "unsurveyed_areas": own.get("unsurveyed_count", len(areas)),
        "unsurveyed_m2": float(sum(a["area_m2"] for a in areas)),
        "villages": len(rows),
        "villages_covered": int(covered > 0),
    }
    return {**doc, "villages": rows, "totals": totals}
