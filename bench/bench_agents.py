"""Server-side CPU per 1,000 SNMP requests: the simulator beside net-snmp's snmpd.

Both agents answer the same 15-OID GET (system group and ifIndex 1 of IF-MIB, which both
have) from the same client over loopback UDP; the figure is the agent process's own CPU
(utime + stime from /proc) over the measured requests, so the client's cost does not
count. v2c requests are pre-encoded and sent with a bounded window; v3 authPriv requests go
through pysnmp (slow, but only the agents are measured). snmpd is Debian's `snmpd`
package, started here on 127.0.0.1 with its own config; nothing leaves loopback.

    .venv/bin/python bench/bench_agents.py [--requests 20000] [--v3-requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from simulators import ber

OIDS = [
    "1.3.6.1.2.1.1.1.0",
    "1.3.6.1.2.1.1.2.0",
    "1.3.6.1.2.1.1.3.0",
    "1.3.6.1.2.1.1.4.0",
    "1.3.6.1.2.1.1.5.0",
    "1.3.6.1.2.1.1.6.0",
    "1.3.6.1.2.1.2.1.0",
    "1.3.6.1.2.1.2.2.1.2.1",
    "1.3.6.1.2.1.2.2.1.8.1",
    "1.3.6.1.2.1.2.2.1.10.1",
    "1.3.6.1.2.1.2.2.1.16.1",
    "1.3.6.1.2.1.31.1.1.1.1.1",
    "1.3.6.1.2.1.31.1.1.1.6.1",
    "1.3.6.1.2.1.31.1.1.1.10.1",
    "1.3.6.1.2.1.31.1.1.1.15.1",
]
TIME_LIMIT_S = 120.0
WINDOW = 64
V3_USER, V3_AUTH, V3_PRIV = "benchuser", "benchauthkey1", "benchprivkey1"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class _Client(asyncio.DatagramProtocol):
    def __init__(self, done: Callable[[], None]) -> None:
        self.done = done

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        self.done()


async def blast_v2c(targets: list[tuple[str, int, bytes]], total: int) -> tuple[int, float]:
    """Send ``total`` GETs round-robin over targets, at most WINDOW unanswered at a time."""
    loop = asyncio.get_running_loop()
    oids = [ber.parse_oid(o) for o in OIDS]
    packets = [
        (ber.encode_request(community, 0xA0, 1000 + i, oids), (host, port))
        for i, (host, port, community) in enumerate(targets)
    ]
    answered = 0
    slots = asyncio.Semaphore(WINDOW)
    all_answered = asyncio.Event()

    def done() -> None:
        nonlocal answered
        answered += 1
        slots.release()
        if answered >= total:
            all_answered.set()

    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Client(done), local_addr=("127.0.0.1", 0)
    )
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    started = time.monotonic()
    try:
        for i in range(total):
            try:
                await asyncio.wait_for(slots.acquire(), timeout=2.0)
            except TimeoutError:
                slots.release()  # a lost answer: free its slot and go on
            if time.monotonic() - started > TIME_LIMIT_S:
                break
            packet, addr = packets[i % len(packets)]
            transport.sendto(packet, addr)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_answered.wait(), timeout=3)
    finally:
        transport.close()
    return answered, time.monotonic() - started


async def query_v3(host: str, port: int, total: int, user: str, auth: str, priv: str) -> int:
    from pysnmp.hlapi.v3arch.asyncio import (
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        UsmUserData,
        get_cmd,
        usmAesCfb128Protocol,
        usmHMACSHAAuthProtocol,
    )

    engine = SnmpEngine()
    auth_data = UsmUserData(
        user, auth, priv, authProtocol=usmHMACSHAAuthProtocol, privProtocol=usmAesCfb128Protocol
    )
    target = await UdpTransportTarget.create((host, port), timeout=2, retries=0)
    varbinds = [ObjectType(ObjectIdentity(o)) for o in OIDS]
    ok = 0
    gate = asyncio.Semaphore(16)
    started = time.monotonic()

    async def one() -> None:
        nonlocal ok
        async with gate:
            if time.monotonic() - started > TIME_LIMIT_S:
                return
            err, status, _i, _vbs = await get_cmd(
                engine, auth_data, target, ContextData(), *varbinds, lookupMib=False
            )
            ok += not err and not status

    await asyncio.gather(*(one() for _ in range(total)))
    engine.close_dispatcher()
    return ok


def start_snmpd(workdir: Path, port: int) -> subprocess.Popen[bytes] | None:
    snmpd = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not Path(snmpd).exists():
        print("snmpd not installed (Debian package snmpd): skipping its column")
        return None
    conf = workdir / "snmpd.conf"
    conf.write_text(
        "rocommunity public 127.0.0.1\n"
        "dontLogTCPWrappersConnects yes\n"
        f'createUser {V3_USER} SHA "{V3_AUTH}" AES "{V3_PRIV}"\n'
        f"rouser {V3_USER} priv\n"
    )
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(workdir), "MIBS": ""}
    proc = subprocess.Popen(
        [snmpd, "-f", "-Lo", "-C", "-c", str(conf), f"udp:127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    return proc


def start_simulator(workdir: Path, aps: int, port: int) -> tuple[subprocess.Popen[bytes], dict]:
    inventory = workdir / "city.yaml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "citywifi",
            "--log-level",
            "WARNING",
            "simulate",
            "--aps",
            str(aps),
            "--snmp-port",
            str(port),
            "--base-address",
            "127.1.240.1",
            "--inventory-out",
            str(inventory),
        ],
    )
    deadline = time.monotonic() + 60
    while not inventory.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the simulator did not start")
        time.sleep(0.1)
    return proc, yaml.safe_load(inventory.read_text())


def measure(pid: int, run: Callable[[], int]) -> tuple[float, int]:
    before = cpu_s(pid)
    answered = run()
    return cpu_s(pid) - before, answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--aps", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--v3-requests", type=int, default=2_000)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-agents-"))
    sim_port, snmpd_port = free_udp_port("127.1.240.1"), free_udp_port("127.0.0.1")
    sim, doc = start_simulator(workdir, args.aps, sim_port)
    snmpd = start_snmpd(workdir, snmpd_port)
    creds = {c["id"]: c["snmp"] for c in doc["credentials"]}
    v2c = [
        (ap["host"], ap["snmp_port"], creds[ap["credentials"]]["community"].encode())
        for ap in doc["aps"]
        if creds[ap["credentials"]]["version"] == "2c"
    ]
    v3 = [
        (ap["host"], ap["snmp_port"], creds[ap["credentials"]])
        for ap in doc["aps"]
        if creds[ap["credentials"]]["version"] == "3"
    ]
    rows: list[tuple[str, str, float, int]] = []
    try:
        # Warm-up: the first request to each simulated AP builds its tables (once).
        asyncio.run(blast_v2c(v2c, len(v2c)))
        cpu, ok = measure(sim.pid, lambda: asyncio.run(blast_v2c(v2c, args.requests))[0])
        rows.append(("simulator", "v2c GET x15", cpu, ok))
        if snmpd is not None:
            target = [("127.0.0.1", snmpd_port, b"public")]
            cpu, ok = measure(snmpd.pid, lambda: asyncio.run(blast_v2c(target, args.requests))[0])
            rows.append(("snmpd", "v2c GET x15", cpu, ok))
        if v3:
            host, port, c = v3[0]
            cpu, ok = measure(
                sim.pid,
                lambda: asyncio.run(
                    query_v3(host, port, args.v3_requests, c["user"], c["auth_key"], c["priv_key"])
                ),
            )
            rows.append(("simulator", "v3 authPriv GET x15", cpu, ok))
        if snmpd is not None:
            cpu, ok = measure(
                snmpd.pid,
                lambda: asyncio.run(
                    query_v3("127.0.0.1", snmpd_port, args.v3_requests, V3_USER, V3_AUTH, V3_PRIV)
                ),
            )
            rows.append(("snmpd", "v3 authPriv GET x15", cpu, ok))
    finally:
        for proc in (sim, snmpd):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"{'agent':<10} {'request':<22} {'answered':>9} {'CPU s':>7} {'ms CPU / 1,000':>15}")
    for agent, request, cpu, ok in rows:
        per_k = cpu / ok * 1000 * 1000 if ok else float("nan")
        print(f"{agent:<10} {request:<22} {ok:>9} {cpu:>7.2f} {per_k:>15.1f}")


if __name__ == "__main__":
    main()
