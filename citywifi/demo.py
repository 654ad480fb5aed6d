"""``citywifi demo``: the whole pipeline on one machine, from one command.

The simulator, the RADIUS accounting receiver, the collector and the fault engine run as
child processes — the same commands an operator would run, each with its own core to
use — and the API runs here. The simulator's hotspot APs send their sessions' accounting
to the receiver (``simulate --radius``); it starts once the inventory that names them is
imported, and until then the APs hold their sessions behind an unanswered Accounting-On,
so none is lost.
The fault engine's process also runs the notifier (its own thread) for the routes of
``notify_routes``, if any: the demo says where they go.
The demo keeps its state in ``<data dir>/demo``, emptied at start, so a demo never mixes
with a real inventory or with an earlier demo of another size. It makes one user per
role there (:mod:`citywifi.demo_users`) and prints their passwords and tokens once, at
start.

Two rules keep a demo from hurting the next one:

- Its children end with it, however it ends. SIGTERM and Ctrl-C are a clean stop (the
  collector first, then the fault engine, the RADIUS receiver, then the simulator, so no
  AP is seen down on the way out and no incident is opened for it); SIGKILL or a crash
  cannot be handled here, so each child asks the kernel to end it when the demo dies
  (:mod:`citywifi.lifeline`). The children run in their own process group:
  a terminal's Ctrl-C reaches the demo alone, which stops them in that order.
- One demo per state directory: an exclusive lock (``<data dir>/demo.lock``) is taken
  before the directory is emptied, and the children inherit it, so it is held until
  the last process that writes there has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from citywifi.lifeline import child_environment
from core.errors import CitywifiError, SimulatorError
from core.settings import Settings

if TYPE_CHECKING:
    import uvicorn
    from sqlalchemy import Engine

    from inventory.secretbox import SecretBox

log = logging.getLogger("citywifi.demo")

SIMULATOR_START_TIMEOUT_S = 120.0
CHILD_STOP_TIMEOUT_S = 15.0
#: How long a new demo waits for the children of a demo that died to finish stopping.
ORPHAN_WAIT_S = 15.0
LOCK_NAME = "demo.lock"
#: The fault engine cycles as often as the APs are polled, up to this (its setting's cap).
FAULT_INTERVAL_MAX_S = 600.0
HOLD_MAX_S = 86_400.0  # incident_hold_s's cap

Children = list[tuple[str, "subprocess.Popen[bytes]"]]


class DemoBusy(CitywifiError):
    """Another live demo holds this state directory."""


class _Stop(BaseException):
    """Raised by the SIGTERM/SIGINT handler: unwind, stopping the children on the way.

    A BaseException, like KeyboardInterrupt, so no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`_Stop` once; later ones are ignored, so a second
    signal cannot interrupt the children's orderly stop. uvicorn takes the signals over
    while it serves and re-raises them here when it is done."""
    stopping = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise _Stop(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def demo_lock(data_dir: Path, *, orphan_wait_s: float = ORPHAN_WAIT_S) -> Iterator[int]:
    """Hold ``<data_dir>.lock``'s exclusive flock; yield its file descriptor.

    The lock file lives next to the state directory (which is emptied under it) and
    holds the demo's PID for the message a second demo prints. If the demo named there
    is dead but the lock is still held, its children are finishing their stop: wait for
    them a little rather than fail.
    """
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    path = data_dir.parent / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + orphan_wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            if holder.isdigit() and _pid_alive(int(holder)):
                raise DemoBusy(
                    f"{data_dir} is in use by another demo (PID {holder}); stop it, or give"
                    " this one another --data-dir"
                )
            if time.monotonic() >= deadline:
                raise DemoBusy(
                    f"{data_dir} is still held by the processes of a stopped demo"
                    f" (PID {holder or 'unknown'}) after {orphan_wait_s:.0f} s"
                )
            time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield fd
    finally:
        os.close(fd)


def _spawn(args: list[str], env: dict[str, str], lock_fd: int) -> subprocess.Popen[bytes]:
    """A ``citywifi`` child tied to this process (lifeline) that inherits the lock."""
    return subprocess.Popen(
        [sys.executable, "-m", "citywifi", *args],
        env=child_environment(env),
        pass_fds=(lock_fd,),
        process_group=0,
    )


def _stop(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=CHILD_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", name, CHILD_STOP_TIMEOUT_S)
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
    ssh_port: int = 2222,
    random_faults: bool = False,
    radius_port: int | None = None,
) -> None:
    """Run the demo until the duration, SIGTERM or Ctrl-C (a clean stop, returns) or a
    child's death (raises SimulatorError)."""
    data_dir = (settings.data_dir / "demo").resolve()
    children: Children = []
    try:
        with _stop_on_signals(), demo_lock(data_dir) as lock_fd:
            try:
                _run(settings, data_dir, lock_fd, children, aps=aps, port=port,
                     interval=interval, duration=duration, seed=seed, snmp_port=snmp_port,
                     control_port=control_port, ssh_port=ssh_port,
                     random_faults=random_faults, radius_port=radius_port)  # fmt: skip
            finally:
                for name, proc in reversed(children):
                    _stop(proc, name)
    except _Stop as stop:
        print(f"citywifi demo: stopped ({stop})", flush=True)
        return
    print("citywifi demo: stopped", flush=True)


