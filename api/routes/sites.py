"""Sites: where hotspots stand, who sponsors them and which district they serve.

Read through :mod:`inventory.scoping`: a partner sees its own sites only, and another
partner's site answers 404 exactly like one that does not exist. Each site carries the
maintenance windows running on it now (its own and its district's), so an operator sees
why a dead site has no incident; a partner gets them without their reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from api.access_models import error_responses
from api.auth import ScopeDep, require
from api.deps import DEFAULT_LIMIT, LimitQuery, NowDep, OffsetQuery, SessionDep
from api.filters import DistrictQuery, PartnerQuery, SiteIdPath, filter_conditions
from api.maintenance_models import (
    SitesWithMaintenancePublic,
    SiteWindowPublic,
    SiteWithMaintenancePublic,
)
from api.times import utc
from api.visible import visible_site
from core.access import Permission, Scope
from inventory import maintenance, scoping
from inventory.models import Site
from inventory.paging import page
from inventory.schemas import SiteKind, SitePublic, SiteStatus

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])


def site_public(site: Site) -> SitePublic:
    return SitePublic(
        id=site.id,
        name=site.name,
        lat=site.lat,
        lon=site.lon,
        district=site.district_id,
        partner=site.partner_id,
        kind=site.kind,
        coverage_radius_m=site.coverage_radius_m,
        status=site.status,
        uplink=site.uplink_id,
    )


def _with_maintenance(
    session: Session, scope: Scope, sites: list[Site], now: float
) -> list[SiteWithMaintenancePublic]:
    """The sites with their running windows, read in one query for the whole page."""
    running = maintenance.active_by_site(
        session, [(site.id, site.district_id) for site in sites], now=now
    )
    return [
        SiteWithMaintenancePublic(
            **site_public(site).model_dump(),
            maintenance=[
                SiteWindowPublic(id=view.id, ends_at=utc(view.ends_at), reason=view.reason)
                for view in (scoping.window_share(scope, w) for w in running[site.id])
            ],
        )
        for site in sites
    ]


@router.get(
    "",
    response_model=SitesWithMaintenancePublic,
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403),
)
def list_sites(
    session: SessionDep,
    scope: ScopeDep,
    now: NowDep,
    district: DistrictQuery = None,
    partner: PartnerQuery = None,
    status: Annotated[SiteStatus | None, Query()] = None,
    kind: Annotated[SiteKind | None, Query()] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    conditions = filter_conditions(district, partner)
    if status is not None:
        conditions.append(Site.status == status)
    if kind is not None:
        conditions.append(Site.kind == kind)
    query = scoping.scoped_sites(scope).where(*conditions)
    rows, count = page(session, query, order_by=(Site.id,), limit=limit, offset=offset)
    return SitesWithMaintenancePublic(
        data=_with_maintenance(session, scope, rows, now), count=count
    )


@router.get(
    "/{site_id}",
    response_model=SiteWithMaintenancePublic,
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403, 404),
)
def get_site(session: SessionDep, scope: ScopeDep, now: NowDep, site_id: SiteIdPath) -> Any:
    (found,) = _with_maintenance(session, scope, [visible_site(session, scope, site_id)], now)
    return found
