"""Security headers on every response: pages, JSON, static files, errors, even a 500.

A pure ASGI wrapper around the whole application (``api.app`` puts it outside Starlette's
own error middleware), because a header set in a route or a ``BaseHTTPMiddleware`` misses
the responses that matter most to an attacker: 404s, validation errors, crashes and files
served by ``StaticFiles``.

The page's policy allows nothing but its own origin and no inline script at all. A
response that brings its own ``Content-Security-Policy`` keeps it: the API docs pages
(``api.routes.docs``) do, because Swagger UI and ReDoc load from a CDN and Swagger starts
from an inline script whose hash only that page knows.

The one exception to "own origin only" is the map's raster tiles: when the operator sets
``map_tile_url``, ``img-src`` also allows that URL's origin (:func:`csp_for`), and nothing
else (no script, style or connection to it).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)

HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Cross-Origin-Opener-Policy": "same-origin",
}

API_PREFIX = "/api/"

_IMG_SRC = "img-src 'self' data:"
# A host of the tile template: DNS labels, or a template label such as {s} leading it
# (a.tile..., b.tile...), which a CSP host-source spells as the wildcard "*.".
_TEMPLATE_LABEL = re.compile(r"^\{[a-z0-9-]+\}\.")
_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")


def tile_origin(tile_url: str | None) -> str | None:
    """The CSP source for the tiles of ``tile_url`` (``https://*.tile.example``), or None
    when there are no tiles or the URL is not one a policy can name safely (not http(s),
    a template in the middle of the host, characters that would end the directive): then
    no tile loads, which is safer than a policy an odd setting could widen or break."""
    if not tile_url:
        return None
    try:
        parts = urlsplit(tile_url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        return None
    host = _TEMPLATE_LABEL.sub("*.", parts.netloc)
    if not _HOST.fullmatch(host):
        return None
    return f"{parts.scheme}://{host}"


@lru_cache(maxsize=8)
def csp_for(tile_url: str | None) -> str:
    """:data:`CSP`, with the tiles' origin added to ``img-src`` when there is one."""
    origin = tile_origin(tile_url)
    return CSP if origin is None else CSP.replace(_IMG_SRC, f"{_IMG_SRC} {origin}", 1)


def _app_csp(scope: Scope) -> str:
    # Starlette puts the application in the scope before its middleware runs; the
    # settings are read there, per request, so one process may serve apps with different
    # settings (as the tests do).
    app: Any = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return csp_for(getattr(settings, "map_tile_url", None))


class SecurityHeaders:
    """Adds :data:`HEADERS` and :data:`CSP` (unless the response set its own CSP) to every
    HTTP response, and ``Cache-Control: no-store`` to every answer under ``/api/``: those
    carry a user's data or tokens, which no shared or browser cache should keep."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = str(scope.get("path", "")).startswith(API_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = _app_csp(scope)
                if is_api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
