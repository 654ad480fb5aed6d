"""The e-mail transport: one plain-text message per notification, over SMTP.

To the route's ``to``, from ``smtp_from``, through ``smtp_host:smtp_port`` (STARTTLS
and a login when configured), subject the outbox's subject line, the body listing each
incident of the message in plain words. ``X-Citywifi-Message-Id`` carries the same id
as the webhook's header, so a mail rule can drop a duplicate.

Outcomes follow SMTP's own reply classes: a 5xx reply (an unknown recipient, a message
refused as such) is permanent; a 4xx, a timeout or a server away is retried.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from core.errors import ConfigError
from core.settings import NotifyRoute, Settings
from faults.delivery import DELIVERED, Message, Outcome


def _line(incident: dict[str, Any]) -> list[str]:
    scope = f"{incident.get('scope_kind', '?')} {incident.get('scope_id') or ''}".strip()
    head = f"#{incident.get('id')} {incident.get('class', '?')} ({scope}): "
    state = str(incident.get("state", "?"))
    if incident.get("merged_into"):
        state = f"merged into #{incident['merged_into']}"
    lines = [head + state]
    sites = incident.get("sites") or []
    facts = [
        f"opened {incident.get('opened_at')}",
        f"resolved {incident['resolved_at']}" if incident.get("resolved_at") else "",
        f"acknowledged by {incident['acknowledged_by']}" if incident.get("acknowledged_by") else "",
        f"who must act: {incident['responsible']}" if incident.get("responsible") else "",
        f"verdict: {incident['verdict']}" if incident.get("verdict") else "",
        f"{incident.get('aps', 0)} APs at {len(sites)} sites",
    ]
    lines.append("  " + "; ".join(fact for fact in facts if fact))
    if sites:
        lines.append("  sites: " + ", ".join(str(site) for site in sites))
    if incident.get("explanation"):
        lines.append(f"  {incident['explanation']}")
    return lines


def body_text(message: Message) -> str:
    """The mail's text: the subject, then each incident in a few lines."""
    payload = message.payload()
    lines = [message.subject, ""]
    incidents = payload.get("incidents")
    for incident in incidents if isinstance(incidents, list) else []:
        if isinstance(incident, dict):
            lines += [*_line(incident), ""]
    lines.append(f"open: {payload.get('open', '?')}, resolved: {payload.get('resolved', '?')}")
    lines.append(f"message {message.message_id} ({message.kind})")
    return "\n".join(lines) + "\n"


class EmailTransport:
    """Sends through ``smtplib``, one connection per message, bounded by
    ``notify_timeout_s``. The SMTP password is used for the login only: never logged,
    never in an error (SMTP's replies do not repeat it)."""

    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.sender = settings.smtp_from
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.timeout_s = settings.notify_timeout_s

    def check(self, route: NotifyRoute) -> None:
        if not route.to:
            raise ConfigError(f"route {route.name}: an email route needs recipients (to)")

    def _mail(self, message: Message, route: NotifyRoute) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = ", ".join(route.to)
        mail["Subject"] = message.subject
        mail["Message-ID"] = make_msgid(domain="citywifi")
        mail["X-Citywifi-Message-Id"] = message.message_id
        mail.set_content(body_text(message))
        return mail

    def send(self, message: Message, route: NotifyRoute) -> Outcome:
        self.check(route)
        whom = f"route {route.name} (email via {self.host}:{self.port})"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                # Recipients some took and others refused: delivered, to those who took it.
                smtp.send_message(self._mail(message, route))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(code >= 500 for code in codes)
            return Outcome(False, permanent, f"{whom}: every recipient refused {codes}")
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error
            text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
            return Outcome(False, exc.smtp_code >= 500, f"{whom}: {exc.smtp_code} {text}")
        except TimeoutError:
            return Outcome(False, False, f"{whom}: no answer within {self.timeout_s:g} s")
        except OSError as exc:  # refused, unreachable, reset (smtplib's errors are OSErrors)
            return Outcome(False, False, f"{whom}: {exc.strerror or exc or type(exc).__name__}")
        return DELIVERED
