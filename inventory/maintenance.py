"""Maintenance windows: the one module that reads and writes ``maintenance_windows``.

The fault engine asks :func:`windows_by_ap` which APs planned work covers (it opens no
incident for them, and a reboot inside a window is expected); the API and CLI create,
change and end windows through the functions here, so the rules (a window ends after it
starts, its scope exists) are written once.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.incidents import IncidentScope
from inventory.models import AccessPoint, MaintenanceWindow, Site

#: A window's span, (starts_at, ends_at), epoch seconds.
Span = tuple[float, float]


def windows_by_ap(session: Session, *, start: float, end: float) -> dict[str, list[Span]]:
    """Per AP id, the spans of the windows that cover it (through its site or its site's
    district) and overlap ``[start, end]``, earliest first. APs no window covers are
    absent. Two queries whatever the number of windows."""
    rows = session.execute(
        select(
            MaintenanceWindow.scope_kind,
            MaintenanceWindow.scope_id,
            MaintenanceWindow.starts_at,
            MaintenanceWindow.ends_at,
        ).where(MaintenanceWindow.starts_at <= end, MaintenanceWindow.ends_at >= start)
    ).all()
    if not rows:
        return {}
    by_site: dict[str, list[Span]] = defaultdict(list)
    by_district: dict[str, list[Span]] = defaultdict(list)
    for kind, scope_id, starts, ends in rows:
        target = by_site if kind == IncidentScope.SITE.value else by_district
        target[scope_id].append((starts, ends))
    aps = session.execute(
        select(AccessPoint.id, AccessPoint.site_id, Site.district_id)
        .join(Site, AccessPoint.site_id == Site.id)
        .where((Site.id.in_(by_site.keys())) | (Site.district_id.in_(by_district.keys())))
    ).all()
    covered: dict[str, list[Span]] = {}
    for ap_id, site_id, district_id in aps:
        spans = by_site.get(site_id, []) + by_district.get(district_id or "", [])
        if spans:
            covered[ap_id] = sorted(spans)
    return covered
