"""Live status: one row per enabled AP, what a NOC engineer looks at first.

State comes from the ``ap_status`` table (the collector's conclusion, which survives its
restarts); the numbers come from the metric store's latest values, shown as live only for
an AP that is up. An AP the collector has never judged is "unknown" rather than absent, so
a new AP is visible from day one.

Rows and summary are scoped alike (:func:`inventory.scoping.site_conditions`): a partner
counts only its own APs, and the partner names joined are those of its own sites.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.orm import aliased

from api.access_models import error_responses
from api.auth import ScopeDep, require
from api.deps import DEFAULT_LIMIT, LimitQuery, OffsetQuery, SessionDep, StoreDep
from api.filters import DistrictQuery, PartnerQuery, SiteQuery, filter_conditions
from api.models import StatusPublic, StatusRow, StatusSummary
from api.times import utc
from core.access import Permission
from core.states import ApState, PollCause
from inventory.models import AccessPoint, ApStatus, District, Partner, Site
from inventory.scoping import site_conditions

router = APIRouter(prefix="/api/v1/status", tags=["status"])

# Anything the collector wrote that is not up/down (or no row at all) reads as unknown,
# in the filter, the rows and the summary alike, and on the map (api/routes/map.py), so
# they always agree.
effective_state = case(
    (ApStatus.state.in_((ApState.UP.value, ApState.DOWN.value)), ApStatus.state),
    else_=literal(ApState.UNKNOWN.value),
).label("state")


@router.get(
    "",
    response_model=StatusPublic,
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403),
)
def get_status(
    session: SessionDep,
    store: StoreDep,
    scope: ScopeDep,
    district: DistrictQuery = None,
    partner: PartnerQuery = None,
    site: SiteQuery = None,
    state: Annotated[ApState | None, Query()] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    conditions = [
        AccessPoint.enabled.is_(True),
        *site_conditions(scope),
        *filter_conditions(district, partner, site),
    ]
    if state is not None:
        conditions.append(effective_state == state.value)

    def joined(*columns: Any) -> Select[Any]:
        return (
            select(*columns)
            .select_from(AccessPoint)
            .join(Site, AccessPoint.site_id == Site.id)
            .outerjoin(ApStatus, ApStatus.ap_id == AccessPoint.id)
            .where(*conditions)
        )

    summary = StatusSummary()
    for name, n in session.execute(joined(effective_state, func.count()).group_by(effective_state)):
        setattr(summary, name, n)
    summary.total = summary.up + summary.down + summary.unknown

    district_row, partner_row = aliased(District), aliased(Partner)
    page = session.execute(
        joined(
            AccessPoint.id,
            AccessPoint.name,
            Site.id,
            Site.name,
            Site.district_id,
            district_row.name,
            Site.partner_id,
            partner_row.name,
            effective_state,
            ApStatus.since,
            ApStatus.last_seen,
            ApStatus.polls_attempted,
            ApStatus.polls_ok,
            ApStatus.last_cause,
            ApStatus.last_error,
        )
        .outerjoin(district_row, district_row.id == Site.district_id)
        .outerjoin(partner_row, partner_row.id == Site.partner_id)
        .order_by(AccessPoint.id)
        .limit(limit)
        .offset(offset)
    ).all()
    latest = store.latest([row[0] for row in page]) if page else {}

    rows: list[StatusRow] = []
    for (ap_id, name, site_id, site_name, district_id, district_name, partner_id,
         partner_name, st, since, seen, attempted, answered, cause, error) in page:  # fmt: skip
        found = latest.get(ap_id)
        live = found.values if found is not None and st == ApState.UP.value else {}
        rows.append(
            StatusRow(
                ap_id=ap_id,
                name=name,
                site_id=site_id,
                site_name=site_name,
                district=district_id,
                district_name=district_name,
                partner=partner_id,
                partner_name=partner_name,
                state=ApState(st),
                since=utc(since),
                last_seen=utc(seen),
                last_sample_at=utc(max(found.times.values())) if found and found.times else None,
                availability=answered / attempted if attempted else None,
                clients=live.get("clients"),
                uptime_s=live.get("uptime_s"),
                rx_bps=live.get("rx_bps"),
                tx_bps=live.get("tx_bps"),
                degraded=st == ApState.UP.value
                and cause == PollCause.ANSWERED.value
                and error is not None,
                last_error=error,
            )
        )
    return StatusPublic(data=rows, count=summary.total, summary=summary)
