"""Child processes for the benchmarks that run a whole city: a simulator, a collector, a
fault engine, each a real ``citywifi`` process (one place for how they start and end).

Children are started with this same interpreter and environment from a scratch directory
(so the current directory never shadows PYTHONPATH), each in its own process group. They
always end with the benchmark: SIGTERM then SIGKILL to their groups from
:meth:`Children.stop_all` (call it in a ``finally``; :func:`raise_on_signals` turns
SIGTERM/SIGINT/SIGHUP into an exception so it runs), and the kernel sends them SIGTERM
should the benchmark itself be killed (PR_SET_PDEATHSIG).

Imported by scripts in bench/ (their directory is on sys.path when run as
``python bench/<script>.py``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import yaml

STOP_GRACE_S = 15.0  # SIGTERM, then this long, then SIGKILL
START_LIMIT_S = 300.0  # the simulator must be serving (its inventory written) by then
PR_SET_PDEATHSIG = 1


def free_port(kind: socket.SocketKind, host: str) -> int:
    """A port of ``kind`` free on ``host`` right now (bind port 0, read, close)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def drop_ssh(inventory: Path) -> None:
    """Remove the SSH credentials from the simulator's inventory."""
    doc = yaml.safe_load(inventory.read_text())
    for credential in doc.get("credentials", []):
        credential.pop("ssh", None)
    inventory.write_text(yaml.safe_dump(doc, sort_keys=False))


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the benchmark dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _raise_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def raise_on_signals() -> None:
    """SIGTERM, SIGINT and SIGHUP end the benchmark through its ``finally`` blocks."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _raise_on_signal)


class Children:
    """The processes a benchmark started; :meth:`stop_all` ends every one of them."""

    def __init__(self, cwd: Path, env: dict[str, str], log_dir: Path) -> None:
        self.cwd, self.env, self.log_dir = cwd, env, log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, name: str, args: Sequence[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "citywifi", *args],
            cwd=self.cwd,
            env=self.env | (env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: signals reach any grandchild too
            preexec_fn=_die_with_parent,  # safe: no threads here
        )
        log.close()
        self.procs.append(proc)
        return proc

    def run(self, name: str, args: Sequence[str], timeout_s: float) -> None:
        proc = self.start(name, args)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            command = " ".join(args)
            raise SystemExit(f"error: `citywifi {command}` took over {timeout_s:g}s") from None
        if code != 0:
            raise SystemExit(f"error: `citywifi {' '.join(args)}` failed:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for_file(self, proc: subprocess.Popen[bytes], name: str, path: Path) -> None:
        """Until ``path`` exists (the simulator writes its inventory once it serves)."""
        started = time.monotonic()
        while not path.exists():
            if proc.poll() is not None:
                raise SystemExit(f"error: {name} ended:\n{self.tail(name)}")
            if time.monotonic() - started > START_LIMIT_S:
                raise SystemExit(f"error: {name} was not ready in {START_LIMIT_S:g}s")
            time.sleep(0.5)

    def stop_all(self) -> None:
        """SIGTERM every live child's group, wait, then SIGKILL what is left."""
        live = [p for p in self.procs if p.poll() is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs:
            # The group may hold grandchildren even when the leader has gone.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
