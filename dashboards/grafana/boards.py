"""The four dashboards, each built for one backend from the same panel list.

What the stores hold decides what can be drawn (docs/metrics.md): every ``ap`` sample
carries the AP's ``ap``, ``site``, ``district`` and ``partner`` ids as tags, no names and
no coordinates; the collector writes those once a minute per site as the ``site_info``
series (measurement ``site``, field ``info`` = 1, names and ``lat``/``lon`` as tags). The
geomap and the names in tables and legends join it in on ``site`` (or ``district``):
PromQL with ``* on (site) group_left (...)``; InfluxQL cannot join measurements, so its
tables and map get a second query and Grafana's "join by field" transformation, and its
time-series legends stay on ids.

Conventions shared by every query (both backends mean the same thing):

- "now" is the last reading of each AP within the dashboard's range (PromQL
  ``last_over_time(..[$__range])`` as an instant query at the range's end; InfluxQL
  ``last()`` under ``$timeFilter``);
- availability is the share of polls answered, counted over samples (PromQL
  ``sum_over_time / count_over_time``; InfluxQL ``mean("reachable")``), never a mean of
  per-AP means, as the store's own ``aggregate`` counts it;
- a district's or a partner's clients and traffic are the sum over its APs of each AP's
  mean in the interval.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync

from dashboards.grafana.backends import Backend, short_name
from dashboards.grafana.panels import (
    availability_thresholds,
    bar_panel,
    geomap_panel,
    series_panel,
    stat_panel,
    state_mapping,
    table_panel,
    variable,
)
from dashboards.grafana.queries import Query, Shape

__all__ = [
    "DASHBOARD_NAMES",
    "access_point",
    "coverage",
    "dashboard_uid",
    "network_operations",
    "partner_usage",
]

DASHBOARD_NAMES: tuple[str, ...] = (
    "network-operations",
    "access-point",
    "coverage",
    "partner-usage",
)

_RATE = "$__rate_interval"
_LAST = "last_over_time(ap_reachable{sel}[$__range])"
# The site info at the range's end. A short window, not $__range: a site renamed within
# the window has two info series for a while, which a group_left join refuses.
_SITE_INFO = "last_over_time(site_info[10m])"
# Site info tags the tables and the map show.
_TABLE_NAMES: tuple[str, ...] = ("site_name", "district_name")
_MAP_NAMES: tuple[str, ...] = ("site_name", "district_name", "partner_name", "kind", "lat", "lon")


def _join_names(promql: str, on: str, names: tuple[str, ...]) -> str:
    """``promql`` with the site info's ``names`` copied onto each series, matched on
    ``on`` (``site`` or ``district``); the value is unchanged (the info is 1)."""
    labels = ", ".join(names)
    return f"({promql}) * on ({on}) group_left ({labels}) max by ({on}, {labels}) ({_SITE_INFO})"


def _district_names(query: Query) -> Query:
    """A per-district query whose VictoriaMetrics legend names the district; InfluxDB
    keeps the id (InfluxQL cannot join the name in)."""
    return replace(
        query,
        promql=_join_names(query.promql, "district", ("district_name",)),
        legend=query.legend.replace("{district}", "{district_name}"),
        influx_legend=query.legend,
    )


def dashboard_uid(name: str, backend: Backend) -> str:
    """``citywifi-<name>-vm`` / ``citywifi-<name>-influx``: stable, so a push overwrites."""
    return f"citywifi-{name}-{short_name(backend)}"


def _dashboard(name: str, title: str, description: str, backend: Backend) -> Dashboard:
    return (
        Dashboard(title)
        .uid(dashboard_uid(name, backend))
        .description(description)
        .tags(["citywifi", short_name(backend)])
        .time("now-24h", "now")
        .refresh("1m")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
    )


# -- queries shared by several dashboards ---------------------------------------------------


def _availability_by(tag: str, window: str, where: str = "", sel: str = "") -> Query:
    over_time = window == _RATE  # a series per interval, else one value for the range
    group = f'GROUP BY time($__interval), "{tag}" fill(none)' if over_time else f'GROUP BY "{tag}"'
    shape: Shape = "series" if over_time else "value"
    return Query(
        promql=f"100 * sum by ({tag}) (sum_over_time(ap_reachable{sel}[{window}]))"
        f" / sum by ({tag}) (count_over_time(ap_reachable{sel}[{window}]))",
        influxql=f'SELECT 100 * mean("reachable") FROM "ap" WHERE {where}$timeFilter {group}',
        legend=f"{{{tag}}}",
        shape=shape,
    )


def _sum_of_ap_means(
    field: str, by: str | None, legend: str, where: str = "", sel: str = ""
) -> Query:
    """Per AP mean in each interval, summed over the group's APs."""
    outer_group = f', "{by}"' if by else ""
    inner_group = f', "ap"{outer_group}'
    return Query(
        promql=f"sum{f' by ({by})' if by else ''} (avg_over_time(ap_{field}{sel}[{_RATE}]))",
        influxql=f'SELECT sum("v") FROM (SELECT mean("{field}") AS "v" FROM "ap" WHERE '
        f"{where}$timeFilter GROUP BY time($__interval){inner_group}) WHERE $timeFilter"
        f" GROUP BY time($__interval){outer_group} fill(none)",
        legend=legend,
    )


