"""build_target: the one place SNMP credentials become a target, or are refused."""

from __future__ import annotations

import pytest

from collector.snmp import SnmpTarget, build_target
from core.errors import ConfigError


def test_v2c_with_a_community() -> None:
    target = build_target("127.1.0.1", 1161, version="2c", community="s3cret", timeout_s=1.5)
    assert target == SnmpTarget("127.1.0.1", 1161, "s3cret", 1.5, 1)
    assert "s3cret" not in repr(target)


def test_v3_auth_priv_with_defaults() -> None:
    target = build_target(
        "127.1.0.1", 161, version="3", user="noc", auth_key="a" * 8, priv_key="p" * 8
    )
    assert target.is_v3 and target.community == ""
    assert (target.auth_protocol, target.priv_protocol) == ("SHA", "AES")
    assert "a" * 8 not in repr(target) and "p" * 8 not in repr(target)


def test_v3_auth_no_priv() -> None:
    target = build_target(
        "127.1.0.1", 161, version="3", user="noc", auth_protocol="sha256", auth_key="k" * 8
    )
    assert (target.auth_protocol, target.priv_protocol, target.priv_key) == ("sha256", None, None)


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"version": "2c"}, "SNMPv2c needs a community"),
        ({"version": "2c", "community": ""}, "SNMPv2c needs a community"),
        ({"version": "3", "auth_key": "k" * 8}, "SNMPv3 needs a user"),
        ({"version": "3", "user": "noc"}, "SNMPv3 needs an auth key"),
        ({"version": "3"}, "SNMPv3 needs a user and an auth key"),
        (
            {"version": "3", "user": "noc", "auth_key": "k" * 8, "priv_protocol": "AES"},
            "SNMPv3 privacy protocol AES needs a priv key",
        ),
        (
            {"version": "3", "user": "noc", "auth_key": "k" * 8, "auth_protocol": "SHA3"},
            "unknown SNMPv3 auth protocol 'SHA3'; known: MD5, SHA,",
        ),
        (
            {"version": "3", "user": "noc", "auth_key": "k", "priv_key": "p", "priv_protocol": "X"},
            "unknown SNMPv3 privacy protocol 'X'; known: DES,",
        ),
        ({"version": "1", "community": "public"}, "unknown SNMP version '1'; known: 2c, 3"),
    ],
)
def test_credentials_that_cannot_work_are_refused(
    credentials: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=f"^127.1.0.1:161: {message}") as caught:
        build_target("127.1.0.1", 161, **credentials)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
