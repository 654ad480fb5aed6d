"""The SQLite inventory holds device credentials: its file and its -wal/-shm are 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from inventory.db import make_engine, open_inventory

pytestmark = pytest.mark.sqlite_only("the SQLite file and its -wal/-shm companions")


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Even a permissive umask must not make the file readable by others."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_inventory_and_its_wal_files_are_private(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "state" / "inventory.sqlite"
    engine = open_inventory(f"sqlite:///{path}", create=True)
    try:
        with engine.begin() as connection:  # a write, so that -wal and -shm exist
            connection.execute(text("INSERT INTO partners (id, name) VALUES ('p1', 'Partner')"))
            wal, shm = path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")
            assert wal.exists() and shm.exists()
            assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        engine.dispose()


def test_make_engine_touches_nothing_until_it_connects(tmp_path: Path) -> None:
    path = tmp_path / "later" / "inventory.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    assert not path.parent.exists()
    with engine.connect():
        assert mode(path) == 0o600
    engine.dispose()


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    """The owner may have chosen a mode (a group for the API's user): not ours to change."""
    path = tmp_path / "inventory.sqlite"
    open_inventory(f"sqlite:///{path}", create=True).dispose()
    path.chmod(0o640)
    open_inventory(f"sqlite:///{path}", create=False).dispose()
    assert mode(path) == 0o640
