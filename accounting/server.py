"""The accounting receiver: UDP in, sessions out, an answer only for what is stored.

One asyncio loop receives, decodes and verifies (cheap: about 30 µs a packet); one
database thread writes. Verified records wait in a batch that is written when it holds
:data:`BATCH_MAX` records or its first has waited :data:`BATCH_WAIT_S`, in one
transaction (``inventory.sessions.apply_records``); while a batch is being written the
next one fills, and is written at once after it (the slower the database, the bigger the
batches: group commit). The Accounting-Responses of a batch are sent only after its
commit: RFC 2866 says a server must not acknowledge what it has not recorded, and a NAS
that gets no answer sends again, so a packet lost with a failed write is not lost.

Everything a datagram can do wrong ends as a counted drop, never an exception out of
the loop: garbage, truncation, an Access-Request on this port, an unknown NAS, a wrong
secret. Each is logged once per NAS and reason per hour (:class:`OncePer`), naming the
AP when the inventory knows it and nothing from the packet otherwise (a NAS-IP-Address
or identifier is still a packet's content, and the rule is that none is ever logged).

The same database thread runs the other writers' chores, so nothing writes concurrently
(SQLite has one writer): the NAS directory reload (:mod:`accounting.nas`), the sweep
closing lost sessions every minute, the prune of old user-hash keys every hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from accounting.metrics import RadiusMetrics
from accounting.nas import NasDirectory
from accounting.packets import Accepted, Drop, Dropped, decode
from core.errors import CitywifiError
from core.settings import Settings
from inventory import userkeys
from inventory.db import transaction
from inventory.secretbox import SecretBox
from inventory.sessions import AccountingRecord, Outcome, apply_records, close_lost
from inventory.userkeys import MonthKeys

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH_MAX = 500
BATCH_WAIT_S = 0.002
#: Verified records waiting beyond this are dropped unanswered (the NAS resends): a
#: database that stalls must not grow the receiver's memory without bound.
MAX_PENDING = 20 * BATCH_MAX
SWEEP_S = 60.0
PRUNE_S = 3600.0
LOG_EVERY_S = 3600.0
#: How many NASes the log's rate limiter remembers; beyond that it forgets the oldest
#: (a flood of forged sources must not grow it without bound).
LOG_KEYS_MAX = 10_000
#: The socket's receive buffer: a burst of NASes (all of them after a power cut) waits
#: there while a batch is written, rather than being dropped by the kernel.
RECEIVE_BUFFER = 4 << 20
#: How often the housekeeping loop looks at its clocks.
TICK_S = 1.0

WHY = {
    Drop.MALFORMED: "malformed packets",
    Drop.WRONG_CODE: "packets that are not Accounting-Requests (an authentication"
    " request sent to the accounting port?)",
    Drop.UNKNOWN_NAS: "accounting from a NAS that is no AP of the inventory (neither its"
    " NAS-IP-Address nor its NAS-Identifier matches an AP's address, id or name)",
    Drop.NO_SECRET: "accounting from an AP whose credential profile has no RADIUS secret"
    " (radius: {secret})",
    Drop.BAD_AUTHENTICATOR: "accounting with a bad authenticator (the NAS's shared secret"
    " is not its credential profile's radius secret)",
    Drop.UNSUPPORTED: "accounting of a status type not recorded (Failed or a tunnel type)",
    Drop.OVERLOAD: "accounting beyond what waits for the database (it is too slow)",
    Drop.WRITE_FAILED: "accounting that the database did not take",
}


def _reason(exc: BaseException) -> str:
    """What a log line may say of a failure: a database driver's first line (it names
    tables and columns, never the values: those come on later lines, or in SQLAlchemy's
    parameter list); of any other exception nothing, since it might quote its input."""
    if isinstance(exc, DBAPIError):
        lines = str(exc.orig or exc).strip().splitlines()
        return lines[0][:200] if lines else ""
    if isinstance(exc, CitywifiError):  # ours: written never to hold personal data
        return str(exc).splitlines()[0][:200] if str(exc) else ""
    return "(details withheld: they might quote a packet)"


class OncePer:
    """Says yes once per key per ``every_s`` (and how many were hushed in between)."""

    def __init__(self, every_s: float = LOG_EVERY_S, max_keys: int = LOG_KEYS_MAX) -> None:
        self.every_s = every_s
        self.max_keys = max_keys
        self._last: dict[tuple[str, str | None], float] = {}
        self._hushed: dict[tuple[str, str | None], int] = {}

    def allow(self, key: tuple[str, str | None], now: float) -> int | None:
        """None: stay quiet; else say it now, with this many hushed since last time."""
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            self._hushed[key] = self._hushed.get(key, 0) + 1
            return None
        if last is None and len(self._last) >= self.max_keys:
            oldest = min(self._last, key=self._last.__getitem__)
            del self._last[oldest]
            self._hushed.pop(oldest, None)
        self._last[key] = now
        return self._hushed.pop(key, 0)


@dataclass(frozen=True, slots=True)
class _Waiting:
    record: AccountingRecord
    reply: bytes
    addr: Any


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: RadiusServer) -> None:
        self._server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._server.receive(data, addr)

    def error_received(self, exc: Exception) -> None:
        # An ICMP "port unreachable" for a reply (the NAS went away): nothing to do.
        log.debug("UDP error: %s", type(exc).__name__)


class RadiusServer:
    """One receiver: bind with :meth:`start`, then :meth:`serve` until ``stop`` is set.

    ``clock`` gives epoch seconds (injectable for tests: the received-at time of each
    packet and the ``now`` of the sweeps); the batching runs on the loop's own clock.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        box: SecretBox,
        *,
        metrics: RadiusMetrics | None = None,
        clock: Callable[[], float] = time.time,
        batch_max: int = BATCH_MAX,
        batch_wait_s: float = BATCH_WAIT_S,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.box = box
        self.metrics = metrics or RadiusMetrics()
        self.clock = clock
        self.batch_max = batch_max
        self.batch_wait_s = batch_wait_s
        self.tz: ZoneInfo = settings.city_tz
        self.nas = NasDirectory(engine, box)
        self.keys = MonthKeys(box)
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="radius-db")
        self._pending: list[_Waiting] = []
        self._first_at = 0.0  # loop time the oldest pending record arrived
        self._wake: asyncio.Event | None = None
        self._full: asyncio.Event | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._said = OncePer()
        self._closing = False  # stopping: datagrams from now on are not taken

    # --- the database thread -------------------------------------------------------

    async def _in_db(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn)

    def _write(self, records: Sequence[AccountingRecord]) -> list[Outcome]:
        now = self.clock()
        with transaction(self.engine) as session:
            return apply_records(session, records, keys=self.keys, tz=self.tz, now=now)

    def _write_batch(self, records: Sequence[AccountingRecord]) -> list[Outcome | None]:
        """Outcomes, None for a record not written. The batch in one transaction; when
        that fails for the records' sake (not a database that is away), each record in
        a transaction of its own, so one record the writer cannot take does not hold
        back every other one forever (the NASes would resend the whole batch)."""
        started = time.perf_counter()
        try:
            return list(self._write(records))
        except (OperationalError, InterfaceError) as exc:
            self._say_write_failure(exc, len(records))
            return [None] * len(records)
        except Exception as exc:  # the records' fault or a bug: try them one by one
            if len(records) == 1:
                self._say_write_failure(exc, 1)
                return [None]
        finally:
            self.metrics.batch_seconds.observe(time.perf_counter() - started)
            self.metrics.batch_size.observe(len(records))
        outcomes: list[Outcome | None] = []
        for record in records:
            try:
                outcomes.extend(self._write([record]))
            except Exception as exc:
                self._say_write_failure(exc, 1)
                outcomes.append(None)
        return outcomes

    def _forget_keys(self) -> None:
        """After a prune: a deleted month's key must not live on in the cache."""
        self.keys = MonthKeys(self.box)

    def _say_write_failure(self, exc: BaseException, count: int) -> None:
        # The first line of the driver's message only: SQLAlchemy appends the statement's
        # parameters, and although records hold only hashes by then, nothing of a packet
        # belongs in a log.
        if self._said.allow(("write_failed", type(exc).__name__), self.clock()) is None:
            return
        first = _reason(exc)
        log.error(
            "could not store %d accounting record(s), left unanswered (the NASes send "
            "again): %s: %s",
            count,
            type(exc).__name__,
            first,
        )

    def _sweep(self) -> int:
        with transaction(self.engine) as session:
            return close_lost(
                session, now=self.clock(), lost_after_s=self.settings.radius_lost_after_s
            )

    def _prune(self) -> int:
        with transaction(self.engine) as session:
            removed = userkeys.prune(
                session,
                now=self.clock(),
                tz=self.tz,
                keep_months=self.settings.accounting_key_months,
            )
        if removed:
            self._forget_keys()
        return removed

    # --- the event loop ------------------------------------------------------------

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Read the NAS directory (ConfigError when its secrets cannot be opened) and
        bind; returns the bound address (port 0: the kernel's choice)."""
        directory = await self._in_db(lambda: self.nas.load(self.clock()))
        self.metrics.naslist.set(len(directory))
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        transport, _protocol = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(host, port)
        )
        self._transport = transport
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):  # capped by net.core.rmem_max: as much as allowed
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        bound = transport.get_extra_info("sockname")
        log.info(
            "RADIUS accounting on udp %s:%d, %d APs known as NASes",
            bound[0],
            bound[1],
            len(directory),
        )
        return str(bound[0]), int(bound[1])

    def receive(self, data: bytes, addr: Any) -> None:
        """One datagram (called by the protocol, on the loop)."""
        if self._closing:
            return  # unanswered: the NAS sends it again, to the next receiver
        try:
            verdict = decode(data, self.nas.find, self.clock())
        except Exception as exc:  # a pyrad path nobody foresaw: still never a crash
            log.debug("undecodable datagram: %s", type(exc).__name__)
            verdict = Dropped(Drop.MALFORMED)
        if isinstance(verdict, Dropped):
            self._dropped(verdict, addr)
            return
        self._enqueue(verdict, addr)

    def _enqueue(self, accepted: Accepted, addr: Any) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._dropped(Dropped(Drop.OVERLOAD), addr)
            return
        assert self._wake is not None and self._full is not None
        if not self._pending:
            self._first_at = asyncio.get_running_loop().time()
            self._wake.set()
        self._pending.append(_Waiting(accepted.record, accepted.reply, addr))
        self.metrics.pending.set(len(self._pending))
        if len(self._pending) >= self.batch_max:
            self._full.set()

    def _dropped(self, dropped: Dropped, addr: Any) -> None:
        self.metrics.count(dropped.reason.value)
        # The rate-limit key: the AP, else what the NAS called itself, else where the
        # datagram came from; held in memory only.
        where = dropped.nas_key or (str(addr[0]) if addr else None)
        hushed = self._said.allow((dropped.reason.value, where), self.clock())
        if hushed is None:
            return
        more = f" ({hushed} more like it since last said)" if hushed else ""
        who = f"AP {dropped.ap_id}: " if dropped.ap_id is not None else ""
        log.warning("%sdropped %s%s; said once an hour per NAS", who, WHY[dropped.reason], more)

    async def _writer(self, stop: asyncio.Event) -> None:
        """Writes batches one after the other until stopped and drained."""
        assert self._wake is not None and self._full is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if stop.is_set():
                    return
                self._wake.clear()
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                continue
            remaining = self._first_at + self.batch_wait_s - loop.time()
            if remaining > 0 and len(self._pending) < self.batch_max and not stop.is_set():
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), remaining)
            batch = self._pending[: self.batch_max]
            del self._pending[: self.batch_max]
            self._first_at = loop.time()  # the rest have waited this write: go at once
            self.metrics.pending.set(len(self._pending))
            records = [item.record for item in batch]
            outcomes = await self._in_db(partial(self._write_batch, records))
            self._answer(batch, outcomes)

    def _answer(self, batch: Sequence[_Waiting], outcomes: Sequence[Outcome | None]) -> None:
        transport = self._transport
        for item, outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                self.metrics.count(Drop.WRITE_FAILED.value)
                continue
            self.metrics.count(outcome.value)
            if transport is not None and not transport.is_closing():
                transport.sendto(item.reply, item.addr)

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        """The directory reload, the lost-session sweep and the key prune, in the
        database thread, on their own clocks; a failure is logged and tried again at
        the next turn (the receiver goes on with what it has)."""
        last_sweep = last_prune = float("-inf")
        while not stop.is_set():
            now = self.clock()
            try:
                if self.nas.due(now):
                    directory = await self._in_db(lambda: self.nas.load(self.clock()))
                    self.metrics.naslist.set(len(directory))
                if now - last_sweep >= SWEEP_S:
                    last_sweep = now
                    lost = await self._in_db(self._sweep)
                    if lost:
                        self.metrics.lost.inc(lost)
                        log.info(
                            "%d session(s) closed as lost (no packet for %g s)",
                            lost,
                            self.settings.radius_lost_after_s,
                        )
                if now - last_prune >= PRUNE_S:
                    last_prune = now
                    removed = await self._in_db(self._prune)
                    if removed:
                        log.info(
                            "%d monthly user-hash key(s) deleted (older than %d months)",
                            removed,
                            self.settings.accounting_key_months,
                        )
            except Exception as exc:  # never the end of the receiver: logged, tried again
                if self._said.allow(("housekeeping", type(exc).__name__), now) is not None:
                    log.error(
                        "housekeeping failed, tried again each second (said once an hour): %s: %s",
                        type(exc).__name__,
                        _reason(exc),
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_S)

    async def serve(self, stop: asyncio.Event) -> None:
        """Receive until ``stop``; then stop receiving, write and answer what waits,
        and return. :meth:`start` first."""
        assert self._transport is not None, "start() first"
        writer = asyncio.ensure_future(self._writer(stop))
        chores = asyncio.ensure_future(self._housekeeping(stop))
        try:
            await stop.wait()
        finally:
            transport = self._transport
            # No new datagrams; the writer drains what waits, and its answers still go
            # out through the transport, which closes after them.
            self._closing = True
            await writer
            await chores
            transport.close()
            self._transport = None

    async def run(self, host: str, port: int, stop: asyncio.Event) -> None:
        """:meth:`start` and :meth:`serve`."""
        await self.start(host, port)
        await self.serve(stop)

    def close(self) -> None:
        self._db.shutdown(wait=True)
