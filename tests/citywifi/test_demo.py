"""The demo's state-directory lock (its processes are tested in tests/integration)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from citywifi.demo import DemoBusy, demo_lock


def test_a_live_holder_is_named_and_the_directory_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    state.mkdir()
    (state / "city.yaml").write_text("kept")
    with demo_lock(state):
        assert (tmp_path / "demo.lock").read_text().strip().isdigit()
        with pytest.raises(DemoBusy) as caught, demo_lock(state):
            pass  # pragma: no cover - never reached
    assert str(caught.value) == (
        f"{state} is in use by another demo (PID {os.getpid()}); stop it, or give this one"
        " another --data-dir"
    )
    assert (state / "city.yaml").read_text() == "kept"
    with demo_lock(state):  # released with the holder
        pass


def test_a_dead_demo_whose_children_still_hold_the_lock(tmp_path: Path) -> None:
    """Its children inherit the lock and end with it, but need a moment to stop: a new
    demo waits for them, then says plainly what holds the directory."""
    state = tmp_path / "demo"
    dead = subprocess.Popen(["true"])
    dead.wait()
    with demo_lock(state):
        (tmp_path / "demo.lock").write_text(f"{dead.pid}\n")
        held = rf"still held by .* stopped demo \(PID {dead.pid}\)"
        with pytest.raises(DemoBusy, match=held), demo_lock(state, orphan_wait_s=0):
            pass  # pragma: no cover - never reached
