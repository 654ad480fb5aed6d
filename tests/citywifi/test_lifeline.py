"""A tied child ends when its parent dies, even by SIGKILL (real processes, real signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from citywifi.lifeline import PARENT_ENV

DEADLINE_S = 5.0

CHILD = """
import sys, time
from citywifi.lifeline import arm_from_environment
arm_from_environment()
open(sys.argv[1], "w").write("armed")
time.sleep(120)
"""

# The parent starts the tied child, says its PID, and waits to be killed.
PARENT = """
import os, subprocess, sys, time
from citywifi.lifeline import child_environment
child = subprocess.Popen(
    [sys.executable, "-c", sys.argv[1], sys.argv[2]], env=child_environment(dict(os.environ))
)
print(child.pid, flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_S:.0f} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def parent(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    armed = tmp_path / "armed"
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, str(armed)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    try:
        yield proc, child, armed
    finally:
        for pid in (proc.pid, child):
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_child_ends_when_its_parent_is_killed(
    parent: tuple[subprocess.Popen[str], int, Path],
) -> None:
    proc, child, armed = parent
    _wait(armed.exists, "the child armed its lifeline")
    assert _running(child)
    proc.kill()
    _wait(lambda: not _running(child), "the child ended after its parent's SIGKILL")


def test_a_child_whose_parent_is_already_gone_exits_at_once() -> None:
    not_my_parent = os.getpid()  # the child's parent is the runner below, not this process
    code = "from citywifi.lifeline import arm_from_environment; arm_from_environment()"
    done = subprocess.run(
        ["/bin/sh", "-c", f'"{sys.executable}" -c "{code}"; echo status $?'],
        env={**os.environ, PARENT_ENV: str(not_my_parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "status 1\n"
    assert done.stderr == f"citywifi: the process that started this one ({not_my_parent}) is gone\n"


def test_without_the_mark_nothing_happens() -> None:
    from citywifi.lifeline import arm_from_environment

    arm_from_environment({})  # no prctl, no exit: an ordinary process
