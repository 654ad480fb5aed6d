"""Telling the citizen it is fixed (faults.notifier.tell_citizens, delivery of a citizen's
message): the report's incident resolved → one signed webhook POST with the text and the
number, sent once, retried under the same id; the number never in clear in the
database, never in the outbox's stored payload nor in its listing; a hand-closed report
and a city with no citizens' route tell nobody, and the number goes all the same.

On the run's database (SQLite, or PostgreSQL with ``--database postgresql``), with a
real webhook receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.routes.notifications import notification_public
from citizens.filing import FiledReport, NewReport, file_report
from core.citizens import Channel, Problem
from core.settings import NotifyRoute, Settings
from faults.delivery import Deliverer
from faults.notifier import Notifier, citizen_text, tell_citizens
from inventory import citizen_reports, incidents, outbox
from inventory.db import open_inventory, transaction
from inventory.models import Base, CitizenReport, Notification
from inventory.notifications import CITIZEN_KIND
from inventory.outbox import SEALED_SHOWN, Status
from inventory.secretbox import SEALED_PREFIX, SecretBox
from tests.citizens.city import T0, seed
from tests.fixtures.receivers import WebhookReceiver
from tests.fixtures.secret_scan import PersonalData

PHONE = "+6281277770001"
OTHER_PHONE = "+6281277770002"
HOOK_SECRET = "whsec-citizens-G4teway"
ROUTE = "citizens-sms"
TEXT_OF_1 = "The WiFi at Taman Kota you reported (report R-{id}) works again. Thank you. — Bekasi"


@pytest.fixture(autouse=True)
def _phones_witnessed(personal_data: PersonalData) -> None:
    personal_data.names([PHONE, OTHER_PHONE])


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """The hotspots of tests/citizens/city.py in a new inventory."""
    engine = open_inventory(database_url, create=True)
    with Session(engine) as session:
        seed(session)
        session.commit()
    yield engine
    engine.dispose()


def settings_for(tmp_path: Path, url: str | None, *, citizens: bool = True) -> Settings:
    """A NOC webhook (incident messages) and, with ``url``, the citizens' gateway."""
    routes = [NotifyRoute(name="noc", transport="webhook", url="http://127.0.0.1:9/", secret="x")]
    if url is not None:
        routes.append(NotifyRoute(name=ROUTE, transport="webhook", url=url, secret=HOOK_SECRET))
    return Settings(
        data_dir=tmp_path / "state",
        city_name="Bekasi",
        notify_routes=routes,
        citizen_notify_route=ROUTE if citizens and url is not None else None,
        notify_group_wait_s=3600.0,  # the NOC hears nothing within these tests
        notify_retry_initial_s=5.0,
    )


def file(engine: Engine, box: SecretBox, settings: Settings, now: float, phone: str) -> FiledReport:
    with transaction(engine) as session:
        report = NewReport(Problem.NO_SIGNAL, Channel.WEB, site_id="taman", phone=phone)
        return file_report(session, report, box=box, settings=settings, now=now)


def resolve(engine: Engine, incident_id: int | None, now: float) -> None:
    assert incident_id is not None
    with transaction(engine) as session:
        incidents.resolve(session, incident_id, now=now, actor="ana", note="fixed")


def notifier(settings: Settings, engine: Engine, box: SecretBox, now: float) -> Notifier:
    deliverer = Deliverer(settings, engine, box=box, clock=lambda: now)
    return Notifier(settings, engine, deliverer, clock=lambda: now)


def every_text(engine: Engine) -> str:
    """Every value of every table, as text: what a copy of the database would show."""
    found: list[str] = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes):
                        found.append(value.decode("latin-1"))
                    elif value is not None:
                        found.append(str(value))
    return "\n".join(found)


def assert_no_phone_in_clear(engine: Engine) -> None:
    text = every_text(engine)
    for phone in (PHONE, OTHER_PHONE):
        assert phone not in text and phone[3:] not in text  # nor its national digits


