"""The report as a PDF a partner can hand to its board (reportlab platypus, A4).

Pages: a title page in the city's and the partner's name with the headline figures and
the comparison with the previous period; the table of sites; the charts (daily traffic,
availability per site against the SLA line, the hour-by-weekday heat map, sessions and
clients per day); the incidents; a note on how the figures are counted. Everything shown
comes from the :class:`UsageReport` as it is: this module formats, it never computes a
figure (so the PDF, the JSON and the CSV cannot disagree), apart from the day-on-day
chart scaling and the percentage changes against the previous period.

Reproducible: the same report gives the same bytes. reportlab runs in its invariant mode
(fixed document id, no comments with addresses), the creation date is the report's
``generated_at``, the charts are PNGs without timestamps, and fonts are embedded from the
DejaVu files matplotlib ships (the charts use the same face), so the output does not
depend on the machine's fonts and any Unicode in a site or partner name prints.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import matplotlib
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from reports import charts
from reports.model import IncidentLine, SiteFigures, Totals, UsageReport

__all__ = ["render_pdf"]

FONT, BOLD = "CitywifiSans", "CitywifiSans-Bold"
MARGIN = 18 * mm
FRAME_WIDTH = A4[0] - 2 * MARGIN
FRAME_HEIGHT = A4[1] - 2 * MARGIN
GB = 1e9
NOT_MEASURED = "—"
#: Sites per availability chart: one chart fits a page with its heading.
SITES_PER_CHART = 30

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#666666")
ACCENT = colors.HexColor(charts.DOWN_COLOUR)
MET = colors.HexColor(charts.MET_COLOUR)
MISSED = colors.HexColor(charts.MISSED_COLOUR)
RULE = colors.HexColor("#cccccc")
STRIPE = colors.HexColor("#f3f6f9")

#: Outage classes as a board reads them.
KIND_LABELS = {
    "ap_down": "access point down",
    "site_down": "site down",
    "uplink_down": "uplink down",
    "area_outage": "area outage (power)",
    "flapping": "unstable (flapping)",
}


@cache
def _configure_reportlab() -> None:
    """Once per process, before the first document.

    Fonts: DejaVu Sans from matplotlib's data, the same face as the charts, full Unicode,
    and always there (reportlab's built-in Helvetica has nothing outside Latin-1, which
    a site's name, or a dash, may need).

    Streams: no ASCII85 on top of Flate. reportlab's default wraps every stream in it (for
    7-bit mail transports of the 1990s); without its optional C accelerator that encoding
    in pure Python was a third of a 100-site report's time, and it makes the file 25 %
    larger. It is reportlab's global setting: this module is its only user here.
    """
    rl_config.useA85 = 0
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(ttf / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(ttf / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def _style(name: str, **overrides: Any) -> ParagraphStyle:
    base: dict[str, Any] = {"fontName": FONT, "fontSize": 9.5, "leading": 13, "textColor": INK}
    base.update(overrides)
    return ParagraphStyle(name, **base)


class _Styles:
    def __init__(self) -> None:
        self.body = _style("body", spaceAfter=6)
        self.small = _style("small", fontSize=8, leading=10.5)
        self.small_right = _style("small_right", fontSize=8, leading=10.5, alignment=TA_RIGHT)
        self.muted = _style("muted", fontSize=8.5, leading=11, textColor=MUTED)
        self.caption = _style("caption", fontSize=8, leading=10.5, textColor=MUTED, spaceAfter=8)
        self.h1 = _style("h1", fontName=BOLD, fontSize=16, leading=20, spaceAfter=8)
        self.h2 = _style("h2", fontName=BOLD, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4)
        self.kicker = _style("kicker", fontSize=11, leading=14, textColor=ACCENT)
        self.title = _style("title", fontName=BOLD, fontSize=26, leading=32, spaceBefore=6)
        self.partner = _style("partner", fontName=BOLD, fontSize=18, leading=23, textColor=ACCENT)
        self.card_value = _style("card_value", fontName=BOLD, fontSize=17, leading=21)
        self.card_label = _style("card_label", fontSize=8, leading=10, textColor=MUTED)
        self.cell = _style("cell", fontSize=8, leading=10)
        self.cell_bold = _style("cell_bold", fontName=BOLD, fontSize=8, leading=10)
        self.cell_right = _style("cell_right", fontSize=8, leading=10, alignment=TA_RIGHT)
        self.centre = _style("centre", fontSize=8, leading=10, alignment=TA_CENTER)


# -- formatting: one place for how each kind of number is printed -----------------------


def _pct(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.2f} %"


def _gb(value: int) -> str:
    return f"{value / GB:,.2f} GB"


def _count(value: int | None) -> str:
    return NOT_MEASURED if value is None else f"{value:,}"


def _clients(value: float | None) -> str:
    if value is None:
        return NOT_MEASURED
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _duration(seconds: float | None) -> str:
    """ "45 s", "12 min 30 s", "3 h 05 min", "2 d 4 h": as precise as a reader needs."""
    if seconds is None:
        return NOT_MEASURED
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        minutes, rest = divmod(s, 60)
        return f"{minutes} min {rest} s" if minutes < 10 and rest else f"{minutes} min"
    if s < 86400:
        hours, rest = divmod(s, 3600)
        return f"{hours} h {rest // 60:02d} min"
    days, rest = divmod(s, 86400)
    return f"{days} d {rest // 3600} h"


def _change(now: float | None, before: float | None) -> str:
    """Relative change; "—" when either side is unmeasured or the base is zero."""
    if now is None or before is None or before == 0:
        return NOT_MEASURED
    change = (now - before) / before * 100
    return f"{change:+.1f} %"


def _points(now: float | None, before: float | None) -> str:
    """A change of a percentage, in percentage points (not a percent of a percent)."""
    if now is None or before is None:
        return NOT_MEASURED
    return f"{now - before:+.2f} pts"


class _Clock:
    """Local dates and times of the report's time zone."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)

    def at(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, self.tz)

    def minute(self, epoch: float) -> str:
        return self.at(epoch).strftime("%Y-%m-%d %H:%M")

    def day(self, epoch: float) -> str:
        return self.at(epoch).strftime("%-d %B %Y")


