"""The simulator tests' shared city: five APs served over real UDP for the whole package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.simulated import Running, serve_city


@pytest.fixture(scope="package")
def running_city() -> Iterator[Running]:
    """A 5-AP city served from a background thread with its own event loop."""
    with serve_city(5, seed=7) as running:
        yield running
