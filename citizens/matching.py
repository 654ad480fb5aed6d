"""Which hotspot a citizen's report is about: the nearest one that covers where they are.

A hotspot (site) can be the subject of a report only if it is active and has at least
one enabled AP: a planned or retired site, or one whose APs are all switched off, serves
nobody, so no incident can be opened about it. Within those, the report's point must lie
within the site's own ``coverage_radius_m`` (great-circle distance, haversine); of
several, the nearest, then the smallest site id (so the same point always gives the same
site).

The sites are read once per report, narrowed in SQL to a bounding box of the largest
radius around the point (a city has thousands of sites, a report is near a few).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from inventory.models import AccessPoint, Site

__all__ = ["EARTH_RADIUS_M", "SiteMatch", "haversine_m", "nearest_site", "picked_site"]

EARTH_RADIUS_M = 6_371_008.8  # the mean Earth radius (IUGG)
#: Metres per degree of latitude (and of longitude at the equator), on that sphere.
_M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180.0
#: Below this cos(latitude) the box spans every longitude (at a pole).
_MIN_COS = 1e-6
_ACTIVE = "active"


@dataclass(frozen=True)
class SiteMatch:
    """The site a report is about; ``distance_m`` None when it was picked on the map."""

    site_id: str
    name: str
    district_id: str | None
    distance_m: float | None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points, in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _reportable() -> tuple[ColumnElement[bool], ...]:
    """The conditions of a site a report can be about: active, with an enabled AP."""
    has_ap = exists().where(AccessPoint.site_id == Site.id, AccessPoint.enabled.is_(True))
    return (Site.status == _ACTIVE, has_ap)


def nearest_site(session: Session, lat: float, lon: float) -> SiteMatch | None:
    """The nearest reportable site whose coverage radius reaches (``lat``, ``lon``);
    None when none does."""
    largest = select(func.max(Site.coverage_radius_m)).where(*_reportable()).scalar_subquery()
    dlat = largest / _M_PER_DEGREE
    box = [Site.lat >= lat - dlat, Site.lat <= lat + dlat]
    cos_lat = math.cos(math.radians(lat))
    if cos_lat > _MIN_COS:
        # Near the antimeridian the box would wrap: a city is never there, and a wrong
        # box only leaves the report unmatched.
        dlon = largest / (_M_PER_DEGREE * cos_lat)
        box += [Site.lon >= lon - dlon, Site.lon <= lon + dlon]
    query = select(Site.id, Site.name, Site.district_id, Site.lat, Site.lon, Site.coverage_radius_m)
    best: tuple[float, str, str, str | None] | None = None  # distance, id, name, district
    rows = session.execute(query.where(*_reportable(), *box))
    for site_id, name, district_id, site_lat, site_lon, radius in rows:
        distance = haversine_m(lat, lon, site_lat, site_lon)
        if distance <= radius and (best is None or (distance, site_id) < best[:2]):
            best = (distance, site_id, name, district_id)
    return None if best is None else SiteMatch(best[1], best[2], best[3], best[0])


def picked_site(session: Session, site_id: str) -> SiteMatch | None:
    """The site picked on the map when it is reportable (active, an enabled AP); else
    None."""
    query = select(Site.id, Site.name, Site.district_id).where(Site.id == site_id, *_reportable())
    found = session.execute(query).first()
    return None if found is None else SiteMatch(found[0], found[1], found[2], None)
