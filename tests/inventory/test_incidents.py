"""Incident rows (inventory.incidents) and their partner scoping (inventory.scoping), on
SQLite and PostgreSQL: the lifecycle's transitions, what each leaves on the timeline, the
conflicts, and what a partner sees of an incident that covers two partners."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.access import Scope
from core.errors import ConflictError
from core.incidents import IncidentClass, IncidentScope, IncidentState, Responsible, Verdict
from inventory import incidents, scoping
from inventory.incidents import EntryKind
from inventory.models import (
    AccessPoint,
    CredentialProfile,
    District,
    Incident,
    IncidentAp,
    Partner,
    Site,
)

T0 = 1_767_225_600.0
CITY = Scope()
BANK, TELCO = Scope("p-bank"), Scope("p-telco")
# Two partners' sites and one of the city's, two APs each.
SITES = {"s-bank": "p-bank", "s-telco": "p-telco", "s-city": None}
APS = {f"{site}-{n}": site for site in SITES for n in (1, 2)}


@pytest.fixture
def session(any_engine: Engine) -> Iterator[Session]:
    """A session on a new inventory (SQLite and PostgreSQL) holding :data:`SITES` and
    :data:`APS`."""
    with Session(any_engine) as s:
        s.add_all(
            [
                Partner(id="p-bank", name="Bank"),
                Partner(id="p-telco", name="Telco"),
                District(id="d-1", name="One"),
                CredentialProfile(id="cred", snmp_version="2c"),
            ]
        )
        s.flush()
        for site_id, partner in SITES.items():
            s.add(
                Site(
                    id=site_id, name=site_id, lat=0.0, lon=0.0, district_id="d-1",
                    partner_id=partner, kind="park", coverage_radius_m=50.0, status="active",
                )
            )  # fmt: skip
        s.flush()
        for ap_id, site_id in APS.items():
            s.add(
                AccessPoint(
                    id=ap_id, site_id=site_id, name=ap_id, host="127.0.0.1", snmp_port=161,
                    ssh_port=22, profile="auto", credential_id="cred", enabled=True,
                )
            )  # fmt: skip
        s.commit()
        yield s


def members(*ap_ids: str) -> dict[str, str]:
    return {ap_id: APS[ap_id] for ap_id in ap_ids}


def kinds(session: Session, incident_id: int) -> list[tuple[EntryKind, str | None]]:
    return [(e.kind, e.detail) for e in incidents.timeline(session, incident_id)]


def open_area(session: Session, *aps: str, now: float = T0) -> int:
    return incidents.open_incident(
        session,
        kind=IncidentClass.AREA_OUTAGE,
        scope_id="d-1",
        district_id="d-1",
        aps=members(*aps),
        explanation="3 sites in One stopped answering within 60 s",
        now=now,
    )


def test_open_gives_an_active_incident_with_its_members_and_defaults(session: Session) -> None:
    new = incidents.open_incident(
        session,
        kind=IncidentClass.SITE_DOWN,
        scope_id="s-bank",
        district_id="d-1",
        aps=members("s-bank-2", "s-bank-1"),
        explanation="s-bank stopped answering",
        now=T0,
        evidence="polls 17-19 timed out",
    )
    session.commit()
    (view,) = incidents.active_incidents(session)
    assert view.id == new
    assert view.kind is IncidentClass.SITE_DOWN and view.scope_kind is IncidentScope.SITE
    assert view.state is IncidentState.OPEN and view.active
    assert view.responsible is Responsible.NOC  # RESPONSIBLE's default for the class
    assert view.aps == members("s-bank-1", "s-bank-2") and view.sites == {"s-bank"}
    assert (view.opened_at, view.updated_at, view.reopened) == (T0, T0, 0)
    assert kinds(session, new) == [
        (EntryKind.OPENED, "s-bank stopped answering"),
        (EntryKind.EVIDENCE, "polls 17-19 timed out"),
        (EntryKind.AP_JOINED, "s-bank-1"),
        (EntryKind.AP_JOINED, "s-bank-2"),
    ]


def test_responsible_can_be_given(session: Session) -> None:
    new = incidents.open_incident(
        session, kind=IncidentClass.AP_DOWN, scope_id="s-city-1", district_id=None,
        aps=members("s-city-1"), explanation="x", now=T0, responsible=Responsible.SPONSOR,
    )  # fmt: skip
    assert incidents.active_incidents(session)[0].responsible is Responsible.SPONSOR
    assert incidents.active_incidents(session)[0].id == new


def test_set_aps_records_joins_and_leaves_and_is_idempotent(session: Session) -> None:
    new = open_area(session, "s-bank-1", "s-telco-1")
    incidents.set_aps(
        session, new, members("s-telco-1", "s-city-1"), now=T0 + 10, detail="s-bank-1 is back"
    )
    session.commit()
    assert incidents.active_incidents(session)[0].aps == members("s-city-1", "s-telco-1")
    assert kinds(session, new)[-3:] == [
        (EntryKind.AP_LEFT, "s-bank-1"),
        (EntryKind.AP_JOINED, "s-city-1"),
        (EntryKind.MEMBERS, "s-bank-1 is back"),
    ]
    query = select(IncidentAp.ap_id, IncidentAp.since).where(IncidentAp.incident_id == new)
    since = {ap_id: at for ap_id, at in session.execute(query)}
    assert since == {"s-telco-1": T0, "s-city-1": T0 + 10}  # an unchanged member keeps its since
    before = kinds(session, new)
    incidents.set_aps(session, new, members("s-telco-1", "s-city-1"), now=T0 + 20, detail="same")
    session.commit()
    assert kinds(session, new) == before
    assert incidents.active_incidents(session)[0].updated_at == T0 + 10


def test_explanation_changes_leave_an_entry_once(session: Session) -> None:
    new = open_area(session, "s-bank-1")
    incidents.set_explanation(session, new, "4 sites now", now=T0 + 5)
    incidents.set_explanation(session, new, "4 sites now", now=T0 + 6)
    session.commit()
    assert incidents.active_incidents(session)[0].explanation == "4 sites now"
    assert [k for k, _ in kinds(session, new)].count(EntryKind.EXPLAINED) == 1


def test_acknowledge_then_resolve_by_hand(session: Session) -> None:
    new = open_area(session, "s-bank-1")
    incidents.acknowledge(session, new, actor="eng", note="looking", now=T0 + 1)
    with pytest.raises(ConflictError, match="already acknowledged by eng"):
        incidents.acknowledge(session, new, actor="other", note=None, now=T0 + 2)
    incidents.resolve(session, new, now=T0 + 3, actor="eng", note="fixed")
    session.commit()
    assert incidents.active_incidents(session) == []
    (view,) = incidents.recently_resolved(session, since=T0)
    assert view.state is IncidentState.RESOLVED
    assert (view.acknowledged_by, view.acknowledged_at) == ("eng", T0 + 1)
    assert (view.resolved_by, view.resolved_at) == ("eng", T0 + 3)
    assert view.aps == members("s-bank-1")  # members stay: it still says what it covered
    with pytest.raises(ConflictError, match="is resolved"):
        incidents.acknowledge(session, new, actor="eng", note=None, now=T0 + 4)
    with pytest.raises(ConflictError, match="is resolved"):
        incidents.resolve(session, new, now=T0 + 4)
    incidents.add_note(session, new, actor="eng", note="post-mortem", now=T0 + 5)
    assert kinds(session, new)[-1] == (EntryKind.NOTE, "post-mortem")


def test_a_resolution_by_hand_meanwhile_is_never_overwritten(
    session: Session, any_engine: Engine
) -> None:
    """The engine reads the incident early in its cycle; a person resolves it through
    the API and commits before the engine writes: the engine's resolve is refused (its
    cycle fails and the next one sees the incident resolved), the person's stands."""
    new = open_area(session, "s-bank-1")
    session.commit()
    assert [v.id for v in incidents.active_incidents(session)] == [new]  # the engine's read
    with Session(any_engine) as api:
        incidents.resolve(api, new, now=T0 + 1, actor="eng", note="replaced the PSU")
        api.commit()
    with pytest.raises(ConflictError, match="is resolved"):
        incidents.resolve(session, new, now=T0 + 2, verdict=Verdict.POWER)
    session.rollback()
    (view,) = incidents.recently_resolved(session, since=T0)
    assert (view.resolved_by, view.resolved_at, view.verdict) == ("eng", T0 + 1, None)


