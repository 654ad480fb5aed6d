"""Benchmark the collector's SNMP cost: CPU per 15-OID GET poll, v2c vs v3 authPriv.

A plain script, not a test. A small simulated city is served from a background thread
(its own event loop); the collector's NetworkScraper polls it from the main thread, and
only the main thread's CPU time is counted (``time.thread_time``), so the simulator's
share of the work is left out. Every poll is bounded by the scraper's timeout and the
whole run by ``--max-seconds``.

    .venv/bin/python bench/bench_collector_v3.py                 # 60 APs, 20 rounds
    .venv/bin/python bench/bench_collector_v3.py --aps 150 --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import socket
import threading
import time

from collector.snmp import NetworkScraper, SnmpTarget, build_target
from simulators.agent import SnmpAgentProtocol
from simulators.city import City, SimAp, build_city
from simulators.responder import Responder

OIDS = [
    "1.3.6.1.2.1.1.3.0",
    "1.3.6.1.2.1.1.5.0",
    "1.3.6.1.2.1.25.3.3.1.2.1",
    *(
        f"{column}.{index}"
        for index in (1, 2, 3)
        for column in (
            "1.3.6.1.2.1.2.2.1.8",
            "1.3.6.1.2.1.31.1.1.1.6",
            "1.3.6.1.2.1.31.1.1.1.10",
        )
    ),
    "1.3.6.1.2.1.2.2.1.14.1",
    "1.3.6.1.2.1.2.2.1.14.2",
    "1.3.6.1.2.1.2.2.1.14.3",
]
assert len(OIDS) == 15


def serve(city: City) -> tuple[asyncio.AbstractEventLoop, asyncio.Event, threading.Thread]:
    """Serve every AP (v3 APs with their USM engine) from a daemon thread."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()

    async def main() -> None:
        transports = []
        for ap in city.aps:
            responder = Responder(ap.mib, ap.community.encode(), usm=ap.usm)
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(SnmpAgentProtocol, responder),
                local_addr=(ap.host, ap.snmp_port),
            )
            transports.append(transport)
        ready.set()
        await stop.wait()
        for transport in transports:
            transport.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(30):
        raise SystemExit("the simulated city did not start")
    return loop, stop, thread


def target(ap: SimAp) -> SnmpTarget:
    if ap.v3 is None:
        return build_target(
            ap.host, ap.snmp_port, version="2c", community=ap.community, timeout_s=2, retries=1
        )
    return build_target(
        ap.host,
        ap.snmp_port,
        version="3",
        timeout_s=2,
        retries=1,
        user=ap.v3.user,
        auth_protocol=ap.v3.auth_protocol,
        auth_key=ap.v3.auth_key,
        priv_protocol=ap.v3.priv_protocol,
        priv_key=ap.v3.priv_key,
    )


async def measure(scraper: NetworkScraper, name: str, aps: list[SimAp], rounds: int) -> None:
    targets = [target(ap) for ap in aps]
    # First contact (v3: engine discovery and key localisation) is timed apart.
    start = time.thread_time()
    await asyncio.gather(*(scraper.get(t, OIDS) for t in targets))
    first = time.thread_time() - start
    start_cpu, start_wall = time.thread_time(), time.perf_counter()
    for _ in range(rounds):
        await asyncio.gather(*(scraper.get(t, OIDS) for t in targets))
    cpu, wall = time.thread_time() - start_cpu, time.perf_counter() - start_wall
    polls = rounds * len(targets)
    print(
        f"{name:<14} {len(targets):>4} APs  first contact {first / len(targets) * 1e3:6.2f} ms"
        f" CPU/AP   steady {cpu / polls * 1e3:6.2f} ms CPU/poll"
        f"  ({polls} polls, {wall:.1f} s wall)"
    )


async def run(city: City, rounds: int) -> None:
    scraper = NetworkScraper()
    try:
        v2c = [ap for ap in city.aps if ap.v3 is None]
        v3 = [ap for ap in city.aps if ap.v3 is not None]
        await measure(scraper, "v2c (v1arch)", v2c, rounds)
        await measure(scraper, "v3 authPriv", v3, rounds)
    finally:
        scraper.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args()

    base = f"127.1.{random.randint(100, 250)}.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((base, 0))
        port = sock.getsockname()[1]
    city = build_city(args.aps, seed=1, base_address=base, snmp_port=port)
    loop, stop, thread = serve(city)
    try:
        asyncio.run(asyncio.wait_for(run(city, args.rounds), args.max_seconds))
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


if __name__ == "__main__":
    main()
