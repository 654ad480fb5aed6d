"""Fixtures of the citizens' reports tests: the hotspots of tests/citizens/city.py in a
new inventory, on the run's database (SQLite, or PostgreSQL with ``--database
postgresql``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from inventory.db import open_inventory
from tests.citizens.city import seed


@pytest.fixture
def hotspots_db(database_url: str) -> Iterator[Engine]:
    """A new inventory holding the hotspots."""
    engine = open_inventory(database_url, create=True)
    with Session(engine) as session:
        seed(session)
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def hotspots(hotspots_db: Engine) -> Iterator[Session]:
    """A session on :func:`hotspots_db`."""
    with Session(hotspots_db) as session:
        yield session
