from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from core.errors import InventoryError
from inventory import import_file
from inventory.db import open_inventory
from inventory.models import Base
from inventory.secretbox import SecretBox
from tests.fixtures.database import DatabasePool

DATA = Path(__file__).parent / "data"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A new inventory at the newest schema, on the run's database (``--database``)."""
    engine = open_inventory(database_url, create=True)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def new_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Gives the URL of a new, empty database at each call, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        names = itertools.count()
        return lambda: f"sqlite:///{tmp_path / f'inventory-{next(names)}.db'}"
    pool: DatabasePool = request.getfixturevalue("postgres_pool")
    made: list[str] = []

    def make() -> str:
        made.append(pool.take())
        return pool.server.url(made[-1])

    def give_back() -> None:
        for name in made:
            pool.give_back(name)

    request.addfinalizer(give_back)
    return make


@pytest.fixture
def any_engine(new_db_url: Callable[[], str]) -> Iterator[Engine]:
    """A new inventory at the newest schema, on SQLite and on PostgreSQL."""
    engine = open_inventory(new_db_url(), create=True)
    yield engine
    engine.dispose()


# --- the test city and helpers on it ---------------------------------------------------


@pytest.fixture
def data_dir() -> Path:
    """tests/inventory/data: the import files and the pre-migration database."""
    return DATA


@pytest.fixture
def city_file() -> Path:
    """A small city in YAML: every shape the import must handle once."""
    return DATA / "city.yaml"


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: sorted(tuple(row) for row in conn.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def snapshot() -> Callable[[Engine], dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table, sorted, for 'the database did not change' checks."""
    return _snapshot


@pytest.fixture
def counts() -> Callable[[Engine], dict[str, int]]:
    """Rows per table."""
    return lambda engine: {name: len(rows) for name, rows in _snapshot(engine).items()}


@pytest.fixture
def line_of() -> Callable[[str, str], int]:
    """1-based line of the only line of a text containing a needle."""

    def find(text: str, needle: str) -> int:
        lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
        assert len(lines) == 1, (needle, lines)
        return lines[0]

    return find


@pytest.fixture
def write() -> Callable[[Path, str, str], Path]:
    """``write(directory, name, text)``: a UTF-8 file, its path returned."""

    def make(directory: Path, name: str, text: str) -> Path:
        path = directory / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


@pytest.fixture
def failed_import(secret_box: SecretBox) -> Callable[[Engine, Path], list[str]]:
    """``failed_import(engine, path)``: the problems an import that must fail reports, after
    checking it wrote nothing and its message is those problems, one a line."""

    def collect(engine: Engine, path: Path) -> list[str]:
        before = _snapshot(engine)
        with pytest.raises(InventoryError) as caught:
            import_file(engine, path, secret_box)
        assert _snapshot(engine) == before, "a failed import must write nothing"
        assert str(caught.value) == "\n".join(caught.value.problems)
        return caught.value.problems

    return collect
