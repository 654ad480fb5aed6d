"""The InfluxDB backend: line protocol in, InfluxQL over ``/query`` out.

URL forms (``+https`` works everywhere ``+http`` does)::

    influxdb+http://host:8086[/prefix]?db=citywifi[&rp=autogen][&user=U&password=P]
        the 1.x API: writes to /write?db=..&rp=.., basic authentication. InfluxDB 1.x
        (Debian ships 1.6.7, which has no /api/v2/write), and 2.x/3.x through their v1
        compatibility endpoints (user any name, password the token).
    influxdb+http://host:8086[/prefix]?bucket=citywifi&org=city&token=T
        the 2.x API: writes through influxdb-client's WriteApi to /api/v2/write (2.x, 3.x
        and 1.8+), ``Authorization: Token T``; reads send ``db=<bucket>``, which 2.x maps
        through a (virtual) DBRP mapping and 3.x reads as the database name.

Options common to both: ``timeout=10`` (seconds per request), ``retries=3`` (write
retries with back-off, inside one ``write`` call). ``user:password@host`` in the URL is
the same as ``user=`` and ``password=``.

Why the API is chosen by the URL (``db`` or ``bucket``) rather than by asking the server
its version: opening a store then needs no network, the behaviour does not change when a
server is upgraded under a running collector, and the choice is visible in the settings.
``citywifi timeseries check`` asks ``/ping`` for the version and says plainly when the URL
does not fit the server (a ``bucket=`` URL against a server older than 1.8).

Reads, portable across 1.x, 2.x and 3.x:

- ``latest``: ``SHOW FIELD KEYS FROM "ap"``, then one request with a
  ``SELECT last("<field>") FROM "ap" GROUP BY "ap"`` statement per field. One statement per
  field because a single ``last(*)`` reports one time for all fields (the epoch, in 1.x),
  and the port keeps each field's own time. Grouping by ``ap`` alone merges the several
  series of an AP that moved site: the newest point wins.
- ``series``: ``SELECT mean("<metric>") FROM "ap" WHERE "ap" = '<id>' AND time >= start
  AND time < end GROUP BY time(<step>ms, <offset>ms) fill(none)``. ``GROUP BY time``
  aligns buckets to the epoch; the offset ``start mod step`` moves them onto ``start``, so
  each returned time is exactly a port bucket start; missing buckets become None.
- ``aggregate``: three statements in one request, all ``FROM "ap" WHERE time >= start
  AND time < end [AND ("<by>" = 'k1' OR ..)] GROUP BY "<by>", "ap"``:
  ``count("reachable"), sum("rx_bytes_delta"), sum("tx_bytes_delta"), max/sum/count of
  "clients" and of "hotspot_sessions"``; ``count("reachable")`` with ``"reachable" = 1``
  added to the WHERE clause (successful polls, exactly); and ``count(*)`` (which APs
  have any sample). Grouping also by ``ap`` is how distinct APs are counted: InfluxQL 1.x
  cannot ``count(distinct(..))`` a tag, and ``SHOW TAG VALUES`` takes no time range in
  1.6. The rows, one per (group, AP) — a few thousand for a city — are added up here;
  means are the group's sum over its count, so over samples, never a mean of AP means.
  A group whose tag is empty (points without the tag) is dropped here. More than
  ``_MAX_AP_FILTER`` keys are filtered here rather than in the WHERE clause.
- ``hourly``: two statements, ``GROUP BY time(1h), "<by>" fill(none)`` (buckets start at
  the epoch: UTC hours): the sums, counts and maximum, and the successful polls. No
  grouping by ``ap`` is needed, as no distinct-AP count is asked for.

Identifiers are double-quoted and string literals single-quoted with InfluxQL's
backslash escapes, so an AP id with quotes cannot end the literal. The database must
exist: citywifi does not create databases or buckets (that needs admin rights it should
not hold); a missing one is reported in plain words.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from core.errors import StoreError, StoreRejected
from timeseries.hours import HOUR_MS, hour_bucket, hour_span, wanted_groups
from timeseries.lines import ApiWriter, http_error_message, to_lines
from timeseries.port import (
    AP_MEASUREMENT,
    GROUP_BY,
    Aggregate,
    GroupBy,
    HourBucket,
    Latest,
    Point,
    Sample,
    series_window,
    to_ms,
)
from timeseries.urls import ServerURL, basic_authorization, parse_server_url

__all__ = [
    "InfluxDBStore",
    "influxql_identifier",
    "influxql_string",
    "open_influxdb",
]

BACKEND = "influxdb"
_OPTIONS = ("db", "rp", "user", "password", "bucket", "org", "token", "timeout", "retries")
# Up to this many APs, latest(aps) filters in the query; beyond, it reads all and filters
# here (a WHERE clause of thousands of ORs costs the server more than the extra rows).
_MAX_AP_FILTER = 200
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def open_influxdb(url: str) -> InfluxDBStore:
    """Open the store an ``influxdb+http(s)://`` URL names (no network traffic yet)."""
    return InfluxDBStore(parse_server_url(url, BACKEND, _OPTIONS))


