"""What every metric store accepts in a sample, and what it drops: the rules, once.

Every backend keeps the same write contract (tests/timeseries/test_contract.py), so the
rules live here and each backend calls them; none restates them:

- a whole batch is checked before anything is stored;
- a sample without a measurement name, with tags that are not a mapping of strings, of
  measurement ``ap`` without an ``ap`` tag, with a time that is not a finite number, or
  with a field that has no name or whose value is not a number, rejects the whole batch
  with :class:`StoreRejected` naming the sample: it is a caller bug, and the collector
  must not spool and retry it forever as it would an outage;
- a non-finite value (NaN, ±inf) drops that field of that sample only, with one warning
  per batch: it is a symptom of a bad derivation or a device glitch, and discarding a
  whole poll of hundreds of APs for it would hide good data.

What one backend's format cannot carry (a line break for line protocol, a metric name
that is not a column name for the embedded store) is that backend's own check, on top.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from core.errors import StoreRejected
from timeseries.port import AP_MEASUREMENT, Sample

__all__ = [
    "check_fields",
    "check_sample",
    "check_series",
    "check_time",
    "check_value",
    "warn_dropped",
]


def check_sample(
    index: int, sample: Sample, dropped: list[str]
) -> tuple[dict[str, str], float, dict[str, float]]:
    """Check sample number ``index`` of a batch whole: its tags, its time, and its finite
    fields as floats (a non-finite one is left out and described in ``dropped``)."""
    return (
        check_series(index, sample),
        check_time(index, sample),
        check_fields(index, sample, dropped),
    )


def check_series(index: int, sample: Sample) -> dict[str, str]:
    """Check what is fixed per series (measurement and tags); returns the tags."""
    measurement = sample.measurement
    if not isinstance(measurement, str) or not measurement:
        raise StoreRejected(f"sample {index} has no measurement name: {sample!r}")
    if not isinstance(sample.tags, Mapping):
        raise StoreRejected(f"sample {index} has tags that are not a mapping: {sample!r}")
    tags = dict(sample.tags)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise StoreRejected(f"sample {index} has a tag that is not a string: {sample!r}")
    if measurement == AP_MEASUREMENT and not tags.get("ap"):
        raise StoreRejected(f"sample {index} of measurement 'ap' has no 'ap' tag: {sample!r}")
    return tags


def check_time(index: int, sample: Sample) -> float:
    """The sample's time as a float; refused unless a finite number (a bool is not one)."""
    ts = sample.ts
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise StoreRejected(f"sample {index} has a non-finite time: {sample!r}")
    return float(ts)


def check_value(index: int, sample: Sample, name: object, raw: object) -> float:
    """One field's value as a float, which may be non-finite (the caller drops those).

    ``bool`` is an int, so ``reachable=True`` stores 1.0; a string is refused even when
    ``float()`` would read it (``"3"``): it is a caller bug, not a number."""
    if not isinstance(name, str) or not name:
        raise StoreRejected(f"sample {index} has a field without a name: {sample!r}")
    if type(raw) is float:
        return raw
    if isinstance(raw, int | float):
        return float(raw)
    raise StoreRejected(f"sample {index} field {name!r} is not a number ({raw!r}): {sample!r}")


def check_fields(index: int, sample: Sample, dropped: list[str]) -> dict[str, float]:
    """The sample's finite fields as floats; each non-finite one is described in
    ``dropped`` (for :func:`warn_dropped`) and left out."""
    fields: dict[str, float] = {}
    for name, raw in sample.fields.items():
        value = check_value(index, sample, name, raw)
        if math.isfinite(value):
            fields[name] = value
        else:
            dropped.append(f"{name}={raw!r} in {sample!r}")
    return fields


def warn_dropped(log: logging.Logger, dropped: list[str], batch_size: int) -> None:
    """The one warning per batch for the non-finite values it dropped (none: silence)."""
    if dropped:
        log.warning(
            "dropped %d non-finite field value(s) from a batch of %d samples; first: %s",
            len(dropped),
            batch_size,
            dropped[0],
        )
