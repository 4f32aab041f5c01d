"""Prometheus families of the ui-proxy, registered once per registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from extplane.runtime import once_per_registry


@once_per_registry
def proxy_calls(registry: CollectorRegistry) -> Counter:
    """`extplane_host_ui_proxy_calls_total{tenant,install,outcome}`: Call by install
    and outcome (`ok` or the ProxyError variant). Per install because an operator
    asks "whose upstream fails"; installs are registry rows, so it stays bounded."""
    return Counter(
        "extplane_host_ui_proxy_calls",
        "UiProxyService.Call calls by install and outcome (ok or the ProxyError variant).",
        ["tenant", "install", "outcome"],
        registry=registry,
    )
