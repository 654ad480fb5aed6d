"""The public hotspot status: ``GET /public/hotspots``, with no login.

Citizens look for a working hotspot nearby, and the city shows the programme's reach;
neither needs an account, so this is the one data route outside access control. What it
may say is fixed by its response model (:mod:`api.public_models`): names, places, up or
down, and whether a fix is under way, never a partner's figures or a device detail.

A site is listed when it is active and has at least one enabled AP (a hotspot a citizen
can use). It is *up* while any of its APs is up (the map's up and degraded), *down* when
its APs are down and none up, *unknown* before any was judged. "A fix is under way" while
an incident with an AP at the site is acknowledged (someone took it on).

The answer is the whole city, the same for everyone, so it is computed at most once per
``public_cache_s`` and kept in memory (per app), and says so to caches downstream
(``Cache-Control: public, max-age``): a crowd refreshing a public page costs one read per
period, not one per visitor.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import NowDep, SessionDep, SettingsDep
from api.map_models import PointGeometry
from api.public_models import PublicHotspot, PublicHotspotProperties, PublicHotspots, PublicState
from api.routes.map import ap_counts
from api.times import utc
from core.access import Scope
from core.incidents import IncidentState
from inventory.models import District, Incident, IncidentAp, Site

router = APIRouter(prefix="/public", tags=["public"])


@dataclass
class PublicCache:
    """The last answer and when it expires; one per app (``app.state.public``)."""

    body: PublicHotspots | None = None
    expires: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _state(up: int, down: int) -> PublicState:
    if up:
        return "up"
    return "down" if down else "unknown"


def _fixing(session: Session) -> set[str]:
    """Sites with an acknowledged, unresolved incident that has an AP there."""
    query = (
        select(IncidentAp.site_id)
        .join(Incident, Incident.id == IncidentAp.incident_id)
        .where(Incident.state == IncidentState.ACKNOWLEDGED.value)
        .distinct()
    )
    return set(session.scalars(query))


def read_hotspots(session: Session, now: float) -> PublicHotspots:
    """Every listed hotspot (see the module doc), ordered by site id."""
    counts = ap_counts(session, Scope(), [Site.status == "active"])
    rows = session.execute(
        select(Site.id, Site.name, Site.kind, Site.lat, Site.lon, District.name)
        .outerjoin(District, District.id == Site.district_id)
        .where(Site.status == "active", Site.id.in_(list(counts)))
        .order_by(Site.id)
    ).all()
    fixing = _fixing(session)
    features = []
    for site_id, name, kind, lat, lon, district in rows:
        found = counts[site_id]
        features.append(
            PublicHotspot(
                id=site_id,
                geometry=PointGeometry(coordinates=[lon, lat]),
                properties=PublicHotspotProperties(
                    id=site_id,
                    name=name,
                    kind=kind,
                    district=district,
                    state=_state(found.up, found.down),
                    fix_under_way=site_id in fixing,
                ),
            )
        )
    return PublicHotspots(
        count=len(features),
        up=sum(f.properties.state == "up" for f in features),
        down=sum(f.properties.state == "down" for f in features),
        as_of=utc(now),
        features=features,
    )


@router.get(
    "/hotspots",
    response_model=PublicHotspots,
    summary="Every public hotspot with its place and whether it works now (no login)",
)
def public_hotspots(
    request: Request, response: Response, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Any:
    cache: PublicCache = request.app.state.public
    ttl = settings.public_cache_s
    with cache.lock:
        if cache.body is None or now >= cache.expires:
            cache.body = read_hotspots(session, now)
            cache.expires = now + ttl
        body = cache.body
    response.headers["Cache-Control"] = f"public, max-age={int(ttl)}"
    return body
