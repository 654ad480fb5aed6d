"""The one writer of citizens' reports (``citizen_reports``, ``report_photos``).

Personal data is handled here and nowhere else in the inventory: the free text and the
phone number are sealed with the :class:`~inventory.secretbox.SecretBox` before they are
stored, and opened only for :class:`ReportView` (an engineer's view, which shows no
phone once the report is closed). The phone number is kept only while someone may have
to call back or tell the citizen: a report closed by hand loses it at once; a report
closed because its incident was resolved keeps it, sealed, until the notifier has told
the citizen it works again (or, with nobody to tell them, just wiped it):
:func:`owed_notices` and :func:`wipe_phones`, the notifier's step
(``faults.notifier.tell_citizens``). The client's address is never stored,
only its keyed hash (:func:`hash_address`, a month key of :mod:`inventory.userkeys`), so
the per-address limit can count without knowing who.

Every function takes a Session and leaves the commit to its caller (the report is filed
in the same transaction as the incident it opens or joins).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from core.citizens import Channel, Match, Problem
from core.errors import ConflictError
from core.incidents import IncidentState
from inventory.models import CitizenReport, Incident, ReportPhoto, Site
from inventory.paging import page
from inventory.secretbox import SecretBox
from inventory.userkeys import MonthKeys, hash_value, month_of

__all__ = [
    "OwedNotice",
    "PhotoData",
    "ReportFilters",
    "ReportView",
    "close",
    "close_for_incident",
    "count_by_incident",
    "count_since",
    "existing_refs",
    "get",
    "hash_address",
    "insert",
    "move",
    "owed_notices",
    "photo",
    "problems_of",
    "views",
    "wipe_phones",
]

_REF_LEN = 100
_ACTOR_LEN = 64
# Refs per IN (...) list: far below SQLite's and PostgreSQL's bind-parameter limits.
_REFS_PER_QUERY = 500
# Keeps an address's hash apart from the other values hashed with the same month key
# (clients' MACs, user names): the same key, never the same input.
_ADDRESS_DOMAIN = "citizen-report-address:"


class PhotoData(Protocol):
    """A photo ready to store (``citizens.photos.Photo``: already re-encoded, with no
    EXIF). A protocol, so the inventory does not depend on the package above it."""

    @property
    def content_type(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def data(self) -> bytes: ...


@dataclass(frozen=True)
class ReportView:
    """One report as an engineer sees it: the text and phone opened (``phone`` None once
    the report is closed), the photo only said to exist (:func:`photo` reads it)."""

    id: int
    received_at: float
    channel: Channel
    problem: Problem
    lat: float | None
    lon: float | None
    site_id: str | None
    site_name: str | None
    distance_m: float | None
    match: Match
    incident_id: int | None
    text: str | None
    phone: str | None
    has_photo: bool
    filed_by: str | None
    external_ref: str | None
    closed_at: float | None

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class ReportFilters:
    """What a list of reports may be narrowed to (None: any). ``open``: True only the
    open reports, False only the closed ones."""

    site_id: str | None = None
    incident_id: int | None = None
    match: Match | None = None
    open: bool | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.site_id is not None:
            found.append(CitizenReport.site_id == self.site_id)
        if self.incident_id is not None:
            found.append(CitizenReport.incident_id == self.incident_id)
        if self.match is not None:
            found.append(CitizenReport.match == Match(self.match).value)
        if self.open is True:
            found.append(CitizenReport.closed_at.is_(None))
        elif self.open is False:
            found.append(CitizenReport.closed_at.is_not(None))
        return found


def hash_address(
    session: Session, keys: MonthKeys, address: str, *, now: float, tz: ZoneInfo
) -> str:
    """The client address as stored: HMAC with the month's key (made on first need), so
    the per-address limit counts within a month and nothing ties it to a person."""
    key = keys.key(session, month_of(now, tz), now=now)
    return hash_value(key, _ADDRESS_DOMAIN + address.strip())


def insert(
    session: Session,
    box: SecretBox,
    *,
    received_at: float,
    channel: Channel,
    problem: Problem,
    match: Match,
    lat: float | None = None,
    lon: float | None = None,
    site_id: str | None = None,
    distance_m: float | None = None,
    incident_id: int | None = None,
    text: str | None = None,
    phone: str | None = None,
    photo: PhotoData | None = None,
    address_hash: str | None = None,
    filed_by: str | None = None,
    external_ref: str | None = None,
) -> int:
    """A new report (text and phone sealed) and its photo; its id (flushed, not
    committed)."""
    row = CitizenReport(
        received_at=received_at,
        channel=Channel(channel).value,
        problem=Problem(problem).value,
        lat=lat,
        lon=lon,
        site_id=site_id,
        distance_m=distance_m,
        match=Match(match).value,
        incident_id=incident_id,
        text_sealed=box.seal(text) if text else None,
        phone_sealed=box.seal(phone) if phone else None,
        address_hash=address_hash,
        filed_by=None if filed_by is None else filed_by[:_ACTOR_LEN],
        external_ref=None if external_ref is None else external_ref[:_REF_LEN],
        closed_at=None,
    )
    session.add(row)
    session.flush()
    if photo is not None:
        session.add(
            ReportPhoto(
                report_id=row.id,
                content_type=photo.content_type,
                width=photo.width,
                height=photo.height,
                data=photo.data,
            )
        )
        session.flush()
    return row.id


def _views(session: Session, box: SecretBox, rows: list[CitizenReport]) -> list[ReportView]:
    """``rows`` as views; the site names and which have a photo in one query each."""
    site_ids = {row.site_id for row in rows if row.site_id is not None}
    names: dict[str, str] = {}
    if site_ids:
        query = select(Site.id, Site.name).where(Site.id.in_(site_ids))
        names = {site_id: name for site_id, name in session.execute(query)}
    ids = [row.id for row in rows]
    with_photo = (
        set(session.scalars(select(ReportPhoto.report_id).where(ReportPhoto.report_id.in_(ids))))
        if ids
        else set()
    )
    return [
        ReportView(
            id=row.id,
            received_at=row.received_at,
            channel=Channel(row.channel),
            problem=Problem(row.problem),
            lat=row.lat,
            lon=row.lon,
            site_id=row.site_id,
            site_name=None if row.site_id is None else names.get(row.site_id),
            distance_m=row.distance_m,
            match=Match(row.match),
            incident_id=row.incident_id,
            text=box.open(row.text_sealed),
            # A closed report's number may wait, sealed, for the notifier: not shown.
            phone=box.open(row.phone_sealed) if row.closed_at is None else None,
            has_photo=row.id in with_photo,
            filed_by=row.filed_by,
            external_ref=row.external_ref,
            closed_at=row.closed_at,
        )
        for row in rows
    ]


def views(
    session: Session,
    box: SecretBox,
    *,
    filters: ReportFilters | None = None,
    limit: int,
    offset: int = 0,
) -> tuple[list[ReportView], int]:
    """One page of the reports ``filters`` keeps, newest first, and how many it keeps."""
    query = select(CitizenReport).where(*(filters or ReportFilters()).conditions())
    rows, total = page(
        session,
        query,
        order_by=(CitizenReport.received_at.desc(), CitizenReport.id.desc()),
        limit=limit,
        offset=offset,
    )
    return _views(session, box, rows), total


def get(session: Session, box: SecretBox, report_id: int) -> ReportView | None:
    """One report; None when there is no such report."""
    row = session.get(CitizenReport, report_id)
    return None if row is None else _views(session, box, [row])[0]


def photo(session: Session, report_id: int) -> ReportPhoto | None:
    """The report's photo row (re-encoded bytes and type); None without one."""
    return session.get(ReportPhoto, report_id)


