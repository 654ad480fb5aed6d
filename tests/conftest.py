"""Fixture plugins for the whole suite: shared test helpers live there, never in test modules.

One fixture for every test: the root logger is put back as it was. Commands run in
process (typer's CliRunner) call ``setup_logging``, which points the root handler at the
runner's stderr; once the runner closes that stream, every later log line in the session
would fail with a traceback of its own ("I/O operation on closed file").
"""

import logging
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.fixtures.collector_devices",
    "tests.fixtures.grafana_standin",
    "tests.fixtures.ports",
    "tests.fixtures.postgres",
    "tests.fixtures.database",
    "tests.fixtures.processes",
    "tests.fixtures.receivers",
    "tests.fixtures.recorder",
    "tests.fixtures.secret_keys",
    "tests.fixtures.secret_scan",
    "tests.fixtures.servers",
    "tests.fixtures.usage_reports",
    "tests.fixtures.virtual_time",
]


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
