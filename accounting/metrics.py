"""The receiver's own health, in Prometheus text format, in a registry of its own.

Why: "are the hotspots' packets getting in?" must be answerable without reading logs,
which say each problem only once an hour per NAS. ``citywifi_radius_packets_total`` by
``result``: what the stored packets did (``inventory.sessions.Outcome``) or why a
datagram was dropped (:class:`accounting.packets.Drop`).
"""

from __future__ import annotations

import logging
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server

from accounting.packets import Drop
from inventory.sessions import Outcome

log = logging.getLogger(__name__)

BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


class RadiusMetrics:
    """Every self-metric of one receiver, in its own registry (several in one test
    process never collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.packets = Counter(
            "citywifi_radius_packets_total",
            "Accounting datagrams by result: the outcome of a stored one (started, updated,"
            " stopped, duplicate, nas_reset) or why one was dropped unanswered (malformed,"
            " wrong_code, unknown_nas, no_secret, bad_authenticator, unsupported, overload,"
            " write_failed).",
            ["result"],
            registry=r,
        )
        for result in [*Outcome, *Drop]:  # every series exists from the start, at 0
            self.packets.labels(result=result.value)
        self.batch_seconds = Histogram(
            "citywifi_radius_batch_seconds",
            "Time to write one batch of records (one transaction), in the database thread.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "citywifi_radius_batch_records",
            "Records per written batch.",
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.pending = Gauge(
            "citywifi_radius_pending_records",
            "Verified records waiting for the database (answered once written).",
            registry=r,
        )
        self.lost = Counter(
            "citywifi_radius_sessions_lost_total",
            "Open sessions closed as lost (no packet for radius_lost_after_s).",
            registry=r,
        )
        self.naslist = Gauge(
            "citywifi_radius_nas_known",
            "APs in the NAS directory (as of its last load).",
            registry=r,
        )
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def count(self, result: str, n: int = 1) -> None:
        self.packets.labels(result=result).inc(n)

    def value(self, result: str) -> float:
        """The count of one result (tests, the bench)."""
        got = self.registry.get_sample_value("citywifi_radius_packets_total", {"result": result})
        return got or 0.0

    def exposition(self) -> str:
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
