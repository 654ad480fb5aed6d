"""The monthly schedule: each partner gets its previous month's report by e-mail, once.

When. A month is due from the first working day of the month after it (Monday to Friday
in the city's time zone; there is no holiday calendar, so a public holiday on a weekday
counts as working) until that month ends. A timer runs ``citywifi report schedule``
daily: on the first working day it sends; on the days after it retries what failed and
catches up a day the timer missed (a server down on the 1st must not mean no report that
month). A partner first given ``report_to`` mid-month gets the previous month's report on
the next run. A month still failing when its window closes stays ``failed``; running the
command with ``--now`` inside that window (any day of the month after it) tries it again.

Never twice. A (partner, month) row in ``report_deliveries`` is claimed in a transaction
of its own before the mail leaves: an insert (a conflict means another run has it) or,
for a row whose last attempt failed, a conditional update ``state: failed -> claimed``.
Either is atomic on SQLite and PostgreSQL, so two runs at once send one mail. The row is
then marked ``sent`` or ``failed``; a later run retries ``failed`` only.

The trade-off: a crash (or a kill) between the claim and the mark leaves the row
``claimed``, and a claimed row is never retried, because the mail may well have left; at
most once beats twice for a board's report. Such a row is reported on every later run
("claimed ... never confirmed") until a person checks the mail log and deletes the row (to
resend) or sets it ``sent``. The PDF is rendered before the claim, so a failing or
crashing report (the store down, a bug) leaves no row behind: only the send itself runs
while claimed.
"""

from __future__ import annotations

import calendar
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from core.errors import CitywifiError, DatabaseError, first_line
from core.settings import Settings
from inventory.models import Partner, ReportDelivery
from timeseries import MetricStore

__all__ = [
    "CLAIMED",
    "FAILED",
    "SENT",
    "Delivery",
    "Render",
    "Send",
    "due_months",
    "first_working_day",
    "render_month_pdf",
    "report_mail",
    "run_schedule",
    "smtp_sender",
]

log = logging.getLogger(__name__)

CLAIMED, SENT, FAILED = "claimed", "sent", "failed"
ERROR_LIMIT = 500  # report_deliveries.error's length

#: What became of one partner's month in a run: ``sent``; ``failed`` (the report could
#: not be made, or the mail not sent: a later run tries again); ``skipped`` (already sent,
#: or claimed and never confirmed); ``due`` (a dry run: would be sent now).
Outcome = Literal["sent", "failed", "skipped", "due"]

#: Hands one message to the mail server; raises OSError (smtplib's errors are OSErrors)
#: when it was not taken.
Send = Callable[[EmailMessage], None]


class Render(Protocol):
    """Makes the PDF of ``partner``'s ``month`` ("2026-11", the city's calendar)."""

    def __call__(
        self,
        session: Session,
        store: MetricStore,
        settings: Settings,
        *,
        partner: str,
        month: str,
        now: float,
    ) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    partner: str
    month: str
    recipients: tuple[str, ...]
    outcome: Outcome
    detail: str | None = None  # why it failed or was skipped, in plain words


