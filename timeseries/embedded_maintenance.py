"""Rollups and retention for the embedded store: the work that keeps reads fast and the
file bounded, done in short transactions after writes.

Rollups are built by *compaction*, not on every write: a write only marks the
(AP, hour) pairs it touched as dirty (once per pair, thanks to a per-process cache) and
deletes their stale rollup rows; compaction later rebuilds an hour's 5-minute and hourly
rows from its raw rows in one statement each. Compaction runs after a write for hours
that are *closed* (older than the newest hour written) and were first dirtied at least a
minute ago, a bounded number per call, so neither an hour being filled nor an old hour
being replayed minute by minute is rebuilt after every batch. Reads stay exact in
between because they take dirty hours from the raw rows (see
:mod:`timeseries.embedded_query`).

Retention deletes raw rows older than ``raw_days`` (measured back from the newest sample
written, capped at the wall clock: a store of old data, a test's fixed clock or a restored
backup is not emptied on open, and one sample stamped in 2100 cannot wipe a store) after
compacting the hours it is about to delete. Deleted hours become *sealed*: a late sample
written there later (a spool replay after a long outage) is *added* to the hour's rollups
and its raw row dropped — correct once, but replaying the same late samples twice into a
sealed hour counts them twice, because the raw rows that made replays idempotent are gone.
5-minute rollups live ``fine_days``, hourly ones ``rollup_days``.
Every deletion goes in chunks of a few hours of all APs, at most a few chunks per call,
so no transaction holds the write lock for long.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from timeseries.embedded_schema import FINE_MS, HOUR_MS, MAX_METRICS

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each resolution is kept, in days (``embedded:///dir?raw_days=14&...``)."""

    raw_days: float = 14.0
    fine_days: float = 90.0  # 5-minute rollups
    rollup_days: float = 730.0  # hourly rollups


def rollup_sql(table: str, bucket_ms: int, metrics: Sequence[str]) -> str:
    """INSERT .. SELECT that adds one AP's raw rows in [:lo, :hi) to ``table``.

    "Adds": on an existing bucket row sums and counts are added and maxima combined, so
    the same statement rebuilds a cleared hour and merges late rows into a sealed one.
    """
    maxima = ", ".join(f"x_{m}" for m in MAX_METRICS)
    sums = ", ".join(f'"s_{m}", "n_{m}"' for m in metrics)
    select = ", ".join(f'sum("m_{m}"), count("m_{m}")' for m in metrics)
    select_max = ", ".join(f'max("m_{m}")' for m in MAX_METRICS)
    update = [
        "polls_ok = polls_ok + excluded.polls_ok",
        *(
            f"x_{m} = coalesce(max(x_{m}, excluded.x_{m}), x_{m}, excluded.x_{m})"
            for m in MAX_METRICS
        ),
        *(
            f'"s_{m}" = coalesce("s_{m}" + excluded."s_{m}", "s_{m}", excluded."s_{m}"), '
            f'"n_{m}" = "n_{m}" + excluded."n_{m}"'
            for m in metrics
        ),
    ]
    return (
        f"INSERT INTO {table} (ap_id, bucket, tagset_id, polls_ok, {maxima}, {sums}) "
        f"SELECT ap_id, ts / {bucket_ms}, tagset_id, coalesce(sum(m_reachable = 1), 0), "
        f"{select_max}, {select} FROM ap_raw "
        f"WHERE ap_id = :ap AND ts >= :lo AND ts < :hi GROUP BY 2, 3 "
        f"ON CONFLICT (ap_id, bucket, tagset_id) DO UPDATE SET {', '.join(update)}"
    )


def hourly_from_fine_sql(metrics: Sequence[str]) -> str:
    """INSERT .. SELECT adding one AP's 5-minute rows of [:lo, :hi) to the hourly table:
    twelve small rows per hour instead of sixty raw ones, for hours rebuilt from scratch."""
    per = HOUR_MS // FINE_MS
    maxima = ", ".join(f"x_{m}" for m in MAX_METRICS)
    sums = ", ".join(f'"s_{m}", "n_{m}"' for m in metrics)
    select = ", ".join(f'sum("s_{m}"), sum("n_{m}")' for m in metrics)
    select_max = ", ".join(f"max(x_{m})" for m in MAX_METRICS)
    return (
        f"INSERT INTO rollup_1h (ap_id, bucket, tagset_id, polls_ok, {maxima}, {sums}) "
        f"SELECT ap_id, bucket / {per}, tagset_id, sum(polls_ok), {select_max}, {select} "
        f"FROM rollup_5m WHERE ap_id = :ap AND bucket >= :lo / {FINE_MS} "
        f"AND bucket < :hi / {FINE_MS} GROUP BY 2, 3 "
        f"ON CONFLICT (ap_id, bucket, tagset_id) DO UPDATE SET "
        + rollup_sql("rollup_1h", HOUR_MS, metrics).split(" DO UPDATE SET ", 1)[1]
    )


def meta_get(conn: sqlite3.Connection, key: str) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else int(row[0])


