"""Where an inventory database stands against this code's schema, without Alembic.

Every process that opens the inventory (serve, collect, each API start) checks its
revision; importing Alembic for that (with Mako and Pygments behind it) cost about 14 MiB
and a tenth of a second per process, for reading one row. So the check reads
``alembic_version`` with plain SQL against the revision list below, and Alembic is
imported only to migrate (:mod:`inventory.migrations`). A test keeps :data:`REVISIONS`
equal to the revision files.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Connection, MetaData, PrimaryKeyConstraint, String, Table, inspect
from sqlalchemy import select as sql_select

from core.errors import DatabaseError
from core.settings import redact_url
from inventory.engine import sqlite_path

UPGRADE_COMMAND = "citywifi db upgrade"

#: Every revision in inventory/migrations/versions, oldest first; the last is the schema
#: this code needs.
REVISIONS: tuple[str, ...] = (
    "0001_initial",
    "0002_ap_events",
    "0003_access",
    "0004_sealed_secrets",
    "0005_uplinks",
    "0006_incidents",
    "0007_maintenance",
    "0008_notifications",
    "0009_candidate_sites",
    "0010_accounting",
    "0011_reports",
    "0012_leases",
    "0013_citizen_reports",
)
HEAD = REVISIONS[-1]

# Alembic's own bookkeeping table, as Alembic creates it.
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)

# What ``create_all`` made before migrations existed (revision 0001_initial).
LEGACY_TABLES = frozenset(
    {
        "partners",
        "districts",
        "credential_profiles",
        "sites",
        "access_points",
        "demand_points",
        "ap_status",
    }
)
# Databases made by the code between the two (ap_events by create_all, still unstamped).
_SHAPES: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    # (revision, tables it has beyond LEGACY_TABLES, ap_status columns it has added)
    ("0002_ap_events", frozenset({"ap_events"}), frozenset({"last_cause"})),
    ("0001_initial", frozenset(), frozenset()),
)


@dataclass(frozen=True)
class Schema:
    """Where a database stands: ``revision`` None means it holds none of our tables;
    ``stamped`` False means it was made before migrations and recognised by its tables."""

    revision: str | None
    stamped: bool


def database_name(url: str) -> str:
    """How messages name a database: its file for SQLite, else the URL without password."""
    path = sqlite_path(url)
    return str(path) if path is not None else redact_url(url)


def schema_of(connection: Connection) -> Schema:
    """Read ``alembic_version``, or recognise a database made before migrations."""
    stamped = stamped_revision(connection)
    if stamped is not None:
        return Schema(stamped, stamped=True)
    inspector = inspect(connection)
    # alembic_version may remain, empty, after a downgrade to base.
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    if not tables:
        return Schema(None, stamped=False)
    missing = LEGACY_TABLES - tables
    if missing:
        raise DatabaseError(
            f"database {_name_of(connection)} is not a citywifi inventory: it has tables "
            f"but not {', '.join(sorted(missing))}"
        )
    status_columns = {c["name"] for c in inspector.get_columns("ap_status")}
    for revision, extra_tables, extra_columns in _SHAPES:
        if extra_tables <= tables and extra_columns <= status_columns:
            return Schema(revision, stamped=False)
    raise AssertionError("unreachable: the last shape is the legacy one")  # pragma: no cover


def _name_of(connection: Connection) -> str:
    return database_name(connection.engine.url.render_as_string(hide_password=False))


def unknown_revision(url: str, revision: str) -> DatabaseError:
    return DatabaseError(
        f"inventory database {database_name(url)} is at revision {revision}, which this "
        f"version of citywifi does not know (made by a newer version?); it knows up to {HEAD}"
    )


def check_current(connection: Connection, url: str) -> Schema:
    """Raise DatabaseError, naming the command that fixes it, unless the database is at
    head or empty (the caller decides whether to create an empty one)."""
    found = schema_of(connection)
    name = database_name(url)
    if found.revision is None or (found.stamped and found.revision == HEAD):
        return found
    if not found.stamped:
        raise DatabaseError(
            f"inventory database {name} was made before migrations (its tables match "
            f"revision {found.revision}); run `{UPGRADE_COMMAND}`"
        )
    if found.revision not in REVISIONS:
        raise unknown_revision(url, found.revision)
    raise DatabaseError(
        f"inventory database {name} is at revision {found.revision}, behind {HEAD}; "
        f"run `{UPGRADE_COMMAND}`"
    )


def stamped_revision(connection: Connection) -> str | None:
    """The revision recorded in ``alembic_version``, None when there is none."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(sql_select(_VERSION_TABLE.c.version_num)).scalars().all()
    if len(rows) > 1:
        raise DatabaseError(
            f"inventory database {_name_of(connection)} records several revisions "
            f"({', '.join(rows)}); citywifi's migrations have one line"
        )
    return rows[0] if rows else None


def stamp_head(connection: Connection) -> None:
    """Record that the schema on ``connection`` is the newest (after ``create_all``)."""
    _VERSION_TABLE.create(connection, checkfirst=True)
    connection.execute(_VERSION_TABLE.delete())
    connection.execute(_VERSION_TABLE.insert().values(version_num=HEAD))
