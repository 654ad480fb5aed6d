"""``citywifi maintenance list|add|end``: planned work on a site or a district, from the
server's shell.

Run on the server, so it sees and changes the whole city, acting as "cli:<os user>" and
audited under that name like the API's routes under the caller's (address "cli"). The
rules (scope exists, end after start, at most 31 days, a reason) are
:mod:`inventory.maintenance`'s, the list reads through :mod:`inventory.scoping` with the
whole-city scope, and times are read by the API's own parser (:func:`api.times.parse_time`),
so the CLI and the API cannot disagree. ``add`` prints the new window's id alone on stdout
(``ID=$(citywifi maintenance add ...)``); every other line goes to stderr.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from citywifi.command import cli_actor, fail, run_sync
from citywifi.users_cli import audited, in_transaction
from core.access import AuditAction
from core.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from inventory.maintenance import WindowState, WindowView

MAX_REASON_SHOWN = 50  # characters of the reason a table row shows

maintenance_app = typer.Typer(
    help="Maintenance windows: planned work on a site or a district, during which the fault "
    "engine opens no incident for it. Changes are audited as cli:<os user>.",
    no_args_is_help=True,
)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _short(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= MAX_REASON_SHOWN else text[: MAX_REASON_SHOWN - 1] + "…"


def parse_when(text: str, option: str, now: float) -> float:
    """``now``, ISO 8601 (UTC if no offset) or epoch seconds; ConfigError naming the
    option otherwise."""
    if text.strip().lower() == "now":
        return now
    from api.times import parse_time, time_in_range

    try:
        seconds = time_in_range(parse_time(text))
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None
    assert seconds is not None
    return float(seconds)


def table(views: list[WindowView], now: float) -> list[str]:
    """A header and one aligned line per window."""
    rows = [("ID", "SCOPE", "STATE", "STARTS", "ENDS", "BY", "REASON")]
    rows += [
        (
            str(v.id),
            f"{v.scope_kind.value} {v.scope_id}",
            v.state(now).value,
            _when(v.starts_at),
            _when(v.ends_at),
            v.created_by,
            _short(v.reason),
        )
        for v in views
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _describe(view: WindowView) -> str:
    return (
        f"{view.scope_kind.value} {view.scope_id} from {_when(view.starts_at)} "
        f"to {_when(view.ends_at)}: {view.reason}"
    )


@maintenance_app.command("list")
def list_(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option(help="Only windows in this state: active, scheduled, ended.")
    ] = None,
    site: Annotated[str | None, typer.Option(help="Only windows covering this site.")] = None,
    district: Annotated[
        str | None, typer.Option(help="Only this district's windows and its sites'.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many rows.")] = 50,
) -> None:
    """Maintenance windows, latest start first."""
    from core.access import Scope
    from inventory import maintenance, scoping
    from inventory.models import MaintenanceWindow
    from inventory.paging import page

    now = time.time()
    wanted: WindowState | None = None
    if state is not None:
        try:
            wanted = maintenance.WindowState(state)
        except ValueError:
            choices = ", ".join(s.value for s in maintenance.WindowState)
            fail(ctx, ConfigError(f"--state: {state!r} is not one of {choices}"), status=2)

    def body(session: Session) -> tuple[list[WindowView], int]:
        city = Scope()
        query = scoping.scoped_windows(city)
        if wanted is not None:
            query = query.where(maintenance.state_condition(wanted, now))
        if site is not None:
            query = query.where(scoping.windows_covering_site(city, site))
        if district is not None:
            query = query.where(scoping.windows_in_district(district))
        rows, total = page(
            session,
            query,
            order_by=(MaintenanceWindow.starts_at.desc(), MaintenanceWindow.id.desc()),
            limit=limit,
            offset=0,
        )
        return scoping.window_views(city, rows), total

    views, total = in_transaction(ctx, body)
    if not views:
        typer.echo("no maintenance windows", err=True)
        return
    for line in table(views, now):
        typer.echo(line)
    if total > len(views):
        typer.echo(f"showing {len(views)} of {total} (--limit)", err=True)


@maintenance_app.command("add")
def add(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why: what an operator reads later.")],
    site: Annotated[str | None, typer.Option(help="The site the work is on.")] = None,
    district: Annotated[
        str | None, typer.Option(help="The district the work is on (all its sites).")
    ] = None,
    start: Annotated[
        str, typer.Option(help="now, ISO 8601 (UTC if no offset) or epoch seconds.")
    ] = "now",
    end: Annotated[str | None, typer.Option(help="When it ends (as --start).")] = None,
    for_: Annotated[
        str | None, typer.Option("--for", help="How long instead of --end: 90m, 4h, 2d.")
    ] = None,
) -> None:
    """Plan a window on a site or a district (at most 31 days); print its id on stdout."""
    from core.incidents import IncidentScope
    from inventory import maintenance

    def read() -> tuple[IncidentScope, str, float, float, float]:
        if (site is None) == (district is None):
            raise ConfigError("give exactly one of --site and --district")
        if (end is None) == (for_ is None):
            raise ConfigError("give exactly one of --end and --for")
        now = time.time()
        starts = parse_when(start, "--start", now)
        if for_ is not None:
            from citywifi.history import parse_duration

            try:
                ends = starts + parse_duration(for_)
            except ValueError as exc:
                raise ConfigError(f"--for: {exc}") from None
        else:
            assert end is not None
            ends = parse_when(end, "--end", now)
        if site is not None:
            return IncidentScope.SITE, site, starts, ends, now
        assert district is not None
        return IncidentScope.DISTRICT, district, starts, ends, now

    kind, scope_id, starts, ends, now = run_sync(ctx, read, status=2)

    def body(session: Session) -> WindowView:
        view = maintenance.create(
            session, scope_kind=kind, scope_id=scope_id, starts_at=starts, ends_at=ends,
            reason=reason, actor=cli_actor(), now=now,
        )  # fmt: skip
        audited(session, AuditAction.MAINTENANCE_CREATED, f"maintenance {view.id}", _describe(view))
        return view

    view = in_transaction(ctx, body)
    typer.echo(f"added maintenance window {view.id}: {_describe(view)}", err=True)
    typer.echo(str(view.id))


@maintenance_app.command("end")
def end_(
    ctx: typer.Context,
    window_id: Annotated[int, typer.Argument(min=1, help="The window's id (see list).")],
) -> None:
    """End a window now: deleted if it has not started, else cut short."""
    from inventory import maintenance

    def body(session: Session) -> tuple[WindowView, maintenance.Ended]:
        view, done = maintenance.end(session, window_id, now=time.time())
        audited(
            session, AuditAction.MAINTENANCE_ENDED, f"maintenance {view.id}",
            f"{done.value}: {_describe(view)}",
        )  # fmt: skip
        return view, done

    view, done = in_transaction(ctx, body)
    if done is maintenance.Ended.DELETED:
        typer.echo(f"deleted maintenance window {view.id}: it had not started", err=True)
    else:
        typer.echo(f"ended maintenance window {view.id} at {_when(view.ends_at)}", err=True)
