"""Up/down state per AP, with a consecutive-failure threshold; changes returned as data.

One lost UDP packet must not page the NOC, so an AP goes ``down`` only after
``threshold`` failed polls in a row; one answer brings it back ``up``. ``since`` is when
the current state began, which is what an engineer asks first ("down since when?").

:meth:`ApHealth.observe` returns the :class:`~core.states.Transition` when the state
changes (None otherwise), so the change is a record the collector stores beside the
status (``ap_events``) and a fault engine can correlate, not only a log line.

Poll counters (attempted, answered) are not kept here: each status update carries its
poll as a delta and the database adds it up, so availability is the database's figure,
whichever collector (or how many) polled the AP.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.states import ApState, PollCause, Transition


@dataclass
class ApHealth:
    ap_id: str
    state: ApState = ApState.UNKNOWN
    since: float | None = None
    last_seen: float | None = None
    last_poll: float | None = None
    failures: int = 0
    last_error: str | None = None
    last_cause: PollCause | None = None

    def observe(
        self,
        ok: bool,
        now: float,
        threshold: int,
        cause: PollCause,
        error: str | None = None,
    ) -> Transition | None:
        """Record one poll's outcome; the transition if the state changed, else None.

        ``cause`` is the poll's typed outcome (ANSWERED when ``ok``); a transition to
        ``down`` carries the cause and error of the poll that crossed the threshold.
        ``error`` on an answered poll says it was degraded (the AP answered, some values
        were unreadable): it is kept as ``last_error`` while the AP stays up, so the AP
        shows a degraded poll, not an outage.
        """
        self.last_poll = now
        self.last_cause = cause
        if ok:
            self.failures = 0
            self.last_seen = now
            self.last_error = error
            new_state = ApState.UP
        else:
            self.failures += 1
            self.last_error = error
            new_state = ApState.DOWN if self.failures >= threshold else self.state
        if new_state == self.state:
            return None
        transition = Transition(
            ap_id=self.ap_id,
            from_state=self.state,
            to_state=new_state,
            at=now,
            cause=cause,
            detail=None if ok else error,
        )
        self.state = new_state
        self.since = now
        return transition
