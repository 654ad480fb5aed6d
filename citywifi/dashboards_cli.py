"""``citywifi dashboards export|push``: the Grafana dashboards as code, written as files
for Grafana's provisioning or provisioned into a running Grafana through its HTTP API.

Both build the same dashboards (:mod:`dashboards.grafana`) and the same data source (the
URL Grafana reads the store at: ``grafana_datasource_url_*``, or ``--datasource-url``),
so a Grafana set up either way shows the same thing.

The token for ``push`` is a Grafana service account token (Editor, or Admin to create the
data source). It is read from ``--token`` or, better (a command line is visible to every
user of the machine in ``ps``), from ``CITYWIFI_GRAFANA_TOKEN``; it is never printed,
not even in ``--help``'s defaults or in an error.
"""

from __future__ import annotations

from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from citywifi.command import run_sync, settings_for

if TYPE_CHECKING:
    from core.settings import Settings
    from dashboards.grafana import Backend
    from dashboards.grafana.push import PushReport

TOKEN_ENV = "CITYWIFI_GRAFANA_TOKEN"

dashboards_app = typer.Typer(
    help="Grafana dashboards as code (VictoriaMetrics and InfluxDB variants): export them "
    "as provisioning files, or push them into a running Grafana.",
    no_args_is_help=True,
)


class BackendOption(StrEnum):
    VM = "vm"
    INFLUX = "influx"
    ALL = "all"


#: The option's words -> the backends they name (all: both, VictoriaMetrics first).
_BACKENDS: dict[BackendOption, tuple[Backend, ...]] = {
    BackendOption.VM: ("victoriametrics",),
    BackendOption.INFLUX: ("influxdb",),
    BackendOption.ALL: ("victoriametrics", "influxdb"),
}

#: The store URL schemes of each backend (timeseries.open_store's registry).
_STORE_SCHEMES: dict[str, Backend] = {
    "victoriametrics+http": "victoriametrics",
    "victoriametrics+https": "victoriametrics",
    "influxdb+http": "influxdb",
    "influxdb+https": "influxdb",
}


@dashboards_app.command("export")
def export_command(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(
            help="Where to write: DIR/<backend>/dashboards/*.json and "
            "DIR/<backend>/provisioning/{datasources,dashboards}/citywifi.yaml.",
            file_okay=False,
        ),
    ],
    backend: Annotated[
        BackendOption, typer.Option(help="Which backend's variant (all: both).")
    ] = BackendOption.ALL,
) -> None:
    """Write the four dashboards (network operations, access point, coverage, partner
    usage) and Grafana's provisioning files (a data source and a dashboard provider,
    apiVersion 1), each file whole or not at all. Prints the paths written."""
    settings = settings_for(ctx)
    from dashboards.grafana import export

    backends = _BACKENDS[backend]
    paths = run_sync(ctx, lambda: export(directory, settings, backends))
    for path in paths:
        typer.echo(str(path))
    typer.echo(f"wrote {len(paths)} files for {', '.join(backends)} under {directory}", err=True)


@dashboards_app.command("push")
def push_command(
    ctx: typer.Context,
    grafana_url: Annotated[
        str,
        typer.Option(
            "--grafana-url",
            help="Grafana's address, e.g. http://127.0.0.1:3000 (with its path prefix if "
            "served under one).",
        ),
    ],
    token: Annotated[
        str,
        typer.Option(
            envvar=TOKEN_ENV,
            show_envvar=False,
            show_default=False,
            help=f"A Grafana service account token (Editor or Admin) [env {TOKEN_ENV}, "
            "preferred: a command line is visible in ps].",
        ),
    ],
    backend: Annotated[
        BackendOption | None,
        typer.Option(help="Which backend's variant [default: the one the metric store URL names]."),
    ] = None,
    datasource_url: Annotated[
        str | None,
        typer.Option(
            help="Where Grafana reads the store [default: the grafana_datasource_url_* "
            "setting of the backend]. Only with one backend."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.1, max=300.0, help="Seconds to wait for each answer.")
    ] = 10.0,
) -> None:
    """Provision a running Grafana: the folder "citywifi", the data source and the four
    dashboards, writing only what is missing or differs (run it again at will: nothing
    is duplicated). Prints what was created, updated or left unchanged."""
    if not token.strip():
        raise typer.BadParameter(f"the token is empty (set {TOKEN_ENV})", param_hint="'--token'")
    settings = settings_for(ctx)
    backends = _BACKENDS[backend] if backend is not None else (_store_backend(settings),)
    if datasource_url is not None and len(backends) > 1:
        raise typer.BadParameter(
            "one URL cannot serve both backends: give --backend vm or influx",
            param_hint="'--datasource-url'",
        )
    from dashboards.grafana import build_dashboards, datasource_for
    from dashboards.grafana.push import push

    for name in backends:
        source = datasource_for(name, settings)
        if datasource_url is not None:
            source = {**source, "url": datasource_url}
        one = partial(
            push,
            grafana_url=grafana_url,
            token=token,
            backend=name,
            dashboards=build_dashboards(name, sla_target_pct=settings.sla_target_pct),
            datasource=source,
            timeout_s=timeout,
        )
        _print_report(run_sync(ctx, one))


def _print_report(report: PushReport) -> None:
    """One line per object, its fate first (columns line up for a reader, and a script
    can grep "created"/"updated")."""
    typer.echo(f"{report.folder:<9}  folder {report.folder_uid}")
    typer.echo(f"{report.datasource:<9}  data source {report.datasource_uid}")
    for uid in report.dashboards:
        if uid in report.created:
            change = "created"
        elif uid in report.updated:
            change = "updated"
        else:
            change = "unchanged"
        typer.echo(f"{change:<9}  dashboard {uid}")


def _store_backend(settings: Settings) -> Backend:
    """The backend the configured metric store is (what Grafana should read), or a usage
    error when it is the embedded store, which Grafana cannot read."""
    scheme = settings.store_url.split("://", 1)[0]
    found = _STORE_SCHEMES.get(scheme)
    if found is None:
        raise typer.BadParameter(
            f"the metric store is {scheme!r}, which Grafana cannot read: give "
            "--backend vm or influx (the store Grafana will read)",
            param_hint="'--backend'",
        )
    return found
