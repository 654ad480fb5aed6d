"""Collector test fixtures: canned devices, a live city of v2c and v3 APs, and sockets
that stay silent or answer garbage, for the scrapers' failure causes."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from collector.snmp import Value
from tests.fixtures.collector_devices import MIKROTIK
from tests.fixtures.simulated import Running, serve_city


@pytest.fixture
def mikrotik_device() -> dict[str, Value]:
    """A MikroTik RouterOS AP as an OID → value table (a copy: change it freely)."""
    return dict(MIKROTIK)


@pytest.fixture(scope="package")
def snmp_city() -> Iterator[Running]:
    """A 12-AP city of v2c and v3 APs served on loopback, for the whole package."""
    with serve_city(12, seed=3) as running:
        assert {ap.snmp_version for ap in running.city.aps} == {"2c", "3"}
        yield running


@pytest.fixture
def silent_udp_port() -> Iterator[int]:
    """A UDP port on 127.0.0.1 with a socket bound to it that never answers: requests
    to it get no ICMP error either, only silence."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
