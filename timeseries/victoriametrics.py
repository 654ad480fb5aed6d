"""The VictoriaMetrics backend: line protocol in, PromQL/MetricsQL out.

URL forms (``+https`` works everywhere ``+http`` does)::

    victoriametrics+http://host:8428[/prefix]                  single node
    victoriametrics+http://host:8480?tenant=7                  cluster, one address for both
                                                               (vmauth, or a proxy routing
                                                               /insert and /select)
    victoriametrics+http://vminsert:8480?tenant=7:1&select=http://vmselect:8481
                                                               cluster, separate vmselect
Options::

    tenant=A[:P]         cluster tenant (accountID[:projectID]); its presence means cluster
    select=http(s)://..  where vmselect listens (cluster only; default: the same address)
    extra_label=k=v      a label added to every sample written and required on every read;
                         repeatable; lets several deployments share one single node
    latest_window=1h     how far back latest() looks (default 1h; see below)
    timeout=10           seconds per HTTP request
    retries=3            write retries (back-off 0.2 s doubling), within one write() call
    flush=1              single node only: GET /internal/force_flush after each write so a
                         read right after sees it (tests and demos; costly in production)
    token=T              sent as ``Authorization: Bearer T`` (vmauth); or user:password@
                         in the URL for basic auth

Endpoints: writes go to ``<write base>/api/v2/write`` through influxdb-client's WriteApi,
where the write base is the URL's base (single node) or ``<base>/insert/<tenant>/influx``
(cluster); reads go to ``<read base>/api/v1/query`` and ``/api/v1/query_range``, where the
read base is the base (single node) or ``<select>/select/<tenant>/prometheus``.

How the port maps onto VictoriaMetrics:

- Each field becomes series ``<measurement>_<field>`` (``ap_clients{ap=..,site=..}``); the
  v2 bucket and org are ignored by VictoriaMetrics, identity lives in the tags. The server
  must keep its defaults ``-influxMeasurementFieldSeparator=_``,
  ``-influxSkipSingleField=false`` and ``-influxSkipMeasurement=false`` (``citywifi
  timeseries check`` says so when they differ).
- ``latest`` is one instant query at the current time:
  ``last_over_time(S[W])`` for the values and ``tlast_over_time(S[W])`` for their times,
  joined with ``union`` (one request, so values and times come from the same moment;
  ``keep_metric_names`` because ``tlast_over_time`` would otherwise drop the series name),
  where ``S`` selects every ``ap_*`` series. ``W`` is ``latest_window``: an AP silent
  for longer is absent from ``latest`` (the embedded store would still show its old
  values). One hour covers the SSH poll interval many times over
  and keeps the query cheap (it reads every raw sample inside the window); widen it to see
  long-silent APs.
- ``series`` asks for ``sum(sum_over_time(S[step])) / sum(count_over_time(S[step]))``: the
  exact mean of the raw points, also across the several series an AP has after moving
  site. A rollup at time ``t`` covers ``(t - step, t]``, so evaluating it at
  ``bucket start + step - 1 ms`` covers exactly ``[bucket start, bucket start + step)`` for
  millisecond timestamps. Full buckets come from one ``query_range`` (``nocache=1``, which
  also stops VictoriaMetrics from aligning ``start`` to a multiple of ``step``); a last,
  partial bucket is one instant query whose window ends at ``end - 1 ms``. Times are sent
  as RFC 3339 with milliseconds, which the server parses exactly.
- ``aggregate`` is one instant query: a ``union`` of eleven parts, each marked with a
  ``citywifi_part`` label so the answers can be told apart, e.g.
  ``sum by (partner) (sum_over_time({__name__="ap_rx_bytes_delta",partner!=""}[Wms]))``.
  Polls are ``count_over_time`` of ``ap_reachable``, successful polls
  ``count_eq_over_time(.., 1)`` (exactly "reachable == 1", not a sum that a stray value
  would skew), maxima ``max by (max_over_time)``; means are sent back as the group's sum
  and count of raw samples and divided here, so an AP polled more often weighs more,
  as it does in the embedded store (a mean of per-series means would not). Distinct APs
  are ``count by (<by>) (count by (<by>, ap) (count_over_time(ap_*[W])))``. Exactly
  [start, end): the rollup window is ``end - start`` and the query time ``end - 1 ms``,
  the same trick as ``series``; an explicit window is used as given (no staleness
  extension), and ``*_over_time`` rollups read only samples inside it. Empty tag values
  are never stored (see :mod:`timeseries.lines`), so ``<by>!=""`` drops the samples that
  belong to no group; ``keys`` become one anchored ``=~`` alternation with RE2 signs
  escaped.
- ``hourly`` is one ``query_range`` with a one-hour step of a ``union`` of the hourly
  parts (polls, successful polls, byte sums, clients max/sum/count) over one-hour
  windows, evaluated at ``hour + 1 h - 1 ms``: the same exact-window trick, per hour.

What the server must be told (``citywifi timeseries check`` reports each):

- ``-dedup.minScrapeInterval=1ms``: without it a batch written twice (a retried write, a
  spool replay) is stored twice and weighs bucket means. With it, one sample per series
  and millisecond is kept; in 1.79 the last one written, as measured (not a documented
  guarantee: newer releases keep the largest value of equal timestamps instead).
- ``-search.latencyOffset``: new points are invisible to queries for that long (30 s by
  default); ``nocache=1`` on every read stops the server from also moving the query time.
- ``-retentionPeriod`` (one month by default): older samples are refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from core.errors import StoreError
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

__all__ = ["VMEndpoints", "VictoriaMetricsStore", "endpoints", "open_victoriametrics"]

BACKEND = "victoriametrics"
_OPTIONS = (
    "tenant",
    "select",
    "extra_label",
    "latest_window",
    "timeout",
    "retries",
    "flush",
    "token",
)
DEFAULT_LATEST_WINDOW_S = 3600.0
# VictoriaMetrics refuses a query_range of more than -search.maxPointsPerTimeseries
# (30,000 by default) points; longer series are asked for in slices.
_MAX_POINTS_PER_QUERY = 10_000
# Marks the tlast_over_time half of the latest() union; not a name citywifi uses as a tag.
_TIME_MARK = "citywifi_latest_time"
# Names each part of the aggregate() union (polls, rx_bytes …); not a citywifi tag either.
_PART_MARK = "citywifi_part"
_TENANT = re.compile(r"^\d{1,10}(:\d{1,10})?$")
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class VMEndpoints:
    """Where one store URL writes and reads; computed without touching the network."""

    write_base: str  # WriteApi appends /api/v2/write
    read_base: str  # + /api/v1/query, /api/v1/query_range
    flush_url: str | None  # single node with flush=1 only
    tenant: str | None


def open_victoriametrics(url: str) -> VictoriaMetricsStore:
    """Open the store a ``victoriametrics+http(s)://`` URL names (no network traffic yet)."""
    return VictoriaMetricsStore(parse_server_url(url, BACKEND, _OPTIONS))


