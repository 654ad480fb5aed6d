"""The shared metric vocabulary: names, units and meanings, defined once.

docs/metrics.md documents the same table; the API validates ``metric`` parameters against
it, vendor profiles are checked against it when they load (a typo in a vendor file fails
at import, not as a silently empty panel), and the Grafana panels and the simulator's
history use the same names. A metric a device does not have is absent from a sample,
never a made-up zero.
"""

from __future__ import annotations

from dataclasses import dataclass

# The measurement every AP sample belongs to.
AP_MEASUREMENT = "ap"

# Identity tags on every ``ap`` sample; ``partner`` is "" for unsponsored sites.
AP_TAGS: tuple[str, ...] = ("ap", "site", "district", "partner", "profile")

# The site info series: what the ``ap`` samples' ids mean (names, coordinates), written by
# the collector once per poll interval (at most once a minute), one sample per site. It is
# the Prometheus "info metric" pattern: dashboards join it to the ``ap`` series on ``site``
# (PromQL ``* on (site) group_left (site_name, lat, lon)``; InfluxQL: a second query joined
# in Grafana), so the stores need no names in every AP sample. Measurement ``site`` with
# the one field ``info`` (always 1) is the series ``site_info`` on VictoriaMetrics.
SITE_MEASUREMENT = "site"
SITE_INFO_FIELD = "info"
# Tags of a ``site`` sample. ``lat``/``lon`` are tags (decimal degrees, 6 places), not
# fields: a PromQL join can copy only labels, and Grafana's geomap reads them as columns
# of a table query on either backend. Empty ones (no district, no partner) are left out.
SITE_TAGS: tuple[str, ...] = (
    "site",
    "site_name",
    "district",
    "district_name",
    "partner",
    "partner_name",
    "kind",
    "lat",
    "lon",
)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    unit: str
    kind: str  # "gauge" (a level) or "counter" (a running total as the device reports it)
    help: str


AP_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        # The first eight are the original set: the API, the simulator's history and the
        # stored series use them, so their names and meanings never change.
        Metric("reachable", "1", "gauge", "1 if the AP answered this poll, else 0"),
        Metric("poll_rtt_ms", "ms", "gauge", "time from request to complete answer"),
        Metric("uptime_s", "s", "gauge", "seconds since the AP booted (sysUpTime)"),
        Metric("clients", "1", "gauge", "wireless clients associated, all radios"),
        Metric("rx_bytes", "B", "counter", "bytes received on the uplink interface"),
        Metric("tx_bytes", "B", "counter", "bytes sent on the uplink interface"),
        Metric("rx_bps", "bit/s", "gauge", "uplink receive rate since the previous poll"),
        Metric("tx_bps", "bit/s", "gauge", "uplink transmit rate since the previous poll"),
        Metric(
            "rx_bytes_delta",
            "B",
            "delta",
            "uplink bytes received since the previous poll (wrap and reboot rules applied):"
            " sum these for traffic over a window",
        ),
        Metric("tx_bytes_delta", "B", "delta", "uplink bytes sent since the previous poll"),
        Metric("clients_2g4", "1", "gauge", "wireless clients on 2.4 GHz radios"),
        Metric("clients_5g", "1", "gauge", "wireless clients on 5 GHz radios"),
        Metric("wlan_rx_bytes", "B", "counter", "bytes received from clients, all radios"),
        Metric("wlan_tx_bytes", "B", "counter", "bytes sent to clients, all radios"),
        Metric("wlan_rx_bps", "bit/s", "gauge", "wireless receive rate since the previous poll"),
        Metric("wlan_tx_bps", "bit/s", "gauge", "wireless transmit rate since the previous poll"),
        Metric("cpu_pct", "%", "gauge", "CPU busy, mean over processors"),
        Metric("mem_pct", "%", "gauge", "RAM in use, without buffers and page cache"),
        Metric("noise_dbm", "dBm", "gauge", "radio noise floor, the worst radio"),
        Metric("signal_dbm", "dBm", "gauge", "mean signal of the associated stations"),
        Metric("ccq_pct", "%", "gauge", "client connection quality (airMAX), the worst radio"),
        Metric("hotspot_users", "1", "gauge", "distinct user names logged in to the hotspot"),
        Metric("hotspot_sessions", "1", "gauge", "active hotspot sessions"),
        Metric("if_errors", "1", "counter", "ifInErrors + ifOutErrors over all interfaces"),
    )
}

# Clients per radio band: the band a vendor table names (a label or a frequency) → metric.
CLIENT_BANDS: dict[str, str] = {"2g4": "clients_2g4", "5g": "clients_5g"}

__all__ = [
    "AP_MEASUREMENT",
    "AP_METRICS",
    "AP_TAGS",
    "CLIENT_BANDS",
    "SITE_INFO_FIELD",
    "SITE_MEASUREMENT",
    "SITE_TAGS",
    "Metric",
]
