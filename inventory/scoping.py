"""The slice of the city a principal may see, as queries: the one partner filter.

Every route that reads sites or APs (and, in later issues, incidents, coverage rows and
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

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from core.access import Scope
from inventory.models import AccessPoint, Site


def site_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on ``Site`` that keep a query inside ``scope`` (none for the whole city).

    For queries that select their own columns (the status rows, later report rows): they
    must join ``Site`` and add these to their ``where``.
    """
    if scope.whole_city:
        return []
    return [Site.partner_id == scope.partner_id]


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
