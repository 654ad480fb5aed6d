"""Benchmark the collector's CPU per AP poll against a bare pysnmp GET and net-snmp's C.

A plain script, not a test. A simulated city runs as its own process (``citywifi
simulate``), so its CPU is not counted; everything below is measured in this process with
``time.process_time`` (all of this process's threads, the store's included) over the same
APs, in the same run, with rounds of the variants interleaved so that load on a shared
machine falls on all of them alike. Per AP poll, for v2c and v3 separately:

    bare pysnmp GET   pysnmp's lightest path of the values the pipeline reads (sysUpTime.0
                      and every walked column cell of the AP): v1arch for v2c, v3arch for
                      v3, plain (oid, Null()) varbinds, lookupMib=False, --in-flight at once
    bare own GET      the same GET through the collector's own v2c codec (v2c only)
    poll              collector.poll.poll_ap (GETBULK walk + derivation), with the scraper
                      on pysnmp's v1arch (``v2c="pysnmp"``, the old path) and on the codec
    pipeline          poll + Sample building + EmbeddedStore.write, one batch per round
                      (as collector/engine.py does per cycle), store in a temp dir
    C floor           a ~60-line client against net-snmp's libnetsnmp (compiled into a temp
                      dir at run time when libsnmp-dev and cc exist), the same v2c GETs, one
                      at a time; and one ``snmpget`` process per poll (children's CPU)

Bounded: --aps, --rounds and --max-seconds (whole run); loopback only.

    .venv/bin/python bench/bench_collector.py                    # 300 APs, 5 rounds
    .venv/bin/python bench/bench_collector.py --aps 600 --rounds 8 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from collector import profiles
from collector.derive import CounterReading
from collector.poll import Layout, PollResult, poll_ap, walk
from collector.profiles import Profile
from collector.snmp import NetworkScraper, SnmpTarget, build_target
from timeseries import AP_MEASUREMENT, Sample
from timeseries.embedded import EmbeddedStore

# What the pipeline's walk reads (IF-MIB; the vendor client columns come from the profile).
SYS_UPTIME = "1.3.6.1.2.1.1.3"
IF_COLUMNS = [
    "1.3.6.1.2.1.2.2.1.3",  # ifType
    "1.3.6.1.2.1.31.1.1.1.15",  # ifHighSpeed
    "1.3.6.1.2.1.31.1.1.1.6",  # ifHCInOctets
    "1.3.6.1.2.1.31.1.1.1.10",  # ifHCOutOctets
]
CORE_SHARE = 0.8  # of one core, for the sustained APs/minute figure
ROOT = Path(__file__).resolve().parent.parent

C_CLIENT = r"""
/* The net-snmp C floor: v2c GETs, one at a time, with libnetsnmp's synchronous API.
   stdin: one line per AP, "host:port community oid oid ...". argv[1]: rounds.
   stdout: "polls cpu_seconds failures" for the measured rounds (after one warm-up). */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#define MAXAPS 20000
