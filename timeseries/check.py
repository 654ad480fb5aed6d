"""``check_store(url)``: can citywifi write to this metric store and read it back, and how fast?

Used by ``citywifi timeseries check`` so an operator learns, before the collector runs,
whether the URL works and whether the server is set up the way citywifi reads it. It
writes one probe sample (measurement ``citywifi_check``, tag ``probe=<host name>``, field
``value``, the current time) — never into measurement ``ap``, so the probe cannot show up
as an access point — then reads it back and reports, in plain words:

- problems (the store cannot work as configured: unreachable, refused, wrong URL form,
  server flags that break how citywifi reads);
- warnings (it works, with a caveat worth knowing: duplicates kept, slow visibility);
- the server version where the server says it, the write latency, and how long the probe
  took to become readable (the delay between a poll and the status page showing it).

Nothing here raises for a store problem: everything lands in the report, with secrets
redacted.
"""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from core.errors import StoreError
from timeseries import MetricStore, Sample, open_store
from timeseries.urls import parse_duration, redact

__all__ = ["PROBE_FIELD", "PROBE_MEASUREMENT", "CheckReport", "check_store"]

PROBE_MEASUREMENT = "citywifi_check"
PROBE_FIELD = "value"
# The flags VictoriaMetrics must keep at their defaults for citywifi's series names.
_VM_REQUIRED_FLAGS = {
    "influxMeasurementFieldSeparator": ("_", "citywifi reads series named ap_<field>"),
    "influxSkipSingleField": ("false", "a single-field line would lose its field name"),
    "influxSkipMeasurement": ("false", "series would lose their ap_ prefix"),
}


@runtime_checkable
class _Probed(Protocol):
    """A server store that can read back one series of any measurement."""

    def read_probe(self, measurement: str, field: str, tags: dict[str, str]) -> float | None: ...


