"""Notifications: the outbox (what was queued for which route, sent, retried or failed,
and why) and the configured routes with their counts and last error.

Operations data for the city's staff: reading needs ``notifications:read`` (admin and
engineer); a partner or planner is refused (403), since the outbox names every partner's
sites. Nothing here shows a route's secret or the SMTP password (see
:mod:`api.notification_models`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access_models import error_responses
from api.auth import require
from api.deps import DEFAULT_LIMIT, LimitQuery, OffsetQuery, SessionDep, SettingsDep
from api.notification_models import (
    NotificationPublic,
    NotificationsPublic,
    NotifyRoutePublic,
    NotifyRoutesPublic,
)
from api.times import utc
from core.access import Permission
from inventory import outbox
from inventory.outbox import OutboxRow, RouteCounts, Status

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])

_READ = [require(Permission.NOTIFICATIONS_READ)]

StatusQuery = Annotated[Status | None, Query(description="Only messages in this status.")]
RouteQuery = Annotated[str | None, Query(max_length=64, description="Only messages of this route.")]


def _payload(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def notification_public(row: OutboxRow) -> NotificationPublic:
    return NotificationPublic(
        id=row.id,
        message_id=row.message_id,
        route=row.route,
        group=row.group_key,
        kind=row.kind,
        subject=row.subject,
        status=row.status,
        created_at=utc(row.created_at),
        due_at=utc(row.due_at) if row.status is Status.PENDING else None,
        attempts=row.attempts,
        sent_at=utc(row.sent_at),
        last_error=row.last_error,
        payload=_payload(row.payload),
    )


@router.get(
    "",
    response_model=NotificationsPublic,
    dependencies=_READ,
    responses=error_responses(401, 403),
)
def list_notifications(
    session: SessionDep,
    status: StatusQuery = None,
    route: RouteQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """Newest first."""
    rows, count = outbox.listing(session, status=status, route=route, limit=limit, offset=offset)
    return NotificationsPublic(data=[notification_public(row) for row in rows], count=count)


@router.get(
    "/routes",
    response_model=NotifyRoutesPublic,
    dependencies=_READ,
    responses=error_responses(401, 403),
)
def list_routes(session: SessionDep, settings: SettingsDep) -> Any:
    """The configured routes in their settings' order, then any route no longer
    configured that still has messages."""
    counts = outbox.route_counts(session)
    data = [
        NotifyRoutePublic(
            name=route.name,
            configured=True,
            transport=route.transport,
            where=route.where(),
            signed=bool(route.secret),
            responsible=route.responsible,
            classes=route.classes,
            partner=route.partner,
            operator=route.operator,
            **_counts(counts.pop(route.name, RouteCounts())),
        )
        for route in settings.notify_routes
    ]
    data += [
        NotifyRoutePublic(
            name=name,
            configured=False,
            transport=None,
            where=None,
            signed=False,
            responsible=[],
            classes=[],
            partner=None,
            operator=None,
            **_counts(left),
        )
        for name, left in sorted(counts.items())
    ]
    return NotifyRoutesPublic(data=data, count=len(data))


def _counts(counts: RouteCounts) -> dict[str, Any]:
    return {
        "pending": counts.pending,
        "sent": counts.sent,
        "failed": counts.failed,
        "last_error": counts.last_error,
        "last_error_notification": counts.last_error_notification,
    }
