"""The grouping rules as tables: change per (told, state), and a group's plan per case."""

from __future__ import annotations

import pytest

from core.incidents import IncidentState
from faults.grouping import (
    Change,
    GroupState,
    MessageKind,
    Timing,
    Tracked,
    change_of,
    plan_group,
)

OPEN = IncidentState.OPEN
ACK = IncidentState.ACKNOWLEDGED
RESOLVED = IncidentState.RESOLVED
TIMING = Timing(group_wait_s=30.0, group_interval_s=300.0, repeat_interval_s=3600.0)
T = 1_000_000.0


@pytest.mark.parametrize(
    ("told", "state", "merged_into", "expected"),
    [
        (None, OPEN, None, Change.NEW),
        (None, ACK, None, Change.NEW),
        (None, RESOLVED, None, None),  # never told: no resolved owed
        (None, RESOLVED, 7, None),  # merged before it was told: never told
        (OPEN, OPEN, None, None),
        (OPEN, ACK, None, Change.ACKNOWLEDGED),
        (OPEN, RESOLVED, None, Change.RESOLVED),
        (OPEN, RESOLVED, 7, Change.MERGED),
        (ACK, ACK, None, None),
        (ACK, RESOLVED, 7, Change.MERGED),
        (ACK, OPEN, None, Change.REOPENED),  # only a reopen clears an acknowledgement
        (RESOLVED, OPEN, None, Change.REOPENED),
        (RESOLVED, RESOLVED, None, None),
    ],
)
def test_change_of(
    told: IncidentState | None, state: IncidentState, merged_into: int | None, expected: Change
) -> None:
    assert change_of(Tracked(1, state, told, T, merged_into)) == expected


def new(incident_id: int, at: float = T) -> Tracked:
    return Tracked(incident_id, OPEN, None, at)


def told(incident_id: int, state: IncidentState = OPEN, *, told_as: IncidentState = OPEN,
         at: float = T, merged_into: int | None = None) -> Tracked:  # fmt: skip
    return Tracked(incident_id, state, told_as, at, merged_into)


SENT = GroupState(pending_since=None, last_sent_at=T + 30.0, sequence=1)


