"""The ``citywifi`` command: thin wiring from flags to settings to the packages.

Options given here override ``CITYWIFI_*`` variables, which override ``citywifi.toml``;
an option left out leaves the lower layers in charge (see core.settings).

Each command imports the packages it drives inside its own body. Not to hide import
cycles (there are none: import-linter checks the layers and forbids cycles), but because
loading all of them costs about 1.4 s against 0.23 s for this module alone on the
benchmark machine, and ``citywifi config``, ``--help`` or a failing option should answer
at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import signal
import socket
import sys
from contextlib import suppress
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from citywifi import __version__
from citywifi.citizens_cli import citizens_app
from citywifi.command import Globals, run_sync, settings_for
from citywifi.coverage_cli import coverage_app
from citywifi.dashboards_cli import dashboards_app
from citywifi.faults_cli import faults as faults_command
from citywifi.fieldwork_cli import field_app
from citywifi.files import write_atomic
from citywifi.incidents_cli import incidents as incidents_command
from citywifi.lifeline import arm_from_environment
from citywifi.maintenance_cli import maintenance_app
from citywifi.radius_cli import radius as radius_command
from citywifi.report_cli import report_app
from citywifi.report_schedule_cli import schedule as report_schedule
from citywifi.secrets_cli import secrets_app
from citywifi.sessions_cli import sessions_app
from citywifi.users_cli import users_app
from core.errors import ConfigError
from core.settings import redact_url

T = TypeVar("T")

app = typer.Typer(
    help="citywifi: network management for a city's public WiFi.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # help texts say "[env CITYWIFI_...]": not markup to strip
)
inventory_app = typer.Typer(help="Import and export sites, APs, partners and credentials.")
app.add_typer(inventory_app, name="inventory")
timeseries_app = typer.Typer(help="The metric store: check that it works as configured.")
app.add_typer(timeseries_app, name="timeseries")
db_app = typer.Typer(
    help="The inventory database's schema: see where it stands, bring it to the current one."
    " serve, collect and inventory export refuse a database that is behind (they never"
    " change a schema on their own); `citywifi db upgrade` brings it up to date."
)
app.add_typer(db_app, name="db")
app.add_typer(secrets_app, name="secrets")
app.add_typer(users_app, name="users")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(coverage_app, name="coverage")
app.add_typer(sessions_app, name="sessions")
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(field_app, name="field")
app.add_typer(citizens_app, name="citizen-reports")
report_app.command("schedule")(report_schedule)
app.add_typer(report_app, name="report")
app.command("incidents")(incidents_command)
app.command("faults")(faults_command)
app.command("radius")(radius_command)

log = logging.getLogger("citywifi")


def _stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM, so loops finish their work and exit cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"citywifi {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="State directory [env CITYWIFI_DATA_DIR].")
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="DEBUG, INFO, WARNING or ERROR [env CITYWIFI_LOG_LEVEL].")
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="On an error, print the traceback too.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = Globals({"data_dir": data_dir, "log_level": log_level}, debug)


@app.command("config")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings (secrets redacted) as JSON."""
    typer.echo(json.dumps(settings_for(ctx).redacted(), indent=2))


