"""A loopback HTTP server that records requests and answers like an empty metric server.

For what no packaged server can show: the endpoints a VictoriaMetrics cluster URL or an
InfluxDB 2.x URL leads to, and the headers sent there. It answers writes with 204 and
queries with an empty result in the shape each API uses.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

__all__ = ["Recorded", "Recorder", "recorder"]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    base: str
    requests: list[Recorded] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    recorder: Recorder

    def _record(self) -> Recorded:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if self.headers.get("Content-Type") == "application/x-www-form-urlencoded":
            query.update(parse_qs(body.decode()))  # a form is the query, sent in the body
        item = Recorded(self.command, parts.path, query, dict(self.headers.items()), body)
        self.server.recorder.requests.append(item)  # type: ignore[attr-defined]
        return item

    def _answer(self) -> None:
        item = self._record()
        if item.path.endswith("write"):
            self.send_response(204)
            self.end_headers()
            return
        if item.path.endswith(("/api/v1/query", "/api/v1/query_range")):
            kind = "matrix" if item.path.endswith("range") else "vector"
            payload: object = {"status": "success", "data": {"resultType": kind, "result": []}}
        elif item.path.endswith("/query"):
            payload = {"results": [{"statement_id": 0}]}
        else:
            payload = {}
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    server.recorder = Recorder(f"http://{host!s}:{port}")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.recorder  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