#define MAXOIDS 128
static char *peer[MAXAPS], *comm[MAXAPS];
static oid (*names[MAXAPS])[MAX_OID_LEN];
static size_t lens[MAXAPS][MAXOIDS];
static int counts[MAXAPS];
static int poll(int i) {
  netsnmp_session s, *ss; netsnmp_pdu *pdu, *rsp = NULL; int j, bad;
  snmp_sess_init(&s); s.version = SNMP_VERSION_2c; s.peername = peer[i];
  s.community = (u_char *)comm[i]; s.community_len = strlen(comm[i]);
  s.timeout = 2000000; s.retries = 1;
  if (!(ss = snmp_open(&s))) return 1;
  pdu = snmp_pdu_create(SNMP_MSG_GET);
  for (j = 0; j < counts[i]; j++) snmp_add_null_var(pdu, names[i][j], lens[i][j]);
  bad = snmp_synch_response(ss, pdu, &rsp) != STAT_SUCCESS || rsp->errstat != SNMP_ERR_NOERROR;
  if (rsp) snmp_free_pdu(rsp);
  snmp_close(ss);
  return bad;
}
int main(int argc, char **argv) {
  static char line[65536]; int n = 0, r, i, rounds = atoi(argv[1]), failed = 0;
  struct timespec a, b;
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
  setenv("MIBS", "", 1); setenv("MIBDIRS", "", 1);
  init_snmp("citywifi-bench");
  while (n < MAXAPS && fgets(line, sizeof line, stdin)) {
    char *tok = strtok(line, " \n");
    if (!tok) continue;
    peer[n] = strdup(tok); comm[n] = strdup(strtok(NULL, " \n"));
    names[n] = calloc(MAXOIDS, sizeof *names[n]);
    for (counts[n] = 0; counts[n] < MAXOIDS && (tok = strtok(NULL, " \n")); counts[n]++) {
      lens[n][counts[n]] = MAX_OID_LEN;
      if (!read_objid(tok, names[n][counts[n]], &lens[n][counts[n]])) return 2;
    }
    n++;
  }
  for (i = 0; i < n; i++) poll(i);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  for (r = 0; r < rounds; r++) for (i = 0; i < n; i++) failed += poll(i);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  printf("%d %.6f %d\n", n * rounds, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
         failed);
  return 0;
}
"""


@dataclass
class Ap:
    id: str
    site: str
    district: str
    partner: str
    target: SnmpTarget
    profile: Profile | None = None
    oids: list[str] = field(default_factory=list)  # the values the pipeline reads


@dataclass
class Tally:
    cpu: float = 0.0
    wall: float = 0.0
    polls: int = 0
    failed: int = 0

    @property
    def ms(self) -> float:
        return self.cpu / self.polls * 1e3 if self.polls else float("nan")


def free_port(kind: int, host: str) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def load_aps(inventory: Path, timeout_s: float) -> list[Ap]:
    doc = yaml.safe_load(inventory.read_text())
    creds = {c["id"]: c["snmp"] for c in doc["credentials"]}
    sites = {s["id"]: s for s in doc.get("sites", [])}
    aps = []
    for row in doc["aps"]:
        snmp = creds[row["credentials"]]
        site = sites.get(row["site"], {})
        target = build_target(
            row["host"],
            row["snmp_port"],
            version=str(snmp["version"]),
            community=snmp.get("community"),
            user=snmp.get("user"),
            auth_protocol=snmp.get("auth_protocol"),
            auth_key=snmp.get("auth_key"),
            priv_protocol=snmp.get("priv_protocol"),
            priv_key=snmp.get("priv_key"),
            timeout_s=timeout_s,
        )
        aps.append(
            Ap(
                row["id"],
                row["site"],
                str(site.get("district") or ""),
                str(site.get("partner") or ""),
                target,
            )
        )
    return aps


async def bounded(in_flight: int, aps: list[Ap], job: Callable[[Ap], Awaitable[Any]]) -> list[Any]:
    """``job`` for every AP, ``in_flight`` at a time; results or exceptions in AP order."""
    gate = asyncio.Semaphore(in_flight)

    async def one(ap: Ap) -> Any:
        async with gate:
            return await job(ap)

    return await asyncio.gather(*(one(ap) for ap in aps), return_exceptions=True)


class BarePysnmp:
    """pysnmp's own lightest GET, as REFERENCE.md measured it."""

    def __init__(self) -> None:
        from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher
        from pysnmp.hlapi.v3arch.asyncio import ContextData, SnmpEngine

        self.dispatcher = SnmpDispatcher()
        self.engine = SnmpEngine()
        self.context = ContextData()
        self.transports: dict[tuple[str, int, bool], Any] = {}
        self.auth: dict[tuple[str, ...], Any] = {}

    async def get(self, target: SnmpTarget, oids: list[str]) -> None:
        from pysnmp.hlapi.v1arch import asyncio as v1
        from pysnmp.hlapi.v3arch import asyncio as v3
        from pysnmp.proto.rfc1902 import Null

        v3_target = target.is_v3
        key = (target.host, target.port, v3_target)
        transport = self.transports.get(key)
        if transport is None:
            udp = v3.UdpTransportTarget if v3_target else v1.UdpTransportTarget
            transport = self.transports[key] = await udp.create(
                (target.host, target.port), timeout=target.timeout_s, retries=target.retries
            )
        var_binds = [(oid, Null()) for oid in oids]
        if v3_target:
            auth_key = (str(target.user), str(target.auth_key), str(target.priv_key))
            user = self.auth.get(auth_key)
            if user is None:
                user = self.auth[auth_key] = v3.UsmUserData(
                    str(target.user),
                    authKey=target.auth_key,
                    privKey=target.priv_key,
                    authProtocol=v3.usmHMACSHAAuthProtocol,
                    privProtocol=v3.usmAesCfb128Protocol,
                )
            result = await v3.get_cmd(
                self.engine, user, transport, self.context, *var_binds, lookupMib=False
            )
        else:
            community = self.auth.get((target.community,))
            if community is None:
                community = self.auth[(target.community,)] = v1.CommunityData(
                    target.community, mpModel=1
                )
            result = await v1.get_cmd(
                self.dispatcher, community, transport, *var_binds, lookupMib=False
            )
        if result[0] or int(result[1]):
            raise RuntimeError(f"{target.host}: {result[0] or result[1]}")

    def close(self) -> None:
        self.dispatcher.close()
        self.dispatcher.transport_dispatcher.close_dispatcher()
        self.engine.close_dispatcher()


