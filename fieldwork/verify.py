"""``verified`` from telemetry: a fix is not closed on a technician's word alone.

The fault engine calls :func:`verify_fixed` once per metric pass, in its cycle's
transaction (so a standby engine, fenced out, verifies nothing), with the newest samples
it has just read from the metric store. An order marked ``fixed`` becomes ``verified``
when, at its site,

- every enabled AP is up (the collector's ``ap_status``), and
- at least one of them reports ``clients`` > 0 in a sample taken after the order was
  marked fixed and recent enough to mean "now" (within :data:`STALE_POLLS` intervals of
  the poll that brings clients: the engine passes the slower of the SNMP and SSH polls,
  since some vendors' clients come over SSH): people are using the hotspot again.

A site with no enabled AP is never verified (there is nothing to see), and an order
stays ``fixed`` for as long as telemetry does not say so: the operation centre sees it
waiting, nothing goes back by itself. When it is verified and its incident is an active
``citizen_reported`` one, that incident is resolved (and with it the citizens' reports,
through :func:`inventory.incidents.resolve`); an engine's incident resolves by the
engine's own recovery rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from contextlib import suppress

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import AuditAction
from core.errors import ConflictError
from core.incidents import IncidentClass
from core.states import ApState
from inventory import audit, incidents, work_orders
from inventory.models import AccessPoint, ApStatus, Incident
from inventory.work_orders import OrderState, OrderView
from timeseries.port import Latest

__all__ = ["ACTOR", "CLIENTS", "STALE_POLLS", "verify_fixed"]

CLIENTS = "clients"
#: A newest value older than this many poll intervals is not "now" (as the metric
#: judges read it).
STALE_POLLS = 3.0
#: Who the audit log says verified an order.
ACTOR = "telemetry"


def _site_aps(session: Session, sites: set[str]) -> dict[str, dict[str, str | None]]:
    """Per site, its enabled APs and each one's state (None: never polled)."""
    query = (
        select(AccessPoint.site_id, AccessPoint.id, ApStatus.state)
        .outerjoin(ApStatus, ApStatus.ap_id == AccessPoint.id)
        .where(AccessPoint.site_id.in_(sorted(sites)), AccessPoint.enabled.is_(True))
    )
    found: dict[str, dict[str, str | None]] = defaultdict(dict)
    for site_id, ap_id, state in session.execute(query):
        found[site_id][ap_id] = state
    return found


def _evidence(
    order: OrderView,
    aps: Mapping[str, str | None],
    latest: Mapping[str, Latest],
    *,
    now: float,
    poll_s: float,
) -> str | None:
    """What telemetry shows that verifies the order, or None when it does not."""
    if not aps or any(state != ApState.UP.value for state in aps.values()):
        return None
    since = order.fixed_at if order.fixed_at is not None else order.updated_at
    serving: list[str] = []
    for ap_id in sorted(aps):
        found = latest.get(ap_id)
        if found is None:
            continue
        value, at = found.values.get(CLIENTS), found.times.get(CLIENTS)
        if value is None or at is None or at < since or now - at > STALE_POLLS * poll_s:
            continue
        if value > 0:
            serving.append(f"{ap_id} {value:.0f}")
    if not serving:
        return None
    return f"{len(aps)} of {len(aps)} enabled APs up; clients after the fix: {', '.join(serving)}"


def _resolve_citizens_incident(session: Session, order: OrderView, now: float) -> None:
    row = session.get(Incident, order.incident_id)
    if row is None or row.kind != IncidentClass.CITIZEN_REPORTED.value:
        return
    # Resolved or merged meanwhile (a ConflictError): nothing is left to close.
    with suppress(ConflictError):
        incidents.resolve(
            session, order.incident_id, now=now, note=f"work order {order.id} verified"
        )


def verify_fixed(
    session: Session, latest: Mapping[str, Latest], *, now: float, poll_s: float
) -> list[int]:
    """Move every ``fixed`` order whose site telemetry shows working to ``verified``;
    return their ids. ``latest``: the metric store's newest samples per AP (what
    ``MetricStore.latest`` returns; an AP missing from it has shown nothing);
    ``poll_s``: the poll interval. Flushes, never commits."""
    fixed = work_orders.fixed_orders(session)
    if not fixed:
        return []
    by_site = _site_aps(session, {order.site_id for order in fixed})
    verified: list[int] = []
    for order in fixed:
        evidence = _evidence(order, by_site.get(order.site_id, {}), latest, now=now, poll_s=poll_s)
        if evidence is None:
            continue
        # Read again under its lock: a technician may have sent it back on site meanwhile.
        if work_orders.locked(session, order.id).state is not OrderState.FIXED:
            continue
        work_orders.set_state(
            session, order.id, OrderState.VERIFIED, actor=None, now=now, detail=evidence
        )
        audit.record(
            session,
            AuditAction.WORK_ORDER_CHANGED,
            actor=ACTOR,
            target=f"work order {order.id}",
            detail=f"verified: {evidence}",
            now=now,
        )
        _resolve_citizens_incident(session, order, now)
        verified.append(order.id)
    return verified
