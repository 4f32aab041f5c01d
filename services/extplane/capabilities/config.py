"""Settings of the capability service."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ExtensionProviderSettings(BaseModel):
    """A remote `CapabilityProvider` whose snapshot is merged into the core one."""

    name: str = Field(min_length=1, description="Stable name, reported when degraded.")
    address: str = Field(min_length=1, description="host:port of the provider's gRPC server.")
    timeout_s: float | None = Field(
        default=None, gt=0, description="Per-provider deadline; the service default if unset."
    )


class CapabilitiesSettings(BaseModel):
    port: int = Field(default=50051, ge=0, le=65535)
    providers: list[ExtensionProviderSettings] = Field(default_factory=list)
    provider_timeout_s: float = Field(default=0.5, gt=0)
    cache_ttl_s: float = Field(default=2.0, ge=0)
