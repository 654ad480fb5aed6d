"""One poll of one AP: ask, then normalise into the shared metric vocabulary.

A poll is usually one GETBULK: sysUpTime as a non-repeater and the IF-MIB and vendor
client columns as repeaters, walked in lock-step. Anything the device lacks or answers
wrongly makes that metric absent and counts an error; only a device that does not answer
at all fails the poll.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from citywifi.errors import PollError
from collector import profiles
from collector.derive import CounterReading, derive_rates
from collector.profiles import Profile
from collector.snmp import Missing, Scraper, SnmpTarget, Value, oid_in

log = logging.getLogger(__name__)

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3"  # a non-repeater asks GETNEXT: answers sysUpTime.0
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
IF_IN_OCTETS = "1.3.6.1.2.1.2.2.1.10"
IF_OUT_OCTETS = "1.3.6.1.2.1.2.2.1.16"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"
ETHERNET_CSMACD = 6
SOFTWARE_LOOPBACK = 24

MAX_REPETITIONS = 10
MAX_BULK_REQUESTS = 16  # bounds a walk of a huge or looping table


@dataclass
class Walk:
    """Scalars and table columns read from one device."""

    scalars: dict[str, Value] = field(default_factory=dict)
    columns: dict[str, dict[str, Value]] = field(default_factory=dict)  # column -> index -> v
    requests: int = 0


async def walk(
    scraper: Scraper,
    target: SnmpTarget,
    scalars: Sequence[str],
    columns: Sequence[str],
    max_repetitions: int = MAX_REPETITIONS,
) -> Walk:
    """Read scalars and whole columns with as few GETBULKs as the device allows.

    Columns are walked in lock-step; a column is done when the device answers an OID
    outside it. Columns still open after a response (more rows than fitted) continue from
    their last OID. Truncated responses simply leave columns open for the next request.
    """
    result = Walk(columns={c: {} for c in columns})
    cursors = {c: c for c in columns}
    pending_scalars = list(scalars)
    while (pending_scalars or cursors) and result.requests < MAX_BULK_REQUESTS:
        open_cols = list(cursors)
        answer = await scraper.bulk(
            target, pending_scalars, [cursors[c] for c in open_cols], max_repetitions
        )
        result.requests += 1
        for prefix, (oid, value) in zip(pending_scalars, answer, strict=False):
            if oid_in(oid, prefix):
                result.scalars[prefix] = value
        rows = answer[len(pending_scalars) :]
        pending_scalars = []
        width = len(open_cols)
        if width == 0:
            break
        finished: set[str] = set()
        for start in range(0, len(rows) - width + 1, width):
            for column, (oid, value) in zip(open_cols, rows[start : start + width], strict=True):
                if column in finished:
                    continue
                if value is Missing.END_OF_MIB_VIEW or not oid_in(oid, column):
                    finished.add(column)
                    continue
                result.columns[column][oid[len(column) + 1 :]] = value
                cursors[column] = oid
        if len(rows) < width:  # an empty answer: nothing more will come
            break
        for column in finished:
            cursors.pop(column, None)
    return result


@dataclass(frozen=True, slots=True)
class PollResult:
    ok: bool
    fields: dict[str, float]
    profile: str
    reading: CounterReading | None = None
    errors: int = 0  # metrics absent because the device answered wrongly
    error: str | None = None  # why the poll failed
    sys_descr: str | None = None


def _as_int(value: Value | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Value | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


async def detect_profile(scraper: Scraper, target: SnmpTarget) -> tuple[Profile, str]:
    answer = dict(await scraper.get(target, [SYS_OBJECT_ID, SYS_DESCR]))
    descr = _text(answer.get(SYS_DESCR))
    return profiles.detect(_text(answer.get(SYS_OBJECT_ID)), descr), descr


def _uplink(if_types: dict[str, Value], counters: dict[str, Value]) -> str | None:
    """The uplink: the first Ethernet interface, else the first non-loopback with counters."""
    ethernet = sorted((int(i) for i, t in if_types.items() if t == ETHERNET_CSMACD), key=int)
    if ethernet:
        return str(ethernet[0])
    others = sorted(
        (int(i) for i in counters if if_types.get(i) != SOFTWARE_LOOPBACK and i.isdigit()),
    )
    return str(others[0]) if others else None


async def poll_ap(
    scraper: Scraper,
    target: SnmpTarget,
    profile: Profile | None,
    previous: CounterReading | None,
) -> PollResult:
    """Poll once; ``profile`` None means detect it first (``auto``)."""
    started = time.monotonic()
    errors = 0
    descr: str | None = None
    try:
        if profile is None:
            profile, descr = await detect_profile(scraper, target)
        got = await walk(
            scraper,
            target,
            [SYS_UPTIME],
            [IF_TYPE, IF_HIGH_SPEED, IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS, *profile.client_columns],
        )
        width = 64
        rx_col, tx_col, speed_col, speed_scale = (
            IF_HC_IN_OCTETS,
            IF_HC_OUT_OCTETS,
            IF_HIGH_SPEED,
            1_000_000,
        )
        if not got.columns[IF_HC_IN_OCTETS]:  # no ifXTable: 32-bit counters only
            fallback = await walk(scraper, target, [], [IF_SPEED, IF_IN_OCTETS, IF_OUT_OCTETS])
            got.columns.update(fallback.columns)
            width, rx_col, tx_col, speed_col, speed_scale = (
                32,
                IF_IN_OCTETS,
                IF_OUT_OCTETS,
                IF_SPEED,
                1,
            )
    except PollError as exc:
        return PollResult(
            False, {"reachable": 0.0}, profile.name if profile else "auto", None, 0, str(exc), descr
        )
    now = time.time()
    rtt_ms = (time.monotonic() - started) * 1000.0
    fields: dict[str, float] = {"reachable": 1.0, "poll_rtt_ms": round(rtt_ms, 3)}

    uptime_ticks = _as_int(got.scalars.get(SYS_UPTIME))
    if uptime_ticks is None:
        errors += SYS_UPTIME in got.scalars  # answered, but not as TimeTicks
    else:
        fields["uptime_s"] = uptime_ticks / 100.0

    if profile.client_columns:
        counts = [got.columns[c] for c in profile.client_columns]
        values = [_as_int(v) for col in counts for v in col.values()]
        if any(col for col in counts) and all(v is not None for v in values):
            fields["clients"] = float(sum(v for v in values if v is not None))
        else:
            errors += 1

    uplink = _uplink(got.columns[IF_TYPE], got.columns[rx_col])
    rx = _as_int(got.columns[rx_col].get(uplink or ""))
    tx = _as_int(got.columns[tx_col].get(uplink or ""))
    speed = _as_int(got.columns[speed_col].get(uplink or ""))
    errors += (rx is None) + (tx is None)
    if rx is not None:
        fields["rx_bytes"] = float(rx)
    if tx is not None:
        fields["tx_bytes"] = float(tx)
    reading = CounterReading(
        ts=now,
        uptime_ticks=uptime_ticks,
        rx_bytes=rx,
        tx_bytes=tx,
        width=width,
        speed_bps=speed * speed_scale if speed else None,
    )
    rates = derive_rates(previous, reading)
    if rates.rx_bps is not None:
        fields["rx_bps"] = rates.rx_bps
    if rates.tx_bps is not None:
        fields["tx_bps"] = rates.tx_bps
    if rates.rebooted:
        log.info("%s:%s rebooted (sysUpTime went back)", target.host, target.port)
    return PollResult(True, fields, profile.name, reading, errors, None, descr)
