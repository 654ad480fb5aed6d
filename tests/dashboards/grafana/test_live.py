"""Every dashboard query, run against the real servers holding a simulated city's past.

Each PromQL target runs on VictoriaMetrics (``query_range`` for a time-series panel, an
instant ``query`` at the range's end for a stat or table), each InfluxQL target on
influxd, with Grafana's macros and the dashboard variables substituted as Grafana would;
each must answer without error and return series. The variable queries run too
(``label_values`` through VictoriaMetrics' label-values API, ``SHOW TAG VALUES`` on
influxd). Where a panel shows one value per series at the range's end, both variants must
agree: the two dashboards are meant to show the same numbers.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dashboards.grafana import build_dashboards
from dashboards.grafana.panels import ALL
from tests.dashboards.grafana.history import STEP_S, History, InfluxHistory, VMHistory

pytestmark = pytest.mark.slow

INTERVAL = "5m"  # Grafana's $__interval for a 6 h range on a wide panel
RATE_INTERVAL = "6m"  # max($__interval + scrape interval, 4 x scrape interval), scrape 1m
_VARIABLE = re.compile(r"\$(\w+)")
_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


def substitute(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"no value for ${name} in {text}"
        return values[name]

    return _VARIABLE.sub(one, text)


def variables(history: History, *, district: str, site: str) -> dict[str, str]:
    return {
        "district": district,
        "site": site,
        "ap": history.ap,
        "partner": history.partner,
        "__interval": INTERVAL,
        "__rate_interval": RATE_INTERVAL,
        "__range": f"{round(history.end - history.start)}s",
    }


def targets(backend: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, panel, target) of every query of the backend's dashboards."""
    for model in build_dashboards(backend):  # type: ignore[arg-type]
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                yield f"{model['uid']} / {panel['title']} / {target['refId']}", panel, target


def panel_key(where: str) -> str:
    """``where`` without the backend: the same panel and target in both variants."""
    uid, rest = where.split(" / ", 1)
    return f"{uid.rsplit('-', 1)[0]} / {rest}"


def assert_cascade(found: dict[str, list[str]], h: History, scope: str) -> None:
    """A chosen district and site narrow the AP list to that site's; "All" lists all."""
    if scope == "one":
        assert found["ap"] == [h.ap]  # the chosen site has this one AP
        assert h.site in found["site"] and len(found["site"]) < 11
    else:
        assert len(found["ap"]) == 16 and len(found["site"]) == 11


# -- VictoriaMetrics ------------------------------------------------------------------------


def vm_get(vm: VMHistory, path: str, params: dict[str, Any]) -> Any:
    response = httpx.get(
        vm.base + path, params={**params, "extra_label": vm.extra_label, "nocache": "1"}, timeout=30
    )
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", body
    return body["data"]


def run_promql(
    vm: VMHistory, target: dict[str, Any], values: dict[str, str]
) -> list[dict[str, Any]]:
    h = vm.history
    query = substitute(target["expr"], values)
    if target.get("instant"):
        data = vm_get(vm, "/api/v1/query", {"query": query, "time": h.end})
    else:
        data = vm_get(
            vm,
            "/api/v1/query_range",
            {"query": query, "start": h.start, "end": h.end, "step": f"{STEP_S:g}s"},
        )
    result: list[dict[str, Any]] = data["result"]
    return result


def promql_values(result: list[dict[str, Any]]) -> list[float]:
    out = []
    for series in result:
        pairs = series["values"] if "values" in series else [series["value"]]
        out += [float(v) for _, v in pairs]
    return out


@pytest.mark.parametrize("scope", ["one", "all"])
def test_every_promql_query_returns_series(vm_history: VMHistory, scope: str) -> None:
    h = vm_history.history
    values = (
        variables(h, district=h.district, site=h.site)
        if scope == "one"
        else variables(h, district=ALL, site=ALL)
    )
    checked = 0
    for where, _panel, target in targets("victoriametrics"):
        result = run_promql(vm_history, target, values)
        assert result, f"{where}: no series for {target['expr']}"
        numbers = promql_values(result)
        assert numbers and all(math.isfinite(v) for v in numbers), where
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("scope", ["one", "all"])
def test_promql_variables_list_the_city(vm_history: VMHistory, scope: str) -> None:
    h = vm_history.history
    values = (
        variables(h, district=h.district, site=h.site)
        if scope == "one"
        else variables(h, district=ALL, site=ALL)
    )
    found: dict[str, list[str]] = {}
    for model in build_dashboards("victoriametrics"):
        for var in model["templating"].get("list", []):
            match = _LABEL_VALUES.match(var["query"])
            assert match, var["query"]
            params: dict[str, Any] = {"start": h.start, "end": h.end}
            if match["selector"]:
                params["match[]"] = substitute(match["selector"], values)
            found[var["name"]] = vm_get(
                vm_history, f"/api/v1/label/{match['label']}/values", params
            )
    assert h.district in found["district"]
    assert h.site in found["site"]
    assert found["partner"] == [h.partner]
    assert_cascade(found, h, scope)


