"""Simulator → collector → store → API on real sockets and real processes."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from collector.engine import Collector, CycleReport
from core.settings import Settings
from inventory import import_file
from inventory.db import open_inventory
from inventory.secretbox import load_box
from tests.fixtures.accounts import bearer, demo_users, user_token
from tests.fixtures.ports import free_port
from tests.fixtures.processes import Proc, citywifi_env, start_city, wait_for
from timeseries import open_store

# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

DEMO_BASE = "127.1.0.1"  # the demo's first AP address


def add_dead_ap(inventory: Path, tmp_path: Path, port: int) -> Path:
    """An AP whose address has nothing listening: a dead device."""
    doc = yaml.safe_load(inventory.read_text())
    ap = dict(doc["aps"][0], id="ap-dead", name="dead-one", host="127.1.254.254", snmp_port=port)
    extra = tmp_path / "dead.yaml"
    extra.write_text(yaml.safe_dump({"aps": [ap]}))
    return extra


def test_pipeline_on_real_sockets(spawn: Callable[..., Proc], tmp_path: Path) -> None:
    # 300 APs, the demo default: enough answers at once to overflow a default-sized
    # receive buffer, which dropped a fifth of them before the collector sized its own.
    inventory, port = start_city(spawn, tmp_path, aps=300, base="127.1.200.1")
    settings = Settings(
        data_dir=tmp_path / "state", snmp_timeout_s=2, snmp_retries=1, down_after_failures=2
    )
    engine = open_inventory(settings.db_url, create=True)
    import_file(engine, inventory, load_box(settings))
    import_file(engine, add_dead_ap(inventory, tmp_path, port), load_box(settings))
    store = open_store(settings.store_url)

    async def two_cycles() -> list[CycleReport]:
        collector = Collector(settings, engine, store)
        try:
            first = await collector.run_cycle()
            await asyncio.sleep(2.0)
            return [first, await collector.run_cycle()]
        finally:
            collector.close()

    reports = asyncio.run(two_cycles())
    for report in reports:
        assert (report.attempted, report.answered, report.failed) == (301, 300, 1)
        assert report.metric_errors == 0
        assert report.store_ok

    token = user_token(engine)
    with TestClient(create_app(settings), headers=bearer(token)) as client:
        body = client.get("/api/v1/status", params={"limit": 5000}).json()
        rows = {r["ap_id"]: r for r in body["data"]}
        assert body["count"] == 301
        assert body["summary"]["up"] == 300 and body["summary"]["down"] == 1
        assert rows["ap-dead"]["state"] == "down" and rows["ap-dead"]["clients"] is None
        assert rows["ap-dead"]["availability"] == 0.0
        live = [r for r in rows.values() if r["ap_id"] != "ap-dead"]
        assert all(r["state"] == "up" and r["uptime_s"] > 0 for r in live)
        assert all(r["availability"] == 1.0 for r in live)
        assert sum((r["clients"] or 0) > 0 for r in live) >= 240  # OpenWrt: none over SNMP
        for r in live:
            assert 0 < r["rx_bps"] < 1e9 and 0 < r["tx_bps"] < 1e9, r
        series = client.get(
            f"/api/v1/aps/{live[0]['ap_id']}/series", params={"metric": "clients", "step": 60}
        ).json()
        assert any(p["value"] is not None for p in series["points"])
    store.close()
    engine.dispose()


def status(url: str, output: str) -> dict[str, Any] | None:
    """The demo's status API, as its admin (None until it answers)."""
    admin = demo_users(output).get("admin")
    if admin is None:
        return None
    try:
        response = httpx.get(
            f"{url}api/v1/status", params={"limit": 5000}, headers=bearer(admin[-1]), timeout=2
        )
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def test_demo_serves_all_aps_up_within_30_s(
    spawn: Callable[..., Proc],
    tmp_path: Path,
    free_tcp_port: Callable[[], int],
) -> None:
    """The issue's acceptance: `citywifi demo --aps 50 --duration 60`, all up within 30 s."""
    port = free_tcp_port()
    started = time.monotonic()
    demo = spawn(
        [
            "demo",
            "--aps",
            "50",
            "--duration",
            "60",
            "--port",
            str(port),
            "--interval",
            "5",
            "--snmp-port",
            str(free_port(socket.SOCK_DGRAM, DEMO_BASE)),  # free on the APs' addresses
            "--control-port",
            str(free_tcp_port()),
            "--radius-port",
            str(free_port(socket.SOCK_DGRAM)),
        ],
        citywifi_env(tmp_path),
    )
    url = f"http://127.0.0.1:{port}/"

    def all_up() -> dict[str, Any] | None:
        assert demo.popen.poll() is None, demo.output()
        body = status(url, demo.output())
        return body if body and body["summary"]["up"] == 50 else None

    wait_for(all_up, 30 - (time.monotonic() - started), "all 50 APs up")

    def with_rates() -> list[dict[str, Any]] | None:
        body = status(url, demo.output())
        rows = body["data"] if body else []
        return rows if sum(r["rx_bps"] is not None for r in rows) >= 45 else None

    rows = wait_for(with_rates, 20, "rates after a second poll")
    assert len(rows) == 50
    assert sum((r["clients"] or 0) > 0 for r in rows) >= 40
    rates = [r[k] for r in rows for k in ("rx_bps", "tx_bps") if r[k] is not None]
    assert all(0 < bps < 1e9 for bps in rates), rates
    assert "open http://127.0.0.1:" in demo.output()
    assert httpx.get(url, timeout=2).status_code == 200  # the page

    demo.popen.wait(timeout=60)
    assert demo.popen.returncode == 0, demo.output()
    assert "stopped" in demo.output()