def _period_heading(report: UsageReport, clock: _Clock) -> tuple[str, str]:
    """("November 2026", "1 November 2026 to 30 November 2026, Asia/Jakarta time")."""
    first = clock.at(report.start)
    last = clock.at(report.end) - timedelta(seconds=1)
    if len(report.period_label) == 7 and report.period_label[4] == "-":
        heading = first.strftime("%B %Y")
    else:
        heading = report.period_label
    return heading, f"{clock.day(report.start)} to {clock.day(last.timestamp())}, " + (
        f"{report.timezone} time"
    )


# -- the pages ----------------------------------------------------------------------------


def _title_page(report: UsageReport, st: _Styles, clock: _Clock) -> list[Flowable]:
    heading, dates = _period_heading(report, clock)
    totals = report.totals
    story: list[Flowable] = [
        Spacer(1, 18 * mm),
        Paragraph(f"{escape(report.city)} public WiFi programme", st.kicker),
        Paragraph("Usage and service report", st.title),
        Spacer(1, 4 * mm),
        Paragraph(escape(report.partner_name), st.partner),
        Paragraph(f"{escape(heading)} · {escape(dates)}", st.muted),
        Spacer(1, 10 * mm),
        _cards(report, st),
        Spacer(1, 8 * mm),
    ]
    if report.previous is not None:
        story += [
            Paragraph(
                f"Compared with the previous period ({escape(report.previous_label or '')})",
                st.h2,
            ),
            _comparison(totals, report.previous, report.previous_label or "previous", st),
        ]
    story += [
        Spacer(1, 10 * mm),
        Paragraph(
            f"Prepared by the {escape(report.city)} public WiFi network operations centre for "
            f"{escape(report.partner_name)} ({escape(report.partner)}), "
            f"{clock.minute(report.generated_at)} {escape(report.timezone)}. "
            "How each figure is counted is explained on the last page.",
            st.muted,
        ),
        PageBreak(),
    ]
    return story


