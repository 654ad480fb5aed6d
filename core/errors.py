"""citywifi's one exception tree, flat and rooted at one base::

    CitywifiError
    ├── ConfigError        settings or a URL that cannot work, said in plain words
    ├── InventoryError     an inventory file or row that cannot be imported (file:line)
    ├── DatabaseError      the inventory database is missing, behind or unreachable
    ├── StoreError         the metric store is unreachable or refused an operation
    │   └── StoreRejected  ... refused a write for its data: resending it cannot help
    ├── AccessError        a user, password or token that cannot be accepted
    │   └── LoginLimited   ... too many failed logins: try again after ``retry_after_s``
    ├── ConflictError      a change the stored state does not allow (ack a resolved incident)
    ├── PollError          one device could not be polled (``cause``: timeout, refused, ...)
    ├── PlanningError      a coverage question that cannot be answered as asked (unknown site)
    └── SimulatorError     the simulated city could not start (address in use, ...)

Every package raises only these, so a caller can catch ``CitywifiError`` at a boundary
(the CLI, an API handler) and turn it into one clear line.
"""

from __future__ import annotations

from core.states import PollCause


class CitywifiError(Exception):
    """Base of every error citywifi raises on purpose."""


class ConfigError(CitywifiError):
    pass


class InventoryError(CitywifiError):
    """Carries every problem found, each as ``file:line: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class DatabaseError(CitywifiError):
    """The inventory database cannot be used as it is (behind its migrations, unknown
    schema, unreachable); the message names the command that fixes it."""


class StoreError(CitywifiError):
    pass


class StoreRejected(StoreError):
    """A write refused for what it contains (a malformed sample, an HTTP 400 naming a bad
    line), as opposed to a store that is down, overloaded or misconfigured.

    Why a subclass: the collector spools and replays a failed batch until the store takes
    it, which is right for an outage and wrong for bad data (it would be retried forever
    and block every batch behind it). Backends raise this for rejections only, with the
    offending sample or line in the message; catching ``StoreError`` still catches it.
    """


class AccessError(CitywifiError):
    """A user, password or token that cannot be accepted: unknown or disabled user,
    wrong password, expired or revoked token, a name already taken. Messages never
    repeat a password or token."""


class LoginLimited(AccessError):
    """Too many failed logins for a name or from an address: refused without checking
    the password until ``retry_after_s`` has passed."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ConflictError(CitywifiError):
    """A change the stored state does not allow: acknowledging or resolving an incident
    already resolved, acting on one that does not exist (any more). The API answers it
    409; for the fault engine it means its picture of the incidents is stale."""


class PollError(CitywifiError):
    """One device could not be polled. ``cause`` says why as data (timeout, refused,
    auth failure, malformed answer), so callers never search the message text."""

    def __init__(self, message: str, cause: PollCause = PollCause.TIMEOUT) -> None:
        super().__init__(message)
        self.cause = cause


class PlanningError(CitywifiError):
    """A coverage question that cannot be answered as asked: a what-if naming a site that
    is not there, more suggestions than candidate places, no place to put one."""


class SimulatorError(CitywifiError):
    pass


def first_line(exc: BaseException) -> str:
    """An error's first line, for a one-line message: a database driver's own text
    (SQLAlchemy's ``orig``), without SQLAlchemy's wrapping and background link; the
    class name when it has no text. The one place this rule lives."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
