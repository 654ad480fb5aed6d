"""The secret scan (tests/fixtures/secret_scan.py) finds a planted secret in each channel.

Each test installs a scanner of its own that knows a planted value the session's scanner
does not, so what is planted here never fails the session; the whole-session tests run
pytest in a child process to see the session fail and report. The same for personal data
(client MACs in any spelling, user names) that tests register as they send it.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.testclient import TestClient

from core.errors import ConfigError, InventoryError
from simulators.city import build_city, radius_secret
from tests.fixtures.secret_scan import (
    MARKER,
    NOT_SECRETS,
    PERSONAL_MARKER,
    PersonalData,
    SecretScanner,
    fixture_secrets,
    install,
    mac_spellings,
    mask,
    register_personal_data,
    trie_pattern,
    uninstall,
    witness_file,
)

PLANTED = "PLANTED-zq7-S3CRET-4242"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def scanner() -> Iterator[SecretScanner]:
    found = SecretScanner()
    found.add([PLANTED], "this test")
    install(found)
    try:
        yield found
    finally:
        uninstall(found)


def channels(scanner: SecretScanner) -> list[tuple[str, str]]:
    return [(f.channel, f.where) for f in scanner.findings]


def leaky_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=100)

    @app.get("/plain")
    def plain() -> PlainTextResponse:
        return PlainTextResponse(f"the key is {PLANTED}")

    @app.get("/gzipped")
    def gzipped() -> PlainTextResponse:
        return PlainTextResponse("x" * 5000 + PLANTED + "y" * 5000)

    @app.get("/split")
    def split() -> StreamingResponse:
        half = len(PLANTED) // 2

        def chunks() -> Iterator[bytes]:
            yield b"a" * 100 + PLANTED[:half].encode()
            yield PLANTED[half:].encode() + b"b" * 100

        return StreamingResponse(chunks())

    @app.get("/clean")
    def clean() -> PlainTextResponse:
        return PlainTextResponse("nothing to see")

    return app


def test_trie_pattern_matches_the_words_and_only_them() -> None:
    words = ["cwabc", "cwabd", "cwab", "other-word"]
    pattern = re.compile(trie_pattern(words))
    for word in words:
        assert pattern.fullmatch(word), word
    assert pattern.search("xx cwabd yy").group() == "cwabd"  # type: ignore[union-attr]
    assert pattern.search("cwa other-wor") is None


def test_fixture_secrets_are_the_secret_values_only() -> None:
    from tests.api.city import SECRETS

    assert set(NOT_SECRETS) <= set(SECRETS), "an exclusion names a value no longer there"
    assert set(fixture_secrets()) == {
        "c0mmunity-S3CRET-v2",
        "AUTHKEY-S3CRET-123",
        "PRIVKEY-S3CRET-456",
        "SSHPASS-S3CRET-789",
    }


def test_a_response_through_the_test_client(scanner: SecretScanner) -> None:
    with TestClient(leaky_app()) as client:
        assert client.get("/clean").status_code == 200
        assert not scanner.findings
        for path in ("/plain", "/gzipped", "/split"):
            response = client.get(path, params={"q": 1})
            assert PLANTED in response.text  # the scan does not change what the test reads
    assert channels(scanner) == [
        ("response", "GET http://testserver/plain -> 200"),
        ("response", "GET http://testserver/gzipped -> 200"),
        ("response", "GET http://testserver/split -> 200"),
    ]
    assert scanner.scanned["response"] == 4


def test_a_response_to_httpx_clients(scanner: SecretScanner) -> None:
    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Encoding", "gzip")])
        return [gzip.compress(PLANTED.encode())]

    with httpx.Client(transport=httpx.WSGITransport(app=wsgi)) as client:
        assert client.get("http://wsgi.test/a").text == PLANTED

    async def asynchronous() -> str:
        transport = httpx.ASGITransport(app=leaky_app())
        async with httpx.AsyncClient(transport=transport) as client:
            return (await client.get("http://asgi.test/split")).text

    assert PLANTED in asyncio.run(asynchronous())
    assert channels(scanner) == [
        ("response", "GET http://wsgi.test/a -> 200"),
        ("response", "GET http://asgi.test/split -> 200"),
    ]


def test_a_response_to_a_requests_session(scanner: SecretScanner) -> None:
    class Canned(requests.adapters.BaseAdapter):
        def send(self, request: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            response = requests.Response()
            response.status_code, response.raw = 200, io.BytesIO(PLANTED.encode())
            response.request, response.url = request, request.url
            return response

        def close(self) -> None:
            pass

    with requests.Session() as session:
        session.mount("canned://", Canned())
        assert session.get("canned://host/x?token=1").text == PLANTED
        streamed = session.get("canned://host/y", stream=True)  # read later, as schemathesis does
        assert streamed.content == PLANTED.encode()
        assert b"".join(streamed.iter_content(5)) == PLANTED.encode()  # not scanned twice
    assert channels(scanner) == [
        ("response", "GET canned://host/x -> 200"),
        ("response", "GET canned://host/y -> 200"),
    ]


def test_a_log_record_and_its_exception(scanner: SecretScanner) -> None:
    log = logging.getLogger("tests.secret_scan")
    log.warning("connecting with %s", PLANTED)
    try:
        try:
            raise ValueError(f"bad key {PLANTED}")
        except ValueError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError:
        log.error("failed", exc_info=True)
    log.error("clean line")
    assert [c for c, _ in channels(scanner)] == ["log", "log"]
    assert "tests.secret_scan WARNING" in scanner.findings[0].where


def test_a_log_record_after_basic_config_force(scanner: SecretScanner) -> None:
    """An in-process CLI run replaces the root handlers: the scan still sees records."""
    logging.basicConfig(force=True, level=logging.INFO)
    logging.getLogger("tests.secret_scan").info("key %s", PLANTED)
    assert [c for c, _ in channels(scanner)] == ["log"]


def test_an_error_message(scanner: SecretScanner) -> None:
    ConfigError(f"cannot open with {PLANTED}")  # made, even if never raised
    InventoryError([f"file.yaml:3: community {PLANTED}"])
    ConfigError("harmless")
    found = channels(scanner)
    assert [c for c, _ in found] == ["error", "error"]
    assert found[0][1].startswith("ConfigError (")
    assert found[0][1].endswith(f"{Path(__file__).name}:{_line_of('cannot open with')})")


def _line_of(text: str) -> int:
    return next(n for n, line in enumerate(Path(__file__).read_text().splitlines(), 1)
                if text in line and "_line_of" not in line)  # fmt: skip


def test_findings_are_masked_and_say_where(scanner: SecretScanner) -> None:
    scanner.test = "tests/x.py::test_y"
    ConfigError(PLANTED)
    (finding,) = scanner.findings
    assert PLANTED not in finding.line()
    assert finding.secret == mask(PLANTED) == "PLA…42 (23 chars)"
    assert finding.line().startswith("tests/x.py::test_y: error ConfigError (")
    assert finding.source == "this test"


def test_an_allowed_test_is_counted_not_reported(scanner: SecretScanner) -> None:
    scanner.allowed = True
    ConfigError(PLANTED)
    assert scanner.findings == [] and scanner.suppressed == 1


@pytest.mark.allow_secrets("logs a simulated city's secret to see the scan learn it")
def test_a_simulated_city_s_secrets_are_learnt(scanner: SecretScanner) -> None:
    city = build_city(4, seed=4242)
    community = next(c.community for c in city.credentials if c.community)
    assert scanner.secrets[community] == "the simulated city of seed 4242"
    radius = radius_secret(4242, city.credentials[0].id)
    assert scanner.secrets[radius] == "the simulated city of seed 4242"
    logging.getLogger("tests.secret_scan").warning("polling with %s", community)
    assert [f.source for f in scanner.findings] == ["the simulated city of seed 4242"]


def test_short_values_are_not_scanned(scanner: SecretScanner) -> None:
    scanner.add(["r00t", "s3cret"], "too generic")
    assert "r00t" not in scanner.secrets and "s3cret" not in scanner.secrets


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_whole_session_fails_and_reports(tmp_path: Path, workers: list[str]) -> None:
    """In a child pytest: a fixture secret in a log line and in an error fails the
    session, each reported with the test and the secret masked; a test marked
    ``allow_secrets`` is not reported. Under pytest-xdist too (the test command runs the
    suite on two workers), where each worker's findings reach the controller's verdict."""
    (tmp_path / "test_leak.py").write_text(
        "import logging, pytest\n"
        "from core.errors import ConfigError\n"
        "def test_logs():\n"
        "    logging.getLogger('x').warning('community c0mmunity-S3CRET-v2')\n"
        "def test_errors():\n"
        "    ConfigError('key AUTHKEY-S3CRET-123')\n"
        f"@pytest.mark.{MARKER}('planted')\n"
        "def test_allowed():\n"
        "    ConfigError('key PRIVKEY-S3CRET-456')\n"
        "def test_clean():\n"
        "    logging.getLogger('x').warning('nothing')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.fixtures.secret_scan", "-p",
         "no:cacheprovider", *workers, "test_leak.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "4 passed" in out
    assert "2 FOUND" in out and "1 hits in tests marked allow_secrets" in out
    assert "test_leak.py::test_logs: log x WARNING" in out
    assert "test_leak.py::test_errors: error ConfigError" in out
    assert "c0m…v2 (19 chars)" in out and "AUT…23 (18 chars)" in out
    for secret in ("c0mmunity-S3CRET-v2", "AUTHKEY-S3CRET-123", "PRIVKEY-S3CRET-456"):
        assert secret not in out


def test_a_file_is_witnessed(scanner: SecretScanner, tmp_path: Path) -> None:
    (tmp_path / "clean.db").write_bytes(b"\x00" * 100 + b"nothing")
    (tmp_path / "leaky.db").write_bytes(b"\x00" * 100 + PLANTED.encode() + b"\xff")
    witness_file(tmp_path / "clean.db")
    witness_file(tmp_path / "leaky.db", "the database file")
    assert channels(scanner) == [("file", "the database file")]
    assert scanner.scanned["file"] == 2


# -- personal data ----------------------------------------------------------------------

MAC = bytes.fromhex("02a1b2c3d4e5")
USER = "guest-planted-7731"


@pytest.fixture
def personal() -> Iterator[tuple[SecretScanner, PersonalData]]:
    """A personal-data scanner of this test's own, knowing one MAC and one user name."""
    found = SecretScanner("personal data", PERSONAL_MARKER)
    data = PersonalData(found, "this test")
    data.macs([MAC])
    data.names([USER])
    install(found)
    try:
        yield found, data
    finally:
        uninstall(found)


