"""The inventory's shapes, as pydantic models.

One YAML shape serves import, export and the simulator's output; the ``*Public`` models are
what the API returns and never carry credentials. Families follow the FastAPI template:
``*Base`` holds the shared fields, ``*In`` is what an import file gives, ``*Public`` is
what leaves the system.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

Id = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

SiteKind = Literal[
    "park", "market", "school", "office", "transit", "mosque", "residential", "other"
]
SiteStatus = Literal["active", "planned", "retired"]
AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["DES", "AES", "AES192", "AES256"]

SITE_KINDS: tuple[str, ...] = get_args(SiteKind)
SITE_STATUSES: tuple[str, ...] = get_args(SiteStatus)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- partners and districts -------------------------------------------------------------


class PartnerBase(_Strict):
    id: Id
    name: Name


#: One e-mail address as reports are sent to it: no display name, no spaces, no comma
#: (the column keeps the list comma-separated), one "@" with something either side. Not a
#: full RFC 5322 check: the SMTP server is the judge; this catches a pasted list or name.
EmailAddress = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=254, pattern=r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+$"
    ),
]
#: partners.report_to holds the addresses joined by ", ".
REPORT_TO_MAX = 1000


class PartnerIn(PartnerBase):
    #: The availability its sites must reach in a report's period; unset: the setting
    #: ``sla_target_pct``.
    sla_target_pct: float | None = Field(default=None, gt=0.0, le=100.0)
    #: Where its monthly report is e-mailed; unset: nowhere (the schedule skips it).
    report_to: list[EmailAddress] | None = Field(default=None, min_length=1)

    @field_validator("report_to")
    @classmethod
    def _report_to_fits(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if len({address.lower() for address in value}) != len(value):
            raise ValueError("an address is listed twice")
        if len(", ".join(value)) > REPORT_TO_MAX:
            raise ValueError(f"at most {REPORT_TO_MAX} characters of addresses in all")
        return value


class PartnerPublic(PartnerBase):
    pass


def _check_ring(ring: Any) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise ValueError("a polygon ring needs at least 4 positions")
    for position in ring:
        if (
            not isinstance(position, list | tuple)
            or len(position) < 2
            or not all(isinstance(c, int | float) for c in position[:2])
        ):
            raise ValueError(f"a position must be [lon, lat], got {position!r}")
        lon, lat = position[0], position[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"position {position!r} is outside lon -180..180, lat -90..90")
    if list(ring[0][:2]) != list(ring[-1][:2]):
        raise ValueError("a polygon ring must end where it starts")


def check_boundary(geometry: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Polygon or MultiPolygon (RFC 7946 order: [lon, lat])."""
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon" and isinstance(coordinates, list):
        polygons = coordinates
    else:
        raise ValueError(f"boundary must be a GeoJSON Polygon or MultiPolygon, not {kind!r}")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise ValueError("a polygon needs at least one ring")
        for ring in polygon:
            _check_ring(ring)
    return {"type": kind, "coordinates": coordinates}


Boundary = Annotated[dict[str, Any], AfterValidator(check_boundary)]


class DistrictBase(_Strict):
    id: Id
    name: Name
    boundary: Boundary | None = None


class DistrictIn(DistrictBase):
    pass


class DistrictPublic(DistrictBase):
    pass


# --- uplinks (topology) -----------------------------------------------------------------


class UplinkBase(_Strict):
    """A shared backhaul link or aggregation node: the sites that name it go dark together
    when it fails, and its operator is who must act (the fault engine's topology)."""

    id: Id
    name: Name
    operator: Name


class UplinkIn(UplinkBase):
    #: What the link carries, both directions together; unset: not known, so the fault
    #: engine never judges it backhaul_saturated.
    capacity_mbps: float | None = Field(default=None, gt=0.0, le=10_000_000.0)


# --- credential profiles (never public) -------------------------------------------------


def _version_as_str(value: Any) -> Any:
    # YAML reads `version: 3` as an int and `version: 2c` as a string.
    return str(value) if isinstance(value, int) else value


