"""Writing the dashboards and Grafana's provisioning files to a directory.

Layout, per backend (so one Grafana reads one backend; point its provisioning directory
at ``DIR/<backend>/provisioning``)::

    DIR/<backend>/dashboards/<uid>.json
    DIR/<backend>/provisioning/datasources/citywifi.yaml   apiVersion 1, the data source
    DIR/<backend>/provisioning/dashboards/citywifi.yaml    apiVersion 1, a file provider

The provider's ``path`` is the dashboards directory's absolute path, as Grafana reads it
on the machine export runs on; copy the tree elsewhere and edit that one line. Files are
written atomically (temporary file, then rename), so a Grafana polling the directory
never loads half a dashboard. dashboards sits below citywifi in the layer contract, so
the rename helper is its own here rather than citywifi.files.write_atomic.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from core.settings import Settings
from dashboards.grafana.backends import (
    BACKENDS,
    DEFAULT_INFLUX_DATABASE,
    Backend,
    datasource,
)
from dashboards.grafana.build import build_dashboards

__all__ = ["datasource_for", "export", "provider", "write_text_atomic"]

PROVIDER_NAME = "citywifi"
FOLDER = "citywifi"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a
    rename; the file never exists half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp made it 0600: an ordinary file instead
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


def influx_database(settings: Settings) -> str:
    """The database the configured InfluxDB store writes (its URL's ``db=`` or
    ``bucket=``), else the default: Grafana must read where the collector writes."""
    url = settings.timeseries_url or ""
    if url.startswith("influxdb+"):
        query = parse_qs(urlsplit(url[len("influxdb+") :]).query)
        for key in ("db", "bucket"):
            if query.get(key):
                return query[key][0]
    return DEFAULT_INFLUX_DATABASE


def datasource_for(backend: Backend, settings: Settings) -> dict[str, Any]:
    """The backend's data source with the URL and database the settings give."""
    url = (
        settings.grafana_datasource_url_victoriametrics
        if backend == "victoriametrics"
        else settings.grafana_datasource_url_influxdb
    )
    return datasource(
        backend,
        url,
        database=influx_database(settings),
        scrape_interval_s=settings.poll_interval_s,
    )


def provider(dashboards_dir: Path) -> dict[str, Any]:
    """A file dashboard provider for Grafana's provisioning (``apiVersion: 1``)."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": PROVIDER_NAME,
                "orgId": 1,
                "folder": FOLDER,
                "folderUid": FOLDER,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": str(dashboards_dir), "foldersFromFilesStructure": False},
            }
        ],
    }


def export(
    directory: Path, settings: Settings, backends: Sequence[Backend] = BACKENDS
) -> list[Path]:
    """Write every dashboard of each backend and its provisioning files under
    ``directory``; returns the paths written, sorted."""
    written: list[Path] = []
    for backend in dict.fromkeys(backends):  # once each, in the order given
        base = directory.resolve() / backend
        dashboards_dir = base / "dashboards"
        for model in build_dashboards(backend, sla_target_pct=settings.sla_target_pct):
            path = dashboards_dir / f"{model['uid']}.json"
            write_text_atomic(path, json.dumps(model, indent=2, sort_keys=True) + "\n")
            written.append(path)
        source = datasource_for(backend, settings)
        datasources = {
            "apiVersion": 1,
            "deleteDatasources": [],
            "datasources": [{**source, "orgId": 1, "version": 1}],
        }
        for path, document in (
            (base / "provisioning" / "datasources" / "citywifi.yaml", datasources),
            (base / "provisioning" / "dashboards" / "citywifi.yaml", provider(dashboards_dir)),
        ):
            write_text_atomic(path, yaml.safe_dump(document, sort_keys=False))
            written.append(path)
    return sorted(written)
