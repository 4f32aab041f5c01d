"""The bounds of one fetch, with their defaults in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EgressLimits:
    """`total_timeout_s` bounds the whole fetch, every redirect hop, resolution
    and body included; `connect_timeout_s` each resolution and TCP+TLS connect.
    A response body over `max_response_bytes` fails the fetch (`transport`):
    it is never truncated. `max_redirects` 0 returns every 3xx to the guest."""

    connect_timeout_s: float = 5.0
    total_timeout_s: float = 30.0
    max_request_bytes: int = 1 << 20
    max_response_bytes: int = 2 << 20
    max_request_headers: int = 64
    max_response_headers: int = 128
    max_header_bytes: int = 16 << 10
    max_redirects: int = 5
