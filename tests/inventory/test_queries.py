from __future__ import annotations

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from inventory import ApStatusUpdate, enabled_aps, import_file, record_status
from inventory.db import transaction
from inventory.models import ApStatus
from tests.inventory.helpers import CITY


def test_enabled_aps_joins_everything_a_poll_needs(engine: Engine) -> None:
    import_file(engine, CITY)

    with Session(engine) as session:
        targets = enabled_aps(session)

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


def test_enabled_aps_is_one_query(engine: Engine) -> None:
    import_file(engine, CITY)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as session:
        enabled_aps(session)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def _update(ap_id: str, state: str, failures: int = 0, error: str | None = None) -> ApStatusUpdate:
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


def test_record_status_inserts_then_updates(engine: Engine) -> None:
    import_file(engine, CITY)
    with transaction(engine) as session:
        record_status(session, [_update("ap00001", "up"), _update("ap00002", "up")])
    with transaction(engine) as session:
        record_status(
            session,
            [
                _update("ap00002", "down", failures=3, error="timeout"),
                _update("ap00003", "up"),
                _update("gone", "up"),  # deleted while polled: dropped, not fatal
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
