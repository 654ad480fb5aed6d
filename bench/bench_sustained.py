"""Does one collector process sustain N APs per minute? Measured end to end.

A plain script, not a test. A simulated city (its own process) is polled by a real
`citywifi collect` process at an interval chosen so that APs / interval is the rate asked
for; after a warm-up (profile detection, v3 discovery, layouts), the collector's own CPU
(utime + stime from /proc) and its self-metrics (polls, overruns, overlap skips, lag) are
read over a few intervals. Loopback only; bounded by --intervals and a hard time limit.

    .venv/bin/python bench/bench_sustained.py                  # 2,000 APs every 12 s
    .venv/bin/python bench/bench_sustained.py --aps 1000 --per-minute 10000
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

TICKS = os.sysconf("SC_CLK_TCK")


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def metrics(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            key = sample.name
            if sample.name == "citywifi_polls_total":
                key += ":" + sample.labels.get("outcome", "")
            out[key] = out.get(key, 0.0) + sample.value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--aps", type=int, default=2000)
    parser.add_argument("--per-minute", type=int, default=10_000)
    parser.add_argument("--warm-up-intervals", type=int, default=3)
    parser.add_argument("--intervals", type=int, default=4)
    args = parser.parse_args()

    interval = 60.0 * args.aps / args.per_minute
    work = Path(tempfile.mkdtemp(prefix="bench-sustained-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYWIFI_")}
    env |= {
        "CITYWIFI_DATA_DIR": str(work / "state"),
        "CITYWIFI_LOG_LEVEL": "WARNING",
        "CITYWIFI_SSH_POLL_INTERVAL_S": "3600",  # SNMP only in the measured window
    }
    base = "127.1.60.1"
    inventory = work / "city.yaml"
    cli = [sys.executable, "-m", "citywifi"]
    sim = subprocess.Popen(
        [*cli, "simulate", "--aps", str(args.aps), "--base-address", base,
         "--snmp-port", str(free_port(socket.SOCK_DGRAM, base)), "--ssh-aps", "0",
         "--control-port", str(free_port()), "--inventory-out", str(inventory)],
        env=env,
    )  # fmt: skip
    collector: subprocess.Popen[bytes] | None = None
    deadline = time.monotonic() + 120 + interval * (args.warm_up_intervals + args.intervals)
    try:
        while not inventory.exists():
            if sim.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the simulator did not start")
            time.sleep(0.2)
        subprocess.run([*cli, "inventory", "import", str(inventory)], env=env, check=True)
        port = free_port()
        collector = subprocess.Popen(
            [*cli, "collect", "--interval", f"{interval:g}", "--metrics-port", str(port)], env=env
        )
        time.sleep(interval * args.warm_up_intervals)
        before, cpu0, t0 = metrics(port), cpu_s(collector.pid), time.monotonic()
        time.sleep(interval * args.intervals)
        after, cpu1, t1 = metrics(port), cpu_s(collector.pid), time.monotonic()
    finally:
        for proc in (collector, sim):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)

    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    elapsed = t1 - t0
    polls = sum(delta(k) for k in after if k.startswith("citywifi_polls_total:"))
    ok = delta("citywifi_polls_total:answered")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(f"{args.aps} APs every {interval:g} s (asked: {args.per_minute:,} APs/min)")
    print(f"measured over {elapsed:.0f} s after {args.warm_up_intervals} warm-up intervals:")
    print(f"  polls            {polls:,.0f} ({polls / elapsed * 60:,.0f} per minute), ok {ok:,.0f}")
    print(f"  collector CPU    {cpu1 - cpu0:.1f} s = {(cpu1 - cpu0) / elapsed:.2f} of a core")
    print(f"  CPU per poll     {(cpu1 - cpu0) / max(polls, 1) * 1000:.2f} ms")
    print(f"  overruns         {delta('citywifi_cycle_overruns_total'):.0f}")
    print(f"  overlap skips    {delta('citywifi_skipped_overlap_total'):.0f}")
    print(f"  lag at the end   {after.get('citywifi_cycle_lag_seconds', float('nan')):.2f} s")


if __name__ == "__main__":
    main()
