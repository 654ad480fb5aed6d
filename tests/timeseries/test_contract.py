"""The MetricStore contract: what every backend must do, tested only through the port.

Runs once per backend listed in ``conftest.BACKEND_URLS``. Nothing here may look behind
the port (files, SQL, HTTP): backend-specific checks live in their own modules.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections import defaultdict
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.errors import StoreRejected
from timeseries import GROUP_BY, Aggregate, GroupBy, HourBucket, MetricStore, Point, Sample

T0 = 1_700_000_000.0  # a round minute, UTC


def ap_sample(ap: str, ts: float, site: str = "site-1", **fields: float) -> Sample:
    tags = {"ap": ap, "site": site, "district": "north", "partner": "", "profile": "generic"}
    return Sample("ap", tags, fields, ts)


def values(points: list[Point]) -> list[float | None]:
    return [p.value for p in points]


# -- round trip ----------------------------------------------------------------------------


def test_write_then_latest_and_series_round_trip(store: MetricStore) -> None:
    store.write(
        [
            ap_sample("ap-1", T0, reachable=1, clients=3),
            ap_sample("ap-2", T0, reachable=0),
            ap_sample("ap-1", T0 + 60, reachable=1, clients=5),
        ]
    )

    latest = store.latest()
    assert set(latest) == {"ap-1", "ap-2"}
    assert latest["ap-1"].ap == "ap-1"
    assert dict(latest["ap-1"].values) == {"reachable": 1.0, "clients": 5.0}
    assert dict(latest["ap-1"].times) == {"reachable": T0 + 60, "clients": T0 + 60}
    assert dict(latest["ap-2"].values) == {"reachable": 0.0}

    points = store.series("ap-1", "clients", T0, T0 + 120, 60)
    assert points == [Point(T0, 3.0), Point(T0 + 60, 5.0)]


def test_empty_store_reads_nothing(store: MetricStore) -> None:
    assert store.latest() == {}
    assert values(store.series("ap-1", "clients", T0, T0 + 180, 60)) == [None, None, None]


def test_empty_batch_is_a_no_op(store: MetricStore) -> None:
    store.write([])
    assert store.latest() == {}


def test_subsecond_times_survive(store: MetricStore) -> None:
    store.write([ap_sample("ap-1", T0 + 0.25, clients=1)])
    assert store.latest()["ap-1"].times["clients"] == pytest.approx(T0 + 0.25, abs=1e-3)


# -- latest --------------------------------------------------------------------------------


def test_latest_keeps_each_field_with_its_own_time(store: MetricStore) -> None:
    store.write([ap_sample("ap-1", T0, reachable=1, clients=4)])
    store.write([ap_sample("ap-1", T0 + 60, reachable=0)])  # down: no clients reading

    latest = store.latest()["ap-1"]
    assert dict(latest.values) == {"reachable": 0.0, "clients": 4.0}
    assert dict(latest.times) == {"reachable": T0 + 60, "clients": T0}


def test_latest_for_named_aps_only(store: MetricStore) -> None:
    store.write([ap_sample(f"ap-{i}", T0, reachable=1) for i in range(5)])

    assert set(store.latest(["ap-1", "ap-3", "ap-unknown"])) == {"ap-1", "ap-3"}
    assert set(store.latest({"ap-4"})) == {"ap-4"}
    assert store.latest([]) == {}


def test_latest_after_the_ap_moved_site_is_the_newest(store: MetricStore) -> None:
    store.write([ap_sample("ap-1", T0, site="old", clients=1, reachable=1)])
    store.write([ap_sample("ap-1", T0 + 60, site="new", clients=2)])

    latest = store.latest()["ap-1"]
    assert latest.values["clients"] == 2.0
    assert latest.times["clients"] == T0 + 60
    assert latest.values["reachable"] == 1.0  # only ever written under the old tags


def test_latest_ignores_other_measurements(store: MetricStore) -> None:
    store.write([Sample("collector", {"ap": "ap-9", "host": "c1"}, {"polls": 10}, T0)])
    assert store.latest() == {}


def test_an_older_replay_does_not_move_latest_back(store: MetricStore) -> None:
    store.write([ap_sample("ap-1", T0 + 60, clients=9)])
    store.write([ap_sample("ap-1", T0, clients=1)])  # spooled during an outage

    assert store.latest()["ap-1"].values["clients"] == 9.0
    assert values(store.series("ap-1", "clients", T0, T0 + 120, 60)) == [1.0, 9.0]


# -- series --------------------------------------------------------------------------------


def test_series_buckets_are_means_with_gaps_as_none(store: MetricStore) -> None:
    store.write(
        [
            ap_sample("ap-1", T0 + 10, clients=2),
            ap_sample("ap-1", T0 + 50, clients=4),  # same 60 s bucket as the one above
            ap_sample("ap-1", T0 + 180, clients=7),
            ap_sample("ap-2", T0 + 60, clients=100),  # another AP: never mixed in
        ]
    )

    points = store.series("ap-1", "clients", T0, T0 + 240, 60)
    assert [p.ts for p in points] == [T0, T0 + 60, T0 + 120, T0 + 180]
    assert values(points) == [3.0, None, None, 7.0]


def test_series_bucket_count_is_ceil_of_window_over_step(store: MetricStore) -> None:
    points = store.series("ap-1", "clients", T0, T0 + 250, 60)
    assert len(points) == math.ceil(250 / 60)
    assert points[-1].ts == T0 + 240


def test_series_excludes_points_outside_start_end(store: MetricStore) -> None:
    store.write(
        [
            ap_sample("ap-1", T0 - 1, clients=1000),  # before start
            ap_sample("ap-1", T0, clients=1),  # at start: included
            ap_sample("ap-1", T0 + 89, clients=3),  # inside the last, partial bucket
            ap_sample("ap-1", T0 + 90, clients=1000),  # at end: excluded
            ap_sample("ap-1", T0 + 100, clients=1000),  # in the last bucket but after end
        ]
    )

    assert values(store.series("ap-1", "clients", T0, T0 + 90, 60)) == [1.0, 3.0]


def test_series_start_need_not_align_with_samples(store: MetricStore) -> None:
    store.write([ap_sample("ap-1", T0 + 60 * k, clients=k) for k in range(10)])

    points = store.series("ap-1", "clients", T0 + 30, T0 + 330, 120)
    assert [p.ts for p in points] == [T0 + 30, T0 + 150, T0 + 270]
    assert values(points) == [1.5, 3.5, 5.0]  # {1,2}, {3,4}, {5} (T0+330 is excluded)


def test_series_of_a_metric_the_ap_lacks_is_all_gaps(store: MetricStore) -> None:
    store.write([ap_sample("ap-1", T0, clients=1)])
    assert values(store.series("ap-1", "rx_bps", T0, T0 + 120, 60)) == [None, None]


def test_series_spans_a_tag_change(store: MetricStore) -> None:
    store.write([ap_sample("ap-1", T0, site="old", clients=1)])
    store.write([ap_sample("ap-1", T0 + 60, site="new", clients=2)])
    assert values(store.series("ap-1", "clients", T0, T0 + 120, 60)) == [1.0, 2.0]


def test_series_with_an_empty_window_is_empty(store: MetricStore) -> None:
    assert store.series("ap-1", "clients", T0, T0, 60) == []


def test_series_rejects_a_non_positive_step(store: MetricStore) -> None:
    with pytest.raises(ValueError):
        store.series("ap-1", "clients", T0, T0 + 60, 0)


# -- idempotence ---------------------------------------------------------------------------


def test_writing_the_same_batch_again_stores_it_once(store: MetricStore) -> None:
    batch = [ap_sample("ap-1", T0, clients=0), ap_sample("ap-1", T0 + 60, clients=3)]
    store.write(batch)
    store.write(batch)
    store.write(batch[:1])

    # duplicates kept would weigh the mean of one wide bucket: (0+0+0+3+3)/5, not 1.5
    assert values(store.series("ap-1", "clients", T0, T0 + 120, 120)) == [1.5]
    assert values(store.series("ap-1", "clients", T0, T0 + 120, 60)) == [0.0, 3.0]
    assert store.latest()["ap-1"].values["clients"] == 3.0


def test_the_last_write_of_a_series_and_time_wins(store: MetricStore) -> None:
    store.write([ap_sample("ap-1", T0, clients=1)])
    store.write([ap_sample("ap-1", T0, clients=2)])
    store.write([ap_sample("ap-1", T0 + 60, clients=5), ap_sample("ap-1", T0 + 60, clients=6)])

    assert values(store.series("ap-1", "clients", T0, T0 + 120, 60)) == [2.0, 6.0]
    assert store.latest()["ap-1"].values["clients"] == 6.0


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_value_drops_only_that_field(
    store: MetricStore, bad: float, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        store.write(
            [ap_sample("ap-1", T0, clients=bad, reachable=1), ap_sample("ap-2", T0, clients=2)]
        )

    latest = store.latest()
    assert dict(latest["ap-1"].values) == {"reachable": 1.0}
    assert dict(latest["ap-2"].values) == {"clients": 2.0}
    assert any("non-finite" in r.getMessage() and "ap-1" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("bad_value", ["lots", "3", None])
def test_a_batch_with_an_invalid_sample_stores_nothing(
    store: MetricStore, bad_value: object
) -> None:
    good = [ap_sample(f"ap-{i}", T0, clients=i) for i in range(10)]
    bad = ap_sample("ap-bad", T0, clients=bad_value)  # type: ignore[arg-type]

    # StoreRejected: bad data, which the collector's spool must not retry forever
    with pytest.raises(StoreRejected, match="ap-bad"):
        store.write([*good, bad])

    assert store.latest() == {}
    assert values(store.series("ap-1", "clients", T0, T0 + 60, 60)) == [None]


def test_an_ap_sample_needs_an_ap_tag(store: MetricStore) -> None:
    with pytest.raises(StoreRejected, match="'ap' tag"):
        store.write([ap_sample("ap-1", T0, clients=1), Sample("ap", {"site": "s"}, {"x": 1}, T0)])
    assert store.latest() == {}


# -- concurrency ---------------------------------------------------------------------------


def test_threads_read_and_write_concurrently(store: MetricStore) -> None:
    """The API reads from a thread pool while the collector writes from worker threads."""
    rounds, writers = 30, 3
    errors: list[BaseException] = []
    done = threading.Event()

    def write(w: int) -> None:
        for k in range(rounds):
            store.write(
                [ap_sample(f"ap-{w}-{i}", T0 + 60 * k, clients=k, reachable=1) for i in range(20)]
            )

    def read() -> None:
        seen = 0
        while not done.is_set():
            latest = store.latest()
            assert len(latest) >= seen  # APs never disappear
            seen = len(latest)
            for point in store.series("ap-0-0", "clients", T0, T0 + 60 * rounds, 60):
                assert point.value is None or point.value == (point.ts - T0) / 60

    with ThreadPoolExecutor(max_workers=writers + 4) as pool:
        readers = [pool.submit(read) for _ in range(4)]
        for future in [pool.submit(write, w) for w in range(writers)]:
            future.result()
        done.set()
        for future in readers:
            if future.exception() is not None:
                errors.append(future.exception())  # type: ignore[arg-type]

    assert errors == []
    latest = store.latest()
    assert len(latest) == writers * 20
    assert all(v.values["clients"] == rounds - 1 for v in latest.values())
    full = store.series("ap-2-19", "clients", T0, T0 + 60 * rounds, 60)
    assert values(full) == [float(k) for k in range(rounds)]


def test_threads_writing_the_same_new_series_at_once_lose_nothing(store: MetricStore) -> None:
    """Several threads meeting a new AP in the same instant must agree on its series."""
    threads = 8
    barrier = threading.Barrier(threads)

    def write(k: int) -> None:
        barrier.wait()
        store.write([ap_sample(f"ap-{i}", T0 + 60 * k, clients=k) for i in range(10)])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(write, k) for k in range(threads)]:
            future.result()

    for i in range(10):
        points = store.series(f"ap-{i}", "clients", T0, T0 + 60 * threads, 60)
        assert values(points) == [float(k) for k in range(threads)]


# -- aggregate -----------------------------------------------------------------------------
#
# Every expectation is either written out by hand or computed by ``reference`` below, a
# plain reading of the port's definition over the very samples written; the hand-written
# cases keep the reference itself honest.

AGG_FIELDS = (
    "rx_bytes",
    "tx_bytes",
    "clients_max",
    "clients_mean",
    "sessions_max",
    "sessions_mean",
)


def fleet_sample(
    ap: str, ts: float, site: str, district: str, partner: str, **fields: float
) -> Sample:
    tags = {"ap": ap, "site": site, "district": district, "partner": partner, "profile": "x"}
    return Sample("ap", tags, fields, ts)


def reference(
    samples: list[Sample],
    start: float,
    end: float,
    by: GroupBy,
    keys: Collection[str] | None = None,
) -> list[Aggregate]:
    """The port's aggregate, computed the obvious way in Python."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        key = s.tags.get(by, "")
        if s.measurement == "ap" and start <= s.ts < end and key and (keys is None or key in keys):
            groups[key].append(s)

    def values_of(group: list[Sample], name: str) -> list[float]:
        return [s.fields[name] for s in group if name in s.fields]

    out = []
    for key in sorted(groups):
        group = groups[key]
        reach, rx, tx = (
            values_of(group, n) for n in ("reachable", "rx_bytes_delta", "tx_bytes_delta")
        )
        clients, sessions = values_of(group, "clients"), values_of(group, "hotspot_sessions")
        out.append(
            Aggregate(
                key=key,
                aps=len({s.tags["ap"] for s in group}),
                polls=len(reach),
                polls_ok=sum(1 for v in reach if v == 1),
                rx_bytes=sum(rx) if rx else None,
                tx_bytes=sum(tx) if tx else None,
                clients_max=max(clients) if clients else None,
                clients_mean=sum(clients) / len(clients) if clients else None,
                sessions_max=max(sessions) if sessions else None,
                sessions_mean=sum(sessions) / len(sessions) if sessions else None,
                clients_samples=len(clients),
            )
        )
    return out


