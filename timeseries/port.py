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

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

from core.errors import StoreError
from timeseries.vocabulary import AP_MEASUREMENT

__all__ = [
    "AP_MEASUREMENT",
    "GROUP_BY",
    "Aggregate",
    "GroupBy",
    "HourBucket",
    "Latest",
    "MetricStore",
    "Point",
    "Sample",
    "StoreError",
]

GroupBy = Literal["ap", "site", "district", "partner"]
GROUP_BY: tuple[GroupBy, ...] = ("ap", "site", "district", "partner")


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


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One group's totals over a window of measurement ``ap``: what partner reports,
    coverage and dashboards read. Sums come from the per-poll ``*_bytes_delta`` fields
    (wraps and reboots already handled by the collector), so every backend adds the same
    numbers; a group with no sample of a metric has None, never a made-up zero.
    """

    key: str  # the group's tag value: an AP, site, district or partner id
    aps: int  # distinct APs with at least one sample in the window
    polls: int  # samples carrying ``reachable`` (attempted polls)
    polls_ok: int  # of which ``reachable`` was 1
    rx_bytes: float | None  # sum of rx_bytes_delta
    tx_bytes: float | None  # sum of tx_bytes_delta
    clients_max: float | None  # largest ``clients`` sample of any AP of the group
    clients_mean: float | None  # mean of the ``clients`` samples
    sessions_max: float | None  # largest ``hotspot_sessions`` sample
    sessions_mean: float | None  # mean of the ``hotspot_sessions`` samples
    # How many ``clients`` samples the mean is of, so means of groups can be pooled (a
    # partner's from its sites', as HourBucket's across hours) without another read.
    clients_samples: int = 0

    @property
    def availability(self) -> float | None:
        """Share of successful polls, the SLA's definition; None without polls."""
        return self.polls_ok / self.polls if self.polls else None


@dataclass(frozen=True, slots=True)
class HourBucket:
    """One group's totals over one clock hour [hour, hour + 3600) of UTC (which is a
    local clock hour wherever the offset is whole hours, as in Indonesia): what the
    reports' heat map and daily trend add up. Sums are exact (they add up to
    :meth:`MetricStore.aggregate` over the same hours); ``clients_samples`` lets means be
    combined across hours. An hour with no sample of the group has no bucket."""

    key: str
    hour: float  # epoch seconds, a multiple of 3600
    polls: int
    polls_ok: int
    rx_bytes: float | None
    tx_bytes: float | None
    clients_max: float | None
    clients_mean: float | None
    clients_samples: int


def to_ms(seconds: float) -> int:
    """Epoch seconds as whole milliseconds: the resolution every backend stores."""
    return round(seconds * 1000)


class Window(NamedTuple):
    """A series request in whole milliseconds, so every backend buckets alike."""

    start_ms: int
    end_ms: int
    step_ms: int
    buckets: int  # ceil((end - start) / step): the last bucket may be partial


def series_window(start: float, end: float, step: float) -> Window | None:
    """The checked window of a ``series`` call; None when empty (``end <= start``).

    Non-finite bounds or a step under one millisecond raise ValueError: caller bugs.
    """
    if not all(math.isfinite(x) for x in (start, end, step)):
        raise ValueError(f"series window must be finite: {start=}, {end=}, {step=}")
    start_ms, end_ms, step_ms = to_ms(start), to_ms(end), to_ms(step)
    if step_ms < 1:
        raise ValueError(f"series step must be at least 0.001 s, got {step!r}")
    if end_ms <= start_ms:
        return None
    return Window(start_ms, end_ms, step_ms, -((start_ms - end_ms) // step_ms))


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

    def aggregate(
        self,
        start: float,
        end: float,
        by: GroupBy = "ap",
        keys: Collection[str] | None = None,
    ) -> list[Aggregate]:
        """Totals over [start, end) per value of tag ``by`` (only ``keys`` when given),
        sorted by key. Samples whose ``by`` tag is empty (an unsponsored site's partner)
        belong to no group."""
        ...

    def hourly(
        self,
        start: float,
        end: float,
        by: GroupBy = "partner",
        keys: Collection[str] | None = None,
    ) -> list[HourBucket]:
        """Per clock hour and per value of tag ``by`` (only ``keys`` when given), over the
        whole hours in [start, end) (``start`` and ``end`` multiples of 3600, else
        ValueError), sorted by (key, hour)."""
        ...

    def close(self) -> None: ...
