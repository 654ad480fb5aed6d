"""The notifications API: the outbox and the routes, for the city's staff only, never
showing a route's secret or the SMTP password; a dead webhook's failure is visible."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from core.settings import NotifyRoute, Settings
from faults.delivery import Deliverer
from inventory.db import open_inventory
from tests.fixtures.outbox import queue_message
from tests.fixtures.receivers import dead_port

HOOK_SECRET = "whsec-api-S3cret-never-shown"
SMTP_PASSWORD = "smtp-api-Pa55-never-shown"
PATHS = ("/api/v1/notifications", "/api/v1/notifications/routes")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The fixture city's settings with a dead webhook (nothing listens on its port, its
    token in the path) and an e-mail route, quick retries and an SMTP password."""
    routes = [
        NotifyRoute(
            name="noc-hook",
            transport="webhook",
            url=f"http://127.0.0.1:{dead_port()}/hooks/T0KEN-in-path?key=K3Y",
            secret=HOOK_SECRET,
            responsible=["noc"],
        ),
        NotifyRoute(
            name="bank-mail",
            transport="email",
            to=["csr@bank.example"],
            partner="p-bank",
            classes=["site_down", "area_outage"],
        ),
    ]
    return Settings(
        **{
            **settings.model_dump(exclude_unset=True),
            "notify_routes": routes,
            "notify_retry_initial_s": 5.0,
            "notify_retry_max_s": 10.0,
            "notify_give_up_s": 20.0,
            "notify_timeout_s": 2.0,
            "smtp_username": "citywifi",
            "smtp_password": SMTP_PASSWORD,
        }
    )


@pytest.fixture
def engine(client: TestClient, settings: Settings) -> Iterator[Engine]:
    """The running app's inventory, as the notifier opens it."""
    found = open_inventory(settings.db_url, create=False)
    yield found
    found.dispose()


def ok(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert HOOK_SECRET not in response.text and SMTP_PASSWORD not in response.text
    assert "T0KEN" not in response.text and "K3Y" not in response.text
    return response.json()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("user", "status"),
    [("admin", 200), ("engineer", 200), ("planner", 403), ("partner", 403),
     ("partner-telco", 403)],
)  # fmt: skip
def test_only_the_city_staff_reads_notifications(
    client_as: Callable[[str], TestClient], path: str, user: str, status: int
) -> None:
    assert client_as(user).get(path).status_code == status


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_is_401(anon_client: TestClient, path: str) -> None:
    assert anon_client.get(path).status_code == 401


def test_routes_say_where_and_what_never_the_secret(client: TestClient, now: float) -> None:
    body = ok(client, "/api/v1/notifications/routes")
    assert body["count"] == 2
    hook, mail = body["data"]
    assert hook["name"] == "noc-hook" and hook["transport"] == "webhook"
    assert hook["where"].startswith("http://127.0.0.1:") and hook["where"].endswith("/…")
    assert (hook["signed"], hook["responsible"], hook["classes"]) == (True, ["noc"], [])
    assert (hook["pending"], hook["sent"], hook["failed"], hook["last_error"]) == (0, 0, 0, None)
    assert mail["where"] == "csr@bank.example" and mail["signed"] is False
    assert (mail["partner"], mail["classes"]) == ("p-bank", ["site_down", "area_outage"])
    assert all(hook["configured"] for hook in body["data"])


def test_a_dead_webhook_is_retried_then_failed_and_visible(
    client: TestClient, engine: Engine, settings: Settings, now: float
) -> None:
    hook_row = queue_message(engine, "noc-hook", now=now)
    queue_message(engine, "old-route", now=now - 60)
    clock = [now]
    deliverer = Deliverer(settings, engine, clock=lambda: clock[0])
    first = deliverer.deliver_due()
    assert (first.retried, first.failed) == (1, 1)  # the old route's message fails at once
    pending = ok(client, "/api/v1/notifications", status="pending")
    assert pending["count"] == 1
    (row,) = pending["data"]
    assert (row["id"], row["status"], row["attempts"]) == (hook_row, "pending", 1)
    assert row["due_at"] == "2026-01-01T00:00:05Z"
    assert row["message_id"] == "noc-hook:noc:1" and row["payload"]["route"] == "noc-hook"
    assert row["last_error"].startswith("route noc-hook (webhook http://127.0.0.1:")
    while (report := deliverer.deliver_due()).next_due is not None:
        clock[0] = report.next_due
    failed = ok(client, "/api/v1/notifications", status="failed", route="noc-hook")
    (row,) = failed["data"]
    assert (row["status"], row["attempts"], row["due_at"], row["sent_at"]) == (
        "failed", 4, None, None,
    )  # fmt: skip
    routes = {r["name"]: r for r in ok(client, "/api/v1/notifications/routes")["data"]}
    hook = routes["noc-hook"]
    assert (hook["pending"], hook["sent"], hook["failed"]) == (0, 0, 1)
    assert hook["last_error"] == row["last_error"]
    assert hook["last_error_notification"] == hook_row
    gone = routes["old-route"]
    assert (gone["configured"], gone["transport"], gone["failed"]) == (False, None, 1)
    assert gone["last_error"] == "route old-route: no longer configured"
    everything = ok(client, "/api/v1/notifications")
    assert everything["count"] == 2 and everything["data"][0]["id"] == hook_row


@pytest.mark.parametrize("params", [{"status": "lost"}, {"route": "x" * 65}, {"limit": 0}])
def test_bad_filters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    assert client.get("/api/v1/notifications", params=params).status_code == 422