def _last_state_table(where: str = "", sel: str = "", down_only: bool = False) -> Query:
    tags = '"ap", "site", "district", "partner"'
    inner = (
        f'SELECT last("reachable") AS "state" FROM "ap" WHERE {where}$timeFilter GROUP BY {tags}'
    )
    if down_only:
        influxql = (
            f'SELECT "state" FROM ({inner}) WHERE "state" = 0 AND $timeFilter GROUP BY {tags}'
        )
        promql = _LAST.format(sel=sel) + " == 0"
    else:
        influxql, promql = inner, _LAST.format(sel=sel)
    promql = _join_names(promql, "site", _TABLE_NAMES)
    return Query(promql=promql, influxql=influxql, shape="table")


def _site_states() -> Query:
    """Each site's state code at the range's end: the best AP's last ``reachable`` plus
    the worst's, so 2 = every AP up, 0 = every AP down, 1 = some of each (degraded); the
    VictoriaMetrics variant with the site's names and coordinates joined in."""
    last = _LAST.format(sel="")
    return Query(
        promql=_join_names(f"max by (site) ({last}) + min by (site) ({last})", "site", _MAP_NAMES),
        influxql='SELECT max("v") + min("v") AS "state" FROM (SELECT last("reachable") AS "v"'
        ' FROM "ap" WHERE $timeFilter GROUP BY "ap", "site") WHERE $timeFilter GROUP BY "site"',
        shape="table",
    )


def _last_per_ap_sum(
    expression: Literal["up", "down"],
    by: str | None,
    legend: str = "",
    *,
    sites: bool = False,
    where: str = "",
    sel: str = "",
) -> Query:
    """Σ over APs (or, ``sites``, over sites: the best AP of each) of each AP's last
    reading of ``reachable``; ``expression`` is ``up`` (as is) or ``down`` (1 - up)."""
    group = f' GROUP BY "{by}"' if by else ""
    by_clause = f" by ({by})" if by else ""
    keys = f', "{by}"' if by else ""
    last_prom = _LAST.format(sel=sel)
    last_influx = 'last("reachable")'
    if expression == "down":
        last_prom, last_influx = f"(1 - {last_prom})", f"1 - {last_influx}"
    inner = (
        f'SELECT {last_influx} AS "v" FROM "ap" WHERE {where}$timeFilter'
        f' GROUP BY "ap", "site"{keys}'
    )
    if sites:
        promql = f"sum{by_clause} (max by (site{', ' + by if by else ''}) ({last_prom}))"
        inner = f'SELECT max("v") AS "v" FROM ({inner}) WHERE $timeFilter GROUP BY "site"{keys}'
    else:
        promql = f"sum{by_clause} ({last_prom})"
    return Query(
        promql=promql,
        influxql=f'SELECT sum("v") FROM ({inner}) WHERE $timeFilter{group}',
        legend=legend,
        shape="value",
    )


# -- the dashboards -------------------------------------------------------------------------


