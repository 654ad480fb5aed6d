"""Shapes of the sessions routes: hotspot sessions from RADIUS accounting and their
aggregates, as :mod:`inventory.sessions` reads them.

Octets leave under the names a person reads: ``bytes_up`` is what the user sent
(Acct-Input-Octets, the NAS's "input"), ``bytes_down`` what it received (Acct-Output-Octets).
``user_hash``/``station_hash`` are keyed monthly hashes of User-Name and the client's MAC,
never the values: shown to callers with ``sessions:identify`` (the staff who follow one
user's sessions across APs when a complaint comes in: admin, engineer), ``null`` for
everyone else (a planner counts, a partner reports). No MAC, IP address or user name
exists to show.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from api.times import utc
from inventory.sessions import SessionState, SessionSummary, SessionView, SummaryBy


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionPublic(_Model):
    id: int
    ap: str
    site: str  # the AP's site when the session began
    partner: str | None  # that site's partner then
    state: SessionState  # open, closed (Stop or NAS reset), lost (no packet for too long)
    started_at: datetime
    updated_at: datetime  # the last accounting packet
    stopped_at: datetime | None
    duration_s: float  # the latest Acct-Session-Time
    bytes_up: int  # from the user (Acct-Input-Octets, gigawords included)
    bytes_down: int  # to the user (Acct-Output-Octets, gigawords included)
    terminate_cause: str | None
    user_hash: str | None  # admin and engineer only; null also when the NAS sent no User-Name
    station_hash: str | None  # the client MAC's hash; admin and engineer only


class SessionsPublic(_Model):
    data: list[SessionPublic]
    count: int  # all sessions matching the filters, not the page size


class SessionSummaryPublic(_Model):
    group: str | None  # the AP, site or partner id; "city" for by=city; null: no partner
    sessions: int
    users: int  # distinct User-Name hashes, else the device's: an upper bound over months
    devices: int  # distinct MAC hashes: an upper bound over months
    duration_total_s: float
    duration_median_s: float | None  # over closed and lost sessions; null: none ended
    bytes_up: int
    bytes_down: int


class SessionSummariesPublic(_Model):
    by: SummaryBy
    start: datetime  # sessions that began in [start, end)
    end: datetime
    data: list[SessionSummaryPublic]
    count: int


def session_public(view: SessionView, *, hashes: bool) -> SessionPublic:
    """``view`` as the caller may see it: without the hashes unless ``hashes``."""
    return SessionPublic(
        id=view.id,
        ap=view.ap_id,
        site=view.site_id,
        partner=view.partner_id,
        state=view.state,
        started_at=utc(view.started_at),
        updated_at=utc(view.updated_at),
        stopped_at=utc(view.stopped_at),
        duration_s=view.duration_s,
        bytes_up=view.input_octets,
        bytes_down=view.output_octets,
        terminate_cause=view.terminate_cause,
        user_hash=view.user_hash if hashes else None,
        station_hash=view.station_hash if hashes else None,
    )


def summary_public(row: SessionSummary) -> SessionSummaryPublic:
    return SessionSummaryPublic(
        group=row.key,
        sessions=row.sessions,
        users=row.users,
        devices=row.devices,
        duration_total_s=row.duration_total_s,
        duration_median_s=row.duration_median_s,
        bytes_up=row.input_octets,
        bytes_down=row.output_octets,
    )


def summaries_public(
    rows: list[SessionSummary], *, by: SummaryBy, start: float, end: float
) -> SessionSummariesPublic:
    return SessionSummariesPublic(
        by=by,
        start=utc(start),
        end=utc(end),
        data=[summary_public(row) for row in rows],
        count=len(rows),
    )


def month_window(month: str, tz: ZoneInfo) -> tuple[float, float]:
    """[start, end) of ``month`` ("2026-11") in the city's time zone, as epoch seconds:
    the months the user hashes are keyed by (:func:`inventory.userkeys.month_of`), so
    unique users within one are exact. ValueError for anything but YYYY-MM."""
    try:
        year_text, month_text = month.split("-")
        if len(year_text) != 4 or len(month_text) != 2:
            raise ValueError
        year, number = int(year_text), int(month_text)
        first = datetime(year, number, 1, tzinfo=tz)
        after = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    except ValueError:
        raise ValueError(f"not a month: {month!r}; use YYYY-MM (e.g. 2026-11)") from None
    return first.timestamp(), after.timestamp()


def month_before(end: float, tz: ZoneInfo) -> float:
    """The start of the city month that ``end`` closes: the month it falls in, or the
    previous one when ``end`` is the very first instant of a month (so the window is never
    empty). The summary's default start: one month's figures, exact unique counts."""
    local = _local(end, tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz).timestamp()
    if start < end:
        return start
    before = _local(end - 1, tz)
    return datetime(before.year, before.month, 1, tzinfo=tz).timestamp()


def _local(ts: float, tz: ZoneInfo) -> datetime:
    """``ts`` in the city's time; past year 9999 there (the API takes times up to the last
    second of 9999 in UTC, already 10000 east of it), the last month a datetime holds."""
    try:
        return datetime.fromtimestamp(ts, tz)
    except (OverflowError, ValueError, OSError):
        return datetime.max.replace(tzinfo=tz)