def sample(ap: Ap, result: PollResult, now: float) -> Sample:
    """As collector/engine.py builds it."""
    return Sample(
        measurement=AP_MEASUREMENT,
        tags={
            "ap": ap.id,
            "site": ap.site,
            "district": ap.district,
            "partner": ap.partner,
            "profile": result.profile,
        },
        fields=result.fields,
        ts=result.reading.ts if result.reading else now,
    )


class Variants:
    """One round of each measured thing over a group of APs."""

    def __init__(self, aps: list[Ap], in_flight: int, store_dir: Path) -> None:
        self.aps = aps
        self.in_flight = in_flight
        self.bare = BarePysnmp()
        self.own = NetworkScraper()
        self.old = NetworkScraper(v2c="pysnmp")
        self.store = EmbeddedStore(store_dir)
        self.readings: dict[tuple[str, str], CounterReading | None] = {}
        self.layouts: dict[tuple[str, str], Layout | None] = {}

    async def warm_up(self) -> None:
        """Profile detection, v3 discovery and key localisation, and the OIDs a bare GET
        asks: every value the pipeline's walk reads for that AP."""

        async def first(ap: Ap) -> None:
            result = await poll_ap(self.own, ap.target, None, None)
            if not result.ok:
                raise RuntimeError(f"{ap.id}: {result.error}")
            ap.profile = profiles.get(result.profile)
            plan = ap.profile.plan
            got = await walk(self.own, ap.target, plan.scalars, plan.columns)
            ap.oids = [f"{scalar}.0" for scalar in got.scalars] + [
                f"{column}.{index}" for column, cells in got.columns.items() for index in cells
            ]

        failures = [r for r in await bounded(self.in_flight, self.aps, first) if r]
        if failures:
            raise SystemExit(f"warm-up failed: {failures[:3]}")
        await bounded(self.in_flight, self.aps, lambda ap: self.own.get(ap.target, ap.oids))
        await bounded(self.in_flight, self.aps, lambda ap: self.old.get(ap.target, ap.oids))
        await bounded(self.in_flight, self.aps, lambda ap: self.bare.get(ap.target, ap.oids))

    def names(self, v3: bool) -> list[str]:
        if v3:
            return ["bare pysnmp GET", "poll", "pipeline"]
        return [
            "bare pysnmp GET",
            "bare own GET",
            "poll (pysnmp v1arch)",
            "poll (own codec)",
            "pipeline (pysnmp v1arch)",
            "pipeline (own codec)",
        ]

    async def round(self, name: str) -> tuple[int, int]:
        """One round of variant ``name``; (polls, failures)."""
        aps = self.aps
        if name == "bare pysnmp GET":
            results = await bounded(
                self.in_flight, aps, lambda ap: self.bare.get(ap.target, ap.oids)
            )
            return len(aps), sum(r is not None for r in results)
        if name == "bare own GET":
            results = await bounded(
                self.in_flight, aps, lambda ap: self.own.get(ap.target, ap.oids)
            )
            return len(aps), sum(isinstance(r, BaseException) for r in results)
        scraper = self.old if "pysnmp" in name else self.own
        polls = await bounded(
            self.in_flight,
            aps,
            lambda ap: poll_ap(
                scraper,
                ap.target,
                ap.profile,
                self.readings.get((name, ap.id)),
                self.layouts.get((name, ap.id)),
            ),
        )
        now = time.time()
        samples = []
        failed = 0
        for ap, result in zip(aps, polls, strict=True):
            if isinstance(result, BaseException) or not result.ok:
                failed += 1
                continue
            self.readings[(name, ap.id)] = result.reading
            self.layouts[(name, ap.id)] = result.layout
            if name.startswith("pipeline"):
                samples.append(sample(ap, result, now))
        if samples:
            self.store.write(samples)
        return len(aps), failed

    def close(self) -> None:
        self.bare.close()
        self.own.close()
        self.old.close()
        self.store.close()