def _where(group: str, start_ms: int, end_ms: int, wanted: set[str] | None) -> str:
    """The WHERE of a grouped read: the window, and the groups asked for (left to the
    grouping past :data:`_MAX_AP_FILTER` of them: a longer OR costs the server more)."""
    where = f"time >= {start_ms}ms AND time < {end_ms}ms"
    if wanted is not None and len(wanted) <= _MAX_AP_FILTER:
        where += (
            " AND (" + " OR ".join(f"{group} = {influxql_string(k)}" for k in sorted(wanted)) + ")"
        )
    return where


class InfluxDBStore:
    """The :class:`~timeseries.port.MetricStore` on InfluxDB 1.x, 2.x or 3.x.

    Thread-safe (httpx and influxdb-client's urllib3 pool both are). Opening does not
    contact the server.
    """

    def __init__(self, parsed: ServerURL) -> None:
        self.url = parsed.redacted
        self.base = parsed.base
        db, bucket = parsed.one("db"), parsed.one("bucket")
        if (db is None) == (bucket is None):
            raise StoreError(
                f"an InfluxDB store URL names either a database (db=, the 1.x API) or a "
                f"bucket (bucket=, the 2.x API), exactly one of them: {self.url}"
            )
        self.api = "v1" if db is not None else "v2"
        self.database: str = db if db is not None else bucket  # type: ignore[assignment]
        if not self.database:
            raise StoreError(f"the database or bucket name is empty in {self.url}")
        self.retention_policy = parsed.one("rp")
        self._timeout = parsed.number("timeout", 10.0, 0.1, 600.0)
        self._retries = int(parsed.number("retries", 3, 0, 20))
        user = parsed.one("user", parsed.user)
        password = parsed.one("password", parsed.password)
        token = parsed.one("token")
        self._writer: ApiWriter | None = None
        if self.api == "v1":
            if token is not None or parsed.one("org") is not None:
                raise StoreError(
                    f"token= and org= belong to the 2.x API (bucket=); with db= give "
                    f"user= and password=: {self.url}"
                )
            authorization = basic_authorization(user, password or "") if user else None
        else:
            if user is not None or password is not None or self.retention_policy is not None:
                raise StoreError(
                    f"user, password and rp belong to the 1.x API (db=); with bucket= give "
                    f"token= and org=: {self.url}"
                )
            authorization = f"Token {token}" if token else None
            self._writer = ApiWriter(
                self.base,
                bucket=self.database,
                org=parsed.one("org") or "",
                authorization=authorization,
                timeout_s=self._timeout,
                retries=self._retries,
                shown=self.url,
            )
        headers = {"Authorization": authorization} if authorization else {}
        self._http = httpx.Client(timeout=self._timeout, headers=headers)

    def __repr__(self) -> str:
        return f"InfluxDBStore({self.url!r})"

    # -- port ------------------------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> None:
        """Send a checked batch as one line protocol request; see :mod:`timeseries.lines`.

        All or nothing as far as citywifi can tell: the batch is checked before it is
        sent. (InfluxDB itself may store part of a request it answers with a "partial
        write" error, for example points outside the retention policy.)
        """
        if not samples:
            return
        lines = to_lines(samples)
        if not lines:
            return
        if self._writer is not None:
            self._writer.write(lines)
        else:
            self._write_v1("\n".join(lines).encode(), len(lines))

    def latest(self, aps: Collection[str] | None = None) -> dict[str, Latest]:
        """Newest value and time per field per AP; APs with no data are absent."""
        if aps is not None:
            aps = set(aps)
            if not aps:
                return {}
        measurement = influxql_identifier(AP_MEASUREMENT)
        keys = self._query(f"SHOW FIELD KEYS FROM {measurement}", "latest")
        fields = [
            row[0] for result in keys for s in result.get("series", []) for row in s["values"]
        ]
        if not fields:
            return {}
        where = ""
        if aps is not None and len(aps) <= _MAX_AP_FILTER:
            where = " WHERE " + " OR ".join(
                f"{influxql_identifier('ap')} = {influxql_string(ap)}" for ap in sorted(aps)
            )
        statements = ";".join(
            f"SELECT last({influxql_identifier(f)}) FROM {measurement}{where} "
            f"GROUP BY {influxql_identifier('ap')}"
            for f in fields
        )
        values: dict[str, dict[str, float]] = {}
        times: dict[str, dict[str, float]] = {}
        for field, result in zip(fields, self._query(statements, "latest"), strict=True):
            for series in result.get("series", []):
                ap = series.get("tags", {}).get("ap", "")
                if not ap or (aps is not None and ap not in aps):
                    continue
                for ts, value in series["values"]:
                    if value is None:
                        continue
                    values.setdefault(ap, {})[field] = float(value)
                    times.setdefault(ap, {})[field] = ts / 1000
        return {ap: Latest(ap=ap, values=values[ap], times=times[ap]) for ap in values}

    def series(self, ap: str, metric: str, start: float, end: float, step: float) -> list[Point]:
        """Bucket means over [start, end); every bucket present, empty ones as None."""
        window = series_window(start, end, step)
        if window is None:
            return []
        start_ms, end_ms, step_ms, count = window
        query = (
            f"SELECT mean({influxql_identifier(metric)}) "
            f"FROM {influxql_identifier(AP_MEASUREMENT)} "
            f"WHERE {influxql_identifier('ap')} = {influxql_string(ap)} "
            f"AND time >= {start_ms}ms AND time < {end_ms}ms "
            f"GROUP BY time({step_ms}ms, {start_ms % step_ms}ms) fill(none)"
        )
        means: dict[int, float] = {}
        for result in self._query(query, "series"):
            for series in result.get("series", []):
                for ts, value in series["values"]:
                    if value is not None:
                        means[(ts - start_ms) // step_ms] = float(value)
        return [Point(ts=start + k * step, value=means.get(k)) for k in range(count)]

    def aggregate(
        self,
        start: float,
        end: float,
        by: GroupBy = "ap",
        keys: Collection[str] | None = None,
    ) -> list[Aggregate]:
        """Totals per value of tag ``by`` over [start, end): three statements, one request.

        The server adds per (group, AP); the groups' totals, means (sum / count, so over
        samples, not over APs) and distinct APs are put together here. See the module
        docstring for why.
        """
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"aggregate window must be finite: {start=}, {end=}")
        if by not in GROUP_BY:
            raise ValueError(f"aggregate by must be one of {', '.join(GROUP_BY)}, got {by!r}")
        wanted = wanted_groups(keys)
        start_ms, end_ms = to_ms(start), to_ms(end)
        if end_ms <= start_ms or wanted == set():
            return []
        group = influxql_identifier(by)
        where = _where(group, start_ms, end_ms, wanted)
        group_by = group if by == "ap" else f"{group}, {influxql_identifier('ap')}"
        reachable = influxql_identifier("reachable")

        def select(columns: str, condition: str = "") -> str:
            return (
                f"SELECT {columns} FROM {influxql_identifier(AP_MEASUREMENT)} "
                f"WHERE {condition}{where} GROUP BY {group_by}"
            )

        statements = ";".join(
            (
                select(
                    ", ".join(f"{fn}({influxql_identifier(f)})" for fn, f in _AGGREGATE_COLUMNS)
                ),
                select(f"count({reachable})", f"{reachable} = 1 AND "),
                select("count(*)"),
            )
        )
        results = self._query(statements, "aggregate")
        if len(results) != 3:
            raise StoreError(
                f"{self.url} answered {len(results)} result(s) to 3 aggregate statements"
            )
        per_ap, ok, present = results
        totals: dict[str, _GroupTotals] = {}

        def rows(result: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
            for series in result.get("series", []):
                key = series.get("tags", {}).get(by, "")
                if key and (wanted is None or key in wanted):
                    for row in series["values"]:
                        yield key, row[1:]  # row[0] is the time, 0 without GROUP BY time

        for key, row in rows(present):
            if any(row):
                totals.setdefault(key, _GroupTotals()).aps += 1
        for key, row in rows(per_ap):
            totals.setdefault(key, _GroupTotals()).add(row)
        for key, row in rows(ok):
            totals.setdefault(key, _GroupTotals()).polls_ok += int(row[0] or 0)
        return [totals[key].aggregate(key) for key in sorted(totals)]

    def hourly(
        self,
        start: float,
        end: float,
        by: GroupBy = "partner",
        keys: Collection[str] | None = None,
    ) -> list[HourBucket]:
        """Per (group, UTC hour) totals over the whole hours [start, end): two statements
        in one request, ``GROUP BY time(1h), "<by>" fill(none)`` (InfluxQL's time buckets
        start at the epoch, so they are UTC clock hours, [hour, hour + 1 h)): the sums,
        counts and maximum, and ``count("reachable")`` of the successful polls. The
        server adds across the APs of a group; empty hours come back as no row."""
        span = hour_span(start, end, by)
        wanted = wanted_groups(keys)
        if span is None or wanted == set():
            return []
        group = influxql_identifier(by)
        where = _where(group, span[0] * HOUR_MS, span[1] * HOUR_MS, wanted)
        reachable = influxql_identifier("reachable")

        def select(columns: str, condition: str = "") -> str:
            return (
                f"SELECT {columns} FROM {influxql_identifier(AP_MEASUREMENT)} "
                f"WHERE {condition}{where} GROUP BY time(1h), {group} fill(none)"
            )

        columns = ", ".join(f"{fn}({influxql_identifier(f)})" for fn, f in _HOURLY_COLUMNS)
        statements = select(columns) + ";" + select(f"count({reachable})", f"{reachable} = 1 AND ")
        results = self._query(statements, "hourly")
        if len(results) != 2:
            raise StoreError(f"{self.url} answered {len(results)} result(s) to 2 hourly statements")
        main, ok = results

        def rows(result: dict[str, Any]) -> Iterator[tuple[str, int, list[Any]]]:
            for series in result.get("series", []):
                key = series.get("tags", {}).get(by, "")
                if key and (wanted is None or key in wanted):
                    for row in series["values"]:
                        yield key, int(row[0]) // HOUR_MS, row[1:]

        polls_ok = {(key, hour): int(row[0] or 0) for key, hour, row in rows(ok)}
        buckets = []
        for key, hour, row in sorted(rows(main), key=lambda r: (r[0], r[1])):
            polls, rx, tx, c_max, c_sum, c_count = row
            bucket = hour_bucket(
                key,
                hour,
                polls or 0,
                polls_ok.get((key, hour), 0),
                rx,
                tx,
                c_max,
                c_sum,
                c_count or 0,
            )
            if bucket is not None:
                buckets.append(bucket)
        return buckets

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._http.close()

    def __enter__(self) -> InfluxDBStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- for citywifi timeseries check -----------------------------------------------------

    def server_version(self) -> str | None:
        """The version ``/ping`` reports (``X-Influxdb-Version``), or None."""
        try:
            response = self._http.get(self.base + "/ping")
        except httpx.HTTPError as exc:
            raise StoreError(f"cannot reach {self.url}: {_plain(exc)}") from None
        version: str | None = response.headers.get("X-Influxdb-Version")
        return version

    def read_probe(self, measurement: str, field: str, tags: dict[str, str]) -> float | None:
        """The newest value of one series, for the write probe."""
        where = " AND ".join(
            f"{influxql_identifier(k)} = {influxql_string(v)}" for k, v in sorted(tags.items())
        )
        query = (
            f"SELECT last({influxql_identifier(field)}) FROM {influxql_identifier(measurement)}"
            f" WHERE {where}"
        )
        for result in self._query(query, "probe"):
            for series in result.get("series", []):
                for _ts, value in series["values"]:
                    return float(value)
        return None

    # -- internals -------------------------------------------------------------------------

    def _db_params(self) -> dict[str, str]:
        params = {"db": self.database}
        if self.retention_policy:
            params["rp"] = self.retention_policy
        return params

    def _write_v1(self, body: bytes, count: int) -> None:
        """POST /write with bounded retries on overload and network failures."""
        params = {**self._db_params(), "precision": "ms"}
        delay = 0.2
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = self._http.post(self.base + "/write", params=params, content=body)
            except httpx.TimeoutException:
                reason = "timed out"
            except httpx.HTTPError as exc:
                reason = _plain(exc)
            else:
                if response.status_code == 204:
                    return
                if response.status_code not in _RETRY_STATUSES or last:
                    # 400: the lines themselves were refused (bad data), never worth resending.
                    refused = StoreRejected if response.status_code == 400 else StoreError
                    raise refused(
                        f"{self.url} refused a write of {count} line(s): {_influx_error(response)}"
                    )
                reason = f"HTTP {response.status_code}"
            if last:
                raise StoreError(
                    f"cannot write to {self.url}: {reason}; nothing of this batch was stored"
                )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _query(self, query: str, what: str) -> list[dict[str, Any]]:
        """Run InfluxQL statements; one result per statement, errors as StoreError."""
        params = {**self._db_params(), "q": query, "epoch": "ms"}
        try:
            response = self._http.get(self.base + "/query", params=params)
        except httpx.TimeoutException:
            raise StoreError(f"{self.url} did not answer a {what} query in time") from None
        except httpx.HTTPError as exc:
            raise StoreError(f"cannot reach {self.url} for a {what} query: {_plain(exc)}") from None
        if response.status_code >= 400:
            raise StoreError(f"{self.url} refused a {what} query: {_influx_error(response)}")
        try:
            payload = response.json()
        except ValueError:
            raise StoreError(
                f"{self.url} answered a {what} query with something not JSON"
            ) from None
        if "error" in payload:
            raise StoreError(f"{self.url} could not answer a {what} query: {payload['error']}")
        results: list[dict[str, Any]] = payload.get("results", [])
        for result in results:
            if "error" in result:
                raise StoreError(f"{self.url} could not answer a {what} query: {result['error']}")
        return results


# The columns of the aggregate() statement, in the order _GroupTotals.add reads them.
_AGGREGATE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("count", "reachable"),
    ("sum", "rx_bytes_delta"),
    ("sum", "tx_bytes_delta"),
    ("max", "clients"),
    ("sum", "clients"),
    ("count", "clients"),
    ("max", "hotspot_sessions"),
    ("sum", "hotspot_sessions"),
    ("count", "hotspot_sessions"),
)


