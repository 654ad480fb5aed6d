"""This process's standing as the one active fault engine: the leader lease
(:mod:`inventory.leadership`) as the engine and the notifier of one process see it.

Several ``citywifi faults`` may run against one database (one per machine, for an
operation centre that must not lose its fault engine with a box); exactly one acts. The
engine renews the lease every cycle (:meth:`Leader.renew`); every transaction that
writes for the leader first passes :meth:`Leader.fence` (the term checked and the lease
locked, in that transaction), and what happens outside any transaction (sending a
notification) first asks :meth:`Leader.acting`: the lease as this process last renewed
it, by its own clock, so a process that stalled stops acting when its lease would have
ended, before any successor may take over.

Changes of standing are logged once each: becoming the leader (with the term), being a
standby (naming the leader), losing the lease (renewal refused, or a fenced write
refused after a takeover).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from inventory import leadership
from inventory.db import transaction

log = logging.getLogger("citywifi.faults")

#: The role of the fault engine's lease in ``leader_leases``.
ROLE = "fault-engine"


class Leader:
    """The lease of ``role`` as ``owner`` (this process) holds it or waits for it.

    Thread-safe: the engine's thread renews, the notifier's thread fences and asks."""

    def __init__(self, engine: Engine, owner: str, lease_s: float, *, role: str = ROLE) -> None:
        self.engine = engine
        self.owner = owner
        self.lease_s = lease_s
        self.role = role
        self._lock = threading.Lock()
        self._term: int | None = None
        self._until = 0.0  # our lease's end by our own clock, as last renewed
        self._standby_logged = False

    @property
    def term(self) -> int | None:
        """Our term while we lead (as last renewed), else None."""
        with self._lock:
            return self._term

    def acting(self, now: float) -> bool:
        """Whether we lead at ``now``: renewed, and the lease not past its end."""
        with self._lock:
            return self._term is not None and now < self._until

    def renew(self, now: float) -> bool:
        """Take or renew the lease at ``now`` (own short transaction); whether we lead.

        A database error propagates and changes nothing here: the lease as last renewed
        runs out by itself (:meth:`acting`)."""
        with self._lock:
            quiet = self._term is None and self._standby_logged  # nothing new to log
        with transaction(self.engine) as session:
            term = leadership.hold(session, self.role, self.owner, now, self.lease_s)
            current = None if term is not None or quiet else leadership.holder(session, self.role)
        with self._lock:
            if term is None:
                self._to_standby(current, "its lease was not renewed in time")
                return False
            if term != self._term:
                log.info("leader: this process (%s) is the active fault engine, term %d",
                         self.owner, term)  # fmt: skip
            self._term, self._until = term, now + self.lease_s
            self._standby_logged = False
            return True

    def fence(self, session: Session) -> bool:
        """The fencing check, FIRST in a writing transaction: whether we still hold the
        lease in our term (it stays locked until the transaction ends). On False,
        write nothing: another process has taken over."""
        term = self.term
        if term is None:
            return False
        if leadership.check(session, self.role, self.owner, term):
            return True
        current = leadership.holder(session, self.role)
        with self._lock:
            if self._term == term:
                self._to_standby(current, f"term {term} was taken over")
        return False

    def release(self) -> None:
        """Give the lease up (a graceful stop): a standby takes over at its next cycle
        instead of after the lease."""
        with transaction(self.engine) as session:
            released = leadership.release(session, self.role, self.owner)
        with self._lock:
            self._term, self._until = None, 0.0
        if released:
            log.info("leader: lease released")

    def _to_standby(self, current: leadership.Holder | None, why: str) -> None:
        """Become a standby (caller holds the lock); logged once per change."""
        was = self._term
        self._term, self._until = None, 0.0
        if was is None and self._standby_logged:
            return
        self._standby_logged = True
        who = "nobody" if current is None or current.owner is None else current.owner
        if was is not None:
            log.warning("standby: lost the lease (%s); %s leads now", why, who)
        else:
            term = "" if current is None else f", term {current.term}"
            log.info("standby: %s is the active fault engine%s", who, term)
