"""The simulated city's past, as the collector would have written it, one row at a time.

Dashboards, partner reports and benchmarks need weeks of history, and waiting a month for
the collector to gather it is not an option. Every simulated value is a pure function of
(seed, time) (see :mod:`simulators.device`), so the past can be computed instead: for each
poll instant and AP this module yields the sample a collector polling every ``step_s``
seconds would have stored — same measurement, same identity tags, same fields with the same
meaning — plus one tag, ``source=simulated``, which is the only way to tell it apart.

How each field is made, and why that way:

- ``rx_bytes``/``tx_bytes`` and ``uptime_s`` are *read from the AP's own MIB view* at that
  instant (the uplink's ifHCIn/OutOctets, or ifIn/OutOctets already wrapped at 2^32 on a
  device without ifXTable; sysUpTime as TimeTicks). So the formula that derives uplink
  counters from the radios lives in one place, :mod:`simulators.device_mib`, and whatever a
  vendor profile changes there (32-bit-only counters, a different uplink) shows up here.
  The uplink is chosen by the collector's documented rule (docs/metrics.md).
- ``clients`` is the device's total, present only for vendors whose MIB carries a client
  count (a vendor table column or cell fed by clients); a metric a vendor lacks is absent,
  never a made-up zero.
- ``rx_bps``/``tx_bps`` follow the collector's rules (docs/metrics.md): none on the first
  row, none across a reboot, a Counter32 that went back wrapped once, a Counter64 that went
  back was reset (none), none above the interface speed. The simulator may not import the
  collector, so these few lines restate the documented rules; the reboot test uses the
  device's true boot time rather than guessing it from sysUpTime.
- ``poll_rtt_ms`` and a small share of unreachable polls (``reachable=0`` and nothing else,
  the previous reading kept for the next rate, as the collector does) come from a
  counter-based hash of (seed, AP, time): no random state to step through, so any window of
  the past gives the same rows for the same instants.

Poll instants lie on a grid of whole multiples of ``step_s`` since the epoch, so two runs
with different ``end`` times agree wherever they overlap, and writing the past twice into a
store rewrites the same (series, time) points with the same values (idempotent).

Rows come out time-major (every AP for one instant, then the next instant), like the
collector's poll cycles, from a generator: memory stays at one row per AP of state however
long the window is.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from simulators import ber
from simulators.ber import Oid
from simulators.city import City, SimAp, Site
from simulators.device_mib import IF_ENTRY, IFX_ENTRY, SYSTEM
from simulators.vendors import VendorProfile
from timeseries.vocabulary import AP_MEASUREMENT, AP_TAGS

SOURCE_TAG = "source"
SOURCE_SIMULATED = "simulated"

DEFAULT_UNREACHABLE_SHARE = 0.002
"""Share of past polls that got no answer (about 1.5 h per AP and month): enough that
availability panels and SLA reports show something other than a flat 100 %."""
OUTAGE_BLOCK_S = 1800
"""Unreachable polls come in whole blocks of this length: a dead AP stays dead for a while,
it does not miss single polls at random."""
RTT_MIN_MS = 2.0
RTT_SPREAD_MS = 13.0  # poll_rtt_ms lies in [2, 15) ms, skewed towards the low end

ETHERNET_CSMACD = 6
SOFTWARE_LOOPBACK = 24
COUNTER32_WRAP = 1 << 32
_MASK64 = (1 << 64) - 1
_RTT_SALT = 0x5EED_0F_0A11


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One past poll of one AP: exactly what the collector would have put in a Sample.

    ``tags`` is shared by every row of the same AP (read-only)."""

    measurement: str
    tags: Mapping[str, str]
    fields: dict[str, float]
    ts: float


@dataclass(slots=True)
class _Reading:
    """The last answered poll of an AP, as the collector keeps it for the next rate."""

    ts: float
    boot_ms: int
    rx: int | None
    tx: int | None


