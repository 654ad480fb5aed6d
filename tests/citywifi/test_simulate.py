"""The simulate command's own wiring: fault-rate files and the simulated clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from citywifi.simulate import load_fault_rates, make_clock
from core.errors import SimulatorError
from simulators.faults import FaultRates


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
