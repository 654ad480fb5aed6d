"""Turning raw counters into rates without lying.

The anchors' worst billing bugs came from here: a 32-bit sysUpTime rollover counted as a
reboot (LibreNMS #13896) and counter resets or wraps turned into traffic spikes far above
link speed (LibreNMS #1128). The rules, in order:

1. sysUpTime going backwards is a reboot, unless the step matches a 2^32-tick wrap given
   the wall-clock time between polls (that happens every 497 days and is not a reboot).
2. After a reboot every counter restarts: no rate for that interval.
3. A Counter32 going backwards (without a reboot) wrapped once: add 2^32.
   A Counter64 going backwards is a reset (a device does not wrap 2^64 bytes): no rate.
4. A rate above the interface speed is impossible and is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TICKS_WRAP = 2**32  # sysUpTime is TimeTicks: 1/100 s in 32 bits
COUNTER32_WRAP = 2**32
# A wrap of sysUpTime must agree with wall-clock time within this much (seconds), or it
# is a reboot. Generous because agents answer late and polls drift.
_WRAP_TOLERANCE_S = 30.0


def uptime_went_back(prev_ticks: int, cur_ticks: int, elapsed_s: float) -> tuple[bool, bool]:
    """Classify a sysUpTime step as (rebooted, wrapped)."""
    if cur_ticks >= prev_ticks:
        return False, False
    wrapped_elapsed_s = (cur_ticks + TICKS_WRAP - prev_ticks) / 100.0
    if abs(wrapped_elapsed_s - elapsed_s) <= max(_WRAP_TOLERANCE_S, 0.5 * elapsed_s):
        return False, True
    return True, False


def counter_delta(prev: int, cur: int, width: int) -> int | None:
    """Increase of a counter between two reads, or None when it cannot be known."""
    if cur >= prev:
        return cur - prev
    if width == 32:
        return cur + COUNTER32_WRAP - prev
    return None


def rate_bps(delta_bytes: int | None, elapsed_s: float, speed_bps: float | None) -> float | None:
    """Bits per second over an interval; None for unknown, non-positive time or impossible."""
    if delta_bytes is None or elapsed_s <= 0:
        return None
    bps = delta_bytes * 8.0 / elapsed_s
    if speed_bps and bps > speed_bps:
        return None
    return bps


@dataclass(frozen=True, slots=True)
class CounterReading:
    """What one poll saw of an AP's clocks and uplink counters.

    ``sides`` holds the poll's other rx/tx counter pairs by name (``"wlan"``: the wireless
    side), each a reading of its own width and speed with the same clocks, so every pair's
    rates follow the rules above through the same :func:`derive_rates`.
    """

    ts: float  # wall-clock seconds when the answer arrived
    uptime_ticks: int | None
    rx_bytes: int | None
    tx_bytes: int | None
    width: int  # 64 for ifHC*, 32 for ifIn/OutOctets
    speed_bps: float | None
    sides: Mapping[str, CounterReading] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Rates:
    rx_bps: float | None
    tx_bps: float | None
    rebooted: bool


def derive_rates(prev: CounterReading | None, cur: CounterReading) -> Rates:
    """Rates between two consecutive readings of the same AP."""
    if prev is None or prev.width != cur.width:
        return Rates(None, None, False)
    elapsed = cur.ts - prev.ts
    rebooted = False
    if prev.uptime_ticks is not None and cur.uptime_ticks is not None:
        rebooted, _wrapped = uptime_went_back(prev.uptime_ticks, cur.uptime_ticks, elapsed)
    if rebooted:
        return Rates(None, None, True)

    def one(p: int | None, c: int | None) -> float | None:
        if p is None or c is None:
            return None
        return rate_bps(counter_delta(p, c, cur.width), elapsed, cur.speed_bps)

    return Rates(one(prev.rx_bytes, cur.rx_bytes), one(prev.tx_bytes, cur.tx_bytes), False)
