"""Access points and the history of one AP's metrics."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from sqlalchemy import func, select

from api.deps import DEFAULT_LIMIT, LimitQuery, OffsetQuery, SessionDep, StoreDep
from api.filters import DistrictQuery, PartnerQuery, SiteQuery, scope
from api.models import ApsPublic, SeriesPoint, SeriesPublic
from inventory.models import AccessPoint, Site
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


def parse_time(value: Any) -> Any:
    """Accept epoch seconds or ISO 8601, because shell users type one and browsers the other.

    A datetime without an offset is taken as UTC: the whole system keeps UTC, and guessing
    the server's local zone would make the same URL mean different things on two hosts.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"not a finite number of seconds: {value!r}")
        return seconds
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not a time: {value!r}; use ISO 8601 (2024-05-01T12:00:00Z) or epoch seconds"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def known_metric(name: str) -> str:
    if name not in AP_METRICS:
        valid = ", ".join(sorted(AP_METRICS))
        raise ValueError(f"unknown metric {name!r}; valid metrics: {valid}")
    return name


TimeQuery = Annotated[
    float | None,
    BeforeValidator(parse_time),
    # What a client may send, not the float it becomes after parsing.
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]}),
    Query(description="ISO 8601 datetime or UTC epoch seconds."),
]
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


def _invalid(field: str, message: str, value: Any) -> RequestValidationError:
    """A 422 shaped exactly like FastAPI's own, so clients handle one error format."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", field), "msg": message, "input": value}]
    )


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


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
        raise HTTPException(status_code=404, detail=f"no access point with id {ap_id!r}")
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
    if end_ts <= start_ts:
        raise _invalid(
            "end",
            f"end ({_utc(end_ts).isoformat()}) must be after start ({_utc(start_ts).isoformat()})",
            end,
        )
    if step is not None and (not math.isfinite(step) or step < MIN_STEP_S):
        raise _invalid(
            "step", f"step must be a positive number of seconds, at least {MIN_STEP_S}", step
        )
    step_s = step if step is not None else default_step(end_ts - start_ts)
    points = math.ceil((end_ts - start_ts) / step_s)
    if points > MAX_POINTS:
        raise _invalid(
            "step",
            f"{points} points requested; at most {MAX_POINTS}: use a larger step "
            f"(≥ {math.ceil((end_ts - start_ts) / MAX_POINTS)} s) or a shorter range",
            step,
        )
    if session.get(AccessPoint, ap_id) is None:
        raise HTTPException(status_code=404, detail=f"no access point with id {ap_id!r}")
    found = store.series(ap_id, metric, start_ts, end_ts, step_s)
    return SeriesPublic(
        ap=ap_id,
        metric=metric,
        unit=AP_METRICS[metric].unit,
        start=_utc(start_ts),
        end=_utc(end_ts),
        step=step_s,
        points=[SeriesPoint(ts=_utc(p.ts), value=p.value) for p in found],
    )