def endpoints(parsed: ServerURL) -> VMEndpoints:
    """Map a parsed URL to single-node or cluster endpoints, refusing what cannot work."""
    tenant = parsed.one("tenant")
    select = parsed.one("select")
    flush = parsed.flag("flush")
    if tenant is None:
        if select is not None:
            raise StoreError(
                f"select= names a vmselect, which only a cluster has; add tenant= "
                f"(for example tenant=0) in {parsed.redacted}"
            )
        flush_url = parsed.base + "/internal/force_flush" if flush else None
        return VMEndpoints(parsed.base, parsed.base, flush_url, None)
    if not _TENANT.match(tenant) or any(int(p) >= 2**32 for p in tenant.split(":")):
        raise StoreError(
            f"tenant={tenant!r} should be accountID or accountID:projectID "
            f"(numbers below 2^32) in {parsed.redacted}"
        )
    if flush:
        raise StoreError(
            f"flush=1 works only on a single-node VictoriaMetrics, not a cluster: {parsed.redacted}"
        )
    read_root = parsed.base
    if select is not None:
        read_root = _http_base(select, parsed.redacted)
    return VMEndpoints(
        write_base=f"{parsed.base}/insert/{tenant}/influx",
        read_base=f"{read_root}/select/{tenant}/prometheus",
        flush_url=None,
        tenant=tenant,
    )


