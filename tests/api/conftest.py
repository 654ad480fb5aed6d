"""API test fixtures: the small city of :mod:`tests.api.city` in a temp SQLite inventory
and the real embedded metric store, served by the app exactly as in production.

Every request is authenticated as in production: ``client`` sends the admin's token,
``client_as(name)`` another user's (see ``tests.api.city.USERS``), ``anon_client`` none.
The inventory with its users is built once per session and copied for each test: the
five argon2 password hashes and the migrations would otherwise cost every test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from inventory.db import open_inventory
from tests.api.city import (
    NOW,
    PASSWORDS,
    SECRETS,
    sample,
    seed_inventory,
    seed_metrics,
    seed_users,
    settings_in,
)
from tests.fixtures.coverage_city import seed_coverage
from tests.fixtures.database import DatabasePool
from tests.fixtures.sessions import seed_sessions
from timeseries import MetricStore
from timeseries.port import Sample


@pytest.fixture
def now() -> float:
    """The fixed 'now' of the fixture data (2026-01-01T00:00:00Z)."""
    return NOW


@pytest.fixture
def secrets() -> tuple[str, ...]:
    """Every credential string in the fixture inventory."""
    return SECRETS


@pytest.fixture
def make_sample() -> Callable[..., Sample]:
    """``make_sample(ap, ts, **fields)``: one AP sample."""
    return sample


@dataclass(frozen=True)
class _Template:
    data_dir: Path  # a data dir holding the seeded inventory (and whatever else it made)
    tokens: dict[str, str]


TEMPLATE_DATABASE = "api_city_template"


@pytest.fixture(scope="session")
def _city_template(
    tmp_path_factory: pytest.TempPathFactory, database_pool: DatabasePool | None
) -> _Template:
    directory = tmp_path_factory.mktemp("city-template")
    url = settings_in(directory).db_url
    if database_pool is not None:  # --database postgresql: a template database
        url = database_pool.make_template(TEMPLATE_DATABASE)
    engine = open_inventory(url, create=True)
    try:
        seed_inventory(engine)
        seed_coverage(engine)  # boundaries and demand: every coverage route answers
        seed_sessions(engine, NOW)  # hotspot sessions: every sessions route has rows to scope
        tokens = seed_users(engine)
    finally:
        engine.dispose()
    if database_pool is not None:
        database_pool.seal_template(TEMPLATE_DATABASE)
    return _Template(directory, tokens)


@pytest.fixture
def settings(
    tmp_path: Path,
    _city_template: _Template,
    new_database_url: Callable[..., str],
    database_pool: DatabasePool | None,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Settings whose inventory holds the fixture city and its users (the store is still
    empty): a copy of the session's template, so every test may write to it (under
    PostgreSQL a copy of the template database, kept for the next test if unchanged)."""
    shutil.copytree(_city_template.data_dir, tmp_path, dirs_exist_ok=True)
    if database_pool is not None:
        monkeypatch.setenv("CITYWIFI_DATABASE_URL", new_database_url(template=TEMPLATE_DATABASE))
    return settings_in(tmp_path)


@pytest.fixture
def tokens(_city_template: _Template) -> dict[str, str]:
    """User name -> bearer token: "admin", "engineer", "planner", "partner" (p-bank) and
    "partner-telco" (p-telco)."""
    return dict(_city_template.tokens)


@pytest.fixture
def passwords() -> dict[str, str]:
    """User name -> password of the same users, for web logins."""
    return dict(PASSWORDS)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(settings: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    """A client of the app authenticated as the admin, its store seeded with the fixture
    metrics."""
    with TestClient(create_app(settings), headers=_bearer(tokens["admin"])) as client:
        seed_metrics(client.app.state.store)  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def client_as(client: TestClient, tokens: dict[str, str]) -> Iterator[Callable[[str], TestClient]]:
    """``client_as(name)``: a client of the same running app (not started again: it shares
    the first client's inventory and store) sending that user's token."""
    made: list[TestClient] = []

    def make(name: str) -> TestClient:
        made.append(TestClient(client.app, headers=_bearer(tokens[name])))
        return made[-1]

    yield make
    for other in made:
        other.close()


@pytest.fixture
def anon_client(client: TestClient) -> Iterator[TestClient]:
    """A client of the same running app that sends no credentials."""
    anonymous = TestClient(client.app)
    yield anonymous
    anonymous.close()


@pytest.fixture
def store(client: TestClient) -> MetricStore:
    """The app's own (embedded) store: write to it, or close it to take it down."""
    found: MetricStore = client.app.state.store  # type: ignore[attr-defined]
    return found
