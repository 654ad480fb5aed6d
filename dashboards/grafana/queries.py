"""A panel query written once per backend, and the SDK target it becomes.

Every panel states what it shows as a PromQL expression (VictoriaMetrics: a field is the
series ``ap_<field>``) and an InfluxQL statement (measurement ``ap``, the field as is), so
both variants of a dashboard always have the same panels and the live tests can run
every query of both. The legend is written once too, with ``{tag}`` placeholders that
become ``{{tag}}`` (Prometheus ``legendFormat``) or ``$tag_tag`` (InfluxDB ``alias``).
Where PromQL joins a name in from the ``site_info`` series (``group_left``) and InfluxQL
cannot, ``influx_legend`` keeps the InfluxDB variant on the id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from grafana_foundation_sdk.builders.prometheus import Dataquery as PrometheusQuery
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards.grafana.backends import Backend, datasource_ref
from dashboards.grafana.influxql import InfluxQLTarget

__all__ = ["Query", "Shape", "target"]

# "series": a time series over the dashboard's range; "table": one row per series, its
# value at the end of the range (a PromQL instant query; InfluxQL ``resultFormat: table``);
# "value": one number at the end of the range (a stat panel).
Shape = Literal["series", "table", "value"]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Query:
    promql: str
    influxql: str
    legend: str = ""
    shape: Shape = "series"
    influx_legend: str | None = None  # None: ``legend``

    def text(self, backend: Backend) -> str:
        return self.promql if backend == "victoriametrics" else self.influxql


def target(backend: Backend, query: Query, ref_id: str = "A") -> Builder[Dataquery]:
    """The SDK target of ``query`` for ``backend``, naming the backend's data source."""
    if backend == "victoriametrics":
        prom = (
            PrometheusQuery().expr(query.promql).ref_id(ref_id).datasource(datasource_ref(backend))
        )
        if query.legend:
            prom = prom.legend_format(_PLACEHOLDER.sub(r"{{\1}}", query.legend))
        prom = prom.range() if query.shape == "series" else prom.instant()
        if query.shape == "table":
            prom = prom.format(PromQueryFormat.TABLE)
        return prom
    influx = (
        InfluxQLTarget(query.influxql)
        .ref_id(ref_id)
        .datasource(datasource_ref(backend))
        .result_format("table" if query.shape == "table" else "time_series")
    )
    legend = query.legend if query.influx_legend is None else query.influx_legend
    if legend:
        influx = influx.alias(_PLACEHOLDER.sub(r"$tag_\1", legend))
    return influx
