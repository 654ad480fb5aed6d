"""RADIUS accounting: packets per second through a real ``citywifi radius`` on one core.

A plain script, not a test: it prints figures for docs/benchmarks.md ("RADIUS
accounting receiver") and asserts only that every session arrived whole, never a time.

    .venv/bin/python bench/bench_radius.py                       # 30,000 packets, SQLite
    .venv/bin/python bench/bench_radius.py --packets 60000 --window 64 128

The receiver is the real process (``python -m citywifi radius``) on a new SQLite
inventory of 200 hotspot APs, pinned to CPU 0 (its event loop and its database thread
share that core); the client runs here, pinned to CPU 1. The traffic is what hotspots
send: sessions of Start, three Interim-Updates and Stop, from 200 NASes, every client
MAC different, half of the sessions with a User-Name; packets are encoded before the
clock starts, so the client costs a send and a receive each. The client keeps
``--window`` requests in flight (a new one for each answer), 2 s without an answer
counts as a loss, and the run is bounded in packets and in time.

Two baselines in the same run: the same client against a bare UDP echo process (asyncio,
same core, answering each datagram with 20 bytes without looking at it: what Python,
asyncio and loopback UDP cost before any RADIUS work), and the receiver's decode-and-
verify alone, in this process, on the same packets (pyrad, no database). The receiver's
CPU time is read from /proc before and after the run: CPU per packet.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import select
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from city_processes import Children, free_port, raise_on_signals
from pyrad import packet as rp
from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from accounting.packets import Accepted, Nas, decode, dictionary
from core.settings import Settings
from inventory.db import open_inventory
from inventory.models import AccessPoint, AccountingSession, CredentialProfile, Site
from inventory.secretbox import SecretBox, generate_key

SECRET = "bench-radius-secret"
APS = 200
LOSS_AFTER_S = 2.0
TIME_LIMIT_S = 300.0
SERVER_CPU = 0
SO_RCVBUFFORCE = 33  # Linux; not in Python's socket module
CLIENT_CPU = 1

ECHO = """
import asyncio, socket, sys
REPLY = bytes(20)
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport): self.t = transport
    def datagram_received(self, data, addr): self.t.sendto(data[:2] + REPLY[2:], addr)
async def main():
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        Echo, local_addr=("127.0.0.1", int(sys.argv[1])))
    sock = transport.get_extra_info("socket")
    try:
        sock.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE (Linux)
    except OSError:
        pass
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def nas_address(n: int) -> str:
    return f"127.20.{n // 250}.{n % 250 + 1}"


