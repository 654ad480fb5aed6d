"""Delivering the outbox: the transport contract, the registry that finds a transport by
name, and one delivery pass over the messages that are due.

Transports are plugins, found by name through the entry-point group
``citywifi.transports`` (as nornir finds its connection plugins): the fault package
never imports one, so a site can add its own (a chat, a pager, a ticket system) by
installing a package that declares ``[project.entry-points."citywifi.transports"]``,
without touching citywifi; the built-in ones (webhook, e-mail, package ``transports``)
are declared the same way in pyproject.toml.

A pass reads the due rows in one short transaction, sends each outside any transaction
(a receiver that hangs for ``notify_timeout_s`` holds no database lock, so the fault
engine's cycles are never delayed by it), then writes each outcome in its own short
transaction through :mod:`inventory.outbox`, the one place that decides between sent,
retried later and failed.

With several fault engines (:mod:`faults.leader`), only the leader's pass delivers: its
read of the due rows is fenced (the lease checked in that transaction) and each send
first asks whether the lease, as last renewed, still runs. Outcomes are written
unfenced on purpose: what an attempt came to is true whoever sent it, and a message
the successor already recorded is left as it is (its row is no longer pending).

A citizen's message (kind ``citizen``, :func:`inventory.notifications.queue_citizen_notice`)
is queued with the phone number sealed; it is opened here, for the attempt only
(:func:`citizen_body`), with the same SecretBox that sealed it (loaded on the first such
message), and only for a webhook route: the body sent is ``{"id", "route", "kind",
"created_at", "report", "to", "text"}``, ``to`` the number in clear, signed and retried
like any other message. The number is never logged nor put in an error.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol

from sqlalchemy import Engine

from core.errors import CitywifiError, ConfigError, ConflictError
from core.settings import NotifyRoute, Settings
from faults.leader import Leader
from inventory import outbox
from inventory.db import transaction
from inventory.notifications import CITIZEN_KIND
from inventory.secretbox import SecretBox, load_box

log = logging.getLogger("citywifi.notify")

ENTRY_POINT_GROUP = "citywifi.transports"

#: How many due messages one pass takes: a backlog is worked through over several
#: passes, so the notifier plans again (and notices a stop) between them.
BATCH = 50
#: The only transport a citizen's phone number is given to (a gateway's signed webhook).
CITIZEN_TRANSPORT = "webhook"


@dataclass(frozen=True)
class Message:
    """One outbox row as a transport sees it. ``message_id`` is the receivers' key to
    drop a duplicate ("<route>:<group>:<sequence>"); ``body`` the JSON payload, sent as
    it was queued."""

    row_id: int
    message_id: str
    route: str
    kind: str
    subject: str
    body: str

    def payload(self) -> dict[str, object]:
        """The payload parsed (an unreadable one is an empty dict: the transport still
        sends the body as queued)."""
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. ``permanent``: resending cannot help (a receiver that
    refuses the message as such), so the message fails at once. ``error`` names the
    route and the cause in plain words, never a secret."""

    delivered: bool
    permanent: bool = False
    error: str | None = None


DELIVERED = Outcome(delivered=True)


class Transport(Protocol):
    """A way to deliver a message to a route's receiver.

    Made once per notifier from the settings (``factory(settings)``); ``check`` says
    at start-up whether a route gives the transport what it needs (raising
    :class:`ConfigError`); ``send`` makes one attempt, bounded by ``notify_timeout_s``,
    and reports it as an :class:`Outcome` instead of raising."""

    def check(self, route: NotifyRoute) -> None: ...

    def send(self, message: Message, route: NotifyRoute) -> Outcome: ...


TransportFactory = Callable[[Settings], Transport]


def find_transport(name: str) -> TransportFactory:
    """The factory of the transport called ``name``: an installed entry point of the
    group ``citywifi.transports`` (pyproject.toml declares the built-in ones there, as
    any other package would its own); ConfigError if there is none."""
    for point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            factory: TransportFactory = point.load()
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"transport {name!r} cannot be loaded: {exc}") from exc
        return factory
    known = sorted({p.name for p in entry_points(group=ENTRY_POINT_GROUP)})
    raise ConfigError(f"no transport named {name!r} (known: {', '.join(known)})")


def transports_for(settings: Settings) -> dict[str, Transport]:
    """One transport per name the routes use, each route checked against its own:
    a route that cannot work is a ConfigError at start-up, not a failure per message."""
    made: dict[str, Transport] = {}
    for route in settings.notify_routes:
        if route.transport not in made:
            made[route.transport] = find_transport(route.transport)(settings)
        made[route.transport].check(route)
    return made


