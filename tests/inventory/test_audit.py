"""The audit log: rows appended and read back newest first, filters, the login-failure
counts the rate limit reads, and values clipped to their columns (on PostgreSQL too,
which refuses an over-long string where SQLite keeps it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.access import AuditAction
from inventory import audit
from inventory.db import transaction


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def test_entries_newest_first_with_count_and_pages(session: Session) -> None:
    for at, action in [(10.0, AuditAction.LOGIN), (30.0, AuditAction.LOGOUT), (20.0, "login")]:
        audit.record(session, AuditAction(action), actor="ana", address="127.0.0.1", now=at)
    session.commit()
    page, total = audit.entries(session, limit=2)
    assert total == 3
    assert [(r.at, r.action) for r in page] == [(30.0, AuditAction.LOGOUT), (20.0, "login")]
    assert isinstance(page[0].action, AuditAction)
    rest, total = audit.entries(session, limit=2, offset=2)
    assert [r.at for r in rest] == [10.0] and total == 3


def test_same_second_rows_keep_their_order(session: Session) -> None:
    for target in ("a", "b", "c"):
        audit.record(session, AuditAction.USER_CREATED, actor="cli:root", target=target, now=5.0)
    session.commit()
    page, _ = audit.entries(session)
    assert [r.target for r in page] == ["c", "b", "a"]


def test_filters(session: Session) -> None:
    audit.record(session, AuditAction.LOGIN, actor="ana", now=10.0)
    audit.record(session, AuditAction.LOGIN_FAILED, actor="bob", now=20.0)
    audit.record(
        session, AuditAction.TOKEN_CREATED, actor="cli:root", target="ana", address="cli",
        detail="token 1", now=30.0,
    )  # fmt: skip
    session.commit()
    assert [r.actor for r in audit.entries(session, actor="bob")[0]] == ["bob"]
    assert [r.at for r in audit.entries(session, action=AuditAction.LOGIN)[0]] == [10.0]
    # start inclusive, end exclusive
    assert [r.at for r in audit.entries(session, start=20.0, end=30.0)[0]] == [20.0]
    (row,), count = audit.entries(session, action=AuditAction.TOKEN_CREATED)
    assert count == 1
    assert (row.target, row.address, row.detail) == ("ana", "cli", "token 1")


def test_failures_count_only_failed_logins_inside_the_window(session: Session) -> None:
    for at, actor, address in [
        (100.0, "ana", "10.0.0.1"),
        (150.0, "ana", "10.0.0.2"),
        (160.0, "bob", "10.0.0.1"),
    ]:
        audit.record(session, AuditAction.LOGIN_FAILED, actor=actor, address=address, now=at)
    audit.record(session, AuditAction.LOGIN_LIMITED, actor="ana", address="10.0.0.1", now=170.0)
    audit.record(session, AuditAction.LOGIN, actor="ana", address="10.0.0.1", now=171.0)
    session.commit()
    assert audit.failures_since(session, since=0.0) == 3
    assert audit.failures_since(session, since=0.0, actor="ana") == 2
    assert audit.failures_since(session, since=0.0, address="10.0.0.1") == 2
    assert audit.failures_since(session, since=0.0, actor="ana", address="10.0.0.1") == 1
    # A failure exactly at ``since`` has left the window.
    assert audit.failures_since(session, since=100.0, actor="ana") == 1
    assert audit.failure_times(session, since=0.0, address="10.0.0.1") == [100.0, 160.0]
    assert audit.failure_times(session, since=0.0, limit=1) == [100.0]


def test_long_values_are_clipped_on_both_backends(any_engine: Engine) -> None:
    """A login form accepts any name; the audit row must not fail on PostgreSQL."""
    long_name = "x" * 500
    with transaction(any_engine) as session:
        audit.record(
            session, AuditAction.LOGIN_FAILED, actor=long_name, address="a" * 300,
            target="t" * 300, detail="d" * 900, now=1.0,
        )  # fmt: skip
    with Session(any_engine) as session:
        (row,), _ = audit.entries(session)
        assert (len(row.actor), len(row.address or ""), len(row.target or "")) == (64, 64, 200)
        assert len(row.detail or "") == 500
        # Counting by the name as typed finds the clipped row.
        assert audit.failures_since(session, since=0.0, actor=long_name) == 1
        assert audit.failures_since(session, since=0.0, address="a" * 300) == 1
