"""The rules of field work: who sees which work order, which state may follow which, and
what each change needs; :mod:`inventory.work_orders` stores what these allow.

States: new → assigned → on_site → fixed → verified, and cancelled from any state before
verified. A manager (``work-orders:manage``) makes orders from incidents, gives them to a
team (again: ``assigned``) and cancels them; a technician (``work-orders:work``) moves
the orders of their own teams on site and fixed (and back on site from fixed, when the
fix did not hold), notes and one photo. ``verified`` is never set by a person: only
:mod:`fieldwork.verify`, from telemetry, sets it (a fix is not closed on a technician's
word alone), so asking for it is refused naming why.

Errors: :class:`OrderError` (a value breaks a rule: the API's 422 naming the field),
:class:`core.errors.ConflictError` (the stored state does not allow it: 409).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import Permission, Principal
from core.errors import ConflictError, InventoryError
from core.incidents import IncidentScope, IncidentState
from inventory import work_orders
from inventory.models import Incident, IncidentAp
from inventory.work_orders import OrderState, OrderView

__all__ = [
    "BY_TECHNICIAN",
    "TRANSITIONS",
    "VERIFIED_BY_TELEMETRY",
    "OrderError",
    "assign",
    "cancel",
    "create",
    "incident_sites",
    "may_see",
    "note",
    "photo",
    "visible_teams",
    "work",
]

#: Every state and the states that may follow it (by anyone: see BY_TECHNICIAN).
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.NEW: frozenset({OrderState.ASSIGNED, OrderState.CANCELLED}),
    OrderState.ASSIGNED: frozenset({OrderState.ASSIGNED, OrderState.ON_SITE, OrderState.CANCELLED}),
    OrderState.ON_SITE: frozenset({OrderState.ASSIGNED, OrderState.FIXED, OrderState.CANCELLED}),
    OrderState.FIXED: frozenset(
        {OrderState.ASSIGNED, OrderState.ON_SITE, OrderState.VERIFIED, OrderState.CANCELLED}
    ),
    OrderState.VERIFIED: frozenset(),
    OrderState.CANCELLED: frozenset(),
}

#: The states a technician sets with the state change (the rest have their own act).
BY_TECHNICIAN: frozenset[OrderState] = frozenset({OrderState.ON_SITE, OrderState.FIXED})

VERIFIED_BY_TELEMETRY = (
    "verified is never set by hand: it comes from telemetry, once every enabled AP of the "
    "site answers and at least one has clients again after the fix"
)
_OTHER_ACTS = {
    OrderState.NEW: "an order is new only until it is first assigned",
    OrderState.ASSIGNED: "an order is assigned by giving it to a team (assign)",
    OrderState.CANCELLED: "an order is cancelled by a manager (cancel)",
    OrderState.VERIFIED: VERIFIED_BY_TELEMETRY,
}


class OrderError(InventoryError):
    """A value breaks a rule; ``fields`` pairs each field with what is wrong."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields
        super().__init__([f"{field}: {message}" for field, message in fields])


# --- who sees what ----------------------------------------------------------------------


def visible_teams(session: Session, principal: Principal) -> set[str] | None:
    """The teams whose orders ``principal`` sees: None for all of them (a manager), the
    teams they are a member of (a technician), none for anyone else (a partner)."""
    if principal.may(Permission.WORK_ORDERS_MANAGE):
        return None
    if not principal.may(Permission.WORK_ORDERS_WORK) or principal.user_id is None:
        return set()
    return work_orders.teams_of(session, principal.user_id)


def may_see(session: Session, principal: Principal, order: OrderView) -> bool:
    teams = visible_teams(session, principal)
    return teams is None or (order.team_id is not None and order.team_id in teams)


# --- the acts ---------------------------------------------------------------------------


def incident_sites(session: Session, incident: Incident) -> set[str]:
    """The sites an incident is about: its members' sites, and its own site when it is
    about one."""
    query = select(IncidentAp.site_id).where(IncidentAp.incident_id == incident.id)
    sites = set(session.scalars(query))
    if incident.scope_kind == IncidentScope.SITE.value:
        sites.add(incident.scope_id)
    return sites


def _team_problem(session: Session, team_id: str) -> list[tuple[str, str]]:
    if work_orders.get_team(session, team_id) is None:
        return [("team_id", f"no field team with id {team_id!r}")]
    return []


def _note_problem(text: str | None, field: str = "note") -> list[tuple[str, str]]:
    if text is not None and (not text.strip() or len(text) > work_orders.MAX_NOTE):
        return [(field, f"1..{work_orders.MAX_NOTE} characters, not only spaces")]
    return []


