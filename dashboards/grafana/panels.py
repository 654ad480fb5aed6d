"""Panel and variable builders shared by the four dashboards: one look for every panel.

Each helper takes the backend and the :class:`~dashboards.grafana.queries.Query` objects
and returns an SDK panel builder with its data source, unit, description and legend set,
so no dashboard can forget one of them (the structure tests check every panel for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from grafana_foundation_sdk.builders import bargauge, geomap, stat, table, timeseries
from grafana_foundation_sdk.builders.common import (
    FrameGeometrySource,
    MapLayerOptions,
    ReduceDataOptions,
    VizLegendOptions,
)
from grafana_foundation_sdk.builders.dashboard import QueryVariable, ThresholdsConfig
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    FrameGeometrySourceMode,
    LegendDisplayMode,
    LegendPlacement,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.geomap import TooltipMode

from dashboards.grafana.backends import Backend, datasource_ref
from dashboards.grafana.queries import Query, target

__all__ = [
    "ALL",
    "availability_thresholds",
    "bar_panel",
    "geomap_panel",
    "series_panel",
    "site_state_mapping",
    "site_state_thresholds",
    "stat_panel",
    "state_mapping",
    "table_panel",
    "variable",
]

# The value a variable's "All" option sends: a regex matching every value, so PromQL
# ``=~"$x"`` and InfluxQL ``=~ /^$x$/`` both read it as "no filter".
ALL = ".*"

_REF_IDS = "ABCDEFGH"


def _legend() -> VizLegendOptions:
    return (
        VizLegendOptions()
        .show_legend(True)
        .display_mode(LegendDisplayMode.TABLE)
        .placement(LegendPlacement.BOTTOM)
        .calcs(["mean", "max", "lastNotNull"])
    )


def availability_thresholds(sla_pct: float) -> ThresholdsConfig:
    """Red below the SLA target, green from it: the line a partner's contract draws."""
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color="red"), Threshold(value=sla_pct, color="green")])
    )


def state_mapping() -> ValueMap:
    """``reachable`` 1/0 shown as the words an engineer reads, in the state colours."""
    return ValueMap(
        options={
            "1": ValueMappingResult(text="up", color="green", index=0),
            "0": ValueMappingResult(text="down", color="red", index=1),
        }
    )


def site_state_thresholds() -> ThresholdsConfig:
    """A site's state code (0 down, 1 degraded, 2 up) in the state colours."""
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [
                Threshold(value=None, color="red"),
                Threshold(value=1.0, color="orange"),
                Threshold(value=2.0, color="green"),
            ]
        )
    )


def site_state_mapping() -> ValueMap:
    """A site's state code as the word the web dashboard uses for it."""
    return ValueMap(
        options={
            "2": ValueMappingResult(text="up", color="green", index=0),
            "1": ValueMappingResult(text="degraded", color="orange", index=1),
            "0": ValueMappingResult(text="down", color="red", index=2),
        }
    )


def _join_on_site() -> DataTransformerConfig:
    """InfluxQL cannot join measurements: Grafana joins the site info query's rows to
    the panel's on ``site`` (inner: a row without its site info is left out)."""
    return DataTransformerConfig(id_val="joinByField", options={"byField": "site", "mode": "inner"})


def _coordinates_as_numbers() -> DataTransformerConfig:
    """``lat``/``lon`` arrive as label/tag strings; the geomap's coordinate mode wants
    numbers."""
    return DataTransformerConfig(
        id_val="convertFieldType",
        options={
            "fields": {},
            "conversions": [
                {"targetField": "lat", "destinationType": "number"},
                {"targetField": "lon", "destinationType": "number"},
            ],
        },
    )


def _site_names_query(tags: Sequence[str]) -> Query:
    """The InfluxDB table of site info rows: the site id and ``tags`` as columns."""
    columns = ", ".join(f'"{t}"' for t in ("site", *tags))
    return Query(
        promql="",
        influxql=f'SELECT last("info") AS "info" FROM "site" WHERE $timeFilter GROUP BY {columns}',
        shape="table",
    )


_Panel = TypeVar("_Panel", bargauge.Panel, geomap.Panel, stat.Panel, table.Panel, timeseries.Panel)


def _framed(
    panel: _Panel,
    backend: Backend,
    title: str,
    description: str,
    unit: str,
    *,
    width: int,
    height: int,
) -> _Panel:
    """What every panel has, whatever its kind: title, description (what it shows and
    how it is counted), the backend's data source, a unit, and its place in the grid."""
    return (
        panel.title(title)
        .description(description)
        .datasource(datasource_ref(backend))
        .unit(unit)
        .span(width)
        .height(height)
    )


