"""What the collector keeps about each AP between polls: one record per AP.

Why one record: the engine used to keep health, counter readings, table layouts,
detected profiles and last SNMP fields in five dicts keyed by AP id, which had to be
kept in step by hand (and were never pruned). An :class:`ApRecord` holds them together,
and :class:`ApRecords` is the one place that creates, loads and drops them.

Nothing here is authoritative: the database holds state and counters (a status update
carries its poll as a delta), the record only what the next poll needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from collector import profiles
from collector.derive import CounterReading
from collector.health import ApHealth
from collector.poll import Layout, PollResult
from core.states import ApState, PollCause
from inventory.models import ApStatus
from inventory.queries import ApStatusUpdate, PollTarget
from timeseries import AP_MEASUREMENT, Sample

E = TypeVar("E", ApState, PollCause)


@dataclass
class ApRecord:
    health: ApHealth
    reading: CounterReading | None = None  # last counters, to derive rates from
    layout: Layout | None = None  # where static table rows were: read by GET next time
    detected_profile: str | None = None  # what detection found, for an ``auto`` AP
    snmp_fields: dict[str, float] = field(default_factory=dict)  # last SNMP answer

    @property
    def ap_id(self) -> str:
        return self.health.ap_id

    def profile_name(self, configured: str) -> str | None:
        """The profile to poll with: the configured one, or for ``auto`` the detected one
        (None until detection has run)."""
        return configured if configured != profiles.AUTO else self.detected_profile

    def remember(self, configured: str, result: PollResult) -> None:
        """Keep what the next polls need from an answered poll."""
        if not result.ok:
            return
        self.snmp_fields = result.fields
        if result.reading is not None:
            self.reading = result.reading
        self.layout = result.layout
        if configured == profiles.AUTO:
            self.detected_profile = result.profile

    def status_update(self, result: PollResult) -> ApStatusUpdate:
        """The status after ``result`` (already observed by the health): this one poll
        as the counters' delta."""
        h = self.health
        return ApStatusUpdate(
            ap_id=h.ap_id,
            state=h.state,
            since=h.since,
            last_seen=h.last_seen,
            last_poll=h.last_poll,
            consecutive_failures=h.failures,
            detected_profile=self.detected_profile or result.profile,
            last_error=h.last_error,
            last_cause=h.last_cause,
            attempted=1,
            answered=1 if result.ok else 0,
        )


class ApRecords:
    """Every AP's record, by AP id."""

    def __init__(self) -> None:
        self._by_id: dict[str, ApRecord] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def of(self, ap_id: str) -> ApRecord:
        """The AP's record, a fresh one (state unknown) the first time."""
        record = self._by_id.get(ap_id)
        if record is None:
            record = self._by_id[ap_id] = ApRecord(ApHealth(ap_id))
        return record

    def get(self, ap_id: str) -> ApRecord | None:
        return self._by_id.get(ap_id)

    def load(self, rows: Iterable[ApStatus]) -> None:
        """Carry state across restarts from the stored statuses, so "down since"
        survives a collector restart and an ``auto`` AP is not detected again."""
        for row in rows:
            self._by_id[row.ap_id] = ApRecord(
                ApHealth(
                    row.ap_id,
                    state=_enum(ApState, row.state) or ApState.UNKNOWN,
                    since=row.since,
                    last_seen=row.last_seen,
                    last_poll=row.last_poll,
                    failures=row.consecutive_failures,
                    last_error=row.last_error,
                    last_cause=_enum(PollCause, row.last_cause),
                ),
                detected_profile=row.detected_profile,
            )

    def keep_only(self, ap_ids: Iterable[str]) -> None:
        """Drop the records of APs no longer polled (deleted, disabled, another shard)."""
        keep = set(ap_ids)
        for ap_id in [a for a in self._by_id if a not in keep]:
            del self._by_id[ap_id]


def ap_sample(ap: PollTarget, profile: str, fields: dict[str, float], ts: float) -> Sample:
    """A sample of the AP measurement, tagged as every query groups it."""
    return Sample(
        measurement=AP_MEASUREMENT,
        tags={
            "ap": ap.ap_id,
            "site": ap.site_id,
            "district": ap.district_id or "",
            "partner": ap.partner_id or "",
            "profile": profile,
        },
        fields=fields,
        ts=ts,
    )


def _enum(kind: type[E], value: str | None) -> E | None:
    """``value`` as a member of ``kind``; None for None or a value this code does not
    know (a row written by a newer version): treated as never judged."""
    try:
        return None if value is None else kind(value)
    except ValueError:
        return None
