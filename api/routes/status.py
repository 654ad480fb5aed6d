"""Live status: one row per enabled AP, what a NOC engineer looks at first.

State comes from the ``ap_status`` table (the collector's conclusion, which survives its
restarts); the numbers come from the metric store's latest values. An AP the collector
has never judged is "unknown" rather than absent, so a new AP is visible from day one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Select, case, func, literal, select

from api.deps import DEFAULT_LIMIT, LimitQuery, OffsetQuery, SessionDep, StoreDep
from api.filters import DistrictQuery, PartnerQuery, SiteQuery, scope
from api.models import StatusPublic, StatusRow, StatusSummary
from inventory.models import AccessPoint, ApStatus, Site
from inventory.schemas import ApState

router = APIRouter(prefix="/api/v1/status", tags=["status"])

# Anything the collector wrote that is not up/down (or no row at all) reads as unknown,
# in the filter, the rows and the summary alike, so the three always agree.
_effective_state = case(
    (ApStatus.state.in_(("up", "down")), ApStatus.state),
    else_=literal("unknown"),
).label("state")


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


@router.get("", response_model=StatusPublic)
def get_status(
    session: SessionDep,
    store: StoreDep,
    district: DistrictQuery = None,
    partner: PartnerQuery = None,
    site: SiteQuery = None,
    state: Annotated[ApState | None, Query()] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    conditions = [AccessPoint.enabled.is_(True), *scope(district, partner, site)]
    if state is not None:
        conditions.append(_effective_state == state)

    def joined(*columns: Any) -> Select[Any]:
        return (
            select(*columns)
            .select_from(AccessPoint)
            .join(Site, AccessPoint.site_id == Site.id)
            .outerjoin(ApStatus, ApStatus.ap_id == AccessPoint.id)
            .where(*conditions)
        )

    summary = StatusSummary()
    for name, n in session.execute(
        joined(_effective_state, func.count()).group_by(_effective_state)
    ):
        setattr(summary, name, n)
    summary.total = summary.up + summary.down + summary.unknown

    page = session.execute(
        joined(
            AccessPoint.id,
            AccessPoint.name,
            Site.id,
            Site.name,
            Site.district_id,
            Site.partner_id,
            _effective_state,
            ApStatus.since,
            ApStatus.last_seen,
            ApStatus.polls_attempted,
            ApStatus.polls_ok,
        )
        .order_by(AccessPoint.id)
        .limit(limit)
        .offset(offset)
    ).all()
    latest = store.latest([row[0] for row in page]) if page else {}

    rows: list[StatusRow] = []
    for (ap_id, name, site_id, site_name, district_id, partner_id, st, since, seen,
         attempted, answered) in page:  # fmt: skip
        values = latest[ap_id].values if ap_id in latest else {}
        rows.append(
            StatusRow(
                ap_id=ap_id,
                name=name,
                site_id=site_id,
                site_name=site_name,
                district=district_id,
                partner=partner_id,
                state=st,
                since=_utc(since),
                last_seen=_utc(seen),
                clients=values.get("clients"),
                uptime_s=values.get("uptime_s"),
                rx_bps=values.get("rx_bps"),
                tx_bps=values.get("tx_bps"),
                availability=answered / attempted if attempted else None,
            )
        )
    return StatusPublic(data=rows, count=summary.total, summary=summary)
