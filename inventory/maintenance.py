"""Maintenance windows: the one module that reads and writes ``maintenance_windows``.

The fault engine asks :func:`windows_by_ap` which APs planned work covers (it opens no
incident for them, and a reboot inside a window is expected); the API and CLI create,
change and end windows through the functions here, so the rules (a window ends after it
starts, its scope exists) are written once.

The rules, and why:

- a window ends after it starts, lasts at most :data:`MAX_WINDOW_S` (31 days: a window
  that long silences a site's incidents for a month; longer work is a decommission, not
  maintenance), and ends in the future when created or changed (a window in the past
  would only rewrite why nothing was raised);
- its scope is a site or a district that exists;
- its reason says why, 1..:data:`MAX_REASON` characters (what an operator reads when a
  dead site has no incident);
- a window that has ended is history and cannot be changed or ended again, and one that
  has started keeps its start (the engine has already acted on it): both are
  :class:`core.errors.ConflictError`;
- ending a window that has not started yet deletes it (nothing ever happened under it);
  ending one that runs cuts it short at ``now``.

A value that breaks a rule raises :class:`WindowError`, which says which field it was
about, so the API can answer a 422 naming it and the CLI a one-line error.

Every function takes a Session and leaves the commit to its caller: the API and the CLI
commit a change together with its audit row.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from core.errors import ConflictError, InventoryError
from core.incidents import IncidentScope
from inventory.models import AccessPoint, District, MaintenanceWindow, Site

__all__ = [
    "MAX_REASON",
    "MAX_WINDOW_S",
    "SCOPE_KINDS",
    "Ended",
    "Span",
    "WindowError",
    "WindowState",
    "WindowView",
    "active_by_site",
    "change",
    "create",
    "end",
    "state_condition",
    "to_view",
    "windows_by_ap",
]

#: A window's span, (starts_at, ends_at), epoch seconds.
Span = tuple[float, float]

MAX_WINDOW_S = 31 * 86_400.0
MAX_REASON = 500  # maintenance_windows.reason
_ACTOR_LEN = 64  # maintenance_windows.created_by

#: What a window may cover: planned work is done on a site or on a whole district.
SCOPE_KINDS: frozenset[IncidentScope] = frozenset({IncidentScope.SITE, IncidentScope.DISTRICT})


class WindowState(enum.StrEnum):
    """Where a window stands at a given time."""

    SCHEDULED = "scheduled"  # starts later
    ACTIVE = "active"  # started, not ended
    ENDED = "ended"


class Ended(enum.StrEnum):
    """What :func:`end` did."""

    DELETED = "deleted"  # it had not started: removed
    CUT_SHORT = "cut_short"  # it was running: it now ends at ``now``


class WindowError(InventoryError):
    """A window's values break a rule; ``fields`` pairs each offending field with what
    is wrong, so the API can name the field in its 422."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields
        super().__init__([f"{field}: {message}" for field, message in fields])


@dataclass(frozen=True)
class WindowView:
    """One window as read back (plain values: no ORM object escapes a session).
    ``reason`` is None only in a partner's view (see inventory.scoping)."""

    id: int
    scope_kind: IncidentScope
    scope_id: str
    starts_at: float
    ends_at: float
    reason: str | None
    created_by: str
    created_at: float
    updated_at: float

    def state(self, now: float) -> WindowState:
        return _state(self.starts_at, self.ends_at, now)


def _state(starts_at: float, ends_at: float, now: float) -> WindowState:
    if ends_at <= now:
        return WindowState.ENDED
    if starts_at > now:
        return WindowState.SCHEDULED
    return WindowState.ACTIVE


def state_condition(state: WindowState, now: float) -> ColumnElement[bool]:
    """The SQL condition for windows in ``state`` at ``now`` (the same boundaries as
    :meth:`WindowView.state`)."""
    if state is WindowState.ENDED:
        return MaintenanceWindow.ends_at <= now
    if state is WindowState.SCHEDULED:
        return and_(MaintenanceWindow.starts_at > now, MaintenanceWindow.ends_at > now)
    return and_(MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now)