def _card(value: str, label: str, st: _Styles, colour: colors.Color = INK) -> list[Flowable]:
    value_style = ParagraphStyle("v", parent=st.card_value, textColor=colour)
    return [Paragraph(escape(value), value_style), Paragraph(label, st.card_label)]


def _cards(report: UsageReport, st: _Styles) -> Table:
    totals = report.totals
    met = [s for s in report.sites if s.figures.sla_met]
    measured = [s for s in report.sites if s.figures.sla_met is not None]
    if totals.sla_met is None:
        verdict, colour = "no polls", INK
    elif totals.sla_met:
        verdict, colour = "target met", MET
    else:
        verdict, colour = "target missed", MISSED
    target = f"{report.sla_target_pct:g} %"
    rows: list[list[list[Flowable]]] = [
        [
            _card(
                _pct(totals.availability_pct), f"availability · SLA {target}: {verdict}", st, colour
            ),
            _card(_duration(totals.downtime_s), "downtime (outside declared maintenance)", st),
            _card(
                f"{len(met)} of {len(measured)}",
                f"sites met the {target} target ({len(report.sites)} sponsored sites)",
                st,
            ),
        ],
        [
            _card(_gb(totals.down_bytes), "data downloaded by users", st),
            _card(_gb(totals.up_bytes), "data uploaded by users", st),
            _card(_gb(totals.down_bytes + totals.up_bytes), "data in total", st),
        ],
    ]
    if totals.source == "radius":
        rows.append(
            [
                _card(_count(totals.sessions), "sessions (RADIUS accounting)", st),
                _card(_count(totals.users), "unique users (RADIUS accounting)", st),
                _card(_duration(totals.median_session_s), "median session time", st),
            ]
        )
    else:
        rows.append(
            [
                _card(_clients(totals.clients_peak), "peak associated clients (SNMP polls)", st),
                _card(_clients(totals.clients_mean), "mean associated clients (SNMP polls)", st),
                _card(_duration(totals.maintenance_s), "declared maintenance", st),
            ]
        )
    table = Table(rows, colWidths=[FRAME_WIDTH / 3] * 3)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (0, 0), (-1, -1), 1.2, ACCENT),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 12),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 10),
            ]
        )
    )
    return table


