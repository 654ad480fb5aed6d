"""Sites: where hotspots stand, who sponsors them and which district they serve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import func, select

from api.deps import DEFAULT_LIMIT, LimitQuery, OffsetQuery, SessionDep
from api.filters import DistrictQuery, PartnerQuery, scope
from api.models import SitesPublic
from inventory.models import Site
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
    )


@router.get("", response_model=SitesPublic)
def list_sites(
    session: SessionDep,
    district: DistrictQuery = None,
    partner: PartnerQuery = None,
    status: Annotated[SiteStatus | None, Query()] = None,
    kind: Annotated[SiteKind | None, Query()] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    conditions = scope(district, partner)
    if status is not None:
        conditions.append(Site.status == status)
    if kind is not None:
        conditions.append(Site.kind == kind)
    count = session.scalar(select(func.count()).select_from(Site).where(*conditions)) or 0
    rows = session.scalars(
        select(Site).where(*conditions).order_by(Site.id).limit(limit).offset(offset)
    )
    return SitesPublic(data=[site_public(s) for s in rows], count=count)


@router.get("/{site_id}", response_model=SitePublic)
def get_site(session: SessionDep, site_id: str) -> Any:
    site = session.get(Site, site_id)
    if site is None:
        raise HTTPException(status_code=404, detail=f"no site with id {site_id!r}")
    return site_public(site)