def test_a_mac_in_every_usual_spelling() -> None:
    spellings = mac_spellings("02-A1-B2-C3-D4-E5")
    assert spellings == mac_spellings(MAC) == mac_spellings("02a1.b2c3.d4e5")
    assert {
        "02:a1:b2:c3:d4:e5", "02:A1:B2:C3:D4:E5", "02-a1-b2-c3-d4-e5", "02-A1-B2-C3-D4-E5",
        "02a1.b2c3.d4e5", "02A1.B2C3.D4E5", "02a1b2c3d4e5", "02A1B2C3D4E5",
    } == spellings  # fmt: skip
    for bad in ("02:a1:b2", "zz:a1:b2:c3:d4:e5", b"\x02\xa1"):
        with pytest.raises(ValueError) as raised:
            mac_spellings(bad)
        assert str(bad) not in str(raised.value)  # the value itself is never echoed


def test_personal_data_in_every_channel(
    personal: tuple[SecretScanner, PersonalData], tmp_path: Path
) -> None:
    """A MAC in another spelling than the one sent, and a user name, are found in a
    response, a log record, an error message and a witnessed file, and reported as
    personal data with the value masked."""
    found, data = personal
    log = logging.getLogger("tests.secret_scan")
    log.warning("session from 02-A1-B2-C3-D4-E5")  # sent as bytes, leaked as text

    app = FastAPI()

    @app.get("/sessions")
    def sessions() -> dict[str, str]:
        return {"user": USER}

    with TestClient(app) as client:
        assert client.get("/sessions").json() == {"user": USER}
    ConfigError("station 02a1.b2c3.d4e5 refused")
    (tmp_path / "inventory.db").write_bytes(b"SQLite format 3\x00" + b"02a1b2c3d4e5")
    witness_file(tmp_path / "inventory.db", "inventory.db")
    log.warning("session from 02a1b2c3d4e6")  # another MAC: nothing
    assert [c for c, _ in channels(found)] == ["log", "response", "error", "file"]
    assert {f.label for f in found.findings} == {"personal data"}
    assert {f.source for f in found.findings} == {"this test"}
    for finding in found.findings:
        assert not data.found_in(finding.line()), finding.line()
    assert (
        found.findings[1]
        .line()
        .startswith(
            "<session>: response GET http://testserver/sessions -> 200: personal data gue…31"
        )
    )