def _http_base(url: str, shown: str) -> str:
    parts = httpx.URL(url) if url.startswith(("http://", "https://")) else None
    if parts is None or not parts.host or parts.query or parts.userinfo:
        raise StoreError(
            f"select= should be a plain http(s)://host:port[/prefix] address in {shown}"
        )
    return url.rstrip("/")


def _extra_labels(parsed: ServerURL) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in parsed.params.get("extra_label", []):
        name, sep, value = item.partition("=")
        if not sep or not _LABEL_NAME.match(name) or not value or name.startswith("__"):
            raise StoreError(
                f"extra_label={item!r} should be name=value with a label name like "
                f"deployment=north in {parsed.redacted}"
            )
        if name == "ap":
            raise StoreError(f"extra_label cannot set 'ap', the AP's own tag: {parsed.redacted}")
        labels[name] = value
    return labels


class VictoriaMetricsStore:
    """The :class:`~timeseries.port.MetricStore` on a VictoriaMetrics single node or cluster.

    Thread-safe: the write client (urllib3 pool) and the read client (httpx) both are.
    Opening does not contact the server; the first write or read does, and ``citywifi
    timeseries check`` tests the whole path.
    """

    def __init__(self, parsed: ServerURL) -> None:
        self.url = parsed.redacted
        self.endpoints = endpoints(parsed)
        self.extra_labels = _extra_labels(parsed)
        self.latest_window_s = parsed.duration("latest_window", DEFAULT_LATEST_WINDOW_S)
        timeout = parsed.number("timeout", 10.0, 0.1, 600.0)
        retries = int(parsed.number("retries", 3, 0, 20))
        authorization = _authorization(parsed)
        headers = {"Authorization": authorization} if authorization else {}
        self._http = httpx.Client(timeout=timeout, headers=headers)
        self._writer = ApiWriter(
            self.endpoints.write_base,
            bucket="citywifi",  # ignored by VictoriaMetrics
            org="citywifi",
            authorization=authorization,
            timeout_s=timeout,
            retries=retries,
            shown=self.url,
        )
        self._filters = "".join(
            f",{name}={promql_string(value)}" for name, value in sorted(self.extra_labels.items())
        )

    def __repr__(self) -> str:
        return f"VictoriaMetricsStore({self.url!r})"

    # -- port ------------------------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> None:
        """Send a checked batch as line protocol; see :mod:`timeseries.lines` for the rules.

        All or nothing as far as citywifi can tell: the batch is one request, refused
        whole when the server answers an error. (VictoriaMetrics itself may keep the lines
        before a malformed one; the batch is checked before sending so none are.)
        """
        if not samples:
            return
        lines = to_lines(samples, self.extra_labels)
        if not lines:
            return
        self._writer.write(lines)
        if self.endpoints.flush_url is not None:
            self._request(self.endpoints.flush_url, {}, "flush")

    def latest(self, aps: Collection[str] | None = None) -> dict[str, Latest]:
        """Newest value and time per field per AP within ``latest_window``."""
        if aps is not None:
            aps = set(aps)
            if not aps:
                return {}
        selector = self._selector(f'__name__=~"{AP_MEASUREMENT}_.+"', aps)
        window = f"[{to_ms(self.latest_window_s)}ms]"
        newest = f"last_over_time({selector}{window}) keep_metric_names"
        when = f"tlast_over_time({selector}{window}) keep_metric_names"
        query = f'union({newest}, label_set({when}, "{_TIME_MARK}", "1"))'
        result = self._query("/api/v1/query", {"query": query}, "latest")
        values: dict[tuple[tuple[str, str], ...], float] = {}
        times: dict[tuple[tuple[str, str], ...], float] = {}
        for item in result:
            labels = dict(item["metric"])
            is_time = labels.pop(_TIME_MARK, None) is not None
            key = tuple(sorted(labels.items()))
            number = float(item["value"][1])
            (times if is_time else values)[key] = number
        prefix = AP_MEASUREMENT + "_"
        best: dict[tuple[str, str], tuple[float, float]] = {}
        for key in sorted(values):  # sorted: ties between series resolve the same way
            if key not in times:
                continue
            labels = dict(key)
            ap, name = labels.get("ap"), labels.get("__name__", "")
            if not ap or not name.startswith(prefix) or (aps is not None and ap not in aps):
                continue
            ts = round(times[key] * 1000) / 1000
            field = name[len(prefix) :]
            current = best.get((ap, field))
            if current is None or ts >= current[0]:
                best[(ap, field)] = (ts, values[key])
        out_values: dict[str, dict[str, float]] = {}
        out_times: dict[str, dict[str, float]] = {}
        for (ap, field), (ts, value) in best.items():
            out_values.setdefault(ap, {})[field] = value
            out_times.setdefault(ap, {})[field] = ts
        return {ap: Latest(ap=ap, values=out_values[ap], times=out_times[ap]) for ap in out_values}

    def series(self, ap: str, metric: str, start: float, end: float, step: float) -> list[Point]:
        """Bucket means over [start, end); every bucket present, empty ones as None."""
        window = series_window(start, end, step)
        if window is None:
            return []
        start_ms, end_ms, step_ms, count = window
        full = (end_ms - start_ms) // step_ms
        selector = self._selector(f"__name__={promql_string(AP_MEASUREMENT + '_' + metric)}", {ap})
        means: dict[int, float] = {}
        for first in range(0, full, _MAX_POINTS_PER_QUERY):
            last = min(full, first + _MAX_POINTS_PER_QUERY) - 1
            query = _mean(selector, step_ms)
            params = {
                "query": query,
                "start": _rfc3339(start_ms + (first + 1) * step_ms - 1),
                "end": _rfc3339(start_ms + (last + 1) * step_ms - 1),
                "step": f"{step_ms}ms",
            }
            for item in self._query("/api/v1/query_range", params, "series"):
                for t, raw in item["values"]:
                    k = round((round(float(t) * 1000) + 1 - start_ms) / step_ms) - 1
                    means[k] = float(raw)
        if full < count:  # the last bucket is cut short by end
            begin = start_ms + full * step_ms
            params = {"query": _mean(selector, end_ms - begin), "time": _rfc3339(end_ms - 1)}
            for item in self._query("/api/v1/query", params, "series"):
                means[full] = float(item["value"][1])
        return [
            Point(ts=start + k * step, value=_finite_or_none(means.get(k))) for k in range(count)
        ]

    def aggregate(
        self,
        start: float,
        end: float,
        by: GroupBy = "ap",
        keys: Collection[str] | None = None,
    ) -> list[Aggregate]:
        """Totals per value of tag ``by`` over [start, end), in one instant query.

        See the module docstring for the query's shape and why it is exact.
        """
        start_ms, end_ms = _window_ms(start, end)
        if by not in GROUP_BY:
            raise ValueError(f"aggregate by must be one of {', '.join(GROUP_BY)}, got {by!r}")
        wanted: set[str] | None = None
        if keys is not None:
            wanted = {k for k in keys if k}  # an empty tag value is no group
            if not wanted:
                return []
        if end_ms <= start_ms:
            return []
        query = _aggregate_query(by, self._group_matcher(by, wanted), end_ms - start_ms)
        params = {"query": query, "time": _rfc3339(end_ms - 1)}
        parts: dict[str, dict[str, float]] = {}
        for item in self._query("/api/v1/query", params, "aggregate"):
            labels = item["metric"]
            key, part = labels.get(by, ""), labels.get(_PART_MARK, "")
            if key and part and (wanted is None or key in wanted):
                parts.setdefault(key, {})[part] = float(item["value"][1])
        return [_aggregate_of(key, parts[key]) for key in sorted(parts)]

    def hourly(
        self,
        start: float,
        end: float,
        by: GroupBy = "partner",
        keys: Collection[str] | None = None,
    ) -> list[HourBucket]:
        """Per (group, UTC hour) totals over the whole hours [start, end): one
        ``query_range`` with a one-hour step (sliced like ``series`` for long ranges).

        The query is a ``union`` of one part per quantity, each
        ``<combine> by (<by>) (<rollup>(ap_<field>{..}[3600000ms]))`` marked with
        ``citywifi_part``: one request, so every quantity comes from the same moment.
        Alignment: a rollup evaluated at ``t`` covers ``(t - 1 h, t]``; evaluating at
        ``hour start + 1 h - 1 ms`` covers exactly ``[hour, hour + 1 h)``, so a sample at
        hh:00:00.000 belongs to the hour starting then and one at hh:59:59.999 to the
        hour before (``nocache=1`` keeps VictoriaMetrics from moving the first point
        onto a multiple of the step). A window given explicitly is used as is (no
        staleness look-behind), and an hour without samples yields no point at all.
        """
        span = hour_span(start, end, by)
        wanted = wanted_groups(keys)
        if span is None or wanted == set():
            return []
        first_hour, end_hour = span
        query = _hourly_query(by, self._group_matcher(by, wanted))
        cells: dict[tuple[str, int], dict[str, float]] = {}
        for first in range(first_hour, end_hour, _MAX_POINTS_PER_QUERY):
            last = min(end_hour, first + _MAX_POINTS_PER_QUERY)  # exclusive
            params = {
                "query": query,
                "start": _rfc3339((first + 1) * HOUR_MS - 1),
                "end": _rfc3339(last * HOUR_MS - 1),
                "step": f"{HOUR_MS}ms",
            }
            for item in self._query("/api/v1/query_range", params, "hourly"):
                labels = item["metric"]
                key, part = labels.get(by, ""), labels.get(_PART_MARK, "")
                if not key or not part or (wanted is not None and key not in wanted):
                    continue
                for t, raw in item["values"]:
                    hour = (round(float(t) * 1000) + 1) // HOUR_MS - 1
                    value = float(raw)
                    if first_hour <= hour < end_hour and math.isfinite(value):
                        cells.setdefault((key, hour), {})[part] = value
        buckets = (
            hour_bucket(
                key,
                hour,
                parts.get("polls", 0.0),
                parts.get("polls_ok", 0.0),
                parts.get("rx_bytes"),
                parts.get("tx_bytes"),
                parts.get("clients_max"),
                parts.get("clients_sum"),
                parts.get("clients_count", 0.0),
            )
            for (key, hour), parts in sorted(cells.items())
        )
        return [bucket for bucket in buckets if bucket is not None]

    def close(self) -> None:
        self._writer.close()
        self._http.close()

    def __enter__(self) -> VictoriaMetricsStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- for citywifi timeseries check -----------------------------------------------------

    def server_flags(self) -> dict[str, str]:
        """The server's command-line flags (``/flags``); empty when it does not say."""
        root = self.endpoints.read_base
        if self.endpoints.tenant is not None:  # vmselect serves /flags at its root
            root = root.rsplit("/select/", 1)[0]
        try:
            response = self._http.get(root + "/flags")
        except httpx.HTTPError:
            return {}
        if response.status_code != 200:
            return {}
        flags: dict[str, str] = {}
        for line in response.text.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                flags[name.strip().lstrip("-")] = value.strip().strip('"')
        return flags

    def read_probe(self, measurement: str, field: str, tags: dict[str, str]) -> float | None:
        """The newest value (within the last hour) of one series, for the write probe."""
        matchers = ",".join(f"{k}={promql_string(v)}" for k, v in sorted(tags.items()))
        name = promql_string(f"{measurement}_{field}")
        query = f"last_over_time({{__name__={name},{matchers}{self._filters}}}[1h])"
        result = self._query("/api/v1/query", {"query": query}, "probe")
        return float(result[0]["value"][1]) if result else None

    # -- internals -------------------------------------------------------------------------

    def _selector(self, name_matcher: str, aps: Collection[str] | None) -> str:
        ap_matcher = ""
        if aps is not None:
            if len(aps) == 1:
                ap_matcher = f",ap={promql_string(next(iter(aps)))}"
            else:
                alternatives = "|".join(sorted(_re2_escape(ap) for ap in aps))
                ap_matcher = f",ap=~{promql_string(alternatives)}"
        return f"{{{name_matcher}{ap_matcher}{self._filters}}}"

    def _group_matcher(self, by: str, keys: set[str] | None) -> str:
        """Matchers for aggregate(): a non-empty ``by`` label (only ``keys`` when given),
        then the store's own filters; starts with a comma."""
        if keys is None:
            group = f',{by}!=""'
        elif len(keys) == 1:
            group = f",{by}={promql_string(next(iter(keys)))}"
        else:
            alternatives = "|".join(sorted(_re2_escape(k) for k in keys))
            group = f",{by}=~{promql_string(alternatives)}"
        return group + self._filters

    def _query(self, path: str, params: dict[str, str], what: str) -> list[dict[str, Any]]:
        params = {**params, "nocache": "1"}
        payload = self._request(self.endpoints.read_base + path, params, what, post=True)
        if payload.get("status") != "success":
            raise StoreError(
                f"{self.url} could not answer a {what} query: {payload.get('error', payload)}"
            )
        result: list[dict[str, Any]] = payload["data"]["result"]
        return result

    def _request(
        self, url: str, params: dict[str, str], what: str, *, post: bool = False
    ) -> dict[str, Any]:
        """GET, or POST with a form (queries: a selector of many APs outgrows a URL)."""
        try:
            if post:
                response = self._http.post(url, data=params)
            else:
                response = self._http.get(url, params=params)
        except httpx.TimeoutException:
            raise StoreError(f"{self.url} did not answer a {what} request in time") from None
        except httpx.HTTPError as exc:
            raise StoreError(
                f"cannot reach {self.url} for a {what} request: {_plain(exc)}"
            ) from None
        if response.status_code >= 400:
            raise StoreError(
                f"{self.url} refused a {what} request: "
                f"{http_error_message(response.status_code, response.text)}"
            )
        if not response.content:
            return {}
        try:
            payload: dict[str, Any] = response.json()
        except ValueError:
            raise StoreError(
                f"{self.url} answered a {what} request with something not JSON"
            ) from None
        return payload


