"""AP states, poll causes and state transitions: the words every layer shares.

One definition, so the collector that decides a state, the database that keeps it, the
API that filters on it and the fault engine that reads its transitions cannot drift
apart. ``StrEnum`` values are the strings stored in SQL and sent as JSON.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ApState(enum.StrEnum):
    """What the collector concluded about an AP. ``unknown``: never judged yet (a new
    AP, or one whose credentials cannot be used)."""

    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


class PollCause(enum.StrEnum):
    """Why a poll ended as it did, from the transport's own evidence, never from text.

    ``timeout``: no answer in time (a dead AP, a cut link, and also a wrong v2c
    community, which agents ignore silently). ``refused``: the host said no (ICMP port
    or host unreachable). ``auth_failure``: an SNMPv3 report (unknown user, wrong key,
    not in time window). ``malformed``: an answer we cannot read. ``answered``: success.
    """

    ANSWERED = "answered"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    AUTH_FAILURE = "auth_failure"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of an AP's state: what a fault engine correlates and an engineer reads
    in the AP's history. ``at`` is UTC epoch seconds; ``detail`` the poll's error text."""

    ap_id: str
    from_state: ApState
    to_state: ApState
    at: float
    cause: PollCause
    detail: str | None = None
