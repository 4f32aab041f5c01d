"""Settings of the host service (`[host_providers]` in the TOML file,
`EXTPLANE_HOST_PROVIDERS__*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from extplane.host.egress.allowlist import EntryError, parse_entry
from extplane.host.egress.settings import EgressSettings
from extplane.runtime import StatefulServiceSettings, port_field


class HostSettings(StatefulServiceSettings):
    port: int = port_field(50054)
    audit_address: str | None = Field(
        default=None,
        min_length=1,
        description="Audit service host:port for the host's audit events (install, secret and "
        "catalog changes, capability denials). "
        "Unset: the audit service of the same process (`extplane up`), else none (no-op).",
    )
    audit_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Bearer token sent with those events; it needs the audit.writer role "
        "whenever auth tokens are configured.",
    )

    token_key_dir: Path | None = Field(
        default=None,
        description="Directory of the key ring that signs install tokens (one PEM file per "
        "key and an `active` file). Unset: `install-token-keys` in the data dir. An empty "
        "or missing directory gets its first key at start.",
    )
    secret_key_dir: Path | None = Field(
        default=None,
        description="Directory of the AES-256-GCM keys install secrets are encrypted with "
        "(one `<key id>.key` file per key and an `active` file). Unset: `secret-keys` in the "
        "data dir. An empty or missing directory gets its first key at start; "
        "`extplane secrets rotate-key` adds one, `extplane secrets rewrap` moves every "
        "secret onto the active key.",
    )
    token_ttl_s: int = Field(
        default=300, ge=1, le=900, description="Lifetime of an issued install token, seconds."
    )
    enabled_refresh_s: float = Field(
        default=5.0,
        ge=0.05,
        le=60.0,
        description="How often the host re-reads which installs are disabled: the bound "
        "within which a disabled install's unexpired tokens stop working on every replica "
        "(on the replica that disabled it, at once). Also how often the key ring is re-read.",
    )

    ui_proxy_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300.0,
        description="Longest a ui-proxy call waits for its upstream, in total (connect, "
        "send, the whole answer); never past the caller's own deadline.",
    )
    ui_proxy_max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        le=4_000_000,
        description="Largest payload a ui-proxy call sends upstream (larger: bad-request).",
    )
    ui_proxy_max_response_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        le=4_000_000,
        description="Largest upstream answer a ui-proxy call reads (larger: internal, "
        "never truncated); at most what one gRPC message carries.",
    )
    ui_proxy_allowed_networks: list[str] = Field(
        default_factory=list,
        max_length=256,
        description="IP addresses or CIDRs (`10.0.0.0/8`, `fd00::/8`) a ui-proxy upstream may "
        "resolve into although loopback, private, link-local or otherwise refused: every "
        "upstream goes through the egress guard's address checks. Empty: none.",
    )
    runner_address: str | None = Field(
        default=None,
        min_length=1,
        description="The runner's host:port, whose HandlerService executes ui-proxy routes "
        "with an `extension:<install id>` upstream. Unset: such routes answer internal.",
    )
    runner_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Bearer token the host sends the runner with those executions.",
    )
    egress: EgressSettings = Field(
        default_factory=EgressSettings,
        description="Bounds of `http.fetch` (timeouts, body sizes, redirects, extra CA).",
    )

    @field_validator("ui_proxy_allowed_networks")
    @classmethod
    def _networks_only(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                entry = parse_entry(value)
            except EntryError as error:
                raise ValueError(f"{value!r}: {error}") from None
            if entry.network is None or "://" in value:
                raise ValueError(f"{value!r}: must be an IP address or a CIDR")
        return values

    @field_validator("retention_days")
    @classmethod
    def _no_retention(cls, value: float | None) -> float | None:
        if value:
            raise ValueError("installs are never pruned: leave retention_days unset")
        return value
