"""Files the CLI writes: whole or not at all.

An export or a gaps file half written (a full disk, Ctrl-C) would look like a valid,
shorter one; so every file is written to a temporary beside it and renamed over it, and a
failure leaves the old file as it was and no temporary behind.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path


def write_atomic(path: Path, text: str | bytes, *, private: bool = False) -> None:
    """Write ``text`` (UTF-8; or ``bytes`` as they are: a PDF) to ``path`` atomically.
    ``private``: readable by its owner only (0600) from the first moment (exports hold
    device credentials); else the mode of an ordinary new file (the umask's)."""
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # name the file asked for, not the temporary
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        if private:
            os.chmod(temp, 0o600)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)  # mkstemp made it 0600
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
