"""SSH command data and parsers, table-driven from the simulated CLIs' own output."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from collector.ssh_poll import (
    ParseError,
    SshCommand,
    SshProfile,
    commands_to_run,
    read_outputs,
    ssh_profile,
)
from collector.vendors import mikrotik as routeros_vendor
from collector.vendors import openwrt as openwrt_vendor
from simulators import cli_openwrt, cli_routeros
from simulators.city import SimAp, build_city

NOW = 1_790_000_000.0  # a fixed instant: the simulated CLIs are pure functions of time


@pytest.fixture(scope="module")
def city_aps() -> list[SimAp]:
    return build_city(80, 7).aps


def of_vendor(aps: Sequence[SimAp], vendor: str) -> list[SimAp]:
    return [ap for ap in aps if ap.vendor.name == vendor][:6]


def routeros(ap: SimAp, line: str, now: float = NOW) -> str:
    out = cli_routeros.run(line, identity=ap.name, device=ap.device, board=ap.model.name, now=now)
    assert out is not None
    return out


def openwrt(ap: SimAp, line: str, now: float = NOW) -> str:
    reply = cli_openwrt.run(line, hostname=ap.name, device=ap.device, now=now)
    return reply.stdout + reply.stderr  # a PTY merges them, as netmiko sees it


def test_registry_finds_ssh_profiles_by_name() -> None:
    mikrotik, openwrt_profile = ssh_profile("mikrotik"), ssh_profile("openwrt")
    assert mikrotik is not None and mikrotik.device_type == "mikrotik_routeros"
    assert openwrt_profile is not None and openwrt_profile.device_type == "linux"
    for name in ("unifi", "airmax", "generic", "auto", "no-such-vendor", None):
        assert ssh_profile(name) is None


def test_each_vendor_module_holds_its_snmp_and_ssh_profiles() -> None:
    """One module per vendor, one registry: the SSH profile is found beside the SNMP one."""
    assert routeros_vendor.PROFILE.name == routeros_vendor.SSH_PROFILE.name == "mikrotik"
    assert openwrt_vendor.PROFILE.name == openwrt_vendor.SSH_PROFILE.name == "openwrt"
    assert ssh_profile("mikrotik") is routeros_vendor.SSH_PROFILE


def test_routeros_counts(city_aps: list[SimAp]) -> None:
    aps = of_vendor(city_aps, "mikrotik")
    assert aps
    for ap in aps:
        hotspot = routeros(ap, "/ip hotspot active print count-only")
        regs = routeros(ap, "/interface wireless registration-table print count-only")
        assert routeros_vendor.hotspot_sessions(hotspot) == {
            "hotspot_sessions": float(ap.device.hotspot_sessions(NOW))
        }
        assert routeros_vendor.registrations(regs) == {
            "clients": float(ap.device.total_clients(NOW))
        }


@pytest.mark.parametrize(
    "text",
    ["bad command name foo (line 1 column 2)", "", "expected end of command", "12 items"],
)
def test_routeros_count_rejects_errors(text: str) -> None:
    with pytest.raises(ParseError):
        routeros_vendor.hotspot_sessions(text)


def test_openwrt_assoclist_and_memory(city_aps: list[SimAp]) -> None:
    aps = of_vendor(city_aps, "openwrt")
    assert aps
    seen_stations = False
    for ap in aps:
        for now in (NOW, NOW + 4 * 3600, NOW + 9 * 3600):
            wlan0 = openwrt(ap, "iwinfo wlan0 assoclist", now)
            wlan1 = openwrt(ap, "iwinfo wlan1 assoclist", now)
            assert openwrt_vendor.radio_2g4(wlan0) == {"clients_2g4": ap.device.clients(0, now)}
            assert openwrt_vendor.radio_5g(wlan1) == {"clients_5g": ap.device.clients(1, now)}
            seen_stations |= ap.device.clients(0, now) > 0
        info = openwrt(ap, "ubus call system info")
        mem = openwrt_vendor.memory(info)["mem_pct"]
        assert 0.0 < mem < 100.0
    assert seen_stations


def test_openwrt_empty_and_error_outputs() -> None:
    assert openwrt_vendor.count_stations("No station connected\n") == 0
    for bad in ("No such wireless device: wlan1", "-ash: iwinfo: not found", ""):
        with pytest.raises(ParseError):
            openwrt_vendor.count_stations(bad)
    for bad in ("", "{}", '{"memory": {"total": 0, "free": 0, "buffered": 0, "cached": 0}}'):
        with pytest.raises(ParseError):
            openwrt_vendor.memory(bad)


def test_openwrt_profile_combines_radios_into_clients(city_aps: list[SimAp]) -> None:
    ap = of_vendor(city_aps, "openwrt")[0]
    profile = ssh_profile("openwrt")
    assert profile is not None
    outputs = [(c, openwrt(ap, c.command)) for c in profile.commands]
    fields, checks, errors = read_outputs(profile, outputs)
    assert errors == 0 and checks == {}
    assert fields["clients"] == ap.device.clients(0, NOW) + ap.device.clients(1, NOW)
    assert set(fields) == {"clients", "clients_2g4", "clients_5g", "mem_pct"}
    # A one-radio board: wlan1 is an error, counted; clients come from wlan0 alone.
    outputs[1] = (outputs[1][0], "No such wireless device: wlan1\n")
    fields, _, errors = read_outputs(profile, outputs)
    assert errors == 1 and fields["clients"] == ap.device.clients(0, NOW)


def test_routeros_hotspot_only_when_snmp_lacks_it_and_registrations_only_checked(
    city_aps: list[SimAp],
) -> None:
    ap = of_vendor(city_aps, "mikrotik")[0]
    profile = ssh_profile("mikrotik")
    assert profile is not None
    assert [c.command for c in commands_to_run(profile, {"clients": 3.0})] == [
        c.command for c in profile.commands
    ]
    remaining = commands_to_run(profile, {"hotspot_sessions": 2.0})
    assert [c.command for c in remaining] == [
        "/interface wireless registration-table print count-only"
    ]
    outputs = [(c, routeros(ap, c.command)) for c in profile.commands]
    fields, checks, errors = read_outputs(profile, outputs)
    assert fields == {"hotspot_sessions": float(ap.device.hotspot_sessions(NOW))}
    assert checks == {"clients": float(ap.device.total_clients(NOW))}
    assert errors == 0


def test_fields_outside_the_vocabulary_are_never_written() -> None:
    profile = SshProfile(
        "x",
        "linux",
        (SshCommand("x", lambda text: {"clients": 1.0, "made_up_metric": 2.0}),),
    )
    fields, _, _ = read_outputs(profile, [(profile.commands[0], "")])
    assert fields == {"clients": 1.0}
