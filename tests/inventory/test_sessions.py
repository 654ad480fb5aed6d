"""Hotspot sessions from accounting records: every rule of the writer (retransmissions,
Stop without Start, counters that never move back, gigawords, generations, NAS reboots,
lost sessions), the month keys of the hashes, no personal data at rest, and the two
queries of the API; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from core.access import Scope
from inventory.db import open_inventory, transaction
from inventory.models import AccountingSession, UserHashKey
from inventory.secretbox import SecretBox
from inventory.sessions import (
    AccountingRecord,
    Outcome,
    SessionSummary,
    StatusType,
    apply_records,
    close_lost,
    list_sessions,
    starts_per_window,
    summarise,
)
from inventory.userkeys import MonthKeys, hash_value, month_of

JAKARTA = ZoneInfo("Asia/Jakarta")
T0 = datetime.fromisoformat("2026-11-10T09:00:00+07:00").timestamp()
GIB4 = 2**32
MAC = "AA:BB:CC:00:11:22"
NAME = "budi.santoso@example.id"

Apply = Callable[..., list[Outcome]]


def record(
    status: StatusType,
    at: float,
    *,
    sid: str | None = "81e00001",
    ap: str = "ap1",
    site: str = "s1",
    partner: str | None = "p1",
    time_s: float | None = None,
    up: int | None = None,
    down: int | None = None,
    mac: str | None = MAC,
    name: str | None = None,
    cause: str | None = None,
) -> AccountingRecord:
    """A record as the receiver makes it (octets already with gigawords)."""
    reset = status in (StatusType.ACCOUNTING_ON, StatusType.ACCOUNTING_OFF)
    return AccountingRecord(
        ap_id=ap,
        site_id=site,
        partner_id=partner,
        status=status,
        received_at=at,
        event_time=at,
        session_id=None if reset else sid,
        session_time_s=time_s,
        input_octets=up,
        output_octets=down,
        input_packets=None if up is None else up // 1000,
        output_packets=None if down is None else down // 1000,
        terminate_cause=cause,
        calling_station=None if reset else mac,
        user_name=None if reset else name,
    )


START, INTERIM, STOP = StatusType.START, StatusType.INTERIM_UPDATE, StatusType.STOP
ON, OFF = StatusType.ACCOUNTING_ON, StatusType.ACCOUNTING_OFF


@pytest.fixture
def keys(secret_box: SecretBox) -> MonthKeys:
    return MonthKeys(secret_box)


@pytest.fixture
def apply(any_engine: Engine, keys: MonthKeys) -> Apply:
    """``apply(*records, now=...)``: one batch in its own transaction."""

    def run(*records: AccountingRecord, now: float | None = None) -> list[Outcome]:
        when = now if now is not None else max((r.received_at for r in records), default=T0)
        with transaction(any_engine) as session:
            return apply_records(session, records, keys=keys, tz=JAKARTA, now=when)

    return run


def stored(engine: Engine) -> list[AccountingSession]:
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.scalars(
                select(AccountingSession).order_by(
                    AccountingSession.ap_id,
                    AccountingSession.nas_session_id,
                    AccountingSession.generation,
                )
            )
        )


def facts(row: AccountingSession) -> dict[str, Any]:
    names = ("state", "started_at", "updated_at", "stopped_at", "duration_s", "input_octets",
             "output_octets", "terminate_cause", "generation")  # fmt: skip
    return {name: getattr(row, name) for name in names}


# --- the life of a session ----------------------------------------------------------------


def test_start_interim_stop_is_one_session_with_exact_octets(
    any_engine: Engine, apply: Apply
) -> None:
    """Counters above 4 GiB (gigawords) are kept whole: BigInteger on both engines."""
    up, down = 5 * GIB4 + 123_456, 7 * GIB4 + 1
    assert apply(record(START, T0, time_s=0)) == [Outcome.STARTED]
    assert apply(record(INTERIM, T0 + 300, time_s=300, up=1000, down=GIB4 + 5)) == [Outcome.UPDATED]
    assert apply(record(STOP, T0 + 600, time_s=600, up=up, down=down, cause="User-Request")) == [
        Outcome.STOPPED
    ]
    (row,) = stored(any_engine)
    assert facts(row) == {
        "state": "closed", "started_at": T0, "updated_at": T0 + 600, "stopped_at": T0 + 600,
        "duration_s": 600, "input_octets": up, "output_octets": down,
        "terminate_cause": "User-Request", "generation": 0,
    }  # fmt: skip
    assert (row.input_packets, row.output_packets) == (up // 1000, down // 1000)
    assert (row.ap_id, row.site_id, row.partner_id, row.key_month) == ("ap1", "s1", "p1", "2026-11")


def test_retransmissions_count_once(any_engine: Engine, apply: Apply) -> None:
    start = record(START, T0, time_s=0)
    interim = record(INTERIM, T0 + 300, time_s=300, up=10, down=20)
    stop = record(STOP, T0 + 600, time_s=600, up=30, down=40, cause="Idle-Timeout")
    # In one batch and across batches.
    assert apply(start, start) == [Outcome.STARTED, Outcome.DUPLICATE]
    assert apply(interim, interim) == [Outcome.UPDATED, Outcome.DUPLICATE]
    assert apply(interim, start) == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert apply(stop) == [Outcome.STOPPED]
    assert apply(stop, interim, start) == [Outcome.DUPLICATE] * 3
    (row,) = stored(any_engine)
    assert (row.state, row.input_octets, row.output_octets, row.duration_s) == (
        "closed",
        30,
        40,
        600,
    )
    assert row.stopped_at == T0 + 600


def test_an_older_interim_never_moves_counters_back(any_engine: Engine, apply: Apply) -> None:
    newer = record(INTERIM, T0 + 600, time_s=600, up=500, down=900)
    older = record(INTERIM, T0 + 300, time_s=300, up=100, down=200)
    assert apply(record(START, T0, time_s=0), newer, older) == [
        Outcome.STARTED, Outcome.UPDATED, Outcome.DUPLICATE,
    ]  # fmt: skip
    assert apply(older) == [Outcome.DUPLICATE]
    (row,) = stored(any_engine)
    assert (row.duration_s, row.input_octets, row.output_octets) == (600, 500, 900)
    assert row.updated_at == T0 + 600
    # The counters are the packet's cumulative values, never summed.
    assert apply(record(INTERIM, T0 + 900, time_s=900, up=600, down=1000)) == [Outcome.UPDATED]
    assert (stored(any_engine)[0].input_octets, stored(any_engine)[0].output_octets) == (600, 1000)


def test_stop_without_start_makes_the_session(any_engine: Engine, apply: Apply) -> None:
    stop = record(STOP, T0 + 1000, time_s=400, up=GIB4 * 2, down=3, cause="Lost-Carrier")
    assert apply(stop) == [Outcome.STOPPED]
    (row,) = stored(any_engine)
    assert facts(row) == {
        "state": "closed", "started_at": T0 + 600, "updated_at": T0 + 1000,
        "stopped_at": T0 + 1000, "duration_s": 400, "input_octets": GIB4 * 2,
        "output_octets": 3, "terminate_cause": "Lost-Carrier", "generation": 0,
    }  # fmt: skip
    assert row.station_hash is not None
    assert apply(stop) == [Outcome.DUPLICATE]


def test_interim_without_start_opens_the_session(any_engine: Engine, apply: Apply) -> None:
    assert apply(record(INTERIM, T0 + 300, time_s=300, up=1, down=2)) == [Outcome.STARTED]
    (row,) = stored(any_engine)
    assert (row.state, row.started_at, row.duration_s) == ("open", T0, 300)
    # The Start that was late changes nothing.
    assert apply(record(START, T0 + 1, time_s=0)) == [Outcome.DUPLICATE]


def test_a_reused_session_id_is_a_new_generation(any_engine: Engine, apply: Apply) -> None:
    apply(record(START, T0, time_s=0), record(STOP, T0 + 600, time_s=600, up=5, down=6))
    # A late retransmitted Start of the closed session: same start (within 60 s).
    assert apply(record(START, T0 + 30, time_s=0)) == [Outcome.DUPLICATE]
    # The NAS rebooted and counts its ids from the start again: a new session.
    later = T0 + 7200
    assert apply(record(START, later, time_s=0)) == [Outcome.STARTED]
    assert apply(record(INTERIM, later + 300, time_s=300, up=7, down=8)) == [Outcome.UPDATED]
    first, second = stored(any_engine)
    assert (first.generation, first.state, first.input_octets) == (0, "closed", 5)
    assert (second.generation, second.state, second.started_at) == (1, "open", later)
    assert (second.input_octets, second.output_octets) == (7, 8)
    # A Stop whose Start was lost after such a reboot is a new generation as well.
    apply(record(STOP, later + 400, time_s=400, up=9, down=9))
    assert apply(record(STOP, later + 9000, time_s=100, up=1, down=1)) == [Outcome.STOPPED]
    assert [row.generation for row in stored(any_engine)] == [0, 1, 2]


def test_the_same_id_on_two_aps_is_two_sessions(any_engine: Engine, apply: Apply) -> None:
    assert apply(record(START, T0, ap="ap1"), record(START, T0, ap="ap2")) == [
        Outcome.STARTED, Outcome.STARTED,
    ]  # fmt: skip
    assert [row.ap_id for row in stored(any_engine)] == ["ap1", "ap2"]


@pytest.mark.parametrize(("status", "cause"), [(ON, "NAS-Reboot"), (OFF, "NAS-Request")])
def test_accounting_on_off_closes_the_nas_open_sessions(
    any_engine: Engine, apply: Apply, status: StatusType, cause: str
) -> None:
    apply(
        record(START, T0, sid="a", time_s=0),
        record(INTERIM, T0 + 300, sid="a", time_s=300, up=1, down=1),
        record(START, T0, sid="b", time_s=0),
        record(STOP, T0 + 100, sid="b", time_s=100, cause="User-Request"),
        record(START, T0, sid="c", ap="ap2", time_s=0),
    )
    # In the same batch: a Start before the reset is closed by it, one after is not.
    assert apply(
        record(START, T0 + 400, sid="d", time_s=0),
        record(status, T0 + 500),
        record(START, T0 + 600, sid="e", time_s=0),
    ) == [Outcome.STARTED, Outcome.NAS_RESET, Outcome.STARTED]
    rows = {(row.ap_id, row.nas_session_id): row for row in stored(any_engine)}
    assert (rows["ap1", "a"].state, rows["ap1", "a"].terminate_cause) == ("closed", cause)
    assert rows["ap1", "a"].stopped_at == T0 + 300  # its last update: all we know
    assert rows["ap1", "b"].terminate_cause == "User-Request"  # closed before, untouched
    assert (rows["ap1", "d"].state, rows["ap1", "d"].stopped_at) == ("closed", T0 + 400)
    assert rows["ap1", "e"].state == "open"
    assert rows["ap2", "c"].state == "open"  # another NAS
    assert apply(record(status, T0 + 700)) == [Outcome.NAS_RESET]  # resent: answered again
    assert rows["ap1", "e"].state == "open"


def test_lost_sessions(any_engine: Engine, apply: Apply) -> None:
    apply(
        record(START, T0, sid="quiet", time_s=0),
        record(INTERIM, T0 + 300, sid="quiet", time_s=300, up=1, down=1),
        record(START, T0, sid="chatty", time_s=0),
        record(INTERIM, T0 + 1500, sid="chatty", time_s=1500, up=1, down=1),
        record(START, T0, sid="back", time_s=0),
        record(START, T0, sid="stopped", time_s=0),
    )
    with transaction(any_engine) as session:
        assert close_lost(session, now=T0 + 2200, lost_after_s=1800) == 3
    with transaction(any_engine) as session:
        assert close_lost(session, now=T0 + 2200, lost_after_s=1800) == 0
    rows = {row.nas_session_id: row for row in stored(any_engine)}
    assert (rows["quiet"].state, rows["quiet"].stopped_at) == ("lost", T0 + 300)
    assert rows["quiet"].terminate_cause is None
    assert rows["chatty"].state == "open"
    # Lost is a guess: the NAS speaks of the session again.
    back = record(INTERIM, T0 + 2400, sid="back", time_s=2400, up=9, down=9)
    late_stop = record(
        STOP, T0 + 2500, sid="stopped", time_s=2500, up=3, down=4, cause="Idle-Timeout"
    )
    assert apply(back, late_stop, record(START, T0 + 10, sid="quiet")) == [
        Outcome.UPDATED, Outcome.STOPPED, Outcome.DUPLICATE,
    ]  # fmt: skip
    rows = {row.nas_session_id: row for row in stored(any_engine)}
    assert (rows["back"].state, rows["back"].stopped_at, rows["back"].input_octets) == (
        "open", None, 9,
    )  # fmt: skip
    assert rows["stopped"].state == "closed"
    assert (rows["stopped"].stopped_at, rows["stopped"].terminate_cause) == (
        T0 + 2500,
        "Idle-Timeout",
    )
    assert rows["quiet"].state == "lost"


def test_event_time_and_missing_session_time(any_engine: Engine, apply: Apply) -> None:
    """A NAS without Acct-Session-Time: the session lasts from its Start by the clock."""
    apply(record(START, T0), record(INTERIM, T0 + 120, up=5, down=5))
    (row,) = stored(any_engine)
    assert (row.started_at, row.duration_s, row.updated_at) == (T0, 120, T0 + 120)


def test_records_without_session_id_change_nothing(any_engine: Engine, apply: Apply) -> None:
    assert apply(record(START, T0, sid=None), record(STOP, T0, sid=None)) == [
        Outcome.DUPLICATE, Outcome.DUPLICATE,
    ]  # fmt: skip
    assert stored(any_engine) == []


# --- hashes -------------------------------------------------------------------------------


def key_of(engine: Engine, secret_box: SecretBox, month: str) -> bytes:
    with transaction(engine) as session:
        return MonthKeys(secret_box).key(session, month, now=T0)


def test_hashes_are_keyed_by_the_session_start_month(
    any_engine: Engine, apply: Apply, secret_box: SecretBox
) -> None:
    """23:59:59 and 00:00:00 on the 1st, Jakarta time: two months, two keys, two hashes
    of the same MAC; a session keeps its start month's hash when it runs into the next."""
    before = datetime.fromisoformat("2026-11-30T23:59:59+07:00").timestamp()
    after = before + 1
    apply(
        record(START, before, sid="late", time_s=0, name=NAME),
        record(START, after, sid="early", time_s=0, mac="aa-bb-cc-00-11-22"),
    )
    apply(record(INTERIM, after + 300, sid="late", time_s=301, up=1, down=1, name=NAME))
    rows = {row.nas_session_id: row for row in stored(any_engine)}
    assert (month_of(before, JAKARTA), month_of(after, JAKARTA)) == ("2026-11", "2026-12")
    assert (rows["late"].key_month, rows["early"].key_month) == ("2026-11", "2026-12")
    november, december = (
        key_of(any_engine, secret_box, "2026-11"),
        key_of(any_engine, secret_box, "2026-12"),
    )
    assert november != december
    assert rows["late"].station_hash == hash_value(november, "aabbcc001122")
    assert rows["early"].station_hash == hash_value(december, "aabbcc001122")
    assert rows["late"].user_hash == hash_value(november, NAME)
    assert rows["early"].user_hash is None
    with Session(any_engine) as session:
        assert session.scalars(select(UserHashKey.month).order_by(UserHashKey.month)).all() == [
            "2026-11", "2026-12",
        ]  # fmt: skip


