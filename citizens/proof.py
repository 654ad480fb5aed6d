"""Proof of work for the public report page, instead of a third-party captcha.

The page asks for a challenge, finds a nonce such that SHA-256("<token>:<nonce>") starts
with ``bits`` zero bits (about 2**bits hashes: under a second in a phone's browser at 16),
and sends both with the report. A person pays that once per report; a script flooding
the page pays it for every report, which is the point. No third party sees the citizen.

Challenges are stateless: the token is ``<expires>.<random>.<mac>``, the MAC a keyed
HMAC-SHA256 of the rest, so any API replica can check a token another one issued (they
share the secret box's key, hence :func:`pow_key`) and nothing is stored per challenge.
Statelessness allows replaying one solved token until it expires; :class:`SpentTokens`
refuses that within one process, and the per-address limit (counted in the database)
bounds it across replicas.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import secrets
import threading
from dataclasses import dataclass

from inventory.secretbox import SecretBox

__all__ = [
    "CHALLENGE_TTL_S",
    "MAX_NONCE_LENGTH",
    "MAX_TOKEN_LENGTH",
    "Challenge",
    "SpentTokens",
    "issue",
    "leading_zero_bits",
    "pow_key",
    "solve",
    "verify",
]

#: How long a challenge may be answered: time to fill in the form after it was fetched.
CHALLENGE_TTL_S = 600.0
MAX_NONCE_LENGTH = 64
MAX_TOKEN_LENGTH = 128
_MAC_CHARS = 32  # 128 bits of HMAC-SHA256, hex
_KEY_LABEL = b"citywifi-report-pow"


@dataclass(frozen=True)
class Challenge:
    token: str
    bits: int
    expires_at: float  # epoch seconds


def pow_key(box: SecretBox) -> bytes:
    """The challenges' MAC key: derived from the newest secret-box key (the same on every
    replica, never stored), under a label of its own so it is no other key's twin."""
    return hmac.new(box.keys[0].encode("ascii"), _KEY_LABEL, hashlib.sha256).digest()


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).hexdigest()[:_MAC_CHARS]


def issue(key: bytes, now: float, bits: int) -> Challenge:
    """A fresh challenge, answerable for :data:`CHALLENGE_TTL_S` from ``now``."""
    expires = math.ceil(now + CHALLENGE_TTL_S)
    body = f"{expires}.{secrets.token_urlsafe(12)}"
    return Challenge(token=f"{body}.{_mac(key, body)}", bits=bits, expires_at=float(expires))


def leading_zero_bits(digest: bytes) -> int:
    """How many bits at the start of ``digest`` are zero."""
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def _work(token: str, nonce: str) -> bytes:
    return hashlib.sha256(f"{token}:{nonce}".encode()).digest()


def _expiry(token: str) -> int:
    """The token's expiry, ValueError when it is not shaped as one of ours."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise ValueError("the challenge is not one this server issued")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12:
        raise ValueError("the challenge is not one this server issued")
    return int(parts[0])


def verify(key: bytes, token: str, nonce: str, now: float, bits: int) -> None:
    """Return if ``nonce`` answers ``token`` with ``bits`` zero bits and the token is ours
    and unexpired; else ValueError with one line (never quoting what was sent)."""
    expires = _expiry(token)
    body, _, mac = token.rpartition(".")
    if not hmac.compare_digest(_mac(key, body), mac):
        raise ValueError("the challenge is not one this server issued")
    if now > expires:
        raise ValueError("the challenge has expired: ask for a new one")
    if not nonce or len(nonce) > MAX_NONCE_LENGTH or not nonce.isascii() or not nonce.isprintable():
        raise ValueError(f"the nonce must be 1 to {MAX_NONCE_LENGTH} printable ASCII characters")
    if leading_zero_bits(_work(token, nonce)) < bits:
        raise ValueError(f"the proof of work does not hold: {bits} leading zero bits needed")


def solve(token: str, bits: int, *, max_tries: int = 1 << 30) -> str:
    """A nonce answering ``token`` (what the page does in the browser; for tests and
    scripted clients). Expected ~2**bits tries."""
    for n in itertools.islice(itertools.count(), max_tries):
        if leading_zero_bits(_work(token, str(n))) >= bits:
            return str(n)
    raise ValueError(f"no nonce found in {max_tries} tries")


class SpentTokens:
    """Tokens already used for a report in this process, kept until they expire: one
    solved challenge files one report, not one per request until it expires.

    Only tokens that passed :func:`verify` are added, after the whole-process rate limit,
    so at most that limit times the challenge's lifetime are ever held; ``max_held`` is a
    backstop (past it the oldest are forgotten first).
    """

    def __init__(self, max_held: int = 100_000) -> None:
        self._held: dict[str, int] = {}
        self._max_held = max_held
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._held)

    def spend(self, token: str, now: float) -> None:
        """Mark ``token`` used; ValueError if it already was (and has not expired)."""
        expires = _expiry(token)
        with self._lock:
            if token in self._held:
                raise ValueError("this challenge was used already: ask for a new one")
            if len(self._held) >= self._max_held or len(self._held) % 256 == 0:
                self._prune(now)
            self._held[token] = expires

    def _prune(self, now: float) -> None:
        for token in [t for t, expires in self._held.items() if expires < now]:
            del self._held[token]
        while len(self._held) >= self._max_held:
            del self._held[next(iter(self._held))]  # insertion order: the oldest
