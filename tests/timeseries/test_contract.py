"""The MetricStore contract: what every backend must do, tested only through the port.

Runs once per backend listed in ``conftest.BACKEND_URLS``. Nothing here may look behind
the port (files, SQL, HTTP): backend-specific checks live in their own modules.
"""

from __future__ import annotations

import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from timeseries import MetricStore, Point, Sample, StoreError

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

    with pytest.raises(StoreError, match="ap-bad"):
        store.write([*good, bad])

    assert store.latest() == {}
    assert values(store.series("ap-1", "clients", T0, T0 + 60, 60)) == [None]


def test_an_ap_sample_needs_an_ap_tag(store: MetricStore) -> None:
    with pytest.raises(StoreError, match="'ap' tag"):
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
