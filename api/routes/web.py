"""The built-in pages: static files served by the API itself.

Serving the pages from the same origin as the API means no CORS set-up and no second
server for a one-machine deployment. The directory is found next to the installed
``dashboards`` package (declared as package data), not relative to the working directory.

Three documents: ``/`` (the dashboard behind a login), and two public pages a citizen
opens without an account: ``/report`` (report a problem at a hotspot) and ``/hotspots``
(which hotspots work now). The public pages read only ``/public/...`` routes; they are
under the same security headers and content security policy as the dashboard.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

import dashboards

WEB_DIR = Path(dashboards.__file__).resolve().parent / "web"

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    # no-cache: after an upgrade the browser must pick up the page that matches the API.
    return FileResponse(WEB_DIR / name, headers={"Cache-Control": "no-cache"})


@router.get("/")
def index() -> FileResponse:
    return _page("index.html")


@router.get("/report")
def report() -> FileResponse:
    """The public report page: no login, a citizen's phone is the usual client."""
    return _page("report.html")


@router.get("/hotspots")
def hotspots() -> FileResponse:
    """The public hotspot status page (map and list, from ``/public/hotspots``)."""
    return _page("hotspots.html")
