"""Random faults at demo rates against the whole pipeline: how many become incidents
(recall), and how many incidents are real faults (precision).

A plain script, not a test. A simulated city (`citywifi simulate --random-faults`, the
demo's rates) runs its clock ``--speed`` times faster than the wall; a real
`citywifi collect` polls it and a real `citywifi faults` turns the AP states and metrics
into incidents. Every setting that is a span of time is divided by the speed, so the
pipeline sees the simulated hour as an operator would see a real one: polls every 60
simulated seconds, incidents held 60 s, silent after 30 simulated minutes (the default),
and so on.

Faults are read from the simulator's control API (``GET /faults`` lists the active and
scheduled ones, the random ones an hour ahead; it is read every few seconds and merged
by id) and compared with the incidents the engine stored:

- a fault is *matched* when an incident opened between its start and three poll
  intervals after its end has one of its APs among its members; ``malformed`` is
  expected to open nothing (a degraded poll, not an outage), so it is reported apart;
- an incident (top-level: not merged into another) is *true* when some fault, started
  before it opened and ended at most three poll intervals before, touched one of its APs.

Only faults that start inside the measured window, early enough to be seen (three poll
intervals before its end), count for recall; incidents opened inside it count for
precision. Times are compared on the simulated clock: the control API gives its ``now``.
Every loop is bounded; children always end (bench/city_processes.py).

    .venv/bin/python bench/bench_incident_recall.py                 # 1,000 APs, 1 h at x10
    .venv/bin/python bench/bench_incident_recall.py --aps 300 --sim-minutes 10   # smoke
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import shutil
import socket
import statistics
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from city_processes import Children, drop_ssh, free_port, raise_on_signals
from sqlalchemy import func, select

from core.incidents import IncidentClass
from inventory import incidents
from inventory.db import open_inventory, transaction
from inventory.incidents import IncidentView
from inventory.models import ApStatus, Incident

#: The class each fault kind should become (slow: its 2-5 s delays exceed the default
#: 2 s timeout on both attempts, so it is judged down as a real device would be).
EXPECTED: dict[str, set[IncidentClass]] = {
    "ap_down": {IncidentClass.AP_DOWN},
    "slow": {IncidentClass.AP_DOWN},
    "ap_reboot": {IncidentClass.UNEXPECTED_REBOOT},
    "silent": {IncidentClass.SILENT_FAILURE},
    "overload": {IncidentClass.OVERLOAD},
    "flapping": {IncidentClass.FLAPPING},
    "site_power": {IncidentClass.SITE_DOWN},
    "backhaul_cut": {IncidentClass.SITE_DOWN},
    "district_power": {IncidentClass.AREA_OUTAGE},
    "uplink_cut": {IncidentClass.UPLINK_DOWN},
}
QUIET_KINDS = frozenset({"malformed"})  # expected to open no incident
SLACK_POLLS = 3  # "within 3 poll intervals"


@dataclass
class Fault:
    id: str
    kind: str
    target: str
    start: float  # simulated clock
    end: float


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        return json.load(response)


def aps_of(doc: dict[str, Any], kind: str, target: str) -> set[str]:
    """The AP ids a fault on ``target`` touches, from the simulator's inventory."""
    site_of = {str(ap["id"]): str(ap["site"]) for ap in doc["aps"]}
    sites = {str(s["id"]): s for s in doc["sites"]}
    if target in site_of:
        return {target}
    if target in sites:
        return {a for a, s in site_of.items() if s == target}
    if kind == "uplink_cut":
        return {a for a, s in site_of.items() if sites[s].get("uplink") == target}
    return {a for a, s in site_of.items() if sites[s].get("district") == target}


def judged_share(db_url: str) -> float:
    engine = open_inventory(db_url, create=False)
    try:
        with transaction(engine) as session:
            total = session.scalar(select(func.count()).select_from(ApStatus)) or 0
            judged = session.scalar(
                select(func.count()).select_from(ApStatus).where(ApStatus.state != "unknown")
            )
        return (judged or 0) / max(total, 1)
    finally:
        engine.dispose()


