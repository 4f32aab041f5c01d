"""Configuration of the whole suite, read by pydantic-settings.

Sources, highest first: keyword arguments, environment variables prefixed
`EXTPLANE_` (nested with `__`, e.g. `EXTPLANE_CAPABILITIES__PORT=6000`), the
TOML file named by `EXTPLANE_CONFIG_FILE` (or passed to `load_settings`), then
the defaults below. Invalid values fail at start with the field named.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from extplane.audit.config import AuditSettings
from extplane.capabilities.config import CapabilitiesSettings
from extplane.gateway.config import GatewaySettings
from extplane.host.config import HostSettings
from extplane.metering.config import MeteringSettings
from extplane.runner.config import RunnerSettings
from extplane.runtime.auth import AuthSettings
from extplane.runtime.tls import TlsSettings
from extplane_client.tls import ClientTls

CONFIG_FILE_ENV = "EXTPLANE_CONFIG_FILE"
# The file `load_settings` was given; a context variable rather than the process
# environment so one call's file does not leak into later ones.
_config_file: ContextVar[Path | None] = ContextVar("extplane_config_file", default=None)


class GrpcPortSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: int = Field(ge=0, le=65535)


class LoggingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=True, description="One JSON object per line.")


class MetricsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, le=65535)


class TracingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The exporter is off unless an OTLP endpoint is configured; context is
    # still propagated so traces started elsewhere keep their ids.
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/gRPC collector, e.g. http://127.0.0.1:4317 (plaintext)."
    )
    sample_ratio: float = Field(default=1.0, ge=0, le=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="EXTPLANE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    host: str = Field(default="127.0.0.1", description="Address every server binds to.")
    data_dir: Path = Field(default=Path("data"), description="Embedded databases live here.")
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    page_token_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Signs the list RPCs' page tokens; replicas behind one address must share "
        "it. Unset: page-token.key in data_dir, made on first start.",
    )

    capabilities: CapabilitiesSettings = Field(default_factory=CapabilitiesSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    metering: MeteringSettings = Field(default_factory=MeteringSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    host_providers: HostSettings = Field(default_factory=HostSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)

    auth: AuthSettings = Field(default_factory=AuthSettings)
    tls: TlsSettings = Field(
        default_factory=TlsSettings,
        description="TLS (mTLS with client_ca_file) of every server this process runs; "
        "unset: plaintext (loopback, or behind a mesh sidecar). docs/tls.md.",
    )
    client_tls: ClientTls | None = Field(
        default=None,
        description="TLS of this process's own calls: the gateway's upstreams, the capability "
        "service's providers, the CLI's queries. Unset: plaintext.",
    )
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = _config_file.get() or os.environ.get(CONFIG_FILE_ENV)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment, an optional TOML file, and explicit overrides."""
    if config_file is None and os.environ.get(CONFIG_FILE_ENV):
        config_file = Path(os.environ[CONFIG_FILE_ENV])
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"config file not found: {config_file}")
    token = _config_file.set(config_file)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    finally:
        _config_file.reset(token)


def describe_invalid(error: ValidationError) -> str:
    """One line per bad setting, named as in the TOML file (`metering.database_url: …`)."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in problem["loc"]) or "settings"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "; ".join(lines)
