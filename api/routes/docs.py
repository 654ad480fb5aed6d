"""The interactive API docs (/docs, Swagger UI; /redoc, ReDoc) under their own CSP.

FastAPI's pages load Swagger UI and ReDoc from a CDN and Swagger starts from an inline
script, both of which the page's policy (``api.headers.CSP``) forbids. Rather than loosen
that policy for everyone, these two pages are served here (FastAPI's built-in ones are
switched off in ``api.app``) with a policy of their own: the CDN for scripts and styles,
and the inline script allowed by its SHA-256, computed from the very page being sent, so
it cannot drift from what FastAPI renders (no ``'unsafe-inline'`` for scripts). Styles
may be inline: ReDoc writes its styles at run time. Neither page carries any user data;
they read /openapi.json like any client.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _sha256(script: str) -> str:
    return base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


def docs_csp(page: str) -> str:
    """The policy for one docs page: its inline scripts allowed by hash, nothing else."""
    hashes = " ".join(f"'sha256-{_sha256(s)}'" for s in _INLINE_SCRIPT.findall(page))
    return (
        f"default-src 'none'; script-src {CDN} {hashes}".rstrip() + "; "
        f"style-src {CDN} https://fonts.googleapis.com 'unsafe-inline'; "
        "font-src https://fonts.gstatic.com; "
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
        "connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'; object-src 'none'"
    )


def _with_csp(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(html)})


def _openapi_url(request: Request) -> str:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return root + str(request.app.openapi_url)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return _with_csp(
        get_swagger_ui_html(
            openapi_url=_openapi_url(request), title=f"{request.app.title} - Swagger UI"
        )
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return _with_csp(
        get_redoc_html(openapi_url=_openapi_url(request), title=f"{request.app.title} - ReDoc")
    )