@app.command()
def simulate(
    ctx: typer.Context,
    aps: Annotated[int, typer.Option(min=1, max=60_000, help="Number of access points.")] = 300,
    seed: Annotated[int, typer.Option(help="Same seed, same city.")] = 1,
    inventory_out: Annotated[
        Path | None, typer.Option(help="Write the city's inventory YAML here once serving.")
    ] = None,
    districts_out: Annotated[
        Path | None, typer.Option(help="Write district boundaries (GeoJSON) here.")
    ] = None,
    demand_out: Annotated[
        Path | None, typer.Option(help="Write demand points (CSV: population weights) here.")
    ] = None,
    snmp_port: Annotated[int, typer.Option(min=1, max=65535)] = 1161,
    base_address: Annotated[
        str, typer.Option(help="First AP address; one loopback address per AP.")
    ] = "127.1.0.1",
    control_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Fault control API on 127.0.0.1 (0: none).")
    ] = 8099,
    scenario: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Scenario YAML: a timeline of faults."),
    ] = None,
    random_faults: Annotated[
        bool, typer.Option(help="Let faults also arise at random (modest demo rates).")
    ] = False,
    ssh_aps: Annotated[
        int,
        typer.Option(
            min=0, max=10_000, help="MikroTik and OpenWrt APs that also serve an SSH CLI."
        ),
    ] = 200,
    ssh_port: Annotated[int, typer.Option(min=1, max=65535)] = 2222,
    history: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Before serving, write this much of the city's past (30d, 12h, 90m, 3600s"
            " or plain seconds) into the metric store, tagged source=simulated.",
        ),
    ] = None,
    history_step: Annotated[
        str,
        typer.Option(
            metavar="DURATION",
            help="Time between past samples per AP. Samples = APs x history / step: 30d of"
            " 2,000 APs is 17 M at 300 s but 86 M at 60 s.",
        ),
    ] = "300",
    fault_rates: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="YAML of random-fault rates per kind (implies random faults; docs/simulator.md).",
        ),
    ] = None,
    time_offset: Annotated[
        str,
        typer.Option(
            metavar="DURATION",
            help="Shift the simulated clock, e.g. -7d or 12h (the city lives at another time).",
        ),
    ] = "0",
    speed: Annotated[
        float,
        typer.Option(min=0.1, max=1000.0, help="Simulated seconds per real second."),
    ] = 1.0,
    radius: Annotated[
        str | None,
        typer.Option(
            metavar="HOST:PORT",
            help="Send the hotspot (MikroTik) APs' RADIUS accounting to this server, from"
            " each AP's own address (default: none).",
        ),
    ] = None,
    radius_interim: Annotated[
        float,
        typer.Option(min=1.0, help="Simulated seconds between a session's RADIUS Interim-Updates."),
    ] = 300.0,
) -> None:
    """Serve a simulated city of access points (SNMP v2c/v3, SSH) on loopback addresses.

    With --history, first write the city's past into the configured metric store, so
    dashboards and reports have a month of data without waiting a month. With --radius,
    its hotspot APs send RADIUS accounting (Start, Interim-Update, Stop, Accounting-On)."""
    from citywifi.history import parse_duration
    from citywifi.simulate import SimulateOptions, run_simulate
    from core.errors import SimulatorError
    from simulators.radius import parse_target

    def duration(text: str, option: str, signed: bool = False) -> float:
        if signed and text.strip().lstrip("+-") in ("0", "0s"):
            return 0.0
        negative = signed and text.startswith("-")
        try:
            value = parse_duration(text[1:] if negative else text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=f"'{option}'") from exc
        return -value if negative else value

    step_s = duration(history_step, "--history-step")
    history_s = None if history is None else duration(history, "--history")
    if history_s is not None and not 1 <= step_s <= history_s:
        raise typer.BadParameter(
            f"must be between 1 s and the --history duration ({history_s:g} s), got {step_s:g} s",
            param_hint="'--history-step'",
        )
    try:
        radius_target = None if radius is None else parse_target(radius)
    except SimulatorError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--radius'") from exc
    options = SimulateOptions(
        aps=aps,
        seed=seed,
        snmp_port=snmp_port,
        base_address=base_address,
        control_port=control_port,
        ssh_aps=ssh_aps,
        ssh_port=ssh_port,
        inventory_out=inventory_out,
        districts_out=districts_out,
        demand_out=demand_out,
        scenario=scenario,
        random_faults=random_faults,
        fault_rates=fault_rates,
        history_s=history_s,
        history_step_s=step_s,
        time_offset_s=duration(time_offset, "--time-offset", signed=True),
        speed=speed,
        radius=radius_target,
        radius_interim_s=radius_interim,
    )
    settings = settings_for(ctx)
    run_sync(ctx, lambda: run_simulate(settings, options, _stop_event_on_signals))


