"""SQLite connections for the embedded store, shared safely between threads and processes.

Thread model: a small pool of connections, one per *concurrently active* caller. A
thread borrows a connection for the length of one store call and gives it back, so FastAPI's
worker threads read in parallel (SQLite releases the GIL while it steps a query, and WAL
lets readers run beside a writer) while no connection is ever used by two threads at
once. A pool rather than ``threading.local`` because thread-pool threads come and go: a
per-thread connection would outlive its thread until ``close()``; a pooled one is reused.

Process model: WAL journal so the collector process writes while the API process reads;
``busy_timeout`` so a second writer waits for the write lock instead of failing at once;
``synchronous=NORMAL`` because in WAL mode it stays consistent on power loss (the last
transactions may be lost, never corrupted) at a fraction of the fsyncs of FULL.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import StoreError

BUSY_TIMEOUT_MS = 10_000


def connect(path: Path) -> sqlite3.Connection:
    """Open one connection in autocommit mode; transactions are begun explicitly.

    Autocommit (``isolation_level=None``) so the store itself says ``BEGIN IMMEDIATE``
    before writing: taking the write lock up front is what makes ``busy_timeout`` apply.
    A deferred transaction that upgrades from read to write can get SQLITE_BUSY at once,
    with no waiting, when another process wrote in between.
    """
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,  # the pool hands it to one thread at a time
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -32000")  # KiB: keeps the upper B-tree levels hot
    conn.execute("PRAGMA temp_store = MEMORY")
    # Every batch rewrites the newest leaf page of each series it touches; checkpointing
    # every ~40 MB instead of every 4 MB copies each such page back once per several
    # batches instead of once per batch. The size limit trims the WAL after a burst.
    conn.execute("PRAGMA wal_autocheckpoint = 10000")
    conn.execute("PRAGMA journal_size_limit = 67108864")
    return conn


class ConnectionPool:
    """Connections borrowed per call; created on demand, never more than callers at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"metric store {self.path} is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = connect(self.path)
            except sqlite3.Error as exc:
                raise StoreError(
                    f"cannot open metric store {self.path}: {plain_message(exc)}"
                ) from exc
        try:
            yield conn
        finally:
            with self._lock:
                give_back = not self._closed
                if give_back:
                    self._idle.append(conn)
            if not give_back:
                conn.close()

    def close(self) -> None:
        """Close idle connections now; ones in use close when their call returns."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def plain_message(exc: sqlite3.Error) -> str:
    """Say what went wrong in words an operator can act on, not SQLite's error codes."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (
            f"the store stayed locked by another writer for more than "
            f"{BUSY_TIMEOUT_MS // 1000} s ({text})"
        )
    if "full" in text:
        return f"the disk holding the store is full ({text})"
    if "readonly" in text or "read-only" in text:
        return f"the store file is read-only ({text})"
    if "malformed" in text or "not a database" in text:
        return f"the store file is damaged or not a citywifi store ({text})"
    return text
