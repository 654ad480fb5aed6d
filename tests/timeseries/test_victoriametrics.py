"""The VictoriaMetrics backend beyond the contract: URLs, endpoints, secrets, a real server."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest

from tests.fixtures.recorder import Recorder
from tests.fixtures.servers import VictoriaMetricsServer
from timeseries import BACKENDS, Point, Sample, StoreError, open_store
from timeseries.urls import parse_server_url
from timeseries.victoriametrics import (
    VictoriaMetricsStore,
    endpoints,
    open_victoriametrics,
    promql_string,
)

T0 = 1_700_000_000.0
SECRET = "s3cr3t-T0KEN"


def ap_sample(ap: str, ts: float, **fields: float) -> Sample:
    return Sample("ap", {"ap": ap, "site": "s1"}, fields, ts)


def mapped(url: str) -> tuple[str, str, str | None]:
    found = endpoints(parse_server_url(url, "victoriametrics", ("tenant", "select", "flush")))
    return found.write_base, found.read_base, found.flush_url


# -- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "write", "read"),
    [
        ("victoriametrics+http://vm:8428", "http://vm:8428", "http://vm:8428"),
        ("victoriametrics+https://vm:8428/", "https://vm:8428", "https://vm:8428"),
        ("victoriametrics+http://proxy/vm/", "http://proxy/vm", "http://proxy/vm"),
        (
            "victoriametrics+http://vmauth:8427?tenant=7",
            "http://vmauth:8427/insert/7/influx",
            "http://vmauth:8427/select/7/prometheus",
        ),
        (
            "victoriametrics+http://vminsert:8480?tenant=7:1&select=http://vmselect:8481/",
            "http://vminsert:8480/insert/7:1/influx",
            "http://vmselect:8481/select/7:1/prometheus",
        ),
        (
            "victoriametrics+https://lb/metrics?tenant=0&select=https://lb2/m",
            "https://lb/metrics/insert/0/influx",
            "https://lb2/m/select/0/prometheus",
        ),
    ],
)
def test_url_to_endpoints(url: str, write: str, read: str) -> None:
    assert mapped(url)[:2] == (write, read)


def test_flush_is_the_single_node_debug_endpoint() -> None:
    assert (
        mapped("victoriametrics+http://vm:8428?flush=1")[2] == "http://vm:8428/internal/force_flush"
    )
    assert mapped("victoriametrics+http://vm:8428")[2] is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("victoriametrics://vm:8428", "unknown metric store URL scheme 'victoriametrics'"),
        ("victoriametrics+ftp://vm:8428", "unknown metric store URL scheme"),
        ("victoriametrics+http://", "names no host"),
        ("victoriametrics+http://vm:notaport", "cannot parse"),
        ("victoriametrics+http://vm?tennant=1", "unknown option(s) tennant"),
        ("victoriametrics+http://vm?tenant=abc", "accountID or accountID:projectID"),
        ("victoriametrics+http://vm?tenant=1:2:3", "accountID or accountID:projectID"),
        ("victoriametrics+http://vm?tenant=99999999999", "accountID or accountID:projectID"),
        ("victoriametrics+http://vm?select=http://s:8481", "only a cluster has"),
        ("victoriametrics+http://vm?tenant=0&select=s:8481", "plain http(s)://host:port"),
        ("victoriametrics+http://vm?tenant=0&flush=1", "only on a single-node"),
        ("victoriametrics+http://vm?flush=maybe", "should be 1 or 0"),
        ("victoriametrics+http://vm?extra_label=novalue", "should be name=value"),
        ("victoriametrics+http://vm?extra_label=bad-name=x", "should be name=value"),
        ("victoriametrics+http://vm?extra_label=ap=x", "cannot set 'ap'"),
        ("victoriametrics+http://vm?latest_window=soon", "not a duration"),
        ("victoriametrics+http://vm?timeout=-1", "timeout must be between"),
        ("victoriametrics+http://vm?retries=many", "not a number"),
        ("victoriametrics+http://u:p@vm?token=t", "either token= or user:password@"),
    ],
)
def test_bad_urls_are_refused_in_plain_words(url: str, words: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert words in str(caught.value)


def test_the_backend_names_its_own_url_forms() -> None:
    with pytest.raises(StoreError, match=r"starts with victoriametrics\+http://"):
        open_victoriametrics("influxdb+http://vm:8428")


def test_options_are_read() -> None:
    with open_victoriametrics(
        "victoriametrics+http://vm?latest_window=15m&extra_label=city=north&extra_label=env=t"
    ) as store:
        assert store.latest_window_s == 900
        assert store.extra_labels == {"city": "north", "env": "t"}
        assert store.endpoints.tenant is None


def test_the_registry_opens_both_transports() -> None:
    for scheme in ("victoriametrics+http", "victoriametrics+https"):
        assert scheme in BACKENDS
        with open_store(f"{scheme}://vm:8428") as store:
            assert isinstance(store, VictoriaMetricsStore)


def test_promql_strings_hold_exactly_their_text() -> None:
    assert promql_string('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


# -- secrets and failures ------------------------------------------------------------------


def test_the_token_is_never_shown(free_tcp_port: Callable[[], int]) -> None:
    store = open_store(
        f"victoriametrics+http://127.0.0.1:{free_tcp_port()}?token={SECRET}&retries=0"
    )
    try:
        assert SECRET not in repr(store)
        for action in (lambda: store.write([ap_sample("ap-1", T0, x=1)]), store.latest):
            with pytest.raises(StoreError) as caught:
                action()
            assert SECRET not in str(caught.value)
            assert "connection refused" in str(caught.value)
    finally:
        store.close()


def test_a_password_in_the_url_is_never_shown(free_tcp_port: Callable[[], int]) -> None:
    store = open_store(f"victoriametrics+http://me:{SECRET}@127.0.0.1:{free_tcp_port()}?retries=0")
    try:
        assert SECRET not in repr(store)
        with pytest.raises(StoreError) as caught:
            store.series("ap-1", "clients", T0, T0 + 60, 60)
        assert SECRET not in str(caught.value)
    finally:
        store.close()


def test_a_dead_server_fails_quickly_after_bounded_retries(
    free_tcp_port: Callable[[], int],
) -> None:
    with open_store(f"victoriametrics+http://127.0.0.1:{free_tcp_port()}?timeout=2") as store:
        began = time.monotonic()
        with pytest.raises(StoreError, match="nothing of this batch was stored"):
            store.write([ap_sample("ap-1", T0, clients=1)])
        with pytest.raises(StoreError, match="cannot reach"):
            store.latest()
        assert time.monotonic() - began < 5


# -- endpoints, as a recording server sees them ----------------------------------------------


def test_cluster_writes_and_reads_go_to_the_tenant_paths(recorder: Recorder) -> None:
    url = f"victoriametrics+{recorder.base}/p?tenant=7:1&select={recorder.base}/q&token={SECRET}"
    with open_store(url) as store:
        store.write([ap_sample("ap-1", T0, clients=1)])
        assert store.latest() == {}
        assert store.series("ap-1", "clients", T0, T0 + 90, 60) == [
            Point(T0, None),
            Point(T0 + 60, None),
        ]
    assert recorder.paths() == [
        "/p/insert/7:1/influx/api/v2/write",
        "/q/select/7:1/prometheus/api/v1/query",
        "/q/select/7:1/prometheus/api/v1/query_range",
        "/q/select/7:1/prometheus/api/v1/query",
    ]
    assert all(r.headers["Authorization"] == f"Bearer {SECRET}" for r in recorder.requests)
    write = recorder.requests[0]
    assert write.query["precision"] == ["ms"]
    assert write.body == b"ap,ap=ap-1,site=s1 clients=1 1700000000000"
    assert all(r.query.get("nocache") == ["1"] for r in recorder.requests[1:])


def test_basic_auth_from_the_url(recorder: Recorder) -> None:
    with open_store(f"victoriametrics+http://me:pw@{recorder.base[7:]}") as store:
        store.write([ap_sample("ap-1", T0, clients=1)])
        store.latest()
    expected = "Basic " + base64.b64encode(b"me:pw").decode()
    assert [r.headers["Authorization"] for r in recorder.requests] == [expected, expected]


def test_series_slices_long_ranges_and_aligns_each_slice(recorder: Recorder) -> None:
    with open_store(f"victoriametrics+{recorder.base}") as store:
        points = store.series("ap-1", "clients", T0, T0 + 25_000, 1)
    assert len(points) == 25_000
    ranges = [r.query for r in recorder.requests]
    assert [(q["start"], q["end"], q["step"]) for q in ranges] == [
        (["2023-11-14T22:13:20.999Z"], ["2023-11-15T00:59:59.999Z"], ["1000ms"]),
        (["2023-11-15T01:00:00.999Z"], ["2023-11-15T03:46:39.999Z"], ["1000ms"]),
        (["2023-11-15T03:46:40.999Z"], ["2023-11-15T05:09:59.999Z"], ["1000ms"]),
    ]


# -- against the real server -----------------------------------------------------------------


def test_odd_ap_ids_round_trip_and_do_not_inject(
    victoriametrics_server: VictoriaMetricsServer,
) -> None:
    odd = ['o\'brien "st", 1 = a', "ap.1", "ap|.*", "back\\slash", "ünïcödé 🛜"]
    with open_store(victoriametrics_server.store_url()) as store:
        store.write([ap_sample(ap, T0, clients=i) for i, ap in enumerate(odd)])
        store.write([ap_sample("ap-11", T0, clients=99)])
        assert set(store.latest()) == {*odd, "ap-11"}
        assert set(store.latest(["ap.1", "ap|.*"])) == {"ap.1", "ap|.*"}
        for i, ap in enumerate(odd):
            assert store.series(ap, "clients", T0, T0 + 60, 60) == [Point(T0, float(i))]


def test_extra_labels_keep_deployments_apart(
    victoriametrics_server: VictoriaMetricsServer,
) -> None:
    with (
        open_store(victoriametrics_server.store_url()) as north,
        open_store(victoriametrics_server.store_url()) as south,
    ):
        north.write([ap_sample("ap-1", T0, clients=1)])
        south.write([ap_sample("ap-1", T0, clients=2)])
        assert north.latest()["ap-1"].values == {"clients": 1.0}
        assert south.series("ap-1", "clients", T0, T0 + 60, 60) == [Point(T0, 2.0)]


def test_a_sample_may_not_carry_the_extra_label(
    victoriametrics_server: VictoriaMetricsServer,
) -> None:
    with (
        open_store(victoriametrics_server.store_url()) as store,
        pytest.raises(StoreError, match="which this store adds itself"),
    ):
        store.write([Sample("ap", {"ap": "a", "citywifi_test": "x"}, {"c": 1}, T0)])


def test_latest_looks_back_only_over_its_window(
    victoriametrics_server: VictoriaMetricsServer,
) -> None:
    now = time.time()
    with open_store(victoriametrics_server.store_url(latest_window="10m")) as store:
        store.write(
            [ap_sample("old", now - 3600, clients=1), ap_sample("new", now - 60, clients=2)]
        )
        assert set(store.latest()) == {"new"}
        # series is not limited by the window
        assert store.series("old", "clients", now - 3600, now - 3540, 60)[0].value == 1.0


# -- aggregate ---------------------------------------------------------------------------------


def test_aggregate_is_one_instant_query_ending_a_millisecond_before_end(
    recorder: Recorder,
) -> None:
    with open_store(f"victoriametrics+{recorder.base}?extra_label=city=north") as store:
        assert store.aggregate(T0, T0 + 86_400, by="partner", keys=["acme", "a.b|c"]) == []
    [request] = recorder.requests
    assert request.path == "/api/v1/query"
    assert request.query["time"] == ["2023-11-15T22:13:19.999Z"]
    assert request.query["nocache"] == ["1"]
    query = request.query["query"][0]
    assert query.startswith("union(")
    assert "[86400000ms]" in query and "count_eq_over_time(" in query
    # keys as one anchored alternation with regex signs escaped, plus the store's label
    assert '{__name__="ap_rx_bytes_delta",partner=~"a\\\\.b\\\\|c|acme",city="north"}' in query
    assert "count by (partner) (count by (partner, ap) (" in query


def test_aggregate_without_keys_needs_a_non_empty_group_label(recorder: Recorder) -> None:
    with open_store(f"victoriametrics+{recorder.base}") as store:
        store.aggregate(T0, T0 + 60, by="district")
        store.aggregate(T0, T0 + 60, by="ap")
    district, ap = (r.query["query"][0] for r in recorder.requests)
    assert 'district!=""' in district
    assert "count by (ap) (count by (ap) (" in ap  # by ap: each AP is its own group


def test_aggregate_asks_nothing_for_no_keys_or_an_empty_window(recorder: Recorder) -> None:
    with open_store(f"victoriametrics+{recorder.base}") as store:
        assert store.aggregate(T0, T0 + 60, keys=[]) == []
        assert store.aggregate(T0, T0 + 60, keys=[""]) == []
        assert store.aggregate(T0 + 60, T0) == []
        with pytest.raises(ValueError, match="must be one of"):
            store.aggregate(T0, T0 + 60, by="profile")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="finite"):
            store.aggregate(T0, float("inf"))
    assert recorder.requests == []


def test_aggregate_over_a_month_is_exact_at_both_ends(
    victoriametrics_server: VictoriaMetricsServer,
) -> None:
    """A 31-day window crossing VictoriaMetrics' monthly partitions: the window is the
    rollup's lookbehind, evaluated at end - 1 ms, so (end - 31 d - 1 ms, end - 1 ms] is
    exactly [start, end) for millisecond times, however long the window."""
    start, end = 1_696_118_400.0 + 86_400 * 20, 1_696_118_400.0 + 86_400 * 51  # Oct 21 - Nov 21
    with open_store(victoriametrics_server.store_url()) as store:
        store.write(
            [
                ap_sample("a", start - 0.001, reachable=1, rx_bytes_delta=1000),
                ap_sample("a", start, reachable=1, rx_bytes_delta=1),
                ap_sample("a", start + 86_400 * 11, reachable=0, rx_bytes_delta=2),  # November
                ap_sample("a", end - 0.001, reachable=1, rx_bytes_delta=4),
                ap_sample("a", end, reachable=1, rx_bytes_delta=1000),
            ]
        )
        [got] = store.aggregate(start, end)
    assert (got.aps, got.polls, got.polls_ok, got.rx_bytes) == (1, 3, 2, 7.0)


def test_aggregate_keeps_deployments_apart_and_odd_keys_literal(
    victoriametrics_server: VictoriaMetricsServer,
) -> None:
    odd = ['o\'brien "st"', "p.*", "back\\slash", "ünï 🛜"]
    with (
        open_store(victoriametrics_server.store_url()) as north,
        open_store(victoriametrics_server.store_url()) as south,
    ):
        north.write([ap_sample(k, T0, reachable=1, clients=i) for i, k in enumerate(odd)])
        south.write([ap_sample("p.*", T0, reachable=1, clients=50)])
        assert [a.key for a in north.aggregate(T0, T0 + 60)] == sorted(odd)
        [only] = north.aggregate(T0, T0 + 60, keys=["p.*"])
        assert (only.key, only.clients_max) == ("p.*", 1.0)
        [theirs] = south.aggregate(T0, T0 + 60)
        assert theirs.clients_max == 50.0