def assert_aggregates(actual: list[Aggregate], expected: list[Aggregate]) -> None:
    """Counts and keys exactly; float fields to rounding (servers add in their own order)."""
    assert [a.key for a in actual] == [e.key for e in expected]
    for a, e in zip(actual, expected, strict=True):
        assert (a.key, a.aps, a.polls, a.polls_ok) == (e.key, e.aps, e.polls, e.polls_ok)
        for name in AGG_FIELDS:
            got, want = getattr(a, name), getattr(e, name)
            assert (got is None) == (want is None), (a.key, name, got, want)
            if want is not None:
                assert got == pytest.approx(want, rel=1e-12), (a.key, name)


def small_fleet() -> list[Sample]:
    """Four APs on three sites, two districts, one sponsored partner and one unsponsored."""
    s = fleet_sample
    return [
        # ap-1, site-a, north, partner p1: up twice, once down
        s("ap-1", T0, "site-a", "north", "p1", reachable=1, clients=2, rx_bytes_delta=100,
          tx_bytes_delta=10, hotspot_sessions=1),
        s("ap-1", T0 + 60, "site-a", "north", "p1", reachable=1, clients=4, rx_bytes_delta=300,
          tx_bytes_delta=30, hotspot_sessions=3),
        s("ap-1", T0 + 120, "site-a", "north", "p1", reachable=0),
        # ap-2, site-a, north, partner p1: one poll
        s("ap-2", T0 + 30, "site-a", "north", "p1", reachable=1, clients=9, rx_bytes_delta=5,
          tx_bytes_delta=0),
        # ap-3, site-b, south, partner p2
        s("ap-3", T0, "site-b", "south", "p2", reachable=1, clients=1, rx_bytes_delta=7,
          tx_bytes_delta=70, hotspot_sessions=0),
        # ap-4, site-c, south, no partner
        s("ap-4", T0, "site-c", "south", "", reachable=1, clients=6, rx_bytes_delta=1000,
          tx_bytes_delta=2000),
    ]  # fmt: skip


