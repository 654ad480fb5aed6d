"""Counter-to-rate derivation: wraps, resets, reboots and impossible rates."""

from __future__ import annotations

import pytest

from collector.derive import (
    CounterReading,
    counter_delta,
    derive_rates,
    rate_bps,
    uptime_went_back,
)

GBIT = 1_000_000_000.0


def reading(
    ts: float,
    ticks: int | None,
    rx: int | None,
    tx: int | None,
    width: int = 64,
    speed: float | None = GBIT,
) -> CounterReading:
    return CounterReading(
        ts=ts, uptime_ticks=ticks, rx_bytes=rx, tx_bytes=tx, width=width, speed_bps=speed
    )


@pytest.mark.parametrize(
    ("prev", "cur", "width", "expected"),
    [
        (100, 250, 64, 150),
        (100, 100, 64, 0),
        (2**32 - 100, 50, 32, 150),  # Counter32 wrapped once
        (2**64 - 100, 50, 64, None),  # Counter64 going back is a reset, not a wrap
        (5_000, 10, 64, None),
    ],
)
def test_counter_delta(prev: int, cur: int, width: int, expected: int | None) -> None:
    assert counter_delta(prev, cur, width) == expected


@pytest.mark.parametrize(
    ("prev", "cur", "elapsed", "rebooted", "wrapped"),
    [
        (1000, 7000, 60, False, False),
        (2**32 - 3000, 3000, 60, False, True),  # 497-day rollover is not a reboot
        (8_640_000, 500, 60, True, False),  # a day of uptime, now 5 s: rebooted
        (2**32 - 3000, 3000, 3600 * 5, True, False),  # wrap arithmetic disagrees with clock
    ],
)
def test_uptime_went_back(
    prev: int, cur: int, elapsed: float, rebooted: bool, wrapped: bool
) -> None:
    assert uptime_went_back(prev, cur, elapsed) == (rebooted, wrapped)


def test_rate_bps_rejects_impossible_and_unknown() -> None:
    assert rate_bps(1_000_000, 8.0, GBIT) == pytest.approx(1_000_000.0)
    assert rate_bps(10**12, 1.0, GBIT) is None  # 8 Tbit/s on a 1 Gbit/s port
    assert rate_bps(None, 10.0, GBIT) is None
    assert rate_bps(100, 0.0, GBIT) is None
    assert rate_bps(10**12, 1.0, None) == pytest.approx(8e12)  # speed unknown: keep it


def test_steady_traffic_gives_its_rate() -> None:
    prev = reading(1000.0, 100_000, 10_000_000, 2_000_000)
    cur = reading(1060.0, 106_000, 10_000_000 + 75_000_000, 2_000_000 + 15_000_000)
    rates = derive_rates(prev, cur)
    assert rates.rx_bps == pytest.approx(10_000_000.0)
    assert rates.tx_bps == pytest.approx(2_000_000.0)
    assert not rates.rebooted


def test_reboot_gives_no_rate_and_no_spike() -> None:
    prev = reading(1000.0, 50_000_000, 9_000_000_000, 1_000_000_000)
    cur = reading(1060.0, 3_000, 1_000, 500)
    rates = derive_rates(prev, cur)
    assert rates.rebooted
    assert rates.rx_bps is None and rates.tx_bps is None


def test_counter32_wrap_between_polls() -> None:
    prev = reading(0.0, 100, 2**32 - 1_000_000, 10, width=32, speed=100e6)
    cur = reading(60.0, 6_100, 2_750_000, 20, width=32, speed=100e6)
    rates = derive_rates(prev, cur)
    assert rates.rx_bps == pytest.approx(3_750_000 * 8 / 60)


def test_uptime_rollover_keeps_rates() -> None:
    prev = reading(0.0, 2**32 - 1_000, 1_000, 1_000)
    cur = reading(60.0, 5_000, 61_000, 1_000)
    rates = derive_rates(prev, cur)
    assert not rates.rebooted
    assert rates.rx_bps == pytest.approx(8_000.0)


def test_first_poll_and_counter_width_change_give_no_rate() -> None:
    cur = reading(60.0, 6_000, 1_000, 1_000)
    assert derive_rates(None, cur).rx_bps is None
    assert derive_rates(reading(0.0, 100, 10, 10, width=32), cur).rx_bps is None
