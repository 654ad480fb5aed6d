"""What the fault engine sees at one instant: every watched AP's state, and the topology.

One query per table, read inside the engine's cycle transaction, so correlation works on
a consistent picture (never an AP whose site changed between two reads). The dataclasses
are plain values: :mod:`faults.correlate` and :mod:`faults.lifecycle` take them and stay
pure, and the tests build them by hand.

Watched means: enabled APs at sites that are not retired, and not under a maintenance
window now. A disabled AP, a retired site or planned work is nobody's outage, so it
neither opens an incident nor keeps one open; the APs a window covers are named in
:attr:`Snapshot.maintenance` so an incident they leave resolves saying why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.states import ApState
from inventory.maintenance import windows_by_ap
from inventory.models import AccessPoint, ApStatus, District, Site, Uplink

#: A site status whose APs are not watched.
RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class ApView:
    """One AP as the collector last judged it. ``since``: when it entered ``state``
    (None: never judged, or not said); ``last_poll``: when it was last polled."""

    ap_id: str
    name: str
    site_id: str
    state: ApState
    since: float | None
    last_poll: float | None = None


@dataclass(frozen=True, slots=True)
class SiteView:
    site_id: str
    name: str
    district_id: str | None
    uplink_id: str | None
    kind: str | None = None  # the site kind (park, market, ...): its thresholds


@dataclass(frozen=True, slots=True)
class UplinkView:
    uplink_id: str
    name: str
    operator: str
    capacity_mbps: float | None = None


@dataclass(frozen=True)
class Snapshot:
    """Every watched AP (by id) and the sites, districts and uplinks they hang from.

    ``sites`` holds only sites with at least one watched AP; ``taken_at`` stands in for
    a missing ``since`` (an AP down since an unknown time is taken as down from now)."""

    taken_at: float
    aps: Mapping[str, ApView] = field(default_factory=dict)
    sites: Mapping[str, SiteView] = field(default_factory=dict)
    district_names: Mapping[str, str] = field(default_factory=dict)
    uplinks: Mapping[str, UplinkView] = field(default_factory=dict)
    #: Watched APs a maintenance window covers now: left out of ``aps`` (no incident
    #: opens for them, and they do not hold one open).
    maintenance: frozenset[str] = frozenset()

    def since(self, ap_id: str) -> float:
        """When the AP entered its state (``taken_at`` when not known)."""
        since = self.aps[ap_id].since
        return self.taken_at if since is None else since


def _state(text: str | None) -> ApState:
    """Anything the collector wrote that is not up or down (or no row) reads as unknown,
    as in the status API."""
    if text == ApState.UP.value:
        return ApState.UP
    if text == ApState.DOWN.value:
        return ApState.DOWN
    return ApState.UNKNOWN


def read_snapshot(session: Session, *, now: float) -> Snapshot:
    """The watched APs with their state, and their topology, from the inventory DB; the
    APs a maintenance window covers at ``now`` are left out (and named in
    ``maintenance``)."""
    rows = session.execute(
        select(
            AccessPoint.id,
            AccessPoint.name,
            AccessPoint.site_id,
            Site.name,
            Site.district_id,
            Site.uplink_id,
            Site.kind,
            ApStatus.state,
            ApStatus.since,
            ApStatus.last_poll,
        )
        .join(Site, AccessPoint.site_id == Site.id)
        .outerjoin(ApStatus, ApStatus.ap_id == AccessPoint.id)
        .where(AccessPoint.enabled.is_(True), Site.status != RETIRED)
    ).all()
    covered = windows_by_ap(session, start=now, end=now)
    aps: dict[str, ApView] = {}
    sites: dict[str, SiteView] = {}
    maintenance: set[str] = set()
    for row in rows:
        ap_id, ap_name, site_id, site_name, district_id, uplink_id, kind = row[:7]
        state, since, polled = row[7:]
        if ap_id in covered:
            maintenance.add(ap_id)
            continue
        aps[ap_id] = ApView(ap_id, ap_name, site_id, _state(state), since, polled)
        if site_id not in sites:
            sites[site_id] = SiteView(site_id, site_name, district_id, uplink_id, kind)
    districts = {d: n for d, n in session.execute(select(District.id, District.name)).all()}
    uplinks = {
        u: UplinkView(u, n, o, c)
        for u, n, o, c in session.execute(
            select(Uplink.id, Uplink.name, Uplink.operator, Uplink.capacity_mbps)
        ).all()
    }
    return Snapshot(
        taken_at=now,
        aps=aps,
        sites=sites,
        district_names=districts,
        uplinks=uplinks,
        maintenance=frozenset(maintenance),
    )