def test_promql_down_list_names_the_cut_ap(vm_history: VMHistory) -> None:
    h = vm_history.history
    model = build_dashboards("victoriametrics")[0]
    (panel,) = [p for p in model["panels"] if p["title"] == "Down now"]
    result = run_promql(vm_history, panel["targets"][0], variables(h, district=ALL, site=ALL))
    assert [series["metric"]["ap"] for series in result] == [h.down_ap]
    assert result[0]["metric"]["site_name"]  # the site info joined in


def panel_named(backend: str, title: str) -> dict[str, Any]:
    model = build_dashboards(backend)[0]  # type: ignore[arg-type]
    (panel,) = [p for p in model["panels"] if p["title"] == title]
    assert panel["type"] in ("geomap", "table", "timeseries", "stat")
    found: dict[str, Any] = panel
    return found


def assert_sites_on_the_map(
    rows: dict[str, dict[str, str]], states: dict[str, float], h: History
) -> None:
    """Every site has a state (0 down, 1 degraded, 2 up) and numeric coordinates near the
    city; the renamed site's name came back unchanged; the cut AP's site is not "up"."""
    assert len(rows) == h.sites and set(states) == set(rows)
    assert set(states.values()) <= {0.0, 1.0, 2.0} and 2.0 in states.values()
    for row in rows.values():
        assert -7.0 < float(row["lat"]) < -6.0 and 106.5 < float(row["lon"]) < 107.5, row
        assert row["site_name"] and row["district_name"]
    assert rows[h.site]["site_name"] == h.site_name
    assert states[h.down_site] < 2.0


def test_promql_geomap_has_every_site_with_coordinates_and_state(vm_history: VMHistory) -> None:
    h = vm_history.history
    panel = panel_named("victoriametrics", "Sites by state")
    assert panel["type"] == "geomap"
    (target,) = panel["targets"]
    result = run_promql(vm_history, target, variables(h, district=ALL, site=ALL))
    rows = {s["metric"]["site"]: s["metric"] for s in result}
    states = {s["metric"]["site"]: float(s["value"][1]) for s in result}
    assert len(result) == len(rows)  # one series per site
    assert_sites_on_the_map(rows, states, h)


def test_influxql_geomap_queries_join_on_site(influx_history: InfluxHistory) -> None:
    """InfluxDB: the state query and the site info query (joined by Grafana on ``site``)
    both answer one row per site, for the same sites."""
    h = influx_history.history
    panel = panel_named("influxdb", "Sites by state")
    assert panel["transformations"][0]["id"] == "joinByField"
    values = variables(h, district=ALL, site=ALL) | influx_values(influx_history)
    state_q, info_q = (substitute(t["query"], values) for t in panel["targets"])
    states = {
        s["tags"]["site"]: float(s["values"][-1][1]) for s in influx_query(influx_history, state_q)
    }
    info = influx_query(influx_history, info_q)
    rows = {s["tags"]["site"]: s["tags"] for s in info}
    assert len(info) == len(rows)  # one row per site
    assert_sites_on_the_map(rows, states, h)


def test_influxql_tables_join_site_names(influx_history: InfluxHistory) -> None:
    h = influx_history.history
    panel = panel_named("influxdb", "State of every AP")
    values = variables(h, district=ALL, site=ALL) | influx_values(influx_history)
    aps, info = (
        influx_query(influx_history, substitute(t["query"], values)) for t in panel["targets"]
    )
    names = {s["tags"]["site"]: s["tags"]["site_name"] for s in info}
    assert {s["tags"]["site"] for s in aps} <= set(names)
    assert names[h.site] == h.site_name


# -- InfluxDB -------------------------------------------------------------------------------


def influx_query(influx: InfluxHistory, query: str) -> list[dict[str, Any]]:
    response = httpx.post(
        influx.base + "/query",
        data={"q": query, "db": influx.database, "epoch": "ms"},
        auth=influx.auth,
        timeout=30,
    )
    body = response.json()
    assert response.status_code == 200, body
    (result,) = body["results"]
    assert "error" not in result, f"{result['error']}: {query}"
    series: list[dict[str, Any]] = result.get("series", [])
    return series


def influx_values(influx: InfluxHistory) -> dict[str, str]:
    h = influx.history
    return {
        "timeFilter": f"time >= {round(h.start * 1000)}ms and time <= {round(h.end * 1000)}ms",
        "__interval": INTERVAL,
    }


def influx_numbers(series: list[dict[str, Any]]) -> list[float]:
    out = []
    for s in series:
        for row in s["values"]:
            out += [float(v) for v in row[1:] if isinstance(v, int | float)]
    return out