def test_aggregate_by_partner_written_out(store: MetricStore) -> None:
    store.write(small_fleet())

    got = store.aggregate(T0, T0 + 3600, by="partner")

    assert got == [
        Aggregate("p1", aps=2, polls=4, polls_ok=3, rx_bytes=405.0, tx_bytes=40.0,
                  clients_max=9.0, clients_mean=5.0, sessions_max=3.0, sessions_mean=2.0,
                  clients_samples=3),
        Aggregate("p2", aps=1, polls=1, polls_ok=1, rx_bytes=7.0, tx_bytes=70.0,
                  clients_max=1.0, clients_mean=1.0, sessions_max=0.0, sessions_mean=0.0,
                  clients_samples=1),
    ]  # fmt: skip
    assert got[0].availability == 0.75


def test_aggregate_by_ap_written_out(store: MetricStore) -> None:
    store.write(small_fleet())

    got = {a.key: a for a in store.aggregate(T0, T0 + 3600)}  # by="ap" is the default

    assert sorted(got) == ["ap-1", "ap-2", "ap-3", "ap-4"]
    assert got["ap-1"] == Aggregate(
        "ap-1", aps=1, polls=3, polls_ok=2, rx_bytes=400.0, tx_bytes=40.0,
        clients_max=4.0, clients_mean=3.0, sessions_max=3.0, sessions_mean=2.0,
        clients_samples=2,
    )  # fmt: skip
    # ap-2 and ap-4 never reported hotspot sessions: None, not a made-up 0
    assert (got["ap-2"].sessions_max, got["ap-2"].sessions_mean) == (None, None)
    assert got["ap-4"].rx_bytes == 1000.0