def test_automatic_resolution_with_verdict_and_reopen(session: Session) -> None:
    new = open_area(session, "s-bank-1", "s-telco-1")
    incidents.acknowledge(session, new, actor="eng", note=None, now=T0 + 1)
    incidents.resolve(session, new, now=T0 + 100, verdict=Verdict.POWER)
    session.commit()
    assert incidents.recently_resolved(session, since=T0 + 101) == []
    (resolved,) = incidents.recently_resolved(session, since=T0 + 100)
    assert (resolved.resolved_by, resolved.verdict) == (None, Verdict.POWER)
    incidents.reopen(session, new, now=T0 + 150, aps=members("s-bank-1"), detail="again")
    session.commit()
    (view,) = incidents.active_incidents(session)
    assert view.state is IncidentState.OPEN and view.reopened == 1
    assert (view.resolved_at, view.acknowledged_by, view.verdict) == (None, None, None)
    assert view.aps == members("s-bank-1")
    assert kinds(session, new)[-2:] == [
        (EntryKind.REOPENED, "again"),
        (EntryKind.AP_LEFT, "s-telco-1"),
    ]
    with pytest.raises(ConflictError, match="not resolved"):
        incidents.reopen(session, new, now=T0 + 160, aps={})


def test_merge_moves_the_members_and_resolves_the_child(session: Session) -> None:
    child = incidents.open_incident(
        session, kind=IncidentClass.SITE_DOWN, scope_id="s-telco", district_id="d-1",
        aps=members("s-telco-1", "s-telco-2"), explanation="s-telco down", now=T0,
    )  # fmt: skip
    parent = open_area(session, "s-bank-1", "s-telco-1", now=T0 + 30)
    incidents.merge(session, child, parent, now=T0 + 40)
    session.commit()
    (view,) = incidents.active_incidents(session)
    assert view.id == parent
    assert view.aps == members("s-bank-1", "s-telco-1", "s-telco-2")
    # A merged incident is no reopen candidate: its parent carries the problem now.
    assert incidents.recently_resolved(session, since=T0) == []
    merged = session.get(Incident, child)
    assert merged is not None
    assert (merged.state, merged.merged_into, merged.resolved_at) == ("resolved", parent, T0 + 40)
    assert kinds(session, child)[-1] == (EntryKind.MERGED_INTO, str(parent))
    assert kinds(session, parent)[-2:] == [
        (EntryKind.AP_JOINED, "s-telco-2"),
        (EntryKind.MERGED_FROM, str(child)),
    ]
    with pytest.raises(ConflictError, match="merged into"):
        incidents.reopen(session, child, now=T0 + 50, aps={})
    with pytest.raises(ConflictError, match="itself"):
        incidents.merge(session, parent, parent, now=T0 + 50)


