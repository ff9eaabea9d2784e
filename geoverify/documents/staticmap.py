"""Offline static map (PNG) of one village with numbered targets, for printed dispatch lists."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import geopandas as gpd
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from shapely.geometry import Point, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from geoverify.geo import STORE_CRS, metric_crs

__all__ = ["cjk_font", "neighbour_label_points", "nice_scale_length", "render_village_map"]

_CJK_HINTS = ("Noto Sans CJK", "Noto Serif CJK", "Source Han Sans", "WenQuanYi", "SimHei", "SimSun")


@lru_cache(maxsize=1)
def cjk_font() -> FontProperties | None:
    """A font with Chinese glyphs (Noto Sans CJK from ``fonts-noto-cjk`` first), or None."""
    for hint in _CJK_HINTS:
        for entry in font_manager.fontManager.ttflist:
            if entry.name.startswith(hint):
                return FontProperties(fname=entry.fname)
    for path in font_manager.findSystemFonts():
        if "NotoSansCJK" in path or "notosanscjk" in path.lower():
            return FontProperties(fname=path)
    return None


def nice_scale_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k metres) of about a fifth of ``width_m``."""
    if not math.isfinite(width_m) or width_m <= 0:
        return 100.0
    target = width_m / 5.0
    k = math.floor(math.log10(target))
    best = 10.0**k
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0**k <= target:
            best = m * 10.0**k
    return best


def _fmt_m(length: float) -> str:
    return f"{length / 1000:g} 公里" if length >= 1000 else f"{length:g} 米"


def _label(ax: Any, point: Any, text: Any, *, color: str, size: float, fp: dict[str, Any]) -> None:
    """A centred name at ``point`` (neighbouring villages, groups)."""
    ax.text(point.x, point.y, str(text), color=color, fontsize=size, ha="center", va="center", **fp)


def neighbour_label_points(
    neighbours: gpd.GeoDataFrame,
    view: tuple[float, float, float, float],
    *,
    must_name: Sequence[str] = (),
) -> dict[str, Point]:
    """Where to write each neighbouring village's name on a map showing ``view``.

    ``neighbours`` (metric CRS, column ``name``) and ``view`` (minx, miny, maxx, maxy) share a
    CRS. A neighbour whose visible part is in the view is named at a point inside that part;
    one in ``must_name`` (a village a row of the list mentions) that lies outside the view is
    named at the edge of the view nearest to it, so that every village the list mentions can
    be found on the map. Others outside the view are not named.
    """
    minx, miny, maxx, maxy = view
    inset_x, inset_y = (maxx - minx) * 0.06, (maxy - miny) * 0.04
    frame = box(minx, miny, maxx, maxy)
    inner = box(minx + inset_x, miny + inset_y, maxx - inset_x, maxy - inset_y)
    out: dict[str, Point] = {}
    for geom, name in zip(neighbours.geometry, neighbours["name"], strict=True):
        if geom is None or geom.is_empty or name is None:
            continue
        label = str(name)
        seen = geom.intersection(inner)
        if not seen.is_empty and seen.area > 0:
            out[label] = seen.representative_point()
        elif label in must_name:
            near = nearest_points(inner, geom)[0]
            out[label] = near if frame.contains(near) else inner.centroid
    return out


