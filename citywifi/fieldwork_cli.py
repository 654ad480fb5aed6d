"""``citywifi field teams create|list|members`` and ``citywifi field orders list``: field
teams and work orders from the server's shell.

Run on the server, so it sees the whole city, acting as "cli:<os user>" and audited under
that name like the API's routes under the caller's (address "cli"). The rules are
:mod:`inventory.work_orders`' (teams) and :mod:`fieldwork.orders`' (orders), so the CLI
and the API cannot disagree. Tables go to stdout, messages to stderr.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from citywifi.users_cli import audited, in_transaction
from core.access import AuditAction
from core.incidents import Responsible

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from inventory.work_orders import OrderView, TeamView

field_app = typer.Typer(
    help="Field work: teams that fix hotspots and their work orders. Changes are audited "
    "as cli:<os user>.",
    no_args_is_help=True,
)
teams_app = typer.Typer(help="Field teams and their members.", no_args_is_help=True)
orders_app = typer.Typer(
    help="Work orders (made and worked through the API).", no_args_is_help=True
)
field_app.add_typer(teams_app, name="teams")
field_app.add_typer(orders_app, name="orders")


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _when(epoch: float | None) -> str:
    return "-" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%MZ")


def teams_table(views: list[TeamView]) -> list[str]:
    rows = [("ID", "NAME", "RESPONSIBLE", "DISTRICT", "PARTNER", "MEMBERS")]
    rows += [
        (v.id, v.name, v.responsible.value, v.district_id or "-", v.partner_id or "-",
         ",".join(v.members) or "-")
        for v in views
    ]  # fmt: skip
    return _table(rows)


def orders_table(views: list[OrderView]) -> list[str]:
    rows = [("ID", "STATE", "INCIDENT", "SITE", "TEAM", "CREATED", "FIXED", "VERIFIED")]
    rows += [
        (str(v.id), v.state.value, str(v.incident_id), v.site_id, v.team_id or "-",
         _when(v.created_at), _when(v.fixed_at), _when(v.verified_at))
        for v in views
    ]  # fmt: skip
    return _table(rows)


@teams_app.command("create")
def create_team(
    ctx: typer.Context,
    team_id: Annotated[str, typer.Argument(help="The team's id.")],
    name: Annotated[str, typer.Option(help="The team's name.")],
    responsible: Annotated[
        Responsible, typer.Option(help="noc (the city's own), operator, sponsor (a vendor).")
    ] = Responsible.NOC,
    district: Annotated[str | None, typer.Option(help="Its district (else the city).")] = None,
    partner: Annotated[str | None, typer.Option(help="A sponsor team's partner.")] = None,
) -> None:
    """Make a field team (no members yet: see `members`)."""
    from inventory import work_orders

    def body(session: Session) -> TeamView:
        view = work_orders.create_team(
            session, team_id=team_id, name=name, responsible=responsible,
            district_id=district, partner_id=partner,
        )  # fmt: skip
        audited(session, AuditAction.FIELD_TEAM_CHANGED, f"field team {view.id}",
                f"created {view.name!r}: responsible {view.responsible.value}")  # fmt: skip
        return view

    view = in_transaction(ctx, body)
    typer.echo(f"created field team {view.id}", err=True)


@teams_app.command("list")
def list_teams(ctx: typer.Context) -> None:
    """Every field team with its members."""
    from inventory import work_orders

    views = in_transaction(ctx, lambda session: work_orders.teams(session))
    if not views:
        typer.echo("no field teams", err=True)
        return
    for line in teams_table(views):
        typer.echo(line)


@teams_app.command("members")
def members(
    ctx: typer.Context,
    team_id: Annotated[str, typer.Argument(help="The team's id.")],
    users: Annotated[
        list[str] | None, typer.Argument(help="User names: the whole new list (none: show).")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every member.")] = False,
) -> None:
    """Show a team's members, or set them (the names given become the whole list)."""
    from core.errors import ConflictError
    from inventory import work_orders

    def body(session: Session) -> TeamView:
        if not users and not clear:
            found = work_orders.get_team(session, team_id)
            if found is None:
                raise ConflictError(f"no field team {team_id!r}")
            return found
        view = work_orders.set_members(session, team_id, users or [])
        audited(session, AuditAction.FIELD_TEAM_CHANGED, f"field team {view.id}",
                f"members: {', '.join(view.members) or 'none'}")  # fmt: skip
        return view

    view = in_transaction(ctx, body)
    for name in view.members:
        typer.echo(name)
    if not view.members:
        typer.echo(f"field team {view.id} has no members", err=True)


@orders_app.command("list")
def list_orders(
    ctx: typer.Context,
    open_: Annotated[
        bool, typer.Option("--open", help="Only orders still to do or verify.")
    ] = False,
    team: Annotated[str | None, typer.Option(help="Only this team's orders.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many rows.")] = 50,
) -> None:
    """Work orders, newest first."""
    from inventory import work_orders

    def body(session: Session) -> tuple[list[OrderView], int]:
        return work_orders.orders(
            session,
            team_ids=None if team is None else {team},
            states=work_orders.OPEN_STATES if open_ else None,
            limit=limit,
        )

    views, total = in_transaction(ctx, body)
    if not views:
        typer.echo("no work orders", err=True)
        return
    for line in orders_table(views):
        typer.echo(line)
    if total > len(views):
        typer.echo(f"showing {len(views)} of {total} (--limit)", err=True)
