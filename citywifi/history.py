"""Writing the simulated city's past into the metric store (``simulate --history``).

:mod:`simulators.history` computes the past as plain rows and may not know the store; this
is the wiring that turns those rows into :class:`~timeseries.Sample` batches and writes them
through the configured :class:`~timeseries.MetricStore`, so the history lands wherever the
collector's samples land (embedded, VictoriaMetrics, InfluxDB) and looks the same to every
reader, apart from its ``source=simulated`` tag.

The simulator knows the device; only the collector knows what it makes of it. So the
``profile`` tag is the name the collector's own auto-detection gives the AP's sysObjectID
and sysDescr, and a client count is kept only where that profile reads one: a device the
collector polls as ``generic`` gets no ``clients`` field in its past either.

Batches keep memory flat (one batch of samples in flight, however long the window) and let
a long write report progress. Rows are deterministic and on a fixed time grid, so writing
the same window again rewrites the same points with the same values: re-running is safe.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from collector import profiles
from simulators.city import City, SimAp
from simulators.history import DEFAULT_UNREACHABLE_SHARE, count_rows, history_rows
from timeseries import MetricStore, Sample

DAY_S = 86_400.0
DEFAULT_STEP_S = 300.0
"""Five minutes: a month of 2,000 APs is 30 x 288 x 2,000 = 17.3 M samples, about 7 min
into the embedded store at its measured ~40 k samples/s (docs/benchmarks.md); at one
minute it would be 86 M samples, five times that."""

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY_S, "w": 7 * DAY_S}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")

Progress = Callable[[int, int], None]
"""Called after each batch with (samples written so far, samples in the whole window)."""


def parse_duration(text: str) -> float:
    """Seconds in a duration like ``30d``, ``12h``, ``90m``, ``3600s`` or plain ``3600``.

    Raises ValueError with a message fit for the command line for anything else, zero or
    negative durations included."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration; use a number with an optional unit s, m, h, d or w"
            " (e.g. 30d, 12h, 90m, 3600s or 3600)"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {text!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class HistoryReport:
    start: float
    end: float
    step_s: float
    aps: int
    samples: int
    values: int  # field values: the unit the store benchmarks count
    seconds: float

    @property
    def values_per_s(self) -> float:
        return self.values / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"simulated history: {self.samples:,} samples ({self.values:,} values) of"
            f" {self.aps} APs over {(self.end - self.start) / DAY_S:g} days every"
            f" {self.step_s:g} s, written in {self.seconds:.1f} s"
            f" ({self.values_per_s:,.0f} values/s)"
        )


def collector_profile(ap: SimAp) -> str:
    """The profile the collector's auto-detection picks for the AP's sysObjectID/sysDescr."""
    return profiles.detect(ap.vendor.sys_object_id, ap.model.sys_descr).name


def history_samples(
    city: City,
    start: float,
    end: float,
    step_s: float,
    *,
    unreachable_share: float = DEFAULT_UNREACHABLE_SHARE,
) -> Iterator[Sample]:
    """The city's past in [start, end) as the Samples the collector would have written."""
    blind = {ap.id for ap in city.aps if not profiles.get(collector_profile(ap)).client_columns}
    for row in history_rows(
        city,
        start,
        end,
        step_s,
        unreachable_share=unreachable_share,
        profile_of=collector_profile,
    ):
        fields = row.fields
        if blind and "clients" in fields and row.tags["ap"] in blind:
            fields = {name: value for name, value in fields.items() if name != "clients"}
        yield Sample(row.measurement, row.tags, fields, row.ts)


def write_history(
    city: City,
    store: MetricStore,
    *,
    days: float,
    step_s: float,
    end: float | None = None,
    batch: int = 5000,
    progress: Progress | None = None,
    unreachable_share: float = DEFAULT_UNREACHABLE_SHARE,
) -> HistoryReport:
    """Write ``days`` of the city's past up to ``end`` (now by default) into ``store``.

    Raises ValueError for a non-positive window or batch, or a step under one second, and
    StoreError if the store refuses a batch (batches written before it stay written; the
    rows being deterministic, running it again completes the window).
    """
    if not days > 0:
        raise ValueError(f"history needs a positive number of days, got {days!r}")
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch!r}")
    end = time.time() if end is None else end
    start = end - days * DAY_S
    total = count_rows(city, start, end, step_s)  # also validates the step
    started = time.perf_counter()
    samples = values = 0
    pending: list[Sample] = []
    for sample in history_samples(city, start, end, step_s, unreachable_share=unreachable_share):
        pending.append(sample)
        values += len(sample.fields)
        if len(pending) >= batch:
            store.write(pending)
            samples += len(pending)
            pending = []
            if progress is not None:
                progress(samples, total)
    if pending:
        store.write(pending)
        samples += len(pending)
        if progress is not None:
            progress(samples, total)
    return HistoryReport(
        start=start,
        end=end,
        step_s=step_s,
        aps=len(city.aps),
        samples=samples,
        values=values,
        seconds=time.perf_counter() - started,
    )
