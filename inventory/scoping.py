"""The slice of the city a principal may see, as queries: the one partner filter.

Every route that reads sites, APs or incidents (and, in later issues, coverage rows and
report rows) starts from the queries built here out of a :class:`core.access.Scope`, so
no handler writes its own partner condition and no route can forget one: a route that
needs a row of a kind not covered here adds it here, next to the others.

A partner scope sees only the sites whose ``partner_id`` is its partner, and the APs at
those sites. A site without a partner belongs to the city, never to a partner: the SQL
comparison with NULL is never true, so such a site is out of every partner scope.

Single rows are looked up through the scoped query, not ``session.get``: an id outside the
scope then answers exactly like an unknown id (None), which is what lets the API answer
404 for both, so the ids of other partners cannot be probed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from core.access import Scope
from core.incidents import IncidentClass, IncidentScope
from inventory.incidents import AP_ENTRY_KINDS, IncidentView, TimelineEntry, to_entry, views
from inventory.maintenance import WindowView
from inventory.maintenance import to_view as window_view
from inventory.models import (
    AccessPoint,
    AccountingSession,
    Incident,
    IncidentAp,
    IncidentEntry,
    MaintenanceWindow,
    Partner,
    Site,
)


def site_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on ``Site`` that keep a query inside ``scope`` (none for the whole city).

    For queries that select their own columns (the status rows, later report rows): they
    must join ``Site`` and add these to their ``where``.
    """
    if scope.whole_city:
        return []
    return [Site.partner_id == scope.partner_id]