@pytest.mark.parametrize("by", GROUP_BY)
def test_aggregate_groups_by_each_tag(store: MetricStore, by: GroupBy) -> None:
    samples = small_fleet()
    store.write(samples)

    got = store.aggregate(T0, T0 + 3600, by=by)

    assert_aggregates(got, reference(samples, T0, T0 + 3600, by))
    assert [a.key for a in got] == sorted(a.key for a in got)


def test_aggregate_keys_filter(store: MetricStore) -> None:
    samples = small_fleet()
    store.write(samples)

    got = store.aggregate(T0, T0 + 3600, by="site", keys=["site-c", "site-a", "nowhere"])
    assert [a.key for a in got] == ["site-a", "site-c"]
    assert_aggregates(got, reference(samples, T0, T0 + 3600, "site", {"site-a", "site-c"}))

    assert [a.key for a in store.aggregate(T0, T0 + 3600, "ap", {"ap-3"})] == ["ap-3"]
    assert store.aggregate(T0, T0 + 3600, "ap", []) == []
    assert store.aggregate(T0, T0 + 3600, "partner", ["nobody"]) == []


def test_aggregate_keys_are_matched_literally(store: MetricStore) -> None:
    """Keys are ids, not patterns: quotes, dots and regex signs match only themselves."""
    odd = ['ap."1"', "ap.*", "ap|x", "ap\\y", "ap'z"]
    store.write([fleet_sample(k, T0, "s", "d", "p", reachable=1) for k in [*odd, "apX1X"]])

    assert [a.key for a in store.aggregate(T0, T0 + 60, "ap", ["ap.*"])] == ["ap.*"]
    assert [a.key for a in store.aggregate(T0, T0 + 60, "ap", odd)] == sorted(odd)
    assert len(store.aggregate(T0, T0 + 60, "ap")) == len(odd) + 1