def create(
    session: Session,
    *,
    incident_id: int,
    site_id: str | None,
    team_id: str | None,
    note: str | None,
    actor: str,
    now: float,
) -> OrderView:
    """An order for an active incident at one of its sites (``site_id`` None: its only
    site), given to ``team_id`` at once when named. An incident may have several orders
    (the city's team for the AP, the operator's for the backhaul)."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise OrderError([("incident_id", f"no incident with id {incident_id}")])
    if incident.merged_into is not None:
        raise ConflictError(
            f"incident {incident_id} was merged into {incident.merged_into}: "
            f"make the order from incident {incident.merged_into}"
        )
    if incident.state == IncidentState.RESOLVED.value:
        raise ConflictError(f"incident {incident_id} is resolved: nothing to send anyone for")
    sites = incident_sites(session, incident)
    problems: list[tuple[str, str]] = []
    if site_id is None:
        if len(sites) != 1:
            listed = ", ".join(sorted(sites)) or "none"
            problems.append(
                ("site_id", f"the incident covers {len(sites)} sites ({listed}): name one")
            )
        else:
            (site_id,) = sites
    elif site_id not in sites:
        problems.append(("site_id", f"site {site_id!r} is not one the incident covers"))
    if team_id is not None:
        problems += _team_problem(session, team_id)
    problems += _note_problem(note)
    if problems:
        raise OrderError(problems)
    assert site_id is not None
    return work_orders.insert(
        session,
        incident_id=incident_id,
        site_id=site_id,
        team_id=team_id,
        actor=actor,
        now=now,
        note=note,
    )


def _allowed(order: OrderView, state: OrderState) -> None:
    if state not in TRANSITIONS[order.state]:
        raise ConflictError(
            f"work order {order.id} is {order.state.value}: it cannot become {state.value}"
        )


def assign(session: Session, order_id: int, team_id: str, *, actor: str, now: float) -> OrderView:
    """Give the order to a team (a new one, or again): it is ``assigned``."""
    problems = _team_problem(session, team_id)
    if problems:
        raise OrderError(problems)
    order = work_orders.locked(session, order_id)
    _allowed(order, OrderState.ASSIGNED)
    return work_orders.set_team(session, order_id, team_id, actor=actor, now=now)


def work(
    session: Session,
    order_id: int,
    state: OrderState,
    *,
    actor: str,
    now: float,
    note: str | None = None,
) -> OrderView:
    """A technician's change: on site, or fixed (with an optional note). Any other state
    is an OrderError naming why (``verified`` above all: only telemetry sets it)."""
    state = OrderState(state)
    if state not in BY_TECHNICIAN:
        raise OrderError([("state", _OTHER_ACTS[state])])
    problems = _note_problem(note)
    if problems:
        raise OrderError(problems)
    order = work_orders.locked(session, order_id)
    _allowed(order, state)
    return work_orders.set_state(session, order_id, state, actor=actor, now=now, detail=note)


def cancel(
    session: Session, order_id: int, *, actor: str, now: float, reason: str | None = None
) -> OrderView:
    """A manager calls the work off (before it is verified)."""
    problems = _note_problem(reason, "reason")
    if problems:
        raise OrderError(problems)
    order = work_orders.locked(session, order_id)
    _allowed(order, OrderState.CANCELLED)
    return work_orders.set_state(
        session, order_id, OrderState.CANCELLED, actor=actor, now=now, detail=reason
    )


def note(session: Session, order_id: int, text: str, *, actor: str, now: float) -> OrderView:
    """A note on an order that is still open (a closed one's story is told)."""
    problems = _note_problem(text)
    if problems:
        raise OrderError(problems)
    order = work_orders.locked(session, order_id)
    if order.state not in work_orders.OPEN_STATES:
        raise ConflictError(f"work order {order_id} is {order.state.value}: it takes no notes")
    return work_orders.set_note(session, order_id, text, actor=actor, now=now)


def photo(
    session: Session,
    order_id: int,
    *,
    content_type: str,
    width: int,
    height: int,
    data: bytes,
    actor: str,
    now: float,
) -> OrderView:
    """The photo of the fix (already re-encoded by the caller: citizens.photos), on an
    order that is still open; it replaces an earlier one."""
    order = work_orders.locked(session, order_id)
    if order.state not in work_orders.OPEN_STATES:
        raise ConflictError(f"work order {order_id} is {order.state.value}: it takes no photo")
    return work_orders.set_photo(
        session, order_id, content_type=content_type, width=width, height=height, data=data,
        actor=actor, now=now,
    )  # fmt: skip
