"""Request-scoped dependencies, declared once as ``Annotated`` aliases.

Routers ask for ``SessionDep``/``StoreDep``/``SettingsDep`` instead of reaching into
``app.state`` so that tests can swap any of them with ``app.dependency_overrides`` and so
that the lifetime of a database session is tied to exactly one request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from inventory.secretbox import SecretBox, load_box
from inventory.userkeys import MonthKeys
from timeseries import MetricStore

MAX_LIMIT = 5000
DEFAULT_LIMIT = 100


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_session(request: Request) -> Iterator[Session]:
    factory = cast(sessionmaker[Session], request.app.state.session_factory)
    with factory() as session:
        yield session


def get_store(request: Request) -> MetricStore:
    return cast(MetricStore, request.app.state.store)


_BOX_LOCK = threading.Lock()


def get_box(request: Request) -> SecretBox:
    """The secret box (sealing citizens' text and phone numbers), loaded on first need and
    kept per app: most requests never seal anything, and an app that never does must not
    create a key file."""
    state = request.app.state
    box = getattr(state, "box", None)
    if box is None:
        with _BOX_LOCK:
            box = getattr(state, "box", None)
            if box is None:
                box = load_box(get_settings(request))
                state.month_keys = MonthKeys(box)
                state.box = box
    return cast(SecretBox, box)


def get_month_keys(request: Request) -> MonthKeys:
    """The month keys that hash personal data (a client's address), per app."""
    get_box(request)
    return cast(MonthKeys, request.app.state.month_keys)


def get_now() -> float:
    """The request's clock (epoch seconds): tokens expire and logins are counted by it, and
    tests override this one dependency instead of sleeping."""
    return time.time()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[MetricStore, Depends(get_store)]
NowDep = Annotated[float, Depends(get_now)]
BoxDep = Annotated[SecretBox, Depends(get_box)]
MonthKeysDep = Annotated[MonthKeys, Depends(get_month_keys)]

# Pagination is the same on every list; declared here so the bounds cannot drift apart.
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1..{MAX_LIMIT}.")]
# Bounded because SQLite's OFFSET is a 64-bit integer: 2**63 would be an OverflowError (a
# 500) instead of an empty page. No list comes near this many rows.
MAX_OFFSET = 2**31 - 1
OffsetQuery = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description=f"Rows to skip before the page, 0..{MAX_OFFSET}.")
]
