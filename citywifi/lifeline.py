"""Child processes that end with the process that started them, however it ends.

``citywifi demo`` runs the simulator and the collector as children. A parent can stop
its children when it is asked to stop (SIGTERM, Ctrl-C), but not when it is killed
outright (SIGKILL, the OOM killer, a crash): then the children would be re-parented to
init and keep polling, holding ports and writing into a state directory the next demo
empties. On Linux the kernel can signal a child when its parent dies
(``prctl(PR_SET_PDEATHSIG)``); this module arms that.

It is armed by the child itself, at start, not in a ``preexec_fn`` (which is unsafe in a
parent with threads): the parent names itself in :data:`PARENT_ENV`, and the child arms
the signal and then checks that this parent is still its parent, which closes the race
of a parent dying between ``fork`` and the ``prctl`` call.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

#: Environment variable naming the PID whose death must end this process.
PARENT_ENV = "CITYWIFI_PARENT_PID"

_PR_SET_PDEATHSIG = 1


def child_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` plus the mark that makes a citywifi child end with this process."""
    return {**env, PARENT_ENV: str(os.getpid())}


def arm_from_environment(environ: dict[str, str] | None = None) -> None:
    """If started as a tied child, end (SIGTERM: a clean stop) when the parent dies.

    Exits at once if that parent is already gone. Without ``prctl`` (not Linux) this
    does nothing: the parent still stops its children whenever it stops cleanly.
    """
    environ = dict(os.environ) if environ is None else environ
    wanted = environ.get(PARENT_ENV)
    if not wanted or not wanted.isdigit():
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")
    if os.getppid() != int(wanted):
        sys.stderr.write(f"citywifi: the process that started this one ({wanted}) is gone\n")
        raise SystemExit(1)
