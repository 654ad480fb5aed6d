"""Metric storage behind one port; backends are chosen by URL scheme.

Exceptions::

    StoreError        the store is unreachable or refused an operation
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from timeseries.port import (
    AP_MEASUREMENT,
    GROUP_BY,
    Aggregate,
    GroupBy,
    HourBucket,
    Latest,
    MetricStore,
    Point,
    Sample,
    StoreError,
)

# scheme -> "module:factory"; a factory takes the URL and returns a MetricStore.
BACKENDS: dict[str, str] = {
    "embedded": "timeseries.embedded:open_embedded",
    "victoriametrics+http": "timeseries.victoriametrics:open_victoriametrics",
    "victoriametrics+https": "timeseries.victoriametrics:open_victoriametrics",
    "influxdb+http": "timeseries.influxdb:open_influxdb",
    "influxdb+https": "timeseries.influxdb:open_influxdb",
}


def open_store(url: str) -> MetricStore:
    """Open the metric store a URL names; unknown schemes get a plain-words error."""
    scheme = urlsplit(url).scheme
    target = BACKENDS.get(scheme)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise StoreError(f"unknown metric store URL scheme {scheme!r} in {url!r}; known: {known}")
    module_name, factory_name = target.split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    store: MetricStore = factory(url)
    return store


__all__ = [
    "AP_MEASUREMENT",
    "BACKENDS",
    "GROUP_BY",
    "Aggregate",
    "GroupBy",
    "HourBucket",
    "Latest",
    "MetricStore",
    "Point",
    "Sample",
    "StoreError",
    "open_store",
]
