"""Users, their API tokens and web sessions, and the login check: who a request acts as.

Every way in (a bearer token, a browser session, the CLI) ends at a
:class:`core.access.Principal` made here, so the rules for accepting one are written once:
a disabled user's tokens and sessions stop working at once, an expired or revoked token is
refused, a login is rate-limited per name and per address.

Secrets at rest: passwords as argon2 hashes (pwdlib, :data:`_HASHER`); tokens, session
cookies and CSRF tokens as SHA-256 (:func:`hash_secret`): they are 256 random bits, so a
slow hash adds nothing, and a fast one lets a token be looked up by its hash. Clear values
exist only in the return value that hands them out once (:class:`NewToken`,
:func:`open_session`); no repr, log line or exception message here contains one.

Every function takes the caller's ``Session`` and never commits: the caller commits the
change together with its audit row. One exception to "an error means roll back":
:func:`check_login` records a failed or refused login in the audit log *and* raises, and
the rate limit counts those rows, so a caller must commit the session when it catches
the ``AccessError`` (and before answering), or the limit never triggers.
``now`` is epoch seconds, injected so tests need no sleeps.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from pwdlib import PasswordHash
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.access import AuditAction, Principal, Role
from core.errors import AccessError, LoginLimited
from core.settings import Settings
from inventory import audit
from inventory.models import ApiToken, Partner, User, WebSession
from inventory.paging import page

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "NAME_PATTERN",
    "TOKEN_PREFIX",
    "NewToken",
    "TokenInfo",
    "UserInfo",
    "check_login",
    "close_session",
    "create_user",
    "csrf_matches",
    "get_user",
    "hash_secret",
    "issue_token",
    "list_tokens",
    "list_users",
    "open_session",
    "principal_for_session",
    "principal_for_token",
    "revoke_token",
    "set_disabled",
    "set_password",
]

NAME_PATTERN = r"[a-z][a-z0-9._-]{0,63}"
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "cw_"

#: A password longer than this is refused before hashing (argon2 reads all of it).
MAX_PASSWORD_LENGTH = 1024
#: A presented token or cookie longer than this cannot be one of ours: not even hashed.
_MAX_PRESENTED_LENGTH = 256
_TOKEN_BYTES = 32  # 256 bits, urlsafe base64: 43 characters
_LABEL_LENGTH = 100
#: A token's last use is written at most this often: one write per request would make
#: every authenticated GET a write, contending on SQLite with the collector.
LAST_USED_RESOLUTION_S = 60.0

WRONG_LOGIN = "wrong name or password"

_HASHER = PasswordHash.recommended()


@dataclass(frozen=True)
class UserInfo:
    """A user as callers see it: no password hash, only whether there is one."""

    id: int
    name: str
    role: Role
    partner_id: str | None
    disabled: bool
    has_password: bool
    created_at: float


@dataclass(frozen=True)
class TokenInfo:
    """A token's bookkeeping, never the token (which is not stored)."""

    id: int
    user: str
    label: str | None
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None


@dataclass(frozen=True)
class NewToken:
    """A token just issued: ``token`` is the only time the clear value exists."""

    token: str = field(repr=False)
    info: TokenInfo