def to_view(row: MaintenanceWindow) -> WindowView:
    return WindowView(
        id=row.id,
        scope_kind=IncidentScope(row.scope_kind),
        scope_id=row.scope_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- the rules --------------------------------------------------------------------------


def _time_problems(starts_at: float, ends_at: float, now: float) -> list[tuple[str, str]]:
    if ends_at <= starts_at:
        return [("ends_at", "must be after starts_at")]
    if ends_at - starts_at > MAX_WINDOW_S:
        return [("ends_at", f"a window lasts at most {MAX_WINDOW_S / 86_400:g} days")]
    if ends_at <= now:
        return [("ends_at", "must be in the future: a window that has ended changes nothing")]
    return []


def _reason_problems(reason: str) -> list[tuple[str, str]]:
    if not reason.strip():
        return [("reason", "must say why (not empty)")]
    if len(reason) > MAX_REASON:
        return [("reason", f"at most {MAX_REASON} characters")]
    return []


def _scope_problems(
    session: Session, scope_kind: IncidentScope, scope_id: str
) -> list[tuple[str, str]]:
    if scope_kind not in SCOPE_KINDS:
        return [("scope_kind", "a window covers a site or a district")]
    model = Site if scope_kind is IncidentScope.SITE else District
    if session.get(model, scope_id) is None:
        return [("scope_id", f"no {scope_kind.value} with id {scope_id!r}")]
    return []


def _get(session: Session, window_id: int) -> MaintenanceWindow:
    row = session.get(MaintenanceWindow, window_id)
    if row is None:
        raise ConflictError(f"no maintenance window {window_id}")
    return row


# --- writers ----------------------------------------------------------------------------


def create(
    session: Session,
    *,
    scope_kind: IncidentScope,
    scope_id: str,
    starts_at: float,
    ends_at: float,
    reason: str,
    actor: str,
    now: float,
) -> WindowView:
    """A new window; :class:`WindowError` naming every field that breaks a rule."""
    problems = _scope_problems(session, scope_kind, scope_id)
    problems += _time_problems(starts_at, ends_at, now) + _reason_problems(reason)
    if problems:
        raise WindowError(problems)
    row = MaintenanceWindow(
        scope_kind=scope_kind.value,
        scope_id=scope_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=actor[:_ACTOR_LEN],
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return to_view(row)


def change(
    session: Session,
    window_id: int,
    *,
    starts_at: float | None = None,
    ends_at: float | None = None,
    reason: str | None = None,
    now: float,
) -> WindowView:
    """Change a window's times or reason (None: keep). ConflictError for an unknown or
    ended window, or a new start for one that has started; WindowError for values."""
    row = _get(session, window_id)
    state = _state(row.starts_at, row.ends_at, now)
    if state is WindowState.ENDED:
        raise ConflictError(f"maintenance window {window_id} has ended: it is history")
    if state is WindowState.ACTIVE and starts_at is not None and starts_at != row.starts_at:
        raise ConflictError(f"maintenance window {window_id} has started: its start cannot move")
    new_starts = row.starts_at if starts_at is None else starts_at
    new_ends = row.ends_at if ends_at is None else ends_at
    problems = _time_problems(new_starts, new_ends, now)
    if reason is not None:
        problems += _reason_problems(reason)
    if problems:
        raise WindowError(problems)
    row.starts_at, row.ends_at = new_starts, new_ends
    if reason is not None:
        row.reason = reason
    row.updated_at = now
    session.flush()
    return to_view(row)


def end(session: Session, window_id: int, *, now: float) -> tuple[WindowView, Ended]:
    """End a window now: delete it if it has not started, else cut it short. Returns the
    window as it was (deleted) or is now (cut short). ConflictError if unknown or ended."""
    row = _get(session, window_id)
    state = _state(row.starts_at, row.ends_at, now)
    if state is WindowState.ENDED:
        raise ConflictError(f"maintenance window {window_id} has already ended")
    if state is WindowState.SCHEDULED:
        view = to_view(row)
        session.delete(row)
        session.flush()
        return view, Ended.DELETED
    row.ends_at = now
    row.updated_at = now
    session.flush()
    return to_view(row), Ended.CUT_SHORT


# --- readers ----------------------------------------------------------------------------


def active_by_site(
    session: Session, sites: Iterable[tuple[str, str | None]], *, now: float
) -> dict[str, list[WindowView]]:
    """Per site id (of ``sites``: (site id, district id) pairs), the windows running at
    ``now`` that cover it, its own and its district's, earliest end first. One query."""
    pairs = list(sites)
    if not pairs:
        return {}
    site_ids = {site for site, _ in pairs}
    districts = {district for _, district in pairs if district is not None}
    covers = and_(
        MaintenanceWindow.scope_kind == IncidentScope.SITE.value,
        MaintenanceWindow.scope_id.in_(site_ids),
    )
    if districts:
        covers = or_(
            covers,
            and_(
                MaintenanceWindow.scope_kind == IncidentScope.DISTRICT.value,
                MaintenanceWindow.scope_id.in_(districts),
            ),
        )
    query = (
        select(MaintenanceWindow)
        .where(covers, state_condition(WindowState.ACTIVE, now))
        .order_by(MaintenanceWindow.ends_at, MaintenanceWindow.id)
    )
    by_site: dict[str, list[WindowView]] = defaultdict(list)
    by_district: dict[str, list[WindowView]] = defaultdict(list)
    for row in session.scalars(query):
        target = by_site if row.scope_kind == IncidentScope.SITE.value else by_district
        target[row.scope_id].append(to_view(row))
    found: dict[str, list[WindowView]] = {}
    for site, district in pairs:
        windows = by_site.get(site, []) + by_district.get(district or "", [])
        found[site] = sorted(windows, key=lambda w: (w.ends_at, w.id))
    return found


def windows_by_ap(session: Session, *, start: float, end: float) -> dict[str, list[Span]]:
    """Per AP id, the spans of the windows that cover it (through its site or its site's
    district) and overlap ``[start, end]``, earliest first. A window is over at its
    ``ends_at`` (as the API says "ended" then), so one ending exactly at ``start`` does
    not count. APs no window covers are
    absent. Two queries whatever the number of windows."""
    rows = session.execute(
        select(
            MaintenanceWindow.scope_kind,
            MaintenanceWindow.scope_id,
            MaintenanceWindow.starts_at,
            MaintenanceWindow.ends_at,
        ).where(MaintenanceWindow.starts_at <= end, MaintenanceWindow.ends_at > start)
    ).all()
    if not rows:
        return {}
    by_site: dict[str, list[Span]] = defaultdict(list)
    by_district: dict[str, list[Span]] = defaultdict(list)
    for kind, scope_id, starts, ends in rows:
        target = by_site if kind == IncidentScope.SITE.value else by_district
        target[scope_id].append((starts, ends))
    aps = session.execute(
        select(AccessPoint.id, AccessPoint.site_id, Site.district_id)
        .join(Site, AccessPoint.site_id == Site.id)
        .where((Site.id.in_(by_site.keys())) | (Site.district_id.in_(by_district.keys())))
    ).all()
    covered: dict[str, list[Span]] = {}
    for ap_id, site_id, district_id in aps:
        spans = by_site.get(site_id, []) + by_district.get(district_id or "", [])
        if spans:
            covered[ap_id] = sorted(spans)
    return covered
