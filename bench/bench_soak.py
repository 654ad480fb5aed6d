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
import ipaddress
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from city_processes import START_LIMIT_S, Children, drop_ssh, free_port, raise_on_signals


@dataclass(frozen=True)
class Row:
    elapsed_s: float
    rss_kib: int
    polls: float


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


def force_profile(inventory: Path, profile: str) -> None:
    """Poll every AP with ``profile`` instead of detecting its vendor: ``generic`` on
    the simulated city makes its airMAX APs (no HOST-RESOURCES) take the poll
    interpreter's "optional source absent" path every poll, the path that leaked."""
    doc = yaml.safe_load(inventory.read_text())
    for ap in doc.get("aps", []):
        ap["profile"] = profile
    inventory.write_text(yaml.safe_dump(doc, sort_keys=False))


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

    raise_on_signals()
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
        children.wait_for_file(sim, "simulate", inventory)
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
