"""The dashboards' structure: four per backend, every panel on the backend's data source
with a query, a unit and a description; uids unique and stable; JSON that round-trips."""

from __future__ import annotations

import json
from typing import Any

import pytest
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard as DashboardModel

from dashboards.grafana import (
    BACKENDS,
    DASHBOARD_NAMES,
    Backend,
    InfluxQLQuery,
    InfluxQLTarget,
    build_dashboards,
    datasource,
    datasource_uid,
)

TYPES = {"victoriametrics": "prometheus", "influxdb": "influxdb"}
SHORT = {"victoriametrics": "vm", "influxdb": "influx"}


def data_panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in model["panels"] if p["type"] != "row"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_four_dashboards_with_stable_uids(backend: Backend) -> None:
    models = build_dashboards(backend)
    assert [m["uid"] for m in models] == [f"citywifi-{n}-{SHORT[backend]}" for n in DASHBOARD_NAMES]
    assert [m["title"] for m in models] == [
        "citywifi · Network operations",
        "citywifi · Access point",
        "citywifi · Coverage",
        "citywifi · Partner usage",
    ]
    for model in models:
        assert {"uid", "title", "panels", "templating", "schemaVersion"} <= set(model)
        assert len(model["uid"]) <= 40  # Grafana's limit on a dashboard uid
    assert build_dashboards(backend) == models  # stable: the same input, the same JSON


def test_uids_unique_across_backends() -> None:
    uids = [m["uid"] for b in BACKENDS for m in build_dashboards(b)]
    assert len(uids) == len(set(uids)) == 8
    assert datasource_uid("victoriametrics") == "citywifi-vm"
    assert datasource_uid("influxdb") == "citywifi-influx"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_panel_has_datasource_target_unit_and_description(backend: Backend) -> None:
    ref = {"type": TYPES[backend], "uid": datasource_uid(backend)}
    for model in build_dashboards(backend):
        panels = data_panels(model)
        assert panels, model["uid"]
        assert len({p["id"] for p in model["panels"]}) == len(model["panels"])
        for panel in panels:
            where = f"{model['uid']} / {panel['title']}"
            assert panel["datasource"] == ref, where
            assert panel["description"], where
            assert panel["fieldConfig"]["defaults"]["unit"], where
            assert panel["targets"], where
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), where
            for t in panel["targets"]:
                assert t["datasource"] == ref, where
                if backend == "victoriametrics":
                    assert t["expr"].strip(), where
                else:
                    assert t["rawQuery"] is True and t["query"].startswith(("SELECT", "SHOW"))
                    assert t["resultFormat"] in {"time_series", "table"}, where
            if panel["type"] == "timeseries":
                legend = panel["options"]["legend"]
                assert legend["showLegend"] is True, where
                key = "legendFormat" if backend == "victoriametrics" else "alias"
                assert all(t.get(key) for t in panel["targets"]), where


@pytest.mark.parametrize("backend", BACKENDS)
def test_variables_are_backend_queries(backend: Backend) -> None:
    models = {m["uid"].rsplit("-", 1)[0]: m for m in build_dashboards(backend)}
    names = {uid: [v["name"] for v in m["templating"].get("list", [])] for uid, m in models.items()}
    assert names["citywifi-access-point"] == ["district", "site", "ap"]
    assert names["citywifi-partner-usage"] == ["partner"]
    for model in models.values():
        for var in model["templating"].get("list", []):
            assert var["type"] == "query"
            assert var["datasource"] == {"type": TYPES[backend], "uid": datasource_uid(backend)}
            if backend == "victoriametrics":
                assert var["query"].startswith("label_values(")
            else:
                assert var["query"].startswith('SHOW TAG VALUES FROM "ap" WITH KEY = ')


@pytest.mark.parametrize("backend", BACKENDS)
def test_json_round_trips_through_the_sdk(backend: Backend) -> None:
    for model in build_dashboards(backend):
        text = json.dumps(model, sort_keys=True)
        assert json.loads(text) == model
        # The SDK reads its own output back, InfluxQL targets included (as an unknown
        # dataquery bag), and writes the same panels and targets again.
        again = json.loads(json.dumps(DashboardModel.from_json(json.loads(text)), cls=JSONEncoder))
        assert [p.get("targets") for p in again["panels"]] == [
            p.get("targets") for p in model["panels"]
        ]
        assert again["uid"] == model["uid"]


def test_influxql_target_is_an_sdk_target() -> None:
    built = (
        timeseries.Panel()
        .title("t")
        .with_target(InfluxQLTarget('SELECT mean("clients") FROM "ap"').ref_id("B").alias("x"))
        .build()
    )
    (query,) = built.targets or []
    assert isinstance(query, InfluxQLQuery)
    assert query.to_json() == {
        "refId": "B",
        "query": 'SELECT mean("clients") FROM "ap"',
        "rawQuery": True,
        "resultFormat": "time_series",
        "alias": "x",
    }
    assert InfluxQLQuery.from_json(query.to_json()) == query


def test_datasource_payloads() -> None:
    vm = datasource("victoriametrics", "http://127.0.0.1:8428")
    assert vm == {
        "name": "citywifi VictoriaMetrics",
        "type": "prometheus",
        "uid": "citywifi-vm",
        "url": "http://127.0.0.1:8428",
        "access": "proxy",
        "isDefault": False,
        "editable": True,
        "jsonData": {"httpMethod": "POST", "timeInterval": "60s"},
    }
    influx = datasource("influxdb", "http://127.0.0.1:8086", database="city")
    assert influx["type"] == "influxdb" and influx["uid"] == "citywifi-influx"
    assert influx["jsonData"]["version"] == "InfluxQL"
    assert influx["jsonData"]["dbName"] == "city"
    assert "secureJsonData" not in influx and "password" not in influx


@pytest.mark.parametrize("backend", BACKENDS)
def test_network_operations_has_a_geomap_of_sites_by_state(backend: Backend) -> None:
    """Markers at the ``lat``/``lon`` columns (made numbers), coloured by ``state`` in the
    state colours; on InfluxDB the site info is a second query joined on ``site``."""
    (geo,) = [p for p in data_panels(build_dashboards(backend)[0]) if p["type"] == "geomap"]
    (layer,) = geo["options"]["layers"]
    assert layer["location"] == {"mode": "coords", "latitude": "lat", "longitude": "lon"}
    assert layer["config"]["style"]["color"]["field"] == "state"
    steps = geo["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["color"] for s in steps] == ["red", "orange", "green"]
    ids = [t["id"] for t in geo["transformations"]]
    assert ids[-1] == "convertFieldType"
    if backend == "influxdb":
        assert ids[0] == "joinByField" and len(geo["targets"]) == 2
        assert 'FROM "site"' in geo["targets"][1]["query"]
    else:
        (target,) = geo["targets"]
        assert "group_left (site_name" in target["expr"] and target["format"] == "table"
