"""The embedded metric store: one SQLite file, zero set-up, the default backend.

URL ``embedded:///abs/path/to/dir``, optionally with retention in days:
``embedded:///dir?raw_days=14&fine_days=90&rollup_days=730`` (those are the defaults).
The data lives in ``<dir>/metrics.sqlite``. The collector (writer) and the API (reader)
may be separate processes on the same directory; see :mod:`timeseries._sqlite` for the
thread and process model.

Layout (schema 2, tables in :mod:`timeseries.embedded_schema`): measurement ``ap`` is
*wide* — one row per (AP, poll time) with one column per metric — because a poll row is
what the collector writes and what every read of the port walks: one B-tree entry per
poll instead of one per value made ingest about four times cheaper (per-row costs
dominate SQLite inserts) and the row stores the keys once. Tags are an id into a
dictionary of distinct tag sets, whose grouping tags are plain columns. Rollups of 5
minutes and one hour hold sums, counts and maxima so aggregates over a month read a few
hundred thousand small rows instead of tens of millions (:mod:`.embedded_maintenance`
builds them, :mod:`.embedded_query` plans which resolution answers what). Other
measurements (probes) go to a small narrow table.

A store written by the first, narrow layout (schema 1) is refused with a plain error
asking to delete it: there are no deployments to migrate.

Time is stored as integer **milliseconds** since the epoch: exact equality for the
"same (AP, ts) → last write wins" rule (per field: a later sample without a field keeps
the earlier value) and sub-second poll times survive. Values are REAL.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from core.errors import StoreError
from timeseries._sqlite import ConnectionPool, plain_message
from timeseries.embedded_maintenance import (
    Retention,
    clear_rollups,
    closed_dirty,
    compact_pairs,
    meta_get,
    prune_step,
)
from timeseries.embedded_query import aggregate_sql, hourly_sql, plan_window, series_sql
from timeseries.embedded_schema import (
    FINE_MS,
    HOUR_MS,
    SCHEMA_VERSION,
    add_metrics,
    check_metric_name,
    ensure_vocabulary,
    init_schema,
    metric_columns,
)
from timeseries.hours import hour_bucket, hour_span
from timeseries.port import (
    AP_MEASUREMENT,
    GROUP_BY,
    Aggregate,
    GroupBy,
    HourBucket,
    Latest,
    Point,
    Sample,
    series_window,
    to_ms,
)
from timeseries.samples import check_fields, check_series, check_time, warn_dropped

__all__ = ["DB_FILENAME", "SCHEMA_VERSION", "EmbeddedStore", "Retention", "open_embedded"]

log = logging.getLogger(__name__)

DB_FILENAME = "metrics.sqlite"
PRUNE_INTERVAL_S = 60.0  # retention runs at most this often per process (unless behind)
PRUNE_STEPS = 4  # chunks of retention work per write call, each its own transaction
COMPACT_BASE = 64  # closed dirty hours compacted per write, plus one per hour it dirtied
COMPACT_QUIET_S = 60.0  # a closed hour is rolled up on write once dirty this long

_GROUPING = ("site", "district", "partner", "profile")
_OTHER_POINT = (
    "INSERT INTO points (tagset_id, field, ts, value) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (tagset_id, field, ts) DO UPDATE SET value = excluded.value"
)
_NEWEST = (
    "INSERT INTO meta (key, value) VALUES ('newest_ms', ?) "
    "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)"
)
_OLDEST = (
    "INSERT INTO meta (key, value) VALUES ('oldest_ms', ?) "
    "ON CONFLICT (key) DO UPDATE SET value = min(value, excluded.value)"
)

_TagKey = tuple[str, tuple[tuple[str, str], ...]]
_Row = tuple[Any, ...]
_Names = tuple[str, ...]
_FLOATS = {float}


class _TagSet:
    """One (measurement, tags) seen by this process, checked once; ids once committed."""

    __slots__ = ("ap", "id", "is_ap", "measurement", "tags", "tags_json")

    def __init__(self, measurement: str, tags: dict[str, str], tags_json: str) -> None:
        self.measurement = measurement
        self.tags = tags
        self.tags_json = tags_json
        self.ap = tags.get("ap", "")
        self.is_ap = measurement == AP_MEASUREMENT
        self.id: tuple[int, int | None] | None = None  # (tagset id, ap id) once committed


class _Batch:
    """A checked batch turned into rows, or what must be registered first."""

    __slots__ = ("dropped", "missing_metrics", "missing_tagsets", "others", "rows")

    def __init__(self) -> None:
        # ap_raw rows: the metrics a sample has, and (ap id, ts, tag set id, *their values)
        self.rows: list[tuple[_Names, _Row]] = []
        self.others: list[tuple[int, str, int, float]] = []
        self.missing_tagsets: set[_TagSet] = set()
        self.missing_metrics: set[str] = set()
        self.dropped: list[str] = []


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
    return EmbeddedStore(Path(path), retention=_retention(url, parts.query))


def _retention(url: str, query: str) -> Retention:
    known = {"raw_days", "fine_days", "rollup_days"}
    days: dict[str, float] = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name not in known:
            raise StoreError(
                f"unknown option {name!r} in {url!r}; known: {', '.join(sorted(known))}"
            )
        try:
            days[name] = float(values[-1])
        except ValueError:
            raise StoreError(f"{name} must be a number of days in {url!r}") from None
        if not math.isfinite(days[name]) or days[name] <= 0:
            raise StoreError(f"{name} must be a positive number of days in {url!r}")
    return Retention(**days)


class EmbeddedStore:
    """The :class:`~timeseries.port.MetricStore` on a local SQLite file.

    Safe to share between threads; several processes may open the same directory.
    """

    def __init__(self, directory: Path, retention: Retention | None = None) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create metric store directory {directory}: {exc}") from exc
        self.path = directory / DB_FILENAME
        self.retention = retention or Retention()
        self._pool = ConnectionPool(self.path)
        self._tagsets: dict[_TagKey, _TagSet] = {}
        self._ap_ids: dict[str, int] = {}  # for reads; AP ids are never reused
        self._names_lock = threading.Lock()
        # One writer per process at a time: threads queue here instead of polling SQLite's
        # busy handler; other processes still wait on busy_timeout.
        self._write_lock = threading.Lock()
        # (ap id, hour) pairs this process has marked dirty, valid while the store-wide
        # compaction counter still reads _seen_compactions.
        self._marked: set[tuple[int, int]] = set()
        self._seen_compactions = -1
        self._last_prune = -math.inf
        self._prune_behind = False
        self._metrics: list[str] = []
        self._index: dict[str, int] = {}
        self._insert_raw = ""
        self._upsert_latest = ""
        # per tuple of metric names (all known), the two statements for rows of just those
        self._statements: dict[_Names, tuple[str, str]] = {}
        try:
            with self._pool.connection() as conn:
                try:
                    init_schema(conn, self.path)
                    ensure_vocabulary(conn)
                    self._load_metrics(conn)
                except sqlite3.Error as exc:
                    _rollback(conn)
                    raise StoreError(
                        f"cannot open metric store {self.path}: {plain_message(exc)}"
                    ) from exc
        except BaseException:
            self._pool.close()
            raise

    # -- port ------------------------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> None:
        """Store a batch in one transaction; last write wins per (AP, time, field).

        A non-finite value (NaN, ±inf) is dropped — that field of that sample only — with
        one warning per batch; a bad sample rejects the whole batch with StoreRejected
        (the rules, shared by every backend: :mod:`timeseries.samples`).
        """
        if not samples:
            return
        batch = self._prepare(samples)
        while batch.missing_tagsets or batch.missing_metrics:  # rare: new AP, tags, metric
            self._register(batch.missing_tagsets, batch.missing_metrics)
            batch = self._prepare(samples)
        warn_dropped(log, batch.dropped, len(samples))
        if batch.rows or batch.others:
            self._store(batch)
        self._maybe_prune()

    def latest(self, aps: Collection[str] | None = None) -> dict[str, Latest]:
        """Newest value and time of each field per AP; APs with no data are absent."""
        if aps is not None and not aps:
            return {}
        query = "SELECT a.name, l.* FROM latest AS l JOIN aps AS a ON a.id = l.ap_id"
        params: tuple[str, ...] = ()
        if aps is not None:
            query += " WHERE a.name IN (SELECT value FROM json_each(?))"
            params = (json.dumps(sorted(set(aps))),)
        with self._pool.connection() as conn:
            try:
                cursor = conn.execute(query, params)
                rows = cursor.fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"could not read {self.path}: {plain_message(exc)}") from exc
        columns = [d[0] for d in cursor.description]
        # (value position, time position, metric) per metric column of this snapshot
        pairs = [
            (i, columns.index("t_" + name[2:]), name[2:])
            for i, name in enumerate(columns)
            if name.startswith("v_")
        ]
        result: dict[str, Latest] = {}
        for row in rows:
            values = {m: row[v] for v, _t, m in pairs if row[v] is not None}
            if values:
                times = {m: row[t] / 1000 for v, t, m in pairs if row[v] is not None}
                result[row[0]] = Latest(ap=row[0], values=values, times=times)
        return result

    def series(self, ap: str, metric: str, start: float, end: float, step: float) -> list[Point]:
        """Bucket means over [start, end); every bucket present, empty ones as None.

        Windows whose start and step are whole hours (or 5-minute buckets) read the
        rollups up to the last such boundary and raw rows after it — rollups being the
        only data left once raw rows are past retention; other windows read raw rows.
        Raises ValueError for a step under one millisecond or non-finite bounds: those
        are caller bugs. ``end <= start`` is an empty window.
        """
        window = series_window(start, end, step)
        if window is None:
            return []
        start_ms, end_ms, step_ms, count = window
        sums: dict[int, float] = {}
        if check_metric_name(metric):
            resolution, cut = "raw", end_ms
            for width, name in ((HOUR_MS, "1h"), (FINE_MS, "5m")):
                if start_ms % width == 0 and step_ms % width == 0:
                    resolution, cut = name, end_ms // width * width
                    break
            params = {"start": start_ms, "end": end_ms, "step": step_ms, "cut": cut}
            with self._pool.connection() as conn:
                try:
                    if metric not in self._index:
                        self._load_metrics(conn)
                    ap_id = self._ap_id(conn, ap)
                    if ap_id is not None and metric in self._index:
                        params["ap"] = ap_id
                        for k, total, n in conn.execute(series_sql(metric, resolution), params):
                            sums[k] = total / n
                except sqlite3.Error as exc:
                    raise StoreError(f"could not read {self.path}: {plain_message(exc)}") from exc
        return [Point(ts=start + k * step, value=sums.get(k)) for k in range(count)]

    def aggregate(
        self,
        start: float,
        end: float,
        by: GroupBy = "ap",
        keys: Collection[str] | None = None,
    ) -> list[Aggregate]:
        """Totals over [start, end) per value of tag ``by``, from hourly and 5-minute
        rollups for whole buckets and raw rows for the edges and for hours not yet
        rolled up — the same numbers as summing the raw rows."""
        if by not in GROUP_BY:
            raise ValueError(f"cannot group by {by!r}; one of {', '.join(GROUP_BY)}")
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"aggregate window must be finite: {start=}, {end=}")
        start_ms, end_ms = to_ms(start), to_ms(end)
        if end_ms <= start_ms or (keys is not None and not keys):
            return []
        sql = aggregate_sql(plan_window(start_ms, end_ms), by, keys is not None)
        params = {"keys": json.dumps(sorted(set(keys)))} if keys is not None else {}
        with self._pool.connection() as conn:
            try:
                rows = conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"could not read {self.path}: {plain_message(exc)}") from exc
        return [
            Aggregate(
                key=key,
                aps=aps,
                polls=int(polls),
                polls_ok=int(polls_ok),
                rx_bytes=rx,
                tx_bytes=tx,
                clients_max=cmax,
                clients_mean=csum / cn if cn else None,
                clients_samples=int(cn or 0),
                sessions_max=smax,
                sessions_mean=ssum / sn if sn else None,
            )
            for key, aps, polls, polls_ok, rx, tx, cmax, csum, cn, smax, ssum, sn in rows
        ]

    def hourly(
        self,
        start: float,
        end: float,
        by: GroupBy = "partner",
        keys: Collection[str] | None = None,
    ) -> list[HourBucket]:
        """Per (group, UTC hour) totals over the whole hours [start, end): the hourly
        rollups for hours rolled up, raw rows for dirty hours (not yet rolled up, or
        changed since), one statement over one snapshot. Exact to the same numbers as
        :meth:`aggregate` over the same hours; hours past raw retention still answer
        (hourly rollups live ``rollup_days``)."""
        span = hour_span(start, end, by)
        if span is None or (keys is not None and not keys):
            return []
        params: dict[str, object] = {"h0": span[0], "h1": span[1]}
        if keys is not None:
            params["keys"] = json.dumps(sorted(set(keys)))
        with self._pool.connection() as conn:
            try:
                rows = conn.execute(hourly_sql(by, keys is not None), params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"could not read {self.path}: {plain_message(exc)}") from exc
        return [bucket for row in rows if (bucket := hour_bucket(*row)) is not None]

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- maintenance -----------------------------------------------------------------------

    def compact(self, limit: int = 2000) -> int:
        """Roll up to ``limit`` closed dirty hours now; returns how many were done.

        Writes do this by themselves a little at a time; bulk loads (benchmarks, history
        seeding) may call it until it returns 0 to leave no backlog for readers.
        """
        with self._write_lock, self._pool.connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                pairs = closed_dirty(conn, limit)
                compact_pairs(conn, pairs, metric_columns(conn))
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise StoreError(f"could not compact {self.path}: {plain_message(exc)}") from exc
            except BaseException:
                _rollback(conn)
                raise
            self._marked.clear()
        return len(pairs)

    def prune(self, now: float | None = None, steps: int = PRUNE_STEPS) -> bool:
        """Do up to ``steps`` chunks of retention work; True while more remains."""
        now_ms = to_ms(time.time() if now is None else now)
        for _ in range(steps):
            with self._write_lock, self._pool.connection() as conn:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    did = prune_step(conn, self.retention, metric_columns(conn), now_ms)
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    _rollback(conn)
                    raise StoreError(
                        f"could not apply retention to {self.path}: {plain_message(exc)}"
                    ) from exc
                except BaseException:
                    _rollback(conn)
                    raise
                self._marked.clear()
            if not did:
                return False
        return True

    # -- internals -------------------------------------------------------------------------

    def _maybe_prune(self) -> None:
        """Retention after a write: once a minute, or again at once while behind."""
        now = time.monotonic()
        if self._prune_behind or now - self._last_prune >= PRUNE_INTERVAL_S:
            self._last_prune = now
            self._prune_behind = self.prune()

    def _store(self, batch: _Batch) -> None:
        rows = batch.rows
        keys = {(row[0], row[1]) for _names, row in rows}
        pairs = {(ap, ts // HOUR_MS) for ap, ts in keys}
        times = [ts for _ap, ts in keys] + [row[2] for row in batch.others]
        if len(keys) == len(rows):  # no (AP, time) twice: the order of rows is free
            work = self._grouped(rows)
        else:  # last write wins in batch order: full-width rows, one statement each
            full = self._full_width(rows)
            work = [(self._insert_raw, full, self._upsert_latest, _latest_rows(full))]
        with self._write_lock, self._pool.connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                generation = meta_get(conn, "compactions")
                if generation != self._seen_compactions:  # someone compacted: recheck all
                    self._marked.clear()
                new = [p for p in pairs if p not in self._marked]
                if new:
                    now = int(time.time())
                    conn.executemany(
                        "INSERT OR IGNORE INTO dirty (ap_id, hour, marked) VALUES (?, ?, ?)",
                        [(ap, hour, now) for ap, hour in new],
                    )
                    clear_rollups(conn, new)
                for insert_raw, raw_rows, upsert_latest, latest_rows in work:
                    conn.executemany(insert_raw, raw_rows)
                    if latest_rows:
                        conn.executemany(upsert_latest, latest_rows)
                if batch.others:
                    conn.executemany(_OTHER_POINT, batch.others)
                conn.execute(_NEWEST, (max(times),))
                conn.execute(_OLDEST, (min(times),))
                compacted = closed_dirty(
                    conn, COMPACT_BASE + len(new), int(time.time() - COMPACT_QUIET_S)
                )
                if compacted:
                    compact_pairs(conn, compacted, metric_columns(conn))
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                self._marked.clear()
                raise StoreError(
                    f"could not write {len(rows) + len(batch.others)} rows to {self.path}: "
                    f"{plain_message(exc)}; nothing of this batch was stored"
                ) from exc
            except BaseException:
                _rollback(conn)
                self._marked.clear()
                raise
            self._marked.update(new)
            self._marked.difference_update(compacted)
            self._seen_compactions = (generation or 0) + (1 if compacted else 0)

    def _prepare(self, samples: Sequence[Sample]) -> _Batch:
        """Check a batch and turn it into rows, before any write.

        The hot loop of ingest: per sample one dict lookup for its tag set and one for
        its tuple of field names; a sample of known metrics with float, finite values
        (nearly all) is checked with a few C-level calls and kept as its names and a row
        of just its values, written by statements for that set of metrics (rows without
        a metric cost nothing for it). Anything else takes the field-by-field path.
        Everything checkable per tag set is checked once, when the tag set is first seen.
        The fast paths only skip checks a sample visibly passes; every refusal and drop
        comes from :mod:`timeseries.samples`.
        """
        batch = _Batch()
        rows, others, dropped = batch.rows, batch.others, batch.dropped
        tagsets = self._tagsets
        index = self._index
        known = self._statements
        floats = _FLOATS
        isfinite = math.isfinite
        for n, sample in enumerate(samples):
            try:
                key = (sample.measurement, tuple(sample.tags.items()))
                tagset = tagsets.get(key)
            except (TypeError, AttributeError):  # tags not a mapping, or not strings
                check_series(n, sample)  # raises StoreRejected naming what is wrong
                raise
            if tagset is None:  # setdefault: racing threads must share one _TagSet
                tagset = tagsets.setdefault(key, _new_tagset(n, sample))
            ts = sample.ts
            if type(ts) is not float or not isfinite(ts):
                ts = check_time(n, sample)
            ts_ms = round(ts * 1000)
            ids = tagset.id
            if ids is None:
                batch.missing_tagsets.add(tagset)
            if tagset.is_ap:
                fields = sample.fields
                names = tuple(fields)
                values = tuple(fields.values())
                if (
                    names in known
                    and set(map(type, values)) == floats
                    and isfinite(sum(values))  # a NaN or an inf anywhere makes it non-finite
                ):  # the usual sample: known metrics, float values, all finite
                    if ids is not None:
                        rows.append((names, (ids[1], ts_ms, ids[0], *values)))
                    continue
                kept_names: list[str] = []
                kept_values: list[float] = []
                for name, value in check_fields(n, sample, dropped).items():
                    i = index.get(name)
                    if i is None:
                        if not check_metric_name(name):
                            raise StoreError(f"sample {n} has a bad field name {name!r}")
                        batch.missing_metrics.add(name)
                        continue
                    kept_names.append(name)
                    kept_values.append(value)
                if ids is not None and kept_names:
                    names = tuple(kept_names)
                    if names not in known:
                        self._statements_for(names)
                    rows.append((names, (ids[1], ts_ms, ids[0], *kept_values)))
            else:
                for name, value in check_fields(n, sample, dropped).items():
                    if ids is not None:
                        others.append((ids[0], name, ts_ms, value))
        return batch

    def _statements_for(self, names: _Names) -> tuple[str, str]:
        """The ap_raw insert and the latest upsert for rows of just these (known) metrics.

        The same effect as the full-width statements on a row with NULL elsewhere: a
        metric the row lacks is left as it is, in ap_raw and in latest.
        """
        statements = self._statements.get(names)
        if statements is None:
            if len(self._statements) >= 4096:  # field names in ever new orders: start over
                self._statements.clear()
            columns = ", ".join(f'"m_{m}"' for m in names)
            marks = ", ".join("?" * (3 + len(names)))
            merge = ", ".join(f'"m_{m}" = excluded."m_{m}"' for m in names)
            insert_raw = (
                f"INSERT INTO ap_raw (ap_id, ts, tagset_id, {columns}) VALUES ({marks}) "
                f"ON CONFLICT (ap_id, ts) DO UPDATE SET tagset_id = excluded.tagset_id, {merge}"
            )
            latest_names = ", ".join(f'"v_{m}", "t_{m}"' for m in names)
            picks = ", ".join(f"?{i + 4}, ?2" for i in range(len(names)))
            newer = [
                f'excluded."t_{m}" >= coalesce(latest."t_{m}", excluded."t_{m}")' for m in names
            ]
            sets = ", ".join(
                f'"v_{m}" = iif({cond}, excluded."v_{m}", latest."v_{m}"), '
                f'"t_{m}" = iif({cond}, excluded."t_{m}", latest."t_{m}")'
                for m, cond in zip(names, newer, strict=True)
            )
            upsert_latest = (
                f"INSERT INTO latest (ap_id, {latest_names}) VALUES (?1, {picks}) "
                f"ON CONFLICT (ap_id) DO UPDATE SET {sets}"
            )
            statements = self._statements[names] = (insert_raw, upsert_latest)
        return statements

    def _grouped(
        self, rows: list[tuple[_Names, _Row]]
    ) -> list[tuple[str, list[_Row], str, list[_Row]]]:
        """Rows (no (AP, time) twice) by the metrics they have, each group with its
        statements and the rows ``latest`` needs (see :func:`_latest_rows`)."""
        groups: dict[_Names, list[_Row]] = {}
        for names, row in rows:
            group = groups.get(names)
            if group is None:
                group = groups[names] = []
            group.append(row)
        # usually one row per AP; otherwise only the rows latest() can still see
        wanted = None if len({row[0] for _n, row in rows}) == len(rows) else _latest_needed(rows)
        out = []
        for names, group in groups.items():
            insert_raw, upsert_latest = self._statements_for(names)
            latest = group if wanted is None else [r for r in group if id(r) in wanted]
            out.append((insert_raw, group, upsert_latest, latest))
        return out

    def _full_width(self, rows: list[tuple[_Names, _Row]]) -> list[_Row]:
        """Rows in the full ap_raw column order, NULL where a row lacks a metric."""
        index = self._index
        blank = [None] * (3 + len(self._metrics))
        out: list[_Row] = []
        for names, row in rows:
            full: list[Any] = blank.copy()
            full[0], full[1], full[2] = row[0], row[1], row[2]
            for name, value in zip(names, row[3:], strict=True):
                full[index[name]] = value
            out.append(tuple(full))
        return out

    def _register(self, tagsets: set[_TagSet], metrics: set[str]) -> None:
        """Give new tag sets (and their APs) ids and new metrics columns.

        Committed on its own, before the rows: a tag set or a column without rows is
        invisible through the port, so a failed batch still "stores nothing", and the
        id cache only ever holds committed ids.
        """
        found: list[tuple[_TagSet, int, int | None]] = []
        with self._write_lock, self._pool.connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                if metrics:
                    add_metrics(conn, sorted(metrics))
                for tagset in tagsets:
                    ap_id = None
                    if tagset.is_ap:
                        conn.execute(
                            "INSERT INTO aps (name) VALUES (?) ON CONFLICT (name) DO NOTHING",
                            (tagset.ap,),
                        )
                        (ap_id,) = conn.execute(
                            "SELECT id FROM aps WHERE name = ?", (tagset.ap,)
                        ).fetchone()
                    grouping = [tagset.tags.get(t, "") for t in _GROUPING]
                    conn.execute(
                        "INSERT INTO tagsets (measurement, tags, ap_id, site, district, partner,"
                        " profile) VALUES (?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (measurement, tags) DO NOTHING",
                        (tagset.measurement, tagset.tags_json, ap_id, *grouping),
                    )
                    (tid,) = conn.execute(
                        "SELECT id FROM tagsets WHERE measurement = ? AND tags = ?",
                        (tagset.measurement, tagset.tags_json),
                    ).fetchone()
                    found.append((tagset, tid, ap_id))
                conn.execute("COMMIT")
                if metrics:
                    self._load_metrics(conn)
            except sqlite3.Error as exc:
                _rollback(conn)
                raise StoreError(
                    f"could not register {len(tagsets)} new tag sets and {len(metrics)} "
                    f"new metrics in {self.path}: {plain_message(exc)}; "
                    f"nothing of this batch was stored"
                ) from exc
            except BaseException:
                _rollback(conn)
                raise
        for tagset, tid, ap_id in found:
            tagset.id = (tid, ap_id)

    def _load_metrics(self, conn: sqlite3.Connection) -> None:
        """Learn the metric columns (this or another process may have added some) and
        build the insert statements for that column order."""
        metrics = metric_columns(conn)
        with self._names_lock:
            if metrics == self._metrics:
                return
            columns = ", ".join(f'"m_{m}"' for m in metrics)
            marks = ", ".join("?" * (3 + len(metrics)))
            merge = ", ".join(f'"m_{m}" = coalesce(excluded."m_{m}", "m_{m}")' for m in metrics)
            self._insert_raw = (
                f"INSERT INTO ap_raw (ap_id, ts, tagset_id, {columns}) VALUES ({marks}) "
                f"ON CONFLICT (ap_id, ts) DO UPDATE SET tagset_id = excluded.tagset_id, {merge}"
            )
            # latest: the value and its time per metric, each kept unless this row's time
            # for it is at least as new (">=": rewriting the newest point updates it).
            names = ", ".join(f'"v_{m}", "t_{m}"' for m in metrics)
            picks = ", ".join(
                f"?{i + 4}, iif(?{i + 4} IS NULL, NULL, ?2)" for i in range(len(metrics))
            )
            newer = [
                f'excluded."t_{m}" >= coalesce(latest."t_{m}", excluded."t_{m}")' for m in metrics
            ]
            sets = ", ".join(
                f'"v_{m}" = iif({cond}, excluded."v_{m}", latest."v_{m}"), '
                f'"t_{m}" = iif({cond}, excluded."t_{m}", latest."t_{m}")'
                for m, cond in zip(metrics, newer, strict=True)
            )
            self._upsert_latest = (
                f"INSERT INTO latest (ap_id, {names}) SELECT ?1, {picks} WHERE ?3 IS NOT NULL "
                f"ON CONFLICT (ap_id) DO UPDATE SET {sets}"
            )
            self._metrics = metrics
            self._index = {m: 3 + i for i, m in enumerate(metrics)}

    def _ap_id(self, conn: sqlite3.Connection, ap: str) -> int | None:
        ap_id = self._ap_ids.get(ap)
        if ap_id is None:
            row = conn.execute("SELECT id FROM aps WHERE name = ?", (ap,)).fetchone()
            if row is None:
                return None
            ap_id = self._ap_ids[ap] = int(row[0])
        return ap_id


def _latest_rows(rows: list[_Row]) -> list[_Row]:
    """The rows the ``latest`` table needs: per AP the newest, and an older one only if
    it has a metric no newer row of the batch has (a collector batch: one row per AP)."""
    by_ap: dict[int, list[_Row]] = {}
    for row in rows:
        by_ap.setdefault(row[0], []).append(row)
    out: list[_Row] = []
    for group in by_ap.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        group.sort(key=lambda r: r[1])  # stable: a later duplicate time stays later
        covered: set[int] = set()
        kept: list[_Row] = []
        for row in reversed(group):
            present = {i for i in range(3, len(row)) if row[i] is not None}
            if not present <= covered:
                kept.append(row)
                covered |= present
        out.extend(reversed(kept))
    return out


def _latest_needed(rows: list[tuple[_Names, _Row]]) -> set[int]:
    """:func:`_latest_rows` for rows without a repeated (AP, time): the ``id`` of each
    row ``latest`` needs — per AP the newest, and older ones only for metrics it lacks."""
    by_ap: dict[int, list[tuple[_Names, _Row]]] = {}
    for item in rows:
        by_ap.setdefault(item[1][0], []).append(item)
    needed: set[int] = set()
    for group in by_ap.values():
        group.sort(key=lambda item: item[1][1])
        covered: set[str] = set()
        for names, row in reversed(group):
            if not covered.issuperset(names):
                needed.add(id(row))
                covered.update(names)
    return needed


def _new_tagset(index: int, sample: Sample) -> _TagSet:
    """Check what is fixed per (measurement, tags) and make its canonical JSON."""
    tags = check_series(index, sample)
    tags_json = json.dumps(tags, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _TagSet(sample.measurement, tags, tags_json)


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open; SQLite may already have ended it."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("rollback failed on the metric store")