def test_personal_data_helpers_for_the_test_s_own_assertions(
    personal: tuple[SecretScanner, PersonalData],
) -> None:
    _, data = personal
    assert data.found_in(b"x 02:a1:b2:c3:d4:e5 y") == [mask("02:a1:b2:c3:d4:e5")]
    assert data.found_in(f"user={USER}") == [mask(USER)]
    assert data.found_in("nothing here") == []
    assert len(data.values) == 9  # eight spellings of the MAC and the name


def test_a_short_user_name_is_refused_not_skipped(
    personal: tuple[SecretScanner, PersonalData],
) -> None:
    _, data = personal
    with pytest.raises(ValueError, match="too generic"):
        data.names(["bob", "a-long-enough-name"])
    assert "a-long-enough-name" not in data.values  # all or nothing


def test_the_session_scanner_takes_registrations(personal_data: PersonalData) -> None:
    """The fixture and the plain function register with the session's scanner (values
    never shown anywhere, so the session stays clean)."""
    personal_data.macs(["02:99:88:77:66:55"])
    register_personal_data(names=["never-shown-user-4711"], source="a helper")
    assert personal_data.values["029988776655"].startswith("sent by tests/test_secret_scan.py")
    assert personal_data.values["never-shown-user-4711"] == "a helper"


