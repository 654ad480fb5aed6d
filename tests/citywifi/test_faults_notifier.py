"""``citywifi faults`` with notification routes: the notifier beside the engine (one
step after ``--once``), a route that cannot work refused at start in one line, and a
SIGTERM that ends the process promptly even while a receiver hangs."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citywifi.cli import app
from core.settings import Settings
from inventory.db import open_inventory
from tests.faults.city import seed
from tests.fixtures.outbox import queue_message
from tests.fixtures.processes import Proc, citywifi_env, wait_for
from tests.fixtures.receivers import WebhookReceiver

runner = CliRunner()
# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = pytest.mark.usefixtures("database_url")
SECRET = "whsec-cli-S3cret"


def routes(url: str, transport: str = "webhook") -> str:
    return json.dumps([{"name": "noc-hook", "transport": transport, "url": url, "secret": SECRET}])


def city(data_dir: Path, *, queued: bool) -> None:
    engine = open_inventory(Settings(data_dir=data_dir).db_url, create=True)
    seed(engine)
    if queued:
        queue_message(engine, "noc-hook", now=time.time())
    engine.dispose()


def test_once_also_delivers_what_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook_receiver: WebhookReceiver
) -> None:
    city(tmp_path / "state", queued=True)
    monkeypatch.setenv("CITYWIFI_NOTIFY_ROUTES", routes(webhook_receiver.url))
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "state"), "faults", "--once"])
    assert result.exit_code == 0, result.output
    assert "notifications: 0 queued, 1 sent, 0 to retry, 0 failed" in result.stdout
    (request,) = webhook_receiver.requests
    assert request.headers["X-Citywifi-Message-Id"] == "noc-hook:noc:1"


def test_a_route_no_transport_serves_is_one_line_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city(tmp_path / "state", queued=False)
    monkeypatch.setenv("CITYWIFI_NOTIFY_ROUTES", routes("http://127.0.0.1:9/", "pager"))
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "state"), "faults", "--once"])
    assert result.exit_code == 2
    assert result.output.startswith("error: no transport named 'pager' (known: ")
    assert result.output.count("\n") == 1 and SECRET not in result.output


@pytest.mark.slow
def test_sigterm_stops_it_promptly_while_a_receiver_hangs(
    tmp_path: Path, spawn: Callable[..., Proc], webhook_receiver: WebhookReceiver
) -> None:
    data_dir = tmp_path / "state"
    city(data_dir, queued=True)
    webhook_receiver.hang()
    env = citywifi_env(data_dir)
    env |= {"CITYWIFI_NOTIFY_ROUTES": routes(webhook_receiver.url),
            "CITYWIFI_NOTIFY_TIMEOUT_S": "60", "CITYWIFI_FAULT_INTERVAL_S": "0.5"}  # fmt: skip
    proc = spawn(["faults"], env)
    webhook_receiver.wait_for_requests(1, timeout_s=30)  # the notifier is stuck in a send
    time.sleep(1.5)  # meanwhile the engine cycles (0.5 s apart)
    started = time.monotonic()
    proc.popen.send_signal(signal.SIGTERM)
    assert proc.popen.wait(timeout=15) == 0, proc.output()
    assert time.monotonic() - started < 10
    wait_for(lambda: "fault engine: stopped" in proc.output(), 5, "the stop line")
    assert SECRET not in proc.output()