@pytest.mark.parametrize(
    ("case", "tracked", "state", "now", "kind", "items", "next_due"),
    [
        # group wait: the first message waits 30 s from the first change, later
        # incidents join it
        ("waiting", [new(1)], GroupState(), T + 29.9, None, (), T + 30.0),
        ("wait over", [new(1), new(2, T + 25)], GroupState(), T + 30.0, MessageKind.FIRING,
         ((1, Change.NEW), (2, Change.NEW)), T + 30.0 + 3600.0),
        # a change after the first message: at last + group_interval
        ("interval", [told(1), new(2, T + 40)], SENT, T + 329.0, None, (), T + 330.0),
        ("interval over", [told(1), new(2, T + 40)], SENT, T + 330.0, MessageKind.UPDATE,
         ((1, Change.UNCHANGED), (2, Change.NEW)), T + 330.0 + 3600.0),
        # a change later than the interval goes when it happens (no tick)
        ("late change", [told(1), new(2, T + 1000.5)], SENT, T + 1000.5, MessageKind.UPDATE,
         ((1, Change.UNCHANGED), (2, Change.NEW)), T + 1000.5 + 3600.0),
        # repeat exactly last + repeat_interval, not on an interval tick
        ("before repeat", [told(1)], SENT, T + 3629.999, None, (), T + 3630.0),
        ("repeat", [told(1)], SENT, T + 3630.0, MessageKind.REPEAT, ((1, Change.UNCHANGED),),
         T + 3630.0 + 3600.0),
        # acknowledged: never repeated, no message alone, carried in the next
        ("acked only", [told(1, ACK)], SENT, T + 5000.0, None, (), None),
        ("acked told", [told(1, ACK, told_as=ACK)], SENT, T + 9000.0, None, (), None),
        ("ack carried", [told(1, ACK), told(2)], SENT, T + 3630.0, MessageKind.REPEAT,
         ((1, Change.ACKNOWLEDGED), (2, Change.UNCHANGED)), T + 3630.0 + 3600.0),
        ("ack with change", [told(1, ACK), new(2, T + 400)], SENT, T + 400.0,
         MessageKind.UPDATE, ((1, Change.ACKNOWLEDGED), (2, Change.NEW)), T + 400.0 + 3600.0),
        # resolved: always sent for what was told open, merged incidents included
        ("resolved", [told(1, RESOLVED, at=T + 500)], SENT, T + 500.0, MessageKind.RESOLVED,
         ((1, Change.RESOLVED),), None),
        ("acked resolved", [told(1, RESOLVED, told_as=ACK, at=T + 500)], SENT, T + 500.0,
         MessageKind.RESOLVED, ((1, Change.RESOLVED),), None),
        ("merged", [told(1, RESOLVED, at=T + 100, merged_into=9), new(9, T + 100)], SENT,
         T + 330.0, MessageKind.UPDATE, ((1, Change.MERGED), (9, Change.NEW)),
         T + 330.0 + 3600.0),
        # never told, already gone: nothing, and the pending wait is dropped
        ("gone untold", [Tracked(1, RESOLVED, None, T + 10, 9)],
         GroupState(pending_since=T), T + 60.0, None, (), None),
        # a group told nothing open waits again (a new outage after the last resolved)
        ("new story", [told(1, RESOLVED, told_as=RESOLVED), new(2, T + 2000)],
         GroupState(None, T + 600, 2), T + 2010.0, None, (), T + 2030.0),
        # reopened after its resolved message: a change like a new one
        ("reopened", [Tracked(1, OPEN, RESOLVED, T + 700)], GroupState(None, T + 600, 2),
         T + 730.0, MessageKind.FIRING, ((1, Change.REOPENED),), T + 730.0 + 3600.0),
    ],
)  # fmt: skip
def test_plan_group(
    case: str,
    tracked: list[Tracked],
    state: GroupState,
    now: float,
    kind: MessageKind | None,
    items: tuple[tuple[int, Change], ...],
    next_due: float | None,
) -> None:
    plan = plan_group(tracked, state, TIMING, now=now)
    if kind is None:
        assert plan.message is None, case
        assert plan.told == {}
        assert plan.state.last_sent_at == state.last_sent_at
        assert plan.state.sequence == state.sequence
    else:
        assert plan.message is not None, case
        assert plan.message.kind is kind, case
        assert plan.message.items == items, case
        assert plan.message.sequence == state.sequence + 1
        assert plan.state == GroupState(None, now, state.sequence + 1)
    assert plan.next_due == next_due, case


def test_pending_since_kept_while_a_change_waits() -> None:
    """The wait starts at the first untold change and is not moved by a later one."""
    plan = plan_group([new(1, T), new(2, T + 20)], GroupState(), TIMING, now=T + 25)
    assert plan.state.pending_since == T
    # a reopened incident's time may move on (updated_at): the stored start stands
    later = plan_group([Tracked(1, OPEN, RESOLVED, T + 28)], plan.state, TIMING, now=T + 29)
    assert later.state.pending_since == T
    assert later.next_due == T + 30


def test_a_change_in_the_future_waits_from_now() -> None:
    """An incident stamped after ``now`` (another process's clock) waits from now."""
    plan = plan_group([new(1, T + 50)], GroupState(), TIMING, now=T)
    assert plan.state.pending_since == T
    assert plan.next_due == T + 30


def test_plan_twice_is_one_message() -> None:
    """The plan applied to its own output queues nothing more (the restart rule)."""
    tracked = [told(1, RESOLVED, at=T + 100, merged_into=9), new(9, T + 100), told(3, ACK)]
    first = plan_group(tracked, SENT, TIMING, now=T + 400)
    assert first.message is not None
    after = [
        Tracked(item.id, item.state, first.told.get(item.id, item.told), item.changed_at,
                item.merged_into)
        for item in tracked
    ]  # fmt: skip
    second = plan_group(after, first.state, TIMING, now=T + 400)
    assert second.message is None
    assert second.next_due == T + 400 + 3600
    assert first.told == {1: RESOLVED, 9: OPEN, 3: ACK}


def test_zero_group_wait_sends_at_once() -> None:
    timing = Timing(group_wait_s=0.0, group_interval_s=0.0, repeat_interval_s=60.0)
    plan = plan_group([new(1, T)], GroupState(), timing, now=T)
    assert plan.message is not None
    assert plan.message.kind is MessageKind.FIRING