def seed(settings: Settings, box: SecretBox) -> None:
    """A new inventory: one site per 4 APs, one hotspot credential profile."""
    engine = open_inventory(settings.db_url, create=True)
    with Session(engine) as session, session.begin():
        session.add(
            CredentialProfile(
                id="hotspot",
                snmp_version="2c",
                snmp_community=box.seal("bench-community"),
                radius_secret=box.seal(SECRET),
            )
        )
        for s in range(APS // 4):
            session.add(
                Site(
                    id=f"s{s}",
                    name=f"s{s}",
                    lat=-6.2,
                    lon=106.8,
                    kind="park",
                    coverage_radius_m=80,
                    status="active",
                )
            )
        session.flush()
        for n in range(APS):
            session.add(
                AccessPoint(
                    id=f"ap{n}",
                    site_id=f"s{n // 4}",
                    name=f"ap{n}",
                    host=nas_address(n),
                    snmp_port=161,
                    ssh_port=22,
                    profile="mikrotik",
                    credential_id="hotspot",
                    enabled=True,
                )
            )
    engine.dispose()


def traffic(packets: int, seed_value: int = 7) -> list[bytes]:
    """Sessions of Start, 3 Interim-Updates, Stop; in groups of 2,000 sessions, each
    step of the group before the next, so a session's packets go out in order."""
    rng = random.Random(seed_value)
    sessions = max(1, packets // 5)
    out: list[bytes] = []
    t0 = int(time.time()) - 3600
    for group in range(0, sessions, 2000):
        members = range(group, min(sessions, group + 2000))
        people = {
            s: (
                ":".join(f"{rng.randrange(256):02x}" for _ in range(6)),
                f"user{rng.randrange(10**6)}" if rng.random() < 0.5 else None,
            )
            for s in members
        }
        for step in range(5):
            status = "Start" if step == 0 else "Stop" if step == 4 else "Interim-Update"
            for s in members:
                mac, user = people[s]
                pkt = rp.AcctPacket(secret=SECRET.encode(), dict=dictionary(), id=len(out) % 256)
                pkt["Acct-Status-Type"] = status
                pkt["Acct-Session-Id"] = f"{s:08x}"
                pkt["NAS-IP-Address"] = nas_address(s % APS)
                pkt["NAS-Identifier"] = f"ap{s % APS}"
                pkt["Calling-Station-Id"] = mac
                if user:
                    pkt["User-Name"] = user
                pkt["Event-Timestamp"] = t0 + step * 300
                if step:
                    pkt["Acct-Session-Time"] = step * 300
                    pkt["Acct-Input-Octets"] = step * 1_000_003
                    pkt["Acct-Output-Octets"] = step * 7_000_001
                if step == 4:
                    pkt["Acct-Terminate-Cause"] = "User-Request"
                out.append(pkt.RequestPacket())
    return out[:packets] if len(out) > packets else out


@dataclass
class Run:
    sent: int
    answered: int
    lost: int
    wall_s: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.answered / self.wall_s

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


def drive(port: int, datagrams: list[bytes], window: int) -> Run:
    """Keep ``window`` requests in flight (ids are the index mod 256, so window < 256)."""
    assert window < 256
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Room for a whole window of answers (loopback counts ~2 kB a datagram): beyond
    # net.core.rmem_max when allowed (root), else as much as it allows.
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    flying: dict[int, float] = {}  # id -> sent at
    latencies: list[float] = []
    nxt = answered = lost = 0
    started = time.perf_counter()
    deadline = started + TIME_LIMIT_S
    while (nxt < len(datagrams) or flying) and time.perf_counter() < deadline:
        while nxt < len(datagrams) and len(flying) < window:
            ident = datagrams[nxt][1]
            if ident in flying:
                break
            flying[ident] = time.perf_counter()
            sock.send(datagrams[nxt])
            nxt += 1
        ready, _, _ = select.select([sock], [], [], 0.05)
        now = time.perf_counter()
        if ready:
            while True:
                try:
                    reply = sock.recv(4096)
                except BlockingIOError:
                    break
                sent_at = flying.pop(reply[1], None)
                if sent_at is not None:
                    answered += 1
                    latencies.append((now - sent_at) * 1000)
        for ident, sent_at in list(flying.items()):
            if now - sent_at > LOSS_AFTER_S:
                del flying[ident]
                lost += 1
    wall = time.perf_counter() - started
    sock.close()
    return Run(nxt, answered, lost, wall, latencies)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def decode_only(datagrams: list[bytes], box_secret: bytes) -> float:
    """µs per packet of the receiver's decode-and-verify, no database."""
    nases = {
        nas_address(n): Nas(f"ap{n}", f"s{n // 4}", None, secret=box_secret) for n in range(APS)
    }

    def lookup(ip: str | None, _ident: str | None) -> Nas | None:
        return nases.get(ip or "")

    started = time.perf_counter()
    for datagram in datagrams:
        assert isinstance(decode(datagram, lookup, time.time()), Accepted)
    return (time.perf_counter() - started) / len(datagrams) * 1e6


def pin(pid: int, cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(pid, {cpu})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=30_000)
    parser.add_argument("--window", type=int, nargs="+", default=[32, 128])
    args = parser.parse_args()
    raise_on_signals()
    pin(0, CLIENT_CPU)

    work = Path(tempfile.mkdtemp(prefix="bench-radius-"))
    key = generate_key()
    box = SecretBox([key], "bench")
    repo = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYWIFI_")}
    env |= {"CITYWIFI_SECRET_KEY": key, "PYTHONPATH": str(repo), "CITYWIFI_LOG_LEVEL": "WARNING"}
    print(f"# {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()},"
          f" SQLite {sqlite3.sqlite_version}, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print("encoding packets ...", flush=True)
    all_traffic = traffic(args.packets)
    print(f"decode + verify alone (pyrad, this process): "
          f"{decode_only(all_traffic, SECRET.encode()):.1f} µs/packet")  # fmt: skip

    children = Children(work, env, work)
    try:
        echo_port = free_port(socket.SOCK_DGRAM, "127.0.0.1")
        echo = subprocess.Popen(
            [sys.executable, "-c", ECHO, str(echo_port)],
            stdout=subprocess.PIPE,
            cwd=work,
            start_new_session=True,  # its own group: stop_all ends it
        )
        children.procs.append(echo)
        assert echo.stdout is not None and echo.stdout.readline().strip() == b"ready"
        pin(echo.pid, SERVER_CPU)
        print("\n| target | window | packets | answered | lost | packets/s | p50 ms | p99 ms |"
              " server CPU µs/packet |")  # fmt: skip
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for window in args.window:
            cpu0 = cpu_seconds(echo.pid)
            run = drive(echo_port, all_traffic, window)
            cpu = (cpu_seconds(echo.pid) - cpu0) / max(1, run.answered) * 1e6
            print(f"| bare UDP echo (baseline) | {window} | {run.sent:,} | {run.answered:,} |"
                  f" {run.lost} | {run.rate:,.0f} | {run.pct(0.5):.2f} | {run.pct(0.99):.2f} |"
                  f" {cpu:.0f} |", flush=True)  # fmt: skip

        for window in args.window:
            data = work / f"data-{window}"
            data.mkdir()
            settings = Settings(data_dir=data, secret_key=key)
            url = settings.db_url
            seed(settings, box)
            port = free_port(socket.SOCK_DGRAM, "127.0.0.1")
            proc = children.start(
                f"radius-{window}",
                ["radius", "--port", str(port)],
                {"CITYWIFI_DATA_DIR": str(data)},
            )
            pin(proc.pid, SERVER_CPU)
            log = work / f"radius-{window}.log"
            limit = time.monotonic() + 60
            while "accounting on udp" not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > limit:
                    raise SystemExit(f"error: the receiver did not start:\n{log.read_text()}")
                time.sleep(0.2)
            for task in Path(f"/proc/{proc.pid}/task").iterdir():  # its threads too
                pin(int(task.name), SERVER_CPU)
            cpu0 = cpu_seconds(proc.pid)
            run = drive(port, all_traffic, window)
            cpu = (cpu_seconds(proc.pid) - cpu0) / max(1, run.answered) * 1e6
            print(f"| citywifi radius, SQLite |"
                  f" {window} | {run.sent:,} | {run.answered:,} | {run.lost} |"
                  f" {run.rate:,.0f} | {run.pct(0.5):.2f} | {run.pct(0.99):.2f} | {cpu:.0f} |",
                  flush=True)  # fmt: skip
            engine = open_inventory(url, create=False)
            with Session(engine) as session:
                stored = session.scalar(sql_select(func.count()).select_from(AccountingSession))
                closed = session.scalar(
                    sql_select(func.count())
                    .select_from(AccountingSession)
                    .where(AccountingSession.state == "closed")
                )
            engine.dispose()
            expected = len(all_traffic) // 5
            if run.lost == 0:
                assert stored == expected and closed == expected, (stored, closed, expected)
            print(f"  sessions stored {stored:,}, closed {closed:,} (expected {expected:,})")
    finally:
        children.stop_all()
        shutil.rmtree(work, ignore_errors=True)  # its databases and logs: nothing left behind


if __name__ == "__main__":
    main()
