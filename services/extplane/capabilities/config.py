"""Settings of the capability service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ServiceName = Literal["capabilities", "gateway", "metering", "audit", "host", "runner"]
"""The services of the suite, each a core feature of the capability snapshot."""

# Provider names appear in `name=REASON,...` and `name:key,...` metadata values,
# so they may not contain the separators.
PROVIDER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class ExtensionProviderSettings(BaseModel):
    """A remote `CapabilityProvider` whose snapshot is merged into the core one."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=PROVIDER_NAME_PATTERN,
        description="Stable name, reported when degraded: letters, digits, '.', '_', '-'.",
    )
    address: str = Field(min_length=1, description="host:port of the provider's gRPC server.")
    timeout_s: float | None = Field(
        default=None, gt=0, description="Per-provider deadline; the service default if unset."
    )


class CapabilitiesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: int = Field(default=50051, ge=0, le=65535)
    providers: list[ExtensionProviderSettings] = Field(
        default_factory=list,
        description="Extension providers, in precedence order: the first to set a key wins.",
    )
    provider_timeout_s: float = Field(default=0.5, gt=0)
    cache_ttl_s: float = Field(
        default=2.0, ge=0, description="How long a merged snapshot is served; 0 disables."
    )
    # In a mesh each service runs alone, so the process cannot see what else the
    # deployment runs; this states it for the core snapshot.
    deployment_services: list[ServiceName] | None = Field(
        default=None,
        description="Every service this deployment runs; unset: those hosted in this process.",
    )

    @model_validator(mode="after")
    def _provider_names_unique(self) -> CapabilitiesSettings:
        seen: set[str] = set()
        for provider in self.providers:
            if provider.name in seen:
                raise ValueError(f"providers: duplicate provider name {provider.name!r}")
            seen.add(provider.name)
        return self