def first_working_day(year: int, month: int) -> date:
    """The first Monday-to-Friday of the month (no holiday calendar)."""
    day = date(year, month, 1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _month_before(day: date) -> str:
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def due_months(now: float, tz: ZoneInfo) -> list[str]:
    """The months whose reports are due at ``now``: the previous month of the city's
    calendar, from this month's first working day on; none before it (a weekend 1st
    waits for Monday)."""
    today = datetime.fromtimestamp(now, tz).date()
    if today < first_working_day(today.year, today.month):
        return []
    return [_month_before(today)]


def recipients_of(report_to: str | None) -> tuple[str, ...]:
    """``Partner.report_to``'s addresses (comma-separated), blanks dropped."""
    return tuple(part.strip() for part in (report_to or "").split(",") if part.strip())


def render_month_pdf(
    session: Session,
    store: MetricStore,
    settings: Settings,
    *,
    partner: str,
    month: str,
    now: float,
) -> bytes:
    """The real report: :func:`reports.usage.usage_report` over the city's month, as the
    PDF of :func:`reports.pdf.render_pdf`. Imported here: matplotlib and reportlab load
    only when a report is made, not for a run with nothing due."""
    from reports.pdf import render_pdf
    from reports.period import month_period
    from reports.usage import usage_report

    period = month_period(month, settings.city_tz)
    report = usage_report(session, store, settings, partner=partner, period=period, now=now)
    return render_pdf(report)


def _month_words(month: str) -> str:
    year, number = month.split("-")
    return f"{calendar.month_name[int(number)]} {year}"


def report_file_name(partner: str, month: str) -> str:
    """The attachment's name: the API's and the CLI's for the same report."""
    return f"citywifi-usage-{partner}-{month}.pdf"


def report_mail(
    settings: Settings,
    *,
    partner: str,
    partner_name: str,
    month: str,
    recipients: tuple[str, ...],
    pdf: bytes,
    now: float,
) -> EmailMessage:
    """One message to all of a partner's addresses, the PDF attached. ``X-Citywifi-Report``
    names the partner and month, so a mail rule can file (or drop a duplicate of) it."""
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = (
        f"{settings.city_name} public WiFi: {partner_name} hotspots, {_month_words(month)}"
    )
    mail["Date"] = formatdate(now, usegmt=True)
    mail["Message-ID"] = make_msgid(domain="citywifi")
    mail["X-Citywifi-Report"] = f"{partner} {month}"
    mail.set_content(
        f"Attached is the usage and SLA report of the public WiFi hotspots {partner_name} "
        f"sponsors in {settings.city_name}, for {_month_words(month)} "
        f"(the city's calendar, {settings.city_timezone}).\n\n"
        "It gives each site's availability against the agreed target, the downtime and "
        "the incidents behind it, the data volume, and the sessions and users (or the "
        "associated clients where a site sends no RADIUS accounting). The methods note "
        "at its end says how each figure is counted.\n\n"
        "This message is sent once a month by citywifi.\n"
    )
    mail.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=report_file_name(partner, month)
    )
    return mail


def smtp_sender(settings: Settings) -> Send:
    """Sends through ``smtp_host:smtp_port`` (STARTTLS and a login when configured), one
    connection per message, bounded by ``notify_timeout_s``, as the e-mail transport
    does. Recipients some took and others refused: sent (to those who took it; resending
    would reach the others twice), the refused ones logged."""

    def send(mail: EmailMessage) -> None:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            refused = smtp.send_message(mail)
        if refused:
            log.warning("report %s: refused by %s", mail["X-Citywifi-Report"], sorted(refused))

    return send


