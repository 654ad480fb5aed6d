"""Samples → line protocol, and the influxdb-client write path both server backends share.

Why here and not in each backend: VictoriaMetrics and InfluxDB take the same line
protocol. The port's write rules (what is a caller bug, what is dropped with a warning)
are :mod:`timeseries.samples`, shared with the embedded store; a batch is checked whole
before anything is sent, so a bad sample rejects it and nothing reaches the server. Every
value is sent as a float, so a field never changes type between writes (InfluxDB refuses
a float into a field it first saw as an integer).

Line protocol cannot carry every string: a line break in a measurement, tag or field name
would end the line, and influxdb-client turns a tag value's trailing backslash into
``"\\ "`` (a different value). Those are refused in plain words instead of being mangled.
An empty tag value is omitted (line protocol has no empty tags): both servers treat an
empty tag as an absent one.

Writes go through influxdb-client's WriteApi in **synchronous** mode: the port promises
that ``write`` returns only once the batch is stored, or raises. The collector batches
(``write_batch_size``, ``write_flush_s``) and will spool what fails, so the client's own
background batching would only hide failures from it. Retries with back-off still happen,
inside one ``write`` call and bounded in time.
"""

# influxdb-client ships type hints for part of its API only; its untyped calls are
# confined to this module.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import urllib3
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write.retry import WritesRetry
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from core.errors import StoreError, StoreRejected
from timeseries.port import Sample
from timeseries.samples import check_sample, warn_dropped

__all__ = ["ApiWriter", "http_error_message", "to_lines"]

log = logging.getLogger(__name__)

# Control characters line protocol cannot carry inside a name or tag value.
_LINE_BREAKS = ("\n", "\r")


def to_lines(samples: Sequence[Sample], extra_tags: Mapping[str, str] | None = None) -> list[str]:
    """Check a whole batch and render it as line protocol with millisecond times.

    ``extra_tags`` are added to every line (a store-wide label such as a deployment
    name); a sample carrying a tag of the same name is refused, since one of the two
    values would be lost.

    Samples of the same series and millisecond are merged into one line, later values
    winning per field: the port's "last write wins", which a server need not honour for
    two lines of one request (VictoriaMetrics keeps either).
    """
    extra = dict(extra_tags or {})
    merged: dict[tuple[str, tuple[tuple[str, str], ...], int], dict[str, float]] = {}
    dropped: list[str] = []
    for index, sample in enumerate(samples):
        key, fields = _checked(index, sample, extra, dropped)
        if fields:
            merged.setdefault(key, {}).update(fields)
    warn_dropped(log, dropped, len(samples))
    lines = []
    for (measurement, tags, ts_ms), fields in merged.items():
        point = Point(measurement)
        for name, value in tags:
            point.tag(name, value)
        for name, value in extra.items():
            point.tag(name, value)
        for name, number in fields.items():
            point.field(name, number)
        lines.append(point.time(ts_ms, WritePrecision.MS).to_line_protocol())
    return lines


_Key = tuple[str, tuple[tuple[str, str], ...], int]


def _checked(
    index: int, sample: Sample, extra: dict[str, str], dropped: list[str]
) -> tuple[_Key, dict[str, float]]:
    """One sample's line key (measurement, sorted tags, ms) and finite float fields,
    after the port's rules, what line protocol itself cannot carry."""
    tags, ts, fields = check_sample(index, sample, dropped)
    _printable(index, sample, "measurement name", sample.measurement)
    for key, tag_value in tags.items():
        _printable(index, sample, "tag", key + tag_value)
        if tag_value.endswith("\\"):
            raise StoreRejected(
                f"sample {index} tag {key!r} ends with a backslash, which line protocol "
                f"cannot carry: {sample!r}"
            )
        if key in extra:
            raise StoreRejected(
                f"sample {index} has tag {key!r}, which this store adds itself: {sample!r}"
            )
    for name in sample.fields:
        _printable(index, sample, "field name", name)
    # Empty tag values are left out: line protocol has no empty tags.
    key_tags = tuple(sorted((k, v) for k, v in tags.items() if v))
    return (sample.measurement, key_tags, round(ts * 1000)), fields


