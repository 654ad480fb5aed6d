"""The simulated hotspot APs' RADIUS accounting, read with pyrad.

pyrad is independent of the simulator's hand-written encoder, so a packet both agree on
is a packet a real server reads. The sessions and bytes are checked against what the
device itself shows (``Device.sessions``, ``Device.session_bytes``: what its SNMP hotspot
table and SSH CLI show). The receiver here is a plain UDP socket in the test.
"""

from __future__ import annotations

import asyncio
import io
import socket
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from pyrad.dictionary import Dictionary
from pyrad.packet import AcctPacket

from core.errors import SimulatorError
from simulators import radius
from simulators.city import City, SimAp, build_city, radius_secret
from simulators.device import SLOT_MS, STABLE_MAC_PERMILLE, Session
from simulators.faults import build_fault_book
from simulators.radius import (
    Accountant,
    AccountingStats,
    Request,
    Status,
    encode_request,
    parse_target,
    response_matches,
    serve_accounting,
)
from simulators.run import run_simulator
from tests.fixtures.simulated import busy_instant, loopback_base, served_in_thread

# Only what the encoder writes: RFC 2865/2866/2869 names and MikroTik's vendor 14988.
DICTIONARY = """
ATTRIBUTE User-Name 1 string
ATTRIBUTE NAS-IP-Address 4 ipaddr
ATTRIBUTE NAS-Port 5 integer
ATTRIBUTE Framed-IP-Address 8 ipaddr
ATTRIBUTE Vendor-Specific 26 octets
ATTRIBUTE Called-Station-Id 30 string
ATTRIBUTE Calling-Station-Id 31 string
ATTRIBUTE NAS-Identifier 32 string
ATTRIBUTE Acct-Status-Type 40 integer
ATTRIBUTE Acct-Delay-Time 41 integer
ATTRIBUTE Acct-Input-Octets 42 integer
ATTRIBUTE Acct-Output-Octets 43 integer
ATTRIBUTE Acct-Session-Id 44 string
ATTRIBUTE Acct-Authentic 45 integer
ATTRIBUTE Acct-Session-Time 46 integer
ATTRIBUTE Acct-Input-Packets 47 integer
ATTRIBUTE Acct-Output-Packets 48 integer
ATTRIBUTE Acct-Terminate-Cause 49 integer
ATTRIBUTE Acct-Input-Gigawords 52 integer
ATTRIBUTE Acct-Output-Gigawords 53 integer
ATTRIBUTE Event-Timestamp 55 date
ATTRIBUTE NAS-Port-Type 61 integer
VALUE Acct-Status-Type Start 1
VALUE Acct-Status-Type Stop 2
VALUE Acct-Status-Type Interim-Update 3
VALUE Acct-Status-Type Accounting-On 7
VALUE Acct-Status-Type Accounting-Off 8
VALUE Acct-Terminate-Cause User-Request 1
VALUE Acct-Terminate-Cause Idle-Timeout 4
VENDOR Mikrotik 14988
BEGIN-VENDOR Mikrotik
ATTRIBUTE Mikrotik-Host-IP 10 ipaddr
END-VENDOR Mikrotik
"""

Decoded = dict[str, Any]


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return Dictionary(io.StringIO(DICTIONARY))


def decode(data: bytes, secret: bytes, dictionary: Dictionary) -> Decoded:
    """What pyrad reads in an Accounting-Request, its authenticator verified."""
    packet = AcctPacket(packet=data, secret=secret, dict=dictionary)
    assert packet.code == AcctPacket(dict=dictionary).code == 4  # Accounting-Request
    assert packet.VerifyAcctRequest(), "bad Request Authenticator"
    values = {key: packet[key] for key in packet.keys()}  # noqa: SIM118 (pyrad's names)
    return {key: got[0] if len(got) == 1 else got for key, got in values.items()}


def read(request: Request, dictionary: Dictionary, identifier: int = 7) -> Decoded:
    return decode(
        encode_request(identifier, request.secret, request.attributes), request.secret, dictionary
    )


def total(decoded: Decoded, low: str, high: str) -> int:
    return int(decoded[high]) * 2**32 + int(decoded[low])


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(30, seed=5, base_address=loopback_base())


@pytest.fixture(scope="module")
def hotspot(city: City) -> SimAp:
    return next(ap for ap in city.aps if ap.hotspot)


# --- the encoder -----------------------------------------------------------------------