@app.command()
def collect(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(help="Poll every AP once, then exit.")] = False,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between polls [env CITYWIFI_POLL_INTERVAL_S].")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Serve self-metrics (Prometheus) on this port [env CITYWIFI_METRICS_PORT].",
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            metavar="I/N",
            help="Poll only APs whose stable hash % N == I: a static split, no leases"
            " (default 0/1: the whole city, shared with other collectors by leases)"
            " [env CITYWIFI_SHARD].",
        ),
    ] = None,
) -> None:
    """Poll every enabled AP and write metrics to the store.

    Several collectors on one database share the APs: each leases a fair share, renewed
    every interval (intervals aligned to the clock); when one stops or dies the others
    take its APs within two intervals. --shard I/N (N > 1) splits statically instead,
    without leases; --once polls every AP of its shard now, without leases.
    The inventory database must exist at the current schema (else: `citywifi db
    upgrade`, or `citywifi inventory import` for a new one).
    SIGTERM or Ctrl-C: in-flight polls finish, samples and states are flushed, the leases
    are given up, exit 0."""
    settings = settings_for(ctx, poll_interval_s=interval, metrics_port=metrics_port, shard=shard)
    from collector.engine import Collector
    from collector.leases import keeper_for
    from inventory.db import open_inventory
    from timeseries import open_store

    async def main() -> None:
        engine = open_inventory(settings.db_url, create=False)
        store = open_store(settings.store_url)
        leases = None if once else keeper_for(settings, engine)
        collector = Collector(settings, engine, store, leases=leases)
        try:
            if settings.metrics_port is not None:
                bound = collector.metrics.serve(settings.metrics_host, settings.metrics_port)
                log.info("self-metrics on %s:%d", settings.metrics_host, bound)
            await collector.run(once=once, stop=_stop_event_on_signals())
        finally:
            collector.close()
            store.close()
            engine.dispose()

    _run(ctx, main())


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="[env CITYWIFI_API_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="[env CITYWIFI_API_PORT]")] = None,
) -> None:
    """Serve the API and the web page.

    The inventory database must exist at the current schema (else: `citywifi db
    upgrade`, or `citywifi inventory import` for a new one)."""
    settings = settings_for(ctx, api_host=host, api_port=port)
    import uvicorn

    from api.app import create_app
    from inventory.db import open_inventory

    run_sync(ctx, lambda: open_inventory(settings.db_url, create=False).dispose())

    typer.echo(f"citywifi API and status page on http://{settings.api_host}:{settings.api_port}/")
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def demo(
    ctx: typer.Context,
    aps: Annotated[int, typer.Option(min=1, max=60_000, help="Simulated access points.")] = 300,
    port: Annotated[int, typer.Option(min=1, max=65535, help="API and page port.")] = 8080,
    interval: Annotated[float, typer.Option(min=1.0, help="Seconds between polls.")] = 10.0,
    duration: Annotated[
        float | None, typer.Option(min=1.0, help="Stop after this many seconds.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same city.")] = 1,
    snmp_port: Annotated[int, typer.Option(min=1, max=65535)] = 1161,
    control_port: Annotated[
        int, typer.Option(min=0, max=65535, help="The simulator's fault control API (0: none).")
    ] = 8099,
    ssh_port: Annotated[
        int, typer.Option(min=1, max=65535, help="The simulated APs' SSH port.")
    ] = 2222,
    random_faults: Annotated[
        bool, typer.Option(help="Let faults arise at random in the simulated city.")
    ] = False,
    radius_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="UDP port of the demo's RADIUS accounting receiver [env CITYWIFI_RADIUS_PORT].",
        ),
    ] = None,
) -> None:
    """Simulated city → collector → embedded store → API and page, in one command.

    State lives in <data dir>/demo, emptied at start and locked while the demo runs (one
    demo per data dir); the demo makes its own new database there. SIGTERM or Ctrl-C
    stops it and its child processes cleanly; they also end if the demo is killed."""
    settings = settings_for(ctx)
    from citywifi.demo import run_demo

    run_sync(
        ctx,
        lambda: run_demo(
            settings,
            aps=aps,
            port=port,
            interval=interval,
            duration=duration,
            seed=seed,
            snmp_port=snmp_port,
            control_port=control_port,
            ssh_port=ssh_port,
            random_faults=random_faults,
            radius_port=radius_port,
        ),
    )


