"""Security headers on every response: pages, JSON, static files, errors, even a 500.

A pure ASGI wrapper around the whole application (``api.app`` puts it outside Starlette's
own error middleware), because a header set in a route or a ``BaseHTTPMiddleware`` misses
the responses that matter most to an attacker: 404s, validation errors, crashes and files
served by ``StaticFiles``.

The page's policy allows nothing but its own origin and no inline script at all. A
response that brings its own ``Content-Security-Policy`` keeps it: the API docs pages
(``api.routes.docs``) do, because Swagger UI and ReDoc load from a CDN and Swagger starts
from an inline script whose hash only that page knows.
"""

from __future__ import annotations

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
                    headers["Content-Security-Policy"] = CSP
                if is_api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
