"""The InfluxDB backend beyond the contract: URLs, both APIs, escaping, secrets, a real 1.x."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.fixtures.recorder import Recorder
from tests.fixtures.servers import InfluxDBServer
from timeseries import BACKENDS, Point, Sample, StoreError, open_store
from timeseries.influxdb import InfluxDBStore, influxql_identifier, influxql_string, open_influxdb

T0 = 1_700_000_000.0
SECRET = "s3cr3t-pw"


def ap_sample(ap: str, ts: float, **fields: float) -> Sample:
    return Sample("ap", {"ap": ap, "site": "s1"}, fields, ts)


# -- URLs ----------------------------------------------------------------------------------


def test_a_db_url_uses_the_1x_api() -> None:
    with open_influxdb("influxdb+https://h:8086/influx/?db=city&rp=week&user=u&password=p") as s:
        assert (s.api, s.database, s.retention_policy, s.base) == (
            "v1",
            "city",
            "week",
            "https://h:8086/influx",
        )


def test_a_bucket_url_uses_the_2x_api() -> None:
    with open_influxdb("influxdb+http://h:8086?bucket=city&org=o&token=t") as s:
        assert (s.api, s.database, s.base) == ("v2", "city", "http://h:8086")


def test_credentials_may_sit_in_the_url() -> None:
    assert "influxdb+http" in BACKENDS and "influxdb+https" in BACKENDS
    with open_store(f"influxdb+http://me:{SECRET}@h:8086?db=x") as store:
        assert isinstance(store, InfluxDBStore)
        assert SECRET not in repr(store)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("influxdb+http://h:8086", "exactly one of them"),
        ("influxdb+http://h:8086?db=a&bucket=b", "exactly one of them"),
        ("influxdb+http://h:8086?db=", "name is empty"),
        ("influxdb+http://h:8086?db=a&token=t", "belong to the 2.x API"),
        ("influxdb+http://h:8086?bucket=a&user=u&password=p", "belong to the 1.x API"),
        ("influxdb+http://h:8086?bucket=a&rp=x", "belong to the 1.x API"),
        ("influxdb+http://h:8086?database=a", "unknown option(s) database"),
        ("influxdb+http://h:8086?db=a&timeout=0", "timeout must be between"),
        ("influxdb+http://h:8086?db=a&retries=x", "not a number"),
        ("influxdb+udp://h:8086?db=a", "unknown metric store URL scheme"),
        ("influxdb+http://:8086?db=a", "names no host"),
    ],
)
def test_bad_urls_are_refused_in_plain_words(url: str, words: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert words in str(caught.value)


def test_influxql_quoting() -> None:
    assert influxql_string("it's a \\ \n") == "'it\\'s a \\\\ \\n'"
    assert influxql_identifier('a"b') == '"a\\"b"'


# -- the 2.x API, as a recording server sees it ---------------------------------------------


def test_v2_writes_through_the_write_api_and_reads_with_db_set_to_the_bucket(
    recorder: Recorder,
) -> None:
    url = f"influxdb+{recorder.base}/pre?bucket=city&org=council&token={SECRET}"
    with open_store(url) as store:
        store.write([ap_sample("ap-1", T0, clients=1)])
        assert store.latest() == {}
        assert store.series("ap-1", "clients", T0, T0 + 60, 60) == [Point(T0, None)]
    write, *reads = recorder.requests
    assert write.path == "/pre/api/v2/write"
    assert write.query == {"org": ["council"], "bucket": ["city"], "precision": ["ms"]}
    assert write.body == b"ap,ap=ap-1,site=s1 clients=1 1700000000000"
    assert [r.path for r in reads] == ["/pre/query", "/pre/query"]
    assert all(r.query["db"] == ["city"] for r in reads)
    assert all(r.headers["Authorization"] == f"Token {SECRET}" for r in recorder.requests)


def test_v1_writes_to_write_with_db_and_rp(recorder: Recorder) -> None:
    with open_store(f"influxdb+{recorder.base}?db=city&rp=week&user=u&password=p") as store:
        store.write([ap_sample("ap-1", T0, clients=1)])
    (write,) = recorder.requests
    assert (write.method, write.path) == ("POST", "/write")
    assert write.query == {"db": ["city"], "rp": ["week"], "precision": ["ms"]}
    assert write.headers["Authorization"].startswith("Basic ")


# -- secrets and failures --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "influxdb+http://127.0.0.1:{port}?db=x&user=u&password={secret}&retries=0",
        "influxdb+http://127.0.0.1:{port}?bucket=x&org=o&token={secret}&retries=0",
    ],
)
def test_a_dead_server_fails_quickly_and_never_shows_the_secret(
    url: str, free_tcp_port: Callable[[], int]
) -> None:
    store = open_store(url.format(port=free_tcp_port(), secret=SECRET))
    try:
        assert SECRET not in repr(store)
        began = time.monotonic()
        for action in (lambda: store.write([ap_sample("ap-1", T0, x=1)]), store.latest):
            with pytest.raises(StoreError) as caught:
                action()
            assert SECRET not in str(caught.value)
            assert "connection refused" in str(caught.value)
        assert time.monotonic() - began < 5
    finally:
        store.close()


def test_retries_are_bounded(free_tcp_port: Callable[[], int]) -> None:
    with open_store(f"influxdb+http://127.0.0.1:{free_tcp_port()}?db=x&retries=3") as store:
        began = time.monotonic()
        with pytest.raises(StoreError, match="nothing of this batch was stored"):
            store.write([ap_sample("ap-1", T0, x=1)])
        assert time.monotonic() - began < 5


# -- against the real server -----------------------------------------------------------------


def test_a_wrong_password_is_refused_without_showing_it(influxdb_server: InfluxDBServer) -> None:
    database = influxdb_server.create_database()
    url = f"influxdb+{influxdb_server.base}?db={database}&user={influxdb_server.user}"
    with open_store(url + f"&password={SECRET}") as store:
        for action in (lambda: store.write([ap_sample("ap-1", T0, x=1)]), store.latest):
            with pytest.raises(StoreError, match="not authorised") as caught:
                action()
            assert SECRET not in str(caught.value)


def test_a_missing_database_is_named(influxdb_server: InfluxDBServer) -> None:
    url = (
        f"influxdb+{influxdb_server.base}?db=nobody_made_it&user={influxdb_server.user}"
        f"&password={influxdb_server.password}"
    )
    with open_store(url) as store:
        with pytest.raises(StoreError, match="database not found"):
            store.write([ap_sample("ap-1", T0, clients=1)])
        with pytest.raises(StoreError, match="database not found"):
            store.latest()


def test_odd_ap_ids_round_trip_and_do_not_inject(influxdb_server: InfluxDBServer) -> None:
    odd = ['o\'brien "st", 1 = a', "x' OR ap =~ /.*/ OR ap='y", "back\\slash", "ünïcödé 🛜"]
    with open_store(influxdb_server.store_url()) as store:
        store.write([ap_sample(ap, T0, clients=i) for i, ap in enumerate(odd)])
        store.write([ap_sample("ap-11", T0, clients=99)])
        assert set(store.latest()) == {*odd, "ap-11"}
        assert set(store.latest([odd[1]])) == {odd[1]}
        for i, ap in enumerate(odd):
            assert store.series(ap, "clients", T0, T0 + 60, 60) == [Point(T0, float(i))]


def test_latest_for_many_aps_filters_here(influxdb_server: InfluxDBServer) -> None:
    with open_store(influxdb_server.store_url()) as store:
        store.write([ap_sample(f"ap-{i}", T0, clients=i) for i in range(300)])
        wanted = {f"ap-{i}" for i in range(0, 300, 2)} | {"ap-missing"}
        assert set(store.latest(wanted)) == wanted - {"ap-missing"}


def test_a_retention_policy_is_used_for_writes_and_reads(influxdb_server: InfluxDBServer) -> None:
    url = influxdb_server.store_url()
    database = url.split("db=")[1].split("&")[0]
    response = httpx.post(
        influxdb_server.base + "/query",
        data={"q": f'CREATE RETENTION POLICY "forever" ON "{database}" DURATION INF REPLICATION 1'},
        auth=(influxdb_server.user, influxdb_server.password),
    )
    assert response.status_code == 200 and "error" not in response.text
    with open_store(url + "&rp=forever") as store, open_store(url) as default_rp:
        store.write([ap_sample("ap-1", T0, clients=1)])
        assert store.latest()["ap-1"].values == {"clients": 1.0}
        assert default_rp.latest() == {}


# -- aggregate ---------------------------------------------------------------------------------


def test_aggregate_is_three_statements_in_one_request(recorder: Recorder) -> None:
    # the recorder answers one empty result; a real server answers one per statement
    with (
        open_store(f"influxdb+{recorder.base}?db=city") as store,
        pytest.raises(StoreError, match="1 result"),
    ):
        store.aggregate(T0, T0 + 60, by="partner", keys=["acme", "x' OR 1=1"])
    [request] = recorder.requests
    statements = request.query["q"][0].split(";")
    assert len(statements) == 3
    where = (
        "WHERE time >= 1700000000000ms AND time < 1700000060000ms"
        " AND (\"partner\" = 'acme' OR \"partner\" = 'x\\' OR 1=1')"
        ' GROUP BY "partner", "ap"'
    )
    assert statements[0].startswith('SELECT count("reachable"), sum("rx_bytes_delta"), ')
    assert statements[0].endswith('FROM "ap" ' + where)
    assert (
        statements[1]
        == 'SELECT count("reachable") FROM "ap" WHERE "reachable" = 1 AND ' + where[6:]
    )
    assert statements[2] == 'SELECT count(*) FROM "ap" ' + where


def test_aggregate_asks_nothing_for_no_keys_or_an_empty_window(recorder: Recorder) -> None:
    with open_store(f"influxdb+{recorder.base}?db=city") as store:
        assert store.aggregate(T0, T0 + 60, keys=[]) == []
        assert store.aggregate(T0, T0 + 60, keys=[""]) == []
        assert store.aggregate(T0 + 60, T0) == []
        with pytest.raises(ValueError, match="must be one of"):
            store.aggregate(T0, T0 + 60, by="profile")  # type: ignore[arg-type]
    assert recorder.requests == []


def test_aggregate_for_many_keys_filters_here(influxdb_server: InfluxDBServer) -> None:
    with open_store(influxdb_server.store_url()) as store:
        store.write([ap_sample(f"ap-{i}", T0, reachable=1, clients=i) for i in range(300)])
        wanted = {f"ap-{i}" for i in range(0, 300, 2)} | {"ap-missing"}
        got = store.aggregate(T0, T0 + 60, keys=wanted)
        assert {a.key for a in got} == wanted - {"ap-missing"}
        assert all(a.clients_max == float(a.key[3:]) for a in got)


def test_aggregate_odd_keys_do_not_inject(influxdb_server: InfluxDBServer) -> None:
    odd = ['o\'brien "st"', "x' OR ap =~ /.*/ OR ap='y", "back\\slash", "ünï 🛜"]
    with open_store(influxdb_server.store_url()) as store:
        store.write([ap_sample(k, T0, reachable=1, clients=i) for i, k in enumerate(odd)])
        assert [a.key for a in store.aggregate(T0, T0 + 60)] == sorted(odd)
        [only] = store.aggregate(T0, T0 + 60, keys=[odd[1]])
        assert (only.key, only.clients_max) == (odd[1], 1.0)