# The columns of the hourly() statement, in the order hourly() reads them.
_HOURLY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("count", "reachable"),
    ("sum", "rx_bytes_delta"),
    ("sum", "tx_bytes_delta"),
    ("max", "clients"),
    ("sum", "clients"),
    ("count", "clients"),
)


@dataclass
class _GroupTotals:
    """One group's running totals while the per-(group, AP) rows are added up.

    None stays None until a row has a value: a group without any sample of a metric
    reports None for it, never 0.
    """

    aps: int = 0
    polls: int = 0
    polls_ok: int = 0
    rx: float | None = None
    tx: float | None = None
    clients_max: float | None = None
    clients_sum: float = 0.0
    clients_count: int = 0
    sessions_max: float | None = None
    sessions_sum: float = 0.0
    sessions_count: int = 0

    def add(self, row: list[Any]) -> None:
        """Add one (group, AP) row of the main statement (columns as _AGGREGATE_COLUMNS)."""
        polls, rx, tx, c_max, c_sum, c_count, s_max, s_sum, s_count = row
        self.polls += int(polls or 0)
        self.rx = _plus(self.rx, rx)
        self.tx = _plus(self.tx, tx)
        self.clients_max = _larger(self.clients_max, c_max)
        self.clients_sum += float(c_sum or 0.0)
        self.clients_count += int(c_count or 0)
        self.sessions_max = _larger(self.sessions_max, s_max)
        self.sessions_sum += float(s_sum or 0.0)
        self.sessions_count += int(s_count or 0)

    def aggregate(self, key: str) -> Aggregate:
        return Aggregate(
            key=key,
            aps=self.aps,
            polls=self.polls,
            polls_ok=self.polls_ok,
            rx_bytes=self.rx,
            tx_bytes=self.tx,
            clients_max=self.clients_max,
            clients_mean=self.clients_sum / self.clients_count if self.clients_count else None,
            clients_samples=self.clients_count,
            sessions_max=self.sessions_max,
            sessions_mean=(
                self.sessions_sum / self.sessions_count if self.sessions_count else None
            ),
        )


def _plus(total: float | None, value: float | None) -> float | None:
    if value is None:
        return total
    return float(value) if total is None else total + float(value)


def _larger(current: float | None, value: float | None) -> float | None:
    if value is None:
        return current
    return float(value) if current is None else max(current, float(value))


def influxql_identifier(name: str) -> str:
    """A double-quoted InfluxQL identifier naming exactly ``name``."""
    return '"' + _escape(name).replace('"', '\\"') + '"'


def influxql_string(text: str) -> str:
    """A single-quoted InfluxQL string literal holding exactly ``text``."""
    return "'" + _escape(text).replace("'", "\\'") + "'"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _influx_error(response: httpx.Response) -> str:
    try:
        body = str(response.json().get("error", response.text))
    except (ValueError, AttributeError):
        body = response.text
    return http_error_message(response.status_code, body)


def _plain(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable"
    return type(exc).__name__
