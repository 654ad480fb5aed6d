from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import Iterator

import pytest

from simulators.city import build_city
from simulators.responder import AgentStats
from simulators.run import run_simulator
from tests.simulators.helpers import Running


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def loopback_base() -> str:
    """A 127.1.x.1 base of our own, so parallel test runs do not collide."""
    return f"127.1.{random.randint(100, 250)}.1"


@pytest.fixture(scope="package")
def running_city() -> Iterator[Running]:
    """A 5-AP city served from a background thread with its own event loop."""
    base = loopback_base()
    city = build_city(5, seed=7, base_address=base, snmp_port=free_udp_port(base))
    stats = AgentStats()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            loop.run_until_complete(run_simulator(city, stop=stop, ready=ready.set, stats=stats))
        except BaseException as exc:
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name="simulated-city", daemon=True)
    thread.start()
    assert ready.wait(10), "the simulated city did not start within 10 s"
    if failure:
        raise failure[0]
    yield Running(city, stats, loop, stop)
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    assert not thread.is_alive()
