"""The public report route under a burst, on a real server: ``citywifi serve`` on
127.0.0.1 (a process of its own, with its own interpreter lock), a small city in its
inventory, and the process-wide limit set low (20 a minute).

A bounded burst: :data:`BURST` valid reports (each with its own solved proof of work)
from :data:`WORKERS` threads at once, while a watcher asks the rest of the API
(``/healthz``, ``/public/hotspots``) every :data:`WATCH_EVERY_S`. Expected: the route
takes what the limit allows (its capacity plus what refills during the burst) and sheds
the rest with 429 and Retry-After; every report taken is stored, no other one; and the
rest of the API keeps answering, every time, quickly. Bounded in count and in time
(:data:`DEADLINE_S`); loopback only. What was measured is printed (``-s`` shows it).
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from citizens import proof
from core.settings import Settings
from inventory import import_file
from inventory.db import open_inventory, transaction
from inventory.models import CitizenReport
from inventory.secretbox import load_box
from tests.fixtures.ports import free_port
from tests.fixtures.processes import Proc, citywifi_env, wait_for

PER_MINUTE = 20
BITS = 4
BURST = 160
WORKERS = 8
WATCH_EVERY_S = 0.05
DEADLINE_S = 60.0
REQUEST_TIMEOUT_S = 10.0
# The rest of the API while the report route sheds: every answer a 200, none slow.
SLOWEST_OTHER_S = 2.0

CITY = """\
districts:
  - {id: d01, name: Kota}
credentials:
  - id: snmp-d01
    snmp: {version: "2c", community: burst-community-1}
sites:
  - {id: s0001, name: Taman Kota, lat: -6.2, lon: 106.92, district: d01, kind: park,
     coverage_radius_m: 80, status: active}
  - {id: s0002, name: Pasar Baru, lat: -6.19, lon: 106.91, district: d01, kind: market,
     coverage_radius_m: 80, status: active}
aps:
  - {id: ap00001, site: s0001, name: taman-1, host: 127.1.0.1, credentials: snmp-d01}
  - {id: ap00002, site: s0002, name: pasar-1, host: 127.1.0.2, credentials: snmp-d01}
