"""The VictoriaMetrics cluster URL layout against real servers (tests/fixtures/servers.py):
tenants are kept apart, and ``citywifi timeseries check`` passes on a tenant's URL.

The contract suite runs on the cluster layout too (``victoriametrics-cluster`` in
conftest.BACKEND_URLS); here are the points only a cluster has.
"""

from __future__ import annotations

import secrets

import pytest

from core.errors import StoreError
from tests.fixtures.servers import VictoriaMetricsCluster
from timeseries import Point, Sample, open_store
from timeseries.check import check_store

T0 = 1_700_000_000.0


def ap_sample(ap: str, ts: float, **fields: float) -> Sample:
    return Sample("ap", {"ap": ap, "site": "s1", "district": "north"}, fields, ts)


def test_a_tenant_reads_only_its_own_writes(
    victoriametrics_cluster: VictoriaMetricsCluster,
) -> None:
    tenant_a, tenant_b = victoriametrics_cluster.tenants
    label = secrets.token_hex(8)  # the same label on both: only the tenant tells them apart
    with (
        open_store(victoriametrics_cluster.store_url(tenant_a, label=label)) as a,
        open_store(victoriametrics_cluster.store_url(tenant_b, label=label)) as b,
    ):
        a.write([ap_sample("ap-a", T0, clients=3, reachable=1)])
        b.write([ap_sample("ap-b", T0, clients=5, reachable=1)])
        victoriametrics_cluster.flush()

        assert set(a.latest()) == {"ap-a"}
        assert set(b.latest()) == {"ap-b"}
        assert b.series("ap-a", "clients", T0, T0 + 60, 60) == [Point(T0, None)]
        assert a.series("ap-a", "clients", T0, T0 + 60, 60) == [Point(T0, 3.0)]
        assert [g.key for g in b.aggregate(T0, T0 + 60, by="ap")] == ["ap-b"]


def test_a_tenant_the_cluster_does_not_route_is_refused_without_the_token(
    victoriametrics_cluster: VictoriaMetricsCluster,
) -> None:
    url = victoriametrics_cluster.store_url("99")
    with open_store(url) as store, pytest.raises(StoreError) as caught:
        store.write([ap_sample("ap-1", T0, clients=1)])
    assert victoriametrics_cluster.token not in str(caught.value)


def test_timeseries_check_passes_on_a_tenant_url(
    victoriametrics_cluster: VictoriaMetricsCluster,
) -> None:
    """The whole path without the test's flush: written, then read back once visible."""
    report = check_store(victoriametrics_cluster.store_url(victoriametrics_cluster.tenants[1]))
    assert report.ok, report.lines()
    assert (report.server or "").startswith("VictoriaMetrics cluster, tenant 8")
    # vmauth answers /flags here, and says nothing of the nodes' flags: no guesses.
    assert not any("-search.latencyOffset" in w or "-retentionPeriod" in w for w in report.warnings)
    assert victoriametrics_cluster.token not in "\n".join(report.lines())
