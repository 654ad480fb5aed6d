"""``citywifi faults``: the fault engine as its own process, one for the whole city.

It reads what the collector(s) wrote (AP states in the inventory database, uptimes in
the metric store) and writes incidents; it polls nothing itself. It keeps no state of
its own, so it can be stopped and started at any time: a new one carries on from the
stored incidents. SIGTERM or Ctrl-C ends it after the cycle in progress (a cycle is one
transaction: it is written whole or not at all).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer

from citywifi.command import run_sync, settings_for

log = logging.getLogger("citywifi.faults")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (the loop ends after its cycle) instead of
    interrupting a transaction half-way."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def faults(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(help="Run one cycle, print what it did, exit.")] = False,
    interval: Annotated[
        float | None,
        typer.Option(min=0.5, help="Seconds between cycles [env CITYWIFI_FAULT_INTERVAL_S]."),
    ] = None,
) -> None:
    """Correlate AP states into incidents (one per real problem), until SIGTERM or Ctrl-C.

    Run one for the whole city, beside the collector(s). The inventory database must
    exist at the current schema (else: `citywifi db upgrade`)."""
    settings = settings_for(ctx, fault_interval_s=interval)
    from faults.engine import FaultEngine
    from inventory.db import open_inventory
    from timeseries import open_store

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))
    try:
        store = run_sync(ctx, lambda: open_store(settings.store_url))
        try:
            fault_engine = FaultEngine(settings, engine, store)
            if once:
                report = run_sync(ctx, fault_engine.cycle)
                typer.echo(
                    f"{report.aps} APs, {report.problems} problems: {report.opened} opened, "
                    f"{report.reopened} reopened, {report.grown} grown, {report.merged} "
                    f"merged, {report.resolved} resolved ({report.duration_s * 1000:.0f} ms)"
                )
                return
            stop = threading.Event()
            log.info("fault engine: a cycle every %g s", settings.fault_interval_s)
            with _stop_on_signals(stop):
                run_sync(ctx, lambda: fault_engine.run(stop))
            log.info("fault engine: stopped")
        finally:
            store.close()
    finally:
        engine.dispose()
