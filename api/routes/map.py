"""The map's data: sites by live state, district boundaries, and what the map needs to start.

The web dashboard draws these as they come (GeoJSON, ``[lon, lat]``), so every rule about
what a site's colour means lives here, once:

- an AP's state is read exactly as ``/status`` reads it (the same SQL expression), so
  the AP counts of the sites add up to the counts ``/status`` shows;
- a site is *up* when every enabled AP is up, *down* when every one is down, *degraded*
  when some are up and others down or unknown, *unknown* when none is up or down (no
  enabled AP, or none ever judged). A site with APs down and others never judged, none
  up, is down: nothing there is known to serve. A planned site with no AP is unknown.

Scoping is :mod:`inventory.scoping`'s: a partner gets its own sites only, and in the
districts' counts only its own sites; the districts themselves (names, boundaries) are
public knowledge, shown to everyone so a partner's map has a city around its sites.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.access_models import error_responses
from api.auth import ScopeDep, require
from api.deps import NowDep, SessionDep, SettingsDep, StoreDep
from api.filters import DistrictQuery, PartnerQuery, filter_conditions
from api.map_models import (
    DistrictFeature,
    DistrictProperties,
    DistrictsMap,
    MapConfig,
    PointGeometry,
    SiteFeature,
    SiteProperties,
    SitesMap,
    SiteState,
    SiteSummary,
)
from api.routes.status import effective_state as AP_STATE
from core.access import Permission, Scope
from core.incidents import IncidentState
from core.states import ApState
from inventory import maintenance
from inventory.models import AccessPoint, ApStatus, District, Incident, IncidentAp, Partner, Site
from inventory.scoping import site_conditions
from timeseries import MetricStore

router = APIRouter(prefix="/api/v1/map", tags=["map"])

StateQuery = Annotated[
    Literal["up", "degraded", "down", "unknown"] | None,
    Query(description="Only sites in this live state."),
]


def site_state(up: int, down: int, unknown: int) -> SiteState:
    """The state of a site from the states of its enabled APs (see the module's rule)."""
    if up:
        return "degraded" if down or unknown else "up"
    return "down" if down else "unknown"


@dataclass
class _Counts:
    up: int = 0
    down: int = 0
    unknown: int = 0
    up_aps: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.up + self.down + self.unknown

    @property
    def state(self) -> SiteState:
        return site_state(self.up, self.down, self.unknown)


def ap_counts(session: Session, scope: Scope, conditions: list[Any]) -> dict[str, _Counts]:
    """Per site id, its enabled APs by state (and the ids of those up), in one query."""
    query = (
        select(AccessPoint.site_id, AccessPoint.id, AP_STATE)
        .select_from(AccessPoint)
        .join(Site, AccessPoint.site_id == Site.id)
        .outerjoin(ApStatus, ApStatus.ap_id == AccessPoint.id)
        .where(AccessPoint.enabled.is_(True), *site_conditions(scope), *conditions)
    )
    counts: dict[str, _Counts] = defaultdict(_Counts)
    for site_id, ap_id, state in session.execute(query):
        found = counts[site_id]
        if state == ApState.UP.value:
            found.up += 1
            found.up_aps.append(ap_id)
        elif state == ApState.DOWN.value:
            found.down += 1
        else:
            found.unknown += 1
    return counts


def _clients(store: MetricStore, counts: dict[str, _Counts]) -> dict[str, float]:
    """Per site id, the live clients of its APs that are up (sites with no figure absent):
    only an up AP's latest value is current, as /status says."""
    up_aps = [ap for found in counts.values() for ap in found.up_aps]
    latest = store.latest(up_aps) if up_aps else {}
    clients: dict[str, float] = {}
    for site_id, found in counts.items():
        values = [
            latest[ap].values["clients"]
            for ap in found.up_aps
            if ap in latest and "clients" in latest[ap].values
        ]
        if values:
            clients[site_id] = float(sum(values))
    return clients


def _open_incidents(session: Session, site_ids: Iterable[str]) -> dict[str, int]:
    """Per site id, the incidents still open or acknowledged with a member AP there."""
    ids = list(site_ids)
    if not ids:
        return {}
    query = (
        select(IncidentAp.site_id, func.count(func.distinct(IncidentAp.incident_id)))
        .join(Incident, Incident.id == IncidentAp.incident_id)
        .where(Incident.state != IncidentState.RESOLVED.value, IncidentAp.site_id.in_(ids))
        .group_by(IncidentAp.site_id)
    )
    return {site_id: int(n) for site_id, n in session.execute(query)}


def _site_features(
    session: Session, store: MetricStore, scope: Scope, now: float, conditions: list[Any]
) -> Iterator[SiteFeature]:
    """Every site in ``scope`` matching ``conditions`` (on ``Site``), ordered by id."""
    rows = session.execute(
        select(
            Site.id, Site.name, Site.kind, Site.status, Site.lat, Site.lon, Site.district_id,
            District.name, Site.partner_id, Partner.name,
        )
        .outerjoin(District, District.id == Site.district_id)
        .outerjoin(Partner, Partner.id == Site.partner_id)
        .where(*site_conditions(scope), *conditions)
        .order_by(Site.id)
    ).all()  # fmt: skip
    counts = ap_counts(session, scope, conditions)
    clients = _clients(store, counts)
    incidents = _open_incidents(session, (row[0] for row in rows))
    running = maintenance.active_by_site(session, [(row[0], row[6]) for row in rows], now=now)
    for (site_id, name, kind, status, lat, lon, district_id, district_name, partner_id,
         partner_name) in rows:  # fmt: skip
        found = counts.get(site_id, _Counts())
        yield SiteFeature(
            id=site_id,
            geometry=PointGeometry(coordinates=[lon, lat]),
            properties=SiteProperties(
                id=site_id,
                name=name,
                kind=kind,
                status=status,
                district=district_id,
                district_name=district_name,
                partner=partner_id,
                partner_name=partner_name,
                state=found.state,
                in_maintenance=bool(running.get(site_id)),
                aps_total=found.total,
                aps_up=found.up,
                aps_down=found.down,
                aps_unknown=found.unknown,
                clients=clients.get(site_id),
                open_incidents=incidents.get(site_id, 0),
            ),
        )


@router.get(
    "/sites",
    response_model=SitesMap,
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403),
    summary="Sites as GeoJSON points with their live state (a partner: its own sites)",
)
def map_sites(
    session: SessionDep,
    store: StoreDep,
    scope: ScopeDep,
    now: NowDep,
    district: DistrictQuery = None,
    partner: PartnerQuery = None,
    state: StateQuery = None,
) -> Any:
    features = [
        feature
        for feature in _site_features(
            session, store, scope, now, filter_conditions(district, partner)
        )
        if state is None or feature.properties.state == state
    ]
    summary = SiteSummary(total=len(features))
    for feature in features:
        setattr(summary, feature.properties.state, getattr(summary, feature.properties.state) + 1)
        summary.maintenance += feature.properties.in_maintenance
    return SitesMap(count=len(features), summary=summary, features=features)


