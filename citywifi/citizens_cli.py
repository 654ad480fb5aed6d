"""``citywifi citizen-reports import FILE | list``: citizens' reports from the server's
shell.

``import`` files a CSV or JSON export of the operation centre's other channels exactly as
``POST /api/v1/citizen-reports/import`` does (the same reader and filing,
:mod:`citizens.importing`), all or nothing, audited as "cli:<os user>"; a bad row is one
``error:`` line naming the file, the line and the column, and nothing is filed. ``list``
prints the reports newest first, without what the citizens wrote or their numbers (a
terminal's scrollback is no place for them: the engineers' view shows them); the table
goes to stdout, "no reports" and "showing N of M" to stderr.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from citywifi.command import cli_actor, fail, run_sync, settings_for
from citywifi.users_cli import audited, in_transaction
from core.access import AuditAction
from core.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from citizens.importing import ImportOutcome
    from inventory.citizen_reports import ReportView

citizens_app = typer.Typer(
    help="Citizens' problem reports: import the operation centre's other channels (CSV or "
    "JSON), list what came in. Imports are audited as cli:<os user>.",
    no_args_is_help=True,
)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def table(views: list[ReportView]) -> list[str]:
    """A header and one aligned line per report; PHONE and PHOTO say only whether."""
    rows = [("ID", "RECEIVED", "CHANNEL", "PROBLEM", "SITE", "MATCH", "INCIDENT", "PHONE",
             "PHOTO", "CLOSED")]  # fmt: skip
    rows += [
        (
            str(v.id),
            _when(v.received_at),
            v.channel.value,
            v.problem.value,
            v.site_id or "-",
            v.match.value,
            str(v.incident_id) if v.incident_id is not None else "-",
            "yes" if v.phone else "-",
            "yes" if v.has_photo else "-",
            _when(v.closed_at),
        )
        for v in views
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


@citizens_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .csv (with a header line) or .json file.")],
    format_: Annotated[
        str | None,
        typer.Option("--format", help="csv or json; default: from the file's extension."),
    ] = None,
) -> None:
    """File every report of FILE whose ref is new (all or nothing); print what was done."""
    from citizens.importing import import_reports, parse_reports
    from inventory.secretbox import load_box

    fmt = format_ or file.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        fail(ctx, ConfigError(f"{file}: say --format csv or --format json"), status=2)
    settings = settings_for(ctx)
    now = time.time()
    data = run_sync(ctx, file.read_bytes)
    rows = run_sync(ctx, lambda: parse_reports(data, "csv" if fmt == "csv" else "json",
                                               str(file), now=now))  # fmt: skip
    box = run_sync(ctx, lambda: load_box(settings))

    def body(session: Session) -> ImportOutcome:
        outcome = import_reports(
            session, rows, box=box, settings=settings, now=now, filed_by=cli_actor()
        )
        audited(
            session,
            AuditAction.CITIZEN_REPORTS_IMPORTED,
            f"citizen reports {file.name}",
            outcome.summary(file.name),
        )
        return outcome

    outcome = in_transaction(ctx, body)
    typer.echo(outcome.summary(str(file)))


@citizens_app.command("list")
def list_(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Option(help="Only reports matched to this site.")] = None,
    incident: Annotated[int | None, typer.Option(min=1, help="Only this incident's.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open reports.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many rows.")] = 50,
) -> None:
    """Citizens' reports, newest first (no text, no phone numbers: see the web view)."""
    from inventory import citizen_reports
    from inventory.secretbox import load_box

    settings = settings_for(ctx)
    box = run_sync(ctx, lambda: load_box(settings))
    filters = citizen_reports.ReportFilters(
        site_id=site, incident_id=incident, open=True if open_only else None
    )

    def body(session: Session) -> tuple[list[ReportView], int]:
        return citizen_reports.views(session, box, filters=filters, limit=limit, offset=0)

    views, total = in_transaction(ctx, body)
    if not views:
        typer.echo("no citizen reports", err=True)
        return
    for line in table(views):
        typer.echo(line)
    if total > len(views):
        typer.echo(f"showing {len(views)} of {total} (--limit)", err=True)
