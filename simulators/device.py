"""How one simulated AP behaves over time: uptime, clients, traffic, CPU.

Every value is a pure function of (device seed, time). Traffic is piecewise constant over
15-minute slots of a local week, so a byte counter is an exact integral that costs O(1):
whole weeks times the weekly total, plus a prefix sum, plus a partial slot. Counters are
therefore monotonic between reboots and identical for the same seed and instant, with no
state to step forward and nothing that drifts when a request arrives late.

Reboots follow a seeded schedule (every 25-45 days at a seeded phase), so sysUpTime differs
per AP and is itself a pure function of time; :meth:`Device.reboot` adds ad-hoc reboots
on top, and :meth:`Device.set_condition` adds time windows of a fault condition (silent,
overload, malformed). Both are what :mod:`simulators.faults` drives; with neither, every
value stays the pure function it was, and the extra cost is one empty-list test.

A silent window is cut out of the traffic integral (clients send nothing, only ~16 kbit/s
of beacons), so counters stay monotonic through it and after it.

Everything a vendor shows beyond clients and traffic (memory, hotspot sessions, DHCP
leases, radio link quality, load averages) is derived here from the same load, so that
SNMP and the SSH CLIs, which both call these methods, agree at any instant, and a fault
condition shows in all of them at once. Those derived quantities draw on seeded streams
of their own, never on the device's main stream, so adding one changes no existing value.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import random
from array import array
from bisect import bisect_right, insort
from dataclasses import dataclass
from functools import cache, cached_property

SLOT_MS = 900_000
SLOTS = 7 * 24 * 4
WEEK_MS = SLOT_MS * SLOTS
_MONDAY_SHIFT_MS = 3 * 86_400_000  # 1970-01-01 was a Thursday
DAY_S = 86_400

MAX_AP_RATE_BPS = 20_000_000
MIN_ACTIVE_RATE_BPS = 100_000
BACKGROUND_RATE_BPS = 16_000  # beacons and management frames with nobody associated
_BACKGROUND_BYTES_PER_MS = BACKGROUND_RATE_BPS // 8 // 1000

CONDITIONS = ("silent", "overload", "malformed")
"""Fault conditions a device itself shows (being unreachable is the agent's business)."""

OVERLOAD_CPU = 93  # plus 0-4 jitter: ~95 %
OVERLOAD_MEMORY_PERMILLE = 880  # plus 0-59 jitter: a crowd fills the AP's RAM
PAGE = 4096
HOTSPOT_POOL = 0x0A053202  # 10.5.50.2, RouterOS's default hotspot address pool
SESSION_ID_SPAN = 1024  # session ids: (absolute slot << 10) + n, growing like RouterOS's
LEASE_SLOTS = 4  # DHCP leases last about an hour after a client left
PHY_RATE_KBPS = 300_000  # 2x2 HT40 MCS15
STABLE_MAC_PERMILLE = 600
"""Share of hotspot users whose phone keeps one MAC address across sessions; the others
randomise it per session (private addresses, as iOS and Android do by default)."""
BYTES_PER_PACKET_IN = 180  # from the user: mostly ACKs and requests
BYTES_PER_PACKET_OUT = 1100  # to the user: mostly full-size frames


@dataclass(frozen=True)
class Memory:
    """RAM split the way Linux and RouterOS report it, in bytes (page multiples)."""

    total: int
    used: int  # by processes: total minus what the OS could hand out
    buffers: int
    cached: int

    @property
    def free(self) -> int:
        return self.total - self.used - self.buffers - self.cached

    @property
    def available(self) -> int:
        return self.total - self.used


@dataclass(frozen=True)
class Session:
    """One logged-in hotspot user; fixed for the 15-minute slot it was drawn in."""

    id: int
    user: str
    address: bytes  # IPv4, 4 bytes
    mac: bytes
    login: float  # Unix time
    share_permille: int  # this user's share of an average session's traffic


def client_mac(user: str, random_bytes: bytes) -> bytes:
    """A hotspot client's MAC address for one session of ``user``.

    STABLE_MAC_PERMILLE of users keep one globally administered address, derived from the
    user name alone, so the same person has the same MAC at every AP and in every session
    (what lets accounting count unique users). The rest show ``random_bytes`` (6 bytes,
    fresh per session) with the locally administered bit set, like a phone's private
    address: a new device every time, as far as any network can tell."""
    d = hashlib.blake2b(f"mac:{user}".encode(), digest_size=8).digest()
    if int.from_bytes(d[:2], "big") % 1000 < STABLE_MAC_PERMILLE:
        return bytes((d[2] & 0xFC, *d[3:8]))  # unicast, globally administered
    return bytes((random_bytes[0] & 0xFC | 0x02, *random_bytes[1:6]))


@dataclass(frozen=True)
class Bump:
    """A Gaussian rise in activity around ``hour`` on the given weekdays (Monday = 0)."""

    hour: float
    width: float
    height: float
    days: frozenset[int]


_ALL = frozenset(range(7))
_WEEKDAYS = frozenset(range(5))
_WEEKEND = frozenset({5, 6})
_FRIDAY = frozenset({4})

# Site kinds as data: a floor level plus bumps. Normalised so each kind peaks at 1.0.
SITE_PROFILES: dict[str, tuple[float, tuple[Bump, ...]]] = {
    "park": (
        0.08,
        (
            Bump(17.5, 2.5, 0.7, _ALL),
            Bump(20.0, 1.5, 0.4, _ALL),
            Bump(9.0, 2.0, 0.4, _WEEKEND),
            Bump(15.5, 3.0, 0.6, _WEEKEND),
        ),
    ),
    "market": (
        0.06,
        (
            Bump(6.5, 1.5, 0.6, _ALL),
            Bump(18.5, 2.5, 0.8, _ALL),
            Bump(11.0, 3.0, 0.4, _WEEKEND),
        ),
    ),
    "school": (
        0.03,
        (
            Bump(8.5, 1.8, 1.0, _WEEKDAYS),
            Bump(12.5, 1.5, 0.5, _WEEKDAYS),
            Bump(9.5, 2.0, 0.1, _WEEKEND),
        ),
    ),
    "office": (
        0.04,
        (
            Bump(10.0, 2.0, 0.9, _WEEKDAYS),
            Bump(14.5, 2.0, 0.9, _WEEKDAYS),
            Bump(12.0, 1.0, 0.3, _WEEKDAYS),
        ),
    ),
    "transit": (
        0.08,
        (
            Bump(7.0, 1.2, 1.0, _WEEKDAYS),
            Bump(17.5, 1.5, 1.0, _WEEKDAYS),
            Bump(12.0, 4.0, 0.3, _ALL),
        ),
    ),
    "mosque": (
        0.05,
        (
            Bump(4.6, 0.6, 0.6, _ALL),  # Subuh
            Bump(12.1, 0.7, 0.6, _ALL),  # Dzuhur
            Bump(12.1, 0.8, 0.6, _FRIDAY),  # Jumat prayers
            Bump(15.3, 0.6, 0.5, _ALL),  # Ashar
            Bump(18.0, 0.6, 0.8, _ALL),  # Maghrib
            Bump(19.3, 0.6, 0.6, _ALL),  # Isya
        ),
    ),
    "residential": (
        0.10,
        (
            Bump(20.0, 2.5, 0.9, _ALL),
            Bump(6.5, 1.0, 0.3, _ALL),
            Bump(14.0, 3.0, 0.4, _WEEKEND),
        ),
    ),
    "other": (0.10, (Bump(13.0, 4.0, 0.5, _ALL),)),
}


@cache
def activity(kind: str) -> tuple[float, ...]:
    """Relative activity per slot of the local week, peaking at 1.0."""
    base, bumps = SITE_PROFILES.get(kind, SITE_PROFILES["other"])
    raw = []
    for slot in range(SLOTS):
        day, hour = divmod(slot / 4, 24)
        level = base
        for bump in bumps:
            if int(day) in bump.days:
                distance = abs(hour - bump.hour)
                distance = min(distance, 24 - distance)
                level += bump.height * math.exp(-0.5 * (distance / bump.width) ** 2)
        raw.append(level)
    peak = max(raw)
    return tuple(level / peak for level in raw)


_NOISE_BITS = 12


@cache
def _noise(sigma: float) -> tuple[float, ...]:
    """A fixed pool of log-normal factors (mean ~1): drawing an index from it is ~10x
    cheaper than ``lognormvariate``, which matters when 2,000 APs build their tables."""
    rng = random.Random(f"noise:{sigma}")
    return tuple(rng.lognormvariate(0, sigma) for _ in range(1 << _NOISE_BITS))


def week_position(now_ms: int, utc_offset_s: int) -> tuple[int, int, int]:
    """(whole weeks, slot, ms into slot) of a Unix time in ms, in local time."""
    ms = now_ms + utc_offset_s * 1000 + _MONDAY_SHIFT_MS
    weeks, in_week = divmod(ms, WEEK_MS)
    slot, within = divmod(in_week, SLOT_MS)
    return weeks, slot, within


class Device:
    """One AP's behaviour; ``radios`` carry client traffic, the uplink carries their sum."""

    def __init__(
        self,
        seed: str,
        kind: str,
        *,
        radios: int = 2,
        utc_offset_s: int = 7 * 3600,
        reboot_every_s: float | None = None,
        memory_bytes: int | None = None,
    ) -> None:
        self.seed = seed
        self.memory_bytes = memory_bytes  # RAM, for the CLIs; None: the board's default
        self.kind = kind
        self.radios = radios
        self.utc_offset_s = utc_offset_s
        rng = random.Random(f"device:{seed}")
        # Whole milliseconds, so that boot time is exact and never jitters with rounding.
        self.reboot_every_ms = int((reboot_every_s or rng.uniform(25, 45) * DAY_S) * 1000)
        self.reboot_phase_ms = rng.randrange(self.reboot_every_ms)
        popularity = min(2.5, max(0.4, rng.lognormvariate(0, 0.35)))
        first = rng.uniform(8, 22) * popularity
        self.capacity = [first] + [first * rng.uniform(0.7, 1.3) for _ in range(radios - 1)]
        self.per_client_bps = rng.uniform(0.15, 0.5) * 1e6
        self.night_floor = 1 if rng.random() < 0.93 else 0
        self.upload_permille = rng.randint(80, 200)
        self.cpu_base = rng.randint(2, 8)
        self._boots: list[int] = []  # ad-hoc boot instants in ms, sorted
        # Condition windows in ms: raw per fault key, and merged (disjoint, sorted) per kind.
        self._raw: dict[str, dict[str, tuple[int, int]]] = {kind: {} for kind in CONDITIONS}
        self._silent: list[tuple[int, int]] = []
        self._overload: list[tuple[int, int]] = []
        self._malformed: list[tuple[int, int]] = []
        self._base_cache: tuple[int, list[int]] = (-1, [])
        self._session_cache: tuple[tuple[int, int, int], tuple[Session, ...]] = ((-1, -1, -1), ())

    # --- the weekly tables, built on first use -------------------------------------------

    @cached_property
    def _tables(self) -> tuple[list[array[int]], list[array[int]]]:
        """Per radio: clients per slot and the prefix sum of downstream bytes per slot."""
        rng = random.Random(f"traffic:{self.seed}")
        bits = rng.getrandbits
        mild, wide = _noise(0.25), _noise(0.35)
        shape = activity(self.kind)
        clients = [array("H", bytes(2 * SLOTS)) for _ in range(self.radios)]
        prefix = [array("q", bytes(8 * (SLOTS + 1))) for _ in range(self.radios)]
        for slot in range(SLOTS):
            counts = [round(cap * shape[slot] * mild[bits(_NOISE_BITS)]) for cap in self.capacity]
            if sum(counts) < self.night_floor:
                counts[rng.randrange(self.radios)] = self.night_floor
            rates = []
            for count in counts:
                rate = count * self.per_client_bps * wide[bits(_NOISE_BITS)]
                rates.append(max(rate, MIN_ACTIVE_RATE_BPS if count else BACKGROUND_RATE_BPS))
            total = sum(rates)
            scale = min(1.0, MAX_AP_RATE_BPS / total)
            for radio in range(self.radios):
                clients[radio][slot] = counts[radio]
                slot_bytes = int(rates[radio] * scale * (SLOT_MS / 1000) / 8)
                prefix[radio][slot + 1] = prefix[radio][slot] + slot_bytes
        return clients, prefix

    def _cumulative(self, radio: int, now_ms: int) -> int:
        """Downstream bytes on a radio from an arbitrary origin to ``now_ms``."""
        prefix = self._tables[1][radio]
        weeks, slot, within = week_position(now_ms, self.utc_offset_s)
        start = prefix[slot]
        return weeks * prefix[SLOTS] + start + (prefix[slot + 1] - start) * within // SLOT_MS

    # --- time since boot -----------------------------------------------------------------

    def boot_ms(self, now_ms: int) -> int:
        """When the device last booted, as Unix time in ms, seen from ``now_ms``."""
        scheduled = now_ms - (now_ms - self.reboot_phase_ms) % self.reboot_every_ms
        boots = self._boots
        if not boots:
            return scheduled
        i = bisect_right(boots, now_ms)
        if i == 0:
            return scheduled
        return max(scheduled, boots[i - 1])

    def boot_time(self, now: float) -> float:
        return self.boot_ms(int(now * 1000)) / 1000

    def reboot(self, at: float) -> None:
        """An unscheduled reboot at ``at`` (past or future): uptime and counters restart
        from there. Several may be pending; each takes effect when its time comes."""
        insort(self._boots, int(at * 1000))

    def cancel_reboot(self, at: float) -> None:
        """Forget a reboot added for ``at``, e.g. a power cut's end that was moved."""
        with contextlib.suppress(ValueError):
            self._boots.remove(int(at * 1000))

    # --- fault conditions ----------------------------------------------------------------

    def set_condition(self, kind: str, key: str, start: float, end: float) -> None:
        """Show condition ``kind`` (one of :data:`CONDITIONS`) during [start, end); ``key``
        (a fault id) lets the same window be moved or removed later."""
        if kind not in self._raw:
            raise ValueError(f"unknown device condition {kind!r}")
        self._raw[kind][key] = (int(start * 1000), int(end * 1000))
        self._merge(kind)

    def clear_condition(self, kind: str, key: str) -> None:
        self._raw[kind].pop(key, None)
        self._merge(kind)

    def _merge(self, kind: str) -> None:
        merged: list[tuple[int, int]] = []
        for start, end in sorted(self._raw[kind].values()):
            if end <= start:
                continue
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        setattr(self, f"_{kind}", merged)
        if kind == "silent":
            self._base_cache = (-1, [])

    @staticmethod
    def _inside(windows: list[tuple[int, int]], now: float) -> bool:
        now_ms = int(now * 1000)
        return any(start <= now_ms < end for start, end in windows)

    def is_silent(self, now: float) -> bool:
        return bool(self._silent) and self._inside(self._silent, now)

    def is_overloaded(self, now: float) -> bool:
        return bool(self._overload) and self._inside(self._overload, now)

    def is_malformed(self, now: float) -> bool:
        """Whether the MIB should answer wrong types now (see :mod:`simulators.device_mib`)."""
        return bool(self._malformed) and self._inside(self._malformed, now)

    def uptime_cs(self, now: float) -> int:
        """Centiseconds since boot, unwrapped (the MIB wraps it at 2^32 as TimeTicks)."""
        now_ms = int(now * 1000)
        return (now_ms - self.boot_ms(now_ms)) // 10

    def _since_boot(self, radio: int, now: float) -> int:
        now_ms = int(now * 1000)
        boot = self.boot_ms(now_ms)
        cached_boot, bases = self._base_cache
        if cached_boot != boot:
            bases = [self._cumulative(r, boot) for r in range(self.radios)]
            self._base_cache = (boot, bases)
        total = self._cumulative(radio, now_ms) - bases[radio]
        if self._silent:
            total -= self._silenced(radio, boot, now_ms)
        return total

    def _silenced(self, radio: int, boot: int, now_ms: int) -> int:
        """Client bytes a radio did not carry in silent windows since boot. Each window
        keeps a background trickle, so the counter still creeps up and never goes back."""
        cut = 0
        for start, end in self._silent:
            start, end = max(start, boot), min(end, now_ms)
            if end > start:
                carried = self._cumulative(radio, end) - self._cumulative(radio, start)
                cut += max(0, carried - (end - start) * _BACKGROUND_BYTES_PER_MS)
        return cut

    # --- what the MIB shows --------------------------------------------------------------

    def clients(self, radio: int, now: float) -> int:
        count = self._tables[0][radio][week_position(int(now * 1000), self.utc_offset_s)[1]]
        if self._silent or self._overload:
            if self.is_silent(now):
                return 0
            if self.is_overloaded(now):
                # A crowd: well above this radio's usual peak.
                return max(3 * count, round(2 * self.capacity[radio]) + 5)
        return count

    def total_clients(self, now: float) -> int:
        return sum(self.clients(radio, now) for radio in range(self.radios))

    def tx_bytes(self, radio: int, now: float) -> int:
        """Bytes sent to clients on a radio since boot (downstream)."""
        return self._since_boot(radio, now)

    def rx_bytes(self, radio: int, now: float) -> int:
        """Bytes received from clients on a radio since boot (upstream)."""
        return self._since_boot(radio, now) * self.upload_permille // 1000

    def rate_bps(self, radio: int, now: float) -> float:
        """Current downstream rate on a radio: what the counters integrate."""
        if self._silent and self.is_silent(now):
            return float(BACKGROUND_RATE_BPS)
        prefix = self._tables[1][radio]
        slot = week_position(int(now * 1000), self.utc_offset_s)[1]
        return (prefix[slot + 1] - prefix[slot]) * 8 / (SLOT_MS / 1000)

    def rx_errors(self, radio: int, now: float) -> int:
        return self.rx_bytes(radio, now) // 3_000_000

    def cpu_load(self, now: float) -> int:
        slot = week_position(int(now * 1000), self.utc_offset_s)[1]
        jitter = (slot * 2_654_435_761 + len(self.seed)) % 5
        if self._overload and self.is_overloaded(now):
            return OVERLOAD_CPU + (jitter + int(now)) % 5
        if self._silent and self.is_silent(now):
            return self.cpu_base + jitter
        mbps = sum(self.rate_bps(radio, now) for radio in range(self.radios)) / 1e6
        return min(100, self.cpu_base + int(mbps * 2.5) + jitter)

    # --- derived quantities: memory, sessions, leases, link quality ----------------------
    # Seeded from streams of their own (see the module docstring); constant within a
    # 15-minute slot unless a fault condition starts or ends.

    @cached_property
    def _extras(self) -> tuple[int, int, int, int, int, int]:
        """(memory base per mille, hotspot share per mille, noise floor dBm, signal dBm,
        CCQ base %, jitter salt)."""
        rng = random.Random(f"extras:{self.seed}")
        return (
            rng.randint(250, 400),
            rng.randint(600, 900),
            rng.randint(-97, -93),
            rng.randint(-68, -52),
            rng.randint(90, 98),
            rng.getrandbits(30),
        )

    def _jitter(self, now: float, label: int, span: int) -> int:
        """0..span-1, fixed per (device, 15-minute slot, label)."""
        slot = int(now // (SLOT_MS // 1000))
        return (slot * 2_654_435_761 + label * 40_503 + self._extras[5]) % 4_294_967_291 % span

    def _load_mbps(self, now: float) -> float:
        return sum(self.rate_bps(radio, now) for radio in range(self.radios)) / 1e6

    def mem_used_permille(self, now: float) -> int:
        """RAM in use by processes, per mille: a base, plus what clients and traffic take
        (connection tracking, buffers), near full under an ``overload`` condition."""
        if self._overload and self.is_overloaded(now):
            return OVERLOAD_MEMORY_PERMILLE + self._jitter(now, 1, 60)
        base = self._extras[0]
        if self._silent and self.is_silent(now):
            return base
        load = 8 * self.total_clients(now) + int(12 * self._load_mbps(now))
        return base + min(350, load) + self._jitter(now, 2, 15)

    def mem_used_pct(self, now: float) -> float:
        return self.mem_used_permille(now) / 10

    def memory(
        self, now: float, total: int, *, buffers_permille: int = 0, cached_permille: int = 0
    ) -> Memory:
        """``total`` bytes of RAM split at ``now``; caches shrink when processes need room."""
        used = total * self.mem_used_permille(now) // 1000 // PAGE * PAGE
        buffers = min(total * buffers_permille // 1000 // PAGE * PAGE, total - used)
        cached = min(total * cached_permille // 1000 // PAGE * PAGE, total - used - buffers)
        return Memory(total, used, buffers, cached)

    def load_average(self, now: float) -> tuple[float, float, float]:
        """1/5/15-minute load averages as a single-core Linux AP shows them."""
        load = self.cpu_load(now) / 100
        return load, load * 0.8, load * 0.7

    def dhcp_leases(self, now: float) -> int:
        """Leases outlive associations: the most clients seen over the last hour."""
        step = SLOT_MS / 1000
        return max(self.total_clients(now - k * step) for k in range(LEASE_SLOTS))

    def hotspot_sessions(self, now: float) -> int:
        """Hotspot sessions: most, not all, associated clients have logged in. The one
        count RouterOS's CLI prints and its SNMP hotspot table has rows for."""
        return self.total_clients(now) * self._extras[1] // 1000

    def sessions(self, now: float) -> tuple[Session, ...]:
        """The hotspot sessions at ``now``, ordered by id; cached, as a walk of the table
        asks for them once per cell."""
        count = self.hotspot_sessions(now)
        slot = int(now // (SLOT_MS // 1000))
        boot = self.boot_ms(int(now * 1000))
        key = (slot, count, boot)
        cached_key, cached = self._session_cache
        if cached_key == key:
            return cached
        slot_start = slot * SLOT_MS / 1000
        out = []
        for n in range(count):
            d = hashlib.blake2b(f"{self.seed}:hotspot:{slot}:{n}".encode(), digest_size=12).digest()
            login = max(boot / 1000, slot_start - int.from_bytes(d[8:10], "big") % 3600)
            user = f"guest-{int.from_bytes(d[:2], 'big') % 10_000:04d}"
            out.append(
                Session(
                    id=(slot % (1 << 20)) * SESSION_ID_SPAN + n + 1,
                    user=user,
                    address=(HOTSPOT_POOL + n).to_bytes(4, "big"),
                    mac=client_mac(user, d[2:8]),
                    login=login,
                    share_permille=500 + d[10] * 4,
                )
            )
        sessions = tuple(out)
        self._session_cache = (key, sessions)
        return sessions

    def session_bytes(self, session: Session, now: float) -> tuple[int, int]:
        """(bytes from the user, bytes to the user) since its login: its share of the AP's
        current downstream rate over its session time."""
        count = max(1, self.hotspot_sessions(now))
        per_session = sum(self.rate_bps(r, now) for r in range(self.radios)) / 8 / count
        down = int(per_session * max(0.0, now - session.login) * session.share_permille / 1000)
        return down * self.upload_permille // 1000, down

    def session_packets(self, session: Session, now: float) -> tuple[int, int]:
        """(packets from the user, packets to the user): the byte counts over typical
        packet sizes, so the SNMP table and RADIUS accounting agree."""
        up, down = self.session_bytes(session, now)
        return up // BYTES_PER_PACKET_IN, down // BYTES_PER_PACKET_OUT

    # Radio link quality, as airOS shows it: worse with more stations and more airtime.

    def noise_dbm(self, radio: int, now: float) -> int:
        busy = self.rate_bps(radio, now) / MAX_AP_RATE_BPS
        overload = 4 if self._overload and self.is_overloaded(now) else 0
        return self._extras[2] + round(3 * busy) + overload + self._jitter(now, 10 + radio, 2)

    def signal_dbm(self, radio: int, now: float) -> int:
        """Average signal of the associated stations: more of them, more far-away ones."""
        far = min(6, self.clients(radio, now) // 4)
        return self._extras[3] - far + self._jitter(now, 20 + radio, 5) - 2

    def ccq_pct(self, radio: int, now: float) -> int:
        """Client connection quality: retries grow with airtime and station count."""
        busy = self.rate_bps(radio, now) / MAX_AP_RATE_BPS
        loss = round(25 * busy) + min(15, self.clients(radio, now) // 2)
        if self._overload and self.is_overloaded(now):
            loss += 35
        return max(20, min(100, self._extras[4] - loss + self._jitter(now, 30 + radio, 5) - 2))

    def tx_rate_kbps(self, radio: int, now: float) -> int:
        return PHY_RATE_KBPS * self.ccq_pct(radio, now) // 100 // 1000 * 1000

    def rx_rate_kbps(self, radio: int, now: float) -> int:
        return self.tx_rate_kbps(radio, now) * 9 // 10 // 1000 * 1000
