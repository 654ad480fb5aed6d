"""One typed settings object for every citywifi process.

Precedence, highest first: values passed by the CLI (constructor arguments), then
``CITYWIFI_*`` environment variables, then ``citywifi.toml`` (or the file named by
``CITYWIFI_CONFIG``), then the defaults below. One order everywhere, so an engineer can
predict which value wins without reading code.

URLs may carry secrets (a PostgreSQL password, an InfluxDB token): they never appear in
``repr`` and are shown redacted by :meth:`Settings.redacted`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

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
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

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
        toml_path = Path(os.environ.get("CITYWIFI_CONFIG", "citywifi.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

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

    def redacted(self) -> dict[str, Any]:
        """Every effective setting, safe to print or log."""
        values = self.model_dump(mode="json")
        values["database_url"] = redact_url(self.db_url)
        values["timeseries_url"] = redact_url(self.store_url)
        return values


def load_settings(**overrides: Any) -> Settings:
    """Build settings; ``None`` overrides mean "not given on the command line"."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
