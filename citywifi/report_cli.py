"""``citywifi report usage``: a partner's usage and SLA report for a month or a range, as
JSON, CSV or PDF, written whole or not at all.

Run on the server, so it may report on any partner (the API is where a partner fetches
its own). The period is asked for as the API asks for it and the JSON is the API's model
(:mod:`api.report_models`), so a file from here and a download from there are the same.
The report is written with :func:`citywifi.files.write_atomic` (``-o``) or, for JSON and
CSV, to stdout; "wrote ..." goes to stderr.

The progress bar (rich, on stderr) is drawn only when stderr is a terminal: it is for a
person waiting on a year of data, and in a cron mail or a log it would be noise. It is
fed by :func:`reports.usage_report`'s ``progress(done, total)`` and vanishes when done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from citywifi.command import run_sync, settings_for
from citywifi.files import write_atomic

if TYPE_CHECKING:
    from rich.console import Console

    from core.settings import Settings
    from reports import Period, UsageReport

report_app = typer.Typer(
    help="Partner reports: what each CSR partner's hotspots delivered (usage and SLA).",
    no_args_is_help=True,
)

#: --month/--start/--end for the fields the period rules name.
_OPTION_OF_FIELD = {"month": "'--month'", "start": "'--start'", "end": "'--end'"}


class FormatOption(StrEnum):
    JSON = "json"
    CSV = "csv"
    PDF = "pdf"


Progress = Callable[[int, int], None]


@contextmanager
def progress_bar(console: Console, label: str) -> Iterator[Progress | None]:
    """A ``progress(done, total)`` drawing a transient bar on ``console``, or None (no
    bar) when the console is not a terminal."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _period(month: str | None, start: str | None, end: str | None, settings: Settings) -> Period:
    """The API's rule (exactly one of a month or a range of at most a year); a refusal is
    a usage error naming the option."""
    from api.report_models import PeriodRefused, asked_period, parse_bound

    bounds = {}
    for name, text in (("start", start), ("end", end)):
        try:
            bounds[name] = None if text is None else parse_bound(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=_OPTION_OF_FIELD[name]) from None
    try:
        return asked_period(month, bounds["start"], bounds["end"], settings.city_tz)
    except PeriodRefused as exc:
        raise typer.BadParameter(str(exc), param_hint=_OPTION_OF_FIELD[exc.field]) from None


def _report(
    ctx: typer.Context, settings: Settings, partner: str, period: Period, console: Console
) -> UsageReport:
    """Read the partner's report from the inventory and the store (neither is created or
    changed here); an unknown partner, a database behind its migrations or a store down
    is a one-line error."""
    from sqlalchemy.orm import Session

    from core.errors import InventoryError
    from inventory.db import open_inventory
    from inventory.models import Partner
    from reports import usage_report
    from timeseries import open_store

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))
    try:
        store = run_sync(ctx, lambda: open_store(settings.store_url))
        try:

            def run() -> UsageReport:
                with Session(engine) as session:
                    if session.get(Partner, partner) is None:
                        raise InventoryError([f"no partner with id {partner!r}"])
                    with progress_bar(console, f"{partner} {period.label}") as progress:
                        return usage_report(
                            session,
                            store,
                            settings,
                            partner=partner,
                            period=period,
                            now=time.time(),
                            progress=progress,
                        )

            return run_sync(ctx, run)
        finally:
            store.close()
    finally:
        engine.dispose()


def rendered(report: UsageReport, fmt: FormatOption) -> str | bytes:
    """The report in ``fmt``: the API's JSON, the CSV of :mod:`reports.csvformat`, or the
    PDF of :mod:`reports.pdf`."""
    if fmt is FormatOption.CSV:
        from reports.csvformat import usage_csv

        return usage_csv(report)
    if fmt is FormatOption.PDF:
        from reports.pdf import render_pdf

        return render_pdf(report)
    from api.report_models import report_public

    return report_public(report).model_dump_json(indent=2) + "\n"


@report_app.command("usage")
def usage(
    ctx: typer.Context,
    partner: Annotated[str, typer.Option(help="The partner's id.")],
    month: Annotated[
        str | None,
        typer.Option(help="A calendar month of the city (city_timezone), YYYY-MM."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Instead of --month: the first day, YYYY-MM-DD of the city's calendar (or "
            "an ISO 8601 time, UTC without an offset)."
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(help="With --start: the last day, included (or a time, excluded)."),
    ] = None,
    fmt: Annotated[FormatOption, typer.Option("--format", help="The file's format.")] = (
        FormatOption.JSON
    ),
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write here (whole or not at all) [default: stdout; required for pdf].",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """A partner's usage and SLA report: availability against its target, downtime and
    incidents, GB down and up, sessions and users (or clients), the daily trend, the
    busiest hours and the previous period's totals. A range covers at most 366 days."""
    if fmt is FormatOption.PDF and output is None:
        raise typer.BadParameter("a PDF is written to a file: give -o FILE", param_hint="'-o'")
    settings = settings_for(ctx)
    period = _period(month, start, end, settings)
    from rich.console import Console

    report = _report(ctx, settings, partner, period, Console(stderr=True))
    content = rendered(report, fmt)
    if output is None:
        assert isinstance(content, str)
        typer.echo(content, nl=False)
        return
    target = output
    run_sync(ctx, lambda: write_atomic(target, content))
    typer.echo(
        f"wrote {output}: {report.partner_name}, {report.period_label}, {len(report.sites)} sites",
        err=True,
    )