def close(session: Session, report_id: int, *, now: float) -> None:
    """Close one report by hand: its phone number is wiped. ConflictError when there is
    no such report or it is closed already (the first closing stands)."""
    row = session.get(CitizenReport, report_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise ConflictError(f"citizen report {report_id} does not exist")
    if row.closed_at is not None:
        raise ConflictError(f"citizen report {report_id} is already closed")
    row.closed_at = now
    row.phone_sealed = None
    session.flush()


def close_for_incident(session: Session, incident_id: int, *, now: float) -> int:
    """Close the open reports of a resolved incident; how many.

    Their phone numbers stay (sealed, no longer shown): the citizen may be told it works
    again, which only the notifier knows (the settings name the route, or none). Its
    next step queues the message and wipes the number (:func:`owed_notices`)."""
    result = session.execute(
        update(CitizenReport)
        .where(CitizenReport.incident_id == incident_id, CitizenReport.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class OwedNotice:
    """A closed report still holding a phone number. ``works_again``: its incident is
    resolved (the citizen may be told so); False: the report lost its incident (deleted,
    or left merged away), so there is nothing true to tell and the number only goes."""

    id: int
    site_name: str | None
    phone_sealed: str
    works_again: bool


def owed_notices(session: Session, *, limit: int) -> list[OwedNotice]:
    """Closed reports still holding a phone number, oldest closed first, at most
    ``limit``. A report whose incident is active again (reopened before the notifier's
    step, or merged into one still open) is left for later: "it works again" would be
    false now, and it is told when that incident is resolved."""
    query = (
        select(
            CitizenReport.id,
            Site.name,
            CitizenReport.phone_sealed,
            Incident.id,
            Incident.merged_into,
        )
        .outerjoin(Incident, Incident.id == CitizenReport.incident_id)
        .outerjoin(Site, Site.id == CitizenReport.site_id)
        .where(
            CitizenReport.closed_at.is_not(None),
            CitizenReport.phone_sealed.is_not(None),
            or_(Incident.id.is_(None), Incident.state == IncidentState.RESOLVED.value),
        )
        .order_by(CitizenReport.closed_at, CitizenReport.id)
        .limit(limit)
    )
    return [
        OwedNotice(
            id=report_id,
            site_name=site_name,
            phone_sealed=sealed,
            works_again=incident_id is not None and merged_into is None,
        )
        for report_id, site_name, sealed, incident_id, merged_into in session.execute(query)
        if sealed is not None  # so the query says; the type does not know
    ]


def wipe_phones(session: Session, report_ids: Iterable[int]) -> None:
    """Wipe the phone numbers of these closed reports (told, or nobody to tell them).

    ConflictError when one was wiped meanwhile: another notifier has dealt with it (a
    leader that lost its lease), and the caller's transaction, with the messages it
    queued, must roll back whole."""
    ids = sorted(set(report_ids))
    if not ids:
        return
    result = session.execute(
        update(CitizenReport)
        .where(
            CitizenReport.id.in_(ids),
            CitizenReport.closed_at.is_not(None),
            CitizenReport.phone_sealed.is_not(None),
        )
        .values(phone_sealed=None)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != len(ids):  # type: ignore[attr-defined]
        raise ConflictError("citizen reports' phone numbers were wiped meanwhile")


def move(session: Session, from_incident: int, to_incident: int) -> int:
    """The reports of an incident merged into another follow it; how many moved."""
    result = session.execute(
        update(CitizenReport)
        .where(CitizenReport.incident_id == from_incident)
        .values(incident_id=to_incident)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_by_incident(session: Session, incident_ids: Iterable[int]) -> dict[int, int]:
    """How many reports each incident holds (incidents with none are left out)."""
    ids = list(incident_ids)
    if not ids:
        return {}
    query = (
        select(CitizenReport.incident_id, func.count())
        .where(CitizenReport.incident_id.in_(ids))
        .group_by(CitizenReport.incident_id)
    )
    return {incident_id: int(n) for incident_id, n in session.execute(query) if incident_id}


def problems_of(session: Session, incident_id: int) -> list[Problem]:
    """The problem of each report an incident holds, oldest first (for its explanation)."""
    query = (
        select(CitizenReport.problem)
        .where(CitizenReport.incident_id == incident_id)
        .order_by(CitizenReport.received_at, CitizenReport.id)
    )
    return [Problem(value) for value in session.scalars(query)]


def count_since(
    session: Session,
    *,
    since: float,
    address_hash: str | None = None,
    site_id: str | None = None,
    channel: Channel | None = None,
) -> int:
    """Reports received at or after ``since`` (from one address, about one site, by one
    channel, when given): what the rate limits count."""
    conditions: list[ColumnElement[bool]] = [CitizenReport.received_at >= since]
    if address_hash is not None:
        conditions.append(CitizenReport.address_hash == address_hash)
    if site_id is not None:
        conditions.append(CitizenReport.site_id == site_id)
    if channel is not None:
        conditions.append(CitizenReport.channel == Channel(channel).value)
    found = session.scalar(select(func.count()).select_from(CitizenReport).where(*conditions))
    return int(found or 0)


def existing_refs(session: Session, refs: Iterable[str]) -> set[str]:
    """Which of ``refs`` were filed already (an import run again skips them)."""
    wanted = sorted(set(refs))
    found: set[str] = set()
    for start in range(0, len(wanted), _REFS_PER_QUERY):
        chunk = wanted[start : start + _REFS_PER_QUERY]
        query = select(CitizenReport.external_ref).where(CitizenReport.external_ref.in_(chunk))
        found |= {ref for ref in session.scalars(query) if ref is not None}
    return found
