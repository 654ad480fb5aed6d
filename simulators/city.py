"""A whole simulated city generated from a seed: districts, partners, sites and APs.

The city is plain data plus one :class:`~simulators.device.Device` per AP. Its inventory
is a plain dict in the inventory file's YAML shape; nothing here imports the product's
inventory code, so the simulator stays an honest stand-in for real hardware.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from core.errors import SimulatorError
from simulators import bekasi, names
from simulators.device import Device
from simulators.device_mib import Identity, build_mib
from simulators.mib import MibView
from simulators.uplinks import Uplink, plan_uplinks
from simulators.usm import UsmAgent, UsmUser, engine_id_for
from simulators.vendors import VENDORS, Model, VendorProfile

SSID = "CityWiFi"
SSH_PORT = 2222
SSH_USERNAME = "admin"
KM_PER_DEG_LAT = 110.574
MAX_RADIUS_KM = 8.0

KIND_WEIGHTS = {
    "park": 16,
    "market": 14,
    "school": 14,
    "office": 12,
    "transit": 12,
    "mosque": 16,
    "residential": 16,
}
COVERAGE_M = {
    "park": 80,
    "market": 60,
    "school": 50,
    "office": 40,
    "transit": 60,
    "mosque": 40,
    "residential": 70,
}
APS_PER_SITE = {1: 50, 2: 35, 3: 15}
SPONSORED_SHARE = 0.6
VENDOR_BANDS: tuple[tuple[str, float], ...] = (
    ("unifi", 0.35),
    ("openwrt", 0.455),
    ("mikrotik", 0.865),
    ("airmax", 1.0),
)
"""The vendor mix: a site's one uniform draw picks the first band whose upper bound it
is below, so UniFi 35 %, OpenWrt 10.5 %, MikroTik 41 %, airMAX 13.5 % of sites. OpenWrt stays
small because it reports no client count over SNMP. The bands are laid out over the old
two-vendor split (UniFi below 0.45), so most sites keep the vendor they had, and the draw
itself is unchanged, so the rest of a seeded city (sites, names, addresses) is too."""
V3_SHARE = 1 / 3
"""Share of APs already migrated to SNMPv3 authPriv (and answering nothing else)."""
SECRET_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


@dataclass(frozen=True)
class Partner:
    id: str
    name: str


@dataclass(frozen=True)
class District:
    id: str
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Credential:
    """A credential profile: v2c with a community, or v3 authPriv (SHA + AES)."""

    id: str
    community: str
    version: str = "2c"
    user: str = ""
    auth_protocol: str = "SHA"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "AES"
    priv_key: str = field(default="", repr=False)

    def snmp(self) -> dict[str, str]:
        """The profile's ``snmp`` block in the inventory file's shape."""
        if self.version == "2c":
            return {"version": "2c", "community": self.community}
        return {
            "version": "3",
            "user": self.user,
            "auth_protocol": self.auth_protocol,
            "auth_key": self.auth_key,
            "priv_protocol": self.priv_protocol,
            "priv_key": self.priv_key,
        }


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    lat: float
    lon: float
    district: str
    partner: str | None
    kind: str
    coverage_radius_m: float
    uplink: str | None = None  # the shared uplink its traffic leaves through


@dataclass
class SimAp:
    """One simulated AP: where it listens, what it is, and how it behaves."""

    id: str
    site: str
    name: str
    host: str
    snmp_port: int
    credentials: str
    community: str
    vendor: VendorProfile
    model: Model
    device: Device
    identity: Identity
    v3: Credential | None = None  # set for APs migrated to SNMPv3 (community is then "")

    @property
    def snmp_version(self) -> str:
        return "3" if self.v3 is not None else "2c"

    @property
    def hotspot(self) -> bool:
        """Whether it runs a hotspot (a vendor with a session table: MikroTik), and so
        sends RADIUS accounting for its sessions when the simulator is given a server."""
        return self.vendor.session_table is not None

    @cached_property
    def mib(self) -> MibView:
        return build_mib(self.device, self.vendor, self.model, self.identity)

    @cached_property
    def usm(self) -> UsmAgent | None:
        """The AP's SNMPv3 engine, keys localised once here (pass it to the Responder);
        None for a v2c AP."""
        if self.v3 is None:
            return None
        engine_id = engine_id_for(self.id)
        user = UsmUser.from_passwords(
            self.v3.user,
            engine_id,
            auth_protocol=self.v3.auth_protocol,
            auth_password=self.v3.auth_key,
            priv_protocol=self.v3.priv_protocol,
            priv_password=self.v3.priv_key,
        )
        return UsmAgent(engine_id, [user], self.device.boot_time)


@dataclass
class City:
    seed: int
    partners: list[Partner] = field(default_factory=list)
    districts: list[District] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)
    uplinks: list[Uplink] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    aps: list[SimAp] = field(default_factory=list)

    def inventory(self, ssh_port: int = SSH_PORT) -> dict[str, Any]:
        """The city as an inventory document (the shape of the inventory YAML file).

        ``ssh_port`` is the port the simulator actually serves SSH on, so the inventory
        it writes points the collector at the running CLIs, not at the default. Profiles
        that hotspot APs use carry the RADIUS shared secret those APs sign with."""
        hotspot_profiles = {ap.credentials for ap in self.aps if ap.hotspot}
        return {
            "partners": [{"id": p.id, "name": p.name} for p in self.partners],
            "districts": [{"id": d.id, "name": d.name} for d in self.districts],
            "credentials": [
                {
                    "id": c.id,
                    "snmp": c.snmp(),
                    "ssh": {"username": SSH_USERNAME, "password": ssh_password(self.seed)},
                    **(
                        {"radius": {"secret": radius_secret(self.seed, c.id)}}
                        if c.id in hotspot_profiles
                        else {}
                    ),
                }
                for c in self.credentials
            ],
            "uplinks": [
                {
                    "id": u.id,
                    "name": u.name,
                    "operator": u.operator,
                    "capacity_mbps": u.capacity_mbps,
                }
                for u in self.uplinks
            ],
            "sites": [
                {
                    "id": s.id,
                    "name": s.name,
                    "lat": s.lat,
                    "lon": s.lon,
                    "district": s.district,
                    "partner": s.partner,
                    "kind": s.kind,
                    "coverage_radius_m": s.coverage_radius_m,
                    "status": "active",
                    "uplink": s.uplink,
                }
                for s in self.sites
            ],
            "aps": [
                {
                    "id": ap.id,
                    "site": ap.site,
                    "name": ap.name,
                    "host": ap.host,
                    "snmp_port": ap.snmp_port,
                    "ssh_port": ssh_port,
                    "profile": "auto",
                    "credentials": ap.credentials,
                    "enabled": True,
                }
                for ap in self.aps
            ],
        }


def ssh_password(seed: int) -> str:
    """The simulated city's SSH password: seeded, so the inventory the simulator writes
    logs in, yet not a constant anyone could guess."""
    digest = hashlib.blake2b(f"ssh:{seed}".encode(), digest_size=9).hexdigest()
    return f"cw{digest}"


def radius_secret(seed: int, profile: str) -> str:
    """The RADIUS shared secret of credential profile ``profile``: seeded like the SSH
    password, and one per profile, so a receiver that mixed up two NAS groups' secrets
    would fail to verify their packets rather than pass by accident."""
    digest = hashlib.blake2b(f"radius:{seed}:{profile}".encode(), digest_size=12).hexdigest()
    return f"rs{digest}"


def _addresses(base: str, count: int) -> list[str]:
    """``count`` loopback addresses from ``base`` on, skipping .0 and .255 host bytes and
    staying inside the base's /16."""
    try:
        start = ipaddress.IPv4Address(base)
    except ValueError as exc:
        raise SimulatorError(f"base address {base!r} is not an IPv4 address") from exc
    if not start.is_loopback:
        raise SimulatorError(f"base address {base} is not a loopback address (127.0.0.0/8)")
    network = ipaddress.IPv4Network(f"{start}/16", strict=False)
    out: list[str] = []
    address = start
    while len(out) < count:
        if address not in network:
            raise SimulatorError(f"{count} APs do not fit in {network} from {base}")
        if address.packed[3] not in (0, 255):
            out.append(str(address))
        address += 1
    return out


