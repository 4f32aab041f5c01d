"""Settings of the HTTP/JSON gateway."""

from __future__ import annotations

from pydantic import BaseModel, Field


class GatewaySettings(BaseModel):
    port: int = Field(default=8080, ge=0, le=65535)
    request_timeout_s: float = Field(default=10.0, gt=0)
    # Fully-qualified gRPC service name -> "host:port". Services left out are
    # reached at the suite's own address for them (see Settings.upstream_for).
    upstreams: dict[str, str] = Field(default_factory=dict)
