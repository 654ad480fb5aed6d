"""Per-AP records: what the next poll needs, loaded across restarts, pruned with the
inventory; each status update carries its one poll as the counters' delta."""

from __future__ import annotations

from collector.derive import CounterReading
from collector.poll import PollResult
from collector.record import ApRecords
from core.states import ApState, PollCause
from inventory.models import ApStatus


def answered(profile: str = "mikrotik") -> PollResult:
    reading = CounterReading(1.0, 100, 1, 2, width=64, speed_bps=None)
    return PollResult(
        True,
        {"reachable": 1.0, "clients": 3.0},
        profile,
        reading=reading,
        cause=PollCause.ANSWERED,
    )


def test_an_answer_is_remembered_and_a_failure_keeps_the_last_answer() -> None:
    records = ApRecords()
    record = records.of("ap1")
    assert record.health.state is ApState.UNKNOWN and record.profile_name("auto") is None
    record.remember("auto", answered("unifi"))
    assert record.profile_name("auto") == "unifi"  # detected once, kept
    assert record.profile_name("mikrotik") == "mikrotik"  # configured wins
    assert record.snmp_fields["clients"] == 3.0 and record.reading is not None
    record.remember(
        "auto", PollResult(False, {"reachable": 0.0}, "unifi", error="x", cause=PollCause.TIMEOUT)
    )
    assert record.snmp_fields["clients"] == 3.0  # the last answer still stands
    assert records.of("ap1") is record


def test_a_status_update_carries_one_poll_as_delta() -> None:
    record = ApRecords().of("ap1")
    ok = answered()
    record.health.observe(True, 5.0, threshold=2, cause=PollCause.ANSWERED)
    update = record.status_update(ok)
    assert (update.attempted, update.answered) == (1, 1)
    assert (update.state, update.since, update.last_cause) == (
        ApState.UP,
        5.0,
        PollCause.ANSWERED,
    )
    failed = PollResult(
        False, {"reachable": 0.0}, "mikrotik", error="no answer", cause=PollCause.TIMEOUT
    )
    record.health.observe(False, 6.0, threshold=2, cause=PollCause.TIMEOUT, error="no answer")
    update = record.status_update(failed)
    assert (update.attempted, update.answered, update.consecutive_failures) == (1, 0, 1)


def test_records_load_stored_state_and_forget_what_they_cannot_read() -> None:
    rows = [
        ApStatus(
            ap_id="ap1",
            state="down",
            since=3.0,
            consecutive_failures=4,
            detected_profile="openwrt",
            last_cause="timeout",
        ),
        ApStatus(ap_id="ap2", state="sideways", consecutive_failures=0, last_cause="gremlins"),
    ]
    records = ApRecords()
    records.load(rows)
    one, two = records.of("ap1"), records.of("ap2")
    assert (one.health.state, one.health.since, one.health.failures) == (ApState.DOWN, 3.0, 4)
    assert one.health.last_cause is PollCause.TIMEOUT
    assert one.profile_name("auto") == "openwrt"
    assert two.health.state is ApState.UNKNOWN and two.health.last_cause is None


def test_records_of_aps_no_longer_polled_are_dropped() -> None:
    records = ApRecords()
    for ap in ("ap1", "ap2", "ap3"):
        records.of(ap)
    records.keep_only(["ap2"])
    assert len(records) == 1 and records.get("ap1") is None and records.get("ap2") is not None