def render_village_map(
    village: BaseGeometry,
    points: Sequence[tuple[int | str, float, float]],
    *,
    village_name: str,
    groups: gpd.GeoDataFrame | None = None,
    neighbours: gpd.GeoDataFrame | None = None,
    illustrative: bool = False,
    size_px: tuple[int, int] = (1200, 900),
    dpi: int = 150,
    must_name: Sequence[str] = (),
) -> bytes:
    """Render a PNG of one village: outline, groups, named neighbours, numbered targets.

    Parameters
    ----------
    village
        The village polygon in EPSG:4490 degrees.
    points
        ``(number, lon, lat)`` per target; the number is the 序号 of the printed list.
    village_name
        Shown as the title.
    groups
        Group polygons (组) of this village, EPSG:4490, optional column ``name``.
    neighbours
        Neighbouring villages, EPSG:4490, optional column ``name``; drawn faint.
    illustrative
        Add the note "示意边界" (the boundary is illustrative, not surveyed).
    must_name
        Neighbouring villages that must be named even when outside the view (the villages the
        printed list mentions); see :func:`neighbour_label_points`.

    Returns
    -------
    bytes
        PNG data. Rendered with the Agg backend; no network, no tiles.
    """
    if village is None or village.is_empty:
        msg = f"村（社区）{village_name} 没有边界多边形 (village has no polygon)"
        raise ValueError(msg)
    crs = metric_crs(village.centroid.x)
    vil = gpd.GeoSeries([village], crs=STORE_CRS).to_crs(crs)
    pts = gpd.GeoSeries([Point(lon, lat) for _, lon, lat in points], crs=STORE_CRS).to_crs(crs)
    font = cjk_font()
    fp: dict[str, Any] = {"fontproperties": font} if font is not None else {}

    w, h = size_px
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.90))
    ax.set_axis_off()
    ax.set_aspect("equal")

    minx, miny, maxx, maxy = vil.total_bounds
    if len(pts):
        pminx, pminy, pmaxx, pmaxy = pts.total_bounds
        minx, miny = min(minx, pminx), min(miny, pminy)
        maxx, maxy = max(maxx, pmaxx), max(maxy, pmaxy)
    pad = max(maxx - minx, maxy - miny) * 0.08 + 50
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)

    with warnings.catch_warnings():
        # A machine without any CJK font must still get a map (labels show as boxes).
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from font")
        warnings.filterwarnings("ignore", message=r"findfont:")
        if neighbours is not None and len(neighbours):
            nb = neighbours.to_crs(crs)
            nb.plot(ax=ax, facecolor="#f2f2f2", edgecolor="#bbbbbb", linewidth=0.6)
            if "name" in nb.columns:
                view = (minx - pad, miny - pad, maxx + pad, maxy + pad)
                spots = neighbour_label_points(nb, view, must_name=must_name)
                for name, c in spots.items():
                    ax.text(
                        c.x,
                        c.y,
                        name,
                        color="#555555",
                        fontsize=8,
                        ha="center",
                        va="center",
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1},
                        **fp,
                    )
        vil.plot(ax=ax, facecolor="#fffbe6", edgecolor="#c0392b", linewidth=1.6)
        if groups is not None and len(groups):
            gr = groups[groups.geometry.notna()].to_crs(crs)
            gr.plot(ax=ax, facecolor="none", edgecolor="#7f8c8d", linewidth=0.6, linestyle="--")
            if "name" in gr.columns:
                for geom, name in zip(gr.geometry, gr["name"], strict=True):
                    _label(ax, geom.representative_point(), name, color="#7f8c8d", size=6, fp=fp)
        for (num, _, _), p in zip(points, pts, strict=True):
            ax.plot(
                p.x,
                p.y,
                marker="o",
                markersize=11,
                color="#c0392b",
                markeredgecolor="white",
                markeredgewidth=1.0,
            )
            ax.text(
                p.x,
                p.y,
                str(num),
                color="white",
                fontsize=6,
                fontweight="bold",
                ha="center",
                va="center",
            )

        fig.text(
            0.5,
            0.955,
            f"{village_name} 疑似靶标分布示意图",
            ha="center",
            va="center",
            fontsize=12,
            **fp,
        )
        # north arrow (the Gauss-Kruger grid is north-up within a degree here)
        ax.annotate(
            "N",
            xy=(0.95, 0.95),
            xytext=(0.95, 0.84),
            xycoords="axes fraction",
            ha="center",
            va="center",
            fontsize=10,
            fontweight="bold",
            arrowprops={"facecolor": "black", "width": 3, "headwidth": 9},
        )
        # scale bar
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        length = nice_scale_length(x1 - x0)
        bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05
        ax.plot([bx, bx + length], [by, by], color="black", linewidth=3, solid_capstyle="butt")
        ax.text(
            bx + length / 2,
            by + (y1 - y0) * 0.015,
            _fmt_m(length),
            ha="center",
            va="bottom",
            fontsize=7,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
            **fp,
        )
        if illustrative:
            ax.text(
                0.98,
                0.03,
                "示意边界，非勘界成果",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=7,
                color="#c0392b",
                **fp,
            )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
