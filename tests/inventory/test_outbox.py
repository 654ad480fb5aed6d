"""The outbox after queueing: what is due, the retry rule (growing backoff, capped, a
last attempt at the give-up time, permanent failures at once), the listings, and where a
route delivers without its secret parts. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from core.errors import ConflictError
from core.settings import NotifyRoute
from inventory import outbox
from inventory.db import transaction
from inventory.outbox import RetryPolicy, Status
from tests.fixtures.outbox import queue_message

T0 = 1_767_225_600.0
POLICY = RetryPolicy(initial_s=5.0, max_s=60.0, give_up_s=300.0)


def fail(engine: Engine, row_id: int, at: float, *, permanent: bool = False) -> Status:
    with transaction(engine) as session:
        return outbox.record(
            session, row_id, delivered=False, permanent=permanent, error="route r: HTTP 503",
            now=at, policy=POLICY,
        )  # fmt: skip


def row(engine: Engine, row_id: int) -> outbox.OutboxRow:
    with transaction(engine) as session:
        (found,) = [r for r in outbox.listing(session, limit=100, offset=0)[0] if r.id == row_id]
        return found


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [POLICY.backoff_s(n) for n in range(6)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    assert POLICY.backoff_s(10_000) == 60.0


def test_due_rows_oldest_first_and_the_next_due_time(any_engine: Engine) -> None:
    late = queue_message(any_engine, "b", now=T0 + 10)
    early = queue_message(any_engine, "a", now=T0)
    with transaction(any_engine) as session:
        assert outbox.due(session, now=T0 - 1, limit=10) == []
        assert [r.id for r in outbox.due(session, now=T0 + 10, limit=10)] == [early, late]
        assert [r.id for r in outbox.due(session, now=T0 + 10, limit=1)] == [early]
        assert outbox.next_due(session) == T0
        (first,) = outbox.due(session, now=T0, limit=10)
    assert first.message_id == "a:noc:1" and first.status is Status.PENDING


def test_a_failing_message_is_retried_with_backoff_then_failed(any_engine: Engine) -> None:
    row_id = queue_message(any_engine, "r", now=T0)
    at, dues = T0, []
    while (status := fail(any_engine, row_id, at)) is Status.PENDING:
        at = row(any_engine, row_id).due_at
        dues.append(at - T0)
    # 5, +10, +20, +40, +60 (capped), +60 ... and the last attempt exactly at give-up.
    assert dues == [5.0, 15.0, 35.0, 75.0, 135.0, 195.0, 255.0, 300.0]
    assert status is Status.FAILED and at == T0 + 300
    failed = row(any_engine, row_id)
    assert (failed.status, failed.attempts, failed.last_error) == (
        Status.FAILED, 9, "route r: HTTP 503",
    )  # fmt: skip
    with transaction(any_engine) as session:
        assert outbox.due(session, now=T0 + 10_000, limit=10) == []
        assert outbox.next_due(session) is None
    with pytest.raises(ConflictError), transaction(any_engine) as session:
        outbox.record(session, row_id, delivered=True, now=at, policy=POLICY)


def test_a_permanent_failure_fails_at_once(any_engine: Engine) -> None:
    row_id = queue_message(any_engine, "r", now=T0)
    assert fail(any_engine, row_id, T0, permanent=True) is Status.FAILED
    assert row(any_engine, row_id).attempts == 1


def test_sent_after_a_retry_keeps_the_error_as_history(any_engine: Engine) -> None:
    row_id = queue_message(any_engine, "r", now=T0)
    fail(any_engine, row_id, T0)
    with transaction(any_engine) as session:
        status = outbox.record(session, row_id, delivered=True, now=T0 + 5, policy=POLICY)
    assert status is Status.SENT
    sent = row(any_engine, row_id)
    assert (sent.status, sent.sent_at, sent.attempts) == (Status.SENT, T0 + 5, 2)
    assert sent.last_error == "route r: HTTP 503"


def test_listing_and_counts_per_route(any_engine: Engine) -> None:
    a1 = queue_message(any_engine, "a", now=T0)
    a2 = queue_message(any_engine, "a", now=T0 + 1, sequence=2)
    b1 = queue_message(any_engine, "b", now=T0 + 2)
    fail(any_engine, a1, T0, permanent=True)
    with transaction(any_engine) as session:
        outbox.record(session, a2, delivered=True, now=T0 + 1, policy=POLICY)
        rows, count = outbox.listing(session, limit=10, offset=0)
        assert ([r.id for r in rows], count) == ([b1, a2, a1], 3)
        rows, count = outbox.listing(session, route="a", limit=1, offset=1)
        assert ([r.id for r in rows], count) == ([a1], 2)
        rows, count = outbox.listing(session, status=Status.FAILED, limit=10, offset=0)
        assert [r.id for r in rows] == [a1]
        counts = outbox.route_counts(session)
    assert counts == {
        "a": outbox.RouteCounts(
            pending=0, sent=1, failed=1, last_error="route r: HTTP 503", last_error_notification=a1
        ),
        "b": outbox.RouteCounts(pending=1),
    }


@pytest.mark.parametrize(
    ("url", "to", "shown"),
    [
        ("https://user:pw@hooks.example.org:8443/services/T0KEN?key=K3Y", [],
         "https://hooks.example.org:8443/…"),
        ("http://127.0.0.1:9000/", [], "http://127.0.0.1:9000/"),
        ("http://127.0.0.1", [], "http://127.0.0.1/"),
        (None, ["a@example.org", "b@example.org"], "a@example.org, b@example.org"),
    ],
)  # fmt: skip
def test_where_a_route_delivers_hides_the_secret_parts(
    url: str | None, to: list[str], shown: str
) -> None:
    route = NotifyRoute(name="r", transport="webhook", url=url, to=to, secret="s3cret")
    assert route.where() == shown