def test_unknown_incident_is_a_conflict(session: Session) -> None:
    with pytest.raises(ConflictError, match="incident 4242 does not exist"):
        incidents.add_note(session, 4242, actor="eng", note="x", now=T0)


def test_long_text_is_clipped_to_the_columns(session: Session) -> None:
    new = open_area(session, "s-bank-1")
    incidents.set_explanation(session, new, "x" * 5000, now=T0 + 1)
    incidents.add_note(session, new, actor="a" * 200, note="n" * 5000, now=T0 + 2)
    session.commit()  # PostgreSQL refuses a longer string than its column
    assert len(incidents.active_incidents(session)[0].explanation) == 1000
    last = incidents.timeline(session, new)[-1]
    assert (len(last.detail or ""), len(last.actor or "")) == (1000, 64)


# --- scoping ----------------------------------------------------------------------------


def test_a_partner_sees_an_incident_only_through_its_own_members(session: Session) -> None:
    both = open_area(session, "s-bank-1", "s-telco-1", "s-telco-2", "s-city-1")
    city_only = incidents.open_incident(
        session, kind=IncidentClass.SITE_DOWN, scope_id="s-city", district_id="d-1",
        aps=members("s-city-1", "s-city-2"), explanation="s-city down", now=T0,
    )  # fmt: skip
    telco_ap = incidents.open_incident(
        session, kind=IncidentClass.AP_DOWN, scope_id="s-telco-1", district_id="d-1",
        aps=members("s-telco-1"), explanation="s-telco-1 down", now=T0,
    )  # fmt: skip
    session.commit()

    def visible(scope: Scope) -> set[int]:
        return set(session.scalars(scoping.scoped_incidents(scope).with_only_columns(Incident.id)))

    assert visible(CITY) == {both, city_only, telco_ap}
    assert visible(BANK) == {both}
    assert visible(TELCO) == {both, telco_ap}
    assert scoping.get_incident(session, BANK, telco_ap) is None
    assert scoping.get_incident(session, BANK, 4242) is None
    assert scoping.get_incident(session, TELCO, telco_ap) is not None

    row = scoping.get_incident(session, BANK, both)
    assert row is not None
    (city_view,) = scoping.incident_views(session, CITY, [row])
    (bank_view,) = scoping.incident_views(session, BANK, [row])
    assert len(city_view.aps) == 4 and city_view.explanation.startswith("3 sites in One")
    assert bank_view.aps == members("s-bank-1")
    assert bank_view.explanation == (
        "Area outage (likely power): 1 of your APs at 1 of your sites (s-bank)."
    )
    assert bank_view.scope_id == "d-1"  # a district is no partner's


