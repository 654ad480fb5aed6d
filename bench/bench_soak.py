"""Does `citywifi collect` hold its memory over hours? Its RSS, sampled, on a real city.

A plain script, not a test. A simulated city (`citywifi simulate`, its own process) is
imported into a fresh inventory and polled by a real `citywifi collect` process; every
``--every`` seconds the collector's resident set (VmRSS in /proc/PID/status) and its poll
count (self-metrics) are printed, and at the end the growth per hour: a least-squares
slope over the samples after the warm-up, and the plain last-minus-first.

Runs against whatever source tree the interpreter finds ``citywifi`` in: children are
started with this same interpreter and environment, from a scratch directory (so the
current directory never shadows PYTHONPATH). A "before" figure from an older commit:

    git worktree add /tmp/old <commit>
    PYTHONPATH=/tmp/old .venv/bin/python bench/bench_soak.py --base-address 127.4.0.1

Loopback only; every port is found free on its own address; --base-address lets two soaks
run side by side. Children always end with the soak: SIGTERM then SIGKILL to their process
groups from a ``finally`` block and on SIGTERM/SIGINT/SIGHUP, and the kernel sends them
SIGTERM should the soak itself be killed (PR_SET_PDEATHSIG).

    .venv/bin/python bench/bench_soak.py                       # 2,000 APs, 60 min
    .venv/bin/python bench/bench_soak.py --minutes 2 --aps 200  # a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ipaddress
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import yaml

STOP_GRACE_S = 15.0  # SIGTERM, then this long, then SIGKILL
START_LIMIT_S = 300.0  # the simulator must be serving (its inventory written) by then
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Row:
    elapsed_s: float
    rss_kib: int
    polls: float


def free_port(kind: socket.SocketKind, host: str) -> int:
    """A port of ``kind`` free on ``host`` right now (bind port 0, read, close)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    """The process's resident set in KiB (VmRSS); 0 once it has ended."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def polls_so_far(port: int) -> float:
    """SNMP polls the collector has made, summed over its self-metric's labels."""
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
            text = response.read().decode()
    except OSError:
        return float("nan")
    total = 0.0
    for line in text.splitlines():
        if line.startswith("citywifi_polls_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def slope_per_hour(rows: Sequence[Row]) -> float:
    """Least-squares RSS growth in MiB per hour over ``rows``; NaN for fewer than two."""
    if len(rows) < 2:
        return float("nan")
    xs = [r.elapsed_s / 3600 for r in rows]
    ys = [r.rss_kib / 1024 for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return float("nan")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def drop_ssh(inventory: Path) -> None:
    """Remove the SSH credentials from the simulator's inventory."""
    doc = yaml.safe_load(inventory.read_text())
    for credential in doc.get("credentials", []):
        credential.pop("ssh", None)
    inventory.write_text(yaml.safe_dump(doc, sort_keys=False))


def force_profile(inventory: Path, profile: str) -> None:
    """Poll every AP with ``profile`` instead of detecting its vendor: ``generic`` on
    the simulated city makes its airMAX APs (no HOST-RESOURCES) take the poll
    interpreter's "optional source absent" path every poll, the path that leaked."""
    doc = yaml.safe_load(inventory.read_text())
    for ap in doc.get("aps", []):
        ap["profile"] = profile
    inventory.write_text(yaml.safe_dump(doc, sort_keys=False))


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the soak dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Children:
    """The processes this soak started; :meth:`stop_all` ends every one of them."""

    def __init__(self, cwd: Path, env: dict[str, str], log_dir: Path) -> None:
        self.cwd, self.env, self.log_dir = cwd, env, log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "citywifi", *args],
            cwd=self.cwd,
            env=self.env,
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


def _raise_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--aps", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=60.0, help="How long to sample.")
    parser.add_argument("--interval", type=float, default=60.0, help="Collector poll interval.")
    parser.add_argument("--every", type=float, default=60.0, help="Seconds between samples.")
    parser.add_argument("--warm-up", type=float, default=5.0, help="Minutes left out of the slope.")
    parser.add_argument("--base-address", default="127.3.0.1", help="First AP address.")
    parser.add_argument(
        "--ssh-aps", type=int, default=0, help="APs that also serve SSH (0: no SSH polling)."
    )
    parser.add_argument(
        "--profile", help="Poll every AP with this profile (default: each AP's own, auto)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the scratch directory.")
    args = parser.parse_args()
    base = str(ipaddress.IPv4Address(args.base_address))
    if not ipaddress.IPv4Address(base).is_loopback:
        raise SystemExit("error: --base-address must be a loopback address (127.0.0.0/8)")

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _raise_on_signal)
    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYWIFI_")}
    env |= {
        "CITYWIFI_DATA_DIR": str(work / "state"),
        "CITYWIFI_LOG_LEVEL": "WARNING",
        "CITYWIFI_SSH_POLL_INTERVAL_S": "300",
    }
    children = Children(work, env, work)
    rows: list[Row] = []
    try:
        code = subprocess.run(
            [sys.executable, "-c", "import citywifi; print(citywifi.__file__)"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        inventory = work / "city.yaml"
        snmp_port = free_port(socket.SOCK_DGRAM, base)
        ssh_port = free_port(socket.SOCK_STREAM, base)
        sim = children.start(
            "simulate",
            ["simulate", "--aps", str(args.aps), "--base-address", base,
             "--snmp-port", str(snmp_port), "--ssh-aps", str(args.ssh_aps),
             "--ssh-port", str(ssh_port), "--control-port", "0",
             "--inventory-out", str(inventory)],
        )  # fmt: skip
        started = time.monotonic()
        while not inventory.exists():
            if sim.poll() is not None:
                raise SystemExit(f"error: the simulator ended:\n{children.tail('simulate')}")
            if time.monotonic() - started > START_LIMIT_S:
                raise SystemExit(f"error: the simulator was not serving in {START_LIMIT_S:g}s")
            time.sleep(0.5)
        if args.ssh_aps == 0:
            drop_ssh(inventory)  # no SSH served: polling it would only time out
        if args.profile:
            force_profile(inventory, args.profile)
        children.run("import", ["inventory", "import", str(inventory)], timeout_s=600)
        metrics_port = free_port(socket.SOCK_STREAM, "127.0.0.1")
        collector = children.start(
            "collect",
            ["collect", "--interval", f"{args.interval:g}", "--metrics-port", str(metrics_port)],
        )
        print(f"python {sys.version.split()[0]}, code {code}")
        print(
            f"{args.aps} APs from {base} (SNMP port {snmp_port}), collect every"
            f" {args.interval:g} s, RSS every {args.every:g} s for {args.minutes:g} min;"
            f" collector pid {collector.pid}, scratch {work}"
        )
        ready_by = time.monotonic() + START_LIMIT_S
        while math.isnan(polls_so_far(metrics_port)):  # t0: once it serves its self-metrics
            if collector.poll() is not None or time.monotonic() > ready_by:
                raise SystemExit(f"error: the collector did not start:\n{children.tail('collect')}")
            time.sleep(0.5)
        print(f"{'minute':>7} {'RSS MiB':>9} {'polls':>9}", flush=True)
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        next_sample = t0
        while True:
            if collector.poll() is not None:
                raise SystemExit(f"error: the collector ended:\n{children.tail('collect')}")
            now = time.monotonic()
            if now >= next_sample:
                row = Row(now - t0, rss_kib(collector.pid), polls_so_far(metrics_port))
                rows.append(row)
                print(
                    f"{row.elapsed_s / 60:7.1f} {row.rss_kib / 1024:9.1f} {row.polls:9.0f}",
                    flush=True,
                )
                next_sample += args.every
            if now >= end:
                break
            time.sleep(max(0.0, min(next_sample, end) - time.monotonic()))
    finally:
        children.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    settled = [r for r in rows if r.elapsed_s >= args.warm_up * 60]
    if len(settled) < 2:
        settled = rows
    first, last = settled[0], settled[-1]
    span_h = (last.elapsed_s - first.elapsed_s) / 3600
    print(
        f"growth after {first.elapsed_s / 60:.0f} min: {slope_per_hour(settled):+.1f} MiB/hour"
        f" (least squares over {len(settled)} samples);"
        f" {(last.rss_kib - first.rss_kib) / 1024:+.1f} MiB in {span_h * 60:.0f} min"
        f" ({last.polls - first.polls:.0f} polls)"
    )


if __name__ == "__main__":
    main()