@app.command()
def poll(
    ctx: typer.Context,
    host: Annotated[str, typer.Argument(help="The device's address.")],
    port: Annotated[int, typer.Option(min=1, max=65535)] = 161,
    community: Annotated[str, typer.Option(help="SNMPv2c community.")] = "public",
    v3_user: Annotated[str | None, typer.Option(help="SNMPv3 user (then v3, not v2c).")] = None,
    auth_key: Annotated[str | None, typer.Option(help="SNMPv3 authentication key.")] = None,
    priv_key: Annotated[str | None, typer.Option(help="SNMPv3 privacy key.")] = None,
    auth_proto: Annotated[str, typer.Option(help="MD5, SHA, SHA256, ...")] = "SHA",
    priv_proto: Annotated[str, typer.Option(help="AES, AES256, DES, ...")] = "AES",
    profile: Annotated[str, typer.Option(help="Vendor profile, or auto to detect.")] = "auto",
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per request.")] = 2.0,
    rate_interval: Annotated[
        float, typer.Option(min=0.0, help="Poll twice this many seconds apart, for rates.")
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Poll one device once and print the normalised metrics and the detected profile."""
    from collector import profiles
    from collector.oneshot import poll_once
    from collector.snmp import build_target

    def prepare() -> Any:
        if profile != profiles.AUTO:
            profiles.get(profile)  # an unknown name: ConfigError listing the known ones
        address = _address_of(host)
        if v3_user is None:
            return build_target(
                address, port, version="2c", community=community, timeout_s=timeout, retries=1
            )
        return build_target(
            address,
            port,
            version="3",
            user=v3_user,
            auth_protocol=auth_proto,
            auth_key=auth_key,
            priv_protocol=priv_proto if priv_key else None,
            priv_key=priv_key,
            timeout_s=timeout,
            retries=1,
        )

    target = run_sync(ctx, prepare, status=2)
    shot = run_sync(ctx, lambda: asyncio.run(poll_once(target, profile, rate_interval)))
    typer.echo(shot.as_json() if as_json else shot.as_table())


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def _address_of(host: str) -> str:
    """The IP address to poll: ``host`` itself, or what its name resolves to.

    Checked before any lookup, so a typo (``999.1.1.1``, a stray space) is said plainly
    instead of surfacing as a resolver error from deep inside the SNMP stack."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if (
        len(host) > 253
        or not all(_HOST_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ConfigError(f"{host!r} is neither an IP address nor a host name")
    try:
        found = socket.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise ConfigError(f"cannot resolve host name {host!r}: {exc.strerror or exc}") from exc
    return str(found[0][4][0])


@inventory_app.command("import")
def inventory_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option(help="Validate only; change nothing.")] = False,
) -> None:
    """Import YAML (all sections) or CSV (sites or APs); all rows or none.

    Creates the inventory database if there is none; refuses one that is behind its
    schema (run `citywifi db upgrade`). Device secrets are sealed with the key (the
    secret_key setting, or the key file, made on first use); a credential profile that
    leaves a secret out (an export without --include-secrets) keeps the stored one.
    Audited."""
    settings = settings_for(ctx)
    import time

    from sqlalchemy.orm import Session

    from citywifi.command import CLI_ADDRESS, cli_actor
    from core.access import AuditAction
    from inventory import ImportReport, import_file, validate_file
    from inventory.audit import record
    from inventory.db import open_inventory
    from inventory.secretbox import load_box

    def audited(session: Session, report: ImportReport) -> None:
        record(
            session,
            AuditAction.INVENTORY_IMPORTED,
            actor=cli_actor(),
            target=str(file),
            address=CLI_ADDRESS,
            detail=report.summary(),
            now=time.time(),
        )

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=True))
    try:
        if dry_run:
            run_sync(ctx, lambda: validate_file(engine, file))
            typer.echo(f"{file}: valid, nothing imported (dry run)")
        else:
            box = run_sync(ctx, lambda: load_box(settings))
            report = run_sync(ctx, lambda: import_file(engine, file, box, audit=audited))
            typer.echo(report.summary())
    finally:
        engine.dispose()


