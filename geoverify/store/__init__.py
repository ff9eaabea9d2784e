"""The store: SQLAlchemy 2 tables and migrations, on SQLite or PostgreSQL + PostGIS."""

from __future__ import annotations

from geoverify.store.database import DATABASE_ENV, SQLITE_NAME, Store

__all__ = ["DATABASE_ENV", "SQLITE_NAME", "Store"]
