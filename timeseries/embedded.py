"""The embedded metric store: one SQLite file, zero set-up, the default backend.

URL ``embedded:///abs/path/to/dir``; the data lives in ``<dir>/metrics.sqlite``. The
collector (writer) and the API (reader) may be separate processes on the same directory;
see :mod:`timeseries._sqlite` for the thread and process model.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`)::

    series(id, measurement, field, ap, tags)   one row per (measurement, field, tag set);
                                               tags is canonical JSON, ap is copied out of it
                                               because every read the port offers is per AP;
                                               ids are AUTOINCREMENT (never reused) because
                                               each process caches them
    points(series_id, ts, value)               WITHOUT ROWID, primary key (series_id, ts):
                                               one series' time range is one B-tree range
    latest(series_id, ts, value)               newest point per series, kept on write, so
                                               the status of every AP is one scan of a table
                                               of a few thousand rows

Time is stored as integer **milliseconds** since the epoch: exact equality for the
"same (series, ts) → last write wins" rule (float seconds would make replays of the same
poll land on neighbouring keys), and sub-second poll times survive. Values are REAL.

Why a series table and not tags on every point: a point row is then 3 numbers (about 17
bytes on disk, measured), so a month of 500 APs x 8 fields at one-minute polls is about
3 GB, and grouping by site, district or partner (a later issue) is a join against a table
of a few thousand rows. A retagged AP
(moved to another site) becomes a new series; reads per AP merge its series, newest wins.

Later issues grow this without touching ``points``: rollup tables keyed the same way
(``series_id``, bucket start), retention as a range delete on the primary key, and tag
columns for grouping as generated columns over ``series.tags``.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from citywifi.errors import StoreError
from timeseries._sqlite import ConnectionPool, plain_message
from timeseries.port import AP_MEASUREMENT, Latest, Point, Sample

__all__ = ["DB_FILENAME", "SCHEMA_VERSION", "EmbeddedStore", "open_embedded"]

log = logging.getLogger(__name__)

DB_FILENAME = "metrics.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: ids are cached
    measurement TEXT NOT NULL,
    field       TEXT NOT NULL,
    ap          TEXT NOT NULL,
    tags        TEXT NOT NULL,
    UNIQUE (measurement, field, tags)
);
CREATE INDEX IF NOT EXISTS series_by_ap ON series (measurement, ap, field);
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
    series_id INTEGER PRIMARY KEY,
    ts        INTEGER NOT NULL,
    value     REAL NOT NULL
);
"""

_UPSERT_POINT = (
    "INSERT INTO points (series_id, ts, value) VALUES (?, ?, ?) "
    "ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value"
)
# ">=": replaying an older batch must not move latest backwards, but rewriting the newest
# point itself must update it, as it does in ``points``.
_UPSERT_LATEST = (
    "INSERT INTO latest (series_id, ts, value) VALUES (?, ?, ?) "
    "ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value "
    "WHERE excluded.ts >= latest.ts"
)
# latest() reads bare numbers and names them from an in-memory map of series ids: turning
# 16,000 (ap, field) strings into Python objects per call cost more than the query itself.
_LATEST_ALL = "SELECT series_id, ts, value FROM latest"
_LATEST_SOME = _LATEST_ALL + " WHERE series_id IN (SELECT value FROM json_each(?))"
_NEW_SERIES = "SELECT id, measurement, ap, field FROM series WHERE id > ? ORDER BY id"
# Integer division by the step puts each raw point in its bucket; the primary key makes the
# WHERE clause one range scan per series of the AP (usually one).
_SERIES = (
    "SELECT (p.ts - :start) / :step AS k, avg(p.value) FROM points AS p "
    "WHERE p.series_id IN "
    "(SELECT id FROM series WHERE measurement = :measurement AND ap = :ap AND field = :field) "
    "AND p.ts >= :start AND p.ts < :end GROUP BY k"
)

