"""One poll of one AP: ask, then normalise into the shared metric vocabulary.

A poll is usually one GETBULK: sysUpTime and the profile's scalars as non-repeaters, the
IF-MIB columns and every column the profile's metrics read as repeaters, walked in
lock-step. What to ask is the profile's precomputed :class:`~collector.profiles.Plan`;
how to turn the answer into fields is the small interpreter below, the same for every
vendor. Anything the device lacks or answers wrongly makes that metric absent and counts
an error (unless the profile marks its source optional); only a device that does not
answer at all fails the poll.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from collector import profiles
from collector.derive import CounterReading, derive_rates
from collector.profiles import (
    BAND_RANGES,
    COUNTERS_32,
    IF_DESCR,
    IF_HC_IN_OCTETS,
    IF_TYPE,
    RATE_SIDES,
    SYS_UPTIME,
    Bands,
    ColumnSpec,
    Counters,
    PercentSpec,
    Profile,
    RowFilter,
    ScalarSpec,
    Spec,
    scalar_object,
)
from collector.snmp import Missing, Scraper, SnmpTarget, Value, oid_in
from core.errors import PollError
from core.states import PollCause

log = logging.getLogger(__name__)

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
ETHERNET_CSMACD = 6
SOFTWARE_LOOPBACK = 24

MAX_REPETITIONS = 10
# Varbinds asked for when continuing the columns still open after the first answer (a
# long session table): few columns, so more rows each and fewer round-trips.
CONTINUE_VARBINDS = 120
MAX_BULK_REQUESTS = 16  # bounds a walk of a huge or looping table
# A remembered layout is re-walked after this many polls, so new interfaces show up.
LAYOUT_REFRESH_POLLS = 30
GET_CHUNK = 60  # OIDs per GET when reading a layout: answers stay a few KB
WRAP32 = 2**32


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
    their last OID, with more repetitions when fewer columns remain open. Truncated
    responses simply leave columns open for the next request.
    """
    result = Walk(columns={c: {} for c in columns})
    cursors = {c: c for c in columns}
    pending_scalars = list(scalars)
    repetitions = max_repetitions
    while (pending_scalars or cursors) and result.requests < MAX_BULK_REQUESTS:
        open_cols = list(cursors)
        answer = await scraper.bulk(
            target, pending_scalars, [cursors[c] for c in open_cols], repetitions
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
        if cursors:
            repetitions = max(max_repetitions, CONTINUE_VARBINDS // len(cursors))
    return result


@dataclass(frozen=True, slots=True)
class Layout:
    """Where one AP's static table rows were at its last walk.

    Knowing them, the next polls GET exactly those cells instead of walking: pysnmp's
    cost is per varbind decoded, and a walk over-fetches (it asks ten rows of every column
    to learn where short tables end). Rows that come and go (sessions) are still walked.
    """

    profile: str
    counters: Counters
    cells: tuple[tuple[str, str], ...]  # (column, index) of every static cell
    polls_left: int


def _layout_of(profile: Profile, counters: Counters, got: Walk) -> Layout:
    dynamic = set(profile.plan.dynamic_columns)
    cells = tuple(
        (column, index)
        for column, rows in got.columns.items()
        if column not in dynamic
        for index in rows
    )
    return Layout(profile.name, counters, cells, LAYOUT_REFRESH_POLLS)


async def _read_layout(
    scraper: Scraper, target: SnmpTarget, profile: Profile, layout: Layout
) -> Walk | None:
    """The cells a layout names, by GET; None when a row has vanished (walk again)."""
    plan = profile.plan
    oids = [f"{s}.0" for s in plan.scalars] + [f"{c}.{i}" for c, i in layout.cells]
    answer: list[tuple[str, Value]] = []
    result = Walk(columns={c: {} for c in (*plan.columns, *plan.fallback_columns)})
    for start in range(0, len(oids), GET_CHUNK):
        answer.extend(await scraper.get(target, oids[start : start + GET_CHUNK]))
        result.requests += 1
    n = len(plan.scalars)
    for prefix, (_oid, value) in zip(plan.scalars, answer[:n], strict=True):
        if not isinstance(value, Missing):
            result.scalars[prefix] = value
    for (column, index), (_oid, value) in zip(layout.cells, answer[n:], strict=True):
        if isinstance(value, Missing):
            return None
        result.columns[column][index] = value
    if plan.dynamic_columns:
        rows = await walk(scraper, target, [], plan.dynamic_columns)
        result.columns.update(rows.columns)
        result.requests += rows.requests
    return result


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll's outcome. ``cause`` is why it ended so, as data: ``answered`` exactly
    when ``ok``, else the failure's typed cause (timeout, refused, ...), which callers
    count and store without ever reading ``error``, the text for people."""

    ok: bool
    fields: dict[str, float]
    profile: str
    reading: CounterReading | None = None
    errors: int = 0  # metrics absent because the device answered wrongly
    error: str | None = None  # why the poll failed
    sys_descr: str | None = None
    layout: Layout | None = None  # pass it to the next poll of the same AP
    cause: PollCause = PollCause.ANSWERED

    def __post_init__(self) -> None:
        if self.ok != (self.cause is PollCause.ANSWERED):
            raise ValueError(f"a poll with ok={self.ok} cannot have cause {self.cause}")


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


# --- the interpreter: profile specs → fields ----------------------------------------------


class Absent(enum.Enum):
    """Why a metric cannot be given; :attr:`counts` says whether the poll counts it as an
    error. A value, not an exception: the interpreter runs for every metric of every poll,
    and absence is its ordinary outcome, not a failure to unwind from."""

    WRONG = "wrong"  # answered, but not as the spec needs (wrong type, zero size)
    EXPECTED = "expected"  # not answered, and the profile expects it
    OPTIONAL = "optional"  # not answered, and the profile says it may not be

    @property
    def counts(self) -> bool:
        return self is not Absent.OPTIONAL


def _missing(spec: Spec) -> Absent:
    return Absent.OPTIONAL if spec.if_missing == "absent" else Absent.EXPECTED


def _same(value: Value, wanted: str | int) -> bool:
    if isinstance(wanted, int):
        return _as_int(value) == wanted
    if isinstance(value, str):  # an OID value: compare without a leading dot
        return value.lstrip(".") == wanted.lstrip(".")
    return _text(value) == wanted


def _kept_rows(where: RowFilter | None, got: Walk) -> set[str] | None:
    if where is None:
        return None
    return {i for i, v in got.columns[where.column].items() if _same(v, where.equals)}


def _ints(values: Sequence[Value]) -> list[int] | None:
    """The values as integers; None if any is not one."""
    out: list[int] = []
    for value in values:
        number = _as_int(value)
        if number is None:
            return None
        out.append(number)
    return out


def _band(value: Value | None, bands: Bands) -> str | None:
    number = _as_int(value)
    if number is None:
        return bands.labels.get(_text(value))
    for low, high, band in BAND_RANGES:
        if low <= number < high:
            return band
    return None


def _per_band(spec: ColumnSpec, rows: list[tuple[str, Value]], got: Walk) -> dict[str, float]:
    """Sums per band, when the device says the band of every row (else none at all: a
    split that misses rows would not add up to the total)."""
    bands = spec.bands
    if bands is None or spec.reduce != "sum":
        return {}
    labels = got.columns[bands.column]
    totals: dict[str, float] = {}
    for index, value in rows:
        band = _band(labels.get(index), bands)
        if band is None:
            return {}
        metric = bands.metrics.get(band)
        if metric is not None:
            number = _as_int(value) or 0  # checked by the caller
            totals[metric] = totals.get(metric, 0.0) + spec.offset + spec.scale * number
    return totals


def _column(spec: ColumnSpec, got: Walk, out: dict[str, float]) -> int | float | Absent:
    keep = _kept_rows(spec.where, got)
    rows = [
        (index, value)
        for column in spec.columns
        for index, value in got.columns[column].items()
        if keep is None or index in keep
    ]
    if spec.reduce in ("count_rows", "count_distinct"):
        first = got.columns[spec.columns[0]]
        cells = [v for i, v in first.items() if keep is None or i in keep]
        if not cells and spec.if_missing != "zero":
            return _missing(spec)
        count = len(cells) if spec.reduce == "count_rows" else len(set(cells))
        return spec.offset + spec.scale * count
    if not rows:
        return _missing(spec)
    numbers = _ints([v for _i, v in rows])
    if numbers is None:
        return Absent.WRONG
    reduced: int | float
    if spec.reduce == "sum":
        reduced = sum(numbers)
    elif spec.reduce == "mean":
        reduced = sum(numbers) / len(numbers)
    elif spec.reduce == "max":
        reduced = max(numbers)
    else:
        reduced = min(numbers)
    out.update(_per_band(spec, rows, got))
    if spec.scale == 1.0 and spec.offset == 0.0:
        return reduced  # exact: a Counter64 sum stays an int
    return spec.offset + spec.scale * reduced


def _scalar(spec: ScalarSpec, got: Walk) -> float | Absent:
    value = got.scalars.get(scalar_object(spec.oid))
    if value is None or isinstance(value, Missing):
        return _missing(spec)
    number = _as_int(value)
    if number is None:
        return Absent.WRONG
    return spec.offset + spec.scale * number


def _percent(spec: PercentSpec, got: Walk) -> float | Absent:
    if spec.over == "scalars":
        raw = [got.scalars.get(scalar_object(o)) for o in (*spec.part, *spec.whole)]
        answered = [v for v in raw if v is not None and not isinstance(v, Missing)]
        if not answered:
            return _missing(spec)
        if len(answered) < len(raw):
            return Absent.WRONG  # some of the parts only: a wrong number is worse than none
        numbers = _ints(answered)
        if numbers is None:
            return Absent.WRONG
        part, whole = sum(numbers[: len(spec.part)]), sum(numbers[len(spec.part) :])
    else:
        columns = [got.columns[o] for o in (*spec.part, *spec.whole)]
        keep = _kept_rows(spec.where, got)
        indexes = set(columns[0]).intersection(*columns[1:])
        if keep is not None:
            indexes &= keep
        if not indexes:
            return _missing(spec)
        parts = _ints([c[i] for c in columns[: len(spec.part)] for i in indexes])
        wholes = _ints([c[i] for c in columns[len(spec.part) :] for i in indexes])
        if parts is None or wholes is None:
            return Absent.WRONG
        part, whole = sum(parts), sum(wholes)
    if whole <= 0:
        return Absent.WRONG
    pct = 100.0 * part / whole
    return round(100.0 - pct if spec.complement else pct, 2)


def _metrics(
    specs: Mapping[str, Spec], got: Walk, fields: dict[str, float]
) -> tuple[dict[str, int], int]:
    """Evaluate every spec into ``fields``; returns the exact values of byte counters
    (for rates) and how many metrics counted as errors."""
    exact: dict[str, int] = {}
    errors = 0
    for name, spec in specs.items():
        value: int | float | Absent
        if isinstance(spec, ColumnSpec):
            value = _column(spec, got, fields)
            if spec.width is not None and isinstance(value, int):
                exact[name] = value % WRAP32 if spec.width == 32 else value
                value = exact[name]
        elif isinstance(spec, ScalarSpec):
            value = _scalar(spec, got)
        else:
            value = _percent(spec, got)
        if isinstance(value, Absent):
            errors += value.counts
        else:
            fields[name] = float(value)
    return exact, errors


def _interface_side(
    profile: Profile, got: Walk, counters: Counters
) -> tuple[int | None, int | None, float | None]:
    """(rx, tx, speed bit/s) summed over the profile's wireless interfaces. Sums of
    Counter32s are kept modulo 2^32: so taken, they behave as one Counter32."""
    select = profile.wlan_interfaces
    if select is None:
        return None, None, None
    types = got.columns[IF_TYPE]
    rx_col, tx_col = got.columns[counters.rx], got.columns[counters.tx]
    indexes = [i for i in rx_col if not select.if_types or types.get(i) in select.if_types]
    descr_re = profile.plan.descr_re
    if descr_re is not None:
        names = got.columns[IF_DESCR]
        indexes = [i for i in indexes if descr_re.search(_text(names.get(i)))]
    if not indexes:
        return None, None, None
    rx = [_as_int(rx_col.get(i)) for i in indexes]
    tx = [_as_int(tx_col.get(i)) for i in indexes]
    speeds = [_as_int(got.columns[counters.speed].get(i)) for i in indexes]
    modulus = WRAP32 if counters.width == 32 else None

    def total(values: list[int | None]) -> int | None:
        if any(v is None for v in values):
            return None
        s = sum(v for v in values if v is not None)
        return s % modulus if modulus else s

    speed = total(speeds)
    return total(rx), total(tx), speed * counters.speed_scale if speed else None


def _sides(
    profile: Profile,
    got: Walk,
    counters: Counters,
    exact: dict[str, int],
    fields: dict[str, float],
    ts: float,
    uptime_ticks: int | None,
) -> dict[str, CounterReading]:
    """A reading per extra counter pair: from the profile's counter columns if it has
    them, else (the wireless side) from its wireless interfaces."""
    sides: dict[str, CounterReading] = {}
    for side, (rx_name, tx_name, _rx_rate, _tx_rate) in RATE_SIDES.items():
        spec = profile.metrics.get(rx_name)
        if isinstance(spec, ColumnSpec) and spec.width is not None:
            rx, tx, width, speed = exact.get(rx_name), exact.get(tx_name), spec.width, None
        elif side == "wlan":
            rx, tx, speed = _interface_side(profile, got, counters)
            width = counters.width
            if rx is not None:
                fields[rx_name] = float(rx)
            if tx is not None:
                fields[tx_name] = float(tx)
        else:
            continue
        if rx is not None or tx is not None:
            sides[side] = CounterReading(ts, uptime_ticks, rx, tx, width, speed)
    return sides


async def poll_ap(
    scraper: Scraper,
    target: SnmpTarget,
    profile: Profile | None,
    previous: CounterReading | None,
    layout: Layout | None = None,
) -> PollResult:
    """Poll once; ``profile`` None means detect it first (``auto``). ``layout`` is the
    previous result's: with it, static tables are read by GET instead of walked."""
    started = time.monotonic()
    errors = 0
    descr: str | None = None
    try:
        if profile is None:
            profile, descr = await detect_profile(scraper, target)
        plan = profile.plan
        known: Walk | None = None
        if layout is not None and layout.profile == profile.name and layout.polls_left > 0:
            known = await _read_layout(scraper, target, profile, layout)
        if known is not None and layout is not None:
            got, counters = known, layout.counters
            layout = Layout(layout.profile, counters, layout.cells, layout.polls_left - 1)
        else:
            got = await walk(scraper, target, plan.scalars, plan.columns)
            counters = plan.counters
            if counters.width == 64 and not got.columns[IF_HC_IN_OCTETS]:
                # No ifXTable: 32-bit counters only (a profile that knows says "32").
                fallback = await walk(scraper, target, [], plan.fallback_columns)
                got.columns.update(fallback.columns)
                counters = COUNTERS_32
            layout = _layout_of(profile, counters, got)
    except PollError as exc:
        return PollResult(
            False,
            {"reachable": 0.0},
            profile.name if profile else profiles.AUTO,
            error=str(exc),
            sys_descr=descr,
            cause=exc.cause,
        )
    now = time.time()
    rtt_ms = (time.monotonic() - started) * 1000.0
    fields: dict[str, float] = {"reachable": 1.0, "poll_rtt_ms": round(rtt_ms, 3)}

    raw_ticks = got.scalars.get(SYS_UPTIME)
    uptime_ticks = _as_int(raw_ticks)
    if uptime_ticks is None:
        errors += raw_ticks is not None and not isinstance(raw_ticks, Missing)
    else:
        fields["uptime_s"] = uptime_ticks / 100.0

    exact, metric_errors = _metrics(profile.metrics, got, fields)
    errors += metric_errors

    uplink = _uplink(got.columns[IF_TYPE], got.columns[counters.rx])
    rx = _as_int(got.columns[counters.rx].get(uplink or ""))
    tx = _as_int(got.columns[counters.tx].get(uplink or ""))
    speed = _as_int(got.columns[counters.speed].get(uplink or ""))
    errors += (rx is None) + (tx is None)
    if rx is not None:
        fields["rx_bytes"] = float(rx)
    if tx is not None:
        fields["tx_bytes"] = float(tx)
    sides = _sides(profile, got, counters, exact, fields, now, uptime_ticks)
    reading = CounterReading(
        ts=now,
        uptime_ticks=uptime_ticks,
        rx_bytes=rx,
        tx_bytes=tx,
        width=counters.width,
        speed_bps=speed * counters.speed_scale if speed else None,
        sides=sides,
    )
    rates = derive_rates(previous, reading)
    elapsed_s = reading.ts - previous.ts if previous is not None else 0.0
    if rates.rx_bps is not None:
        fields["rx_bps"] = rates.rx_bps
        fields["rx_bytes_delta"] = rates.rx_bps * elapsed_s / 8.0
    if rates.tx_bps is not None:
        fields["tx_bps"] = rates.tx_bps
        fields["tx_bytes_delta"] = rates.tx_bps * elapsed_s / 8.0
    if rates.rebooted:
        log.info("%s:%s rebooted (sysUpTime went back)", target.host, target.port)
        layout = None  # interfaces may be numbered anew after a boot: walk next time
    before = previous.sides if previous is not None else {}
    for side, current in sides.items():
        side_rates = derive_rates(before.get(side), current)
        _rx, _tx, rx_rate, tx_rate = RATE_SIDES[side]
        if side_rates.rx_bps is not None:
            fields[rx_rate] = side_rates.rx_bps
        if side_rates.tx_bps is not None:
            fields[tx_rate] = side_rates.tx_bps
    return PollResult(True, fields, profile.name, reading, errors, None, descr, layout)
