"""The ``citywifi`` command: thin wiring from flags to settings to the packages.

Options given here override ``CITYWIFI_*`` variables, which override ``citywifi.toml``;
an option left out leaves the lower layers in charge (see core.settings).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from contextlib import suppress
from pathlib import Path
from typing import Annotated, Any

import typer

from core.errors import CitywifiError
from core.log import setup_logging
from core.settings import Settings, load_settings

app = typer.Typer(
    help="citywifi: network management for a city's public WiFi.",
    no_args_is_help=True,
    add_completion=False,
)
inventory_app = typer.Typer(help="Import and export sites, APs, partners and credentials.")
app.add_typer(inventory_app, name="inventory")
timeseries_app = typer.Typer(help="The metric store: check that it works as configured.")
app.add_typer(timeseries_app, name="timeseries")

log = logging.getLogger("citywifi")


def _settings(ctx: typer.Context, **overrides: Any) -> Settings:
    """Settings from the global options, this command's options, env and toml."""
    merged = {**(ctx.obj or {}), **overrides}
    try:
        settings = load_settings(**merged)
    except Exception as exc:  # pydantic's ValidationError: say it in one block and stop
        typer.echo(f"error: invalid settings:\n{exc}", err=True)
        raise typer.Exit(2) from exc
    setup_logging(settings.log_level)
    return settings


def _stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM, so loops finish their work and exit cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


@app.callback()
def _global(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="State directory [env CITYWIFI_DATA_DIR].")
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="DEBUG, INFO, WARNING or ERROR [env CITYWIFI_LOG_LEVEL].")
    ] = None,
) -> None:
    ctx.obj = {"data_dir": data_dir, "log_level": log_level}


@app.command("config")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings (secrets redacted) as JSON."""
    typer.echo(json.dumps(_settings(ctx).redacted(), indent=2))


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
) -> None:
    """Serve a simulated city of access points (SNMP v2c/v3, SSH) on loopback addresses.

    With --history, first write the city's past into the configured metric store, so
    dashboards and reports have a month of data without waiting a month."""
    from citywifi.history import parse_duration
    from citywifi.simulate import SimulateOptions, run_simulate

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
    )
    settings = _settings(ctx)
    _run_sync(lambda: run_simulate(settings, options, _stop_event_on_signals))


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
            help="Poll only APs whose stable hash % N == I [env CITYWIFI_SHARD].",
        ),
    ] = None,
) -> None:
    """Poll every enabled AP and write metrics to the store.

    SIGTERM or Ctrl-C: in-flight polls finish, samples and states are flushed, exit 0."""
    settings = _settings(ctx, poll_interval_s=interval, metrics_port=metrics_port, shard=shard)
    from collector.engine import Collector
    from inventory.db import make_engine
    from timeseries import open_store

    async def main() -> None:
        engine = make_engine(settings.db_url)
        store = open_store(settings.store_url)
        collector = Collector(settings, engine, store)
        try:
            if settings.metrics_port is not None:
                bound = collector.metrics.serve(settings.metrics_host, settings.metrics_port)
                log.info("self-metrics on %s:%d", settings.metrics_host, bound)
            await collector.run(once=once, stop=_stop_event_on_signals())
        finally:
            collector.close()
            store.close()
            engine.dispose()

    _run(main())


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="[env CITYWIFI_API_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="[env CITYWIFI_API_PORT]")] = None,
) -> None:
    """Serve the API and the web page."""
    settings = _settings(ctx, api_host=host, api_port=port)
    import uvicorn

    from api.app import create_app

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
    random_faults: Annotated[
        bool, typer.Option(help="Let faults arise at random in the simulated city.")
    ] = False,
) -> None:
    """Simulated city → collector → embedded store → API and page, in one command."""
    settings = _settings(ctx)
    from citywifi.demo import run_demo

    _run_sync(
        lambda: run_demo(
            settings,
            aps=aps,
            port=port,
            interval=interval,
            duration=duration,
            seed=seed,
            snmp_port=snmp_port,
            control_port=control_port,
            random_faults=random_faults,
        )
    )


@app.command()
def poll(
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
    from collector.oneshot import poll_once
    from collector.snmp import SnmpTarget

    if v3_user and not auth_key:
        typer.echo("error: --v3-user needs --auth-key", err=True)
        raise typer.Exit(2)
    target = SnmpTarget(
        host,
        port,
        "" if v3_user else community,
        timeout_s=timeout,
        retries=1,
        user=v3_user or None,
        auth_protocol=auth_proto if v3_user else None,
        auth_key=auth_key if v3_user else None,
        priv_protocol=priv_proto if v3_user and priv_key else None,
        priv_key=priv_key if v3_user else None,
    )
    shot = _run_sync(lambda: asyncio.run(poll_once(target, profile, rate_interval)))
    typer.echo(shot.as_json() if as_json else shot.as_table())


@inventory_app.command("import")
def inventory_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option(help="Validate only; change nothing.")] = False,
) -> None:
    """Import YAML (all sections) or CSV (sites or APs); all rows or none."""
    settings = _settings(ctx)
    from inventory import import_file, validate_file
    from inventory.db import make_engine

    engine = make_engine(settings.db_url)
    try:
        if dry_run:
            _run_sync(lambda: validate_file(engine, file))
            typer.echo(f"{file}: valid, nothing imported (dry run)")
        else:
            report = _run_sync(lambda: import_file(engine, file))
            typer.echo(report.summary())
    finally:
        engine.dispose()


@inventory_app.command("export")
def inventory_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; default stdout.")
    ] = None,
) -> None:
    """Write the inventory as YAML (the import format). It contains credentials."""
    settings = _settings(ctx)
    from inventory import export_yaml
    from inventory.db import make_engine

    engine = make_engine(settings.db_url)
    try:
        text = export_yaml(engine)
    finally:
        engine.dispose()
    typer.echo("note: the export contains SNMP and SSH credentials in clear", err=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@timeseries_app.command("check")
def timeseries_check(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="Store URL to check; default the configured one.")
    ] = None,
) -> None:
    """Write a probe sample, read it back, and say what is wrong in plain words."""
    settings = _settings(ctx)
    from timeseries.check import check_store

    report = _run_sync(lambda: check_store(url or settings.store_url))
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


def _run(coro: Any) -> None:
    _run_sync(lambda: asyncio.run(coro))


def _run_sync(fn: Any) -> Any:
    """Run a command body; a CitywifiError becomes one clear message and exit status 1."""
    try:
        return fn()
    except CitywifiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def main() -> None:
    app(prog_name="citywifi")


if __name__ == "__main__":
    main()
    sys.exit(0)