def hash_secret(text: str) -> str:
    """SHA-256 hex of a token, session cookie or CSRF token: what is stored and looked up."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def csrf_matches(csrf_hash: str, given: str | None) -> bool:
    """Whether a presented CSRF token is the session's (constant-time comparison)."""
    if not given or len(given) > _MAX_PRESENTED_LENGTH:
        return False
    return hmac.compare_digest(hash_secret(given), csrf_hash)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when there is no real one (unknown name, no password), so
    a login for a name that does not exist costs the same argon2 work as a wrong password
    and its timing does not tell which names exist. Made once per process."""
    return _HASHER.hash(secrets.token_urlsafe(16))


# --- users -------------------------------------------------------------------------------


def _info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        name=user.name,
        role=Role(user.role),
        partner_id=user.partner_id,
        disabled=user.disabled,
        has_password=user.password_hash is not None,
        created_at=user.created_at,
    )


def _find(session: Session, name: str) -> User | None:
    return session.scalars(select(User).where(User.name == name)).one_or_none()


def _require(session: Session, name: str) -> User:
    user = _find(session, name)
    if user is None:
        raise AccessError(f"no user named {name[:80]!r}")
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccessError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccessError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")


def create_user(
    session: Session,
    name: str,
    role: Role,
    *,
    partner_id: str | None = None,
    password: str | None = None,
    now: float,
) -> UserInfo:
    """Add a user (flushed, so the id is known). A partner user must name an existing
    partner, and no other role may have one: a partner binding on an admin would mean
    nothing and mislead whoever reads the user list.

    Two concurrent creations of one name: the unique index refuses the second at flush,
    reported as the same AccessError (the session must then be rolled back)."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise AccessError(
            f"bad user name {name[:80]!r}: a lower-case letter, then up to 63 of "
            "a-z, 0-9, '.', '_', '-'"
        )
    role = Role(role)
    if role is Role.PARTNER and partner_id is None:
        raise AccessError("a partner user needs a partner (--partner)")
    if role is not Role.PARTNER and partner_id is not None:
        raise AccessError(f"only partner users have a partner, not role {role.value}")
    if partner_id is not None and session.get(Partner, partner_id) is None:
        raise AccessError(f"no partner {partner_id[:80]!r} in the inventory")
    if password is not None:
        _check_password(password)
    taken = AccessError(f"user name {name!r} is taken")
    if _find(session, name) is not None:
        raise taken
    user = User(
        name=name,
        role=role.value,
        partner_id=partner_id,
        password_hash=None if password is None else _HASHER.hash(password),
        disabled=False,
        created_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise taken from exc
    return _info(user)


def get_user(session: Session, name: str) -> UserInfo | None:
    user = _find(session, name)
    return None if user is None else _info(user)


def list_users(
    session: Session, *, partner_id: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[UserInfo], int]:
    """One page of users by name, and how many in all (of that partner, when given)."""
    conditions = [] if partner_id is None else [User.partner_id == partner_id]
    users, total = page(
        session, select(User).where(*conditions), order_by=(User.name,), limit=limit, offset=offset
    )
    return [_info(u) for u in users], total


def set_disabled(session: Session, name: str, disabled: bool, *, now: float) -> UserInfo:
    """Disable (or enable) a user. Disabling ends its web sessions at once; its tokens are
    kept but refused while it stays disabled, so enabling it gives them back."""
    user = _require(session, name)
    user.disabled = disabled
    if disabled:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    return _info(user)


def set_password(session: Session, name: str, password: str, *, now: float) -> None:
    """Set (or replace) a user's password. Its web sessions end: a password is changed
    because the old one may be known, and a session opened with it must not outlive it."""
    _check_password(password)
    user = _require(session, name)
    user.password_hash = _HASHER.hash(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()


# --- tokens ------------------------------------------------------------------------------


def _token_info(token: ApiToken, user_name: str) -> TokenInfo:
    return TokenInfo(
        id=token.id,
        user=user_name,
        label=token.label,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


def issue_token(
    session: Session,
    name: str,
    *,
    label: str | None = None,
    expires_at: float | None = None,
    now: float,
) -> NewToken:
    """A new bearer token for ``name``: ``cw_`` + 256 random bits. Only its hash is
    stored; the returned :class:`NewToken` is the one chance to show it."""
    user = _require(session, name)
    if user.disabled:
        raise AccessError(f"user {name!r} is disabled: enable it before issuing tokens")
    if expires_at is not None and expires_at <= now:
        raise AccessError("a token's expiry must be in the future")
    if label is not None and len(label) > _LABEL_LENGTH:
        raise AccessError(f"token label too long: at most {_LABEL_LENGTH} characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    row = ApiToken(
        user_id=user.id,
        token_hash=hash_secret(token),
        label=label,
        created_at=now,
        expires_at=expires_at,
        revoked_at=None,
        last_used_at=None,
    )
    session.add(row)
    session.flush()
    return NewToken(token=token, info=_token_info(row, user.name))


def list_tokens(session: Session, name: str) -> list[TokenInfo]:
    """Every token of ``name`` (revoked and expired ones too), oldest first."""
    user = _require(session, name)
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    ).all()
    return [_token_info(row, user.name) for row in rows]


def revoke_token(session: Session, name: str, token_id: int, *, now: float) -> TokenInfo:
    """Revoke one of ``name``'s tokens (again: a no-op keeping the first time). A token of
    another user is refused exactly like one that does not exist."""
    user = _require(session, name)
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise AccessError(f"user {name!r} has no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return _token_info(row, user.name)


def principal_for_token(session: Session, token: str, *, now: float) -> Principal | None:
    """Who a bearer token acts as; None when it is unknown, expired, revoked or its user
    is disabled (the caller answers 401 for all alike). Records the token's last use,
    at most once per :data:`LAST_USED_RESOLUTION_S`."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > _MAX_PRESENTED_LENGTH:
        return None
    found = session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_secret(token))
    ).one_or_none()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or user.disabled:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION_S:
        row.last_used_at = now
        session.flush()
    return Principal(
        user_id=user.id, name=user.name, role=Role(user.role), partner_id=user.partner_id
    )


# --- logins and web sessions -------------------------------------------------------------


def _retry_after(
    session: Session,
    *,
    settings: Settings,
    now: float,
    limit: int,
    actor: str | None = None,
    address: str | None = None,
) -> float | None:
    """None if fewer than ``limit`` failures in the window for ``actor`` or ``address``;
    else the seconds until enough of them have left it for one more attempt."""
    window = settings.login_window_s
    count = audit.failures_since(session, since=now - window, actor=actor, address=address)
    if count < limit:
        return None
    # Once the (count - limit + 1) oldest have left, limit - 1 remain: one more may try.
    times = audit.failure_times(
        session, since=now - window, actor=actor, address=address, limit=count - limit + 1
    )
    return max(times[-1] + window - now, 0.0)


def check_login(
    session: Session,
    name: str,
    password: str,
    *,
    address: str | None,
    now: float,
    settings: Settings,
) -> Principal:
    """The principal for a name and password (via "session"), or an error; audited.

    Refused with LoginLimited, without checking the password, while the failed logins of
    the last ``settings.login_window_s`` reach ``login_max_failures_per_user`` for the name
    or ``login_max_failures_per_address`` from the address; the failures are the audit
    log's LOGIN_FAILED rows (so every API process and the CLI share one count), and a
    refusal is audited as LOGIN_LIMITED, which does not count. Any other failure (unknown
    name, wrong password, disabled user, user without password) is the same
    AccessError(:data:`WRONG_LOGIN`) after the same argon2 work, so neither the message
    nor the time tells which names exist. The caller must commit after an AccessError.
    """
    limit = settings.login_max_failures_per_user
    waits = [_retry_after(session, settings=settings, now=now, limit=limit, actor=name)]
    if address is not None:
        limit = settings.login_max_failures_per_address
        waits.append(
            _retry_after(session, settings=settings, now=now, limit=limit, address=address)
        )
    limited = [w for w in waits if w is not None]
    if limited:
        audit.record(session, AuditAction.LOGIN_LIMITED, actor=name, address=address, now=now)
        session.flush()
        wait = max(limited)
        raise LoginLimited(f"too many failed logins: try again in {wait:.0f} s", wait)

    user = _find(session, name) if len(password) <= MAX_PASSWORD_LENGTH else None
    candidate = password[:MAX_PASSWORD_LENGTH]
    if user is None or user.password_hash is None:
        _HASHER.verify(candidate, _dummy_hash())
        ok = False
    else:
        ok, updated = _HASHER.verify_and_update(candidate, user.password_hash)
        if ok and updated is not None:  # parameters raised since it was hashed
            user.password_hash = updated
        ok = ok and not user.disabled
    if user is None or not ok:
        audit.record(session, AuditAction.LOGIN_FAILED, actor=name, address=address, now=now)
        session.flush()
        raise AccessError(WRONG_LOGIN)
    audit.record(session, AuditAction.LOGIN, actor=user.name, address=address, now=now)
    session.flush()
    return Principal(
        user_id=user.id,
        name=user.name,
        role=Role(user.role),
        partner_id=user.partner_id,
        via="session",
    )


def open_session(
    session: Session, principal: Principal, *, ttl_s: float, address: str | None, now: float
) -> tuple[str, str]:
    """A new web session for ``principal``: (cookie, csrf token), both random, stored only
    as hashes, valid ``ttl_s`` from ``now``. Expired sessions of anyone are purged here,
    so the table holds only live ones without a separate cleaner."""
    if principal.user_id is None:
        raise AccessError(f"{principal.name!r} is not a stored user: no web session")
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    cookie = secrets.token_urlsafe(_TOKEN_BYTES)
    csrf = secrets.token_urlsafe(_TOKEN_BYTES)
    session.add(
        WebSession(
            id_hash=hash_secret(cookie),
            user_id=principal.user_id,
            csrf_hash=hash_secret(csrf),
            created_at=now,
            expires_at=now + ttl_s,
            address=None if address is None else audit.clip_address(address),
        )
    )
    session.flush()
    return cookie, csrf


def principal_for_session(
    session: Session, cookie: str, *, now: float
) -> tuple[Principal, str] | None:
    """Who a session cookie acts as (via "session") and the hash of its CSRF token (see
    :func:`csrf_matches`); None when unknown, expired or its user disabled."""
    if not cookie or len(cookie) > _MAX_PRESENTED_LENGTH:
        return None
    found = session.execute(
        select(WebSession, User)
        .join(User, WebSession.user_id == User.id)
        .where(WebSession.id_hash == hash_secret(cookie))
    ).one_or_none()
    if found is None:
        return None
    row, user = found
    if row.expires_at <= now or user.disabled:
        return None
    principal = Principal(
        user_id=user.id,
        name=user.name,
        role=Role(user.role),
        partner_id=user.partner_id,
        via="session",
    )
    return principal, row.csrf_hash


def close_session(session: Session, cookie: str) -> None:
    """End a web session (logout); an unknown cookie is nothing to do."""
    if cookie and len(cookie) <= _MAX_PRESENTED_LENGTH:
        session.execute(delete(WebSession).where(WebSession.id_hash == hash_secret(cookie)))
