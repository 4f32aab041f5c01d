"""What an install is, as the registry stores it: plain values, no protos."""

from __future__ import annotations

from dataclasses import dataclass, field

# Alga's defaults, so an extension migrating from the Alga runner fits as is.
DEFAULT_STORAGE_VALUE_BYTES = 64 * 1024
DEFAULT_STORAGE_KEYS_PER_NAMESPACE = 5_120
DEFAULT_STORAGE_BYTES = 256 * 1024 * 1024
# Alga has no log rate limit; 10 records a second is well past what a
# handler logs on purpose and well below what a runaway loop does.
DEFAULT_LOG_RECORDS_PER_MINUTE = 600


@dataclass(frozen=True, slots=True)
class Limits:
    """What one install may use; every field is in force (defaults filled in)."""

    storage_value_bytes: int = DEFAULT_STORAGE_VALUE_BYTES
    storage_keys_per_namespace: int = DEFAULT_STORAGE_KEYS_PER_NAMESPACE
    storage_bytes: int = DEFAULT_STORAGE_BYTES
    log_records_per_minute: int = DEFAULT_LOG_RECORDS_PER_MINUTE


@dataclass(frozen=True, slots=True, order=True)
class Route:
    """A UI proxy route: the name an extension calls and where the host forwards it;
    `secret_key` names the install secret sent with each call ("" none), in
    `secret_header` ("" is `Authorization: Bearer <value>`)."""

    route: str
    upstream_url: str
    secret_key: str = ""
    secret_header: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    """An install's changeable part: what it was granted and what bounds it.

    Lists are sorted so two equal settings compare equal however they were sent.
    """

    version: str
    capabilities: tuple[str, ...] = ()
    egress_allowlist: tuple[str, ...] = ()
    ui_proxy_routes: tuple[Route, ...] = ()
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True, slots=True)
class Install:
    """One extension installed for one tenant, at one revision."""

    tenant: str
    install_id: str
    extension_id: str
    settings: Settings
    enabled: bool
    revision: int
    created_ns: int
    updated_ns: int

    @property
    def resource(self) -> str:
        """How audit events name it."""
        return f"install/{self.tenant}/{self.install_id}"
