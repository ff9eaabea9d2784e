"""Column types that behave the same on SQLite and PostgreSQL/PostGIS."""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
from shapely.geometry.base import BaseGeometry
from sqlalchemy import JSON, DateTime, LargeBinary
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

STORE_SRID = 4490

#: JSON documents: JSONB on PostgreSQL, JSON text on SQLite.
JSONColumn = JSON().with_variant(JSONB(), "postgresql")
#: JSON documents whose key order matters (a district file's own columns, in the file's order):
#: JSON text on both backends (PostgreSQL's JSONB would sort the keys).
OrderedJSONColumn = JSON()


class GeometryColumn(TypeDecorator[BaseGeometry]):
    """A shapely geometry: WKB on SQLite, PostGIS ``geometry(type, 4490)`` on PostgreSQL."""

    impl = LargeBinary
    cache_ok = True
    # Read by GeoAlchemy2's DDL hooks on PostgreSQL: the migrations create the GiST index.
    spatial_index = False
    use_N_D_index = False  # noqa: N815 (GeoAlchemy2's attribute name)

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = STORE_SRID) -> None:
        super().__init__()
        self.geometry_type = geometry_type
        self.srid = srid

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect is None:  # GeoAlchemy2's DDL hooks ask without a dialect
            return self._geometry()
        if dialect.name == "postgresql":
            return dialect.type_descriptor(self._geometry())
        return dialect.type_descriptor(LargeBinary())

    def _geometry(self) -> Geometry:
        # The GiST index is created by the migration itself, not by GeoAlchemy2's DDL hooks.
        return Geometry(self.geometry_type, srid=self.srid, spatial_index=False)

    def process_bind_param(self, value: BaseGeometry | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        wkb = shapely.to_wkb(value)
        if dialect.name == "postgresql":
            return WKBElement(wkb, srid=self.srid)
        return wkb

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        if value is None:
            return None
        if isinstance(value, WKBElement):
            data = value.data
            return shapely.from_wkb(bytes(data) if not isinstance(data, str) else data)
        if isinstance(value, str):
            return shapely.from_wkb(value)
        return shapely.from_wkb(bytes(value))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes, stored in UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to the store; use an aware datetime"
            raise ValueError(msg)
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
