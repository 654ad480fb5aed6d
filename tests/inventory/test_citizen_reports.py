"""Citizen report rows (inventory.citizen_reports) and what incidents do with them
(inventory.incidents: priority, counts, merge, resolve), on the run's database."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.citizens import Channel, Match, Problem
from core.errors import ConflictError
from core.incidents import IncidentClass
from inventory import citizen_reports, incidents
from inventory.citizen_reports import ReportFilters
from inventory.models import CitizenReport, Incident
from inventory.secretbox import SecretBox
from inventory.userkeys import MonthKeys
from tests.citizens.city import T0, TAMAN_APS, seed
from tests.fixtures.secret_scan import PersonalData

PHONES = ("+6281200000001", "+6281200000002", "+6281200000003")
JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """The hotspots of tests/citizens/city.py in a new inventory."""
    with Session(engine) as s:
        seed(s)
        s.commit()
        yield s


def citizens_incident(session: Session, now: float = T0) -> int:
    return incidents.open_incident(
        session, kind=IncidentClass.CITIZEN_REPORTED, scope_id="taman", district_id="d1",
        aps=TAMAN_APS, explanation="citizens report: no WiFi signal at Taman Kota", now=now,
    )  # fmt: skip


def add(
    session: Session,
    box: SecretBox,
    at: float,
    *,
    incident: int | None = None,
    site: str | None = "taman",
    phone: str | None = None,
    channel: Channel = Channel.WEB,
    address_hash: str | None = None,
    ref: str | None = None,
) -> int:
    return citizen_reports.insert(
        session, box, received_at=at, channel=channel, problem=Problem.NO_SIGNAL,
        match=Match.UNMATCHED if site is None else Match.JOINED, lat=-6.2, lon=106.8,
        site_id=site, distance_m=None if site is None else 3.0, incident_id=incident,
        phone=phone, text="kata warga", address_hash=address_hash, external_ref=ref,
    )  # fmt: skip


@pytest.fixture
def phones(personal_data: PersonalData) -> tuple[str, ...]:
    personal_data.names(PHONES)
    return PHONES


def test_views_newest_first_filtered_and_counted(
    session: Session, secret_box: SecretBox, phones: tuple[str, ...]
) -> None:
    incident = citizens_incident(session)
    first = add(session, secret_box, T0, incident=incident, phone=phones[0])
    second = add(session, secret_box, T0 + 10, site=None)
    third = add(session, secret_box, T0 + 20, incident=incident, phone=phones[1])
    citizen_reports.close(session, first, now=T0 + 30)
    listed, count = citizen_reports.views(session, secret_box, limit=2)
    assert ([v.id for v in listed], count) == ([third, second], 3)
    assert [v.id for v in citizen_reports.views(session, secret_box, limit=2, offset=2)[0]] == [
        first
    ]
    cases = {
        ReportFilters(site_id="taman"): [third, first],
        ReportFilters(incident_id=incident): [third, first],
        ReportFilters(match=Match.UNMATCHED): [second],
        ReportFilters(open=True): [third, second],
        ReportFilters(open=False): [first],
        ReportFilters(site_id="taman", open=True): [third],
    }
    for filters, want in cases.items():
        found, n = citizen_reports.views(session, secret_box, filters=filters, limit=50)
        assert ([v.id for v in found], n) == (want, len(want)), filters
    view = citizen_reports.get(session, secret_box, third)
    assert view is not None
    assert (view.site_name, view.text, view.phone, view.has_photo, view.open) == (
        "Taman Kota", "kata warga", phones[1], False, True,
    )  # fmt: skip
    assert citizen_reports.get(session, secret_box, 999) is None
    assert citizen_reports.photo(session, third) is None


def test_close_wipes_the_phone_once(
    session: Session, secret_box: SecretBox, phones: tuple[str, ...]
) -> None:
    report = add(session, secret_box, T0, phone=phones[0])
    citizen_reports.close(session, report, now=T0 + 5)
    row = session.get(CitizenReport, report)
    assert row is not None and (row.closed_at, row.phone_sealed) == (T0 + 5, None)
    with pytest.raises(ConflictError, match=rf"^citizen report {report} is already closed$"):
        citizen_reports.close(session, report, now=T0 + 6)
    with pytest.raises(ConflictError, match=r"^citizen report 999 does not exist$"):
        citizen_reports.close(session, 999, now=T0 + 6)


def test_count_since_for_the_rate_limits(session: Session, secret_box: SecretBox) -> None:
    a, b = "a" * 32, "b" * 32
    add(session, secret_box, T0, address_hash=a)
    add(session, secret_box, T0 + 10, address_hash=a, site="halte")
    add(session, secret_box, T0 + 20, address_hash=b, channel=Channel.CALL_CENTRE)
    assert citizen_reports.count_since(session, since=T0) == 3
    assert citizen_reports.count_since(session, since=T0 + 5) == 2
    assert citizen_reports.count_since(session, since=T0, address_hash=a) == 2
    assert citizen_reports.count_since(session, since=T0, site_id="taman") == 2
    assert citizen_reports.count_since(session, since=T0, site_id="taman", address_hash=a) == 1
    assert citizen_reports.count_since(session, since=T0, channel=Channel.WEB) == 2
    assert citizen_reports.count_since(session, since=T0 + 21) == 0


def test_hash_address_is_keyed_per_month(session: Session, secret_box: SecretBox) -> None:
    keys = MonthKeys(secret_box)
    january = citizen_reports.hash_address(session, keys, "203.0.113.7", now=T0, tz=JAKARTA)
    assert len(january) == 32 and "203.0.113.7" not in january
    again = citizen_reports.hash_address(session, keys, "203.0.113.7", now=T0 + 86_400, tz=JAKARTA)
    other = citizen_reports.hash_address(session, keys, "203.0.113.8", now=T0, tz=JAKARTA)
    february = citizen_reports.hash_address(
        session, keys, "203.0.113.7", now=T0 + 40 * 86_400, tz=JAKARTA
    )
    assert again == january and len({january, other, february}) == 3
    # Another process (keys read back from the database) hashes alike.
    fresh = MonthKeys(secret_box)
    assert citizen_reports.hash_address(session, fresh, "203.0.113.7", now=T0, tz=JAKARTA) == (
        january
    )


def test_existing_refs(session: Session, secret_box: SecretBox) -> None:
    add(session, secret_box, T0, ref="CC-1")
    add(session, secret_box, T0, ref="CC-2")
    refs = [f"CC-{n}" for n in range(1, 1200)]  # more than one IN list
    assert citizen_reports.existing_refs(session, refs) == {"CC-1", "CC-2"}
    assert citizen_reports.existing_refs(session, []) == set()


def test_an_incident_counts_its_reports_and_each_raises_its_priority(
    session: Session, secret_box: SecretBox
) -> None:
    incident = citizens_incident(session)
    for n in range(2):
        add(session, secret_box, T0 + n, incident=incident)
        incidents.add_citizen_report(
            session, incident, detail=f"citizen report #{n}: no WiFi signal (web)", now=T0 + n
        )
    (view,) = incidents.active_incidents(session)
    assert (view.priority, view.citizen_reports, view.updated_at) == (2, 2, T0 + 1)
    assert [e.kind for e in incidents.timeline(session, incident)][-2:] == [
        incidents.EntryKind.CITIZEN_REPORT,
        incidents.EntryKind.CITIZEN_REPORT,
    ]
    incidents.resolve(session, incident, now=T0 + 5)
    with pytest.raises(ConflictError, match="is resolved: cannot add a citizen report to it"):
        incidents.add_citizen_report(session, incident, detail="late", now=T0 + 6)


def test_merge_moves_the_reports_and_adds_the_priority(
    session: Session, secret_box: SecretBox, phones: tuple[str, ...]
) -> None:
    child = citizens_incident(session)
    for n in range(2):
        add(session, secret_box, T0 + n, incident=child, phone=phones[n])
        incidents.add_citizen_report(session, child, detail=f"#{n}", now=T0 + n)
    parent = incidents.open_incident(
        session, kind=IncidentClass.AP_DOWN, scope_id="taman-a", district_id="d1",
        aps={"taman-a": "taman"}, explanation="taman-a down", now=T0 + 5,
    )  # fmt: skip
    add(session, secret_box, T0 + 6, incident=parent, phone=phones[2])
    incidents.add_citizen_report(session, parent, detail="#2", now=T0 + 6)
    incidents.merge(session, child, parent, now=T0 + 10)
    views = {v.id: v for v in incidents.active_incidents(session)}
    rows = session.scalars(select(Incident).where(Incident.id == child))
    (merged,) = incidents.views(session, rows)
    assert (views[parent].priority, views[parent].citizen_reports) == (3, 3)
    assert (merged.merged_into, merged.citizen_reports) == (parent, 0)
    # Moved, not closed: the phones stay until the parent is resolved.
    stored = session.scalars(select(CitizenReport).order_by(CitizenReport.id)).all()
    assert [(r.incident_id, r.closed_at) for r in stored] == [(parent, None)] * 3
    assert all(r.phone_sealed is not None for r in stored)
    incidents.resolve(session, parent, now=T0 + 20, actor="ana")
    stored = session.scalars(
        select(CitizenReport).order_by(CitizenReport.id).execution_options(populate_existing=True)
    ).all()
    # Closed; the numbers wait, sealed, for the notifier (faults.notifier.tell_citizens).
    assert [(r.closed_at, r.phone_sealed is not None) for r in stored] == [(T0 + 20, True)] * 3
    views, _ = citizen_reports.views(session, secret_box, limit=10)
    assert [view.phone for view in views] == [None] * 3  # a closed report shows none