# (measurement, tag items in the caller's order): cheap to build per sample; two orders of
# the same tags are two keys but map to the same canonical JSON, hence the same series.
_TagKey = tuple[str, tuple[tuple[str, str], ...]]


class _TagSet:
    """One (measurement, tags) seen by this process, checked once, with its field ids."""

    __slots__ = ("ap", "ids", "measurement", "tags_json")

    def __init__(self, measurement: str, ap: str, tags_json: str) -> None:
        self.measurement = measurement
        self.ap = ap
        self.tags_json = tags_json
        # field -> series id; only ever holds committed ids (see _register_series)
        self.ids: dict[str, int] = {}


# What one pass over a batch yields: point rows, newest point per series, fields whose
# series has no id yet, and descriptions of the dropped non-finite values.
_Pass = tuple[
    list[tuple[int, int, float]], dict[int, tuple[int, float]], set[tuple[_TagSet, str]], list[str]
]


def open_embedded(url: str) -> EmbeddedStore:
    """Open (creating if needed) the store an ``embedded:///abs/dir`` URL names."""
    parts = urlsplit(url)
    if parts.scheme != "embedded":
        raise StoreError(f"not an embedded store URL: {url!r}")
    path = unquote(parts.path)
    if parts.netloc or not path.startswith("/"):
        raise StoreError(
            f"embedded store URL needs an absolute directory, like embedded:///var/lib/citywifi"
            f" (three slashes); got {url!r}"
        )
    return EmbeddedStore(Path(path))


