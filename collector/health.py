"""Up/down state per AP, with a consecutive-failure threshold.

One lost UDP packet must not page the NOC, so an AP goes ``down`` only after
``threshold`` failed polls in a row; one answer brings it back ``up``. ``since`` is when
the current state began, which is what an engineer asks first ("down since when?").
Availability is successful polls over attempted polls, the SLA's definition.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ApHealth:
    state: str = "unknown"
    since: float | None = None
    last_seen: float | None = None
    last_poll: float | None = None
    failures: int = 0
    last_error: str | None = None
    attempted: int = 0
    answered: int = 0

    @property
    def availability(self) -> float | None:
        return self.answered / self.attempted if self.attempted else None

    def observe(self, ok: bool, now: float, threshold: int, error: str | None = None) -> bool:
        """Record a poll outcome; True if the state changed."""
        self.last_poll = now
        self.attempted += 1
        self.answered += ok
        if ok:
            self.failures = 0
            self.last_seen = now
            self.last_error = None
            new_state = "up"
        else:
            self.failures += 1
            self.last_error = error
            new_state = "down" if self.failures >= threshold else self.state
        if new_state == self.state:
            return False
        self.state = new_state
        self.since = now
        return True