def _mix(x: int) -> int:
    """SplitMix64's finaliser: a cheap, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _unit(x: int) -> float:
    """A hash as a float in [0, 1)."""
    return (x >> 11) * (1.0 / (1 << 53))


def _int_value(tlv: bytes) -> int | None:
    """The integer in a value TLV from a MIB view, or None for anything else (an exception
    like noSuchObject, a string): then the collector would have no value either."""
    if len(tlv) < 3 or tlv[1] != len(tlv) - 2:
        return None
    try:
        value = ber.decode_value(tlv[0], tlv[2:]).value
    except ber.BerError:
        return None
    return value if isinstance(value, int) else None


def _tlv(oid: Oid) -> bytes:
    return ber.encode_oid(oid)


def has_client_count(vendor: VendorProfile) -> bool:
    """Whether the vendor's MIB carries a client count the collector can read over SNMP."""
    return any(c.source == "clients" for t in vendor.radio_tables for c in t.columns) or any(
        c.source == "clients_total" for c in vendor.cells
    )


def profile_name(ap: SimAp) -> str:
    """The default ``profile`` tag: the collector's profiles are named after the vendors
    the simulator imitates (mikrotik, unifi, ...). Only the collector truly knows what it
    would detect, and the simulator may not ask it, so :func:`history_rows` takes the
    product's answer as ``profile_of`` when its caller has it (citywifi.history does)."""
    return ap.vendor.name


class _ApPast:
    """Everything about one AP that does not change from poll to poll, worked out once."""

    __slots__ = (
        "ap",
        "clients",
        "key",
        "last",
        "rx_tlv",
        "speed_bps",
        "tags",
        "tx_tlv",
        "uptime_tlv",
        "width",
    )

    def __init__(self, ap: SimAp, tags: Mapping[str, str], seed: int, now: float) -> None:
        self.ap = ap
        self.tags = tags
        digest = hashlib.blake2b(f"history:{seed}:{ap.id}".encode(), digest_size=8).digest()
        self.key = int.from_bytes(digest, "big")
        self.clients = has_client_count(ap.vendor)
        self.uptime_tlv = _tlv((*SYSTEM, 3, 0))
        self.last: _Reading | None = None
        mib = ap.mib
        oids = mib.oids
        if_types = {
            oid[-1]: _int_value(mib.get(_tlv(oid), now))
            for oid in oids
            if oid[:-1] == (*IF_ENTRY, 3) and len(oid) == len(IF_ENTRY) + 2
        }
        hc = any(oid[:-1] == (*IFX_ENTRY, 6) for oid in oids)
        self.width = 64 if hc else 32
        rx_col, tx_col = (
            ((*IFX_ENTRY, 6), (*IFX_ENTRY, 10)) if hc else ((*IF_ENTRY, 10), (*IF_ENTRY, 16))
        )
        counter_rows = {oid[-1] for oid in oids if oid[:-1] == rx_col}
        uplink = _uplink(if_types, counter_rows)
        self.rx_tlv = _tlv((*rx_col, uplink)) if uplink is not None else None
        self.tx_tlv = _tlv((*tx_col, uplink)) if uplink is not None else None
        speed: int | None = None
        if uplink is not None:
            speed_oid, scale = ((*IFX_ENTRY, 15), 1_000_000) if hc else ((*IF_ENTRY, 5), 1)
            raw = _int_value(mib.get(_tlv((*speed_oid, uplink)), now))
            speed = raw * scale if raw else None
        self.speed_bps = speed


def _uplink(if_types: dict[int, int | None], counter_rows: set[int]) -> int | None:
    """The collector's uplink rule: the first Ethernet interface, else the first
    non-loopback interface that has counters."""
    ethernet = sorted(i for i, t in if_types.items() if t == ETHERNET_CSMACD)
    if ethernet:
        return ethernet[0]
    others = sorted(i for i in counter_rows if if_types.get(i) != SOFTWARE_LOOPBACK)
    return others[0] if others else None


def _delta(prev: int | None, cur: int | None, width: int) -> int | None:
    if prev is None or cur is None:
        return None
    if cur >= prev:
        return cur - prev
    return cur + COUNTER32_WRAP - prev if width == 32 else None  # 64-bit going back: a reset


def _rate(delta: int | None, elapsed_s: float, speed_bps: int | None) -> float | None:
    if delta is None or elapsed_s <= 0:
        return None
    bps = delta * 8.0 / elapsed_s
    return None if speed_bps and bps > speed_bps else bps


