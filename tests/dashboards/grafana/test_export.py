"""export(): the dashboards and Grafana's provisioning files, per backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from core.settings import Settings
from dashboards.grafana import BACKENDS, build_dashboards, export


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "state",
        timeseries_url="influxdb+http://127.0.0.1:8086?db=city_metrics&user=u&password=secret",
        grafana_datasource_url_victoriametrics="http://vm.local:8428",
        grafana_datasource_url_influxdb="http://influx.local:8086",
        sla_target_pct=97.5,
        poll_interval_s=30,
    )


def test_export_writes_dashboards_and_provisioning(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "grafana"
    written = export(out, settings)

    assert written == sorted(written)
    expected = set()
    for backend in BACKENDS:
        base = out.resolve() / backend
        for model in build_dashboards(backend, sla_target_pct=97.5):
            path = base / "dashboards" / f"{model['uid']}.json"
            expected.add(path)
            assert json.loads(path.read_text()) == model
        expected |= {
            base / "provisioning" / "datasources" / "citywifi.yaml",
            base / "provisioning" / "dashboards" / "citywifi.yaml",
        }
    assert set(written) == expected and len(written) == 12
    assert not list(out.rglob("*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize(
    ("backend", "type_", "uid", "url"),
    [
        ("victoriametrics", "prometheus", "citywifi-vm", "http://vm.local:8428"),
        ("influxdb", "influxdb", "citywifi-influx", "http://influx.local:8086"),
    ],
)
def test_provisioning_files_are_what_grafana_reads(
    tmp_path: Path, settings: Settings, backend: str, type_: str, uid: str, url: str
) -> None:
    export(tmp_path, settings, [backend])  # type: ignore[list-item]
    base = tmp_path / backend / "provisioning"

    sources = yaml.safe_load((base / "datasources" / "citywifi.yaml").read_text())
    assert sources["apiVersion"] == 1
    (source,) = sources["datasources"]
    assert {k: source[k] for k in ("type", "uid", "url", "access", "isDefault", "orgId")} == {
        "type": type_,
        "uid": uid,
        "url": url,
        "access": "proxy",
        "isDefault": False,
        "orgId": 1,
    }
    assert source["name"] and source["jsonData"]["timeInterval"] == "30s"
    if backend == "influxdb":
        assert source["jsonData"]["dbName"] == "city_metrics"  # where the collector writes
        assert source["jsonData"]["version"] == "InfluxQL"
    text = (base / "datasources" / "citywifi.yaml").read_text()
    assert "secret" not in text  # the store's password never lands in a file

    providers = yaml.safe_load((base / "dashboards" / "citywifi.yaml").read_text())
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["name"] and provider["folder"]
    dashboards_dir = Path(provider["options"]["path"])
    assert dashboards_dir.is_absolute()
    assert dashboards_dir == (tmp_path / backend / "dashboards").resolve()
    assert len(list(dashboards_dir.glob("*.json"))) == 4
    # every dashboard points at the provisioned data source
    for path in dashboards_dir.glob("*.json"):
        model = json.loads(path.read_text())
        assert {p["datasource"]["uid"] for p in model["panels"] if p["type"] != "row"} == {uid}
    assert not (
        tmp_path / ("influxdb" if backend == "victoriametrics" else "victoriametrics")
    ).exists()


def test_export_again_overwrites_in_place(tmp_path: Path, settings: Settings) -> None:
    first = export(tmp_path, settings)
    contents = {p: p.read_bytes() for p in first}
    assert export(tmp_path, settings) == first
    assert {p: p.read_bytes() for p in first} == contents
