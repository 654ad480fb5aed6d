"""Parsing of server metric store URLs, shared by the VictoriaMetrics and InfluxDB backends.

A server store URL is ``<backend>+<http|https>://[user:password@]host:port[/prefix]?k=v&..``:
the backend picks the code, the rest is the server's own base URL plus options. Options are
query parameters so one string (an environment variable, a TOML value) configures a store.

Every mistake is a :class:`StoreError` in plain words, and no message ever carries a
secret: :func:`redact` is applied to every URL that goes into a message or a ``repr``.
Unknown options are refused rather than ignored, so a typo (``tennant=``) cannot silently
write into the wrong place.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from core.errors import StoreError

__all__ = [
    "SECRET_PARAMS",
    "ServerURL",
    "basic_authorization",
    "parse_duration",
    "parse_server_url",
    "redact",
]

# Query parameters whose values are secrets; never shown anywhere. The same names
# core.settings.redact_url hides, so a URL reads the same in settings and in errors.
SECRET_PARAMS = frozenset({"token", "password", "pass", "secret", "key", "auth"})
_REDACTED = "***"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)?\s*$")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
    "y": 365 * 86400.0,
}


@dataclass(frozen=True)
class ServerURL:
    """A parsed server store URL: the server's base URL, credentials and options.

    ``base`` is ``http(s)://host:port[/prefix]`` without a trailing slash and without
    credentials; ``params`` maps each option to all its values in URL order.
    """

    backend: str
    base: str
    user: str | None
    password: str | None = field(repr=False)
    params: dict[str, list[str]] = field(repr=False)
    redacted: str

    def one(self, name: str, default: str | None = None) -> str | None:
        """The single value of an option (the last one wins if repeated)."""
        values = self.params.get(name)
        return values[-1] if values else default

    def number(self, name: str, default: float, low: float, high: float) -> float:
        """A numeric option within [low, high], or a plain-words error."""
        raw = self.one(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise StoreError(f"{name}={raw!r} is not a number in {self.redacted}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise StoreError(f"{name} must be between {low:g} and {high:g} in {self.redacted}")
        return value

    def flag(self, name: str) -> bool:
        """A yes/no option: 1/true/yes/on or 0/false/no/off (absent is no)."""
        raw = self.one(name)
        if raw is None:
            return False
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise StoreError(f"{name}={raw!r} should be 1 or 0 in {self.redacted}")

    def duration(self, name: str, default: float) -> float:
        """A duration option (``90``, ``30s``, ``15m``, ``1h``, ``7d``) in seconds."""
        raw = self.one(name)
        if raw is None:
            return default
        seconds = parse_duration(raw)
        if seconds is None or seconds <= 0:
            raise StoreError(
                f"{name}={raw!r} is not a duration like 90, 30s, 15m, 1h or 7d in {self.redacted}"
            )
        return seconds


def parse_server_url(url: str, backend: str, allowed: Iterable[str]) -> ServerURL:
    """Split ``<backend>+http(s)://...`` into base URL, credentials and checked options."""
    if not isinstance(url, str):
        raise StoreError(f"a metric store URL must be a string, got {type(url).__name__}")
    shown = redact(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise StoreError(f"cannot parse metric store URL {shown}: {exc}") from None
    scheme = parts.scheme
    expected = (f"{backend}+http", f"{backend}+https")
    if scheme not in expected:
        raise StoreError(
            f"a {backend} store URL starts with {expected[0]}:// or {expected[1]}://, got {shown}"
        )
    if not parts.hostname:
        raise StoreError(f"the {backend} store URL names no host: {shown}")
    if parts.fragment:
        raise StoreError(f"the {backend} store URL has a '#' part, which means nothing: {shown}")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    base = urlunsplit((scheme.split("+", 1)[1], netloc, path, "", ""))
    params: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise StoreError(f"cannot read the options of {shown}") from None
    for key, value in pairs:
        params.setdefault(key, []).append(value)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise StoreError(
            f"unknown option(s) {', '.join(unknown)} in {shown}; "
            f"known: {', '.join(sorted(allowed))}"
        )
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return ServerURL(
        backend=backend, base=base, user=user, password=password, params=params, redacted=shown
    )


def redact(url: str) -> str:
    """The URL with its password and secret options replaced by ``***``; safe to print."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port, like parse does
    except ValueError:
        # Cannot parse: drop any user:password@ and hide secret options by pattern.
        head = re.sub(r"//[^/?#]*@", "//", url)
        names = "|".join(sorted(SECRET_PARAMS))
        return re.sub(rf"(?i)((?:{names})=)[^&#]*", r"\1" + _REDACTED, head)
    netloc = parts.netloc
    secret_keys = {unquote(piece.split("=", 1)[0]).lower() for piece in parts.query.split("&")}
    if "@" not in netloc and not secret_keys & SECRET_PARAMS:
        return url  # nothing to hide: keep it exactly as given
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{_REDACTED}@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    query = parts.query
    if query:
        pieces = []
        for piece in query.split("&"):
            key = unquote(piece.split("=", 1)[0]).lower()
            pieces.append(f"{quote(key)}={_REDACTED}" if key in SECRET_PARAMS else piece)
        query = "&".join(pieces)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def parse_duration(text: str) -> float | None:
    """``90`` / ``90s`` / ``15m`` / ``1h`` / ``7d`` / ``2w`` / ``1y`` / ``500ms`` → seconds."""
    match = _DURATION.match(text)
    if match is None:
        return None
    number, unit = match.groups()
    return float(number) * _UNIT_SECONDS[unit or "s"]


def basic_authorization(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP basic authentication."""
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