def _printable(index: int, sample: Sample, what: str, text: str) -> None:
    if any(ch in text for ch in _LINE_BREAKS):
        raise StoreRejected(f"sample {index} has a line break in a {what}: {sample!r}")


class _PerWriteRetry(WritesRetry):
    """WritesRetry whose time budget starts at each write's first failure.

    influxdb-client fixes the retry deadline when the retry object is built, and
    urllib3 reuses that object for every request, so in a long-lived process every
    retry after ``max_retry_time`` seconds of uptime would fail at once.
    """

    def increment(self, *args: Any, **kwargs: Any) -> Any:
        if not self.history:
            fresh = self.new()
            fresh.retry_timeout = datetime.now() + timedelta(seconds=self.max_retry_time)
            return WritesRetry.increment(fresh, *args, **kwargs)
        return super().increment(*args, **kwargs)


class ApiWriter:
    """Line protocol to ``<base>/api/v2/write`` through influxdb-client's WriteApi.

    ``base`` may carry a path prefix (a proxy path, VictoriaMetrics cluster's
    ``/insert/<tenant>/influx``): the client keeps it. ``authorization`` is a whole
    ``Authorization`` header value (``Token ..``, ``Bearer ..``, ``Basic ..``) so each
    backend decides its scheme. ``shown`` is the redacted store URL used in messages.
    """

    def __init__(
        self,
        base: str,
        *,
        bucket: str,
        org: str,
        authorization: str | None,
        timeout_s: float,
        retries: int,
        shown: str,
    ) -> None:
        self._bucket = bucket
        self._org = org
        self._shown = shown
        retry = _PerWriteRetry(
            total=retries,
            retry_interval=0.2,
            exponential_base=2,
            max_retry_delay=5,
            max_retry_time=max(1.0, timeout_s * (retries + 1)),
            allowed_methods=["POST"],
        )
        self._client = InfluxDBClient(
            url=base, token=cast(str, None), org=org, timeout=int(timeout_s * 1000), retries=retry
        )
        if authorization is not None:
            self._client.api_client.set_default_header("Authorization", authorization)
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: Sequence[str]) -> None:
        """Send one batch; any failure (after retries) is a StoreError in plain words."""
        try:
            self._api.write(
                bucket=self._bucket,
                org=self._org,
                record=list(lines),
                write_precision=cast(WritePrecision, WritePrecision.MS),
            )
        except ApiException as exc:
            body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else exc.body
            # 400/422: the server read the lines and refused them (bad data): resending
            # the same batch cannot succeed. Anything else may pass later.
            refused = StoreRejected if exc.status in (400, 422) else StoreError
            raise refused(
                f"{self._shown} refused a write of {len(lines)} line(s): "
                f"{http_error_message(exc.status, str(body or exc.reason or ''))}"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreError(
                f"cannot write to {self._shown}: {_network_reason(exc)}; "
                "nothing of this batch was stored"
            ) from None

    def close(self) -> None:
        self._api.close()
        self._client.close()


def http_error_message(status: int | None, body: str) -> str:
    """One short line for an HTTP error answer: the status and the server's own words."""
    text = " ".join(body.split())
    if len(text) > 300:
        text = text[:300] + "…"
    words = {
        401: "not authorised (check the credentials)",
        403: "forbidden (the credentials lack permission)",
        404: "not found (check the URL path, tenant, database or bucket)",
        413: "batch too large for the server",
        429: "the server is rate limiting writes",
    }.get(status or 0, f"HTTP {status}")
    return f"{words}: {text}" if text else words


def _network_reason(exc: BaseException) -> str:
    """The innermost cause of a urllib3 failure, without URLs or headers."""
    reason: BaseException | None = exc
    while isinstance(reason, urllib3.exceptions.MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return "connection refused or host unreachable"
    if isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError):
        return "timed out"
    if isinstance(reason, urllib3.exceptions.ResponseError):
        return "the server kept answering with errors"
    return type(reason).__name__ if reason is not None else "unknown network error"
