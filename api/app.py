"""The FastAPI application factory.

Heavy resources (database engine, metric store) are opened in the lifespan, not at
import or in ``create_app``, so building an app is cheap and side-effect free, and a
server that fails to reach its store fails at start-up rather than on the first request.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from api.access_models import error_responses
from api.auth import current_principal, unauthorized
from api.headers import SecurityHeaders
from api.query import one_value_each
from api.routes import (
    aps,
    audit,
    auth,
    citizen_reports,
    coverage,
    docs,
    health,
    incidents,
    maintenance,
    map,
    notifications,
    public,
    public_reports,
    reports,
    sessions,
    sites,
    status,
    users,
    web,
    work_orders,
)
from api.routes.public import PublicCache
from api.text import no_nul_in_url
from core.errors import AccessError, LoginLimited, StoreError
from core.settings import Settings
from inventory.db import open_inventory, session_factory
from planning import CoverageCache
from timeseries import open_store

_MAX_SHOWN_INPUT = 60
# Body fields whose value is never echoed back in a 422 (nor in its one-line message): a
# password, and what a citizen reported (personal data).
SECRET_FIELDS = frozenset({"password", "phone", "text"})
REDACTED = "[redacted]"


def _describe_input(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_SHOWN_INPUT else text[: _MAX_SHOWN_INPUT - 1] + "…"


def validation_message(errors: Sequence[Any]) -> str:
    """One line a person can read, e.g. ``query.limit: Input should be ≤ 5000 (got 9000)``.

    FastAPI's ``detail`` list is kept for programs; this is for the human in front of
    curl or the browser console, who should not have to decode ``loc`` arrays.
    """
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid value"))
        got = ""
        if err.get("type") != "missing" and "input" in err and err["input"] is not None:
            got = f" (got {_describe_input(err['input'])})"
        parts.append(f"{where}: {msg}{got}" if where else f"{msg}{got}")
    return "; ".join(parts) or "invalid request"


def redact_inputs(errors: Sequence[Any]) -> list[Any]:
    """The errors with every password hidden: a 422 repeats what was sent (the field's value,
    or the whole body when a field is missing), and a password must not come back in a
    response, land in a proxy's log or sit in a browser's console."""
    clean = []
    for err in errors:
        err = dict(err)
        given = err.get("input")
        loc = tuple(err.get("loc", ()))
        if any(part in SECRET_FIELDS for part in loc) or loc == ("body",):
            # ("body",): a body that is not a JSON object (text/plain, a form) is echoed
            # as the raw text, where a password would be just a substring.
            err["input"] = REDACTED
        elif isinstance(given, dict) and SECRET_FIELDS & given.keys():
            err["input"] = {k: REDACTED if k in SECRET_FIELDS else v for k, v in given.items()}
        clean.append(err)
    return clean


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = redact_inputs(exc.errors())
    return JSONResponse(
        status_code=422,
        content={"detail": jsonable_encoder(errors), "message": validation_message(errors)},
    )


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the OpenAPI schema lists for ``path`` (empty if it lists none).

    Starlette's 405 names only the methods of the first route matching the path, so a path
    served by two routes (GET and POST /api/v1/users) would advertise half of itself.
    """
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        if re.fullmatch(pattern, path):
            return sorted(method.upper() for method in operations)
    return []


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405 and (methods := allowed_methods(request.app, request.url.path)):
        headers["Allow"] = ", ".join(methods)
    return JSONResponse(
        status_code=exc.status_code,
        content={"detail": exc.detail, "message": message},
        headers=headers or None,
    )


async def _on_store_error(_request: Request, exc: Exception) -> JSONResponse:
    # The store being down is an outage of a dependency, not a bug in the request.
    message = f"metric store unavailable: {exc}"
    return JSONResponse(status_code=503, content={"detail": message, "message": message})


async def _on_login_limited(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LoginLimited)
    message = str(exc)
    return JSONResponse(
        status_code=429,
        content={"detail": message, "message": message},
        headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))},
    )


async def _on_access_error(request: Request, exc: Exception) -> JSONResponse:
    """An account rule refused the request: 401 while nobody is authenticated (a refused
    login), 403 once someone is (they are known, and may not do this)."""
    message = str(exc)
    if getattr(request.state, "principal", None) is None:
        return await _on_http_error(request, unauthorized(message))
    return JSONResponse(status_code=403, content={"detail": message, "message": message})


class _App(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Around Starlette's ServerErrorMiddleware, not inside it: the 500 it writes must
        # carry the security headers as well.
        return SecurityHeaders(super().build_middleware_stack())


# Reachable without credentials; every other router is included behind current_principal.
# (FastAPI's /openapi.json is public too: the schema describes the API, not its data.)
PUBLIC_ROUTERS = (
    health.router,
    auth.public_router,
    web.router,
    docs.router,
    public.router,
    public_reports.router,
)
API_ROUTERS = (
    sites.router,
    aps.router,
    status.router,
    auth.router,
    users.router,
    audit.router,
    incidents.router,
    maintenance.router,
    notifications.router,
    coverage.router,
    sessions.router,
    reports.router,
    map.router,
    citizen_reports.router,
    work_orders.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Never creates or upgrades: serving an empty or outdated inventory would only
        # hide the mistake (DatabaseError says which command fixes it).
        engine = open_inventory(settings.db_url, create=False)
        try:
            store = open_store(settings.store_url)
        except BaseException:
            engine.dispose()
            raise
        app.state.engine = engine
        app.state.session_factory = session_factory(engine)
        app.state.store = store
        try:
            yield
        finally:
            try:
                store.close()
            finally:
                engine.dispose()

    app = _App(
        title="citywifi",
        summary="Status, inventory and metrics of the city's public WiFi.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by api.routes.docs, under a CSP of their own
        redoc_url=None,
    )
    app.state.settings = settings
    # Coverage results, kept until the inventory or the live state changes (one per app:
    # tests build many apps, and each must start empty).
    app.state.coverage = CoverageCache()
    app.state.public = PublicCache()  # the public hotspot status, the same for everyone
    # The status page pulls every AP every 5 s; JSON of 5000 rows shrinks about tenfold.
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(StoreError, _on_store_error)
    app.add_exception_handler(AccessError, _on_access_error)
    app.add_exception_handler(LoginLimited, _on_login_limited)
    for router in PUBLIC_ROUTERS:
        app.include_router(router, dependencies=[Depends(no_nul_in_url), Depends(one_value_each)])
    for router in API_ROUTERS:
        app.include_router(
            router,
            # Who asks first (401 before anything about the request), then the request.
            dependencies=[
                Depends(current_principal),
                Depends(no_nul_in_url),
                Depends(one_value_each),
            ],
            responses=error_responses(401, 403),
        )
    app.mount("/static", StaticFiles(directory=web.WEB_DIR), name="static")
    return app