def phone_kept(engine: Engine, report_id: int) -> bool:
    with Session(engine) as session:
        row = session.get(CitizenReport, report_id)
        assert row is not None
        return row.phone_sealed is not None


def outbox_rows(engine: Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def test_the_citizen_is_told_once_when_the_incident_is_resolved(
    db: Engine, secret_box: SecretBox, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    settings = settings_for(tmp_path, webhook_receiver.url)
    filed = file(db, secret_box, settings, T0, PHONE)
    assert_no_phone_in_clear(db)
    assert phone_kept(db, filed.id)
    # Nothing to tell while the incident is open; the NOC's group waits.
    assert notifier(settings, db, secret_box, T0 + 10).step().queued == 0
    resolve(db, filed.incident_id, T0 + 100)
    with transaction(db) as session:  # closed: the number no longer shown, kept sealed
        view = citizen_reports.get(session, secret_box, filed.id)
    assert view is not None and (view.closed_at, view.phone) == (T0 + 100, None)
    assert phone_kept(db, filed.id)

    assert tell_citizens(db, settings, now=T0 + 101) == 1
    assert not phone_kept(db, filed.id)
    (row,) = outbox_rows(db)
    stored = json.loads(row.payload)
    assert (row.route, row.kind, row.status) == (ROUTE, CITIZEN_KIND, Status.PENDING.value)
    assert stored["to"].startswith(SEALED_PREFIX) and stored["report"] == filed.id
    assert secret_box.open(stored["to"]) == PHONE
    assert_no_phone_in_clear(db)
    with transaction(db) as session:  # what GET /api/v1/notifications answers
        (listed,), _ = outbox.listing(session, limit=10, offset=0)
    shown = notification_public(listed).model_dump(mode="json")
    assert shown["payload"]["to"] == SEALED_SHOWN
    assert SEALED_PREFIX not in json.dumps(shown)

    report = notifier(settings, db, secret_box, T0 + 102).step()
    assert (report.queued, report.delivery.sent) == (0, 1)
    (request,) = webhook_receiver.requests
    body = json.loads(request.body)
    text = TEXT_OF_1.format(id=filed.id)
    assert text == citizen_text(settings, filed.id, "Taman Kota")
    assert (body["to"], body["text"], body["report"]) == (PHONE, text, filed.id)
    message_id = f"{ROUTE}:citizen-report-{filed.id}:1"
    assert body["id"] == request.headers["X-Citywifi-Message-Id"] == message_id
    timestamp = request.headers["X-Citywifi-Timestamp"]
    signed = hmac.new(HOOK_SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert request.headers["X-Citywifi-Signature"] == f"sha256={signed.hexdigest()}"
    # Sent: the sealed number leaves the outbox row too; nothing more is ever sent.
    (row,) = outbox_rows(db)
    assert row.status == Status.SENT.value and json.loads(row.payload)["to"] is None
    assert notifier(settings, db, secret_box, T0 + 200).step().queued == 0
    assert len(webhook_receiver.requests) == 1
    assert_no_phone_in_clear(db)


def test_a_refused_attempt_is_retried_with_the_same_id_and_body(
    db: Engine, secret_box: SecretBox, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    settings = settings_for(tmp_path, webhook_receiver.url)
    webhook_receiver.statuses.extend([503])
    filed = file(db, secret_box, settings, T0, PHONE)
    resolve(db, filed.incident_id, T0 + 100)
    first = notifier(settings, db, secret_box, T0 + 101).step()
    assert (first.queued, first.delivery.retried, first.delivery.next_due) == (1, 1, T0 + 106)
    (row,) = outbox_rows(db)
    assert json.loads(row.payload)["to"].startswith(SEALED_PREFIX)  # kept for the retry
    again = notifier(settings, db, secret_box, T0 + 106).step()
    assert (again.queued, again.delivery.sent) == (0, 1)
    one, two = webhook_receiver.requests
    ids = {r.headers["X-Citywifi-Message-Id"] for r in (one, two)}
    assert ids == {f"{ROUTE}:citizen-report-{filed.id}:1"} and one.body == two.body
    assert json.loads(two.body)["to"] == PHONE


def test_a_hand_closed_report_tells_nobody(
    db: Engine, secret_box: SecretBox, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    settings = settings_for(tmp_path, webhook_receiver.url)
    by_hand = file(db, secret_box, settings, T0, PHONE)
    with transaction(db) as session:
        citizen_reports.close(session, by_hand.id, now=T0 + 50)
    assert not phone_kept(db, by_hand.id)  # at once
    resolve(db, by_hand.incident_id, T0 + 100)
    assert notifier(settings, db, secret_box, T0 + 101).step().queued == 0
    assert outbox_rows(db) == [] and webhook_receiver.requests == []


def test_without_a_citizens_route_the_number_is_wiped_and_nothing_queued(
    db: Engine, secret_box: SecretBox, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    settings = settings_for(tmp_path, webhook_receiver.url, citizens=False)
    filed = file(db, secret_box, settings, T0, PHONE)
    resolve(db, filed.incident_id, T0 + 100)
    report = notifier(settings, db, secret_box, T0 + 101).step()
    assert report.queued == 0 and not phone_kept(db, filed.id)
    assert outbox_rows(db) == [] and webhook_receiver.requests == []


def test_the_citizens_route_hears_no_incident_and_the_noc_no_citizen(
    db: Engine, secret_box: SecretBox, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    settings = settings_for(tmp_path, webhook_receiver.url).model_copy(
        update={"notify_group_wait_s": 0.0}
    )
    filed = file(db, secret_box, settings, T0, PHONE)
    notifier(settings, db, secret_box, T0 + 10).step()
    resolve(db, filed.incident_id, T0 + 100)
    notifier(settings, db, secret_box, T0 + 400).step()
    kinds = [(row.route, row.kind) for row in outbox_rows(db)]
    assert (ROUTE, CITIZEN_KIND) in kinds and ("noc", "firing") in kinds
    assert all((route == ROUTE) == (kind == CITIZEN_KIND) for route, kind in kinds)
    assert all(
        r.headers["X-Citywifi-Message-Id"].startswith(ROUTE) for r in webhook_receiver.requests
    )


def test_a_report_whose_incident_is_open_again_waits_until_it_is_resolved(
    db: Engine, secret_box: SecretBox, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    """Reopened before the step (another citizen's report within the window): "works
    again" would be false; it is said when the incident is resolved again."""
    settings = settings_for(tmp_path, webhook_receiver.url)
    first = file(db, secret_box, settings, T0, PHONE)
    resolve(db, first.incident_id, T0 + 100)
    second = file(db, secret_box, settings, T0 + 110, OTHER_PHONE)
    assert second.incident_id == first.incident_id  # reopened
    assert tell_citizens(db, settings, now=T0 + 111) == 0
    assert phone_kept(db, first.id) and phone_kept(db, second.id)
    resolve(db, first.incident_id, T0 + 500)
    assert tell_citizens(db, settings, now=T0 + 501) == 2
    assert not phone_kept(db, first.id) and not phone_kept(db, second.id)
    sealed: list[Any] = [json.loads(row.payload)["to"] for row in outbox_rows(db)]
    assert sorted(secret_box.open(value) or "" for value in sealed) == [PHONE, OTHER_PHONE]


def test_a_stale_notifier_queues_nothing(
    db: Engine, secret_box: SecretBox, tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    settings = settings_for(tmp_path, webhook_receiver.url)
    filed = file(db, secret_box, settings, T0, PHONE)
    resolve(db, filed.incident_id, T0 + 100)
    assert tell_citizens(db, settings, now=T0 + 101, fence=lambda session: False) == 0
    assert phone_kept(db, filed.id) and outbox_rows(db) == []