def _run(
    settings: Settings,
    data_dir: Path,
    lock_fd: int,
    children: Children,
    *,
    aps: int,
    port: int,
    interval: float,
    duration: float | None,
    seed: int,
    snmp_port: int,
    control_port: int,
    ssh_port: int,
    random_faults: bool,
    radius_port: int | None,
) -> None:
    import uvicorn

    from api.app import create_app
    from citywifi.demo_users import DEMO_TEAM, NAME_PREFIX, create_demo_users, users_table
    from inventory.db import open_inventory
    from inventory.secretbox import load_box

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
        "CITYWIFI_FAULT_INTERVAL_S": str(min(interval, FAULT_INTERVAL_MAX_S)),
        # An incident resolves one poll interval after its APs are back (the default
        # 60 s would be twelve intervals of a 5 s demo), unless a hold was configured.
        "CITYWIFI_INCIDENT_HOLD_S": str(
            settings.incident_hold_s
            if "incident_hold_s" in settings.model_fields_set
            else min(interval, HOLD_MAX_S)
        ),
        "CITYWIFI_LOG_LEVEL": settings.log_level,
    }
    for key in ("CITYWIFI_DATABASE_URL", "CITYWIFI_TIMESERIES_URL", "CITYWIFI_SPOOL_DIR"):
        env.pop(key, None)
    inventory_file = data_dir / "city.yaml"
    radius_host = settings.radius_host
    radius_port = settings.radius_port if radius_port is None else radius_port
    # The APs send from loopback addresses: to a receiver on all addresses, via 127.0.0.1.
    radius_to = radius_host if radius_host.startswith("127.") else "127.0.0.1"

    simulate = {
        "--aps": aps,
        "--seed": seed,
        "--snmp-port": snmp_port,
        "--ssh-port": ssh_port,
        "--control-port": control_port,
        "--radius": f"{radius_to}:{radius_port}",
        "--districts-out": data_dir / "districts.geojson",
        "--demand-out": data_dir / "demand.csv",
        "--inventory-out": inventory_file,  # written last: the sign that all is served
    }
    args = [str(part) for option in simulate.items() for part in option]
    faults = "--random-faults" if random_faults else "--no-random-faults"
    sim = _spawn(["simulate", *args, faults], env, lock_fd)
    children.append(("simulator", sim))
    _wait_for_file(inventory_file, sim, SIMULATOR_START_TIMEOUT_S)
    engine = open_inventory(demo_settings.db_url, create=True)  # the demo's own, new
    box = load_box(demo_settings)  # the collector child reads the same key (same data dir)
    try:
        for line in import_city(engine, data_dir, box):
            log.info(line)
        users = create_demo_users(engine, now=time.time())
    finally:
        engine.dispose()
    # Children stop in reverse order: the collector, the engine, the receiver, the simulator.
    radius = ["radius", "--host", radius_host, "--port", str(radius_port)]
    children.append(("RADIUS receiver", _spawn(radius, env, lock_fd)))
    children.append(("fault engine", _spawn(["faults"], env, lock_fd)))
    children.append(("collector", _spawn(["collect"], env, lock_fd)))

    config = uvicorn.Config(
        create_app(demo_settings),
        host=demo_settings.api_host,
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    url = browse_url(demo_settings.api_host, port)
    print(f"citywifi demo: {aps} simulated APs, polled every {interval:g} s", flush=True)
    print(f"citywifi demo: open {url}  (API: {url}api/v1/status; Ctrl-C stops)", flush=True)
    if control_port:
        print(
            f"citywifi demo: break things with the simulator's control API on "
            f"http://127.0.0.1:{control_port}/faults (see docs/simulator.md)",
            flush=True,
        )
    print(
        f"citywifi demo: hotspot sessions from RADIUS accounting on udp {radius_to}:"
        f"{radius_port} (`citywifi sessions`, /api/v1/sessions)",
        flush=True,
    )
    print(f"citywifi demo: {_notifications_line(settings)}", flush=True)
    print(
        "citywifi demo: one user per role; log in on the page with a password, or call the "
        "API with `Authorization: Bearer <token>`. Shown once, new at every start:",
        flush=True,
    )
    for line in users_table(users):
        print(f"  {line}", flush=True)
    print(
        f"citywifi demo: {NAME_PREFIX}field is in the field team {DEMO_TEAM[0]}: the work "
        f"orders given to it (POST /api/v1/work-orders, team_id {DEMO_TEAM[0]}) show on its "
        "phone view",
        flush=True,
    )
    broken = asyncio.run(_serve(server, children, duration))
    if broken is not None:
        raise SimulatorError(f"{broken}; the demo stopped")


#: What the simulator writes for the demo, in the order it is imported: the inventory
#: first (its districts get the boundaries next; demand points name districts).
CITY_FILES = ("city.yaml", "districts.geojson", "demand.csv")


def import_city(engine: Engine, data_dir: Path, box: SecretBox) -> list[str]:
    """Import the simulated city of ``data_dir`` (:data:`CITY_FILES`); returns each
    import's summary. The boundaries and the demand are what the coverage view and the
    map's districts draw: without them the demo would show sites on a blank map."""
    from inventory import import_file

    return [import_file(engine, data_dir / name, box).summary() for name in CITY_FILES]


def browse_url(host: str, port: int) -> str:
    """The address to open in a browser: a server listening on every address
    (0.0.0.0, ::) is reached on loopback, which a browser can open (0.0.0.0 it may not)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _notifications_line(settings: Settings) -> str:
    """Where the fault engine child's notifier sends (it reads the same settings: the
    environment and citywifi.toml are inherited), secrets left out."""
    if not settings.notify_routes:
        return "no notification routes (notify_routes in citywifi.toml: webhook or email)"
    shown = ", ".join(f"{r.name} ({r.transport} {r.where()})" for r in settings.notify_routes)
    return f"incident notifications to {shown}; deliveries at /api/v1/notifications"


async def _serve(server: uvicorn.Server, children: Children, duration: float | None) -> str | None:
    """Serve until a signal, the duration, or a child dying (then the demo is broken:
    say which child, returned)."""
    broken: list[str] = []

    async def watch() -> None:
        deadline = None if duration is None else time.monotonic() + duration
        while not server.should_exit:
            if deadline is not None and time.monotonic() >= deadline:
                server.should_exit = True
            for name, proc in children:
                if proc.poll() is not None:
                    broken.append(f"the {name} exited with status {proc.returncode}")
                    server.should_exit = True
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    try:
        await server.serve()
    finally:
        watcher.cancel()
    return broken[0] if broken else None
