"""When a notification group speaks, and what it says: Alertmanager's grouping, pure.

A *group* is one route's incidents of one responsible party (``noc``, ``utility``...).
Everything the route was told is stored (``notified_incidents``, ``notification_groups``),
so this module decides from plain values: each incident's current state next to the
state the route was last told, the group's stored timing state, and ``now``. It does no
I/O, keeps no state and never looks at the clock, which is what makes "plan twice on the
same state = one message" (no duplicate after a restart) a property of a pure function.

The rules, and the Alertmanager holes they close:

- A *change* is an incident the route has not been told in its current state: new (or
  reopened), resolved, merged into another. An incident resolved or merged before it was
  ever told is never told: no resolved message is owed for what nobody heard of.
- An acknowledgement is a change too, but it does not make a message alone: it rides in
  the next one.
- The first message of a group (nothing of it told as open) waits ``group_wait`` from
  the first untold change, so an outage that is still being correlated (thirty
  ``site_down`` becoming one ``area_outage``) goes out once, as what it turned out to be.
  Later changes go at ``max(pending_since, last_sent_at + group_interval)``.
- With no change, while the group has incidents told open that nobody acknowledged, a
  repeat goes at exactly ``last_sent_at + repeat_interval``: the plan returns that time
  and the loop sleeps until it (Alertmanager repeats only on group_interval ticks,
  #676, and sometimes sooner than asked, #2320). Acknowledged incidents are not repeated.
- Every incident told open gets its resolved message, also when it was merged into a
  larger one (Alertmanager never resolves inhibited alerts, #2754): the merged incident
  stays in the group that told it until that group has said "merged into #N".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from core.incidents import IncidentState
from core.settings import Settings

__all__ = [
    "TRIGGERS",
    "Change",
    "GroupPlan",
    "GroupState",
    "Message",
    "MessageKind",
    "Timing",
    "Tracked",
    "change_of",
    "plan_group",
]

_ACTIVE = (IncidentState.OPEN, IncidentState.ACKNOWLEDGED)


class Change(enum.StrEnum):
    """What an incident of a message is to its route (``change`` in the payload)."""

    NEW = "new"  # never told, or told before it was resolved and reopened
    REOPENED = "reopened"
    RESOLVED = "resolved"
    MERGED = "merged"  # resolved as part of a larger incident (merged_into)
    ACKNOWLEDGED = "acknowledged"  # carried in the next message, never a message alone
    UNCHANGED = "unchanged"  # still active, already told as it is


#: The changes that make a message.
TRIGGERS: frozenset[Change] = frozenset(
    {Change.NEW, Change.REOPENED, Change.RESOLVED, Change.MERGED}
)


class MessageKind(enum.StrEnum):
    FIRING = "firing"  # the group's first message
    UPDATE = "update"  # a later message with changes; something is still active
    REPEAT = "repeat"  # no change, reminding of what is still open and unacknowledged
    RESOLVED = "resolved"  # a message after which nothing of the group is active


@dataclass(frozen=True)
class Timing:
    """The route timings (core.settings ``notify_*``), one value for the pure functions."""

    group_wait_s: float = 30.0
    group_interval_s: float = 300.0
    repeat_interval_s: float = 4 * 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Timing:
        return cls(
            group_wait_s=settings.notify_group_wait_s,
            group_interval_s=settings.notify_group_interval_s,
            repeat_interval_s=settings.notify_repeat_interval_s,
        )


@dataclass(frozen=True)
class Tracked:
    """One incident as a group sees it.

    ``told``: the state the route was last told (None: never); ``changed_at``: when the
    incident entered its current state (opened, resolved, reopened), which starts the
    wait of a change; ``merged_into``: the larger incident it became part of."""

    id: int
    state: IncidentState
    told: IncidentState | None
    changed_at: float
    merged_into: int | None = None

    @property
    def active(self) -> bool:
        return self.state in _ACTIVE


@dataclass(frozen=True)
class GroupState:
    """The stored state of a group (``notification_groups``): the first untold change
    seen, the last message queued, how many were queued (the message id's sequence)."""

    pending_since: float | None = None
    last_sent_at: float | None = None
    sequence: int = 0


@dataclass(frozen=True)
class Message:
    """One message to queue: its kind, its number in the group, and each incident it
    carries with what it is to the route (in incident id order)."""

    kind: MessageKind
    sequence: int
    items: tuple[tuple[int, Change], ...]

    @property
    def incident_ids(self) -> tuple[int, ...]:
        return tuple(incident_id for incident_id, _ in self.items)


@dataclass(frozen=True)
class GroupPlan:
    """What to do for one group at ``now``: the state to store, the message to queue
    (None: nothing due), what the route is then told of each incident of the message,
    and when the group next needs planning (None: not until an incident changes)."""

    state: GroupState
    message: Message | None
    told: dict[int, IncidentState]
    next_due: float | None


def change_of(item: Tracked) -> Change | None:
    """What ``item`` is to its route now; None: nothing to tell (never told and already
    resolved, or told exactly as it is)."""
    told, state = item.told, item.state
    if told is None:
        return Change.NEW if item.active else None
    if told is IncidentState.RESOLVED:
        return Change.REOPENED if item.active else None
    # Told open or acknowledged.
    if state is IncidentState.RESOLVED:
        return Change.MERGED if item.merged_into is not None else Change.RESOLVED
    if state is told:
        return None
    if state is IncidentState.ACKNOWLEDGED:
        return Change.ACKNOWLEDGED
    # Told acknowledged, open now: only a reopen clears an acknowledgement.
    return Change.REOPENED


def _earliest(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return min(present) if present else None


def plan_group(
    tracked: Iterable[Tracked], state: GroupState, timing: Timing, *, now: float
) -> GroupPlan:
    """The plan of one group at ``now`` (see the module docstring for the rules)."""
    items = sorted(tracked, key=lambda item: item.id)
    changes = {item.id: change_of(item) for item in items}
    triggers = [item for item in items if changes[item.id] in TRIGGERS]
    told_active = [item for item in items if item.told in _ACTIVE]
    first = not told_active
    last = state.last_sent_at

    pending = None
    change_due = None
    if triggers:
        # Kept from an earlier plan when it is earlier: a reopened incident's time may
        # move on (the row's updated_at), the wait that began must not.
        pending = _earliest([state.pending_since, *(min(i.changed_at, now) for i in triggers)])
        assert pending is not None
        if first:
            change_due = pending + timing.group_wait_s
        else:
            after_last = pending if last is None else last + timing.group_interval_s
            change_due = max(pending, after_last)
    unacknowledged = any(
        item.told is IncidentState.OPEN and item.state is IncidentState.OPEN for item in items
    )
    repeat_due = last + timing.repeat_interval_s if unacknowledged and last is not None else None
    due = _earliest([change_due, repeat_due])

    if due is None or now < due:
        kept = GroupState(pending_since=pending, last_sent_at=last, sequence=state.sequence)
        return GroupPlan(state=kept, message=None, told={}, next_due=due)

    if triggers:
        carried = [
            (item.id, changes[item.id] or Change.UNCHANGED)
            for item in items
            if changes[item.id] is not None or item.active
        ]
        if first:
            kind = MessageKind.FIRING
        elif any(item.active for item in items):
            kind = MessageKind.UPDATE
        else:
            kind = MessageKind.RESOLVED
    else:
        # A repeat: what is told open and still unacknowledged, plus acknowledgements
        # not yet told (acknowledged incidents are not repeated, only reported once).
        carried = [
            (item.id, changes[item.id] or Change.UNCHANGED)
            for item in items
            if changes[item.id] is Change.ACKNOWLEDGED
            or (item.told is IncidentState.OPEN and item.state is IncidentState.OPEN)
        ]
        kind = MessageKind.REPEAT
    sequence = state.sequence + 1
    message = Message(kind=kind, sequence=sequence, items=tuple(carried))
    by_id = {item.id: item for item in items}
    told = {incident_id: by_id[incident_id].state for incident_id, _ in carried}
    still_open = any(
        item.state is IncidentState.OPEN and (item.id in told or item.told is IncidentState.OPEN)
        for item in items
    )
    return GroupPlan(
        state=GroupState(pending_since=None, last_sent_at=now, sequence=sequence),
        message=message,
        told=told,
        next_due=now + timing.repeat_interval_s if still_open else None,
    )
