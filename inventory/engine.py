"""Making an engine on the inventory database: SQLite file by default, PostgreSQL by URL.

Only the engine: no tables are created here (the migrations own the schema, see
:mod:`inventory.migrations`), and nothing touches the disk until the first connection.

SQLite gets WAL and a busy timeout so that the collector (writing AP status) and the API
(reading) can be separate processes on one file. Its file holds device credentials, so it
is created 0600 before sqlite3 opens it; SQLite gives its -wal and -shm files the mode of
the database file, so they are private too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.engine import make_url

PRIVATE_FILE_MODE = 0o600


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_private(path: Path) -> bool:
    """Take group and other access away from a SQLite file and its -wal/-shm companions;
    True if anything changed. For files made before the inventory was created 0600."""
    changed = False
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = file.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            file.chmod(mode & 0o700)
            changed = True
    return changed


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (an existing file is kept as
    it is: its owner may have chosen its mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine on ``url``, configured for this project; creates no tables and no file.

    A SQLite file (and its directory) is created at the first connection, mode 0600.
    """
    path = sqlite_path(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False})
        if path is not None:
            file = path

            @event.listens_for(engine, "do_connect")
            def _create_private(*_args: Any) -> None:
                create_private_file(file)

        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine
