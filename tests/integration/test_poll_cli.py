"""``citywifi poll HOST`` against simulated APs on loopback, as an engineer runs it."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from citywifi.cli import app
from tests.fixtures.collector_devices import VENDOR_METRICS, LiveCity
from tests.fixtures.ports import free_port

pytestmark = pytest.mark.slow

runner = CliRunner()


def test_json_over_v2c(frozen_vendor_city: LiveCity) -> None:
    ap = frozen_vendor_city.first("mikrotik")
    args = ["poll", ap.host, "--port", str(ap.snmp_port), "--community", ap.community, "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["profile"] == "mikrotik" and shown["errors"] == 0
    assert set(shown["metrics"]) == VENDOR_METRICS["mikrotik"]
    assert shown["metrics"]["clients"] == ap.device.total_clients(frozen_vendor_city.now)


def test_v3_flags_and_the_table(frozen_vendor_city: LiveCity) -> None:
    ap = frozen_vendor_city.first("airmax", "3")
    assert ap.v3 is not None
    result = runner.invoke(
        app,
        [
            "poll", ap.host, "--port", str(ap.snmp_port), "--v3-user", ap.v3.user,
            "--auth-key", ap.v3.auth_key, "--priv-key", ap.v3.priv_key or "",
            "--auth-proto", ap.v3.auth_protocol, "--priv-proto", ap.v3.priv_protocol or "AES",
            "--profile", "airmax", "--rate-interval", "0.2",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("profile  airmax")
    assert "noise_dbm" in result.stdout and "dBm" in result.stdout
    assert "wlan_rx_bps" in result.stdout


def test_wrong_v2c_community_times_out(frozen_vendor_city: LiveCity) -> None:
    ap = frozen_vendor_city.first("unifi")
    args = ["poll", ap.host, "--port", str(ap.snmp_port), "--community", "nope", "--timeout", "0.3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert f"{ap.host}:{ap.snmp_port}" in result.stderr


def test_unreachable_host_exits_1_with_a_clear_message(frozen_vendor_city: LiveCity) -> None:
    host = frozen_vendor_city.first("openwrt").host
    port = free_port(socket.SOCK_DGRAM, host)
    result = runner.invoke(app, ["poll", host, "--port", str(port), "--timeout", "0.3", "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {host}:{port}:")


def test_v3_user_without_key_is_a_usage_error() -> None:
    result = runner.invoke(app, ["poll", "127.1.0.1", "--v3-user", "noc"])
    assert result.exit_code == 2
    assert result.stderr == "error: 127.1.0.1:161: SNMPv3 needs an auth key\n"
