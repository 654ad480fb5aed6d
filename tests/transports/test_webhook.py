"""The webhook transport against a real HTTP receiver on 127.0.0.1: the body as queued,
an HMAC the receiver can verify on its own, and which answers are retried."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from core.errors import ConfigError
from core.settings import NotifyRoute, Settings
from faults.delivery import Message
from tests.fixtures.receivers import WebhookReceiver, dead_port
from transports.webhook import WebhookTransport

SECRET = "whsec-Sup3r-S3cret-key"
NOW = 1_767_225_600.0


def route(url: str, secret: str | None = SECRET) -> NotifyRoute:
    return NotifyRoute(name="noc-hook", transport="webhook", url=url, secret=secret)


def transport(tmp_path_timeout: float = 2.0) -> WebhookTransport:
    return WebhookTransport(Settings(notify_timeout_s=tmp_path_timeout), clock=lambda: NOW)


def test_posts_the_body_signed_so_the_receiver_can_verify_it(
    webhook_receiver: WebhookReceiver, message: Message
) -> None:
    outcome = transport().send(message, route(webhook_receiver.url))
    assert outcome.delivered and outcome.error is None
    (request,) = webhook_receiver.requests
    assert request.path == "/hook/t0ken-in-path"
    assert request.body == message.body.encode()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Citywifi-Message-Id"] == "noc-hook:noc:3"
    timestamp = request.headers["X-Citywifi-Timestamp"]
    assert timestamp == str(int(NOW))
    # What a receiver does, written independently of the transport's code.
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    signature = request.headers["X-Citywifi-Signature"]
    assert signature.startswith("sha256=")
    assert hmac.compare_digest(signature.removeprefix("sha256="), expected.hexdigest())
    # ... and a tampered body or another key does not verify.
    forged = hmac.new(b"other", f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert signature != f"sha256={forged.hexdigest()}"
    assert SECRET not in str(request.headers)


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (502, False), (503, False), (408, False), (429, False),
     (400, True), (401, True), (404, True), (410, True), (301, True)],
)  # fmt: skip
def test_which_answers_are_retried(
    webhook_receiver: WebhookReceiver, message: Message, status: int, permanent: bool
) -> None:
    webhook_receiver.default_status = status
    outcome = transport().send(message, route(webhook_receiver.url))
    assert not outcome.delivered
    assert outcome.permanent is permanent
    assert outcome.error is not None
    assert outcome.error.startswith("route noc-hook (webhook http://127.0.0.1:")
    assert f"HTTP {status}" in outcome.error
    assert SECRET not in outcome.error and "t0ken-in-path" not in outcome.error


def test_a_refused_connection_is_retried(message: Message) -> None:
    url = f"http://127.0.0.1:{dead_port()}/hook/t0ken-in-path"
    outcome = transport().send(message, route(url))
    assert (outcome.delivered, outcome.permanent) == (False, False)
    assert outcome.error is not None and outcome.error.startswith("route noc-hook")
    assert "t0ken-in-path" not in outcome.error and SECRET not in outcome.error


def test_a_receiver_that_never_answers_is_a_timeout_retried(
    webhook_receiver: WebhookReceiver, message: Message
) -> None:
    webhook_receiver.hang()
    outcome = transport(0.5).send(message, route(webhook_receiver.url))
    assert (outcome.delivered, outcome.permanent) == (False, False)
    assert outcome.error is not None and "no answer within 0.5 s" in outcome.error


@pytest.mark.parametrize(
    ("url", "secret", "says"),
    [
        (None, SECRET, "needs an http"),
        ("ftp://127.0.0.1/x", SECRET, "needs an http"),
        ("http://127.0.0.1:9/x", None, "needs a secret"),
    ],
)
def test_a_route_it_cannot_serve_is_a_config_error(
    url: str | None, secret: str | None, says: str
) -> None:
    bad = NotifyRoute(name="bad", transport="webhook", url=url, secret=secret)
    with pytest.raises(ConfigError, match=says):
        transport().check(bad)
