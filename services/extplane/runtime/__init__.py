"""The shared runtime every extplane server stands on."""

from extplane.runtime.channels import CHANNEL_OPTIONS, create_channel, remaining_timeout
from extplane.runtime.lifecycle import AsyncLifecycle, Drainable, Lifecycle
from extplane.runtime.logs import configure_logging
from extplane.runtime.metrics import Metrics, MetricsEndpoint, process_metrics
from extplane.runtime.observing import RpcCall, RpcObserver, RpcOutcome
from extplane.runtime.server import GrpcServer, host_port
from extplane.runtime.service import GrpcServiceDefinition
from extplane.runtime.signals import run_until_signal
from extplane.runtime.tracing import configure_tracing

__all__ = [
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
]