def _authorization(parsed: ServerURL) -> str | None:
    token = parsed.one("token")
    if token is not None and parsed.user is not None:
        raise StoreError(f"give either token= or user:password@, not both: {parsed.redacted}")
    if token is not None:
        return f"Bearer {token}"
    if parsed.user is not None:
        return basic_authorization(parsed.user, parsed.password or "")
    return None


# The parts of one aggregate() query: name -> (rollup over each series, how series of a
# group combine, field). Sums and counts are kept apart so means are sum / count over the
# raw samples of the whole group, never a mean of per-series means.
_PARTS: dict[str, tuple[str, str, str]] = {
    "polls": ("count_over_time", "sum", "reachable"),
    "polls_ok": ("count_eq_over_time", "sum", "reachable"),
    "rx_bytes": ("sum_over_time", "sum", "rx_bytes_delta"),
    "tx_bytes": ("sum_over_time", "sum", "tx_bytes_delta"),
    "clients_max": ("max_over_time", "max", "clients"),
    "clients_sum": ("sum_over_time", "sum", "clients"),
    "clients_count": ("count_over_time", "sum", "clients"),
    "sessions_max": ("max_over_time", "max", "hotspot_sessions"),
    "sessions_sum": ("sum_over_time", "sum", "hotspot_sessions"),
    "sessions_count": ("count_over_time", "sum", "hotspot_sessions"),
}


