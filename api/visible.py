"""The one 404 for a row the caller may not see: the same answer as for an id that
does not exist, so the ids of other partners cannot be probed.

Every route that takes an AP, site, incident, maintenance window or partner id looks
it up here, so the "unknown or out of scope" answer is written once per kind of row.
"""

from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy.orm import Session

from core.access import Scope
from inventory import scoping
from inventory.models import AccessPoint, Incident, MaintenanceWindow, Partner, Site


def _not_found(what: str, given: object) -> HTTPException:
    return HTTPException(status_code=404, detail=f"no {what} with id {given!r}")


def visible_ap(session: Session, scope: Scope, ap_id: str) -> AccessPoint:
    ap = scoping.get_ap(session, scope, ap_id)
    if ap is None:
        raise _not_found("access point", ap_id)
    return ap


def visible_site(session: Session, scope: Scope, site_id: str) -> Site:
    site = scoping.get_site(session, scope, site_id)
    if site is None:
        raise _not_found("site", site_id)
    return site


def visible_incident(session: Session, scope: Scope, incident_id: int) -> Incident:
    row = scoping.get_incident(session, scope, incident_id)
    if row is None:
        raise _not_found("incident", incident_id)
    return row


def visible_window(session: Session, scope: Scope, window_id: int) -> MaintenanceWindow:
    row = scoping.get_window(session, scope, window_id)
    if row is None:
        raise _not_found("maintenance window", window_id)
    return row


def visible_partner(session: Session, scope: Scope, partner_id: str) -> Partner:
    row = scoping.get_partner(session, scope, partner_id)
    if row is None:
        raise _not_found("partner", partner_id)
    return row
