"""Access points and the history of one AP's metrics."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import AfterValidator, WithJsonSchema
from sqlalchemy import func, select

from api.deps import DEFAULT_LIMIT, LimitQuery, OffsetQuery, SessionDep, StoreDep
from api.filters import DistrictQuery, PartnerQuery, SiteQuery, scope
from api.models import ApEventPublic, ApEventsPublic, ApsPublic, SeriesPoint, SeriesPublic
from api.times import TimeQuery, check_window, invalid, utc
from core.states import ApState, PollCause
from inventory.models import AccessPoint, ApEvent, Site
from inventory.schemas import ApPublic
from timeseries.vocabulary import AP_METRICS

router = APIRouter(prefix="/api/v1/aps", tags=["aps"])

DEFAULT_SPAN_S = 3600.0
TARGET_POINTS = 300
MAX_POINTS = 11_000
MIN_STEP_S = 0.001  # the stores keep milliseconds; a finer bucket could never hold a point
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


def _no_such_ap(ap_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"no access point with id {ap_id!r}")


@router.get("", response_model=ApsPublic)
def list_aps(
    session: SessionDep,
    district: DistrictQuery = None,
    partner: PartnerQuery = None,
    site: SiteQuery = None,
    enabled: Annotated[bool | None, Query()] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    conditions = scope(district, partner, site)
    if enabled is not None:
        conditions.append(AccessPoint.enabled == enabled)
    joined = select(AccessPoint).join(Site, AccessPoint.site_id == Site.id).where(*conditions)
    count = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    rows = session.scalars(joined.order_by(AccessPoint.id).limit(limit).offset(offset))
    return ApsPublic(data=[ap_public(ap) for ap in rows], count=count)


@router.get("/{ap_id}", response_model=ApPublic)
def get_ap(session: SessionDep, ap_id: str) -> Any:
    ap = session.get(AccessPoint, ap_id)
    if ap is None:
        raise _no_such_ap(ap_id)
    return ap_public(ap)


@router.get("/{ap_id}/series", response_model=SeriesPublic)
def get_series(
    session: SessionDep,
    store: StoreDep,
    ap_id: str,
    metric: MetricQuery,
    start: TimeQuery = None,
    end: TimeQuery = None,
    step: Annotated[
        float | None, Query(description="Bucket width in seconds; default gives ≤ ~300 points.")
    ] = None,
) -> Any:
    end_ts = end if end is not None else datetime.now(tz=UTC).timestamp()
    start_ts = start if start is not None else end_ts - DEFAULT_SPAN_S
    check_window(start_ts, end_ts)
    if step is not None and (not math.isfinite(step) or step < MIN_STEP_S):
        raise invalid(
            "step", f"step must be a positive number of seconds, at least {MIN_STEP_S}", step
        )
    step_s = step if step is not None else default_step(end_ts - start_ts)
    points = math.ceil((end_ts - start_ts) / step_s)
    if points > MAX_POINTS:
        raise invalid(
            "step",
            f"{points} points requested; at most {MAX_POINTS}: use a larger step "
            f"(≥ {math.ceil((end_ts - start_ts) / MAX_POINTS)} s) or a shorter range",
            step,
        )
    if session.get(AccessPoint, ap_id) is None:
        raise _no_such_ap(ap_id)
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


@router.get("/{ap_id}/events", response_model=ApEventsPublic)
def list_events(
    session: SessionDep,
    ap_id: str,
    start: TimeQuery = None,
    end: TimeQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """The AP's state changes, newest first; ``start`` ≤ at < ``end`` when given."""
    check_window(start, end)
    if session.get(AccessPoint, ap_id) is None:
        raise _no_such_ap(ap_id)
    conditions = [ApEvent.ap_id == ap_id]
    if start is not None:
        conditions.append(ApEvent.at >= start)
    if end is not None:
        conditions.append(ApEvent.at < end)
    count = session.scalar(select(func.count()).select_from(ApEvent).where(*conditions)) or 0
    page = session.scalars(
        select(ApEvent)
        .where(*conditions)
        .order_by(ApEvent.at.desc(), ApEvent.id.desc())
        .limit(limit)
        .offset(offset)
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
            for event in page
        ],
        count=count,
    )
