"""SSH polling: what SNMP does not give, read from the device's command line.

Why SSH at all: OpenWrt has no client count over SNMP (``iwinfo`` is the only source),
and MikroTik's hotspot session count needs a table walk that some firmware lacks. SSH is
expensive (a TCP connection, key exchange and a login per poll), so it runs on its own,
slower interval in a bounded thread pool (netmiko is blocking), and a failure is only
counted and logged: it never marks an AP that answers SNMP as down.

Vendors are data: an SSH-capable vendor's module (``collector.vendors.<vendor>``, listed
in :data:`collector.profiles.VENDOR_MODULES`) defines ``SSH_PROFILE`` beside its SNMP
``PROFILE``, found by profile name, so this core never imports a vendor module directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from collector import profiles
from timeseries.vocabulary import AP_METRICS

log = logging.getLogger(__name__)

Parser = Callable[[str], dict[str, float]]


class ParseError(ValueError):
    """The device answered a command with something we cannot read."""


@dataclass(frozen=True, slots=True)
class SshCommand:
    """One command and how to read its output.

    ``unless_snmp`` names a field: when the AP's last SNMP poll already gave it, the
    command is not run (SNMP is cheaper and the source of record). ``cross_check`` marks
    a command whose fields are only compared with SNMP's, never written.
    """

    command: str
    parse: Parser
    unless_snmp: str | None = None
    cross_check: bool = False


@dataclass(frozen=True, slots=True)
class SshProfile:
    name: str
    device_type: str  # netmiko's
    commands: tuple[SshCommand, ...]
    # Derives fields from all parsed ones (e.g. clients = sum of per-radio counts).
    combine: Callable[[dict[str, float]], dict[str, float]] | None = None


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int
    username: str
    password: str | None = field(default=None, repr=False)
    key_file: str | None = None


@dataclass(frozen=True, slots=True)
class SshResult:
    """One SSH poll. ``outcome``: ok, timeout, auth or error."""

    outcome: str
    fields: dict[str, float] = field(default_factory=dict)  # to write (vocabulary only)
    checks: dict[str, float] = field(default_factory=dict)  # to compare with SNMP
    parse_errors: int = 0
    error: str | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


_registry: dict[str, SshProfile | None] = {}


def ssh_profile(profile_name: str | None) -> SshProfile | None:
    """The SSH commands for a (detected) profile, or None if it has none (``auto`` and
    unknown names included)."""
    if not profile_name:
        return None
    if profile_name not in _registry:
        found = profiles.vendor_attribute(profile_name, "SSH_PROFILE")
        if found is not None and not isinstance(found, SshProfile):
            raise TypeError(f"{profile_name}: SSH_PROFILE is not an SshProfile")
        _registry[profile_name] = found
    return _registry[profile_name]


def register(profile: SshProfile) -> None:
    """Add or replace an SSH profile (plugins, tests)."""
    _registry[profile.name] = profile


def commands_to_run(profile: SshProfile, snmp_fields: Mapping[str, float]) -> list[SshCommand]:
    """The profile's commands minus those whose field SNMP already gave."""
    return [
        c for c in profile.commands if c.unless_snmp is None or c.unless_snmp not in snmp_fields
    ]


def read_outputs(
    profile: SshProfile, outputs: Sequence[tuple[SshCommand, str]]
) -> tuple[dict[str, float], dict[str, float], int]:
    """Parse each output: (fields to write, cross-check fields, parse errors).

    Fields not in the metric vocabulary are dropped: the store only ever holds names
    defined in ``timeseries.vocabulary``.
    """
    fields: dict[str, float] = {}
    checks: dict[str, float] = {}
    errors = 0
    for command, text in outputs:
        try:
            parsed = command.parse(text)
        except ParseError as exc:
            errors += 1
            log.debug("%s: cannot read %r: %s", profile.name, command.command, exc)
            continue
        (checks if command.cross_check else fields).update(parsed)
    if profile.combine is not None:
        fields.update(profile.combine(fields))
    written = {k: v for k, v in fields.items() if k in AP_METRICS}
    return written, checks, errors


def _connect_params(target: SshTarget, device_type: str, timeout_s: float) -> dict[str, Any]:
    params: dict[str, Any] = {
        "device_type": device_type,
        "host": target.host,
        "port": target.port,
        "username": target.username,
        "conn_timeout": timeout_s,
        "auth_timeout": timeout_s,
        "banner_timeout": timeout_s,
        "read_timeout_override": timeout_s,
        "fast_cli": True,
        "allow_agent": False,
        "ssh_config_file": None,
    }
    if target.key_file:
        params.update(use_keys=True, key_file=target.key_file)
    if target.password:
        params["password"] = target.password
    return params


def poll_ssh(
    target: SshTarget,
    profile: SshProfile,
    commands: Sequence[SshCommand],
    timeout_s: float,
) -> SshResult:
    """Log in, run ``commands``, parse. Blocking: run it in a worker thread."""
    from netmiko import ConnectHandler
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

    started = time.monotonic()
    outputs: list[tuple[SshCommand, str]] = []
    try:
        with ConnectHandler(**_connect_params(target, profile.device_type, timeout_s)) as conn:
            for command in commands:
                text = conn.send_command(command.command, read_timeout=timeout_s)
                outputs.append((command, text if isinstance(text, str) else str(text)))
    except NetmikoAuthenticationException as exc:
        return _failed("auth", exc, started)
    except NetmikoTimeoutException as exc:
        return _failed("timeout", exc, started)
    except Exception as exc:  # paramiko, sockets, netmiko's ReadTimeout: all just "error"
        return _failed("error", exc, started)
    fields, checks, errors = read_outputs(profile, outputs)
    return SshResult("ok", fields, checks, errors, None, time.monotonic() - started)


def _failed(outcome: str, exc: BaseException, started: float) -> SshResult:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SshResult(outcome, error=message, duration_s=time.monotonic() - started)


# --- small parsing helpers shared by the vendor modules ------------------------------------


def parse_count(text: str) -> int:
    """A bare number, as ``print count-only`` answers; anything else is a ParseError."""
    stripped = text.strip()
    if not stripped.isdigit():
        raise ParseError(f"expected a count, got {stripped[:80]!r}")
    return int(stripped)
