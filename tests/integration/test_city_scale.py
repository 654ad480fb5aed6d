"""The issue's scale: one simulator process serves 2,000 SNMP APs and 200 SSH CLIs.

Functional, not timed (speed lives in bench/): every AP answers a real collector cycle
over v2c and v3, every SSH CLI accepts a connection, and a netmiko session works in the
same city.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from netmiko import ConnectHandler

from collector.engine import Collector
from core.settings import Settings
from inventory import import_file
from inventory.db import open_inventory
from inventory.secretbox import load_box
from simulators.city import build_city
from simulators.ssh import ssh_aps_for
from tests.fixtures.ports import free_port
from tests.fixtures.processes import Proc, wait_for
from timeseries import open_store

# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

APS, SSH_APS = 2000, 200
BASE = "127.1.100.1"


def test_one_process_serves_2000_snmp_aps_and_200_ssh_clis(
    spawn: Callable[..., Proc], tmp_path: Path, free_tcp_port: Callable[[], int]
) -> None:
    snmp_port = free_port(socket.SOCK_DGRAM, BASE)
    ssh_port = free_port(socket.SOCK_STREAM, BASE)
    inventory = tmp_path / "city.yaml"
    sim = spawn(
        [
            "simulate",
            "--aps",
            str(APS),
            "--seed",
            "11",
            "--base-address",
            BASE,
            "--snmp-port",
            str(snmp_port),
            "--ssh-aps",
            str(SSH_APS),
            "--ssh-port",
            str(ssh_port),
            "--control-port",
            str(free_tcp_port()),
            "--inventory-out",
            str(inventory),
        ]
    )
    wait_for(lambda: inventory.exists() or sim.popen.poll() is not None, 120, "the city")
    assert sim.popen.poll() is None, sim.output()

    doc = yaml.safe_load(inventory.read_text())
    versions = {c["id"]: c["snmp"]["version"] for c in doc["credentials"]}
    assert sum(versions[ap["credentials"]] == "3" for ap in doc["aps"]) > APS // 5

    settings = Settings(data_dir=tmp_path / "state", snmp_timeout_s=5, snmp_retries=1)
    engine = open_inventory(settings.db_url, create=True)
    import_file(engine, inventory, load_box(settings))
    store = open_store(settings.store_url)

    async def one_cycle() -> tuple[int, int]:
        collector = Collector(settings, engine, store)
        try:
            report = await collector.run_cycle()
        finally:
            collector.close()
        return report.attempted, report.answered

    assert asyncio.run(one_cycle()) == (APS, APS)
    store.close()
    engine.dispose()

    ssh_hosts = [ap["host"] for ap in doc["aps"]][:APS]
    listening = 0
    for host in ssh_hosts:
        with socket.socket() as s:
            s.settimeout(1.0)
            if s.connect_ex((host, ssh_port)) == 0:
                listening += 1
    assert listening == SSH_APS

    city = build_city(APS, 11, base_address=BASE, snmp_port=snmp_port)
    routeros = next(a for a in ssh_aps_for(city, limit=SSH_APS) if a.flavour == "routeros")
    with ConnectHandler(
        device_type="mikrotik_routeros",
        host=routeros.host,
        port=ssh_port,
        username=routeros.username,
        password=routeros.password,
        timeout=20,
    ) as cli:
        count = cli.send_command("/interface wireless registration-table print count-only")
    assert int(count.strip()) >= 0
    assert sim.popen.poll() is None