def _comparison(now: Totals, before: Totals, label: str, st: _Styles) -> Table:
    rows: list[list[str]] = [
        ["", "this period", label, "change"],
        [
            "availability",
            _pct(now.availability_pct),
            _pct(before.availability_pct),
            _points(now.availability_pct, before.availability_pct),
        ],
        [
            "downtime",
            _duration(now.downtime_s),
            _duration(before.downtime_s),
            _change(now.downtime_s, before.downtime_s),
        ],
        ["data downloaded", _gb(now.down_bytes), _gb(before.down_bytes)],
        ["data uploaded", _gb(now.up_bytes), _gb(before.up_bytes)],
    ]
    rows[3].append(_change(now.down_bytes, before.down_bytes))
    rows[4].append(_change(now.up_bytes, before.up_bytes))
    if now.source == "radius" or before.source == "radius":
        rows += [
            ["sessions", _count(now.sessions), _count(before.sessions)],
            ["unique users", _count(now.users), _count(before.users)],
        ]
        rows[-2].append(_change(now.sessions, before.sessions))
        rows[-1].append(_change(now.users, before.users))
    rows.append(
        [
            "peak clients",
            _clients(now.clients_peak),
            _clients(before.clients_peak),
            _change(now.clients_peak, before.clients_peak),
        ]
    )
    table = Table(rows, colWidths=[45 * mm, 38 * mm, 38 * mm, 30 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("FONT", (0, 0), (-1, 0), BOLD, 9),
                ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
                ("LINEBELOW", (0, -1), (-1, -1), 0.8, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _usage_cell(figures: Totals, st: _Styles) -> Paragraph:
    if figures.source == "snmp" and figures.clients_peak is None:
        return Paragraph(NOT_MEASURED, st.cell)
    if figures.source == "radius":
        # Two lines to a row; the median session time is on the title page (and in the
        # JSON and CSV per site).
        text = f"{_count(figures.sessions)} sessions<br/>{_count(figures.users)} users"
    else:
        text = (
            f"peak {_clients(figures.clients_peak)} clients<br/>"
            f"mean {_clients(figures.clients_mean)}"
        )
    return Paragraph(text, st.cell)


def _sla_cell(figures: Totals) -> str:
    if figures.sla_met is None:
        return NOT_MEASURED
    return "met" if figures.sla_met else "missed"


def _sites_table(report: UsageReport, st: _Styles) -> list[Flowable]:
    header = ["Site", "Availability", "SLA", "Downtime", "Down", "Up", "Usage", "Source"]
    rows: list[list[Any]] = [header]
    for site in report.sites:
        f = site.figures
        where = escape(site.site) + (f" · {escape(site.district)}" if site.district else "")
        rows.append(
            [
                Paragraph(f"{escape(site.name)}<br/><font color='#666666'>{where}</font>", st.cell),
                _pct(f.availability_pct),
                _sla_cell(f),
                _duration(f.downtime_s),
                _gb(f.down_bytes),
                _gb(f.up_bytes),
                _usage_cell(f, st),
                f.source.upper(),
            ]
        )
    t = report.totals
    rows.append(
        [
            Paragraph(f"All {len(report.sites)} sites", st.cell_bold),
            _pct(t.availability_pct),
            _sla_cell(t),
            _duration(t.downtime_s),
            _gb(t.down_bytes),
            _gb(t.up_bytes),
            _usage_cell(t, st),
            t.source.upper(),
        ]
    )
    widths = [42, 18, 13, 18, 22, 18, 31, 12]
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("FONT", (0, 0), (-1, 0), BOLD, 8),
        ("FONT", (0, -1), (-1, -1), BOLD, 8),
        ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 0), (5, -1), "RIGHT"),
        ("ALIGN", (2, 0), (2, -1), "CENTER"),
        ("ALIGN", (7, 0), (7, -1), "CENTER"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
        ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, STRIPE]),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    for row, figures in enumerate([s.figures for s in report.sites] + [t], start=1):
        if figures.sla_met is not None:
            colour = MET if figures.sla_met else MISSED
            style.append(("TEXTCOLOR", (2, row), (2, row), colour))
    table.setStyle(TableStyle(style))
    return [
        Paragraph("Sites", st.h1),
        Paragraph(
            f"Each sponsored site over the period against the SLA target of "
            f"{report.sla_target_pct:g} %. Data in GB (10<super>9</super> bytes). "
            "Usage comes from RADIUS accounting (sessions, unique users, median session "
            "time) where the site sends it, otherwise from the SNMP polls (peak and mean "
            "associated clients); the Source column says which.",
            st.body,
        ),
        table,
    ]


def _image(png: bytes, max_height: float = FRAME_HEIGHT - 30 * mm) -> Image:
    """The chart at the frame's width (it was drawn at that width), shrunk only if taller
    than a page can hold."""
    width_px, height_px = ImageReader(io.BytesIO(png)).getSize()
    width = FRAME_WIDTH
    height = width * height_px / width_px
    if height > max_height:
        width, height = width * max_height / height, max_height
    return Image(io.BytesIO(png), width=width, height=height)


def _chart(title: str, png: bytes, caption: str, st: _Styles) -> KeepTogether:
    return KeepTogether([Paragraph(title, st.h2), _image(png), Paragraph(caption, st.caption)])


