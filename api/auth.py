"""Who is calling: the one dependency that turns a request into a :class:`Principal`.

Every API router is included with ``dependencies=[Depends(current_principal)]`` (see
``api.app``), so a route added later is authenticated by default; routes then name the
permission they need with :func:`require` and read their slice of the city from
:data:`ScopeDep`, never from a value the caller sent.

Two ways in. A program sends ``Authorization: Bearer <token>``. The web page logs in once
and then carries an HttpOnly session cookie; because a browser sends cookies on its own,
a cookie-authenticated unsafe request must also carry ``X-CSRF-Token`` equal to the token
given at login (the double-submit pattern; only its hash is stored server side). Bearer
requests need no CSRF token: a browser never attaches one by itself. Tokens are never
read from the URL, where they would end up in proxy logs and browser history.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from api.deps import NowDep, SessionDep
from core.access import Permission, Principal, Scope
from inventory.accounts import csrf_matches, principal_for_session, principal_for_token

SESSION_COOKIE = "citywifi_session"
CSRF_COOKIE = "citywifi_csrf"
CSRF_HEADER = "X-CSRF-Token"

# One message for every way of failing: which part was wrong (no token, unknown, expired,
# revoked, disabled user, stale cookie) would help only someone probing tokens.
NOT_AUTHENTICATED = "not authenticated: send a valid `Authorization: Bearer <token>` or log in"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The security classes make OpenAPI declare both schemes (so /docs offers "Authorize" and
# schemathesis sends the token); auto_error=False because the 401 is ours to shape.
bearer_scheme = HTTPBearer(
    scheme_name="bearer",
    description="An API token (`citywifi users token NAME`), sent as `Authorization: Bearer`.",
    auto_error=False,
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="session",
    description=f"The session cookie set by POST /api/v1/auth/login; unsafe methods "
    f"also need the `{CSRF_HEADER}` header with the login's csrf_token.",
    auto_error=False,
)


def unauthorized(message: str = NOT_AUTHENTICATED) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def client_address(request: Request) -> str | None:
    """The peer's address, for the audit log and the per-address login limit.

    The socket's peer, not X-Forwarded-For: a header any client can set must not choose
    whose login budget is spent. Behind a proxy, run uvicorn with --forwarded-allow-ips so
    that it rewrites the peer from the proxy's header itself.
    """
    return request.client.host if request.client is not None else None


def current_principal(
    request: Request,
    session: SessionDep,
    now: NowDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    """The caller, from a Bearer token or else the session cookie; 401 when neither works.

    A request that sends a token is judged by the token alone: a bad token with a good
    cookie is still refused, so a client never silently acts as someone else.
    """
    if bearer is not None:
        principal = principal_for_token(session, bearer.credentials, now=now)
        if principal is None:
            raise unauthorized()
        session.commit()  # principal_for_token may have bumped last_used_at
    elif cookie:
        found = principal_for_session(session, cookie, now=now)
        if found is None:
            raise unauthorized()
        principal, csrf_hash = found
        sent = request.headers.get(CSRF_HEADER)
        if request.method not in SAFE_METHODS and not csrf_matches(csrf_hash, sent):
            raise HTTPException(
                status_code=403,
                detail=f"missing or wrong {CSRF_HEADER} header (required with the session "
                "cookie on every request that changes something)",
            )
    else:
        raise unauthorized()
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Any:
    """A dependency for a route's (or router's) ``dependencies=[...]``: 403 unless the
    caller's role has ``permission`` (core.access.ROLE_PERMISSIONS decides)."""

    def check(principal: PrincipalDep) -> None:
        if not principal.may(permission):
            raise HTTPException(
                status_code=403, detail=f"role {principal.role} may not {permission}"
            )

    # Read by the access-matrix test: every non-public route must name its permission.
    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def current_scope(principal: PrincipalDep) -> Scope:
    return principal.scope


ScopeDep = Annotated[Scope, Depends(current_scope)]
