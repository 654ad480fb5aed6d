"""Simulated SSH command lines: one asyncssh server per AP on the AP's loopback address.

Built on asyncssh's low-level session API rather than a device-emulation framework:
FakeNOS served 200 devices but not 500 and gave every replica the first host's prompt
(docs/REFERENCE.md), while a session object per channel costs next to nothing and lets
each AP answer from its own :class:`~simulators.device.Device` at the instant asked.

The line discipline is ours (asyncssh's line editor is off) so the byte stream looks like
a real terminal to netmiko: typed characters are echoed, Enter is ``\\r``, ``\\n`` or
``\\r\\n`` (netmiko's RouterOS driver sends the pair, which must count once), output uses
CRLF under a PTY, and the prompt is the last thing written so netmiko's end-of-output
pattern (``prompt[ \\t]*$``) matches.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import asyncssh
from asyncssh.misc import TermModes, TermSize

from core.errors import SimulatorError
from simulators import cli_openwrt, cli_routeros
from simulators.city import SSH_PORT, SSH_USERNAME, SSID, City, SimAp, ssh_password
from simulators.device import Device

log = logging.getLogger("simulators.ssh")

Flavour = Literal["routeros", "openwrt"]

DEFAULT_USERNAME = SSH_USERNAME
DEFAULT_SSH_LIMIT = 200
LOGIN_TIMEOUT_S = 30

_CTRL_C = "\x03"
_CTRL_D = "\x04"
_BACKSPACES = ("\x7f", "\x08")


@dataclass(frozen=True)
class SshAp:
    """What one SSH server needs to know about its AP.

    ``model`` is the RouterOS board name shown by ``/system resource print``.
    """

    host: str
    name: str
    flavour: Flavour
    device: Device
    username: str
    password: str
    model: str = ""
    ssid: str = SSID


def default_password(seed: int) -> str:
    """The simulated city's SSH password, as its inventory's credential profiles name it."""
    return ssh_password(seed)


SSH_FLAVOURS: dict[str, Flavour] = {"mikrotik": "routeros", "openwrt": "openwrt"}
"""Vendors whose APs the collector also reads over SSH, and the CLI each speaks."""


def ssh_aps_for(
    city: City,
    *,
    limit: int = DEFAULT_SSH_LIMIT,
    vendor: str | None = None,
    credentials: Callable[[SimAp], tuple[str, str]] | None = None,
) -> list[SshAp]:
    """The city's APs that get an SSH CLI: the first ``limit`` in city order of those whose
    vendor has one (MikroTik: RouterOS, OpenWrt: ash), or of ``vendor``'s only.

    OpenWrt APs must be among them: their client count exists only over SSH (``iwinfo``).
    ``credentials`` maps an AP to its (username, password), the hook for the city's
    credential profiles; without it every AP uses ``admin`` and the seeded password.
    """
    password = default_password(city.seed)
    chosen: list[SshAp] = []
    for ap in city.aps:
        if len(chosen) >= limit:
            break
        flavour = SSH_FLAVOURS.get(ap.vendor.name)
        if flavour is None or (vendor is not None and ap.vendor.name != vendor):
            continue
        username, secret = credentials(ap) if credentials else (DEFAULT_USERNAME, password)
        chosen.append(
            SshAp(
                host=ap.host,
                name=ap.name,
                flavour=flavour,
                device=ap.device,
                username=username,
                password=secret,
                model=ap.model.name,
                ssid=ap.identity.ssid,
            )
        )
    return chosen


# --- one command line ----------------------------------------------------------------------


def prompt(ap: SshAp) -> str:
    if ap.flavour == "routeros":
        return f"[{ap.username}@{ap.name}] > "
    sign = "#" if ap.username == "root" else "$"
    return f"{ap.username}@{ap.name}:~{sign} "


def banner(ap: SshAp) -> str:
    return cli_routeros.BANNER if ap.flavour == "routeros" else cli_openwrt.BANNER


def run_command(ap: SshAp, line: str, now: float, *, interactive: bool) -> cli_openwrt.Reply:
    """One command line on ``ap`` at ``now``: what it prints and whether the session ends."""
    if ap.flavour == "routeros":
        out = cli_routeros.run(line, identity=ap.name, device=ap.device, board=ap.model, now=now)
        if out is None:
            return cli_openwrt.Reply(close=True)
        return cli_openwrt.Reply(f"{out}\n" if out else "")
    return cli_openwrt.run(
        line,
        hostname=ap.name,
        device=ap.device,
        now=now,
        ssid=ap.ssid,
        shell="-ash" if interactive else "ash",
    )


def check_login(ap: SshAp, username: str, password: str) -> bool:
    """RouterOS logins may carry terminal options after a ``+`` (netmiko's
    ``admin+ct511w4098h``); the account is the part before it."""
    if ap.flavour == "routeros":
        username = cli_routeros.login_name(username)
    user_ok = hmac.compare_digest(username.encode(), ap.username.encode())
    password_ok = hmac.compare_digest(password.encode(), ap.password.encode())
    return user_ok and password_ok


# --- asyncssh glue -------------------------------------------------------------------------


class _CliSession(asyncssh.SSHServerSession[str]):
    """One channel: an interactive shell (with or without a PTY) or one exec request."""

    def __init__(self, ap: SshAp, clock: Callable[[], float]) -> None:
        self._ap = ap
        self._clock = clock
        self._chan: asyncssh.SSHServerChannel[str] | None = None
        self._pty = False
        self._command: str | None = None
        self._line: list[str] = []
        self._after_cr = False
        self._done = False

    def connection_made(self, chan: asyncssh.SSHServerChannel[str]) -> None:
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: TermSize, term_modes: TermModes) -> bool:
        self._pty = True
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self._command = command
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False  # no sftp, no netconf

    def session_started(self) -> None:
        chan = self._chan
        assert chan is not None
        if self._command is None:
            self._write(banner(self._ap) + prompt(self._ap))
            return
        reply = run_command(self._ap, self._command, self._clock(), interactive=False)
        self._write(reply.stdout)
        if reply.stderr:
            chan.write_stderr(self._crlf(reply.stderr))
        self._finish(reply.status)

    def data_received(self, data: str, datatype: asyncssh.DataType) -> None:
        if self._done or self._command is not None:
            return
        out: list[str] = []
        for ch in data:
            if ch == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = ch == "\r"
            if ch in "\r\n":
                if not self._enter(out):
                    return
            elif ch == _CTRL_C:
                self._line.clear()
                out.append("^C\r\n" + prompt(self._ap))
            elif ch == _CTRL_D:
                if not self._line and self._ap.flavour == "openwrt":
                    self._write("".join(out))
                    self._finish(0)
                    return
            elif ch in _BACKSPACES:
                if self._line:
                    self._line.pop()
                    out.append("\b \b")
            elif ch >= " ":
                self._line.append(ch)
                out.append(ch)
        self._write("".join(out))

    def _enter(self, out: list[str]) -> bool:
        """Run the line typed so far; False once the session has ended."""
        line = "".join(self._line)
        self._line.clear()
        reply = run_command(self._ap, line, self._clock(), interactive=True)
        out.append("\r\n")
        if reply.close:
            self._write("".join(out))
            self._finish(0)
            return False
        out.append(self._crlf(reply.stdout + reply.stderr))
        out.append(prompt(self._ap))
        return True

    def eof_received(self) -> bool:
        return False  # let asyncssh close the channel

    def _crlf(self, text: str) -> str:
        return text.replace("\n", "\r\n") if self._pty or self._command is None else text

    def _write(self, text: str) -> None:
        if text and self._chan is not None and not self._done:
            self._chan.write(text)

    def _finish(self, status: int) -> None:
        self._done = True
        if self._chan is not None:
            self._chan.exit(status)


class _ApServer(asyncssh.SSHServer):
    """Per connection: password authentication against the AP's account, then sessions."""

    def __init__(self, ap: SshAp, clock: Callable[[], float]) -> None:
        self._ap = ap
        self._clock = clock

    def begin_auth(self, username: str) -> bool:
        return True  # every login must authenticate

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return check_login(self._ap, username, password)

    def session_requested(self) -> asyncssh.SSHServerSession[str]:
        return _CliSession(self._ap, self._clock)


