"""``dashboards.grafana.push``: folder, data source and dashboards provisioned through
Grafana's HTTP API (the stand-in of tests/fixtures/grafana_standin.py checks the
contract), idempotently, with one-line errors that never show the token."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from core.errors import AccessError, CitywifiError, ConfigError
from dashboards.grafana.push import FOLDER_UID, PushReport, push
from tests.fixtures.grafana_standin import GrafanaStandin

DS_UID = "citywifi-vm"


def _datasource(url: str = "http://127.0.0.1:8428") -> dict[str, Any]:
    return {
        "name": "citywifi VictoriaMetrics",
        "type": "prometheus",
        "uid": DS_UID,
        "url": url,
        "access": "proxy",
        "isDefault": False,
        "jsonData": {"timeInterval": "60s"},
    }


def _dashboard(name: str, panel_title: str = "Clients") -> dict[str, Any]:
    """A small dashboard model shaped like the builders' (uid, title, panels, templating,
    schemaVersion, every panel on the data source)."""
    source = {"type": "prometheus", "uid": DS_UID}
    return {
        "uid": f"citywifi-{name}-vm",
        "title": name.replace("-", " ").capitalize(),
        "schemaVersion": 41,
        "templating": {"list": []},
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "title": panel_title,
                "datasource": source,
                "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
                "targets": [
                    {"refId": "A", "expr": "sum(citywifi_ap_clients)", "datasource": source}
                ],
            }
        ],
    }


DASHBOARDS = ("network-operations", "access-point")


@pytest.fixture
def push_to(grafana_standin: GrafanaStandin) -> Callable[..., PushReport]:
    """``push`` to the stand-in with its token and the test's dashboards by default."""

    def run(**overrides: Any) -> PushReport:
        args: dict[str, Any] = {
            "grafana_url": grafana_standin.url,
            "token": grafana_standin.token,
            "backend": "victoriametrics",
            "dashboards": [_dashboard(name) for name in DASHBOARDS],
            "datasource": _datasource(),
            "timeout_s": 5.0,
        }
        args.update(overrides)
        return push(**args)

    return run


