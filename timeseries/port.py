"""The metric store port: the only way any part of citywifi touches metrics.

Consumers (collector, API, later reports and dashboards) depend on :class:`MetricStore`;
backends (embedded now; VictoriaMetrics and InfluxDB later) implement it and are found by
URL scheme through :func:`timeseries.open_store`, so no consumer imports a backend.

Vocabulary (docs/metrics.md): a :class:`Sample` is one line of line protocol — a
measurement (``ap``), identity tags (``ap``, ``site``, ``district``, ``partner``,
``profile``), numeric fields (``reachable``, ``clients``, ``rx_bps`` …) and a time.
A *metric* is a field name; the series of a metric for one AP is keyed by the ``ap`` tag.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from citywifi.errors import StoreError

AP_MEASUREMENT = "ap"

__all__ = ["AP_MEASUREMENT", "Latest", "MetricStore", "Point", "Sample", "StoreError"]


@dataclass(frozen=True, slots=True)
class Sample:
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, float]
    ts: float  # UTC epoch seconds


@dataclass(frozen=True, slots=True)
class Latest:
    """The newest value of each field of one AP, each with its own time."""

    ap: str
    values: Mapping[str, float] = field(default_factory=dict)
    times: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Point:
    ts: float  # start of the step bucket, epoch seconds
    value: float | None  # mean of the raw values in the bucket; None where there were none


class MetricStore(Protocol):
    def write(self, samples: Sequence[Sample]) -> None:
        """Store a batch; all of it or (on error, raising StoreError) none of it."""
        ...

    def latest(self, aps: Collection[str] | None = None) -> dict[str, Latest]:
        """Newest values per AP of measurement ``ap`` (all APs when ``aps`` is None)."""
        ...

    def series(self, ap: str, metric: str, start: float, end: float, step: float) -> list[Point]:
        """One AP's metric over [start, end) in buckets of ``step`` seconds, gaps as None."""
        ...

    def close(self) -> None: ...
