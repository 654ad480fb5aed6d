"""The e-mail transport against a real SMTP server (aiosmtpd) on loopback: the message
as a person reads it, a login, and which refusals are retried."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

import pytest

from core.errors import ConfigError
from core.settings import NotifyRoute, Settings
from faults.delivery import Message
from tests.fixtures.ports import free_port
from tests.fixtures.receivers import SmtpServer, dead_port, serving
from transports.email import EmailTransport

PASSWORD = "smtp-Pa55word-S3cret"


def route(*to: str) -> NotifyRoute:
    return NotifyRoute(name="utility-mail", transport="email", to=list(to) or ["ops@example.org"])


def settings(port: int, **more: object) -> Settings:
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="citywifi@example.org",
        notify_timeout_s=5.0,
        **more,  # type: ignore[arg-type]
    )


def parsed(server: SmtpServer) -> EmailMessage:
    (envelope,) = server.envelopes
    content = envelope.original_content or envelope.content
    assert isinstance(content, bytes)
    return email.message_from_bytes(content, policy=default)


def test_sends_a_plain_text_mail_listing_the_incidents(
    smtp_server: SmtpServer, message: Message
) -> None:
    outcome = EmailTransport(settings(smtp_server.port)).send(
        message, route("ops@example.org", "noc@example.org")
    )
    assert outcome.delivered, outcome.error
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "citywifi@example.org"
    assert envelope.rcpt_tos == ["ops@example.org", "noc@example.org"]
    mail = parsed(smtp_server)
    assert mail["Subject"] == message.subject
    assert mail["To"] == "ops@example.org, noc@example.org"
    assert mail["X-Citywifi-Message-Id"] == "noc-hook:noc:3"
    assert mail.get_content_type() == "text/plain"
    text = mail.get_content()
    assert "#12 area_outage (district d-north): open" in text
    assert "likely power cut" in text
    assert "who must act: utility" in text
    assert "sites: s-park, s-market" in text
    assert "#9 ap_down (ap ap-park-1): merged into #12" in text
    assert "open: 1, resolved: 1" in text


# Loopback only: AUTH without TLS is what aiosmtpd warns about, and what this test wants.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_logs_in_when_configured(message: Message) -> None:
    server = SmtpServer(port=free_port(), username="citywifi", password=PASSWORD)
    with serving(server):
        good = settings(server.port, smtp_username="citywifi", smtp_password=PASSWORD)
        assert EmailTransport(good).send(message, route()).delivered
        bad = settings(server.port, smtp_username="citywifi", smtp_password="wrong-" + PASSWORD)
        outcome = EmailTransport(bad).send(message, route())
    assert len(server.envelopes) == 1
    assert (outcome.delivered, outcome.permanent) == (False, True)
    assert outcome.error is not None and outcome.error.startswith("route utility-mail (email")
    assert "535" in outcome.error and PASSWORD not in outcome.error


def test_a_refused_recipient_is_permanent(message: Message) -> None:
    server = SmtpServer(port=free_port(), refuse=frozenset({"nobody@example.org"}))
    with serving(server):
        outcome = EmailTransport(settings(server.port)).send(message, route("nobody@example.org"))
    assert (outcome.delivered, outcome.permanent) == (False, True)
    assert outcome.error is not None and "550" in outcome.error


def test_a_server_away_is_retried(message: Message) -> None:
    outcome = EmailTransport(settings(dead_port())).send(message, route())
    assert (outcome.delivered, outcome.permanent) == (False, False)
    assert outcome.error is not None and outcome.error.startswith("route utility-mail (email")


def test_a_route_without_recipients_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs recipients"):
        EmailTransport(settings(25)).check(
            NotifyRoute(name="x", transport="email", url="http://127.0.0.1/")
        )
