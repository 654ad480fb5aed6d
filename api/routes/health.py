"""Liveness for load balancers and the NOC: is each dependency answering right now?"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SessionDep, StoreDep
from api.models import HealthPublic

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

_NO_SUCH_AP = "-healthz-"


def _check(part: str, probe: Any) -> str | None:
    """Run one probe; return None if fine, else a reason safe to show anonymous callers.

    Only the exception class is returned: its text may carry a database URL or a file
    path, and ``/healthz`` is usually reachable without authentication. The full error
    goes to the log for the operator.
    """
    try:
        probe()
    except Exception as exc:
        log.warning("healthz: %s check failed", part, exc_info=True)
        return type(exc).__name__
    return None


@router.get(
    "/healthz",
    response_model=HealthPublic,
    response_model_exclude_none=True,
    responses={503: {"model": HealthPublic, "description": "A dependency is failing."}},
)
def healthz(session: SessionDep, store: StoreDep) -> Any:
    inventory_err = _check("inventory", lambda: session.execute(text("SELECT 1")).scalar())
    # An id no AP can have (ids start with a letter or digit): the store must really run a
    # lookup (an empty list may be answered without touching it) yet finds nothing to read.
    store_err = _check("store", lambda: store.latest([_NO_SUCH_AP]))
    if inventory_err is None and store_err is None:
        return HealthPublic(status="ok", inventory="ok", store="ok")
    failing = [
        f"{part} check failed ({err})"
        for part, err in (("inventory", inventory_err), ("store", store_err))
        if err is not None
    ]
    body = HealthPublic(
        status="error",
        inventory="ok" if inventory_err is None else "error",
        store="ok" if store_err is None else "error",
        message="; ".join(failing),
    )
    return JSONResponse(status_code=503, content=body.model_dump(mode="json"))
