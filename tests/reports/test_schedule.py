"""The monthly schedule against a real SMTP server on loopback (aiosmtpd) and a real
inventory (SQLite, and PostgreSQL for the claims): which months are due, one mail per
partner with its PDF, never twice, a weekend 1st, failures retried, crashes never resent.

The PDF is a stand-in here (``render`` is injected): what the schedule does with it does
not depend on what it says. ``test_the_real_report_goes_out`` makes the real one.
"""

from __future__ import annotations

import email
import email.policy
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.errors import StoreError
from core.settings import Settings
from inventory.db import open_inventory, transaction
from inventory.models import Partner, ReportDelivery, Site
from reports.schedule import (
    CLAIMED,
    FAILED,
    SENT,
    Delivery,
    due_months,
    first_working_day,
    run_schedule,
    smtp_sender,
)
from tests.fixtures.ports import free_port
from tests.fixtures.receivers import SmtpServer, dead_port, serving
from timeseries import MetricStore, open_store

JAKARTA = ZoneInfo("Asia/Jakarta")
ACME = ("board@acme.example", "csr@acme.example")
BETA = ("csr@beta.example",)


def at(local: str) -> float:
    """A time of the city's calendar (Asia/Jakarta, UTC+7) as epoch seconds."""
    return datetime.fromisoformat(local).replace(tzinfo=JAKARTA).timestamp()


DEC_1 = at("2026-12-01T07:00")  # a Tuesday: November is due


