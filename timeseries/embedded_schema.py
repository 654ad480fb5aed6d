"""The embedded store's tables: created here, checked here, grown here.

Schema 2 (``PRAGMA user_version``), see :mod:`timeseries.embedded` for why it is shaped so::

    meta(key, value)                      store-wide numbers: newest/oldest sample time,
                                          retention watermarks, a compaction counter
    aps(id, name)                         AP name -> small integer id (AUTOINCREMENT:
                                          ids are cached per process, never reused)
    tagsets(id, measurement, tags,        one row per distinct (measurement, tag set);
            ap_id, site, district,        the grouping tags copied out of the JSON so
            partner, profile)             aggregate() filters on plain columns
    ap_raw(ap_id, ts, tagset_id, m_*)     measurement ``ap``: one row per (AP, poll time),
                                          one REAL column per metric, NULL = absent;
                                          WITHOUT ROWID, primary key (ap_id, ts)
    latest(ap_id, v_*, t_*)               newest value and its time per metric per AP
    rollup_5m / rollup_1h                 (ap_id, bucket, tagset_id) -> polls_ok,
        (ap_id, bucket, tagset_id,        x_clients, x_hotspot_sessions (maxima) and
         polls_ok, x_*, s_*, n_*)         per metric s_* (sum) and n_* (count): sums and
                                          counts, never means, so buckets add up exactly
    dirty(ap_id, hour, marked)            hours whose raw rows changed since their
                                          rollups were built; reads use raw rows there
    points(tagset_id, field, ts, value)   every other measurement (probes, self-metrics)

Metric columns carry a prefix (``m_clients``) so no metric name can collide with a key
column. A metric the table lacks is added with ``ALTER TABLE ADD COLUMN`` (cheap in
SQLite: existing rows are not rewritten) when the store opens with a larger vocabulary or
when a sample brings an unknown field.
"""

from __future__ import annotations

import re
import sqlite3

from core.errors import StoreError
from timeseries.vocabulary import AP_METRICS

SCHEMA_VERSION = 2
OLD_NARROW_VERSION = 1

HOUR_MS = 3_600_000
FINE_MS = 300_000  # the 5-minute rollup bucket

# Metrics whose maxima the rollups keep (Aggregate.clients_max / sessions_max).
MAX_METRICS: tuple[str, ...] = ("clients", "hotspot_sessions")
# Metrics aggregate() reads; they must have columns even before any sample carried them.
REQUIRED_METRICS: tuple[str, ...] = (
    "reachable",
    "rx_bytes_delta",
    "tx_bytes_delta",
    "clients",
    "hotspot_sessions",
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_KEY_COLUMNS = ("ap_id", "ts", "tagset_id")

BASE_DDL = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('compactions', 0);
CREATE TABLE aps (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
CREATE TABLE tagsets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    measurement TEXT NOT NULL,
    tags        TEXT NOT NULL,
    ap_id       INTEGER,
    site        TEXT NOT NULL DEFAULT '',
    district    TEXT NOT NULL DEFAULT '',
    partner     TEXT NOT NULL DEFAULT '',
    profile     TEXT NOT NULL DEFAULT '',
    UNIQUE (measurement, tags)
);
CREATE TABLE ap_raw (
    ap_id     INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    tagset_id INTEGER NOT NULL,
    PRIMARY KEY (ap_id, ts)
) WITHOUT ROWID;
CREATE TABLE latest (ap_id INTEGER PRIMARY KEY);
CREATE TABLE rollup_5m (
    ap_id     INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    tagset_id INTEGER NOT NULL,
    polls_ok  INTEGER NOT NULL,
    {", ".join(f"x_{m} REAL" for m in MAX_METRICS)},
    PRIMARY KEY (ap_id, bucket, tagset_id)
) WITHOUT ROWID;
CREATE TABLE rollup_1h (
    ap_id     INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    tagset_id INTEGER NOT NULL,
    polls_ok  INTEGER NOT NULL,
    {", ".join(f"x_{m} REAL" for m in MAX_METRICS)},
    PRIMARY KEY (ap_id, bucket, tagset_id)
) WITHOUT ROWID;
CREATE TABLE dirty (
    ap_id  INTEGER NOT NULL,
    hour   INTEGER NOT NULL,
    marked INTEGER NOT NULL,  -- epoch seconds of the first write since the last rollup
    PRIMARY KEY (ap_id, hour)
) WITHOUT ROWID;
CREATE TABLE points (
    tagset_id INTEGER NOT NULL,
    field     TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (tagset_id, field, ts)
) WITHOUT ROWID
"""


def check_metric_name(name: str) -> bool:
    """Whether a field name can become a column (it is quoted anyway; this keeps the
    schema readable and bounded)."""
    return _NAME.fullmatch(name) is not None


def init_schema(conn: sqlite3.Connection, path: object) -> None:
    """Create a new store or check an existing one; several processes may race here."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version == OLD_NARROW_VERSION:
        raise StoreError(
            f"metric store {path} uses the old one-row-per-value layout (schema 1), which "
            f"this citywifi no longer reads; delete that store's directory (or move it "
            f"away) and let the collector write a new one"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"metric store {path} has schema version {version}, newer than "
            f"this citywifi understands ({SCHEMA_VERSION}); upgrade citywifi"
        )
    conn.execute("BEGIN IMMEDIATE")
    if conn.execute("PRAGMA user_version").fetchone()[0] == 0:  # nobody beat us to it
        for statement in BASE_DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("COMMIT")


def metric_columns(conn: sqlite3.Connection) -> list[str]:
    """The metrics ``ap_raw`` has columns for, in table order (the order rows are bound)."""
    return [
        row[1][2:]
        for row in conn.execute("PRAGMA table_info(ap_raw)")
        if row[1] not in _KEY_COLUMNS
    ]


def add_metrics(conn: sqlite3.Connection, names: list[str]) -> None:
    """Add columns for new metrics to every table keyed by metric; caller holds a write
    transaction and has checked the names."""
    have = set(metric_columns(conn))
    for name in names:
        if name in have:  # another process added it meanwhile
            continue
        conn.execute(f'ALTER TABLE ap_raw ADD COLUMN "m_{name}" REAL')
        conn.execute(f'ALTER TABLE latest ADD COLUMN "v_{name}" REAL')
        conn.execute(f'ALTER TABLE latest ADD COLUMN "t_{name}" INTEGER')
        for table in ("rollup_5m", "rollup_1h"):
            conn.execute(f'ALTER TABLE {table} ADD COLUMN "s_{name}" REAL')
            conn.execute(f'ALTER TABLE {table} ADD COLUMN "n_{name}" INTEGER NOT NULL DEFAULT 0')
        have.add(name)


def ensure_vocabulary(conn: sqlite3.Connection) -> None:
    """Give every vocabulary metric a column (schema evolution on open)."""
    wanted = [*REQUIRED_METRICS, *AP_METRICS]
    have = set(metric_columns(conn))
    missing = list(dict.fromkeys(n for n in wanted if n not in have))
    if not missing:
        return
    conn.execute("BEGIN IMMEDIATE")
    add_metrics(conn, missing)
    conn.execute("COMMIT")
