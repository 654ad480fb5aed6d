"""A city-sized import stays a handful of statements, not one query per row.

Counting statements rather than timing keeps the test deterministic; the wall-clock time
for the same inventory is recorded by running this module with ``-s`` (it prints it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import yaml
from sqlalchemy import Engine, event

from inventory import export_doc, import_file
from inventory.secretbox import SecretBox

Counts = Callable[[Engine], dict[str, int]]

SITES, APS = 1000, 2000


def _city(tmp_path: Path) -> Path:
    doc = {
        "partners": [{"id": f"p{i:02d}", "name": f"Partner {i}"} for i in range(20)],
        "districts": [{"id": f"d{i:02d}", "name": f"District {i}"} for i in range(30)],
        "credentials": [{"id": "snmp", "snmp": {"version": "2c", "community": "c0mm"}}],
        "sites": [
            {
                "id": f"s{i:04d}",
                "name": f"Site {i}",
                "lat": -6.2 + i / 10000,
                "lon": 106.9,
                "district": f"d{i % 30:02d}",
                "partner": f"p{i % 20:02d}" if i % 3 else None,
            }
            for i in range(SITES)
        ],
        "aps": [
            {
                "id": f"ap{i:05d}",
                "site": f"s{i // 2:04d}",
                "name": f"ap-{i}",
                "host": f"127.1.{i // 250}.{i % 250 + 1}",
                "credentials": "snmp",
            }
            for i in range(APS)
        ],
    }
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_big_import_is_batched(
    engine: Engine, tmp_path: Path, counts: Counts, secret_box: SecretBox
) -> None:
    path = _city(tmp_path)
    statements = _statements(engine)

    started = time.perf_counter()
    report = import_file(engine, path, secret_box)
    first = time.perf_counter() - started
    first_count = len(statements)
    started = time.perf_counter()
    again = import_file(engine, path, secret_box)
    second = time.perf_counter() - started
    second_count = len(statements) - first_count  # before counts() reads every table

    print(f"\nimport {SITES} sites + {APS} APs: {first:.2f}s; re-import: {second:.2f}s")
    assert report.counts["aps"]["created"] == APS
    assert again.counts["aps"] == {"created": 0, "updated": 0, "unchanged": APS}
    assert counts(engine)["access_points"] == APS
    # Per section: a few id lookups per 500 ids and one bulk insert (executemany batches).
    assert first_count < 60, first_count
    assert second_count < 40, second_count
    assert len(export_doc(engine)["aps"]) == APS