def test_aggregate_window_is_start_inclusive_end_exclusive(store: MetricStore) -> None:
    store.write(
        [
            ap_sample("ap-1", T0 - 0.001, reachable=1, rx_bytes_delta=1000),  # before: out
            ap_sample("ap-1", T0, reachable=1, rx_bytes_delta=1),  # at start: in
            ap_sample("ap-1", T0 + 30, reachable=0, rx_bytes_delta=2),
            ap_sample("ap-1", T0 + 59.999, reachable=1, rx_bytes_delta=4),  # last ms: in
            ap_sample("ap-1", T0 + 60, reachable=1, rx_bytes_delta=1000),  # at end: out
        ]
    )

    [got] = store.aggregate(T0, T0 + 60)
    assert (got.polls, got.polls_ok, got.rx_bytes) == (3, 2, 7.0)
    # the neighbouring windows see the excluded samples, each exactly once
    assert store.aggregate(T0 - 60, T0)[0].rx_bytes == 1000.0
    assert store.aggregate(T0 + 60, T0 + 120)[0].rx_bytes == 1000.0
    assert store.aggregate(T0 - 60, T0 + 120)[0].rx_bytes == 2007.0


def test_aggregate_of_an_empty_window_or_store_is_empty(store: MetricStore) -> None:
    assert store.aggregate(T0, T0 + 3600) == []
    store.write([ap_sample("ap-1", T0, reachable=1)])
    assert store.aggregate(T0 + 60, T0 + 3600) == []
    assert store.aggregate(T0, T0) == []


def test_aggregate_none_is_no_sample_and_zero_is_zero(store: MetricStore) -> None:
    store.write(
        [
            ap_sample("ap-down", T0, reachable=0),
            ap_sample("ap-down", T0 + 60, reachable=0),
            ap_sample("ap-idle", T0, reachable=1, clients=0, rx_bytes_delta=0, tx_bytes_delta=0),
            ap_sample("ap-cpu", T0, cpu_pct=12),  # a sample without reachable: no poll
        ]
    )

    got = {a.key: a for a in store.aggregate(T0, T0 + 3600)}
    down, idle, cpu = got["ap-down"], got["ap-idle"], got["ap-cpu"]
    assert (down.aps, down.polls, down.polls_ok, down.availability) == (1, 2, 0, 0.0)
    assert [getattr(down, n) for n in AGG_FIELDS] == [None] * len(AGG_FIELDS)
    assert (idle.rx_bytes, idle.tx_bytes, idle.clients_max, idle.clients_mean) == (0, 0, 0, 0)
    assert (idle.sessions_max, idle.sessions_mean) == (None, None)
    assert (cpu.aps, cpu.polls, cpu.polls_ok, cpu.availability) == (1, 0, 0, None)


