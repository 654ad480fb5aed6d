"""Shapes of the access routes (login, users, tokens, audit) and of every error answer.

Passwords come in as ``SecretStr`` so that no repr, log line or validation message of a
request model can show one; tokens go out exactly once, in the ``*Created*`` models,
and nowhere else. ``ErrorPublic`` is what every non-422 error body looks like
(``api.app``'s handlers write it), declared so that the OpenAPI schema is honest about
400/401/403/404/409/429 and schemathesis can hold the app to it (400 is FastAPI's answer
to a body it cannot even decode: every route that takes a body declares it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from api.text import NoNul
from core.access import AuditAction, Permission, Role
from inventory.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, NAME_PATTERN

MAX_NAME_LENGTH = 64  # users.name
MAX_LABEL_LENGTH = 100  # api_tokens.label
MAX_TOKEN_DAYS = 3650

UserName = Annotated[
    str, StringConstraints(pattern=f"^{NAME_PATTERN}$", max_length=MAX_NAME_LENGTH)
]
PartnerId = Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul]
Label = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_LENGTH), NoNul]
ExpiresDays = Annotated[int, Field(ge=1, le=MAX_TOKEN_DAYS, description="Days until it expires.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorPublic(_Model):
    detail: str
    message: str  # the same words: ``detail`` is FastAPI's key, ``message`` ours everywhere


_ERROR_TEXT: dict[int, str] = {
    400: "The body could not be read at all (not UTF-8 JSON).",
    401: "No valid credentials: send `Authorization: Bearer <token>` or log in.",
    403: "The caller's role may not do this, or a cookie-authenticated unsafe request "
    "lacks a matching X-CSRF-Token header.",
    404: "No such object, or one outside the caller's scope (the same answer).",
    409: "The request conflicts with the current state.",
    429: "Too many failed logins: try again after Retry-After seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the given error codes, all shaped as :class:`ErrorPublic`."""
    found: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorPublic, "description": _ERROR_TEXT[code]}
        if code == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
            }
        if code == 429:
            entry["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
            }
        found[code] = entry
    return found


# --- login ---------------------------------------------------------------------------


class LoginIn(_Model):
    # No pattern on the name: a name that cannot exist is a failed login (401, audited),
    # not a 422 that would tell a guesser which names are well-formed.
    name: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class MePublic(_Model):
    name: str
    role: Role
    partner: str | None  # id, for a partner user only
    partner_name: str | None
    permissions: list[Permission]


class LoginPublic(_Model):
    user: MePublic
    csrf_token: str  # also in the CSRF cookie; send it back as X-CSRF-Token on unsafe requests


# --- users and tokens ----------------------------------------------------------------


class UserBase(_Model):
    name: str
    role: Role
    partner: str | None = None


class UserCreate(UserBase):
    name: UserName
    partner: PartnerId | None = None
    password: (
        Annotated[SecretStr, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
        | None
    ) = None
    token_label: Label | None = None
    expires_days: ExpiresDays | None = None


class UserPublic(UserBase):
    disabled: bool
    has_password: bool
    created_at: datetime


class UsersPublic(_Model):
    data: list[UserPublic]
    count: int


class TokenCreate(_Model):
    label: Label | None = None
    expires_days: ExpiresDays | None = None


class TokenPublic(_Model):
    id: int
    user: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokensPublic(_Model):
    data: list[TokenPublic]
    count: int


class TokenCreatedPublic(TokenPublic):
    token: str  # shown this once; only its hash is kept


class UserCreatedPublic(_Model):
    user: UserPublic
    token: str  # shown this once; only its hash is kept
    token_info: TokenPublic


# --- audit ---------------------------------------------------------------------------


class AuditEntryPublic(_Model):
    id: int
    at: datetime
    actor: str
    action: AuditAction
    target: str | None
    address: str | None
    detail: str | None


class AuditPublic(_Model):
    data: list[AuditEntryPublic]
    count: int  # all entries matching the filters, not the page size
