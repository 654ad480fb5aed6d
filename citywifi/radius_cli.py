"""``citywifi radius``: the RADIUS accounting receiver as its own process.

It reads the NAS directory and writes sessions in the inventory database; it keeps no
state of its own, so it can be stopped and started at any time (a NAS resends what was
not answered, and a resent packet counts once). SIGTERM or Ctrl-C: it stops taking
datagrams, writes and answers what it had, and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress
from typing import Annotated

import typer

from citywifi.command import run_sync, settings_for

log = logging.getLogger("citywifi.radius")


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM: the receiver drains its batch, then returns."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def radius(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to receive on [env CITYWIFI_RADIUS_HOST].")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="UDP port [env CITYWIFI_RADIUS_PORT]."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Serve self-metrics (Prometheus) on this port [env CITYWIFI_RADIUS_METRICS_PORT].",
        ),
    ] = None,
) -> None:
    """Receive RADIUS accounting (RFC 2866) from the hotspots and keep their sessions.

    A NAS is an AP of the inventory (by NAS-IP-Address, else NAS-Identifier = AP id or
    name) whose credential profile has a `radius: {secret}`. Client MACs and user names
    are stored only as monthly keyed hashes. The inventory database must exist at the
    current schema (else: `citywifi db upgrade`)."""
    settings = settings_for(
        ctx, radius_host=host, radius_port=port, radius_metrics_port=metrics_port
    )
    from accounting.server import RadiusServer
    from inventory.db import open_inventory
    from inventory.secretbox import load_box

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))
    try:
        box = run_sync(ctx, lambda: load_box(settings))
        server = RadiusServer(settings, engine, box)

        async def main() -> None:
            stop = _stop_on_signals()
            bound_host, bound_port = await server.start(settings.radius_host, settings.radius_port)
            if settings.radius_metrics_port is not None:
                server.metrics.serve(settings.metrics_host, settings.radius_metrics_port)
            typer.echo(f"citywifi radius: accounting on udp {bound_host}:{bound_port}")
            await server.serve(stop)
            log.info("RADIUS receiver stopped")

        try:
            run_sync(ctx, lambda: asyncio.run(main()))
        finally:
            server.metrics.close()
            server.close()
    finally:
        engine.dispose()