def test_aggregate_leaves_out_samples_with_an_empty_group_tag(store: MetricStore) -> None:
    store.write(
        [
            fleet_sample("ap-1", T0, "s1", "d1", "", reachable=1, clients=5),
            fleet_sample("ap-2", T0, "s2", "d1", "acme", reachable=1, clients=1),
        ]
    )

    assert [a.key for a in store.aggregate(T0, T0 + 60, by="partner")] == ["acme"]
    assert store.aggregate(T0, T0 + 60, by="partner", keys=[""]) == []
    [district] = store.aggregate(T0, T0 + 60, by="district")
    assert (district.key, district.aps, district.clients_mean) == ("d1", 2, 3.0)


def test_aggregate_mean_is_over_samples_not_a_mean_of_ap_means(store: MetricStore) -> None:
    store.write(
        [
            *(ap_sample("ap-busy", T0 + 60 * k, clients=1, hotspot_sessions=2) for k in range(3)),
            ap_sample("ap-rare", T0, clients=9, hotspot_sessions=10),
        ]
    )

    [site] = store.aggregate(T0, T0 + 3600, by="site")
    assert site.clients_mean == 3.0  # (1+1+1+9)/4; a mean of the AP means would be 5
    assert site.sessions_mean == 4.0  # (2+2+2+10)/4, not 6
    assert (site.clients_max, site.sessions_max) == (9.0, 10.0)


def test_aggregate_availability_is_ok_polls_over_polls(store: MetricStore) -> None:
    pattern = [1, 1, 0, 1, 0, 1, 1, 1]
    store.write([ap_sample("ap-1", T0 + 60 * k, reachable=r) for k, r in enumerate(pattern)])

    [got] = store.aggregate(T0, T0 + 3600)
    assert (got.polls, got.polls_ok) == (8, 6)
    assert got.availability == 0.75


def test_aggregate_follows_an_ap_that_moved_site(store: MetricStore) -> None:
    store.write([ap_sample("ap-1", T0, site="old", reachable=1, rx_bytes_delta=1)])
    store.write([ap_sample("ap-1", T0 + 60, site="new", reachable=1, rx_bytes_delta=2)])

    [ap] = store.aggregate(T0, T0 + 3600)
    assert (ap.aps, ap.polls, ap.rx_bytes) == (1, 2, 3.0)
    by_site = {a.key: a.rx_bytes for a in store.aggregate(T0, T0 + 3600, by="site")}
    assert by_site == {"new": 2.0, "old": 1.0}


def test_aggregate_counts_a_replayed_batch_once(store: MetricStore) -> None:
    batch = [ap_sample("ap-1", T0 + 60 * k, reachable=1, rx_bytes_delta=10) for k in range(5)]
    store.write(batch)
    store.write(batch[2:])  # a spool replay after a timeout that had in fact succeeded

    [got] = store.aggregate(T0, T0 + 3600)
    assert (got.polls, got.rx_bytes) == (5, 50.0)


def test_aggregate_ignores_other_measurements(store: MetricStore) -> None:
    store.write([Sample("collector", {"ap": "ap-9", "site": "s"}, {"reachable": 1}, T0)])
    assert store.aggregate(T0, T0 + 60) == []


def mini_month(aps: int = 10, days: int = 2, step: float = 300.0) -> list[Sample]:
    """A small, realistic fleet: polls every ``step`` s, some down, uneven traffic."""
    rng = random.Random(20231114)
    samples = []
    for i in range(aps):
        site, district = f"site-{i // 2}", f"district-{i % 3}"
        partner = "" if i % 4 == 3 else f"partner-{i % 2}"
        for k in range(int(days * 86400 / step)):
            ts = T0 + k * step + (i % 5)  # APs polled a few seconds apart
            if rng.random() < 0.03:
                samples.append(
                    fleet_sample(f"ap-{i:02d}", ts, site, district, partner, reachable=0)
                )
                continue
            fields = {
                "reachable": 1.0,
                "clients": float(rng.randrange(0, 40)),
                "rx_bytes_delta": float(rng.randrange(0, 50_000_000)),
                "tx_bytes_delta": float(rng.randrange(0, 10_000_000)),
                "cpu_pct": rng.random() * 100,
            }
            if i % 3:  # only some APs run a hotspot
                fields["hotspot_sessions"] = float(rng.randrange(0, 25))
            samples.append(fleet_sample(f"ap-{i:02d}", ts, site, district, partner, **fields))
    return samples


