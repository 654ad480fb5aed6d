"""Schema migrations of the inventory database (Alembic), shipped inside the package.

There is no alembic.ini: the configuration is built here, and the migrations run on a
connection made by :func:`inventory.engine.make_engine`, passed to ``env.py``. Revisions
live in ``versions/``; the first is exactly the schema the code before migrations made with
``create_all``, so such a database (tables but no ``alembic_version``) is recognised by its
tables, stamped at the revision it matches, and upgraded in place with its data.

Revision 0004 seals the device secrets stored in clear, so migrating a database holding
credentials needs their key: a :class:`~inventory.secretbox.SecretBox`, passed in the
Alembic config attributes (``secret_box``) to ``env.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import SQLAlchemyError

from core.errors import DatabaseError, first_line
from inventory.engine import make_engine, make_private, sqlite_path
from inventory.revision import (
    LEGACY_TABLES,
    Schema,
    database_name,
    schema_of,
    unknown_revision,
)
from inventory.secretbox import SecretBox

log = logging.getLogger(__name__)

__all__ = [
    "LEGACY_TABLES",
    "current",
    "database_name",
    "downgrade",
    "head",
    "inspect_url",
    "known_revisions",
    "upgrade",
]

HERE = Path(__file__).resolve().parent


def config(connection: Connection | None = None, box: SecretBox | None = None) -> Config:
    """Alembic's configuration, made in code; ``env.py`` uses ``connection`` when given,
    and hands ``box`` to the migrations that seal or open device secrets."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    if box is not None:
        cfg.attributes["secret_box"] = box
    return cfg


def head() -> str:
    """The newest revision: the schema this code needs."""
    found = ScriptDirectory.from_config(config()).get_current_head()
    if found is None:  # pragma: no cover - the package ships its revisions
        raise DatabaseError("no migrations found in the package")
    return found


def known_revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(config())
    return [s.revision for s in reversed(list(script.walk_revisions()))]


def _check_exists(url: str) -> None:
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise DatabaseError(f"no inventory database at {path}")


@contextmanager
def _migration_engine(url: str) -> Iterator[Engine]:
    """An engine for migrating. On SQLite: foreign keys off, because batch mode rebuilds
    a table by dropping it, which with them on would cascade to its children's rows; and
    the schema changes inside the transaction. Python's sqlite3 module commits before
    each DDL statement on its own, so a migration failing half-way (a wrong secret key in
    0004's downgrade) used to keep the steps before it while alembic_version rolled back;
    SQLAlchemy's recipe (the driver in autocommit, BEGIN emitted by us) makes the whole
    upgrade or downgrade one transaction, as it is on PostgreSQL."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _no_foreign_keys(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN")

    try:
        yield engine
    finally:
        engine.dispose()


def _unreachable(url: str, exc: SQLAlchemyError | OSError) -> DatabaseError:
    reason = first_line(exc)
    return DatabaseError(f"cannot use inventory database {database_name(url)}: {reason}")


def upgrade(url: str, *, to: str = "head", box: SecretBox | None = None) -> tuple[str | None, str]:
    """Bring the database at ``url`` to revision ``to`` (the newest by default), in place.

    Returns (from, to): from is None for an empty database, or the revision a database
    made before migrations was recognised as (it is stamped there first, keeping its rows).
    ``box`` seals the device secrets stored in clear (needed only when there are some).
    """
    with _migration_engine(url) as engine:
        try:
            with engine.begin() as connection:
                found = schema_of(connection)
                if found.revision is not None and found.revision not in known_revisions():
                    raise unknown_revision(url, found.revision)
                cfg = config(connection, box)
                if found.revision is not None and not found.stamped:
                    command.stamp(cfg, found.revision)
                command.upgrade(cfg, to)
                reached = MigrationContext.configure(connection).get_current_revision()
        except (SQLAlchemyError, OSError) as exc:
            raise _unreachable(url, exc) from exc
    assert reached is not None
    path = sqlite_path(url)
    legacy = found.revision is not None and not found.stamped
    # Made by the code before migrations, which created it world-readable; it holds
    # device credentials.
    if legacy and path is not None and make_private(path):
        log.warning("%s holds device credentials: made it private (0600)", path)
    return found.revision, reached


def downgrade(url: str, *, to: str, box: SecretBox | None = None) -> str | None:
    """Take the database back to revision ``to`` ("base": no tables); for tests and for
    undoing an upgrade by hand. Returns the revision reached. Going below 0004 opens the
    device secrets again, with ``box``."""
    _check_exists(url)
    with _migration_engine(url) as engine:
        try:
            with engine.begin() as connection:
                command.downgrade(config(connection, box), to)
                return MigrationContext.configure(connection).get_current_revision()
        except (SQLAlchemyError, OSError) as exc:
            raise _unreachable(url, exc) from exc


def current(url: str) -> str | None:
    """The revision recorded in the database; None when it has none (empty, or made
    before migrations: :func:`inspect_url` tells these apart)."""
    found = inspect_url(url)
    return found.revision if found.stamped else None


def inspect_url(url: str) -> Schema:
    """Where the database at ``url`` stands, without changing it (no file is created)."""
    _check_exists(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return schema_of(connection)
    except (SQLAlchemyError, OSError) as exc:
        raise _unreachable(url, exc) from exc
    finally:
        engine.dispose()
