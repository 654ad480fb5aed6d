"""The shared metric vocabulary: names, units and meanings, defined once.

docs/metrics.md documents the same table; the API validates ``metric`` parameters against
it and later the Grafana panels and the simulator's history use the same names. A metric a
device does not have is absent from a sample, never a made-up zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from timeseries.port import AP_MEASUREMENT

# Identity tags on every ``ap`` sample; ``partner`` is "" for unsponsored sites.
AP_TAGS: tuple[str, ...] = ("ap", "site", "district", "partner", "profile")


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    unit: str
    kind: str  # "gauge" (a level) or "counter" (a running total as the device reports it)
    help: str


AP_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("reachable", "1", "gauge", "1 if the AP answered this poll, else 0"),
        Metric("poll_rtt_ms", "ms", "gauge", "time from request to complete answer"),
        Metric("uptime_s", "s", "gauge", "seconds since the AP booted (sysUpTime)"),
        Metric("clients", "1", "gauge", "wireless clients associated, all radios"),
        Metric("rx_bytes", "B", "counter", "bytes received on the uplink interface"),
        Metric("tx_bytes", "B", "counter", "bytes sent on the uplink interface"),
        Metric("rx_bps", "bit/s", "gauge", "uplink receive rate since the previous poll"),
        Metric("tx_bps", "bit/s", "gauge", "uplink transmit rate since the previous poll"),
    )
}

__all__ = ["AP_MEASUREMENT", "AP_METRICS", "AP_TAGS", "Metric"]
