"""The PDF report, read back with Debian's poppler-utils as a reader would see it.

The reports are built by hand (no database, no store): the renderer only formats what
the report holds, so every figure the tests look for is written here. ``pdftotext``
finds the names and the totals as printed; ``pdftoppm`` draws the pages, which are kept
as test artefacts (the path is printed; run with ``-s`` to see it) so a person can look
at what a partner's board would get.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy
import pytest
from PIL import Image

from reports.model import DayFigures, IncidentLine, SiteFigures, Totals, UsageReport
from reports.pdf import render_pdf

# No skip when poppler-utils is missing: scripts/test.sh installs it, and a test that
# skipped would hide a missing install step.

JAKARTA = ZoneInfo("Asia/Jakarta")
NOV_START = datetime(2026, 11, 1, tzinfo=JAKARTA).timestamp()  # 2026-10-31T17:00Z
DEC_START = datetime(2026, 12, 1, tzinfo=JAKARTA).timestamp()
GENERATED = datetime(2026, 12, 1, 1, 30, tzinfo=UTC).timestamp()


def _totals(**values: object) -> Totals:
    base: dict[str, object] = {
        "polls": 0,
        "polls_ok": 0,
        "availability_pct": None,
        "sla_met": None,
        "downtime_s": None,
        "maintenance_s": 0.0,
        "down_bytes": 0,
        "up_bytes": 0,
        "source": "snmp",
        "sessions": None,
        "users": None,
        "median_session_s": None,
        "clients_peak": None,
        "clients_mean": None,
    }
    base.update(values)
    return Totals(**base)  # type: ignore[arg-type]


def _days(count: int, *, sessions: bool) -> tuple[DayFigures, ...]:
    first = datetime(2026, 11, 1)
    return tuple(
        DayFigures(
            day=(first + timedelta(days=i)).strftime("%Y-%m-%d"),
            polls=2880,
            polls_ok=2880 - (300 if i == 12 else 10),
            availability_pct=(2880 - (300 if i == 12 else 10)) / 2880 * 100,
            down_bytes=(30 + 12 * (i % 7 in (5, 6)) + i % 5) * 10**9,
            up_bytes=(4 + i % 3) * 10**9,
            clients_peak=float(40 + (i * 7) % 23),
            sessions=(300 + (i * 37) % 120) if sessions else None,
        )
        for i in range(count)
    )


def _heatmap() -> tuple[tuple[int, ...], ...]:
    """Busy evenings, busier weekends: a shape a person can recognise in the PNG."""
    return tuple(
        tuple(
            (2 + 8 * (18 <= hour <= 22) + 3 * (8 <= hour <= 17) + 4 * (weekday >= 5)) * 10**8
            for hour in range(24)
        )
        for weekday in range(7)
    )


def _month_report() -> UsageReport:
    """Three sites of one partner in November 2026: RADIUS at one, SNMP clients at one,
    and one that was never polled; an outage and a still-open incident."""
    radius_site = SiteFigures(
        site="bks-park-01",
        name="Taman Kota Bekasi",
        district="bekasi-timur",
        figures=_totals(
            polls=86400,
            polls_ok=85536,
            availability_pct=99.0,
            sla_met=True,
            downtime_s=25920.0,
            maintenance_s=7200.0,
            down_bytes=900_000_000_000,
            up_bytes=70_000_000_000,
            source="radius",
            sessions=12_345,
            users=6_789,
            median_session_s=1425.0,
            clients_peak=61.0,
            clients_mean=17.25,
        ),
        incidents=(
            IncidentLine(
                id=41,
                kind="site_down",
                started_at=NOV_START + 12 * 86400 + 3600 * 9,
                ended_at=NOV_START + 12 * 86400 + 3600 * 14,
                duration_s=18000.0,
            ),
        ),
    )
    snmp_site = SiteFigures(
        site="bks-pasar-02",
        name="Pasar Baru — Blok C",
        district="bekasi-barat",
        figures=_totals(
            polls=43200,
            polls_ok=39744,
            availability_pct=92.0,
            sla_met=False,
            downtime_s=207360.0,
            down_bytes=334_567_890_123,
            up_bytes=28_765_432_100,
            clients_peak=35.0,
            clients_mean=9.5,
        ),
        incidents=(
            IncidentLine(
                id=57,
                kind="area_outage",
                started_at=DEC_START - 3 * 3600,
                ended_at=None,
                duration_s=10800.0,
            ),
        ),
    )
    silent_site = SiteFigures(
        site="bks-school-03",
        name="SDN Bekasi Jaya 3",
        district=None,
        figures=_totals(),
        incidents=(),
    )
    totals = _totals(
        polls=129600,
        polls_ok=125280,
        availability_pct=96.67,
        sla_met=True,
        downtime_s=86400.0,
        maintenance_s=7200.0,
        down_bytes=1_234_567_890_123,
        up_bytes=98_765_432_100,
        source="radius",
        sessions=12_345,
        users=6_789,
        median_session_s=1425.0,
        clients_peak=96.0,
        clients_mean=26.75,
    )
    previous = dataclasses.replace(
        totals,
        availability_pct=98.5,
        downtime_s=38880.0,
        down_bytes=1_100_000_000_000,
        up_bytes=90_000_000_000,
        sessions=11_000,
        users=6_000,
        clients_peak=90.0,
    )
    return UsageReport(
        partner="sinar",
        partner_name="PT Sinar Harapan Nusantara",
        city="Bekasi",
        timezone="Asia/Jakarta",
        period_label="2026-11",
        start=NOV_START,
        end=DEC_START,
        sla_target_pct=95.0,
        generated_at=GENERATED,
        sites=(snmp_site, radius_site, silent_site),
        totals=totals,
        days=_days(30, sessions=True),
        heatmap=_heatmap(),
        previous=previous,
        previous_label="2026-10",
    )


def _snmp_only_report() -> UsageReport:
    """No RADIUS anywhere, no comparison, no incidents, and a name that is not XML."""
    report = _month_report()
    sites = tuple(
        dataclasses.replace(
            s,
            figures=dataclasses.replace(
                s.figures, source="snmp", sessions=None, users=None, median_session_s=None
            ),
            incidents=(),
        )
        for s in report.sites
    )
    return dataclasses.replace(
        report,
        partner="kopi",
        partner_name="Kopi & <Teh> Sejahtera",
        sites=sites,
        totals=dataclasses.replace(
            report.totals, source="snmp", sessions=None, users=None, median_session_s=None
        ),
        days=_days(30, sessions=False),
        previous=None,
        previous_label=None,
    )


def _many_sites_report(count: int) -> UsageReport:
    report = _month_report()
    template = report.sites[1]
    sites = tuple(
        dataclasses.replace(
            template,
            site=f"bks-{i:03d}",
            name=f"Hotspot {i:03d}",
            figures=dataclasses.replace(
                template.figures,
                availability_pct=90 + (i * 37) % 100 / 10,
                sla_met=90 + (i * 37) % 100 / 10 >= 95,
            ),
            incidents=tuple(dataclasses.replace(x, id=1000 + i) for x in template.incidents),
        )
        for i in range(count)
    )
    return dataclasses.replace(report, sites=sites)


@pytest.fixture(scope="session")
def page_artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the page images are kept for a person to look at."""
    directory = tmp_path_factory.getbasetemp() / "report-pages"
    directory.mkdir(exist_ok=True)
    print(f"\nPDF report pages (PNG) are in {directory}")
    return directory


