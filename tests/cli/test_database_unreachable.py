"""A PostgreSQL database that cannot be reached is said so, never taken for "no store yet"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from geoverify.cli import cli
from geoverify.errors import StoreError
from geoverify.store import Store
from tests.conftest import TEST_DB_ENV, skip_or_fail


def _base() -> str:
    url = os.environ.get(TEST_DB_ENV)
    if not url:
        skip_or_fail(f"needs {TEST_DB_ENV} (a PostgreSQL server)")
    return str(url)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # free once closed: nothing listens there


def _cases() -> list[tuple[str, str]]:
    base = make_url(_base())
    return [
        (
            base.set(host="127.0.0.1", port=_closed_port()).render_as_string(False),
            "连接被拒绝：数据库服务没有运行，或地址、端口不对",
        ),
        (
            base.set(database="geoverify_no_such_db").render_as_string(False),
            "数据库 geoverify_no_such_db 不存在：请先在 PostgreSQL 中创建它",
        ),
        (
            base.set(username="geoverify_no_such_role").render_as_string(False),
            "PostgreSQL 用户 geoverify_no_such_role 不存在",
        ),
    ]


@pytest.mark.parametrize("case", [0, 1, 2])
def test_a_database_that_cannot_be_reached_is_said_so(tmp_path: Path, case: int) -> None:
    url, said = _cases()[case]
    ws = tmp_path / "new" / "ws"  # its parent is new too
    runner = CliRunner()
    for args in (["status"], ["init"], ["init", "--json"]):
        res = runner.invoke(cli, ["--workspace", str(ws), "--database-url", url, *args])
        assert res.exit_code == 1, res.output
        assert f"无法连接数据库 {make_url(url).render_as_string(True)}：{said}" in res.output
        assert "geoverify init" not in res.output  # not "run init": it would not help
        assert "sqlalche.me" not in res.output and "Traceback" not in res.output
        assert not (tmp_path / "new").exists()  # a failed init leaves no folder behind


def test_an_unreachable_database_is_never_taken_for_an_empty_one(tmp_path: Path) -> None:
    """A failed first ``init`` removes the tables it made; were a database that cannot be
    reached taken for one without a store, an init that failed once it came back would remove
    a store it never saw."""
    base = make_url(_base())
    # A refused port, and a local socket that is not there (no driver text of a known shape).
    socket = base.set(host=None, port=None, query={"host": "/nonexistent"})
    for url in (_cases()[0][0], socket.render_as_string(False)):
        with pytest.raises(StoreError, match="无法连接数据库"):
            Store(tmp_path / "ws", url=url).has_schema()
        with pytest.raises(StoreError, match="无法连接数据库"):
            Store(tmp_path / "ws", url=url).require()