def poll_times(start: float, end: float, step_s: float) -> range:
    """Poll instants in [start, end), in whole milliseconds, on the grid of multiples of
    ``step_s`` since the epoch (so overlapping windows share their instants)."""
    if not all(math.isfinite(x) for x in (start, end, step_s)):
        raise ValueError(f"history window must be finite: {start=}, {end=}, {step_s=}")
    step_ms = round(step_s * 1000)
    if step_ms < 1000:
        raise ValueError(f"history step must be at least 1 s, got {step_s!r}")
    first = -(-math.ceil(start * 1000) // step_ms) * step_ms
    return range(first, math.ceil(end * 1000), step_ms)


def _tags(ap: SimAp, site: Site, profile: str) -> Mapping[str, str]:
    """The identity tags the collector writes for the AP (the ids the city's inventory
    gives it), in the vocabulary's order, then ``source=simulated``."""
    values = {
        "ap": ap.id,
        "site": site.id,
        "district": site.district or "",
        "partner": site.partner or "",
        "profile": profile,
    }
    return MappingProxyType({**{tag: values[tag] for tag in AP_TAGS}, SOURCE_TAG: SOURCE_SIMULATED})


def history_rows(
    city: City,
    start: float,
    end: float,
    step_s: float,
    *,
    unreachable_share: float = DEFAULT_UNREACHABLE_SHARE,
    profile_of: Callable[[SimAp], str] = profile_name,
) -> Iterator[HistoryRow]:
    """Every AP's past poll samples in [start, end), one poll every ``step_s`` seconds.

    Deterministic: the same city (seed) and instants give the same rows. ``unreachable_share``
    is the share of outage blocks in which an AP did not answer (0 for none); ``profile_of``
    names the ``profile`` tag of an AP.
    """
    if not 0.0 <= unreachable_share <= 1.0:
        raise ValueError(f"unreachable_share must be within [0, 1], got {unreachable_share!r}")
    times = poll_times(start, end, step_s)
    if not times:
        return
    sites = {site.id: site for site in city.sites}
    first_s = times[0] / 1000
    aps = [
        _ApPast(ap, _tags(ap, sites[ap.site], profile_of(ap)), city.seed, first_s)
        for ap in city.aps
    ]
    threshold = unreachable_share * (1 << 64)
    block_ms = OUTAGE_BLOCK_S * 1000
    for ts_ms in times:
        now = ts_ms / 1000
        block = ts_ms // block_ms
        for past in aps:
            if threshold and _mix(past.key ^ block) < threshold:
                yield HistoryRow(AP_MEASUREMENT, past.tags, {"reachable": 0.0}, now)
                continue
            yield _answered(past, now, ts_ms)


def _answered(past: _ApPast, now: float, ts_ms: int) -> HistoryRow:
    """The row of a poll the AP answered, and the reading kept for the next one."""
    ap = past.ap
    mib = ap.mib
    device = ap.device
    rtt = RTT_MIN_MS + RTT_SPREAD_MS * _unit(_mix(past.key ^ _RTT_SALT ^ ts_ms)) ** 2
    fields: dict[str, float] = {"reachable": 1.0, "poll_rtt_ms": round(rtt, 3)}
    ticks = _int_value(mib.get(past.uptime_tlv, now))
    if ticks is not None:
        fields["uptime_s"] = ticks / 100.0
    if past.clients:
        fields["clients"] = float(device.total_clients(now))
    rx = _int_value(mib.get(past.rx_tlv, now)) if past.rx_tlv is not None else None
    tx = _int_value(mib.get(past.tx_tlv, now)) if past.tx_tlv is not None else None
    if rx is not None:
        fields["rx_bytes"] = float(rx)
    if tx is not None:
        fields["tx_bytes"] = float(tx)
    boot_ms = device.boot_ms(ts_ms)
    prev = past.last
    if prev is not None and prev.boot_ms == boot_ms:
        elapsed = now - prev.ts
        rx_bps = _rate(_delta(prev.rx, rx, past.width), elapsed, past.speed_bps)
        tx_bps = _rate(_delta(prev.tx, tx, past.width), elapsed, past.speed_bps)
        if rx_bps is not None:
            fields["rx_bps"] = rx_bps
            fields["rx_bytes_delta"] = rx_bps * elapsed / 8.0
        if tx_bps is not None:
            fields["tx_bps"] = tx_bps
            fields["tx_bytes_delta"] = tx_bps * elapsed / 8.0
    past.last = _Reading(now, boot_ms, rx, tx)
    return HistoryRow(AP_MEASUREMENT, past.tags, fields, now)


def count_rows(city: City, start: float, end: float, step_s: float) -> int:
    """How many rows :func:`history_rows` yields for the window (for progress and sizing)."""
    return len(city.aps) * len(poll_times(start, end, step_s))
