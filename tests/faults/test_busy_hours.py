"""An AP's usual clients at this clock hour, from a real embedded metric store: the mean
over the last days, cached per hour so a fault engine asks a few times an hour."""

from __future__ import annotations

import pytest

from faults.busy_hours import DAY_S, HOUR_S, BusyHours
from timeseries import MetricStore, Sample

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
NOW = T0 + 10 * DAY_S + 14 * HOUR_S + 1200  # day 10, 14:20Z


@pytest.fixture
def store(kept_store: MetricStore) -> MetricStore:
    return kept_store


def clients(store: MetricStore, ap: str, day: int, hour: int, values: list[float]) -> None:
    """``values`` as ``clients`` samples of ``ap`` spread over one hour of day ``day``."""
    start = T0 + day * DAY_S + hour * HOUR_S
    step = HOUR_S / len(values)
    store.write(
        [
            Sample(
                "ap", {"ap": ap, "site": "s1"}, {"clients": v, "reachable": 1.0}, start + i * step
            )
            for i, v in enumerate(values)
        ]
    )


def test_the_mean_over_the_same_hour_of_the_last_days(store: MetricStore) -> None:
    clients(store, "a", 9, 14, [8, 10])  # yesterday 14h: mean 9
    clients(store, "a", 8, 14, [4, 6, 5])  # the day before: mean 5
    clients(store, "a", 9, 13, [100])  # another hour: not counted
    clients(store, "a", 10, 14, [0])  # today: not history
    clients(store, "b", 7, 14, [30])  # three days ago
    busy = BusyHours(store)

    assert busy.usual_clients("a", days=2, now=NOW) == pytest.approx(7.0)
    assert busy.usual_clients("b", days=2, now=NOW) is None  # beyond two days
    assert busy.usual_clients("b", days=3, now=NOW) == pytest.approx(30.0)
    # A day without samples of the AP does not count as a zero.
    assert busy.usual_clients("a", days=3, now=NOW) == pytest.approx(7.0)
    assert busy.usual_clients("nobody", days=3, now=NOW) is None


def test_cached_per_hour_and_per_day(store: MetricStore) -> None:
    clients(store, "a", 9, 14, [6])
    clients(store, "a", 9, 15, [12])
    busy = BusyHours(store)

    assert busy.usual_clients("a", days=2, now=NOW) == 6.0
    assert busy.queries == 2  # one aggregate over the whole city per day
    for later in (NOW + 60, NOW + 1500):  # the same hour: nothing read again
        assert busy.usual_clients("a", days=2, now=later) == 6.0
        assert busy.usual_clients("z", days=1, now=later) is None
    assert busy.queries == 2
    assert busy.usual_clients("a", days=3, now=NOW) == 6.0
    assert busy.queries == 3  # only the day not read yet
    assert busy.usual_clients("a", days=2, now=NOW + 3000) == 12.0  # 15h: read afresh
    assert busy.queries == 5
