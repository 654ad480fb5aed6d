"""Samples → line protocol: the write rules both server backends share."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from timeseries import Sample, StoreError
from timeseries.lines import ApiWriter, http_error_message, to_lines

T0 = 1_700_000_000.0


def test_lines_carry_float_fields_sorted_tags_and_milliseconds() -> None:
    sample = Sample("ap", {"site": "s 1", "ap": "a,b=c", "partner": ""}, {"n": 3, "up": True}, T0)
    assert to_lines([sample]) == ["ap,ap=a\\,b\\=c,site=s\\ 1 n=3,up=1 1700000000000"]


def test_extra_tags_are_added_to_every_line() -> None:
    lines = to_lines([Sample("ap", {"ap": "a"}, {"n": 1.5}, T0 + 0.25)], {"city": "x"})
    assert lines == ["ap,ap=a,city=x n=1.5 1700000000250"]


def test_samples_of_one_series_and_time_merge_with_the_last_value_winning() -> None:
    batch = [
        Sample("ap", {"ap": "a", "site": "s"}, {"n": 1, "m": 7}, T0),
        Sample("ap", {"site": "s", "ap": "a"}, {"n": 2}, T0),  # same tags, other order
        Sample("ap", {"ap": "a", "site": "s"}, {"n": 3}, T0 + 1),
    ]
    assert to_lines(batch) == [
        "ap,ap=a,site=s m=7,n=2 1700000000000",
        "ap,ap=a,site=s n=3 1700000001000",
    ]


def test_a_sample_with_only_non_finite_fields_makes_no_line() -> None:
    assert to_lines([Sample("ap", {"ap": "a"}, {"n": float("nan")}, T0)]) == []


@pytest.mark.parametrize(
    ("sample", "words"),
    [
        (Sample("ap", {"ap": "a\nb"}, {"n": 1}, T0), "line break"),
        (Sample("a\rp", {"ap": "a"}, {"n": 1}, T0), "line break"),
        (Sample("ap", {"ap": "a"}, {"n\n": 1}, T0), "line break"),
        (Sample("ap", {"ap": "a\\"}, {"n": 1}, T0), "ends with a backslash"),
        (Sample("ap", {"ap": "a", "city": "y"}, {"n": 1}, T0), "adds itself"),
        (Sample("", {"ap": "a"}, {"n": 1}, T0), "no measurement"),
        (Sample("ap", {"ap": 1}, {"n": 1}, T0), "not a string"),  # type: ignore[dict-item]
        (Sample("ap", {"ap": "a"}, {"": 1}, T0), "without a name"),
        (Sample("ap", {"ap": "a"}, {"n": 1}, float("nan")), "non-finite time"),
        (Sample("ap", {"site": "s"}, {"n": 1}, T0), "'ap' tag"),
    ],
)
def test_what_line_protocol_cannot_carry_is_refused(sample: Sample, words: str) -> None:
    with pytest.raises(StoreError, match=words):
        to_lines([sample], {"city": "x"})


def test_http_errors_read_as_one_short_line() -> None:
    assert http_error_message(404, "database\n not found") == (
        "not found (check the URL path, tenant, database or bucket): database not found"
    )
    assert http_error_message(500, "x" * 1000).endswith("…")
    assert http_error_message(401, "") == "not authorised (check the credentials)"


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 to every write until told how many to fail, then 204."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server = self.server
        server.seen += 1  # type: ignore[attr-defined]
        failing = server.fail > 0  # type: ignore[attr-defined]
        server.fail -= failing  # type: ignore[attr-defined]
        self.send_response(503 if failing else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    server.seen, server.fail = 0, 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_writes_retry_with_back_off_also_long_after_start(flaky: ThreadingHTTPServer) -> None:
    host, port = flaky.server_address[:2]
    writer = ApiWriter(
        f"http://{host!s}:{port}",
        bucket="b",
        org="o",
        authorization=None,
        timeout_s=0.2,
        retries=2,  # so the retry time budget is 1 s
        shown="test",
    )
    try:
        flaky.fail = 2  # type: ignore[attr-defined]
        writer.write(["m f=1 1"])
        assert flaky.seen == 3  # type: ignore[attr-defined]
        time.sleep(1.1)  # past the budget counted from when the writer was made
        flaky.fail = 2  # type: ignore[attr-defined]
        writer.write(["m f=1 1"])
        assert flaky.seen == 6  # type: ignore[attr-defined]
        flaky.fail = 3  # type: ignore[attr-defined]
        with pytest.raises(StoreError, match="refused a write of 1 line"):
            writer.write(["m f=1 1"])
    finally:
        writer.close()