def citizen_body(payload: str, box: SecretBox) -> str:
    """The body sent for a citizen's message: its queued payload with ``to`` opened.
    ValueError when the payload holds no sealed number (wiped, or damaged: resending
    cannot help); ConfigError when no key of ``box`` opens it (the message names the
    keys' source, never the value: the operator may put the right key back)."""
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not box.is_sealed(parsed.get("to")):
        raise ValueError("the citizen's message holds no sealed phone number")
    return json.dumps({**parsed, "to": box.open(parsed["to"])})


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass did, and when the next pending message is due (None: none is)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    next_due: float | None = None


class Deliverer:
    """Delivers the due outbox rows of the configured routes, one pass at a time.

    ``transports`` defaults to :func:`transports_for` (tests pass their own). The clock
    is read after each attempt, so a retry is timed from when the attempt ended. ``box``
    opens citizens' phone numbers (default: :func:`load_box` of ``settings``, loaded on
    the first citizen's message)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        transports: Mapping[str, Transport] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        box: SecretBox | None = None,
    ) -> None:
        self.settings = settings
        self.box = box
        self.engine = engine
        self.routes = {route.name: route for route in settings.notify_routes}
        self.transports = dict(transports_for(settings) if transports is None else transports)
        self.policy = outbox.RetryPolicy.from_settings(settings)
        self.clock = clock

    def deliver_due(
        self, *, now: float | None = None, limit: int = BATCH, leader: Leader | None = None
    ) -> DeliveryReport:
        """Try every message due at ``now`` (default: the clock), oldest first; with a
        ``leader``, only while it leads (see the module docstring)."""
        now = self.clock() if now is None else now
        with transaction(self.engine) as session:
            if leader is not None and not leader.fence(session):
                return DeliveryReport()
            due = outbox.due(session, now=now, limit=limit)
        sent = retried = failed = 0
        for row in due:
            if leader is not None and not leader.acting(self.clock()):
                break  # the lease ran out meanwhile: the next leader sends the rest
            outcome = self._attempt(row)
            at = max(now, self.clock())
            try:
                with transaction(self.engine) as session:
                    status = outbox.record(
                        session,
                        row.id,
                        delivered=outcome.delivered,
                        permanent=outcome.permanent,
                        error=outcome.error,
                        now=at,
                        policy=self.policy,
                    )
            except ConflictError:
                log.info("notification %d: already recorded by another engine", row.id)
                continue
            if status is outbox.Status.SENT:
                sent += 1
                log.info("notification %d sent to route %s", row.id, row.route)
            elif status is outbox.Status.FAILED:
                failed += 1
                log.warning("notification %d failed for good: %s", row.id, outcome.error)
            else:
                retried += 1
                log.warning("notification %d will be retried: %s", row.id, outcome.error)
        with transaction(self.engine) as session:
            next_due = outbox.next_due(session)
        return DeliveryReport(sent=sent, retried=retried, failed=failed, next_due=next_due)

    def _attempt(self, row: outbox.OutboxRow) -> Outcome:
        route = self.routes.get(row.route)
        if route is None:
            return Outcome(False, True, f"route {row.route}: no longer configured")
        transport = self.transports.get(route.transport)
        if transport is None:
            return Outcome(False, True, f"route {row.route}: no transport {route.transport!r}")
        body = self._body(row, route)
        if isinstance(body, Outcome):
            return body
        message = Message(
            row_id=row.id,
            message_id=row.message_id,
            route=row.route,
            kind=row.kind,
            subject=row.subject,
            body=body,
        )
        try:
            return transport.send(message, route)
        except CitywifiError as exc:  # a plugin that raised instead of reporting
            return Outcome(False, False, f"route {row.route}: {exc}")

    def _body(self, row: outbox.OutboxRow, route: NotifyRoute) -> str | Outcome:
        """The body to send: the payload as queued, or a citizen's with the number
        opened; an Outcome when it cannot be sent."""
        if row.kind != CITIZEN_KIND:
            return row.payload
        if route.transport != CITIZEN_TRANSPORT:
            reason = f"a citizen's number goes to a {CITIZEN_TRANSPORT} route only"
            return Outcome(False, True, f"route {row.route}: {reason}")
        try:
            if self.box is None:
                self.box = load_box(self.settings)
            return citizen_body(row.payload, self.box)
        except ValueError as exc:  # no number to send: resending cannot help
            return Outcome(False, True, f"route {row.route}: {exc}")
        except CitywifiError as exc:  # no key opens it: the right one may be put back
            return Outcome(False, False, f"route {row.route}: {exc}")
