"""Maintenance window rows (inventory.maintenance) and their partner scoping
(inventory.scoping), on SQLite and PostgreSQL: the rules, the states, ending (delete or
cut short), the windows running on a site, and which windows a partner sees."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.access import Scope
from core.errors import ConflictError
from core.incidents import IncidentScope
from inventory import maintenance, scoping
from inventory.maintenance import MAX_WINDOW_S, Ended, WindowError, WindowState
from inventory.models import (
    AccessPoint,
    CredentialProfile,
    District,
    MaintenanceWindow,
    Partner,
    Site,
)

T0 = 1_767_225_600.0
HOUR = 3600.0
CITY = Scope()
BANK, TELCO = Scope("p-bank"), Scope("p-telco")
# site -> (district, partner): the bank has a site in d-1 only, the telco in d-1 and d-2.
SITES = {
    "s-bank": ("d-1", "p-bank"),
    "s-telco": ("d-1", "p-telco"),
    "s-telco2": ("d-2", "p-telco"),
    "s-city": ("d-3", None),
}
SITE, DISTRICT = IncidentScope.SITE, IncidentScope.DISTRICT


@pytest.fixture
def session(any_engine: Engine) -> Iterator[Session]:
    """A session on a new inventory (SQLite and PostgreSQL) holding :data:`SITES`, one AP
    at each."""
    with Session(any_engine) as s:
        s.add_all([Partner(id="p-bank", name="Bank"), Partner(id="p-telco", name="Telco")])
        s.add_all([District(id=d, name=d) for d in ("d-1", "d-2", "d-3")])
        s.add(CredentialProfile(id="cred", snmp_version="2c"))
        s.flush()
        for site_id, (district, partner) in SITES.items():
            s.add(
                Site(
                    id=site_id, name=site_id, lat=0.0, lon=0.0, district_id=district,
                    partner_id=partner, kind="park", coverage_radius_m=50.0, status="active",
                )
            )  # fmt: skip
        s.flush()
        for n, site_id in enumerate(SITES, start=1):
            s.add(
                AccessPoint(
                    id=f"ap-{site_id}", site_id=site_id, name=site_id, host=f"127.0.0.{n}",
                    snmp_port=161, ssh_port=22, profile="auto", credential_id="cred", enabled=True,
                )
            )  # fmt: skip
        s.commit()
        yield s


def make(
    session: Session,
    kind: IncidentScope = SITE,
    scope_id: str = "s-bank",
    starts: float = T0,
    ends: float = T0 + HOUR,
    reason: str = "firmware upgrade",
    now: float = T0,
) -> maintenance.WindowView:
    view = maintenance.create(
        session, scope_kind=kind, scope_id=scope_id, starts_at=starts, ends_at=ends,
        reason=reason, actor="ana", now=now,
    )  # fmt: skip
    session.commit()
    return view


def fields(excinfo: pytest.ExceptionInfo[WindowError]) -> list[str]:
    return [field for field, _ in excinfo.value.fields]


def test_create_reads_back_with_its_state_over_time(session: Session) -> None:
    view = make(session, starts=T0 + HOUR, ends=T0 + 2 * HOUR)
    assert (view.scope_kind, view.scope_id, view.reason, view.created_by) == (
        SITE, "s-bank", "firmware upgrade", "ana",
    )  # fmt: skip
    assert view.created_at == view.updated_at == T0
    assert view.state(T0) is WindowState.SCHEDULED
    assert view.state(T0 + HOUR) is WindowState.ACTIVE
    assert view.state(T0 + 2 * HOUR) is WindowState.ENDED
    for now, state in ((T0, "scheduled"), (T0 + HOUR, "active"), (T0 + 3 * HOUR, "ended")):
        query = select(MaintenanceWindow.id).where(
            maintenance.state_condition(WindowState(state), now)
        )
        assert session.scalars(query).all() == [view.id], state


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"ends": T0}, ["ends_at"]),  # not after its start
        ({"starts": T0 - 2 * HOUR, "ends": T0 - HOUR}, ["ends_at"]),  # already over
        ({"ends": T0 + MAX_WINDOW_S + 1}, ["ends_at"]),  # longer than 31 days
        ({"reason": "   "}, ["reason"]),
        ({"reason": "x" * 501}, ["reason"]),
        ({"scope_id": "s-nowhere"}, ["scope_id"]),
        ({"kind": DISTRICT, "scope_id": "s-bank"}, ["scope_id"]),  # a site is no district
        ({"kind": IncidentScope.AP, "scope_id": "ap-s-bank"}, ["scope_kind"]),
        (
            {"scope_id": "s-nowhere", "reason": "", "ends": T0 - 1},
            ["scope_id", "ends_at", "reason"],
        ),
    ],
)
def test_create_refuses_what_breaks_a_rule(
    session: Session, kwargs: dict[str, object], bad: list[str]
) -> None:
    with pytest.raises(WindowError) as excinfo:
        make(session, **kwargs)  # type: ignore[arg-type]
    assert fields(excinfo) == bad
    session.rollback()
    assert session.scalars(select(MaintenanceWindow)).all() == []


def test_the_longest_window_and_a_past_start_are_allowed(session: Session) -> None:
    longest = make(session, starts=T0, ends=T0 + MAX_WINDOW_S)
    started = make(session, kind=DISTRICT, scope_id="d-2", starts=T0 - HOUR, ends=T0 + HOUR)
    assert longest.ends_at - longest.starts_at == MAX_WINDOW_S
    assert started.state(T0) is WindowState.ACTIVE


def test_change_a_scheduled_window(session: Session) -> None:
    view = make(session, starts=T0 + HOUR, ends=T0 + 2 * HOUR)
    changed = maintenance.change(
        session, view.id, starts_at=T0 + 2 * HOUR, ends_at=T0 + 3 * HOUR, now=T0 + 60
    )
    assert (changed.starts_at, changed.ends_at, changed.reason) == (
        T0 + 2 * HOUR, T0 + 3 * HOUR, "firmware upgrade",
    )  # fmt: skip
    assert (changed.created_at, changed.updated_at) == (T0, T0 + 60)
    with pytest.raises(WindowError) as excinfo:
        maintenance.change(session, view.id, ends_at=T0 + HOUR, now=T0 + 60)
    assert fields(excinfo) == ["ends_at"]


def test_a_running_window_keeps_its_start_but_may_be_extended(session: Session) -> None:
    view = make(session, starts=T0, ends=T0 + HOUR)
    with pytest.raises(ConflictError, match="has started"):
        maintenance.change(session, view.id, starts_at=T0 + 60, now=T0 + 30)
    same_start = maintenance.change(
        session, view.id, starts_at=T0, ends_at=T0 + 2 * HOUR, reason="takes longer", now=T0 + 30
    )
    assert (same_start.ends_at, same_start.reason) == (T0 + 2 * HOUR, "takes longer")


def test_an_ended_window_is_history(session: Session) -> None:
    view = make(session)
    with pytest.raises(ConflictError, match="has ended"):
        maintenance.change(session, view.id, reason="too late", now=T0 + HOUR)
    with pytest.raises(ConflictError, match="already ended"):
        maintenance.end(session, view.id, now=T0 + 2 * HOUR)
    with pytest.raises(ConflictError, match="no maintenance window"):
        maintenance.end(session, 999, now=T0)


def test_end_deletes_a_window_not_started_and_cuts_a_running_one_short(
    session: Session,
) -> None:
    later = make(session, starts=T0 + HOUR, ends=T0 + 2 * HOUR)
    running = make(session, scope_id="s-telco")
    gone, done = maintenance.end(session, later.id, now=T0 + 60)
    assert (gone.id, done) == (later.id, Ended.DELETED)
    cut, done = maintenance.end(session, running.id, now=T0 + 60)
    assert done is Ended.CUT_SHORT
    assert (cut.ends_at, cut.updated_at) == (T0 + 60, T0 + 60)
    session.commit()
    assert [row.id for row in session.scalars(select(MaintenanceWindow))] == [running.id]
    assert cut.state(T0 + 61) is WindowState.ENDED


def test_active_by_site_reads_site_and_district_windows(session: Session) -> None:
    own = make(session, scope_id="s-bank", ends=T0 + 2 * HOUR)
    district = make(session, kind=DISTRICT, scope_id="d-1", ends=T0 + HOUR)
    make(session, scope_id="s-telco2", starts=T0 + HOUR, ends=T0 + 2 * HOUR)  # not yet
    found = maintenance.active_by_site(
        session, [(s, d) for s, (d, _) in SITES.items()], now=T0 + 60
    )
    assert {site: [w.id for w in ws] for site, ws in found.items()} == {
        "s-bank": [district.id, own.id],  # earliest end first
        "s-telco": [district.id],
        "s-telco2": [],
        "s-city": [],
    }
    assert maintenance.active_by_site(session, [], now=T0) == {}


def test_windows_by_ap_follows_the_new_windows(session: Session) -> None:
    make(session, kind=DISTRICT, scope_id="d-1")
    assert maintenance.windows_by_ap(session, start=T0 + 60, end=T0 + 60) == {
        "ap-s-bank": [(T0, T0 + HOUR)],
        "ap-s-telco": [(T0, T0 + HOUR)],
    }


def _visible(session: Session, scope: Scope) -> set[int]:
    return {row.id for row in session.scalars(scoping.scoped_windows(scope))}


def test_a_partner_sees_the_windows_covering_its_sites_without_reasons(
    session: Session,
) -> None:
    bank_site = make(session, scope_id="s-bank")
    telco_site = make(session, scope_id="s-telco")
    d1 = make(session, kind=DISTRICT, scope_id="d-1")
    d2 = make(session, kind=DISTRICT, scope_id="d-2")
    city = make(session, scope_id="s-city")
    assert _visible(session, CITY) == {bank_site.id, telco_site.id, d1.id, d2.id, city.id}
    assert _visible(session, BANK) == {bank_site.id, d1.id}
    assert _visible(session, TELCO) == {telco_site.id, d1.id, d2.id}
    assert scoping.get_window(session, BANK, telco_site.id) is None
    assert scoping.get_window(session, BANK, 999) is None
    row = scoping.get_window(session, BANK, d1.id)
    assert row is not None
    (seen,) = scoping.window_views(BANK, [row])
    assert seen.reason is None and seen.scope_id == "d-1"
    (whole,) = scoping.window_views(CITY, [row])
    assert whole.reason == "firmware upgrade"


def test_site_and_district_filters_stay_inside_the_scope(session: Session) -> None:
    bank_site = make(session, scope_id="s-bank")
    telco_site = make(session, scope_id="s-telco")
    d1 = make(session, kind=DISTRICT, scope_id="d-1")

    def ids(scope: Scope, condition: object) -> set[int]:
        query = scoping.scoped_windows(scope).where(condition)  # type: ignore[arg-type]
        return {row.id for row in session.scalars(query)}

    assert ids(CITY, scoping.windows_covering_site(CITY, "s-telco")) == {telco_site.id, d1.id}
    # The bank naming the telco's site learns nothing, not even its district's window.
    assert ids(BANK, scoping.windows_covering_site(BANK, "s-telco")) == set()
    assert ids(BANK, scoping.windows_covering_site(BANK, "s-bank")) == {bank_site.id, d1.id}
    assert ids(CITY, scoping.windows_in_district("d-1")) == {bank_site.id, telco_site.id, d1.id}
    assert ids(BANK, scoping.windows_in_district("d-1")) == {bank_site.id, d1.id}
    assert ids(CITY, scoping.windows_in_district("d-2")) == set()
