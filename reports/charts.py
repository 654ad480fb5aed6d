"""The report's charts as PNG images, drawn with matplotlib's Agg renderer.

Each function takes the report's values and a width in inches (the PDF frame's, so a
chart is embedded at its natural size and its text keeps the size it was drawn at) and
returns PNG bytes. Figures are made with ``matplotlib.figure.Figure`` and never through
pyplot: no global figure registry, no backend switch, nothing left behind between calls
in a long-running API process. The PNGs carry no "Software" stamp or timestamp, so the
same report draws the same bytes (the PDF must be reproducible).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

from reports.model import DayFigures, SiteFigures

#: Drawn at this resolution and embedded at the frame's width: sharp on paper and on a
#: projector, and small enough that 100 sites stay well within the 5 s budget.
DPI = 150
GB = 1e9

DOWN_COLOUR = "#1f4e79"
UP_COLOUR = "#8fb8de"
MET_COLOUR = "#2e7d32"
MISSED_COLOUR = "#c62828"
LINE_COLOUR = "#333333"
CLIENTS_COLOUR = "#e07b00"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: One style for every chart, applied per figure (rc_context), never globally.
_STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#888888",
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "svg.hashsalt": "citywifi",  # unused for PNG; no random ids if SVG is ever chosen
}


@contextmanager
def _styled() -> Iterator[None]:
    with matplotlib.rc_context(_STYLE):
        yield


def _figure(
    width_in: float,
    height_in: float,
    *,
    left: float = 0.6,
    right: float = 0.15,
    top: float = 0.3,
    bottom: float = 0.45,
) -> Figure:
    """A figure with fixed margins in inches. Not matplotlib's constrained layout: it lays
    every chart out by drawing it twice, which doubled the 100-site report's time; the
    charts' labels are short and known, so fixed room for them is enough."""
    figure = Figure(figsize=(width_in, height_in))
    figure.subplots_adjust(
        left=left / width_in,
        right=1 - right / width_in,
        top=1 - top / height_in,
        bottom=bottom / height_in,
    )
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _day_ticks(days: Sequence[DayFigures]) -> tuple[list[int], list[str]]:
    """At most ~16 labelled days, so a month shows every other day and a year every
    few weeks; labels as "11-03" (the year is on the page)."""
    step = max(1, math.ceil(len(days) / 16))
    positions = list(range(0, len(days), step))
    return positions, [days[i].day[5:] for i in positions]


def daily_traffic(days: Sequence[DayFigures], width_in: float) -> bytes:
    """Stacked bars per local day: GB downloaded and uploaded by the users."""
    with _styled():
        figure = _figure(width_in, 2.6)
        axes = figure.add_subplot()
        x = list(range(len(days)))
        down = [d.down_bytes / GB for d in days]
        up = [d.up_bytes / GB for d in days]
        axes.bar(x, down, color=DOWN_COLOUR, width=0.8, label="downloaded")
        axes.bar(x, up, bottom=down, color=UP_COLOUR, width=0.8, label="uploaded")
        positions, labels = _day_ticks(days)
        axes.set_xticks(positions, labels)
        axes.set_xlim(-0.6, max(len(days), 1) - 0.4)
        axes.set_ylabel("GB per day")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        axes.grid(axis="x", visible=False)
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2)
        return _png(figure)


def _site_label(site: SiteFigures) -> str:
    name = site.name if len(site.name) <= 30 else site.name[:29] + "…"
    return f"{name} ({site.site})"


def availability_axis_start(sites: Sequence[SiteFigures], target_pct: float) -> float:
    """Where the availability axis starts: 5 points below the lowest of the sites and the
    target, rounded down to a multiple of 5 (so 97 % and 99 % are told apart; the ticks
    show where the axis starts, the caption says so too)."""
    values = [s.figures.availability_pct for s in sites if s.figures.availability_pct is not None]
    lowest = min([target_pct, *values])
    return float(max(0, math.floor(lowest / 5) * 5 - 5))


