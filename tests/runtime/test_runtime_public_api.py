"""The runtime's public names are a contract with every service; changes must be deliberate."""

from __future__ import annotations

import extplane.runtime


def test_public_names_are_pinned() -> None:
    assert set(extplane.runtime.__all__) == {
        "CHANNEL_OPTIONS",
        "AsyncLifecycle",
        "Drainable",
        "GrpcServer",
        "GrpcServiceDefinition",
        "Lifecycle",
        "Metrics",
        "MetricsEndpoint",
        "RpcCall",
        "RpcObserver",
        "RpcOutcome",
        "configure_logging",
        "configure_tracing",
        "create_channel",
        "host_port",
        "process_metrics",
        "remaining_timeout",
        "run_until_signal",
    }
    for name in extplane.runtime.__all__:
        assert getattr(extplane.runtime, name) is not None
