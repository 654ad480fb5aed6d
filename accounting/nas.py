"""Which AP sent an Accounting-Request, and with which shared secret: the NAS directory.

A NAS is matched by its NAS-IP-Address against the APs' addresses in the inventory, else
by its NAS-Identifier against an AP's id, then its name (a RouterOS hotspot sends its
identity, which operators set to the AP's name). The secret is the AP's credential
profile's ``radius_secret``, opened with the SecretBox once per load.

The directory is a snapshot, read in one query and swapped whole (readers on the event
loop never see half of one). The server reloads it every :data:`REFRESH_S`, and sooner
when a NAS it does not know speaks (an AP just added), at most once per
:data:`UNKNOWN_REFRESH_S`: a stranger spraying packets costs one query per 10 s, not one
per packet. The packet that found the NAS unknown is dropped, not held: the NAS sends it
again (RFC 2866 retransmission), and by then the AP is known.

An AP name shared by several APs, or an address shared by several (APs behind one NAT),
identifies none of them: ambiguous keys are left out rather than guessed. Disabled APs
and those of retired sites stay in: a session they report is still a session.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from accounting.packets import Nas
from inventory.models import AccessPoint, CredentialProfile, Site
from inventory.secretbox import SecretBox

log = logging.getLogger(__name__)

REFRESH_S = 30.0
UNKNOWN_REFRESH_S = 10.0


def address_key(value: str) -> str | None:
    """An IP address in its one canonical spelling; None for a host name."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class Directory:
    """One snapshot: NASes by address and by identifier (AP id, else AP name)."""

    by_address: dict[str, Nas] = field(default_factory=dict)
    by_identifier: dict[str, Nas] = field(default_factory=dict)

    def find(self, nas_ip: str | None, nas_identifier: str | None) -> Nas | None:
        if nas_ip is not None:
            key = address_key(nas_ip)
            nas = self.by_address.get(key) if key is not None else None
            if nas is not None:
                return nas
        if nas_identifier is not None:
            return self.by_identifier.get(nas_identifier.strip())
        return None

    def __len__(self) -> int:
        return len({nas.ap_id for nas in self.by_identifier.values()})


def read_directory(session: Session, box: SecretBox) -> Directory:
    """Every AP with its site, partner and opened RADIUS secret, in one query.

    ConfigError (from the box, naming the key's source) when a secret cannot be opened."""
    rows = session.execute(
        select(
            AccessPoint.id,
            AccessPoint.name,
            AccessPoint.host,
            AccessPoint.site_id,
            Site.partner_id,
            CredentialProfile.radius_secret,
        )
        .join(Site, AccessPoint.site_id == Site.id)
        .join(CredentialProfile, AccessPoint.credential_id == CredentialProfile.id)
        .order_by(AccessPoint.id)
    ).all()
    opened: dict[str | None, bytes | None] = {None: None}
    naslist: list[tuple[Nas, str, str | None]] = []
    for ap_id, name, host, site_id, partner_id, sealed in rows:
        if sealed not in opened:
            clear = box.open(sealed)
            opened[sealed] = clear.encode("utf-8") if clear else None
        nas = Nas(ap_id=ap_id, site_id=site_id, partner_id=partner_id, secret=opened[sealed])
        naslist.append((nas, name, address_key(host)))

    addresses = Counter(address for _nas, _name, address in naslist if address is not None)
    names = Counter(name for _nas, name, _address in naslist)
    by_address = {
        address: nas
        for nas, _name, address in naslist
        if address is not None and addresses[address] == 1
    }
    by_identifier: dict[str, Nas] = {}
    for nas, name, _address in naslist:
        if names[name] == 1:
            by_identifier[name] = nas
    for nas, _name, _address in naslist:  # an id wins over another AP's name
        by_identifier[nas.ap_id] = nas
    return Directory(by_address, by_identifier)


class NasDirectory:
    """The current snapshot and when to read the next (the server decides where the
    query runs: in its database thread, never on the event loop)."""

    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box
        self.current = Directory()
        self._loaded_at: float | None = None
        self._last_unknown_reload: float = float("-inf")
        self.unknown_seen = False  # a NAS not in the snapshot spoke since the last load

    def load(self, now: float) -> Directory:
        """Read the directory now (blocking: a database query) and make it current."""
        with Session(self._engine) as session:
            directory = read_directory(session, self._box)
        self.current = directory
        self._loaded_at = now
        self.unknown_seen = False
        return directory

    def find(self, nas_ip: str | None, nas_identifier: str | None) -> Nas | None:
        nas = self.current.find(nas_ip, nas_identifier)
        if nas is None:
            self.unknown_seen = True
        return nas

    def due(self, now: float) -> bool:
        """Whether to reload: the snapshot is :data:`REFRESH_S` old, or a stranger spoke
        and the last reload for one is :data:`UNKNOWN_REFRESH_S` ago."""
        if self._loaded_at is None or now - self._loaded_at >= REFRESH_S:
            return True
        if self.unknown_seen and now - self._last_unknown_reload >= UNKNOWN_REFRESH_S:
            self._last_unknown_reload = now
            return True
        return False
