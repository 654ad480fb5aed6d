"""The embedded store's rollups, retention and schema evolution, checked against a plain
Python computation over the same samples (seeded random data: rollup answers must equal
raw answers for any window, whatever mix of rolled-up, dirty and raw hours it spans)."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import timeseries.embedded
import timeseries.embedded_schema
from timeseries import Aggregate, Sample, StoreError
from timeseries.embedded import DB_FILENAME, EmbeddedStore, Retention, open_embedded
from timeseries.port import GROUP_BY, GroupBy
from timeseries.vocabulary import AP_METRICS

HOUR = 3600.0
T0 = 1_700_000_000.0  # 22:13:20 UTC: not on an hour, so hours and polls do not line up
REPO_ROOT = Path(__file__).resolve().parents[2]


def sql(path: Path, query: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path / DB_FILENAME)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


@dataclass
class Reference:
    """What the store should answer, computed the obvious way from the samples written."""

    rows: dict[tuple[str, int], tuple[dict[str, str], dict[str, float]]] = field(
        default_factory=dict
    )

    def add(self, samples: Iterable[Sample]) -> None:
        for s in samples:
            key = (s.tags["ap"], round(s.ts * 1000))
            old = self.rows.get(key)
            fields = {**(old[1] if old else {}), **s.fields}
            self.rows[key] = (dict(s.tags), fields)

    def aggregate(self, start: float, end: float, by: GroupBy) -> list[Aggregate]:
        groups: dict[str, list[tuple[str, dict[str, float]]]] = {}
        lo, hi = round(start * 1000), round(end * 1000)
        for (ap, ts), (tags, fields) in self.rows.items():
            if lo <= ts < hi and tags.get(by, ""):
                groups.setdefault(tags[by], []).append((ap, fields))
        out = []
        for key in sorted(groups):
            rows = groups[key]

            def col(name: str, rows: list[tuple[str, dict[str, float]]] = rows) -> list[float]:
                return [f[name] for _, f in rows if name in f]

            clients, sessions = col("clients"), col("hotspot_sessions")
            out.append(
                Aggregate(
                    key=key,
                    aps=len({ap for ap, _ in rows}),
                    polls=len(col("reachable")),
                    polls_ok=sum(1 for v in col("reachable") if v == 1),
                    rx_bytes=sum(col("rx_bytes_delta")) if col("rx_bytes_delta") else None,
                    tx_bytes=sum(col("tx_bytes_delta")) if col("tx_bytes_delta") else None,
                    clients_max=max(clients) if clients else None,
                    clients_mean=sum(clients) / len(clients) if clients else None,
                    sessions_max=max(sessions) if sessions else None,
                    sessions_mean=sum(sessions) / len(sessions) if sessions else None,
                    clients_samples=len(clients),
                )
            )
        return out

    def series(
        self, ap: str, metric: str, start: float, end: float, step: float
    ) -> list[float | None]:
        lo, hi, st = round(start * 1000), round(end * 1000), round(step * 1000)
        buckets: dict[int, list[float]] = {}
        for (name, ts), (_tags, fields) in self.rows.items():
            if name == ap and lo <= ts < hi and metric in fields:
                buckets.setdefault((ts - lo) // st, []).append(fields[metric])
        count = -((lo - hi) // st)
        return [sum(b) / len(b) if (b := buckets.get(k)) else None for k in range(count)]


def make_samples(rnd: random.Random, aps: int, start: float, minutes: int) -> list[Sample]:
    """Polls of several APs, partners and districts, some down, some fields missing, one AP
    moving site (and partner) midway, sub-second poll times."""
    out = []
    for m in range(minutes):
        for i in range(aps):
            moved = i == 0 and m > minutes // 2
            tags = {
                "ap": f"ap-{i}",
                "site": f"site-{i // 2}" if not moved else "site-new",
                "district": f"d{i % 3}",
                "partner": "" if i % 4 == 3 else f"p{i % 2}" if not moved else "p9",
                "profile": "generic",
            }
            ts = start + 60 * m + rnd.choice((0.0, 0.25, 7.0))
            if rnd.random() < 0.1:
                fields = {"reachable": 0.0}
            else:
                fields = {
                    "reachable": 1.0,
                    "clients": float(rnd.randint(0, 40)),
                    "rx_bytes_delta": float(rnd.randint(0, 10**6)),
                    "tx_bytes_delta": float(rnd.randint(0, 10**5)),
                    "cpu_pct": rnd.random() * 100,
                }
                if i % 2:
                    fields["hotspot_sessions"] = float(rnd.randint(0, 9))
            out.append(Sample("ap", tags, fields, ts))
    return out


def assert_same(got: list[Aggregate], want: list[Aggregate]) -> None:
    assert [a.key for a in got] == [a.key for a in want]
    for g, w in zip(got, want, strict=True):
        assert (g.aps, g.polls, g.polls_ok, g.rx_bytes, g.tx_bytes) == (
            w.aps,
            w.polls,
            w.polls_ok,
            w.rx_bytes,
            w.tx_bytes,
        ), g.key
        assert (g.clients_max, g.sessions_max) == (w.clients_max, w.sessions_max)
        for got_mean, want_mean in (
            (g.clients_mean, w.clients_mean),
            (g.sessions_mean, w.sessions_mean),
        ):
            assert (got_mean is None) == (want_mean is None)
            if want_mean is not None:
                assert got_mean == pytest.approx(want_mean, rel=1e-12)


def random_window(rnd: random.Random, lo: float, hi: float) -> tuple[float, float]:
    """Windows of every shape: aligned to hours or 5 minutes, or to nothing at all."""
    a, b = sorted(rnd.uniform(lo, hi) for _ in range(2))
    grid = rnd.choice((HOUR, 300.0, 0.001))
    return (a // grid * grid, b // grid * grid + grid)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Reference]:
    """Ten hours of 6 APs, fully compacted, then late and replayed writes that leave
    some hours dirty (raw rows newer than their rollups)."""
    rnd = random.Random(7)
    path = tmp_path_factory.mktemp("rollups")
    ref = Reference()
    samples = make_samples(rnd, 6, T0, 600)
    with EmbeddedStore(path) as store:
        for k in range(0, len(samples), 90):
            store.write(samples[k : k + 90])
            ref.add(samples[k : k + 90])
        while store.compact():
            pass
        late = [s for s in make_samples(random.Random(8), 6, T0 + 2 * HOUR, 30)]
        store.write(late)  # rewrites an already rolled-up hour: it turns dirty
        ref.add(late)
        store.write(samples[:50])  # a replay: nothing may count twice
    assert sql(path, "SELECT count(*) FROM dirty")[0][0] > 0
    assert sql(path, "SELECT count(*) FROM rollup_1h")[0][0] > 0
    return path, ref


def test_rollup_answers_equal_raw_answers_for_random_windows(
    filled: tuple[Path, Reference],
) -> None:
    path, ref = filled
    rnd = random.Random(11)
    with EmbeddedStore(path) as store:
        for _ in range(60):
            start, end = random_window(rnd, T0 - 600, T0 + 10.5 * HOUR)
            by = rnd.choice(GROUP_BY)
            want = ref.aggregate(start, end, by)
            assert_same(store.aggregate(start, end, by), want)
            if want:
                keys = [want[0].key, "nobody"]
                assert_same(store.aggregate(start, end, by, keys), want[:1])


def test_series_from_rollups_equals_the_mean_of_raw_points(
    filled: tuple[Path, Reference],
) -> None:
    path, ref = filled
    rnd = random.Random(12)
    with EmbeddedStore(path) as store:
        for _ in range(40):
            step = rnd.choice((300.0, 600.0, HOUR, 2 * HOUR, 90.0))
            grid = HOUR if step % HOUR == 0 else 300.0
            start = (T0 + rnd.uniform(-HOUR, 9 * HOUR)) // grid * grid
            end = start + step * rnd.randint(1, 12)
            ap, metric = f"ap-{rnd.randrange(6)}", rnd.choice(("clients", "cpu_pct"))
            got = [p.value for p in store.series(ap, metric, start, end, step)]
            want = ref.series(ap, metric, start, end, step)
            assert [g is None for g in got] == [w is None for w in want]
            assert [g for g in got if g is not None] == pytest.approx(
                [w for w in want if w is not None], rel=1e-12
            )


def test_the_whole_range_grouped_by_partner(filled: tuple[Path, Reference]) -> None:
    path, ref = filled
    with EmbeddedStore(path) as store:
        got = store.aggregate(T0 - HOUR, T0 + 11 * HOUR, "partner")
        assert [a.key for a in got] == ["p0", "p1", "p9"]  # "" (unsponsored) is no group
        assert_same(got, ref.aggregate(T0 - HOUR, T0 + 11 * HOUR, "partner"))


def assert_hours_match(store: EmbeddedStore, ref: Reference, start: float, end: float) -> None:
    """hourly() over whole hours equals the reference aggregate of each hour, per group."""
    for by in GROUP_BY:
        got = {(b.key, b.hour): b for b in store.hourly(start, end, by)}
        want = {
            (a.key, hour): a
            for hour in range(int(start), int(end), int(HOUR))
            for a in ref.aggregate(hour, hour + HOUR, by)
            if a.polls or a.clients_max is not None or a.rx_bytes is not None
        }
        assert sorted(got) == sorted(want), by
        for cell, a in want.items():
            b = got[cell]
            assert (b.polls, b.polls_ok, b.rx_bytes, b.tx_bytes, b.clients_max) == (
                a.polls,
                a.polls_ok,
                a.rx_bytes,
                a.tx_bytes,
                a.clients_max,
            ), (by, cell)
            if a.clients_mean is None:
                assert b.clients_mean is None, (by, cell)
            else:
                assert b.clients_mean == pytest.approx(a.clients_mean, rel=1e-12), (by, cell)


def test_hourly_from_rolled_up_and_dirty_hours_equals_raw(
    filled: tuple[Path, Reference],
) -> None:
    path, ref = filled
    with EmbeddedStore(path) as store:
        start = (T0 // HOUR - 1) * HOUR
        assert_hours_match(store, ref, start, start + 12 * HOUR)
        assert_hours_match(store, ref, start + 3 * HOUR, start + 4 * HOUR)  # a dirty hour


# -- retention -----------------------------------------------------------------------------


def test_retention_deletes_old_raw_rows_and_old_periods_answer_from_rollups(
    tmp_path: Path,
) -> None:
    rnd = random.Random(3)
    ref = Reference()
    day = 24 * HOUR
    start = (T0 // HOUR) * HOUR
    url = f"embedded://{tmp_path}?raw_days=1&fine_days=2&rollup_days=3"
    with open_embedded(url) as store:
        assert store.retention == Retention(raw_days=1, fine_days=2, rollup_days=3)
        for hour in range(4 * 24):  # four days, 2 APs, one poll every 10 minutes
            batch = [
                s for s in make_samples(rnd, 2, start + hour * HOUR, 6) if round(s.ts) % 600 < 60
            ]
            store.write(batch)
            ref.add(batch)
        while store.prune(now=start + 10 * day):
            pass
        end = start + 4 * day
        oldest_raw = sql(tmp_path, "SELECT min(ts) FROM ap_raw")[0][0]
        assert isinstance(oldest_raw, int)
        assert oldest_raw >= (end - 1 * day - HOUR) * 1000
        fine = sql(tmp_path, "SELECT min(bucket) FROM rollup_5m")[0][0]
        assert isinstance(fine, int) and fine * 300 >= end - 2 * day - 2 * HOUR
        hourly = sql(tmp_path, "SELECT min(bucket) FROM rollup_1h")[0][0]
        assert isinstance(hourly, int) and hourly * 3600 >= end - 3 * day - 2 * HOUR

        # day 3 (raw gone, 5-minute and hourly rollups kept): exact at 5-minute edges
        lo, hi = start + 2 * day + 300, start + 2.9 * day - 600
        assert_same(store.aggregate(lo, hi, "ap"), ref.aggregate(lo, hi, "ap"))
        got = [p.value for p in store.series("ap-1", "clients", lo, hi, 1800)]
        assert got == ref.series("ap-1", "clients", lo, hi, 1800)
        # day 2 (only hourly rollups kept): hourly windows still answer
        lo, hi = start + 1 * day + HOUR, start + 1.5 * day
        assert_same(store.aggregate(lo, hi, "district"), ref.aggregate(lo, hi, "district"))
        got = [p.value for p in store.series("ap-0", "clients", lo, hi, HOUR)]
        assert got == ref.series("ap-0", "clients", lo, hi, HOUR)
        assert store.latest()["ap-1"].times["reachable"] >= end - HOUR
        # hourly() past raw retention answers from the hourly rollups
        assert_hours_match(store, ref, start + 1 * day, start + 2 * day)

        # a late sample into a period whose raw rows are gone is added to the rollups
        late_ts = start + 2 * day + 1234
        before = store.aggregate(start + 2 * day, start + 2 * day + HOUR, "ap", ["ap-0"])[0]
        store.write([Sample("ap", {"ap": "ap-0"}, {"reachable": 1.0, "clients": 99.0}, late_ts)])
        store.compact()
        after = store.aggregate(start + 2 * day, start + 2 * day + HOUR, "ap", ["ap-0"])[0]
        assert (after.polls, after.clients_max) == (before.polls + 1, 99.0)


def test_retention_runs_by_itself_on_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_embedded(f"embedded://{tmp_path}?raw_days=0.5") as store:
        old = [Sample("ap", {"ap": "a"}, {"reachable": 1.0}, T0 + 60 * k) for k in range(10)]
        store.write(old)
        store.write([Sample("ap", {"ap": "a"}, {"reachable": 1.0}, T0 + 2 * 86400)])
        assert sql(tmp_path, "SELECT count(*) FROM ap_raw") == [(11,)]  # within the minute
        monkeypatch.setattr(timeseries.embedded, "PRUNE_INTERVAL_S", 0.0)
        store.write([Sample("ap", {"ap": "a"}, {"reachable": 1.0}, T0 + 2 * 86400 + 60)])
        assert sql(tmp_path, "SELECT count(*) FROM ap_raw") == [(2,)]
        (agg,) = store.aggregate(T0 - HOUR, T0 + 3 * 86400)
        assert agg.polls == 12


@pytest.mark.parametrize("query", ["raw_days=0", "raw_days=x", "nosuch=1"])
def test_bad_retention_options_are_refused(tmp_path: Path, query: str) -> None:
    with pytest.raises(StoreError):
        open_embedded(f"embedded://{tmp_path}?{query}")


# -- schema --------------------------------------------------------------------------------


def test_a_new_vocabulary_metric_gets_a_column_on_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmbeddedStore(tmp_path) as store:
        store.write([Sample("ap", {"ap": "a"}, {"clients": 1.0}, T0)])
    grown = {**AP_METRICS, "battery_pct": AP_METRICS["cpu_pct"]}
    monkeypatch.setattr(timeseries.embedded_schema, "AP_METRICS", grown)
    with EmbeddedStore(tmp_path) as store:
        columns = [r[1] for r in sql(tmp_path, "PRAGMA table_info(ap_raw)")]
        assert "m_battery_pct" in columns
        store.write([Sample("ap", {"ap": "a"}, {"battery_pct": 50.0}, T0 + 60)])
        assert dict(store.latest()["a"].values) == {"clients": 1.0, "battery_pct": 50.0}
        assert [p.value for p in store.series("a", "battery_pct", T0, T0 + 120, 60)] == [
            None,
            50.0,
        ]


def test_an_unknown_field_becomes_a_column_seen_by_other_processes(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path) as reader, EmbeddedStore(tmp_path) as writer:
        writer.write([Sample("ap", {"ap": "a"}, {"fan_rpm": 1200.0, "clients": 2.0}, T0)])
        assert reader.latest()["a"].values["fan_rpm"] == 1200.0
        assert [p.value for p in reader.series("a", "fan_rpm", T0, T0 + 60, 60)] == [1200.0]
        with pytest.raises(StoreError, match="bad field name"):
            writer.write([Sample("ap", {"ap": "a"}, {'x"; DROP': 1.0}, T0)])


def test_an_old_narrow_store_is_refused_with_a_plain_error(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_FILENAME)
    conn.execute("CREATE TABLE series (id INTEGER PRIMARY KEY)")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with pytest.raises(StoreError, match=r"old one-row-per-value layout.*delete"):
        EmbeddedStore(tmp_path)


def test_other_measurements_are_stored_but_not_in_ap_reads(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path) as store:
        store.write([Sample("citywifi_check", {"probe": "x"}, {"marker": 5.0}, T0)])
        assert store.latest() == {}
        assert store.aggregate(T0 - 60, T0 + 60) == []
    assert sql(tmp_path, "SELECT field, value FROM points") == [("marker", 5.0)]


# -- processes -----------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys

    import timeseries.embedded
    from timeseries import Sample, open_store

    timeseries.embedded.COMPACT_QUIET_S = 0.0  # roll closed hours up at once
    url, rounds = sys.argv[1], int(sys.argv[2])
    store = open_store(url)
    for k in range(rounds):  # 5-minute polls: crosses many hours, so compaction runs
        store.write([
            Sample("ap", {"ap": f"ap-{i}", "partner": "p"},
                   {"reachable": 1.0, "rx_bytes_delta": 10.0, "clients": float(k % 7)},
                   1_700_000_000 + 300 * k)
            for i in range(40)
        ])
    store.close()
    """
)


def test_a_writer_process_compacts_while_this_one_aggregates(tmp_path: Path) -> None:
    url = "embedded://" + str(tmp_path)
    rounds = 400
    with open_embedded(url) as store:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(rounds)],
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen: list[int] = []
        deadline = time.monotonic() + 60
        while writer.poll() is None and time.monotonic() < deadline:
            result = store.aggregate(T0, T0 + 300 * rounds, "partner")
            if result:
                agg = result[0]
                assert agg.rx_bytes == 10.0 * agg.polls  # never half a batch, never twice
                seen.append(agg.polls)
        _out, err = writer.communicate(timeout=30)
        assert writer.returncode == 0, err
        assert seen == sorted(seen)
        (agg,) = store.aggregate(T0, T0 + 300 * rounds, "partner")
        assert (agg.aps, agg.polls, agg.rx_bytes) == (40, 40 * rounds, 400.0 * rounds)
    assert sql(tmp_path, "SELECT count(*) FROM rollup_1h")[0][0] > 0