def meta_set(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def clear_rollups(conn: sqlite3.Connection, pairs: Sequence[tuple[int, int]]) -> None:
    """Drop the rollup rows of freshly dirtied (AP, hour) pairs that are not sealed, so
    readers never see a stale rollup beside the raw rows that replace it."""
    sealed_hour = (meta_get(conn, "sealed_ms") or 0) // HOUR_MS
    open_pairs = [(ap, hour) for ap, hour in pairs if hour >= sealed_hour]
    if not open_pairs:
        return
    per = HOUR_MS // FINE_MS
    conn.executemany(
        "DELETE FROM rollup_5m WHERE ap_id = ? AND bucket >= ? AND bucket < ?",
        [(ap, hour * per, hour * per + per) for ap, hour in open_pairs],
    )
    conn.executemany("DELETE FROM rollup_1h WHERE ap_id = ? AND bucket = ?", open_pairs)


def compact_pairs(
    conn: sqlite3.Connection, pairs: Sequence[tuple[int, int]], metrics: Sequence[str]
) -> None:
    """Rebuild (or, in sealed hours, merge into) the rollups of dirty (AP, hour) pairs.

    The caller holds a write transaction; the pairs leave ``dirty`` in it, so readers see
    either the raw rows or the rollups of an hour, never both and never neither.
    """
    if not pairs:
        return
    sealed_hour = (meta_get(conn, "sealed_ms") or 0) // HOUR_MS
    clear_rollups(conn, pairs)
    fine, hourly = (
        rollup_sql("rollup_5m", FINE_MS, metrics),
        rollup_sql("rollup_1h", HOUR_MS, metrics),
    )
    for ap, hour in pairs:
        params = {"ap": ap, "lo": hour * HOUR_MS, "hi": (hour + 1) * HOUR_MS}
        conn.execute(fine, params)
        conn.execute(hourly, params)
        if hour < sealed_hour:  # merged for good: keeping them would add them again
            conn.execute("DELETE FROM ap_raw WHERE ap_id = :ap AND ts >= :lo AND ts < :hi", params)
    conn.executemany("DELETE FROM dirty WHERE ap_id = ? AND hour = ?", pairs)
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'compactions'")


def closed_dirty(
    conn: sqlite3.Connection, limit: int, quiet_since: int | None = None
) -> list[tuple[int, int]]:
    """Dirty pairs of hours before the newest hour written: complete, worth rolling up.

    With ``quiet_since`` (epoch seconds) only pairs last marked before then: a replay
    of an old hour, minute by minute, must not rebuild that hour after every batch.
    """
    newest = meta_get(conn, "newest_ms")
    if newest is None:
        return []
    rows = conn.execute(
        "SELECT ap_id, hour FROM dirty WHERE hour < ? AND marked <= ? LIMIT ?",
        (newest // HOUR_MS, quiet_since if quiet_since is not None else 2**62, limit),
    ).fetchall()
    return [(int(a), int(h)) for a, h in rows]


def reference_ms(conn: sqlite3.Connection, now_ms: int) -> int | None:
    """The "now" retention counts back from: the newest sample, but never the future."""
    newest = meta_get(conn, "newest_ms")
    return None if newest is None else min(newest, now_ms)


def prune_step(
    conn: sqlite3.Connection,
    retention: Retention,
    metrics: Sequence[str],
    now_ms: int,
) -> bool:
    """One bounded chunk of retention work in the caller's write transaction.

    Returns True when a chunk was done (more may remain), False when everything is
    within retention.
    """
    ref = reference_ms(conn, now_ms)
    oldest = meta_get(conn, "oldest_ms")
    if ref is None or oldest is None:
        return False
    ap_ids = [int(row[0]) for row in conn.execute("SELECT id FROM aps")]
    # raw rows: whole hours, compacting dirty hours first so nothing is lost
    cutoff = (ref - int(retention.raw_days * DAY_MS)) // HOUR_MS * HOUR_MS
    lo = meta_get(conn, "raw_pruned_ms")
    lo = oldest // HOUR_MS * HOUR_MS if lo is None else lo
    if lo < cutoff:
        hi = min(cutoff, lo + 6 * HOUR_MS)
        pairs = conn.execute(
            "SELECT ap_id, hour FROM dirty WHERE hour >= ? AND hour < ?",
            (lo // HOUR_MS, hi // HOUR_MS),
        ).fetchall()
        compact_pairs(conn, [(int(a), int(h)) for a, h in pairs], metrics)
        conn.executemany(
            "DELETE FROM ap_raw WHERE ap_id = ? AND ts >= ? AND ts < ?",
            [(ap, lo, hi) for ap in ap_ids],
        )
        meta_set(conn, "raw_pruned_ms", hi)
        meta_set(conn, "sealed_ms", hi)
        return True
    for table, bucket_ms, days, key, chunk in (
        ("rollup_5m", FINE_MS, retention.fine_days, "fine_pruned_ms", DAY_MS),
        ("rollup_1h", HOUR_MS, retention.rollup_days, "hourly_pruned_ms", 7 * DAY_MS),
    ):
        cutoff = (ref - int(days * DAY_MS)) // HOUR_MS * HOUR_MS
        lo = meta_get(conn, key)
        lo = oldest // HOUR_MS * HOUR_MS if lo is None else lo
        if lo < cutoff:
            hi = min(cutoff, lo + chunk)
            conn.executemany(
                f"DELETE FROM {table} WHERE ap_id = ? AND bucket >= ? AND bucket < ?",
                [(ap, lo // bucket_ms, hi // bucket_ms) for ap in ap_ids],
            )
            meta_set(conn, key, hi)
            return True
    return False
