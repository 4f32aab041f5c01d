"""The egress guard's public names are a contract with the ui-proxy and any other
caller; changes must be deliberate."""

from __future__ import annotations

import extplane.host.egress
from extplane.host.config import HostSettings
from extplane.host.egress import EgressLimits


def test_public_names_are_pinned() -> None:
    assert set(extplane.host.egress.__all__) == {
        "AllowEntry",
        "Allowlist",
        "EgressError",
        "EgressErrorKind",
        "EgressGuard",
        "EgressLimits",
        "EntryError",
        "InboundResponse",
        "OutboundRequest",
        "Resolver",
        "SystemResolver",
        "entry_problem",
        "tls_context",
    }
    for name in extplane.host.egress.__all__:
        assert getattr(extplane.host.egress, name) is not None


def test_the_settings_section_builds_the_limits() -> None:
    settings = HostSettings.model_validate(
        {"egress": {"max_redirects": 0, "total_timeout_s": 2.5, "max_response_bytes": 10}}
    )
    assert settings.egress.limits() == EgressLimits(
        max_redirects=0, total_timeout_s=2.5, max_response_bytes=10
    )
    assert HostSettings().egress.limits() == EgressLimits()
