"""Benchmark the simulated SSH CLIs next to a full SNMP city, as the simulator runs them.

A plain script, not a test: it prints figures for docs/benchmarks.md. A child process
serves ``--aps`` SNMP agents and ``--ssh`` RouterOS CLIs on one event loop (the shape
``citywifi demo`` will have); this process drives real netmiko sessions against it
(login, three commands, disconnect) and reads the child's CPU time from /proc, so server
and client costs are reported separately.

    .venv/bin/python bench/bench_ssh.py                          # 2,000 APs, 200 CLIs
    .venv/bin/python bench/bench_ssh.py --sequential 10 --concurrent 50 --workers 10
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from multiprocessing.connection import Connection

from netmiko import ConnectHandler

from simulators.city import build_city
from simulators.run import run_simulator
from simulators.ssh import SshAp, serve_ssh, ssh_aps_for

COMMANDS = (
    "/interface wireless registration-table print count-only",
    "/ip hotspot active print count-only",
    "/system resource print",
)
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def serve(aps: int, ssh: int, base: str, snmp_port: int, ssh_port: int, pipe: Connection) -> None:
    """Child: build the city, serve SNMP and SSH on one loop, report start times."""
    city = build_city(aps, seed=11, base_address=base, snmp_port=snmp_port)
    ssh_aps = ssh_aps_for(city, limit=ssh)

    async def main() -> None:
        stop = asyncio.Event()
        snmp_ready = asyncio.Event()
        started = time.perf_counter()
        snmp = asyncio.create_task(run_simulator(city, stop=stop, ready=snmp_ready.set))
        await snmp_ready.wait()
        snmp_s = time.perf_counter() - started
        ssh_started = time.perf_counter()
        ssh_ready = asyncio.Event()
        cli = asyncio.create_task(serve_ssh(ssh_aps, port=ssh_port, stop=stop, ready=ssh_ready.set))
        await ssh_ready.wait()
        pipe.send((snmp_s, time.perf_counter() - ssh_started, ssh_aps))
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        stop.set()
        await asyncio.gather(snmp, cli)

    asyncio.run(main())


def session(ap: SshAp, port: int) -> tuple[float, float]:
    """One netmiko session (login, COMMANDS, disconnect); (wall s, this thread's CPU s)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    with ConnectHandler(
        device_type="mikrotik_routeros",
        host=ap.host,
        port=port,
        username=ap.username,
        password=ap.password,
        conn_timeout=20,
        auth_timeout=20,
        banner_timeout=20,
        fast_cli=True,
    ) as conn:
        for command in COMMANDS:
            conn.send_command(command, read_timeout=20)
    return time.perf_counter() - wall, time.thread_time() - cpu


def summarise(label: str, walls: list[float], cpus: list[float], elapsed: float) -> None:
    walls.sort()
    print(
        f"{label}: {len(walls)} sessions in {elapsed:.1f} s ({len(walls) / elapsed:.1f}/s); "
        f"wall median {statistics.median(walls):.2f} s, p95 {walls[int(len(walls) * 0.95) - 1]:.2f}"
        f" s; calling-thread CPU median {statistics.median(cpus) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=2000)
    parser.add_argument("--ssh", type=int, default=200)
    parser.add_argument("--sequential", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--budget", type=float, default=120, help="seconds for the concurrent run")
    args = parser.parse_args()

    base = f"127.1.{random.randint(0, 7) * 8 + 64}.1"  # room for 2,000 hosts in the /16
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((base, 0))
        ssh_port = probe.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((base, 0))
        snmp_port = probe.getsockname()[1]

    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(
        target=serve, args=(args.aps, args.ssh, base, snmp_port, ssh_port, child), daemon=True
    )
    proc.start()
    try:
        if not parent.poll(120):
            raise SystemExit("the simulator did not start within 120 s")
        snmp_s, ssh_s, aps = parent.recv()
        assert proc.pid is not None
        print(
            f"{args.aps} SNMP agents up in {snmp_s:.2f} s; {len(aps)} SSH servers in {ssh_s:.3f} s"
        )
        rss_kib = 0
        with open(f"/proc/{proc.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    rss_kib = int(line.split()[1])
        print(f"simulator RSS after start: {rss_kib / 1024:.0f} MiB")

        server_cpu, client_cpu = cpu_seconds(proc.pid), cpu_seconds(os.getpid())
        walls, cpus = [], []
        started = time.perf_counter()
        for n in range(args.sequential):
            wall, cpu = session(aps[n % len(aps)], ssh_port)
            walls.append(wall)
            cpus.append(cpu)
        elapsed = time.perf_counter() - started
        summarise("sequential", walls, cpus, elapsed)
        used = cpu_seconds(proc.pid) - server_cpu
        client = cpu_seconds(os.getpid()) - client_cpu
        print(
            f"  simulator CPU per session: {used / args.sequential * 1000:.1f} ms; "
            f"client process CPU per session: {client / args.sequential * 1000:.0f} ms"
        )

        server_cpu, client_cpu = cpu_seconds(proc.pid), cpu_seconds(os.getpid())
        walls, cpus, failures = [], [], 0
        started = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            futures = [
                pool.submit(session, aps[n % len(aps)], ssh_port) for n in range(args.concurrent)
            ]
            for future in as_completed(futures, timeout=args.budget):
                try:
                    wall, cpu = future.result()
                except Exception as exc:  # count and go on: a figure, not a test
                    failures += 1
                    print(f"  failed: {type(exc).__name__}: {str(exc)[:120]}")
                    continue
                walls.append(wall)
                cpus.append(cpu)
        elapsed = time.perf_counter() - started
        summarise(f"concurrent ({args.workers} workers)", walls, cpus, elapsed)
        used = cpu_seconds(proc.pid) - server_cpu
        client = cpu_seconds(os.getpid()) - client_cpu
        done = max(1, len(walls))
        print(
            f"  simulator CPU per session: {used / done * 1000:.1f} ms; client process CPU per"
            f" session: {client / done * 1000:.0f} ms; failures: {failures}"
        )
    finally:
        parent.send("stop")
        proc.join(30)
        if proc.is_alive():
            proc.kill()


if __name__ == "__main__":
    main()