def network_operations(backend: Backend, sla_target_pct: float) -> Dashboard:
    d = "district"
    return (
        _dashboard(
            "network-operations",
            "citywifi · Network operations",
            "Where the hotspots are and which are up, degraded or down now, and how each "
            "district's availability, clients and traffic move.",
            backend,
        )
        .with_row(Row("Now"))
        .with_panel(
            geomap_panel(
                backend,
                "Sites by state",
                "Each site at its place, coloured by its APs' last polls in the range: green "
                "all up, orange some down (degraded), red all down. Hover for its name.",
                _site_states(),
                _MAP_NAMES,
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "APs up",
                "Access points whose last poll in the range was answered.",
                "short",
                _last_per_ap_sum("up", None),
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "APs down",
                "Access points whose last poll in the range went unanswered.",
                "short",
                _last_per_ap_sum("down", None),
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "Clients",
                "Wireless clients on all APs (each AP's mean in the last interval, summed).",
                "short",
                _sum_of_ap_means("clients", None, "clients"),
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "Availability",
                "Share of polls answered over the range, all APs.",
                "percent",
                Query(
                    promql="100 * sum(sum_over_time(ap_reachable[$__range]))"
                    " / sum(count_over_time(ap_reachable[$__range]))",
                    influxql='SELECT 100 * mean("reachable") FROM "ap" WHERE $timeFilter',
                    shape="value",
                ),
                thresholds=availability_thresholds(sla_target_pct),
            )
        )
        .with_panel(
            table_panel(
                backend,
                "Down now",
                "Access points whose last poll went unanswered: where to send someone.",
                "none",
                _last_state_table(down_only=True),
                state=True,
                site_names=_TABLE_NAMES,
            )
        )
        .with_panel(
            table_panel(
                backend,
                "State of every AP",
                "Last poll of each access point in the range: up or down.",
                "none",
                _last_state_table(),
                state=True,
                site_names=_TABLE_NAMES,
            )
        )
        .with_row(Row("Per district"))
        .with_panel(
            series_panel(
                backend,
                "Availability per district",
                "Share of polls answered per district.",
                "percent",
                [_district_names(_availability_by(d, _RATE))],
                maximum=100,
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Clients per district",
                "Wireless clients per district.",
                "short",
                [_district_names(_sum_of_ap_means("clients", d, "{district}"))],
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Traffic per district",
                "Uplink rate per district: download (rx) and upload (tx).",
                "bps",
                [
                    _district_names(_sum_of_ap_means("rx_bps", d, "{district} download")),
                    _district_names(_sum_of_ap_means("tx_bps", d, "{district} upload")),
                ],
                width=24,
            )
        )
    )


def access_point(backend: Backend, sla_target_pct: float) -> Dashboard:
    sel = '{ap="$ap"}'
    where = "\"ap\" = '$ap' AND "

    def ap_series(field: str, legend: str, scale: str = "") -> Query:
        return Query(
            promql=f"{scale}avg by (ap) (avg_over_time(ap_{field}{sel}[{_RATE}]))",
            influxql=f'SELECT {scale}mean("{field}") FROM "ap" WHERE {where}$timeFilter '
            "GROUP BY time($__interval) fill(none)",
            legend=legend,
        )

    def ap_last(field: str) -> Query:
        return Query(
            promql=f"max by (ap) (last_over_time(ap_{field}{sel}[$__range]))",
            influxql=f'SELECT last("{field}") FROM "ap" WHERE {where}$timeFilter',
            shape="value",
        )

    state = stat_panel(
        backend, "State", "Last poll in the range: up or down.", "none", ap_last("reachable")
    ).mappings([state_mapping()])
    return (
        _dashboard(
            "access-point",
            "citywifi · Access point",
            "One access point: its state, clients, traffic, availability, CPU and uptime.",
            backend,
        )
        .with_variable(
            variable(
                backend,
                "district",
                "District",
                promql="label_values(ap_reachable, district)",
                influxql='SHOW TAG VALUES FROM "ap" WITH KEY = "district"',
                include_all=True,
            )
        )
        .with_variable(
            variable(
                backend,
                "site",
                "Site",
                promql='label_values(ap_reachable{district=~"$district"}, site)',
                influxql='SHOW TAG VALUES FROM "ap" WITH KEY = "site" '
                'WHERE "district" =~ /^$district$/',
                include_all=True,
            )
        )
        .with_variable(
            variable(
                backend,
                "ap",
                "Access point",
                promql='label_values(ap_reachable{district=~"$district", site=~"$site"}, ap)',
                influxql='SHOW TAG VALUES FROM "ap" WITH KEY = "ap" '
                'WHERE "district" =~ /^$district$/ AND "site" =~ /^$site$/',
            )
        )
        .with_panel(state.span(6))
        .with_panel(
            stat_panel(
                backend, "Uptime", "Time since the AP last booted.", "s", ap_last("uptime_s")
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "Availability",
                "Share of its polls answered over the range.",
                "percent",
                Query(
                    promql=f"100 * sum(sum_over_time(ap_reachable{sel}"
                    f"[$__range])) / sum(count_over_time(ap_reachable{sel}"
                    "[$__range]))",
                    influxql=f'SELECT 100 * mean("reachable") FROM "ap" WHERE {where}$timeFilter',
                    shape="value",
                ),
                thresholds=availability_thresholds(sla_target_pct),
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "Hotspot sessions",
                "Active hotspot sessions at the last poll (MikroTik hotspots).",
                "short",
                ap_last("hotspot_sessions"),
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Clients",
                "Wireless clients associated, all radios.",
                "short",
                [ap_series("clients", "clients")],
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Traffic",
                "Uplink rate: download (rx) and upload (tx).",
                "bps",
                [ap_series("rx_bps", "download"), ap_series("tx_bps", "upload")],
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Availability",
                "Share of polls answered per interval.",
                "percent",
                [ap_series("reachable", "availability", "100 * ")],
                maximum=100,
            )
        )
        .with_panel(
            series_panel(
                backend,
                "CPU and memory",
                "CPU busy (mean over processors) and RAM in use.",
                "percent",
                [ap_series("cpu_pct", "CPU"), ap_series("mem_pct", "memory")],
                maximum=100,
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Uptime",
                "Seconds since boot: a drop is a reboot.",
                "s",
                [ap_series("uptime_s", "uptime")],
                width=24,
            )
        )
    )


