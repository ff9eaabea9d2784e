"""Opening the store: an SQLite file in the workspace, or PostgreSQL + PostGIS by URL."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
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
from geoverify.jsontext import dumps_json

DATABASE_ENV = "GEOVERIFY_DATABASE_URL"
SQLITE_NAME = "geoverify.sqlite"


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "geoverify.store:migrations")
    return cfg


#: What a failed connection's driver says, and what to tell the user (``{0}``: the name in
#: the driver's quotes, when there is one).
_CONNECT_FAILURES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"connection refused", re.I), "连接被拒绝：数据库服务没有运行，或地址、端口不对"),
    (
        re.compile(r"could not translate host name|name or service not known|nodename nor", re.I),
        "找不到数据库服务器：主机名不对",
    ),
    (re.compile(r"timeout expired|timed out", re.I), "连接数据库超时"),
    (
        re.compile(r'database "([^"]+)" does not exist', re.I),
        "数据库 {0} 不存在：请先在 PostgreSQL 中创建它"
        "（CREATE DATABASE，并 CREATE EXTENSION postgis）",
    ),
    (re.compile(r'role "([^"]+)" does not exist', re.I), "PostgreSQL 用户 {0} 不存在"),
    (re.compile(r"password authentication failed", re.I), "数据库用户名或密码不对"),
    (re.compile(r"no password supplied", re.I), "数据库需要密码，连接地址中没有给出"),
    (
        re.compile(r"unable to open database file", re.I),
        "无法打开 SQLite 文件：文件夹不存在或没有权限",
    ),
)


def connection_failure(
    error: BaseException, where: str, *, connecting: bool = False
) -> StoreError | None:
    """A :class:`StoreError` saying why the database at ``where`` cannot be reached, when
    ``error`` is a failed connection (None otherwise): what to do in Chinese, the driver's
    first line in English, never its whole text. ``connecting``: the error came from opening
    a connection, so any operational error is one (a full server, one starting up, SSL, a
    socket that is not there), said as plainly as it can be."""
    if not isinstance(error, OperationalError):
        return None
    said = str(getattr(error, "orig", None) or error)
    first = next((line.strip() for line in said.splitlines() if line.strip()), said)[:200]
    for pattern, zh in _CONNECT_FAILURES:
        m = pattern.search(said)
        if m:
            return StoreError(
                f"无法连接数据库 {where}：{zh.format(*m.groups())} "
                f"(cannot connect to the database: {first})"
            )
    if connecting:
        return StoreError(f"无法连接数据库 {where} (cannot connect to the database: {first})")
    return None


#: How long a writer waits quietly for another writer before it says that it is waiting (ms).
QUIET_WAIT_MS = 2000
#: How long a writer waits in all for another writer to finish (ms): long imports hold the
#: write lock for minutes, and a writer that must wait should wait, not fail.
LONG_WAIT_MS = 30 * 60 * 1000
#: The PostgreSQL advisory lock every geoverify writer takes for its transaction.
WRITE_LOCK_KEY = 0x67656F76  # "geov"


@functools.cache
def _script_heads() -> frozenset[str]:
    """The newest migrations this version of geoverify knows (read once per process)."""
    return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # geoverify issues BEGIN itself (see Store._begin_sqlite): DEFERRED for readers,
    # IMMEDIATE for writers, so a writer holds the write lock before it reads what it checks.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={LONG_WAIT_MS}")
    cursor.close()


WaitNotice = Callable[[], None]


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

    def __init__(
        self,
        workspace: str | os.PathLike[str],
        *,
        url: str | None = None,
        on_wait: WaitNotice | None = None,
    ) -> None:
        self.workspace = Path(workspace)
        #: Called once when a writer has to wait for another writer (the CLI says so).
        self.on_wait = on_wait
        self._initialised = False
        self.url = url or os.environ.get(DATABASE_ENV) or None
        if self.url is None:
            self.url = f"sqlite:///{(self.workspace / SQLITE_NAME).as_posix()}"
        try:
            self.engine: Engine = create_engine(self.url, future=True, json_serializer=dumps_json)
        except (SQLAlchemyError, ImportError, ValueError) as e:
            msg = f"无法打开数据库 (cannot open the database) {self.display_url}: {e}"
            raise StoreError(msg) from e
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", self._begin_sqlite)

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
            down = connection_failure(e, self.display_url)
            if down is not None:
                raise down from e
            msg = f"无法建立或升级数据库结构 (cannot create the schema) {self.display_url}: {e}"
            raise StoreError(msg) from e

    def _current_heads(self) -> set[str]:
        """The migrations applied here; empty when there is no store yet."""
        if self.backend == "sqlite" and not (self.sqlite_path and self.sqlite_path.exists()):
            return set()
        try:
            with self.engine.connect() as conn:
                return set(MigrationContext.configure(conn).get_current_heads())
        except OperationalError as e:
            # A database that cannot be reached is not "no store yet": that would send the
            # user to `init`, and let a failed first `init` remove a store it never saw.
            down = connection_failure(e, self.display_url, connecting=True)
            assert down is not None
            raise down from e

    def has_schema(self) -> bool:
        """True when any geoverify migration has been applied here (even an old one)."""
        return bool(self._current_heads())

    def drop_schema(self) -> None:
        """Undo every migration: remove geoverify's tables (a failed first ``init``)."""
        try:
            with self.engine.begin() as conn:
                cfg = _alembic_config()
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "base")
        except SQLAlchemyError as e:
            down = connection_failure(e, self.display_url)
            if down is not None:
                raise down from e
            msg = f"无法删除数据库结构 (cannot remove the schema) {self.display_url}: {e}"
            raise StoreError(msg) from e
        self._initialised = False

    def is_initialised(self) -> bool:
        """True when the schema exists and is at the newest migration.

        Once true it stays true for this store (a long-running service asks on every request).
        """
        if self._initialised:
            return True
        current = self._current_heads()
        self._initialised = bool(current) and current == _script_heads()
        return self._initialised

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
    def _begin_sqlite(self, conn: Connection) -> None:
        if not conn.get_execution_options().get("geoverify_write"):
            conn.exec_driver_sql("BEGIN")
            return
        conn.exec_driver_sql(f"PRAGMA busy_timeout={QUIET_WAIT_MS}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as e:
            if "locked" not in str(e.orig) and "busy" not in str(e.orig):
                raise
            if self.on_wait is not None:
                self.on_wait()
            conn.exec_driver_sql(f"PRAGMA busy_timeout={LONG_WAIT_MS}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={LONG_WAIT_MS}")

    def _lock_postgres(self, conn: Connection) -> None:
        got = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
        if not got.scalar_one():
            if self.on_wait is not None:
                self.on_wait()
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One writing transaction: committed when the block ends, rolled back on any error.

        The transaction holds the store's write lock from its first statement (SQLite
        ``BEGIN IMMEDIATE``; a transaction-level advisory lock on PostgreSQL, in a READ
        COMMITTED transaction whatever the server's default), so whatever
        it reads to check before writing cannot change under it. A writer that finds
        another one at work calls :attr:`on_wait` once and waits for it.
        """
        with self.engine.connect() as conn:
            conn.execution_options(geoverify_write=True)
            if self.backend == "postgresql":
                # whatever the server's default: the reference checks of migration 0008 must
                # see what was committed while they waited for the lock
                conn.execution_options(isolation_level="READ COMMITTED")
            with conn.begin():
                if self.backend == "postgresql":
                    self._lock_postgres(conn)
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
