"""What every ``citywifi`` command shares: its settings, its one-line errors, and who it
acts as in the audit log.

In a module of its own so that the sub-apps (``users``, ``secrets``) and the main app in
:mod:`citywifi.cli` report errors and load settings the same way, without the sub-apps
importing the module that registers them.
"""

from __future__ import annotations

import getpass
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import typer

from core.errors import CitywifiError, ConfigError
from core.log import setup_logging
from core.settings import Settings, load_settings

T = TypeVar("T")

#: Settings field -> the option that sets it, for error messages naming what was typed.
OPTION_OF = {
    "data_dir": "--data-dir",
    "log_level": "--log-level",
    "poll_interval_s": "--interval",
    "metrics_port": "--metrics-port",
    "shard": "--shard",
    "api_host": "--host",
    "api_port": "--port",
    "fault_interval_s": "--interval",
    "radius_host": "--host",
    "radius_port": "--port",
    "radius_metrics_port": "--metrics-port",
}

CLI_ADDRESS = "cli"
"""The audit log's "from where" for commands run on this machine."""


@dataclass
class Globals:
    """What the options before the command say: setting overrides, and --debug."""

    overrides: dict[str, Any] = field(default_factory=dict)
    debug: bool = False


def globals_of(ctx: typer.Context) -> Globals:
    obj = ctx.find_object(Globals)
    return obj if obj is not None else Globals()


def settings_for(ctx: typer.Context, **overrides: Any) -> Settings:
    """Settings from the global options, this command's options, env and toml.

    A bad value is one line per problem (which setting, where it was set, what is
    allowed) and exit status 2, like any other usage error."""
    merged = {**globals_of(ctx).overrides, **overrides}
    try:
        settings = load_settings(options=OPTION_OF, **merged)
    except ConfigError as exc:
        fail(ctx, exc, status=2)
    setup_logging(settings.log_level)
    return settings


def fail(ctx: typer.Context, exc: BaseException, status: int = 1) -> NoReturn:
    """Say what went wrong in one ``error:`` line per line of the message, and exit.

    The traceback is for developers: ``--debug`` prints it first."""
    if globals_of(ctx).debug:
        traceback.print_exception(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        message = f"{exc.strerror}{where}"
    else:
        message = str(exc) or type(exc).__name__
    for line in message.splitlines() or [message]:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(status) from exc


def run_sync(ctx: typer.Context, fn: Callable[[], T], status: int = 1) -> T:
    """Run a command body; an expected failure becomes one clear message and ``status``.

    Expected: citywifi's own errors, and the environment refusing (a file that cannot
    be written, a port in use: OSError). Anything else is a bug and keeps its traceback.
    """
    try:
        return fn()
    except (CitywifiError, OSError) as exc:
        fail(ctx, exc, status)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def cli_actor() -> str:
    """Who runs a command, for the audit log: ``cli:<OS user>``."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        name = str(os.getuid())
    return f"cli:{name}"