def coverage(backend: Backend, sla_target_pct: float) -> Dashboard:
    d = "district"
    return (
        _dashboard(
            "coverage",
            "citywifi · Coverage",
            "Per district: sites and access points up and down now, availability and "
            "clients. Designed and live coverage on the map: citywifi coverage / the web "
            "dashboard.",
            backend,
        )
        .with_panel(
            bar_panel(
                backend,
                "Sites with an AP up",
                "Sites of each district with at least one AP answering: the live coverage.",
                "short",
                _last_per_ap_sum("up", d, "{district}", sites=True),
            )
        )
        .with_panel(
            bar_panel(
                backend,
                "APs up",
                "Access points answering now, per district.",
                "short",
                _last_per_ap_sum("up", d, "{district}"),
            )
        )
        .with_panel(
            bar_panel(
                backend,
                "APs down",
                "Access points not answering now, per district.",
                "short",
                _last_per_ap_sum("down", d, "{district}"),
            )
        )
        .with_panel(
            bar_panel(
                backend,
                "Availability over the range",
                "Share of polls answered per district over the whole range.",
                "percent",
                _availability_by(d, "$__range"),
                maximum=100,
                thresholds=availability_thresholds(sla_target_pct),
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Availability per district",
                "Share of polls answered per district.",
                "percent",
                [_district_names(_availability_by(d, _RATE))],
                maximum=100,
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Clients per district",
                "Wireless clients per district: where the demand is.",
                "short",
                [_district_names(_sum_of_ap_means("clients", d, "{district}"))],
            )
        )
    )


def partner_usage(backend: Backend, sla_target_pct: float) -> Dashboard:
    sel = '{partner="$partner"}'
    where = "\"partner\" = '$partner' AND "

    def volume(field: str) -> Query:
        return Query(
            promql=f"sum(sum_over_time(ap_{field}{sel}[$__range]))",
            influxql=f'SELECT sum("{field}") FROM "ap" WHERE {where}$timeFilter',
            shape="value",
        )

    return (
        _dashboard(
            "partner-usage",
            "citywifi · Partner usage",
            "What a CSR partner's sponsored hotspots deliver: availability against the SLA, "
            "clients, traffic and data. The monthly report: citywifi report usage.",
            backend,
        )
        .with_variable(
            variable(
                backend,
                "partner",
                "Partner",
                promql="label_values(ap_reachable, partner)",
                influxql='SHOW TAG VALUES FROM "ap" WITH KEY = "partner"',
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "Availability",
                f"Share of polls answered over the "
                f"range, all the partner's APs; red below the "
                f"{sla_target_pct:g} % target.",
                "percent",
                Query(
                    promql=f"100 * sum(sum_over_time(ap_reachable{sel}"
                    f"[$__range])) / sum(count_over_time(ap_reachable{sel}"
                    "[$__range]))",
                    influxql=f'SELECT 100 * mean("reachable") FROM "ap" WHERE {where}$timeFilter',
                    shape="value",
                ),
                thresholds=availability_thresholds(sla_target_pct),
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "APs down",
                "The partner's access points not answering now.",
                "short",
                _last_per_ap_sum("down", None, where=where, sel=sel),
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "Data downloaded",
                "Uplink bytes received over the range: what the users downloaded.",
                "decbytes",
                volume("rx_bytes_delta"),
            )
        )
        .with_panel(
            stat_panel(
                backend,
                "Data uploaded",
                "Uplink bytes sent over the range.",
                "decbytes",
                volume("tx_bytes_delta"),
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Availability per site",
                "Share of polls answered per site.",
                "percent",
                [_availability_by("site", _RATE, where, sel)],
                maximum=100,
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Clients",
                "Wireless clients on the partner's hotspots.",
                "short",
                [_sum_of_ap_means("clients", None, "clients", where, sel)],
            )
        )
        .with_panel(
            series_panel(
                backend,
                "Traffic",
                "Uplink rate of the partner's hotspots: download (rx) and upload (tx).",
                "bps",
                [
                    _sum_of_ap_means("rx_bps", None, "download", where, sel),
                    _sum_of_ap_means("tx_bps", None, "upload", where, sel),
                ],
            )
        )
        .with_panel(
            table_panel(
                backend,
                "The partner's access points",
                "Last poll of each of its access points: up or down.",
                "none",
                _last_state_table(where, sel),
                state=True,
                site_names=_TABLE_NAMES,
            )
        )
    )