STORED_SECRETS = "stored_secrets"
"""Validation context key: credential profile id -> the secret columns stored for it.

An export made without ``--include-secrets`` leaves the secrets out; importing it back
keeps the stored ones. So a secret may be omitted only where one is stored to keep: the
importer passes, in the validation context, which secrets the database holds (never
their values). Without that context (a new database) every secret is required.
"""

SnmpSecret = Annotated[SecretStr, Field(min_length=1)]
SnmpV3Key = Annotated[SecretStr, Field(min_length=8)]


class SnmpV2c(_Strict):
    version: Literal["2c"]
    community: SnmpSecret | None = None  # None: omitted, keep the stored one


class SnmpV3(_Strict):
    version: Literal["3"]
    user: Name
    auth_protocol: AuthProtocol = "SHA"
    auth_key: SnmpV3Key | None = None  # None: omitted, keep the stored one
    priv_protocol: PrivProtocol = "AES"
    priv_key: SnmpV3Key | None = None  # None: omitted, keep the stored one


class SshCredentials(_Strict):
    """Neither password nor key_file: the password was omitted (an export without
    secrets), which :class:`CredentialIn` accepts only when one is stored."""

    username: Name
    password: SecretStr | None = None
    key_file: str | None = None

    @model_validator(mode="after")
    def _not_both(self) -> SshCredentials:
        if self.password is not None and self.key_file is not None:
            raise ValueError("ssh needs exactly one of password or key_file")
        return self


class RadiusCredentials(_Strict):
    """The shared secret the profile's APs sign their RADIUS accounting with (RFC 2866:
    the receiver checks each Request Authenticator with it). No secret: it was omitted
    (an export without secrets), which :class:`CredentialIn` accepts only when one is
    stored."""

    secret: Annotated[SecretStr, Field(min_length=1, max_length=256)] | None = None


def _stored(info: ValidationInfo) -> frozenset[str]:
    """The secret columns the database holds for the profile being validated."""
    context = info.context if isinstance(info.context, dict) else {}
    by_id = context.get(STORED_SECRETS) or {}
    found = by_id.get(info.data.get("id"))
    return frozenset(found) if found else frozenset()


class CredentialIn(_Strict):
    id: Id
    snmp: Annotated[SnmpV2c | SnmpV3, Field(discriminator="version")]
    ssh: SshCredentials | None = None
    radius: RadiusCredentials | None = None  # None: the APs send no accounting

    @field_validator("snmp", mode="before")
    @classmethod
    def _normalise_version(cls, value: Any) -> Any:
        if isinstance(value, dict) and "version" in value:
            return {**value, "version": _version_as_str(value["version"])}
        return value

    @field_validator("snmp")
    @classmethod
    def _snmp_secrets_given_or_kept(
        cls, value: SnmpV2c | SnmpV3, info: ValidationInfo
    ) -> SnmpV2c | SnmpV3:
        stored = _stored(info)
        if isinstance(value, SnmpV2c):
            omitted = [("community", "snmp_community")] if value.community is None else []
        else:
            omitted = [
                (name, column)
                for name, column, given in (
                    ("auth_key", "snmp_auth_key", value.auth_key),
                    ("priv_key", "snmp_priv_key", value.priv_key),
                )
                if given is None
            ]
        missing = [name for name, column in omitted if column not in stored]
        if missing:
            raise ValueError(
                f"{' and '.join(missing)} required (only a profile already in the database "
                "with a stored one may leave it out)"
            )
        return value

    @field_validator("ssh")
    @classmethod
    def _ssh_secret_given_or_kept(
        cls, value: SshCredentials | None, info: ValidationInfo
    ) -> SshCredentials | None:
        if (
            value is not None
            and value.password is None
            and value.key_file is None
            and "ssh_password" not in _stored(info)
        ):
            raise ValueError("ssh needs exactly one of password or key_file")
        return value

    @field_validator("radius")
    @classmethod
    def _radius_secret_given_or_kept(
        cls, value: RadiusCredentials | None, info: ValidationInfo
    ) -> RadiusCredentials | None:
        if value is not None and value.secret is None and "radius_secret" not in _stored(info):
            raise ValueError(
                "radius needs a secret (only a profile already in the database with a "
                "stored one may leave it out)"
            )
        return value


