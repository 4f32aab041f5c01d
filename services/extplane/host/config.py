"""Settings of the host service (`[host_providers]` in the TOML file,
`EXTPLANE_HOST_PROVIDERS__*`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from extplane.runtime import StatefulServiceSettings, port_field


class HostSettings(StatefulServiceSettings):
    port: int = port_field(50054)
    audit_address: str | None = Field(
        default=None,
        min_length=1,
        description="Audit service host:port for the install registry's change events. "
        "Unset: the audit service of the same process (`extplane up`), else none (no-op).",
    )
    audit_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Bearer token sent with those events; it needs the audit.writer role "
        "whenever auth tokens are configured.",
    )

    @field_validator("retention_days")
    @classmethod
    def _no_retention(cls, value: float | None) -> float | None:
        if value:
            raise ValueError("installs are never pruned: leave retention_days unset")
        return value