def geomap_panel(
    backend: Backend,
    title: str,
    description: str,
    query: Query,
    site_tags: Sequence[str],
    *,
    width: int = 24,
) -> geomap.Panel:
    """Sites as markers coloured by their state code (field ``state``) at ``lat``/``lon``.

    The VictoriaMetrics query joins the site info itself (``group_left``); on InfluxDB a
    second query reads the site info (``site_tags`` as columns) and Grafana joins the
    two on ``site``. Either way the frame has ``site``, ``state``, ``lat``, ``lon`` and
    the names, which the tooltip shows."""
    layer = (
        MapLayerOptions()
        .type("markers")
        .name("Sites")
        .location(
            FrameGeometrySource()
            .mode(FrameGeometrySourceMode.COORDS)
            .latitude("lat")
            .longitude("lon")
        )
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": "state", "fixed": "dark-green"},
                    "size": {"fixed": 7},
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                    "opacity": 0.8,
                },
            }
        )
    )
    panel = (
        _framed(geomap.Panel(), backend, title, description, "none", width=width, height=12)
        .view(geomap.MapViewConfig().id("fit").all_layers(True).zoom(12))
        .controls(geomap.ControlsOptions().show_zoom(True).mouse_wheel_zoom(True))
        .basemap(MapLayerOptions().type("default").name("Basemap"))
        .layers([layer])
        .tooltip(geomap.TooltipOptions().mode(TooltipMode.DETAILS))
        .thresholds(site_state_thresholds())
        .mappings([site_state_mapping()])
        .with_target(target(backend, query, "A"))
    )
    if backend == "influxdb":
        panel = panel.with_target(target(backend, _site_names_query(site_tags), "B"))
        panel = panel.with_transformation(_join_on_site())
    else:  # a Prometheus table names the value column "Value"; InfluxQL's is "state"
        panel = panel.with_transformation(
            DataTransformerConfig(id_val="organize", options={"renameByName": {"Value": "state"}})
        )
    return panel.with_transformation(_coordinates_as_numbers())


def series_panel(
    backend: Backend,
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    *,
    width: int = 12,
    maximum: float | None = None,
) -> timeseries.Panel:
    panel = (
        _framed(timeseries.Panel(), backend, title, description, unit, width=width, height=8)
        .min(0)
        .legend(_legend())
        .fill_opacity(10)
        .span_nulls(False)
    )
    if maximum is not None:
        panel = panel.max(maximum)
    for ref, query in zip(_REF_IDS, queries, strict=False):
        panel = panel.with_target(target(backend, query, ref))
    return panel


def stat_panel(
    backend: Backend,
    title: str,
    description: str,
    unit: str,
    query: Query,
    *,
    width: int = 6,
    thresholds: ThresholdsConfig | None = None,
) -> stat.Panel:
    panel = (
        _framed(stat.Panel(), backend, title, description, unit, width=width, height=4)
        .graph_mode(BigValueGraphMode.NONE)
        .color_mode(BigValueColorMode.VALUE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(target(backend, query))
    )
    if thresholds is not None:
        panel = panel.thresholds(thresholds)
    return panel


def table_panel(
    backend: Backend,
    title: str,
    description: str,
    unit: str,
    query: Query,
    *,
    width: int = 12,
    state: bool = False,
    site_names: Sequence[str] = (),
) -> table.Panel:
    """``site_names``: site info tags the table shows beside the ids (``site_name``,
    ``district_name``): joined in by the PromQL query itself, by Grafana on InfluxDB."""
    panel = (
        _framed(table.Panel(), backend, title, description, unit, width=width, height=8)
        .filterable(True)
        .with_target(target(backend, query))
    )
    if state:
        panel = panel.mappings([state_mapping()])
    if site_names and backend == "influxdb":
        panel = panel.with_target(target(backend, _site_names_query(site_names), "B"))
        panel = panel.with_transformation(_join_on_site())
    return panel


def bar_panel(
    backend: Backend,
    title: str,
    description: str,
    unit: str,
    query: Query,
    *,
    width: int = 12,
    maximum: float | None = None,
    thresholds: ThresholdsConfig | None = None,
) -> bargauge.Panel:
    panel = (
        _framed(bargauge.Panel(), backend, title, description, unit, width=width, height=8)
        .min(0)
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.BASIC)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(target(backend, query))
    )
    if maximum is not None:
        panel = panel.max(maximum)
    if thresholds is not None:
        panel = panel.thresholds(thresholds)
    return panel


def variable(
    backend: Backend,
    name: str,
    label: str,
    *,
    promql: str,
    influxql: str,
    include_all: bool = False,
) -> QueryVariable:
    """A query variable: ``promql`` is Grafana's ``label_values(...)``, ``influxql`` a
    ``SHOW TAG VALUES`` statement; refreshed when the time range changes, so a new AP
    shows up without reloading the dashboard."""
    var = (
        QueryVariable(name)
        .label(label)
        .datasource(datasource_ref(backend))
        .query(promql if backend == "victoriametrics" else influxql)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.NATURAL_ASC)
    )
    if include_all:
        var = var.include_all(True).all_value(ALL)
    return var
