"""What access control costs a request: the API with and without its choke point.

A plain script, not a test: it prints figures for docs/benchmarks.md ("API: the cost of
access control") and asserts only that every answer is right, never a time.

    .venv/bin/python bench/bench_auth.py                   # 2,000 requests per case
    .venv/bin/python bench/bench_auth.py --requests 500

Every case runs in one process against one app (TestClient, in process: no socket noise)
on a SQLite inventory of 500 APs, interleaved round by round so a slow spell of the
machine hits them all alike. The baseline is the same route with ``current_principal``
replaced by a constant admin (no token lookup): the ratio is what the token check, the
permission check and the scoping add. Logins are timed apart: an argon2 verify is slow
on purpose, and the ratio against a token request says how much.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import current_principal
from core.access import Principal, Role
from core.settings import Settings
from inventory import import_file
from inventory.accounts import create_user, issue_token, principal_for_token
from inventory.db import open_inventory, transaction
from inventory.secretbox import load_box

ROUNDS = 10
PASSWORD = "bench-password-1234"


def city(aps: int) -> dict[str, object]:
    """``aps`` APs, two a site, a third of the sites sponsored by one of two partners."""
    sites = [
        {
            "id": f"s{i:04d}", "name": f"site {i}", "lat": -6.2, "lon": 107.0,
            "district": "d01", "partner": ("p1", "p2", None)[i % 3], "kind": "park",
            "coverage_radius_m": 50, "status": "active",
        }
        for i in range(aps // 2)
    ]  # fmt: skip
    return {
        "partners": [{"id": "p1", "name": "One"}, {"id": "p2", "name": "Two"}],
        "districts": [{"id": "d01", "name": "D"}],
        "credentials": [{"id": "c", "snmp": {"version": "2c", "community": "bench-secret"}}],
        "sites": sites,
        "aps": [
            {
                "id": f"ap{i:05d}", "site": f"s{i // 2:04d}", "name": f"ap {i}",
                "host": "127.1.0.1", "snmp_port": 161, "ssh_port": 22, "profile": "auto",
                "credentials": "c", "enabled": True,
            }
            for i in range(aps)
        ],
    }  # fmt: skip


def _resolve(session: Session, token: str) -> None:
    assert principal_for_token(session, token, now=time.time()) is not None


def timed(call: Callable[[], None], n: int) -> float:
    """Seconds per call, over ``n`` calls."""
    started = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per case, in all")
    parser.add_argument("--aps", type=int, default=500)
    args = parser.parse_args()
    per_round = max(1, args.requests // ROUNDS)

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        inventory = Path(tmp) / "city.yaml"
        inventory.write_text(yaml.safe_dump(city(args.aps)))
        engine = open_inventory(settings.db_url, create=True)
        import_file(engine, inventory, load_box(settings))
        with transaction(engine) as session:
            create_user(session, "admin", Role.ADMIN, password=PASSWORD, now=time.time())
            create_user(session, "partner", Role.PARTNER, partner_id="p1", now=time.time())
            admin = issue_token(session, "admin", now=time.time()).token
            partner = issue_token(session, "partner", now=time.time()).token

        app = create_app(settings)
        with TestClient(app) as client:

            def get(path: str, token: str | None) -> Callable[[], None]:
                headers = {"Authorization": f"Bearer {token}"} if token else {}

                def call() -> None:
                    response = client.get(path, headers=headers)
                    assert response.status_code == 200, response.text

                return call

            def login() -> None:
                response = client.post(
                    "/api/v1/auth/login", json={"name": "admin", "password": PASSWORD}
                )
                assert response.status_code == 200, response.text

            constant = Principal(user_id=None, name="bench", role=Role.ADMIN)
            cases: dict[str, tuple[Callable[[], None], bool]] = {
                "sites?limit=1, no auth (baseline)": (get("/api/v1/sites?limit=1", None), True),
                "sites?limit=1, admin token": (get("/api/v1/sites?limit=1", admin), False),
                "sites?limit=1, partner token": (get("/api/v1/sites?limit=1", partner), False),
                "status?limit=100, no auth": (get("/api/v1/status?limit=100", None), True),
                "status?limit=100, admin token": (get("/api/v1/status?limit=100", admin), False),
                "status?limit=100, partner token": (
                    get("/api/v1/status?limit=100", partner), False
                ),
            }  # fmt: skip
            times: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(ROUNDS):
                for name, (call, bypass) in cases.items():
                    if bypass:
                        app.dependency_overrides[current_principal] = lambda: constant
                    try:
                        times[name].append(timed(call, per_round))
                    finally:
                        app.dependency_overrides.clear()
            logins = [timed(login, 1) for _ in range(max(5, ROUNDS))]
        # The token check alone, as the choke point runs it: one indexed lookup by hash.
        with Session(engine) as session:
            lookups = [timed(lambda: _resolve(session, admin), per_round) for _ in range(ROUNDS)]
        engine.dispose()

    when = datetime.now(tz=UTC).strftime("%Y-%m-%d")
    machine = platform.processor() or platform.machine()
    print(f"# {when}, {platform.node()}, {machine}, {args.aps} APs, "
          f"{per_round * ROUNDS} requests per case, median of {ROUNDS} rounds")  # fmt: skip
    print("| request | ms each | ratio to its no-auth baseline |")
    print("| --- | ---: | ---: |")
    base = {"sites": 0.0, "status": 0.0}
    for name, samples in times.items():
        median = statistics.median(samples)
        kind = name.split("?")[0]
        if "no auth" in name:
            base[kind] = median
        print(f"| {name} | {median * 1e3:.2f} | {median / base[kind]:.2f} |")
    token_ms = statistics.median(times["sites?limit=1, admin token"]) * 1e3
    lookup_ms = statistics.median(lookups) * 1e3
    print(f"| principal_for_token alone (SQLite) | {lookup_ms:.3f} | "
          f"{lookup_ms / token_ms:.3f} of a token request |")  # fmt: skip
    login_ms = statistics.median(logins) * 1e3
    print(f"| POST auth/login (argon2 verify + session) | {login_ms:.1f} | "
          f"{login_ms / token_ms:.0f} x a token request |")  # fmt: skip


if __name__ == "__main__":
    main()
