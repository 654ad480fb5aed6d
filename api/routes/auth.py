"""Logging in and out of the web page, and "who am I" for any client.

``public_router`` (the login) is the only API route reachable without credentials; the
rest of this module sits behind ``current_principal`` like every other router. Failed and
rate-limited logins are audited by ``inventory.accounts.check_login`` itself, so the
count the limit reads and the log an admin reads are the same rows; this module commits
them even when the login is refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from api.access_models import LoginIn, LoginPublic, MePublic, error_responses
from api.auth import CSRF_COOKIE, SESSION_COOKIE, PrincipalDep, client_address
from api.deps import NowDep, SessionDep, SettingsDep
from api.text import storable
from core.access import ROLE_PERMISSIONS, AuditAction, Principal
from core.errors import AccessError
from core.settings import Settings
from inventory import audit
from inventory.accounts import check_login, close_session, open_session
from inventory.models import Partner

PREFIX = "/api/v1/auth"
public_router = APIRouter(prefix=PREFIX, tags=["auth"])
router = APIRouter(prefix=PREFIX, tags=["auth"])


def me_public(session: Session, principal: Principal) -> MePublic:
    partner = session.get(Partner, principal.partner_id) if principal.partner_id else None
    return MePublic(
        name=principal.name,
        role=principal.role,
        partner=principal.partner_id,
        partner_name=partner.name if partner is not None else None,
        permissions=sorted(ROLE_PERMISSIONS[principal.role]),
    )


def _set_cookies(response: Response, settings: Settings, cookie: str, csrf: str) -> None:
    # Strict: the page and the API share one origin, so no cross-site request ever needs
    # the session. The CSRF cookie is readable by the page's script (not HttpOnly): that
    # is how the page learns the token again after a reload.
    max_age = int(settings.session_ttl_s)
    common: dict[str, Any] = {
        "max_age": max_age,
        "path": "/",
        "secure": settings.cookie_secure,
        "samesite": "strict",
    }
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, **common)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)


def _clear_cookies(response: Response, settings: Settings) -> None:
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(
            name, path="/", secure=settings.cookie_secure, httponly=httponly, samesite="strict"
        )


@public_router.post(
    "/login",
    response_model=LoginPublic,
    responses=error_responses(400, 401, 429),
    summary="Log in with a name and password; sets the session and CSRF cookies",
)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Any:
    """401 says only "wrong name or password" whichever it was; 429 (with Retry-After)
    after too many failures for the name or from the address."""
    address = client_address(request)
    try:
        principal = check_login(
            session,
            storable(body.name),
            body.password.get_secret_value(),
            address=address,
            now=now,
            settings=settings,
        )
    except AccessError:
        session.commit()  # keep the LOGIN_FAILED/LOGIN_LIMITED row the refusal wrote
        raise  # api.app turns it into 401, or 429 for LoginLimited
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # a new login replaces the browser's previous session, never adds to it
        close_session(session, old)
    cookie, csrf = open_session(
        session, principal, ttl_s=settings.session_ttl_s, address=address, now=now
    )
    session.commit()
    _set_cookies(response, settings, cookie, csrf)
    return LoginPublic(user=me_public(session, principal), csrf_token=csrf)


@router.post(
    "/logout",
    status_code=204,
    summary="End the session (server side) and clear both cookies",
)
def logout(
    principal: PrincipalDep,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> None:
    """A token caller has no session to end (revoke the token instead): it gets the same
    204, so a client can always call it, and nothing is audited because nothing ended."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal.via == "session" and cookie:
        close_session(session, cookie)
        audit.record(
            session,
            AuditAction.LOGOUT,
            actor=principal.name,
            address=client_address(request),
            now=now,
        )
        session.commit()
    _clear_cookies(response, settings)


@router.get("/me", response_model=MePublic, summary="The caller: name, role, partner, rights")
def me(principal: PrincipalDep, session: SessionDep) -> Any:
    return me_public(session, principal)
