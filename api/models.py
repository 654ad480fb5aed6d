"""Response shapes that exist only in the API (envelopes, status rows, series, health).

Inventory objects reuse the ``*Public`` models of :mod:`inventory.schemas`, which by
construction carry no credentials; nothing here may add a credential field either.
Times leave the API as timezone-aware UTC datetimes, which pydantic renders as ISO 8601
with a ``Z`` suffix, so every client parses one format.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from core.states import ApState, PollCause
from inventory.schemas import ApPublic


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApsPublic(_Out):
    data: list[ApPublic]
    count: int


class SeriesPoint(_Out):
    ts: datetime  # start of the step bucket
    value: float | None  # None where the bucket had no samples: a gap, not a zero


class SeriesPublic(_Out):
    ap: str
    metric: str
    unit: str
    start: datetime
    end: datetime
    step: float
    points: list[SeriesPoint]


class StatusRow(_Out):
    ap_id: str
    name: str
    site_id: str
    site_name: str
    district: str | None  # id
    district_name: str | None
    partner: str | None  # id
    partner_name: str | None
    state: ApState
    since: datetime | None
    last_seen: datetime | None
    # Live figures, only for an AP that is up: a down AP's last values are not current,
    # and showing them as such misleads (null, with last_sample_at to say "last known at").
    clients: float | None
    uptime_s: float | None
    rx_bps: float | None
    tx_bps: float | None
    last_sample_at: datetime | None = None  # newest metric sample of this AP, any state
    availability: float | None = None  # successful / attempted polls, 0..1, since first poll
    # The last poll: why it failed, or, for an AP that answered with unreadable values
    # (``degraded`` true), what was wrong: a degraded poll is not an outage.
    degraded: bool = False
    last_error: str | None = None


class ApEventPublic(_Out):
    """One change of an AP's state, as the collector recorded it."""

    id: int
    ap_id: str
    at: datetime
    from_state: ApState
    to_state: ApState
    cause: PollCause
    detail: str | None


class ApEventsPublic(_Out):
    data: list[ApEventPublic]
    count: int  # all events matching the filters, not the page size


class StatusSummary(_Out):
    up: int = 0
    down: int = 0
    unknown: int = 0
    total: int = 0


class StatusPublic(_Out):
    data: list[StatusRow]
    count: int
    summary: StatusSummary  # over every row matching the filters, not just this page


class HealthPublic(_Out):
    status: Literal["ok", "error"]
    inventory: str
    store: str
    message: str | None = None