# The quantities of an HourBucket, a subset of _PARTS (the same rollups and combinations).
_HOURLY_PARTS = (
    "polls",
    "polls_ok",
    "rx_bytes",
    "tx_bytes",
    "clients_max",
    "clients_sum",
    "clients_count",
)


def _part(by: GroupBy, part: str, matchers: str, window: str) -> str:
    """One marked part: ``label_set(<combine> by (<by>) (<rollup>(series[window])), ..)``."""
    rollup, combine, field = _PARTS[part]
    name = promql_string(f"{AP_MEASUREMENT}_{field}")
    series = f"{{__name__={name}{matchers}}}{window}"
    rolled = f"{rollup}({series}, 1)" if rollup == "count_eq_over_time" else f"{rollup}({series})"
    return f'label_set({combine} by ({by}) ({rolled}), "{_PART_MARK}", "{part}")'


def _hourly_query(by: GroupBy, matchers: str) -> str:
    """The ``union`` of the hourly parts over one-hour windows (see ``hourly``)."""
    window = f"[{HOUR_MS}ms]"
    return "union(" + ", ".join(_part(by, p, matchers, window) for p in _HOURLY_PARTS) + ")"


def _aggregate_query(by: GroupBy, matchers: str, window_ms: int) -> str:
    """One MetricsQL ``union`` of every part of an aggregate, each marked by a label.

    ``matchers`` (group and store filters) starts with a comma; each part is
    ``<combine> by (<by>) (<rollup>({__name__="ap_<field>"<matchers>}[<window>]))``, and the
    distinct APs are ``count by (<by>) (count by (<by>, ap) (count_over_time(ap_*)))``.
    """
    window = f"[{window_ms}ms]"
    pieces = [_part(by, part, matchers, window) for part in _PARTS]
    every = f'{{__name__=~"{AP_MEASUREMENT}_.+"{matchers}}}{window}'
    per_ap = by if by == "ap" else f"{by}, ap"
    aps = f"count by ({by}) (count by ({per_ap}) (count_over_time({every})))"
    pieces.append(f'label_set({aps}, "{_PART_MARK}", "aps")')
    return "union(" + ", ".join(pieces) + ")"