def _text(pdf: Path, page: int | None = None) -> str:
    pages = [] if page is None else ["-f", str(page), "-l", str(page)]
    done = subprocess.run(
        ["pdftotext", "-layout", *pages, str(pdf), "-"], capture_output=True, check=True, text=True
    )
    return done.stdout


def _pages(pdf: Path, directory: Path, stem: str) -> list[Path]:
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(directory / stem)], check=True)
    return sorted(directory.glob(f"{stem}-*.png"))


def _coloured_share(png: Path) -> float:
    """The share of the page's pixels in a clear colour (not white, grey or black): the
    charts' bars, lines and heat map; text and rules are grey to black."""
    with Image.open(png) as image:
        rgb = numpy.asarray(image.convert("RGB"), dtype=numpy.int16)
    spread = rgb.max(axis=2) - rgb.min(axis=2)
    return float((spread > 60).mean())


_RENDER_FROM_STDIN = (
    "import pickle, sys\n"
    "from reports.pdf import render_pdf\n"
    "sys.stdout.buffer.write(render_pdf(pickle.load(sys.stdin.buffer)))\n"
)


def _write(tmp_path: Path, report: UsageReport, name: str) -> Path:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(render_pdf(report))
    return path


def test_the_text_names_the_city_the_partner_and_the_totals(tmp_path: Path) -> None:
    text = _text(_write(tmp_path, _month_report(), "month"))
    for printed in (
        "PT Sinar Harapan Nusantara",
        "Bekasi public WiFi",
        "November 2026",
        "1 November 2026 to 30 November 2026, Asia/Jakarta time",
        "96.67 %",  # availability
        "target met",
        "1 d 0 h",  # downtime
        "1,234.57 GB",  # down
        "98.77 GB",  # up
        "1,333.33 GB",  # together
        "12,345",  # sessions
        "6,789",  # unique users
        "23 min",  # median session
        "1 of 2",  # sites that met the target (the unpolled one is not counted)
        "+12.2 %",  # downloaded against October
        "-1.83 pts",  # availability against October
        "All 3 sites",
        "Pasar Baru — Blok C",
        "missed",
        "site down",
        "2026-11-13 09:00",  # the outage, local time
        "still open",
        "How the figures are counted",
    ):
        assert printed in text, printed


