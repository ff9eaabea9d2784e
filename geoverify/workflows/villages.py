"""Import and list village (村/社区) and group (组) boundaries."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geoverify.boundaries import (
    BoundaryReport,
    check_villages,
    find_gaps,
    find_overlaps,
    polygonal_part,
)
from geoverify.errors import RejectedInputError, RowProblem
from geoverify.geo import metric_crs
from geoverify.readers.boundaries import read_groups, read_villages
from geoverify.store import Store, repo
from geoverify.store import villages as store_villages
from geoverify.workflows.common import Actor, file_sha256, make_who

ILLUSTRATIVE_MARKERS = ("示意", "illustrative")


@dataclass
class VillageImportResult:
    """What a boundary import did."""

    source: str
    sha256: str
    status: str  # "imported" | "already_imported"
    kind: str  # "villages" | "groups"
    imported: int = 0
    unchanged: int = 0
    report: BoundaryReport | None = None
    illustrative: bool = False
    names: list[str] = field(default_factory=list)
    #: Village code -> name, to name gap neighbours.
    village_names: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        rep = self.report
        return {
            "source": self.source,
            "file_sha256": self.sha256,
            "status": self.status,
            "kind": self.kind,
            "imported": self.imported,
            "unchanged": self.unchanged,
            "illustrative": self.illustrative,
            "repairs": [r.__dict__ for r in rep.repairs] if rep else [],
            "overlaps": [
                {"a": o.a_name, "b": o.b_name, "area_m2": round(o.area_m2, 1)}
                for o in (rep.overlaps if rep else [])
            ],
            "gaps": [
                {
                    "neighbours": [self.village_names.get(c, c) for c in g.neighbours],
                    "neighbour_codes": list(g.neighbours),
                    "area_m2": round(g.area_m2, 1),
                }
                for g in (rep.gaps if rep else [])
            ],
        }


def _is_illustrative(frame: gpd.GeoDataFrame) -> bool:
    for attrs in frame.get("attributes", []):
        text = " ".join(str(v) for v in (attrs or {}).values())
        if any(m in text for m in ILLUSTRATIVE_MARKERS):
            return True
    return False


def _as_multi(geom: Any) -> Any:
    if geom is None:
        return None
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom


def import_villages(
    store: Store,
    path: str | os.PathLike[str],
    *,
    name_field: str | None = None,
    code_field: str | None = None,
    kind_field: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    actor: str | Actor | None = None,
) -> VillageImportResult:
    """Import village polygons from a GeoPackage, Shapefile (or .zip), GeoJSON or KML.

    Invalid polygons are repaired (``make_valid``) and reported, as are overlaps and gaps
    between villages. A village that already exists with the same code, name and boundary is
    left as it is; one that exists with a different boundary is refused (nothing is silently
    overwritten). Importing the same file twice changes nothing.
    """
    p = Path(path)
    sha = file_sha256(p)
    store.require()
    with store.connect() as conn:
        if repo.find_import(conn, kind="villages", sha256=sha):
            return VillageImportResult(p.name, sha, "already_imported", "villages")
    read = read_villages(
        p, name_field=name_field, code_field=code_field, kind_field=kind_field, crs=crs, layer=layer
    )
    if read.problems:
        raise RejectedInputError(read.source, read.problems)
    frame, report = check_villages(read.frame, rows=read.rows)
    illustrative = _is_illustrative(frame)
    who = make_who(actor=actor, source=f"file:{p.name}")
    with store.begin() as conn:
        if repo.find_import(conn, kind="villages", sha256=sha):
            return VillageImportResult(p.name, sha, "already_imported", "villages")
        stored = repo.load_villages(conn)
        if not stored.empty:
            # Overlaps and gaps are about the whole set, old villages and new ones together.
            known = set(stored["code"])
            fresh = frame.loc[~frame["code"].isin(known), ["code", "name", "kind", "geometry"]]
            whole = pd.concat(
                [stored[["code", "name", "kind", "geometry"]], fresh], ignore_index=True
            )
            whole = gpd.GeoDataFrame(whole, geometry="geometry", crs=stored.crs)
            report.overlaps = [
                o for o in find_overlaps(whole) if o.a_code not in known or o.b_code not in known
            ]
            report.gaps = find_gaps(whole)
        existing = store_villages.village_rows(conn)
        names = {r.name: r.code for r in existing.values()}
        problems: list[RowProblem] = []
        new_rows = []
        unchanged = 0
        for row_no, rec in zip(read.rows, frame.itertuples(index=False), strict=True):
            geom = _as_multi(rec.geometry)
            old = existing.get(rec.code)
            if old is not None:
                if old.name == rec.name and shapely.equals_exact(
                    old.geometry, geom, tolerance=1e-9
                ):
                    unchanged += 1
                    continue
                problems.append(
                    RowProblem(
                        row_no,
                        rec.code,
                        f"村（社区）代码 {rec.code} 已存在，名称或边界不同，不会覆盖",
                        f"village code {rec.code} exists with another name or boundary; "
                        "not overwritten",
                        code="village_exists",
                    )
                )
                continue
            if rec.name in names:
                problems.append(
                    RowProblem(
                        row_no,
                        rec.code,
                        f"村（社区）名称“{rec.name}”已存在（代码 {names[rec.name]}）",
                        f"village name {rec.name!r} exists already (code {names[rec.name]})",
                        code="village_name_exists",
                    )
                )
                continue
            new_rows.append(
                {
                    "code": rec.code,
                    "name": rec.name,
                    "kind": rec.kind,
                    "geometry": geom,
                    "attributes": rec.attributes or {},
                    "illustrative": illustrative,
                }
            )
        if problems:
            raise RejectedInputError(read.source, problems)
        summary = {"imported": len(new_rows), "unchanged": unchanged}
        import_id = repo.record_import(
            conn, kind="villages", sha256=sha, source_name=p.name, who=who, summary=summary
        )
        if new_rows:
            store_villages.insert_villages(conn, [{**r, "import_id": import_id} for r in new_rows])
        repo.record_events(
            conn,
            [
                {
                    "kind": "villages_imported",
                    "payload": {
                        "file": p.name,
                        "sha256": sha,
                        "codes": [r["code"] for r in new_rows],
                        "repairs": len(report.repairs),
                        "overlaps": len(report.overlaps),
                        "gaps": len(report.gaps),
                    },
                }
            ],
            who=who,
        )
    return VillageImportResult(
        p.name,
        sha,
        "imported",
        "villages",
        imported=len(new_rows),
        unchanged=unchanged,
        report=report,
        illustrative=illustrative,
        names=[r["name"] for r in new_rows],
        village_names={
            **dict(zip(stored["code"], stored["name"], strict=True)),
            **dict(zip(frame["code"], frame["name"], strict=True)),
        },
    )


def import_groups(
    store: Store,
    path: str | os.PathLike[str],
    *,
    village_field: str | None = None,
    name_field: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    actor: str | Actor | None = None,
) -> VillageImportResult:
    """Import village groups (组), with or without polygons, for villages already in the store."""
    p = Path(path)
    sha = file_sha256(p)
    store.require()
    with store.connect() as conn:
        if repo.find_import(conn, kind="groups", sha256=sha):
            return VillageImportResult(p.name, sha, "already_imported", "groups")
    read = read_groups(p, village_field=village_field, name_field=name_field, crs=crs, layer=layer)
    problems = list(read.problems)
    frame = read.frame
    who = make_who(actor=actor, source=f"file:{p.name}")
    with store.begin() as conn:
        if repo.find_import(conn, kind="groups", sha256=sha):
            return VillageImportResult(p.name, sha, "already_imported", "groups")
        villages = store_villages.village_names(conn)
        by_code = {c: c for c, _ in villages}
        by_name = {n: c for c, n in villages}
        existing = store_villages.group_rows(conn)
        new_rows = []
        unchanged = 0
        seen: dict[tuple[str, str], int] = {}
        for row_no, rec in zip(read.rows, frame.itertuples(index=False), strict=True):
            key_v = str(rec.village)
            code = by_code.get(key_v) or by_name.get(key_v)
            if code is None:
                problems.append(
                    RowProblem(
                        row_no,
                        None,
                        f"未知的村（社区）“{key_v}”",
                        f"unknown village {key_v!r}",
                        field="village",
                        value=key_v,
                        code="unknown_village",
                    )
                )
                continue
            key = (code, str(rec.name))
            if key in seen:
                problems.append(
                    RowProblem(
                        row_no,
                        None,
                        f"组“{rec.name}”在文件中重复（第 {seen[key]} 行）",
                        f"group {rec.name!r} repeated in the file (row {seen[key]})",
                        code="duplicate_group",
                    )
                )
                continue
            seen[key] = row_no
            geom = _as_multi(rec.geometry) if rec.geometry is not None else None
            if geom is not None and not geom.is_valid:
                geom = _as_multi(polygonal_part(shapely.make_valid(geom)))
            old = existing.get(key)
            if old is not None:
                same = (old.geometry is None and geom is None) or (
                    old.geometry is not None
                    and geom is not None
                    and shapely.equals_exact(old.geometry, geom, tolerance=1e-9)
                )
                if same:
                    unchanged += 1
                    continue
                problems.append(
                    RowProblem(
                        row_no,
                        None,
                        f"组“{rec.name}”已存在且边界不同，不会覆盖",
                        f"group {rec.name!r} exists with another boundary; not overwritten",
                        code="group_exists",
                    )
                )
                continue
            new_rows.append(
                {
                    "village_code": code,
                    "name": str(rec.name),
                    "geometry": geom,
                    "attributes": rec.attributes or {},
                }
            )
        if problems:
            raise RejectedInputError(read.source, problems)
        import_id = repo.record_import(
            conn,
            kind="groups",
            sha256=sha,
            source_name=p.name,
            who=who,
            summary={"imported": len(new_rows), "unchanged": unchanged},
        )
        if new_rows:
            store_villages.insert_groups(conn, [{**r, "import_id": import_id} for r in new_rows])
        repo.record_events(
            conn,
            [{"kind": "groups_imported", "payload": {"file": p.name, "count": len(new_rows)}}],
            who=who,
        )
    return VillageImportResult(
        p.name, sha, "imported", "groups", imported=len(new_rows), unchanged=unchanged
    )


@dataclass
class VillageList:
    """Villages with their area (km², one computation and one rounding for every output),
    group count and target count."""

    frame: gpd.GeoDataFrame

    def to_json(self) -> list[dict[str, Any]]:
        """The documented ``villages list --json`` array."""
        return [
            {
                "code": r.code,
                "name": r.name,
                "kind": r.kind,
                "area_km2": r.area_km2,
                "groups": int(r.groups),
                "targets": int(r.targets),
                "illustrative": bool(r.illustrative),
            }
            for r in self.frame.itertuples()
        ]


def village_areas_km2(villages: gpd.GeoDataFrame) -> list[float]:
    """Area of each village in km², in the town's metric CRS, rounded to 0.01 km²."""
    if villages.empty:
        return []
    metric = metric_crs(float(villages.geometry.union_all().centroid.x))
    return [float(x) for x in (villages.to_crs(metric).area / 1e6).round(2)]


def list_villages(store: Store) -> VillageList:
    """Villages with their area, group count and target count."""
    store.require()
    with store.connect() as conn:
        villages = repo.load_villages(conn)
        groups = repo.load_groups(conn)
        counts = store_villages.targets_per_village(conn)
    villages["groups"] = villages["code"].map(groups.groupby("village_code").size()).fillna(0)
    villages["groups"] = villages["groups"].astype(int)
    villages["targets"] = villages["code"].map(counts).fillna(0).astype(int)
    villages["area_km2"] = village_areas_km2(villages)
    return VillageList(villages)