async def measure(
    label: str, aps: list[Ap], rounds: int, in_flight: int, store_dir: Path, profile: bool
) -> dict[str, Tally]:
    variants = Variants(aps, in_flight, store_dir)
    try:
        await variants.warm_up()
        names = variants.names(label == "v3")
        tallies = {name: Tally() for name in names}
        profiler = _profiler() if profile else None
        for _ in range(rounds):
            for name in random.sample(names, len(names)):
                if profiler is not None:
                    profiler.start()
                cpu, wall = time.process_time(), time.perf_counter()
                polls, failed = await variants.round(name)
                tally = tallies[name]
                tally.cpu += time.process_time() - cpu
                tally.wall += time.perf_counter() - wall
                tally.polls += polls
                tally.failed += failed
                if profiler is not None:
                    profiler.stop()
        if profiler is not None:
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        return tallies
    finally:
        variants.close()


def _profiler() -> Any:
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("--profile wants pyinstrument (pip install pyinstrument)") from None
    return Profiler(interval=0.0005, async_mode="disabled")


def report(label: str, tallies: dict[str, Tally], aps: list[Ap]) -> None:
    oids = sum(len(ap.oids) for ap in aps) / len(aps)
    bare = tallies["bare pysnmp GET"].ms
    print(f"\n{label}: {len(aps)} APs, bare GET of {oids:.1f} OIDs per AP on average")
    print(f"  {'variant':<26} {'ms CPU/poll':>11} {'x bare':>7} {'APs/min @0.8':>13} {'failed':>7}")
    for name, tally in tallies.items():
        per_minute = 60 / (tally.ms / 1e3) * CORE_SHARE
        print(
            f"  {name:<26} {tally.ms:11.3f} {tally.ms / bare:7.2f} {per_minute:13,.0f}"
            f" {tally.failed:7d}"
        )


@contextmanager
def simulated_city(aps: int, workdir: Path) -> Iterator[Path]:
    base = f"127.1.{random.randint(100, 250)}.1"
    inventory = workdir / "city.yaml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYWIFI_")}
    env["CITYWIFI_DATA_DIR"] = str(workdir / "sim-state")
    args = [
        sys.executable, "-m", "citywifi", "simulate", "--aps", str(aps), "--seed", "7",
        "--base-address", base, "--snmp-port", str(free_port(socket.SOCK_DGRAM, base)),
        "--control-port", str(free_port(socket.SOCK_STREAM, "127.0.0.1")), "--ssh-aps", "0",
        "--inventory-out", str(inventory),
    ]  # fmt: skip
    with (workdir / "simulator.log").open("wb") as log:
        sim = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not inventory.exists():
            if sim.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((workdir / "simulator.log").read_text()[-2000:])
            time.sleep(0.2)
        time.sleep(0.5)  # the file is written once serving; let it be complete
        yield inventory
    finally:
        sim.terminate()
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()


