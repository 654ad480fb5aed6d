"""``citywifi poll``'s refusals: one line naming the cause, and no packet sent.

Polling real simulated APs is tested in tests/integration/test_poll_cli.py; these need no
device, and no name is ever looked up (the addresses are refused by their form)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner

from citywifi.cli import app

runner = CliRunner()


@pytest.fixture
def quiet_device(free_udp_port: Callable[[], int]) -> Iterator[tuple[socket.socket, int]]:
    """A UDP socket standing where a device would: it must receive nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", free_udp_port()))
        sock.setblocking(False)
        yield sock, sock.getsockname()[1]


def _received_nothing(sock: socket.socket) -> bool:
    try:
        sock.recv(65535)
    except BlockingIOError:
        return True
    return False


@pytest.mark.parametrize("host", ["not a host", "999.1.1.1", "ap-01..city", "ap-.example"])
def test_a_host_that_cannot_be_an_address_or_name_is_one_line(host: str) -> None:
    result = runner.invoke(app, ["poll", host, "--timeout", "0.2"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {host!r} is neither an IP address nor a host name\n"


def test_debug_shows_the_traceback_as_well() -> None:
    result = runner.invoke(app, ["--debug", "poll", "not a host"])
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "ConfigError" in result.stderr
    assert result.stderr.endswith("error: 'not a host' is neither an IP address nor a host name\n")


def test_an_unknown_profile_is_refused_listing_the_known_ones(
    quiet_device: tuple[socket.socket, int],
) -> None:
    sock, port = quiet_device
    result = runner.invoke(app, ["poll", "127.0.0.1", "--port", str(port), "--profile", "bogus"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown profile 'bogus'; known: ")
    assert "generic" in lines[0] and "mikrotik" in lines[0]
    assert _received_nothing(sock)


def test_v2c_without_a_community_is_refused_before_polling(
    quiet_device: tuple[socket.socket, int],
) -> None:
    sock, port = quiet_device
    result = runner.invoke(app, ["poll", "127.0.0.1", "--port", str(port), "--community", ""])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "community" in result.stderr
    assert _received_nothing(sock)
