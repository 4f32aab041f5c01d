"""The security headers of every console answer.

The page handles bearer tokens, so the policy leaves a script injected into it
nowhere to run and nowhere to send what it read: only the gateway's own files
run, no inline script or style, no plugin, no frame around the page, no form
or fetch to another origin.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        # The page builds nodes and sets text only: every HTML-parsing sink (innerHTML…) throws.
        "require-trusted-types-for 'script'",
    )
)

CONSOLE_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
)
