"""Simulated hotspots → ``citywifi radius`` → database → API, on real sockets and real
processes, with the personal data on the wire as the witness's list.

The simulator (``citywifi simulate --radius``) sends its MikroTik APs' accounting through
a tap (tests/fixtures/radius_tap.py: a relay that decodes every request, a third RADIUS
implementation beside the simulator's encoder and the receiver's pyrad) to the receiver
process. The tap is what makes the checks exact: every session the simulator announced is
stored once, with the octets and session time of the newest packet sent for it, and the
API shows those same numbers; and the MACs and user names that were on the wire are
registered with the personal-data scan (tests/fixtures/secret_scan.py), which watches
every API response and log record of the test process, then the SQLite file and the
receiver's own log (at DEBUG): none of them may appear, in any spelling. An AP's power cut
and return (the simulator's control API) makes it send Accounting-On, and the receiver
closes what that AP had open.

The exact comparisons run once the simulator has stopped (nothing in flight); while it
runs, interim updates every two seconds would race any two reads.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from core.access import Role
from core.settings import Settings
from inventory import import_file
from inventory.db import open_inventory, transaction
from inventory.engine import sqlite_path
from inventory.models import AccountingSession
from inventory.secretbox import load_box
from simulators.city import City, build_city
from simulators.run import write_inventory
from tests.fixtures.accounts import bearer, user_token
from tests.fixtures.ports import free_port
from tests.fixtures.processes import Proc, citywifi_env, wait_for
from tests.fixtures.radius_tap import RadiusTap, TappedPacket
from tests.fixtures.secret_scan import PersonalData, mac_spellings, witness_file

# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

BASE = "127.1.215.1"
APS = 40
SEED = 12
INTERIM_S = 2  # simulated seconds between interim updates (real ones: --speed 1)


Key = tuple[str, str]  # (AP id, Acct-Session-Id)


def ap_of(city: City) -> dict[str, str]:
    """NAS-IP-Address → AP id."""
    return {ap.host: ap.id for ap in city.aps}


def stored(engine: Any) -> dict[tuple[str, str, int], AccountingSession]:
    with transaction(engine) as session:
        rows = session.scalars(select(AccountingSession)).all()
        for row in rows:
            session.expunge(row)
    return {(r.ap_id, r.nas_session_id, r.generation): r for r in rows}


def newest(packets: list[TappedPacket], hosts: dict[str, str]) -> dict[Key, TappedPacket]:
    """Per session, the packet the receiver must have kept: the newest one with counters
    (the highest session time, the later of equals; a Start carries none)."""
    out: dict[Key, TappedPacket] = {}
    for packet in packets:
        if packet.session_id is None or packet.input_octets is None or packet.nas_ip is None:
            continue
        key = (hosts[packet.nas_ip], packet.session_id)
        kept = out.get(key)
        if kept is None or (packet.session_time or 0) >= (kept.session_time or 0):
            out[key] = packet
    return out


def announced(packets: list[TappedPacket], hosts: dict[str, str]) -> set[Key]:
    return {
        (hosts[p.nas_ip], p.session_id)
        for p in packets
        if p.session_id is not None and p.nas_ip is not None
    }


def register(tap: RadiusTap, personal_data: PersonalData) -> tuple[set[str], set[str]]:
    macs, names = tap.personal_data()
    personal_data.macs(macs, "sent by the simulated hotspots")
    personal_data.names(names, "sent by the simulated hotspots")
    return macs, names


def consistent_with_device(city: City, packet: TappedPacket, hosts: dict[str, str]) -> bool:
    """The packet's counters are what the simulated device shows for that session: its
    bytes at the instant of the Event-Timestamp (sent as whole seconds, so within that
    second), never less than an earlier packet said."""
    ap = next(a for a in city.aps if a.id == hosts[packet.nas_ip or ""])
    ts = packet.event_timestamp
    assert ts is not None and packet.session_id is not None
    device = ap.device
    session = next(
        (s for s in device.sessions(ts) if f"{s.id:08x}" == packet.session_id),
        None,
    )
    if session is None:
        session = next(
            (s for s in device.sessions(ts + 0.999) if f"{s.id:08x}" == packet.session_id),
            None,
        )
    if session is None:
        return False
    samples = [device.session_bytes(session, ts + f) for f in (0.0, 0.25, 0.5, 0.75, 0.999)]
    ups, downs = [up for up, _ in samples], [down for _, down in samples]
    up_ok = min(ups) * 0.98 <= (packet.input_octets or 0) <= max(ups) * 1.02 + 1
    down_ok = min(downs) * 0.98 <= (packet.output_octets or 0) <= max(downs) * 1.02 + 1
    return up_ok and down_ok and abs((packet.session_time or 0) - (ts - session.login)) <= 1


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def api_sessions(client: TestClient, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every session the API lists for ``params``, page by page."""
    rows: list[dict[str, Any]] = []
    while True:
        response = client.get(
            "/api/v1/sessions",
            params={**params, "limit": 200, "offset": len(rows)},
            headers=bearer(token),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        if len(rows) >= body["count"] or not body["data"]:
            return rows


def quiet(tap: RadiusTap) -> list[TappedPacket] | None:
    """Every packet the tap saw, once half a second passed without a new one."""
    before = tap.snapshot()
    time.sleep(0.5)
    after = tap.snapshot()
    return after if len(after) == len(before) else None


def differences(
    packets: list[TappedPacket],
    hosts: dict[str, str],
    rows: dict[tuple[str, str, int], AccountingSession],
) -> list[str]:
    """Where the newest packet sent for a session and its stored row (generation 0)
    differ: octets, gigawords included, and session time."""
    wrong = []
    for (ap, sid), packet in newest(packets, hosts).items():
        row = rows.get((ap, sid, 0))
        want = (packet.input_octets, packet.output_octets, packet.session_time)
        got = None if row is None else (row.input_octets, row.output_octets, row.duration_s)
        if got != want:
            wrong.append(f"{ap}/{sid}: stored {got}, sent {want}")
    return wrong


def metrics(port: int) -> dict[str, float]:
    """The receiver's ``citywifi_radius_packets_total`` by result."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("citywifi_radius_packets_total{"):
            labels, value = line.rsplit(" ", 1)
            out[labels.split('result="')[1].split('"')[0]] = float(value)
    return out


def test_accounting_from_the_city_to_the_api(
    spawn: Callable[..., Proc], tmp_path: Path, personal_data: PersonalData
) -> None:
    state = tmp_path / "state"
    settings = Settings(data_dir=state)
    snmp_port = free_port(socket.SOCK_DGRAM, BASE)
    city = build_city(APS, SEED, base_address=BASE, snmp_port=snmp_port)
    hosts = ap_of(city)
    hotspots = [ap for ap in city.aps if ap.hotspot]
    assert len(hotspots) >= 5, "the city needs hotspot APs to account for"
    inventory = tmp_path / "city.yaml"
    write_inventory(city, inventory)
    engine = open_inventory(settings.db_url, create=True)
    import_file(engine, inventory, load_box(settings))
    admin = user_token(engine)
    planner = user_token(engine, "planner", Role.PLANNER)

    radius_port = free_port(socket.SOCK_DGRAM)
    metrics_port = free_port()
    env = citywifi_env(state) | {"CITYWIFI_LOG_LEVEL": "DEBUG"}
    receiver = spawn(
        ["radius", "--port", str(radius_port), "--metrics-port", str(metrics_port)], env
    )
    wait_for(
        lambda: "accounting on udp" in receiver.output() or receiver.popen.poll() is not None,
        30,
        "the receiver",
    )
    assert receiver.popen.poll() is None, receiver.output()

    with RadiusTap(("127.0.0.1", radius_port)) as tap:
        control = free_port()
        simulator = spawn(
            [
                "simulate", "--aps", str(APS), "--seed", str(SEED),
                "--snmp-port", str(snmp_port), "--base-address", BASE, "--ssh-aps", "0",
                "--control-port", str(control),
                "--radius", f"127.0.0.1:{tap.port}", "--radius-interim", str(INTERIM_S),
            ],
            citywifi_env(tmp_path / "sim"),
        )  # fmt: skip

        # Sessions appear: every announced one stored, each updated at least once.
        def all_stored_and_updated() -> bool:
            packets = tap.snapshot()
            keys = announced(packets, hosts)
            updated = newest(packets, hosts)
            rows = stored(engine)
            have = {(ap, sid) for ap, sid, _ in rows}
            return bool(keys) and keys <= have and keys <= set(updated)

        wait_for(
            lambda: all_stored_and_updated() or simulator.popen.poll() is not None,
            60,
            "every announced session stored and updated",
        )
        assert simulator.popen.poll() is None, simulator.output()
        macs, names = register(tap, personal_data)
        assert macs and names

        with TestClient(create_app(settings)) as client:
            listed = api_sessions(client, admin)
            assert {(r["ap"], r["state"]) for r in listed} >= {
                (ap, "open") for ap, _ in announced(tap.snapshot(), hosts)
            }
            assert all(r["station_hash"] for r in listed)  # an admin sees the hashes

            # A power cut and return: Accounting-On, and the AP's open sessions close.
            rows = stored(engine)
            open_per_ap: dict[str, set[tuple[str, str, int]]] = {}
            for key, row in rows.items():
                if row.state == "open":
                    open_per_ap.setdefault(row.ap_id, set()).add(key)
            target = max(sorted(open_per_ap), key=lambda ap: len(open_per_ap[ap]))
            was_open = open_per_ap[target]
            host = next(ap.host for ap in city.aps if ap.id == target)
            fault = httpx.post(
                f"http://127.0.0.1:{control}/faults",
                json={"kind": "ap_down", "target": target, "duration_s": 600},
                timeout=5,
            )
            assert fault.status_code == 201, fault.text
            time.sleep(0.5)  # what was already on its way arrives
            dead_from = len(tap.snapshot())
            time.sleep(2 * INTERIM_S)
            assert not [p for p in tap.snapshot()[dead_from:] if p.nas_ip == host], (
                "a dead AP sent accounting"
            )
            back_at = len(tap.snapshot())
            ended = httpx.delete(
                f"http://127.0.0.1:{control}/faults/{fault.json()['id']}", timeout=5
            )
            assert ended.status_code == 204, ended.text

            def closed_by_reboot() -> bool:
                now_rows = stored(engine)
                return all(now_rows[k].state == "closed" for k in was_open)

            wait_for(closed_by_reboot, 30, f"the sessions of {target} closed by its reboot")
            after = tap.snapshot()[back_at:]
            assert next(p.status for p in after if p.nas_ip == host) == "Accounting-On"
            now_rows = stored(engine)
            for key in was_open:
                assert now_rows[key].terminate_cause == "NAS-Reboot"
                assert now_rows[key].stopped_at == now_rows[key].updated_at

            # Stop the city: with nothing in flight, what is stored is what was last sent.
            simulator.stop()
            tap_packets = wait_for(lambda: quiet(tap), 10, "the tap to fall silent")
            # The cut AP's sessions after its reboot are left out: whether a NAS reusing
            # a closed session's id makes a new generation is inventory.sessions' test.
            compared = [p for p in tap_packets[:back_at] if p.nas_ip] + [
                p for p in tap_packets[back_at:] if p.nas_ip != host
            ]
            wait_for(
                lambda: differences(compared, hosts, stored(engine)) == [] or None,
                30,
                "the receiver to store the newest packet of every session",
            )
            rows = stored(engine)
            sent = newest(tap_packets[:back_at], hosts)
            assert sent and all(
                consistent_with_device(city, p, hosts)
                for p in newest([p for p in tap_packets if p.nas_ip != host], hosts).values()
            ), "a packet's counters differ from what the simulated device shows"
            for key in was_open:
                packet = sent[key[:2]]
                assert (rows[key].input_octets, rows[key].output_octets) == (
                    packet.input_octets,
                    packet.output_octets,
                ), "the cut AP's sessions kept their last counters"
            stops = {
                (hosts[p.nas_ip], p.session_id)
                for p in tap_packets
                if p.status == "Stop" and p.nas_ip and p.session_id
            }
            for ap, sid in stops:
                assert rows[(ap, sid, 0)].state == "closed"

            # The API shows what is stored: the same octets, times and states.
            macs, names = register(tap, personal_data)
            listed = api_sessions(client, admin)
            assert len(listed) == len(rows)
            by_id = {r.id: r for r in rows.values()}
            for item in listed:
                row = by_id[item["id"]]
                assert (item["ap"], item["bytes_up"], item["bytes_down"], item["state"]) == (
                    row.ap_id,
                    row.input_octets,
                    row.output_octets,
                    row.state,
                )
                assert item["duration_s"] == row.duration_s
            as_planner = api_sessions(client, planner, ap=target)
            assert as_planner and all(r["station_hash"] is None for r in as_planner)
            now = time.time()
            summary = client.get(
                "/api/v1/sessions/summary",
                params={"by": "ap", "start": iso(now - 2 * 86_400), "end": iso(now + 86_400)},
                headers=bearer(admin),
            )
            assert summary.status_code == 200, summary.text
            per_ap = {r["group"]: r for r in summary.json()["data"]}
            for ap in {row.ap_id for row in rows.values()}:
                mine = [r for r in rows.values() if r.ap_id == ap]
                assert per_ap[ap]["sessions"] == len(mine)
                assert per_ap[ap]["bytes_up"] == sum(r.input_octets for r in mine)
                assert per_ap[ap]["bytes_down"] == sum(r.output_octets for r in mine)
                assert 1 <= per_ap[ap]["devices"] <= len(mine)

    counts = metrics(metrics_port)
    for dropped in ("malformed", "unknown_nas", "bad_authenticator", "no_secret"):
        assert counts.get(dropped, 0) == 0, counts
    assert counts["started"] >= len({(ap, sid) for ap, sid, _ in rows})
    assert counts["nas_reset"] >= 1

    # The witness: nothing sent as personal data in the database file or the receiver's
    # log (responses and log records of this process were watched as they happened).
    receiver.stop()
    engine.dispose()
    files = [p for p in state.iterdir() if p.name.startswith("inventory.sqlite")]
    assert files or sqlite_path(settings.db_url) is None, list(state.iterdir())
    for path in [*files, receiver.log_path]:
        witness_file(path)
        data = path.read_bytes()
        assert personal_data.found_in(data) == [], path.name
        if path in files:
            raw = [m for m in macs for mac in [bytes.fromhex(_hex(m))] if mac in data]
            assert not raw, f"{len(raw)} MACs as raw bytes in {path.name}"
    assert all(mac_spellings(m) for m in macs)


def _hex(mac: str) -> str:
    return "".join(c for c in mac if c.isalnum())