def test_encoder_agrees_with_pyrad(dictionary: Dictionary) -> None:
    secret = b"s3cret"
    big = 5 * 2**32 + 12_345  # above 4 GiB: the gigawords carry the rest
    attributes = [
        radius.integer(radius.ACCT_STATUS_TYPE, Status.STOP),
        radius.string(radius.USER_NAME, "guest-0042"),
        radius.address(radius.NAS_IP_ADDRESS, "127.1.2.3"),
        radius.string(radius.ACCT_SESSION_ID, "81000001"),
        *radius.octets(radius.ACCT_INPUT_OCTETS, radius.ACCT_INPUT_GIGAWORDS, big),
        *radius.octets(radius.ACCT_OUTPUT_OCTETS, radius.ACCT_OUTPUT_GIGAWORDS, 99),
        radius.integer(radius.EVENT_TIMESTAMP, 1_700_000_000),
        radius.vendor(14988, 10, bytes((10, 5, 50, 2))),
    ]
    got = decode(encode_request(200, secret, attributes), secret, dictionary)
    assert got["Acct-Status-Type"] == "Stop"
    assert got["User-Name"] == "guest-0042"
    assert got["NAS-IP-Address"] == "127.1.2.3"
    assert got["Acct-Session-Id"] == "81000001"
    assert total(got, "Acct-Input-Octets", "Acct-Input-Gigawords") == big
    assert total(got, "Acct-Output-Octets", "Acct-Output-Gigawords") == 99
    assert got["Event-Timestamp"] == 1_700_000_000
    assert got["Mikrotik-Host-IP"] == "10.5.50.2"
    packet = AcctPacket(packet=encode_request(200, secret, attributes), dict=dictionary)
    assert packet.id == 200
    # The wrong secret fails verification: the authenticator really covers the secret.
    wrong = AcctPacket(packet=encode_request(1, secret, attributes), secret=b"x", dict=dictionary)
    assert not wrong.VerifyAcctRequest()


def test_response_authenticator_is_checked(dictionary: Dictionary) -> None:
    secret = b"s3cret"
    request = encode_request(9, secret, [radius.integer(radius.ACCT_STATUS_TYPE, Status.START)])
    received = AcctPacket(packet=request, secret=secret, dict=dictionary)
    reply = received.CreateReply().ReplyPacket()
    assert response_matches(reply, request, secret)
    assert not response_matches(reply, request, b"other")
    assert not response_matches(reply[:1] + b"\x08" + reply[2:], request, secret)  # other id
    assert not response_matches(reply[:-1] + bytes((reply[-1] ^ 1,)), request, secret)
    assert not response_matches(b"\x05\x09", request, secret)
    other = AcctPacket(
        packet=encode_request(9, secret, [radius.integer(40, 2)]), secret=secret, dict=dictionary
    )
    assert not response_matches(other.CreateReply().ReplyPacket(), request, secret)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: radius.string(1, ""), "1-253"),
        (lambda: radius.string(1, "x" * 254), "1-253"),
        (lambda: radius.integer(40, -1), "32-bit"),
        (lambda: radius.integer(40, 2**32), "32-bit"),
        (lambda: radius.vendor(14988, 1, bytes(248)), "too long"),
        (lambda: encode_request(0, b"s", [radius.string(1, "x" * 250)] * 17), "at most 4096"),
    ],
)
def test_encoder_refuses_what_radius_cannot_carry(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(SimulatorError, match=message):
        build()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("127.0.0.1", "HOST:PORT"),
        ("127.0.0.1:0", "HOST:PORT"),
        ("127.0.0.1:70000", "HOST:PORT"),
        ("localhost:1813", "not an IPv4 address"),
        ("192.0.2.1:1813", "loopback"),
    ],
)
def test_target_must_be_a_loopback_address_and_port(text: str, message: str) -> None:
    with pytest.raises(SimulatorError, match=message):
        parse_target(text)
    assert parse_target("127.0.0.2:1813") == ("127.0.0.2", 1813)


# --- the simulated city ----------------------------------------------------------------


def test_hotspot_profiles_carry_the_secret_their_aps_sign_with(city: City) -> None:
    inventory = city.inventory()
    profiles = {c["id"]: c for c in inventory["credentials"]}
    hotspots = [ap for ap in city.aps if ap.hotspot]
    assert hotspots and all(ap.vendor.name == "mikrotik" for ap in hotspots)
    used_by_hotspots = {ap.credentials for ap in hotspots}
    for profile_id, profile in profiles.items():
        if profile_id in used_by_hotspots:
            assert profile["radius"] == {"secret": radius_secret(city.seed, profile_id)}
        else:
            assert "radius" not in profile
    accountant = Accountant.for_city(city)
    assert [nas.ap.id for nas in accountant.nas] == [ap.id for ap in hotspots]
    for nas in accountant.nas:
        assert nas.secret == profiles[nas.ap.credentials]["radius"]["secret"].encode()
    assert len({radius_secret(city.seed, p) for p in profiles}) == len(profiles)
    assert radius_secret(1, "snmp-d01") != radius_secret(2, "snmp-d01")


