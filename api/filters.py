"""The filters a caller chooses on every list: which part of *its* slice it asks about.

District and partner belong to the site, so every AP list joins its site to filter; one
definition keeps sites, APs and status agreeing on what "district d01" means.

These are the caller's own filters only. What a caller may see at all (a partner's scope)
is never decided here but by :mod:`inventory.scoping`, whose conditions every route adds
as well: a filter can therefore only narrow the scope, so a partner asking for another
partner's id gets an empty list, exactly as for an id that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from sqlalchemy import ColumnElement

from inventory.models import AccessPoint, Site

MAX_ID_LENGTH = 64  # every id column is String(64); a longer one cannot match anything

DistrictQuery = Annotated[
    str | None, Query(max_length=MAX_ID_LENGTH, description="District id (of the site).")
]
PartnerQuery = Annotated[
    str | None, Query(max_length=MAX_ID_LENGTH, description="Partner id (of the site).")
]
SiteQuery = Annotated[str | None, Query(max_length=MAX_ID_LENGTH, description="Site id.")]
SiteIdPath = Annotated[str, Path(max_length=MAX_ID_LENGTH, description="Site id.")]
ApIdPath = Annotated[str, Path(max_length=MAX_ID_LENGTH, description="Access point id.")]


def filter_conditions(
    district: str | None, partner: str | None, site: str | None = None
) -> list[ColumnElement[bool]]:
    """Conditions on ``Site`` (and ``AccessPoint.site_id``) for the caller's filters."""
    conditions: list[ColumnElement[bool]] = []
    if district is not None:
        conditions.append(Site.district_id == district)
    if partner is not None:
        conditions.append(Site.partner_id == partner)
    if site is not None:
        conditions.append(AccessPoint.site_id == site)
    return conditions