def test_a_later_packet_fills_a_missing_hash(any_engine: Engine, apply: Apply) -> None:
    apply(record(START, T0, time_s=0, mac=None))
    assert stored(any_engine)[0].station_hash is None
    apply(record(INTERIM, T0 + 60, time_s=60, up=1, down=1, mac=MAC, name="  "))
    (row,) = stored(any_engine)
    assert row.station_hash is not None and row.user_hash is None


@pytest.mark.sqlite_only("reads the bytes of the SQLite file and its WAL")
def test_no_personal_data_at_rest(tmp_path: Path, keys: MonthKeys) -> None:
    """The SQLite file (and its WAL) after many sessions with known MACs and names: not
    one of them, in any spelling, anywhere in the bytes."""
    path = tmp_path / "inventory.db"
    engine = open_inventory(f"sqlite:///{path}", create=True)
    macs = [f"02:1A:{i // 256:02X}:{i % 256:02X}:7C:E4" for i in range(200)]
    names = [f"warga{i:03d}@kota.example" for i in range(200)]
    batch = [
        record(status, T0 + n, sid=f"s{i}", time_s=float(n), up=n, down=n, mac=mac, name=name)
        for i, (mac, name) in enumerate(zip(macs, names, strict=True))
        for n, status in ((0, START), (300, INTERIM), (600, STOP))
    ]
    try:
        with transaction(engine) as session:
            apply_records(session, batch, keys=keys, tz=JAKARTA, now=T0)
    finally:
        engine.dispose()
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("inventory"))
    spellings = {
        spelling
        for mac in macs
        for spelling in (
            mac,
            mac.lower(),
            mac.replace(":", ""),
            mac.replace(":", "").lower(),
            mac.replace(":", "-"),
        )
    }
    for value in [*spellings, *names]:
        for encoded in (value.encode("utf-8"), value.encode("utf-16-le")):
            assert encoded not in data, "personal data in the database file"
    assert repr(batch[0]).count(MAC) == 0 and "warga" not in repr(batch[0])


