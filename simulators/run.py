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
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import yaml

from core.errors import SimulatorError
from simulators.agent import SnmpAgentProtocol
from simulators.city import SSH_PORT, City
from simulators.control import bind_control_socket, serve_control
from simulators.faults import FaultBook, build_fault_book
from simulators.radius import DEFAULT_INTERIM_S, Accountant, AccountingStats, serve_accounting
from simulators.responder import AgentStats, Responder
from simulators.ssh import SshAp, serve_ssh

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
    faults: FaultBook | None = None,
    control_port: int | None = None,
    ssh_aps: Sequence[SshAp] = (),
    ssh_port: int = SSH_PORT,
    radius: tuple[str, int] | None = None,
    radius_interim_s: float = DEFAULT_INTERIM_S,
    radius_stats: AccountingStats | None = None,
) -> None:
    """Serve every AP of ``city`` until ``stop`` is set (forever without one).

    ``faults`` (default: a book with no random faults) decides what each AP's agent drops,
    delays or corrupts; ``control_port`` serves the HTTP control API for it on 127.0.0.1;
    ``ssh_aps`` get SSH CLIs on ``ssh_port``; with ``radius`` (host, port), the hotspot APs
    send RADIUS accounting there (:mod:`simulators.radius`), an interim update every
    ``radius_interim_s`` simulated seconds. ``ready`` is called once everything listens.
    """
    limit = raise_file_limit()
    senders = sum(ap.hotspot for ap in city.aps) if radius is not None else 0
    if len(city.aps) + len(ssh_aps) + senders + 32 > limit:
        raise SimulatorError(
            f"{len(city.aps)} APs, {len(ssh_aps)} SSH CLIs and {senders} RADIUS senders need"
            f" as many sockets but the open-files limit is {limit}"
        )
    stats = stats if stats is not None else AgentStats()
    book = faults if faults is not None else build_fault_book(city, clock=clock)
    accountant = None
    if radius is not None:
        accountant = Accountant.for_city(city, faults=book, interim_s=radius_interim_s)
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    helpers: list[asyncio.Task[None]] = []
    try:
        for ap in city.aps:
            sock = _bind(ap.host, ap.snmp_port)
            responder = Responder(
                ap.mib, ap.community.encode(), clock=clock, stats=stats, usm=ap.usm
            )
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(SnmpAgentProtocol, responder, ap_id=ap.id, faults=book),
                    sock=sock,
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
        if control_port is not None:
            bind_control_socket(control_port).close()  # a taken port fails here, clearly
            helpers.append(asyncio.create_task(serve_control(book, city, control_port, stop)))
            log.info("fault control API on http://127.0.0.1:%d/faults", control_port)
        if ssh_aps:
            ssh_ready = asyncio.Event()
            helpers.append(
                asyncio.create_task(
                    serve_ssh(ssh_aps, port=ssh_port, stop=stop, ready=ssh_ready.set, clock=clock)
                )
            )
            await _first_of(ssh_ready.wait(), helpers)
        if accountant is not None and radius is not None:
            radius_ready = asyncio.Event()
            helpers.append(
                asyncio.create_task(
                    serve_accounting(
                        accountant,
                        radius,
                        stop=stop,
                        clock=clock,
                        stats=radius_stats,
                        ready=radius_ready.set,
                    )
                )
            )
            await _first_of(radius_ready.wait(), helpers)
        if ready is not None:
            ready()
        await _first_of(stop.wait(), helpers)
    finally:
        stop.set()
        for open_transport in transports:
            open_transport.close()
        for task in helpers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        log.info(
            "simulated city stopped: %s; faults dropped %d and delayed %d answers",
            stats.as_dict(),
            book.dropped,
            book.delayed,
        )


async def _first_of(wanted: Coroutine[Any, Any, Any], helpers: list[asyncio.Task[None]]) -> None:
    """Wait for ``wanted``; a helper (control API, SSH) failing first raises its error."""
    waiter = asyncio.ensure_future(wanted)
    try:
        done, _ = await asyncio.wait({waiter, *helpers}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter:
                task.result()  # raises the helper's error, e.g. SSH address in use
    finally:
        waiter.cancel()


def write_inventory(city: City, path: Path, *, ssh_port: int = SSH_PORT) -> None:
    """Write the city's inventory YAML atomically, so a reader never sees half a file.

    ``ssh_port``: the port SSH is served on (written into every AP's ``ssh_port``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(city.inventory(ssh_port=ssh_port), sort_keys=False, allow_unicode=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