@pytest.mark.allow_personal_data("shows a user name on purpose")
def test_an_allowed_test_is_counted_not_reported_for_personal_data(
    personal: tuple[SecretScanner, PersonalData],
) -> None:
    found, _ = personal
    found.allowed = True  # what the session's hook does for the marker
    logging.getLogger("tests.secret_scan").warning("user %s", USER)
    assert found.findings == [] and found.suppressed == 1


def test_a_whole_session_fails_on_personal_data(tmp_path: Path) -> None:
    """In a child pytest: a MAC one test sent (registered through the fixture) and a later
    test logs in another spelling fails the session, reported as personal data with the
    test that leaked it; the same in a test marked allow_personal_data is not reported."""
    (tmp_path / "test_leak.py").write_text(
        "import logging, pytest\n"
        "def test_sends(personal_data):\n"
        "    personal_data.macs(['02:a1:b2:c3:d4:e5'])\n"
        "    personal_data.names(['guest-planted-7731'])\n"
        "def test_leaks():\n"
        "    logging.getLogger('x').warning('station 02-A1-B2-C3-D4-E5')\n"
        f"@pytest.mark.{PERSONAL_MARKER}('planted')\n"
        "def test_allowed():\n"
        "    logging.getLogger('x').warning('user guest-planted-7731')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.fixtures.secret_scan", "-p",
         "no:cacheprovider", "test_leak.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "3 passed" in out
    assert "personal data scan: 9 values" in out and "1 FOUND" in out
    assert "1 hits in tests marked allow_personal_data" in out
    assert "secret scan: 4 secrets" in out and "none found" in out
    assert (
        "test_leak.py::test_leaks: log x WARNING" in out
        and "personal data 02-…E5 (17 chars) from sent by test_leak.py::test_sends" in out
    )
    assert "02-A1-B2-C3-D4-E5" not in out and "guest-planted-7731" not in out
