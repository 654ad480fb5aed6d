"""Credentials to a target: the one place that decides whether SNMP credentials can work.

The collector (from the inventory) and ``citywifi poll`` (from its flags) both come here,
so a v2c AP without community or a v3 one without user or key is refused the same way,
with one line naming what is missing, before anything is sent: polling with credentials
that cannot work would only produce a misleading "down".
"""

from __future__ import annotations

from collector.snmp.types import SnmpTarget
from core.errors import ConfigError

VERSIONS = ("2c", "3")

# Inventory protocol names → names of pysnmp's protocol constants (looked up only when a
# v3 target is polled, so that importing this module does not import pysnmp).
AUTH_PROTOCOLS = {
    "MD5": "usmHMACMD5AuthProtocol",
    "SHA": "usmHMACSHAAuthProtocol",
    "SHA224": "usmHMAC128SHA224AuthProtocol",
    "SHA256": "usmHMAC192SHA256AuthProtocol",
    "SHA384": "usmHMAC256SHA384AuthProtocol",
    "SHA512": "usmHMAC384SHA512AuthProtocol",
}
PRIV_PROTOCOLS = {
    "DES": "usmDESPrivProtocol",
    "3DES": "usm3DESEDEPrivProtocol",
    "AES": "usmAesCfb128Protocol",
    "AES128": "usmAesCfb128Protocol",
    "AES192": "usmAesCfb192Protocol",
    "AES256": "usmAesCfb256Protocol",
}
DEFAULT_AUTH = "SHA"
DEFAULT_PRIV = "AES"


def protocol_key(name: str) -> str:
    """A protocol name as the tables spell it: ``aes-128`` → ``AES128``."""
    return name.upper().replace("-", "").replace("_", "")


def _known(name: str, table: dict[str, str], what: str, where: str) -> str:
    if protocol_key(name) not in table:
        raise ConfigError(
            f"{where}: unknown SNMPv3 {what} protocol {name!r}; known: {', '.join(table)}"
        )
    return name


def build_target(
    host: str,
    port: int,
    *,
    version: str,
    community: str | None = None,
    user: str | None = None,
    auth_protocol: str | None = None,
    auth_key: str | None = None,
    priv_protocol: str | None = None,
    priv_key: str | None = None,
    timeout_s: float = 2.0,
    retries: int = 1,
) -> SnmpTarget:
    """The target for these credentials; ConfigError naming what is missing when they
    cannot work. v3: authPriv with a priv key (AES unless named), else authNoPriv."""
    where = f"{host}:{port}"
    if version == "2c":
        if not community:
            raise ConfigError(f"{where}: SNMPv2c needs a community")
        return SnmpTarget(host, port, community, timeout_s, retries)
    if version != "3":
        raise ConfigError(f"{where}: unknown SNMP version {version!r}; known: 2c, 3")
    missing = [name for name, value in (("a user", user), ("an auth key", auth_key)) if not value]
    if missing:
        raise ConfigError(f"{where}: SNMPv3 needs {' and '.join(missing)}")
    if priv_protocol and not priv_key:
        raise ConfigError(f"{where}: SNMPv3 privacy protocol {priv_protocol} needs a priv key")
    return SnmpTarget(
        host,
        port,
        "",
        timeout_s,
        retries,
        user=user,
        auth_protocol=_known(auth_protocol or DEFAULT_AUTH, AUTH_PROTOCOLS, "auth", where),
        auth_key=auth_key,
        priv_protocol=(
            _known(priv_protocol or DEFAULT_PRIV, PRIV_PROTOCOLS, "privacy", where)
            if priv_key
            else None
        ),
        priv_key=priv_key or None,
    )
