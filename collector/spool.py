"""The collector's disk spool: batches the metric store could not take, kept in order.

Why: a store outage (a restart, a network cut, a full disk on the store's side) must not
cost samples, and neither may a collector restart during the outage. So a batch the store
refuses for a transient reason goes to disk, and is replayed oldest first once the store
accepts writes again (:class:`collector.writer.BatchWriter` decides when).

Layout of ``spool_dir`` (human-readable on purpose: an operator can look inside)::

    000000000001.20.jsonl    batch 1, 20 samples: one JSON object per line
    000000000002.20.jsonl    {"m": "ap", "t": {"ap": "ap-1", ...}, "f": {...}, "ts": 1.7e9}
    .000000000003.tmp        a batch being written (ignored and removed on open)
    .lock                    held (flock) by the collector using this spool

- The name carries a sequence number that only grows (across restarts too: the next one
  follows the largest on disk) and the sample count, so opening the spool needs no read.
- A batch is written to a dot-temp file, fsynced, renamed into place and the directory
  fsynced: after a crash a batch file is complete or absent; a half-written temp file is
  ignored. A batch is deleted only after the store took it.
- The spool is bounded by ``max_bytes`` of batch files. A batch that would pass the bound
  first drops the OLDEST batches (a warning with the count; counted in
  :attr:`Spool.dropped_samples`), never the newest data: a long outage loses its start, not
  its end, and only once the bound is reached.
- JSON keeps every float exactly (``repr`` round-trips), so a replayed sample has the same
  measurement, tags, fields and time as the original. The stores keep one value per
  (series, timestamp), the last written, which makes a replay idempotent: a batch that
  reached the store although its write reported an error (a timeout after the server
  stored it, a partial write) lands on the same points again instead of doubling them.
  That, not bookkeeping here, is what makes "every sample exactly once" hold.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.errors import ConfigError
from timeseries import Sample

__all__ = ["Spool", "SpooledBatch", "decode_batch", "encode_batch"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{12})\.(\d+)\.jsonl$")
_TEMP_SUFFIX = ".tmp"
_LOCK = ".lock"
_CORRUPT_SUFFIX = ".corrupt"


@dataclass(frozen=True, slots=True)
class _Entry:
    seq: int
    count: int
    size: int
    path: Path


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """Samples read back from one or more consecutive batch files (oldest first)."""

    seqs: tuple[int, ...]
    samples: list[Sample]


def encode_batch(samples: Sequence[Sample]) -> bytes:
    """One compact JSON object per sample and line."""
    lines = [
        json.dumps(
            {"m": s.measurement, "t": dict(s.tags), "f": dict(s.fields), "ts": s.ts},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        for s in samples
    ]
    return ("\n".join(lines) + "\n").encode()


def decode_batch(data: bytes) -> list[Sample]:
    """The samples of :func:`encode_batch`; ValueError if the text is not one."""
    samples = []
    for line in data.decode().splitlines():
        if not line:
            continue
        obj: Any = json.loads(line)
        if not isinstance(obj, dict) or not {"m", "t", "f", "ts"} <= obj.keys():
            raise ValueError(f"not a spooled sample: {line[:200]!r}")
        samples.append(Sample(obj["m"], obj["t"], obj["f"], obj["ts"]))
    return samples


class Spool:
    """An append-only, size-bounded queue of sample batches in one directory.

    Not thread-safe by itself: the writer calls it from one task at a time (its flush
    lock), in a worker thread since every append fsyncs. One process at a time may use a
    directory (an ``flock`` on ``.lock``); two collectors sharing a spool would replay
    each other's batches.
    """

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        *,
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"spool bound must be positive, got {max_bytes}")
        self.directory = directory
        self.max_bytes = max_bytes
        self._on_drop = on_drop
        self.dropped_samples = 0
        self._entries: list[_Entry] = []
        self._next_seq = 1
        self._lock_file: IO[bytes] | None = None
        self._open()

    # --- state -----------------------------------------------------------------------------

    @property
    def batches(self) -> int:
        return len(self._entries)

    @property
    def samples(self) -> int:
        return sum(e.count for e in self._entries)

    @property
    def bytes(self) -> int:
        return sum(e.size for e in self._entries)

    @property
    def seqs(self) -> list[int]:
        """Sequence numbers of the batches on disk, oldest first."""
        return [e.seq for e in self._entries]

    # --- opening ---------------------------------------------------------------------------

    def _open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            lock = (self.directory / _LOCK).open("ab")
        except OSError as exc:
            raise ConfigError(f"cannot use spool directory {self.directory}: {exc}") from exc
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise ConfigError(
                f"spool directory {self.directory} is in use by another collector; "
                "give each collector its own spool_dir"
            ) from None
        self._lock_file = lock
        entries = []
        for path in self.directory.iterdir():
            if path.name.startswith(".") and path.name.endswith(_TEMP_SUFFIX):
                # A batch whose write never completed: its samples were never counted as
                # spooled (the writer crashed before the rename), so removing it loses
                # nothing that had been promised.
                log.warning("removing %s, a spool batch left half-written by a crash", path)
                path.unlink(missing_ok=True)
                continue
            match = _NAME.match(path.name)
            if match is None:
                continue
            entries.append(
                _Entry(int(match[1]), int(match[2]), path.stat().st_size, path),
            )
        entries.sort(key=lambda e: e.seq)
        self._entries = entries
        self._next_seq = entries[-1].seq + 1 if entries else 1
        if entries:
            log.warning(
                "spool %s holds %d samples in %d batches from before; replaying them first",
                self.directory,
                self.samples,
                self.batches,
            )

    def close(self) -> None:
        """Release the directory (batches stay on disk for the next start)."""
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # --- appending -------------------------------------------------------------------------

    def append(self, samples: Sequence[Sample]) -> None:
        """Write one batch durably, dropping the oldest batches first if the bound needs it."""
        if not samples:
            return
        data = encode_batch(samples)
        self._make_room(len(data), len(samples))
        if len(data) > self.max_bytes:
            return  # a single batch larger than the whole bound: counted by _make_room
        seq = self._next_seq
        self._next_seq += 1
        final = self.directory / f"{seq:012d}.{len(samples)}.jsonl"
        temp = self.directory / f".{seq:012d}{_TEMP_SUFFIX}"
        with temp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, final)
        self._sync_directory()
        self._entries.append(_Entry(seq, len(samples), len(data), final))

    def _make_room(self, size: int, count: int) -> None:
        dropped_samples = dropped_batches = 0
        if size > self.max_bytes:
            # Keeping it would mean dropping everything else and still passing the bound.
            dropped_samples, dropped_batches = count, 1
        else:
            while self._entries and self.bytes + size > self.max_bytes:
                oldest = self._entries.pop(0)
                oldest.path.unlink(missing_ok=True)
                dropped_samples += oldest.count
                dropped_batches += 1
        if dropped_samples:
            self._dropped(dropped_samples, f"{dropped_batches} batch(es)", "over its bound")

    def _dropped(self, count: int, what: str, why: str) -> None:
        self.dropped_samples += count
        log.warning(
            "spool %s: dropped %d samples (%s, oldest first) %s of %d bytes",
            self.directory,
            count,
            what,
            why,
            self.max_bytes,
        )
        if self._on_drop is not None:
            self._on_drop(count)

    # --- replaying -------------------------------------------------------------------------

    def head(self, max_samples: int) -> SpooledBatch | None:
        """The oldest batches, together up to ``max_samples`` (at least one batch), or None.

        A batch file that cannot be read back (damaged outside citywifi's control) is
        renamed ``*.corrupt`` for inspection, counted as dropped, and skipped.
        """
        seqs: list[int] = []
        samples: list[Sample] = []
        for entry in list(self._entries):
            if seqs and len(samples) + entry.count > max_samples:
                break
            try:
                batch = decode_batch(entry.path.read_bytes())
            except (OSError, ValueError) as exc:
                self._quarantine(entry, exc)
                continue
            seqs.append(entry.seq)
            samples.extend(batch)
        return SpooledBatch(tuple(seqs), samples) if seqs else None

    def _quarantine(self, entry: _Entry, exc: Exception) -> None:
        self._entries.remove(entry)
        with contextlib.suppress(OSError):
            entry.path.rename(entry.path.with_name(entry.path.name + _CORRUPT_SUFFIX))
        log.error("spool batch %s cannot be read back (%s); set aside", entry.path, exc)
        self.dropped_samples += entry.count
        if self._on_drop is not None:
            self._on_drop(entry.count)

    def remove(self, seqs: Sequence[int]) -> None:
        """Delete batches the store has taken."""
        gone = set(seqs)
        for entry in [e for e in self._entries if e.seq in gone]:
            entry.path.unlink(missing_ok=True)
        self._entries = [e for e in self._entries if e.seq not in gone]
        self._sync_directory()

    def _sync_directory(self) -> None:
        """Make renames and deletions durable (a crash must not resurrect or lose a file)."""
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