def site_availability(
    sites: Sequence[SiteFigures], target_pct: float, axis_start: float, width_in: float
) -> bytes:
    """Horizontal bars of availability per site (met green, missed red) against the SLA
    target's dashed line; a site without polls is labelled "no polls", not drawn as 0."""
    with _styled():
        height = 0.9 + 0.22 * max(len(sites), 1)
        figure = _figure(width_in, height, left=2.4, right=0.2, top=0.2, bottom=0.5)
        axes = figure.add_subplot()
        y = list(range(len(sites)))
        for row, site in zip(y, sites, strict=True):
            pct = site.figures.availability_pct
            if pct is None:
                axes.text(axis_start + 0.3, row, "no polls", va="center", color="#777777")
                continue
            colour = MET_COLOUR if site.figures.sla_met else MISSED_COLOUR
            axes.barh(row, pct - axis_start, left=axis_start, height=0.7, color=colour)
            axes.text(pct, row, f" {pct:.2f}", va="center", fontsize=6.5)
        axes.axvline(target_pct, color=LINE_COLOUR, linestyle="--", linewidth=1)
        axes.text(
            target_pct,
            -0.9,
            f"SLA {target_pct:g} %",
            ha="center",
            va="bottom",
            fontsize=7,
            color=LINE_COLOUR,
        )
        axes.set_yticks(y, [_site_label(s) for s in sites])
        axes.set_ylim(len(sites) - 0.5, -1.0)
        axes.set_xlim(axis_start, 100.8)
        axes.set_xlabel("availability, % of polls answered (maintenance left out)")
        axes.grid(axis="y", visible=False)
        return _png(figure)


def heatmap(cells: Sequence[Sequence[int]], timezone: str, width_in: float) -> bytes:
    """Hour by weekday: GB (down + up) per local hour of each weekday over the period."""
    with _styled():
        figure = _figure(width_in, 2.5, left=0.5, right=0.1, top=0.1, bottom=0.45)
        axes = figure.add_subplot()
        values = [[v / GB for v in row] for row in cells]
        image = axes.imshow(values, aspect="auto", cmap="Blues", interpolation="nearest")
        axes.set_yticks(range(7), list(WEEKDAYS))
        axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
        axes.set_xlabel(f"hour of the day ({timezone})")
        axes.grid(False)
        for spine in axes.spines.values():
            spine.set_visible(False)
        bar = figure.colorbar(image, ax=axes, pad=0.01, fraction=0.04)
        bar.set_label("GB")
        bar.outline.set_visible(False)
        return _png(figure)


def daily_usage(days: Sequence[DayFigures], width_in: float) -> bytes:
    """Per local day: RADIUS sessions that began (bars, where any site sends accounting)
    and the peak of associated clients from the polls (line, right axis)."""
    with _styled():
        figure = _figure(width_in, 2.6, right=0.6)
        axes = figure.add_subplot()
        x = list(range(len(days)))
        has_sessions = any(d.sessions is not None for d in days)
        has_clients = any(d.clients_peak is not None for d in days)
        handles: list[Artist | tuple[Artist, ...]] = []
        if has_sessions:
            handles.append(
                axes.bar(
                    x,
                    [d.sessions or 0 for d in days],
                    color=DOWN_COLOUR,
                    width=0.8,
                    label="sessions (RADIUS)",
                )
            )
            axes.set_ylabel("sessions per day")
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        clients_axes = axes.twinx() if has_sessions else axes
        if has_clients:
            points = [(i, d.clients_peak) for i, d in enumerate(days) if d.clients_peak is not None]
            (line,) = clients_axes.plot(
                [i for i, _ in points],
                [v for _, v in points],
                color=CLIENTS_COLOUR,
                marker="o",
                markersize=2.5,
                linewidth=1.3,
                label="peak clients (SNMP)",
            )
            handles.append(line)
            clients_axes.set_ylabel("peak associated clients")
            clients_axes.set_ylim(bottom=0)
            clients_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            if clients_axes is not axes:
                clients_axes.grid(False)
                clients_axes.spines["right"].set_visible(True)
        positions, labels = _day_ticks(days)
        axes.set_xticks(positions, labels)
        axes.set_xlim(-0.6, max(len(days), 1) - 0.4)
        axes.grid(axis="x", visible=False)
        if handles:
            axes.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2)
        else:
            axes.text(0.5, 0.5, "no usage data", transform=axes.transAxes, ha="center")
        return _png(figure)
