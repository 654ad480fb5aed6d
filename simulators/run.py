"""Serving a simulated city: one UDP socket per AP on its own loopback address."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import resource
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from citywifi.errors import SimulatorError
from simulators.agent import SnmpAgentProtocol
from simulators.city import City
from simulators.responder import AgentStats, Responder

log = logging.getLogger("simulators")

RECEIVE_BUFFER = 1 << 20
"""Per-socket receive buffer: a collector may have hundreds of requests in flight."""


def raise_file_limit() -> int:
    """Lift the soft open-files limit to the hard one: a big city needs a socket per AP."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise SimulatorError(f"cannot listen on {host}:{port} (UDP): {reason}") from exc
    return sock


async def run_simulator(
    city: City,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.time,
    stats: AgentStats | None = None,
) -> None:
    """Serve every AP of ``city`` until ``stop`` is set (forever without one)."""
    limit = raise_file_limit()
    if len(city.aps) + 32 > limit:
        raise SimulatorError(
            f"{len(city.aps)} APs need as many sockets but the open-files limit is {limit}"
        )
    stats = stats if stats is not None else AgentStats()
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    try:
        for ap in city.aps:
            sock = _bind(ap.host, ap.snmp_port)
            responder = Responder(ap.mib, ap.community.encode(), clock=clock, stats=stats)
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(SnmpAgentProtocol, responder), sock=sock
                )
            except BaseException:
                sock.close()
                raise
            transports.append(transport)
        log.info(
            "simulated city of %d APs listening on %s..%s port %d",
            len(city.aps),
            city.aps[0].host,
            city.aps[-1].host,
            city.aps[0].snmp_port,
        )
        if ready is not None:
            ready()
        if stop is None:
            stop = asyncio.Event()
        await stop.wait()
    finally:
        for open_transport in transports:
            open_transport.close()
        log.info("simulated city stopped: %s", stats.as_dict())


def write_inventory(city: City, path: Path) -> None:
    """Write the city's inventory YAML atomically, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(city.inventory(), sort_keys=False, allow_unicode=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
