"""``citywifi simulate``: build the city, optionally write its past, then serve it.

The CLI parses flags; this module wires the simulator's parts together in the one order
that works: history before serving (so dashboards have it at once), geography and fault
book before the agents, inventory last (its appearance tells a waiting caller that every
AP answers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from core.errors import SimulatorError
from core.settings import Settings

if TYPE_CHECKING:
    from simulators.city import City
    from simulators.faults import FaultRates

log = logging.getLogger("citywifi.simulate")


@dataclass(frozen=True)
class SimulateOptions:
    aps: int
    seed: int
    snmp_port: int
    base_address: str
    control_port: int
    ssh_aps: int
    ssh_port: int
    inventory_out: Path | None = None
    districts_out: Path | None = None
    demand_out: Path | None = None
    scenario: Path | None = None
    random_faults: bool = False
    fault_rates: Path | None = None
    history_s: float | None = None
    history_step_s: float = 300.0
    time_offset_s: float = 0.0
    speed: float = 1.0
    radius: tuple[str, int] | None = None  # RADIUS accounting server of the hotspot APs
    radius_interim_s: float = 300.0


def make_clock(offset_s: float, speed: float) -> Callable[[float], float] | None:
    """The simulated clock: shifted by ``offset_s`` and running ``speed`` times faster.

    Every value is a pure function of this clock, so counters stay consistent however it
    runs; a collector reading a sped-up city sees rates ``speed`` times higher, as it would
    if that much traffic really flowed between its polls.
    """
    if offset_s == 0 and speed == 1:
        return None
    origin = time.time()
    return lambda now: origin + offset_s + (now - origin) * speed


def load_fault_rates(path: Path) -> FaultRates:
    """Random-fault rates from YAML: ``{kind: expected count, ...}`` (see docs/simulator.md)."""
    from dataclasses import fields

    from simulators.faults import FaultRates

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SimulatorError(f"{path}: cannot read fault rates: {exc}") from exc
    known = {f.name for f in fields(FaultRates)}
    if not isinstance(data, dict):
        raise SimulatorError(f"{path}: fault rates must be a mapping of kind to rate")
    problems = [f"unknown fault kind {k!r}" for k in data if k not in known]
    problems += [
        f"{k}: rate must be a number >= 0, got {v!r}"
        for k, v in data.items()
        if k in known and (not isinstance(v, int | float) or isinstance(v, bool) or v < 0)
    ]
    if problems:
        raise SimulatorError(
            f"{path}: " + "; ".join(problems) + f" (kinds: {', '.join(sorted(known))})"
        )
    return FaultRates(**{k: float(v) for k, v in data.items()})


def run_simulate(
    settings: Settings, opts: SimulateOptions, stop: Callable[[], asyncio.Event]
) -> None:
    from simulators import geo
    from simulators.city import build_city
    from simulators.faults import DEMO_FAULT_RATES, NO_RANDOM_FAULTS, build_fault_book
    from simulators.run import run_simulator, write_inventory
    from simulators.scenario import load_and_schedule
    from simulators.ssh import ssh_aps_for

    city = build_city(opts.aps, opts.seed, base_address=opts.base_address, snmp_port=opts.snmp_port)
    if opts.history_s is not None:
        _write_history(settings, city, opts.history_s, opts.history_step_s)
    rates = NO_RANDOM_FAULTS
    if opts.fault_rates is not None:
        rates = load_fault_rates(opts.fault_rates)
    elif opts.random_faults:
        rates = DEMO_FAULT_RATES
    shifted = make_clock(opts.time_offset_s, opts.speed)
    clock: Callable[[], float] = (lambda: shifted(time.time())) if shifted else time.time
    book = build_fault_book(city, rates=rates, clock=clock)
    if opts.districts_out is not None:
        geo.write_districts(city, opts.districts_out)
    if opts.demand_out is not None:
        geo.write_demand(city, opts.demand_out)

    def ready() -> None:
        if opts.inventory_out is not None:
            write_inventory(city, opts.inventory_out, ssh_port=opts.ssh_port)
        log.info(
            "simulating %d APs from %s on UDP port %d", opts.aps, opts.base_address, opts.snmp_port
        )

    async def main() -> None:
        if opts.scenario is not None:
            load_and_schedule(book, opts.scenario)
        await run_simulator(
            city,
            stop=stop(),
            ready=ready,
            clock=clock,
            faults=book,
            control_port=opts.control_port or None,
            ssh_aps=ssh_aps_for(city, limit=opts.ssh_aps),
            ssh_port=opts.ssh_port,
            radius=opts.radius,
            radius_interim_s=opts.radius_interim_s,
        )

    asyncio.run(main())


def _write_history(settings: Settings, city: City, history_s: float, step_s: float) -> None:
    from citywifi.history import DAY_S, write_history
    from timeseries import open_store

    where = settings.redacted()["timeseries_url"]
    days = history_s / DAY_S
    log.info("writing %g days of simulated history every %g s into %s", days, step_s, where)
    said = [0]

    def progress(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth > said[0]:
            said[0] = tenth
            log.info("simulated history: %d%% (%d of %d samples)", tenth * 10, done, total)

    store = open_store(settings.store_url)
    try:
        report = write_history(city, store, days=days, step_s=step_s, progress=progress)
    finally:
        store.close()
    log.info("%s", report.summary())