def stored_incidents(db_url: str) -> list[IncidentView]:
    engine = open_inventory(db_url, create=False)
    try:
        with transaction(engine) as session:
            return incidents.views(session, session.scalars(select(Incident)))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--aps", type=int, default=1000, help="City size (2,000 at x10 overruns 2 cores)."
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--sim-minutes", type=float, default=60.0, help="Simulated time measured.")
    parser.add_argument("--poll-s", type=float, default=60.0, help="Simulated poll interval.")
    parser.add_argument("--base-address", default="127.6.0.1", help="First AP address.")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch directory.")
    args = parser.parse_args()
    base = str(ipaddress.IPv4Address(args.base_address))
    if not ipaddress.IPv4Address(base).is_loopback:
        raise SystemExit("error: --base-address must be a loopback address (127.0.0.0/8)")
    speed = args.speed

    def real(sim_seconds: float) -> str:
        return f"{sim_seconds / speed:g}"

    raise_on_signals()
    work = Path(tempfile.mkdtemp(prefix="bench-recall-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYWIFI_")}
    thresholds = {
        "silent_after_s": 1800 / speed,
        "overload_after_s": 300 / speed,
        "backhaul_after_s": 300 / speed,
        "flap_window_s": 900 / speed,
        # Not divided: the APs' sysUpTime runs on the simulated clock, so a boot computed
        # as (sample time - uptime) lies ``speed`` times further back than it was.
        "reboot_window_s": 600.0,
    }
    env |= {
        "CITYWIFI_DATA_DIR": str(work / "state"),
        "CITYWIFI_LOG_LEVEL": "WARNING",
        "CITYWIFI_POLL_INTERVAL_S": real(args.poll_s),
        "CITYWIFI_POLL_DEADLINE_S": real(args.poll_s * 0.8),
        "CITYWIFI_FAULT_INTERVAL_S": "1",
        "CITYWIFI_INCIDENT_HOLD_S": real(args.poll_s),
        "CITYWIFI_INCIDENT_REOPEN_S": real(900),
        "CITYWIFI_AREA_WINDOW_S": real(180),
        "CITYWIFI_FAULT_THRESHOLDS": json.dumps(thresholds),
    }
    db_url = f"sqlite:///{work / 'state' / 'inventory.sqlite'}"
    children = Children(work, env, work)
    faults: dict[str, Fault] = {}
    try:
        inventory = work / "city.yaml"
        control = free_port(socket.SOCK_STREAM, "127.0.0.1")
        sim = children.start(
            "simulate",
            ["simulate", "--aps", str(args.aps), "--seed", str(args.seed), "--base-address",
             base, "--snmp-port", str(free_port(socket.SOCK_DGRAM, base)), "--ssh-aps", "0",
             "--control-port", str(control), "--inventory-out", str(inventory),
             "--random-faults", "--speed", f"{speed:g}"],
        )  # fmt: skip
        children.wait_for_file(sim, "simulate", inventory)
        drop_ssh(inventory)
        doc = yaml.safe_load(inventory.read_text())
        children.run("import", ["inventory", "import", str(inventory)], timeout_s=600)
        collector = children.start("collect", ["collect"])
        engine = children.start("faults", ["faults"])
        api = f"http://127.0.0.1:{control}"
        ready_by = time.monotonic() + 300
        while judged_share(db_url) < 0.95:  # every AP polled at least once
            for name, proc in (("collect", collector), ("faults", engine), ("simulate", sim)):
                if proc.poll() is not None:
                    raise SystemExit(f"error: {name} ended:\n{children.tail(name)}")
            if time.monotonic() > ready_by:
                raise SystemExit("error: the collector did not judge the city within 300 s")
            time.sleep(2)
        time.sleep(2 * args.poll_s / speed)  # the states settle, the engine catches up
        sim0, real0 = float(get_json(f"{api}/city")["now"]), time.time()
        sim_end = sim0 + args.sim_minutes * 60
        print(
            f"{args.aps} APs (seed {args.seed}) at x{speed:g}: {args.sim_minutes:g} simulated "
            f"minutes from {datetime.fromtimestamp(sim0, UTC):%Y-%m-%d %H:%M}Z (simulated), "
            f"polls every {args.poll_s:g} simulated s; scratch {work}",
            flush=True,
        )
        stop_at = real0 + (sim_end - sim0) / speed + SLACK_POLLS * args.poll_s / speed
        hard_stop = stop_at + 120
        while time.time() < stop_at:
            for item in get_json(f"{api}/faults"):
                faults[item["id"]] = Fault(
                    item["id"], item["kind"], item["target"], item["start"], item["end"]
                )
            for name, proc in (("collect", collector), ("faults", engine)):
                if proc.poll() is not None:
                    raise SystemExit(f"error: {name} ended:\n{children.tail(name)}")
            if time.time() > hard_stop:
                break
            time.sleep(min(5.0, max(0.0, stop_at - time.time())))
    finally:
        children.stop_all()
    found = stored_incidents(db_url)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    report(args, doc, faults, found, sim0, real0, sim_end)


