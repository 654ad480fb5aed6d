"""The built-in status page: static files served by the API itself.

Serving the page from the same origin as the API means no CORS set-up and no second
server for a one-machine deployment. The directory is found next to the installed
``dashboards`` package (declared as package data), not relative to the working directory.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

import dashboards

WEB_DIR = Path(dashboards.__file__).resolve().parent / "web"

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    # no-cache: after an upgrade the browser must pick up the page that matches the API.
    return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})
