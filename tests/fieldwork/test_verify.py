"""A work order reaches ``verified`` from telemetry only: never while an AP of its site is
down, on its own once every enabled AP is up and one serves clients after the fix; and
then its citizen_reported incident is resolved."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from core.access import AuditAction, Principal, Role
from core.errors import ConflictError
from core.incidents import IncidentState
from fieldwork import orders
from fieldwork.verify import verify_fixed
from inventory import audit, work_orders
from inventory.db import transaction
from inventory.models import ApStatus, FieldTeamMember, Incident
from inventory.work_orders import OrderState
from tests.fieldwork.conftest import NOW
from timeseries.port import Latest

POLL_S = 60.0


def latest(at: float, **clients: float) -> dict[str, Latest]:
    return {
        ap: Latest(ap=ap, values={"clients": n}, times={"clients": at}) for ap, n in clients.items()
    }


def fixed_order(engine: Engine, at: float = NOW) -> int:
    """An order of t-1 on the incident, moved on site and fixed by "tech" at ``at``."""
    with transaction(engine) as s:
        order = orders.create(
            s, incident_id=1, site_id=None, team_id="t-1", note=None, actor="eng", now=at - 60
        )
        orders.work(s, order.id, OrderState.ON_SITE, actor="tech", now=at - 30)
        orders.work(s, order.id, OrderState.FIXED, actor="tech", now=at, note="new PSU")
    return order.id


def set_up(engine: Engine, *aps: str) -> None:
    with transaction(engine) as s:
        s.execute(update(ApStatus).where(ApStatus.ap_id.in_(aps)).values(state="up"))


def verify(engine: Engine, found: dict[str, Latest], now: float) -> list[int]:
    with transaction(engine) as s:
        return verify_fixed(s, found, now=now, poll_s=POLL_S)


def state(engine: Engine, order_id: int) -> OrderState:
    with Session(engine) as s:
        view = work_orders.get(s, order_id)
        assert view is not None
        return view.state


def test_not_verified_while_an_ap_is_down_then_on_its_own(engine: Engine) -> None:
    order = fixed_order(engine)
    # ap-2 still down, though ap-1 serves clients: not verified.
    set_up(engine, "ap-1")
    assert verify(engine, latest(NOW + 30, **{"ap-1": 5}), NOW + 40) == []
    assert state(engine, order) is OrderState.FIXED
    # Both up, but nobody connected yet: not verified.
    set_up(engine, "ap-2")
    assert verify(engine, latest(NOW + 90, **{"ap-1": 0, "ap-2": 0}), NOW + 100) == []
    # Clients back on one AP: verified, and the citizens' incident resolved with it.
    assert verify(engine, latest(NOW + 150, **{"ap-1": 0, "ap-2": 2}), NOW + 160) == [order]
    with Session(engine) as s:
        view = work_orders.get(s, order)
        assert view is not None and view.verified_at == NOW + 160
        incident = s.get_one(Incident, 1)
        assert (incident.state, incident.resolved_by) == (IncidentState.RESOLVED.value, None)
        kinds = [e.kind.value for e in work_orders.entries(s, order)]
        assert kinds == ["created", "assigned", "state", "state", "note", "verified"]
        rows, _ = audit.entries(s, action=AuditAction.WORK_ORDER_CHANGED)
        assert [(r.actor, r.target) for r in rows] == [("telemetry", f"work order {order}")]
    # Nothing left to verify: a second pass changes nothing.
    assert verify(engine, latest(NOW + 210, **{"ap-2": 3}), NOW + 220) == []


def test_clients_seen_before_the_fix_or_long_ago_do_not_count(engine: Engine) -> None:
    order = fixed_order(engine)
    set_up(engine, "ap-1", "ap-2")
    assert verify(engine, latest(NOW - 5, **{"ap-1": 9}), NOW + 10) == []  # before the fix
    stale = NOW + 10
    assert verify(engine, latest(stale, **{"ap-1": 9}), stale + 4 * POLL_S) == []
    assert state(engine, order) is OrderState.FIXED


def test_the_disabled_ap_does_not_count_and_an_order_not_fixed_is_left(engine: Engine) -> None:
    with transaction(engine) as s:
        on_site = orders.create(
            s, incident_id=1, site_id="s-1", team_id="t-1", note=None, actor="eng", now=NOW
        )
        orders.work(s, on_site.id, OrderState.ON_SITE, actor="tech", now=NOW)
    fixed = fixed_order(engine)
    set_up(engine, "ap-1", "ap-2")  # ap-3 (disabled) stays down
    assert verify(engine, latest(NOW + 30, **{"ap-1": 1}), NOW + 30) == [fixed]
    assert state(engine, on_site.id) is OrderState.ON_SITE


@pytest.mark.parametrize("wanted", [OrderState.VERIFIED, OrderState.NEW, OrderState.CANCELLED])
def test_a_person_cannot_set_verified_or_other_acts_states(
    engine: Engine, wanted: OrderState
) -> None:
    order = fixed_order(engine)
    with transaction(engine) as s, pytest.raises(orders.OrderError) as caught:
        orders.work(s, order, wanted, actor="tech", now=NOW + 1)
    assert caught.value.fields[0][0] == "state"
    if wanted is OrderState.VERIFIED:
        assert "telemetry" in caught.value.fields[0][1]
    assert state(engine, order) is OrderState.FIXED


def test_transitions_follow_the_table(engine: Engine) -> None:
    with transaction(engine) as s:
        order = orders.create(
            s, incident_id=1, site_id=None, team_id=None, note=None, actor="eng", now=NOW
        )
        assert order.state is OrderState.NEW
        with pytest.raises(ConflictError, match="new: it cannot become on_site"):
            orders.work(s, order.id, OrderState.ON_SITE, actor="tech", now=NOW)
        assert orders.assign(s, order.id, "t-1", actor="eng", now=NOW).state is OrderState.ASSIGNED
        orders.work(s, order.id, OrderState.ON_SITE, actor="tech", now=NOW)
        orders.work(s, order.id, OrderState.FIXED, actor="tech", now=NOW + 1)
        back = orders.work(s, order.id, OrderState.ON_SITE, actor="tech", now=NOW + 2)
        assert (back.state, back.fixed_at) == (OrderState.ON_SITE, None)
        assert orders.cancel(s, order.id, actor="eng", now=NOW + 3).state is OrderState.CANCELLED
        with pytest.raises(ConflictError):
            orders.assign(s, order.id, "t-1", actor="eng", now=NOW + 4)
        with pytest.raises(ConflictError, match="takes no notes"):
            orders.note(s, order.id, "late", actor="tech", now=NOW + 5)


def test_an_order_needs_an_active_incident_and_one_of_its_sites(engine: Engine) -> None:
    with transaction(engine) as s:
        with pytest.raises(orders.OrderError, match="site_id"):
            orders.create(s, incident_id=1, site_id="s-9", team_id=None, note=None,
                          actor="eng", now=NOW)  # fmt: skip
        with pytest.raises(orders.OrderError, match="team_id"):
            orders.create(s, incident_id=1, site_id=None, team_id="t-9", note=None,
                          actor="eng", now=NOW)  # fmt: skip
        with pytest.raises(orders.OrderError, match="incident_id"):
            orders.create(s, incident_id=99, site_id=None, team_id=None, note=None,
                          actor="eng", now=NOW)  # fmt: skip
        s.execute(update(Incident).values(state=IncidentState.RESOLVED.value))
        with pytest.raises(ConflictError, match="resolved"):
            orders.create(s, incident_id=1, site_id=None, team_id=None, note=None,
                          actor="eng", now=NOW)  # fmt: skip


def test_who_sees_which_orders(engine: Engine) -> None:
    with transaction(engine) as s:
        mine = orders.create(s, incident_id=1, site_id=None, team_id="t-1", note=None,
                             actor="eng", now=NOW)  # fmt: skip
        theirs = orders.create(s, incident_id=1, site_id=None, team_id="t-2", note=None,
                               actor="eng", now=NOW)  # fmt: skip
        tech_id = s.scalar(select(FieldTeamMember.user_id).where(
            FieldTeamMember.team_id == "t-1"))  # fmt: skip
        tech = Principal(user_id=tech_id, name="tech", role=Role.FIELD)
        engineer = Principal(user_id=None, name="eng", role=Role.ENGINEER)
        partner = Principal(user_id=None, name="p", role=Role.PARTNER, partner_id="p-1")
        assert orders.visible_teams(s, tech) == {"t-1"}
        assert orders.may_see(s, tech, mine) and not orders.may_see(s, tech, theirs)
        assert orders.visible_teams(s, engineer) is None
        assert orders.visible_teams(s, partner) == set()
        assert not orders.may_see(s, partner, mine)
