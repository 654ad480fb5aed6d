"""``citywifi report schedule``: e-mail each partner its previous month's report, once.

Meant to be run daily by cron or a systemd timer (the first working day of a month sends;
later days retry failures and catch up a missed day): see :mod:`reports.schedule` for
when a month is due and why a report is never sent twice. One line per partner and
month on stdout; exit status 1 when any failed, so the timer's unit shows it.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from citywifi.command import run_sync, settings_for

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from reports.schedule import Delivery


def parse_now(text: str, tz: ZoneInfo) -> float:
    """An ISO 8601 time as epoch seconds; without an offset, the city's local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time (2026-12-01T07:00 or 2026-12-01T00:00:00+00:00)",
            param_hint="'--now'",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def delivery_line(delivery: Delivery) -> str:
    """``sent     acme  2026-11  a@x.org, b@x.org`` and, after a dash, why (if anything)."""
    line = f"{delivery.outcome:<8} {delivery.partner}  {delivery.month}  "
    line += ", ".join(delivery.recipients)
    return f"{line} - {delivery.detail}" if delivery.detail else line


def schedule(
    ctx: typer.Context,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="TIME",
            help="Act as if it were this time (ISO 8601; no offset: the city's time): to "
            "catch up or test [default: now].",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what is due; make and send nothing.")
    ] = False,
) -> None:
    """E-mail each partner with report_to its previous month's PDF report, on the first
    working day (Mon-Fri, no holiday calendar) of the month, or a later day of it to
    catch up and retry a failure; never twice for the same month. Run it daily (cron or
    a systemd timer)."""
    settings = settings_for(ctx)
    tz = settings.city_tz
    moment = time.time() if now is None else parse_now(now, tz)
    from inventory.db import open_inventory
    from reports.schedule import run_schedule, smtp_sender
    from timeseries import open_store

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))
    try:
        store = run_sync(ctx, lambda: open_store(settings.store_url))
        try:
            results = run_sync(
                ctx,
                lambda: run_schedule(
                    engine,
                    store,
                    settings,
                    now=moment,
                    send=smtp_sender(settings),
                    dry_run=dry_run,
                ),
            )
        finally:
            store.close()
    finally:
        engine.dispose()
    if not results:
        day = datetime.fromtimestamp(moment, tz).strftime("%Y-%m-%d %a")
        typer.echo(f"nothing due on {day} ({settings.city_timezone})", err=True)
        return
    for delivery in results:
        typer.echo(delivery_line(delivery))
    if any(delivery.outcome == "failed" for delivery in results):
        raise typer.Exit(1)
