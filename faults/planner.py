"""Notification planning: which route must hear what, queued in the outbox.

One :func:`plan_once` is one transaction: it reads the incidents and what each route was
told (:mod:`inventory.notifications`), lets the pure rules of :mod:`faults.grouping` decide
per group, and writes the messages (outbox rows, ``pending``) together with the state that
says they were queued. All state is in SQL, so a planner restarted after a crash, or run
twice at the same moment on the same state, queues each message once; delivery
(:mod:`faults.delivery`, another transaction, another thread) never holds the planner up.

Routes (core.settings ``NotifyRoute``) pick incidents by who must act, class, partner
(an incident with a member AP at one of the partner's sites) and operator (an incident
about an uplink the operator runs, or at sites behind one). An incident once told stays
with the route, filter or not, until the route has heard it resolved. A partner's route
gets the partner's share of each incident only (:func:`inventory.scoping.incident_views`:
its own sites and APs, an explanation written from them), never the city-wide words.

:func:`plan_once` returns when it next has something due (a group wait ending, a repeat):
the loop sleeps until then, or until the engine may have changed incidents (its next
cycle), whichever is first, so repeats go out at exactly the interval asked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.access import Scope
from core.errors import ConflictError
from core.incidents import IncidentScope, IncidentState
from core.settings import NotifyRoute, Settings
from faults.grouping import (
    Change,
    GroupState,
    Message,
    MessageKind,
    Timing,
    Tracked,
    plan_group,
)
from faults.words import plural
from inventory import incidents, notifications, scoping
from inventory.db import transaction
from inventory.incidents import IncidentView
from inventory.notifications import Places, Told

__all__ = ["PlanReport", "message_id", "plan_once", "route_wants"]

log = logging.getLogger("citywifi.notify")

_SUBJECT_PREFIX = "[citywifi]"


@dataclass(frozen=True)
class PlanReport:
    """``queued``: messages put in the outbox; ``next_due``: when a group next has
    something due without any incident changing (None: nothing scheduled)."""

    queued: int
    next_due: float | None


def message_id(route: str, group_key: str, sequence: int) -> str:
    """The id receivers dedupe on: the same message has the same id on every attempt."""
    return f"{route}:{group_key}:{sequence}"


def plan_once(
    engine: Engine,
    settings: Settings,
    *,
    now: float,
    fence: Callable[[Session], bool] | None = None,
) -> PlanReport:
    """Plan every route's groups at ``now`` and queue what is due, in one transaction.

    When another planner changed a group meanwhile, nothing of this plan is kept (it
    queued the message) and the report asks to plan again at once. ``fence`` (the
    leader's fencing check, :meth:`faults.leader.Leader.fence`) runs first in the
    transaction; when it says no, nothing is planned."""
    routes = list(settings.notify_routes)
    if not routes:
        return PlanReport(queued=0, next_due=None)
    timing = Timing.from_settings(settings)
    try:
        with transaction(engine) as session:
            if fence is not None and not fence(session):
                return PlanReport(queued=0, next_due=None)
            return _plan(session, routes, timing, now=now)
    except ConflictError as exc:
        log.warning("notification plan at %.3f given up, planning again: %s", now, exc)
        return PlanReport(queued=0, next_due=now)


def route_wants(route: NotifyRoute, view: IncidentView, places: Places) -> bool:
    """Whether ``route``'s filters take ``view`` (every filter left empty takes all)."""
    if route.responsible and view.responsible not in route.responsible:
        return False
    if route.classes and view.kind not in route.classes:
        return False
    if route.partner is not None and not any(
        site in places.sites and places.sites[site].partner_id == route.partner
        for site in view.sites
    ):
        return False
    if route.operator is not None:
        uplinks = {places.sites[site].uplink_id for site in view.sites if site in places.sites}
        if view.scope_kind is IncidentScope.UPLINK:
            uplinks.add(view.scope_id)
        operators = {places.uplinks[u][1] for u in uplinks if u is not None and u in places.uplinks}
        if route.operator not in operators:
            return False
    return True


def _changed_at(view: IncidentView, told: IncidentState | None) -> float:
    """When ``view`` entered the state the route has not heard (starts its wait)."""
    if not view.active:
        return view.resolved_at if view.resolved_at is not None else view.updated_at
    if told is None:
        # A reopened incident never told: its first opening is old news.
        return view.opened_at if view.reopened == 0 else view.updated_at
    return view.updated_at  # told resolved (or acknowledged) and open again: reopened


def _groups_of(
    route: NotifyRoute,
    active: Sequence[IncidentView],
    by_id: Mapping[int, IncidentView],
    told: Mapping[int, Told],
    places: Places,
) -> dict[str, list[Tracked]]:
    """The route's incidents by group key: the active ones it wants or was told as
    active, and the resolved ones it was told as active (a resolved message is owed)."""
    found: dict[str, list[Tracked]] = {}
    seen: set[int] = set()
    for view in active:
        known = told.get(view.id)
        if known is not None and known.state is not IncidentState.RESOLVED:
            key = known.group_key
        elif route_wants(route, view, places):
            key = view.responsible.value
        else:
            continue
        seen.add(view.id)
        state = None if known is None else known.state
        found.setdefault(key, []).append(
            Tracked(view.id, view.state, state, _changed_at(view, state), view.merged_into)
        )
    for incident_id, known in told.items():
        if incident_id in seen or known.state is IncidentState.RESOLVED:
            continue
        view = by_id[incident_id]
        found.setdefault(known.group_key, []).append(
            Tracked(view.id, view.state, known.state, _changed_at(view, known.state),
                    view.merged_into)
        )  # fmt: skip
    return found


def _plan(
    session: Session, routes: Sequence[NotifyRoute], timing: Timing, *, now: float
) -> PlanReport:
    names = [route.name for route in routes]
    active = incidents.active_incidents(session)
    active_ids = {view.id for view in active}
    told = notifications.told_incidents(session, names, active_ids=active_ids)
    others = {i for per_route in told.values() for i in per_route} - active_ids
    by_id = {view.id: view for view in active}
    by_id.update(
        (view.id, view)
        for view in incidents.views(session, notifications.incident_rows(session, others))
    )
    places = notifications.places(session, (s for view in by_id.values() for s in view.sites))
    stored = notifications.groups(session, names)

    queued = 0
    next_due: float | None = None
    for route in routes:
        grouped = _groups_of(route, active, by_id, told[route.name], places)
        keys = set(grouped) | {key for (name, key) in stored if name == route.name}
        for key in sorted(keys):
            read = stored.get((route.name, key))
            state = (
                GroupState()
                if read is None
                else GroupState(read.pending_since, read.last_sent_at, read.sequence)
            )
            plan = plan_group(grouped.get(key, []), state, timing, now=now)
            notifications.save_group(
                session,
                route.name,
                key,
                read=read,
                pending_since=plan.state.pending_since,
                last_sent_at=plan.state.last_sent_at,
                sequence=plan.state.sequence,
            )
            if plan.message is not None:
                _queue(session, route, key, plan.message, by_id, places, now=now)
                notifications.record_told(session, route.name, key, plan.told, now=now)
                queued += 1
            if plan.next_due is not None:
                next_due = plan.next_due if next_due is None else min(next_due, plan.next_due)
    return PlanReport(queued=queued, next_due=next_due)


# --- the message ------------------------------------------------------------------------


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _shown(
    session: Session, route: NotifyRoute, ids: Iterable[int], by_id: Mapping[int, IncidentView]
) -> dict[int, IncidentView]:
    """The incidents as the route may see them: a partner's share, or all of each."""
    if route.partner is None:
        return {i: by_id[i] for i in ids}
    rows = notifications.incident_rows(session, ids)
    return {view.id: view for view in scoping.incident_views(session, Scope(route.partner), rows)}


def _incident(view: IncidentView, change: Change) -> dict[str, Any]:
    return {
        "id": view.id,
        "class": view.kind.value,
        "scope_kind": view.scope_kind.value,
        "scope_id": view.scope_id,
        "state": view.state.value,
        "change": change.value,
        "opened_at": _iso(view.opened_at),
        "resolved_at": _iso(view.resolved_at),
        "acknowledged_by": view.acknowledged_by,
        "responsible": view.responsible.value,
        "explanation": view.explanation,
        "verdict": None if view.verdict is None else view.verdict.value,
        "merged_into": view.merged_into,
        "sites": sorted(view.sites),
        "aps": len(view.aps),
    }


def _place(view: IncidentView, places: Places) -> str:
    """Where an incident is, in words the reader knows (names, not ids)."""

    def site_name(site: str) -> str:
        facts = places.sites.get(site)
        return site if facts is None else facts.name

    scope = view.scope_id
    if view.scope_kind is IncidentScope.DISTRICT and scope in places.districts:
        return places.districts[scope]
    if view.scope_kind is IncidentScope.UPLINK and scope in places.uplinks:
        name, operator = places.uplinks[scope]
        return f"uplink {name} ({operator})"
    if view.scope_kind is IncidentScope.SITE and scope:
        return site_name(scope)
    if view.scope_kind is IncidentScope.AP and scope:
        return f"{scope} at {site_name(view.aps[scope])}" if scope in view.aps else scope
    sites = sorted(view.sites)  # a partner's share whose scope names another's
    if not sites:
        return "your sites"
    return site_name(sites[0]) + (f" and {len(sites) - 1} more" if len(sites) > 1 else "")


def subject(
    group_key: str, kind: MessageKind, shown: Sequence[IncidentView], places: Places
) -> str:
    """E.g. "[citywifi] noc: 1 open — area_outage in Bekasi Timur (14 sites)"."""
    active = [view for view in shown if view.active]
    resolved = len(shown) - len(active)
    counts = [f"{len(active)} open"] + ([f"{resolved} resolved"] if resolved else [])
    reminder = " (reminder)" if kind is MessageKind.REPEAT else ""
    pool = active or list(shown)
    if not pool:
        return f"{_SUBJECT_PREFIX} {group_key}: {', '.join(counts)}{reminder}"
    head = min(pool, key=lambda view: (-len(view.sites), view.id))
    words = f"{head.kind.value} in {_place(head, places)} ({plural(len(head.sites), 'site')})"
    if len(pool) > 1:
        words += f" and {len(pool) - 1} more"
    return f"{_SUBJECT_PREFIX} {group_key}: {', '.join(counts)}{reminder} — {words}"


def _queue(
    session: Session,
    route: NotifyRoute,
    group_key: str,
    message: Message,
    by_id: Mapping[int, IncidentView],
    places: Places,
    *,
    now: float,
) -> None:
    shown = _shown(session, route, message.incident_ids, by_id)
    items = [(shown[i], change) for i, change in message.items if i in shown]
    views = [view for view, _ in items]
    ident = message_id(route.name, group_key, message.sequence)
    payload = {
        "id": ident,
        "route": route.name,
        "group": group_key,
        "kind": message.kind.value,
        "created_at": _iso(now),
        "incidents": [_incident(view, change) for view, change in items],
        "open": sum(1 for view in views if view.active),
        "resolved": sum(1 for view in views if not view.active),
    }
    notifications.queue(
        session,
        route=route.name,
        group_key=group_key,
        kind=message.kind.value,
        subject=subject(group_key, message.kind, views, places),
        payload=json.dumps(payload, ensure_ascii=False),
        now=now,
    )
    log.info(
        "queued %s %s for route %s: %d open, %d resolved",
        message.kind.value,
        ident,
        route.name,
        payload["open"],
        payload["resolved"],
    )