class FakeRender:
    """Stands in for usage_report + render_pdf; remembers what it was asked for."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.calls: list[tuple[str, str, float]] = []
        self.fail = fail
        self.during: Callable[[], None] | None = None  # run inside the first call

    def __call__(
        self,
        session: Session,
        store: MetricStore,
        settings: Settings,
        *,
        partner: str,
        month: str,
        now: float,
    ) -> bytes:
        self.calls.append((partner, month, now))
        if self.during is not None:
            during, self.during = self.during, None
            during()
        if self.fail is not None:
            raise self.fail
        return pdf_of(partner, month)


def pdf_of(partner: str, month: str) -> bytes:
    return f"%PDF-1.7\n% stand-in for {partner} {month}\n%%EOF\n".encode()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An inventory with three partners: two with addresses, one without."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'inventory.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    engine = open_inventory(url, create=True)
    with transaction(engine) as session:
        session.add_all(
            [
                Partner(id="acme", name="Acme Bank", report_to=" , ".join(ACME)),
                Partner(id="beta", name="Beta Telco", report_to=BETA[0]),
                Partner(id="gamma", name="Gamma Foundation", report_to=None),
                Partner(id="delta", name="Delta Co", report_to=" , "),  # nowhere either
            ]
        )
    yield engine
    engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetricStore]:
    opened = open_store(f"embedded://{tmp_path / 'metrics'}")
    yield opened
    opened.close()


def settings_for(port: int, **more: object) -> Settings:
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="reports@citywifi.example",
        notify_timeout_s=5.0,
        city_name="Bekasi",
        city_timezone="Asia/Jakarta",
        **more,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(smtp_server: SmtpServer) -> Settings:
    return settings_for(smtp_server.port)


def mails(server: SmtpServer) -> list[EmailMessage]:
    parsed = []
    for envelope in server.envelopes:
        content = envelope.content
        assert isinstance(content, bytes)
        mail = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        parsed.append(mail)
    return parsed


def rows(engine: Engine) -> dict[tuple[str, str], ReportDelivery]:
    with Session(engine) as session:
        found = session.scalars(select(ReportDelivery)).all()
    return {(row.partner_id, row.month): row for row in found}


def run(
    engine: Engine,
    store: MetricStore,
    settings: Settings,
    now: float,
    render: FakeRender,
    dry_run: bool = False,
) -> list[Delivery]:
    return run_schedule(
        engine,
        store,
        settings,
        now=now,
        send=smtp_sender(settings),
        render=render,
        dry_run=dry_run,
    )


def outcomes(results: list[Delivery]) -> list[tuple[str, str, str]]:
    return [(d.partner, d.month, d.outcome) for d in results]


# --- when ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "due"),
    [
        ("2026-12-01T00:00", ["2026-11"]),  # Tuesday 1st, from local midnight
        ("2026-11-30T23:59:59", ["2026-10"]),  # the day before: October's window
        ("2026-08-01T09:00", []),  # Saturday 1st: waits
        ("2026-08-02T23:59:59", []),  # Sunday 2nd: waits
        ("2026-08-03T00:00", ["2026-07"]),  # Monday 3rd: the first working day
        ("2026-08-20T12:00", ["2026-07"]),  # later days catch up and retry
        ("2027-01-01T08:00", ["2026-12"]),  # a Friday, across the year (no holidays)
    ],
)
def test_due_months_in_the_city_calendar(local: str, due: list[str]) -> None:
    assert due_months(at(local), JAKARTA) == due


def test_the_city_midnight_is_not_utc_midnight() -> None:
    # 2026-08-02T17:00Z is Monday 3rd 00:00 in Jakarta, still Sunday in UTC.
    now = datetime.fromisoformat("2026-08-02T17:00:00+00:00").timestamp()
    assert due_months(now, JAKARTA) == ["2026-07"]
    assert due_months(now, ZoneInfo("UTC")) == []


def test_first_working_day() -> None:
    assert str(first_working_day(2026, 12)) == "2026-12-01"
    assert str(first_working_day(2026, 8)) == "2026-08-03"  # Saturday 1st
    assert str(first_working_day(2026, 11)) == "2026-11-02"  # Sunday 1st


# --- sending ---------------------------------------------------------------------------


def test_first_working_day_sends_one_mail_per_partner_with_its_pdf(
    engine: Engine, store: MetricStore, settings: Settings, smtp_server: SmtpServer
) -> None:
    render = FakeRender()
    results = run(engine, store, settings, DEC_1, render)

    assert outcomes(results) == [("acme", "2026-11", "sent"), ("beta", "2026-11", "sent")]
    assert results[0].recipients == ACME
    assert render.calls == [("acme", "2026-11", DEC_1), ("beta", "2026-11", DEC_1)]
    assert [sorted(e.rcpt_tos) for e in smtp_server.envelopes] == [list(ACME), list(BETA)]
    acme, beta = mails(smtp_server)
    assert acme["From"] == "reports@citywifi.example"
    assert acme["To"] == ", ".join(ACME)
    assert acme["Subject"] == "Bekasi public WiFi: Acme Bank hotspots, November 2026"
    assert acme["X-Citywifi-Report"] == "acme 2026-11"
    body = acme.get_body(("plain",))
    assert body is not None and "Acme Bank" in body.get_content()
    (attachment,) = acme.iter_attachments()
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "citywifi-usage-acme-2026-11.pdf"
    assert attachment.get_content() == pdf_of("acme", "2026-11")
    (attachment,) = beta.iter_attachments()
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_content() == pdf_of("beta", "2026-11")

    stored = rows(engine)
    assert sorted(stored) == [("acme", "2026-11"), ("beta", "2026-11")]
    for row in stored.values():
        assert (row.state, row.claimed_at, row.sent_at, row.error) == (SENT, DEC_1, DEC_1, None)
    assert stored["acme", "2026-11"].recipients == ", ".join(ACME)


def test_a_second_run_the_same_day_sends_nothing(
    engine: Engine, store: MetricStore, settings: Settings, smtp_server: SmtpServer
) -> None:
    run(engine, store, settings, DEC_1, FakeRender())
    render = FakeRender()

    again = run(engine, store, settings, DEC_1 + 3600, render)
    later = run(engine, store, settings, at("2026-12-15T07:00"), render)

    skipped = [("acme", "2026-11", "skipped"), ("beta", "2026-11", "skipped")]
    assert outcomes(again) == outcomes(later) == skipped
    assert again[0].detail == "sent 2026-12-01 07:00 WIB"
    assert render.calls == []  # not even rendered
    assert len(smtp_server.envelopes) == 2


def test_a_weekend_first_moves_to_monday(
    engine: Engine, store: MetricStore, settings: Settings, smtp_server: SmtpServer
) -> None:
    render = FakeRender()
    assert run(engine, store, settings, at("2026-08-01T07:00"), render) == []
    assert run(engine, store, settings, at("2026-08-02T07:00"), render) == []
    assert smtp_server.envelopes == [] and rows(engine) == {}

    monday = run(engine, store, settings, at("2026-08-03T07:00"), render)

    assert outcomes(monday) == [("acme", "2026-07", "sent"), ("beta", "2026-07", "sent")]
    assert [m["X-Citywifi-Report"] for m in mails(smtp_server)] == ["acme 2026-07", "beta 2026-07"]


def test_a_failed_send_is_marked_failed_and_retried_once_by_the_next_run(
    engine: Engine, store: MetricStore, smtp_server: SmtpServer
) -> None:
    down = settings_for(dead_port())
    failed = run(engine, store, down, DEC_1, FakeRender())

    assert outcomes(failed) == [("acme", "2026-11", "failed"), ("beta", "2026-11", "failed")]
    assert failed[0].detail is not None and failed[0].detail.startswith("mail via 127.0.0.1:")
    stored = rows(engine)
    assert {row.state for row in stored.values()} == {FAILED}
    assert all(row.error == failed[0].detail for row in stored.values() if row.partner_id == "acme")
    assert all(row.sent_at is None for row in stored.values())

    up = settings_for(smtp_server.port)
    next_day = at("2026-12-02T07:00")
    retried = run(engine, store, up, next_day, FakeRender())
    third = run(engine, store, up, at("2026-12-03T07:00"), FakeRender())

    assert outcomes(retried) == [("acme", "2026-11", "sent"), ("beta", "2026-11", "sent")]
    assert [d.outcome for d in third] == ["skipped", "skipped"]
    assert len(smtp_server.envelopes) == 2  # once each
    for row in rows(engine).values():
        assert (row.state, row.claimed_at, row.sent_at, row.error) == (
            SENT,
            next_day,
            next_day,
            None,
        )


def test_a_refused_recipient_fails_with_the_servers_reply(
    engine: Engine, store: MetricStore
) -> None:
    server = SmtpServer(port=free_port(), refuse=frozenset(BETA))
    with serving(server):
        results = run(engine, store, settings_for(server.port), DEC_1, FakeRender())

    assert outcomes(results) == [("acme", "2026-11", "sent"), ("beta", "2026-11", "failed")]
    assert results[1].detail == f"mail via 127.0.0.1:{server.port}: every recipient refused [550]"
    assert rows(engine)["beta", "2026-11"].state == FAILED


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_login_is_used_and_never_repeated(engine: Engine, store: MetricStore) -> None:
    password = "s3cret-smtp-pw"
    server = SmtpServer(port=free_port(), username="citywifi", password=password)
    with serving(server):
        wrong = settings_for(server.port, smtp_username="citywifi", smtp_password="wrong-pw")
        refused = run(engine, store, wrong, DEC_1, FakeRender())
        right = settings_for(server.port, smtp_username="citywifi", smtp_password=password)
        sent = run(engine, store, right, DEC_1 + 60, FakeRender())

    assert [d.outcome for d in refused] == ["failed", "failed"]
    assert refused[0].detail is not None and "535" in refused[0].detail
    assert [d.outcome for d in sent] == ["sent", "sent"]
    said = " ".join(f"{d!r} {d.detail}" for d in [*refused, *sent])
    said += " ".join(f"{row.error}" for row in rows(engine).values())
    assert "wrong-pw" not in said and password not in said
    assert len(server.envelopes) == 2


# --- never twice -----------------------------------------------------------------------


def test_a_claim_never_confirmed_is_not_resent(
    engine: Engine, store: MetricStore, settings: Settings, smtp_server: SmtpServer
) -> None:
    # What a run killed while talking to the mail server leaves behind.
    with transaction(engine) as session:
        session.add(
            ReportDelivery(
                partner_id="acme", month="2026-11", state=CLAIMED, claimed_at=DEC_1, recipients=""
            )
        )
    render = FakeRender()

    results = run(engine, store, settings, DEC_1 + 600, render)

    assert outcomes(results) == [("acme", "2026-11", "skipped"), ("beta", "2026-11", "sent")]
    assert results[0].detail is not None and "never confirmed" in results[0].detail
    assert [call[0] for call in render.calls] == ["beta"]
    assert [m["X-Citywifi-Report"] for m in mails(smtp_server)] == ["beta 2026-11"]
    assert rows(engine)["acme", "2026-11"].state == CLAIMED


def test_two_runs_at_once_send_one_mail(
    engine: Engine, store: MetricStore, settings: Settings, smtp_server: SmtpServer
) -> None:
    """The second run starts while the first is rendering acme's report, and wins both
    claims; the first then finds acme claimed and beta sent."""
    render = FakeRender()
    inner: list[Delivery] = []
    render.during = lambda: inner.extend(run(engine, store, settings, DEC_1, FakeRender()))

    outer = run(engine, store, settings, DEC_1, render)

    assert outcomes(inner) == [("acme", "2026-11", "sent"), ("beta", "2026-11", "sent")]
    assert outcomes(outer) == [("acme", "2026-11", "skipped"), ("beta", "2026-11", "skipped")]
    assert outer[0].detail == "claimed by another run"
    assert len(smtp_server.envelopes) == 2


def test_a_report_that_cannot_be_made_claims_nothing(
    engine: Engine, store: MetricStore, settings: Settings, smtp_server: SmtpServer
) -> None:
    broken = FakeRender(fail=StoreError("metric store at http://127.0.0.1:1 unreachable"))
    results = run(engine, store, settings, DEC_1, broken)

    assert [d.outcome for d in results] == ["failed", "failed"]
    assert results[0].detail == "report not made: metric store at http://127.0.0.1:1 unreachable"
    assert rows(engine) == {} and smtp_server.envelopes == []

    assert [d.outcome for d in run(engine, store, settings, DEC_1 + 3600, FakeRender())] == [
        "sent",
        "sent",
    ]


def test_a_dry_run_makes_and_sends_nothing(
    engine: Engine, store: MetricStore, settings: Settings, smtp_server: SmtpServer
) -> None:
    run(engine, store, settings_for(dead_port()), DEC_1, FakeRender())  # both failed
    with transaction(engine) as session:
        row = session.get(ReportDelivery, ("beta", "2026-11"))
        assert row is not None
        row.state = SENT
    render = FakeRender()

    results = run(engine, store, settings, DEC_1 + 60, render, dry_run=True)

    assert [(d.partner, d.outcome, d.detail) for d in results] == [
        ("acme", "due", "retry of a failed send"),
        ("beta", "skipped", "sent 2026-12-01 07:00 WIB"),
    ]
    assert render.calls == [] and smtp_server.envelopes == []
    assert rows(engine)["acme", "2026-11"].state == FAILED


# --- the real report -------------------------------------------------------------------


def test_the_real_report_goes_out(
    engine: Engine,
    store: MetricStore,
    settings: Settings,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    """Default render: usage_report over the city's month and render_pdf; the mail's PDF
    names the partner and the city (an empty store: the figures say "not measured")."""
    with transaction(engine) as session:
        session.add(
            Site(
                id="s-1",
                name="Alun-Alun",
                partner_id="acme",
                lat=-6.24,
                lon=107.0,
                kind="other",
                coverage_radius_m=80.0,
                status="active",
            )
        )
    results = run_schedule(engine, store, settings, now=DEC_1, send=smtp_sender(settings))

    assert [d.outcome for d in results] == ["sent", "sent"], results
    (attachment,) = mails(smtp_server)[0].iter_attachments()
    assert isinstance(attachment, EmailMessage)
    pdf = attachment.get_content()
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    path = tmp_path / "acme.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Acme Bank" in text and "Bekasi" in text
