"""The collector's own health, in Prometheus text format.

Why: "is the collector keeping up?" must be answerable without reading logs — poll
outcomes per profile, how late polls start against their slot, how many are queued, how
many store writes failed, how much waits in the disk spool and whether any was dropped,
and, for collectors sharing the APs, how many leases it holds, claims and releases and
what its lease transaction costs.
Each :class:`SelfMetrics` owns a dedicated ``CollectorRegistry`` (never the process-global
default), so several collectors in one process (tests) do not collide and nothing else
leaks into the exposition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server

log = logging.getLogger(__name__)

POLL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LEASE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class SelfMetrics:
    """Every self-metric of one collector, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter(
            "citywifi_polls_total",
            "SNMP polls by profile and outcome: the poll's cause (answered, timeout,"
            " refused, auth_failure, malformed).",
            ["profile", "outcome"],
            registry=r,
        )
        self.poll_duration = Histogram(
            "citywifi_poll_duration_seconds",
            "Wall time of one SNMP poll of one AP.",
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.cycle_lag = Gauge(
            "citywifi_cycle_lag_seconds",
            "Worst delay between a poll's scheduled slot and its start, last finished interval.",
            registry=r,
        )
        self.overruns = Counter(
            "citywifi_cycle_overruns_total",
            "Intervals in which some AP due was not attempted within the interval.",
            registry=r,
        )
        self.queue_depth = Gauge(
            "citywifi_poll_queue_depth",
            "SNMP polls in flight plus polls waiting for a concurrency slot.",
            registry=r,
        )
        self.spool_depth = Gauge(
            "citywifi_spool_depth",
            "Samples spooled to disk awaiting the store (0 until the spool exists).",
            registry=r,
        )
        self.spool_batches = Gauge(
            "citywifi_spool_batches",
            "Batches spooled to disk awaiting the store.",
            registry=r,
        )
        self.spooled = Counter(
            "citywifi_spooled_samples",
            "Samples written to the disk spool because the store could not take them.",
            registry=r,
        )
        self.replayed = Counter(
            "citywifi_replayed_samples",
            "Spooled samples the store has since taken.",
            registry=r,
        )
        self.spool_dropped = Counter(
            "citywifi_spool_dropped_samples",
            "Spooled samples dropped, oldest first, because the spool reached its bound"
            " (or a batch file could not be read back): data lost.",
            registry=r,
        )
        self.rejected = Counter(
            "citywifi_store_rejected_samples",
            "Samples the store refused as bad data (logged, not retried).",
            registry=r,
        )
        self.ssh_polls = Counter(
            "citywifi_ssh_polls_total",
            "SSH polls by outcome (ok, timeout, auth, error).",
            ["outcome"],
            registry=r,
        )
        self.store_write_errors = Counter(
            "citywifi_store_write_errors_total",
            "Failed writes of a batch to the metric store.",
            registry=r,
        )
        self.metric_errors = Counter(
            "citywifi_metric_errors_total",
            "Metrics absent because a device answered them wrongly, by profile.",
            ["profile"],
            registry=r,
        )
        self.skipped_overlap = Counter(
            "citywifi_skipped_overlap_total",
            "Poll slots skipped because the AP's previous poll was still running.",
            registry=r,
        )
        self.leases_held = Gauge(
            "citywifi_leases_held",
            "AP leases this collector holds (0 without leases: a static --shard split).",
            registry=r,
        )
        self.lease_cycle = Histogram(
            "citywifi_lease_cycle_seconds",
            "Wall time of one lease cycle (one database transaction per interval).",
            buckets=LEASE_BUCKETS,
            registry=r,
        )
        self.leases_claimed = Counter(
            "citywifi_leases_claimed",
            "AP leases claimed (free or expired ones taken over).",
            registry=r,
        )
        self.leases_released = Counter(
            "citywifi_leases_released",
            "AP leases released as excess over the fair share (handed over at a boundary).",
            registry=r,
        )
        self.polls_past_lease = Counter(
            "citywifi_polls_past_lease",
            "Polls answered only after their AP's lease ran out: dropped, not written.",
            registry=r,
        )
        self.lease_errors = Counter(
            "citywifi_lease_errors",
            "Lease cycles that failed (database unreachable): leases held run out.",
            registry=r,
        )
        self.spool_depth.set(0)
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def track_queue_depth(self, depth: Callable[[], float]) -> None:
        """Read the queue depth from the scheduler at scrape time."""
        self.queue_depth.set_function(depth)

    def exposition(self) -> str:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry).decode()

    def serve(self, host: str, port: int) -> int:
        """Serve ``/metrics`` on host:port in a daemon thread; returns the bound port."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        bound: int = server.server_port
        log.info("self-metrics on http://%s:%d/metrics", host, bound)
        return bound

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
