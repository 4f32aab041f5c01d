"""`[host_providers.egress]`: the bounds of `http.fetch` (EXTPLANE_HOST_PROVIDERS__EGRESS__*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from extplane.host.egress.limits import EgressLimits

_DEFAULT = EgressLimits()


class EgressSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connect_timeout_s: float = Field(
        default=_DEFAULT.connect_timeout_s,
        gt=0,
        le=60,
        description="Bound of each name resolution and each TCP+TLS connect, seconds.",
    )
    total_timeout_s: float = Field(
        default=_DEFAULT.total_timeout_s,
        gt=0,
        le=300,
        description="Bound of one whole fetch (every redirect hop and the body), seconds.",
    )
    max_request_bytes: int = Field(
        default=_DEFAULT.max_request_bytes,
        ge=0,
        le=4 << 20,
        description="Largest request body a guest may send; larger is HTTP_ERROR_TRANSPORT.",
    )
    max_response_bytes: int = Field(
        default=_DEFAULT.max_response_bytes,
        ge=0,
        le=64 << 20,
        description="Largest response body; larger fails the fetch (HTTP_ERROR_TRANSPORT), "
        "never truncated. gRPC clients receive at most 4 MiB unless configured otherwise.",
    )
    max_redirects: int = Field(
        default=_DEFAULT.max_redirects,
        ge=0,
        le=20,
        description="Redirect hops followed (each checked as a new request); 0: the guest "
        "gets every 3xx itself.",
    )
    extra_ca_file: Path | None = Field(
        default=None,
        description="PEM file of CA certificates trusted besides certifi's roots (an "
        "internal CA an allowlisted service's certificate chains to).",
    )

    def limits(self) -> EgressLimits:
        return EgressLimits(
            connect_timeout_s=self.connect_timeout_s,
            total_timeout_s=self.total_timeout_s,
            max_request_bytes=self.max_request_bytes,
            max_response_bytes=self.max_response_bytes,
            max_redirects=self.max_redirects,
        )
