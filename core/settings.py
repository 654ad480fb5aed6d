"""One typed settings object for every citywifi process.

Precedence, highest first: values passed by the CLI (constructor arguments), then
``CITYWIFI_*`` environment variables, then ``citywifi.toml`` (or the file named by
``CITYWIFI_CONFIG``), then the defaults below. One order everywhere, so an engineer can
predict which value wins without reading code.

URLs may carry secrets (a PostgreSQL password, an InfluxDB token): they never appear in
``repr`` and are shown redacted by :meth:`Settings.redacted`.
"""

from __future__ import annotations

import json
import os
import socket
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import ConfigError
from core.incidents import RESPONSIBLE, IncidentClass, Responsible

SECRET_QUERY_KEYS = frozenset({"token", "password", "pass", "secret", "key", "auth"})
REDACTED = "***"


def redact_url(url: str) -> str:
    """Hide the password and any secret-looking query value of a URL, keep the rest."""
    parts = urlsplit(url)
    netloc, query = parts.netloc, parts.query
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = userinfo.split(":", 1)[0] + ":" + REDACTED + "@" + host
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs],
            safe="*",
        )
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing secret; urlunsplit would mangle sqlite:////abs/path
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` as (i, n), checked: 0 <= i < n. The one parser of a shard, for the
    setting's validator and every reader of it."""
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError as exc:
        raise ValueError(f"shard must look like i/n (e.g. 0/2), got {text!r}") from exc
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard must be i/n with 0 <= i < n, got {text!r}")
    return index, count


class FaultThresholds(BaseModel):
    """When a metric becomes an incident (the fault engine's metric classes).

    The whole city's values are ``fault_thresholds``; ``fault_thresholds_by_kind`` holds,
    per site kind (``park``, ``market``, ...), only the values that differ there (a
    market's APs carry crowds a school's never see), merged over the city's by
    :meth:`Settings.thresholds_for`."""

    model_config = ConfigDict(extra="forbid")

    silent_after_s: float = Field(
        default=1800.0,
        ge=1.0,
        le=86_400.0,
        description="An AP that answers but has had no clients this long, in hours when "
        "it should have some, is a silent_failure.",
    )
    silent_min_clients: float = Field(
        default=5.0,
        gt=0.0,
        le=10_000.0,
        description="Clients its own history (same clock hour) and its neighbours "
        "now must show for the hour to count as busy.",
    )
    silent_history_days: int = Field(
        default=7, ge=1, le=90, description="Days of the AP's own history read for its busy hours."
    )
    overload_cpu_pct: float = Field(default=90.0, gt=0.0, le=100.0)
    overload_mem_pct: float = Field(default=95.0, gt=0.0, le=100.0)
    overload_clients: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Clients above this on one AP is an "
        "overload (None: judged on CPU and memory only).",
    )
    overload_after_s: float = Field(
        default=300.0, ge=1.0, le=86_400.0, description="How long a load must last to count."
    )
    backhaul_util_pct: float = Field(
        default=90.0,
        gt=0.0,
        le=100.0,
        description="Traffic of the APs behind an uplink, as a share of its capacity, that "
        "makes it backhaul_saturated.",
    )
    backhaul_after_s: float = Field(default=300.0, ge=1.0, le=86_400.0)
    flap_window_s: float = Field(
        default=900.0, ge=1.0, le=86_400.0, description="Window in which state changes count."
    )
    flap_min_changes: int = Field(
        default=6, ge=3, le=1000, description="Up/down changes (or lost-then-answered "
        "polls) within the window that make an AP flapping (6: three separate losses; "
        "two isolated lost packets are not flapping)."
    )  # fmt: skip
    reboot_window_s: float = Field(
        default=600.0,
        ge=1.0,
        le=86_400.0,
        description="An uptime reset this recent is an unexpected_reboot (unless a "
        "maintenance window or an outage incident explains it).",
    )


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class NotifyRoute(BaseModel):
    """Where incident notifications go: one transport (found by name in the fault
    package's registry) and which incidents it wants.

    ``responsible`` empty: every party's incidents; ``classes`` empty: every class.
    ``partner`` makes it a sponsor's route: only incidents touching that partner's sites,
    and the message names only its own sites and APs (as the API's partner scope)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    transport: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="webhook, email, ...")
    url: str | None = Field(default=None, description="webhook: where to POST.")
    to: list[str] = Field(default_factory=list, description="email: the recipients.")
    secret: str | None = Field(
        default=None, repr=False, description="webhook: the HMAC-SHA256 signing key."
    )
    responsible: list[Responsible] = Field(default_factory=list)
    classes: list[IncidentClass] = Field(default_factory=list)
    partner: str | None = None
    operator: str | None = Field(
        default=None,
        description="Only incidents about uplinks this operator runs (an operator's route).",
    )

    def where(self) -> str:
        """Where the route delivers, safe to show and log: a URL without its user,
        password, path or query (a hook's token often lives in its path), or the e-mail
        addresses."""
        if self.url:
            parts = urlsplit(self.url)
            host = parts.hostname or "?"
            try:
                port = f":{parts.port}" if parts.port else ""
            except ValueError:  # a port that is not a number: shown as unknown
                port = ":?"
            rest = "/…" if parts.path not in ("", "/") or parts.query else "/"
            return f"{parts.scheme}://{host}{port}{rest}"
        return ", ".join(self.to)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CITYWIFI_",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(default=Path(".citywifi"), description="Where local state lives.")
    database_url: str | None = Field(
        default=None,
        repr=False,
        description="Inventory database (SQLAlchemy URL); default SQLite in the data dir.",
    )
    timeseries_url: str | None = Field(
        default=None,
        repr=False,
        description="Metric store URL; default the embedded store in the data dir.",
    )
    poll_interval_s: float = Field(default=60.0, ge=1.0, le=3600.0)
    snmp_timeout_s: float = Field(default=2.0, gt=0.0, le=60.0)
    snmp_retries: int = Field(default=1, ge=0, le=5)
    poll_concurrency: int = Field(default=256, ge=1, le=10_000)
    down_after_failures: int = Field(
        default=2, ge=1, le=100, description="Consecutive failed polls before an AP is down."
    )
    poll_deadline_s: float = Field(
        default=15.0,
        gt=0.0,
        le=600.0,
        description="Hard bound on one AP's whole poll (all requests and retries).",
    )
    write_batch_size: int = Field(
        default=5000, ge=1, le=1_000_000, description="Samples that trigger a store flush."
    )
    write_flush_s: float = Field(
        default=1.0, gt=0.0, le=60.0, description="Longest time a sample waits to be written."
    )
    spool_dir: Path | None = Field(
        default=None,
        description="Where the collector spools batches the store cannot take; "
        "default <data_dir>/spool (spool-i-of-n for shard i/n, spool-<instance_id> for a "
        "named collector).",
    )
    spool_max_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1024 * 1024,
        le=1024**4,
        description="Bound of the spool; past it the oldest spooled batches are dropped.",
    )
    shard: str = Field(
        default="0/1",
        description="i/n: poll only APs whose stable hash % n == i (collector.scheduler).",
    )
    instance_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="This process's name in the lease tables (collectors sharing the APs, "
        "the fault engine's leader lease); default <hostname>-<pid>.",
    )
    collector_lease_grace_s: float | None = Field(
        default=None,
        gt=0.0,
        le=3600.0,
        description="How long past the next interval boundary a collector's AP leases "
        "last, so a renewal a little late loses nothing; default half the poll interval. "
        "A dead collector's APs are polled again by the others within two intervals.",
    )
    fault_leader_lease_s: float | None = Field(
        default=None,
        gt=0.0,
        le=3600.0,
        description="How long the active fault engine's leader lease lasts without "
        "renewal; default three fault cycles (fault_interval_s).",
    )
    public_cache_s: float = Field(
        default=30.0,
        ge=0.0,
        le=3600.0,
        description="How long the public hotspot status (/public/hotspots, no login) is "
        "served from memory before it is read again; 0: read at every request.",
    )
    citizen_report_window_s: float = Field(
        default=3600.0,
        ge=0.0,
        le=7 * 86_400.0,
        description="A citizen report at a hotspot whose citizen_reported incident was "
        "resolved less than this ago reopens it (not fixed after all) instead of opening "
        "another.",
    )
    citizen_rate_window_s: float = Field(
        default=3600.0,
        gt=0.0,
        le=86_400.0,
        description="The window the per-address and per-hotspot report limits count in.",
    )
    citizen_reports_per_address: int = Field(
        default=5,
        ge=1,
        le=10_000,
        description="Reports one client address may file through the public page per "
        "citizen_rate_window_s; past it the page answers 429.",
    )
    citizen_reports_per_site: int = Field(
        default=30,
        ge=1,
        le=100_000,
        description="Public reports about one hotspot per citizen_rate_window_s; past it "
        "the page answers 429 (the incident has the news already).",
    )
    citizen_public_per_minute: int = Field(
        default=120,
        ge=1,
        le=1_000_000,
        description="Public report submissions one API process takes per minute, from "
        "everyone together, before it reads a body; past it 429 (a flood is shed in "
        "memory, and the rest of the API keeps answering).",
    )
    citizen_photo_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        ge=1024,
        le=50 * 1024 * 1024,
        description="The largest photo a report may carry, as sent.",
    )
    citizen_photo_max_side_px: int = Field(
        default=1600,
        ge=64,
        le=8192,
        description="A report's photo is re-encoded (which drops its EXIF, location and "
        "camera data) at most this many pixels on its long side.",
    )
    citizen_pow_bits: int = Field(
        default=16,
        ge=0,
        le=28,
        description="Proof of work the public report page must do per report: leading "
        "zero bits of SHA-256(challenge:nonce); 16 is ~65,000 hashes, well under a "
        "second in a phone's browser. 0 turns it off.",
    )
    ssh_poll_interval_s: float = Field(default=300.0, ge=5.0, le=86_400.0)
    ssh_workers: int = Field(default=8, ge=1, le=256)
    ssh_timeout_s: float = Field(default=15.0, gt=0.0, le=120.0)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="Collector self-metrics port; None: off."
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    secret_key: str | None = Field(
        default=None,
        repr=False,
        description="Key(s) sealing device secrets in the inventory (Fernet, base64; "
        "several comma-separated, newest first, while rotating); default the key file.",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="File holding the key(s) when secret_key is not set; default "
        "<data_dir>/secret.key, created 0600 on first use.",
    )
    session_ttl_s: float = Field(
        default=12 * 3600.0,
        ge=60.0,
        le=30 * 86_400.0,
        description="Lifetime of a web login session (the cookie), in seconds.",
    )
    cookie_secure: bool = Field(
        default=False,
        description="Send session cookies over HTTPS only (set it behind a TLS proxy).",
    )
    login_window_s: float = Field(
        default=900.0, ge=1.0, le=86_400.0, description="Window of the login rate limits."
    )
    login_max_failures_per_user: int = Field(
        default=5, ge=1, le=1000, description="Failed logins for one name, per window."
    )
    login_max_failures_per_address: int = Field(
        default=20, ge=1, le=10_000, description="Failed logins from one address, per window."
    )

    fault_interval_s: float = Field(
        default=10.0, ge=0.5, le=600.0, description="Seconds between fault engine cycles."
    )
    incident_hold_s: float = Field(
        default=60.0,
        ge=0.0,
        le=86_400.0,
        description="An incident resolves when its APs have been back this long (no churn "
        "from a flapping AP).",
    )
    incident_reopen_s: float = Field(
        default=900.0,
        ge=0.0,
        le=7 * 86_400.0,
        description="The same problem within this long after resolving reopens the "
        "incident instead of opening a new one.",
    )
    area_min_sites: int = Field(
        default=5, ge=2, le=10_000, description="Sites of one district down together that "
        "make an area outage."
    )  # fmt: skip
    area_window_s: float = Field(
        default=180.0,
        ge=1.0,
        le=3600.0,
        description="How close together their going down must be to count as one event.",
    )
    uplink_min_sites: int = Field(
        default=2, ge=1, le=10_000, description="Sites behind one uplink down together "
        "that make an uplink_down (when every site behind it is down)."
    )  # fmt: skip
    fault_thresholds: FaultThresholds = Field(
        default_factory=FaultThresholds,
        description="The metric classes' thresholds for the whole city.",
    )
    fault_thresholds_by_kind: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per site kind, the thresholds that differ from the city's "
        "(the names and bounds of fault_thresholds).",
    )
    incident_responsible: dict[IncidentClass, Responsible] = Field(
        default_factory=dict,
        description="Who must act, per incident class, where it differs from the default "
        "(core.incidents.RESPONSIBLE).",
    )

    notify_routes: list[NotifyRoute] = Field(
        default_factory=list, repr=False, description="Where incident notifications go."
    )
    # After notify_routes, not with the other citizen_* settings: its check reads them.
    citizen_notify_route: str | None = Field(
        default=None,
        description="The webhook route of notify_routes that tells a citizen who left a "
        "phone number that the hotspot they reported works again (a gateway to SMS or "
        "WhatsApp behind it); that route then carries these messages only. None: nobody "
        "is told, and the number is wiped when the report is closed.",
    )
    notify_group_wait_s: float = Field(
        default=30.0,
        ge=0.0,
        le=3600.0,
        description="Wait before the first message of a group (later incidents join it).",
    )
    notify_group_interval_s: float = Field(
        default=300.0,
        ge=0.0,
        le=86_400.0,
        description="Least time between two messages of one group.",
    )
    notify_repeat_interval_s: float = Field(
        default=4 * 3600.0,
        ge=60.0,
        le=30 * 86_400.0,
        description="An unchanged group with open, unacknowledged incidents is sent again "
        "exactly this long after its last message.",
    )
    notify_retry_initial_s: float = Field(default=5.0, gt=0.0, le=3600.0)
    notify_retry_max_s: float = Field(default=600.0, gt=0.0, le=86_400.0)
    notify_give_up_s: float = Field(
        default=86_400.0,
        gt=0.0,
        le=30 * 86_400.0,
        description="A message not delivered this long after it was due is marked failed.",
    )
    notify_timeout_s: float = Field(default=10.0, gt=0.0, le=120.0)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "citywifi@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = False
    city_name: str = Field(
        default="Bekasi", min_length=1, max_length=200, description="The city, as reports name it."
    )
    sla_target_pct: float = Field(
        default=95.0,
        gt=0.0,
        le=100.0,
        description="Availability a partner's sites must reach in a period, unless the "
        "partner has its own target (partners[].sla_target_pct in the inventory).",
    )
    map_tile_url: str | None = Field(
        default=None,
        max_length=500,
        description="Raster map tiles under the web dashboard's map, an XYZ template such "
        "as https://tiles.example/{z}/{x}/{y}.png; None: the map draws district "
        "boundaries, sites and gaps alone (offline).",
    )
    map_tile_attribution: str = Field(
        default="", max_length=300, description="The tiles' credit line, shown on the map."
    )
    grafana_datasource_url_victoriametrics: str = Field(
        default="http://127.0.0.1:8428",
        description="The VictoriaMetrics address Grafana reads (its provisioned data source).",
    )
    grafana_datasource_url_influxdb: str = Field(
        default="http://127.0.0.1:8086",
        description="The InfluxDB address Grafana reads (its provisioned data source).",
    )
    radius_host: str = Field(
        default="127.0.0.1", description="Where citywifi radius receives RADIUS accounting."
    )
    radius_port: int = Field(default=1813, ge=1, le=65535)
    radius_lost_after_s: float = Field(
        default=1800.0,
        ge=60.0,
        le=7 * 86_400.0,
        description="An open session with no accounting packet for this long is closed "
        "as lost (a NAS sends an interim update every few minutes).",
    )
    radius_metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="RADIUS receiver self-metrics port; None: off."
    )
    city_timezone: str = Field(
        default="Asia/Jakarta",
        description="The city's time zone (IANA name): where its months begin, for the "
        "monthly user-hash keys and the reports.",
    )
    accounting_key_months: int = Field(
        default=3,
        ge=1,
        le=120,
        description="Monthly user-hash keys are deleted when older than this many months; "
        "after that nobody can tie an old session to a MAC or a user name.",
    )
    coverage_epsg: int | None = Field(
        default=None,
        ge=1024,
        le=999_999,
        description="Metric projection for coverage geometry (an EPSG code); default the "
        "UTM zone of the city's centre.",
    )
    coverage_candidate_spacing_m: float = Field(
        default=250.0,
        ge=25.0,
        le=10_000.0,
        description="Spacing of the grid of candidate places used when the city has "
        "given none (citywifi coverage candidates import).",
    )
    coverage_candidate_radius_m: float = Field(
        default=60.0,
        gt=0.0,
        le=5000.0,
        description="Coverage radius of a candidate place that does not give its own.",
    )
    coverage_gap_cell_m: float = Field(
        default=1000.0,
        ge=50.0,
        le=20_000.0,
        description="Design gaps are cut into square cells of this side, so each can be "
        "ranked by the demand it leaves unserved.",
    )
    coverage_solver_time_limit_s: float = Field(
        default=30.0,
        gt=0.0,
        le=3600.0,
        description="Longest a site suggestion's MILP may run; past it the best solution "
        "found is given, and said to be so.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_path()),
        )

    @field_validator("city_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"not a known time zone: {value!r} (an IANA name)") from exc
        return value

    @property
    def city_tz(self) -> ZoneInfo:
        """:attr:`city_timezone` as a tzinfo."""
        return ZoneInfo(self.city_timezone)

    @field_validator("shard")
    @classmethod
    def _shard(cls, value: str) -> str:
        parse_shard(value)
        return value

    @field_validator("citizen_notify_route")
    @classmethod
    def _citizen_route(cls, value: str | None, info: ValidationInfo) -> str | None:
        """It must name a webhook route: a citizen's message carries a phone number, sent
        only to a signed webhook (the gateway's), never mailed to a list of people."""
        routes: list[NotifyRoute] | None = info.data.get("notify_routes")
        if value is None or routes is None:  # notify_routes refused: that is the error
            return value
        found = next((route for route in routes if route.name == value), None)
        if found is None:
            known = ", ".join(route.name for route in routes) or "none"
            raise ValueError(f"must name a webhook route of notify_routes (known: {known})")
        if found.transport != "webhook":
            raise ValueError(f"route {value!r} uses the {found.transport} transport, not webhook")
        return value

    @property
    def incident_routes(self) -> list[NotifyRoute]:
        """The routes incident messages go to: every route but the citizens' (a gateway
        to citizens' phones hears nothing of the incidents themselves)."""
        return [route for route in self.notify_routes if route.name != self.citizen_notify_route]

    @field_validator("fault_thresholds_by_kind")
    @classmethod
    def _kind_overrides(
        cls, value: dict[str, dict[str, Any]], info: ValidationInfo
    ) -> dict[str, dict[str, Any]]:
        """Each kind's overrides checked as FaultThresholds checks the city's (one
        definition of the names and bounds), so a bad one is refused at start."""
        city = info.data.get("fault_thresholds", FaultThresholds())
        for kind, changed in value.items():
            _with_overrides(city, kind, changed)
        return value

    @property
    def shard_index_count(self) -> tuple[int, int]:
        """The shard as (i, n)."""
        return parse_shard(self.shard)

    @property
    def db_url(self) -> str:
        """The inventory database URL actually used."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'inventory.sqlite').resolve()}"

    @property
    def store_url(self) -> str:
        """The metric store URL actually used."""
        if self.timeseries_url:
            return self.timeseries_url
        return f"embedded://{(self.data_dir / 'metrics').resolve()}"

    @property
    def instance_name(self) -> str:
        """This process's name in the lease tables actually used (see ``instance_id``)."""
        if self.instance_id:
            return self.instance_id
        return f"{socket.gethostname()[:48]}-{os.getpid()}"

    @property
    def lease_grace_s(self) -> float:
        """The collectors' lease grace actually used (see ``collector_lease_grace_s``)."""
        if self.collector_lease_grace_s is not None:
            return self.collector_lease_grace_s
        return self.poll_interval_s / 2

    @property
    def leader_lease_s(self) -> float:
        """The fault engine's leader lease actually used (see ``fault_leader_lease_s``)."""
        if self.fault_leader_lease_s is not None:
            return self.fault_leader_lease_s
        return 3 * self.fault_interval_s

    @property
    def spool_path(self) -> Path:
        """The collector's spool directory actually used.

        Sharded collectors sharing a data dir get one spool each by default
        (``spool-1-of-3``), and so do named ones (``instance_id``: ``spool-collector-a``),
        as several leasing collectors on one machine are: a spool belongs to one process
        at a time (it is locked), and keeps its name across that process's restarts so
        what it spooled is replayed. (The default name, ``<hostname>-<pid>``, would not.)
        """
        if self.spool_dir is not None:
            return self.spool_dir
        index, count = self.shard_index_count
        if count > 1:
            return self.data_dir / f"spool-{index}-of-{count}"
        if self.instance_id:
            return self.data_dir / f"spool-{self.instance_id}"
        return self.data_dir / "spool"

    @property
    def secret_key_path(self) -> Path:
        """The key file actually used (when ``secret_key`` is not set)."""
        if self.secret_key_file is not None:
            return self.secret_key_file
        return self.data_dir / "secret.key"

    def thresholds_for(self, site_kind: str | None) -> FaultThresholds:
        """The thresholds at a site of ``site_kind``: the city's, with that kind's
        overrides on top (checked when the settings were read; callers judging many
        APs keep the result per kind)."""
        changed = self.fault_thresholds_by_kind.get(site_kind or "")
        if not changed:
            return self.fault_thresholds
        return _with_overrides(self.fault_thresholds, site_kind or "", changed)

    def responsible_for(self, kind: IncidentClass) -> Responsible:
        """Who must act on incidents of ``kind`` (the setting, else the default)."""
        return self.incident_responsible.get(kind, RESPONSIBLE[kind])

    def redacted(self) -> dict[str, Any]:
        """Every effective setting, safe to print or log."""
        values = self.model_dump(mode="json")
        values["secret_key"] = None if self.secret_key is None else REDACTED
        values["secret_key_file"] = str(self.secret_key_path)
        values["spool_dir"] = str(self.spool_path)
        values["database_url"] = redact_url(self.db_url)
        values["timeseries_url"] = redact_url(self.store_url)
        values["smtp_password"] = None if self.smtp_password is None else REDACTED
        values["notify_routes"] = [
            {**route, "secret": None if route["secret"] is None else REDACTED,
             "url": None if route["url"] is None else redact_url(route["url"])}
            for route in values["notify_routes"]
        ]  # fmt: skip
        return values


def _with_overrides(
    city: FaultThresholds, kind: str, changed: Mapping[str, Any]
) -> FaultThresholds:
    """The city's thresholds with one site kind's ``changed`` values; ValueError naming
    the kind and the threshold when one is unknown or out of bounds."""
    try:
        return FaultThresholds.model_validate({**city.model_dump(), **changed})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or "?"
        reason = _allowed(error, FaultThresholds.model_fields)
        raise ValueError(f"site kind {kind!r}, {name}: {reason}") from None


#: Settings that are tables of their own: an unknown key there is told their names.
NESTED_MODELS: dict[str, type[BaseModel]] = {
    "fault_thresholds": FaultThresholds,
    "notify_routes": NotifyRoute,
}


def config_path() -> Path:
    """The settings file: ``$CITYWIFI_CONFIG``, else ``citywifi.toml`` here."""
    return Path(os.environ.get("CITYWIFI_CONFIG", "citywifi.toml"))


def load_settings(*, options: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings; ``None`` overrides mean "not given on the command line".

    A value that cannot work raises :class:`ConfigError` with one line per problem
    naming the setting, where the value came from and what is allowed (see
    :func:`explain`). ``options`` maps a field to the command-line option that set it
    (default ``--field-name``), so the line names what the user actually typed.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    path = config_path()
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError("\n".join(explain(exc, given, options or {}, path))) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def explain(
    exc: ValidationError, given: Mapping[str, Any], options: Mapping[str, str], path: Path
) -> list[str]:
    """One line per problem: ``<where the value was set>: <what is allowed>``.

    Pydantic's own report names the field but not where its value came from, and the
    value may have been given in any of three places (see the module docstring): the
    user needs to know which to edit. The source is found in the same order pydantic-
    settings reads them, so the line names the place whose value won.
    """
    file_values = _read_toml(path)
    environ = {k.upper(): (k, v) for k, v in os.environ.items()}
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        inside = ".".join(str(part) for part in error["loc"][1:])
        nested = NESTED_MODELS.get(field)
        rule = _allowed(error, None if nested is None or not inside else nested.model_fields)
        if inside:
            rule = f"{inside}: {rule}"  # which key of a table (fault_thresholds.silent_after_s)
        env_name = f"CITYWIFI_{field.upper()}"
        if field in given:
            option = options.get(field, "--" + field.replace("_", "-"))
            where = f"{option} {_shown(field, given[field])} (command-line option)"
        elif env_name in environ:
            name, raw = environ[env_name]
            where = f"{name}={_shown(field, raw)} (environment)"
        elif field in file_values:
            shown = _shown(field, json.dumps(file_values[field], default=str))
            where = f"{field} = {shown} ({path})"
        else:
            where = f"{field}"
        lines.append(f"{where}: {rule}")
    return lines


#: Settings whose value may hold a secret somewhere inside (a route's signing key).
_HIDDEN_FIELDS = frozenset({"notify_routes"})


def _shown(field: str, value: Any) -> str:
    """A refused value as it may be printed: URLs redacted, secret-looking keys hidden
    (an error line ends up in terminals, logs and tickets)."""
    text = str(value)
    if field in _HIDDEN_FIELDS:
        return REDACTED
    if field.endswith("url"):
        return redact_url(text.strip('"'))
    if any(word in field.lower() for word in SECRET_QUERY_KEYS):
        return REDACTED
    return text


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


_RULES = {
    "greater_than_equal": "must be \u2265 {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be \u2264 {le}",
    "less_than": "must be < {lt}",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "literal_error": "must be one of {expected}",
    "string_pattern_mismatch": "must match {pattern}",
    "string_type": "must be text",
}


def _allowed(error: Any, known_fields: Iterable[str] | None = None) -> str:
    """What the setting accepts, in words (pydantic's error type and its context);
    ``known_fields``: the names an unknown key is told about (default: the settings')."""
    kind = error["type"]
    ctx = {
        key: f"{value:g}" if isinstance(value, float) else value
        for key, value in (error.get("ctx") or {}).items()
    }
    if kind == "extra_forbidden":
        known = ", ".join(sorted(Settings.model_fields if known_fields is None else known_fields))
        return f"unknown setting; known: {known}"
    if kind in _RULES:
        try:
            return _RULES[kind].format(**ctx)
        except (KeyError, IndexError):
            pass
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