def _charts(report: UsageReport, st: _Styles) -> list[Flowable]:
    width_in = FRAME_WIDTH / 72
    story: list[Flowable] = [PageBreak(), Paragraph("Traffic and use", st.h1)]
    story.append(
        _chart(
            "Daily traffic",
            charts.daily_traffic(report.days, width_in),
            f"GB downloaded and uploaded by the users per day ({escape(report.timezone)} "
            "calendar days), all sites together.",
            st,
        )
    )
    usage_caption = (
        "The day's peak of associated clients reported by the access points' SNMP polls "
        "(devices connected at once)."
    )
    if any(day.sessions is not None for day in report.days):
        usage_caption = "Bars: RADIUS sessions that began each day. Line: " + usage_caption
    if report.totals.source == "radius":
        usage_caption += (
            f" Unique users over the period: {_count(report.totals.users)} "
            "(per day they are not counted: see the note on users)."
        )
    story.append(
        _chart(
            "Sessions and clients per day",
            charts.daily_usage(report.days, width_in),
            usage_caption,
            st,
        )
    )
    story.append(
        _chart(
            "Busiest hours",
            charts.heatmap(report.heatmap, report.timezone, width_in),
            "Data (down + up) per local hour and weekday, summed over the period; darker is "
            "busier.",
            st,
        )
    )
    return story


def _availability_charts(report: UsageReport, st: _Styles) -> list[Flowable]:
    """Beside the sites table: one chart per ``SITES_PER_CHART`` sites, lowest first so
    the misses lead."""
    width_in = FRAME_WIDTH / 72
    story: list[Flowable] = []
    ranked = sorted(
        report.sites,
        key=lambda s: (
            s.figures.availability_pct is None,
            s.figures.availability_pct or 0.0,
            s.site,
        ),
    )
    start = charts.availability_axis_start(report.sites, report.sla_target_pct)
    chunks = [ranked[i : i + SITES_PER_CHART] for i in range(0, len(ranked), SITES_PER_CHART)]
    for number, chunk in enumerate(chunks, start=1):
        title = "Availability per site"
        if len(chunks) > 1:
            title += f" ({number} of {len(chunks)})"
        story.append(CondPageBreak(FRAME_HEIGHT / 2))
        story.append(
            _chart(
                title,
                charts.site_availability(chunk, report.sla_target_pct, start, width_in),
                f"Lowest first. Green: at or above the SLA target of {report.sla_target_pct:g} % "
                f"(dashed line); red: below it. The axis starts at {start:g} %.",
                st,
            )
        )
    return story


def _incidents(report: UsageReport, st: _Styles, clock: _Clock) -> list[Flowable]:
    lines: list[tuple[IncidentLine, SiteFigures]] = [
        (incident, site) for site in report.sites for incident in site.incidents
    ]
    lines.sort(key=lambda pair: (pair[0].started_at, pair[1].site, pair[0].id))
    story: list[Flowable] = [PageBreak(), Paragraph("Incidents", st.h1)]
    if not lines:
        story.append(
            Paragraph("No outage took any of these sites down during the period.", st.body)
        )
        return story
    story.append(
        Paragraph(
            "Outages that took a site, or some of its access points, down during the period, "
            "oldest first; times are clipped to the period, an incident still open at its end "
            "says so. One incident across several sites is listed once per site.",
            st.body,
        )
    )
    rows: list[list[Any]] = [["#", "Site", "What happened", "Started", "Ended", "Duration"]]
    for incident, site in lines:
        rows.append(
            [
                str(incident.id),
                Paragraph(escape(f"{site.name} ({site.site})"), st.cell),
                KIND_LABELS.get(incident.kind, incident.kind.replace("_", " ")),
                clock.minute(incident.started_at),
                "still open" if incident.ended_at is None else clock.minute(incident.ended_at),
                _duration(incident.duration_s),
            ]
        )
    table = Table(rows, colWidths=[w * mm for w in (12, 48, 32, 29, 29, 24)], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8),
                ("FONT", (0, 0), (-1, 0), BOLD, 8),
                ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (-1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, STRIPE]),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story.append(table)
    return story