@dataclass
class CheckReport:
    url: str  # redacted
    backend: str
    server: str | None = None  # what the server says it is, when it says
    write_s: float | None = None  # one probe write, round trip
    visible_s: float | None = None  # from the write until the probe read back
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The report as plain sentences, one per line, for a terminal."""
        out = [f"metric store: {self.url} ({self.backend})"]
        if self.server:
            out.append(f"server: {self.server}")
        if self.write_s is not None:
            out.append(f"write: {self.write_s * 1000:.0f} ms")
        if self.visible_s is not None:
            out.append(f"readable after: {self.visible_s * 1000:.0f} ms")
        out += [f"problem: {p}" for p in self.problems]
        out += [f"warning: {w}" for w in self.warnings]
        out.append("OK" if self.ok else "NOT OK")
        return out


# How long the probe may take to become readable before the check gives up: a
# VictoriaMetrics server at its default -search.latencyOffset hides new samples for 30 s,
# and a series it has never seen waits for the next index flush (about 10 s on the
# Debian build) on top; that is slow, worth a warning, but it works.
VISIBLE_TIMEOUT_S = 60.0
# Readable later than this after a write: warn that the status page lags.
SLOW_VISIBLE_S = 5.0


def check_store(url: str, *, visible_timeout_s: float = VISIBLE_TIMEOUT_S) -> CheckReport:
    """Write a probe sample to the store ``url`` names, read it back, report what happened."""
    backend = url.split("://", 1)[0] if "://" in url else "?"
    report = CheckReport(url=redact(url), backend=backend)
    try:
        store = open_store(url)
    except StoreError as exc:
        report.problems.append(str(exc))
        return report
    try:
        _inspect_server(store, report)
        if report.problems:
            return report
        _probe(store, report, visible_timeout_s)
    finally:
        store.close()
    return report


def _inspect_server(store: MetricStore, report: CheckReport) -> None:
    """Backend-specific questions to the server, before anything is written."""
    from timeseries.influxdb import InfluxDBStore
    from timeseries.victoriametrics import VictoriaMetricsStore

    if isinstance(store, InfluxDBStore):
        try:
            version = store.server_version()
        except StoreError as exc:
            report.problems.append(str(exc))
            return
        report.server = f"InfluxDB {version}" if version else "InfluxDB (version not reported)"
        if store.api == "v2" and version and _older_than(version, (1, 8)):
            report.problems.append(
                f"InfluxDB {version} has no /api/v2/write (added in 1.8): name the database "
                f"with db= (and user=/password=) instead of bucket=/org=/token="
            )
    elif isinstance(store, VictoriaMetricsStore):
        flags = store.server_flags()
        kind = "cluster" if store.endpoints.tenant is not None else "single node"
        report.server = f"VictoriaMetrics {kind}"
        if store.endpoints.tenant is not None:
            report.server += f", tenant {store.endpoints.tenant}"
        for name, (wanted, why) in _VM_REQUIRED_FLAGS.items():
            value = flags.get(name)
            if value is not None and value != wanted:
                report.problems.append(f"the server runs with -{name}={value}: {why}")
        # /flags lists the flags set on the command line of the process that answers
        # (absent: at its default). Behind vmauth that process is vmauth, which says nothing
        # about the storage: then nothing is known.
        if not flags or "auth.config" in flags:
            return
        if (parse_duration(flags.get("dedup.minScrapeInterval", "0s")) or 0) <= 0:
            report.warnings.append(
                "the server keeps duplicate samples (-dedup.minScrapeInterval is not set): "
                "a write that is retried or replayed is stored twice and weighs averages; "
                "start it with -dedup.minScrapeInterval=1ms"
            )
        offset = parse_duration(flags.get("search.latencyOffset", "30s")) or 0.0
        if offset > SLOW_VISIBLE_S:
            report.warnings.append(
                f"new samples can stay invisible to queries for up to {offset:g} s "
                "(-search.latencyOffset); the status page lags by that much"
            )
        # vmselect has no -retentionPeriod (vmstorage has): asked only of a single node.
        if store.endpoints.tenant is None and flags.get("retentionPeriod", "1") == "1":
            report.warnings.append(
                "the server keeps one month of data (-retentionPeriod default) and refuses "
                "older samples, including replays of older polls"
            )


def _probe(store: MetricStore, report: CheckReport, visible_timeout_s: float) -> None:
    tags = {"probe": socket.gethostname() or "citywifi"}
    marker = float(random.randint(1, 2**31))  # this run's value, to tell it from older ones
    sample = Sample(PROBE_MEASUREMENT, tags, {PROBE_FIELD: marker}, time.time())
    began = time.perf_counter()
    try:
        store.write([sample])
    except StoreError as exc:
        report.problems.append(str(exc))
        return
    written = time.perf_counter()
    report.write_s = written - began
    if not isinstance(store, _Probed):  # the embedded store: time one read instead
        try:
            store.latest()
        except StoreError as exc:
            report.problems.append(str(exc))
            return
        report.visible_s = time.perf_counter() - written
        return
    deadline = written + visible_timeout_s
    delay = 0.05
    while True:
        try:
            seen = store.read_probe(PROBE_MEASUREMENT, PROBE_FIELD, tags)
        except StoreError as exc:
            report.problems.append(str(exc))
            return
        if seen == marker:
            report.visible_s = time.perf_counter() - written
            if report.visible_s > SLOW_VISIBLE_S:
                report.warnings.append(
                    f"the probe took {report.visible_s:.0f} s to become readable: the status "
                    "page shows each poll that much later (a series the server has not seen "
                    "before waits for its next index flush)"
                )
            return
        if time.perf_counter() >= deadline:
            report.problems.append(
                f"the probe was written but could not be read back within {visible_timeout_s:g} s"
            )
            return
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _older_than(version: str, wanted: tuple[int, int]) -> bool:
    """Whether a version string like ``1.6.7~rc0`` or ``v2.7.1`` is older than ``wanted``."""
    digits = version.lstrip("v").replace("~", ".").split(".")
    try:
        major, minor = int(digits[0]), int(digits[1]) if len(digits) > 1 else 0
    except ValueError:
        return False
    return (major, minor) < wanted