# --- sites ------------------------------------------------------------------------------


class SiteBase(_Strict):
    id: Id
    name: Name
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    district: Id | None = None
    partner: Id | None = None
    kind: SiteKind = "other"
    coverage_radius_m: float = Field(default=50.0, gt=0, le=5000)
    status: SiteStatus = "active"
    uplink: Id | None = None  # the shared uplink behind the site (the fault engine's topology)


#: A site's coverage radius when its row gives none, by kind: the simulator's values (what
#: an outdoor AP of that kind of place typically reaches). One table, so a YAML row, a CSV
#: row and the simulator agree.
DEFAULT_RADIUS_M: dict[str, float] = {
    "park": 80.0,
    "market": 60.0,
    "school": 50.0,
    "office": 40.0,
    "transit": 60.0,
    "mosque": 40.0,
    "residential": 70.0,
    "other": 50.0,
}


class SiteIn(SiteBase):
    @model_validator(mode="before")
    @classmethod
    def _radius_by_kind(cls, data: Any) -> Any:
        """No radius given (absent, or null in YAML): the kind's typical reach rather than
        one flat figure, so a park without a surveyed radius is not drawn as small as an
        office. An unknown kind is left for the field validation to report."""
        if not isinstance(data, dict) or data.get("coverage_radius_m") is not None:
            return data
        kind = data.get("kind", "other")
        if not isinstance(kind, str) or kind.strip() not in DEFAULT_RADIUS_M:
            return data
        return {**data, "coverage_radius_m": DEFAULT_RADIUS_M[kind.strip()]}


class SitePublic(SiteBase):
    pass


# --- access points ----------------------------------------------------------------------


class ApBase(_Strict):
    id: Id
    site: Id
    name: Name
    host: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253)]
    snmp_port: int = Field(default=161, ge=1, le=65535)
    ssh_port: int = Field(default=22, ge=1, le=65535)
    profile: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")] = "auto"
    enabled: bool = True


class ApIn(ApBase):
    credentials: Id


class ApPublic(ApBase):
    """An AP as the API shows it: the credential profile is not even named."""


# --- demand points (where people are, for coverage analysis) ------------------------------


class DemandPointIn(_Strict):
    id: Id
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    weight: float = Field(gt=0, description="people (or a relative weight) at this point")
    district: Id | None = None


class InventoryDoc(_Strict):
    """A whole inventory file: the unit of validation and of export."""

    partners: list[PartnerIn] = Field(default_factory=list)
    districts: list[DistrictIn] = Field(default_factory=list)
    credentials: list[CredentialIn] = Field(default_factory=list)
    uplinks: list[UplinkIn] = Field(default_factory=list)
    sites: list[SiteIn] = Field(default_factory=list)
    aps: list[ApIn] = Field(default_factory=list)
    demand: list[DemandPointIn] = Field(default_factory=list)


# --- candidate sites (where new sites could be built, for coverage suggestions) ------------


CandidateKind = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)
]


class CandidateIn(_Strict):
    """A place the city could build a new site (a public building, a pole, a school).

    ``name`` defaults to the id; ``kind`` is free text (a pole is not a site kind);
    ``coverage_radius_m`` None means "the setting coverage_candidate_radius_m"."""

    id: Id
    name: Name
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    kind: CandidateKind | None = None
    coverage_radius_m: float | None = Field(default=None, gt=0, le=5000)

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_id(cls, data: Any) -> Any:
        # Without an id the row fails on the id; "?" keeps it from also failing on a name
        # it was never asked for.
        if isinstance(data, dict) and data.get("name") is None:
            return {**data, "name": str(data.get("id") or "?")}
        return data


INVENTORY_SECTIONS: dict[str, type[_Strict]] = {
    "partners": PartnerIn,
    "districts": DistrictIn,
    "credentials": CredentialIn,
    "uplinks": UplinkIn,
    "sites": SiteIn,
    "aps": ApIn,
    "demand": DemandPointIn,
}
