"""Request-scoped dependencies, declared once as ``Annotated`` aliases.

Routers ask for ``SessionDep``/``StoreDep``/``SettingsDep`` instead of reaching into
``app.state`` so that tests can swap any of them with ``app.dependency_overrides`` and so
that the lifetime of a database session is tied to exactly one request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
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


def get_now() -> float:
    """The request's clock (epoch seconds): tokens expire and logins are counted by it, and
    tests override this one dependency instead of sleeping."""
    return time.time()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[MetricStore, Depends(get_store)]
NowDep = Annotated[float, Depends(get_now)]

# Pagination is the same on every list; declared here so the bounds cannot drift apart.
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1..{MAX_LIMIT}.")]
# Bounded because SQLite's OFFSET is a 64-bit integer: 2**63 would be an OverflowError (a
# 500) instead of an empty page. No list comes near this many rows.
MAX_OFFSET = 2**31 - 1
OffsetQuery = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description=f"Rows to skip before the page, 0..{MAX_OFFSET}.")
]