def boundary(text: str | None) -> dict[str, Any] | None:
    """A stored boundary as a GeoJSON geometry, or None when absent or not a polygon: one
    bad row must not take the whole map down (the import validates; this only guards)."""
    if not text:
        return None
    try:
        geometry = json.loads(text)
    except ValueError:
        return None
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    if not isinstance(geometry.get("coordinates"), list):
        return None
    return geometry


def _positions(geometry: dict[str, Any]) -> Iterator[tuple[float, float]]:
    def walk(node: Any) -> Iterator[tuple[float, float]]:
        if (
            isinstance(node, list)
            and len(node) >= 2
            and all(isinstance(v, int | float) for v in node[:2])
        ):
            yield float(node[0]), float(node[1])
        elif isinstance(node, list):
            for child in node:
                yield from walk(child)

    return walk(geometry.get("coordinates"))


def bbox(points: Iterable[tuple[float, float]]) -> tuple[float, float, float, float] | None:
    """[min lon, min lat, max lon, max lat] of ``(lon, lat)`` points; None for none."""
    found = list(points)
    if not found:
        return None
    lons, lats = [p[0] for p in found], [p[1] for p in found]
    return min(lons), min(lats), max(lons), max(lats)


@router.get(
    "/districts",
    response_model=DistrictsMap,
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403),
    summary="Districts as GeoJSON with their boundaries and the caller's site counts",
)
def map_districts(session: SessionDep, store: StoreDep, scope: ScopeDep, now: NowDep) -> Any:
    per_district: dict[str | None, list[SiteState]] = defaultdict(list)
    for feature in _site_features(session, store, scope, now, []):
        per_district[feature.properties.district].append(feature.properties.state)
    features = [
        DistrictFeature(
            id=district.id,
            geometry=boundary(district.boundary_geojson),
            properties=DistrictProperties(
                id=district.id,
                name=district.name,
                sites=len(per_district[district.id]),
                sites_down=per_district[district.id].count("down"),
                sites_degraded=per_district[district.id].count("degraded"),
            ),
        )
        for district in session.scalars(select(District).order_by(District.id))
    ]
    return DistrictsMap(count=len(features), features=features)


@router.get(
    "/config",
    response_model=MapConfig,
    # Every role holds STATUS_READ: this is "any logged-in user", declared the way the
    # access matrix expects of a route that is not public.
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403),
    summary="What the map needs to start: city, tiles, SLA target and the area to show",
)
def map_config(session: SessionDep, settings: SettingsDep, scope: ScopeDep) -> Any:
    area = bbox(
        point
        for text in session.scalars(select(District.boundary_geojson))
        if (geometry := boundary(text)) is not None
        for point in _positions(geometry)
    )
    if area is None:
        area = bbox(session.execute(select(Site.lon, Site.lat).where(*site_conditions(scope))))
    return MapConfig(
        city_name=settings.city_name,
        tile_url=settings.map_tile_url,
        tile_attribution=settings.map_tile_attribution,
        sla_target_pct=settings.sla_target_pct,
        bbox=list(area) if area is not None else None,
    )