def test_a_partners_timeline_has_its_own_aps_and_no_free_text(session: Session) -> None:
    both = open_area(session, "s-bank-1", "s-telco-1")
    incidents.add_note(session, both, actor="eng", note="telco's s-telco-1 first", now=T0 + 1)
    incidents.set_aps(session, both, members("s-bank-1"), now=T0 + 2, detail="telco back")
    session.commit()
    bank = scoping.scoped_incident_timeline(session, BANK, both)
    assert [(e.kind, e.detail) for e in bank] == [
        (EntryKind.OPENED, None),
        (EntryKind.AP_JOINED, "s-bank-1"),
        (EntryKind.NOTE, None),
        (EntryKind.MEMBERS, None),
    ]
    assert bank[2].actor == "eng"
    assert len(scoping.scoped_incident_timeline(session, CITY, both)) == 6
    telco = scoping.scoped_incident_timeline(session, TELCO, both)
    assert (EntryKind.AP_LEFT, "s-telco-1") in [(e.kind, e.detail) for e in telco]
    assert all("s-bank" not in (e.detail or "") for e in telco)


def test_an_ap_or_site_outside_its_members_is_not_named(session: Session) -> None:
    """A site_down whose members a partner shares only through an AP that moved there:
    the scope's site id is the other partner's and is not shown."""
    new = incidents.open_incident(
        session, kind=IncidentClass.SITE_DOWN, scope_id="s-telco", district_id="d-1",
        aps={"s-telco-1": "s-telco", "s-bank-1": "s-bank"}, explanation="x", now=T0,
    )  # fmt: skip
    session.commit()
    row = scoping.get_incident(session, BANK, new)
    assert row is not None
    (view,) = scoping.incident_views(session, BANK, [row])
    assert view.scope_id == ""
    assert view.aps == members("s-bank-1")
