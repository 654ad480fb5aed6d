"""Users and their API tokens, for admins (users:manage).

The same operations as ``citywifi users`` (both call ``inventory.accounts``), audited the
same way with the admin's name and address as actor. A token is in the answer that made
it and nowhere else: lists show its id, label and times only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from api.access_models import (
    MAX_NAME_LENGTH,
    PartnerId,
    TokenCreate,
    TokenCreatedPublic,
    TokenPublic,
    TokensPublic,
    UserCreate,
    UserCreatedPublic,
    UserPublic,
    UsersPublic,
    error_responses,
)
from api.auth import PrincipalDep, client_address, require
from api.deps import DEFAULT_LIMIT, LimitQuery, NowDep, OffsetQuery, SessionDep
from api.times import utc
from core.access import AuditAction, Permission, Principal
from core.errors import AccessError
from inventory import audit
from inventory.accounts import (
    TokenInfo,
    UserInfo,
    create_user,
    get_user,
    issue_token,
    list_tokens,
    list_users,
    revoke_token,
    set_disabled,
)

router = APIRouter(
    prefix="/api/v1/users",
    tags=["users"],
    dependencies=[require(Permission.USERS_MANAGE)],
)

NamePath = Annotated[str, Path(max_length=MAX_NAME_LENGTH, description="User name.")]
# Bounded to a 32-bit integer, the column's range on PostgreSQL: a larger id would fail
# in the database (a 500) instead of being "no such token".
TokenIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Token id.")]
_DAY_S = 86_400.0


def user_public(user: UserInfo) -> UserPublic:
    return UserPublic(
        name=user.name,
        role=user.role,
        partner=user.partner_id,
        disabled=user.disabled,
        has_password=user.has_password,
        created_at=utc(user.created_at),
    )


def token_public(token: TokenInfo) -> TokenPublic:
    return TokenPublic(
        id=token.id,
        user=token.user,
        label=token.label,
        created_at=utc(token.created_at),
        expires_at=utc(token.expires_at),
        revoked_at=utc(token.revoked_at),
        last_used_at=utc(token.last_used_at),
    )


def _no_such_user(name: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"no user named {name!r}")


def _existing(session: Session, name: str) -> UserInfo:
    user = get_user(session, name)
    if user is None:
        raise _no_such_user(name)
    return user


def _expiry(days: int | None, now: float) -> float | None:
    return None if days is None else now + days * _DAY_S


def _audit(
    session: Session,
    request: Request,
    principal: Principal,
    action: AuditAction,
    target: str,
    now: float,
    detail: str | None = None,
) -> None:
    audit.record(
        session,
        action,
        actor=principal.name,
        target=target,
        address=client_address(request),
        detail=detail,
        now=now,
    )


@router.get("", response_model=UsersPublic)
def get_users(
    session: SessionDep,
    partner: Annotated[PartnerId | None, Query(description="Only this partner's users.")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    users, count = list_users(session, partner_id=partner, limit=limit, offset=offset)
    return UsersPublic(data=[user_public(u) for u in users], count=count)


@router.post(
    "",
    status_code=201,
    response_model=UserCreatedPublic,
    responses=error_responses(400, 409),
    summary="Create a user and its first token (shown in this answer only)",
)
def post_user(
    body: UserCreate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    now: NowDep,
) -> Any:
    """A partner user must name an existing partner, and only a partner user may name one
    (422); a taken name is 409."""
    if get_user(session, body.name) is not None:
        raise HTTPException(status_code=409, detail=f"a user named {body.name!r} exists")
    password = body.password.get_secret_value() if body.password is not None else None
    try:
        user = create_user(
            session, body.name, body.role, partner_id=body.partner, password=password, now=now
        )
    except AccessError as exc:
        # The rules live in inventory.accounts (its messages never repeat a password). The
        # body model has already checked the name and the password's length, so what is
        # left is the partner rule: a partner user names an existing partner, no one else
        # names one. Shaped like FastAPI's own 422, as api.times.invalid does for queries.
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "partner"), "msg": str(exc), "input": None}]
        ) from None
    new = issue_token(
        session, user.name, label=body.token_label, expires_at=_expiry(body.expires_days, now),
        now=now,
    )  # fmt: skip
    detail = f"role {user.role}" + (f", partner {user.partner_id}" if user.partner_id else "")
    _audit(session, request, principal, AuditAction.USER_CREATED, user.name, now, detail)
    _audit(
        session, request, principal, AuditAction.TOKEN_CREATED, user.name, now,
        f"token {new.info.id}",
    )  # fmt: skip
    session.commit()
    return UserCreatedPublic(
        user=user_public(user), token=new.token, token_info=token_public(new.info)
    )


@router.get("/{name}", response_model=UserPublic, responses=error_responses(404))
def get_one_user(name: NamePath, session: SessionDep) -> Any:
    return user_public(_existing(session, name))


def _set_disabled(
    name: str,
    disabled: bool,
    principal: Principal,
    request: Request,
    session: Session,
    now: float,
) -> UserPublic:
    _existing(session, name)
    if disabled and name == principal.name:
        raise HTTPException(
            status_code=409,
            detail="you cannot disable your own account; another admin must do it",
        )
    user = set_disabled(session, name, disabled, now=now)
    action = AuditAction.USER_DISABLED if disabled else AuditAction.USER_ENABLED
    _audit(session, request, principal, action, name, now)
    session.commit()
    return user_public(user)


@router.post(
    "/{name}/disable",
    response_model=UserPublic,
    responses=error_responses(404, 409),
    summary="Disable a user: its tokens stop working and its web sessions end",
)
def disable_user(
    name: NamePath, principal: PrincipalDep, request: Request, session: SessionDep, now: NowDep
) -> Any:
    return _set_disabled(name, True, principal, request, session, now)


@router.post(
    "/{name}/enable",
    response_model=UserPublic,
    responses=error_responses(404),
    summary="Enable a disabled user again",
)
def enable_user(
    name: NamePath, principal: PrincipalDep, request: Request, session: SessionDep, now: NowDep
) -> Any:
    return _set_disabled(name, False, principal, request, session, now)


@router.get("/{name}/tokens", response_model=TokensPublic, responses=error_responses(404))
def get_tokens(name: NamePath, session: SessionDep) -> Any:
    """Every token of the user, revoked and expired ones included (ids, labels, times)."""
    _existing(session, name)
    tokens = list_tokens(session, name)
    return TokensPublic(data=[token_public(t) for t in tokens], count=len(tokens))


@router.post(
    "/{name}/tokens",
    status_code=201,
    response_model=TokenCreatedPublic,
    responses=error_responses(400, 404, 409),
    summary="Issue a new token for the user (shown in this answer only)",
)
def post_token(
    name: NamePath,
    body: TokenCreate,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    now: NowDep,
) -> Any:
    if _existing(session, name).disabled:
        raise HTTPException(
            status_code=409, detail=f"user {name!r} is disabled: enable it before issuing tokens"
        )
    new = issue_token(
        session, name, label=body.label, expires_at=_expiry(body.expires_days, now), now=now
    )
    _audit(
        session, request, principal, AuditAction.TOKEN_CREATED, name, now, f"token {new.info.id}"
    )
    session.commit()
    return TokenCreatedPublic(**token_public(new.info).model_dump(), token=new.token)


@router.delete(
    "/{name}/tokens/{token_id}",
    status_code=204,
    responses=error_responses(404),
    summary="Revoke one of the user's tokens",
)
def delete_token(
    name: NamePath,
    token_id: TokenIdPath,
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    now: NowDep,
) -> None:
    """A token id of another user is 404, exactly like an unknown id."""
    _existing(session, name)
    try:
        revoke_token(session, name, token_id, now=now)
    except AccessError:
        raise HTTPException(
            status_code=404, detail=f"user {name!r} has no token with id {token_id}"
        ) from None
    _audit(session, request, principal, AuditAction.TOKEN_REVOKED, name, now, f"token {token_id}")
    session.commit()
