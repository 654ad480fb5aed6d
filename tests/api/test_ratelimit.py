"""The in-memory token bucket that sheds public load: a burst up to its capacity, then the
steady rate, a Retry-After that is right, and a clock moved by the test."""

from __future__ import annotations

import threading

import pytest

from api.ratelimit import TokenBucket

T0 = 1_767_225_600.0


def test_a_burst_up_to_capacity_then_refusals() -> None:
    bucket = TokenBucket(5, 60.0)
    assert [bucket.take(T0) for _ in range(5)] == [None] * 5
    wait = bucket.take(T0)
    assert wait == pytest.approx(12.0)  # one token per 60/5 s
    assert TokenBucket.retry_after(wait) == "12"


def test_tokens_come_back_at_the_rate() -> None:
    bucket = TokenBucket(6, 60.0)  # one per 10 s
    for _ in range(6):
        assert bucket.take(T0) is None
    assert bucket.take(T0 + 5) == pytest.approx(5.0)
    assert bucket.take(T0 + 10) is None
    assert bucket.take(T0 + 10) is not None
    # A long quiet time refills to the capacity, never past it.
    assert [bucket.take(T0 + 10_000) for _ in range(7)].count(None) == 6


def test_over_one_minute_it_admits_capacity_plus_what_refills() -> None:
    bucket = TokenBucket(120, 60.0)
    admitted = sum(bucket.take(T0 + i * 0.01) is None for i in range(6000))  # 60 s, 100/s
    assert admitted == pytest.approx(120 + 120, abs=2)


def test_a_clock_stepping_back_refills_nothing() -> None:
    bucket = TokenBucket(1, 60.0)
    assert bucket.take(T0) is None
    assert bucket.take(T0 - 3600) is not None
    assert bucket.take(T0 + 30) is not None  # the step back was not counted as time
    assert bucket.take(T0 + 60) is None


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert TokenBucket.retry_after(0.01) == "1"
    assert TokenBucket.retry_after(1.2) == "2"


def test_threads_together_never_take_more_than_there_is() -> None:
    bucket = TokenBucket(50, 60.0)
    taken: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [bucket.take(T0) is None for _ in range(100)]
        with lock:
            taken.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert taken.count(True) == 50 and len(taken) == 400


@pytest.mark.parametrize(("capacity", "period"), [(0, 60.0), (1, 0.0)])
def test_a_bucket_that_cannot_work_is_refused(capacity: int, period: float) -> None:
    with pytest.raises(ValueError, match="capacity ≥ 1 and a positive period"):
        TokenBucket(capacity, period)
