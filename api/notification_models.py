"""Shapes of the notification routes: the outbox's messages and the configured routes.

Neither ever carries a secret: a route says where it delivers as
:meth:`core.settings.NotifyRoute.where` shows it (a URL without its user, password, path or
query; the e-mail addresses) and whether its messages are signed, never the key; a
message's payload is what was sent, which holds none (it is signed at delivery).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.incidents import IncidentClass, Responsible
from inventory.outbox import Status


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotificationPublic(_Model):
    """One queued message and what became of it."""

    id: int
    message_id: str  # what receivers dedupe on (X-Citywifi-Message-Id)
    route: str
    group: str
    kind: str  # firing, update, repeat, resolved
    subject: str
    status: Status
    created_at: datetime
    due_at: datetime | None  # the next attempt; None once sent or failed
    attempts: int
    sent_at: datetime | None
    last_error: str | None  # the last failed attempt's cause (the route and why)
    payload: dict[str, Any]  # the JSON body as sent


class NotificationsPublic(_Model):
    data: list[NotificationPublic]
    count: int  # all messages matching the filters, not the page size


class NotifyRoutePublic(_Model):
    """A route: where it delivers, which incidents it wants, how its messages fare."""

    name: str
    configured: bool  # False: messages remain for a route no longer in the settings
    transport: str | None
    where: str | None
    signed: bool  # its messages carry an HMAC signature (the key itself is never shown)
    responsible: list[Responsible]
    classes: list[IncidentClass]
    partner: str | None
    operator: str | None
    pending: int
    sent: int
    failed: int
    last_error: str | None  # the newest message's error
    last_error_notification: int | None  # ... and that message's id


class NotifyRoutesPublic(_Model):
    data: list[NotifyRoutePublic]
    count: int
