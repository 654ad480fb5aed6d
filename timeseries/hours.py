"""What every backend's ``hourly()`` shares: the checked window and the bucket rule.

Kept out of the backends so the three agree by construction on which calls are caller
bugs (ValueError), which windows are empty, and which (group, hour) cells become a
:class:`~timeseries.port.HourBucket` — the quantities a bucket holds (polls, byte deltas,
clients), not any sample at all: an hour in which a group only reported, say, ``cpu_pct``
has no bucket on any backend, because the servers answer per quantity and an "any field"
count would cost VictoriaMetrics a read of every series.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from timeseries.port import GROUP_BY, HourBucket, to_ms

__all__ = ["HOUR_MS", "HOUR_S", "hour_bucket", "hour_span"]

HOUR_S = 3600
HOUR_MS = 3_600_000


def wanted_groups(keys: Collection[str] | None) -> set[str] | None:
    """The groups asked for: None for every group; an empty tag value is no group, so
    keys naming none leave an empty set (and an empty answer)."""
    return None if keys is None else {k for k in keys if k}


def hour_span(start: float, end: float, by: str) -> tuple[int, int] | None:
    """The hours [first, last) of an ``hourly(start, end, by)`` call, as hour numbers
    since the epoch; None when the window is empty (``end <= start``).

    Raises ValueError for a ``by`` that is no grouping tag, non-finite bounds or bounds
    that are not whole UTC hours: caller bugs, never data.
    """
    if by not in GROUP_BY:
        raise ValueError(f"hourly by must be one of {', '.join(GROUP_BY)}, got {by!r}")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"hourly window must be finite: {start=}, {end=}")
    start_ms, end_ms = to_ms(start), to_ms(end)
    if start_ms % HOUR_MS or end_ms % HOUR_MS:
        raise ValueError(f"hourly window must start and end on whole hours: {start=}, {end=}")
    if end_ms <= start_ms:
        return None
    return start_ms // HOUR_MS, end_ms // HOUR_MS


def hour_bucket(
    key: str,
    hour: int,
    polls: float,
    polls_ok: float,
    rx: float | None,
    tx: float | None,
    clients_max: float | None,
    clients_sum: float | None,
    clients_samples: float,
) -> HourBucket | None:
    """One (group, hour) cell as a bucket, or None when it holds none of the bucket's
    quantities (see the module docstring). Counts arrive as whatever number the backend
    answers (SQLite integers, JSON floats) and are rounded to ints here."""
    n_polls, n_clients = round(polls), round(clients_samples)
    if not n_polls and rx is None and tx is None and not n_clients:
        return None
    return HourBucket(
        key=key,
        hour=float(hour * HOUR_S),
        polls=n_polls,
        polls_ok=round(polls_ok),
        rx_bytes=None if rx is None else float(rx),
        tx_bytes=None if tx is None else float(tx),
        clients_max=None if clients_max is None or not n_clients else float(clients_max),
        clients_mean=float(clients_sum) / n_clients
        if n_clients and clients_sum is not None
        else None,
        clients_samples=n_clients,
    )
