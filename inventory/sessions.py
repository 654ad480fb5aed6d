"""Hotspot sessions from RADIUS accounting: the one writer of ``accounting_sessions``,
and the queries the API reads them with.

The rules (retransmissions count once, Stop without Start, Accounting-On/Off, lost
sessions, cumulative counters that never move back) are in /tmp/team/SPEC12.md and are
this module's to keep; the receiver (``accounting``) only decodes packets into
:class:`AccountingRecord` and hands batches to :func:`apply_records`.
"""

from __future__ import annotations

import enum
import functools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Table,
    TextClause,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from core.access import Scope
from inventory.models import AccountingSession
from inventory.scoping import accounting_conditions
from inventory.userkeys import MonthKeys, hash_value, month_of, normalise_mac


class StatusType(enum.IntEnum):
    """Acct-Status-Type (RFC 2866 5.1, RFC 2869 for Interim-Update)."""

    START = 1
    STOP = 2
    INTERIM_UPDATE = 3
    ACCOUNTING_ON = 7
    ACCOUNTING_OFF = 8


@dataclass(frozen=True, slots=True)
class AccountingRecord:
    """One verified Accounting-Request, matched to its AP.

    ``calling_station`` (the client's MAC) and ``user_name`` are personal data: held in
    memory for the moment it takes to hash them, never in a repr, a log or an error.
    Octets already include the gigawords (``2**32 * gigawords + octets``).
    """

    ap_id: str
    site_id: str
    partner_id: str | None
    status: StatusType
    received_at: float  # when the packet arrived
    event_time: float  # Event-Timestamp when present and sane, else received_at
    session_id: str | None = None  # Acct-Session-Id (None for Accounting-On/Off)
    session_time_s: float | None = None  # Acct-Session-Time
    input_octets: int | None = None
    output_octets: int | None = None
    input_packets: int | None = None
    output_packets: int | None = None
    terminate_cause: str | None = None  # its name, e.g. "User-Request", "Idle-Timeout"
    calling_station: str | None = field(default=None, repr=False)
    user_name: str | None = field(default=None, repr=False)


class Outcome(enum.StrEnum):
    """What a record did; the receiver counts these (metrics) and answers every one
    (a duplicate too: the NAS resent because it missed our answer)."""

    STARTED = "started"  # a new session
    UPDATED = "updated"  # counters of an open session moved on
    STOPPED = "stopped"  # a session closed by its Stop (created from it if unknown)
    DUPLICATE = "duplicate"  # seen before, or older than what is stored: nothing changed
    NAS_RESET = "nas_reset"  # Accounting-On/Off: the AP's open sessions closed


def apply_records(
    session: Session,
    records: Sequence[AccountingRecord],
    *,
    keys: MonthKeys,
    tz: ZoneInfo,
    now: float,
) -> list[Outcome]:
    """Apply a batch in the caller's transaction, in order; one outcome per record.

    Three statements whatever the batch holds (more only past :data:`_PAIRS_PER_QUERY`
    sessions): one SELECT of the batch's sessions (their newest generation) and of the
    open sessions of the APs that sent Accounting-On/Off, then the rules applied in
    memory record by record, then one executemany INSERT of the new sessions and one
    executemany UPDATE of the changed ones. A record with no Acct-Session-Id where one is
    needed changes nothing (DUPLICATE); the receiver drops such packets before.
    ``now`` dates the month keys made on the way.
    """
    batch = _Batch(session, keys=keys, tz=tz, now=now)
    batch.load(records)
    outcomes = [batch.apply(record) for record in records]
    batch.write()
    return outcomes