@pytest.mark.parametrize("scope", ["one", "all"])
def test_every_influxql_query_returns_series(influx_history: InfluxHistory, scope: str) -> None:
    h = influx_history.history
    values = (
        variables(h, district=h.district, site=h.site)
        if scope == "one"
        else variables(h, district=ALL, site=ALL)
    ) | influx_values(influx_history)
    checked = 0
    for where, _panel, target in targets("influxdb"):
        query = substitute(target["query"], values)
        series = influx_query(influx_history, query)
        assert series, f"{where}: no series for {query}"
        numbers = influx_numbers(series)
        assert numbers and all(math.isfinite(v) for v in numbers), where
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("scope", ["one", "all"])
def test_influxql_variables_list_the_city(influx_history: InfluxHistory, scope: str) -> None:
    h = influx_history.history
    values = (
        variables(h, district=h.district, site=h.site)
        if scope == "one"
        else variables(h, district=ALL, site=ALL)
    )
    found: dict[str, list[str]] = {}
    for model in build_dashboards("influxdb"):
        for var in model["templating"].get("list", []):
            series = influx_query(influx_history, substitute(var["query"], values))
            found[var["name"]] = [row[1] for s in series for row in s["values"]]
    assert h.district in found["district"]
    assert h.site in found["site"]
    assert found["partner"] == [h.partner]
    assert_cascade(found, h, scope)


def test_influxql_down_list_names_the_cut_ap(influx_history: InfluxHistory) -> None:
    h = influx_history.history
    model = build_dashboards("influxdb")[0]
    (panel,) = [p for p in model["panels"] if p["title"] == "Down now"]
    values = variables(h, district=ALL, site=ALL) | influx_values(influx_history)
    series = influx_query(influx_history, substitute(panel["targets"][0]["query"], values))
    assert [s["tags"]["ap"] for s in series] == [h.down_ap]


# -- both agree -----------------------------------------------------------------------------


def both_hold_the_same_polls(
    vm: VMHistory, influx: InfluxHistory, values: dict[str, str], within_s: float = 20.0
) -> None:
    """Wait (bounded) until both stores answer for the same polls in the range: a store
    on a loaded machine may make a just-written batch visible a moment later, and the
    comparison is of what the queries compute, not of when a write shows."""
    promql = substitute("sum(count_over_time(ap_reachable[$__range]))", values)
    influxql = substitute(
        'SELECT count("reachable") FROM "ap" WHERE $timeFilter', values | influx_values(influx)
    )
    deadline = time.monotonic() + within_s
    while True:
        in_vm = vm_get(vm, "/api/v1/query", {"query": promql, "time": vm.history.end})
        vm_count = float(in_vm["result"][0]["value"][1]) if in_vm["result"] else 0.0
        found = influx_query(influx, influxql)
        influx_count = float(found[0]["values"][-1][1]) if found else 0.0
        if vm_count == influx_count > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert vm_count == influx_count > 0, f"polls: VM {vm_count}, InfluxDB {influx_count}"


def test_both_backends_show_the_same_values(
    vm_history: VMHistory, influx_history: InfluxHistory
) -> None:
    """Stat and bar panels (one value per series at the range's end over the whole
    range): the PromQL and the InfluxQL variant give the same numbers per series. (An
    InfluxDB table or map has a second target, its site info, which PromQL joins in.)"""
    h = vm_history.history
    values = variables(h, district=h.district, site=h.site)
    both_hold_the_same_polls(vm_history, influx_history, values)
    compared = 0
    influx_targets = {panel_key(where): target for where, _, target in targets("influxdb")}
    pairs = [
        (where, vm_target, influx_targets[panel_key(where)])
        for where, _, vm_target in targets("victoriametrics")
    ]
    for where, vm_target, influx_target in pairs:
        if not vm_target.get("instant") or vm_target.get("format") == "table":
            continue
        if "$__rate_interval" in vm_target["expr"]:
            continue  # a rate panel: its stat is the last interval's, not comparable
        vm_result = run_promql(vm_history, vm_target, values)
        influx_series = influx_query(
            influx_history,
            substitute(influx_target["query"], values | influx_values(influx_history)),
        )
        legend = vm_target.get("legendFormat", "")
        key = re.findall(r"\{\{(\w+)\}\}", legend)
        vm_by = {
            tuple(s["metric"].get(k, "") for k in key): float(s["value"][1]) for s in vm_result
        }
        influx_by = {
            tuple((s.get("tags") or {}).get(k, "") for k in key): float(s["values"][-1][1])
            for s in influx_series
        }
        assert vm_by.keys() == influx_by.keys(), where
        for k, v in vm_by.items():
            assert influx_by[k] == pytest.approx(v, rel=1e-6, abs=1e-6), f"{where} {k}"
        compared += 1
    assert compared >= 10
