"""The gateway's hook signatures, named once."""

from __future__ import annotations

from collections.abc import Callable

UpstreamResolver = Callable[[str], str]
"""Fully-qualified gRPC service name -> the "host:port" that serves it."""

HeaderMatcher = Callable[[str], str | None]
"""Lower-case HTTP request header name -> gRPC metadata key to forward it as, or None."""