def _why(exc: OSError, settings: Settings) -> str:
    """A send failure in one line (SMTP's replies never repeat the password)."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        text = f"every recipient refused {codes}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        said = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        text = f"{exc.smtp_code} {said}"
    elif isinstance(exc, TimeoutError):
        text = f"no answer within {settings.notify_timeout_s:g} s"
    else:
        text = exc.strerror or str(exc) or type(exc).__name__
    return f"mail via {where}: {text}"[:ERROR_LIMIT]


def _addressed_partners(engine: Engine) -> list[tuple[str, str, tuple[str, ...]]]:
    """(id, name, recipients) of every partner with somewhere to send its report."""
    with Session(engine) as session:
        rows = session.execute(
            select(Partner.id, Partner.name, Partner.report_to).order_by(Partner.id)
        ).all()
    found = [(pid, name, recipients_of(to)) for pid, name, to in rows]
    return [row for row in found if row[2]]


def _row(engine: Engine, partner: str, month: str) -> tuple[str, float, float | None] | None:
    """(state, claimed_at, sent_at) of the (partner, month), if any run got that far."""
    with Session(engine) as session:
        row = session.execute(
            select(ReportDelivery.state, ReportDelivery.claimed_at, ReportDelivery.sent_at).where(
                ReportDelivery.partner_id == partner, ReportDelivery.month == month
            )
        ).first()
    return None if row is None else (row[0], row[1], row[2])


def _claim(
    engine: Engine, partner: str, month: str, recipients: tuple[str, ...], now: float, retry: bool
) -> bool:
    """Claims the (partner, month) in a transaction of its own; False: another run has it
    (or has sent it since we looked)."""
    values = {"state": CLAIMED, "claimed_at": now, "recipients": ", ".join(recipients)}
    if retry:
        with engine.begin() as connection:
            result = connection.execute(
                update(ReportDelivery)
                .where(
                    ReportDelivery.partner_id == partner,
                    ReportDelivery.month == month,
                    ReportDelivery.state == FAILED,
                )
                .values(**values, sent_at=None, error=None)
            )
            return result.rowcount == 1
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(ReportDelivery).values(partner_id=partner, month=month, **values)
            )
    except IntegrityError:
        return False
    return True


def _mark(engine: Engine, partner: str, month: str, state: str, **values: object) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(ReportDelivery)
            .where(ReportDelivery.partner_id == partner, ReportDelivery.month == month)
            .values(state=state, **values)
        )


def _when(epoch: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch, tz).strftime("%Y-%m-%d %H:%M %Z")


def _deliver(
    engine: Engine,
    store: MetricStore,
    settings: Settings,
    *,
    partner: tuple[str, str, tuple[str, ...]],
    month: str,
    now: float,
    send: Send,
    render: Render,
    dry_run: bool,
) -> Delivery:
    pid, name, recipients = partner
    tz = settings.city_tz

    def outcome(what: Outcome, detail: str | None = None) -> Delivery:
        return Delivery(pid, month, recipients, what, detail)

    found = _row(engine, pid, month)
    if found is not None and found[0] == SENT:
        sent_at = found[2] if found[2] is not None else found[1]
        return outcome("skipped", f"sent {_when(sent_at, tz)}")
    if found is not None and found[0] == CLAIMED:
        detail = (
            f"claimed {_when(found[1], tz)} and never confirmed (a run stopped while "
            "sending?): check the mail log, then delete the report_deliveries row to resend"
        )
        log.warning("report %s %s: %s", pid, month, detail)
        return outcome("skipped", detail)
    if dry_run:
        return outcome("due", "retry of a failed send" if found is not None else None)
    try:
        with Session(engine) as session:
            pdf = render(session, store, settings, partner=pid, month=month, now=now)
    except CitywifiError as exc:
        detail = f"report not made: {exc}"[:ERROR_LIMIT]
        log.error("report %s %s: %s", pid, month, detail)
        return outcome("failed", detail)
    if not _claim(engine, pid, month, recipients, now, retry=found is not None):
        return outcome("skipped", "claimed by another run")
    mail = report_mail(
        settings,
        partner=pid,
        partner_name=name,
        month=month,
        recipients=recipients,
        pdf=pdf,
        now=now,
    )
    try:
        send(mail)
    except OSError as exc:
        detail = _why(exc, settings)
        _mark(engine, pid, month, FAILED, error=detail)
        log.error("report %s %s: %s", pid, month, detail)
        return outcome("failed", detail)
    _mark(engine, pid, month, SENT, sent_at=now)
    log.info("report %s %s sent to %d recipients", pid, month, len(recipients))
    return outcome("sent")


def run_schedule(
    engine: Engine,
    store: MetricStore,
    settings: Settings,
    *,
    now: float,
    send: Send,
    render: Render = render_month_pdf,
    dry_run: bool = False,
) -> list[Delivery]:
    """One run: every partner with ``report_to`` gets each due month's report once (see
    the module's docstring). ``dry_run``: says what is due, makes and sends nothing.
    Returns what became of each (partner, month), partners in id order."""
    results: list[Delivery] = []
    try:
        for month in due_months(now, settings.city_tz):
            for partner in _addressed_partners(engine):
                results.append(
                    _deliver(
                        engine,
                        store,
                        settings,
                        partner=partner,
                        month=month,
                        now=now,
                        send=send,
                        render=render,
                        dry_run=dry_run,
                    )
                )
    except SQLAlchemyError as exc:
        # A claim or mark that could not be written: what was sent so far stays marked.
        reason = first_line(exc)
        raise DatabaseError(f"report schedule: inventory database: {reason}") from exc
    return results