def test_a_share_of_users_keep_one_mac(city: City) -> None:
    seen: dict[str, set[bytes]] = {}
    for ap in city.aps[:10]:
        start = busy_instant(ap)
        for k in range(8):  # eight slots: new sessions, users coming back
            for session in ap.device.sessions(start + k * SLOT_MS / 1000):
                seen.setdefault(session.user, set()).add(session.mac)
    stable = {user: macs for user, macs in seen.items() if not next(iter(macs))[0] & 0x02}
    for macs in stable.values():
        assert len(macs) == 1  # one globally administered address, whatever the AP
    for user, macs in seen.items():
        if user not in stable:
            assert all(mac[0] & 0x02 and not mac[0] & 0x01 for mac in macs)  # private
    share = len(stable) / len(seen)
    assert abs(share - STABLE_MAC_PERMILLE / 1000) < 0.1
    repeat = [macs for user, macs in seen.items() if user not in stable and len(macs) > 1]
    assert repeat, "a private-address user coming back shows a new MAC"


def test_start_interim_stop_follow_the_device(hotspot: SimAp, dictionary: Dictionary) -> None:
    device = hotspot.device
    slot_s = SLOT_MS // 1000
    t0 = (busy_instant(hotspot) // slot_s) * slot_s + 30  # 30 s into a busy slot
    accountant = Accountant([hotspot], {hotspot.id: "secret"}, interim_s=300)
    first = [read(r, dictionary) for r in accountant.observe(t0)]
    assert first[0]["Acct-Status-Type"] == "Accounting-On"
    assert first[0]["NAS-IP-Address"] == hotspot.host
    assert first[0]["NAS-Identifier"] == hotspot.name
    sessions = device.sessions(t0)
    assert len(sessions) > 1
    starts = first[1:]
    assert [s["Acct-Status-Type"] for s in starts] == ["Start"] * len(sessions)
    for got, session in zip(starts, sessions, strict=True):
        check_session(got, session, hotspot, t0)
        assert got["Event-Timestamp"] == int(t0)

    assert accountant.observe(t0 + 299) == []  # nothing due before the interim period
    t1 = t0 + 300
    updates = [read(r, dictionary) for r in accountant.observe(t1)]
    assert [u["Acct-Status-Type"] for u in updates] == ["Interim-Update"] * len(sessions)
    for got, session in zip(updates, sessions, strict=True):
        check_session(got, session, hotspot, t1)
        up, down = device.session_bytes(session, t1)
        assert total(got, "Acct-Input-Octets", "Acct-Input-Gigawords") == up > 0
        assert total(got, "Acct-Output-Octets", "Acct-Output-Gigawords") == down > up
        assert got["Acct-Output-Packets"] == device.session_packets(session, t1)[1]

    t2 = (t0 // slot_s + 1) * slot_s + 5  # the next slot: new sessions
    out = [read(r, dictionary) for r in accountant.observe(t2)]
    stops = [p for p in out if p["Acct-Status-Type"] == "Stop"]
    assert [p["Acct-Session-Id"] for p in stops] == [f"{s.id:08x}" for s in sessions]
    end = (t0 // slot_s + 1) * slot_s - 0.001  # the slot's end: when they left
    for got, session in zip(stops, sessions, strict=True):
        check_session(got, session, hotspot, end)
        up, down = device.session_bytes(session, end)
        assert total(got, "Acct-Input-Octets", "Acct-Input-Gigawords") == up
        assert total(got, "Acct-Output-Octets", "Acct-Output-Gigawords") == down
        assert got["Acct-Terminate-Cause"] in ("User-Request", "Idle-Timeout")
        assert got["Event-Timestamp"] == int(end)
        assert got["Acct-Delay-Time"] == int(t2 - end)
    new = [p for p in out if p["Acct-Status-Type"] == "Start"]
    assert [p["Acct-Session-Id"] for p in new] == [f"{s.id:08x}" for s in device.sessions(t2)]
    assert out.index(new[0]) > out.index(stops[-1])  # Stops first, as they happened
    causes = Counter(radius.terminate_cause(s) for s in device.sessions(t2 + 7 * 86_400))
    assert set(causes) <= {radius.TerminateCause.USER_REQUEST, radius.TerminateCause.IDLE_TIMEOUT}


def check_session(got: Decoded, session: Session, ap: SimAp, at: float) -> None:
    """The attributes naming a session: what the device's hotspot table shows."""
    assert got["Acct-Session-Id"] == f"{session.id:08x}"
    assert got["User-Name"] == session.user
    assert got["Calling-Station-Id"] == ":".join(f"{b:02X}" for b in session.mac)
    assert got["Framed-IP-Address"] == ".".join(map(str, session.address))
    assert got["NAS-IP-Address"] == ap.host and got["NAS-Identifier"] == ap.name
    assert got["Acct-Session-Time"] == int(at - session.login)


def test_reboot_and_power_cut(city: City, hotspot: SimAp, dictionary: Dictionary) -> None:
    """A reboot: Accounting-On, then the sessions again (a new login) without Stops. A
    power cut: nothing while dead, Accounting-On when power returns."""
    book = build_fault_book(city, clock=lambda: 0.0)
    accountant = Accountant([hotspot], {hotspot.id: "secret"}, faults=book, interim_s=300)
    slot_s = SLOT_MS // 1000
    t0 = (busy_instant(hotspot) // slot_s) * slot_s + 30
    accountant.observe(t0)
    hotspot.device.reboot(t0 + 60)
    try:
        out = [read(r, dictionary) for r in accountant.observe(t0 + 90)]
        kinds = [p["Acct-Status-Type"] for p in out]
        assert kinds[0] == "Accounting-On" and set(kinds[1:]) == {"Start"}
        assert all(p["Acct-Session-Time"] == 30 for p in out[1:])  # logged in at boot

        book.add("ap_down", hotspot.id, 600, start=t0 + 120)
        assert accountant.observe(t0 + 130) == []  # dead: sends nothing
        assert accountant.observe(t0 + 700) == []
        back = [read(r, dictionary) for r in accountant.observe(t0 + 725)]
        assert back[0]["Acct-Status-Type"] == "Accounting-On"
        assert "Stop" not in {p["Acct-Status-Type"] for p in back}
    finally:
        hotspot.device.cancel_reboot(t0 + 60)
        hotspot.device.cancel_reboot(t0 + 720)


def test_counters_never_move_back(hotspot: SimAp, dictionary: Dictionary) -> None:
    """A device's per-session estimate dips when its session count grows (an overload);
    a NAS counter cannot, and what the accountant sends does not."""
    slot_s = SLOT_MS // 1000
    t0 = (busy_instant(hotspot) // slot_s) * slot_s + 30
    accountant = Accountant([hotspot], {hotspot.id: "s"}, interim_s=60)
    accountant.observe(t0)
    interims = [read(r, dictionary) for r in accountant.observe(t0 + 60)]
    before = {p["Acct-Session-Id"]: p for p in interims}
    hotspot.device.set_condition("overload", "test", t0 + 100, t0 + 800)
    try:
        after = [read(r, dictionary) for r in accountant.observe(t0 + 120)]
        first = hotspot.device.sessions(t0 + 60)[0]
        dipped = hotspot.device.session_bytes(first, t0 + 120)[1]
    finally:
        hotspot.device.clear_condition("overload", "test")
    assert dipped < before[f"{first.id:08x}"]["Acct-Output-Octets"]  # the estimate dips
    updates = [p for p in after if p["Acct-Session-Id"] in before]
    assert updates
    for got in updates:
        old = before[got["Acct-Session-Id"]]
        assert got["Acct-Output-Octets"] >= old["Acct-Output-Octets"]
        assert got["Acct-Input-Octets"] >= old["Acct-Input-Octets"]


# --- over the wire ---------------------------------------------------------------------


class FakeServer:
    """A UDP socket that records requests and answers (with pyrad) those ``answer`` says."""

    def __init__(self, dictionary: Dictionary, secrets: dict[str, bytes]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.address: tuple[str, int] = self.sock.getsockname()
        self.dictionary = dictionary
        self.secrets = secrets  # by NAS-IP-Address

    def receive(self) -> tuple[bytes, tuple[str, int], Decoded]:
        data, source = self.sock.recvfrom(4096)
        nas = AcctPacket(packet=data, dict=self.dictionary)["NAS-IP-Address"][0]
        assert source[0] == nas, "sent from the AP's own address"
        return data, source, decode(data, self.secrets[nas], self.dictionary)

    def answer(self, data: bytes, source: tuple[str, int]) -> None:
        nas = AcctPacket(packet=data, dict=self.dictionary)["NAS-IP-Address"][0]
        request = AcctPacket(packet=data, secret=self.secrets[nas], dict=self.dictionary)
        self.sock.sendto(request.CreateReply().ReplyPacket(), source)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server(city: City, dictionary: Dictionary) -> Iterator[FakeServer]:
    secrets = {ap.host: radius_secret(city.seed, ap.credentials).encode() for ap in city.aps}
    fake = FakeServer(dictionary, secrets)
    yield fake
    fake.close()


def test_sent_from_each_ap_retransmitted_until_answered(city: City, server: FakeServer) -> None:
    aps = [ap for ap in city.aps if ap.hotspot][:3]
    now = max(busy_instant(ap) for ap in aps)  # a fixed instant: one set of sessions
    accountant = Accountant(aps, {ap.id: radius_secret(city.seed, ap.credentials) for ap in aps})
    stats = AccountingStats()

    def main(stop: asyncio.Event, ready: Callable[[], None]) -> Coroutine[Any, Any, None]:
        return serve_accounting(
            accountant,
            server.address,
            stop=stop,
            clock=lambda: now,
            stats=stats,
            tick_s=0.05,
            retry_after_s=0.3,
            ready=ready,
        )

    expected = {ap.host: {f"{s.id:08x}" for s in ap.device.sessions(now)} for ap in aps}
    started: dict[str, set[str]] = {ap.host: set() for ap in aps}
    first_on: dict[str, bytes] = {}
    with served_in_thread(main, "radius-sender"):
        while started != expected:
            data, source, got = server.receive()
            host = got["NAS-IP-Address"]
            if got["Acct-Status-Type"] == "Accounting-On":
                assert not started[host], "nothing overtakes the Accounting-On"
                if host not in first_on:
                    first_on[host] = data  # not answered: it must come again
                    continue
                assert data == first_on[host]  # same identifier and authenticator
            else:
                assert got["Acct-Status-Type"] == "Start"
                started[host].add(got["Acct-Session-Id"])
            server.answer(data, source)
    assert set(first_on) == {ap.host for ap in aps}
    assert stats.retransmitted >= len(aps) and stats.given_up == 0


def test_gives_up_after_three_tries(city: City, server: FakeServer) -> None:
    """A Start, Interim or Stop is sent three times at most; an Accounting-On until the
    server answers it (the AP's sessions wait behind it, so none is lost)."""
    ap = next(ap for ap in city.aps if ap.hotspot)
    accountant = Accountant([ap], {ap.id: radius_secret(city.seed, ap.credentials)})
    stats = AccountingStats()
    now = busy_instant(ap)
    sessions = ap.device.sessions(now)

    def main(stop: asyncio.Event, ready: Callable[[], None]) -> Coroutine[Any, Any, None]:
        return serve_accounting(
            accountant,
            server.address,
            stop=stop,
            clock=lambda: now,
            stats=stats,
            tick_s=0.05,
            retry_after_s=0.05,
            ready=ready,
        )

    starts: Counter[str] = Counter()
    with served_in_thread(main, "radius-sender"):
        on = [server.receive() for _ in range(5)]  # not answered: it keeps coming
        assert {got["Acct-Status-Type"] for _, _, got in on} == {"Accounting-On"}
        assert len({data for data, _, _ in on}) == 1
        server.answer(on[-1][0], on[-1][1])
        while sum(starts.values()) < 3 * len(sessions):  # never answered
            _, _, got = server.receive()
            if got["Acct-Status-Type"] == "Start":
                starts[got["Acct-Session-Id"]] += 1
        server.sock.settimeout(0.5)
        with pytest.raises(TimeoutError):  # nothing more: each given up after three
            server.receive()
    assert set(starts.values()) == {3} and len(starts) == len(sessions)
    assert stats.given_up == len(sessions)


def test_simulator_sends_accounting_when_told(city: City, server: FakeServer) -> None:
    """``run_simulator(radius=...)``: every hotspot AP announces itself, none other."""
    stats = AccountingStats()
    hotspots = {ap.host for ap in city.aps if ap.hotspot}

    def main(stop: asyncio.Event, ready: Callable[[], None]) -> Coroutine[Any, Any, None]:
        return run_simulator(
            city,
            stop=stop,
            ready=ready,
            control_port=None,
            radius=server.address,
            radius_stats=stats,
        )

    seen: set[str] = set()
    with served_in_thread(main, "simulated-city"):
        while seen != hotspots:
            data, source, got = server.receive()
            assert got["NAS-IP-Address"] in hotspots
            if got["Acct-Status-Type"] == "Accounting-On":
                seen.add(got["NAS-IP-Address"])
            server.answer(data, source)
    assert stats.sent >= len(hotspots)