def _methods(report: UsageReport, st: _Styles) -> list[Flowable]:
    target = f"{report.sla_target_pct:g} %"
    notes = [
        (
            "Availability",
            "Every access point is polled at a fixed interval. A site's availability is the "
            "share of its access points' polls that were answered, leaving out the polls made "
            "during maintenance windows declared in advance for the site or its district. The "
            f"SLA target of {target} is met when availability is at or above it. Downtime is "
            "the time of the period outside declared maintenance multiplied by the share of "
            "polls not answered. The daily figures count every poll of the day, maintenance "
            "included.",
        ),
        (
            "Data",
            "Data volumes add up, poll by poll, the increase of each access point's traffic "
            "counters, so a counter that wraps around or restarts after a reboot is counted "
            "once and never as a jump. Downloaded is what the users received, uploaded what "
            "they sent. 1 GB = 10<super>9</super> bytes.",
        ),
        (
            "Sessions and users",
            "Where a site's hotspot sends RADIUS accounting, sessions are the sessions that "
            "began in the period and unique users the distinct users among them. Users are "
            "recognised only by a keyed hash of their identity whose key changes every month, "
            "so a person is counted once within a calendar month; over a period spanning "
            "several months the monthly counts are added, an upper bound. No MAC address, IP "
            "address or user name is kept or shown.",
        ),
        (
            "Clients",
            "Where a site sends no RADIUS accounting, usage is the number of client devices "
            "associated with its access points as the SNMP polls report it: the peak and the "
            "mean over the polls. These count devices connected at the same time, not people. "
            "The Source column of the sites table says which applies to each site.",
        ),
        (
            "Incidents and times",
            "Incidents are the outages the network operations centre's fault engine "
            "recorded for the sites' access points: an access point or a whole site down, "
            "an uplink down, an outage across an area (usually power), or an access point "
            "going down and up repeatedly (flapping). Warnings that did not take a site "
            "down (overload, a reboot that came back at once) are not listed. Days and hours "
            "are those of the "
            f"{escape(report.timezone)} time zone; the period runs from its first local "
            "midnight to the last.",
        ),
    ]
    story: list[Flowable] = [
        CondPageBreak(FRAME_HEIGHT * 0.6),
        Spacer(1, 8 * mm),
        Paragraph("How the figures are counted", st.h1),
    ]
    for title, text in notes:
        story += [Paragraph(title, st.h2), Paragraph(text, st.body)]
    return story


def _pdf_date(epoch: float) -> Callable[..., str]:
    stamp = datetime.fromtimestamp(epoch, UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    return lambda *_: stamp


def _page_decorations(report: UsageReport) -> tuple[Callable[..., None], Callable[..., None]]:
    footer_left = f"{report.city} public WiFi · {report.partner_name} · {report.period_label}"

    def first(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        canvas.setDateFormatter(_pdf_date(report.generated_at))
        canvas.saveState()
        canvas.setFillColor(ACCENT)
        canvas.rect(0, A4[1] - 8 * mm, A4[0], 8 * mm, stroke=0, fill=1)
        canvas.restoreState()

    def later(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.line(MARGIN, MARGIN - 5 * mm, A4[0] - MARGIN, MARGIN - 5 * mm)
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, MARGIN - 9 * mm, footer_left)
        canvas.drawRightString(A4[0] - MARGIN, MARGIN - 9 * mm, f"page {doc.page}")
        canvas.restoreState()

    return first, later


def render_pdf(report: UsageReport) -> bytes:
    """The report as PDF bytes; the same report always gives the same bytes."""
    _configure_reportlab()
    st = _Styles()
    clock = _Clock(report.timezone)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{report.city} public WiFi: usage and service report, "
        f"{report.partner_name}, {report.period_label}",
        author=f"{report.city} public WiFi network operations centre",
        subject=f"Usage and SLA report for {report.partner_name}",
        creator="citywifi",
        invariant=True,
        lang="en",
    )
    story = (
        _title_page(report, st, clock)
        + _sites_table(report, st)
        + _availability_charts(report, st)
        + _charts(report, st)
        + _incidents(report, st, clock)
        + _methods(report, st)
    )
    first, later = _page_decorations(report)
    document.build(story, onFirstPage=first, onLaterPages=later)
    return buffer.getvalue()
