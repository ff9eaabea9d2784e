"""Opening the store: an SQLite file in the workspace, or PostgreSQL + PostGIS by URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from geoverify.errors import StoreError

DATABASE_ENV = "GEOVERIFY_DATABASE_URL"
SQLITE_NAME = "geoverify.sqlite"


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "geoverify.store:migrations")
    return cfg


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """A geoverify store: an SQLAlchemy engine plus the workspace folder it belongs to.

    Parameters
    ----------
    workspace
        Folder holding the SQLite file (when no URL is given), evidence files and outputs.
    url
        SQLAlchemy URL. ``None`` uses ``$GEOVERIFY_DATABASE_URL`` or else the SQLite file
        ``<workspace>/geoverify.sqlite``.
    """

    def __init__(self, workspace: str | os.PathLike[str], *, url: str | None = None) -> None:
        self.workspace = Path(workspace)
        self.url = url or os.environ.get(DATABASE_ENV) or None
        if self.url is None:
            self.url = f"sqlite:///{(self.workspace / SQLITE_NAME).as_posix()}"
        try:
            self.engine: Engine = create_engine(self.url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as e:
            msg = f"无法打开数据库 (cannot open the database) {self.display_url}: {e}"
            raise StoreError(msg) from e
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    # -- identity ------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        """The URL with any password hidden."""
        try:
            return self.engine.url.render_as_string(hide_password=True)
        except AttributeError:  # before the engine exists
            return str(self.url)

    @property
    def sqlite_path(self) -> Path | None:
        if self.backend != "sqlite":
            return None
        db = self.engine.url.database
        return Path(db) if db else None

    # -- schema --------------------------------------------------------------------------
    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration (every head)."""
        if self.backend == "sqlite":
            self.workspace.mkdir(parents=True, exist_ok=True)
        try:
            with self.engine.begin() as conn:
                if self.backend == "postgresql":
                    has_postgis = conn.execute(
                        text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
                    ).first()
                    if not has_postgis:
                        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                cfg = _alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
        except SQLAlchemyError as e:
            msg = f"无法建立或升级数据库结构 (cannot create the schema) {self.display_url}: {e}"
            raise StoreError(msg) from e

    def is_initialised(self) -> bool:
        """True when the schema exists and is at the newest migration."""
        if self.backend == "sqlite" and not (self.sqlite_path and self.sqlite_path.exists()):
            return False
        try:
            with self.engine.connect() as conn:
                current = set(MigrationContext.configure(conn).get_current_heads())
        except OperationalError:
            return False
        heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
        return bool(current) and current == heads

    def require(self) -> Store:
        """Raise a clear error unless the store has been initialised."""
        if not self.is_initialised():
            msg = (
                f"工作区尚未初始化或数据库结构过旧：{self.workspace} ({self.display_url})；"
                "请先运行 `geoverify init` (workspace not initialised; run `geoverify init`)"
            )
            raise StoreError(msg)
        return self

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    # -- transactions --------------------------------------------------------------------
    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read connection."""
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()