def test_first_push_creates_folder_datasource_and_dashboards(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    report = push_to()

    uids = tuple(f"citywifi-{name}-vm" for name in DASHBOARDS)
    assert report == PushReport(
        folder_uid=FOLDER_UID,
        datasource_uid=DS_UID,
        dashboards=uids,
        created=uids,
        updated=(),
        folder="created",
        datasource="created",
    )
    assert report.changed
    assert grafana_standin.folders[FOLDER_UID]["title"] == "citywifi"
    stored_ds = grafana_standin.datasources[DS_UID]
    assert {k: stored_ds[k] for k in ("name", "type", "url", "access")} == {
        "name": "citywifi VictoriaMetrics",
        "type": "prometheus",
        "url": "http://127.0.0.1:8428",
        "access": "proxy",
    }
    for uid in uids:
        entry = grafana_standin.dashboards[uid]
        assert entry["folderUid"] == FOLDER_UID
        assert entry["dashboard"]["version"] == 1
    # Every request carried the bearer token; the writes were the documented ones.
    assert {r.authorization for r in grafana_standin.requests} == {
        f"Bearer {grafana_standin.token}"
    }
    assert [(r.method, r.path) for r in grafana_standin.writes()] == [
        ("POST", "/api/folders"),
        ("POST", "/api/datasources"),
        ("POST", "/api/dashboards/db"),
        ("POST", "/api/dashboards/db"),
    ]
    saved = [r.body for r in grafana_standin.writes() if r.path == "/api/dashboards/db"]
    assert all(body["overwrite"] is True and body["folderUid"] == FOLDER_UID for body in saved)
    assert all(body["dashboard"]["id"] is None for body in saved)
    assert grafana_standin.writes()[0].body == {"title": "citywifi", "uid": FOLDER_UID}


def test_second_push_writes_nothing(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    push_to()
    grafana_standin.reset_log()

    again = push_to()

    assert grafana_standin.writes() == []
    assert (again.created, again.updated, again.folder, again.datasource) == (
        (),
        (),
        "unchanged",
        "unchanged",
    )
    assert again.unchanged == again.dashboards
    assert not again.changed
    assert len(grafana_standin.folders) == 1
    assert len(grafana_standin.datasources) == 1
    assert len(grafana_standin.dashboards) == len(DASHBOARDS)
    assert all(e["dashboard"]["version"] == 1 for e in grafana_standin.dashboards.values())


def test_a_changed_dashboard_is_updated_alone(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    push_to()
    grafana_standin.reset_log()
    changed = [_dashboard("network-operations", "Clients now"), _dashboard("access-point")]

    report = push_to(dashboards=changed)

    assert report.updated == ("citywifi-network-operations-vm",)
    assert report.created == ()
    assert report.unchanged == ("citywifi-access-point-vm",)
    assert [(r.method, r.path) for r in grafana_standin.writes()] == [
        ("POST", "/api/dashboards/db")
    ]
    stored = grafana_standin.dashboards["citywifi-network-operations-vm"]["dashboard"]
    assert stored["version"] == 2
    assert stored["panels"][0]["title"] == "Clients now"


def test_a_new_dashboard_is_created_beside_the_old(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    push_to()
    more = [_dashboard(name) for name in (*DASHBOARDS, "coverage")]

    report = push_to(dashboards=more)

    assert report.created == ("citywifi-coverage-vm",)
    assert report.updated == ()
    assert len(grafana_standin.dashboards) == 3


def test_datasource_changes_are_put_by_uid(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    push_to()
    grafana_standin.reset_log()

    report = push_to(datasource=_datasource("http://10.0.0.5:8428"))

    assert report.datasource == "updated"
    assert report.folder == "unchanged"
    assert report.created == report.updated == ()
    assert [(r.method, r.path) for r in grafana_standin.writes()] == [
        ("PUT", f"/api/datasources/uid/{DS_UID}")
    ]
    assert grafana_standin.datasources[DS_UID]["url"] == "http://10.0.0.5:8428"
    assert grafana_standin.datasources[DS_UID]["version"] == 2


def test_drift_made_in_grafana_is_put_back(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    """Someone retitled the folder and moved a dashboard out of it by hand: the next push
    restores both and leaves the rest alone."""
    push_to()
    grafana_standin.folders[FOLDER_UID]["title"] = "renamed by hand"
    grafana_standin.dashboards["citywifi-access-point-vm"]["folderUid"] = ""
    grafana_standin.reset_log()

    report = push_to()

    assert report.folder == "updated"
    assert report.updated == ("citywifi-access-point-vm",)
    assert grafana_standin.folders[FOLDER_UID]["title"] == "citywifi"
    assert grafana_standin.dashboards["citywifi-access-point-vm"]["folderUid"] == FOLDER_UID
    assert [(r.method, r.path) for r in grafana_standin.writes()] == [
        ("PUT", f"/api/folders/{FOLDER_UID}"),
        ("POST", "/api/dashboards/db"),
    ]


def _assert_one_line_without(exc: BaseException, secret: str, *needles: str) -> None:
    message = str(exc)
    assert "\n" not in message
    assert secret not in message
    for needle in needles:
        assert needle in message, message


def test_a_wrong_token_is_an_access_error_naming_grafana_not_the_token(
    grafana_standin: GrafanaStandin,
    push_to: Callable[..., PushReport],
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "glsa_this-token-is-not-known-to-grafana"
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AccessError) as raised:
        push_to(token=wrong)

    _assert_one_line_without(raised.value, wrong, grafana_standin.url, "401")
    assert wrong not in caplog.text
    assert grafana_standin.writes() == []


def test_a_token_without_write_rights_is_refused_in_one_line(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    with pytest.raises(AccessError) as raised:
        push_to(token=grafana_standin.viewer_token)

    _assert_one_line_without(
        raised.value, grafana_standin.viewer_token, grafana_standin.url, "403", "create folder"
    )
    assert grafana_standin.folders == {}


def test_no_token_is_refused_before_any_request(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    with pytest.raises(AccessError, match="token"):
        push_to(token="")
    assert grafana_standin.requests == []


def test_a_server_error_names_the_url_and_status(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    grafana_standin.fail_next(503)

    with pytest.raises(ConfigError) as raised:
        push_to()

    _assert_one_line_without(raised.value, grafana_standin.token, grafana_standin.url, "503")
    assert "read folder citywifi" in str(raised.value)


def test_a_failure_half_way_is_mended_by_the_next_push(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    """Folder and data source made, then Grafana fails: pushing again finishes the job
    without duplicates."""
    push_to(dashboards=[])
    grafana_standin.fail_next(500)
    with pytest.raises(ConfigError, match="500"):
        push_to()

    report = push_to()

    assert report.created == tuple(f"citywifi-{name}-vm" for name in DASHBOARDS)
    assert (report.folder, report.datasource) == ("unchanged", "unchanged")
    assert len(grafana_standin.folders) == len(grafana_standin.datasources) == 1


def test_a_grafana_that_hangs_is_a_timeout_error(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    grafana_standin.stall_next()

    with pytest.raises(ConfigError) as raised:
        push_to(timeout_s=0.3)

    _assert_one_line_without(
        raised.value, grafana_standin.token, grafana_standin.url, "did not answer within 0.3 s"
    )


def test_connection_refused_is_one_line(
    free_tcp_port: Callable[[], int], push_to: Callable[..., PushReport]
) -> None:
    url = f"http://127.0.0.1:{free_tcp_port()}"

    with pytest.raises(ConfigError) as raised:
        push_to(grafana_url=url, token="glsa_never-sent-anywhere-0001")

    _assert_one_line_without(
        raised.value, "glsa_never-sent-anywhere-0001", url, "connection refused"
    )


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1:3000", "127.0.0.1:3000", "http://", "http://127.0.0.1:99999"]
)
def test_a_url_that_cannot_be_grafanas_is_a_config_error(
    url: str, push_to: Callable[..., PushReport]
) -> None:
    with pytest.raises(ConfigError, match="Grafana URL"):
        push_to(grafana_url=url)


def test_the_url_password_is_redacted(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    url = grafana_standin.url.replace("http://", "http://admin:hunter2-secret@")

    with pytest.raises(AccessError) as raised:
        push_to(grafana_url=url, token="glsa_wrong-token-for-this-test")

    assert "hunter2-secret" not in str(raised.value)
    assert "admin:***@" in str(raised.value)


def test_a_path_prefix_is_kept(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    """Grafana served under /grafana/: requests go to /grafana/api/... (the stand-in
    serves only /api/, so it answers 404 and the error names what was asked)."""
    with pytest.raises(ConfigError, match="HTTP 404"):
        push_to(grafana_url=grafana_standin.url + "/grafana/")

    assert {r.path for r in grafana_standin.requests} <= {
        "/grafana/api/folders/citywifi",
        "/grafana/api/folders",
    }
    assert grafana_standin.requests


def test_a_web_server_that_is_not_grafana_is_named_as_such(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    grafana_standin.not_grafana = True

    with pytest.raises(ConfigError, match="is the URL Grafana's"):
        push_to()


def test_a_datasource_name_taken_by_another_uid_is_refused_with_grafanas_reason(
    grafana_standin: GrafanaStandin, push_to: Callable[..., PushReport]
) -> None:
    taken = {**_datasource(), "uid": "made-by-hand"}
    push_to(datasource=taken, dashboards=[])

    with pytest.raises(ConfigError) as raised:
        push_to()

    assert "409" in str(raised.value)
    assert "same name" in str(raised.value)


@pytest.mark.parametrize(
    ("dashboards", "datasource", "message"),
    [
        ([{"title": "no uid", "panels": []}], _datasource(), "lacks a uid"),
        ([_dashboard("a"), _dashboard("a")], _datasource(), "given twice"),
        ([], {**_datasource(), "url": ""}, "lacks url"),
    ],
)
def test_a_malformed_payload_is_refused_before_any_request(
    grafana_standin: GrafanaStandin,
    push_to: Callable[..., PushReport],
    dashboards: list[dict[str, Any]],
    datasource: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ConfigError, match=message):
        push_to(dashboards=dashboards, datasource=datasource)
    assert grafana_standin.requests == []


def test_errors_are_citywifi_errors(push_to: Callable[..., PushReport]) -> None:
    """The CLI turns CitywifiError into one line: nothing else may escape a push."""
    with pytest.raises(CitywifiError):
        push_to(grafana_url="http://127.0.0.1:1")


@pytest.mark.parametrize("backend", ["victoriametrics", "influxdb"])
def test_the_built_dashboards_push_and_push_again_unchanged(
    grafana_standin: GrafanaStandin, backend: Any
) -> None:
    """The real builders' output passes the contract checks, and is stable: a second
    push (a fresh build) finds everything as it left it."""
    from dashboards.grafana import build_dashboards, datasource, datasource_uid

    def once() -> PushReport:
        return push(
            grafana_url=grafana_standin.url,
            token=grafana_standin.token,
            backend=backend,
            dashboards=build_dashboards(backend),
            datasource=datasource(backend, "http://127.0.0.1:9"),
        )

    first = once()
    assert len(first.created) == len(first.dashboards) >= 4
    assert first.datasource_uid == datasource_uid(backend)
    grafana_standin.reset_log()

    second = once()

    assert not second.changed, second
    assert grafana_standin.writes() == []


def test_the_standin_refuses_what_grafana_would(grafana_standin: GrafanaStandin) -> None:
    """The stand-in's own contract checks: without the bearer token 401; a dashboard
    saved without a folderUid is a contract breach (it would land at the root)."""
    import json
    import urllib.error
    import urllib.request

    def send(path: str, body: object, token: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            grafana_standin.url + path, json.dumps(body).encode(), headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert send("/api/folders", {"uid": "x", "title": "x"}, None) == 401
    assert send("/api/folders", {"uid": "x", "title": "x"}, "glsa_wrong-one") == 401
    assert send("/api/dashboards/db", {"dashboard": _dashboard("a")}, grafana_standin.token) == 400
    assert grafana_standin.violations == [
        "dashboard citywifi-a-vm saved without a folderUid (lands at root)"
    ]
    grafana_standin.violations.clear()
    assert send("/api/folders", {"uid": "x", "title": "x"}, grafana_standin.token) == 200
    assert send("/api/folders", {"uid": "x", "title": "y"}, grafana_standin.token) == 409
