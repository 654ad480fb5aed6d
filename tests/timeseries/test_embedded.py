"""The embedded backend beyond the contract: URLs, files, processes, SQLite failures."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import timeseries._sqlite
from timeseries import BACKENDS, Sample, StoreError, open_store
from timeseries.embedded import DB_FILENAME, SCHEMA_VERSION, EmbeddedStore, open_embedded

T0 = 1_700_000_000.0
REPO_ROOT = Path(__file__).resolve().parents[2]


def ap_sample(ap: str, ts: float, **fields: float) -> Sample:
    return Sample("ap", {"ap": ap, "site": "s1"}, fields, ts)


def sql(store_dir: Path, query: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(store_dir / DB_FILENAME)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


# -- URLs and the registry -----------------------------------------------------------------


def test_open_store_finds_the_embedded_backend(tmp_path: Path) -> None:
    assert "embedded" in BACKENDS
    store = open_store("embedded://" + str(tmp_path))
    try:
        assert isinstance(store, EmbeddedStore)
        assert store.path == tmp_path / DB_FILENAME
    finally:
        store.close()


def test_open_store_rejects_an_unknown_scheme(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unknown metric store URL scheme 'nosuch'"):
        open_store(f"nosuch://{tmp_path}")


@pytest.mark.parametrize("url", ["embedded://relative/dir", "embedded:relative", "embedded://"])
def test_an_embedded_url_needs_an_absolute_directory(url: str) -> None:
    with pytest.raises(StoreError, match="absolute directory"):
        open_embedded(url)


def test_a_percent_encoded_path_is_decoded(tmp_path: Path) -> None:
    with open_embedded("embedded://" + str(tmp_path) + "/with%20space") as s:
        assert s.path == tmp_path / "with space" / DB_FILENAME


# -- files ---------------------------------------------------------------------------------


def test_opening_creates_the_directory_and_a_wal_database(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    with open_embedded("embedded://" + str(directory)) as store:
        store.write([ap_sample("ap-1", T0, clients=1)])
        assert (directory / DB_FILENAME).is_file()
        assert sql(directory, "PRAGMA journal_mode") == [("wal",)]
        assert sql(directory, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        assert sql(directory, "SELECT measurement, tags, site FROM tagsets") == [
            ("ap", '{"ap":"ap-1","site":"s1"}', "s1")
        ]
        assert sql(directory, "SELECT ts, m_clients, m_reachable FROM ap_raw") == [
            (int(T0 * 1000), 1.0, None)
        ]


def test_data_survives_closing_and_reopening(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path) as store:
        store.write([ap_sample("ap-1", T0, clients=1)])
    with EmbeddedStore(tmp_path) as store:
        assert store.latest()["ap-1"].values["clients"] == 1.0
        store.write([ap_sample("ap-1", T0 + 60, clients=2)])  # known series, fresh id cache
        assert [p.value for p in store.series("ap-1", "clients", T0, T0 + 120, 60)] == [1, 2]


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.latest()


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    EmbeddedStore(tmp_path).close()
    conn = sqlite3.connect(tmp_path / DB_FILENAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this citywifi"):
        EmbeddedStore(tmp_path)


def test_a_file_that_is_not_a_database_is_refused_plainly(tmp_path: Path) -> None:
    (tmp_path / DB_FILENAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged or not a citywifi store"):
        EmbeddedStore(tmp_path)


def test_an_uncreatable_directory_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot create"):
        EmbeddedStore(tmp_path / "file" / "sub")


# -- failures inside SQLite ----------------------------------------------------------------


def test_a_batch_failing_midway_in_sqlite_leaves_nothing(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path) as store:
        store.write([ap_sample("ap-0", T0, clients=1)])
        # a trigger makes SQLite itself fail after earlier rows of the batch were inserted
        conn = sqlite3.connect(store.path)
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON ap_raw WHEN NEW.m_clients = 666 "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
        conn.commit()
        conn.close()
        batch = [ap_sample(f"ap-{i}", T0 + 60, clients=i) for i in range(5)]
        batch.append(ap_sample("ap-new", T0 + 60, clients=666))

        with pytest.raises(StoreError, match=r"injected failure.*nothing of this batch"):
            store.write(batch)

        assert set(store.latest()) == {"ap-0"}
        assert store.latest()["ap-0"].times["clients"] == T0
        assert sql(tmp_path, "SELECT count(*) FROM ap_raw") == [(1,)]
        # the store stays usable, including the series registered for the failed batch
        store.write([ap_sample("ap-new", T0 + 120, clients=2)])
        assert store.latest()["ap-new"].values["clients"] == 2.0


def test_a_writer_locked_out_beyond_the_timeout_gets_a_plain_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timeseries._sqlite, "BUSY_TIMEOUT_MS", 200)
    with EmbeddedStore(tmp_path) as store:
        store.write([ap_sample("ap-1", T0, clients=1)])
        other = sqlite3.connect(store.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        try:
            with pytest.raises(StoreError, match="locked by another writer"):
                store.write([ap_sample("ap-1", T0 + 60, clients=2)])
            # readers are not blocked by a writer in WAL mode
            assert store.latest()["ap-1"].values["clients"] == 1.0
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.write([ap_sample("ap-1", T0 + 60, clients=2)])
        assert store.latest()["ap-1"].values["clients"] == 2.0


# -- separate processes --------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    import time

    from timeseries import Sample, open_store

    url, prefix, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = open_store(url)
    for k in range(rounds):
        time.sleep(0.002)  # spread the writes so the reader surely overlaps them
        store.write([
            Sample("ap", {"ap": f"{prefix}-{i}", "site": "s"}, {"clients": k, "reachable": 1},
                   1_700_000_000 + 60 * k)
            for i in range(50)
        ])
    store.close()
    """
)


def start_writer(url: str, prefix: str, rounds: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, prefix, str(rounds)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_other_processes_write_while_this_one_reads(tmp_path: Path) -> None:
    """The collector and the API are separate processes on one store."""
    url = "embedded://" + str(tmp_path)
    rounds = 150
    with open_embedded(url) as store:
        writers = [start_writer(url, prefix, rounds) for prefix in ("a", "b")]
        seen_rounds: list[int] = []
        deadline = time.monotonic() + 60
        while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
            latest = store.latest()
            newest = max((v.values["clients"] for v in latest.values()), default=-1)
            seen_rounds.append(int(newest))
            store.series("a-7", "clients", T0, T0 + 60 * rounds, 60)
        for w in writers:
            _out, err = w.communicate(timeout=30)
            assert w.returncode == 0, err

        assert seen_rounds == sorted(seen_rounds)  # this reader never goes back in time
        assert any(0 <= r < rounds - 1 for r in seen_rounds)  # it saw writes in progress
        latest = store.latest()
        assert len(latest) == 100
        assert all(v.values["clients"] == rounds - 1 for v in latest.values())
        points = store.series("b-49", "clients", T0, T0 + 60 * rounds, 60)
        assert [p.value for p in points] == [float(k) for k in range(rounds)]
