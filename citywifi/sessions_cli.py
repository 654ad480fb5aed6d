"""``citywifi sessions``: hotspot sessions from RADIUS accounting, and ``sessions summary``:
what they add up to per AP, site, partner or the city in one month.

Run on the server, so it sees the whole city (the API is where a partner gets its
share). It reads through :mod:`inventory.sessions` with the whole-city scope and renders
``--json`` through the API's own models (:mod:`api.session_models`), so the two carry the
same fields; the months are the city's (``city_timezone``), those the user hashes are
keyed by. Tables go to stdout; "no sessions" and "showing N of M" to stderr, so a script
can read the rows alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from citywifi.command import run_sync, settings_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.settings import Settings
    from inventory.sessions import SessionSummary, SessionView, SummaryBy

T = TypeVar("T")

MAX_ROWS = 5000  # as the API's pages

sessions_app = typer.Typer(
    help="Hotspot sessions from RADIUS accounting (no MAC or user name is ever stored); "
    "without a subcommand, the latest sessions. Acts for the whole city.",
)


class ByOption(StrEnum):
    AP = "ap"
    SITE = "site"
    PARTNER = "partner"
    CITY = "city"


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _duration(seconds: float | None) -> str:
    """``1h02m03s``-style; "-" for none."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _bytes(count: int) -> str:
    """Binary units, three significant figures: what a person compares at a glance."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{count} B" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} TiB"


def _aligned(rows: list[tuple[str, ...]], right: frozenset[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def sessions_table(views: list[SessionView]) -> list[str]:
    """A header and one aligned line per session (no hashes: a table is for reading)."""
    rows: list[tuple[str, ...]] = [
        ("ID", "AP", "SITE", "PARTNER", "STATE", "STARTED", "DURATION", "UP", "DOWN", "CAUSE")
    ]
    rows += [
        (
            str(v.id),
            v.ap_id,
            v.site_id,
            v.partner_id or "-",
            v.state,
            _when(v.started_at),
            _duration(v.duration_s),
            _bytes(v.input_octets),
            _bytes(v.output_octets),
            v.terminate_cause or "-",
        )
        for v in views
    ]
    return _aligned(rows, right=frozenset({0, 6, 7, 8}))


def summary_table(by: str, found: list[SessionSummary]) -> list[str]:
    rows: list[tuple[str, ...]] = [
        (by.upper(), "SESSIONS", "USERS", "DEVICES", "TIME", "MEDIAN", "UP", "DOWN")
    ]
    rows += [
        (
            row.key if row.key is not None else "(city's own)",
            str(row.sessions),
            str(row.users),
            str(row.devices),
            _duration(row.duration_total_s),
            _duration(row.duration_median_s),
            _bytes(row.input_octets),
            _bytes(row.output_octets),
        )
        for row in found
    ]
    return _aligned(rows, right=frozenset(range(1, 8)))


def _reading(ctx: typer.Context, settings: Settings, read: Callable[[Session], T]) -> T:
    """``read(session)`` on the inventory (never created or upgraded here); its errors
    one line each."""
    from sqlalchemy.orm import Session

    from inventory.db import open_inventory

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))

    def run() -> T:
        with Session(engine) as session:
            return read(session)

    try:
        return run_sync(ctx, run)
    finally:
        engine.dispose()


@sessions_app.callback(invoke_without_command=True)
def sessions(
    ctx: typer.Context,
    ap: Annotated[str | None, typer.Option(help="Only this access point's sessions.")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site's sessions.")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only sessions running at some point in this past (30d, 12h, 90m)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="At most this many rows.")] = 50,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="A JSON list, the API's rows: id, ap, site, partner, state, started_at, "
            "updated_at, stopped_at, duration_s, bytes_up, bytes_down, terminate_cause, "
            "user_hash, station_hash.",
        ),
    ] = False,
) -> None:
    """The latest hotspot sessions, newest start first."""
    if ctx.invoked_subcommand is not None:
        return
    from citywifi.history import parse_duration

    start: float | None = None
    if since is not None:
        try:
            start = time.time() - parse_duration(since)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--since'") from None
    settings = settings_for(ctx)
    from api.session_models import session_public
    from core.access import Scope
    from inventory.sessions import list_sessions

    views, total = _reading(
        ctx,
        settings,
        lambda session: list_sessions(
            session, Scope(), ap=ap, site=site, start=start, limit=limit, offset=0
        ),
    )
    if as_json:
        rows = [session_public(v, hashes=True).model_dump(mode="json") for v in views]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not views:
        typer.echo("no sessions", err=True)
        return
    for line in sessions_table(views):
        typer.echo(line)
    if total > len(views):
        typer.echo(f"showing {len(views)} of {total} (--limit)", err=True)


@sessions_app.command("summary")
def summary(
    ctx: typer.Context,
    by: Annotated[ByOption, typer.Option(help="One row per AP, site, partner, or the city.")] = (
        ByOption.SITE
    ),
    month: Annotated[
        str | None,
        typer.Option(
            help="The city's month, YYYY-MM (city_timezone) [default: this month so far]."
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="A JSON list, the API's rows: group, sessions, users, devices, "
            "duration_total_s, duration_median_s, bytes_up, bytes_down.",
        ),
    ] = False,
) -> None:
    """Sessions that began in a month: how many, unique users and devices (one month's
    hashes: exact), total and median time online, bytes."""
    settings = settings_for(ctx)
    from api.session_models import month_before, month_window, summary_public
    from core.access import Scope
    from inventory.sessions import summarise

    wanted: SummaryBy = by.value
    tz = settings.city_tz
    if month is None:
        end = time.time()
        start = month_before(end, tz)
    else:
        try:
            start, end = month_window(month, tz)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--month'") from None
    found = _reading(
        ctx,
        settings,
        lambda session: summarise(session, Scope(), by=wanted, start=start, end=end),
    )
    if as_json:
        typer.echo(json.dumps([summary_public(r).model_dump(mode="json") for r in found], indent=2))
        return
    if not found:
        typer.echo(f"no sessions began in {_when(start)} .. {_when(end)}", err=True)
        return
    for line in summary_table(by.value, found):
        typer.echo(line)
