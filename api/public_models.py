"""Response shape of the public hotspot status (:mod:`api.routes.public`): what a citizen
may know about the city's WiFi, and nothing else.

A GeoJSON FeatureCollection (RFC 7946, ``[lon, lat]``) a map reads as is. Per hotspot:
its name, kind, district and place, whether it works now, and whether a fix is under way.
Deliberately absent: the sponsor, client counts, traffic and availability (partners'
figures), and every device detail (APs, hosts, addresses, vendors, errors).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from api.map_models import PointGeometry
from inventory.schemas import SiteKind

PublicState = Literal["up", "down", "unknown"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublicHotspotProperties(_Out):
    id: str  # the city's site id: a stable key for a map and for a citizen's report
    name: str
    kind: SiteKind
    district: str | None  # the district's name
    state: PublicState  # up: at least one AP serves; down: none answers; unknown: not judged yet
    fix_under_way: bool  # a problem here is known and someone is on it


class PublicHotspot(_Out):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: PointGeometry
    properties: PublicHotspotProperties


class PublicHotspots(_Out):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    count: int
    up: int
    down: int
    as_of: datetime  # when these states were read (the answer may be cached up to public_cache_s)
    features: list[PublicHotspot]
