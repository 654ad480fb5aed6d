"""The two server backends a Grafana dashboard can read, and their Grafana data sources.

One place names each backend's data source (its uid, plugin type and settings), so the
dashboards' panels, the exported provisioning file and ``push`` all point at the same one.
The uids are fixed strings, not generated: a dashboard exported today and a data source
pushed tomorrow must still find each other.
"""

from __future__ import annotations

from typing import Any, Literal

from grafana_foundation_sdk.models.dashboard import DataSourceRef

__all__ = [
    "BACKENDS",
    "DEFAULT_INFLUX_DATABASE",
    "Backend",
    "datasource",
    "datasource_name",
    "datasource_ref",
    "datasource_type",
    "datasource_uid",
    "short_name",
]

Backend = Literal["victoriametrics", "influxdb"]
BACKENDS: tuple[Backend, ...] = ("victoriametrics", "influxdb")

# The database the project's InfluxDB store URLs name by default (docs/metrics.md).
DEFAULT_INFLUX_DATABASE = "citywifi"

_SHORT: dict[Backend, str] = {"victoriametrics": "vm", "influxdb": "influx"}
# VictoriaMetrics speaks the Prometheus query API, so Grafana reads it with its built-in
# Prometheus plugin (no third-party plugin to install).
_TYPE: dict[Backend, str] = {"victoriametrics": "prometheus", "influxdb": "influxdb"}
_NAME: dict[Backend, str] = {
    "victoriametrics": "citywifi VictoriaMetrics",
    "influxdb": "citywifi InfluxDB",
}


def short_name(backend: Backend) -> str:
    """``vm`` or ``influx``: the suffix of every uid made for the backend."""
    return _SHORT[backend]


def datasource_uid(backend: Backend) -> str:
    """The fixed uid of the backend's data source: ``citywifi-vm`` / ``citywifi-influx``."""
    return f"citywifi-{short_name(backend)}"


def datasource_type(backend: Backend) -> str:
    """Grafana's plugin id for the backend: ``prometheus`` or ``influxdb``."""
    return _TYPE[backend]


def datasource_name(backend: Backend) -> str:
    return _NAME[backend]


def datasource_ref(backend: Backend) -> DataSourceRef:
    """What every panel, target and variable carries to name its data source."""
    return DataSourceRef(type_val=datasource_type(backend), uid=datasource_uid(backend))


def datasource(
    backend: Backend,
    url: str,
    *,
    database: str = DEFAULT_INFLUX_DATABASE,
    scrape_interval_s: float = 60.0,
) -> dict[str, Any]:
    """The data source as Grafana's ``POST /api/datasources`` and a provisioning file take it.

    ``scrape_interval_s`` (the collector's poll interval) tells Grafana the spacing of the
    samples, so its ``$__rate_interval`` / ``$__interval`` never ask for a window shorter
    than one poll (an empty window would draw gaps). No credentials: an InfluxDB with
    authentication needs its user and password added in Grafana (``secureJsonData``),
    which never belongs in an exported file.
    """
    interval = f"{max(1, round(scrape_interval_s))}s"
    json_data: dict[str, Any]
    if backend == "victoriametrics":
        json_data = {"httpMethod": "POST", "timeInterval": interval}
    else:
        json_data = {
            "version": "InfluxQL",
            "dbName": database,
            "httpMode": "POST",
            "timeInterval": interval,
        }
    return {
        "name": datasource_name(backend),
        "type": datasource_type(backend),
        "uid": datasource_uid(backend),
        "url": url,
        "access": "proxy",
        "isDefault": False,
        "editable": True,
        "jsonData": json_data,
    }