@inventory_app.command("export")
def inventory_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; default stdout.")
    ] = None,
    include_secrets: Annotated[
        bool,
        typer.Option(
            "--include-secrets",
            help="Also write the device secrets, in clear (a full backup); audited.",
        ),
    ] = False,
) -> None:
    """Write the inventory as YAML (the import format), without device secrets unless
    --include-secrets; importing a file without them keeps the stored ones.

    Reads the configured database (named on stderr) and refuses when there is none or
    it is behind its schema (run `citywifi db upgrade`). A file is written 0600."""
    settings = settings_for(ctx)
    import time

    from sqlalchemy import Engine

    from citywifi.command import CLI_ADDRESS, cli_actor
    from core.access import AuditAction
    from inventory import export_yaml
    from inventory.audit import record
    from inventory.db import open_inventory, transaction
    from inventory.secretbox import load_box

    def export_with_secrets(engine: Engine) -> str:
        text = export_yaml(engine, load_box(settings), include_secrets=True)
        # Recorded before the secrets leave: an export that then fails to be written is
        # still in the log, never the other way round.
        with transaction(engine) as session:
            record(
                session,
                AuditAction.SECRETS_EXPORTED,
                actor=cli_actor(),
                target=str(output) if output is not None else "stdout",
                address=CLI_ADDRESS,
                now=time.time(),
            )
        return text

    typer.echo(f"reading inventory from {redact_url(settings.db_url)}", err=True)
    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))
    try:
        if include_secrets:
            text = run_sync(ctx, lambda: export_with_secrets(engine))
        else:
            text = run_sync(ctx, lambda: export_yaml(engine))
    finally:
        engine.dispose()
    import yaml

    if not any((yaml.safe_load(text) or {}).values()):
        typer.echo("warning: the inventory is empty: the export holds nothing", err=True)
    if include_secrets:
        typer.echo("note: the export contains SNMP and SSH credentials in clear", err=True)
    else:
        typer.echo("note: device secrets left out (--include-secrets writes them)", err=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        run_sync(ctx, lambda: write_atomic(output, text, private=True))
        typer.echo(f"wrote {output}", err=True)


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the database's schema revision and whether it is the current one."""
    settings = settings_for(ctx)
    from inventory import migrations

    where = migrations.database_name(settings.db_url)
    found = run_sync(ctx, lambda: migrations.inspect_url(settings.db_url))
    head = migrations.head()
    if found.revision is None:
        typer.echo(f"{where}: empty, no schema (run `citywifi db upgrade`)")
    elif not found.stamped:
        typer.echo(
            f"{where}: made before migrations, as {found.revision}; behind {head}"
            " (run `citywifi db upgrade`)"
        )
    elif found.revision == head:
        typer.echo(f"{where}: {found.revision} (current)")
    else:
        typer.echo(f"{where}: {found.revision}, behind {head} (run `citywifi db upgrade`)")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Bring the database's schema to the current one, keeping its data.

    Creates the schema in a new or empty database; recognises and upgrades one made
    before migrations existed. Device secrets stored in clear by older versions are
    sealed with the key (the secret_key setting, or the key file, made on first use)."""
    settings = settings_for(ctx)
    from inventory import migrations
    from inventory.secretbox import load_box

    where = migrations.database_name(settings.db_url)
    box = run_sync(ctx, lambda: load_box(settings))
    before, after = run_sync(ctx, lambda: migrations.upgrade(settings.db_url, box=box))
    if before == after:
        typer.echo(f"{where}: already at {after}")
    else:
        typer.echo(f"{where}: upgraded from {before or 'nothing'} to {after}")


@timeseries_app.command("check")
def timeseries_check(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="Store URL to check; default the configured one.")
    ] = None,
) -> None:
    """Write a probe sample, read it back, and say what is wrong in plain words."""
    settings = settings_for(ctx)
    from timeseries.check import check_store

    report = run_sync(ctx, lambda: check_store(url or settings.store_url))
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


def _run(ctx: typer.Context, coro: Any) -> None:
    run_sync(ctx, lambda: asyncio.run(coro))


def main() -> None:
    arm_from_environment()  # a child of `citywifi demo` ends when the demo does
    app(prog_name="citywifi")


if __name__ == "__main__":
    main()
    sys.exit(0)