def accounting_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on ``AccountingSession`` that keep a query inside ``scope``.

    A session belongs to the partner of its site when it began (stored with it): a
    sponsor counts what its site did then, whatever moved since.
    """
    if scope.whole_city:
        return []
    return [AccountingSession.partner_id == scope.partner_id]


def scoped_sites(scope: Scope) -> Select[Site]:
    """Every site in ``scope``; callers add their own filters, order and paging."""
    return select(Site).where(*site_conditions(scope))


def scoped_aps(scope: Scope) -> Select[AccessPoint]:
    """Every AP in ``scope``, joined with its ``Site`` (so site filters can be added)."""
    return (
        select(AccessPoint)
        .join(Site, AccessPoint.site_id == Site.id)
        .where(*site_conditions(scope))
    )


def get_site(session: Session, scope: Scope, site_id: str) -> Site | None:
    """The site, or None when there is none with that id *or* it is outside ``scope``."""
    return session.scalars(scoped_sites(scope).where(Site.id == site_id)).one_or_none()


def get_ap(session: Session, scope: Scope, ap_id: str) -> AccessPoint | None:
    """The AP, or None when there is none with that id *or* it is outside ``scope``."""
    return session.scalars(scoped_aps(scope).where(AccessPoint.id == ap_id)).one_or_none()


def get_partner(session: Session, scope: Scope, partner_id: str) -> Partner | None:
    """The partner, or None when there is none with that id *or* it is not ``scope``'s
    own (a partner sees itself; the city's staff every partner)."""
    if scope.partner_id not in (None, partner_id):
        return None
    return session.get(Partner, partner_id)


# --- incidents --------------------------------------------------------------------------
#
# A partner sees an incident iff at least one member AP was at one of its sites when it
# joined (``IncidentAp.site_id``, kept so an incident reads the same after an AP moves).
# What it sees of one is only its share: its own members, counts made from them, an
# explanation written from them (the stored one speaks of the whole city: "14 sites in
# Bekasi Timur"), the scope's id only when it names one of its own APs or sites (or an
# uplink or district, which belong to no partner), and a timeline without the engine's
# and staff's free text (which may name anything) and with AP entries for its APs only.


def scoped_incident_members(scope: Scope) -> Select[IncidentAp]:
    """Every incident member in ``scope`` (all of them for the whole city)."""
    query = select(IncidentAp)
    if scope.whole_city:
        return query
    return query.join(Site, IncidentAp.site_id == Site.id).where(*site_conditions(scope))


def scoped_incidents(scope: Scope) -> Select[Incident]:
    """Every incident with at least one member in ``scope``; callers add filters, order
    and paging."""
    query = select(Incident)
    if scope.whole_city:
        return query
    visible = select(IncidentAp.incident_id).join(Site, IncidentAp.site_id == Site.id)
    return query.where(Incident.id.in_(visible.where(*site_conditions(scope))))


def get_incident(session: Session, scope: Scope, incident_id: int) -> Incident | None:
    """The incident, or None when there is none with that id *or* none of its members is
    in ``scope``."""
    query = scoped_incidents(scope).where(Incident.id == incident_id)
    return session.scalars(query).one_or_none()


def incident_views(session: Session, scope: Scope, rows: list[Incident]) -> list[IncidentView]:
    """``rows`` (read through :func:`scoped_incidents`) as ``scope`` may see them."""
    found = views(session, rows, member_query=scoped_incident_members(scope))
    if scope.whole_city:
        return found
    return [_partner_share(view) for view in found]


def _partner_share(view: IncidentView) -> IncidentView:
    scope_id = view.scope_id
    if view.scope_kind is IncidentScope.AP and scope_id not in view.aps:
        scope_id = ""
    if view.scope_kind is IncidentScope.SITE and scope_id not in view.sites:
        scope_id = ""
    return replace(view, scope_id=scope_id, explanation=share_explanation(view.kind, view.aps))


_WORDS: dict[IncidentClass, str] = {
    IncidentClass.AP_DOWN: "access point not answering",
    IncidentClass.SITE_DOWN: "site not answering",
    IncidentClass.UPLINK_DOWN: "shared uplink down",
    IncidentClass.AREA_OUTAGE: "area outage (likely power)",
    IncidentClass.SILENT_FAILURE: "access point answers but serves no clients",
    IncidentClass.OVERLOAD: "access point overloaded",
    IncidentClass.BACKHAUL_SATURATED: "uplink saturated",
    IncidentClass.FLAPPING: "access point flapping",
    IncidentClass.UNEXPECTED_REBOOT: "access point rebooted unexpectedly",
}
_SHOWN_SITES = 5


def share_explanation(kind: IncidentClass, aps: Mapping[str, str]) -> str:
    """The explanation a partner reads: the class in words and its own members only
    (never the city-wide counts of the stored explanation)."""
    sites = sorted(set(aps.values()))
    shown = ", ".join(sites[:_SHOWN_SITES]) + (", ..." if len(sites) > _SHOWN_SITES else "")
    return (
        f"{_WORDS[kind].capitalize()}: {len(aps)} of your APs at "
        f"{len(sites)} of your sites ({shown})."
    )


def scoped_incident_timeline(
    session: Session, scope: Scope, incident_id: int
) -> list[TimelineEntry]:
    """The incident's timeline as ``scope`` may see it, oldest first."""
    query = (
        select(IncidentEntry)
        .where(IncidentEntry.incident_id == incident_id)
        .order_by(IncidentEntry.at, IncidentEntry.id)
    )
    entries = [to_entry(row) for row in session.scalars(query)]
    if scope.whole_city:
        return entries
    named = {entry.detail for entry in entries if entry.kind in AP_ENTRY_KINDS}
    own_query = scoped_aps(scope).where(AccessPoint.id.in_(named))
    own_aps = {ap.id for ap in session.scalars(own_query)} if named else set()
    shown: list[TimelineEntry] = []
    for entry in entries:
        if entry.kind in AP_ENTRY_KINDS:
            if entry.detail in own_aps:
                shown.append(entry)
        else:
            shown.append(replace(entry, detail=None))
    return shown


# --- maintenance windows ----------------------------------------------------------------
#
# A partner sees the windows that cover any of its sites: a site window of one of its own
# sites, a district window of a district where it has a site. Of each it sees the times,
# the scope and who made it, never the reason: the staff's free text may name anything
# (another partner's site, a contractor), as on an incident's timeline.


def scoped_windows(scope: Scope) -> Select[MaintenanceWindow]:
    """Every maintenance window in ``scope``; callers add filters, order and paging."""
    query = select(MaintenanceWindow)
    if scope.whole_city:
        return query
    own = site_conditions(scope)
    return query.where(
        or_(
            and_(
                MaintenanceWindow.scope_kind == IncidentScope.SITE.value,
                MaintenanceWindow.scope_id.in_(select(Site.id).where(*own)),
            ),
            and_(
                MaintenanceWindow.scope_kind == IncidentScope.DISTRICT.value,
                MaintenanceWindow.scope_id.in_(select(Site.district_id).where(*own)),
            ),
        )
    )


def get_window(session: Session, scope: Scope, window_id: int) -> MaintenanceWindow | None:
    """The window, or None when there is none with that id *or* it covers none of the
    sites in ``scope``."""
    query = scoped_windows(scope).where(MaintenanceWindow.id == window_id)
    return session.scalars(query).one_or_none()


def windows_covering_site(scope: Scope, site_id: str) -> ColumnElement[bool]:
    """Condition: the window covers the site (its own window or its district's), the site
    looked up inside ``scope``, so naming a site outside it matches nothing (and does not
    reveal its district through the district windows a partner sees)."""
    district = select(Site.district_id).where(Site.id == site_id, *site_conditions(scope))
    return or_(
        and_(
            MaintenanceWindow.scope_kind == IncidentScope.SITE.value,
            MaintenanceWindow.scope_id == site_id,
        ),
        and_(
            MaintenanceWindow.scope_kind == IncidentScope.DISTRICT.value,
            MaintenanceWindow.scope_id.in_(district.scalar_subquery()),
        ),
    )


def windows_in_district(district_id: str) -> ColumnElement[bool]:
    """Condition: the district's own windows and those of its sites (the scope query
    still decides which of them a partner sees)."""
    return or_(
        and_(
            MaintenanceWindow.scope_kind == IncidentScope.DISTRICT.value,
            MaintenanceWindow.scope_id == district_id,
        ),
        and_(
            MaintenanceWindow.scope_kind == IncidentScope.SITE.value,
            MaintenanceWindow.scope_id.in_(select(Site.id).where(Site.district_id == district_id)),
        ),
    )


def window_share(scope: Scope, view: WindowView) -> WindowView:
    """``view`` as ``scope`` may see it: whole, or without its reason for a partner."""
    return view if scope.whole_city else replace(view, reason=None)


def window_views(scope: Scope, rows: list[MaintenanceWindow]) -> list[WindowView]:
    """``rows`` (read through :func:`scoped_windows`) as ``scope`` may see them."""
    return [window_share(scope, window_view(row)) for row in rows]
