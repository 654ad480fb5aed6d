"""Shared API test fixtures: a small city in a temp SQLite file and an in-memory store.

The fake store is reached through the real wiring (``open_store`` and a URL scheme
registered for the test), so the app under test is built exactly as in production.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

import timeseries
from api.app import create_app
from core.errors import StoreError
from core.settings import Settings
from inventory.db import make_engine, transaction
from inventory.models import AccessPoint, ApStatus, CredentialProfile, District, Partner, Site
from timeseries.port import Latest, Point, Sample

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z: fixed so that times in assertions are exact

# Every credential value of the fixture, ids and user names included: none may ever be
# found in an API response body.
SECRETS: tuple[str, ...] = (
    "credprofile-alpha",
    "credprofile-beta",
    "c0mmunity-S3CRET-v2",
    "snmpuser-theta",
    "AUTHKEY-S3CRET-123",
    "PRIVKEY-S3CRET-456",
    "sshuser-zeta",
    "SSHPASS-S3CRET-789",
    "SSHKEYFILE-S3CRET",
)


class FakeStore:
    """An in-memory MetricStore: enough of the port's semantics for API tests."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.fail = False  # when set, every call raises StoreError, like an unreachable store
        self.fail_after: int | None = None  # or: answer this many calls, then fail
        self.closed = False
        self._lock = threading.Lock()

    def _check(self) -> None:
        if self.fail_after is not None:
            if self.fail_after <= 0:
                self.fail = True
            self.fail_after -= 1
        if self.fail:
            raise StoreError("fake store is down")

    def write(self, samples: Sequence[Sample]) -> None:
        self._check()
        with self._lock:
            self.samples.extend(samples)

    def latest(self, aps: Collection[str] | None = None) -> dict[str, Latest]:
        self._check()
        values: dict[str, dict[str, float]] = {}
        times: dict[str, dict[str, float]] = {}
        with self._lock:
            ordered = sorted(self.samples, key=lambda s: s.ts)
        for s in ordered:
            ap = s.tags.get("ap", "")
            if s.measurement != "ap" or (aps is not None and ap not in aps):
                continue
            for name, value in s.fields.items():
                values.setdefault(ap, {})[name] = value
                times.setdefault(ap, {})[name] = s.ts
        return {ap: Latest(ap=ap, values=values[ap], times=times[ap]) for ap in values}

    def series(self, ap: str, metric: str, start: float, end: float, step: float) -> list[Point]:
        self._check()
        n = math.ceil((end - start) / step)
        buckets: list[list[float]] = [[] for _ in range(n)]
        with self._lock:
            for s in self.samples:
                if s.tags.get("ap") == ap and metric in s.fields and start <= s.ts < end:
                    buckets[int((s.ts - start) // step)].append(s.fields[metric])
        return [
            Point(ts=start + i * step, value=sum(b) / len(b) if b else None)
            for i, b in enumerate(buckets)
        ]

    def close(self) -> None:
        self.closed = True


def open_fake(url: str) -> FakeStore:
    return FakeStore()


def sample(ap: str, ts: float, **fields: float) -> Sample:
    return Sample(measurement="ap", tags={"ap": ap}, fields=fields, ts=ts)


def seed_inventory(engine: Engine, now: float = NOW) -> None:
    """Five enabled APs (three up, one down, one never polled) and one disabled AP."""
    with transaction(engine) as s:
        s.add_all(
            [
                Partner(id="p-bank", name="Bank of Example"),
                Partner(id="p-telco", name="Telco Ltd"),
                District(id="d-north", name="North"),
                District(id="d-south", name="South"),
                CredentialProfile(
                    id="credprofile-alpha", snmp_version="2c", snmp_community="c0mmunity-S3CRET-v2"
                ),
                CredentialProfile(
                    id="credprofile-beta",
                    snmp_version="3",
                    snmp_user="snmpuser-theta",
                    snmp_auth_protocol="SHA",
                    snmp_auth_key="AUTHKEY-S3CRET-123",
                    snmp_priv_protocol="AES",
                    snmp_priv_key="PRIVKEY-S3CRET-456",
                    ssh_username="sshuser-zeta",
                    ssh_password="SSHPASS-S3CRET-789",
                    ssh_key_file="/etc/citywifi/SSHKEYFILE-S3CRET",
                ),
            ]
        )
        s.flush()
        for sid, name, district, partner, kind, status in (
            ("s-market", "Central Market", "d-north", "p-telco", "market", "active"),
            ("s-park", "Riverside Park", "d-north", "p-bank", "park", "active"),
            ("s-planned", "New Library", "d-south", "p-bank", "other", "planned"),
            ("s-school", "Hill School", "d-south", None, "school", "active"),
        ):
            s.add(
                Site(
                    id=sid, name=name, lat=12.97, lon=77.59, district_id=district,
                    partner_id=partner, kind=kind, coverage_radius_m=60.0, status=status,
                )
            )  # fmt: skip
        s.flush()
        for ap_id, site, cred, enabled in (
            ("ap-01", "s-park", "credprofile-alpha", True),
            ("ap-02", "s-park", "credprofile-beta", True),
            ("ap-03", "s-market", "credprofile-alpha", True),
            ("ap-04", "s-school", "credprofile-beta", True),
            ("ap-05", "s-school", "credprofile-alpha", False),
            ("ap-06", "s-market", "credprofile-beta", True),
        ):
            s.add(
                AccessPoint(
                    id=ap_id, site_id=site, name=f"{site} {ap_id}", host=f"127.1.0.{ap_id[-1]}",
                    snmp_port=161, ssh_port=22, profile="auto", credential_id=cred,
                    enabled=enabled,
                )
            )  # fmt: skip
        s.flush()
        s.add_all(
            [
                ApStatus(
                    ap_id="ap-01",
                    state="up",
                    since=now - 7200,
                    last_seen=now - 12,
                    polls_attempted=400,
                    polls_ok=398,
                ),
                ApStatus(ap_id="ap-02", state="up", since=now - 600, last_seen=now - 3),
                ApStatus(
                    ap_id="ap-03",
                    state="down",
                    since=now - 900,
                    last_seen=now - 905,
                    consecutive_failures=9,
                    last_error="timeout",
                ),
                ApStatus(ap_id="ap-05", state="up", since=now - 60, last_seen=now - 60),
                ApStatus(ap_id="ap-06", state="up", since=now - 50, last_seen=now - 5),
            ]
        )


def seed_metrics(store: timeseries.MetricStore, now: float = NOW) -> None:
    store.write(
        [
            sample("ap-01", now - 72, clients=10, uptime_s=7100, rx_bps=1e6, tx_bps=5e5),
            sample("ap-01", now - 12, clients=12, uptime_s=7188, rx_bps=2.5e6, tx_bps=1.25e6),
            sample("ap-02", now - 3, clients=3, reachable=1),
            sample("ap-03", now - 905, clients=7, uptime_s=50_000, rx_bps=4e6, tx_bps=3e6),
            sample("ap-06", now - 5, clients=0, uptime_s=42, rx_bps=0, tx_bps=0),
        ]
    )


def make_settings(tmp_path: Path, store_url: str | None = "fake://test") -> Settings:
    return Settings(data_dir=tmp_path, timeseries_url=store_url)


@pytest.fixture
def fake_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(timeseries.BACKENDS, "fake", f"{__name__}:open_fake")


@pytest.fixture
def settings(tmp_path: Path, fake_scheme: None) -> Settings:
    settings = make_settings(tmp_path)
    engine = make_engine(settings.db_url)
    seed_inventory(engine)
    engine.dispose()
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        seed_metrics(client.app.state.store)  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def store(client: TestClient) -> FakeStore:
    fake: FakeStore = client.app.state.store  # type: ignore[attr-defined]
    return fake
