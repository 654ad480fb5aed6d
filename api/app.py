"""The FastAPI application factory.

Heavy resources (database engine, metric store) are opened in the lifespan, not at
import or in ``create_app``, so building an app is cheap and side-effect free, and a
server that fails to reach its store fails at start-up rather than on the first request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.routes import aps, health, sites, status, web
from core.errors import StoreError
from core.settings import Settings
from inventory.db import open_inventory, session_factory
from timeseries import open_store

_MAX_SHOWN_INPUT = 60


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


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    return JSONResponse(
        status_code=422,
        content={"detail": jsonable_encoder(errors), "message": validation_message(errors)},
    )


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse(
        status_code=exc.status_code,
        content={"detail": exc.detail, "message": message},
        headers=getattr(exc, "headers", None),
    )


async def _on_store_error(_request: Request, exc: Exception) -> JSONResponse:
    # The store being down is an outage of a dependency, not a bug in the request.
    message = f"metric store unavailable: {exc}"
    return JSONResponse(status_code=503, content={"detail": message, "message": message})


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

    app = FastAPI(
        title="citywifi",
        summary="Status, inventory and metrics of the city's public WiFi.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # The status page pulls every AP every 5 s; JSON of 5000 rows shrinks about tenfold.
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(StoreError, _on_store_error)
    for module in (health, sites, aps, status, web):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=web.WEB_DIR), name="static")
    return app
