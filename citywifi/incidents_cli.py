"""``citywifi incidents [--open] [--limit N]``: the incidents as a table, newest first.

Run on the server, so it sees the whole city (the API is where partners get their
share). It reads through the same scoped query and views as the API
(:mod:`inventory.scoping`, whole-city scope), so the two cannot disagree on what an
incident covers. The table goes to stdout; "no incidents" and the "showing N of M" line
to stderr, so a script can read the rows alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from citywifi.command import run_sync, settings_for

if TYPE_CHECKING:
    from inventory.incidents import IncidentView

MAX_EXPLANATION = 60  # characters of the explanation a table row shows


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _short(text: str) -> str:
    return text if len(text) <= MAX_EXPLANATION else text[: MAX_EXPLANATION - 1] + "…"


def table(views: list[IncidentView]) -> list[str]:
    """A header and one aligned line per incident."""
    rows = [("ID", "CLASS", "SCOPE", "STATE", "OPENED", "APS", "SITES", "WHO", "EXPLANATION")]
    rows += [
        (
            str(v.id),
            v.kind.value,
            f"{v.scope_kind.value} {v.scope_id}",
            v.state.value if v.merged_into is None else f"merged into {v.merged_into}",
            _when(v.opened_at),
            str(len(v.aps)),
            str(len(v.sites)),
            v.responsible.value,
            _short(v.explanation),
        )
        for v in views
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def incidents(
    ctx: typer.Context,
    open_only: Annotated[
        bool, typer.Option("--open", help="Only incidents still open or acknowledged.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many rows.")] = 50,
) -> None:
    """Incidents, newest first: what broke, where, probably why, and who must act."""
    settings = settings_for(ctx)
    from sqlalchemy.orm import Session

    from core.access import Scope
    from inventory import scoping
    from inventory.db import open_inventory
    from inventory.incidents import ACTIVE_STATES
    from inventory.models import Incident
    from inventory.paging import page

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))

    def read() -> tuple[list[IncidentView], int]:
        city = Scope()
        query = scoping.scoped_incidents(city)
        if open_only:
            query = query.where(Incident.state.in_([s.value for s in ACTIVE_STATES]))
        with Session(engine) as session:
            rows, total = page(
                session,
                query,
                order_by=(Incident.opened_at.desc(), Incident.id.desc()),
                limit=limit,
                offset=0,
            )
            return scoping.incident_views(session, city, rows), total

    try:
        views, total = run_sync(ctx, read)
    finally:
        engine.dispose()
    if not views:
        typer.echo("no open incidents" if open_only else "no incidents", err=True)
        return
    for line in table(views):
        typer.echo(line)
    if total > len(views):
        typer.echo(f"showing {len(views)} of {total} (--limit)", err=True)