def report(
    args: argparse.Namespace,
    doc: dict[str, Any],
    faults: dict[str, Fault],
    found: list[IncidentView],
    sim0: float,
    real0: float,
    sim_end: float,
) -> None:
    speed, slack = args.speed, SLACK_POLLS * args.poll_s

    def on_sim(t: float) -> float:
        return sim0 + (t - real0) * speed

    touched = {f.id: aps_of(doc, f.kind, f.target) for f in faults.values()}
    counted = [f for f in faults.values() if sim0 <= f.start <= sim_end - slack]
    measured = [f for f in counted if f.kind in EXPECTED]
    quiet = [f for f in counted if f.kind in QUIET_KINDS]
    opened = [(i, on_sim(i.opened_at)) for i in found]

    def incidents_of(fault: Fault) -> list[IncidentView]:
        return [
            i
            for i, at in opened
            if fault.start <= at <= fault.end + slack and not touched[fault.id].isdisjoint(i.aps)
        ]

    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    delays: list[float] = []
    for fault in measured:
        per_kind[fault.kind]["injected"] += 1
        hits = incidents_of(fault)
        if hits:
            per_kind[fault.kind]["matched"] += 1
            top = [i for i in hits if i.merged_into is None] or hits
            if any(i.kind in EXPECTED[fault.kind] for i in top):
                per_kind[fault.kind]["right class"] += 1
            else:
                per_kind[fault.kind]["as " + "/".join(sorted({i.kind for i in top}))] += 1
            delays.append((min(on_sim(i.opened_at) for i in hits) - fault.start) / args.poll_s)
    for fault in quiet:
        per_kind[fault.kind]["injected"] += 1
        if incidents_of(fault):
            per_kind[fault.kind]["opened one (wrong)"] += 1

    window = [(i, at) for i, at in opened if sim0 <= at <= sim_end and i.merged_into is None]
    true = 0
    unmatched: list[IncidentView] = []
    for incident, at in window:
        if any(
            f.start - slack <= at <= f.end + slack and not touched[f.id].isdisjoint(incident.aps)
            for f in faults.values()
        ):
            true += 1
        else:
            unmatched.append(incident)

    injected = sum(c["injected"] for k, c in per_kind.items() if k in EXPECTED)
    matched = sum(c["matched"] for k, c in per_kind.items() if k in EXPECTED)
    right = sum(c["right class"] for k, c in per_kind.items() if k in EXPECTED)
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M}Z")
    print(f"{'fault kind':<16}{'injected':>9}{'matched':>9}{'right class':>12}  other")
    for kind in sorted(per_kind):
        c = per_kind[kind]
        other = ", ".join(f"{k} {v}" for k, v in c.items() if k.startswith(("as ", "opened")))
        print(f"{kind:<16}{c['injected']:>9}{c['matched']:>9}{c['right class']:>12}  {other}")
    recall = matched / injected if injected else float("nan")
    precision = true / len(window) if window else float("nan")
    print(
        f"recall: {matched}/{injected} = {recall:.1%} of faults matched by an incident "
        f"({right} of the right class)"
    )
    print(f"precision: {true}/{len(window)} = {precision:.1%} of incidents matched by a fault")
    if delays:
        print(
            f"opened after (poll intervals from the fault's start): median "
            f"{statistics.median(delays):.1f}, max {max(delays):.1f}"
        )
    for incident in unmatched[:10]:
        what = f"#{incident.id} {incident.kind} {incident.scope_id}"
        print(f"  unmatched {what}: {incident.explanation}")


if __name__ == "__main__":
    main()