def test_aggregate_of_a_mini_month_matches_python(store: MetricStore) -> None:
    samples = mini_month()
    for first in range(0, len(samples), 2000):
        store.write(samples[first : first + 2000])

    whole = (T0, T0 + 2 * 86400)
    cut = (T0 + 3 * 3600 + 2, T0 + 29 * 3600 + 1)  # boundaries between polls of some APs
    for by in GROUP_BY:
        for start, end in (whole, cut):
            assert_aggregates(store.aggregate(start, end, by), reference(samples, start, end, by))
    keys = {"partner-1", "site-3", "ap-07"}
    for by in GROUP_BY:
        want = reference(samples, *cut, by, keys)
        assert_aggregates(store.aggregate(*cut, by, keys), want)


# -- hourly --------------------------------------------------------------------------------

HOUR = 3600.0
H0 = 1_700_002_800.0  # 23:00:00 UTC, the first whole hour after T0


def test_hourly_buckets_written_out(store: MetricStore) -> None:
    s = fleet_sample
    store.write(
        [
            s("ap-1", H0 - 0.001, "site-a", "north", "p1", reachable=1, rx_bytes_delta=1e6),
            # hour 0: the first and the last millisecond of the hour both belong to it
            s("ap-1", H0, "site-a", "north", "p1", reachable=1, clients=2, rx_bytes_delta=100,
              tx_bytes_delta=10),
            s("ap-2", H0 + 1800, "site-a", "north", "p1", reachable=1, clients=6,
              rx_bytes_delta=5, tx_bytes_delta=0),
            s("ap-1", H0 + HOUR - 0.001, "site-a", "north", "p1", reachable=0),
            # hour 1: starts at its first millisecond
            s("ap-1", H0 + HOUR, "site-a", "north", "p1", reachable=1, clients=4,
              rx_bytes_delta=300, tx_bytes_delta=30),
            # hour 2: only a metric no bucket holds: no bucket
            s("ap-2", H0 + 2 * HOUR + 5, "site-a", "north", "p1", cpu_pct=50),
            # hour 3: a failed poll only
            s("ap-1", H0 + 3 * HOUR + 60, "site-a", "north", "p1", reachable=0),
            s("ap-1", H0 + 4 * HOUR, "site-a", "north", "p1", reachable=1, rx_bytes_delta=1e6),
            s("ap-3", H0 + 60, "site-b", "south", "p2", reachable=1, clients=0, rx_bytes_delta=0,
              tx_bytes_delta=70),
            s("ap-4", H0 + 60, "site-c", "south", "", reachable=1, clients=9,
              rx_bytes_delta=1000, tx_bytes_delta=2000),  # unsponsored: no partner group
        ]
    )  # fmt: skip

    got = store.hourly(H0, H0 + 4 * HOUR)  # by="partner" is the default

    assert got == [
        HourBucket("p1", H0, polls=3, polls_ok=2, rx_bytes=105.0, tx_bytes=10.0,
                   clients_max=6.0, clients_mean=4.0, clients_samples=2),
        HourBucket("p1", H0 + HOUR, polls=1, polls_ok=1, rx_bytes=300.0, tx_bytes=30.0,
                   clients_max=4.0, clients_mean=4.0, clients_samples=1),
        HourBucket("p1", H0 + 3 * HOUR, polls=1, polls_ok=0, rx_bytes=None, tx_bytes=None,
                   clients_max=None, clients_mean=None, clients_samples=0),
        HourBucket("p2", H0, polls=1, polls_ok=1, rx_bytes=0.0, tx_bytes=70.0,
                   clients_max=0.0, clients_mean=0.0, clients_samples=1),
    ]  # fmt: skip
    assert [b.key for b in store.hourly(H0, H0 + 4 * HOUR, "site", ["site-c"])] == ["site-c"]
    by_ap = store.hourly(H0 + HOUR, H0 + 2 * HOUR, "ap")
    assert [(b.key, b.hour, b.rx_bytes) for b in by_ap] == [("ap-1", H0 + HOUR, 300.0)]


def test_hourly_refuses_windows_off_the_hour_and_unknown_groups(store: MetricStore) -> None:
    bad = [(H0 + 1, H0 + HOUR), (H0, H0 + 1800), (H0 + 0.5, H0 + HOUR), (H0, H0 + HOUR + 0.001)]
    for start, end in [*bad, (math.nan, H0), (H0, math.inf)]:
        with pytest.raises(ValueError):
            store.hourly(start, end)
    with pytest.raises(ValueError):
        store.hourly(H0, H0 + HOUR, "profile")  # type: ignore[arg-type]


