"""The audit log, for admins (audit:read): who did what, when, from where; newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access_models import MAX_NAME_LENGTH, AuditEntryPublic, AuditPublic
from api.auth import require
from api.deps import DEFAULT_LIMIT, LimitQuery, OffsetQuery, SessionDep
from api.times import TimeQuery, check_window, utc
from core.access import AuditAction, Permission
from inventory import audit

router = APIRouter(
    prefix="/api/v1/audit", tags=["audit"], dependencies=[require(Permission.AUDIT_READ)]
)


@router.get("", response_model=AuditPublic)
def list_audit(
    session: SessionDep,
    action: Annotated[AuditAction | None, Query(description="Only this action.")] = None,
    actor: Annotated[
        str | None,
        Query(max_length=MAX_NAME_LENGTH, description="Only this actor (user name, cli:USER)."),
    ] = None,
    start: TimeQuery = None,
    end: TimeQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """Entries with ``start`` ≤ at < ``end`` when given."""
    check_window(start, end)
    found, count = audit.entries(
        session, action=action, actor=actor, start=start, end=end, limit=limit, offset=offset
    )
    return AuditPublic(
        data=[
            AuditEntryPublic(
                id=e.id,
                at=utc(e.at),
                actor=e.actor,
                action=e.action,
                target=e.target,
                address=e.address,
                detail=e.detail,
            )
            for e in found
        ],
        count=count,
    )
