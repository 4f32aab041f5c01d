"""The gateway's public surface, pinned: a change here is a change for the CLI and users."""

from __future__ import annotations

import extplane.gateway


def test_public_names() -> None:
    assert set(extplane.gateway.__all__) == {
        "HTTP_STATUS_BY_GRPC_CODE",
        "BindingError",
        "GatewayError",
        "GatewayMetrics",
        "GatewayServer",
        "GatewaySettings",
        "HeaderMatcher",
        "HttpBinding",
        "RequestError",
        "UpstreamChannels",
        "UpstreamResolver",
        "create_app",
        "http_status_for",
        "load_bindings",
    }
    for name in extplane.gateway.__all__:
        assert getattr(extplane.gateway, name) is not None
