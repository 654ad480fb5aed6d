"""The notification state's writer and readers (inventory/notifications.py), on SQLite and
PostgreSQL: outbox rows queued pending, what a route was told, and the compare-and-set
that stops two planners from queueing one message twice."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from core.errors import ConflictError
from core.incidents import IncidentClass, IncidentState
from inventory import incidents, notifications
from inventory.db import transaction
from inventory.models import Notification, NotificationGroup, NotifiedIncident

T = 1_767_225_600.0
OPEN, ACK, RESOLVED = IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED


def new_incident(engine: Engine, scope: str = "d1") -> int:
    with transaction(engine) as session:
        return incidents.open_incident(
            session, kind=IncidentClass.AREA_OUTAGE, scope_id=scope, district_id=scope,
            aps={}, explanation="power", now=T,
        )  # fmt: skip


def test_queue_inserts_a_pending_row_due_now(any_engine: Engine) -> None:
    with transaction(any_engine) as session:
        row_id = notifications.queue(
            session, route="noc-hook", group_key="noc", kind="firing",
            subject="x" * 400, payload='{"id": "noc-hook:noc:1"}', now=T,
        )  # fmt: skip
    with transaction(any_engine) as session:
        row = session.get(Notification, row_id)
        assert row is not None
        assert (row.status, row.due_at, row.created_at, row.attempts) == ("pending", T, T, 0)
        assert (row.sent_at, row.last_error) == (None, None)
        assert len(row.subject) == 300


def test_told_rows_and_what_is_read_back(any_engine: Engine) -> None:
    a, b, c = (
        new_incident(any_engine, "d1"),
        new_incident(any_engine, "d2"),
        new_incident(any_engine, "d3"),
    )
    with transaction(any_engine) as session:
        notifications.record_told(session, "r", "utility", {a: OPEN, b: RESOLVED, c: RESOLVED},
                                  now=T)  # fmt: skip
        notifications.record_told(session, "r", "noc", {a: ACK}, now=T + 5)
    with transaction(any_engine) as session:
        # resolved and told resolved: left out, unless active again (reopened)
        told = notifications.told_incidents(session, ["r", "other"], active_ids=[c])
        assert told == {
            "r": {
                a: notifications.Told("utility", ACK, T + 5),  # keeps the group that told it
                c: notifications.Told("utility", RESOLVED, T),
            },
            "other": {},
        }
        notifications.record_told(session, "r", "noc", {c: OPEN}, now=T + 9)
    with transaction(any_engine) as session:
        row = session.get(NotifiedIncident, ("r", c))
        assert row is not None
        assert (row.group_key, row.state) == ("noc", "open")  # a new story after a reopen


def test_save_group_writes_only_changes(any_engine: Engine) -> None:
    with transaction(any_engine) as session:
        notifications.save_group(session, "r", "noc", read=None, pending_since=None,
                                 last_sent_at=None, sequence=0)  # fmt: skip
        assert session.scalars(select(NotificationGroup)).all() == []
        notifications.save_group(session, "r", "noc", read=None, pending_since=T,
                                 last_sent_at=None, sequence=0)  # fmt: skip
    with transaction(any_engine) as session:
        read = notifications.groups(session, ["r"])[("r", "noc")]
        assert read == notifications.GroupRow("r", "noc", T, None, 0)
        notifications.save_group(session, "r", "noc", read=read, pending_since=None,
                                 last_sent_at=T + 30, sequence=1)  # fmt: skip
    with transaction(any_engine) as session:
        assert notifications.groups(session, ["r", "x"]) == {
            ("r", "noc"): notifications.GroupRow("r", "noc", None, T + 30, 1)
        }


def test_a_second_planner_cannot_queue_the_same_message(any_engine: Engine) -> None:
    """Both read sequence 1; the first stores 2; the second's change is refused."""
    with transaction(any_engine) as session:
        notifications.save_group(session, "r", "noc", read=None, pending_since=None,
                                 last_sent_at=T, sequence=1)  # fmt: skip
    with transaction(any_engine) as session:
        stale = notifications.groups(session, ["r"])[("r", "noc")]
    with transaction(any_engine) as session:
        notifications.save_group(session, "r", "noc", read=stale, pending_since=None,
                                 last_sent_at=T + 300, sequence=2)  # fmt: skip
    with pytest.raises(ConflictError, match="changed meanwhile"), transaction(any_engine) as s:
        notifications.save_group(s, "r", "noc", read=stale, pending_since=None,
                                 last_sent_at=T + 301, sequence=2)  # fmt: skip
    with pytest.raises(ConflictError, match="created meanwhile"), transaction(any_engine) as s:
        notifications.save_group(s, "r", "noc", read=None, pending_since=T,
                                 last_sent_at=None, sequence=0)  # fmt: skip
    with transaction(any_engine) as session:
        assert notifications.groups(session, ["r"])[("r", "noc")].last_sent_at == T + 300


def test_places_and_incident_rows(any_engine: Engine) -> None:
    a = new_incident(any_engine)
    with transaction(any_engine) as session:
        assert [row.id for row in notifications.incident_rows(session, [a, a])] == [a]
        assert notifications.incident_rows(session, []) == []
        found = notifications.places(session, ["nowhere"])
        assert found.sites == {}