def close_lost(session: Session, *, now: float, lost_after_s: float) -> int:
    """Close as lost every open session with no packet since ``now - lost_after_s``.

    It stopped when it was last heard of (``stopped_at = updated_at``); its cause stays
    empty (RADIUS's causes are what a NAS says, and this one said nothing). A packet
    for it that comes later still counts: see :meth:`_Batch.apply`.
    """
    table = _TABLE
    result = session.execute(
        update(table)
        .where(table.c.state == OPEN, table.c.updated_at < now - lost_after_s)
        .values(state=LOST, stopped_at=table.c.updated_at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


_TABLE = cast(Table, AccountingSession.__table__)  # Core statements: no ORM per row
OPEN, CLOSED, LOST = "open", "closed", "lost"
#: Who a session's user is: the User-Name's hash, else the device's (a MAC login).
_USER = func.coalesce(_TABLE.c.user_hash, _TABLE.c.station_hash)
#: A session with a final time (closed or lost): the ones a median is taken over.
_ENDED = _TABLE.c.state.in_((CLOSED, LOST))
#: A closed session's id seen again with a start this far from the stored one is a new
#: session (the NAS's counter restarted after a reboot); nearer, a late retransmission.
SAME_START_S = 60.0
_RESET_CAUSES = {StatusType.ACCOUNTING_ON: "NAS-Reboot", StatusType.ACCOUNTING_OFF: "NAS-Request"}
_PAIRS_PER_QUERY = 500  # an OR of 500 terms: within SQLite's expression depth of 1000
# What an update may change; the rest of a row is fixed when it is made.
_CHANGING = (
    "state",
    "updated_at",
    "stopped_at",
    "duration_s",
    "input_octets",
    "output_octets",
    "input_packets",
    "output_packets",
    "terminate_cause",
    "user_hash",
    "station_hash",
)
_COUNTERS = ("input_octets", "output_octets", "input_packets", "output_packets")


@dataclass(slots=True)
class _Row:
    """One session while a batch is applied: as loaded (``id``) or made (``id`` None)."""

    id: int | None
    ap_id: str
    site_id: str
    partner_id: str | None
    nas_session_id: str
    generation: int
    state: str
    started_at: float
    updated_at: float
    stopped_at: float | None
    duration_s: float
    input_octets: int
    output_octets: int
    input_packets: int
    output_packets: int
    terminate_cause: str | None
    key_month: str
    user_hash: str | None
    station_hash: str | None
    dirty: bool = False

    def values(self, names: Iterable[str]) -> dict[str, Any]:
        return {name: getattr(self, name) for name in names}


_ROW_COLUMNS = tuple(name for name in _Row.__dataclass_fields__ if name not in ("id", "dirty"))


@functools.lru_cache(maxsize=32)
def _load_statement(pairs: int, *, with_resets: bool) -> TextClause:
    """The SELECT of :meth:`_Batch.load` for ``pairs`` session ids, made once per size:
    built as SQLAlchemy expressions it cost more than the rest of a batch (0.04 s of
    Python for 500 ids), as text it is one string."""
    terms = [f"(ap_id = :a{i} AND nas_session_id = :s{i})" for i in range(pairs)]
    if with_resets:
        terms.insert(0, f"(ap_id IN :resets AND state = '{OPEN}')")
    columns = ", ".join(("id", *_ROW_COLUMNS))
    statement = text(f"SELECT {columns} FROM {_TABLE.name} WHERE {' OR '.join(terms)}")
    if with_resets:
        statement = statement.bindparams(bindparam("resets", expanding=True))
    return statement


def _padded(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``pairs`` with its last repeated up to the next power of two (at most
    :data:`_PAIRS_PER_QUERY`): a repeated term of an OR matches nothing more."""
    if not pairs:
        return pairs
    size = min(1 << (len(pairs) - 1).bit_length(), _PAIRS_PER_QUERY)
    return pairs + [pairs[-1]] * (size - len(pairs))


def _started(record: AccountingRecord) -> float:
    return record.event_time - (record.session_time_s or 0.0)


def _personal(value: str | None) -> str | None:
    """The form of a MAC or a user name that is hashed (None: nothing to hash). A user
    name that is a MAC (MAC authentication) is spelled like one, so that a device and a
    login of the same phone count as one user."""
    if value is None or not value.strip():
        return None
    return normalise_mac(value) or value.strip()


class _Batch:
    """The sessions one batch touches, in memory, and the rules applied to them."""

    def __init__(self, session: Session, *, keys: MonthKeys, tz: ZoneInfo, now: float) -> None:
        self.session = session
        self.keys = keys
        self.tz = tz
        self.now = now
        self.rows: dict[tuple[str, str], _Row] = {}  # newest generation of each session id
        self.new: list[_Row] = []
        self.month_keys: dict[str, bytes] = {}

    def load(self, records: Sequence[AccountingRecord]) -> None:
        """Read the newest generation of each session id of ``records`` and every open
        session of the APs that reset, in one query per :data:`_PAIRS_PER_QUERY` ids.

        The ids are matched as ``(ap_id = ? AND nas_session_id = ?) OR ...``: measured on a
        million sessions, the one form both engines answer from the unique index (0.003 s
        SQLite, 0.02 s PostgreSQL for 500 ids), where a row-value ``IN`` scans the index
        (0.27 s on SQLite). SQLite caps an expression's depth at 1000, hence the chunks;
        each chunk is padded to one of a few sizes so that SQLAlchemy's statement cache
        keeps a handful of statements, not one per batch size.
        """
        pairs = sorted({(r.ap_id, r.session_id) for r in records if r.session_id is not None})
        resets = sorted({r.ap_id for r in records if r.status in _RESET_CAUSES})
        chunks = [pairs[i : i + _PAIRS_PER_QUERY] for i in range(0, len(pairs), _PAIRS_PER_QUERY)]
        for number, chunk in enumerate(chunks or [[]]):
            with_resets = number == 0 and bool(resets)
            padded = _padded(chunk)
            if not padded and not with_resets:
                continue
            params: dict[str, Any] = {"resets": resets} if with_resets else {}
            for index, (ap_id, session_id) in enumerate(padded):
                params[f"a{index}"], params[f"s{index}"] = ap_id, session_id
            query = _load_statement(len(padded), with_resets=with_resets)
            for found in self.session.execute(query, params):
                row = _Row(*found)
                key = (row.ap_id, row.nas_session_id)
                known = self.rows.get(key)
                if known is None or known.generation < row.generation:
                    self.rows[key] = row

    def apply(self, record: AccountingRecord) -> Outcome:
        """The rules of SPEC12, and two the spec leaves open, decided here:

        - a closed or lost session's id in an Interim or a Stop whose start (event time
          minus session time) is more than :data:`SAME_START_S` from the stored one is a
          new session too, like such a Start (its Start was lost after a NAS reboot);
        - a lost session is only our guess: an Interim that moves it on opens it again,
          a Stop closes it with the NAS's own counters and cause.
        """
        if record.status in _RESET_CAUSES:
            self._reset(record.ap_id, _RESET_CAUSES[record.status])
            return Outcome.NAS_RESET
        if record.session_id is None:
            return Outcome.DUPLICATE
        row = self.rows.get((record.ap_id, record.session_id))
        stop = record.status is StatusType.STOP
        if row is None or (
            row.state != OPEN and abs(_started(record) - row.started_at) > SAME_START_S
        ):
            self._make(record, generation=0 if row is None else row.generation + 1)
            return Outcome.STOPPED if stop else Outcome.STARTED
        if record.status is StatusType.START or row.state == CLOSED:
            return Outcome.DUPLICATE  # the Start of a known session; anything after its Stop
        # An open session, or a lost one the NAS speaks of again (lost is only a guess).
        moved = self._advance(row, record)
        if stop:
            row.state, row.terminate_cause = CLOSED, record.terminate_cause
            row.stopped_at = max(record.event_time, row.updated_at)
            row.dirty = True
            return Outcome.STOPPED
        if not moved:
            return Outcome.DUPLICATE
        row.state, row.stopped_at = OPEN, None
        return Outcome.UPDATED

    def _advance(self, row: _Row, record: AccountingRecord) -> bool:
        """Take the record's cumulative counters unless it is older than what is stored;
        whether anything changed."""
        elapsed = record.session_time_s
        if elapsed is None:  # a NAS that sends no session time: the clock says it
            elapsed = max(row.duration_s, record.event_time - row.started_at)
        if elapsed < row.duration_s:
            return False
        before = row.values(_CHANGING)
        row.duration_s = elapsed
        row.updated_at = max(row.updated_at, record.event_time)
        for name in _COUNTERS:
            value = getattr(record, name)
            if value is not None:
                setattr(row, name, value)
        if row.station_hash is None or row.user_hash is None:
            self._fill_hashes(row, record)
        if row.values(_CHANGING) == before:
            return False
        row.dirty = True
        return True

    def _reset(self, ap_id: str, cause: str) -> None:
        for row in self.rows.values():
            if row.ap_id == ap_id and row.state == OPEN:
                row.state, row.terminate_cause = CLOSED, cause
                row.stopped_at = row.updated_at  # when it was last heard of: all we know
                row.dirty = True

    def _make(self, record: AccountingRecord, *, generation: int) -> None:
        assert record.session_id is not None
        started = _started(record)
        stop = record.status is StatusType.STOP
        row = _Row(
            id=None,
            ap_id=record.ap_id,
            site_id=record.site_id,
            partner_id=record.partner_id,
            nas_session_id=record.session_id,
            generation=generation,
            state=CLOSED if stop else OPEN,
            started_at=started,
            updated_at=record.event_time,
            stopped_at=record.event_time if stop else None,
            duration_s=record.session_time_s or 0.0,
            input_octets=record.input_octets or 0,
            output_octets=record.output_octets or 0,
            input_packets=record.input_packets or 0,
            output_packets=record.output_packets or 0,
            terminate_cause=record.terminate_cause if stop else None,
            key_month=month_of(started, self.tz),
            user_hash=None,
            station_hash=None,
        )
        self._fill_hashes(row, record)
        self.rows[(row.ap_id, row.nas_session_id)] = row
        self.new.append(row)

    def _fill_hashes(self, row: _Row, record: AccountingRecord) -> None:
        """Hash what the record says of the user that the row lacks, with the key of the
        session's month. The clear values end here."""
        station, user = _personal(record.calling_station), _personal(record.user_name)
        if (station is None or row.station_hash is not None) and (
            user is None or row.user_hash is not None
        ):
            return
        key = self.month_keys.get(row.key_month)
        if key is None:
            key = self.keys.key(self.session, row.key_month, now=self.now)
            self.month_keys[row.key_month] = key
        if station is not None and row.station_hash is None:
            row.station_hash = hash_value(key, station)
        if user is not None and row.user_hash is None:
            row.user_hash = hash_value(key, user)

    def write(self) -> None:
        table = _TABLE
        if self.new:
            self.session.execute(table.insert(), [row.values(_ROW_COLUMNS) for row in self.new])
        changed = [
            {"row_id": row.id, **row.values(_CHANGING)}
            for row in self.rows.values()
            if row.dirty and row.id is not None
        ]
        if changed:
            self.session.execute(update(table).where(table.c.id == bindparam("row_id")), changed)


SessionState = Literal["open", "closed", "lost"]


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session as the API shows it (hashes included: the API blanks them by role)."""

    id: int
    ap_id: str
    site_id: str
    partner_id: str | None
    state: SessionState
    started_at: float
    updated_at: float
    stopped_at: float | None
    duration_s: float
    input_octets: int
    output_octets: int
    terminate_cause: str | None
    user_hash: str | None
    station_hash: str | None


def list_sessions(
    session: Session,
    scope: Scope,
    *,
    ap: str | None = None,
    site: str | None = None,
    partner: str | None = None,
    state: SessionState | None = None,
    start: float | None = None,
    end: float | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[SessionView], int]:
    """Sessions overlapping [start, end) in ``scope``, newest start first; (page, count).

    Overlapping: begun before ``end`` and not stopped before ``start`` (an open session
    lasts until now).
    """
    table = _TABLE
    conditions = _filters(scope, ap=ap, site=site, partner=partner)
    if state is not None:
        conditions.append(table.c.state == state)
    if end is not None:
        conditions.append(table.c.started_at < end)
    if start is not None:
        conditions.append(or_(table.c.stopped_at.is_(None), table.c.stopped_at >= start))
    count = session.scalar(select(func.count()).select_from(table).where(*conditions)) or 0
    query = (
        select(table)
        .where(*conditions)
        .order_by(table.c.started_at.desc(), table.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_view(row._mapping) for row in session.execute(query)], int(count)


def starts_per_window(
    session: Session,
    scope: Scope,
    bounds: Sequence[float],
    *,
    partner: str | None = None,
) -> list[int]:
    """How many sessions (in ``scope``, of ``partner`` when given) began in each window
    [bounds[i], bounds[i + 1]): a report's sessions per local day, in one grouped query
    instead of one :func:`summarise` (and its medians) per day."""
    if len(bounds) < 2:
        return []
    table = _TABLE
    window = case(
        *((table.c.started_at < bound, index) for index, bound in enumerate(bounds[1:])),
        else_=-1,
    ).label("window")
    query = (
        select(window, func.count())
        .where(
            *_filters(scope, ap=None, site=None, partner=partner),
            table.c.started_at >= bounds[0],
            table.c.started_at < bounds[-1],
        )
        .group_by(window)
    )
    counts = [0] * (len(bounds) - 1)
    for index, count in session.execute(query):
        if 0 <= index < len(counts):
            counts[index] = int(count)
    return counts


def _filters(
    scope: Scope, *, ap: str | None, site: str | None, partner: str | None
) -> list[ColumnElement[bool]]:
    table = _TABLE
    conditions = accounting_conditions(scope)
    for column, value in (("ap_id", ap), ("site_id", site), ("partner_id", partner)):
        if value is not None:
            conditions.append(table.c[column] == value)
    return conditions


def _view(row: Any) -> SessionView:
    return SessionView(
        id=row["id"],
        ap_id=row["ap_id"],
        site_id=row["site_id"],
        partner_id=row["partner_id"],
        state=row["state"],
        started_at=row["started_at"],
        updated_at=row["updated_at"],
        stopped_at=row["stopped_at"],
        duration_s=row["duration_s"],
        input_octets=int(row["input_octets"]),
        output_octets=int(row["output_octets"]),
        terminate_cause=row["terminate_cause"],
        user_hash=row["user_hash"],
        station_hash=row["station_hash"],
    )


SummaryBy = Literal["ap", "site", "partner", "city"]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """Sessions of one AP, site or partner (``key``; "city" for the whole scope, None
    for sessions of no partner when by partner) that began in [start, end).

    ``users``: distinct User-Name hashes, else the device's; ``devices``: distinct MAC
    hashes. Hashes change monthly, so over several months both are sums of the monthly
    counts (an upper bound). Median over closed and lost sessions only (an open one has
    no final time); None when there is none.
    """

    key: str | None
    sessions: int
    users: int
    devices: int
    duration_total_s: float
    duration_median_s: float | None
    input_octets: int
    output_octets: int


def summarise(
    session: Session,
    scope: Scope,
    *,
    by: SummaryBy,
    start: float,
    end: float,
    ap: str | None = None,
    site: str | None = None,
    partner: str | None = None,
) -> list[SessionSummary]:
    """One row per key, sorted by key (None last).

    Distinct hashes are counted over the whole period at once: a month's hashes never
    equal another month's, so that is the sum of the monthly counts. The median is the
    mean of the middle two for an even count (``statistics.median``, PostgreSQL's
    ``percentile_cont(0.5)``).
    """
    found = summarise_each(
        session, scope, levels=(by,), start=start, end=end, ap=ap, site=site, partner=partner
    )
    return found[by]


def summarise_each(
    session: Session,
    scope: Scope,
    *,
    levels: Sequence[SummaryBy],
    start: float,
    end: float,
    ap: str | None = None,
    site: str | None = None,
    partner: str | None = None,
) -> dict[SummaryBy, list[SessionSummary]]:
    """:func:`summarise` at each of ``levels`` (a report wants a partner's sites and
    the partner as a whole), the sessions read once.

    PostgreSQL answers each level in SQL (``percentile_cont``). SQLite has no percentile,
    and a median by window functions sorts the rows once per level; there the matching
    rows are read once and counted here, which measured 3-4x faster for a partner-month
    of 90,000 sessions by site and by partner (docs/benchmarks.md, partner reports).
    What a user, a device and an ended session are stays in SQL either way
    (:data:`_USER`, :data:`_ENDED`)."""
    conditions = [
        *_filters(scope, ap=ap, site=site, partner=partner),
        _TABLE.c.started_at >= start,
        _TABLE.c.started_at < end,
    ]
    if session.get_bind().dialect.name == "postgresql":
        return {by: _summarise_sql(session, by, conditions) for by in levels}
    return _summarise_rows(session, levels, conditions)


def _sorted(rows: Iterable[SessionSummary]) -> list[SessionSummary]:
    return sorted(rows, key=lambda row: (row.key is None, row.key or ""))


def _key_column(by: SummaryBy) -> ColumnElement[Any]:
    return literal("city") if by == "city" else _TABLE.c[f"{by}_id"]


def _summarise_sql(
    session: Session, by: SummaryBy, conditions: list[ColumnElement[bool]]
) -> list[SessionSummary]:
    table = _TABLE
    key = _key_column(by)
    totals = session.execute(
        select(
            key.label("key"),
            func.count(),
            func.count(func.distinct(_USER)),
            func.count(func.distinct(table.c.station_hash)),
            func.coalesce(func.sum(table.c.duration_s), 0.0),
            func.coalesce(func.sum(table.c.input_octets), 0),
            func.coalesce(func.sum(table.c.output_octets), 0),
        )
        .where(*conditions)
        .group_by(key)
    ).all()
    median = func.percentile_cont(0.5).within_group(table.c.duration_s)
    medians = {
        found[0]: found[1]
        for found in session.execute(
            select(key.label("key"), median).where(*conditions, _ENDED).group_by(key)
        )
    }
    return _sorted(
        SessionSummary(
            key=found[0],
            sessions=int(found[1]),
            users=int(found[2]),
            devices=int(found[3]),
            duration_total_s=float(found[4]),
            duration_median_s=float(medians[found[0]])
            if medians.get(found[0]) is not None
            else None,
            input_octets=int(found[5]),
            output_octets=int(found[6]),
        )
        for found in totals
    )


@dataclass(slots=True)
class _Tally:
    """One key's sessions as they are read (the SQLite path of :func:`summarise_each`)."""

    sessions: int = 0
    users: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    duration_total_s: float = 0.0
    ended: list[float] = field(default_factory=list)
    input_octets: int = 0
    output_octets: int = 0

    def add(
        self, user: str | None, device: str | None, duration: float | None, ended: bool,
        octets_in: int, octets_out: int,
    ) -> None:  # fmt: skip
        self.sessions += 1
        if user is not None:
            self.users.add(user)
        if device is not None:
            self.devices.add(device)
        if duration is not None:
            self.duration_total_s += duration
            if ended:
                self.ended.append(duration)
        self.input_octets += octets_in
        self.output_octets += octets_out

    def summary(self, key: str | None) -> SessionSummary:
        return SessionSummary(
            key=key,
            sessions=self.sessions,
            users=len(self.users),
            devices=len(self.devices),
            duration_total_s=self.duration_total_s,
            duration_median_s=statistics.median(self.ended) if self.ended else None,
            input_octets=self.input_octets,
            output_octets=self.output_octets,
        )


def _summarise_rows(
    session: Session, levels: Sequence[SummaryBy], conditions: list[ColumnElement[bool]]
) -> dict[SummaryBy, list[SessionSummary]]:
    table = _TABLE
    wanted = list(dict.fromkeys(levels))
    query = select(
        *(_key_column(by) for by in wanted),
        _USER,
        table.c.station_hash,
        table.c.duration_s,
        _ENDED,
        table.c.input_octets,
        table.c.output_octets,
    ).where(*conditions)
    tallies: list[dict[str | None, _Tally]] = [{} for _ in wanted]
    width = len(wanted)
    for row in session.execute(query):
        user, device, duration, ended, octets_in, octets_out = row[width:]
        for at in range(width):
            key = row[at]
            tally = tallies[at].get(key)
            if tally is None:
                tally = tallies[at][key] = _Tally()
            tally.add(user, device, duration, bool(ended), int(octets_in), int(octets_out))
    return {
        by: _sorted(tally.summary(key) for key, tally in found.items())
        for by, found in zip(wanted, tallies, strict=True)
    }
