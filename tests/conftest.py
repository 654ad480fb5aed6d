"""Fixture plugins for the whole suite: shared test helpers live there, never in test modules."""

pytest_plugins = [
    "tests.fixtures.collector_devices",
    "tests.fixtures.ports",
    "tests.fixtures.postgres",
    "tests.fixtures.processes",
    "tests.fixtures.recorder",
    "tests.fixtures.servers",
    "tests.fixtures.virtual_time",
]