@functools.cache
def host_key() -> asyncssh.SSHKey:
    """One Ed25519 host key per process, shared by every AP (generation takes ~0.1 ms)."""
    return asyncssh.generate_private_key("ssh-ed25519")


async def _listen(ap: SshAp, port: int, clock: Callable[[], float]) -> asyncssh.SSHAcceptor:
    try:
        return await asyncssh.listen(
            ap.host,
            port,
            server_factory=functools.partial(_ApServer, ap, clock),
            server_host_keys=[host_key()],
            encoding="utf-8",
            line_editor=False,
            public_key_auth=False,
            kbdint_auth=False,
            gss_host=None,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            login_timeout=LOGIN_TIMEOUT_S,
            reuse_address=True,
            config=None,
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SimulatorError(f"cannot listen on {ap.host}:{port} (SSH): {reason}") from exc


async def serve_ssh(
    aps: Sequence[SshAp],
    *,
    port: int = SSH_PORT,
    stop: asyncio.Event,
    ready: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Serve an SSH CLI for every AP in ``aps`` on (ap.host, port) until ``stop`` is set.

    ``ready`` is called once every server listens. A server that cannot bind raises
    :class:`SimulatorError` naming host:port, after closing the ones already open.
    """
    acceptors: list[asyncssh.SSHAcceptor] = []
    try:
        for ap in aps:
            acceptors.append(await _listen(ap, port, clock))
        if aps:
            log.info(
                "SSH CLIs for %d APs listening on %s..%s port %d",
                len(aps),
                aps[0].host,
                aps[-1].host,
                port,
            )
        if ready is not None:
            ready()
        await stop.wait()
    finally:
        for acceptor in acceptors:
            acceptor.close()
        for acceptor in acceptors:
            with contextlib.suppress(Exception):
                await acceptor.wait_closed()
