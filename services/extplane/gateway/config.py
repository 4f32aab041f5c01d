"""Settings of the HTTP/JSON gateway."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# The query services behind `metering.reader` / `audit.reader` roles (DESIGN section 7),
# and the admin services behind `installs.*`.
BEARER_SERVICES = (
    "orloj.extensions.v1.MeteringQueryService",
    "orloj.extensions.v1.AuditQueryService",
    "extplane.admin.v1.InstallRegistryService",
    "extplane.admin.v1.ExtensionLogsService",
    "extplane.admin.v1.SecretsAdminService",
    "extplane.admin.v1.CatalogAdminService",
    "extplane.admin.v1.ExtensionRegistryService",
)
# Methods of those services that answer without a token: published public keys.
PUBLIC_METHODS = ("extplane.admin.v1.InstallRegistryService.GetInstallTokenKeys",)


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: int = Field(default=8080, ge=0, le=65535)
    request_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Deadline of every upstream call; a client's Grpc-Timeout or "
        "X-Request-Timeout header may shorten it, never lengthen it.",
    )
    # Fully-qualified gRPC service name -> "host:port". Services left out are
    # reached at the suite's own address for them (see Settings.upstream_for).
    upstreams: dict[str, str] = Field(default_factory=dict)
    extension_timeout_s: float = Field(
        default=310.0,
        gt=0,
        description="Deadline of a call through /v1/extensions/… (the runner bounds each "
        "execution by its own limits, at most 300 s); Grpc-Timeout or X-Request-Timeout "
        "may shorten it.",
    )
    readiness_timeout_s: float = Field(
        default=1.0,
        gt=0,
        description="Deadline of each upstream health Check behind /upstreamz "
        "(/readyz checks no upstream).",
    )
    max_request_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=0, description="Larger request bodies are refused (413)."
    )
    access_log: bool = Field(default=False, description="One INFO log line per HTTP request.")
    stream_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Deadline of a whole server-streaming call (a download): long enough "
        "for a large export; Grpc-Timeout or X-Request-Timeout may shorten it.",
    )
    bearer_services: list[str] = Field(
        default_factory=lambda: list(BEARER_SERVICES),
        description="Fully-qualified gRPC services whose routes /openapi.json declares as "
        "needing a bearer token. The services enforce it; the gateway only forwards "
        "Authorization and documents the requirement.",
    )
    auth_realm: str = Field(
        default="extplane",
        pattern=r"^[\x20-\x7e]*$",
        description='The realm of the `WWW-Authenticate: Bearer realm="..."` challenge on 401.',
    )
    console: bool = Field(
        default=True,
        description="Serve the operator console at /console (docs/console.md); false: 404.",
    )