"""


def _serve(spawn: Any, tmp_path: Path, **limits: str) -> tuple[Proc, str]:
    """The city in a new inventory, then ``citywifi serve`` on a free loopback port, with
    the burst's limits or (by setting name) others."""
    settings = Settings(data_dir=tmp_path)
    engine = open_inventory(settings.db_url, create=True)
    try:
        city = tmp_path / "city.yaml"
        city.write_text(CITY)
        import_file(engine, city, load_box(settings))
    finally:
        engine.dispose()
    port = free_port()
    env = (
        citywifi_env(tmp_path)
        | {
            "CITYWIFI_CITIZEN_PUBLIC_PER_MINUTE": str(PER_MINUTE),
            "CITYWIFI_CITIZEN_POW_BITS": str(BITS),
            "CITYWIFI_CITIZEN_REPORTS_PER_ADDRESS": "10000",  # the burst is one address
            "CITYWIFI_CITIZEN_REPORTS_PER_SITE": "100000",
            "CITYWIFI_LOG_LEVEL": "WARNING",
        }
        | {f"CITYWIFI_{name.upper()}": value for name, value in limits.items()}
    )
    proc = spawn(["serve", "--host", "127.0.0.1", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.popen.poll() is None, proc.output()
        try:
            return httpx.get(base + "/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, 60, "citywifi serve")
    return proc, base


def _stored(tmp_path: Path) -> int:
    engine = open_inventory(Settings(data_dir=tmp_path).db_url, create=False)
    try:
        with transaction(engine) as session:
            return int(session.scalar(select(func.count()).select_from(CitizenReport)) or 0)
    finally:
        engine.dispose()


def test_a_burst_is_shed_with_429_and_the_rest_of_the_api_keeps_answering(
    spawn: Any, tmp_path: Path, database_url: str
) -> None:
    proc, base = _serve(spawn, tmp_path)
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
        # Every report of the burst is one a person could have sent: its own challenge,
        # solved before the burst starts (so the burst is the reports alone).
        works = []
        for _ in range(BURST):
            challenge = client.get("/public/report-challenge").json()
            works.append((challenge["token"], proof.solve(challenge["token"], challenge["bits"])))

    done = threading.Event()
    others: list[tuple[str, int, float, float]] = []  # path, status, seconds, sent at

    def watch() -> None:
        paths = ("/healthz", "/public/hotspots")
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as watcher:
            n = 0
            while not done.is_set() and n < 2000:
                path = paths[n % 2]
                started = time.monotonic()
                status = watcher.get(path).status_code
                others.append((path, status, time.monotonic() - started, started))
                n += 1
                done.wait(WATCH_EVERY_S)

    def report(work: tuple[str, str], client: httpx.Client) -> tuple[int, str | None, float]:
        token, nonce = work
        data = {"problem": "no_internet", "lat": "-6.2", "lon": "106.92", "website": "",
                "token": token, "nonce": nonce}  # fmt: skip
        started = time.monotonic()
        answer = client.post("/public/reports", data=data, files={"photo": ("", b"")})
        return answer.status_code, answer.headers.get("retry-after"), time.monotonic() - started

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    wait_for(lambda: len(others) >= 3, 10, "the watcher's first answers (the quiet API)")
    clients = [httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) for _ in range(WORKERS)]
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(report, w, clients[i % WORKERS]) for i, w in enumerate(works)]
            results = [f.result(timeout=DEADLINE_S) for f in futures]
    finally:
        elapsed = time.monotonic() - started
        done.set()
        watcher.join(timeout=REQUEST_TIMEOUT_S + 1)
        for client in clients:
            client.close()
    assert elapsed < DEADLINE_S

    statuses = Counter(status for status, _, _ in results)
    taken = statuses[202]
    shed = [(retry, seconds) for status, retry, seconds in results if status == 429]
    allowed = PER_MINUTE + math.ceil(elapsed * PER_MINUTE / 60.0)
    other_seconds = [seconds for _, _, seconds, _ in others]
    during = [at for _, _, _, at in others if started <= at <= started + elapsed]
    summary = (
        f"burst of {BURST} reports from {WORKERS} threads in {elapsed:.2f} s: "
        f"{dict(statuses)}; the rest of the API meanwhile: {len(others)} answers, "
        f"{len(during)} of them sent during the burst, "
        f"{dict(Counter(status for _, status, _, _ in others))}, "
        f"median {statistics.median(other_seconds) * 1000:.1f} ms, "
        f"slowest {max(other_seconds) * 1000:.1f} ms; "
        f"429s answered in median {statistics.median(s for _, s in shed) * 1000:.1f} ms"
    )
    print("\n" + summary)

    assert set(statuses) <= {202, 429}, (summary, proc.output()[-2000:])
    assert PER_MINUTE <= taken <= allowed, summary
    assert len(shed) == BURST - taken
    assert all(retry is not None and int(retry) >= 1 for retry, _ in shed), summary
    assert _stored(tmp_path) == taken  # every report taken is stored, no shed one
    assert len(during) >= 2, summary  # asked while the route was shedding, not only before
    assert all(status == 200 for _, status, _, _ in others), summary
    assert max(other_seconds) < SLOWEST_OTHER_S, summary


@pytest.mark.parametrize(
    ("per_address", "per_site"), [(5, 10_000), (10_000, 5)], ids=["address", "hotspot"]
)
def test_the_database_limits_hold_for_reports_sent_at_once(
    spawn: Any, tmp_path: Path, database_url: str, per_address: int, per_site: int
) -> None:
    """The per-address and per-hotspot limits are counted and the report stored under one
    lock: reports at once from one address about one hotspot never overshoot them."""
    _, base = _serve(
        spawn,
        tmp_path,
        citizen_public_per_minute="100000",
        citizen_pow_bits="0",
        citizen_reports_per_address=str(per_address),
        citizen_reports_per_site=str(per_site),
    )
    sent = 24
    data = {"problem": "slow", "site_id": "s0001", "website": ""}
    clients = [httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) for _ in range(WORKERS)]
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [
                pool.submit(clients[i % WORKERS].post, "/public/reports", data=data,
                            files={"photo": ("", b"")})
                for i in range(sent)
            ]  # fmt: skip
            statuses = Counter(f.result(timeout=DEADLINE_S).status_code for f in futures)
    finally:
        for client in clients:
            client.close()
    limit = min(per_address, per_site)
    assert statuses == {202: limit, 429: sent - limit}, statuses
    assert _stored(tmp_path) == limit
