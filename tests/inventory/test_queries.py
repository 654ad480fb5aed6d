from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session

from core.states import ApState, PollCause, Transition
from inventory import ApStatusUpdate, enabled_aps, import_file, record_status
from inventory.db import transaction
from inventory.models import ApEvent, ApStatus
from inventory.queries import record_transitions
from inventory.secretbox import SecretBox

UP, DOWN, UNKNOWN = ApState.UP, ApState.DOWN, ApState.UNKNOWN


def test_enabled_aps_joins_everything_a_poll_needs(
    engine: Engine, city_file: Path, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)

    with Session(engine) as session:
        targets = enabled_aps(session, secret_box)

    # ap00004 is at a retired site, ap00005 is disabled; s0002 is planned but polled.
    assert [t.ap_id for t in targets] == ["ap00001", "ap00002", "ap00003"]
    first, v3, keyed = targets
    assert (first.site_id, first.district_id, first.partner_id) == ("s0001", "d01", "p01")
    assert (first.host, first.snmp_port, first.ssh_port, first.profile) == (
        "127.1.0.1",
        1161,
        2222,
        "auto",
    )
    assert (first.snmp_version, first.community, first.user) == ("2c", "s3cret", None)
    assert (v3.snmp_version, v3.community, v3.user) == ("3", None, "noc")
    assert (v3.auth_protocol, v3.auth_key, v3.priv_protocol, v3.priv_key) == (
        "SHA",
        "authkey123",
        "AES",
        "privkey123",
    )
    assert (v3.ssh_username, v3.ssh_password) == ("admin", "hunter22")
    assert (keyed.district_id, keyed.partner_id, keyed.ssh_key_file) == (
        "d01",
        None,
        "/etc/citywifi/ops_ed25519",
    )
    assert "s3cret" not in repr(first) and "hunter22" not in repr(v3)


def test_enabled_aps_is_one_query(engine: Engine, city_file: Path, secret_box: SecretBox) -> None:
    import_file(engine, city_file, secret_box)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as session:
        enabled_aps(session, secret_box)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def _update(
    ap_id: str, state: ApState, failures: int = 0, error: str | None = None
) -> ApStatusUpdate:
    return ApStatusUpdate(
        ap_id=ap_id,
        state=state,
        since=100.0,
        last_seen=None if error else 150.0,
        last_poll=150.0,
        consecutive_failures=failures,
        detected_profile="generic",
        last_error=error,
    )


def test_record_status_inserts_then_updates(
    engine: Engine, city_file: Path, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    with transaction(engine) as session:
        record_status(session, [_update("ap00001", UP), _update("ap00002", UP)])
    with transaction(engine) as session:
        record_status(
            session,
            [
                _update("ap00002", DOWN, failures=3, error="timeout"),
                _update("ap00003", UP),
                _update("gone", UP),  # deleted while polled: dropped, not fatal
            ],
        )

    with Session(engine) as session:
        rows = {row.ap_id: row for row in session.scalars(select(ApStatus))}
    assert sorted(rows) == ["ap00001", "ap00002", "ap00003"]
    assert (rows["ap00001"].state, rows["ap00001"].last_seen) == ("up", 150.0)
    down = rows["ap00002"]
    assert (down.state, down.consecutive_failures, down.last_error, down.last_seen) == (
        "down",
        3,
        "timeout",
        None,
    )
    with transaction(engine) as session:
        record_status(session, [])  # nothing to do is fine


# --- on SQLite and PostgreSQL: the statements differ by dialect (ON CONFLICT) -------------


def _status(engine: Engine) -> dict[str, ApStatus]:
    with Session(engine) as session:
        return {row.ap_id: row for row in session.scalars(select(ApStatus))}


def _delta(
    ap_id: str, state: ApState, attempted: int, answered: int, cause: PollCause | None = None
) -> ApStatusUpdate:
    return ApStatusUpdate(
        ap_id=ap_id,
        state=state,
        since=100.0,
        last_seen=150.0,
        last_poll=160.0,
        consecutive_failures=0 if state is UP else 2,
        detected_profile="generic",
        last_error=None if state is UP else "timeout",
        last_cause=cause,
        attempted=attempted,
        answered=answered,
    )


def test_record_status_adds_counters_in_sql(
    any_engine: Engine, city_file: Path, secret_box: SecretBox
) -> None:
    import_file(any_engine, city_file, secret_box)
    with transaction(any_engine) as session:
        record_status(session, [_delta("ap00001", UP, 3, 3, PollCause.ANSWERED)])
    with transaction(any_engine) as session:
        record_status(session, [_delta("ap00001", DOWN, 2, 0, PollCause.TIMEOUT)])
    row = _status(any_engine)["ap00001"]
    assert (row.polls_attempted, row.polls_ok) == (5, 3)  # added, not overwritten
    assert (row.state, row.last_cause, row.last_error) == ("down", "timeout", "timeout")


def test_two_collectors_never_overwrite_each_others_counts(
    any_engine: Engine, city_file: Path, secret_box: SecretBox
) -> None:
    """Two engines on one database, as two collector processes: every delta counts."""
    import_file(any_engine, city_file, secret_box)
    other = create_engine(any_engine.url.render_as_string(hide_password=False))
    try:
        for engine, attempted in ((any_engine, 10), (other, 5), (any_engine, 1)):
            with transaction(engine) as session:
                record_status(session, [_delta("ap00002", UP, attempted, attempted)])
    finally:
        other.dispose()
    row = _status(any_engine)["ap00002"]
    assert (row.polls_attempted, row.polls_ok) == (16, 16)


def test_record_status_merges_updates_of_one_ap(
    any_engine: Engine, city_file: Path, secret_box: SecretBox
) -> None:
    import_file(any_engine, city_file, secret_box)
    with transaction(any_engine) as session:
        record_status(
            session,
            [
                _delta("ap00003", UP, 4, 4, PollCause.ANSWERED),
                _delta("ap00003", DOWN, 2, 0, PollCause.REFUSED),
                _delta("nowhere", UP, 1, 1),  # deleted meanwhile: dropped
            ],
        )
    rows = _status(any_engine)
    assert sorted(rows) == ["ap00003"]
    row = rows["ap00003"]
    assert (row.state, row.last_cause, row.polls_attempted, row.polls_ok) == (
        "down",
        "refused",
        6,
        4,
    )


def test_record_transitions_appends_events(
    any_engine: Engine, city_file: Path, secret_box: SecretBox
) -> None:
    import_file(any_engine, city_file, secret_box)
    changes = [
        Transition("ap00001", UNKNOWN, UP, 100.0, PollCause.ANSWERED),
        Transition("ap00001", UP, DOWN, 200.0, PollCause.AUTH_FAILURE, "x" * 600),
        Transition("gone", UP, DOWN, 200.0, PollCause.TIMEOUT),  # not in the inventory
    ]
    with transaction(any_engine) as session:
        record_transitions(session, changes)
        record_transitions(session, [])  # nothing to do is fine
    with transaction(any_engine) as session:
        record_transitions(session, changes[:1])  # appended again: events are a log
    with Session(any_engine) as session:
        events = list(session.scalars(select(ApEvent).order_by(ApEvent.id)))
    assert [(e.ap_id, e.at, e.from_state, e.to_state, e.cause) for e in events] == [
        ("ap00001", 100.0, "unknown", "up", "answered"),
        ("ap00001", 200.0, "up", "down", "auth_failure"),
        ("ap00001", 100.0, "unknown", "up", "answered"),
    ]
    assert events[1].detail == "x" * 500  # cut to the column's size
    assert events[0].detail is None
