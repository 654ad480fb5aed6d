"""A MikroTik RouterOS command line, just deep enough for the collector's SSH polling.

Answers are pure functions of (device, time), computed from the same
:class:`~simulators.device.Device` methods the SNMP view uses, so the registration-table
count over SSH equals the sum of the SNMP client-count columns at the same instant: a
collector comparing both sources must see them agree. Output text follows RouterOS 6.49
byte for byte where the collector parses it (``name: value`` lines right-aligned on the
colon, ``count-only`` as a bare number, the ``bad command name`` error).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache

from simulators.device import Device

VERSION = "6.49.10 (long-term)"
BUILD_TIME = "Sep/06/2023 09:25:21"
FACTORY_SOFTWARE = "6.44.6"

LOGIN_SUFFIX = re.compile(r"\+[0-9a-z]*$")
"""RouterOS login options appended to the user name (netmiko sends ``+ct511w4098h``)."""

BANNER = (
    "\r\n\r\n\r\n"
    "  MMM      MMM       KKK                          TTTTTTTTTTT      KKK\r\n"
    "  MMMM    MMMM       KKK                          TTTTTTTTTTT      KKK\r\n"
    "  MMM MMMM MMM  III  KKK  KKK  RRRRRR     OOOOOO      TTT     III  KKK  KKK\r\n"
    "  MMM  MM  MMM  III  KKKKK     RRR  RRR  OOO  OOO     TTT     III  KKKKK\r\n"
    "  MMM      MMM  III  KKK KKK   RRRRRR    OOO  OOO     TTT     III  KKK KKK\r\n"
    "  MMM      MMM  III  KKK  KKK  RRR  RRR   OOOOOO      TTT     III  KKK  KKK\r\n"
    "\r\n"
    f"  MikroTik RouterOS {VERSION.split()[0]} (c) 1999-2023       https://www.mikrotik.com/\r\n"
    "\r\n\r\n"
)

_HOTSPOT = "ip hotspot active print count-only"
_REGISTRATIONS = "interface wireless registration-table print count-only"
_RESOURCE = "system resource print"
_IDENTITY = "system identity print"


def login_name(username: str) -> str:
    """The account a RouterOS login names: ``admin+ct511w4098h`` logs in as ``admin``."""
    return LOGIN_SUFFIX.sub("", username)


@dataclass(frozen=True)
class Hardware:
    """Fixed facts of one board, seeded so every AP differs but never changes."""

    board: str
    architecture: str
    cpu: str
    cpu_count: int
    cpu_mhz: int
    total_memory: int
    total_hdd: int


_BOARDS: dict[str, tuple[str, str, int, int, int, int]] = {
    # board: architecture, cpu, cores, MHz, memory MiB, storage MiB
    "RB951Ui-2HnD": ("mipsbe", "MIPS 74Kc V4.12", 1, 600, 128, 128),
    "RB952Ui-5ac2nD": ("mipsbe", "MIPS 24Kc V7.4", 1, 650, 64, 16),
    "cAP ac": ("arm", "ARMv7", 4, 716, 128, 16),
    "wAP ac": ("arm", "ARMv7", 4, 716, 128, 16),
}


@cache
def hardware(seed: str, board: str) -> Hardware:
    """The board's fixed facts; unknown boards get the RB951's."""
    arch, cpu, cores, mhz, memory_mib, hdd_mib = _BOARDS.get(board, _BOARDS["RB951Ui-2HnD"])
    return Hardware(
        board=board or "RB951Ui-2HnD",
        architecture=arch,
        cpu=cpu,
        cpu_count=cores,
        cpu_mhz=mhz,
        total_memory=memory_mib * 1024 * 1024,
        total_hdd=hdd_mib * 1024 * 1024,
    )


def hotspot_users(device: Device, now: float, hw: Hardware) -> int:
    """Hotspot sessions: the same count the SNMP hotspot table has rows for."""
    return device.hotspot_sessions(now)


def uptime_text(seconds: int) -> str:
    """RouterOS durations: ``3w2d4h5m6s``, leading zero units dropped, ``0s`` at zero."""
    parts: list[str] = []
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(f"{count}{unit}")
    if seconds or not parts:
        parts.append(f"{seconds}s")
    return "".join(parts)


def size_text(size: int) -> str:
    """RouterOS sizes: ``39.5MiB``, ``3912.0KiB`` (one decimal, binary units)."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale * 4 or (unit == "KiB" and size >= scale):
            return f"{size / scale:.1f}{unit}"
    return f"{size}B"


def _fraction(seed: str, label: str, now: float, low: float, high: float) -> float:
    """A value in [low, high) that changes every 15 minutes, stable within the slot."""
    slot = int(now // 900)
    digest = hashlib.blake2b(f"{seed}:{label}:{slot}".encode(), digest_size=4).digest()
    return low + (high - low) * int.from_bytes(digest, "big") / 2**32


def _fields(rows: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.rjust(width + 2)}: {value}" for name, value in rows)


def resource(device: Device, now: float, hw: Hardware) -> str:
    """``/system resource print`` for a device at ``now``."""
    seed = device.seed
    # The same RAM split SNMP's hrStorage "main memory" row shows at this instant.
    total_memory = device.memory_bytes or hw.total_memory
    free_memory = device.memory(now, total_memory).available
    free_hdd = int(hw.total_hdd * _fraction(seed, "hdd", 0, 0.2, 0.9))
    uptime_s = device.uptime_cs(now) // 100
    return _fields(
        [
            ("uptime", uptime_text(uptime_s)),
            ("version", VERSION),
            ("build-time", BUILD_TIME),
            ("factory-software", FACTORY_SOFTWARE),
            ("free-memory", size_text(free_memory)),
            ("total-memory", size_text(total_memory)),
            ("cpu", hw.cpu),
            ("cpu-count", str(hw.cpu_count)),
            ("cpu-frequency", f"{hw.cpu_mhz}MHz"),
            ("cpu-load", f"{device.cpu_load(now)}%"),
            ("free-hdd-space", size_text(free_hdd)),
            ("total-hdd-space", size_text(hw.total_hdd)),
            ("write-sect-since-reboot", str(uptime_s // 300)),
            ("write-sect-total", str(40_000 + uptime_s // 60)),
            ("bad-blocks", "0%"),
            ("architecture-name", hw.architecture),
            ("board-name", hw.board),
            ("platform", "MikroTik"),
        ]
    )


def normalise(line: str) -> str:
    """One spelling per command: leading ``/`` optional, runs of blanks collapsed, and the
    ``without-paging`` flag (meaningless without a pager) dropped."""
    words = line.strip().lstrip("/").split()
    return " ".join(word for word in words if word != "without-paging")


def run(line: str, *, identity: str, device: Device, board: str, now: float) -> str | None:
    """Output of one command line, without a trailing newline; ``None`` means the session
    ends (``quit``). Lines use ``\\n``; the session layer turns them into CRLF."""
    command = normalise(line)
    if not command:
        return ""
    if command in ("quit", "exit"):
        return None
    hw = hardware(device.seed, board)
    if command == _REGISTRATIONS:
        return str(device.total_clients(now))
    if command == _HOTSPOT:
        return str(hotspot_users(device, now, hw))
    if command == _RESOURCE:
        return resource(device, now, hw)
    if command == _IDENTITY:
        return f"  name: {identity}"
    stripped = line.lstrip()
    column = 2 if stripped.startswith("/") else 1
    return f"bad command name {command.split()[0]} (line 1 column {column})"
