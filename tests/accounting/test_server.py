"""The receiver over real UDP, driven by FreeRADIUS's radclient and by pyrad packets:
sessions with exact octets, retransmissions counted once and answered again, drops
counted and never answered, replies only after the commit, and no personal datum in
the database file or the log."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from accounting.packets import Drop
from core.settings import Settings
from inventory.models import AccountingSession, Base
from tests.fixtures.processes import wait_for
from tests.fixtures.radius import SECRET, T0, Receiver, request, run_radclient

MAC = "02:1A:2B:3C:4D:5E"
USER = "budi.santoso"
GIB = 2**30


def sessions(engine: Engine) -> list[AccountingSession]:
    with Session(engine) as session:
        return list(session.scalars(select(AccountingSession).order_by(AccountingSession.id)))


def acct(status: str, session_id: str = "80000001", **extra: object) -> dict[str, object]:
    attributes: dict[str, object] = {
        "Acct-Status-Type": status,
        "Acct-Session-Id": session_id,
        "NAS-IP-Address": "127.1.5.1",
        "NAS-Identifier": "taman-1",
        "Calling-Station-Id": MAC,
        "User-Name": USER,
        "Framed-IP-Address": "10.5.0.23",
    }
    attributes.update({name.replace("_", "-"): value for name, value in extra.items()})
    return attributes


BOTH = pytest.mark.parametrize("acct_backend", ["sqlite", "postgresql"], indirect=True)


@BOTH
def test_start_interim_stop_by_radclient_make_one_session(
    receiver: Receiver, acct_engine: Engine
) -> None:
    for status, extra in (
        ("Start", {}),
        ("Interim-Update", {"Acct_Session_Time": 300, "Acct_Input_Octets": 1_000,
                            "Acct_Output_Octets": 50_000}),
        ("Stop", {"Acct_Session_Time": 900, "Acct_Input_Octets": 7_000,
                  "Acct_Output_Octets": 123_456, "Acct_Terminate_Cause": "User-Request"}),
    ):  # fmt: skip
        done = run_radclient(receiver.port, acct(status, **extra))
        assert done.returncode == 0, done.stderr + done.stdout
        assert "Accounting-Response" in done.stdout
    [row] = sessions(acct_engine)
    assert (row.ap_id, row.site_id, row.partner_id) == ("ap-1", "s-park", "p-bank")
    assert row.state == "closed" and row.terminate_cause == "User-Request"
    assert (row.input_octets, row.output_octets, row.duration_s) == (7_000, 123_456, 900.0)
    assert row.station_hash and row.user_hash and row.key_month == "2026-11"
    assert receiver.count("started") == 1 and receiver.count("stopped") == 1


@BOTH
def test_more_than_4_gib_through_gigawords(receiver: Receiver, acct_engine: Engine) -> None:
    down = 5 * 2**32 + 17  # 20 GiB and a little
    up = 2**32 + 4_000_000_000
    done = run_radclient(
        receiver.port,
        acct(
            "Stop", "big-1", Acct_Session_Time=7200,
            Acct_Input_Octets=up % 2**32, Acct_Input_Gigawords=up // 2**32,
            Acct_Output_Octets=down % 2**32, Acct_Output_Gigawords=down // 2**32,
        ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [row] = sessions(acct_engine)
    assert (row.input_octets, row.output_octets) == (up, down)
    assert row.output_octets > 4 * GIB
    assert row.started_at == pytest.approx(T0 - 7200)  # a Stop without a Start


@BOTH
def test_a_retransmission_counts_once_and_is_answered_again(
    receiver: Receiver, acct_engine: Engine, udp_send: Callable[..., bytes | None]
) -> None:
    datagram = request(acct("Start"))
    raw = datagram.RequestPacket()
    first = udp_send(raw, receiver.port)
    again = udp_send(raw, receiver.port)  # same id, same authenticator: the NAS missed it
    assert first is not None and again == first
    assert len(sessions(acct_engine)) == 1
    assert receiver.count("started") == 1 and receiver.count("duplicate") == 1


def test_a_bad_secret_is_dropped_unanswered_and_counted(
    receiver: Receiver, acct_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):
        done = run_radclient(receiver.port, acct("Start"), secret="wrong-secret-9", timeout_s=0.5)
        assert done.returncode == 1
    assert sessions(acct_engine) == []
    assert receiver.count(Drop.BAD_AUTHENTICATOR) == 3
    said = [r for r in caplog.records if "bad authenticator" in r.getMessage()]
    assert len(said) == 1 and "AP ap-1" in said[0].getMessage()  # once per NAS per hour


def test_an_unknown_nas_is_dropped_unanswered_and_counted(
    receiver: Receiver, acct_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    attributes = acct("Start", NAS_IP_Address="127.200.0.1", NAS_Identifier="stranger")
    assert run_radclient(receiver.port, attributes, timeout_s=0.5).returncode == 1
    no_secret = acct("Start", NAS_IP_Address="127.1.5.3", NAS_Identifier="ap-3")
    assert run_radclient(receiver.port, no_secret, timeout_s=0.5).returncode == 1
    assert sessions(acct_engine) == []
    assert receiver.count(Drop.UNKNOWN_NAS) == 1 and receiver.count(Drop.NO_SECRET) == 1
    text_logged = caplog.text
    assert "127.200.0.1" not in text_logged and "stranger" not in text_logged


def test_garbage_wrong_codes_and_truncation_never_stop_it(
    receiver: Receiver, acct_engine: Engine, udp_send: Callable[..., bytes | None]
) -> None:
    raw = request(acct("Start")).RequestPacket()
    access = bytes([1]) + raw[1:]  # an Access-Request to the accounting port
    garbage = b"\x04\x07\x00\x10" + b"not radius" * 5  # an Accounting code, length 16
    for datagram in (b"", b"\x04", garbage, raw[:25], b"hello, not radius" * 3, access):
        assert udp_send(datagram, receiver.port, timeout=0.3) is None
    assert receiver.count(Drop.MALFORMED) == 4 and receiver.count(Drop.WRONG_CODE) == 2
    assert udp_send(raw, receiver.port) is not None  # and it still works
    assert len(sessions(acct_engine)) == 1


def test_no_answer_when_the_write_fails_then_the_retransmission_is_stored(
    receiver: Receiver, acct_engine: Engine, udp_send: Callable[..., bytes | None]
) -> None:
    raw = request(acct("Start")).RequestPacket()
    with acct_engine.begin() as connection:
        connection.execute(text("DROP TABLE accounting_sessions"))
    assert udp_send(raw, receiver.port, timeout=1.0) is None  # not recorded: not answered
    assert receiver.count(Drop.WRITE_FAILED) == 1
    Base.metadata.create_all(acct_engine)
    assert udp_send(raw, receiver.port) is not None
    assert len(sessions(acct_engine)) == 1


@BOTH
def test_a_batch_answers_every_packet_of_many_sessions(
    start_receiver: Callable[..., Receiver],
    acct_engine: Engine,
    udp_send: Callable[..., bytes | None],
) -> None:
    receiver = start_receiver(batch_wait_s=0.2)  # a wide window: all in one batch
    raws = [request(acct("Start", f"s-{n}")) for n in range(40)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        for pkt in raws:
            sock.sendto(pkt.RequestPacket(), ("127.0.0.1", receiver.port))
        replies = {sock.recvfrom(4096)[0][1] for _ in raws}
    assert replies == {pkt.id for pkt in raws}
    assert len(sessions(acct_engine)) == 40


def test_open_sessions_without_updates_are_closed_as_lost(
    receiver: Receiver, acct_engine: Engine, acct_settings: Settings
) -> None:
    assert run_radclient(receiver.port, acct("Start")).returncode == 0
    receiver.clock.now = T0 + acct_settings.radius_lost_after_s + 120  # the next sweep
    wait_for(lambda: [row.state for row in sessions(acct_engine)] == ["lost"], 10, "the sweep")
    assert (
        receiver.server.metrics.registry.get_sample_value("citywifi_radius_sessions_lost_total")
        == 1
    )


def test_nothing_personal_in_the_database_file_or_the_log(
    receiver: Receiver,
    acct_engine: Engine,
    acct_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for status in ("Start", "Interim-Update", "Stop"):
        assert run_radclient(receiver.port, acct(status, Acct_Session_Time=60)).returncode == 0
    run_radclient(receiver.port, acct("Start"), secret="wrong-secret-9", timeout_s=0.5)
    receiver.stop()
    acct_engine.dispose()
    path = Path(acct_settings.db_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    spellings = {MAC, MAC.lower(), MAC.replace(":", ""), MAC.replace(":", "").lower(),
                 MAC.replace(":", "-"), USER, "10.5.0.23", SECRET}  # fmt: skip
    for value in spellings:
        assert value.encode() not in stored, value
        assert value not in caplog.text, value


def test_it_stops_cleanly_answering_what_it_took(
    start_receiver: Callable[..., Receiver], udp_send: Callable[..., bytes | None]
) -> None:
    receiver = start_receiver()
    assert udp_send(
        request(acct("Start")).RequestPacket(),
        receiver.port,
    )
    started = time.monotonic()
    receiver.stop()
    assert time.monotonic() - started < 5
    assert receiver.errors == []
