"""Self-metrics: the exposition parses and names every family; registries are separate."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from collector.selfmetrics import SelfMetrics

FAMILIES = {
    "citywifi_polls",
    "citywifi_poll_duration_seconds",
    "citywifi_cycle_lag_seconds",
    "citywifi_poll_queue_depth",
    "citywifi_spool_depth",
    "citywifi_ssh_polls",
    "citywifi_store_write_errors",
    "citywifi_metric_errors",
    "citywifi_skipped_overlap",
}


def families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {
        f.name: [(s.name, s.labels, s.value) for s in f.samples]
        for f in text_string_to_metric_families(text)
    }


def test_exposition_parses_with_every_family() -> None:
    m = SelfMetrics()
    m.polls.labels("mikrotik", "answered").inc(3)
    m.polls.labels("openwrt", "timeout").inc()
    m.poll_duration.observe(0.03)
    m.cycle_lag.set(0.25)
    m.track_queue_depth(lambda: 7)
    m.ssh_polls.labels("auth").inc()
    m.store_write_errors.inc()
    m.metric_errors.labels("unifi").inc(2)
    m.skipped_overlap.inc()
    got = families(m.exposition())
    assert set(got) >= FAMILIES
    assert ("citywifi_polls_total", {"profile": "mikrotik", "outcome": "answered"}, 3.0) in got[
        "citywifi_polls"
    ]
    assert got["citywifi_poll_queue_depth"] == [("citywifi_poll_queue_depth", {}, 7.0)]
    assert got["citywifi_spool_depth"] == [("citywifi_spool_depth", {}, 0.0)]
    assert got["citywifi_cycle_lag_seconds"][0][2] == 0.25


def test_collectors_have_separate_registries() -> None:
    a, b = SelfMetrics(), SelfMetrics()
    a.skipped_overlap.inc(5)
    assert families(b.exposition())["citywifi_skipped_overlap"][0][2] == 0.0


def test_served_over_http_on_loopback() -> None:
    m = SelfMetrics()
    port = m.serve("127.0.0.1", 0)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert set(families(text)) >= FAMILIES
    finally:
        m.close()
