"""The one writer of incident rows (``incidents``, ``incident_aps``, ``incident_entries``).

The fault engine (opening, growing, resolving, reopening, merging) and the API (ack,
resolve, notes) both change incidents through these functions, so the lifecycle's rules
(which state may follow which, what each change leaves on the timeline) are written once.
Every function takes a Session and leaves the commit to its caller: the engine applies a
whole cycle in one transaction, the API commits a change with its audit row.

Readers get :class:`IncidentView` (plain values, no ORM object escapes a session). The
members of an incident are its AP ids with the site each was at when it joined; a member
that leaves is removed and the timeline says when (``ap_joined``/``ap_left`` entries whose
``detail`` is exactly the AP id, so a partner's view can keep only its own APs' entries).

Citizens' reports (:mod:`inventory.citizen_reports`) hang on an incident: each one that
joins raises its ``priority`` (:func:`add_citizen_report`), a merge moves them and the
priority to the parent, and resolving closes them (their phone numbers wiped), whoever
resolves it.

A change the stored state does not allow (acknowledging a resolved incident, acting on an
incident that does not exist) raises :class:`core.errors.ConflictError`: the API answers
it 409, and for the engine it means its picture of the incidents is stale.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from core.errors import ConflictError
from core.incidents import (
    RESPONSIBLE,
    SCOPE_OF,
    IncidentClass,
    IncidentScope,
    IncidentState,
    Responsible,
    Verdict,
)
from inventory import citizen_reports
from inventory.models import Incident, IncidentAp, IncidentEntry

__all__ = [
    "ACTIVE_STATES",
    "EntryKind",
    "IncidentView",
    "TimelineEntry",
    "acknowledge",
    "active_incidents",
    "add_citizen_report",
    "add_note",
    "members",
    "merge",
    "open_incident",
    "recently_resolved",
    "reopen",
    "resolve",
    "set_aps",
    "set_explanation",
    "timeline",
    "to_view",
    "views",
]

_EXPLANATION_LEN = 1000
_DETAIL_LEN = 1000
_ACTOR_LEN = 64

#: Open or acknowledged: the incidents still in progress.
ACTIVE_STATES: tuple[IncidentState, ...] = (IncidentState.OPEN, IncidentState.ACKNOWLEDGED)


class EntryKind(enum.StrEnum):
    """What a timeline entry records; values are the strings stored."""

    OPENED = "opened"  # detail: the explanation at opening
    EVIDENCE = "evidence"  # detail: which polls / transitions the engine saw
    AP_JOINED = "ap_joined"  # detail: exactly the AP id
    AP_LEFT = "ap_left"  # detail: exactly the AP id
    MEMBERS = "members"  # detail: the engine's words on why members changed
    EXPLAINED = "explained"  # detail: the new explanation
    ACKNOWLEDGED = "acknowledged"  # detail: the note, if any
    NOTE = "note"  # detail: the note
    RESOLVED = "resolved"  # detail: the note, if any (actor None: automatic)
    REOPENED = "reopened"  # detail: the engine's words, if any
    MERGED_INTO = "merged_into"  # detail: the parent's id
    MERGED_FROM = "merged_from"  # detail: the child's id
    # detail: "citizen report #<id>: <problem words> (<channel>)", never what the citizen
    # wrote nor their phone (the timeline is shown to every engineer, and to partners)
    CITIZEN_REPORT = "citizen_report"


#: Entries whose detail names one AP (a partner sees them only for its own APs).
AP_ENTRY_KINDS: frozenset[EntryKind] = frozenset({EntryKind.AP_JOINED, EntryKind.AP_LEFT})
#: Entries whose detail is the id of another incident.
LINK_ENTRY_KINDS: frozenset[EntryKind] = frozenset({EntryKind.MERGED_INTO, EntryKind.MERGED_FROM})


@dataclass(frozen=True)
class IncidentView:
    """One incident as read back; ``aps`` maps each member AP id to its site id."""

    id: int
    kind: IncidentClass
    scope_kind: IncidentScope
    scope_id: str
    district_id: str | None
    state: IncidentState
    opened_at: float
    updated_at: float
    acknowledged_at: float | None
    acknowledged_by: str | None
    resolved_at: float | None
    resolved_by: str | None
    responsible: Responsible
    explanation: str
    verdict: Verdict | None
    merged_into: int | None
    reopened: int
    aps: Mapping[str, str]
    # Raised by one per citizen report it received (merges add up): what people in the
    # street say weighs on what the operation centre does first.
    priority: int = 0
    citizen_reports: int = 0  # the reports it holds now (they follow merges)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def sites(self) -> frozenset[str]:
        return frozenset(self.aps.values())


@dataclass(frozen=True)
class TimelineEntry:
    """One timeline row (``actor`` None: the engine)."""

    id: int
    at: float
    kind: EntryKind
    actor: str | None
    detail: str | None


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]


def to_view(row: Incident, aps: Mapping[str, str], *, reports: int = 0) -> IncidentView:
    """``row`` as a view with ``aps`` as its members (all of them, or a scope's share) and
    ``reports`` citizen reports."""
    return IncidentView(
        id=row.id,
        kind=IncidentClass(row.kind),
        scope_kind=IncidentScope(row.scope_kind),
        scope_id=row.scope_id,
        district_id=row.district_id,
        state=IncidentState(row.state),
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        responsible=Responsible(row.responsible),
        explanation=row.explanation,
        verdict=None if row.verdict is None else Verdict(row.verdict),
        merged_into=row.merged_into,
        reopened=row.reopened,
        aps=dict(aps),
        priority=row.priority,
        citizen_reports=reports,
    )


def members(
    session: Session, incident_ids: Iterable[int], *, member_query: Select[IncidentAp] | None = None
) -> dict[int, dict[str, str]]:
    """Each incident's members (``ap_id -> site_id``, by AP id), in one query.

    ``member_query`` narrows the rows (a scope's members, from :mod:`inventory.scoping`);
    by default every member is read.
    """
    ids = list(incident_ids)
    found: dict[int, dict[str, str]] = {incident_id: {} for incident_id in ids}
    if not ids:
        return found
    query = member_query if member_query is not None else select(IncidentAp)
    query = query.where(IncidentAp.incident_id.in_(ids)).order_by(
        IncidentAp.incident_id, IncidentAp.ap_id
    )
    for member in session.scalars(query):
        found[member.incident_id][member.ap_id] = member.site_id
    return found


def views(
    session: Session, rows: Iterable[Incident], *, member_query: Select[IncidentAp] | None = None
) -> list[IncidentView]:
    """``rows`` as views, their members read in one query (see :func:`members`) and their
    citizen reports counted in another."""
    rows = list(rows)
    found = members(session, (row.id for row in rows), member_query=member_query)
    reports = citizen_reports.count_by_incident(session, (row.id for row in rows))
    return [to_view(row, found[row.id], reports=reports.get(row.id, 0)) for row in rows]


def active_incidents(session: Session) -> list[IncidentView]:
    """Every open or acknowledged incident, oldest first."""
    query = (
        select(Incident)
        .where(Incident.state.in_([state.value for state in ACTIVE_STATES]))
        .order_by(Incident.opened_at, Incident.id)
    )
    return views(session, session.scalars(query))


def recently_resolved(session: Session, *, since: float) -> list[IncidentView]:
    """Incidents resolved at or after ``since`` and not merged into another: the ones a
    recurrence reopens instead of duplicating. Newest resolution first."""
    query = (
        select(Incident)
        .where(
            Incident.state == IncidentState.RESOLVED.value,
            Incident.resolved_at >= since,
            Incident.merged_into.is_(None),
        )
        .order_by(Incident.resolved_at.desc(), Incident.id.desc())
    )
    return views(session, session.scalars(query))


def timeline(session: Session, incident_id: int) -> list[TimelineEntry]:
    """Every entry of an incident, in order (unscoped: the API reads through
    :func:`inventory.scoping.scoped_incident_entries`)."""
    query = (
        select(IncidentEntry)
        .where(IncidentEntry.incident_id == incident_id)
        .order_by(IncidentEntry.at, IncidentEntry.id)
    )
    return [to_entry(row) for row in session.scalars(query)]


def to_entry(row: IncidentEntry) -> TimelineEntry:
    return TimelineEntry(
        id=row.id, at=row.at, kind=EntryKind(row.kind), actor=row.actor, detail=row.detail
    )


# --- writers ----------------------------------------------------------------------------


def _entry(
    session: Session,
    incident_id: int,
    kind: EntryKind,
    *,
    now: float,
    actor: str | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        IncidentEntry(
            incident_id=incident_id,
            at=now,
            kind=kind.value,
            actor=_clip(actor, _ACTOR_LEN),
            detail=_clip(detail, _DETAIL_LEN),
        )
    )


def _row(session: Session, incident_id: int) -> Incident:
    # Locked and read afresh: the engine decides from rows it read earlier in its cycle,
    # and a person may resolve or acknowledge the incident through the API meanwhile. On
    # PostgreSQL FOR UPDATE waits for that transaction and returns what it committed, so
    # the check below sees it (no lost update); SQLite lets one writer at a time anyway.
    row = session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise ConflictError(f"incident {incident_id} does not exist")
    return row


def _active_row(session: Session, incident_id: int, doing: str) -> Incident:
    row = _row(session, incident_id)
    if row.state not in ACTIVE_STATES:
        raise ConflictError(f"incident {incident_id} is resolved: cannot {doing} it")
    return row


def _add_members(session: Session, incident_id: int, aps: Mapping[str, str], *, now: float) -> None:
    for ap_id in sorted(aps):
        session.add(IncidentAp(incident_id=incident_id, ap_id=ap_id, site_id=aps[ap_id], since=now))
        _entry(session, incident_id, EntryKind.AP_JOINED, now=now, detail=ap_id)


def _current(session: Session, incident_id: int) -> dict[str, IncidentAp]:
    query = select(IncidentAp).where(IncidentAp.incident_id == incident_id)
    return {member.ap_id: member for member in session.scalars(query)}


def open_incident(
    session: Session,
    *,
    kind: IncidentClass,
    scope_id: str,
    district_id: str | None,
    aps: Mapping[str, str],
    explanation: str,
    now: float,
    responsible: Responsible | None = None,
    evidence: str | None = None,
) -> int:
    """A new open incident with ``aps`` as members; its id (flushed, not committed).

    The scope kind follows from the class (``SCOPE_OF``), who must act defaults to the
    class's party (``RESPONSIBLE``).
    """
    kind = IncidentClass(kind)
    row = Incident(
        kind=kind.value,
        scope_kind=SCOPE_OF[kind].value,
        scope_id=scope_id,
        district_id=district_id,
        state=IncidentState.OPEN.value,
        opened_at=now,
        updated_at=now,
        responsible=(responsible or RESPONSIBLE[kind]).value,
        explanation=explanation[:_EXPLANATION_LEN],
        reopened=0,
    )
    session.add(row)
    session.flush()
    _entry(session, row.id, EntryKind.OPENED, now=now, detail=explanation)
    if evidence is not None:
        _entry(session, row.id, EntryKind.EVIDENCE, now=now, detail=evidence)
    _add_members(session, row.id, aps, now=now)
    session.flush()
    return row.id


def set_aps(
    session: Session,
    incident_id: int,
    aps: Mapping[str, str],
    *,
    now: float,
    detail: str | None = None,
) -> None:
    """Make the members exactly ``aps``: an entry per AP that joins or leaves (and one
    with ``detail`` when given). Unchanged members keep their ``since``; a member whose
    site changed is kept with the new site. Nothing changes when ``aps`` equals the
    members (so an engine cycle run twice writes nothing the second time)."""
    row = _row(session, incident_id)
    current = _current(session, incident_id)
    added = {ap_id: site for ap_id, site in aps.items() if ap_id not in current}
    removed = sorted(ap_id for ap_id in current if ap_id not in aps)
    moved = [m for ap_id, m in current.items() if ap_id in aps and m.site_id != aps[ap_id]]
    if not added and not removed and not moved:
        return
    for member in moved:
        member.site_id = aps[member.ap_id]
    if removed:
        session.execute(
            delete(IncidentAp).where(
                IncidentAp.incident_id == incident_id, IncidentAp.ap_id.in_(removed)
            )
        )
        for ap_id in removed:
            _entry(session, incident_id, EntryKind.AP_LEFT, now=now, detail=ap_id)
    _add_members(session, incident_id, added, now=now)
    if detail is not None and (added or removed):
        _entry(session, incident_id, EntryKind.MEMBERS, now=now, detail=detail)
    row.updated_at = now
    session.flush()


def set_explanation(session: Session, incident_id: int, explanation: str, *, now: float) -> None:
    """Replace the explanation (a timeline entry keeps the new words); no change, no
    entry."""
    row = _row(session, incident_id)
    clipped = explanation[:_EXPLANATION_LEN]
    if row.explanation == clipped:
        return
    row.explanation = clipped
    row.updated_at = now
    _entry(session, incident_id, EntryKind.EXPLAINED, now=now, detail=explanation)
    session.flush()


def resolve(
    session: Session,
    incident_id: int,
    *,
    now: float,
    actor: str | None = None,
    note: str | None = None,
    verdict: Verdict | None = None,
) -> None:
    """Resolve an open or acknowledged incident (``actor`` None: the engine, on
    recovery). Members stay, so the incident still lists what it covered. Its citizen
    reports are closed (their phone numbers wiped): whoever resolved it, it is dealt
    with."""
    row = _active_row(session, incident_id, "resolve")
    row.state = IncidentState.RESOLVED.value
    row.resolved_at = now
    row.resolved_by = _clip(actor, _ACTOR_LEN)
    if verdict is not None:
        row.verdict = Verdict(verdict).value
    row.updated_at = now
    _entry(session, incident_id, EntryKind.RESOLVED, now=now, actor=actor, detail=note)
    citizen_reports.close_for_incident(session, incident_id, now=now)
    session.flush()


def reopen(
    session: Session,
    incident_id: int,
    *,
    now: float,
    aps: Mapping[str, str],
    detail: str | None = None,
) -> None:
    """Open a resolved incident again (the same problem recurred within the window):
    its resolution, acknowledgement and verdict are cleared, ``reopened`` counts up and
    the members become ``aps``. An incident merged into another is not reopened (its
    parent is)."""
    row = _row(session, incident_id)
    if row.state != IncidentState.RESOLVED.value:
        raise ConflictError(f"incident {incident_id} is not resolved: cannot reopen it")
    if row.merged_into is not None:
        raise ConflictError(f"incident {incident_id} was merged into {row.merged_into}")
    row.state = IncidentState.OPEN.value
    row.resolved_at = None
    row.resolved_by = None
    row.acknowledged_at = None
    row.acknowledged_by = None
    row.verdict = None
    row.reopened += 1
    row.updated_at = now
    _entry(session, incident_id, EntryKind.REOPENED, now=now, detail=detail)
    session.flush()
    set_aps(session, incident_id, aps, now=now)


def merge(session: Session, child_id: int, into_id: int, *, now: float) -> None:
    """The child turned out to be part of the parent: the child is resolved with
    ``merged_into`` set, and its members join the parent (those already there keep
    their ``since``), its citizen reports (still open) and its priority too."""
    if child_id == into_id:
        raise ConflictError(f"incident {child_id} cannot be merged into itself")
    child = _active_row(session, child_id, "merge")
    parent = _active_row(session, into_id, "merge into")
    child_aps = {ap_id: m.site_id for ap_id, m in _current(session, child_id).items()}
    parent_current = _current(session, into_id)
    _add_members(
        session,
        into_id,
        {ap_id: site for ap_id, site in child_aps.items() if ap_id not in parent_current},
        now=now,
    )
    child.state = IncidentState.RESOLVED.value
    child.resolved_at = now
    child.resolved_by = None
    child.merged_into = into_id
    child.updated_at = now
    parent.priority += child.priority
    parent.updated_at = now
    citizen_reports.move(session, child_id, into_id)
    _entry(session, child_id, EntryKind.MERGED_INTO, now=now, detail=str(into_id))
    _entry(session, into_id, EntryKind.MERGED_FROM, now=now, detail=str(child_id))
    session.flush()


def add_citizen_report(session: Session, incident_id: int, *, detail: str, now: float) -> None:
    """A citizen report joined an active incident: its priority rises by one and the
    timeline says so with ``detail`` (the report's number and words, nothing personal)."""
    row = _active_row(session, incident_id, "add a citizen report to")
    row.priority += 1
    row.updated_at = now
    _entry(session, incident_id, EntryKind.CITIZEN_REPORT, now=now, detail=detail)
    session.flush()


def acknowledge(
    session: Session, incident_id: int, *, actor: str, note: str | None, now: float
) -> None:
    """Someone has taken an open incident in hand. Acknowledging a resolved incident, or
    one already acknowledged, is a conflict (the first acknowledgement stands)."""
    row = _active_row(session, incident_id, "acknowledge")
    if row.state == IncidentState.ACKNOWLEDGED.value:
        raise ConflictError(
            f"incident {incident_id} is already acknowledged by {row.acknowledged_by}"
        )
    row.state = IncidentState.ACKNOWLEDGED.value
    row.acknowledged_at = now
    row.acknowledged_by = _clip(actor, _ACTOR_LEN)
    row.updated_at = now
    _entry(session, incident_id, EntryKind.ACKNOWLEDGED, now=now, actor=actor, detail=note)
    session.flush()


def add_note(session: Session, incident_id: int, *, actor: str, note: str, now: float) -> None:
    """A note on the timeline, in any state (a resolved incident's post-mortem too)."""
    row = _row(session, incident_id)
    row.updated_at = now
    _entry(session, incident_id, EntryKind.NOTE, now=now, actor=actor, detail=note)
    session.flush()
