"""Settings precedence: CLI flag > CITYWIFI_* env > citywifi.toml > default."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.errors import ConfigError
from core.settings import Settings, load_settings, redact_url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("CITYWIFI_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def write_toml(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_defaults_put_everything_in_the_data_dir(tmp_path: Path) -> None:
    s = Settings()
    assert s.data_dir == Path(".citywifi")
    assert s.db_url == f"sqlite:///{tmp_path / '.citywifi' / 'inventory.sqlite'}"
    assert s.store_url == f"embedded://{tmp_path / '.citywifi' / 'metrics'}"
    assert s.poll_interval_s == 60.0


def test_toml_beats_defaults(tmp_path: Path) -> None:
    write_toml(tmp_path / "citywifi.toml", 'poll_interval_s = 30\ndata_dir = "/srv/cw"\n')
    s = Settings()
    assert s.poll_interval_s == 30.0
    assert s.data_dir == Path("/srv/cw")


def test_env_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path / "citywifi.toml", "poll_interval_s = 30\nsnmp_retries = 3\n")
    monkeypatch.setenv("CITYWIFI_POLL_INTERVAL_S", "15")
    s = Settings()
    assert s.poll_interval_s == 15.0
    assert s.snmp_retries == 3  # not overridden, so the file still speaks


def test_cli_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYWIFI_POLL_INTERVAL_S", "15")
    monkeypatch.setenv("CITYWIFI_DATA_DIR", "/from/env")
    s = load_settings(poll_interval_s=5, data_dir=None)  # None = flag not given
    assert s.poll_interval_s == 5.0
    assert s.data_dir == Path("/from/env")


def test_config_file_named_by_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    write_toml(other, "api_port = 9000\n")
    monkeypatch.setenv("CITYWIFI_CONFIG", str(other))
    assert Settings().api_port == 9000


def test_bad_values_are_refused_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYWIFI_POLL_INTERVAL_S", "0")
    with pytest.raises(ValidationError, match="poll_interval_s"):
        Settings()


def test_unknown_keys_in_toml_are_refused(tmp_path: Path) -> None:
    write_toml(tmp_path / "citywifi.toml", "poll_intervall_s = 30\n")
    with pytest.raises(ValidationError, match="poll_intervall_s"):
        Settings()


def test_secrets_never_print() -> None:
    s = Settings(
        database_url="postgresql://noc:pg-secret@127.0.0.1/citywifi",
        timeseries_url="influxdb+http://127.0.0.1:8086?org=city&bucket=wifi&token=tok-secret",
    )
    shown = repr(s) + str(s) + str(s.redacted())
    assert "pg-secret" not in shown
    assert "tok-secret" not in shown
    assert "postgresql://noc:***@127.0.0.1/citywifi" in shown
    assert "org=city" in shown


def test_redact_url_leaves_plain_urls_alone() -> None:
    assert redact_url("sqlite:////abs/path.db") == "sqlite:////abs/path.db"
    assert redact_url("embedded:///var/lib/x") == "embedded:///var/lib/x"


def test_a_bad_value_says_setting_source_value_and_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(tmp_path / "citywifi.toml", 'snmp_retries = 9\nlog_level = "loud"\n')
    monkeypatch.setenv("CITYWIFI_POLL_INTERVAL_S", "0")
    with pytest.raises(ConfigError) as caught:
        load_settings(api_port=70000, options={"api_port": "--port"})
    assert str(caught.value).splitlines() == [  # in the order the settings are declared
        "CITYWIFI_POLL_INTERVAL_S=0 (environment): must be \u2265 1",
        "snmp_retries = 9 (citywifi.toml): must be \u2264 5",
        "--port 70000 (command-line option): must be \u2264 65535",
        'log_level = "loud" (citywifi.toml):'
        " must be one of 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
    ]


def test_the_source_named_is_the_one_that_won(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "site.toml"
    write_toml(other, "poll_interval_s = 0\nsnmp_timeout_s = -1\n")
    monkeypatch.setenv("CITYWIFI_CONFIG", str(other))
    monkeypatch.setenv("CITYWIFI_SNMP_TIMEOUT_S", "-2")  # env beats the file: it is named
    with pytest.raises(ConfigError) as caught:
        load_settings(poll_interval_s=None)  # None: the option was not given
    assert str(caught.value).splitlines() == [
        f"poll_interval_s = 0 ({other}): must be \u2265 1",
        "CITYWIFI_SNMP_TIMEOUT_S=-2 (environment): must be > 0",
    ]


def test_an_unknown_key_lists_the_known_ones(tmp_path: Path) -> None:
    write_toml(tmp_path / "citywifi.toml", "poll_intervall_s = 30\n")
    with pytest.raises(ConfigError, match=r"poll_intervall_s = 30 \(citywifi.toml\): unknown"):
        load_settings()
    with pytest.raises(ConfigError, match=r"known: .*poll_interval_s"):
        load_settings()


def test_a_refused_secret_is_not_repeated(tmp_path: Path) -> None:
    write_toml(
        tmp_path / "citywifi.toml",
        'influx_token = "T0KEN-S3CRET"\nstore_url = "http://u:PASS-S3CRET@127.0.0.1:8428"\n',
    )
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = str(refused.value)
    assert "influx_token = *** " in message and "store_url = http://u:***@" in message
    assert "S3CRET" not in message


def test_thresholds_per_site_kind_are_checked_as_the_citys(tmp_path: Path) -> None:
    write_toml(
        tmp_path / "citywifi.toml",
        "[fault_thresholds]\nsilent_after_s = 600\n\n"
        "[fault_thresholds_by_kind.market]\noverload_clients = 120\n",
    )
    settings = load_settings()
    market, park = settings.thresholds_for("market"), settings.thresholds_for("park")
    assert (market.overload_clients, market.silent_after_s) == (120, 600.0)
    assert park is settings.fault_thresholds and park.overload_clients is None

    write_toml(
        tmp_path / "citywifi.toml", "[fault_thresholds_by_kind.market]\nflap_min_changes = 2\n"
    )
    with pytest.raises(ConfigError, match=r"site kind 'market', flap_min_changes: must be ≥ 3"):
        load_settings()
    write_toml(tmp_path / "citywifi.toml", "[fault_thresholds]\nsilent_afer_s = 60\n")
    with pytest.raises(ConfigError) as unknown:
        load_settings()
    assert "silent_afer_s: unknown setting; known: backhaul_after_s," in str(unknown.value)
    assert "poll_interval_s" not in str(unknown.value)  # the table's names, not the settings'


def test_a_bad_notify_route_names_the_key_and_hides_the_secret(tmp_path: Path) -> None:
    write_toml(
        tmp_path / "citywifi.toml",
        '[[notify_routes]]\nname = "noc"\ntransport = "webhook"\n'
        'secret = "H00K-S3CRET"\nurll = "x"\n',
    )
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = str(refused.value)
    assert "0.urll: unknown setting; known: classes," in message
    assert "S3CRET" not in message


def test_the_citizens_route_must_name_a_webhook_route(tmp_path: Path) -> None:
    routes = (
        '[[notify_routes]]\nname = "sms-gw"\ntransport = "webhook"\n'
        'url = "https://gw.example/hook"\nsecret = "GW-S3CRET"\n'
        '[[notify_routes]]\nname = "noc-mail"\ntransport = "email"\nto = ["noc@example.org"]\n'
    )
    assert Settings().citizen_notify_route is None  # nobody is told
    write_toml(tmp_path / "citywifi.toml", 'citizen_notify_route = "sms-gw"\n' + routes)
    settings = load_settings()
    assert [route.name for route in settings.incident_routes] == ["noc-mail"]
    write_toml(tmp_path / "citywifi.toml", 'citizen_notify_route = "noc-mail"\n' + routes)
    with pytest.raises(ConfigError) as mail:
        load_settings()
    assert str(mail.value) == (
        "citizen_notify_route = \"noc-mail\" (citywifi.toml): route 'noc-mail' uses the "
        "email transport, not webhook"
    )
    with pytest.raises(ConfigError) as unknown:
        load_settings(citizen_notify_route="sms")
    assert str(unknown.value) == (
        "--citizen-notify-route sms (command-line option): must name a webhook route of "
        "notify_routes (known: sms-gw, noc-mail)"
    )
    assert "S3CRET" not in str(unknown.value)
