"""The filters every list shares: which slice of the city a request is about.

District and partner belong to the site, so every AP list joins its site to filter; one
definition keeps sites, APs and status agreeing on what "district d01" means.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from sqlalchemy import ColumnElement

from inventory.models import AccessPoint, Site

DistrictQuery = Annotated[str | None, Query(description="District id (of the site).")]
PartnerQuery = Annotated[str | None, Query(description="Partner id (of the site).")]
SiteQuery = Annotated[str | None, Query(description="Site id.")]


def scope(
    district: str | None, partner: str | None, site: str | None = None
) -> list[ColumnElement[bool]]:
    """Conditions on ``Site`` (and ``AccessPoint.site_id``) for the given filters."""
    conditions: list[ColumnElement[bool]] = []
    if district is not None:
        conditions.append(Site.district_id == district)
    if partner is not None:
        conditions.append(Site.partner_id == partner)
    if site is not None:
        conditions.append(AccessPoint.site_id == site)
    return conditions