def _offset(lat: float, lon: float, north_km: float, east_km: float) -> tuple[float, float]:
    return (
        lat + north_km / KM_PER_DEG_LAT,
        lon + east_km / (111.320 * math.cos(math.radians(lat))),
    )


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


class _Namer:
    """Site names by kind, made unique within the city."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def name(self, kind: str, district: str) -> str:
        rng = self.rng
        place = rng.choice(names.PLACES)
        candidate = {
            "park": lambda: rng.choice(names.PARKS),
            "market": lambda: rng.choice(names.MARKETS),
            "school": lambda: f"{rng.choice(names.SCHOOLS)} {rng.randint(1, 80)} {district}",
            "office": lambda: f"{rng.choice(names.OFFICES)} {place}",
            "transit": lambda: f"{rng.choice(names.TRANSIT)} {place}",
            "mosque": lambda: f"{rng.choice(names.MOSQUES)} {place}",
            "residential": lambda: f"RW {rng.randint(1, 15):02d} {place}",
        }[kind]()
        unique, n = candidate, 1
        while unique in self.used:
            n += 1
            unique = f"{candidate} {n}"
        self.used.add(unique)
        return unique


def build_city(
    aps: int,
    seed: int = 1,
    *,
    base_address: str = "127.1.0.1",
    snmp_port: int = 1161,
    center: tuple[float, float] = bekasi.CENTER,
    utc_offset_h: float = 7.0,
) -> City:
    """Generate a city of exactly ``aps`` APs; the same arguments give the same city.

    Its districts are Bekasi's kecamatan (all 12 from 144 APs, fewer for a smaller city),
    each at its place relative to ``center`` (:mod:`simulators.bekasi`); its sites hang
    off a few dozen shared uplinks whose catchments cross districts
    (:mod:`simulators.uplinks`)."""
    if aps < 1:
        raise SimulatorError("a city needs at least one AP")
    rng = random.Random(f"city:{seed}")
    hosts = _addresses(base_address, aps)
    city = City(seed=seed)

    n_districts = max(1, min(len(bekasi.KECAMATAN), math.isqrt(aps)))
    chosen = sorted(rng.sample(range(len(bekasi.KECAMATAN)), n_districts))
    for i, k in enumerate(chosen, start=1):
        name, (north, east) = bekasi.KECAMATAN[k]
        lat, lon = _offset(*center, north, east)
        city.districts.append(District(f"d{i:02d}", name, round(lat, 6), round(lon, 6)))
    for district in city.districts:
        community = "".join(rng.choices(SECRET_ALPHABET, k=14))
        city.credentials.append(Credential(f"snmp-{district.id}", f"cw{community}"))
    v3_rng, v3_profiles = _v3_profiles(seed, city.districts)

    n_partners = max(1, min(8, aps // 6))
    for i, name in enumerate(rng.sample(names.PARTNERS, n_partners), start=1):
        city.partners.append(Partner(f"p{i:02d}", name))
    partner_weights = [rng.uniform(0.5, 3.0) for _ in city.partners]

    namer = _Namer(rng)
    utc_offset_s = round(utc_offset_h * 3600)
    remaining, n_sites = aps, 0
    while remaining:
        n_sites += 1
        district_index = rng.randrange(len(city.districts))
        district = city.districts[district_index]
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
        north, east = rng.gauss(0, 0.9), rng.gauss(0, 0.9)
        lat, lon = _offset(district.lat, district.lon, north, east)
        lat, lon = _clamp(center, lat, lon)
        partner = None
        if rng.random() < SPONSORED_SHARE:
            partner = rng.choices(city.partners, weights=partner_weights)[0].id
        per_site = rng.choices(list(APS_PER_SITE), weights=list(APS_PER_SITE.values()))[0]
        per_site = min(per_site, remaining)
        radius = COVERAGE_M[kind] * rng.uniform(0.8, 1.3) * (1 + 0.3 * (per_site - 1))
        site = Site(
            id=f"s{n_sites:04d}",
            name=namer.name(kind, district.name),
            lat=round(lat, 6),
            lon=round(lon, 6),
            district=district.id,
            partner=partner,
            kind=kind,
            coverage_radius_m=float(round(radius)),
        )
        city.sites.append(site)
        vendor = VENDORS[vendor_for(rng.random())]
        for k in range(1, per_site + 1):
            number = aps - remaining + 1
            ap_id = f"ap{number:05d}"
            ap_name = f"{_slug(district.name)}-{site.id}-{k}"
            mac = bytes.fromhex(rng.choice(vendor.mac_prefixes).replace(":", "")) + bytes(
                rng.getrandbits(8) & 0xF0 for _ in range(3)
            )
            v3 = v3_profiles[district_index] if v3_rng.random() < V3_SHARE else None
            model = rng.choice(vendor.models)
            city.aps.append(
                SimAp(
                    id=ap_id,
                    site=site.id,
                    name=ap_name,
                    host=hosts[number - 1],
                    snmp_port=snmp_port,
                    credentials=v3.id if v3 else f"snmp-{district.id}",
                    community="" if v3 else city.credentials[district_index].community,
                    v3=v3,
                    vendor=vendor,
                    model=model,
                    device=Device(
                        f"{seed}:{ap_id}",
                        kind,
                        radios=vendor.radios,
                        utc_offset_s=utc_offset_s,
                        memory_bytes=model.memory_kib * 1024 or None,
                    ),
                    identity=Identity(ap_name, site.name, SSID, mac),
                )
            )
            remaining -= 1
    used = {ap.v3.id for ap in city.aps if ap.v3 is not None}
    city.credentials.extend(c for c in v3_profiles if c.id in used)
    aps_at = Counter(ap.site for ap in city.aps)
    city.uplinks, behind = plan_uplinks(
        city.sites, {d.id: d.name for d in city.districts}, seed, aps_at
    )
    city.sites = [replace(site, uplink=behind[site.id]) for site in city.sites]
    return city


def vendor_for(draw: float) -> str:
    """The vendor of a site whose uniform draw in [0, 1) is ``draw`` (see VENDOR_BANDS)."""
    for name, upper in VENDOR_BANDS:
        if draw < upper:
            return name
    return VENDOR_BANDS[-1][0]


def _v3_profiles(seed: int, districts: list[District]) -> tuple[random.Random, list[Credential]]:
    """One SNMPv3 authPriv profile per district, and the generator that picks which APs
    use it. Streams of their own, so the v3 mix leaves the rest of the city unchanged and
    the secrets do not shift which APs are migrated."""
    rng = random.Random(f"snmpv3-keys:{seed}")
    profiles = [
        Credential(
            f"snmpv3-{district.id}",
            "",
            version="3",
            user=f"noc-{district.id}",
            auth_key="".join(rng.choices(SECRET_ALPHABET, k=20)),
            priv_key="".join(rng.choices(SECRET_ALPHABET, k=20)),
        )
        for district in districts
    ]
    return random.Random(f"snmpv3:{seed}"), profiles


def _clamp(center: tuple[float, float], lat: float, lon: float) -> tuple[float, float]:
    """Pull a point back inside MAX_RADIUS_KM of the city centre."""
    north = (lat - center[0]) * KM_PER_DEG_LAT
    east = (lon - center[1]) * 111.320 * math.cos(math.radians(center[0]))
    distance = math.hypot(north, east)
    if distance <= MAX_RADIUS_KM:
        return lat, lon
    shrink = MAX_RADIUS_KM * 0.98 / distance
    return _offset(center[0], center[1], north * shrink, east * shrink)
