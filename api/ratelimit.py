"""In-memory load shedding for routes anyone can call: a token bucket per process.

The public report page has no account to charge a request to, so a flood is met first by
a limit on everyone together, held in memory and checked before anything costly happens
(before the body is read, before a database session is used): past it the answer is an
immediate 429 with Retry-After, so a flood costs each API process next to nothing and
the rest of the API keeps answering. Fair per-address and per-hotspot limits come after
it, counted in the database (they must hold across processes and restarts).

A token bucket rather than a sliding log: constant memory whatever the limit, and a
burst of up to the limit is let through at once (a crowd at a failed hotspot reporting
together) while the long-run rate stays at ``per_minute``. The clock is the caller's
(``api.deps.get_now``), so tests move it instead of sleeping.
"""

from __future__ import annotations

import math
import threading

__all__ = ["TokenBucket"]


class TokenBucket:
    """At most ``capacity`` admissions at once, refilled at ``capacity`` per ``period_s``."""

    __slots__ = ("_last", "_lock", "_tokens", "capacity", "period_s")

    def __init__(self, capacity: int, period_s: float = 60.0) -> None:
        if capacity < 1 or period_s <= 0:
            raise ValueError("a token bucket needs a capacity ≥ 1 and a positive period")
        self.capacity = capacity
        self.period_s = period_s
        self._tokens = float(capacity)
        self._last: float | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenBucket({self.capacity} per {self.period_s:g} s, {self._tokens:.1f} left)"

    @property
    def rate(self) -> float:
        """Tokens added per second."""
        return self.capacity / self.period_s

    def take(self, now: float) -> float | None:
        """Take one token at ``now``: None when admitted, else the seconds until a token
        is there (for Retry-After). A clock that steps back refills nothing."""
        with self._lock:
            if self._last is not None:
                elapsed = max(0.0, now - self._last)
                self._tokens = min(float(self.capacity), self._tokens + elapsed * self.rate)
            self._last = now if self._last is None else max(now, self._last)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return (1.0 - self._tokens) / self.rate

    @staticmethod
    def retry_after(wait_s: float) -> str:
        """A Retry-After header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait_s)))
