"""``citywifi demo``: the whole pipeline on one machine, from one command.

The simulator and the collector run as child processes — the same commands an operator
would run, each with its own core to use — and the API runs here. The demo keeps its
state in ``<data dir>/demo``, emptied at start, so a demo never mixes with a real
inventory or with an earlier demo of another size.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import SimulatorError
from core.settings import Settings

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("citywifi.demo")

SIMULATOR_START_TIMEOUT_S = 120.0


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "citywifi", *args], env=env)


def _stop(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in 15 s; killing it", name)
            proc.kill()
            proc.wait()


def _wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc.poll() is not None:
            raise SimulatorError(f"the simulator exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise SimulatorError(f"the simulator did not start within {timeout_s:.0f} s")
        time.sleep(0.1)


def run_demo(
    settings: Settings,
    *,
    aps: int,
    port: int,
    interval: float,
    duration: float | None,
    seed: int,
    snmp_port: int,
    control_port: int = 8099,
    random_faults: bool = False,
) -> None:
    import uvicorn

    from api.app import create_app
    from inventory import import_file
    from inventory.db import make_engine

    data_dir = (settings.data_dir / "demo").resolve()
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    demo_settings = settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": None,
            "timeseries_url": None,
            "poll_interval_s": interval,
            "api_port": port,
        }
    )
    env = {
        **os.environ,
        "CITYWIFI_DATA_DIR": str(data_dir),
        "CITYWIFI_POLL_INTERVAL_S": str(interval),
        "CITYWIFI_LOG_LEVEL": settings.log_level,
    }
    for key in ("CITYWIFI_DATABASE_URL", "CITYWIFI_TIMESERIES_URL"):
        env.pop(key, None)
    inventory_file = data_dir / "city.yaml"

    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        simulate = {
            "--aps": aps,
            "--seed": seed,
            "--snmp-port": snmp_port,
            "--control-port": control_port,
            "--districts-out": data_dir / "districts.geojson",
            "--demand-out": data_dir / "demand.csv",
            "--inventory-out": inventory_file,  # written last: the sign that all is served
        }
        args = [str(part) for option in simulate.items() for part in option]
        faults = "--random-faults" if random_faults else "--no-random-faults"
        sim = _spawn(["simulate", *args, faults], env)
        children.append(("simulator", sim))
        _wait_for_file(inventory_file, sim, SIMULATOR_START_TIMEOUT_S)
        engine = make_engine(demo_settings.db_url)
        for name in ("city.yaml", "districts.geojson", "demand.csv"):
            log.info(import_file(engine, data_dir / name).summary())
        engine.dispose()
        children.append(("collector", _spawn(["collect"], env)))

        config = uvicorn.Config(
            create_app(demo_settings),
            host=demo_settings.api_host,
            port=port,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        url = f"http://{demo_settings.api_host}:{port}/"
        print(f"citywifi demo: {aps} simulated APs, polled every {interval:g} s", flush=True)
        print(f"citywifi demo: open {url}  (API: {url}api/v1/status; Ctrl-C stops)", flush=True)
        if control_port:
            print(
                f"citywifi demo: break things with the simulator's control API on "
                f"http://127.0.0.1:{control_port}/faults (see docs/simulator.md)",
                flush=True,
            )
        asyncio.run(_serve(server, children, duration))
    finally:
        for name, proc in reversed(children):
            _stop(proc, name)
    print("citywifi demo: stopped", flush=True)


async def _serve(
    server: uvicorn.Server,
    children: list[tuple[str, subprocess.Popen[bytes]]],
    duration: float | None,
) -> None:
    """Serve until Ctrl-C, the duration, or a child dying (then the demo is broken)."""

    async def watch() -> None:
        deadline = None if duration is None else time.monotonic() + duration
        while not server.should_exit:
            if deadline is not None and time.monotonic() >= deadline:
                server.should_exit = True
            for name, proc in children:
                if proc.poll() is not None:
                    log.error("%s exited with status %s; stopping the demo", name, proc.returncode)
                    server.should_exit = True
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    try:
        await server.serve()
    finally:
        watcher.cancel()
