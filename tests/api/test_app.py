from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import validation_message
from api.routes.web import WEB_DIR


def test_root_serves_the_status_page(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "citywifi — live status" in r.text


def test_static_files(client: TestClient) -> None:
    js = client.get("/static/app.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/nope.js").status_code == 404


def test_web_dir_is_inside_the_dashboards_package() -> None:
    import dashboards

    assert Path(dashboards.__file__).resolve().parent / "web" == WEB_DIR
    assert {"index.html", "app.js", "style.css"} <= {p.name for p in WEB_DIR.iterdir()}


def test_page_loads_nothing_from_other_origins() -> None:
    # The SVG namespace is a name, not an address: createElementNS needs it, nothing loads.
    for path in WEB_DIR.iterdir():
        text = path.read_text(encoding="utf-8").replace('"http://www.w3.org/2000/svg"', "")
        assert "http://" not in text and "https://" not in text, path.name
        assert "//cdn" not in text and "fonts.googleapis" not in text, path.name


def test_unknown_path_is_404_with_message(client: TestClient) -> None:
    r = client.get("/api/v1/nothing")
    assert r.status_code == 404
    assert r.json()["message"] == "Not Found"


def test_validation_message_is_plain_words() -> None:
    errors = [
        {"type": "less_than_equal", "loc": ("query", "limit"), "msg": "Input should be ≤ 5000",
         "input": "9000"},
        {"type": "missing", "loc": ("query", "metric"), "msg": "Field required", "input": None},
        {"type": "value_error", "loc": ("query", "start"), "msg": "bad", "input": "x" * 200},
    ]  # fmt: skip
    message = validation_message(errors)
    assert message.startswith(
        "query.limit: Input should be ≤ 5000 (got 9000); query.metric: Field required; "
    )
    assert message.endswith("…)")
    assert len(message) < 200


def test_large_responses_are_compressed(client: TestClient) -> None:
    r = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    assert r.json()["info"]["title"] == "citywifi"
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_test_client_imports_without_a_warning() -> None:
    """Starlette warns (a UserWarning) when its TestClient runs on plain httpx; with httpx2,
    the client it now wants (a dev dependency), importing it is silent."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import fastapi.testclient"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_page_and_health_need_no_credentials(anon_client: TestClient) -> None:
    """The public allowlist: the page (which then asks for a login), its files, /healthz."""
    for url in ("/", "/static/app.js", "/static/style.css", "/healthz"):
        assert anon_client.get(url).status_code == 200, url
