"""Sites: where hotspots stand, who sponsors them and which district they serve.

Read through :mod:`inventory.scoping`: a partner sees its own sites only, and another
partner's site answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access_models import error_responses
from api.auth import ScopeDep, require
from api.deps import DEFAULT_LIMIT, LimitQuery, OffsetQuery, SessionDep
from api.filters import DistrictQuery, PartnerQuery, SiteIdPath, filter_conditions
from api.models import SitesPublic
from api.visible import visible_site
from core.access import Permission
from inventory import scoping
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


@router.get(
    "",
    response_model=SitesPublic,
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403),
)
def list_sites(
    session: SessionDep,
    scope: ScopeDep,
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
    return SitesPublic(data=[site_public(s) for s in rows], count=count)


@router.get(
    "/{site_id}",
    response_model=SitePublic,
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403, 404),
)
def get_site(session: SessionDep, scope: ScopeDep, site_id: SiteIdPath) -> Any:
    return site_public(visible_site(session, scope, site_id))