def _aggregate_of(key: str, parts: dict[str, float]) -> Aggregate:
    """Build one group's Aggregate from its parts; a part absent means no such sample."""

    def mean(total: str, count: str) -> float | None:
        n = parts.get(count)
        return parts[total] / n if n and total in parts else None

    return Aggregate(
        key=key,
        aps=round(parts.get("aps", 0.0)),
        polls=round(parts.get("polls", 0.0)),
        polls_ok=round(parts.get("polls_ok", 0.0)),
        rx_bytes=parts.get("rx_bytes"),
        tx_bytes=parts.get("tx_bytes"),
        clients_max=parts.get("clients_max"),
        clients_mean=mean("clients_sum", "clients_count"),
        clients_samples=round(parts.get("clients_count", 0.0)),
        sessions_max=parts.get("sessions_max"),
        sessions_mean=mean("sessions_sum", "sessions_count"),
    )


def _window_ms(start: float, end: float) -> tuple[int, int]:
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"aggregate window must be finite: {start=}, {end=}")
    return to_ms(start), to_ms(end)


def _mean(selector: str, window_ms: int) -> str:
    window = f"[{window_ms}ms]"
    return f"sum(sum_over_time({selector}{window})) / sum(count_over_time({selector}{window}))"


def promql_string(text: str) -> str:
    """A double-quoted PromQL/MetricsQL string literal holding exactly ``text``."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _re2_escape(text: str) -> str:
    """Escape RE2 metacharacters so an AP id matches only itself inside ``=~``."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", text)


def _rfc3339(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _plain(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable"
    return type(exc).__name__
