"""The simulate command's own wiring: fault-rate files and the simulated clock."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from citywifi.simulate import load_fault_rates, make_clock
from core.errors import SimulatorError
from simulators.faults import FaultRates
from tests.fixtures.processes import Proc, wait_for


def test_fault_rates_file(tmp_path: Path) -> None:
    good = tmp_path / "rates.yaml"
    good.write_text("ap_down: 2\nsite_power: 0.5\n")
    assert load_fault_rates(good) == FaultRates(ap_down=2.0, site_power=0.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tornado: 1\n", "unknown fault kind 'tornado'"),
        ("ap_down: -1\n", "ap_down: rate must be a number >= 0"),
        ("ap_down: often\n", "ap_down: rate must be a number >= 0"),
        ("- ap_down\n", "must be a mapping"),
        ("ap_down: [1\n", "cannot read fault rates"),
    ],
)
def test_bad_fault_rates_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "rates.yaml"
    bad.write_text(text)
    with pytest.raises(SimulatorError, match=message.replace("[", r"\[")):
        load_fault_rates(bad)


def test_clock_offset_and_speed() -> None:
    assert make_clock(0, 1) is None  # the real clock, untouched
    clock = make_clock(-7 * 86400, 10)
    assert clock is not None
    start = clock(1_000_000_000.0)
    later = clock(1_000_000_060.0)
    assert later - start == pytest.approx(600.0)  # a minute runs ten


@pytest.mark.slow
def test_inventory_names_the_ssh_port_actually_served(
    spawn: Callable[..., Proc],
    tmp_path: Path,
    free_tcp_port: Callable[[], int],
    free_udp_port: Callable[[], int],
) -> None:
    """``--ssh-port P`` serves SSH on P, so the inventory written says P (was: 2222)."""
    ssh_port = free_tcp_port()
    inventory = tmp_path / "city.yaml"
    sim = spawn(
        [
            "simulate", "--aps", "12", "--ssh-aps", "12", "--seed", "3",
            "--snmp-port", str(free_udp_port()), "--ssh-port", str(ssh_port),
            "--control-port", "0", "--inventory-out", str(inventory),
        ]
    )  # fmt: skip
    wait_for(lambda: inventory.exists() or sim.popen.poll() is not None, 60, "the simulator")
    assert sim.popen.poll() is None, sim.output()
    aps = yaml.safe_load(inventory.read_text())["aps"]
    assert {ap["ssh_port"] for ap in aps} == {ssh_port}
    served = 0
    for ap in aps:
        with (
            contextlib.suppress(ConnectionRefusedError),
            socket.create_connection((ap["host"], ssh_port), timeout=5) as conn,
        ):
            served += conn.recv(4).startswith(b"SSH-")
    assert served > 0, "no AP of the inventory serves SSH on the port it names"