# --- cost ---------------------------------------------------------------------------------


@pytest.fixture
def statements(any_engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent to the database while the test runs (executemany once)."""
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    event.listen(any_engine, "before_cursor_execute", count)
    yield sent
    event.remove(any_engine, "before_cursor_execute", count)


def test_a_batch_is_a_few_statements(
    any_engine: Engine, apply: Apply, statements: list[str]
) -> None:
    """500 records: one SELECT, one INSERT and one UPDATE (and the month key once)."""
    first = [
        record(START, T0, sid=f"s{i}", time_s=0, mac=f"02:00:00:00:{i // 256:02x}:{i % 256:02x}")
        for i in range(250)
    ]
    apply(*first)
    statements.clear()
    mixed = [
        *(record(INTERIM, T0 + 300, sid=f"s{i}", time_s=300, up=i, down=i) for i in range(250)),
        *(record(STOP, T0 + 400, sid=f"n{i}", time_s=400, up=i, down=i) for i in range(249)),
        record(ON, T0 + 500, ap="ap2"),
    ]
    outcomes = apply(*mixed)
    assert outcomes.count(Outcome.UPDATED) == 250 and outcomes.count(Outcome.STOPPED) == 249
    kinds = [" ".join(sql.split()[:1]).upper() for sql in statements]
    assert kinds.count("SELECT") <= 2, statements  # the sessions; the month key (cached)
    assert kinds.count("INSERT") == 1 and kinds.count("UPDATE") == 1, kinds
    assert len(stored(any_engine)) == 499


# --- reading ------------------------------------------------------------------------------


@pytest.fixture
def city_sessions(apply: Apply) -> None:
    """Two partners and a city site; open, closed and lost sessions; users by MAC and by
    name (one name on two phones, one phone logging in with its MAC as user name)."""
    apply(
        # p1 / s1 / ap1: three sessions, two devices, one hotspot user on both phones.
        record(START, T0, sid="1", time_s=0, mac="02:00:00:00:00:01", name="ani"),
        record(STOP, T0 + 100, sid="1", time_s=100, up=10, down=100, cause="User-Request"),
        record(START, T0 + 200, sid="2", time_s=0, mac="02:00:00:00:00:02", name="ani"),
        record(STOP, T0 + 500, sid="2", time_s=300, up=20, down=200, cause="User-Request"),
        record(START, T0 + 300, sid="3", time_s=0, mac="02:00:00:00:00:03"),
        record(INTERIM, T0 + 900, sid="3", time_s=600, up=GIB4 * 3, down=GIB4 * 5),
        # p1 / s2 / ap2: one closed with a MAC-authenticated login (name == its MAC).
        record(START, T0, sid="4", ap="ap2", site="s2", time_s=0, mac="02:00:00:00:00:04",
               name="02-00-00-00-00-04"),
        record(STOP, T0 + 1000, sid="4", ap="ap2", site="s2", time_s=1000, up=1, down=1),
        # p2 / s3 / ap3: one that will be lost.
        record(START, T0, sid="5", ap="ap3", site="s3", partner="p2", time_s=0,
               mac="02:00:00:00:00:05"),
        # city site s4 / ap4 (no partner); started the next day.
        record(START, T0 + 86_400, sid="6", ap="ap4", site="s4", partner=None, time_s=0,
               mac="02:00:00:00:00:06"),
    )  # fmt: skip


@pytest.fixture
def lost(any_engine: Engine, city_sessions: None) -> None:
    with transaction(any_engine) as session:
        close_lost(session, now=T0 + 3000, lost_after_s=1800)


def test_list_sessions_filters_scope_and_pages(any_engine: Engine, lost: None) -> None:
    with Session(any_engine) as session:
        rows, count = list_sessions(session, Scope())
        assert count == 6
        assert [r.started_at for r in rows] == sorted((r.started_at for r in rows), reverse=True)
        assert rows[0].ap_id == "ap4" and rows[0].partner_id is None
        three = next(r for r in rows if r.ap_id == "ap1" and r.state == "lost")
        assert (three.input_octets, three.output_octets) == (GIB4 * 3, GIB4 * 5)
        assert three.stopped_at == T0 + 900 and three.user_hash is None
        assert three.station_hash is not None

        mine, count = list_sessions(session, Scope("p2"))
        assert (count, [r.ap_id for r in mine]) == (1, ["ap3"])
        # Another partner's filter inside a scope finds nothing.
        assert list_sessions(session, Scope("p2"), partner="p1") == ([], 0)
        assert list_sessions(session, Scope("p2"), ap="ap1") == ([], 0)
        assert list_sessions(session, Scope(), site="s2")[1] == 1
        assert list_sessions(session, Scope(), state="lost")[1] == 2
        page, count = list_sessions(session, Scope("p1"), limit=2, offset=1)
        assert count == 4 and len(page) == 2
        # Overlapping [start, end): stopped before start or begun at or after end: out.
        window, count = list_sessions(session, Scope(), start=T0 + 600, end=T0 + 86_400)
        # ap1's lost one (last heard of at T0 + 900), ap2's (stopped at T0 + 1000); ap3's
        # was lost when last heard of, at its start.
        assert {r.ap_id for r in window} == {"ap1", "ap2"} and count == 2
        assert list_sessions(session, Scope(), start=T0 + 86_400)[1] == 1  # only the open one


def test_summary_by_key(any_engine: Engine, lost: None) -> None:
    end = T0 + 2 * 86_400
    with Session(any_engine) as session:
        by_site = summarise(session, Scope(), by="site", start=T0, end=end)
        by_partner = summarise(session, Scope(), by="partner", start=T0, end=end)
        city = summarise(session, Scope(), by="city", start=T0, end=end)
        p1 = summarise(session, Scope("p1"), by="ap", start=T0, end=end)
        day_one = summarise(session, Scope(), by="city", start=T0, end=T0 + 86_400)
    s1 = SessionSummary(
        key="s1", sessions=3, users=2, devices=3, duration_total_s=1000.0,
        duration_median_s=300.0, input_octets=30 + GIB4 * 3, output_octets=300 + GIB4 * 5,
    )  # fmt: skip
    assert by_site[0] == s1
    assert [r.key for r in by_site] == ["s1", "s2", "s3", "s4"]
    # ani on two phones: one user; the MAC-login and its device: one user.
    assert (by_site[1].users, by_site[1].devices, by_site[1].duration_median_s) == (1, 1, 1000.0)
    assert by_site[3].duration_median_s is None  # open only: no final time yet
    assert [r.key for r in by_partner] == ["p1", "p2", None]
    assert (by_partner[0].sessions, by_partner[0].users, by_partner[0].devices) == (4, 3, 4)
    # Median of 100, 300, 600 (lost), 1000: (300 + 600) / 2.
    assert by_partner[0].duration_median_s == 450.0
    assert [(r.key, r.sessions, r.users) for r in city] == [("city", 6, 5)]
    assert [r.key for r in p1] == ["ap1", "ap2"]
    assert day_one[0].sessions == 5
    with Session(any_engine) as session:
        assert summarise(session, Scope("p9"), by="site", start=T0, end=end) == []
        assert summarise(session, Scope("p2"), by="partner", start=T0, end=end, site="s1") == []


def test_starts_per_window_agree_with_the_summaries(any_engine: Engine, lost: None) -> None:
    bounds = [T0, T0 + 86_400, T0 + 2 * 86_400]
    with Session(any_engine) as session:
        for scope, partner in ((Scope(), None), (Scope(), "p1"), (Scope("p1"), None)):
            counts = starts_per_window(session, scope, bounds, partner=partner)
            expected = [
                sum(
                    row.sessions
                    for row in summarise(
                        session, scope, by="city", start=lo, end=hi, partner=partner
                    )
                )
                for lo, hi in pairwise(bounds)
            ]
            assert counts == expected
        assert sum(starts_per_window(session, Scope(), bounds)) == 6
        assert starts_per_window(session, Scope("p9"), bounds) == [0, 0]
        assert starts_per_window(session, Scope(), bounds[:1]) == []