class EmbeddedStore:
    """The :class:`~timeseries.port.MetricStore` on a local SQLite file.

    Safe to share between threads; several processes may open the same directory.
    """

    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create metric store directory {directory}: {exc}") from exc
        self.path = directory / DB_FILENAME
        self._pool = ConnectionPool(self.path)
        # Series ids are never reused while a store exists, so ids cached from committed
        # rows stay true even when another process adds series.
        self._tagsets: dict[_TagKey, _TagSet] = {}
        # For reads: series id -> (ap, field) of measurement "ap", ap -> its series ids, and
        # the highest id loaded, so new series (from any process) load incrementally.
        self._ap_field: dict[int, tuple[str, str]] = {}
        self._ap_ids: dict[str, list[int]] = {}
        self._loaded_id = 0
        self._names_lock = threading.Lock()
        # One writer per process at a time: threads queue here instead of polling SQLite's
        # busy handler; other processes still wait on busy_timeout.
        self._write_lock = threading.Lock()
        try:
            self._init_schema()
        except BaseException:
            self._pool.close()
            raise

    # -- port ------------------------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> None:
        """Store a batch in one transaction; last write wins per (series, ts).

        A non-finite value (NaN, ±inf) is dropped — that field of that sample only — with
        one warning per batch: it is a symptom of a bad derivation or a device glitch, and
        discarding a whole poll of hundreds of APs for it would hide good data. Anything
        that is not a number at all, a non-finite time, or an ``ap`` sample without an
        ``ap`` tag is a caller bug and rejects the whole batch with :class:`StoreError`.
        """
        if not samples:
            return
        rows, newest, missing, dropped = self._one_pass(samples)
        while missing:  # rare: first batch, a new AP, a retagged AP, a new metric
            self._register_series(missing)
            rows, newest, missing, dropped = self._one_pass(samples)
        if dropped:
            log.warning(
                "dropped %d non-finite field value(s) from a batch of %d samples; first: %s",
                len(dropped),
                len(samples),
                dropped[0],
            )
        if not rows:
            return
        latest_rows = [(sid, ts, value) for sid, (ts, value) in newest.items()]
        with self._write_lock, self._pool.connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(_UPSERT_POINT, rows)
                conn.executemany(_UPSERT_LATEST, latest_rows)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise StoreError(
                    f"could not write {len(rows)} values to {self.path}: "
                    f"{plain_message(exc)}; nothing of this batch was stored"
                ) from exc
            except BaseException:
                _rollback(conn)
                raise

    def latest(self, aps: Collection[str] | None = None) -> dict[str, Latest]:
        """Newest value and time of each field per AP; APs with no data are absent.

        An AP that changed tags has several series; per field the newest point wins.
        """
        if aps is not None and not aps:
            return {}
        with self._pool.connection() as conn:
            try:
                if aps is None:
                    rows = conn.execute(_LATEST_ALL).fetchall()
                    if rows and max(row[0] for row in rows) > self._loaded_id:
                        self._load_names(conn)
                else:
                    self._load_names(conn)
                    ids = [sid for ap in set(aps) for sid in self._ap_ids.get(ap, ())]
                    rows = conn.execute(_LATEST_SOME, (json.dumps(ids),)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"could not read {self.path}: {plain_message(exc)}") from exc
        # (ap, field) -> (ts, series id, value); the series id breaks ties toward the newer
        # series so the answer does not depend on row order.
        names = self._ap_field
        best: dict[tuple[str, str], tuple[int, int, float]] = {}
        for sid, ts, value in rows:
            name = names.get(sid)
            if name is None:  # another measurement
                continue
            current = best.get(name)
            if current is None or (ts, sid) > current[:2]:
                best[name] = (ts, sid, value)
        values: dict[str, dict[str, float]] = {}
        times: dict[str, dict[str, float]] = {}
        for (ap, field), (ts, _sid, value) in best.items():
            values.setdefault(ap, {})[field] = value
            times.setdefault(ap, {})[field] = ts / 1000
        return {ap: Latest(ap=ap, values=values[ap], times=times[ap]) for ap in values}

    def series(self, ap: str, metric: str, start: float, end: float, step: float) -> list[Point]:
        """Bucket means over [start, end); every bucket present, empty ones as None.

        Raises ValueError for a step under one millisecond (the storage resolution) or
        non-finite bounds: those are caller bugs, not store failures. ``end <= start``
        is an empty window.
        """
        if not all(math.isfinite(x) for x in (start, end, step)):
            raise ValueError(f"series window must be finite: {start=}, {end=}, {step=}")
        start_ms, end_ms, step_ms = _ms(start), _ms(end), _ms(step)
        if step_ms < 1:
            raise ValueError(f"series step must be at least 0.001 s, got {step!r}")
        if end_ms <= start_ms:
            return []
        count = -((start_ms - end_ms) // step_ms)  # ceil division in integers
        params = {
            "start": start_ms,
            "end": end_ms,
            "step": step_ms,
            "measurement": AP_MEASUREMENT,
            "ap": ap,
            "field": metric,
        }
        with self._pool.connection() as conn:
            try:
                rows = conn.execute(_SERIES, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"could not read {self.path}: {plain_message(exc)}") from exc
        means: dict[int, float] = dict(rows)
        return [Point(ts=start + k * step, value=means.get(k)) for k in range(count)]

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _init_schema(self) -> None:
        """Create or check the schema; safe when several processes open a new store at once."""
        with self._pool.connection() as conn:
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == SCHEMA_VERSION:
                    return
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"metric store {self.path} has schema version {version}, newer than "
                        f"this citywifi understands ({SCHEMA_VERSION}); upgrade citywifi"
                    )
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise StoreError(
                    f"cannot open metric store {self.path}: {plain_message(exc)}"
                ) from exc

    def _load_names(self, conn: sqlite3.Connection) -> None:
        """Learn series created since the last call, by this process or another one.

        Series rows commit before their first point, so every id found in ``latest`` is
        already in ``series`` when this runs.
        """
        with self._names_lock:
            for sid, measurement, ap, field in conn.execute(_NEW_SERIES, (self._loaded_id,)):
                if measurement == AP_MEASUREMENT:
                    self._ap_field[sid] = (ap, field)
                    self._ap_ids.setdefault(ap, []).append(sid)
                self._loaded_id = sid

    def _one_pass(self, samples: Sequence[Sample]) -> _Pass:
        """Check a batch and turn it into rows, before any write.

        The hot loop of ingest: per sample one dict lookup for its tag set, per field one
        for its series id; everything checkable per tag set is checked once, when the tag
        set is first seen.
        """
        rows: list[tuple[int, int, float]] = []
        newest: dict[int, tuple[int, float]] = {}
        missing: set[tuple[_TagSet, str]] = set()
        dropped: list[str] = []
        tagsets = self._tagsets
        isfinite = math.isfinite
        for index, sample in enumerate(samples):
            try:
                key = (sample.measurement, tuple(sample.tags.items()))
                tagset = tagsets.get(key)
            except TypeError:  # an unhashable tag value
                raise StoreError(
                    f"sample {index} has a tag that is not a string: {sample!r}"
                ) from None
            if tagset is None:  # setdefault: racing threads must share one _TagSet
                tagset = tagsets.setdefault(key, _new_tagset(index, sample))
            ts = sample.ts
            if not isfinite(ts):
                raise StoreError(f"sample {index} has a non-finite time: {sample!r}")
            ts_ms = round(ts * 1000)
            ids = tagset.ids
            for name, raw in sample.fields.items():
                value = raw if type(raw) is float else _number(index, sample, name, raw)
                if not isfinite(value):
                    dropped.append(f"{name}={raw!r} in {sample!r}")
                    continue
                sid = ids.get(name)
                if sid is None:
                    missing.add((tagset, name))
                    continue
                rows.append((sid, ts_ms, value))
                seen = newest.get(sid)
                if seen is None or ts_ms >= seen[0]:
                    newest[sid] = (ts_ms, value)
        return rows, newest, missing, dropped

    def _register_series(self, missing: set[tuple[_TagSet, str]]) -> None:
        """Give each new (measurement, field, tags) an id, creating its row if need be.

        Committed on its own, before the points: a series row without points is invisible
        through the port, so a failed batch still "stores nothing", and the id cache only
        ever holds committed ids (a rolled-back id could be handed to another series).
        """
        found: list[tuple[_TagSet, str, int]] = []
        with self._write_lock, self._pool.connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                for tagset, field in missing:
                    ident = (tagset.measurement, field, tagset.tags_json)
                    conn.execute(
                        "INSERT INTO series (measurement, field, ap, tags) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (measurement, field, tags) DO NOTHING",
                        (*ident[:2], tagset.ap, ident[2]),
                    )
                    (sid,) = conn.execute(
                        "SELECT id FROM series WHERE measurement = ? AND field = ? AND tags = ?",
                        ident,
                    ).fetchone()
                    found.append((tagset, field, sid))
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise StoreError(
                    f"could not register {len(missing)} new series in {self.path}: "
                    f"{plain_message(exc)}; nothing of this batch was stored"
                ) from exc
            except BaseException:
                _rollback(conn)
                raise
        for tagset, field, sid in found:
            tagset.ids[field] = sid


def _new_tagset(index: int, sample: Sample) -> _TagSet:
    """Check what is fixed per (measurement, tags) and make its canonical JSON."""
    measurement, tags = sample.measurement, dict(sample.tags)
    if not isinstance(measurement, str) or not measurement:
        raise StoreError(f"sample {index} has no measurement name: {sample!r}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise StoreError(f"sample {index} has a tag that is not a string: {sample!r}")
    ap = tags.get("ap", "")
    if measurement == AP_MEASUREMENT and not ap:
        raise StoreError(f"sample {index} of measurement 'ap' has no 'ap' tag: {sample!r}")
    tags_json = json.dumps(tags, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _TagSet(measurement, ap, tags_json)


def _number(index: int, sample: Sample, name: str, raw: object) -> float:
    """The slow path for field values that are not already floats (ints, bools, junk)."""
    if isinstance(raw, int | float):  # bool is an int: reachable=True stores 1.0
        return float(raw)
    # not float(raw) for everything: float("3") would let a string through
    raise StoreError(f"sample {index} field {name!r} is not a number ({raw!r}): {sample!r}")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open; SQLite may already have ended it."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("rollback failed on the metric store")
