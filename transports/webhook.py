"""The webhook transport: the message's JSON payload POSTed to the route's URL, signed.

The signature lets a receiver check that the message comes from citywifi and was not
replayed from long ago: ``X-Citywifi-Signature: sha256=<hex>`` is HMAC-SHA256, keyed
with the route's secret, of ``"<timestamp>.<body>"`` where the timestamp is the
``X-Citywifi-Timestamp`` header (epoch seconds; a receiver refuses old ones) and the body
the exact bytes sent (a receiver verifies before parsing). ``X-Citywifi-Message-Id`` is
the same for every attempt at one message, so a receiver drops a duplicate delivery.
A citizen's message (``citizen_notify_route``) comes here with the phone number already
opened by delivery (``faults.delivery.citizen_body``): it is in the body and nowhere
else (not in a header, not in an error), so point that route at an https URL.

Outcomes: 2xx delivered; 408, 429, 5xx, a timeout or a refused connection are retried
(the receiver may be back later); any other answer (a 4xx, a redirect) is permanent:
the receiver refuses this message as such, and resending it cannot help.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import httpx

from core.errors import ConfigError
from core.settings import NotifyRoute, Settings
from faults.delivery import DELIVERED, Message, Outcome

RETRIED_STATUSES = frozenset({408, 429})
CONTENT_TYPE = "application/json"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Citywifi-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class WebhookTransport:
    """POSTs each message with ``httpx``, one attempt bounded by ``notify_timeout_s``.

    ``clock`` gives the timestamp that is signed (injectable for tests)."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.timeout_s = settings.notify_timeout_s
        self.clock = clock

    def check(self, route: NotifyRoute) -> None:
        if not route.url or not route.url.startswith(("http://", "https://")):
            raise ConfigError(f"route {route.name}: a webhook needs an http(s) url")
        if not route.secret:
            raise ConfigError(f"route {route.name}: a webhook needs a secret to sign with")

    def send(self, message: Message, route: NotifyRoute) -> Outcome:
        self.check(route)
        assert route.url is not None and route.secret is not None  # checked just above
        body = message.body.encode()
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": "citywifi-notifier",
            "X-Citywifi-Timestamp": timestamp,
            "X-Citywifi-Signature": signature(route.secret, timestamp, body),
            "X-Citywifi-Message-Id": message.message_id,
        }
        whom = f"route {route.name} (webhook {route.where()})"
        try:
            with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
                response = client.post(route.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return Outcome(False, False, f"{whom}: no answer within {self.timeout_s:g} s")
        except httpx.HTTPError as exc:
            # The library's words name the cause (refused, reset, bad TLS), never the
            # secret; the URL is taken out in case its path holds a token.
            reason = str(exc).replace(route.url, route.where()) or type(exc).__name__
            return Outcome(False, False, f"{whom}: {reason}")
        status = response.status_code
        if 200 <= status < 300:
            return DELIVERED
        answer = f"{whom}: answered HTTP {status} {response.reason_phrase}".rstrip()
        if status >= 500 or status in RETRIED_STATUSES:
            return Outcome(False, False, answer)
        return Outcome(False, True, f"{answer} (not retried)")