def c_floor(aps: list[Ap], rounds: int, workdir: Path) -> tuple[float, int] | None:
    """ms CPU per GET through libnetsnmp, or None without a compiler or libsnmp-dev."""
    config = shutil.which("net-snmp-config")
    compiler = shutil.which("cc")
    if not config or not compiler:
        print("\nC library floor skipped: needs cc and libsnmp-dev (net-snmp-config)")
        return None
    source, binary = workdir / "floor.c", workdir / "floor"
    source.write_text(C_CLIENT)
    libs = subprocess.run([config, "--libs"], capture_output=True, text=True, check=True)
    built = subprocess.run(
        [compiler, "-O2", "-o", str(binary), str(source), *libs.stdout.split()],
        capture_output=True,
        text=True,
    )
    if built.returncode:
        print(f"\nC library floor skipped: does not compile: {built.stderr[-500:]}")
        return None
    lines = "".join(
        f"{ap.target.host}:{ap.target.port} {ap.target.community} {' '.join(ap.oids)}\n"
        for ap in aps
    )
    done = subprocess.run(
        [str(binary), str(rounds)], input=lines, capture_output=True, text=True, timeout=300
    )
    if done.returncode:
        print(f"\nC library floor failed: {done.stderr[-500:]}")
        return None
    polls, cpu, failed = done.stdout.split()
    return float(cpu) / int(polls) * 1e3, int(failed)


def snmpget_per_process(aps: list[Ap], count: int) -> tuple[float, int] | None:
    """ms CPU (children's user + system) per poll, one ``snmpget`` process each."""
    tool = shutil.which("snmpget")
    if not tool:
        return None
    env = {**os.environ, "MIBS": ""}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    failed = 0
    chosen = (aps * (count // max(len(aps), 1) + 1))[:count]
    for ap in chosen:
        t = ap.target
        if t.is_v3:
            auth = ["-v3", "-l", "authPriv", "-u", str(t.user), "-a", "SHA", "-A", str(t.auth_key),
                    "-x", "AES", "-X", str(t.priv_key)]  # fmt: skip
        else:
            auth = ["-v2c", "-c", t.community]
        done = subprocess.run(
            [tool, *auth, "-On", "-t", "2", "-r", "1", f"{t.host}:{t.port}", *ap.oids],
            capture_output=True,
            env=env,
            timeout=30,
        )
        failed += done.returncode != 0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / len(chosen) * 1e3, failed


async def run(args: argparse.Namespace, inventory: Path, workdir: Path) -> None:
    aps = load_aps(inventory, args.timeout)
    groups = {
        "v2c": [ap for ap in aps if not ap.target.is_v3],
        "v3": [ap for ap in aps if ap.target.is_v3][: args.v3_aps],
    }
    results = {}
    for label, group in groups.items():
        results[label] = await measure(
            label, group, args.rounds, args.in_flight, workdir / f"store-{label}", args.profile
        )
        report(label, results[label], group)
    if args.no_c:
        return
    floor = c_floor(groups["v2c"], args.rounds, workdir)
    if floor is not None:
        bare = results["v2c"]["bare pysnmp GET"].ms
        print(
            f"\nnet-snmp C library, v2c GET one at a time: {floor[0]:.3f} ms CPU/poll"
            f" ({floor[0] / bare:.3f} x bare pysnmp), {floor[1]} failed"
        )
    for label, group in groups.items():
        per_process = snmpget_per_process(group, args.snmpget_polls)
        if per_process is not None:
            print(
                f"snmpget process per poll, {label}: {per_process[0]:.2f} ms CPU/poll"
                f" ({args.snmpget_polls} polls, {per_process[1]} failed)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=300, help="city size (about 1/3 are v3)")
    parser.add_argument("--v3-aps", type=int, default=100, help="at most this many v3 APs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=5.0, help="per-attempt SNMP timeout")
    parser.add_argument("--snmpget-polls", type=int, default=40)
    parser.add_argument("--no-c", action="store_true", help="skip the net-snmp floors")
    parser.add_argument("--profile", action="store_true", help="pyinstrument over the rounds")
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        workdir = Path(tmp)
        with simulated_city(args.aps, workdir) as inventory:
            asyncio.run(asyncio.wait_for(run(args, inventory, workdir), args.max_seconds))


if __name__ == "__main__":
    main()