def test_the_pages_render_and_the_charts_are_drawn(tmp_path: Path, page_artefacts: Path) -> None:
    pdf = _write(tmp_path, _month_report(), "month")
    shutil.copy(pdf, page_artefacts / "month.pdf")
    pages = _pages(pdf, page_artefacts, "month")
    assert len(pages) >= 4
    charts = {"Availability per site", "Daily traffic", "Sessions and clients per day"}
    charts |= {"Busiest hours"}
    for number, png in enumerate(pages, start=1):
        text = _text(pdf, number)
        with Image.open(png) as image:
            assert image.size == (414, 585)  # A4 (595 x 842 pt) at 50 dpi, rounded up
        drawn = {title for title in charts if title in text}
        if drawn:
            # A chart colours a few % of the page at least; pages of text alone ~0 %.
            assert _coloured_share(png) > 0.005 * len(drawn), (number, drawn)
        elif number > 1:  # the title page has its coloured band and figures
            assert _coloured_share(png) < 0.002, number
        charts -= drawn
    assert not charts  # every chart is on some page


def test_a_report_without_radius_comparison_or_incidents(
    tmp_path: Path, page_artefacts: Path
) -> None:
    pdf = _write(tmp_path, _snmp_only_report(), "snmp-only")
    text = _text(pdf)
    assert "Kopi & <Teh> Sejahtera" in text
    assert "peak associated clients" in text
    assert "96" in text and "26.8" in text  # totals' peak and mean clients
    assert "Compared with the previous period" not in text
    assert "No outage took any of these sites down" in text
    assert "RADIUS sessions" not in text and "sessions (RADIUS accounting)" not in text
    assert _pages(pdf, page_artefacts, "snmp-only")


def test_the_same_report_gives_the_same_bytes_dated_when_it_was_generated(
    tmp_path: Path,
) -> None:
    report = _month_report()
    first = render_pdf(report)
    # Another process with another string hash seed: no set or dict order, id or clock
    # leaks into the bytes.
    other = subprocess.run(
        [sys.executable, "-c", _RENDER_FROM_STDIN],
        input=pickle.dumps(report),
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert other.stdout == first
    assert b"D:20261201013000+00'00'" in first
    path = tmp_path / "month.pdf"
    path.write_bytes(first)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    assert "PT Sinar Harapan Nusantara" in info.stdout  # the title, for a file browser


def test_a_hundred_sites_render(tmp_path: Path, page_artefacts: Path) -> None:
    """A hundred sites: the table runs over pages and the per-site chart is split. How
    long it takes is measured by bench/bench_reports.py, not asserted here."""
    report = _many_sites_report(100)
    pdf = render_pdf(report)
    path = tmp_path / "hundred.pdf"
    path.write_bytes(pdf)
    text = _text(path)
    assert "Hotspot 099" in text and "All 100 sites" in text
    assert "Availability per site (4 of 4)" in text
    assert _pages(path, page_artefacts, "hundred")


def test_a_partner_without_sites_or_polls_still_gets_a_document(tmp_path: Path) -> None:
    report = dataclasses.replace(
        _snmp_only_report(), sites=(), totals=_totals(), days=(), heatmap=((0,) * 24,) * 7
    )
    text = _text(_write(tmp_path, report, "empty"))
    assert "All 0 sites" in text and "no polls" in text