def test_hourly_of_nothing_is_empty(store: MetricStore) -> None:
    assert store.hourly(H0, H0 + HOUR) == []
    store.write([fleet_sample("ap-1", H0, "s", "d", "p", reachable=1)])

    assert store.hourly(H0, H0 + HOUR, keys=[]) == []
    assert store.hourly(H0, H0 + HOUR, keys=["nobody"]) == []
    assert store.hourly(H0, H0 + HOUR, keys=[""]) == []
    assert store.hourly(H0, H0) == []
    assert store.hourly(H0 + HOUR, H0) == []
    assert store.hourly(H0 + HOUR, H0 + 2 * HOUR) == []
    assert [b.key for b in store.hourly(H0, H0 + HOUR, keys=["p", "nobody"])] == ["p"]


def expected_hours(
    samples: list[Sample], start: float, end: float, by: GroupBy, keys: Collection[str] | None
) -> list[HourBucket]:
    """The port's hourly buckets from :func:`reference`, hour by hour."""
    out = []
    for k in range(round((end - start) / HOUR)):
        hour = start + k * HOUR
        for a in reference(samples, hour, hour + HOUR, by, keys):
            if (
                a.polls
                or a.rx_bytes is not None
                or a.tx_bytes is not None
                or a.clients_max is not None
            ):
                n = sum(
                    1
                    for s in samples
                    if s.tags.get(by) == a.key
                    and hour <= s.ts < hour + HOUR
                    and "clients" in s.fields
                )
                out.append(
                    HourBucket(a.key, hour, a.polls, a.polls_ok, a.rx_bytes, a.tx_bytes,
                               a.clients_max, a.clients_mean, n)
                )  # fmt: skip
    return sorted(out, key=lambda b: (b.key, b.hour))


def assert_hours_add_up(buckets: list[HourBucket], totals: list[Aggregate]) -> None:
    """Buckets of a window summed per group equal aggregate() over the same window."""
    by_key: dict[str, list[HourBucket]] = defaultdict(list)
    for b in buckets:
        by_key[b.key].append(b)
    wanted = [a for a in totals if a.polls or a.clients_max is not None or a.rx_bytes is not None]
    assert sorted(by_key) == [a.key for a in wanted]
    for a in wanted:
        group = by_key[a.key]
        assert sum(b.polls for b in group) == a.polls, a.key
        assert sum(b.polls_ok for b in group) == a.polls_ok, a.key
        for name in ("rx_bytes", "tx_bytes"):
            parts = [getattr(b, name) for b in group if getattr(b, name) is not None]
            assert (sum(parts) if parts else None) == getattr(a, name), (a.key, name)
        maxima = [b.clients_max for b in group if b.clients_max is not None]
        assert (max(maxima) if maxima else None) == a.clients_max, a.key
        n = sum(b.clients_samples for b in group)
        if a.clients_mean is not None:
            mean = sum(b.clients_mean * b.clients_samples for b in group if b.clients_mean) / n
            assert mean == pytest.approx(a.clients_mean, rel=1e-12), a.key


def test_hourly_buckets_add_up_to_aggregate_and_match_python(store: MetricStore) -> None:
    samples = mini_month(aps=10, days=1, step=300)
    for first in range(0, len(samples), 2000):
        store.write(samples[first : first + 2000])

    start, end = H0, H0 + 20 * HOUR  # T0 is 22:13:20: the first, partial hour is left out
    keys = {"partner-1", "site-3", "ap-07", "district-2"}
    for by in GROUP_BY:
        got = store.hourly(start, end, by)
        assert all(start <= b.hour < end and b.hour % HOUR == 0 for b in got)
        assert [(b.key, b.hour) for b in got] == sorted({(b.key, b.hour) for b in got})
        want = expected_hours(samples, start, end, by, None)
        assert [(b.key, b.hour) for b in got] == [(b.key, b.hour) for b in want]
        for g, w in zip(got, want, strict=True):
            assert (g.polls, g.polls_ok, g.rx_bytes, g.tx_bytes, g.clients_max) == (
                w.polls, w.polls_ok, w.rx_bytes, w.tx_bytes, w.clients_max,
            ), (g.key, g.hour)  # fmt: skip
            assert g.clients_samples == w.clients_samples
            if w.clients_mean is None:
                assert g.clients_mean is None
            else:
                assert g.clients_mean == pytest.approx(w.clients_mean, rel=1e-12)
        assert_hours_add_up(got, store.aggregate(start, end, by))
        keyed = store.hourly(start, end, by, keys)
        assert keyed == [b for b in got if b.key in keys]
        assert_hours_add_up(keyed, store.aggregate(start, end, by, keys))
