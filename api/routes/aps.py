"""Access points and the history of one AP's metrics.

Every query starts from :mod:`inventory.scoping`: a partner sees its own APs only, and an
AP of another partner answers 404 exactly like one that does not exist. The inventory
(list, detail: hosts and ports) needs ``inventory:read``; an AP's series and state changes
are status, ``status:read``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AfterValidator, WithJsonSchema
from sqlalchemy import select

from api.access_models import error_responses
from api.auth import ScopeDep, require
from api.deps import DEFAULT_LIMIT, LimitQuery, NowDep, OffsetQuery, SessionDep, StoreDep
from api.filters import ApIdPath, DistrictQuery, PartnerQuery, SiteQuery, filter_conditions
from api.models import (
    ApEventPublic,
    ApEventsPublic,
    ApsPublic,
    SeriesPoint,
    SeriesPublic,
)
from api.times import TimeQuery, check_window, invalid, utc
from api.visible import visible_ap
from core.access import Permission
from core.states import ApState, PollCause
from inventory import scoping
from inventory.models import AccessPoint, ApEvent
from inventory.paging import page
from inventory.schemas import ApPublic
from timeseries.vocabulary import AP_METRICS

router = APIRouter(prefix="/api/v1/aps", tags=["aps"])

DEFAULT_SPAN_S = 3600.0
TARGET_POINTS = 300
MAX_POINTS = 11_000
MIN_STEP_S = 0.001  # the stores keep milliseconds; a finer bucket could never hold a point
# The work of a series grows with the samples in its range, whatever the step: two years
# is the longest chart anyone draws of one AP (the step then still bounds the points).
MAX_SPAN_S = 2 * 366 * 86400.0
# Default steps snap to round values so that consecutive requests line up on the same
# bucket boundaries (and a chart's x axis reads naturally).
NICE_STEPS_S: tuple[float, ...] = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
)  # fmt: skip


def ap_public(ap: AccessPoint) -> ApPublic:
    return ApPublic(
        id=ap.id,
        site=ap.site_id,
        name=ap.name,
        host=ap.host,
        snmp_port=ap.snmp_port,
        ssh_port=ap.ssh_port,
        profile=ap.profile,
        enabled=ap.enabled,
    )


def known_metric(name: str) -> str:
    if name not in AP_METRICS:
        valid = ", ".join(sorted(AP_METRICS))
        raise ValueError(f"unknown metric {name!r}; valid metrics: {valid}")
    return name


MetricQuery = Annotated[
    str,
    AfterValidator(known_metric),
    WithJsonSchema({"type": "string", "enum": sorted(AP_METRICS)}),
    Query(description="One of the AP metric names (see docs/metrics.md)."),
]


def default_step(span: float) -> float:
    wanted = span / TARGET_POINTS
    for step in NICE_STEPS_S:
        if step >= wanted:
            return step
    return math.ceil(wanted / 86400) * 86400


@router.get(
    "",
    response_model=ApsPublic,
    dependencies=[require(Permission.INVENTORY_READ)],
    responses=error_responses(401, 403),
)
def list_aps(
    session: SessionDep,
    scope: ScopeDep,
    district: DistrictQuery = None,
    partner: PartnerQuery = None,
    site: SiteQuery = None,
    enabled: Annotated[bool | None, Query()] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    conditions = filter_conditions(district, partner, site)
    if enabled is not None:
        conditions.append(AccessPoint.enabled == enabled)
    joined = scoping.scoped_aps(scope).where(*conditions)
    rows, count = page(session, joined, order_by=(AccessPoint.id,), limit=limit, offset=offset)
    return ApsPublic(data=[ap_public(ap) for ap in rows], count=count)


@router.get(
    "/{ap_id}",
    response_model=ApPublic,
    dependencies=[require(Permission.INVENTORY_READ)],
    responses=error_responses(401, 403, 404),
)
def get_ap(session: SessionDep, scope: ScopeDep, ap_id: ApIdPath) -> Any:
    return ap_public(visible_ap(session, scope, ap_id))


@router.get(
    "/{ap_id}/series",
    response_model=SeriesPublic,
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403, 404),
)
def get_series(
    session: SessionDep,
    store: StoreDep,
    scope: ScopeDep,
    now: NowDep,
    ap_id: ApIdPath,
    metric: MetricQuery,
    start: TimeQuery = None,
    end: TimeQuery = None,
    step: Annotated[
        float | None,
        Query(
            ge=MIN_STEP_S,
            le=MAX_SPAN_S,
            description=f"Bucket width in seconds, {MIN_STEP_S}..{MAX_SPAN_S:.0f}; "
            f"at most {MAX_POINTS} buckets; default gives ≤ ~{TARGET_POINTS} points.",
        ),
    ] = None,
) -> Any:
    """Bucket means of one metric over [start, end), at most two years; default: the last
    hour. A step that would give more than MAX_POINTS buckets is a 422 naming ``step``."""
    end_ts = end if end is not None else now
    start_ts = start if start is not None else max(0.0, end_ts - DEFAULT_SPAN_S)
    check_window(start_ts, end_ts, longest_s=MAX_SPAN_S)
    step_s = step if step is not None else default_step(end_ts - start_ts)
    points = math.ceil((end_ts - start_ts) / step_s)
    if points > MAX_POINTS:
        raise invalid(
            "step",
            f"{points} points requested; at most {MAX_POINTS}: use a larger step "
            f"(≥ {math.ceil((end_ts - start_ts) / MAX_POINTS)} s) or a shorter range",
            step,
        )
    visible_ap(session, scope, ap_id)
    found = store.series(ap_id, metric, start_ts, end_ts, step_s)
    return SeriesPublic(
        ap=ap_id,
        metric=metric,
        unit=AP_METRICS[metric].unit,
        start=utc(start_ts),
        end=utc(end_ts),
        step=step_s,
        points=[SeriesPoint(ts=utc(p.ts), value=p.value) for p in found],
    )


@router.get(
    "/{ap_id}/events",
    response_model=ApEventsPublic,
    dependencies=[require(Permission.STATUS_READ)],
    responses=error_responses(401, 403, 404),
)
def list_events(
    session: SessionDep,
    scope: ScopeDep,
    ap_id: ApIdPath,
    start: TimeQuery = None,
    end: TimeQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """The AP's state changes, newest first; ``start`` ≤ at < ``end`` when given.

    No longest window: the work is bounded by the page (``limit``) and one AP's events.
    """
    check_window(start, end)
    visible_ap(session, scope, ap_id)
    conditions = [ApEvent.ap_id == ap_id]
    if start is not None:
        conditions.append(ApEvent.at >= start)
    if end is not None:
        conditions.append(ApEvent.at < end)
    events, count = page(
        session,
        select(ApEvent).where(*conditions),
        order_by=(ApEvent.at.desc(), ApEvent.id.desc()),
        limit=limit,
        offset=offset,
    )
    return ApEventsPublic(
        data=[
            ApEventPublic(
                id=event.id,
                ap_id=event.ap_id,
                at=utc(event.at),
                from_state=ApState(event.from_state),
                to_state=ApState(event.to_state),
                cause=PollCause(event.cause),
                detail=event.detail,
            )
            for event in events
        ],
        count=count,
    )
