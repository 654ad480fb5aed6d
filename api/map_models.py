"""Response shapes of the map API (:mod:`api.routes.map`): GeoJSON the page draws as is.

Sites and districts leave as GeoJSON FeatureCollections (RFC 7946: coordinates are
``[lon, lat]``), so the web dashboard's map and any GIS tool read them without a
translation step; the envelope adds ``count`` (and, for sites, ``summary``) as the other
lists do. Names travel with ids: the page shows names, never ids.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from inventory.schemas import SiteKind, SiteStatus

SiteState = Literal["up", "degraded", "down", "unknown"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PointGeometry(_Out):
    type: Literal["Point"] = "Point"
    # [lon, lat]: a list, not a tuple (OpenAPI 3.0 has no tuple schema for clients)
    coordinates: list[float] = Field(min_length=2, max_length=2)


class SiteProperties(_Out):
    id: str
    name: str
    kind: SiteKind
    status: SiteStatus  # active, planned, ...: the inventory's word, not the live state
    district: str | None
    district_name: str | None
    partner: str | None
    partner_name: str | None
    state: SiteState
    in_maintenance: bool
    aps_total: int  # enabled APs, as /status counts them
    aps_up: int
    aps_down: int
    aps_unknown: int
    # Live clients summed over the site's APs that are up; None when none of them has a
    # current figure (not 0: "nobody connected" and "nothing known" differ on a map).
    clients: float | None
    open_incidents: int  # open or acknowledged incidents with a member AP at this site


class SiteFeature(_Out):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: PointGeometry
    properties: SiteProperties


class SiteSummary(_Out):
    up: int = 0
    degraded: int = 0
    down: int = 0
    unknown: int = 0
    maintenance: int = 0  # sites in a running window (also counted by their state)
    total: int = 0


class SitesMap(_Out):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    count: int
    summary: SiteSummary
    features: list[SiteFeature]


class DistrictProperties(_Out):
    id: str
    name: str
    sites: int  # the caller's sites in the district (a partner's own only)
    sites_down: int
    sites_degraded: int


class DistrictFeature(_Out):
    type: Literal["Feature"] = "Feature"
    id: str
    # A GeoJSON Polygon or MultiPolygon as the districts import stored it; None when the
    # district has no (readable) boundary yet.
    geometry: dict[str, Any] | None
    properties: DistrictProperties


class DistrictsMap(_Out):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    count: int
    features: list[DistrictFeature]


class MapConfig(_Out):
    city_name: str
    tile_url: str | None  # an XYZ template; None: no tiles (offline)
    tile_attribution: str
    sla_target_pct: float
    # [min lon, min lat, max lon, max lat] of the district boundaries, else of the
    # caller's sites; None when there is neither.
    bbox: list[float] | None = Field(default=None, min_length=4, max_length=4)
