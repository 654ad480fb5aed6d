"""Grafana dashboards as code: the four dashboards for each server backend, built with
grafana-foundation-sdk, their data sources, and the export to provisioning files.

``push`` (provisioning a running Grafana through its HTTP API) lives in ``push.py``.
"""

from dashboards.grafana.backends import BACKENDS, Backend, datasource, datasource_uid
from dashboards.grafana.boards import DASHBOARD_NAMES, dashboard_uid
from dashboards.grafana.build import build_dashboards
from dashboards.grafana.export import datasource_for, export
from dashboards.grafana.influxql import InfluxQLQuery, InfluxQLTarget

__all__ = [
    "BACKENDS",
    "DASHBOARD_NAMES",
    "Backend",
    "InfluxQLQuery",
    "InfluxQLTarget",
    "build_dashboards",
    "dashboard_uid",
    "datasource",
    "datasource_for",
    "datasource_uid",
    "export",
]
